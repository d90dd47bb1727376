//! The catalog: what backups exist at every location, their copies' verifications and trust,
//! the standing of each system's backups (RPO, 3-2-1), kept in step with the repositories.
//! The repositories are the truth: the catalog is rebuilt from them, so a console started on an
//! empty state directory lists, verifies and restores from the repositories alone.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use crate::config::backup::BackupPolicy;
use crate::engine::Engine;
use crate::engine::backup::manifest::{Index, Manifest, Trust};
use crate::engine::backup::read::{self, Identities};
use crate::engine::backup::repo::Repository;
use crate::engine::jobs::{JobKind, JobState};
use crate::model::backup::{CopiesOf, Schedule, ScheduleView, when};
use crate::model::{BackupSummary, Media, ThreeTwoOne};
use crate::store::{CatalogEntry, NewAuditRecord, Outcome};

/// The backups that can be restored: at some location, it and every backup its chain builds
/// on have a copy verified good. An incremental whose full backup failed verification is not
/// one, however good its own copies are.
pub fn restorable(all: &[BackupView]) -> std::collections::HashSet<String> {
    let copies: Vec<CopiesOf> = all
        .iter()
        .map(|b| CopiesOf {
            id: b.manifest.id.clone(),
            parent: b.manifest.parent.clone(),
            // A copy counts only when its manifest is signed by a configured signer.
            copies: b
                .copies
                .iter()
                .map(|c| {
                    (c.location.clone(), c.trust.trusted() && c.error.is_none() && c.verified_at.is_some())
                })
                .collect(),
        })
        .collect();
    crate::model::backup::restorable(&copies).into_iter().collect()
}

/// Until when each copy (backup id, location) is locked, its descendants' locks included.
pub(in crate::engine) fn locks(backups: &[BackupView]) -> HashMap<(String, String), DateTime<Utc>> {
    let summaries: Vec<BackupSummary> = backups.iter().map(BackupView::summary).collect();
    let own: Vec<crate::model::backup::OwnLocks> = backups
        .iter()
        .map(|b| {
            (b.manifest.id.clone(), b.manifest.immutable_until.iter().map(|(l, u)| (l.clone(), *u)).collect())
        })
        .collect();
    crate::model::backup::locks(&summaries, &own)
}

/// One copy of a backup, at one location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Copy {
    pub location: String,
    pub verified_at: Option<DateTime<Utc>>,
    pub deep_verified_at: Option<DateTime<Utc>>,
    /// What the last verification of this copy found wrong.
    pub error: Option<String>,
    /// Whether this copy's manifest is signed by a configured signer.
    pub trust: Trust,
}

/// One backup, with every copy the catalog knows of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupView {
    pub manifest: Manifest,
    pub copies: Vec<Copy>,
}

impl BackupView {
    /// When a trusted copy was last proven good (a copy known bad does not count).
    pub fn verified_at(&self) -> Option<DateTime<Utc>> {
        self.copies
            .iter()
            .filter(|c| c.error.is_none() && c.trust.trusted())
            .filter_map(|c| c.verified_at)
            .max()
    }

    pub fn deep_verified_at(&self) -> Option<DateTime<Utc>> {
        self.copies
            .iter()
            .filter(|c| c.error.is_none() && c.trust.trusted())
            .filter_map(|c| c.deep_verified_at)
            .max()
    }

    /// Signed by a configured signer at some location.
    pub fn trusted(&self) -> bool {
        self.copies.iter().any(|c| c.trust.trusted())
    }

    /// The best trust of its copies: signed where any copy is.
    pub fn trust(&self) -> Trust {
        self.copies
            .iter()
            .find(|c| c.trust.trusted())
            .or_else(|| self.copies.first())
            .map(|c| c.trust.clone())
            .unwrap_or(Trust::Untrusted { reason: "no copy".into() })
    }

    pub fn summary(&self) -> BackupSummary {
        self.manifest.summary(self.verified_at())
    }

    /// A location failed while it was written: fewer copies than configured.
    pub fn degraded(&self) -> bool {
        !self.manifest.degraded.is_empty()
    }

    pub fn copy(&self, location: &str) -> Option<&Copy> {
        self.copies.iter().find(|c| c.location == location)
    }
}

/// Where a system stands on backups: what the console's detail and `rpo` show.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BackupStanding {
    pub system: String,
    pub newest_verified: Option<DateTime<Utc>>,
    pub newest_deep_verified: Option<DateTime<Utc>>,
    pub backups: usize,
    pub schedule: Option<ScheduleView>,
    pub three_two_one: Option<ThreeTwoOne>,
}

/// A time to the microsecond, as the store keeps it.
fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::Timelike;
    t.with_nanosecond(t.nanosecond() / 1000 * 1000).unwrap_or(t)
}

/// Where restores from the console go by default: a folder of their own, never over an
/// earlier restore of the same backup (`-2`, `-3`... after the first).
pub fn default_restore_dir(state_dir: &Path, system: &str, id: &str) -> PathBuf {
    let base = state_dir.join("restores");
    let taken = |p: &Path| std::fs::read_dir(p).is_ok_and(|mut d| d.next().is_some());
    let first = base.join(format!("{system}-{id}"));
    if !taken(&first) {
        return first;
    }
    (2..).map(|n| base.join(format!("{system}-{id}-{n}"))).find(|p| !taken(p)).unwrap_or(first)
}

impl Engine {
    pub fn repository(&self, name: &str) -> Result<Repository, String> {
        let location = self.config.location(name).ok_or_else(|| {
            format!(
                "there is no location \"{name}\"; the configuration has [[locations]] {}",
                self.location_names()
            )
        })?;
        Repository::open(location)
    }

    pub(in crate::engine) fn location_names(&self) -> String {
        let names: Vec<&str> = self.config.locations.iter().map(|l| l.name.as_str()).collect();
        if names.is_empty() { "none".to_owned() } else { names.join(", ") }
    }

    pub(in crate::engine) fn policy(&self, system: &str) -> Result<&BackupPolicy, String> {
        let settings = self.config.system(system).ok_or_else(|| self.no_such_system(system))?;
        settings.backup.as_ref().ok_or_else(|| {
            format!(
                "\"{system}\" has no backup: add [systems.backup] to it in {}",
                self.config.path.display()
            )
        })
    }

    /// Bring the catalog in step with the repositories (of one system, or all): every backup
    /// with a manifest is recorded with its copies' verifications; what is gone is forgotten.
    /// A location that cannot be read keeps what the catalog knew; its error is returned.
    pub async fn refresh_catalog(&self, system: Option<&str>) -> Vec<String> {
        let mut problems = Vec::new();
        // What the catalog knew decides what a location's answer may change (a recorded
        // failure, a trusted id): unreadable, nothing is changed.
        let known = match self.store.catalog(system).await {
            Ok(known) => known,
            Err(e) => {
                return vec![format!(
                    "state unreadable: the backup catalog cannot be read, so it was not refreshed: {e}"
                )];
            }
        };
        // Looked up once per listed backup: by (location, id).
        let by_copy: HashMap<(&str, &str), &CatalogEntry> =
            known.iter().map(|k| ((k.location.as_str(), k.id.as_str()), k)).collect();
        for location in &self.config.locations {
            // A folder that is not there is a location that cannot be read (an unmounted
            // disk), not an empty one.
            if let crate::config::backup::Store::Fs { path } = &location.store
                && !path.is_dir()
            {
                problems.push(format!(
                    "location {}: the folder {} does not exist (is it mounted?)",
                    location.name,
                    path.display()
                ));
                continue;
            }
            let repo = match Repository::open(location) {
                Ok(r) => r,
                Err(e) => {
                    problems.push(e);
                    continue;
                }
            };
            let signers = &self.config.encryption.signers;
            // Every manifest's signature is checked against its bytes, every time: a manifest
            // edited after signing reads as such even when it parses to the same backup.
            let listed = match repo.manifests(system, signers).await {
                Ok(m) => m,
                Err(e) => {
                    problems.push(format!("location {}: {e}", location.name));
                    continue;
                }
            };
            for l in &listed {
                let m = &l.manifest;
                let trust = l.trust.encode();
                let before = by_copy.get(&(location.name.as_str(), m.id.as_str())).copied();
                // A copy nobody trusted signed never takes the place of a trusted one with the
                // same id (another system's folder, say).
                if let Some(b) = before
                    && Trust::decode(&b.trust).trusted()
                    && (!l.trust.trusted() || b.system != m.system)
                    && listed
                        .iter()
                        .any(|x| x.manifest.id == m.id && x.manifest.system == b.system && x.trust.trusted())
                {
                    problems.push(format!(
                        "location {}: {}/{} has the id of a signed backup of {} and is ignored",
                        location.name, m.system, m.id, b.system
                    ));
                    continue;
                }
                // A backup nobody trusted signed is told once, and audited, when first seen.
                if !l.trust.trusted() && before.is_none_or(|k| k.trust != trust) {
                    tracing::warn!(location = %location.name, backup = %m.id, trust = %l.trust.label(), "a backup not signed by a trusted key");
                    if let Err(e) = self
                        .audit(
                            NewAuditRecord::new("warroom", "backup.untrusted", &m.system, Outcome::Refused).details(
                                serde_json::json!({ "backup": m.id, "location": location.name, "trust": l.trust.label() }),
                            ),
                        )
                        .await
                    {
                        problems.push(format!("backup {} is not signed by a trusted key, and auditing it failed: {e}", m.id));
                    }
                }
                // A failure this host recorded is never cleared by a record read from the
                // location (an old good one could be replayed): only a new verification clears it.
                let failed_here = before.is_some_and(|b| b.verify_error.is_some());
                let had = before.map(|b| super::repo::VerifyRecord {
                    quick_at: b.verified_at,
                    deep_at: b.deep_verified_at,
                    error: b.verify_error.clone(),
                });
                let record = if l.trust.trusted() && !failed_here {
                    repo.read_verify_known(&m.system, &m.id, signers, had.as_ref()).await
                } else {
                    None
                };
                // Times as the store keeps them (to the microsecond), so an unchanged copy
                // compares equal to its row.
                let entry = CatalogEntry {
                    location: location.name.clone(),
                    id: m.id.clone(),
                    system: m.system.clone(),
                    taken_at: micros(m.started_at),
                    manifest: serde_json::to_string(m).unwrap_or_default(),
                    verified_at: record.as_ref().and_then(|r| r.quick_at).map(micros),
                    deep_verified_at: record.as_ref().and_then(|r| r.deep_at).map(micros),
                    verify_error: record.as_ref().and_then(|r| r.error.clone()),
                    trust,
                };
                // Nothing changed: nothing to write (a report on 5,000 systems reads the
                // repositories every time, and would otherwise rewrite every row).
                if record.is_some() && before == Some(&entry) {
                    continue;
                }
                if record.is_none()
                    && before.is_some_and(|b| {
                        b.manifest == entry.manifest && b.trust == entry.trust && b.system == entry.system
                    })
                {
                    continue;
                }
                // A verification record the location holds counts only when signed for this
                // copy; otherwise what this host knew of it stays.
                let saved = if record.is_some() {
                    self.store.upsert_backup(&entry).await
                } else {
                    self.store.upsert_backup_unverified(&entry).await
                };
                if let Err(e) = saved {
                    problems.push(e.to_string());
                }
            }
            let present: std::collections::HashSet<&str> =
                listed.iter().map(|l| l.manifest.id.as_str()).collect();
            for gone in
                known.iter().filter(|k| k.location == location.name && !present.contains(k.id.as_str()))
            {
                if let Err(e) = self.store.remove_backup(&gone.location, &gone.id).await {
                    problems.push(e.to_string());
                }
            }
        }
        problems
    }

    /// Every backup the catalog knows (of one system, or all), oldest first.
    pub async fn backups(&self, system: Option<&str>) -> Result<Vec<BackupView>, String> {
        let rows = self.store.catalog(system).await.map_err(|e| e.to_string())?;
        let mut views: Vec<BackupView> = Vec::new();
        let mut at: HashMap<String, usize> = HashMap::new();
        for row in rows {
            let copy = Copy {
                location: row.location.clone(),
                verified_at: row.verified_at,
                deep_verified_at: row.deep_verified_at,
                error: row.verify_error.clone(),
                trust: Trust::decode(&row.trust),
            };
            let Ok(manifest) = serde_json::from_str::<Manifest>(&row.manifest) else { continue };
            match at.get(&row.id) {
                Some(&i) => {
                    // The view shows a trusted copy's manifest: an untrusted one of the same id
                    // (written by someone else) never stands in for it.
                    if copy.trust.trusted() && !views[i].trusted() {
                        views[i].manifest = manifest;
                    }
                    views[i].copies.push(copy)
                }
                None => {
                    at.insert(row.id.clone(), views.len());
                    views.push(BackupView { manifest, copies: vec![copy] });
                }
            }
        }
        views.sort_by(|a, b| {
            a.manifest.started_at.cmp(&b.manifest.started_at).then(a.manifest.id.cmp(&b.manifest.id))
        });
        Ok(views)
    }

    /// The backup `id`, whichever system it belongs to.
    pub async fn backup(&self, id: &str) -> Result<BackupView, String> {
        let all = self.backups(None).await?;
        if let Some(b) = all.iter().find(|b| b.manifest.id == id) {
            return Ok(b.clone());
        }
        let near: Vec<&str> =
            all.iter().map(|b| b.manifest.id.as_str()).filter(|i| i.starts_with(id)).collect();
        match near.as_slice() {
            [one] => Ok(all.iter().find(|b| b.manifest.id == *one).cloned().ok_or("vanished")?),
            [] => Err(format!("there is no backup \"{id}\" (see `warroom backup list`)")),
            many => Err(format!("\"{id}\" could be any of {}; give more of the id", many.join(", "))),
        }
    }

    /// For each system, its newest restorable backup.
    pub async fn newest_restorable(&self) -> Result<HashMap<String, BackupView>, String> {
        let all = self.backups(None).await?;
        let good = restorable(&all);
        let mut newest: HashMap<String, BackupView> = HashMap::new();
        for b in all.into_iter().filter(|b| good.contains(&b.manifest.id)) {
            match newest.get(&b.manifest.system) {
                Some(n) if n.manifest.started_at > b.manifest.started_at => {}
                _ => {
                    newest.insert(b.manifest.system.clone(), b);
                }
            }
        }
        Ok(newest)
    }

    /// For each system, when its newest restorable backup was taken: what RPO counts.
    pub async fn newest_verified(&self) -> Result<HashMap<String, DateTime<Utc>>, String> {
        Ok(self.newest_restorable().await?.into_iter().map(|(s, b)| (s, b.manifest.started_at)).collect())
    }

    /// Each system's standing: newest verified backup, schedule, 3-2-1.
    pub async fn standings(&self) -> Result<Vec<BackupStanding>, String> {
        let all = self.backups(None).await?;
        let good = restorable(&all);
        let started = self.last_backup_starts().await?;
        let now = self.now();
        let mut by_system: HashMap<&str, Vec<&BackupView>> = HashMap::new();
        for b in &all {
            by_system.entry(b.manifest.system.as_str()).or_default().push(b);
        }
        Ok(self
            .config
            .estate
            .systems()
            .iter()
            .zip(&self.config.systems)
            .map(|(system, settings)| {
                let mine: &[&BackupView] =
                    by_system.get(system.name.as_str()).map(Vec::as_slice).unwrap_or(&[]);
                let policy = settings.backup.as_ref();
                BackupStanding {
                    system: system.name.clone(),
                    newest_verified: mine
                        .iter()
                        .filter(|b| good.contains(&b.manifest.id))
                        .map(|b| b.manifest.started_at)
                        .max(),
                    newest_deep_verified: mine.iter().filter_map(|b| b.deep_verified_at()).max(),
                    backups: mine.iter().filter(|b| b.trusted()).count(),
                    schedule: policy.map(|p| {
                        let last = started.get(&system.name).copied();
                        match Schedule::assess(last, p.every, now) {
                            Schedule::NotYet { due_at } | Schedule::Due { due_at } => {
                                ScheduleView { every_secs: p.every.as_secs(), due_at, missed: false }
                            }
                            Schedule::Missed { due_at, .. } => {
                                ScheduleView { every_secs: p.every.as_secs(), due_at, missed: true }
                            }
                        }
                    }),
                    three_two_one: policy.map(|p| self.three_two_one(p)),
                }
            })
            .collect())
    }

    /// The 3-2-1 state of a policy's locations, with how many of them are immutable.
    pub fn three_two_one(&self, policy: &BackupPolicy) -> ThreeTwoOne {
        let locations: Vec<&crate::config::backup::Location> =
            policy.locations.iter().filter_map(|n| self.config.location(n)).collect();
        let placed: Vec<(Media, bool)> = locations.iter().map(|l| (l.media, l.offsite)).collect();
        ThreeTwoOne::assess(&placed)
            .with_immutable(locations.iter().filter(|l| l.immutable.is_some()).count() as u32)
    }

    /// Until when a backup taken at `started` is locked at each of the policy's immutable
    /// locations: the oldest date a prune could delete it (`model::backup::lock_period`).
    pub(in crate::engine) fn lock_until(
        &self,
        policy: &BackupPolicy,
        started: DateTime<Utc>,
    ) -> HashMap<String, DateTime<Utc>> {
        policy
            .locations
            .iter()
            .filter_map(|n| self.config.location(n))
            .filter_map(|l| {
                let i = l.immutable?;
                let period =
                    crate::model::backup::lock_period(policy.retention.as_ref(), policy.every, i.at_least);
                Some((l.name.clone(), started + TimeDelta::from_std(period).unwrap_or(TimeDelta::MAX)))
            })
            .collect()
    }

    /// When each system's last backup started: from its newest backup job, or its newest
    /// backup when no job is on record (a fresh state directory).
    /// When each system's last good backup started: its newest backup, or its newest
    /// backup job that succeeded. (A failed run does not count: the next one is due.)
    pub(in crate::engine) async fn last_backup_starts(
        &self,
    ) -> Result<HashMap<String, DateTime<Utc>>, String> {
        let mut out: HashMap<String, DateTime<Utc>> = HashMap::new();
        // A backup nobody trusted signed never puts the next one off.
        for b in self.backups(None).await?.into_iter().filter(BackupView::trusted) {
            let e = out.entry(b.manifest.system.clone()).or_insert(b.manifest.started_at);
            *e = (*e).max(b.manifest.started_at);
        }
        for job in self.jobs.list(500).await.map_err(|e| e.to_string())? {
            if job.kind != JobKind::Backup || job.state != JobState::Succeeded {
                continue;
            }
            let Some(started) = job.started_at else { continue };
            let e = out.entry(job.target.clone()).or_insert(started);
            *e = (*e).max(started);
        }
        Ok(out)
    }

    /// When each system's last backup attempt started, whatever came of it.
    pub(in crate::engine) async fn last_backup_attempts(
        &self,
    ) -> Result<HashMap<String, DateTime<Utc>>, String> {
        let mut out: HashMap<String, DateTime<Utc>> = HashMap::new();
        for job in self.jobs.list(500).await.map_err(|e| e.to_string())? {
            if job.kind != JobKind::Backup {
                continue;
            }
            let Some(started) = job.started_at else { continue };
            let e = out.entry(job.target.clone()).or_insert(started);
            *e = (*e).max(started);
        }
        Ok(out)
    }

    pub(in crate::engine) fn identities(&self, given: Option<&Path>) -> Result<Identities, String> {
        let path = given.map(Path::to_owned).or_else(|| self.config.encryption.identity_file.clone()).ok_or_else(
            || {
                format!(
                    "reading a backup needs the private key: set [encryption] identity_file in {} (or give --identity FILE)",
                    self.config.path.display()
                )
            },
        )?;
        read::load_identities(&path)
    }

    /// Where the plain file listing of each backup is kept, so the next incremental needs no
    /// private key.
    pub(in crate::engine) fn index_cache(&self, system: &str, id: &str) -> PathBuf {
        self.state_dir().join("index").join(system).join(format!("{id}.json.zst"))
    }

    pub(in crate::engine) fn save_index(&self, system: &str, id: &str, index: &Index) -> Result<(), String> {
        let path = self.index_cache(system, id);
        if let Some(dir) = path.parent() {
            crate::store::create_private_dir(dir.parent().unwrap_or(dir))?;
            crate::store::create_private_dir(dir)?;
        }
        let tmp = path.with_extension("tmp");
        let file = std::fs::File::create(&tmp).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        let mut packed =
            zstd::stream::write::Encoder::new(std::io::BufWriter::new(file), 3).map_err(|e| e.to_string())?;
        serde_json::to_writer(&mut packed, index).map_err(|e| e.to_string())?;
        let file = packed.finish().map_err(|e| e.to_string())?;
        file.into_inner().map_err(|e| e.to_string())?;
        std::fs::rename(&tmp, &path).map_err(|e| format!("cannot write {}: {e}", path.display()))
    }

    /// A parent's file listing: from the local cache, else decrypted from a repository.
    pub(in crate::engine) async fn parent_index(&self, parent: &BackupView) -> Result<Index, String> {
        let cached = self.index_cache(&parent.manifest.system, &parent.manifest.id);
        if let Ok(file) = std::fs::File::open(&cached)
            && let Ok(plain) = zstd::stream::read::Decoder::new(file)
            && let Ok(index) = serde_json::from_reader::<_, Index>(std::io::BufReader::new(plain))
        {
            return Ok(index);
        }
        let identities = self.identities(None)?;
        let mut last = String::from("no copy to read");
        for copy in &parent.copies {
            let repo = self.repository(&copy.location)?;
            match read::index(&repo, &parent.manifest, &identities).await {
                Ok(index) => return Ok(index),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Whether a parent's listing can be had without asking for anything.
    pub(in crate::engine) fn parent_index_available(&self, parent: &BackupView) -> bool {
        self.index_cache(&parent.manifest.system, &parent.manifest.id).exists()
            || self.config.encryption.identity_file.as_ref().is_some_and(|p| p.exists())
    }

    /// This host's signing key: backups are signed by the host that makes them.
    pub fn signing_key(&self) -> Result<crate::model::signature::SecretKey, String> {
        let path = self.config.encryption.signing_key_file.as_ref().ok_or_else(|| {
            format!(
                "backups are signed by the host that makes them, and this one has no signing key: run `warroom keygen --out KEY` and set [encryption] signing_key_file (and its public key in signers) in {}",
                self.config.path.display()
            )
        })?;
        let key = super::keys::load(path)?;
        if !self.config.encryption.signers.contains(&key.public()) {
            return Err(format!(
                "the signing key {} ({}) is not among [encryption] signers, so its backups would be ignored: add \"{}\" to signers",
                path.display(),
                key.public().key_id(),
                key.public().encoded()
            ));
        }
        Ok(key)
    }

    /// The audit chain's head now, to anchor beside a backup.
    /// (`None` before the first record; a head that cannot be read is an error.)
    pub(in crate::engine) async fn anchor_now(
        &self,
        system: &str,
        backup: &str,
    ) -> Result<Option<super::anchor::Anchor>, String> {
        let Some(head) = self.store.meta("audit.head").await.map_err(|e| e.to_string())? else {
            return Ok(None);
        };
        let parsed = head.split_once(' ').and_then(|(seq, hash)| Some((seq.parse::<i64>().ok()?, hash)));
        let (seq, hash) =
            parsed.ok_or_else(|| format!("the audit chain's recorded head \"{head}\" is unreadable"))?;
        Ok(Some(super::anchor::Anchor {
            format: super::anchor::FORMAT,
            state: self.chain_name(),
            seq,
            hash: hash.to_owned(),
            at: self.now(),
            system: system.to_owned(),
            backup: backup.to_owned(),
        }))
    }

    /// Which audit chain this engine's state holds, as anchors name it.
    pub fn chain_name(&self) -> String {
        super::anchor::state_name(&crate::engine::jobs::hostname(), self.state_dir())
    }

    /// Check the audit chain against the newest anchor of each system at each location: the
    /// anchors this state wrote, signed by a configured signer. A record whose hash differs
    /// from its anchor, or an anchor past the chain's end, means the chain was rewritten.
    pub async fn check_anchors(&self) -> (Vec<super::anchor::AnchorCheck>, Vec<String>) {
        use super::anchor::{Anchor, AnchorCheck};
        use super::repo::{ANCHOR, ANCHOR_SIG};
        let mut checks = Vec::new();
        let mut problems = Vec::new();
        let ours = self.chain_name();
        for location in &self.config.locations {
            let repo = match Repository::open(location) {
                Ok(r) => r,
                Err(e) => {
                    problems.push(e);
                    continue;
                }
            };
            let all = match repo.backups(None).await {
                Ok(a) => a,
                Err(e) => {
                    problems.push(format!("location {}: {e}", location.name));
                    continue;
                }
            };
            // Every anchor is checked, not just the newest: a planted one cannot hide the rest.
            for (sys, id, files) in &all {
                if !(files.iter().any(|f| f == ANCHOR) && files.iter().any(|f| f == ANCHOR_SIG)) {
                    continue;
                }
                let key = |f: &str| Repository::backup_key(sys, id, f);
                let (Ok(bytes), Ok(sig)) =
                    (repo.read_small(&key(ANCHOR)).await, repo.read_small(&key(ANCHOR_SIG)).await)
                else {
                    problems.push(format!(
                        "location {}: the anchor with backup {id} cannot be read",
                        location.name
                    ));
                    continue;
                };
                let signed = match crate::model::signature::verify(
                    &self.config.encryption.signers,
                    &bytes,
                    &String::from_utf8_lossy(&sig),
                ) {
                    Ok(s) => s,
                    Err(e) => {
                        problems.push(format!(
                            "location {}: the anchor with backup {id} is ignored: {e}",
                            location.name
                        ));
                        continue;
                    }
                };
                let Ok(anchor) = serde_json::from_slice::<Anchor>(&bytes) else { continue };
                if anchor.state != ours {
                    continue; // another state's chain
                }
                // An anchor copied into another backup's folder proves nothing about this one.
                if anchor.system != *sys || anchor.backup != *id {
                    problems.push(format!(
                        "location {}: the anchor in {sys}/{id} was made with {}/{}: ignored",
                        location.name, anchor.system, anchor.backup
                    ));
                    continue;
                }
                let problem = match self.store.audit_hash(anchor.seq).await {
                    Ok(Some(h)) if h == anchor.hash => None,
                    Ok(Some(h)) => Some(format!(
                        "record #{} was rewritten: its hash is {} in the database, but backup {} at {} anchored {} (signed by {} on {})",
                        anchor.seq,
                        &h[..12.min(h.len())],
                        anchor.backup,
                        location.name,
                        &anchor.hash[..12.min(anchor.hash.len())],
                        signed.key_id,
                        when(anchor.at)
                    )),
                    Ok(None) => Some(format!(
                        "record #{} is gone: backup {} at {} anchored the chain at #{} (signed by {} on {}), and the chain is shorter now",
                        anchor.seq,
                        anchor.backup,
                        location.name,
                        anchor.seq,
                        signed.key_id,
                        when(anchor.at)
                    )),
                    Err(e) => Some(e.to_string()),
                };
                checks.push(AnchorCheck {
                    location: location.name.clone(),
                    system: sys.clone(),
                    backup: id.clone(),
                    seq: anchor.seq,
                    signed_by: signed.key_id,
                    problem,
                });
            }
        }
        (checks, problems)
    }
}

/// Why a backup nobody trusted signed is not verified or used.
pub(in crate::engine) fn untrusted_refusal(b: &BackupView) -> String {
    format!(
        "backup {} is {}: it is not verified or counted; `warroom backup adopt {}` signs it after a deep verify, or restore it by naming it (the gate then asks for the system's name)",
        b.manifest.id,
        b.trust().label(),
        b.manifest.id
    )
}

/// A program path that exists, or a name found on `PATH`.
pub(in crate::engine) fn program_found(program: &str) -> bool {
    if program.contains('/') {
        return Path::new(program).exists();
    }
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|d| d.join(program).is_file()))
}

/// Group copies by location, for listings.
pub fn by_location(views: &[BackupView]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for v in views {
        for c in &v.copies {
            *out.entry(c.location.clone()).or_insert(0) += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    pub(in crate::engine) fn a_second_restore_of_a_backup_gets_a_folder_of_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let first = default_restore_dir(dir.path(), "wiki", "B1");
        assert_eq!(first, dir.path().join("restores/wiki-B1"));
        std::fs::create_dir_all(&first).unwrap();
        assert_eq!(default_restore_dir(dir.path(), "wiki", "B1"), first, "an empty folder is used");
        std::fs::write(first.join("page.md"), "restored").unwrap();
        let second = default_restore_dir(dir.path(), "wiki", "B1");
        assert_eq!(second, dir.path().join("restores/wiki-B1-2"));
    }
}
