//! Run a recovery plan: each system's procedure or restore as soon as what it depends on has
//! recovered, independent systems in parallel; skip, retry and abort from any process.

use std::collections::HashMap;
use std::time::Duration;

use crate::config::backup::Source;
use crate::engine::Engine;
use crate::engine::jobs::{JobContext, JobState, Signal, Unit};
use crate::engine::recovery::*;
use crate::model::duration::human;

impl Engine {
    /// Run a recovery plan as job `ctx`.
    pub async fn run_recovery(&self, systems: &[String], ctx: &JobContext) -> Result<String, String> {
        let (p, methods) = self.recovery_plan(systems).await?;
        let graph = self.config.estate.graph().clone();
        let started = self.now();
        let mut detail = PlanDetail {
            systems: p
                .systems
                .iter()
                .map(|s| PlanEntry {
                    name: graph.name(s.system).to_owned(),
                    wave: s.wave,
                    method: methods[s.system],
                    state: Step::Pending,
                    waits_for: s.waits_for.iter().map(|d| graph.name(*d).to_owned()).collect(),
                    job: None,
                    cause: None,
                    estimate_secs: s.duration.as_secs(),
                    forecast_secs: s.finish.as_secs(),
                    rto_left_secs: s.rto_left.map(|d| d.as_secs()),
                    breach: s.breach,
                    started_at: None,
                    finished_at: None,
                })
                .collect(),
            waiting: None,
        };
        let total = detail.systems.len() as u64;
        ctx.meter.set_total(total);
        ctx.stage("recovering", Unit::Steps);
        let mut running: tokio::task::JoinSet<(String, Result<JobStateOutcome, Failure>)> =
            tokio::task::JoinSet::new();
        let (started_tx, mut started_rx) = tokio::sync::mpsc::unbounded_channel::<(String, String)>();
        loop {
            // Blocked: a dependency failed or is blocked.
            let states: HashMap<String, Step> =
                detail.systems.iter().map(|s| (s.name.clone(), s.state)).collect();
            for entry in detail.systems.iter_mut().filter(|s| s.state == Step::Pending) {
                if let Some(bad) = entry
                    .waits_for
                    .iter()
                    .find(|d| matches!(states.get(*d), Some(Step::Failed | Step::Blocked)))
                {
                    entry.state = Step::Blocked;
                    entry.cause = Some(format!("{bad} did not recover"));
                    ctx.log(format!("⊘ {} blocked: {bad} did not recover", entry.name));
                }
            }
            // Ready: everything it waits for is back (or skipped).
            let states: HashMap<String, Step> =
                detail.systems.iter().map(|s| (s.name.clone(), s.state)).collect();
            let ready: Vec<usize> = detail
                .systems
                .iter()
                .enumerate()
                .filter(|(_, s)| {
                    s.state == Step::Pending
                        && s.waits_for
                            .iter()
                            .all(|d| matches!(states.get(d), Some(Step::Recovered | Step::Skipped)))
                })
                .map(|(k, _)| k)
                .collect();
            // Every ready system starts at once: proposing and approving a child job is a few
            // writes, which the store commits together for all of them.
            for k in ready {
                let entry = &mut detail.systems[k];
                entry.state = Step::Running;
                entry.started_at = Some(self.now());
                let (engine, name, method, parent) =
                    (self.clone(), entry.name.clone(), entry.method, ctx.id.clone());
                let started = started_tx.clone();
                running.spawn(async move {
                    let job = match engine.start_child(&name, method, &parent).await {
                        Ok(job) => job,
                        Err(e) => return (name, Err(Failure::Start(e))),
                    };
                    let _ = started.send((name.clone(), job.clone()));
                    let r =
                        engine.run_job(&job).await.map_err(|e| Failure::Run(e.to_string())).map(|j| {
                            JobStateOutcome { state: j.state, outcome: j.outcome.unwrap_or_default() }
                        });
                    (name, r)
                });
            }
            while let Ok((name, job)) = started_rx.try_recv() {
                note_started(&mut detail, ctx, &name, job);
            }
            let done =
                detail.systems.iter().filter(|s| matches!(s.state, Step::Recovered | Step::Skipped)).count();
            ctx.meter.set_done(done as u64);
            let stuck: Vec<String> =
                detail.systems.iter().filter(|s| s.state == Step::Failed).map(|s| s.name.clone()).collect();
            detail.waiting = (running.is_empty() && !stuck.is_empty())
                .then(|| format!("retry or skip {} (the plan waits for the operator)", stuck.join(", ")));
            match serde_json::to_value(&detail) {
                Ok(d) => ctx.set_detail(d),
                Err(e) => ctx.log_once(format!("cannot record the plan's progress: {e}")),
            }
            if running.is_empty()
                && detail
                    .systems
                    .iter()
                    .all(|s| matches!(s.state, Step::Recovered | Step::Skipped | Step::Blocked))
                && stuck.is_empty()
            {
                break;
            }
            if let Some(w) = &detail.waiting {
                ctx.stage(&format!("waiting: {w}"), Unit::Steps);
            } else {
                ctx.stage("recovering", Unit::Steps);
            }
            // Wait for a system to finish, an operator's signal, or cancellation.
            tokio::select! {
                Some((name, job)) = started_rx.recv() => note_started(&mut detail, ctx, &name, job),
                Some(joined) = running.join_next(), if !running.is_empty() => {
                    let Ok((name, result)) = joined else { continue };
                    // Its start is told before its end.
                    while let Ok((name, job)) = started_rx.try_recv() {
                        note_started(&mut detail, ctx, &name, job);
                    }
                    let Some(entry) = detail.systems.iter_mut().find(|s| s.name == name) else { continue };
                    entry.finished_at = Some(self.now());
                    match result {
                        Ok(o) if o.state == JobState::Succeeded => {
                            entry.state = Step::Recovered;
                            entry.cause = None;
                            ctx.log(format!("✔ {name} recovered: {}", o.outcome));
                        }
                        Ok(o) => {
                            entry.state = Step::Failed;
                            entry.cause = Some(o.outcome.clone());
                            ctx.log(format!("✖ {name} {}: {}", o.state, o.outcome));
                        }
                        Err(Failure::Start(e)) => {
                            entry.state = Step::Failed;
                            entry.started_at = None;
                            entry.finished_at = None;
                            ctx.log(format!("✖ {name} could not start: {e}"));
                            entry.cause = Some(e);
                        }
                        Err(Failure::Run(e)) => {
                            entry.state = Step::Failed;
                            entry.cause = Some(e.clone());
                            ctx.log(format!("✖ {name}: {e}"));
                        }
                    }
                }
                _ = tokio::time::sleep(Duration::from_millis(300)) => {}
            }
            for signal in self.take_signals(ctx).await {
                let name = signal.argument.clone().unwrap_or_default();
                match signal.signal {
                    Signal::Skip | Signal::Retry => {
                        let Some(entry) = detail.systems.iter_mut().find(|s| s.name == name) else {
                            ctx.log(format!(
                                "{} asked to {} {name}, which is not in this plan",
                                signal.by, signal.signal
                            ));
                            continue;
                        };
                        if !matches!(entry.state, Step::Failed | Step::Blocked | Step::Pending) {
                            ctx.log(format!(
                                "{} asked to {} {name}, which is {:?}",
                                signal.by, signal.signal, entry.state
                            ));
                            continue;
                        }
                        if signal.signal == Signal::Skip {
                            entry.state = Step::Skipped;
                            entry.cause = Some(format!("skipped by {}", signal.by));
                            ctx.log(format!("↷ {name} skipped by {}: what needs it goes on", signal.by));
                        } else {
                            entry.state = Step::Pending;
                            entry.cause = None;
                            ctx.log(format!("↻ {name} retried by {}", signal.by));
                        }
                        // What it blocked may go on now.
                        for other in detail.systems.iter_mut().filter(|s| s.state == Step::Blocked) {
                            other.state = Step::Pending;
                            other.cause = None;
                        }
                    }
                    Signal::Abort => {
                        running.abort_all();
                        return Err(format!("the plan was aborted by {}", signal.by));
                    }
                    Signal::Confirm => ctx.log(format!(
                        "{} sent confirm, which a plan does not take (skip, retry or abort)",
                        signal.by
                    )),
                }
            }
            if ctx.cancelled() {
                running.abort_all();
                return Err("cancelled".into());
            }
        }
        let took = human((self.now() - started).to_std().unwrap_or_default());
        let count = |st: Step| detail.systems.iter().filter(|s| s.state == st).count();
        let (recovered, skipped, blocked) =
            (count(Step::Recovered), count(Step::Skipped), count(Step::Blocked));
        let message = format!(
            "{recovered} of {} recovered in {took}{}{}",
            detail.systems.len(),
            if skipped > 0 { format!(", {skipped} skipped") } else { String::new() },
            if blocked > 0 { format!(", {blocked} blocked") } else { String::new() }
        );
        ctx.log(message.clone());
        if blocked > 0 { Err(message) } else { Ok(message) }
    }

    /// Propose and approve (on the plan's approval) one system's recovery job.
    pub(in crate::engine) async fn start_child(
        &self,
        system: &str,
        method: Method,
        parent: &str,
    ) -> Result<String, String> {
        let (spec, plan) = match method {
            Method::Failover => self.plan_procedure(system, false).await?,
            Method::Restore => {
                // A folder is restored where it lives (what is there is moved aside); a
                // program's output into the state folder, for the operator to load.
                let to = match self.config.system(system).and_then(|s| s.backup.as_ref()).map(|b| &b.source) {
                    Some(Source::Path(p)) => Some(p.clone()),
                    _ => None,
                };
                self.plan_restore(system, None, to, true, None).await?
            }
        };
        let operator = self.job_operator(parent).await?;
        let job = self.propose_in_plan(&spec, plan, &operator, parent).await.map_err(|e| e.to_string())?;
        Ok(job.id)
    }
}

/// Why a system's child job did not succeed: it could not be started, or running it failed.
pub(in crate::engine) enum Failure {
    Start(String),
    Run(String),
}

pub(in crate::engine) fn note_started(detail: &mut PlanDetail, ctx: &JobContext, name: &str, job: String) {
    if let Some(entry) = detail.systems.iter_mut().find(|s| s.name == name) {
        ctx.log(format!("▶ {name} ({:?}): job {job}", entry.method));
        entry.job = Some(job);
    }
}

pub(in crate::engine) struct JobStateOutcome {
    state: JobState,
    outcome: String,
}
