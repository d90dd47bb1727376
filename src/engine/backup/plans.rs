//! Plans: what a backup, verify, restore, adopt or prune job would do, worked out before it is
//! proposed. The plan the gate shows is the spec that runs.

use std::path::PathBuf;

use crate::config::backup::Source;
use crate::engine::Engine;
use crate::engine::backup::catalog::{BackupView, default_restore_dir, locks, untrusted_refusal};
use crate::engine::backup::manifest::Trust;
use crate::engine::jobs::{JobSpec, Plan};
use crate::model::backup::{PruneCandidate, bytes, chain, next_backup, prune_plan, retain, when};
use crate::model::duration::human;
use crate::model::{BackupKind, BackupSummary};

impl Engine {
    // ---- plans ----

    /// The next backup of `system`: full or the configured kind on its parent, where to.
    pub async fn plan_backup(&self, system: &str) -> Result<(JobSpec, Plan), String> {
        let policy = self.policy(system)?.clone();
        let signer = self.signing_key()?;
        // Only what a configured signer signed is built on.
        let backups: Vec<BackupView> =
            self.backups(Some(system)).await?.into_iter().filter(BackupView::trusted).collect();
        let summaries: Vec<BackupSummary> = backups.iter().map(BackupView::summary).collect();
        let (mut kind, mut parent) = next_backup(policy.kind, &summaries, policy.full_every, self.now());
        let mut why_full = None;
        if matches!(policy.source, Source::Command { .. }) && kind != BackupKind::Full {
            (kind, parent) = (BackupKind::Full, None);
            why_full = Some("a command's output is always backed up whole".to_owned());
        }
        // An incremental restores only where its whole chain is: every location written to
        // must hold a good copy of each backup it builds on.
        if let Some(p) = parent.clone()
            && let Some(links) = chain(&summaries, &p)
        {
            let missing = policy.locations.iter().find(|loc| {
                links.iter().any(|l| {
                    backups
                        .iter()
                        .find(|b| b.manifest.id == l.id)
                        .and_then(|b| b.copy(loc))
                        .is_none_or(|c| c.error.is_some() || !c.trust.trusted())
                })
            });
            if let Some(loc) = missing {
                why_full = Some(format!("{loc} does not hold a good copy of every backup {p} builds on"));
                (kind, parent) = (BackupKind::Full, None);
            }
        }
        if let Some(p) = &parent
            && let Some(view) = backups.iter().find(|b| &b.manifest.id == p)
            && !self.parent_index_available(view)
        {
            why_full = Some(format!(
                "the file listing of {p} is not cached here and no identity_file is set to read it"
            ));
            (kind, parent) = (BackupKind::Full, None);
        }
        if policy.kind != BackupKind::Full && kind == BackupKind::Full && why_full.is_none() {
            why_full = Some(format!(
                "there is no verified full backup to build on in the last {} (full_every)",
                human(policy.full_every)
            ));
        }
        let three = self.three_two_one(&policy);
        let mut lines = vec![
            format!("source     {}", policy.source.describe()),
            match &parent {
                Some(p) => format!("kind       {kind}, on {p} (only what changed since)"),
                None => format!("kind       {kind}"),
            },
        ];
        if let Some(why) = why_full {
            lines.push(format!("           full because {why}"));
        }
        lines.push(match &policy.source {
            crate::config::backup::Source::Path(_) => {
                "pipeline   tar → zstd -1 → age → SHA-256, streamed".to_owned()
            }
            // Its output is stored as it comes, no archive around it.
            crate::config::backup::Source::Command { .. } => {
                "pipeline   its output → zstd -1 → age → SHA-256, streamed (stored as is, no tar)".to_owned()
            }
        });
        lines.push(format!(
            "encrypted  to {} key(s), [encryption] recipients",
            self.config.encryption.recipients.len()
        ));
        for name in &policy.locations {
            let describe = self.config.location(name).map(|l| l.describe()).unwrap_or_default();
            lines.push(format!("to         {name}: {describe}"));
        }
        lines.push(format!(
            "signed     by this host's key {} (manifest, and the audit chain's head beside it)",
            signer.public().key_id()
        ));
        lines.push("then       read each copy back and check its SHA-256 (quick verify)".to_owned());
        if !three.met() {
            lines.push(format!("note       3-2-1 not met: {}", three.shortfalls().join(", ")));
        }
        let plan = Plan { title: format!("Back up {system}"), lines };
        Ok((JobSpec::Backup { system: system.to_owned(), kind, parent }, plan))
    }

    pub async fn plan_verify(
        &self,
        system_or_id: &str,
        deep: bool,
        identity: Option<PathBuf>,
    ) -> Result<(JobSpec, Plan), String> {
        let (system, id) = if self.config.estate.index_of(system_or_id).is_some() {
            (system_or_id.to_owned(), None)
        } else {
            let b = self.backup(system_or_id).await.map_err(|e| {
                format!("{e}; give a system name to verify its newest backup, or a backup id")
            })?;
            (b.manifest.system.clone(), Some(b.manifest.id.clone()))
        };
        let backups = self.backups(Some(&system)).await?;
        let target = match &id {
            Some(id) => backups.iter().find(|b| &b.manifest.id == id),
            None => backups.iter().rev().find(|b| b.trusted()),
        };
        let Some(target) = target else {
            return Err(format!(
                "{system} has no backup signed by a trusted key to verify yet: run `warroom backup run {system}` first"
            ));
        };
        if !target.trusted() {
            return Err(untrusted_refusal(target));
        }
        if deep {
            self.identities(identity.as_deref())?;
        }
        let locations: Vec<&str> = target.copies.iter().map(|c| c.location.as_str()).collect();
        let mut lines = vec![
            format!(
                "backup     {} ({}, {})",
                target.manifest.id,
                target.manifest.kind,
                when(target.manifest.started_at)
            ),
            format!("copies     {}", locations.join(", ")),
            "quick      each copy is there, its size and SHA-256 match the manifest".to_owned(),
        ];
        if deep {
            lines.push(format!(
                "deep       decrypt, decompress and restore it ({}) into a scratch folder, checking every file's size and SHA-256",
                bytes(target.manifest.plain_size)
            ));
        }
        lines.push("records    the result with each copy (verified.json) and in the catalog".to_owned());
        let title = format!("{} {system}", if deep { "Deep-verify" } else { "Verify" });
        Ok((
            JobSpec::Verify {
                system,
                id: Some(target.manifest.id.clone()),
                deep,
                identity: identity.map(|p| p.display().to_string()),
            },
            Plan { title, lines },
        ))
    }

    pub async fn plan_restore(
        &self,
        id_or_system: &str,
        location: Option<&str>,
        target: Option<PathBuf>,
        force: bool,
        identity: Option<PathBuf>,
    ) -> Result<(JobSpec, Plan), String> {
        // A system's name restores its newest verified backup.
        // A system's name restores its newest verified backup signed by a trusted key; one
        // that is not is restored only when named, through a typed gate.
        let backup = if self.config.estate.index_of(id_or_system).is_some() {
            let all = self.backups(Some(id_or_system)).await?;
            all.into_iter().rev().find(|b| b.trusted() && b.verified_at().is_some()).ok_or_else(|| {
                format!("{id_or_system} has no verified backup signed by a trusted key to restore; `warroom backup list {id_or_system}` shows what there is")
            })?
        } else {
            self.backup(id_or_system).await?
        };
        let untrusted = !backup.trusted();
        let system = backup.manifest.system.clone();
        let all = self.backups(Some(&system)).await?;
        let summaries: Vec<BackupSummary> = all.iter().map(BackupView::summary).collect();
        let links = chain(&summaries, &backup.manifest.id).ok_or_else(|| {
            format!("backup {} cannot be restored: a backup it builds on is missing", backup.manifest.id)
        })?;
        let untrusted_links: Vec<&BackupView> = links
            .iter()
            .filter_map(|l| all.iter().find(|b| b.manifest.id == l.id))
            .filter(|b| !b.trusted())
            .collect();
        if !untrusted && !untrusted_links.is_empty() {
            return Err(format!(
                "backup {} builds on {}, which is not signed by a trusted key: name that backup to restore it through the typed gate, or adopt it",
                backup.manifest.id,
                untrusted_links.iter().map(|b| b.manifest.id.as_str()).collect::<Vec<_>>().join(", ")
            ));
        }
        // The location: the one asked for, else the first that holds the whole chain and whose
        // copies are not known bad (and signed, unless the operator named an untrusted one).
        let holds_all = |loc: &str| {
            links.iter().all(|l| {
                all.iter()
                    .find(|b| b.manifest.id == l.id)
                    .and_then(|b| b.copy(loc))
                    .is_some_and(|c| c.error.is_none() && (untrusted || c.trust.trusted()))
            })
        };
        let location = match location {
            Some(l) => {
                if !holds_all(l) {
                    return Err(format!(
                        "location {l} does not hold a good copy of backup {} and everything it builds on",
                        backup.manifest.id
                    ));
                }
                l.to_owned()
            }
            None => {
                backup.copies.iter().map(|c| c.location.clone()).find(|l| holds_all(l)).ok_or_else(|| {
                    format!("no location holds a good copy of backup {} and its chain", backup.manifest.id)
                })?
            }
        };
        self.identities(identity.as_deref())?;
        let target =
            target.unwrap_or_else(|| default_restore_dir(self.state_dir(), &system, &backup.manifest.id));
        let target = if target.is_absolute() {
            target
        } else {
            std::env::current_dir().map(|d| d.join(&target)).unwrap_or(target)
        };
        let occupied =
            target.exists() && std::fs::read_dir(&target).map(|mut d| d.next().is_some()).unwrap_or(true);
        if occupied && !force {
            return Err(format!(
                "{} is not empty; restore into an empty folder, or give --force (what is there is moved aside, not deleted)",
                target.display()
            ));
        }
        let mut lines = Vec::new();
        if untrusted {
            lines.push(format!("UNTRUSTED  {}", backup.trust().label()));
            lines.push(
                "           anyone who can write to the location could have made it: restoring it trusts them"
                    .to_owned(),
            );
            lines.push("           (the gate asks for the system's name; --yes is not enough)".to_owned());
        }
        lines.push(format!(
            "backup     {} ({}, taken {})",
            backup.manifest.id,
            backup.manifest.kind,
            when(backup.manifest.started_at)
        ));
        lines.push(format!("from       {location}"));
        if links.len() > 1 {
            let ids: Vec<&str> = links.iter().map(|l| l.id.as_str()).collect();
            lines.push(format!("chain      {} backups, applied in order: {}", links.len(), ids.join(" → ")));
        }
        lines.push(format!("into       {}", target.display()));
        if occupied {
            lines.push(format!(
                "           what is there now is moved aside to {}.replaced-<time>",
                target.display()
            ));
        }
        let to_read: u64 = links
            .iter()
            .filter_map(|l| all.iter().find(|b| b.manifest.id == l.id))
            .map(|b| b.manifest.stored_size)
            .sum();
        lines.push(format!("size       {} entries; {} to read", backup.manifest.files, bytes(to_read)));
        lines.push(
            "checks     every object's SHA-256 and every file's size and SHA-256 as it is read;".to_owned(),
        );
        lines.push(
            "           restored into a staging folder and moved into place only when all checked out"
                .to_owned(),
        );
        Ok((
            JobSpec::Restore {
                system: system.clone(),
                id: backup.manifest.id.clone(),
                location,
                target: target.display().to_string(),
                force,
                identity: identity.map(|p| p.display().to_string()),
                untrusted,
            },
            Plan {
                title: format!(
                    "Restore {system} from {}backup {}",
                    if untrusted { "UNTRUSTED " } else { "" },
                    backup.manifest.id
                ),
                lines,
            },
        ))
    }

    /// Adopt a backup no trusted key signed (one made before signing): deep-verify it, then
    /// sign its manifest with this host's key at every location holding it.
    pub async fn plan_adopt(&self, id: &str, identity: Option<PathBuf>) -> Result<(JobSpec, Plan), String> {
        let backup = self.backup(id).await?;
        if backup.trusted() {
            return Err(format!(
                "backup {} is already {}: nothing to adopt",
                backup.manifest.id,
                backup.trust().label()
            ));
        }
        let signer = self.signing_key()?;
        self.identities(identity.as_deref())?;
        let system = backup.manifest.system.clone();
        let all = self.backups(Some(&system)).await?;
        let summaries: Vec<BackupSummary> = all.iter().map(BackupView::summary).collect();
        let links = chain(&summaries, &backup.manifest.id)
            .ok_or_else(|| format!("backup {} builds on a backup that is missing", backup.manifest.id))?;
        if let Some(parent) = links
            .iter()
            .filter(|l| l.id != backup.manifest.id)
            .filter_map(|l| all.iter().find(|b| b.manifest.id == l.id))
            .find(|b| !b.trusted())
        {
            return Err(format!(
                "backup {} builds on {}, which is not signed either: adopt {} first",
                backup.manifest.id, parent.manifest.id, parent.manifest.id
            ));
        }
        let locations: Vec<&str> = backup.copies.iter().map(|c| c.location.as_str()).collect();
        // Pin the bytes: what is signed is the manifest this plan shows, wherever it is read.
        let first = backup.copies.first().ok_or("the backup has no copy")?;
        let manifest_bytes =
            self.repository(&first.location)?.manifest_bytes(&system, &backup.manifest.id).await?;
        let manifest_sha256 = format!("{:x}", <sha2::Sha256 as sha2::Digest>::digest(&manifest_bytes));
        let untrusted = backup.trust() != Trust::Unsigned;
        let lines = vec![
            format!(
                "backup     {} ({}, taken {})",
                backup.manifest.id,
                backup.manifest.kind,
                when(backup.manifest.started_at)
            ),
            format!("now        {}", backup.trust().label()),
            format!(
                "deep       decrypt, decompress and restore it ({}) into a scratch folder, checking every file",
                bytes(backup.manifest.plain_size)
            ),
            format!(
                "then       sign its manifest with this host's key {} at {}",
                signer.public().key_id(),
                locations.join(", ")
            ),
            format!("manifest   SHA-256 {manifest_sha256} (only these bytes are signed)"),
            "after      it is listed, verified, counted for RPO and restored like any signed backup"
                .to_owned(),
            "           (adopt only a backup you know this estate made: the signature vouches for it)"
                .to_owned(),
        ];
        Ok((
            JobSpec::Adopt {
                system: system.clone(),
                id: backup.manifest.id.clone(),
                identity: identity.map(|p| p.display().to_string()),
                manifest_sha256,
                untrusted,
            },
            Plan { title: format!("Adopt backup {} of {system}", backup.manifest.id), lines },
        ))
    }

    pub async fn plan_prune(&self, system: &str) -> Result<(JobSpec, Plan), String> {
        let policy = self.policy(system)?;
        let Some(retention) = policy.retention else {
            return Err(format!(
                "\"{system}\" has no retention: add retention = {{ keep_last = 10, keep_daily = 7 }} to its [systems.backup]"
            ));
        };
        // Only signed backups are pruned: one nobody trusted signed is left for the operator.
        let backups: Vec<BackupView> =
            self.backups(Some(system)).await?.into_iter().filter(BackupView::trusted).collect();
        let summaries: Vec<BackupSummary> = backups.iter().map(BackupView::summary).collect();
        let keep = retain(&summaries, &retention);
        let delete: Vec<&BackupView> = backups.iter().filter(|b| !keep.contains(&b.manifest.id)).collect();
        let (now, locked) = (self.now(), locks(&backups));
        let candidates: Vec<PruneCandidate> = delete
            .iter()
            .map(|b| PruneCandidate {
                id: b.manifest.id.clone(),
                kind: b.manifest.kind,
                stored_size: b.manifest.stored_size,
                locations: b.copies.iter().map(|c| c.location.clone()).collect(),
                held: b
                    .copies
                    .iter()
                    .filter_map(|c| {
                        locked
                            .get(&(b.manifest.id.clone(), c.location.clone()))
                            .map(|u| (c.location.clone(), *u))
                    })
                    .filter(|(_, u)| *u > now)
                    .collect(),
            })
            .collect();
        let lines = prune_plan(&retention, keep.len(), &candidates);
        Ok((
            JobSpec::Prune {
                system: system.to_owned(),
                delete: delete.iter().map(|b| b.manifest.id.clone()).collect(),
            },
            Plan { title: format!("Prune {system}'s backups"), lines },
        ))
    }
}
