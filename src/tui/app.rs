//! The app loop: one `select!` over terminal events, a 1 Hz tick, the engine's replies and
//! SIGTERM. Each event becomes an action, `update` changes the state and returns effects, the
//! loop carries the effects out on the engine and redraws only when something changed.

use std::time::{Duration, Instant};

use chrono::{Local, Offset};
use crossterm::event::{Event as TermEvent, EventStream};
use futures_util::StreamExt;
use tokio::sync::mpsc;

use std::sync::Arc;

use crate::engine::Engine;
use crate::engine::monitor::{Monitor, MonitorEvent};

use super::action::{Effect, EngineEvent, Event};
use super::effects::{Reply, carry_out, jobs_reply};
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
    /// Joined an exercise as a player: its players' view, nothing of the facilitator's.
    pub player: bool,
}

/// How often the backup schedule is looked at.
const SCHEDULE_EVERY: Duration = Duration::from_secs(10);
/// How often (in ticks, seconds) the backups are read again from the repositories.
const BACKUPS_EVERY_TICKS: u64 = 30;

pub async fn run(engine: Engine, options: Options) -> std::io::Result<()> {
    let mut engine = engine;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let themes = ThemeCatalog::for_config(engine.config(), super::theme::truecolor());
    let mut state = State::new(engine.config(), themes, options.mode, no_color, engine.now());
    state.set_standing(engine.standing());
    if options.player {
        state.player = true;
        state.screen = super::state::Screen::Exercise;
    }

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
    // A shared PostgreSQL state tells of other hosts' writes as they commit; SQLite is polled.
    let mut link = engine.listen();
    // Whether the link is up: while it is down, the shared state is polled as often as SQLite.
    let mut link_up = true;
    // What ran before, and what the repositories hold.
    carry_out(Effect::LoadBackups, &engine, None, &tx);
    {
        let (engine, tx) = (engine.clone(), tx.clone());
        tokio::spawn(async move {
            let _ = tx.send(jobs_reply(&engine).await);
        });
    }
    // The backup schedule runs while the console does (never when read-only).
    let runs_schedule = |c: &crate::config::ConsoleConfig| c.run_schedule && !c.read_only;
    let mut scheduler =
        runs_schedule(&engine.config().console).then(|| engine.start_scheduler(SCHEDULE_EVERY));
    // An open console delivers the outbox too (never when read-only).
    let mut deliverer = start_deliverer(&engine);
    // An open console drives the running exercise too (its releases are recorded once).
    let mut driver = start_exercise_driver(&engine, monitor.clone(), options.sim.clone(), &tx);
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
                    link = engine.listen();
                    link_up = true;
                    // The schedule follows the new configuration.
                    if let Some(s) = scheduler.take() {
                        s.abort();
                    }
                    scheduler = runs_schedule(&config.console).then(|| engine.start_scheduler(SCHEDULE_EVERY));
                    // Deliver with the new channels.
                    if let Some(stop) = deliverer.take() {
                        let _ = stop.send(true);
                    }
                    deliverer = start_deliverer(&engine);
                    // Probe what the new configuration says to probe.
                    drop(monitor);
                    (monitor, health) = start_monitor(&engine, &tx);
                    if let Some(d) = driver.take() {
                        d.abort();
                    }
                    driver = start_exercise_driver(&engine, monitor.clone(), options.sim.clone(), &tx);
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
            heard = async {
                match link.as_mut() {
                    Some(l) => l.recv().await,
                    None => std::future::pending().await,
                }
            } => match heard {
                Some(crate::engine::StateLink::Changed) => {
                    // Several at once are one read.
                    while let Some(Ok(crate::engine::StateLink::Changed)) = link.as_mut().map(|l| l.try_recv()) {}
                    carry_out(Effect::LoadOps, &engine, None, &tx);
                    continue;
                }
                Some(crate::engine::StateLink::Lost(why)) => {
                    link_up = false;
                    Event::Engine(EngineEvent::StateLinkLost(why))
                }
                Some(crate::engine::StateLink::Restored) => {
                    link_up = true;
                    Event::Engine(EngineEvent::StateLinkRestored)
                }
                None => {
                    link = None;
                    continue;
                }
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
            // With a live link, the poll is only a safety net.
            if ticks.is_multiple_of(if link.is_some() && link_up { OPS_POLL_LINKED } else { 2 }) {
                carry_out(Effect::LoadOps, &engine, None, &tx);
            }
            if ticks.is_multiple_of(2) {
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
    if let Some(stop) = deliverer {
        let _ = stop.send(true);
    }
    if let Some(d) = driver {
        d.abort();
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
    for id in engine.jobs().running_ids() {
        if engine.jobs().cancel_running(&id, engine.operator()).await.is_ok() {
            ours.push(id);
        }
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !ours.is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut still = Vec::new();
        for id in ours {
            // Unreadable: still waited for (until the deadline), never taken for finished.
            let running = match engine.jobs().get(&id).await {
                Ok(job) => job.is_some_and(|j| !j.state.finished()),
                Err(_) => true,
            };
            if running {
                still.push(id);
            }
        }
        ours = still;
    }
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

/// Deliver the outbox in the background until told to stop; `None` when read-only.
fn start_deliverer(engine: &Engine) -> Option<tokio::sync::watch::Sender<bool>> {
    if engine.config().console.read_only {
        return None;
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let deliverer = crate::engine::comms::deliver::Deliverer::new(engine);
    tokio::spawn(async move {
        deliverer
            .run(stopped, |r| {
                tracing::info!(
                    delivered = r.delivered,
                    retrying = r.retrying,
                    failed = r.failed,
                    "outbox round"
                )
            })
            .await
    });
    Some(stop)
}

/// How often the exercise driver looks at the facts and the facilitator's controls; it wakes
/// sooner for an inject that falls due sooner.
/// Ticks (seconds) between reads of the shared state when a live link tells of changes.
const OPS_POLL_LINKED: u64 = 15;

const EXERCISE_POLL: Duration = Duration::from_millis(250);
/// How often it looks for an exercise when none is running.
const EXERCISE_IDLE: Duration = Duration::from_secs(1);

/// Drive the running exercise in the background: what the players did, the injects that fall
/// due, the faults of technical injects (on the demo's simulated estate). `None` when read-only.
fn start_exercise_driver(
    engine: &Engine,
    monitor: Option<Arc<Monitor>>,
    sim: Option<crate::sim::SimHandle>,
    tx: &mpsc::UnboundedSender<Reply>,
) -> Option<tokio::task::JoinHandle<()>> {
    if engine.config().console.read_only {
        return None;
    }
    let (engine, tx) = (engine.clone(), tx.clone());
    Some(tokio::spawn(async move {
        let injector = sim.map(super::effects::SimInjector);
        loop {
            let health = match &monitor {
                Some(m) => m.snapshot().await,
                None => Vec::new(),
            };
            let facts = engine.exercise_facts(&health).await;
            let injector = injector.as_ref().map(|i| i as &dyn crate::engine::exercise::Injector);
            // The next wake counts from the pass's own clock reading, not from its end.
            let pass = tokio::time::Instant::now();
            let wait = match engine.drive_exercise(&facts, injector).await {
                Ok(Some(driven)) => {
                    let wait = driven.next_wake.unwrap_or(EXERCISE_POLL).min(EXERCISE_POLL);
                    if !driven.lines.is_empty() {
                        let _ = tx.send(Reply::Event(EngineEvent::ExerciseDriven(driven.lines)));
                    }
                    if driven.ended { EXERCISE_IDLE } else { wait }
                }
                Ok(None) => EXERCISE_IDLE,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot drive the exercise (trying again)");
                    EXERCISE_IDLE
                }
            };
            tokio::time::sleep_until(pass + wait).await;
        }
    }))
}

fn spawn_snapshot(monitor: &Arc<Monitor>, tx: &mpsc::UnboundedSender<Reply>) {
    let (monitor, tx) = (monitor.clone(), tx.clone());
    tokio::spawn(async move {
        let systems = monitor.snapshot().await;
        let _ = tx.send(Reply::Event(EngineEvent::Health(systems)));
    });
}
