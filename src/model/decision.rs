//! The failover decision: three signals scored against thresholds, every reason shown.
//!
//! The standard's defaults: availability < 0.95 scores 3, response time (p95) > 5 s scores 2,
//! error rate > 0.05 scores 2; a score of 5 or more recommends failover; availability < 0.5 or
//! response time > 30 s recommends it at once. A system with no failover procedure gets
//! "restore from backup recommended" instead. Once raised, a verdict holds for a while before
//! it may drop back, so one good minute in an outage does not flip it.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use super::health::{HealthState, WindowStats};

/// The thresholds in force for one system.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Thresholds {
    pub availability_below: f64,
    pub availability_points: u32,
    #[serde(serialize_with = "super::duration::serialize_secs")]
    pub response_time_above: Duration,
    pub response_time_points: u32,
    pub error_rate_above: f64,
    pub error_rate_points: u32,
    pub failover_at_score: u32,
    pub immediate_availability_below: f64,
    #[serde(serialize_with = "super::duration::serialize_secs")]
    pub immediate_response_time_above: Duration,
    /// How long a raised verdict holds before it may drop back.
    #[serde(serialize_with = "super::duration::serialize_secs")]
    pub hold: Duration,
    /// Fewer probes than this in the window: no verdict yet.
    pub min_probes: u32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            availability_below: 0.95,
            availability_points: 3,
            response_time_above: Duration::from_secs(5),
            response_time_points: 2,
            error_rate_above: 0.05,
            error_rate_points: 2,
            failover_at_score: 5,
            immediate_availability_below: 0.5,
            immediate_response_time_above: Duration::from_secs(30),
            hold: Duration::from_secs(120),
            min_probes: 3,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Not enough probes yet to say.
    NoData,
    Healthy,
    /// Something scores, not enough to act.
    Watch,
    FailoverRecommended,
    /// The system has no failover procedure: recover it from its newest verified backup.
    RestoreRecommended,
}

impl Verdict {
    /// Raised verdicts outrank lower ones; failover and restore are equally urgent.
    pub fn level(self) -> u8 {
        match self {
            Verdict::NoData => 0,
            Verdict::Healthy => 1,
            Verdict::Watch => 2,
            Verdict::FailoverRecommended | Verdict::RestoreRecommended => 3,
        }
    }

    pub fn words(self) -> &'static str {
        match self {
            Verdict::NoData => "no data yet",
            Verdict::Healthy => "healthy",
            Verdict::Watch => "watch",
            Verdict::FailoverRecommended => "failover recommended",
            Verdict::RestoreRecommended => "restore from backup recommended",
        }
    }

    pub fn is_action(self) -> bool {
        self.level() == 3
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.words())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    Availability,
    ResponseTime,
    ErrorRate,
}

impl Signal {
    pub fn label(self) -> &'static str {
        match self {
            Signal::Availability => "availability",
            Signal::ResponseTime => "p95 response",
            Signal::ErrorRate => "error rate",
        }
    }

    /// For narrow panels.
    pub fn short(self) -> &'static str {
        match self {
            Signal::Availability => "avail.",
            Signal::ResponseTime => "p95",
            Signal::ErrorRate => "errors",
        }
    }
}

/// One signal measured against its threshold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Reason {
    pub signal: Signal,
    /// Availability and error rate as fractions, response time in seconds; `None` when there
    /// is nothing to measure (no answered probe).
    pub measured: Option<f64>,
    pub threshold: f64,
    /// Points when failing, else 0.
    pub points: u32,
    pub failing: bool,
}

impl Reason {
    /// `41%`, `6.2s`, `—`.
    pub fn measured_text(&self) -> String {
        self.measured.map(|m| self.format(m)).unwrap_or_else(|| "—".to_owned())
    }

    /// `< 95%`, `> 5s`.
    pub fn threshold_text(&self) -> String {
        let op = if self.signal == Signal::Availability { "<" } else { ">" };
        format!("{op} {}", self.format(self.threshold))
    }

    fn format(&self, v: f64) -> String {
        match self.signal {
            Signal::Availability | Signal::ErrorRate => {
                let pct = v * 100.0;
                if (pct - pct.round()).abs() < 0.05 { format!("{pct:.0}%") } else { format!("{pct:.1}%") }
            }
            Signal::ResponseTime if v < 1.0 => format!("{:.0}ms", v * 1000.0),
            Signal::ResponseTime => format!("{v:.1}s"),
        }
    }
}

/// What the engine says about a system, with every reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    pub verdict: Verdict,
    pub score: u32,
    pub reasons: Vec<Reason>,
    /// The signal past its "at once" threshold, if any, measured against that threshold.
    pub immediate: Option<Reason>,
}

impl Decision {
    /// `score 7: availability 41% < 95% +3, p95 response 6.2s > 5.0s +2; at once: availability
    /// 41% < 50%`: the failing reasons in one line.
    pub fn summary(&self) -> String {
        let failing: Vec<String> = self
            .reasons
            .iter()
            .filter(|r| r.failing)
            .map(|r| {
                format!("{} {} {} +{}", r.signal.label(), r.measured_text(), r.threshold_text(), r.points)
            })
            .collect();
        let mut out = format!("score {}", self.score);
        if !failing.is_empty() {
            out.push_str(": ");
            out.push_str(&failing.join(", "));
        }
        if let Some(r) = &self.immediate {
            out.push_str(&format!("; at once: {}", r.text()));
        }
        out
    }
}

impl Reason {
    /// `availability 41% < 95%`
    pub fn text(&self) -> String {
        format!("{} {} {}", self.signal.label(), self.measured_text(), self.threshold_text())
    }
}

/// Score the window's stats. `has_failover`: the system has a failover procedure.
pub fn decide(stats: &WindowStats, t: &Thresholds, has_failover: bool) -> Decision {
    let p95 = stats.p95.map(|d| d.as_secs_f64());
    let fail = |measured: Option<f64>, threshold: f64, above: bool| match measured {
        Some(m) if above => m > threshold,
        Some(m) => m < threshold,
        None => false,
    };
    let reason = |signal, measured: Option<f64>, threshold: f64, above: bool, points: u32| {
        let failing = fail(measured, threshold, above);
        Reason { signal, measured, threshold, points: if failing { points } else { 0 }, failing }
    };
    let reasons = vec![
        reason(Signal::Availability, stats.availability, t.availability_below, false, t.availability_points),
        reason(Signal::ResponseTime, p95, t.response_time_above.as_secs_f64(), true, t.response_time_points),
        reason(Signal::ErrorRate, stats.error_rate, t.error_rate_above, true, t.error_rate_points),
    ];
    let score: u32 = reasons.iter().map(|r| r.points).sum();
    let immediate = if fail(stats.availability, t.immediate_availability_below, false) {
        Some(reason(Signal::Availability, stats.availability, t.immediate_availability_below, false, 0))
    } else if fail(p95, t.immediate_response_time_above.as_secs_f64(), true) {
        Some(reason(Signal::ResponseTime, p95, t.immediate_response_time_above.as_secs_f64(), true, 0))
    } else {
        None
    };
    let act = if has_failover { Verdict::FailoverRecommended } else { Verdict::RestoreRecommended };
    let verdict = if stats.probes < t.min_probes {
        Verdict::NoData
    } else if immediate.is_some() || score >= t.failover_at_score {
        act
    } else if score > 0 {
        Verdict::Watch
    } else {
        Verdict::Healthy
    };
    Decision { verdict, score, reasons, immediate }
}

/// A system failing because something it needs is down is not recommended for failover or
/// restore itself: recovering the root comes first. Its verdict stays at Watch.
pub fn defer_to_root(mut decision: Decision) -> Decision {
    if decision.verdict.is_action() {
        decision.verdict = Verdict::Watch;
    }
    decision
}

/// Failover or restore is recommended only for a system the state machine has confirmed
/// failing (Degraded or Down, after its run of consecutive failures): a bad window alone, on
/// a system whose latest probes answer well, stays at Watch.
pub fn confirmed_by(mut decision: Decision, state: HealthState) -> Decision {
    if decision.verdict.is_action() && !matches!(state, HealthState::Degraded | HealthState::Down) {
        decision.verdict = Verdict::Watch;
    }
    decision
}

/// Keeps a raised verdict until lower ones have been seen for the whole hold time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerdictHold {
    pub shown: Verdict,
    pub since: DateTime<Utc>,
    /// When the fresh verdicts first fell below the shown one.
    lower_since: Option<DateTime<Utc>>,
}

impl VerdictHold {
    pub fn new(now: DateTime<Utc>) -> Self {
        VerdictHold { shown: Verdict::NoData, since: now, lower_since: None }
    }

    /// The verdict to show, given the one just computed.
    pub fn apply(&mut self, fresh: Verdict, hold: Duration, now: DateTime<Utc>) -> Verdict {
        if fresh.level() >= self.shown.level() {
            if fresh != self.shown {
                self.shown = fresh;
                self.since = now;
            }
            self.lower_since = None;
            return self.shown;
        }
        let lower_since = *self.lower_since.get_or_insert(now);
        let hold = TimeDelta::from_std(hold).unwrap_or(TimeDelta::MAX);
        // No data never lowers a raised verdict: it means the probes stopped, not recovery.
        if fresh != Verdict::NoData && now - lower_since >= hold {
            self.shown = fresh;
            self.since = now;
            self.lower_since = None;
        }
        self.shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn stats(availability: f64, p95_ms: u64, error_rate: f64) -> WindowStats {
        WindowStats {
            probes: 100,
            answered: 90,
            healthy: (availability * 100.0) as u32,
            errors: 0,
            availability: Some(availability),
            error_rate: Some(error_rate),
            p50: Some(Duration::from_millis(p95_ms / 2)),
            p95: Some(Duration::from_millis(p95_ms)),
            max: Some(Duration::from_millis(p95_ms)),
        }
    }

    /// The standard's numbers, case by case.
    #[test]
    fn the_standard_table() {
        let t = Thresholds::default();
        let cases = [
            // availability, p95 ms, error rate -> score, verdict
            (1.00, 100, 0.00, 0, Verdict::Healthy),
            (0.95, 5000, 0.05, 0, Verdict::Healthy), // at the thresholds is not past them
            (0.94, 100, 0.00, 3, Verdict::Watch),
            (1.00, 5001, 0.00, 2, Verdict::Watch),
            (1.00, 100, 0.06, 2, Verdict::Watch),
            (1.00, 6000, 0.20, 4, Verdict::Watch),
            (0.90, 6000, 0.00, 5, Verdict::FailoverRecommended),
            (0.90, 100, 0.10, 5, Verdict::FailoverRecommended),
            (0.80, 6200, 0.21, 7, Verdict::FailoverRecommended),
            (0.49, 100, 0.00, 3, Verdict::FailoverRecommended), // at once
            (1.00, 31_000, 0.00, 2, Verdict::FailoverRecommended), // at once
        ];
        for (a, p95, e, score, verdict) in cases {
            let d = decide(&stats(a, p95, e), &t, true);
            assert_eq!((d.score, d.verdict), (score, verdict), "availability {a}, p95 {p95}ms, errors {e}");
            assert_eq!(d.reasons.len(), 3, "every reason is shown, failing or not");
        }
        let d = decide(&stats(0.49, 100, 0.0), &t, true);
        assert_eq!(d.immediate.map(|r| r.signal), Some(Signal::Availability));
        assert_eq!(
            d.summary(),
            "score 3: availability 49% < 95% +3; at once: availability 49% < 50%",
            "the at-once reason carries its own threshold"
        );
    }

    #[test]
    fn an_impacted_system_defers_to_its_root() {
        let d = decide(&stats(0.2, 100, 0.8), &Thresholds::default(), true);
        assert_eq!(d.verdict, Verdict::FailoverRecommended);
        let deferred = defer_to_root(d.clone());
        assert_eq!(deferred.verdict, Verdict::Watch);
        assert_eq!(deferred.score, d.score, "the score and reasons stay as measured");
    }

    #[test]
    fn only_a_confirmed_failure_recommends_action() {
        let d = decide(&stats(0.2, 100, 0.8), &Thresholds::default(), true);
        assert_eq!(confirmed_by(d.clone(), HealthState::Healthy).verdict, Verdict::Watch);
        assert_eq!(confirmed_by(d.clone(), HealthState::Down).verdict, Verdict::FailoverRecommended);
        assert_eq!(confirmed_by(d, HealthState::Degraded).verdict, Verdict::FailoverRecommended);
    }

    #[test]
    fn no_procedure_means_restore() {
        let d = decide(&stats(0.2, 100, 0.0), &Thresholds::default(), false);
        assert_eq!(d.verdict, Verdict::RestoreRecommended);
    }

    #[test]
    fn reasons_show_measured_and_threshold() {
        let d = decide(&stats(0.41, 6200, 0.21), &Thresholds::default(), true);
        let text: Vec<_> = d
            .reasons
            .iter()
            .map(|r| (r.signal.label(), r.measured_text(), r.threshold_text(), r.points))
            .collect();
        assert_eq!(
            text,
            vec![
                ("availability", "41%".to_owned(), "< 95%".to_owned(), 3),
                ("p95 response", "6.2s".to_owned(), "> 5.0s".to_owned(), 2),
                ("error rate", "21%".to_owned(), "> 5%".to_owned(), 2),
            ]
        );
    }

    #[test]
    fn too_few_probes_is_no_data() {
        let mut s = stats(0.0, 0, 0.0);
        s.probes = 2;
        assert_eq!(decide(&s, &Thresholds::default(), true).verdict, Verdict::NoData);
    }

    #[test]
    fn a_raised_verdict_holds_then_drops() {
        let at = |s: i64| Utc.timestamp_opt(1_800_000_000 + s, 0).single().unwrap();
        let hold = Duration::from_secs(120);
        let mut h = VerdictHold::new(at(0));
        assert_eq!(h.apply(Verdict::Healthy, hold, at(0)), Verdict::Healthy);
        assert_eq!(h.apply(Verdict::FailoverRecommended, hold, at(10)), Verdict::FailoverRecommended);
        assert_eq!(h.apply(Verdict::Healthy, hold, at(20)), Verdict::FailoverRecommended);
        assert_eq!(h.apply(Verdict::Watch, hold, at(100)), Verdict::FailoverRecommended);
        assert_eq!(h.apply(Verdict::FailoverRecommended, hold, at(110)), Verdict::FailoverRecommended);
        // The hold starts again after a raised verdict.
        assert_eq!(h.apply(Verdict::Healthy, hold, at(120)), Verdict::FailoverRecommended);
        assert_eq!(h.apply(Verdict::Healthy, hold, at(239)), Verdict::FailoverRecommended);
        assert_eq!(h.apply(Verdict::Healthy, hold, at(240)), Verdict::Healthy);
        assert_eq!(h.apply(Verdict::NoData, hold, at(1000)), Verdict::Healthy, "no data never lowers");
    }

    proptest! {
        /// Making any signal worse never lowers the score.
        #[test]
        fn a_failing_signal_never_lowers_the_score(
            a in 0.0f64..=1.0, p95 in 0u64..60_000, e in 0.0f64..=1.0,
            da in 0.0f64..=1.0, dp in 0u64..60_000, de in 0.0f64..=1.0,
            which in 0usize..3,
        ) {
            let t = Thresholds::default();
            let before = decide(&stats(a, p95, e), &t, true);
            let worse = match which {
                0 => stats((a - da).max(0.0), p95, e),
                1 => stats(a, p95 + dp, e),
                _ => stats(a, p95, (e + de).min(1.0)),
            };
            let after = decide(&worse, &t, true);
            prop_assert!(after.score >= before.score, "{before:?} -> {after:?}");
            prop_assert!(after.verdict.level() >= before.verdict.level());
        }
    }
}
