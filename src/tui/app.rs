//! The app loop: one `select!` over terminal events, a 1 Hz tick, the engine's replies and
//! SIGTERM. Each event becomes an action, `update` changes the state and returns effects, the
//! loop carries the effects out on the engine and redraws only when something changed.

use std::time::{Duration, Instant};

use chrono::{Local, Offset};
use crossterm::event::{Event as TermEvent, EventStream};
use futures_util::StreamExt;
use tokio::sync::mpsc;

use crate::config::{LoadError, ProcessEnv};
use std::sync::Arc;

use crate::engine::Engine;
use crate::engine::monitor::{Monitor, MonitorEvent};
use crate::sim::SimHandle;

use super::action::ReloadedConfig;
use super::action::{Effect, EngineEvent, Event, Request};
use super::event::to_action;
use super::state::{Mode, State};
use super::theme::ThemeCatalog;
use super::update::update;
use super::{terminal, views};

/// How the console was started.
pub struct Options {
    pub mode: Mode,
    /// When the process started, to report the time to the first frame.
    pub started: Instant,
    /// In a demo: the simulated estate, whose faults the console can switch.
    pub sim: Option<crate::sim::SimHandle>,
}

/// What the effect tasks send back to the loop.
enum Reply {
    Event(EngineEvent),
    /// A reloaded configuration comes with the engine that carries it.
    Reloaded(Engine, Box<ReloadedConfig>),
}

/// How often the backup schedule is looked at.
const SCHEDULE_EVERY: Duration = Duration::from_secs(10);
/// How often (in ticks, seconds) the backups are read again from the repositories.
const BACKUPS_EVERY_TICKS: u64 = 30;

/// The newest audit records the console holds (the whole log stays in the store).
const AUDIT_WINDOW: u32 = 1000;

pub async fn run(engine: Engine, options: Options) -> std::io::Result<()> {
    let mut engine = engine;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let themes = load_themes(&engine, truecolor());
    let mut state = State::new(engine.config(), themes, options.mode, no_color, engine.now());

    let (mut tty, _restore) = terminal::enter()?;
    let size = tty.size()?;
    update(
        &mut state,
        super::action::Action::Resize { width: size.width, height: size.height },
        engine.now(),
    );
    update(
        &mut state,
        super::action::Action::Tick { local_offset: Local::now().offset().fix() },
        engine.now(),
    );

    let (tx, mut replies) = mpsc::unbounded_channel::<Reply>();
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    // The terminal went away (an SSH connection dropped, the window closed).
    let mut sighup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    let mut dirty = true;
    let mut first_frame = true;
    let (mut monitor, mut health) = start_monitor(&engine, &tx);
    let mut jobs = engine.jobs().subscribe();
    // What ran before, and what the repositories hold.
    carry_out(Effect::LoadBackups, &engine, None, &tx);
    {
        let (engine, tx) = (engine.clone(), tx.clone());
        tokio::spawn(async move {
            let list = engine.jobs().list(JOBS_SHOWN).await.unwrap_or_default();
            let _ = tx.send(Reply::Event(EngineEvent::Jobs(list)));
        });
    }
    // The backup schedule runs while the console does (never when read-only).
    let runs_schedule = |c: &crate::config::ConsoleConfig| c.run_schedule && !c.read_only;
    let mut scheduler =
        runs_schedule(&engine.config().console).then(|| engine.start_scheduler(SCHEDULE_EVERY));
    let mut ticks: u64 = 0;
    let mut hung_up = false;

    loop {
        if dirty {
            let now = engine.now();
            let theme = state.theme.clone();
            if let Err(e) = tty.draw(|frame| views::render(frame, &state, &theme, now)) {
                // The terminal is gone (a dropped connection): the jobs carry on without it.
                tracing::warn!(error = %e, "cannot draw: the terminal went away");
                hung_up = true;
                break;
            }
            dirty = false;
            if first_frame {
                first_frame = false;
                tracing::info!(
                    ms = options.started.elapsed().as_millis() as u64,
                    systems = state.estate.systems().len(),
                    "first frame drawn"
                );
            }
        }
        let event = tokio::select! {
            next = events.next() => match next {
                Some(Ok(TermEvent::Key(key))) => Event::Key(key),
                Some(Ok(TermEvent::Resize(width, height))) => Event::Resize { width, height },
                Some(Ok(TermEvent::Paste(text))) => Event::Paste(text),
                Some(Ok(_)) => continue,
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "the terminal went away");
                    hung_up = true;
                    break;
                }
                None => {
                    hung_up = true;
                    break;
                }
            },
            _ = tick.tick() => Event::Tick { local_offset: Local::now().offset().fix() },
            Some(reply) = replies.recv() => match reply {
                Reply::Event(e) => Event::Engine(e),
                Reply::Reloaded(new_engine, config) => {
                    engine = new_engine;
                    // The schedule follows the new configuration.
                    if let Some(s) = scheduler.take() {
                        s.abort();
                    }
                    scheduler = runs_schedule(&config.console).then(|| engine.start_scheduler(SCHEDULE_EVERY));
                    // Probe what the new configuration says to probe.
                    drop(monitor);
                    (monitor, health) = start_monitor(&engine, &tx);
                    Event::Engine(EngineEvent::ConfigReloaded(config))
                }
            },
            update = health.recv(), if monitor.is_some() => match update {
                Ok(MonitorEvent::Health { systems }) => Event::Engine(EngineEvent::Health(systems)),
                Ok(other) => {
                    // Kept for incident timelines and outage starts.
                    let engine = engine.clone();
                    tokio::spawn(async move { engine.record_monitor_event(&other).await });
                    continue;
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "the console fell behind the health monitor; catching up");
                    if let Some(m) = &monitor {
                        spawn_snapshot(m, &tx);
                    }
                    continue;
                }
                Err(_) => continue,
            },
            job = jobs.recv() => match job {
                Ok(crate::engine::jobs::JobEvent::Changed(j)) => Event::Engine(EngineEvent::Job(j)),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => continue,
            },
            _ = sigterm.recv() => {
                tracing::info!("SIGTERM: leaving the console");
                break;
            }
            _ = sighup.recv() => {
                tracing::info!("SIGHUP: the terminal went away; the jobs carry on");
                hung_up = true;
                break;
            }
        };
        let now = engine.now();
        if let Event::Tick { .. } = &event {
            ticks += 1;
            // What other processes on this state do (their jobs, incidents, commit windows),
            // and commit windows that ended.
            if ticks.is_multiple_of(2) {
                carry_out(Effect::LoadOps, &engine, None, &tx);
                // Proposals waiting at this console's gate: their proposer is alive.
                let jobs = engine.jobs().clone();
                tokio::spawn(async move {
                    if let Err(e) = jobs.heartbeat().await {
                        tracing::warn!(error = %e, "cannot record this console's heartbeat");
                    }
                });
            }
            if ticks.is_multiple_of(5) && !engine.config().console.read_only {
                let engine = engine.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    // A failed read leaves every state as it is, and says so.
                    let checked = match engine.apply_commit_timeouts().await {
                        Ok(done) => {
                            for d in done {
                                tracing::info!("{d}");
                            }
                            // Another process on this state may have died mid-job.
                            engine.settle_stopped().await
                        }
                        Err(e) => Err(e),
                    };
                    if let Err(e) = checked {
                        tracing::warn!(error = %e, "the shared state is unreadable: nothing was settled");
                        let _ = tx.send(Reply::Event(EngineEvent::StateUnreadable(e.to_string())));
                    }
                });
            }
            // Backups written by other processes (the schedule elsewhere, `warroom backup`).
            if ticks.is_multiple_of(BACKUPS_EVERY_TICKS) {
                carry_out(Effect::LoadBackups, &engine, None, &tx);
            }
        }
        if let (Event::Tick { .. }, Some(sim)) = (&event, &options.sim) {
            let faults: Vec<crate::sim::FaultState> =
                state.estate.systems().iter().map(|s| sim.fault(&s.name).unwrap_or_default()).collect();
            if faults != state.faults {
                update(&mut state, super::action::Action::Engine(EngineEvent::FaultsSeen(faults)), now);
            }
        }
        if let Some(action) = to_action(&state, event) {
            for effect in update(&mut state, action, now) {
                carry_out(effect, &engine, options.sim.as_ref(), &tx);
            }
            dirty = true;
        }
        if state.quit {
            break;
        }
    }
    if let Some(s) = scheduler {
        s.abort();
    }
    if hung_up {
        // Dropping the terminal would show the cursor on a terminal that is gone, and report
        // the failure on a closed stderr: leave it be.
        std::mem::forget(tty);
    } else {
        drop(tty);
    }
    if hung_up {
        // An SSH connection dropped mid-failover must not kill the failover: every job this
        // process started runs to its end (steps, validation, rollback), then it exits.
        let running = engine.jobs().running_here();
        if running > 0 {
            tracing::warn!(running, "no terminal: finishing the running jobs before exiting");
        }
        while engine.jobs().running_here() > 0 {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        tracing::info!("the jobs are done; exiting");
    } else {
        stop_jobs(&engine).await;
    }
    Ok(())
}

/// Cancel this process's running jobs and give them a moment to finish as Cancelled (what
/// they wrote is cleaned up); anything left is marked Interrupted by the next start.
async fn stop_jobs(engine: &Engine) {
    let mut ours = Vec::new();
    for job in engine.active_jobs().await {
        if engine.jobs().cancel_running(&job.id, engine.operator()).await.is_ok() {
            ours.push(job.id);
        }
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !ours.is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut still = Vec::new();
        for id in ours {
            if engine.jobs().get(&id).await.ok().flatten().is_some_and(|j| !j.state.finished()) {
                still.push(id);
            }
        }
        ours = still;
    }
}

/// The theme catalog for the configuration's folder and the user's (file I/O: done in the loop
/// or an effect task, never in `update`).
fn load_themes(engine: &Engine, truecolor: bool) -> ThemeCatalog {
    let config_dir = engine.config().path.parent().map(|p| p.to_owned()).unwrap_or_default();
    let themes = ThemeCatalog::load(&crate::config::console::theme_dirs(&config_dir, &ProcessEnv));
    for warning in &themes.warnings {
        tracing::warn!("{}", warning.0);
    }
    if truecolor { themes } else { themes.in_256_colors() }
}

fn truecolor() -> bool {
    std::env::var("COLORTERM").is_ok_and(|v| v == "truecolor" || v == "24bit")
}

/// Start the health monitor (when any system has a health check) and ask for everything it
/// knows; its updates arrive on the returned receiver.
fn start_monitor(
    engine: &Engine,
    tx: &mpsc::UnboundedSender<Reply>,
) -> (Option<Arc<Monitor>>, tokio::sync::broadcast::Receiver<MonitorEvent>) {
    if engine.config().systems.iter().all(|s| s.health.is_none()) {
        return (None, tokio::sync::broadcast::channel(1).1);
    }
    match engine.start_monitor() {
        Ok(monitor) => {
            let monitor = Arc::new(monitor);
            let events = monitor.subscribe();
            spawn_snapshot(&monitor, tx);
            (Some(monitor), events)
        }
        Err(e) => {
            let _ = tx.send(Reply::Event(EngineEvent::ConfigRejected(format!(
                "health monitoring cannot start: {e}"
            ))));
            (None, tokio::sync::broadcast::channel(1).1)
        }
    }
}

fn spawn_snapshot(monitor: &Arc<Monitor>, tx: &mpsc::UnboundedSender<Reply>) {
    let (monitor, tx) = (monitor.clone(), tx.clone());
    tokio::spawn(async move {
        let systems = monitor.snapshot().await;
        let _ = tx.send(Reply::Event(EngineEvent::Health(systems)));
    });
}

/// Run an effect on the engine in its own task; the result comes back as a reply. A panic in
/// the task becomes an error reply: the console carries on.
fn carry_out(effect: Effect, engine: &Engine, sim: Option<&SimHandle>, tx: &mpsc::UnboundedSender<Reply>) {
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
                config.themes = Some(load_themes(&new_engine, truecolor()));
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
                engine.spawn_job(&id);
                Reply::Event(EngineEvent::Jobs(engine.jobs().list(JOBS_SHOWN).await.unwrap_or_default()))
            }
            Err(refusal) => {
                let _ = engine.cancel_proposal(&id, engine.operator()).await;
                Reply::Event(EngineEvent::ActionFailed(format!("not approved, nothing ran: {refusal}")))
            }
        },
        Effect::CancelProposal { id } => match engine.cancel_proposal(&id, engine.operator()).await {
            Ok(()) => {
                Reply::Event(EngineEvent::Jobs(engine.jobs().list(JOBS_SHOWN).await.unwrap_or_default()))
            }
            Err(e) => Reply::Event(EngineEvent::ActionFailed(e.to_string())),
        },
        Effect::CancelJob { id } => match engine.jobs().cancel_running(&id, engine.operator()).await {
            Ok(()) => {
                Reply::Event(EngineEvent::Jobs(engine.jobs().list(JOBS_SHOWN).await.unwrap_or_default()))
            }
            Err(e) => Reply::Event(EngineEvent::ActionFailed(format!("cannot cancel {id}: {e}"))),
        },
        Effect::LoadBackups => backups_reply(&engine).await,
        Effect::LoadOps => ops_reply(&engine).await,
        Effect::Declare { kind, severity, systems } => {
            let incident = match engine.declare_incident(kind, severity, &systems, engine.operator()).await {
                Ok(i) => i,
                Err(e) => return Reply::Event(EngineEvent::ActionFailed(e)),
            };
            // Declaring proposes the recovery plan: the gate opens on it.
            match engine.plan_recover(&systems, Some(&incident.id)).await {
                Ok((spec, plan)) => match engine.propose(&spec, plan, engine.operator()).await {
                    Ok(job) => Reply::Event(EngineEvent::Proposed(Box::new(job))),
                    Err(e) => Reply::Event(EngineEvent::ActionFailed(format!(
                        "{} declared; the plan was refused: {e}",
                        incident.id
                    ))),
                },
                Err(e) => Reply::Event(EngineEvent::ActionFailed(format!(
                    "{} declared; no recovery plan: {e}",
                    incident.id
                ))),
            }
        }
        Effect::Commit { system } => match engine.commit(&system, engine.operator()).await {
            Ok(m) => Reply::Event(EngineEvent::Done(m)),
            Err(e) => Reply::Event(EngineEvent::ActionFailed(e)),
        },
        Effect::Note { incident, text } => {
            match engine.incident_note(&incident, &text, engine.operator()).await {
                Ok(()) => Reply::Event(EngineEvent::Done(format!("noted on {incident}"))),
                Err(e) => Reply::Event(EngineEvent::ActionFailed(e)),
            }
        }
        Effect::CloseIncident { incident, summary } => {
            match engine.close_incident(&incident, summary.as_deref(), engine.operator()).await {
                Ok(id) => Reply::Event(EngineEvent::Done(format!("{id} closed"))),
                Err(e) => Reply::Event(EngineEvent::ActionFailed(e)),
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
    Ok(super::action::Ops { states, incident, timeline, jobs })
}

/// Jobs the console loads.
const JOBS_SHOWN: u32 = 300;

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
