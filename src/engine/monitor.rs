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
use crate::model::decision::defer_to_root;
use crate::model::{
    Decision, HealthState, HealthTracker, HealthWindow, Outcome, Sample, Thresholds, Verdict, VerdictHold,
    WindowStats, decide, impacted_by,
};

use super::probe::Prober;

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
    decision: Decision,
    thresholds: Thresholds,
    has_failover: bool,
    impacted_by: Option<usize>,
    last_detail: Option<String>,
    last_at: Option<DateTime<Utc>>,
    /// The verdict last shown (and announced).
    shown: Verdict,
}

impl Tracked {
    /// The decision as shown: a system impacted by a down dependency defers to it.
    fn displayed(&self) -> Decision {
        if self.impacted_by.is_some() { defer_to_root(self.decision.clone()) } else { self.decision.clone() }
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
        let now = clock.now();

        let tracked: Vec<Tracked> = config
            .estate
            .systems()
            .iter()
            .zip(&config.systems)
            .map(|(system, settings)| Tracked {
                name: system.name.clone(),
                window: HealthWindow::new(config.health.window, WINDOW_CAPACITY),
                tracker: HealthTracker::new(config.health.consecutive),
                hold: VerdictHold::new(now),
                decision: decide(&WindowStats::default(), &settings.thresholds, settings.failover.is_some()),
                thresholds: settings.thresholds,
                has_failover: settings.failover.is_some(),
                impacted_by: None,
                last_detail: None,
                last_at: None,
                shown: Verdict::NoData,
            })
            .collect();

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

        let actor = Actor {
            tracked,
            graph: config.estate.graph().clone(),
            events: events.clone(),
            samples: samples.clone(),
            clock,
        };
        tasks.spawn(actor.run(sample_rx, query_rx));
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
    async fn run(
        mut self,
        mut sample_rx: mpsc::UnboundedReceiver<HealthSample>,
        mut query_rx: mpsc::Receiver<oneshot::Sender<Vec<SystemHealth>>>,
    ) {
        let mut flush = tokio::time::interval(FLUSH_EVERY);
        flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut changed = vec![false; self.tracked.len()];
        let mut any_state_changed = false;
        loop {
            tokio::select! {
                sample = sample_rx.recv() => {
                    let Some(sample) = sample else { return };
                    any_state_changed |= self.apply(&sample);
                    if let Some(c) = changed.get_mut(sample.system) {
                        *c = true;
                    }
                    let _ = self.samples.send(sample);
                }
                Some(reply) = query_rx.recv() => {
                    let now = self.clock.now();
                    let _ = reply.send((0..self.tracked.len()).map(|i| self.snapshot(i, now)).collect());
                }
                _ = flush.tick() => {
                    if any_state_changed {
                        let states: Vec<HealthState> = self.tracked.iter().map(|t| t.tracker.state).collect();
                        let now = self.clock.now();
                        for (i, cause) in impacted_by(&self.graph, &states).into_iter().enumerate() {
                            if self.tracked[i].impacted_by != cause {
                                self.tracked[i].impacted_by = cause;
                                changed[i] = true;
                                self.announce_verdict(i, now);
                            }
                        }
                        any_state_changed = false;
                    }
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
        let Some(t) = self.tracked.get_mut(sample.system) else { return false };
        let s = Sample { at: sample.at, outcome: sample.outcome, latency: sample.latency };
        t.window.push(s);
        t.last_detail = Some(sample.detail.clone());
        t.last_at = Some(sample.at);
        let transition = t.tracker.observe(&s, t.thresholds.response_time_above);
        let stats = t.window.stats(sample.at);
        let fresh = decide(&stats, &t.thresholds, t.has_failover);
        let held = t.hold.apply(fresh.verdict, t.thresholds.hold, sample.at);
        t.decision = Decision { verdict: held, ..fresh };
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

    /// Tell listeners when the verdict shown for `i` changed.
    fn announce_verdict(&mut self, i: usize, at: DateTime<Utc>) {
        let Some(t) = self.tracked.get_mut(i) else { return };
        let decision = t.displayed();
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

    fn snapshot(&self, i: usize, now: DateTime<Utc>) -> SystemHealth {
        let t = &self.tracked[i];
        SystemHealth {
            system: i,
            name: t.name.clone(),
            state: t.tracker.state,
            since: t.tracker.since,
            outage_start: t.tracker.outage_start,
            stats: t.window.stats(now),
            history: t.window.history(now, HISTORY_BUCKETS),
            decision: t.displayed(),
            impacted_by: t.impacted_by,
            last_detail: t.last_detail.clone(),
            last_at: t.last_at,
            thresholds: t.thresholds,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
