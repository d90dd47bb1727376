//! The backup service, as the commands and the console use it: plan a job (the plan the gate
//! shows is the spec that runs), carry it out on the job pool, keep the catalog in step with
//! the repositories, and run the schedule.
//!
//! ```text
//!  plan_backup/verify/restore/prune ──► (JobSpec, Plan) ──► propose ──► the gate ──► run_job
//!                                                                                    │
//!        catalog (state store) ◄── refresh from every location ◄── execute ◄─────────┘
//! ```
//! The repositories are the truth: the catalog is rebuilt from them, so a console started on an
//! empty state directory lists, verifies and restores from the repositories alone.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use super::manifest::{Index, Manifest, Trust, new_id};
use super::read::{self, Identities};
use super::repo::{MANIFEST, Repository, VerifyRecord};
use super::write::{self, BackupRequest, describe_failures};
use crate::config::backup::{BackupPolicy, Source};
use crate::engine::Engine;
use crate::engine::jobs::{JobContext, JobSnapshot, JobSpec, JobState, Plan, Proof, Refusal, Unit};
use crate::model::backup::{Schedule, chain, next_backup, retain};
use crate::model::duration::human;
use crate::model::{BackupKind, BackupSummary, Media, ThreeTwoOne};
use crate::store::{CatalogEntry, NewAuditRecord, Outcome};

/// The backups that can be restored: at some location, it and every backup its chain builds
/// on have a copy verified good. An incremental whose full backup failed verification is not
/// one, however good its own copies are.
pub fn restorable(all: &[BackupView]) -> std::collections::HashSet<String> {
    let by_id: HashMap<&str, &BackupView> = all.iter().map(|b| (b.manifest.id.as_str(), b)).collect();
    // A copy counts only when its manifest is signed by a configured signer.
    let good_at = |b: &BackupView, location: &str| {
        b.copy(location).is_some_and(|c| c.trust.trusted() && c.error.is_none() && c.verified_at.is_some())
    };
    all.iter()
        .filter(|b| {
            b.copies.iter().any(|c| {
                let mut at = Some(*b);
                // Bounded by the number of backups: a damaged catalog cannot loop for ever.
                for _ in 0..=all.len() {
                    let Some(this) = at else { return true };
                    if !good_at(this, &c.location) {
                        return false;
                    }
                    at = match &this.manifest.parent {
                        Some(parent) => match by_id.get(parent.as_str()) {
                            Some(p) => Some(*p),
                            None => return false,
                        },
                        None => None,
                    };
                }
                false
            })
        })
        .map(|b| b.manifest.id.clone())
        .collect()
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ScheduleView {
    pub every_secs: u64,
    pub due_at: DateTime<Utc>,
    /// Past due by more than the grace period: a run was missed.
    pub missed: bool,
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

    fn location_names(&self) -> String {
        let names: Vec<&str> = self.config.locations.iter().map(|l| l.name.as_str()).collect();
        if names.is_empty() { "none".to_owned() } else { names.join(", ") }
    }

    fn policy(&self, system: &str) -> Result<&BackupPolicy, String> {
        let settings = self.config.system(system).ok_or_else(|| self.no_such_system(system))?;
        settings.backup.as_ref().ok_or_else(|| {
            format!(
                "\"{system}\" has no backup: add [systems.backup] to it in {}",
                self.config.path.display()
            )
        })
    }

    fn no_such_system(&self, name: &str) -> String {
        let names = self.config.estate.systems().iter().map(|s| s.name.as_str());
        let hint = crate::config::diagnostic::did_you_mean(name, names)
            .map(|s| format!("; did you mean \"{s}\"?"))
            .unwrap_or_default();
        format!("there is no system \"{name}\"{hint}")
    }

    /// Bring the catalog in step with the repositories (of one system, or all): every backup
    /// with a manifest is recorded with its copies' verifications; what is gone is forgotten.
    /// A location that cannot be read keeps what the catalog knew; its error is returned.
    pub async fn refresh_catalog(&self, system: Option<&str>) -> Vec<String> {
        let mut problems = Vec::new();
        let known = self.store.catalog(system).await.unwrap_or_default();
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
                let before = known.iter().find(|k| k.location == location.name && k.id == m.id);
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
                let record = if l.trust.trusted() && !failed_here {
                    repo.read_verify(&m.system, &m.id, signers).await
                } else {
                    None
                };
                let entry = CatalogEntry {
                    location: location.name.clone(),
                    id: m.id.clone(),
                    system: m.system.clone(),
                    taken_at: m.started_at,
                    manifest: serde_json::to_string(m).unwrap_or_default(),
                    verified_at: record.as_ref().and_then(|r| r.quick_at),
                    deep_verified_at: record.as_ref().and_then(|r| r.deep_at),
                    verify_error: record.as_ref().and_then(|r| r.error.clone()),
                    trust,
                };
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
            for gone in known
                .iter()
                .filter(|k| k.location == location.name && !listed.iter().any(|l| l.manifest.id == k.id))
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

    /// For each system, when its newest restorable backup was taken: what RPO counts.
    pub async fn newest_verified(&self) -> Result<HashMap<String, DateTime<Utc>>, String> {
        let all = self.backups(None).await?;
        let good = restorable(&all);
        let mut newest: HashMap<String, DateTime<Utc>> = HashMap::new();
        for b in all.iter().filter(|b| good.contains(&b.manifest.id)) {
            let at = newest.entry(b.manifest.system.clone()).or_insert(b.manifest.started_at);
            *at = (*at).max(b.manifest.started_at);
        }
        Ok(newest)
    }

    /// Each system's standing: newest verified backup, schedule, 3-2-1.
    pub async fn standings(&self) -> Result<Vec<BackupStanding>, String> {
        let all = self.backups(None).await?;
        let good = restorable(&all);
        let started = self.last_backup_starts().await?;
        let now = self.now();
        Ok(self
            .config
            .estate
            .systems()
            .iter()
            .zip(&self.config.systems)
            .map(|(system, settings)| {
                let mine: Vec<&BackupView> =
                    all.iter().filter(|b| b.manifest.system == system.name).collect();
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
    fn lock_until(&self, policy: &BackupPolicy, started: DateTime<Utc>) -> HashMap<String, DateTime<Utc>> {
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
    async fn last_backup_starts(&self) -> Result<HashMap<String, DateTime<Utc>>, String> {
        let mut out: HashMap<String, DateTime<Utc>> = HashMap::new();
        // A backup nobody trusted signed never puts the next one off.
        for b in self.backups(None).await?.into_iter().filter(BackupView::trusted) {
            let e = out.entry(b.manifest.system.clone()).or_insert(b.manifest.started_at);
            *e = (*e).max(b.manifest.started_at);
        }
        for job in self.jobs.list(500).await.map_err(|e| e.to_string())? {
            if job.kind != "backup" || job.state != JobState::Succeeded {
                continue;
            }
            let Some(started) = job.started_at else { continue };
            let e = out.entry(job.target.clone()).or_insert(started);
            *e = (*e).max(started);
        }
        Ok(out)
    }

    /// When each system's last backup attempt started, whatever came of it.
    async fn last_backup_attempts(&self) -> Result<HashMap<String, DateTime<Utc>>, String> {
        let mut out: HashMap<String, DateTime<Utc>> = HashMap::new();
        for job in self.jobs.list(500).await.map_err(|e| e.to_string())? {
            if job.kind != "backup" {
                continue;
            }
            let Some(started) = job.started_at else { continue };
            let e = out.entry(job.target.clone()).or_insert(started);
            *e = (*e).max(started);
        }
        Ok(out)
    }

    fn identities(&self, given: Option<&Path>) -> Result<Identities, String> {
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
    fn index_cache(&self, system: &str, id: &str) -> PathBuf {
        self.state_dir().join("index").join(system).join(format!("{id}.json.zst"))
    }

    fn save_index(&self, system: &str, id: &str, index: &Index) -> Result<(), String> {
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
    async fn parent_index(&self, parent: &BackupView) -> Result<Index, String> {
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
    fn parent_index_available(&self, parent: &BackupView) -> bool {
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
    async fn anchor_now(&self, system: &str, backup: &str) -> Result<Option<super::anchor::Anchor>, String> {
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

    async fn adopt(
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
                ctx.control.bytes_total.store(total, std::sync::atomic::Ordering::Relaxed);
                ctx.control.bytes_done.store(0, std::sync::atomic::Ordering::Relaxed);
                let deep = read::restore_into(&repo, &ordered, &identities, &scratch, &ctx.control).await;
                let _ = std::fs::remove_dir_all(&scratch);
                deep?;
                let sig = signer.sign(&bytes, &write::manifest_comment(&manifest));
                repo.write_small(
                    &Repository::backup_key(system, id, super::repo::MANIFEST_SIG),
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
        let mut lines = vec![format!(
            "policy     keep_last {}, keep_daily {}, keep_weekly {}, keep_monthly {}",
            retention.keep_last, retention.keep_daily, retention.keep_weekly, retention.keep_monthly
        )];
        lines.push(format!(
            "keeps      {} backup(s), the newest verified one and every parent a kept one needs",
            keep.len()
        ));
        if delete.is_empty() {
            lines.push("deletes    nothing: every backup is kept".to_owned());
        } else {
            lines.push(format!("deletes    {} backup(s), at every location holding them:", delete.len()));
            let now = self.now();
            let locked = locks(&backups);
            for b in &delete {
                let locations: Vec<&str> = b.copies.iter().map(|c| c.location.as_str()).collect();
                lines.push(format!(
                    "  ✖ {}  {:<12} {}  {}",
                    b.manifest.id,
                    b.manifest.kind.name(),
                    bytes(b.manifest.stored_size),
                    locations.join(", ")
                ));
                let held: Vec<(String, DateTime<Utc>)> = b
                    .copies
                    .iter()
                    .filter_map(|c| {
                        locked
                            .get(&(b.manifest.id.clone(), c.location.clone()))
                            .map(|u| (c.location.clone(), *u))
                    })
                    .filter(|(_, u)| *u > now)
                    .collect();
                for (location, until) in &held {
                    lines.push(format!(
                        "      kept at {location} until {}: the copy is immutable until then (prune deletes it after)",
                        when(*until)
                    ));
                }
            }
        }
        Ok((
            JobSpec::Prune {
                system: system.to_owned(),
                delete: delete.iter().map(|b| b.manifest.id.clone()).collect(),
            },
            Plan { title: format!("Prune {system}'s backups"), lines },
        ))
    }

    // ---- the gate and the pool ----

    /// Propose a job: the policy for its action and the system's tier applies.
    pub async fn propose(&self, spec: &JobSpec, plan: Plan, operator: &str) -> Result<JobSnapshot, Refusal> {
        let policy = self.policy_for(spec);
        let job = self.jobs.propose(spec, plan, policy, operator, self.config.console.read_only).await?;
        if let JobSpec::Recover { incident: Some(incident), .. } = spec {
            self.link_incident_plan(incident, &job.id).await;
        }
        Ok(job)
    }

    pub fn policy_for(&self, spec: &JobSpec) -> crate::model::ApprovalPolicy {
        let tier_of = |name: &str| self.config.estate.system(name).map(|s| s.tier);
        let tier = match spec {
            // A plan is as critical as its most critical system.
            JobSpec::Recover { systems, .. } => systems.iter().filter_map(|s| tier_of(s)).min(),
            _ => tier_of(spec.system()),
        }
        .unwrap_or(crate::model::Tier::Four);
        // A procedure may set its own policy.
        if let JobSpec::Failover { system, failback } = spec
            && let Some(policy) = self.procedure(system, *failback).ok().and_then(|p| p.approval)
        {
            return policy;
        }
        let policy = self.config.approval.get(spec.action(), tier);
        // Restoring what no trusted key signed takes at least the typed gate.
        if spec.needs_typed_proof() { policy.max(crate::model::ApprovalPolicy::Typed) } else { policy }
    }

    pub async fn approve(&self, id: &str, operator: &str, proof: &Proof) -> Result<JobSnapshot, Refusal> {
        self.jobs.approve(id, operator, proof, self.config.console.read_only).await
    }

    pub async fn cancel_proposal(&self, id: &str, operator: &str) -> Result<(), Refusal> {
        self.jobs.cancel_proposal(id, operator).await
    }

    /// Run the approved job `id` to its end.
    pub async fn run_job(&self, id: &str) -> Result<JobSnapshot, Refusal> {
        let Some(spec) = self.jobs.spec(id).await? else { return Err(Refusal::Missing) };
        let job = self.jobs.get(id).await?.ok_or(Refusal::Missing)?;
        let operator = job.approved_by.clone().unwrap_or(job.proposed_by.clone());
        let timeout = match &spec {
            JobSpec::Backup { system, .. } | JobSpec::Verify { system, .. } => self
                .policy(system)
                .map(|p| p.timeout)
                .unwrap_or(crate::config::backup::DEFAULT_BACKUP_TIMEOUT),
            // A procedure may wait for people (manual steps): a day, not its steps' sum.
            JobSpec::Failover { .. } | JobSpec::Recover { .. } => std::time::Duration::from_secs(24 * 3600),
            _ => crate::config::backup::DEFAULT_BACKUP_TIMEOUT,
        };
        let engine = self.clone();
        self.jobs.run(id, &operator, timeout, move |ctx| async move { engine.execute(spec, ctx).await }).await
    }

    /// Start running the approved job `id` in the background.
    pub fn spawn_job(&self, id: &str) -> tokio::task::JoinHandle<Result<JobSnapshot, Refusal>> {
        let engine = self.clone();
        let id = id.to_owned();
        tokio::spawn(async move { engine.run_job(&id).await })
    }

    /// Carry out a job's spec. Boxed: a recovery plan runs jobs that run this again.
    fn execute(
        &self,
        spec: JobSpec,
        ctx: JobContext,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<String, String>> + Send + '_>> {
        Box::pin(async move {
            match spec {
                JobSpec::Backup { system, kind, parent } => {
                    self.take_backup(&system, kind, parent, &ctx).await
                }
                JobSpec::Verify { system, id, deep, identity } => {
                    self.verify(&system, id.as_deref(), deep, identity.map(PathBuf::from), &ctx).await
                }
                JobSpec::Restore { system, id, location, target, force, identity, untrusted } => {
                    self.restore(
                        &system,
                        &id,
                        &location,
                        Path::new(&target),
                        (force, untrusted),
                        identity.map(PathBuf::from),
                        &ctx,
                    )
                    .await
                }
                JobSpec::Adopt { system, id, identity, manifest_sha256, .. } => {
                    self.adopt(&system, &id, &manifest_sha256, identity.map(PathBuf::from), &ctx).await
                }
                JobSpec::Prune { system, delete } => self.prune(&system, &delete, &ctx).await,
                JobSpec::Failover { system, failback } => self.run_procedure(&system, failback, &ctx).await,
                JobSpec::Recover { systems, .. } => self.run_recovery(&systems, &ctx).await,
            }
        })
    }

    // ---- the work ----

    async fn take_backup(
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
        let written = match write::write(request, ctx.control.clone(), move || clock.now()).await {
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
                    for file in [super::repo::DATA, super::repo::INDEX, super::repo::MANIFEST_SIG, MANIFEST] {
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
        manifest.degraded.extend(
            unusable
                .iter()
                .map(|e| super::manifest::LocationFailure { location: "?".into(), reason: e.clone() }),
        );
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
                manifest: serde_json::to_string(&manifest).unwrap_or_default(),
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

    async fn verify(
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
        let chained: Vec<&BackupView> = chain(&summaries, &target.manifest.id)
            .unwrap_or_default()
            .iter()
            .filter_map(|s| backups.iter().find(|b| b.manifest.id == s.id))
            .collect();
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
                        ctx.control.bytes_total.store(total, std::sync::atomic::Ordering::Relaxed);
                        ctx.control.bytes_done.store(0, std::sync::atomic::Ordering::Relaxed);
                        let r = read::restore_into(&repo, &links, ids, &scratch, &ctx.control).await;
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

    #[allow(clippy::too_many_arguments)]
    async fn restore(
        &self,
        system: &str,
        id: &str,
        location: &str,
        target: &Path,
        (force, untrusted): (bool, bool),
        identity: Option<PathBuf>,
        ctx: &JobContext,
    ) -> Result<String, String> {
        let identities = self.identities(identity.as_deref())?;
        let repo = self.repository(location)?;
        // The repository is the truth: read the chain's manifests from it, not the catalog, and
        // check their signatures again (the location may have changed since the plan).
        let listed = repo.manifests(Some(system), &self.config.encryption.signers).await?;
        let summaries: Vec<BackupSummary> =
            listed.iter().map(|l| l.manifest.summary(Some(l.manifest.started_at))).collect();
        let links = chain(&summaries, id).ok_or_else(|| {
            format!("location {location} does not hold backup {id} and everything it builds on")
        })?;
        let ordered: Vec<&super::repo::Listed> =
            links.iter().filter_map(|l| listed.iter().find(|m| m.manifest.id == l.id)).collect();
        if let Some(bad) = ordered.iter().find(|l| !l.trust.trusted())
            && !untrusted
        {
            return Err(format!(
                "backup {} at {location} is {}: refused (nothing was restored)",
                bad.manifest.id,
                bad.trust.label()
            ));
        }
        if untrusted {
            ctx.log(format!(
                "restoring {id}, which is not signed by a trusted key, as the operator confirmed"
            ));
        }
        let ordered: Vec<Manifest> = ordered.into_iter().map(|l| l.manifest.clone()).collect();
        ctx.stage("restoring", Unit::Bytes);
        ctx.log(format!("restoring {id} from {location} into {}", target.display()));
        let moved = read::restore(&repo, &ordered, &identities, target, force, &ctx.control).await?;
        let mut message =
            format!("restored backup {id} of {system} from {location} into {}", target.display());
        if let Some(aside) = moved {
            message.push_str(&format!("; what was there is now {}", aside.display()));
        }
        ctx.log(message.clone());
        Ok(message)
    }

    async fn prune(&self, system: &str, delete: &[String], ctx: &JobContext) -> Result<String, String> {
        // Never delete what became the newest verified backup, or a parent of a kept one, since
        // the plan was made: check again against the catalog now.
        let backups: Vec<BackupView> =
            self.backups(Some(system)).await?.into_iter().filter(BackupView::trusted).collect();
        let policy = self.policy(system)?;
        let keep = policy
            .retention
            .map(|r| retain(&backups.iter().map(BackupView::summary).collect::<Vec<_>>(), &r))
            .unwrap_or_default();
        let locked = locks(&backups);
        let now = self.now();
        ctx.stage("deleting", Unit::Steps);
        ctx.control.bytes_total.store(delete.len() as u64, std::sync::atomic::Ordering::Relaxed);
        let mut deleted = 0;
        let mut problems = Vec::new();
        for id in delete {
            if ctx.cancelled() {
                return Err("cancelled".into());
            }
            if keep.contains(id) {
                ctx.log(format!("kept {id}: the policy keeps it now"));
                continue;
            }
            let Some(view) = backups.iter().find(|b| &b.manifest.id == id) else { continue };
            let mut ok = true;
            for copy in &view.copies {
                // A copy still under its lock is never tried: it comes free at its date.
                if let Some(until) =
                    locked.get(&(id.clone(), copy.location.clone())).copied().filter(|u| *u > now)
                {
                    ctx.log(format!(
                        "kept {id} at {}: immutable until {} (it can be pruned from then)",
                        copy.location,
                        when(until)
                    ));
                    ok = false;
                    continue;
                }
                let result = match self.repository(&copy.location) {
                    Ok(repo) => repo.delete(system, id).await,
                    Err(e) => Err(e),
                };
                match result {
                    Ok(()) => {
                        let _ = self.store.remove_backup(&copy.location, id).await;
                        ctx.log(format!("deleted {id} at {}", copy.location));
                    }
                    Err(e) => {
                        ok = false;
                        problems.push(e);
                    }
                }
            }
            if ok {
                deleted += 1;
                let _ = std::fs::remove_file(self.index_cache(system, id));
            }
            ctx.control.files_done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        if problems.is_empty() {
            Ok(format!("pruned {deleted} backup(s) of {system}"))
        } else {
            Err(format!("pruned {deleted} backup(s) of {system}; {}", problems.join("; ")))
        }
    }

    // ---- the schedule ----

    /// One pass of the scheduler: start each system's backup that is due, and each deep
    /// verification its cadence asks for. Returns the jobs started.
    pub async fn run_schedule_once(&self) -> Vec<String> {
        if self.config.console.read_only {
            return Vec::new();
        }
        let now = self.now();
        // A pass that cannot read what ran and what runs starts nothing (it would start
        // backups already running, or not due): the next pass tries again.
        let read = async {
            let starts = self.last_backup_starts().await?;
            let attempts = self.last_backup_attempts().await?;
            let jobs = self.jobs.list(500).await.map_err(|e| e.to_string())?;
            Ok::<_, String>((starts, attempts, jobs))
        };
        let (starts, attempts, jobs) = match read.await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "the schedule cannot read the state: nothing started this pass");
                return Vec::new();
            }
        };
        let active: Vec<JobSnapshot> = jobs.into_iter().filter(|j| !j.state.finished()).collect();
        let busy = |kind: &str, system: &str| active.iter().any(|j| j.kind == kind && j.target == system);
        let mut started = Vec::new();
        for (system, settings) in self.config.estate.systems().iter().zip(&self.config.systems) {
            let Some(policy) = &settings.backup else { continue };
            let due = !matches!(
                Schedule::assess(starts.get(&system.name).copied(), policy.every, now),
                Schedule::NotYet { .. }
            );
            // A failed run is tried again, but not in a loop: after a quarter of the interval
            // (at most five minutes).
            let retry_after = (policy.every / 4).min(Duration::from_secs(300));
            let tried_recently = attempts.get(&system.name).is_some_and(|t| {
                starts.get(&system.name).is_none_or(|s| t > s)
                    && now - *t < TimeDelta::from_std(retry_after).unwrap_or(TimeDelta::MAX)
            });
            let due = due && !tried_recently;
            if due && !busy("backup", &system.name) {
                match self.plan_backup(&system.name).await {
                    Ok((spec, plan)) => {
                        if let Some(id) = self.start_scheduled(&spec, plan).await {
                            started.push(id);
                        }
                    }
                    Err(e) => {
                        tracing::warn!(system = %system.name, error = %e, "a scheduled backup cannot start")
                    }
                }
            }
            let Some(every) = policy.deep_verify_every else { continue };
            if busy("deep-verify", &system.name) || busy("backup", &system.name) {
                continue;
            }
            let backups = self.backups(Some(&system.name)).await.unwrap_or_default();
            let Some(newest) = backups.iter().rev().find(|b| b.verified_at().is_some()) else { continue };
            let last_deep = backups.iter().filter_map(BackupView::deep_verified_at).max();
            let limit = TimeDelta::from_std(every).unwrap_or(TimeDelta::MAX);
            if last_deep.is_none_or(|t| now - t >= limit) && self.config.encryption.identity_file.is_some() {
                match self.plan_verify(&newest.manifest.id, true, None).await {
                    Ok((spec, plan)) => {
                        if let Some(id) = self.start_scheduled(&spec, plan).await {
                            started.push(id);
                        }
                    }
                    Err(e) => {
                        tracing::warn!(system = %system.name, error = %e, "a scheduled deep verify cannot start")
                    }
                }
            }
        }
        started
    }

    async fn start_scheduled(&self, spec: &JobSpec, plan: Plan) -> Option<String> {
        let job = match self.propose(spec, plan, "scheduler").await {
            Ok(j) => j,
            Err(e) => {
                tracing::warn!(error = %e, "the scheduler could not propose a job");
                return None;
            }
        };
        match self.approve(&job.id, "scheduler", &Proof::Scheduled).await {
            Ok(_) => {
                self.spawn_job(&job.id);
                Some(job.id)
            }
            Err(e) => {
                tracing::warn!(job = %job.id, error = %e, "a scheduled job was refused");
                None
            }
        }
    }

    /// Run the schedule until the returned handle is dropped or aborted: a pass at once, then
    /// every `every`.
    pub fn start_scheduler(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let engine = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                engine.refresh_catalog(None).await;
                engine.run_schedule_once().await;
            }
        })
    }

    /// Jobs still running in this process.
    pub async fn active_jobs(&self) -> Vec<JobSnapshot> {
        self.jobs
            .list(500)
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|j| j.state == JobState::Running)
            .collect()
    }
}

/// Until when each copy (backup id, location) is locked: its own lock, or a later one of a
/// backup built on it (whose lock extended its ancestors').
fn locks(backups: &[BackupView]) -> HashMap<(String, String), DateTime<Utc>> {
    let summaries: Vec<BackupSummary> = backups.iter().map(BackupView::summary).collect();
    let mut out: HashMap<(String, String), DateTime<Utc>> = HashMap::new();
    for b in backups.iter().filter(|b| !b.manifest.immutable_until.is_empty()) {
        for link in chain(&summaries, &b.manifest.id).unwrap_or_default() {
            for (location, until) in &b.manifest.immutable_until {
                let at = out.entry((link.id.clone(), location.clone())).or_insert(*until);
                *at = (*at).max(*until);
            }
        }
    }
    out
}

/// Why a backup nobody trusted signed is not verified or used.
fn untrusted_refusal(b: &BackupView) -> String {
    format!(
        "backup {} is {}: it is not verified or counted; `warroom backup adopt {}` signs it after a deep verify, or restore it by naming it (the gate then asks for the system's name)",
        b.manifest.id,
        b.trust().label(),
        b.manifest.id
    )
}

/// A program path that exists, or a name found on `PATH`.
fn program_found(program: &str) -> bool {
    if program.contains('/') {
        return Path::new(program).exists();
    }
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|d| d.join(program).is_file()))
}

/// `2026-11-26 22:41 UTC`
pub fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// `1.2 GiB`, `340 KiB`, `12 B`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else if v < 10.0 {
        format!("{v:.1} {}", UNITS[unit])
    } else {
        format!("{v:.0} {}", UNITS[unit])
    }
}

/// How a schedule reads: `every 10m, next in 3m` or `every 10m, MISSED since 22:41`.
pub fn schedule_text(s: &ScheduleView, now: DateTime<Utc>) -> String {
    let every = human(Duration::from_secs(s.every_secs));
    if s.missed {
        format!("every {every}, MISSED: due since {}", s.due_at.format("%H:%M"))
    } else if s.due_at <= now {
        format!("every {every}, due now")
    } else {
        format!("every {every}, next in {}", human((s.due_at - now).to_std().unwrap_or_default()))
    }
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
    fn a_second_restore_of_a_backup_gets_a_folder_of_its_own() {
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
