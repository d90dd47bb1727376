//! An exercise as it runs: the events it is made of (stored in that order, replayed to get the
//! state back on any host), each inject's state, and the scheduler's rule for what is due.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::clock::ScenarioClock;
use super::evaluate::{Kind as ObservationKind, Rating};
use super::{Act, Condition, InjectKind, Scenario, Trigger, Watched, offset_text};

/// What happened in an exercise. Each is one stored row; the run is their replay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "event")]
pub enum EventKind {
    Started {
        speed: f64,
    },
    Paused,
    Resumed,
    Speed {
        speed: f64,
    },
    /// The facilitator moved the scenario on to `to` (seconds).
    Jumped {
        to: u64,
    },
    Released {
        inject: String,
    },
    Acknowledged {
        inject: String,
    },
    Resolved {
        inject: String,
        how: String,
    },
    Skipped {
        inject: String,
        reason: String,
    },
    /// A player's action, as the engine saw it (a job, an incident, a notice). `key` makes
    /// seeing it twice one event.
    Seen {
        act: Act,
        detail: String,
        key: String,
    },
    /// A system in scope went DOWN (a health transition, or a technical inject's fault).
    Down {
        system: String,
    },
    /// A system was back: its failover or restore succeeded, or it was healthy again.
    Recovered {
        system: String,
        how: String,
    },
    /// The decision panel's verdict for a system.
    Verdict {
        system: String,
        verdict: String,
    },
    /// A technical inject set a fault in the simulated estate (or could not).
    Fault {
        system: String,
        fault: String,
        applied: bool,
        detail: String,
        /// The inject that set it: recorded once, however many drivers set it.
        #[serde(default)]
        inject: Option<String>,
    },
    Observed {
        text: String,
        inject: Option<String>,
        objective: Option<String>,
        kind: ObservationKind,
    },
    /// The facilitator confirmed or changed an objective's rating.
    Rated {
        objective: String,
        rating: Rating,
        reason: String,
    },
    HotWash {
        went_well: Vec<String>,
        improve: Vec<String>,
    },
    Ended,
}

impl EventKind {
    /// The key that makes recording this event twice (two consoles driving one exercise) a
    /// no-op, when it is one that must happen once.
    pub fn once_key(&self) -> Option<String> {
        match self {
            EventKind::Started { .. } => Some("started".into()),
            EventKind::Released { inject } => Some(format!("released:{inject}")),
            EventKind::Resolved { inject, .. } => Some(format!("resolved:{inject}")),
            EventKind::Skipped { inject, .. } => Some(format!("skipped:{inject}")),
            EventKind::Seen { key, .. } => Some(format!("seen:{key}")),
            EventKind::Down { system } => Some(format!("down:{system}")),
            EventKind::Recovered { system, .. } => Some(format!("recovered:{system}")),
            EventKind::Verdict { system, verdict } => Some(format!("verdict:{system}:{verdict}")),
            EventKind::Ended => Some("ended".into()),
            EventKind::Fault { inject: Some(inject), .. } => Some(format!("fault:{inject}")),
            _ => None,
        }
    }

    /// One line for a timeline.
    pub fn describe(&self, scenario: &Scenario) -> String {
        let title = |id: &str| scenario.inject(id).map(|i| i.title.clone()).unwrap_or_default();
        match self {
            EventKind::Started { speed } if *speed == 1.0 => "exercise started".into(),
            EventKind::Started { speed } => format!("exercise started at {speed}x"),
            EventKind::Paused => "paused".into(),
            EventKind::Resumed => "resumed".into(),
            EventKind::Speed { speed } => format!("speed set to {speed}x"),
            EventKind::Jumped { to } => format!("jumped to {}", offset_text(Duration::from_secs(*to))),
            EventKind::Released { inject } => format!("{inject} released: {}", title(inject)),
            EventKind::Acknowledged { inject } => format!("{inject} acknowledged"),
            EventKind::Resolved { inject, how } => format!("{inject} resolved ({how})"),
            EventKind::Skipped { inject, reason } => format!("{inject} skipped ({reason})"),
            EventKind::Seen { act, detail, .. } => format!("action: {act} ({detail})"),
            EventKind::Down { system } => format!("{system} DOWN"),
            EventKind::Recovered { system, how } => format!("{system} recovered ({how})"),
            EventKind::Verdict { system, verdict } => format!("verdict for {system}: {verdict}"),
            EventKind::Fault { system, fault, applied: true, .. } => format!("fault set: {system} {fault}"),
            EventKind::Fault { system, fault, detail, .. } => {
                format!("fault not set: {system} {fault} ({detail})")
            }
            EventKind::Observed { text, kind, .. } => format!("observation ({}): {text}", kind.name()),
            EventKind::Rated { objective, rating, reason } => {
                format!("{objective} rated {} ({reason})", rating.letter())
            }
            EventKind::HotWash { .. } => "hot wash recorded".into(),
            EventKind::Ended => "exercise ended".into(),
        }
    }
}

/// A stored event: when on the wall clock, where on the scenario clock, and by whom.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExerciseEvent {
    pub at: DateTime<Utc>,
    /// Scenario time when it happened.
    #[serde(serialize_with = "crate::model::duration::serialize_secs")]
    pub offset: Duration,
    pub author: String,
    #[serde(flatten)]
    pub kind: EventKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InjectState {
    Pending,
    Released,
    Acknowledged,
    Resolved,
    Skipped,
}

impl InjectState {
    pub fn name(self) -> &'static str {
        match self {
            InjectState::Pending => "pending",
            InjectState::Released => "released",
            InjectState::Acknowledged => "acknowledged",
            InjectState::Resolved => "resolved",
            InjectState::Skipped => "skipped",
        }
    }

    /// Players see it: it was released (and maybe acknowledged or resolved since).
    pub fn visible_to_players(self) -> bool {
        matches!(self, InjectState::Released | InjectState::Acknowledged | InjectState::Resolved)
    }
}

/// One inject's state in a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InjectRun {
    pub state: InjectState,
    #[serde(serialize_with = "opt_secs")]
    pub released: Option<Duration>,
    pub released_at: Option<DateTime<Utc>>,
    pub acknowledged: Option<(String, DateTime<Utc>)>,
    pub resolved: Option<String>,
    pub skipped: Option<String>,
}

fn opt_secs<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_some(&d.as_secs()),
        None => s.serialize_none(),
    }
}

/// What the facts show now: each system's health and whether it runs failed over.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    pub health: BTreeMap<String, Watched>,
    pub failed_over: Vec<String>,
    /// Systems whose decision panel recommends acting, with its verdict.
    pub verdicts: BTreeMap<String, String>,
    /// Since when each healthy system has been healthy: a recovery counts only when it came
    /// after the system went down (a probe not yet run after a fault is not a recovery).
    pub healthy_since: BTreeMap<String, DateTime<Utc>>,
}

impl Facts {
    pub fn shows(&self, c: &Condition) -> bool {
        match c.state {
            Watched::FailedOver => self.failed_over.contains(&c.system),
            state => self.health.get(&c.system) == Some(&state),
        }
    }
}

/// What the scheduler says to do now, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Release(String),
    Skip { inject: String, reason: String },
    Resolve { inject: String, how: String },
}

/// A seen action: when, what, and how it was seen.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Seen {
    #[serde(serialize_with = "crate::model::duration::serialize_secs")]
    pub offset: Duration,
    pub act: Act,
    pub detail: String,
}

/// The exercise's state: its clock and every inject's state, from its events.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Run {
    pub clock: ScenarioClock,
    /// In the scenario's order.
    pub injects: Vec<InjectRun>,
    pub seen: Vec<Seen>,
    pub ended: bool,
}

impl Run {
    /// Replay `events` (oldest first; the first is `Started`).
    pub fn replay(scenario: &Scenario, events: &[ExerciseEvent]) -> Result<Run, String> {
        let Some(ExerciseEvent { at, kind: EventKind::Started { speed }, .. }) = events.first() else {
            return Err("the exercise's first recorded event is not its start: its record is damaged".into());
        };
        let blank = InjectRun {
            state: InjectState::Pending,
            released: None,
            released_at: None,
            acknowledged: None,
            resolved: None,
            skipped: None,
        };
        let mut run = Run {
            clock: ScenarioClock::start(*at, *speed),
            injects: vec![blank; scenario.injects.len()],
            seen: Vec::new(),
            ended: false,
        };
        for event in &events[1..] {
            run.apply(scenario, event);
        }
        Ok(run)
    }

    /// Take one more event into the state.
    pub fn apply(&mut self, scenario: &Scenario, event: &ExerciseEvent) {
        let at = event.at;
        let index = |id: &str| scenario.injects.iter().position(|i| i.id == id);
        match &event.kind {
            EventKind::Started { .. } => {}
            EventKind::Paused => self.clock.pause(at),
            EventKind::Resumed => self.clock.resume(at),
            EventKind::Speed { speed } => self.clock.set_speed(at, *speed),
            EventKind::Jumped { to } => self.clock.jump(at, Duration::from_secs(*to)),
            EventKind::Released { inject } => {
                if let Some(r) = index(inject).map(|i| &mut self.injects[i])
                    && r.state == InjectState::Pending
                {
                    r.state = InjectState::Released;
                    r.released = Some(event.offset);
                    r.released_at = Some(at);
                }
            }
            EventKind::Acknowledged { inject } => {
                if let Some(r) = index(inject).map(|i| &mut self.injects[i])
                    && r.acknowledged.is_none()
                    && r.state.visible_to_players()
                {
                    r.acknowledged = Some((event.author.clone(), at));
                    if r.state == InjectState::Released {
                        r.state = InjectState::Acknowledged;
                    }
                }
            }
            EventKind::Resolved { inject, how } => {
                if let Some(r) = index(inject).map(|i| &mut self.injects[i])
                    && r.state != InjectState::Skipped
                {
                    if r.released.is_none() {
                        r.released = Some(event.offset);
                        r.released_at = Some(at);
                    }
                    r.state = InjectState::Resolved;
                    r.resolved = Some(how.clone());
                }
            }
            EventKind::Skipped { inject, reason } => {
                if let Some(r) = index(inject).map(|i| &mut self.injects[i])
                    && r.state == InjectState::Pending
                {
                    r.state = InjectState::Skipped;
                    r.skipped = Some(reason.clone());
                }
            }
            EventKind::Seen { act, detail, .. } => {
                self.seen.push(Seen { offset: event.offset, act: act.clone(), detail: detail.clone() })
            }
            EventKind::Ended => {
                self.ended = true;
                self.clock.pause(at);
            }
            _ => {}
        }
    }

    /// Scenario time at `now`.
    pub fn offset(&self, now: DateTime<Utc>) -> Duration {
        self.clock.at(now)
    }

    /// The scenario offset at which a pending inject falls due, when its trigger is a time
    /// that is known now.
    pub fn due_offset(&self, scenario: &Scenario, i: usize) -> Option<Duration> {
        match &scenario.injects[i].trigger {
            Trigger::At { offset } => Some(*offset),
            Trigger::After { inject, delay } => {
                let j = scenario.injects.iter().position(|x| &x.id == inject)?;
                self.injects[j].released.map(|r| r + *delay)
            }
            Trigger::When { .. } | Trigger::Manual => None,
        }
    }

    /// The first seen action that counts as inject `i`'s expected action.
    pub fn expected_seen(&self, scenario: &Scenario, i: usize) -> Option<&Seen> {
        let inject = &scenario.injects[i];
        let act = inject.expected.as_ref()?.act.as_ref()?;
        if *act == Act::Acknowledge {
            return None;
        }
        self.seen.iter().find(|s| act.matches(&s.act))
    }

    /// What is due at `now` with the facts as they are, in the MSEL's order.
    pub fn decide(&self, scenario: &Scenario, now: DateTime<Utc>, facts: &Facts) -> Vec<Decision> {
        if self.ended {
            return Vec::new();
        }
        let here = self.offset(now);
        let mut out = Vec::new();
        for (i, inject) in scenario.injects.iter().enumerate() {
            let run = &self.injects[i];
            match run.state {
                InjectState::Pending => {}
                InjectState::Released | InjectState::Acknowledged => {
                    if let Some(seen) = self.expected_seen(scenario, i) {
                        out.push(Decision::Resolve {
                            inject: inject.id.clone(),
                            how: format!("{} seen at {}", seen.act, offset_text(seen.offset)),
                        });
                    }
                    continue;
                }
                InjectState::Resolved | InjectState::Skipped => continue,
            }
            // A follow-up of a skipped inject is skipped too.
            if let Trigger::After { inject: before, .. } = &inject.trigger
                && scenario
                    .injects
                    .iter()
                    .position(|x| &x.id == before)
                    .is_some_and(|j| self.injects[j].state == InjectState::Skipped)
            {
                out.push(Decision::Skip {
                    inject: inject.id.clone(),
                    reason: format!("{before} was skipped"),
                });
                continue;
            }
            let due = match &inject.trigger {
                Trigger::When { condition } => facts.shows(condition),
                Trigger::Manual => false,
                _ => self.due_offset(scenario, i).is_some_and(|d| here >= d),
            };
            if !due {
                continue;
            }
            if inject.kind == InjectKind::Contingency
                && let Some(backed) = inject.contingency_for.as_deref()
                && let Some(j) = scenario.injects.iter().position(|x| x.id == backed)
            {
                let done = self.injects[j].state == InjectState::Resolved
                    || self.expected_seen(scenario, j).is_some()
                    || (self.injects[j].acknowledged.is_some()
                        && scenario.injects[j].expected.as_ref().and_then(|e| e.act.as_ref())
                            == Some(&Act::Acknowledge));
                if done {
                    let how = match self.expected_seen(scenario, j) {
                        Some(seen) => format!("{} seen at {}", seen.act, offset_text(seen.offset)),
                        None => format!("{backed} was resolved"),
                    };
                    out.push(Decision::Skip {
                        inject: inject.id.clone(),
                        reason: format!("not needed: {how}"),
                    });
                    continue;
                }
            }
            out.push(Decision::Release(inject.id.clone()));
        }
        out
    }

    /// How long on the wall clock until the next inject with a known time falls due; `None`
    /// while paused or when nothing is timed.
    pub fn next_wake(&self, scenario: &Scenario, now: DateTime<Utc>) -> Option<Duration> {
        (0..scenario.injects.len())
            .filter(|&i| self.injects[i].state == InjectState::Pending)
            .filter_map(|i| self.due_offset(scenario, i))
            .map(|d| self.clock.wall_until(now, d).unwrap_or(Duration::ZERO))
            .min()
            .filter(|_| !self.clock.paused())
    }

    /// Each pending timed inject with the scenario time left until it falls due, soonest first.
    pub fn countdowns(&self, scenario: &Scenario, now: DateTime<Utc>) -> Vec<(usize, Duration)> {
        let here = self.offset(now);
        let mut out: Vec<(usize, Duration)> = (0..scenario.injects.len())
            .filter(|&i| self.injects[i].state == InjectState::Pending)
            .filter_map(|i| self.due_offset(scenario, i).map(|d| (i, d.saturating_sub(here))))
            .collect();
        out.sort_by_key(|&(i, left)| (left, i));
        out
    }

    /// For a released inject with an expected action: scenario time left until its target
    /// (negative as `Err` when past it).
    pub fn target_left(
        &self,
        scenario: &Scenario,
        i: usize,
        now: DateTime<Utc>,
    ) -> Option<Result<Duration, Duration>> {
        let run = &self.injects[i];
        if !matches!(run.state, InjectState::Released | InjectState::Acknowledged) {
            return None;
        }
        let target = run.released? + scenario.injects[i].expected.as_ref()?.within;
        let here = self.offset(now);
        Some(target.checked_sub(here).ok_or_else(|| here - target))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::exercise::{ExerciseNotices, ExerciseType, Expected, Hazard, Inject};
    use chrono::TimeZone;

    pub fn t(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + secs, 0).single().unwrap()
    }

    pub fn inject(id: &str, trigger: Trigger) -> Inject {
        Inject {
            id: id.into(),
            seq: 0,
            module: None,
            trigger,
            kind: InjectKind::Information,
            from: "Facilitator".into(),
            to: "everyone".into(),
            title: format!("{id} title"),
            body: String::new(),
            expected: None,
            objectives: Vec::new(),
            fault: None,
            contingency_for: None,
        }
    }

    pub fn scenario(injects: Vec<Inject>) -> Scenario {
        Scenario {
            name: "test".into(),
            kind: ExerciseType::Tabletop,
            hazard: Hazard::Infrastructure,
            description: String::new(),
            objectives: Vec::new(),
            scope: vec!["database".into()],
            modules: Vec::new(),
            injects,
            notices: ExerciseNotices::default(),
            leave_failed_over: Vec::new(),
        }
    }

    /// Drive a run the way the engine does: decide, record, apply.
    pub struct Driver {
        pub scenario: Scenario,
        pub events: Vec<ExerciseEvent>,
        pub run: Run,
    }

    impl Driver {
        pub fn start(scenario: Scenario, at: DateTime<Utc>, speed: f64) -> Driver {
            let events = vec![ExerciseEvent {
                at,
                offset: Duration::ZERO,
                author: "fac".into(),
                kind: EventKind::Started { speed },
            }];
            let run = Run::replay(&scenario, &events).unwrap();
            Driver { scenario, events, run }
        }

        pub fn record(&mut self, at: DateTime<Utc>, kind: EventKind) {
            let event = ExerciseEvent { at, offset: self.run.offset(at), author: "fac".into(), kind };
            self.run.apply(&self.scenario, &event);
            self.events.push(event);
        }

        pub fn tick(&mut self, at: DateTime<Utc>, facts: &Facts) -> Vec<Decision> {
            let decisions = self.run.decide(&self.scenario, at, facts);
            for d in &decisions {
                let kind = match d.clone() {
                    Decision::Release(inject) => EventKind::Released { inject },
                    Decision::Skip { inject, reason } => EventKind::Skipped { inject, reason },
                    Decision::Resolve { inject, how } => EventKind::Resolved { inject, how },
                };
                self.record(at, kind);
            }
            decisions
        }

        pub fn state(&self, id: &str) -> InjectState {
            let i = self.scenario.injects.iter().position(|x| x.id == id).unwrap();
            self.run.injects[i].state
        }
    }

    fn expecting(mut i: Inject, act: &str, within: u64) -> Inject {
        i.expected = Some(Expected {
            text: act.into(),
            act: Some(Act::parse(act).unwrap()),
            within: Duration::from_secs(within),
        });
        i
    }

    #[test]
    fn injects_fire_at_their_offsets_and_after_each_other() {
        let s = scenario(vec![
            inject("I-1", Trigger::At { offset: Duration::ZERO }),
            inject("I-2", Trigger::At { offset: Duration::from_secs(300) }),
            inject("I-3", Trigger::After { inject: "I-2".into(), delay: Duration::from_secs(120) }),
            inject("I-4", Trigger::Manual),
        ]);
        let mut d = Driver::start(s, t(0), 1.0);
        let none = Facts::default();
        assert_eq!(d.tick(t(0), &none), vec![Decision::Release("I-1".into())]);
        assert_eq!(d.tick(t(299), &none), vec![]);
        assert_eq!(d.run.next_wake(&d.scenario, t(299)), Some(Duration::from_secs(1)));
        assert_eq!(d.tick(t(300), &none), vec![Decision::Release("I-2".into())]);
        assert_eq!(d.run.countdowns(&d.scenario, t(360))[0], (2, Duration::from_secs(60)));
        assert_eq!(d.tick(t(420), &none), vec![Decision::Release("I-3".into())]);
        assert_eq!(d.tick(t(9999), &none), vec![], "a manual inject waits for the facilitator");
        assert_eq!(d.state("I-4"), InjectState::Pending);
    }

    #[test]
    fn pause_stops_every_countdown() {
        let s = scenario(vec![
            inject("I-1", Trigger::At { offset: Duration::from_secs(600) }),
            expecting(inject("I-2", Trigger::At { offset: Duration::ZERO }), "declare", 300),
        ]);
        let mut d = Driver::start(s, t(0), 1.0);
        d.tick(t(0), &Facts::default());
        d.record(t(100), EventKind::Paused);
        assert_eq!(d.run.countdowns(&d.scenario, t(5000)), vec![(0, Duration::from_secs(500))]);
        assert_eq!(d.run.target_left(&d.scenario, 1, t(5000)), Some(Ok(Duration::from_secs(200))));
        assert_eq!(d.run.next_wake(&d.scenario, t(5000)), None);
        assert!(d.tick(t(5000), &Facts::default()).is_empty());
        d.record(t(5000), EventKind::Resumed);
        assert!(d.tick(t(5499), &Facts::default()).is_empty());
        assert_eq!(d.tick(t(5500), &Facts::default()), vec![Decision::Release("I-1".into())]);
    }

    #[test]
    fn a_condition_fires_when_the_facts_show_it() {
        let s = scenario(vec![inject(
            "I-1",
            Trigger::When { condition: Condition::parse("database is DOWN").unwrap() },
        )]);
        let mut d = Driver::start(s, t(0), 1.0);
        assert!(d.tick(t(10), &Facts::default()).is_empty());
        let down = Facts { health: [("database".to_owned(), Watched::Down)].into(), ..Facts::default() };
        assert_eq!(d.tick(t(20), &down), vec![Decision::Release("I-1".into())]);
    }

    #[test]
    fn a_contingency_fires_only_when_the_expected_action_is_missing() {
        let mut backup = inject("C-1", Trigger::At { offset: Duration::from_secs(900) });
        backup.kind = InjectKind::Contingency;
        backup.contingency_for = Some("I-1".into());
        let s = scenario(vec![
            expecting(inject("I-1", Trigger::At { offset: Duration::ZERO }), "failover database", 600),
            backup,
        ]);
        // Missing: it fires.
        let mut d = Driver::start(s.clone(), t(0), 1.0);
        d.tick(t(0), &Facts::default());
        assert_eq!(d.tick(t(900), &Facts::default()), vec![Decision::Release("C-1".into())]);
        // Done in time: it is skipped, and the inject resolved.
        let mut d = Driver::start(s, t(0), 1.0);
        d.tick(t(0), &Facts::default());
        d.record(
            t(500),
            EventKind::Seen {
                act: Act::Failover("database".into()),
                detail: "job J-1".into(),
                key: "J-1".into(),
            },
        );
        let decisions = d.tick(t(900), &Facts::default());
        assert_eq!(decisions.len(), 2, "{decisions:?}");
        assert_eq!(d.state("I-1"), InjectState::Resolved);
        assert_eq!(d.state("C-1"), InjectState::Skipped);
        assert!(d.run.injects[1].skipped.as_deref().unwrap().contains("failover database seen at +0:08:20"));
    }

    #[test]
    fn replay_gives_the_same_state_back() {
        let s = scenario(vec![
            inject("I-1", Trigger::At { offset: Duration::ZERO }),
            inject("I-2", Trigger::At { offset: Duration::from_secs(60) }),
        ]);
        let mut d = Driver::start(s, t(0), 2.0);
        d.tick(t(0), &Facts::default());
        d.record(t(10), EventKind::Acknowledged { inject: "I-1".into() });
        d.record(t(20), EventKind::Speed { speed: 1.0 });
        d.tick(t(40), &Facts::default());
        let again = Run::replay(&d.scenario, &d.events).unwrap();
        assert_eq!(again, d.run);
        assert_eq!(d.state("I-1"), InjectState::Acknowledged);
        assert_eq!(d.run.injects[1].released, Some(Duration::from_secs(60)));
        assert!(Run::replay(&d.scenario, &d.events[1..]).is_err());
    }
}
