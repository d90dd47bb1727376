//! Recovery objectives and the clocks measured against them.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// How long a system may be down (RTO) and how much data it may lose (RPO).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RecoveryObjective {
    #[serde(serialize_with = "super::duration::serialize_secs")]
    pub rto: Duration,
    #[serde(serialize_with = "super::duration::serialize_secs")]
    pub rpo: Duration,
}

impl RecoveryObjective {
    /// True when both objectives are at least as strict as `allowed`.
    pub fn within(&self, allowed: &RecoveryObjective) -> bool {
        self.rto <= allowed.rto && self.rpo <= allowed.rpo
    }
}

/// Time elapsed since `later` passed `earlier`, zero if `later` is before `earlier`.
pub fn elapsed_between(earlier: DateTime<Utc>, later: DateTime<Utc>) -> Duration {
    (later - earlier).to_std().unwrap_or(Duration::ZERO)
}

/// The RTO clock of a system that is down: how long it has been down, against its objective.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtoClock {
    pub outage_start: DateTime<Utc>,
    pub objective: Duration,
    pub elapsed: Duration,
}

impl RtoClock {
    pub fn new(outage_start: DateTime<Utc>, objective: Duration, now: DateTime<Utc>) -> Self {
        RtoClock { outage_start, objective, elapsed: elapsed_between(outage_start, now) }
    }

    /// Time left before the objective is breached (zero once breached).
    pub fn remaining(&self) -> Duration {
        self.objective.saturating_sub(self.elapsed)
    }

    /// True once the outage has lasted longer than the objective.
    pub fn breached(&self) -> bool {
        self.elapsed > self.objective
    }

    /// How far past the objective the outage is (zero while within it).
    pub fn overrun(&self) -> Duration {
        self.elapsed.saturating_sub(self.objective)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + secs, 0).single().unwrap_or_default()
    }

    #[test]
    fn rto_clock_counts_up_and_breaches_after_the_objective() {
        let objective = Duration::from_secs(1800);
        let clock = RtoClock::new(at(0), objective, at(600));
        assert_eq!(clock.elapsed, Duration::from_secs(600));
        assert_eq!(clock.remaining(), Duration::from_secs(1200));
        assert!(!clock.breached());

        let exactly = RtoClock::new(at(0), objective, at(1800));
        assert!(!exactly.breached());
        assert_eq!(exactly.remaining(), Duration::ZERO);

        let late = RtoClock::new(at(0), objective, at(2220));
        assert!(late.breached());
        assert_eq!(late.remaining(), Duration::ZERO);
        assert_eq!(late.overrun(), Duration::from_secs(420));
    }

    #[test]
    fn rto_clock_with_outage_in_the_future_has_not_started() {
        let clock = RtoClock::new(at(100), Duration::from_secs(60), at(0));
        assert_eq!(clock.elapsed, Duration::ZERO);
        assert!(!clock.breached());
    }

    #[test]
    fn objectives_compare_both_parts() {
        let loose = RecoveryObjective { rto: Duration::from_secs(100), rpo: Duration::from_secs(100) };
        let tight = RecoveryObjective { rto: Duration::from_secs(50), rpo: Duration::from_secs(100) };
        assert!(tight.within(&loose));
        assert!(!loose.within(&tight));
    }
}
