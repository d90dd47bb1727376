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

/// A backup as restorability sees it: what it builds on, and at which locations it has a copy
/// that is verified good and signed by a trusted key (`true`) or only a copy (`false`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopiesOf {
    pub id: String,
    pub parent: Option<String>,
    pub copies: Vec<(String, bool)>,
}

/// The backups that can be restored: at some location, it and every backup its chain builds
/// on have a good copy. An incremental whose full backup failed verification is not one,
/// however good its own copies are; a chain that loops (a tampered repository) is none.
pub fn restorable(all: &[CopiesOf]) -> BTreeSet<String> {
    let by_id: HashMap<&str, &CopiesOf> = all.iter().map(|b| (b.id.as_str(), b)).collect();
    let good_at = |b: &CopiesOf, location: &str| b.copies.iter().any(|(l, good)| l == location && *good);
    all.iter()
        .filter(|b| {
            b.copies.iter().any(|(location, _)| {
                let mut at = Some(*b);
                // Bounded by the number of backups: a damaged catalog cannot loop for ever.
                for _ in 0..=all.len() {
                    let Some(this) = at else { return true };
                    if !good_at(this, location) {
                        return false;
                    }
                    at = match &this.parent {
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
        .map(|b| b.id.clone())
        .collect()
}

/// A backup's own locks: until when its copy at each location is immutable.
pub type OwnLocks = (String, Vec<(String, DateTime<Utc>)>);

/// Until when each copy (backup id, location) is locked: its own lock, or a later one of a
/// backup built on it (an incremental restores only with its ancestors, so its lock extends
/// theirs). `locked` holds each backup's own locks.
pub fn locks(backups: &[BackupSummary], locked: &[OwnLocks]) -> HashMap<(String, String), DateTime<Utc>> {
    let mut out: HashMap<(String, String), DateTime<Utc>> = HashMap::new();
    for (id, until) in locked.iter().filter(|(_, u)| !u.is_empty()) {
        for link in chain(backups, id).unwrap_or_default() {
            for (location, until) in until {
                let at = out.entry((link.id.clone(), location.clone())).or_insert(*until);
                *at = (*at).max(*until);
            }
        }
    }
    out
}

/// A backup a prune would delete, as its plan shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PruneCandidate {
    pub id: String,
    pub kind: BackupKind,
    pub stored_size: u64,
    pub locations: Vec<String>,
    /// Copies still locked after now: kept at that location until then.
    pub held: Vec<(String, DateTime<Utc>)>,
}

/// The plan text of a prune: the policy, what it keeps and what it deletes, where.
pub fn prune_plan(policy: &RetentionPolicy, kept: usize, delete: &[PruneCandidate]) -> Vec<String> {
    let mut lines = vec![format!(
        "policy     keep_last {}, keep_daily {}, keep_weekly {}, keep_monthly {}",
        policy.keep_last, policy.keep_daily, policy.keep_weekly, policy.keep_monthly
    )];
    lines.push(format!(
        "keeps      {kept} backup(s), the newest verified one and every parent a kept one needs"
    ));
    if delete.is_empty() {
        lines.push("deletes    nothing: every backup is kept".to_owned());
        return lines;
    }
    lines.push(format!("deletes    {} backup(s), at every location holding them:", delete.len()));
    for b in delete {
        lines.push(format!(
            "  ✖ {}  {:<12} {}  {}",
            b.id,
            b.kind.name(),
            bytes(b.stored_size),
            b.locations.join(", ")
        ));
        for (location, until) in &b.held {
            lines.push(format!(
                "      kept at {location} until {}: the copy is immutable until then (prune deletes it after)",
                when(*until)
            ));
        }
    }
    lines
}

/// When a system's next scheduled backup is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ScheduleView {
    pub every_secs: u64,
    pub due_at: DateTime<Utc>,
    /// Past due by more than the grace period: a run was missed.
    pub missed: bool,
}

/// How a schedule reads: `every 10m, next in 3m` or `every 10m, MISSED since 22:41`.
pub fn schedule_text(s: &ScheduleView, now: DateTime<Utc>) -> String {
    let every = crate::model::duration::human(Duration::from_secs(s.every_secs));
    if s.missed {
        format!("every {every}, MISSED: due since {}", s.due_at.format("%H:%M"))
    } else if s.due_at <= now {
        format!("every {every}, due now")
    } else {
        format!(
            "every {every}, next in {}",
            crate::model::duration::human((s.due_at - now).to_std().unwrap_or_default())
        )
    }
}

/// A time as listings show it: `2026-11-27 22:41 UTC`.
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

    /// Restorability as its definition says, by recursion with the path so far (a loop is no
    /// chain): the reference the fast version is checked against.
    fn restorable_by_definition(all: &[CopiesOf], id: &str, location: &str, seen: &mut Vec<String>) -> bool {
        if seen.iter().any(|s| s == id) {
            return false;
        }
        let Some(b) = all.iter().find(|b| b.id == id) else { return false };
        if !b.copies.iter().any(|(l, good)| l == location && *good) {
            return false;
        }
        seen.push(id.to_owned());
        match &b.parent {
            None => true,
            Some(p) => restorable_by_definition(all, p, location, seen),
        }
    }

    fn catalogs() -> impl Strategy<Value = Vec<CopiesOf>> {
        // Up to 12 backups; each may name any of 14 ids as its parent (missing ones, itself and
        // later ones too: loops), with copies at up to two of three locations.
        proptest::collection::vec(
            (proptest::option::of(0usize..14), proptest::collection::vec((0usize..3, any::<bool>()), 0..3)),
            0..12,
        )
        .prop_map(|rows| {
            rows.into_iter()
                .enumerate()
                .map(|(i, (parent, copies))| CopiesOf {
                    id: format!("b{i}"),
                    parent: parent.map(|p| format!("b{p}")),
                    copies: copies.into_iter().map(|(l, g)| (format!("loc{l}"), g)).collect(),
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn restorable_is_a_good_chain_at_one_location(all in catalogs()) {
            let fast = restorable(&all);
            for b in &all {
                let expected = b.copies.iter().any(|(l, _)| restorable_by_definition(&all, &b.id, l, &mut Vec::new()));
                prop_assert_eq!(fast.contains(&b.id), expected, "{} in {:?}", b.id, all);
            }
            // What builds on something unrestorable is never restorable at that location.
            for id in &fast {
                prop_assert!(all.iter().any(|b| &b.id == id));
            }
        }

        #[test]
        fn a_prune_plan_names_every_backup_it_deletes_once(
            n in 0usize..8,
            held in proptest::collection::vec(any::<bool>(), 8),
        ) {
            let t = DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default();
            let delete: Vec<PruneCandidate> = (0..n)
                .map(|i| PruneCandidate {
                    id: format!("B-{i}"),
                    kind: BackupKind::Full,
                    stored_size: 1 << (10 * (i % 4)),
                    locations: vec!["local".into(), "vault".into()],
                    held: if held[i] { vec![("vault".into(), t)] } else { vec![] },
                })
                .collect();
            let lines = prune_plan(&RetentionPolicy::default(), 3, &delete);
            for b in &delete {
                prop_assert_eq!(lines.iter().filter(|l| l.contains(&format!("✖ {}", b.id))).count(), 1);
            }
            let kept_lines = lines.iter().filter(|l| l.contains("kept at vault until")).count();
            prop_assert_eq!(kept_lines, held.iter().take(n).filter(|h| **h).count());
            prop_assert_eq!(lines.iter().any(|l| l.contains("deletes    nothing")), n == 0);
        }
    }
}
