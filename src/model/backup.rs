//! Backups in the domain: kinds and chains, what a retention policy keeps, the 3-2-1 rule and
//! the schedule. Pure: time is passed in.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Datelike, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackupKind {
    /// Everything.
    Full,
    /// What changed since the previous backup.
    Incremental,
    /// What changed since the last full backup.
    Differential,
    /// Incremental, on a short interval.
    Continuous,
}

impl BackupKind {
    pub const NAMES: &'static str = "full, incremental, differential, continuous";

    pub fn name(self) -> &'static str {
        match self {
            BackupKind::Full => "full",
            BackupKind::Incremental => "incremental",
            BackupKind::Differential => "differential",
            BackupKind::Continuous => "continuous",
        }
    }

    pub fn needs_parent(self) -> bool {
        self != BackupKind::Full
    }
}

impl FromStr for BackupKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "full" => Ok(BackupKind::Full),
            "incremental" => Ok(BackupKind::Incremental),
            "differential" => Ok(BackupKind::Differential),
            "continuous" => Ok(BackupKind::Continuous),
            other => Err(format!("there is no backup kind \"{other}\": use {}", BackupKind::NAMES)),
        }
    }
}

impl fmt::Display for BackupKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the domain needs to know of a backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    pub id: String,
    /// When it was taken (its start: the state it captured).
    pub at: DateTime<Utc>,
    pub kind: BackupKind,
    pub parent: Option<String>,
    /// When it was last proven restorable; `None`: never.
    pub verified_at: Option<DateTime<Utc>>,
}

/// How many backups to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RetentionPolicy {
    #[serde(default)]
    pub keep_last: u32,
    #[serde(default)]
    pub keep_daily: u32,
    #[serde(default)]
    pub keep_weekly: u32,
    #[serde(default)]
    pub keep_monthly: u32,
}

/// How long a copy at an immutable location is locked: until the oldest date a prune could
/// delete it. Whatever else it says, the policy keeps the newest `keep_last` backups, and at
/// the schedule's cadence a backup stays among them for `keep_last × every` (at least until
/// the next backup); from then on a prune may delete it, unless a daily, weekly or monthly rule
/// keeps it longer (prune then waits for the lock). Without a retention, prune deletes nothing:
/// the lock is `at_least`, or 7 days. Never shorter than `at_least`.
pub fn lock_period(retention: Option<&RetentionPolicy>, every: Duration, at_least: Duration) -> Duration {
    let by_policy = match retention {
        Some(r) => every.saturating_mul(r.keep_last.max(1)),
        None if at_least.is_zero() => Duration::from_secs(7 * 86_400),
        None => Duration::ZERO,
    };
    by_policy.max(at_least)
}

/// The ids a policy keeps: the newest `keep_last`; the newest of each of the last `keep_daily`
/// days, `keep_weekly` ISO weeks and `keep_monthly` months that have backups; always the newest
/// verified backup; and every backup a kept one needs to restore (its parent chain).
pub fn retain(backups: &[BackupSummary], policy: &RetentionPolicy) -> BTreeSet<String> {
    let mut sorted: Vec<&BackupSummary> = backups.iter().collect();
    sorted.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| b.id.cmp(&a.id)));
    let mut keep: BTreeSet<String> = BTreeSet::new();
    for b in sorted.iter().take(policy.keep_last as usize) {
        keep.insert(b.id.clone());
    }
    let mut bucketed = |count: u32, key: &dyn Fn(&DateTime<Utc>) -> (i32, u32)| {
        let mut seen: Vec<(i32, u32)> = Vec::new();
        for b in &sorted {
            let k = key(&b.at);
            if seen.len() as u32 >= count {
                break;
            }
            if !seen.contains(&k) {
                seen.push(k);
                keep.insert(b.id.clone());
            }
        }
    };
    bucketed(policy.keep_daily, &|t| (t.year(), t.ordinal()));
    bucketed(policy.keep_weekly, &|t| (t.iso_week().year(), t.iso_week().week()));
    bucketed(policy.keep_monthly, &|t| (t.year(), t.month()));
    if let Some(newest_verified) = sorted.iter().find(|b| b.verified_at.is_some()) {
        keep.insert(newest_verified.id.clone());
    }
    // Whatever a kept backup needs, directly or not.
    let by_id: HashMap<&str, &BackupSummary> = backups.iter().map(|b| (b.id.as_str(), b)).collect();
    let mut todo: Vec<String> = keep.iter().cloned().collect();
    while let Some(id) = todo.pop() {
        if let Some(parent) = by_id.get(id.as_str()).and_then(|b| b.parent.clone())
            && keep.insert(parent.clone())
        {
            todo.push(parent);
        }
    }
    keep
}

/// The chain to restore `id`: its oldest ancestor (a full backup) first, `id` last. `None` if
/// a link is missing.
pub fn chain<'a>(backups: &'a [BackupSummary], id: &str) -> Option<Vec<&'a BackupSummary>> {
    let by_id: HashMap<&str, &BackupSummary> = backups.iter().map(|b| (b.id.as_str(), b)).collect();
    let mut out = Vec::new();
    let mut at = by_id.get(id).copied()?;
    loop {
        out.push(at);
        match &at.parent {
            None => break,
            Some(p) => {
                at = by_id.get(p.as_str()).copied()?;
                if out.len() > backups.len() {
                    return None; // a loop: the repository was tampered with
                }
            }
        }
    }
    out.reverse();
    (out.first().is_some_and(|b| b.kind == BackupKind::Full)).then_some(out)
}

/// What the next backup of a system is: a full one when there is no usable full backup or the
/// newest is older than `full_every`, else the configured kind with its parent.
pub fn next_backup(
    kind: BackupKind,
    backups: &[BackupSummary],
    full_every: Duration,
    now: DateTime<Utc>,
) -> (BackupKind, Option<String>) {
    if kind == BackupKind::Full {
        return (BackupKind::Full, None);
    }
    // Only backups whose whole chain is there and proven restorable can be built on.
    let usable: Vec<&BackupSummary> = backups
        .iter()
        .filter(|b| chain(backups, &b.id).is_some_and(|c| c.iter().all(|x| x.verified_at.is_some())))
        .collect();
    let newest_full = usable.iter().filter(|b| b.kind == BackupKind::Full).max_by_key(|b| b.at);
    let Some(full) = newest_full else { return (BackupKind::Full, None) };
    let limit = TimeDelta::from_std(full_every).unwrap_or(TimeDelta::MAX);
    if now - full.at >= limit {
        return (BackupKind::Full, None);
    }
    let parent = match kind {
        BackupKind::Differential => Some(full.id.clone()),
        _ => usable.iter().filter(|b| b.at >= full.at).max_by_key(|b| b.at).map(|b| b.id.clone()),
    };
    (kind, parent)
}

/// What a backup copy is stored on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Media {
    Disk,
    Object,
    Tape,
}

impl FromStr for Media {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "disk" => Ok(Media::Disk),
            "object" => Ok(Media::Object),
            "tape" => Ok(Media::Tape),
            other => Err(format!("there is no media \"{other}\": use disk, object or tape")),
        }
    }
}

/// The 3-2-1 rule: 3 copies of the data (the system's own and its backups), on 2 kinds of
/// media (the system's own counts as disk), 1 of them offsite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ThreeTwoOne {
    pub copies: u32,
    pub media: u32,
    pub offsite: u32,
    /// Locations whose copies are locked (immutable): none can be changed or deleted early.
    pub immutable: u32,
}

impl ThreeTwoOne {
    /// From the backup locations: each one's media and whether it is offsite.
    pub fn assess(locations: &[(Media, bool)]) -> ThreeTwoOne {
        let mut media: BTreeSet<Media> = locations.iter().map(|(m, _)| *m).collect();
        media.insert(Media::Disk);
        ThreeTwoOne {
            copies: 1 + locations.len() as u32,
            media: media.len() as u32,
            offsite: locations.iter().filter(|(_, o)| *o).count() as u32,
            immutable: 0,
        }
    }

    /// With how many of the locations are immutable.
    pub fn with_immutable(self, immutable: u32) -> ThreeTwoOne {
        ThreeTwoOne { immutable, ..self }
    }

    pub fn met(&self) -> bool {
        self.copies >= 3 && self.media >= 2 && self.offsite >= 1
    }

    /// What is missing, in words: `["only 2 copies", "nothing offsite"]`.
    pub fn shortfalls(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.copies < 3 {
            out.push(format!(
                "only {} cop{} (3 needed)",
                self.copies,
                if self.copies == 1 { "y" } else { "ies" }
            ));
        }
        if self.media < 2 {
            out.push("a single kind of media (2 needed)".to_owned());
        }
        if self.offsite < 1 {
            out.push("nothing offsite (1 needed)".to_owned());
        }
        out
    }
}

/// Where a system stands against its backup schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// The next backup is due at this time.
    NotYet { due_at: DateTime<Utc> },
    /// Due now (within the grace period).
    Due { due_at: DateTime<Utc> },
    /// Past due by more than the grace period: a run was missed.
    Missed { due_at: DateTime<Utc>, by: Duration },
}

impl Schedule {
    /// From when the last backup started (`None`: never), the interval and `now`. The grace
    /// period is a tenth of the interval, at least a minute.
    pub fn assess(last_started: Option<DateTime<Utc>>, every: Duration, now: DateTime<Utc>) -> Schedule {
        let Some(last) = last_started else { return Schedule::Due { due_at: now } };
        let due_at = last + TimeDelta::from_std(every).unwrap_or(TimeDelta::MAX);
        if now < due_at {
            return Schedule::NotYet { due_at };
        }
        let late = (now - due_at).to_std().unwrap_or_default();
        let grace = (every / 10).max(Duration::from_secs(60));
        if late > grace { Schedule::Missed { due_at, by: late } } else { Schedule::Due { due_at } }
    }

    pub fn is_due(&self) -> bool {
        !matches!(self, Schedule::NotYet { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn at(h: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().unwrap() + TimeDelta::hours(h)
    }

    fn b(id: &str, h: i64, kind: BackupKind, parent: Option<&str>, verified: bool) -> BackupSummary {
        BackupSummary {
            id: id.into(),
            at: at(h),
            kind,
            parent: parent.map(Into::into),
            verified_at: verified.then(|| at(h)),
        }
    }

    #[test]
    fn retention_keeps_last_daily_weekly_monthly() {
        // One full backup a day for 60 days.
        let backups: Vec<BackupSummary> =
            (0..60).map(|d| b(&format!("d{d:02}"), d * 24, BackupKind::Full, None, true)).collect();
        // Day 59 is March 1st: three months are March, February and January.
        let keep = retain(
            &backups,
            &RetentionPolicy { keep_last: 2, keep_daily: 5, keep_weekly: 3, keep_monthly: 3 },
        );
        for id in ["d59", "d58", "d57", "d56", "d55"] {
            assert!(keep.contains(id), "{id} is one of the last 5 days");
        }
        assert!(!keep.contains("d40"));
        assert!(keep.contains("d30"), "the newest of January is a monthly keeper");
        assert!(keep.contains("d58"), "the newest of February");
        assert!(keep.len() <= 2 + 5 + 3 + 3);
    }

    #[test]
    fn retention_keeps_what_a_kept_incremental_needs() {
        let backups = vec![
            b("full", 0, BackupKind::Full, None, true),
            b("i1", 1, BackupKind::Incremental, Some("full"), true),
            b("i2", 2, BackupKind::Incremental, Some("i1"), true),
        ];
        let keep = retain(&backups, &RetentionPolicy { keep_last: 1, ..Default::default() });
        assert_eq!(keep, BTreeSet::from(["full".to_owned(), "i1".to_owned(), "i2".to_owned()]));
    }

    #[test]
    fn chains_start_with_a_full_backup() {
        let backups = vec![
            b("full", 0, BackupKind::Full, None, true),
            b("i1", 1, BackupKind::Incremental, Some("full"), true),
            b("orphan", 2, BackupKind::Incremental, Some("gone"), true),
        ];
        let c: Vec<&str> = chain(&backups, "i1").unwrap().iter().map(|b| b.id.as_str()).collect();
        assert_eq!(c, ["full", "i1"]);
        assert!(chain(&backups, "orphan").is_none());
    }

    #[test]
    fn the_next_backup_builds_on_verified_chains() {
        let week = Duration::from_secs(7 * 86_400);
        assert_eq!(next_backup(BackupKind::Incremental, &[], week, at(0)), (BackupKind::Full, None));
        let backups = vec![
            b("full", 0, BackupKind::Full, None, true),
            b("i1", 1, BackupKind::Incremental, Some("full"), true),
            b("i2", 2, BackupKind::Incremental, Some("i1"), false),
        ];
        assert_eq!(
            next_backup(BackupKind::Incremental, &backups, week, at(3)),
            (BackupKind::Incremental, Some("i1".into()))
        );
        assert_eq!(
            next_backup(BackupKind::Differential, &backups, week, at(3)),
            (BackupKind::Differential, Some("full".into()))
        );
        assert_eq!(
            next_backup(BackupKind::Incremental, &backups, week, at(24 * 8)),
            (BackupKind::Full, None),
            "a week after the full"
        );
    }

    #[test]
    fn three_two_one() {
        let nas_and_s3 = ThreeTwoOne::assess(&[(Media::Disk, false), (Media::Object, true)]);
        assert_eq!(nas_and_s3, ThreeTwoOne { copies: 3, media: 2, offsite: 1, immutable: 0 });
        assert!(nas_and_s3.met());
        let nas = ThreeTwoOne::assess(&[(Media::Disk, false)]);
        assert!(!nas.met());
        assert_eq!(
            nas.shortfalls(),
            ["only 2 copies (3 needed)", "a single kind of media (2 needed)", "nothing offsite (1 needed)"]
        );
    }

    #[test]
    fn schedule_states() {
        let hour = Duration::from_secs(3600);
        assert_eq!(Schedule::assess(None, hour, at(0)), Schedule::Due { due_at: at(0) });
        assert_eq!(Schedule::assess(Some(at(0)), hour, at(0)), Schedule::NotYet { due_at: at(1) });
        assert_eq!(Schedule::assess(Some(at(0)), hour, at(1)), Schedule::Due { due_at: at(1) });
        assert!(
            matches!(Schedule::assess(Some(at(0)), hour, at(2)), Schedule::Missed { by, .. } if by == hour)
        );
    }

    fn history() -> impl Strategy<Value = Vec<BackupSummary>> {
        proptest::collection::vec(
            (0i64..24 * 400, 0u8..4, any::<bool>(), any::<prop::sample::Index>()),
            1..60,
        )
        .prop_map(|raw| {
            let mut raw = raw;
            raw.sort_by_key(|r| r.0);
            let mut out: Vec<BackupSummary> = Vec::new();
            for (i, (h, kind, verified, parent_pick)) in raw.into_iter().enumerate() {
                let kind =
                    if out.is_empty() || kind == 0 { BackupKind::Full } else { BackupKind::Incremental };
                let parent = (kind != BackupKind::Full).then(|| out[parent_pick.index(out.len())].id.clone());
                out.push(BackupSummary {
                    id: format!("b{i:03}"),
                    at: at(h),
                    kind,
                    parent,
                    verified_at: verified.then(|| at(h)),
                });
            }
            out
        })
    }

    fn policy() -> impl Strategy<Value = RetentionPolicy> {
        (0u32..5, 0u32..8, 0u32..5, 0u32..13).prop_map(|(l, d, w, m)| RetentionPolicy {
            keep_last: l,
            keep_daily: d,
            keep_weekly: w,
            keep_monthly: m,
        })
    }

    proptest! {
        #[test]
        fn retention_never_deletes_the_newest_verified_backup(backups in history(), policy in policy()) {
            let keep = retain(&backups, &policy);
            if let Some(newest) = backups.iter().filter(|b| b.verified_at.is_some()).max_by(|a, b| a.at.cmp(&b.at).then(a.id.cmp(&b.id))) {
                prop_assert!(keep.contains(&newest.id));
            }
        }

        #[test]
        fn retention_never_deletes_a_parent_a_kept_backup_needs(backups in history(), policy in policy()) {
            let keep = retain(&backups, &policy);
            for b in backups.iter().filter(|b| keep.contains(&b.id)) {
                if let Some(p) = &b.parent {
                    prop_assert!(keep.contains(p), "{} kept without its parent {}", b.id, p);
                }
            }
        }

        #[test]
        fn retention_is_stable(backups in history(), policy in policy()) {
            let keep = retain(&backups, &policy);
            let kept: Vec<BackupSummary> = backups.iter().filter(|b| keep.contains(&b.id)).cloned().collect();
            prop_assert_eq!(retain(&kept, &policy), keep, "pruning twice deletes nothing more");
        }
    }

    proptest! {
        /// Backups taken every `every` (or later) are never picked for deletion before their
        /// lock runs out: prune and Object Lock agree.
        #[test]
        fn no_backup_is_pruned_while_locked(
            keep_last in 1u32..12,
            keep_daily in 0u32..5,
            every_h in 1i64..30,
            gaps in proptest::collection::vec(0i64..5, 1..60),
        ) {
            let policy = RetentionPolicy { keep_last, keep_daily, keep_weekly: 0, keep_monthly: 0 };
            let every = Duration::from_secs(every_h as u64 * 3600);
            let lock = TimeDelta::from_std(lock_period(Some(&policy), every, Duration::ZERO)).unwrap();
            let mut taken: Vec<BackupSummary> = Vec::new();
            let mut t = 0i64;
            for (i, extra) in gaps.iter().enumerate() {
                t += every_h + extra;
                taken.push(BackupSummary {
                    id: format!("b{i:03}"),
                    at: at(t),
                    kind: BackupKind::Full,
                    parent: None,
                    verified_at: Some(at(t)),
                });
                let now = at(t);
                let keep = retain(&taken, &policy);
                for b in &taken {
                    if b.at + lock > now {
                        prop_assert!(keep.contains(&b.id), "{} is locked until {} but prune would delete it at {}", b.id, b.at + lock, now);
                    }
                }
            }
        }
    }
}
