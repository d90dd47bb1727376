//! The health monitor: probes every system on its schedule and keeps the health model.
//!
//! ```text
//!  one scheduler task per system ──(semaphore: bounded concurrency)──► probe task
//!        │  fixed schedule, first probe spread over the interval (jitter)        │
//!        │                                                                        ▼
//!        └────────────────────────────────────────────── HealthSample (owned) ──► monitor task
//!                                                                                 │ window, state machine,
//!                                                                                 │ decision, hold, impact
//!                          MonitorEvent::{Health, Transition, Verdict} ◄──────────┘ (batched, ≤ 4/s)
//! ```
//! Probes never wait for one another: a slow probe does not delay the next one of its system.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::{Semaphore, broadcast, mpsc, oneshot};
use tokio::task::JoinSet;

use crate::clock::Clock;
use crate::config::Config;
use crate::config::health::WINDOW_CAPACITY;
use crate::model::decision::{confirmed_by, defer_to_root};
use crate::model::{
    Decision, HealthState, HealthTracker, HealthWindow, Outcome, Sample, Thresholds, Verdict, VerdictHold,
    WindowStats, decide, impacted_by,
};

use super::probe::Prober;
use crate::model::replication::{LagReading, Replication};

/// One probe's result, sent to whoever listens.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthSample {
    pub system: usize,
    pub at: DateTime<Utc>,
    pub outcome: Outcome,
    #[serde(serialize_with = "crate::model::duration::serialize_millis")]
    pub latency: Duration,
    pub detail: String,
    /// How late the probe started against its schedule.
    #[serde(serialize_with = "crate::model::duration::serialize_millis")]
    pub lateness: Duration,
}

/// Everything the console shows about one system's health, as of one moment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SystemHealth {
    pub system: usize,
    pub name: String,
    pub state: HealthState,
    pub since: Option<DateTime<Utc>>,
    pub outage_start: Option<DateTime<Utc>>,
    pub stats: WindowStats,
    /// The window in equal slices, oldest first.
    pub history: Vec<WindowStats>,
    /// The decision, with the verdict as shown (held).
    pub decision: Decision,
    /// The root Down dependency this system's trouble comes from.
    pub impacted_by: Option<usize>,
    pub last_detail: Option<String>,
    pub last_at: Option<DateTime<Utc>>,
    pub thresholds: Thresholds,
    /// Its standby's lag as the readings left it (for a system with `[systems.replication]`).
    pub replication: Option<Replication>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum MonitorEvent {
    /// Systems whose health changed since the last batch.
    Health { systems: Vec<SystemHealth> },
    /// A health state changed.
    Transition {
        system: usize,
        name: String,
        from: HealthState,
        to: HealthState,
        at: DateTime<Utc>,
        detail: Option<String>,
    },
    /// A shown verdict changed.
    Verdict { system: usize, name: String, from: Verdict, to: Verdict, at: DateTime<Utc>, decision: Decision },
}

/// Slices of the window the console draws.
pub const HISTORY_BUCKETS: usize = 30;
const FLUSH_EVERY: Duration = Duration::from_millis(250);

struct Tracked {
    name: String,
    window: HealthWindow,
    tracker: HealthTracker,
    hold: VerdictHold,
    thresholds: Thresholds,
    has_failover: bool,
    /// Between two of its probes.
    interval: Duration,
    /// A direct dependency's latest probe failed.
    dependency_failing: bool,
    impacted_by: Option<usize>,
    last_detail: Option<String>,
    last_at: Option<DateTime<Utc>>,
    /// The verdict last shown (and announced).
    shown: Verdict,
    replication: Option<Replication>,
}

impl Tracked {
    /// The decision on the window as of `now`: scored on the system's own samples (not those
    /// excused by a down dependency), confirmed by the state machine, deferred to a down root,
    /// and held. With `commit`, the hold moves on; without, this only looks.
    fn evaluate(&mut self, now: DateTime<Utc>, commit: bool) -> Decision {
        let fresh = decide(&self.window.own_stats(now), &self.thresholds, self.has_failover);
        let fresh = confirmed_by(fresh, self.tracker.state);
        // A dependency down, or failing right now (its outage not confirmed yet): recover it
        // first.
        let fresh =
            if self.impacted_by.is_some() || self.dependency_failing { defer_to_root(fresh) } else { fresh };
        // Failing because of a dependency: its own numbers may be clean, but it is watched.
        let fresh = if self.impacted_by.is_some() && fresh.verdict.level() < Verdict::Watch.level() {
            Decision { verdict: Verdict::Watch, ..fresh }
        } else {
            fresh
        };
        let mut hold = self.hold;
        let verdict = hold.apply(fresh.verdict, self.thresholds.hold, now);
        if commit {
            self.hold = hold;
        }
        Decision { verdict, ..fresh }
    }
}

/// A running monitor. Dropping it stops every probe.
pub struct Monitor {
    events: broadcast::Sender<MonitorEvent>,
    samples: broadcast::Sender<HealthSample>,
    queries: mpsc::Sender<oneshot::Sender<Vec<SystemHealth>>>,
    _tasks: JoinSet<()>,
}

impl Monitor {
    /// Start probing every system of `config` that has a health check.
    pub fn start(config: &Config, clock: Arc<dyn Clock>, prober: Prober) -> Monitor {
        let (events, _) = broadcast::channel(1024);
        let (samples, _) = broadcast::channel(8192);
        let (queries, query_rx) = mpsc::channel(16);
        let (sample_tx, sample_rx) = mpsc::unbounded_channel::<HealthSample>();
        let permits = Arc::new(Semaphore::new(config.health.concurrency.max(1)));
        let mut tasks = JoinSet::new();
        let actor = Actor::new(config, clock.clone(), events.clone(), samples.clone());

        for (index, (system, settings)) in config.estate.systems().iter().zip(&config.systems).enumerate() {
            let Some(check) = settings.health.clone() else { continue };
            let offset = jitter(&system.name, check.interval);
            let prober = prober.clone();
            let permits = permits.clone();
            let tx = sample_tx.clone();
            let clock = clock.clone();
            tasks.spawn(async move {
                let mut next = tokio::time::Instant::now() + offset;
                loop {
                    tokio::time::sleep_until(next).await;
                    let scheduled = next;
                    next += check.interval;
                    let Ok(permit) = permits.clone().acquire_owned().await else { return };
                    let lateness = tokio::time::Instant::now().saturating_duration_since(scheduled);
                    let (prober, probe_check, sender, clock) =
                        (prober.clone(), check.clone(), tx.clone(), clock.clone());
                    tokio::spawn(async move {
                        let result = prober.probe(&probe_check).await;
                        drop(permit);
                        let _ = sender.send(HealthSample {
                            system: index,
                            at: clock.now(),
                            outcome: result.outcome,
                            latency: result.latency,
                            detail: result.detail,
                            lateness,
                        });
                    });
                    if tx.is_closed() {
                        return;
                    }
                }
            });
        }
        drop(sample_tx);

        // Each standby's lag, read on its own schedule (one reading at a time per system).
        let (lag_tx, lag_rx) = mpsc::unbounded_channel::<(usize, LagReading)>();
        for (index, (system, settings)) in config.estate.systems().iter().zip(&config.systems).enumerate() {
            let Some(check) = settings.replication.clone() else { continue };
            let offset = jitter(&format!("{}/replication", system.name), check.interval);
            let (client, tx, clock) = (prober.client().clone(), lag_tx.clone(), clock.clone());
            tasks.spawn(async move {
                let mut next = tokio::time::Instant::now() + offset;
                let now = move || clock.now();
                loop {
                    tokio::time::sleep_until(next).await;
                    next += check.interval;
                    let reading = super::replication::read_lag(&client, &check, &now).await;
                    if tx.send((index, reading)).is_err() {
                        return;
                    }
                    // A reading that took longer than the interval: the next starts now.
                    next = next.max(tokio::time::Instant::now());
                }
            });
        }
        drop(lag_tx);

        tasks.spawn(actor.run(sample_rx, lag_rx, query_rx));
        Monitor { events, samples, queries, _tasks: tasks }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<MonitorEvent> {
        self.events.subscribe()
    }

    pub fn samples(&self) -> broadcast::Receiver<HealthSample> {
        self.samples.subscribe()
    }

    /// The health of every system now.
    pub async fn snapshot(&self) -> Vec<SystemHealth> {
        let (tx, rx) = oneshot::channel();
        if self.queries.send(tx).await.is_err() {
            return Vec::new();
        }
        rx.await.unwrap_or_default()
    }
}

/// The first probe's delay: spread over the interval by the system's name, so hundreds of
/// systems do not fire in the same millisecond, and the same system always starts alike.
fn jitter(name: &str, interval: Duration) -> Duration {
    let hash =
        name.bytes().fold(0xcbf29ce484222325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100000001b3));
    let millis = interval.as_millis().max(1) as u64;
    Duration::from_millis(hash % millis)
}

struct Actor {
    tracked: Vec<Tracked>,
    graph: crate::model::DependencyGraph,
    events: broadcast::Sender<MonitorEvent>,
    samples: broadcast::Sender<HealthSample>,
    clock: Arc<dyn Clock>,
}

impl Actor {
    fn new(
        config: &Config,
        clock: Arc<dyn Clock>,
        events: broadcast::Sender<MonitorEvent>,
        samples: broadcast::Sender<HealthSample>,
    ) -> Actor {
        let now = clock.now();
        let tracked = config
            .estate
            .systems()
            .iter()
            .zip(&config.systems)
            .map(|(system, settings)| Tracked {
                name: system.name.clone(),
                window: HealthWindow::new(config.health.window, WINDOW_CAPACITY),
                tracker: HealthTracker::new(config.health.consecutive),
                hold: VerdictHold::new(now),
                thresholds: settings.thresholds,
                has_failover: settings.failover.is_some(),
                interval: settings.health.as_ref().map(|h| h.interval).unwrap_or_default(),
                dependency_failing: false,
                impacted_by: None,
                last_detail: None,
                last_at: None,
                shown: Verdict::NoData,
                replication: settings
                    .replication
                    .as_ref()
                    .map(|r| Replication::new(r.describe(), r.stale_after)),
            })
            .collect();
        Actor { tracked, graph: config.estate.graph().clone(), events, samples, clock }
    }

    /// Take a sample, and on a state change work out again who is impacted by whom.
    fn take(&mut self, sample: &HealthSample, changed: &mut [bool]) {
        if let Some(c) = changed.get_mut(sample.system) {
            *c = true;
        }
        if self.apply(sample) {
            self.reassess_impact(sample.at, changed);
        }
    }
    async fn run(
        mut self,
        mut sample_rx: mpsc::UnboundedReceiver<HealthSample>,
        mut lag_rx: mpsc::UnboundedReceiver<(usize, LagReading)>,
        mut query_rx: mpsc::Receiver<oneshot::Sender<Vec<SystemHealth>>>,
    ) {
        let mut flush = tokio::time::interval(FLUSH_EVERY);
        flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut changed = vec![false; self.tracked.len()];
        loop {
            tokio::select! {
                sample = sample_rx.recv() => {
                    let Some(sample) = sample else { return };
                    self.take(&sample, &mut changed);
                    let _ = self.samples.send(sample);
                }
                Some((i, reading)) = lag_rx.recv() => {
                    if let Some(r) = self.tracked.get_mut(i).and_then(|t| t.replication.as_mut()) {
                        r.record(reading);
                        changed[i] = true;
                    }
                }
                Some(reply) = query_rx.recv() => {
                    let now = self.clock.now();
                    let _ = reply.send((0..self.tracked.len()).map(|i| self.snapshot(i, now)).collect());
                }
                _ = flush.tick() => {
                    if changed.iter().any(|c| *c) {
                        let now = self.clock.now();
                        let systems: Vec<SystemHealth> = changed
                            .iter()
                            .enumerate()
                            .filter(|(_, c)| **c)
                            .map(|(i, _)| self.snapshot(i, now))
                            .collect();
                        changed.iter_mut().for_each(|c| *c = false);
                        let _ = self.events.send(MonitorEvent::Health { systems });
                    }
                }
            }
        }
    }

    /// Take a sample into the model; true if the health state changed.
    fn apply(&mut self, sample: &HealthSample) -> bool {
        let dependency_failing = self
            .graph
            .depends_on(sample.system)
            .iter()
            .any(|&d| self.tracked.get(d).is_some_and(|t| t.tracker.failing()));
        let Some(t) = self.tracked.get_mut(sample.system) else { return false };
        t.dependency_failing = dependency_failing;
        let s = Sample {
            at: sample.at,
            outcome: sample.outcome,
            latency: sample.latency,
            // While a dependency is down, this system's failures are the root's outage.
            excused: t.impacted_by.is_some() && sample.outcome != Outcome::Healthy,
        };
        t.window.push(s);
        t.last_detail = Some(sample.detail.clone());
        t.last_at = Some(sample.at);
        let transition = t.tracker.observe(&s, t.thresholds.response_time_above);
        if let Some(tr) = transition {
            let _ = self.events.send(MonitorEvent::Transition {
                system: sample.system,
                name: t.name.clone(),
                from: tr.from,
                to: tr.to,
                at: tr.at,
                detail: t.last_detail.clone(),
            });
        }
        self.announce_verdict(sample.system, sample.at);
        transition.is_some()
    }

    /// After a state change: which systems are failing because of a down dependency. A system
    /// newly impacted has its failures since the root went down excused, and its verdict
    /// starts afresh: the outage is the root's.
    fn reassess_impact(&mut self, now: DateTime<Utc>, changed: &mut [bool]) {
        let states: Vec<HealthState> = self.tracked.iter().map(|t| t.tracker.state).collect();
        for (i, cause) in impacted_by(&self.graph, &states).into_iter().enumerate() {
            if self.tracked[i].impacted_by == cause {
                continue;
            }
            if let Some(root) = cause {
                let root_start = self.tracked[root].tracker.outage_start.unwrap_or(now);
                let t = &mut self.tracked[i];
                // Probes are spread over the interval: this system may have seen the root's
                // outage up to one of its intervals before the root's own probe did.
                let seen = root_start - chrono::TimeDelta::from_std(t.interval).unwrap_or_default();
                t.window.excuse_since(seen);
                t.hold = VerdictHold::new(now);
            }
            self.tracked[i].impacted_by = cause;
            if let Some(c) = changed.get_mut(i) {
                *c = true;
            }
            self.announce_verdict(i, now);
        }
    }

    /// Tell listeners when the verdict shown for `i` changed.
    fn announce_verdict(&mut self, i: usize, at: DateTime<Utc>) {
        let Some(t) = self.tracked.get_mut(i) else { return };
        let decision = t.evaluate(at, true);
        if decision.verdict != t.shown {
            let from = std::mem::replace(&mut t.shown, decision.verdict);
            let _ = self.events.send(MonitorEvent::Verdict {
                system: i,
                name: t.name.clone(),
                from,
                to: decision.verdict,
                at,
                decision,
            });
        }
    }

    fn snapshot(&mut self, i: usize, now: DateTime<Utc>) -> SystemHealth {
        let t = &mut self.tracked[i];
        let decision = t.evaluate(now, false);
        SystemHealth {
            system: i,
            name: t.name.clone(),
            state: t.tracker.state,
            since: t.tracker.since,
            outage_start: t.tracker.outage_start,
            stats: t.window.stats(now),
            history: t.window.history(now, HISTORY_BUCKETS),
            decision,
            impacted_by: t.impacted_by,
            last_detail: t.last_detail.clone(),
            last_at: t.last_at,
            thresholds: t.thresholds,
            replication: t.replication.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use chrono::TimeZone;

    const CONFIG: &str = r#"
[console]
operator = "tester"
[[systems]]
name = "database"
tier = 1
[systems.health]
kind = "tcp"
address = "127.0.0.1:1"
[[systems]]
name = "api"
tier = 1
depends_on = ["database"]
[systems.health]
kind = "tcp"
address = "127.0.0.1:2"
[systems.failover]
steps = [{ name = "switch", manual = "switch the api over" }]
"#;

    /// Feed the actor by hand: (seconds, system, outcome).
    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + secs, 0).single().unwrap()
    }

    /// An actor on `CONFIG` (database, api), its clock at the start.
    fn actor() -> Actor {
        let env = crate::config::console::MapEnv::new([]);
        let config = crate::config::load_str(std::path::Path::new("t.toml"), CONFIG, &env).unwrap().config;
        let clock = Arc::new(ManualClock::new(at(0)));
        Actor::new(&config, clock, broadcast::channel(64).0, broadcast::channel(64).0)
    }

    fn feed(actor: &mut Actor, samples: &[(i64, usize, Outcome)]) {
        feed_watching(actor, samples, |_, _| {});
    }

    /// Feed `samples`; `after(actor, secs)` looks after each one.
    fn feed_watching(
        actor: &mut Actor,
        samples: &[(i64, usize, Outcome)],
        mut after: impl FnMut(&mut Actor, i64),
    ) {
        let mut changed = vec![false; actor.tracked.len()];
        for &(secs, system, outcome) in samples {
            let sample = HealthSample {
                system,
                at: at(secs),
                outcome,
                latency: Duration::from_millis(5),
                detail: String::new(),
                lateness: Duration::ZERO,
            };
            actor.take(&sample, &mut changed);
            after(actor, secs);
        }
    }

    #[test]
    fn a_dependent_failing_first_is_still_excused_and_never_recommended() {
        let mut actor = actor();
        let (db, api) = (0, 1);
        use Outcome::*;
        let mut run = Vec::new();
        for i in 0..3 {
            run.push((i, api, Healthy));
            run.push((i, db, Healthy));
        }
        // The api sees the database gone a probe before the database's own probe does.
        for i in 3..15 {
            run.push((i, api, Error));
            if i > 3 {
                run.push((i, db, Unreachable));
            } else {
                run.push((i, db, Healthy));
            }
        }
        for i in 15..40 {
            run.push((i, api, Healthy));
            run.push((i, db, Healthy));
        }
        let mut verdicts = Vec::new();
        feed_watching(&mut actor, &run, |actor, secs| {
            if secs >= 6 {
                verdicts.push((secs, actor.snapshot(api, at(secs)).decision.verdict));
            }
        });
        assert!(!verdicts.iter().any(|(_, v)| v.is_action()), "{verdicts:?}");
    }

    #[test]
    fn a_dependents_failures_during_the_roots_outage_are_not_held_against_it() {
        let mut actor = actor();
        let (db, api) = (0, 1);
        use Outcome::*;
        let mut run = Vec::new();
        for i in 0..5 {
            run.push((i, db, Healthy));
            run.push((i, api, Healthy));
        }
        // The database goes down; the api answers with errors because of it.
        for i in 5..15 {
            run.push((i, db, Unreachable));
            run.push((i, api, Error));
        }
        feed(&mut actor, &run);
        let now = at(15);
        assert_eq!(actor.tracked[db].tracker.state, HealthState::Down);
        assert_eq!(actor.tracked[api].impacted_by, Some(db), "one cause, not two alarms");
        let api_now = actor.snapshot(api, now);
        assert_eq!(api_now.decision.verdict, Verdict::Watch, "the api defers to the database");
        assert_eq!(actor.snapshot(db, now).decision.verdict, Verdict::RestoreRecommended);

        // The database comes back, and so does the api: its errors were the database's outage,
        // so nothing is held against it (its watch lasts the hold time, then clears).
        let mut run = Vec::new();
        for i in 15..21 {
            run.push((i, db, Healthy));
            run.push((i, api, Healthy));
        }
        feed(&mut actor, &run);
        assert_eq!(actor.tracked[api].impacted_by, None);
        let api_now = actor.snapshot(api, at(21));
        assert_eq!((api_now.decision.verdict, api_now.decision.score), (Verdict::Watch, 0));
        let run: Vec<_> = (21..160).map(|i| (i, api, Healthy)).collect();
        feed(&mut actor, &run);
        let now = at(160);
        let api_now = actor.snapshot(api, now);
        assert_eq!(api_now.decision.verdict, Verdict::Healthy, "{:?}", api_now.decision);
        assert!(api_now.stats.availability < Some(1.0), "the window still shows what happened");
    }

    #[test]
    fn jitter_spreads_within_the_interval() {
        let interval = Duration::from_secs(10);
        let offsets: Vec<Duration> = (0..200).map(|i| jitter(&format!("sys-{i}"), interval)).collect();
        assert!(offsets.iter().all(|o| *o < interval));
        let distinct: std::collections::HashSet<_> = offsets.iter().map(|o| o.as_millis() / 500).collect();
        assert!(distinct.len() > 15, "spread over the interval, not bunched: {distinct:?}");
        assert_eq!(jitter("api", interval), jitter("api", interval));
    }
}
