//! Recovery plans, run: each affected system's procedure (failover if it has one, else a
//! restore of its newest verified backup) as soon as what it depends on has recovered,
//! independent systems in parallel. A system whose dependency failed is Blocked with the
//! cause; the operator can skip or retry one system while the plan runs, and when nothing can
//! go on the plan waits for that decision instead of giving up.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Engine;
use super::jobs::{JobContext, JobSpec, JobState, Plan, Proof, Unit};
use crate::config::backup::Source;
use crate::model::duration::{hms, human};
use crate::model::recovery::{RecoveryPlan, plan};

/// How a system comes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    Failover,
    Restore,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Pending,
    Running,
    Recovered,
    Failed,
    Blocked,
    Skipped,
}

impl Step {
    pub fn symbol(self) -> &'static str {
        match self {
            Step::Pending => "·",
            Step::Running => "▶",
            Step::Recovered => "✔",
            Step::Failed => "✖",
            Step::Blocked => "⊘",
            Step::Skipped => "↷",
        }
    }
}

/// One system of a running plan: what the console's incident screen and `warroom jobs` show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanEntry {
    pub name: String,
    pub wave: usize,
    pub method: Method,
    pub state: Step,
    pub waits_for: Vec<String>,
    /// The job recovering it (the latest, after a retry).
    pub job: Option<String>,
    /// Why it failed or is blocked.
    pub cause: Option<String>,
    pub estimate_secs: u64,
    /// Forecast finish, seconds after the plan started.
    pub forecast_secs: u64,
    pub rto_left_secs: Option<u64>,
    pub breach: bool,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A running plan's state, saved as the job's detail.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PlanDetail {
    pub systems: Vec<PlanEntry>,
    /// What the plan waits for from the operator, if anything.
    pub waiting: Option<String>,
}

impl Engine {
    fn method(&self, system: &str) -> Result<Method, String> {
        let settings = self.config.system(system).ok_or_else(|| self.no_system(system))?;
        if settings.failover.is_some() {
            Ok(Method::Failover)
        } else if settings.backup.is_some() {
            Ok(Method::Restore)
        } else {
            Err(format!(
                "\"{system}\" has neither a failover procedure nor a backup: warroom cannot recover it (add [systems.failover] or [systems.backup])"
            ))
        }
    }

    fn no_system(&self, name: &str) -> String {
        let names = self.config.estate.systems().iter().map(|s| s.name.as_str());
        let hint = crate::config::diagnostic::did_you_mean(name, names)
            .map(|s| format!("; did you mean \"{s}\"?"))
            .unwrap_or_default();
        format!("there is no system \"{name}\"{hint}")
    }

    /// The plan for `systems`: waves, forecast and RTO, each system's method.
    pub async fn recovery_plan(&self, systems: &[String]) -> Result<(RecoveryPlan, Vec<Method>), String> {
        if systems.is_empty() {
            return Err("name the systems to recover".into());
        }
        let mut affected = Vec::new();
        let mut methods = vec![Method::Restore; self.config.estate.systems().len()];
        let mut estimates = vec![Duration::ZERO; methods.len()];
        let mut left = vec![None; methods.len()];
        let newest = self.backups(None).await.unwrap_or_default();
        for name in systems {
            let i = self.config.estate.index_of(name).ok_or_else(|| self.no_system(name))?;
            if affected.contains(&i) {
                continue;
            }
            let method = self.method(name)?;
            methods[i] = method;
            estimates[i] = match method {
                Method::Failover => self.procedure(name, false)?.estimate(),
                Method::Restore => {
                    let size = newest
                        .iter()
                        .rev()
                        .find(|b| &b.manifest.system == name && b.verified_at().is_some())
                        .map(|b| b.manifest.stored_size)
                        .ok_or_else(|| {
                            format!("\"{name}\" has no failover procedure and no verified backup to restore")
                        })?;
                    // At 100 MB/s, plus half a minute to start: a careful guess.
                    Duration::from_secs(30 + size / 100_000_000)
                }
            };
            if let Some(start) = self.store.outage_start(name).await.ok().flatten()
                && let Some(s) = self.config.estate.system(name)
            {
                let elapsed = (self.now() - start).to_std().unwrap_or_default();
                left[i] = Some(s.objective.rto.saturating_sub(elapsed));
            }
            affected.push(i);
        }
        let p = plan(self.config.estate.graph(), &affected, |i| estimates[i], |i| left[i])
            .map_err(|c| format!("the dependencies have a cycle: {c:?}"))?;
        Ok((p, methods))
    }

    pub async fn plan_recover(
        &self,
        systems: &[String],
        incident: Option<&str>,
    ) -> Result<(JobSpec, Plan), String> {
        let (p, methods) = self.recovery_plan(systems).await?;
        let graph = self.config.estate.graph();
        let mut lines = Vec::new();
        for (w, wave) in p.waves.iter().enumerate() {
            lines.push(format!("wave {}", w + 1));
            for &i in wave {
                let Some(s) = p.get(i) else { continue };
                let method = match methods[i] {
                    Method::Failover => "failover",
                    Method::Restore => "restore newest verified backup",
                };
                let rto = match s.rto_left {
                    Some(l) if s.breach => {
                        format!("✖ WILL BREACH: back at +{} with {} left", hms(s.finish), hms(l))
                    }
                    Some(l) => format!("✔ back at +{}, {} left", hms(s.finish), hms(l)),
                    None => format!("back at +{} (not down)", hms(s.finish)),
                };
                let waits = if s.waits_for.is_empty() {
                    String::new()
                } else {
                    let names: Vec<&str> = s.waits_for.iter().map(|d| graph.name(*d)).collect();
                    format!(", after {}", names.join(", "))
                };
                lines.push(format!(
                    "  {:<14} {method}, ~{}{waits} · {rto}",
                    graph.name(i),
                    human(s.duration)
                ));
            }
        }
        let breaches = p.breaches().count();
        lines.push(format!(
            "forecast   all back in {} along the critical path{}",
            human(p.total),
            if breaches > 0 {
                format!("; {breaches} system(s) will breach their RTO")
            } else {
                String::new()
            }
        ));
        lines.push(
            "then       each system's own procedure runs as part of this plan (no further approval)".into(),
        );
        let names: Vec<String> = p.systems.iter().map(|s| graph.name(s.system).to_owned()).collect();
        // Named after its first (most critical) system: what the typed policy asks for.
        let target = names.first().cloned().unwrap_or_else(|| "plan".to_owned());
        let title = format!("Recover {}", names.join(", "));
        // The incident's plan only if it recovers some of the incident's systems.
        let incident = match incident {
            Some(id) => match self.store.incident(id).await.ok().flatten() {
                Some(i) if i.systems.iter().any(|s| names.contains(s)) => Some(i.id),
                _ => None,
            },
            None => None,
        };
        if let Some(id) = &incident {
            lines.push(format!("incident   {id}: its report follows this plan"));
        }
        Ok((JobSpec::Recover { target, systems: names, incident }, Plan { title, lines }))
    }

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
        ctx.control.bytes_total.store(total, std::sync::atomic::Ordering::Relaxed);
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
            ctx.control.files_done.store(done as u64, std::sync::atomic::Ordering::Relaxed);
            let stuck: Vec<String> =
                detail.systems.iter().filter(|s| s.state == Step::Failed).map(|s| s.name.clone()).collect();
            detail.waiting = (running.is_empty() && !stuck.is_empty())
                .then(|| format!("retry or skip {} (the plan waits for the operator)", stuck.join(", ")));
            ctx.set_detail(serde_json::to_value(&detail).unwrap_or_default());
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
            for signal in self.store.take_signals(&ctx.id, self.now()).await.unwrap_or_default() {
                let name = signal.argument.clone().unwrap_or_default();
                match signal.signal.as_str() {
                    "skip" | "retry" => {
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
                        if signal.signal == "skip" {
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
                    "abort" => {
                        running.abort_all();
                        return Err(format!("the plan was aborted by {}", signal.by));
                    }
                    _ => {}
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
    async fn start_child(&self, system: &str, method: Method, parent: &str) -> Result<String, String> {
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
        let operator = self.job_operator(parent).await;
        let job = self.propose(&spec, plan, &operator).await.map_err(|e| e.to_string())?;
        self.approve(&job.id, &operator, &Proof::Plan(parent.to_owned())).await.map_err(|e| e.to_string())?;
        Ok(job.id)
    }
}

/// Why a system's child job did not succeed: it could not be started, or running it failed.
enum Failure {
    Start(String),
    Run(String),
}

fn note_started(detail: &mut PlanDetail, ctx: &JobContext, name: &str, job: String) {
    if let Some(entry) = detail.systems.iter_mut().find(|s| s.name == name) {
        ctx.log(format!("▶ {name} ({:?}): job {job}", entry.method));
        entry.job = Some(job);
    }
}

struct JobStateOutcome {
    state: JobState,
    outcome: String,
}
