//! RPO compliance: how old the newest *verified* backup is, against the objective.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::objective::elapsed_between;

/// The fraction of the RPO left under which a system is "at risk" (standard default 0.25).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RpoPolicy {
    pub at_risk: f64,
}

impl Default for RpoPolicy {
    fn default() -> Self {
        RpoPolicy { at_risk: 0.25 }
    }
}

/// A system's RPO compliance at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RpoStatus {
    /// No verified backup exists: there is no recovery point at all.
    NeverBackedUp,
    /// The newest verified backup is young enough, with `remaining` before the objective is missed.
    Compliant { age: Duration, remaining: Duration },
    /// Less than the at-risk fraction of the objective is left.
    AtRisk { age: Duration, remaining: Duration },
    /// The newest verified backup is older than the objective, by `overdue`.
    Breached { age: Duration, overdue: Duration },
}

/// How bad a status is, in monitoring-plugin terms (the order is the severity order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Ok,
    Warning,
    Critical,
}

impl Severity {
    /// The exit code a monitoring plugin uses for this severity (0, 1, 2).
    pub fn exit_code(self) -> u8 {
        match self {
            Severity::Ok => 0,
            Severity::Warning => 1,
            Severity::Critical => 2,
        }
    }
}

impl RpoStatus {
    /// Assess compliance from the newest verified backup's time, the objective and `now`.
    ///
    /// A backup dated after `now` (clock skew between hosts) counts as age zero.
    pub fn assess(
        newest_verified: Option<DateTime<Utc>>,
        objective: Duration,
        policy: RpoPolicy,
        now: DateTime<Utc>,
    ) -> RpoStatus {
        let Some(backup_at) = newest_verified else {
            return RpoStatus::NeverBackedUp;
        };
        let age = elapsed_between(backup_at, now);
        if age > objective {
            return RpoStatus::Breached { age, overdue: age - objective };
        }
        let remaining = objective - age;
        if remaining.as_secs_f64() < objective.as_secs_f64() * policy.at_risk {
            RpoStatus::AtRisk { age, remaining }
        } else {
            RpoStatus::Compliant { age, remaining }
        }
    }

    /// Never backed up counts as breached: there is no recovery point to meet the objective with.
    pub fn severity(&self) -> Severity {
        match self {
            RpoStatus::Compliant { .. } => Severity::Ok,
            RpoStatus::AtRisk { .. } => Severity::Warning,
            RpoStatus::Breached { .. } | RpoStatus::NeverBackedUp => Severity::Critical,
        }
    }

    /// A stable machine name for the state: `compliant`, `at_risk`, `breached`, `never_backed_up`.
    pub fn key(&self) -> &'static str {
        match self {
            RpoStatus::NeverBackedUp => "never_backed_up",
            RpoStatus::Compliant { .. } => "compliant",
            RpoStatus::AtRisk { .. } => "at_risk",
            RpoStatus::Breached { .. } => "breached",
        }
    }

    pub fn symbol(&self) -> &'static str {
        match self.severity() {
            Severity::Ok => "●",
            Severity::Warning => "▲",
            Severity::Critical => "✖",
        }
    }

    /// Time left before the objective is missed, if it has not been.
    pub fn remaining(&self) -> Option<Duration> {
        match self {
            RpoStatus::Compliant { remaining, .. } | RpoStatus::AtRisk { remaining, .. } => Some(*remaining),
            _ => None,
        }
    }

    /// Age of the newest verified backup, if there is one.
    pub fn age(&self) -> Option<Duration> {
        match self {
            RpoStatus::NeverBackedUp => None,
            RpoStatus::Compliant { age, .. }
            | RpoStatus::AtRisk { age, .. }
            | RpoStatus::Breached { age, .. } => Some(*age),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + secs, 0).single().unwrap_or_default()
    }

    const RPO: Duration = Duration::from_secs(900);

    #[test]
    fn no_backup_is_never_backed_up_and_critical() {
        let s = RpoStatus::assess(None, RPO, RpoPolicy::default(), at(0));
        assert_eq!(s, RpoStatus::NeverBackedUp);
        assert_eq!(s.severity(), Severity::Critical);
    }

    #[test]
    fn fresh_backup_is_compliant_with_time_left() {
        let s = RpoStatus::assess(Some(at(0)), RPO, RpoPolicy::default(), at(300));
        assert_eq!(
            s,
            RpoStatus::Compliant { age: Duration::from_secs(300), remaining: Duration::from_secs(600) }
        );
        assert_eq!(s.severity(), Severity::Ok);
    }

    #[test]
    fn under_a_quarter_left_is_at_risk() {
        // 15m objective: at risk once less than 3m45s is left, i.e. after 11m15s.
        let policy = RpoPolicy::default();
        let boundary = RpoStatus::assess(Some(at(0)), RPO, policy, at(675));
        assert!(matches!(boundary, RpoStatus::Compliant { .. }), "{boundary:?}");
        let s = RpoStatus::assess(Some(at(0)), RPO, policy, at(676));
        assert_eq!(
            s,
            RpoStatus::AtRisk { age: Duration::from_secs(676), remaining: Duration::from_secs(224) }
        );
        assert_eq!(s.severity(), Severity::Warning);
    }

    #[test]
    fn older_than_the_objective_is_breached_by_how_much() {
        let exactly = RpoStatus::assess(Some(at(0)), RPO, RpoPolicy::default(), at(900));
        assert!(matches!(exactly, RpoStatus::AtRisk { .. }));
        let s = RpoStatus::assess(Some(at(0)), RPO, RpoPolicy::default(), at(1092));
        assert_eq!(
            s,
            RpoStatus::Breached { age: Duration::from_secs(1092), overdue: Duration::from_secs(192) }
        );
    }

    #[test]
    fn backup_from_the_future_counts_as_fresh() {
        let s = RpoStatus::assess(Some(at(60)), RPO, RpoPolicy::default(), at(0));
        assert_eq!(s, RpoStatus::Compliant { age: Duration::ZERO, remaining: RPO });
    }

    proptest! {
        /// As time passes with no new backup, the status never improves.
        #[test]
        fn rpo_status_is_monotonic_in_time(
            backup in 0i64..100_000,
            t1 in 0i64..200_000,
            dt in 0i64..200_000,
            rpo_secs in 1u64..100_000,
            at_risk in 0.0f64..1.0,
        ) {
            let policy = RpoPolicy { at_risk };
            let objective = Duration::from_secs(rpo_secs);
            let a = RpoStatus::assess(Some(at(backup)), objective, policy, at(t1));
            let b = RpoStatus::assess(Some(at(backup)), objective, policy, at(t1 + dt));
            prop_assert!(a.severity() <= b.severity(), "{a:?} then {b:?}");
            if let (Some(ra), Some(rb)) = (a.remaining(), b.remaining()) {
                prop_assert!(rb <= ra);
            }
            prop_assert!(a.age() <= b.age());
        }

        /// A newer verified backup never makes the status worse.
        #[test]
        fn newer_backup_never_worsens(
            b1 in 0i64..100_000,
            db in 0i64..100_000,
            now in 0i64..300_000,
            rpo_secs in 1u64..100_000,
        ) {
            let objective = Duration::from_secs(rpo_secs);
            let policy = RpoPolicy::default();
            let older = RpoStatus::assess(Some(at(b1)), objective, policy, at(now));
            let newer = RpoStatus::assess(Some(at(b1 + db)), objective, policy, at(now));
            prop_assert!(newer.severity() <= older.severity());
        }
    }
}
