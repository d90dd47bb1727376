//! The effects runner: each [`Effect`] `update` asks for is carried out on a task of its own
//! against the engine (or the simulated estate), and its result comes back to the loop as a
//! [`Reply`]: a fact for `update`, or a reloaded engine. A panic in one becomes a message, not
//! a dead console.

use crate::config::{LoadError, ProcessEnv};
use crate::engine::Engine;
use crate::engine::jobs::Refusal;
use crate::sim::SimHandle;
use tokio::sync::mpsc;

use super::action::{Effect, EngineEvent, ReloadedConfig, Request};
use super::theme::{ThemeCatalog, truecolor};

/// What the effect tasks send back to the loop.
pub(super) enum Reply {
    Event(EngineEvent),
    /// A reloaded configuration comes with the engine that carries it.
    Reloaded(Engine, Box<ReloadedConfig>),
}

/// The newest audit records the console holds (the whole log stays in the store).
const AUDIT_WINDOW: u32 = 1000;

/// Run an effect on the engine in its own task; the result comes back as a reply. A panic in
/// the task becomes an error reply: the console carries on.
pub(super) fn carry_out(
    effect: Effect,
    engine: &Engine,
    sim: Option<&SimHandle>,
    tx: &mpsc::UnboundedSender<Reply>,
) {
    use futures_util::FutureExt;
    if let Effect::SetFault { system, fault, replace } = &effect {
        let switched =
            sim.map(|s| if *replace { s.replace_fault(system, *fault) } else { s.set_fault(system, *fault) });
        let reply = match switched {
            Some(Ok(state)) => EngineEvent::FaultSet { system: system.clone(), state },
            Some(Err(e)) => EngineEvent::FaultFailed(e),
            None => EngineEvent::FaultFailed("this console is not running a simulated estate".to_owned()),
        };
        let _ = tx.send(Reply::Event(reply));
        return;
    }
    if let Effect::Exercise(request) = effect {
        let (engine, tx, sim) = (engine.clone(), tx.clone(), sim.cloned());
        tokio::spawn(async move {
            let _ = tx.send(Reply::Event(exercise_reply(request, &engine, sim).await));
        });
        return;
    }
    let engine = engine.clone();
    let tx = tx.clone();
    tokio::spawn(async move {
        let failed = match effect {
            Effect::LoadAudit => |e: String| Reply::Event(EngineEvent::AuditFailed(e)),
            Effect::ReloadConfig | Effect::SetFault { .. } => {
                |e: String| Reply::Event(EngineEvent::ConfigRejected(e))
            }
            _ => |e: String| Reply::Event(EngineEvent::ActionFailed(e)),
        };
        let work = std::panic::AssertUnwindSafe(effect_reply(effect, engine)).catch_unwind();
        let reply =
            work.await.unwrap_or_else(|_| failed("an internal error stopped it (see the log)".to_owned()));
        let _ = tx.send(reply);
    });
}

async fn effect_reply(effect: Effect, engine: Engine) -> Reply {
    match effect {
        Effect::LoadAudit => {
            let loaded = async {
                Ok::<_, crate::engine::EngineError>((
                    engine.audit_records(Some(AUDIT_WINDOW)).await?,
                    engine.verify_audit().await?,
                ))
            };
            match loaded.await {
                Ok((records, verification)) => {
                    Reply::Event(EngineEvent::AuditLoaded { records, verification })
                }
                Err(e) => Reply::Event(EngineEvent::AuditFailed(e.to_string())),
            }
        }
        Effect::ReloadConfig => match engine.reload(&ProcessEnv).await {
            Ok((new_engine, loaded)) => {
                let warnings = loaded.report.warnings().count();
                let mut config = ReloadedConfig::from_config(new_engine.config(), warnings);
                config.themes = Some(ThemeCatalog::for_config(new_engine.config(), truecolor()));
                config.standing = new_engine.standing();
                Reply::Reloaded(new_engine, Box::new(config))
            }
            Err(LoadError::Invalid(report)) => {
                Reply::Event(EngineEvent::ConfigRejected(report.render(false)))
            }
            Err(other) => Reply::Event(EngineEvent::ConfigRejected(other.to_string())),
        },
        // Carried out at once in `carry_out`, never in a task.
        Effect::SetFault { .. } => {
            Reply::Event(EngineEvent::FaultFailed("a fault is switched in place".to_owned()))
        }
        Effect::Propose(request) => {
            let planned = match request {
                Request::Backup { system } => engine.plan_backup(&system).await,
                Request::Verify { system, deep } => engine.plan_verify(&system, deep, None).await,
                Request::Restore { system, id, to } => {
                    engine.plan_restore(id.as_deref().unwrap_or(&system), None, to, false, None).await
                }
                Request::Prune { system } => engine.plan_prune(&system).await,
                Request::Failover { system, failback } => {
                    // No procedure: the decision panel's key restores instead.
                    if !failback && engine.procedure(&system, false).is_err() {
                        engine.plan_restore(&system, None, None, false, None).await
                    } else {
                        engine.plan_procedure(&system, failback).await
                    }
                }
                Request::Recover { systems, incident } => {
                    engine.plan_recover(&systems, incident.as_deref()).await
                }
                Request::Notify { stage, lists, message } => {
                    engine.plan_notice(None, stage, &lists, &message).await
                }
            };
            let (spec, plan) = match planned {
                Ok(p) => p,
                Err(e) => return Reply::Event(EngineEvent::ActionFailed(e)),
            };
            match engine.propose(&spec, plan, engine.operator()).await {
                Ok(job) => Reply::Event(EngineEvent::Proposed(Box::new(job))),
                Err(refusal) => {
                    Reply::Event(EngineEvent::ActionFailed(format!("refused, nothing ran: {refusal}")))
                }
            }
        }
        Effect::Approve { id, proof } => match engine.approve(&id, engine.operator(), &proof).await {
            Ok(_) => {
                // Another live process proposed it (another console, a command waiting at its
                // gate): it runs it. Else this one does.
                if !engine.jobs().owner_alive(&id).await.unwrap_or(false) {
                    engine.spawn_job(&id);
                }
                jobs_reply(&engine).await
            }
            // Someone else approves it (a role this operator lacks, the second of two persons):
            // the proposal waits for them on the jobs screen.
            Err(refusal @ (Refusal::Role { .. } | Refusal::AwaitingSecond { .. })) => Reply::Event(
                EngineEvent::ActionFailed(format!("{refusal}; the proposal {id} waits for them")),
            ),
            Err(refusal) => {
                // This console's own proposal, declined at its own gate (a confirmation or the
                // typed name missing, read-only, out of scope): withdrawn, so nothing waits.
                // Someone else's, or one decided meanwhile, is left as it is.
                let own = engine.jobs().get(&id).await.ok().flatten().is_some_and(|j| {
                    j.proposed_by == engine.operator() && j.state == crate::engine::jobs::JobState::Proposed
                });
                let declined = matches!(
                    refusal,
                    Refusal::NeedsConfirm
                        | Refusal::NeedsTyped { .. }
                        | Refusal::ReadOnly
                        | Refusal::TwoPerson
                        | Refusal::OutOfScope { .. }
                );
                if own && declined {
                    let _ = engine.cancel_proposal(&id, engine.operator()).await;
                }
                Reply::Event(EngineEvent::ActionFailed(format!("not approved, nothing ran: {refusal}")))
            }
        },
        Effect::CancelProposal { id } => match engine.cancel_proposal(&id, engine.operator()).await {
            Ok(()) => jobs_reply(&engine).await,
            Err(e) => Reply::Event(EngineEvent::ActionFailed(e.to_string())),
        },
        Effect::CancelJob { id } => match engine.cancel_job(&id, engine.operator()).await {
            Ok(()) => jobs_reply(&engine).await,
            Err(e) => Reply::Event(EngineEvent::ActionFailed(format!("cannot cancel {id}: {e}"))),
        },
        Effect::LoadBackups => backups_reply(&engine).await,
        Effect::LoadOps => ops_reply(&engine).await,
        Effect::Declare { kind, severity, systems } => {
            let incident = match engine.declare_incident(kind, severity, &systems, engine.operator()).await {
                Ok(i) => i,
                Err(e) => return Reply::Event(EngineEvent::ActionFailed(e.to_string())),
            };
            // Declaring proposes the initial notice (T+0) and the recovery plan: the gate opens
            // on each in turn.
            let mut proposed = Vec::new();
            let mut problems = Vec::new();
            let has_contacts = !engine.config().notify.contacts.is_empty();
            let notice = if has_contacts {
                Some(
                    engine
                        .plan_notice(Some(&incident.id), Some(crate::model::comms::Stage::Initial), &[], "")
                        .await,
                )
            } else {
                None
            };
            let plan = engine.plan_recover(&systems, Some(&incident.id)).await;
            for (what, planned) in [("initial notice", notice), ("recovery plan", Some(plan))] {
                match planned {
                    Some(Ok((spec, plan))) => match engine.propose(&spec, plan, engine.operator()).await {
                        Ok(job) => proposed.push(job),
                        Err(e) => problems.push(format!("the {what} was refused: {e}")),
                    },
                    Some(Err(e)) => problems.push(format!("no {what}: {e}")),
                    None => {}
                }
            }
            if proposed.is_empty() {
                return Reply::Event(EngineEvent::ActionFailed(format!(
                    "{} declared; {}",
                    incident.id,
                    problems.join("; ")
                )));
            }
            Reply::Event(EngineEvent::ProposedSeveral { jobs: proposed, problems })
        }
        Effect::Commit { system } => match engine.commit(&system, engine.operator()).await {
            Ok(m) => Reply::Event(EngineEvent::Done(m)),
            Err(e) => Reply::Event(EngineEvent::ActionFailed(e)),
        },
        Effect::Note { incident, text } => {
            match engine.incident_note(&incident, &text, engine.operator()).await {
                Ok(()) => Reply::Event(EngineEvent::Done(format!("noted on {incident}"))),
                Err(e) => Reply::Event(EngineEvent::ActionFailed(e.to_string())),
            }
        }
        Effect::CloseIncident { incident, summary } => {
            match engine.close_incident(&incident, summary.as_deref(), engine.operator()).await {
                // Closing proposes the resolution notice: the gate opens on it.
                Ok(id) if !engine.config().notify.contacts.is_empty() => {
                    let planned = engine
                        .plan_notice(Some(&id), Some(crate::model::comms::Stage::Resolution), &[], "")
                        .await;
                    match planned {
                        Ok((spec, plan)) => match engine.propose(&spec, plan, engine.operator()).await {
                            Ok(job) => Reply::Event(EngineEvent::ProposedSeveral {
                                jobs: vec![job],
                                problems: vec![format!("{id} closed")],
                            }),
                            Err(e) => Reply::Event(EngineEvent::ActionFailed(format!(
                                "{id} closed; the resolution notice was refused: {e}"
                            ))),
                        },
                        Err(e) => Reply::Event(EngineEvent::ActionFailed(format!(
                            "{id} closed; no resolution notice: {e}"
                        ))),
                    }
                }
                Ok(id) => Reply::Event(EngineEvent::Done(format!("{id} closed"))),
                Err(e) => Reply::Event(EngineEvent::ActionFailed(e.to_string())),
            }
        }
        Effect::Report { incident } => {
            let found = match &incident {
                Some(id) => engine.incident(Some(id)).await,
                None => match engine.incidents().await {
                    Ok(all) => all.into_iter().next().ok_or_else(|| "there is no incident".to_owned()),
                    Err(e) => Err(format!("state unreadable: {e}")),
                },
            };
            match found {
                // The engine writes the report; the console only says where.
                Ok(i) => match engine.write_report(&i).await {
                    Ok(path) => {
                        Reply::Event(EngineEvent::Done(format!("report written to {}", path.display())))
                    }
                    Err(e) => Reply::Event(EngineEvent::ActionFailed(e)),
                },
                Err(e) => Reply::Event(EngineEvent::ActionFailed(e)),
            }
        }
        Effect::Exercise(_) => Reply::Event(EngineEvent::ActionFailed("carried out on its own".into())),
        Effect::Signal { job, signal, argument } => {
            match engine.signal_job(&job, signal, argument.as_deref(), engine.operator()).await {
                Ok(()) => Reply::Event(EngineEvent::Done(format!("{signal} sent to {job}"))),
                Err(e) => Reply::Event(EngineEvent::ActionFailed(e)),
            }
        }
    }
}

/// The shared state: failover states, the open incident and its timeline, the jobs.
async fn ops_reply(engine: &Engine) -> Reply {
    // What this console proposed and someone approved elsewhere, it runs now.
    if let Err(e) = engine.run_approved_here().await {
        tracing::warn!(error = %e, "cannot look for this console's proposals approved elsewhere");
    }
    match read_ops(engine).await {
        Ok(ops) => Reply::Event(EngineEvent::Ops(Box::new(ops))),
        Err(e) => Reply::Event(EngineEvent::StateUnreadable(e.to_string())),
    }
}

/// Every read of the shared state, or the first that failed: never a partial all-clear.
async fn read_ops(engine: &Engine) -> Result<super::action::Ops, crate::engine::EngineError> {
    let states = engine.failover_states().await?;
    let incident = engine.open_incident().await?;
    let timeline = match &incident {
        Some(i) => engine.timeline(i).await?,
        None => Vec::new(),
    };
    let jobs = engine.jobs().list(JOBS_SHOWN).await?;
    let comms = engine.current_comms().await?;
    // The notice that is due next, as it would go now: the comms screen previews it.
    let preview = match comms.as_ref().and_then(|c| c.next.map(|d| (c.incident.clone(), d.stage))) {
        Some((id, stage)) => Some(match engine.incident(Some(&id)).await {
            Ok(i) => engine.compose(&i, stage, &[], "").await,
            Err(e) => Err(e),
        }),
        None => None,
    };
    let exercise = engine.open_exercise().await?;
    let programme = engine.programme().await;
    // Without them the decision panel shows no trade-off; nothing is taken as all clear.
    let recovery = match &programme {
        Ok(p) => engine.recovery_figures_with(p).await,
        Err(e) => Err(e.clone()),
    }
    .unwrap_or_else(|e| {
        tracing::warn!(error = %e, "the recovery figures cannot be read");
        Vec::new()
    });
    let programme = Some(programme);
    let actions = engine
        .corrective_actions()
        .await?
        .into_iter()
        .filter(|a| a.status != crate::model::exercise::ActionStatus::Closed)
        .collect();
    Ok(super::action::Ops {
        states,
        incident,
        timeline,
        jobs,
        comms,
        preview,
        exercise,
        programme,
        actions,
        recovery,
    })
}

/// Faults set on the console's own simulated estate (the demo).
pub(super) struct SimInjector(pub SimHandle);

impl crate::engine::exercise::Injector for SimInjector {
    fn set<'a>(&'a self, system: &'a str, fault: &'a str) -> crate::engine::exercise::Pending<'a, String> {
        Box::pin(async move {
            let fault = crate::sim::Fault::parse_text(fault)?;
            self.0.set_fault(system, fault).map(|s| s.to_string())
        })
    }

    fn clear<'a>(&'a self, system: &'a str) -> crate::engine::exercise::Pending<'a, ()> {
        Box::pin(async move { self.0.set_fault(system, crate::sim::Fault::Healthy).map(|_| ()) })
    }
}

async fn exercise_reply(
    request: super::action::ExerciseRequest,
    engine: &Engine,
    sim: Option<SimHandle>,
) -> EngineEvent {
    use super::action::ExerciseRequest;
    let operator = engine.operator().to_owned();
    let injector = sim.map(SimInjector);
    let injector = injector.as_ref().map(|i| i as &dyn crate::engine::exercise::Injector);
    let result = match request {
        ExerciseRequest::Start { name, speed } => {
            let path = crate::config::scenario::find(&name, &engine.config().path);
            let fault_ok = |f: &str| crate::sim::Fault::parse_text(f).map(|_| ());
            match engine.check_scenario(&path, &fault_ok) {
                Err(e) => return EngineEvent::ConfigRejected(e),
                Ok((text, checked)) => {
                    match engine.start_exercise(&path, &text, checked.scenario, speed, &operator).await {
                        // What falls due at +0:00 goes out now, not at the driver's next look.
                        Ok(v) => {
                            let facts = crate::model::exercise::Facts::default();
                            if let Err(e) = engine.drive_exercise(&facts, injector).await {
                                tracing::warn!(error = %e, "the exercise's first injects wait for the driver");
                            }
                            Ok(format!(
                                "exercise {} started: {} ({})",
                                v.record.id,
                                v.scenario().name,
                                v.scenario().kind
                            ))
                        }
                        Err(e) => Err(e),
                    }
                }
            }
        }
        ExerciseRequest::Control(control) => {
            let done = control.done();
            engine.control_exercise(control, &operator).await.map(|_| format!("exercise: {done}"))
        }
        ExerciseRequest::End(hot_wash) => {
            let ending = crate::engine::exercise::report::Ending { hot_wash, ..Default::default() };
            return match engine.end_exercise(ending, injector, &operator).await {
                Ok((report, lines)) => {
                    let not_back: Vec<&str> =
                        report.cleanup.iter().filter(|c| !c.ok).map(|c| c.system.as_str()).collect();
                    let summary = if not_back.is_empty() {
                        format!(
                            "exercise {} ended; every system is back to normal (X shows the report)",
                            report.id
                        )
                    } else {
                        format!(
                            "exercise {} ended; NOT back to normal: {} (X shows the cleanup check)",
                            report.id,
                            not_back.join(", ")
                        )
                    };
                    let mut lines = lines;
                    lines.extend(
                        report
                            .cleanup
                            .iter()
                            .filter(|c| !c.ok)
                            .map(|c| format!("cleanup: {} {} — {}", c.system, c.state, c.note)),
                    );
                    EngineEvent::ExerciseEnded { summary, clean: not_back.is_empty(), lines }
                }
                Err(e) => EngineEvent::ActionFailed(e),
            };
        }
    };
    match result {
        Ok(text) => EngineEvent::Done(text),
        Err(e) => EngineEvent::ActionFailed(e),
    }
}

/// Jobs the console loads.
const JOBS_SHOWN: u32 = 300;

/// The jobs as they stand, or why they cannot be read (the list on screen stays, marked stale).
pub(super) async fn jobs_reply(engine: &Engine) -> Reply {
    match engine.jobs().list(JOBS_SHOWN).await {
        Ok(list) => Reply::Event(EngineEvent::Jobs(list)),
        Err(e) => Reply::Event(EngineEvent::StateUnreadable(e.to_string())),
    }
}

async fn backups_reply(engine: &Engine) -> Reply {
    let problems = engine.refresh_catalog(None).await;
    for p in &problems {
        tracing::warn!(problem = %p, "a backup location could not be read");
    }
    let read = async { Ok::<_, String>((engine.backups(None).await?, engine.standings().await?)) };
    match read.await {
        Ok((backups, standings)) => Reply::Event(EngineEvent::Backups { backups, standings }),
        Err(e) => Reply::Event(EngineEvent::StateUnreadable(e)),
    }
}
