//! Replication: how far a standby is behind its primary, and what that means for the choice
//! the commander makes (docs/replication.md).
//!
//! For a system with a hot standby the data a failover loses is not the age of the newest
//! backup but the standby's lag. This module is pure: a reading's text becomes a lag
//! ([`parse_lag`]), readings become a state that knows when it is stale ([`Replication`]), the
//! lag is held to the RPO with the backups' thresholds ([`FailoverRpo`]), and the two ways back
//! — fail over now, or restore the newest verified backup — are weighed side by side
//! ([`TradeOff`]).

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;

use super::duration::human;
use super::rpo::{RpoPolicy, RpoStatus, Severity};

/// A lag read as more than this is a misreading (a timestamp in the wrong unit, a counter).
pub const LAG_LIMIT: Duration = Duration::from_secs(366 * 86_400);
/// A replayed change dated this far after the clock of the reader is refused: the clocks are
/// not in step, and the lag cannot be known. Less is clock jitter, and counts as no lag.
pub const FUTURE_TOLERANCE: Duration = Duration::from_secs(5);
/// Readings in a row that may fail before the lag is stale (unknown), by default.
pub const STALE_AFTER_INTERVALS: u32 = 3;

/// Read a lag from what a source printed: seconds (`42`, `0.25`), a duration (`1m 5s`,
/// `42s`), or the time of the last replayed change (RFC 3339, or PostgreSQL's
/// `2026-12-03 17:31:02.123456+00`), which is measured against `now`.
pub fn parse_lag(text: &str, now: DateTime<Utc>) -> Result<Duration, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err(
            "printed nothing (PostgreSQL's pg_last_xact_replay_timestamp() is empty until the standby has replayed a change)"
                .to_owned(),
        );
    }
    let shown: String = t.chars().take(60).collect();
    let lag = if let Ok(secs) = t.parse::<f64>() {
        if !secs.is_finite() || secs < 0.0 {
            return Err(format!("\"{shown}\" is not a lag: seconds must be a number of 0 or more"));
        }
        Duration::try_from_secs_f64(secs)
            .map_err(|_| format!("\"{shown}\" seconds is too large to be a lag"))?
    } else if let Ok(d) = super::duration::parse(t) {
        d
    } else if let Some(d) = interval(t) {
        d
    } else if let Some(at) = timestamp(t) {
        if at > now {
            let ahead = (at - now).to_std().unwrap_or_default();
            if ahead > FUTURE_TOLERANCE {
                return Err(format!(
                    "the last replayed change ({shown}) is {} after this host's clock: are the clocks in step?",
                    human(ahead)
                ));
            }
            Duration::ZERO
        } else {
            (now - at).to_std().unwrap_or_default()
        }
    } else {
        return Err(format!(
            "cannot read \"{shown}\" as a lag: print seconds (42), a duration (1m5s, 00:00:42) or the time of the last replayed change (2026-12-03T17:31:02Z)"
        ));
    };
    if lag > LAG_LIMIT {
        return Err(format!(
            "a lag of {} is not believable: is the source printing the right value?",
            human(lag)
        ));
    }
    Ok(lag)
}

/// PostgreSQL's interval text: `00:00:42.123456`, `1 day 02:03:04` (what `now() -
/// pg_last_xact_replay_timestamp()` prints).
fn interval(t: &str) -> Option<Duration> {
    let (days, clock) = match t.split_once(' ') {
        Some((n, rest)) => {
            let (unit, clock) = rest.split_once(' ')?;
            if !matches!(unit, "day" | "days") {
                return None;
            }
            (n.parse::<u64>().ok()?, clock)
        }
        None => (0, t),
    };
    let mut parts = clock.split(':');
    let (h, m, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || m.len() != 2 || !s.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let (h, m, s) = (h.parse::<u64>().ok()?, m.parse::<u64>().ok()?, s.parse::<f64>().ok()?);
    if m >= 60 || !(0.0..60.0).contains(&s) {
        return None;
    }
    Duration::try_from_secs_f64((days * 86_400 + h * 3_600 + m * 60) as f64 + s).ok()
}

/// RFC 3339, or PostgreSQL's text form (`2026-12-03 17:31:02.123456+00`, any offset).
fn timestamp(t: &str) -> Option<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(t) {
        return Some(at.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f%:z"] {
        if let Ok(at) = DateTime::parse_from_str(t, format) {
            return Some(at.with_timezone(&Utc));
        }
    }
    // No offset at all: the source's clock is taken as UTC.
    NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f").ok().map(|n| n.and_utc())
}

/// One reading of the lag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LagReading {
    pub at: DateTime<Utc>,
    pub lag: Result<Duration, String>,
}

/// A system's replication as its readings left it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Replication {
    /// What is read: `GET http://…/replication /lag_seconds`, `psql -Atc …`.
    pub source: String,
    /// With no good reading for this long, the lag is unknown.
    #[serde(serialize_with = "super::duration::serialize_secs", rename = "stale_after_seconds")]
    pub stale_after: Duration,
    /// The newest good reading: when, and the lag it found.
    pub good: Option<(DateTime<Utc>, Duration)>,
    /// The newest failed reading after it, and why it failed.
    pub failed: Option<(DateTime<Utc>, String)>,
}

/// The lag as of one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lag {
    Known {
        lag: Duration,
        read_at: DateTime<Utc>,
    },
    /// Never zero: no good reading is recent enough, and why.
    Unknown {
        why: String,
    },
}

impl Replication {
    pub fn new(source: impl Into<String>, stale_after: Duration) -> Replication {
        Replication { source: source.into(), stale_after, good: None, failed: None }
    }

    pub fn record(&mut self, reading: LagReading) {
        match reading.lag {
            Ok(lag) => {
                self.good = Some((reading.at, lag));
                self.failed = None;
            }
            Err(why) => self.failed = Some((reading.at, why)),
        }
    }

    /// The lag now: the newest good reading while it is fresh, else unknown with the reason.
    pub fn lag(&self, now: DateTime<Utc>) -> Lag {
        let fresh = |at: DateTime<Utc>| (now - at).to_std().unwrap_or_default() <= self.stale_after;
        match (&self.good, &self.failed) {
            (Some((at, lag)), _) if fresh(*at) => Lag::Known { lag: *lag, read_at: *at },
            (good, failed) => {
                let last = match failed {
                    Some((_, why)) => format!(": the last reading failed: {why}"),
                    None => String::new(),
                };
                let why = match good {
                    Some((at, lag)) => format!(
                        "no good reading since {} (it was {} behind){last}",
                        at.format("%H:%M:%S UTC"),
                        human(*lag)
                    ),
                    None if failed.is_some() => format!("never read{last}"),
                    None => "not read yet".to_owned(),
                };
                Lag::Unknown { why }
            }
        }
    }

    /// The RPO a failover would achieve now.
    pub fn failover_rpo(&self, objective: Duration, policy: RpoPolicy, now: DateTime<Utc>) -> FailoverRpo {
        FailoverRpo::of(&self.lag(now), objective, policy, now)
    }
}

/// The RPO a failover would achieve now: the lag against the objective (the backups'
/// thresholds), or unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailoverRpo {
    /// Compliant, at risk or breached, with the lag as the age.
    Known {
        status: RpoStatus,
        read_at: DateTime<Utc>,
    },
    Unknown {
        why: String,
    },
}

impl FailoverRpo {
    pub fn of(lag: &Lag, objective: Duration, policy: RpoPolicy, now: DateTime<Utc>) -> FailoverRpo {
        match lag {
            Lag::Known { lag, read_at } => {
                let point = now - chrono::TimeDelta::from_std(*lag).unwrap_or_default();
                FailoverRpo::Known {
                    status: RpoStatus::assess(Some(point), objective, policy, now),
                    read_at: *read_at,
                }
            }
            Lag::Unknown { why } => FailoverRpo::Unknown { why: why.clone() },
        }
    }

    /// Breached is critical; at risk, and not knowing, are warnings.
    pub fn severity(&self) -> Severity {
        match self {
            FailoverRpo::Known { status, .. } => status.severity(),
            FailoverRpo::Unknown { .. } => Severity::Warning,
        }
    }

    /// `compliant`, `at_risk`, `breached` or `unknown`.
    pub fn key(&self) -> &'static str {
        match self {
            FailoverRpo::Known { status, .. } => status.key(),
            FailoverRpo::Unknown { .. } => "unknown",
        }
    }

    pub fn lag(&self) -> Option<Duration> {
        match self {
            FailoverRpo::Known { status, .. } => status.age(),
            FailoverRpo::Unknown { .. } => None,
        }
    }

    /// `●`, `▲`, `✖`, or `?` when unknown.
    pub fn symbol(&self) -> &'static str {
        match self {
            FailoverRpo::Known { status, .. } => status.symbol(),
            FailoverRpo::Unknown { .. } => "?",
        }
    }

    /// The dashboard's RPO cell: `● ⇄ lag 42s`, `? ⇄ lag unknown` (⇄: by replication).
    pub fn cell(&self) -> String {
        match self.lag() {
            Some(lag) => format!("{} {REPLICATION_MARK} lag {}", self.symbol(), human(lag)),
            None => format!("{} {REPLICATION_MARK} lag unknown", self.symbol()),
        }
    }
}

/// What marks a figure as the standby's lag rather than a backup's age.
pub const REPLICATION_MARK: &str = "⇄";

/// `~6s`, `~24m40s`; `under 1s` for what takes no whole second.
fn about(d: Duration) -> String {
    if d < Duration::from_secs(1) { "under 1s".to_owned() } else { format!("~{}", human(d)) }
}

/// `✔` within the objective, `▲` at risk, `✖` past it.
fn mark(status: &RpoStatus) -> &'static str {
    match status.severity() {
        Severity::Ok => "✔",
        Severity::Warning => "▲",
        Severity::Critical => "✖",
    }
}

/// Failing over now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailoverOption {
    pub rpo: FailoverRpo,
    /// The procedure's estimate (its steps' and checks' estimates).
    pub back_in: Duration,
}

/// How long a restore is expected to take, and how that is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum RestoreEstimate {
    /// The newest restore drill's restore took this long.
    Drill {
        #[serde(serialize_with = "super::duration::serialize_secs", rename = "seconds")]
        took: Duration,
    },
    /// No drill: half a minute to start plus the stored size at 100 MB/s.
    Guess {
        #[serde(serialize_with = "super::duration::serialize_secs", rename = "seconds")]
        takes: Duration,
    },
}

impl RestoreEstimate {
    /// A guess from the stored size: 30 s to start, then 100 MB/s.
    pub fn guess(stored_bytes: u64) -> RestoreEstimate {
        RestoreEstimate::Guess { takes: Duration::from_secs(30 + stored_bytes / 100_000_000) }
    }

    pub fn duration(&self) -> Duration {
        match self {
            RestoreEstimate::Drill { took } => *took,
            RestoreEstimate::Guess { takes } => *takes,
        }
    }

    /// `the last restore drill took 24m40s`, `a guess from its size: no restore drill yet`.
    pub fn basis(&self) -> String {
        match self {
            RestoreEstimate::Drill { took } if took.is_zero() || *took < Duration::from_secs(1) => {
                "the last restore drill took under 1s".to_owned()
            }
            RestoreEstimate::Drill { took } => format!("the last restore drill took {}", human(*took)),
            RestoreEstimate::Guess { .. } => "a guess from its size: no restore drill yet".to_owned(),
        }
    }
}

/// Restoring the newest verified backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreOption {
    /// The backup's age, held to the objective.
    pub rpo: RpoStatus,
    pub estimate: RestoreEstimate,
}

/// Which way back loses less, or is as good and faster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Choice {
    Failover,
    Restore,
}

/// The two ways back, side by side, and which is better now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeOff {
    pub objective: Duration,
    pub failover: Option<FailoverOption>,
    pub restore: Option<RestoreOption>,
    pub better: Option<Choice>,
    /// Why `better`, in a few words.
    pub why: String,
}

/// What is known of a system's two ways back, apart from the lag: read from the config and
/// the state, and weighed against the live lag with [`TradeOff::of`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecoveryFigures {
    /// Its failover procedure's estimate, when it has one.
    pub failover: Option<Duration>,
    /// Its newest verified backup (when it was taken) and how long restoring it takes.
    pub restore: Option<(DateTime<Utc>, RestoreEstimate)>,
}

impl TradeOff {
    /// The trade-off now, from the figures and the standby's replication state (`None`: the
    /// system has no replication source, so what a failover loses is unknown).
    pub fn of(
        objective: Duration,
        policy: RpoPolicy,
        figures: &RecoveryFigures,
        replication: Option<&Replication>,
        now: DateTime<Utc>,
    ) -> TradeOff {
        let failover = figures.failover.map(|back_in| FailoverOption {
            rpo: match replication {
                Some(r) => r.failover_rpo(objective, policy, now),
                None => FailoverRpo::Unknown { why: "no replication source is configured".to_owned() },
            },
            back_in,
        });
        let restore = figures.restore.map(|(at, estimate)| RestoreOption {
            rpo: RpoStatus::assess(Some(at), objective, policy, now),
            estimate,
        });
        TradeOff::weigh(objective, failover, restore)
    }

    /// Weigh the options: a failover within the RPO wins (it is the fast way back); past the
    /// RPO, the option that loses less data; a lag that is unknown decides nothing while a
    /// restore is possible.
    pub fn weigh(
        objective: Duration,
        failover: Option<FailoverOption>,
        restore: Option<RestoreOption>,
    ) -> TradeOff {
        let restore_loss = restore.as_ref().and_then(|r| r.rpo.age());
        let restore_faster = match (&failover, &restore) {
            (Some(f), Some(r)) => r.estimate.duration() < f.back_in,
            _ => false,
        };
        let (better, why) = match (&failover, restore_loss) {
            (None, None) => (None, "no failover procedure and no verified backup".to_owned()),
            (None, Some(_)) => (Some(Choice::Restore), "the only way back: no failover procedure".to_owned()),
            (Some(f), None) => (
                Some(Choice::Failover),
                match f.rpo.lag() {
                    Some(_) => "the only way back: no verified backup".to_owned(),
                    None => {
                        "the only way back (no verified backup), though what it loses is unknown".to_owned()
                    }
                },
            ),
            (Some(f), Some(r)) => match f.rpo.lag() {
                None => (None, "what a failover loses is unknown: weigh it before choosing".to_owned()),
                // Both within the RPO: the faster way back (a failover when as fast).
                Some(lag) if lag <= objective && r <= objective && restore_faster => (
                    Some(Choice::Restore),
                    "both within the RPO, and a restore is the faster way back".to_owned(),
                ),
                Some(lag) if lag <= objective && r <= objective => {
                    (Some(Choice::Failover), "within the RPO, and the faster way back".to_owned())
                }
                Some(lag) if lag <= objective => {
                    (Some(Choice::Failover), "within the RPO (a restore would not be)".to_owned())
                }
                Some(lag) if r < lag => (
                    Some(Choice::Restore),
                    format!("the standby is {} behind, the backup only {}", human(lag), human(r)),
                ),
                Some(_) => {
                    (Some(Choice::Failover), "past the RPO, but it loses less than a restore".to_owned())
                }
            },
        };
        TradeOff { objective, failover, restore, better, why }
    }

    /// `fail over now: lose ~42s (RPO 5m ✔), back in ~6s by the procedure's estimate`
    pub fn failover_line(&self) -> Option<String> {
        let f = self.failover.as_ref()?;
        let back = format!("back in {} by the procedure's estimate", about(f.back_in));
        Some(match &f.rpo {
            FailoverRpo::Known { status, .. } => format!(
                "fail over now: lose ~{} (RPO {} {}), {back}",
                human(status.age().unwrap_or_default()),
                human(self.objective),
                mark(status)
            ),
            FailoverRpo::Unknown { why } => format!("fail over now: data loss unknown ({why}), {back}"),
        })
    }

    /// `restore the newest verified backup: lose 3m10s (RPO 5m ✔), back in ~25m (the last
    /// restore drill took 24m40s)`
    pub fn restore_line(&self) -> Option<String> {
        let r = self.restore.as_ref()?;
        Some(format!(
            "restore the newest verified backup: lose {} (RPO {} {}), back in {} ({})",
            human(r.rpo.age().unwrap_or_default()),
            human(self.objective),
            mark(&r.rpo),
            about(r.estimate.duration()),
            r.estimate.basis()
        ))
    }

    /// The same three facts in few words, for a narrow panel: `fail over: lose ~42s ✔, ~6s`,
    /// `restore: lose 3m10s ✔, ~24m40s`, `→ fail over`.
    pub fn short_lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(f) = &self.failover {
            out.push(match &f.rpo {
                FailoverRpo::Known { status, .. } => format!(
                    "fail over: lose ~{} {}, {}",
                    human(status.age().unwrap_or_default()),
                    mark(status),
                    about(f.back_in)
                ),
                FailoverRpo::Unknown { .. } => format!("fail over: loss unknown, {}", about(f.back_in)),
            });
        }
        if let Some(r) = &self.restore {
            out.push(format!(
                "restore: lose {} {}, {}",
                human(r.rpo.age().unwrap_or_default()),
                mark(&r.rpo),
                about(r.estimate.duration())
            ));
        }
        out.push(match self.better {
            Some(Choice::Failover) => "→ fail over".to_owned(),
            Some(Choice::Restore) => "→ restore: loses less".to_owned(),
            None => "→ weigh the lag first".to_owned(),
        });
        out
    }

    /// `→ fail over: within the RPO, and the faster way back`
    pub fn verdict_line(&self) -> String {
        match self.better {
            Some(Choice::Failover) => format!("→ fail over: {}", self.why),
            Some(Choice::Restore) => format!("→ restore: {}", self.why),
            None => format!("→ {}", self.why),
        }
    }

    /// What `choice` loses, for a plan's line: `lose ~42s by replication (RPO 5m ✔)`, `lose
    /// 3m10s, the newest verified backup's age (RPO 5m ✔)`, `data loss unknown: …`.
    pub fn loss_words(&self, choice: Choice) -> String {
        match choice {
            Choice::Failover => match self.failover.as_ref().map(|f| &f.rpo) {
                Some(FailoverRpo::Known { status, .. }) => format!(
                    "lose ~{} by replication (RPO {} {})",
                    human(status.age().unwrap_or_default()),
                    human(self.objective),
                    mark(status)
                ),
                Some(FailoverRpo::Unknown { why }) => format!("loss unknown ({why})"),
                None => "no failover procedure".to_owned(),
            },
            Choice::Restore => match &self.restore {
                Some(r) => format!(
                    "lose {}, the newest verified backup's age (RPO {} {})",
                    human(r.rpo.age().unwrap_or_default()),
                    human(self.objective),
                    mark(&r.rpo)
                ),
                None => "no verified backup to restore".to_owned(),
            },
        }
    }

    /// The data a way back loses now (`None`: unknown).
    pub fn loss(&self, choice: Choice) -> Option<Duration> {
        match choice {
            Choice::Failover => self.failover.as_ref().and_then(|f| f.rpo.lag()),
            Choice::Restore => self.restore.as_ref().and_then(|r| r.rpo.age()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + secs, 0).single().unwrap_or_default()
    }

    const RPO: Duration = Duration::from_secs(300);

    #[test]
    fn lags_read_as_seconds_durations_and_timestamps() {
        let now = at(0);
        assert_eq!(parse_lag("42", now), Ok(Duration::from_secs(42)));
        assert_eq!(parse_lag(" 0.25\n", now), Ok(Duration::from_millis(250)));
        assert_eq!(parse_lag("1m 5s", now), Ok(Duration::from_secs(65)));
        assert_eq!(parse_lag("00:00:42.5", now), Ok(Duration::from_millis(42_500)));
        assert_eq!(parse_lag("1 day 02:03:04", now), Ok(Duration::from_secs(86_400 + 7_384)));
        let ts = (now - chrono::TimeDelta::seconds(38)).to_rfc3339();
        assert_eq!(parse_lag(&ts, now), Ok(Duration::from_secs(38)));
        // PostgreSQL's text form, as `psql -Atc 'select pg_last_xact_replay_timestamp()'` prints it.
        let pg = (now - chrono::TimeDelta::milliseconds(1500)).format("%Y-%m-%d %H:%M:%S%.6f+00").to_string();
        assert_eq!(parse_lag(&pg, now), Ok(Duration::from_millis(1500)));
        // Two hours ahead of UTC in its own words: still 9 s behind.
        let local = now - chrono::TimeDelta::seconds(9) + chrono::TimeDelta::hours(2);
        let pg2 = local.format("%Y-%m-%d %H:%M:%S+02").to_string();
        assert_eq!(parse_lag(&pg2, now), Ok(Duration::from_secs(9)));
    }

    #[test]
    fn nonsense_is_refused_never_read_as_zero() {
        let now = at(0);
        assert!(parse_lag("", now).unwrap_err().contains("printed nothing"));
        assert!(parse_lag("-3", now).is_err());
        assert!(parse_lag("NaN", now).is_err());
        assert!(parse_lag("inf", now).is_err());
        assert!(parse_lag("1e300", now).is_err());
        assert!(parse_lag("lagging a bit", now).unwrap_err().contains("cannot read"));
        assert!(parse_lag("00:99:00", now).is_err());
        assert!(parse_lag("9999999999", now).unwrap_err().contains("not believable"));
        let future = (now + chrono::TimeDelta::seconds(60)).to_rfc3339();
        assert!(parse_lag(&future, now).unwrap_err().contains("clocks in step"));
        let jitter = (now + chrono::TimeDelta::seconds(2)).to_rfc3339();
        assert_eq!(parse_lag(&jitter, now), Ok(Duration::ZERO));
    }

    #[test]
    fn a_lag_goes_stale_and_is_then_unknown_never_zero() {
        let mut r = Replication::new("psql", Duration::from_secs(30));
        assert!(matches!(r.lag(at(0)), Lag::Unknown { .. }));
        r.record(LagReading { at: at(0), lag: Ok(Duration::from_secs(4)) });
        assert_eq!(r.lag(at(10)), Lag::Known { lag: Duration::from_secs(4), read_at: at(0) });
        r.record(LagReading { at: at(10), lag: Err("timed out after 5s".into()) });
        // Still fresh: one failed reading does not make it unknown.
        assert!(matches!(r.lag(at(20)), Lag::Known { .. }));
        let Lag::Unknown { why } = r.lag(at(31)) else { panic!("stale is unknown") };
        assert!(why.contains("timed out"), "{why}");
        assert!(why.contains("4s behind"), "{why}");
        let rpo = r.failover_rpo(RPO, RpoPolicy::default(), at(31));
        assert_eq!(rpo.key(), "unknown");
        assert_eq!(rpo.severity(), Severity::Warning);
        assert_eq!(rpo.cell(), "? ⇄ lag unknown");
    }

    #[test]
    fn the_lag_is_held_to_the_rpo_like_a_backup() {
        let mut r = Replication::new("http", Duration::from_secs(30));
        let rpo_at = |lag: u64| {
            let mut r = r.clone();
            r.record(LagReading { at: at(0), lag: Ok(Duration::from_secs(lag)) });
            r.failover_rpo(RPO, RpoPolicy::default(), at(1))
        };
        assert_eq!(rpo_at(42).key(), "compliant");
        assert_eq!(rpo_at(42).cell(), "● ⇄ lag 42s");
        assert_eq!(rpo_at(240).key(), "at_risk");
        assert_eq!(rpo_at(301).key(), "breached");
        assert_eq!(rpo_at(301).severity(), Severity::Critical);
        r.record(LagReading { at: at(0), lag: Ok(Duration::ZERO) });
        assert_eq!(r.failover_rpo(RPO, RpoPolicy::default(), at(0)).key(), "compliant");
    }

    fn failover(lag: Option<u64>) -> FailoverOption {
        let rpo = match lag {
            Some(l) => FailoverRpo::of(
                &Lag::Known { lag: Duration::from_secs(l), read_at: at(0) },
                RPO,
                RpoPolicy::default(),
                at(0),
            ),
            None => FailoverRpo::Unknown { why: "not read yet".into() },
        };
        FailoverOption { rpo, back_in: Duration::from_secs(6) }
    }

    fn restore(age: u64) -> RestoreOption {
        RestoreOption {
            rpo: RpoStatus::assess(Some(at(-(age as i64))), RPO, RpoPolicy::default(), at(0)),
            estimate: RestoreEstimate::Drill { took: Duration::from_secs(24 * 60 + 40) },
        }
    }

    #[test]
    fn the_trade_off_flips_to_restore_as_the_standby_falls_behind() {
        let t = TradeOff::weigh(RPO, Some(failover(Some(42))), Some(restore(190)));
        assert_eq!(t.better, Some(Choice::Failover));
        assert_eq!(
            t.failover_line().unwrap(),
            "fail over now: lose ~42s (RPO 5m ✔), back in ~6s by the procedure's estimate"
        );
        assert_eq!(
            t.restore_line().unwrap(),
            "restore the newest verified backup: lose 3m10s (RPO 5m ✔), back in ~24m40s (the last restore drill took 24m40s)"
        );
        assert_eq!(t.verdict_line(), "→ fail over: within the RPO, and the faster way back");

        let t = TradeOff::weigh(RPO, Some(failover(Some(400))), Some(restore(190)));
        assert_eq!(t.better, Some(Choice::Restore));
        assert_eq!(t.verdict_line(), "→ restore: the standby is 6m40s behind, the backup only 3m10s");
        assert!(t.failover_line().unwrap().contains("(RPO 5m ✖)"));

        // Past the RPO both ways: the one that loses less.
        let t = TradeOff::weigh(RPO, Some(failover(Some(400))), Some(restore(900)));
        assert_eq!(t.better, Some(Choice::Failover));
        assert_eq!(t.loss(Choice::Restore), Some(Duration::from_secs(900)));

        // Both within the RPO, and the restore is quicker than the procedure: restore.
        let quick = RestoreOption {
            rpo: RpoStatus::assess(Some(at(-3)), RPO, RpoPolicy::default(), at(0)),
            estimate: RestoreEstimate::Drill { took: Duration::from_millis(300) },
        };
        let t = TradeOff::weigh(RPO, Some(failover(Some(42))), Some(quick));
        assert_eq!(t.better, Some(Choice::Restore), "{}", t.verdict_line());
        assert!(
            t.restore_line().unwrap().contains("back in under 1s (the last restore drill took under 1s)")
        );

        // Not knowing the lag decides nothing while a restore is possible.
        let t = TradeOff::weigh(RPO, Some(failover(None)), Some(restore(190)));
        assert_eq!(t.better, None);
        assert!(t.failover_line().unwrap().contains("data loss unknown (not read yet)"));
        assert_eq!(TradeOff::weigh(RPO, Some(failover(None)), None).better, Some(Choice::Failover));
        assert_eq!(TradeOff::weigh(RPO, None, Some(restore(10))).better, Some(Choice::Restore));
        assert_eq!(TradeOff::weigh(RPO, None, None).better, None);
    }

    #[test]
    fn a_restore_without_a_drill_is_a_guess_from_its_size() {
        let e = RestoreEstimate::guess(3_000_000_000);
        assert_eq!(e.duration(), Duration::from_secs(60));
        assert!(e.basis().contains("no restore drill yet"));
    }
}
