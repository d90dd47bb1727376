//! Verify a backup: its copies' objects (quick) or a full restore to scratch (deep).

use std::path::PathBuf;

use crate::engine::Engine;
use crate::engine::backup::catalog::{BackupView, untrusted_refusal};
use crate::engine::backup::manifest::Manifest;
use crate::engine::backup::read::{self};
use crate::engine::backup::repo::VerifyRecord;
use crate::engine::jobs::{JobContext, Unit};
use crate::model::BackupSummary;
use crate::model::backup::chain;

impl Engine {
    pub(in crate::engine) async fn verify(
        &self,
        system: &str,
        id: Option<&str>,
        deep: bool,
        identity: Option<PathBuf>,
        ctx: &JobContext,
    ) -> Result<String, String> {
        self.refresh_catalog(Some(system)).await;
        let backups = self.backups(Some(system)).await?;
        let target = match id {
            Some(id) => backups.iter().find(|b| b.manifest.id == id),
            None => backups.iter().rev().find(|b| b.trusted()),
        };
        let Some(target) = target.cloned() else {
            return Err(format!("{system} has no backup {}", id.unwrap_or("signed by a trusted key yet")));
        };
        if !target.trusted() {
            return Err(untrusted_refusal(&target));
        }
        // Verification records are signed where this host can sign.
        let signer = match self.signing_key() {
            Ok(k) => Some(k),
            // A host that reads backups need not sign: only a key that is set and unusable is told.
            Err(e) if self.config.encryption.signing_key_file.is_some() => {
                ctx.log(format!("the verification records are not signed: {e}"));
                None
            }
            Err(_) => None,
        };
        let identities = if deep { Some(self.identities(identity.as_deref())?) } else { None };
        // A key that cannot open the backup is the operator's mistake, not damage: say so, and
        // record nothing against the copies.
        if let Some(ids) = &identities
            && let Some(copy) = target.copies.first()
            && let Ok(repo) = self.repository(&copy.location)
            && let Err(e) = read::index(&repo, &target.manifest, ids).await
            && e.contains("cannot open it")
        {
            return Err(e);
        }
        let summaries: Vec<BackupSummary> = backups.iter().map(BackupView::summary).collect();
        let links = chain(&summaries, &target.manifest.id).ok_or_else(|| {
            format!(
                "backup {}: a backup it builds on is missing (or its chain loops): it cannot be restored",
                target.manifest.id
            )
        })?;
        let chained: Vec<&BackupView> =
            links.iter().filter_map(|s| backups.iter().find(|b| b.manifest.id == s.id)).collect();
        if let Some(bad) = chained.iter().find(|b| !b.trusted()) {
            return Err(format!(
                "backup {} builds on {}, which is {}: it cannot be verified as restorable",
                target.manifest.id,
                bad.manifest.id,
                bad.trust().label()
            ));
        }
        let links: Vec<Manifest> = chained.iter().map(|b| b.manifest.clone()).collect();
        let mut failures = Vec::new();
        let mut passed = Vec::new();
        for copy in &target.copies {
            let location = copy.location.clone();
            if !copy.trust.trusted() {
                ctx.log(format!("{location}: skipped: this copy is {}", copy.trust.label()));
                continue;
            }
            let repo = match self.repository(&location) {
                Ok(r) => r,
                Err(e) => {
                    failures.push(e);
                    continue;
                }
            };
            ctx.stage(&format!("quick verify at {location}"), Unit::Bytes);
            let mut result = read::quick(&repo, &target.manifest).await;
            let mut deep_at = None;
            if result.is_ok()
                && let Some(ids) = &identities
            {
                ctx.stage(&format!("deep verify at {location}"), Unit::Bytes);
                let scratch = self.state_dir().join("scratch").join(&ctx.id);
                let _ = std::fs::remove_dir_all(&scratch);
                result = match std::fs::create_dir_all(&scratch) {
                    Ok(()) => {
                        let total: u64 = links.iter().map(|m| m.plain_size).sum();
                        ctx.meter.set_total(total);
                        ctx.meter.set_done(0);
                        let r = read::restore_into(&repo, &links, ids, &scratch, &ctx.meter).await;
                        let _ = std::fs::remove_dir_all(&scratch);
                        r
                    }
                    Err(e) => Err(format!("cannot make a scratch folder {}: {e}", scratch.display())),
                };
                if result.is_ok() {
                    deep_at = Some(self.now());
                }
            }
            let now = self.now();
            let record = match &result {
                Ok(()) => VerifyRecord {
                    quick_at: Some(now),
                    deep_at: deep_at.or(copy.deep_verified_at),
                    error: None,
                },
                Err(e) => VerifyRecord { quick_at: None, deep_at: None, error: Some(e.clone()) },
            };
            if let Err(e) = repo.write_verify(system, &target.manifest.id, &record, signer.as_ref()).await {
                ctx.log(format!("{location}: cannot record the verification: {e}"));
            }
            self.store
                .record_verification(
                    &location,
                    &target.manifest.id,
                    deep_at.is_some(),
                    now,
                    record.error.as_deref(),
                )
                .await
                .map_err(|e| e.to_string())?;
            match result {
                Ok(()) => {
                    ctx.log(format!(
                        "{location}: backup {} {}verified",
                        target.manifest.id,
                        if deep { "deep-" } else { "" }
                    ));
                    passed.push(location);
                }
                Err(e) => {
                    ctx.log(format!("FAILED {e}"));
                    failures.push(e);
                }
            }
        }
        let what = if deep { "deep-verified" } else { "verified" };
        if failures.is_empty() {
            Ok(format!("backup {} {what} at {}", target.manifest.id, passed.join(", ")))
        } else {
            Err(format!(
                "backup {}: {}{}",
                target.manifest.id,
                failures.join("; "),
                if passed.is_empty() { String::new() } else { format!(" ({what} at {})", passed.join(", ")) }
            ))
        }
    }
}
