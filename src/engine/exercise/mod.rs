//! Exercises (docs/exercises.md): start one from a checked scenario, drive its MSEL on the
//! scenario clock, take the facilitator's controls and the players' acknowledgements, watch
//! what the players do (jobs, incidents, notices), end it with a hot wash and a cleanup check,
//! and write the after-action report.
//!
//! The run is its stored events; every process replays them, so any console on the state sees
//! the same exercise and any of them can drive it (a release is recorded once, by its key).
//! Side effects follow the exercise's type: in a tabletop the job pool records every approved
//! job and carries none out; in the other types only the systems in scope may be touched.

pub mod report;

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::{Engine, EngineError};
use crate::engine::jobs::{JobSnapshot, JobSpec, JobState};
use crate::model::exercise::evaluate::Kind;
use crate::model::exercise::{
    Act, Decision, EventKind, ExerciseEvent, ExerciseRecord, Facts, InjectKind, Rating, Run, Scenario,
    Watched, offset_text,
};
use crate::model::job::JobKind;
use crate::store::exercises::NewEvent;
use crate::store::{NewAuditRecord, Outcome};

/// Sets and clears faults in the simulated estate (the engine never names the simulator: the
/// console and the commands hand it one).
pub trait Injector: Send + Sync {
    /// Set `fault` (`"down"`, `"slow 6000"`) on `system`; what it did, in words.
    fn set<'a>(&'a self, system: &'a str, fault: &'a str) -> Pending<'a, String>;
    /// Clear every fault on `system`.
    fn clear<'a>(&'a self, system: &'a str) -> Pending<'a, ()>;
}

/// What an [`Injector`] returns: a boxed future, so the trait can be a `dyn`.
pub type Pending<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, String>> + Send + 'a>>;

/// An exercise and its state, as replayed from the store.
#[derive(Debug, Clone, PartialEq)]
pub struct ExerciseView {
    pub record: ExerciseRecord,
    pub events: Vec<ExerciseEvent>,
    pub run: Run,
}

impl ExerciseView {
    pub fn scenario(&self) -> &Scenario {
        &self.record.checked
    }

    pub fn is_open(&self) -> bool {
        self.record.ended_at.is_none()
    }
}

/// What the facilitator (or a player) does to a running exercise.
#[derive(Debug, Clone, PartialEq)]
pub enum Control {
    Pause,
    Resume,
    Speed(f64),
    /// Move the clock on to an inject's time (an inject without one is released now).
    Jump(String),
    Release(String),
    Skip(String, String),
    Resolve(String, String),
    Acknowledge(String),
    Observe {
        text: String,
        inject: Option<String>,
        objective: Option<String>,
        kind: Kind,
    },
    Rate {
        objective: String,
        rating: Rating,
        reason: String,
    },
}

impl Control {
    /// What was done, in words: `paused`, `I-3 released`, `observation recorded`.
    pub fn done(&self) -> String {
        match self {
            Control::Pause => "paused".into(),
            Control::Resume => "resumed".into(),
            Control::Speed(s) => format!("speed set to {s}x"),
            Control::Jump(id) => format!("moved on to {id}"),
            Control::Release(id) => format!("{id} released"),
            Control::Skip(id, _) => format!("{id} skipped"),
            Control::Resolve(id, _) => format!("{id} resolved"),
            Control::Acknowledge(id) => format!("{id} acknowledged"),
            Control::Observe { kind, .. } => format!("observation recorded ({})", kind.name()),
            Control::Rate { objective, rating, .. } => format!("{objective} rated {}", rating.letter()),
        }
    }
}

/// What one pass of the driver did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Driven {
    /// Lines for a log or a terminal: `+0:05 I-2 released: The DBA reports...`.
    pub lines: Vec<String>,
    /// How long until something is due on the clock (`None`: paused or nothing timed).
    pub next_wake: Option<Duration>,
    pub ended: bool,
}

/// What a tabletop's approved job does instead of running.
pub const NOT_CARRIED_OUT: &str = "EXERCISE (tabletop): recorded, not carried out";

fn new_id(at: DateTime<Utc>, n: i64) -> String {
    format!("EX-{}-{}", at.format("%Y%m%d"), n + 1)
}

impl Engine {
    /// Read and check the scenario at `path` against the configuration in force.
    pub fn check_scenario(
        &self,
        path: &Path,
        fault_ok: &dyn Fn(&str) -> Result<(), String>,
    ) -> Result<(String, crate::config::scenario::Checked), String> {
        let text = crate::config::scenario::read_text(path)?;
        let checked = crate::config::scenario::load(path, &text, &self.config, fault_ok)
            .map_err(|report| report.render(false))?;
        Ok((text, checked))
    }

    /// Open an exercise of `scenario` (read from `path`, whose text is `text`) on its own clock.
    pub async fn start_exercise(
        &self,
        path: &Path,
        text: &str,
        scenario: Scenario,
        speed: f64,
        operator: &str,
    ) -> Result<ExerciseView, String> {
        if self.config.console.read_only {
            return Err("console.read_only is set: an exercise cannot be started from here".into());
        }
        self.permit_write(operator, "starting an exercise", "exercise.started", "-")
            .await
            .map_err(|e| e.to_string())?;
        let now = self.now();
        let n = self
            .store
            .exercises_with_prefix(&format!("EX-{}-", now.format("%Y%m%d")))
            .await
            .map_err(|e| e.to_string())?;
        let id = new_id(now, n);
        let record = ExerciseRecord {
            id: id.clone(),
            name: scenario.name.clone(),
            kind: scenario.kind,
            scenario: text.to_owned(),
            checked: scenario.clone(),
            scenario_sha256: format!("{:x}", Sha256::digest(text.as_bytes())),
            path: path.display().to_string(),
            started_at: now,
            started_by: operator.to_owned(),
            ended_at: None,
        };
        let start = NewEvent {
            event: ExerciseEvent {
                at: now,
                offset: Duration::ZERO,
                author: operator.to_owned(),
                kind: EventKind::Started { speed },
            },
            audit: Some(NewAuditRecord::new(operator, "exercise.started", &id, Outcome::Recorded).details(
                serde_json::json!({
                    "exercise": id,
                    "name": scenario.name,
                    "type": scenario.kind.name(),
                    "scope": scenario.scope,
                    "scenario_sha256": record.scenario_sha256,
                    "speed": speed,
                }),
            )),
        };
        if !self.store.open_exercise(&record, start).await.map_err(|e| e.to_string())? {
            let open = self.store.open_exercise_record().await.ok().flatten();
            let which = open.map(|o| format!("{} ({})", o.id, o.name)).unwrap_or_else(|| "another".into());
            return Err(format!(
                "exercise {which} is still open: end it first (`warroom exercise end`); one runs at a time"
            ));
        }
        self.exercise(Some(&id)).await
    }

    /// The open exercise, if any.
    pub async fn open_exercise(&self) -> Result<Option<ExerciseView>, EngineError> {
        let Some(record) = self.store.open_exercise_record().await? else { return Ok(None) };
        self.view(record).await.map(Some)
    }

    async fn view(&self, record: ExerciseRecord) -> Result<ExerciseView, EngineError> {
        let events = self.store.exercise_events(&record.id).await?;
        let run = Run::replay(&record.checked, &events)
            .map_err(|reason| EngineError::Damaged { what: format!("exercise {}", record.id), reason })?;
        Ok(ExerciseView { record, events, run })
    }

    /// Exercise `id`, or the open one, or the newest.
    pub async fn exercise(&self, id: Option<&str>) -> Result<ExerciseView, String> {
        let record = match id {
            Some(id) => self.store.exercise(id).await.map_err(|e| e.to_string())?.ok_or_else(|| {
                format!("there is no exercise \"{id}\" (`warroom exercise list` shows them)")
            })?,
            None => match self.store.open_exercise_record().await.map_err(|e| e.to_string())? {
                Some(r) => r,
                None => self.store.exercises().await.map_err(|e| e.to_string())?.into_iter().next().ok_or(
                    "no exercise has been run on this state: start one with `warroom exercise start FILE`",
                )?,
            },
        };
        self.view(record).await.map_err(|e| e.to_string())
    }

    pub async fn exercises(&self) -> Result<Vec<ExerciseRecord>, EngineError> {
        Ok(self.store.exercises().await?)
    }

    /// The open exercise or an error that says so.
    async fn running(&self) -> Result<ExerciseView, String> {
        self.open_exercise()
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "no exercise is running: start one with `warroom exercise start FILE`".to_owned())
    }

    fn event(&self, view: &ExerciseView, at: DateTime<Utc>, author: &str, kind: EventKind) -> ExerciseEvent {
        ExerciseEvent { at, offset: view.run.offset(at), author: author.to_owned(), kind }
    }

    /// An event with its audit record (the facilitator's and players' events are audited).
    fn audited(&self, view: &ExerciseView, at: DateTime<Utc>, author: &str, kind: EventKind) -> NewEvent {
        let action = match &kind {
            EventKind::Paused => "exercise.paused",
            EventKind::Resumed => "exercise.resumed",
            EventKind::Speed { .. } => "exercise.speed",
            EventKind::Jumped { .. } => "exercise.jumped",
            EventKind::Released { .. } => "exercise.inject.released",
            EventKind::Acknowledged { .. } => "exercise.inject.acknowledged",
            EventKind::Resolved { .. } => "exercise.inject.resolved",
            EventKind::Skipped { .. } => "exercise.inject.skipped",
            EventKind::Fault { .. } => "exercise.fault",
            EventKind::Observed { .. } => "exercise.observed",
            EventKind::Rated { .. } => "exercise.rated",
            EventKind::HotWash { .. } => "exercise.hot_wash",
            EventKind::Ended => "exercise.ended",
            _ => "",
        };
        let event = self.event(view, at, author, kind);
        let audit = (!action.is_empty()).then(|| {
            let mut details = serde_json::to_value(&event.kind).unwrap_or_default();
            if let serde_json::Value::Object(map) = &mut details {
                map.insert("offset".into(), offset_text(event.offset).into());
            }
            NewAuditRecord::new(author, action, &view.record.id, Outcome::Recorded).details(details)
        });
        NewEvent { event, audit }
    }

    /// Carry out a facilitator's (or a player's) control on the open exercise.
    pub async fn control_exercise(&self, control: Control, operator: &str) -> Result<ExerciseView, String> {
        let view = self.running().await?;
        self.permit_write(operator, "steering an exercise", "exercise.control", &view.record.id)
            .await
            .map_err(|e| e.to_string())?;
        let s = view.scenario();
        let now = self.now();
        let inject = |id: &str| {
            s.injects.iter().position(|i| i.id == id).ok_or_else(|| {
                let names = s.injects.iter().map(|i| i.id.as_str());
                let hint = crate::config::diagnostic::did_you_mean(id, names)
                    .map(|n| format!("; did you mean \"{n}\"?"))
                    .unwrap_or_default();
                format!("there is no inject \"{id}\" in {}{hint}", s.name)
            })
        };
        let kind = match control {
            Control::Pause if view.run.clock.paused() => return Err("the exercise is paused already".into()),
            Control::Pause => EventKind::Paused,
            Control::Resume if !view.run.clock.paused() => {
                return Err("the exercise is running already".into());
            }
            Control::Resume => EventKind::Resumed,
            Control::Speed(speed) if !(speed.is_finite() && speed > 0.0 && speed <= 10_000.0) => {
                return Err(format!("a speed is a number above 0 and at most 10000 (got {speed})"));
            }
            Control::Speed(speed) => EventKind::Speed { speed },
            Control::Jump(id) => {
                let i = inject(&id)?;
                if view.run.injects[i].state != crate::model::exercise::InjectState::Pending {
                    return Err(format!("{id} is {} already", view.run.injects[i].state.name()));
                }
                // Only forward in time, to an inject that has one: a follow-up whose inject has
                // not come, a condition or a manual inject has no time to jump to.
                match view.run.due_offset(s, i) {
                    Some(at) => EventKind::Jumped { to: at.as_secs() },
                    None => {
                        return Err(format!(
                            "{id} has no time on the clock yet ({}): jump to a timed inject, or release it now with `exercise release {id}`",
                            s.injects[i].trigger
                        ));
                    }
                }
            }
            Control::Release(id) => {
                let i = inject(&id)?;
                if view.run.injects[i].state != crate::model::exercise::InjectState::Pending {
                    return Err(format!("{id} is {} already", view.run.injects[i].state.name()));
                }
                EventKind::Released { inject: id }
            }
            Control::Skip(id, reason) => {
                let i = inject(&id)?;
                if view.run.injects[i].state != crate::model::exercise::InjectState::Pending {
                    return Err(format!(
                        "{id} is {}: only a pending inject can be skipped",
                        view.run.injects[i].state.name()
                    ));
                }
                EventKind::Skipped {
                    inject: id,
                    reason: if reason.is_empty() { "skipped by the facilitator".into() } else { reason },
                }
            }
            Control::Resolve(id, how) => {
                inject(&id)?;
                EventKind::Resolved {
                    inject: id,
                    how: if how.is_empty() { format!("resolved by {operator}") } else { how },
                }
            }
            Control::Acknowledge(id) => {
                let i = inject(&id)?;
                if !view.run.injects[i].state.visible_to_players() {
                    return Err(format!("{id} has not been released"));
                }
                EventKind::Acknowledged { inject: id }
            }
            Control::Observe { text, inject: i, objective, kind } => {
                if text.trim().is_empty() {
                    return Err("an observation needs its text".into());
                }
                if let Some(id) = &i {
                    inject(id)?;
                }
                if let Some(o) = &objective
                    && s.objective(o).is_none()
                {
                    let ids: Vec<&str> = s.objectives.iter().map(|o| o.id.as_str()).collect();
                    return Err(format!(
                        "there is no objective \"{o}\" (the objectives: {})",
                        ids.join(", ")
                    ));
                }
                EventKind::Observed { text, inject: i, objective, kind }
            }
            Control::Rate { objective, rating, reason } => {
                if s.objective(&objective).is_none() {
                    let ids: Vec<&str> = s.objectives.iter().map(|o| o.id.as_str()).collect();
                    return Err(format!(
                        "there is no objective \"{objective}\" (the objectives: {})",
                        ids.join(", ")
                    ));
                }
                if reason.trim().is_empty() {
                    return Err("a rating needs its reason (--reason TEXT): the report quotes it".into());
                }
                EventKind::Rated { objective, rating, reason }
            }
        };
        let event = self.audited(&view, now, operator, kind);
        self.store.record_exercise_events(&view.record.id, &[event]).await.map_err(|e| e.to_string())?;
        self.exercise(Some(&view.record.id)).await
    }

    /// The open exercise's type, scope and notices, for the gate and the composer.
    pub(crate) async fn exercise_in_force(&self) -> Result<Option<ExerciseRecord>, EngineError> {
        Ok(self.store.open_exercise_record().await?)
    }

    /// The exercise an incident belongs to: the one open when it was declared. An incident
    /// declared outside every exercise is real, even while one runs; one declared in an
    /// exercise stays the exercise's after it ends (its last notices too).
    pub(crate) async fn exercise_of_incident(
        &self,
        incident: &crate::model::failover::IncidentRecord,
    ) -> Result<Option<ExerciseRecord>, EngineError> {
        let at = incident.declared_at;
        Ok(self
            .store
            .exercises()
            .await?
            .into_iter()
            .find(|x| x.started_at <= at && x.ended_at.is_none_or(|end| at <= end)))
    }

    /// Refuse a job on a system outside an exercise's scope (audited). A tabletop with no
    /// scope has every system in play.
    pub(crate) async fn check_scope(
        &self,
        spec: &JobSpec,
        operator: &str,
    ) -> Result<(), crate::engine::jobs::Refusal> {
        use crate::engine::jobs::Refusal;
        let open = self.exercise_in_force().await.map_err(|e| Refusal::Store(e.to_string()))?;
        let Some(x) = open else { return Ok(()) };
        if !x.kind.carries_out() && x.checked.scope.is_empty() {
            return Ok(());
        }
        if spec.is_routine() {
            return Ok(());
        }
        let systems: Vec<&str> = match spec {
            JobSpec::Notify { .. } => return Ok(()),
            JobSpec::Recover { systems, .. } => systems.iter().map(String::as_str).collect(),
            other => vec![other.system()],
        };
        if let Some(out) = systems.into_iter().find(|s| !x.checked.in_scope(s)) {
            let refusal = Refusal::OutOfScope { system: out.to_owned(), exercise: x.id.clone() };
            let _ = self
                .audit(
                    NewAuditRecord::new(
                        operator,
                        &format!("{}.proposed", spec.kind()),
                        out,
                        Outcome::Refused,
                    )
                    .details(serde_json::json!({ "reason": refusal.to_string() })),
                )
                .await;
            return Err(refusal);
        }
        Ok(())
    }

    /// One pass of the driver: see what the players did, release what is due, set the faults of
    /// technical injects. `facts` is the estate as the caller's health monitor sees it.
    pub async fn drive_exercise(
        &self,
        facts: &Facts,
        injector: Option<&dyn Injector>,
    ) -> Result<Option<Driven>, EngineError> {
        let Some(mut view) = self.open_exercise().await? else { return Ok(None) };
        let now = self.now();
        let mut driven = Driven::default();
        // What the players did, and what the estate did, as events (each once).
        let seen = self.observe_players(&view, facts, now).await?;
        if !seen.is_empty() {
            self.store.record_exercise_events(&view.record.id, &seen).await?;
            view = self.view(view.record).await?;
        }
        // Decisions can lead to more (a release lets a follow-up fall due): a few rounds.
        for _ in 0..8 {
            let decisions = view.run.decide(view.scenario(), now, facts);
            if decisions.is_empty() {
                break;
            }
            let mut events = Vec::new();
            for d in decisions {
                let (kind, line) = match d {
                    Decision::Release(id) => {
                        let title = view.scenario().inject(&id).map(|i| i.title.clone()).unwrap_or_default();
                        (EventKind::Released { inject: id.clone() }, format!("{id} released: {title}"))
                    }
                    Decision::Skip { inject, reason } => {
                        let line = format!("{inject} skipped: {reason}");
                        (EventKind::Skipped { inject, reason }, line)
                    }
                    Decision::Resolve { inject, how } => {
                        let line = format!("{inject} resolved: {how}");
                        (EventKind::Resolved { inject, how }, line)
                    }
                };
                let released = match &kind {
                    EventKind::Released { inject } => Some(inject.clone()),
                    _ => None,
                };
                let event = self.audited(&view, now, "exercise", kind);
                driven.lines.push(format!("{} {line}", offset_text(event.event.offset)));
                events.push(event);
                if let Some(id) = released
                    && let Some(inject) = view.scenario().inject(&id)
                    && inject.kind == InjectKind::Technical
                    && let Some((system, fault)) = inject.fault.clone()
                {
                    let (applied, detail) = match injector {
                        Some(i) => match i.set(&system, &fault).await {
                            Ok(done) => (true, done),
                            Err(e) => (false, e),
                        },
                        None => (
                            false,
                            "no simulated estate to set it on: the players are told, nothing changes".into(),
                        ),
                    };
                    driven.lines.push(format!(
                        "{} fault {system} {fault}: {}",
                        offset_text(event_offset(&events)),
                        if applied { "set" } else { detail.as_str() }
                    ));
                    let fault_event = self.audited(
                        &view,
                        now,
                        "exercise",
                        EventKind::Fault {
                            system: system.clone(),
                            fault: fault.clone(),
                            applied,
                            detail,
                            inject: Some(id.clone()),
                        },
                    );
                    events.push(fault_event);
                    if fault.trim() == "down" && view.scenario().in_scope(&system) {
                        events.push(NewEvent {
                            event: self.event(&view, now, "exercise", EventKind::Down { system }),
                            audit: None,
                        });
                    }
                }
            }
            let recorded = self.store.record_exercise_events(&view.record.id, &events).await?;
            view = self.view(view.record).await?;
            if recorded == 0 {
                break;
            }
        }
        driven.next_wake = view.run.next_wake(view.scenario(), now);
        driven.ended = view.run.ended;
        Ok(Some(driven))
    }

    /// The players' actions and the estate's changes since the exercise began, as events.
    async fn observe_players(
        &self,
        view: &ExerciseView,
        facts: &Facts,
        now: DateTime<Utc>,
    ) -> Result<Vec<NewEvent>, EngineError> {
        let started = view.record.started_at;
        let mut out = Vec::new();
        let mut push = |at: DateTime<Utc>, author: &str, kind: EventKind| {
            out.push(NewEvent { event: self.event(view, at.max(started), author, kind), audit: None });
        };
        let jobs: Vec<JobSnapshot> = self.jobs.list(500).await?;
        let mut jobs: Vec<&JobSnapshot> =
            jobs.iter().filter(|j| j.proposed_at.is_some_and(|t| t >= started)).collect();
        jobs.sort_by_key(|j| j.approved_at.or(j.proposed_at));
        for job in jobs {
            let Some(approved_at) = job.approved_at else { continue };
            if job.state == JobState::Cancelled {
                continue;
            }
            let act = match job.kind {
                JobKind::Failover => Some(Act::Failover(job.target.clone())),
                JobKind::Failback => Some(Act::Failback(job.target.clone())),
                JobKind::Restore => Some(Act::Restore(job.target.clone())),
                JobKind::Backup => Some(Act::Backup(job.target.clone())),
                JobKind::Recover => Some(Act::Recover),
                JobKind::Notify => match self.jobs.spec(&job.id).await {
                    Ok(Some(JobSpec::Notify { stage, .. })) => Some(Act::Notify(Some(stage))),
                    _ => Some(Act::Notify(None)),
                },
                _ => None,
            };
            let Some(act) = act else { continue };
            let author = job.approved_by.clone().unwrap_or(job.proposed_by.clone());
            let detail = format!("job {} approved by {author}", job.id);
            push(approved_at, &author, EventKind::Seen { act, detail, key: format!("job:{}", job.id) });
            let carried_out = !job.outcome.as_deref().is_some_and(|o| o.starts_with("EXERCISE"));
            if job.state == JobState::Succeeded
                && carried_out
                && matches!(job.kind, JobKind::Failover | JobKind::Restore)
                && let Some(done) = job.finished_at
            {
                let how = format!("{} {} succeeded", job.kind.name(), job.id);
                push(done, "exercise", EventKind::Recovered { system: job.target.clone(), how });
            }
        }
        for incident in self.store.incidents().await? {
            if incident.declared_at >= started {
                let detail = format!("{} declared by {}", incident.id, incident.declared_by);
                let key = format!("incident:{}", incident.id);
                push(
                    incident.declared_at,
                    &incident.declared_by.clone(),
                    EventKind::Seen { act: Act::Declare, detail, key },
                );
            }
        }
        for (system, state) in &facts.health {
            if !view.scenario().in_scope(system) {
                continue;
            }
            match state {
                Watched::Down => push(now, "exercise", EventKind::Down { system: system.clone() }),
                Watched::Healthy
                    if view.events.iter().any(|e| {
                        matches!(&e.kind, EventKind::Down { system: s } if s == system)
                            && facts.healthy_since.get(system).is_some_and(|since| *since > e.at)
                    }) =>
                {
                    push(
                        now,
                        "exercise",
                        EventKind::Recovered { system: system.clone(), how: "healthy again".into() },
                    )
                }
                _ => {}
            }
        }
        for (system, verdict) in &facts.verdicts {
            if view.scenario().in_scope(system) {
                push(
                    now,
                    "exercise",
                    EventKind::Verdict { system: system.clone(), verdict: verdict.clone() },
                );
            }
        }
        Ok(out)
    }
}

fn event_offset(events: &[NewEvent]) -> Duration {
    events.last().map(|e| e.event.offset).unwrap_or_default()
}

impl Engine {
    /// The facts a scenario's conditions read: each system's health and verdict as the monitor
    /// has them, and which systems run failed over.
    pub async fn exercise_facts(&self, health: &[super::monitor::SystemHealth]) -> Facts {
        use crate::model::HealthState;
        let mut facts = Facts::default();
        for h in health {
            let watched = match h.state {
                HealthState::Down => Watched::Down,
                HealthState::Degraded => Watched::Degraded,
                HealthState::Healthy => Watched::Healthy,
                HealthState::Unknown => continue,
            };
            facts.health.insert(h.name.clone(), watched);
            if let (Watched::Healthy, Some(since)) = (watched, h.since) {
                facts.healthy_since.insert(h.name.clone(), since);
            }
            if h.decision.verdict.is_action() {
                facts.verdicts.insert(h.name.clone(), h.decision.verdict.words().to_owned());
            }
        }
        if let Ok(states) = self.failover_states().await {
            use crate::model::failover::FailoverState as F;
            facts.failed_over = states
                .into_iter()
                .filter(|r| matches!(r.state, F::FailoverComplete | F::Validation | F::Recovered))
                .map(|r| r.system)
                .collect();
        }
        facts
    }
}
