//! The health of a system, as the monitor sees it.

use std::collections::VecDeque;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::graph::DependencyGraph;

/// Unknown until probes say otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthState {
    #[default]
    Unknown,
    Healthy,
    Degraded,
    Down,
}

impl HealthState {
    /// How bad it is, for sorting worst first: down, degraded, unknown, healthy.
    pub fn badness(self) -> u8 {
        match self {
            HealthState::Down => 3,
            HealthState::Degraded => 2,
            HealthState::Unknown => 1,
            HealthState::Healthy => 0,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            HealthState::Unknown => "◌",
            HealthState::Healthy => "●",
            HealthState::Degraded => "▲",
            HealthState::Down => "✖",
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            HealthState::Unknown => "UNKNOWN",
            HealthState::Healthy => "HEALTHY",
            HealthState::Degraded => "DEGRADED",
            HealthState::Down => "DOWN",
        }
    }

    pub const ALL: [HealthState; 4] =
        [HealthState::Down, HealthState::Degraded, HealthState::Healthy, HealthState::Unknown];
}

/// What one probe found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Answered, and the answer was the expected one.
    Healthy,
    /// Answered with an error: an unexpected status or body, a failing command.
    Error,
    /// No answer: refused, timed out, unreachable.
    Unreachable,
}

/// One probe result, as the health model keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    pub at: DateTime<Utc>,
    pub outcome: Outcome,
    /// How long the probe took (for unanswered probes, until it gave up).
    pub latency: Duration,
    /// Failed while a dependency was down: the root's outage, not this system's, so the
    /// decision does not count it.
    pub excused: bool,
}

/// Availability, error rate and latency over the window.
///
/// - availability = probes answered healthy / all probes (a timeout or refusal is unavailable);
/// - error rate = probes answered with an error / probes answered;
/// - response time = latency percentiles of answered probes.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct WindowStats {
    pub probes: u32,
    pub answered: u32,
    pub healthy: u32,
    pub errors: u32,
    pub availability: Option<f64>,
    pub error_rate: Option<f64>,
    #[serde(serialize_with = "opt_millis")]
    pub p50: Option<Duration>,
    #[serde(serialize_with = "opt_millis")]
    pub p95: Option<Duration>,
    #[serde(serialize_with = "opt_millis")]
    pub max: Option<Duration>,
}

fn opt_millis<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_u64(d.as_millis() as u64),
        None => s.serialize_none(),
    }
}

/// The samples of the last `span`, at most `capacity` of them: memory per system is bounded
/// whatever the uptime and the probe interval.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthWindow {
    samples: VecDeque<Sample>,
    span: Duration,
    capacity: usize,
}

impl HealthWindow {
    pub fn new(span: Duration, capacity: usize) -> Self {
        HealthWindow { samples: VecDeque::new(), span, capacity: capacity.max(1) }
    }

    pub fn span(&self) -> Duration {
        self.span
    }

    /// Add a sample (in time order) and forget what fell out of the window.
    pub fn push(&mut self, sample: Sample) {
        if self.samples.len() == self.capacity {
            self.samples.pop_front();
        }
        self.samples.push_back(sample);
        self.expire(sample.at);
    }

    fn expire(&mut self, now: DateTime<Utc>) {
        let span = chrono::TimeDelta::from_std(self.span).unwrap_or(chrono::TimeDelta::MAX);
        while self.samples.front().is_some_and(|s| now - s.at > span) {
            self.samples.pop_front();
        }
    }

    pub fn len(&self) -> usize {
        self.samples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// The samples within the span before `now`, oldest first.
    pub fn recent(&self, now: DateTime<Utc>) -> impl Iterator<Item = &Sample> {
        let span = chrono::TimeDelta::from_std(self.span).unwrap_or(chrono::TimeDelta::MAX);
        self.samples.iter().filter(move |s| now - s.at <= span)
    }

    pub fn stats(&self, now: DateTime<Utc>) -> WindowStats {
        stats_of(self.recent(now))
    }

    /// The stats the decision weighs: as [`HealthWindow::stats`], without excused samples.
    pub fn own_stats(&self, now: DateTime<Utc>) -> WindowStats {
        stats_of(self.recent(now).filter(|s| !s.excused))
    }

    /// Excuse the failing samples taken since `from`: a dependency was down then.
    pub fn excuse_since(&mut self, from: DateTime<Utc>) {
        for s in self.samples.iter_mut().filter(|s| s.at >= from && s.outcome != Outcome::Healthy) {
            s.excused = true;
        }
    }

    /// The window cut into `buckets` equal slices of time ending at `now`, each with its own
    /// stats (empty slices have no probes): the history the console draws.
    pub fn history(&self, now: DateTime<Utc>, buckets: usize) -> Vec<WindowStats> {
        let buckets = buckets.max(1);
        let width = self.span.as_secs_f64() / buckets as f64;
        let mut slices: Vec<Vec<&Sample>> = vec![Vec::new(); buckets];
        for s in self.recent(now) {
            let age = (now - s.at).to_std().unwrap_or_default().as_secs_f64();
            let from_end = (age / width) as usize;
            if from_end < buckets {
                slices[buckets - 1 - from_end].push(s);
            }
        }
        slices.into_iter().map(|slice| stats_of(slice.into_iter())).collect()
    }
}

fn stats_of<'a>(samples: impl Iterator<Item = &'a Sample>) -> WindowStats {
    let mut stats = WindowStats::default();
    let mut latencies = Vec::new();
    for s in samples {
        stats.probes += 1;
        match s.outcome {
            Outcome::Healthy => {
                stats.answered += 1;
                stats.healthy += 1;
                latencies.push(s.latency);
            }
            Outcome::Error => {
                stats.answered += 1;
                stats.errors += 1;
                latencies.push(s.latency);
            }
            Outcome::Unreachable => {}
        }
    }
    if stats.probes > 0 {
        stats.availability = Some(f64::from(stats.healthy) / f64::from(stats.probes));
    }
    if stats.answered > 0 {
        stats.error_rate = Some(f64::from(stats.errors) / f64::from(stats.answered));
    }
    latencies.sort_unstable();
    let pick = |q: f64| -> Option<Duration> {
        if latencies.is_empty() {
            return None;
        }
        // Nearest rank: the smallest value with at least q of the samples at or below it.
        let rank = ((q * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len());
        latencies.get(rank - 1).copied()
    };
    stats.p50 = pick(0.50);
    stats.p95 = pick(0.95);
    stats.max = latencies.last().copied();
    stats
}

/// A change of health state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub from: HealthState,
    pub to: HealthState,
    /// When the run of samples that caused it began (for Down: when the outage started).
    pub at: DateTime<Utc>,
}

/// The health state machine, with hysteresis: the state changes only after the last
/// `consecutive` samples all call for it. A run of failures (errors, slowness, no answer, in
/// any mix) confirms Down when most of it went unanswered and Degraded otherwise; a run of
/// healthy answers confirms Healthy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthTracker {
    pub state: HealthState,
    /// When the current state began.
    pub since: Option<DateTime<Utc>>,
    /// While Degraded or Down: when the failing began (the first failing sample of the run).
    /// Feeds the RTO clock.
    pub outage_start: Option<DateTime<Utc>>,
    consecutive: u32,
    /// The classes of the last `consecutive` samples, oldest first.
    recent: VecDeque<HealthState>,
    /// When the current run of failing samples began.
    failing_since: Option<DateTime<Utc>>,
    /// When the current run of healthy samples began.
    healthy_since: Option<DateTime<Utc>>,
}

impl HealthTracker {
    pub fn new(consecutive: u32) -> Self {
        let consecutive = consecutive.max(1);
        HealthTracker {
            state: HealthState::Unknown,
            since: None,
            outage_start: None,
            consecutive,
            recent: VecDeque::with_capacity(consecutive as usize),
            failing_since: None,
            healthy_since: None,
        }
    }

    /// The state one sample calls for: unanswered is Down; an error, or an answer slower than
    /// `slow`, is Degraded; else Healthy.
    pub fn classify(sample: &Sample, slow: Duration) -> HealthState {
        match sample.outcome {
            Outcome::Unreachable => HealthState::Down,
            Outcome::Error => HealthState::Degraded,
            Outcome::Healthy if sample.latency > slow => HealthState::Degraded,
            Outcome::Healthy => HealthState::Healthy,
        }
    }

    /// The latest sample failed (an outage may be starting, not confirmed yet).
    pub fn failing(&self) -> bool {
        self.recent.back().is_some_and(|c| *c != HealthState::Healthy)
    }

    pub fn observe(&mut self, sample: &Sample, slow: Duration) -> Option<Transition> {
        let class = Self::classify(sample, slow);
        if self.recent.len() == self.consecutive as usize {
            self.recent.pop_front();
        }
        self.recent.push_back(class);
        if class == HealthState::Healthy {
            self.failing_since = None;
            self.healthy_since.get_or_insert(sample.at);
        } else {
            self.healthy_since = None;
            self.failing_since.get_or_insert(sample.at);
        }
        if self.recent.len() < self.consecutive as usize {
            return None;
        }
        let (wanted, first) = if self.recent.iter().all(|c| *c == HealthState::Healthy) {
            (HealthState::Healthy, self.healthy_since)
        } else if self.recent.iter().all(|c| *c != HealthState::Healthy) {
            let unanswered = self.recent.iter().filter(|c| **c == HealthState::Down).count();
            let wanted =
                if unanswered * 2 > self.recent.len() { HealthState::Down } else { HealthState::Degraded };
            (wanted, self.failing_since)
        } else {
            return None;
        };
        if wanted == self.state {
            return None;
        }
        let first = first.unwrap_or(sample.at);
        let from = self.state;
        self.state = wanted;
        self.since = Some(first);
        self.outage_start = match wanted {
            // Degraded to Down is the same outage: its clock keeps running.
            HealthState::Down | HealthState::Degraded => Some(self.outage_start.unwrap_or(first)),
            _ => None,
        };
        Some(Transition { from, to: wanted, at: first })
    }
}

/// For each system that is failing while something it depends on (directly or not) is Down:
/// the root of it, the Down dependency that has no Down dependency of its own (the nearest,
/// if several). One outage then reads as one cause, not twenty alarms.
pub fn impacted_by(graph: &DependencyGraph, states: &[HealthState]) -> Vec<Option<usize>> {
    let state = |i: usize| states.get(i).copied().unwrap_or_default();
    let is_root = |i: usize| {
        state(i) == HealthState::Down && !graph.depends_on(i).iter().any(|&d| state(d) == HealthState::Down)
    };
    (0..graph.len())
        .map(|i| {
            if !matches!(state(i), HealthState::Down | HealthState::Degraded) {
                return None;
            }
            graph.transitive_dependencies(i).into_iter().find(|&d| is_root(d))
        })
        .collect()
}

/// A health transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthEvent {
    pub at: DateTime<Utc>,
    pub system: String,
    /// `transition` or `verdict`.
    pub kind: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub detail: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + secs, 0).single().unwrap()
    }

    fn sample(secs: i64, outcome: Outcome, ms: u64) -> Sample {
        Sample { at: at(secs), outcome, latency: Duration::from_millis(ms), excused: false }
    }

    const SLOW: Duration = Duration::from_secs(5);

    #[test]
    fn stats_follow_the_definitions() {
        let mut w = HealthWindow::new(Duration::from_secs(300), 1000);
        // 6 healthy, 2 errors, 2 unanswered.
        for i in 0..6 {
            w.push(sample(i, Outcome::Healthy, 100 + i as u64));
        }
        w.push(sample(6, Outcome::Error, 900));
        w.push(sample(7, Outcome::Error, 800));
        w.push(sample(8, Outcome::Unreachable, 5000));
        w.push(sample(9, Outcome::Unreachable, 5000));
        let s = w.stats(at(10));
        assert_eq!((s.probes, s.answered, s.healthy, s.errors), (10, 8, 6, 2));
        assert_eq!(s.availability, Some(0.6));
        assert_eq!(s.error_rate, Some(0.25));
        assert_eq!(s.p95, Some(Duration::from_millis(900)), "unanswered probes are not response times");
        assert_eq!(s.p50, Some(Duration::from_millis(103)));
        assert_eq!(s.max, Some(Duration::from_millis(900)));
    }

    #[test]
    fn the_window_forgets_old_samples_and_stays_bounded() {
        let mut w = HealthWindow::new(Duration::from_secs(60), 50);
        for i in 0..1000 {
            w.push(sample(i, Outcome::Healthy, 10));
        }
        assert!(w.len() <= 50);
        assert_eq!(w.stats(at(999)).probes as usize, w.len());
        let mut w = HealthWindow::new(Duration::from_secs(60), 10_000);
        for i in 0..1000 {
            w.push(sample(i, Outcome::Healthy, 10));
        }
        assert_eq!(w.len(), 61, "only the last minute is kept");
        assert_eq!(w.stats(at(2000)).probes, 0, "nothing recent");
    }

    #[test]
    fn one_failure_never_takes_a_healthy_system_down() {
        let mut t = HealthTracker::new(3);
        for i in 0..3 {
            t.observe(&sample(i, Outcome::Healthy, 10), SLOW);
        }
        assert_eq!(t.state, HealthState::Healthy);
        assert_eq!(t.observe(&sample(3, Outcome::Unreachable, 10), SLOW), None);
        assert_eq!(t.observe(&sample(4, Outcome::Healthy, 10), SLOW), None);
        assert_eq!(t.state, HealthState::Healthy);
        t.observe(&sample(5, Outcome::Unreachable, 10), SLOW);
        t.observe(&sample(6, Outcome::Unreachable, 10), SLOW);
        let tr = t.observe(&sample(7, Outcome::Unreachable, 10), SLOW);
        assert_eq!(tr, Some(Transition { from: HealthState::Healthy, to: HealthState::Down, at: at(5) }));
        assert_eq!(t.outage_start, Some(at(5)), "the outage began with the first failed probe");
        for i in 8..11 {
            t.observe(&sample(i, Outcome::Healthy, 10), SLOW);
        }
        assert_eq!(t.state, HealthState::Healthy);
        assert_eq!(t.outage_start, None);
    }

    #[test]
    fn errors_and_slowness_degrade() {
        let mut t = HealthTracker::new(2);
        t.observe(&sample(0, Outcome::Healthy, 6000), SLOW);
        t.observe(&sample(1, Outcome::Error, 10), SLOW);
        assert_eq!(t.state, HealthState::Degraded);
        assert_eq!(t.since, Some(at(0)));
        assert_eq!(t.outage_start, Some(at(0)));
    }

    #[test]
    fn mixed_failures_still_confirm_an_outage() {
        // Refused, 503, timeout, 503...: no two alike in a row, but nothing answered well.
        let mut t = HealthTracker::new(3);
        for i in 0..3 {
            t.observe(&sample(i, Outcome::Healthy, 10), SLOW);
        }
        t.observe(&sample(3, Outcome::Unreachable, 10), SLOW);
        t.observe(&sample(4, Outcome::Error, 10), SLOW);
        let tr = t.observe(&sample(5, Outcome::Unreachable, 10), SLOW);
        assert_eq!(tr, Some(Transition { from: HealthState::Healthy, to: HealthState::Down, at: at(3) }));
        // Then it answers, but with errors: degraded, and the outage clock keeps running.
        for i in 6..9 {
            t.observe(&sample(i, Outcome::Error, 10), SLOW);
        }
        assert_eq!(t.state, HealthState::Degraded);
        assert_eq!(t.outage_start, Some(at(3)));
    }

    #[test]
    fn excused_samples_do_not_count_against_the_system() {
        let mut w = HealthWindow::new(Duration::from_secs(300), 1000);
        for i in 0..10 {
            w.push(sample(i, Outcome::Healthy, 10));
        }
        for i in 10..20 {
            w.push(sample(i, Outcome::Unreachable, 10));
        }
        w.excuse_since(at(10));
        assert_eq!(w.stats(at(20)).availability, Some(0.5), "shown as measured");
        assert_eq!(w.own_stats(at(20)).availability, Some(1.0), "but not held against it");
    }

    #[test]
    fn flapping_keeps_the_state() {
        let mut t = HealthTracker::new(3);
        for i in 0..3 {
            t.observe(&sample(i, Outcome::Healthy, 10), SLOW);
        }
        for i in 3..50 {
            let o = if i % 2 == 0 { Outcome::Healthy } else { Outcome::Unreachable };
            assert_eq!(t.observe(&sample(i, o, 10), SLOW), None, "flipped at {i}");
        }
    }

    #[test]
    fn history_buckets_cover_the_window() {
        let mut w = HealthWindow::new(Duration::from_secs(60), 1000);
        for i in 0..60 {
            let o = if i >= 50 { Outcome::Unreachable } else { Outcome::Healthy };
            w.push(sample(i, o, 10));
        }
        let h = w.history(at(60), 6);
        assert_eq!(h.len(), 6);
        assert_eq!(h[5].availability, Some(0.0), "the last 10 s were down");
        assert_eq!(h[0].availability, Some(1.0));
    }

    #[test]
    fn an_outage_reads_as_one_cause() {
        let (g, _) = DependencyGraph::build([
            ("database", vec![]),
            ("cache", vec!["database"]),
            ("api", vec!["cache"]),
            ("wiki", vec![]),
            ("web", vec!["api"]),
        ]);
        use HealthState::*;
        let states = [Down, Down, Degraded, Down, Healthy];
        let impacted = impacted_by(&g, &states);
        assert_eq!(impacted, vec![None, Some(0), Some(0), None, None]);
    }
}
