//! Take a backup: read the source once, write every location, sign the manifest last.

use crate::config::backup::Source;
use crate::engine::Engine;
use crate::engine::backup::catalog::{BackupView, program_found};
use crate::engine::backup::manifest::{Trust, new_id};
use crate::engine::backup::read::{self};
use crate::engine::backup::repo::{MANIFEST, Repository, VerifyRecord};
use crate::engine::backup::write::{self, BackupRequest, describe_failures};
use crate::engine::jobs::{JobContext, Unit};
use crate::model::backup::{bytes, chain};
use crate::model::{BackupKind, BackupSummary};
use crate::store::CatalogEntry;

impl Engine {
    pub(in crate::engine) async fn take_backup(
        &self,
        system: &str,
        kind: BackupKind,
        parent: Option<String>,
        ctx: &JobContext,
    ) -> Result<String, String> {
        let policy = self.policy(system)?.clone();
        let signer = std::sync::Arc::new(self.signing_key()?);
        ctx.stage("preparing", Unit::Bytes);
        // Nothing is written anywhere for a source that is not there.
        match &policy.source {
            Source::Path(p) if std::fs::symlink_metadata(p).is_err() => {
                return Err(format!("the source {} does not exist (or cannot be read)", p.display()));
            }
            Source::Command { program, .. } if !program_found(program) => {
                return Err(format!("the source program \"{program}\" is not found on this machine"));
            }
            _ => {}
        }
        let mut repos = Vec::new();
        let mut unusable = Vec::new();
        for name in &policy.locations {
            match self.repository(name) {
                Ok(r) => repos.push(r),
                Err(e) => unusable.push(e),
            }
        }
        for e in &unusable {
            ctx.log(format!("skipped: {e}"));
        }
        // What an earlier run left half-written (it has no manifest, so it never existed).
        let running_here = ctx.id.clone();
        for repo in &repos {
            match repo.backups(Some(system)).await {
                Ok(list) => {
                    for (_, id, files) in list
                        .into_iter()
                        .filter(|(_, id, f)| !f.iter().any(|x| x == MANIFEST) && *id != running_here)
                    {
                        match repo.delete(system, &id).await {
                            Ok(()) => ctx.log(format!(
                                "{}: cleaned up incomplete backup {id} ({} objects)",
                                repo.location,
                                files.len()
                            )),
                            Err(e) => ctx.log(format!("{}: could not clean up {id}: {e}", repo.location)),
                        }
                    }
                }
                Err(e) => ctx.log(format!("{}: cannot list: {e}", repo.location)),
            }
            let empty = repo.remove_empty(system).await;
            if empty > 0 {
                ctx.log(format!("{}: removed {empty} empty backup folder(s)", repo.location));
            }
        }
        let parent = match &parent {
            Some(p) => {
                let view = self.backup(p).await.map_err(|e| format!("the parent backup is gone: {e}"))?;
                let index = self.parent_index(&view).await?;
                Some((view.manifest, index))
            }
            None => None,
        };
        let started_at = self.now();
        let id = new_id(started_at);
        ctx.log(format!(
            "backup {id}: {kind} of {} to {}",
            policy.source.describe(),
            policy.locations.join(", ")
        ));
        ctx.stage("backing up", Unit::Bytes);
        let anchor = self.anchor_now(system, &id).await.unwrap_or_else(|e| {
            ctx.log(format!("no audit anchor is written with this backup: {e}"));
            None
        });
        let request = BackupRequest {
            id: id.clone(),
            system: system.to_owned(),
            source: policy.source.clone(),
            kind,
            parent,
            recipients: self.config.encryption.recipients.clone(),
            locations: repos.clone(),
            started_at,
            signer: signer.clone(),
            anchor,
            lock_until: self.lock_until(&policy, started_at),
        };
        let clock = self.clock.clone();
        let written = match write::write(request, ctx.meter.clone(), move || clock.now()).await {
            Ok(w) => w,
            Err(e) => {
                // Without a manifest it never existed; take away what was written of it.
                for repo in &repos {
                    let _ = repo.delete(system, &id).await;
                }
                return Err(e);
            }
        };
        for note in &written.notes {
            ctx.log(note.clone());
        }
        // An incremental restores only with what it builds on: at an immutable location its
        // ancestors are locked at least as long as it is.
        if let Some(parent) = &written.manifest.parent
            && !written.manifest.immutable_until.is_empty()
        {
            let ancestors: Vec<String> = match self.backups(Some(system)).await {
                Ok(known) => {
                    let summaries: Vec<BackupSummary> = known.iter().map(BackupView::summary).collect();
                    chain(&summaries, parent).unwrap_or_default().into_iter().map(|l| l.id.clone()).collect()
                }
                Err(e) => {
                    ctx.log(format!("the locks of what this backup builds on were not extended: {e}"));
                    Vec::new()
                }
            };
            for (location, until) in &written.manifest.immutable_until {
                let Some(repo) = repos.iter().find(|r| &r.location == location) else { continue };
                for ancestor in &ancestors {
                    for file in [
                        crate::engine::backup::repo::DATA,
                        crate::engine::backup::repo::INDEX,
                        crate::engine::backup::repo::MANIFEST_SIG,
                        MANIFEST,
                    ] {
                        if let Err(e) =
                            repo.make_immutable(&Repository::backup_key(system, ancestor, file), *until).await
                        {
                            ctx.log(format!(
                                "{location}: could not extend the lock of {ancestor}'s {file}: {e}"
                            ));
                        }
                    }
                }
            }
        }
        let mut manifest = written.manifest;
        manifest.degraded.extend(unusable.iter().map(|e| crate::engine::backup::manifest::LocationFailure {
            location: "?".into(),
            reason: e.clone(),
        }));
        if matches!(policy.source, Source::Path(_))
            && let Err(e) = self.save_index(system, &id, &written.index)
        {
            ctx.log(format!(
                "the file listing was not cached ({e}): the next incremental will read it from a repository"
            ));
        }

        // Read every copy back: a healthy backup is verified within its own job.
        ctx.stage("verifying", Unit::Bytes);
        let mut good = Vec::new();
        let mut bad = Vec::new();
        for location in &written.written {
            let Some(repo) = repos.iter().find(|r| &r.location == location) else { continue };
            let now = self.now();
            let (record, result) = match read::quick(repo, &manifest).await {
                Ok(()) => (VerifyRecord { quick_at: Some(now), deep_at: None, error: None }, None),
                Err(e) => (VerifyRecord { quick_at: None, deep_at: None, error: Some(e.clone()) }, Some(e)),
            };
            if let Err(e) = repo.write_verify(system, &id, &record, Some(&signer)).await {
                ctx.log(format!("{location}: cannot record the verification: {e}"));
            }
            let entry = CatalogEntry {
                location: location.clone(),
                id: id.clone(),
                system: system.to_owned(),
                taken_at: manifest.started_at,
                manifest: serde_json::to_string(&manifest)
                    .map_err(|e| format!("cannot record the manifest: {e}"))?,
                verified_at: record.quick_at,
                deep_verified_at: None,
                verify_error: record.error.clone(),
                trust: Trust::Signed { key: signer.public().key_id() }.encode(),
            };
            self.store.upsert_backup(&entry).await.map_err(|e| e.to_string())?;
            match result {
                None => good.push(location.clone()),
                Some(e) => {
                    ctx.log(format!("verify failed: {e}"));
                    bad.push(e);
                }
            }
        }
        let mut message = format!(
            "backup {id}: {kind}, {} files, {} read, {} stored at {}",
            manifest.files,
            bytes(manifest.plain_size),
            bytes(manifest.stored_size),
            written.written.join(", ")
        );
        if !manifest.degraded.is_empty() {
            message.push_str(&format!("; DEGRADED: {}", describe_failures(&manifest.degraded)));
        }
        if good.is_empty() {
            return Err(format!("{message}; no copy verified: {}", bad.join("; ")));
        }
        message.push_str(&format!("; verified at {}", good.join(", ")));
        ctx.log(message.clone());
        Ok(message)
    }
}
