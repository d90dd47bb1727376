//! Sign a backup made before signing, after a deep verify of it.

use std::path::PathBuf;

use crate::engine::Engine;
use crate::engine::backup::manifest::Manifest;
use crate::engine::backup::read::{self};
use crate::engine::backup::repo::{Repository, VerifyRecord};
use crate::engine::backup::write::{self};
use crate::engine::jobs::{JobContext, Unit};
use crate::model::BackupSummary;
use crate::model::backup::chain;

impl Engine {
    pub(in crate::engine) async fn adopt(
        &self,
        system: &str,
        id: &str,
        pinned: &str,
        identity: Option<PathBuf>,
        ctx: &JobContext,
    ) -> Result<String, String> {
        let identities = self.identities(identity.as_deref())?;
        let signer = self.signing_key()?;
        let signers = self.config.encryption.signers.clone();
        let view = self.backup(id).await?;
        let mut signed_at = Vec::new();
        let mut failures = Vec::new();
        for copy in &view.copies {
            let location = copy.location.clone();
            let result = async {
                let repo = self.repository(&location)?;
                // The bytes verified are the bytes signed: read once.
                let bytes = repo.manifest_bytes(system, id).await?;
                if format!("{:x}", <sha2::Sha256 as sha2::Digest>::digest(&bytes)) != pinned {
                    return Err(format!(
                        "location {location}: its manifest of {id} is not the one the plan showed: not signed"
                    ));
                }
                let manifest: Manifest = serde_json::from_slice(&bytes)
                    .map_err(|e| format!("location {location}: the manifest of {id} is unreadable: {e}"))?;
                if manifest.id != id || manifest.system != system {
                    return Err(format!("location {location}: the manifest of {id} names another backup"));
                }
                let listed = repo.manifests(Some(system), &signers).await?;
                let summaries: Vec<BackupSummary> =
                    listed.iter().map(|l| l.manifest.summary(Some(l.manifest.started_at))).collect();
                let links = chain(&summaries, id)
                    .ok_or_else(|| format!("location {location} does not hold {id} and what it builds on"))?;
                let mut ordered = Vec::new();
                for l in &links {
                    if l.id == id {
                        ordered.push(manifest.clone());
                    } else {
                        let parent =
                            listed.iter().find(|x| x.manifest.id == l.id).ok_or("a parent vanished")?;
                        if !parent.trust.trusted() {
                            return Err(format!(
                                "location {location}: {id} builds on {}, which is not signed",
                                l.id
                            ));
                        }
                        ordered.push(parent.manifest.clone());
                    }
                }
                ctx.stage(&format!("quick verify at {location}"), Unit::Bytes);
                read::quick(&repo, &manifest).await?;
                ctx.stage(&format!("deep verify at {location}"), Unit::Bytes);
                let scratch = self.state_dir().join("scratch").join(&ctx.id);
                let _ = std::fs::remove_dir_all(&scratch);
                std::fs::create_dir_all(&scratch)
                    .map_err(|e| format!("cannot make a scratch folder {}: {e}", scratch.display()))?;
                let total: u64 = ordered.iter().map(|m| m.plain_size).sum();
                ctx.meter.set_total(total);
                ctx.meter.set_done(0);
                let deep = read::restore_into(&repo, &ordered, &identities, &scratch, &ctx.meter).await;
                let _ = std::fs::remove_dir_all(&scratch);
                deep?;
                let sig = signer.sign(&bytes, &write::manifest_comment(&manifest));
                repo.write_small(
                    &Repository::backup_key(system, id, crate::engine::backup::repo::MANIFEST_SIG),
                    sig.into_bytes(),
                )
                .await?;
                let now = self.now();
                let record = VerifyRecord { quick_at: Some(now), deep_at: Some(now), error: None };
                if let Err(e) = repo.write_verify(system, id, &record, Some(&signer)).await {
                    ctx.log(format!("{location}: cannot record the verification: {e}"));
                }
                Ok::<(), String>(())
            }
            .await;
            match result {
                Ok(()) => {
                    ctx.log(format!(
                        "{location}: backup {id} deep-verified and signed by {}",
                        signer.public().key_id()
                    ));
                    signed_at.push(location);
                }
                Err(e) => {
                    ctx.log(format!("FAILED {e}"));
                    failures.push(e);
                }
            }
        }
        self.refresh_catalog(Some(system)).await;
        if signed_at.is_empty() {
            return Err(format!("backup {id} was not adopted: {}", failures.join("; ")));
        }
        let mut message =
            format!("backup {id} adopted: deep-verified and signed at {}", signed_at.join(", "));
        if !failures.is_empty() {
            message.push_str(&format!("; not at: {}", failures.join("; ")));
        }
        Ok(message)
    }
}
