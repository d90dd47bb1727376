//! `warroom exercise ...` and `warroom actions ...`: running an exercise from the command line
//! (the facilitator's controls, the players' acknowledgements, the hot wash and the after-action
//! report), and the corrective actions it leaves, tracked to closure.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Subcommand;

use super::{CliError, logging, open_engine};
use crate::config::{Config, ProcessEnv};
use crate::engine::Engine;
use crate::engine::exercise::report::{
    AfterAction, Ending, HotWash, after_action_html, after_action_markdown,
};
use crate::engine::exercise::{Control, ExerciseView, Injector, Pending};
use crate::model::duration::human;
use crate::model::exercise::evaluate::Kind;
use crate::model::exercise::{ActionStatus, Rating, offset_text};
use crate::sim::control::{self, ControlClient};

const BAD_INPUT: u8 = 3;

#[derive(Debug, clap::Args)]
pub struct Where {
    /// Use the demo's state, where `warroom demo` keeps it (an exercise needs the demo running)
    #[arg(long, global = true)]
    pub demo: bool,
}

#[derive(Debug, Subcommand)]
pub enum ExerciseCommand {
    /// Open an exercise of the scenario FILE on its own clock and drive it here (ctrl-c stops
    /// driving; the exercise stays open for any console to drive)
    Start {
        file: PathBuf,
        /// Scenario seconds per second (10 runs a 30-minute scenario in 3 minutes)
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
        /// Open it and return: an open console drives it
        #[arg(long)]
        detach: bool,
    },
    /// Drive the open exercise here (after `start --detach`, or when the console that drove it closed)
    Run,
    /// The open (or newest) exercise: the facilitator's view of the MSEL, or --players' view
    Status {
        id: Option<String>,
        /// Only what players see: the released injects
        #[arg(long)]
        players: bool,
        #[arg(long)]
        json: bool,
    },
    /// Every exercise, newest first
    List {
        #[arg(long)]
        json: bool,
    },
    /// Stop the scenario clock: every countdown stops
    Pause,
    Resume,
    /// Set the scenario clock's speed (scenario seconds per second)
    Speed {
        speed: f64,
    },
    /// Move the clock on to an inject's time (one without a time is released now)
    Jump {
        inject: String,
    },
    /// Release a manual (or any pending) inject now
    Release {
        inject: String,
    },
    /// Skip a pending inject
    Skip {
        inject: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Mark an inject's expected action done (when warroom cannot see it happen)
    Resolve {
        inject: String,
        #[arg(long, default_value = "")]
        how: String,
    },
    /// A player acknowledges an inject
    Ack {
        inject: String,
    },
    /// An evaluator's observation, with its time and author
    Observe {
        text: String,
        #[arg(long)]
        inject: Option<String>,
        #[arg(long)]
        objective: Option<String>,
        /// strength, improvement or note
        #[arg(long, default_value = "note")]
        kind: String,
    },
    /// Confirm or change an objective's proposed rating (P, S, M, U, N/A), with the reason
    Rate {
        objective: String,
        rating: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// End the open exercise: the hot wash, faults cleared, the cleanup check, the improvement
    /// plan and the after-action report (exit 1 when the cleanup check finds a system not back)
    End {
        /// What went well (asked on a terminal when not given)
        #[arg(long = "went-well")]
        went_well: Vec<String>,
        /// What to improve (each one becomes a corrective action)
        #[arg(long)]
        improve: Vec<String>,
        /// A system in scope left failed over on purpose
        #[arg(long)]
        leave: Vec<String>,
        /// Who owns a corrective action no system owner takes (default: the facilitator)
        #[arg(long)]
        owner: Option<String>,
        /// When corrective actions fall due
        #[arg(long, default_value = "30d")]
        due: String,
    },
    /// The after-action report and improvement plan of an exercise (the open or newest one)
    Report {
        id: Option<String>,
        #[arg(long, default_value = "md", value_name = "md|json|html")]
        format: String,
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Open the console as a player: the released injects, acknowledged with `a`
    Join,
}

#[derive(Debug, Subcommand)]
pub enum ActionsCommand {
    /// Close a corrective action with its evidence
    Close {
        id: String,
        #[arg(long)]
        evidence: String,
    },
}

/// Faults set through the running demo's control API.
pub(super) struct ControlInjector(ControlClient);

impl Injector for ControlInjector {
    fn set<'a>(&'a self, system: &'a str, fault: &'a str) -> Pending<'a, String> {
        Box::pin(async move {
            let fault = crate::sim::Fault::parse_text(fault)?;
            self.0.set_fault(system, &fault.to_string()).await
        })
    }

    fn clear<'a>(&'a self, system: &'a str) -> Pending<'a, ()> {
        Box::pin(async move { self.0.set_fault(system, "healthy").await.map(|_| ()) })
    }
}

/// The engine on the configured state, or on the running demo's.
pub(super) async fn open(
    config: Option<PathBuf>,
    demo: bool,
) -> Result<(Engine, logging::Guard, Option<ControlInjector>), CliError> {
    if !demo {
        let (engine, guard) = open_engine(config, BAD_INPUT).await?;
        let injector =
            control::read_info(engine.state_dir()).ok().map(|i| ControlInjector(ControlClient::new(i)));
        return Ok((engine, guard, injector));
    }
    let mut config: Config = crate::sim::demo::load(config.as_deref(), &ProcessEnv)
        .map(|l| l.config)
        .map_err(|e| CliError::config(e, BAD_INPUT))?;
    super::error::override_operator(&mut config);
    let dir = crate::sim::demo::state_dir(&config);
    let info = control::read_info(&dir).map_err(|e| {
        CliError::message(
            format!("{e}; start the demo first (`warroom demo`), or leave out --demo"),
            BAD_INPUT,
        )
    })?;
    let client = ControlClient::new(info.clone());
    // Probe the simulated endpoints, as the demo does, so conditions see what the console sees.
    let listed = client.list().await.map_err(|e| CliError::message(e, BAD_INPUT))?;
    let pick = |key: &str| -> std::collections::BTreeMap<String, String> {
        listed
            .iter()
            .filter_map(|s| Some((s["name"].as_str()?.to_owned(), s[key].as_str()?.to_owned())))
            .collect()
    };
    crate::sim::demo::point_checks(&mut config, &pick("endpoint"));
    crate::sim::demo::point_replication(&mut config, &pick("replication"));
    crate::sim::demo::point_procedures(&mut config, &info.control, &info.token);
    // The demo's backups, key and all (a restore drill reads them); the demo runs the schedule.
    let schedule = config.console.run_schedule;
    crate::sim::demo::point_backups(&mut config).map_err(|e| CliError::message(e, BAD_INPUT))?;
    config.console.run_schedule = schedule;
    let guard = logging::init(&config.console.state_dir);
    let engine = Engine::open(config).await.map_err(|e| CliError::engine(e, BAD_INPUT))?;
    Ok((engine, guard, Some(ControlInjector(client))))
}

fn fail(e: impl std::fmt::Display) -> CliError {
    CliError::message(e.to_string(), BAD_INPUT)
}

pub async fn run(
    config: Option<PathBuf>,
    command: ExerciseCommand,
    demo: bool,
) -> Result<ExitCode, CliError> {
    if let ExerciseCommand::Join = command {
        return join(config, demo).await;
    }
    let (engine, _log, injector) = open(config, demo).await?;
    let injector = injector.as_ref().map(|i| i as &dyn Injector);
    let operator = engine.operator().to_owned();
    let control = |c: Control| {
        let (engine, operator) = (engine.clone(), operator.clone());
        async move {
            let done = c.done();
            let view = engine.control_exercise(c, &operator).await.map_err(fail)?;
            println!("{done}\n{}", headline(&view, engine.now()));
            Ok::<_, CliError>(ExitCode::SUCCESS)
        }
    };
    match command {
        ExerciseCommand::Start { file, speed, detach } => {
            let file = crate::config::scenario::find(&file.to_string_lossy(), &engine.config().path);
            let fault_ok = |f: &str| crate::sim::Fault::parse_text(f).map(|_| ());
            let (text, checked) =
                engine.check_scenario(&file, &fault_ok).map_err(|e| CliError::message(e, 2))?;
            for w in checked.report.warnings() {
                eprintln!("warning: {}", w.message);
            }
            let view = engine
                .start_exercise(&file, &text, checked.scenario, speed, &operator)
                .await
                .map_err(|e| CliError::message(e, 1))?;
            println!("{}", headline(&view, engine.now()));
            if detach {
                println!("open: an open console drives it (or `warroom exercise run`)");
                return Ok(ExitCode::SUCCESS);
            }
            drive(&engine, injector).await
        }
        ExerciseCommand::Run => drive(&engine, injector).await,
        ExerciseCommand::Status { id, players, json } => {
            let view = engine.exercise(id.as_deref()).await.map_err(fail)?;
            if json {
                println!("{}", status_json(&view, players, engine.now()));
            } else {
                print!("{}", status_text(&view, players, engine.now()));
            }
            Ok(ExitCode::SUCCESS)
        }
        ExerciseCommand::List { json } => {
            let all = engine.exercises().await.map_err(fail)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&all).unwrap_or_default());
            }
            for x in all.iter().filter(|_| !json) {
                println!(
                    "{:<16} {:<11} {:<20} {}  {}",
                    x.id,
                    x.kind.name(),
                    x.started_at.format("%Y-%m-%d %H:%M UTC"),
                    if x.ended_at.is_some() { "ended  " } else { "RUNNING" },
                    x.name
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        ExerciseCommand::Pause => control(Control::Pause).await,
        ExerciseCommand::Resume => control(Control::Resume).await,
        ExerciseCommand::Speed { speed } => control(Control::Speed(speed)).await,
        ExerciseCommand::Jump { inject } => control(Control::Jump(inject)).await,
        ExerciseCommand::Release { inject } => control(Control::Release(inject)).await,
        ExerciseCommand::Skip { inject, reason } => control(Control::Skip(inject, reason)).await,
        ExerciseCommand::Resolve { inject, how } => control(Control::Resolve(inject, how)).await,
        ExerciseCommand::Ack { inject } => control(Control::Acknowledge(inject)).await,
        ExerciseCommand::Observe { text, inject, objective, kind } => {
            let kind = Kind::parse(&kind).map_err(fail)?;
            control(Control::Observe { text, inject, objective, kind }).await
        }
        ExerciseCommand::Rate { objective, rating, reason } => {
            let rating = Rating::parse(&rating).map_err(fail)?;
            control(Control::Rate { objective, rating, reason }).await
        }
        ExerciseCommand::End { went_well, improve, leave, owner, due } => {
            let due_in = crate::config::values::parse_duration(&due).map_err(fail)?;
            let hot_wash = if went_well.is_empty() && improve.is_empty() && std::io::stdin().is_terminal() {
                hot_wash_prompt()?
            } else {
                HotWash { went_well, improve }
            };
            let ending = Ending { hot_wash, leave, owner, due_in: Some(due_in) };
            let (report, lines) = engine.end_exercise(ending, injector, &operator).await.map_err(fail)?;
            for l in lines {
                println!("{l}");
            }
            print!("{}", cleanup_text(&report));
            Ok(if report.cleanup.iter().all(|c| c.ok) { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
        ExerciseCommand::Report { id, format, out } => {
            let report = engine.after_action(id.as_deref()).await.map_err(fail)?;
            let text = match format.as_str() {
                "md" | "markdown" => after_action_markdown(&report),
                "json" => serde_json::to_string_pretty(&report).unwrap_or_default(),
                "html" => after_action_html(&report),
                other => return Err(fail(format!("there is no format \"{other}\": use md, json or html"))),
            };
            write_out(out.as_deref(), &text)
        }
        ExerciseCommand::Join => unreachable!("handled above"),
    }
}

fn write_out(out: Option<&Path>, text: &str) -> Result<ExitCode, CliError> {
    match out {
        Some(path) => {
            std::fs::write(path, text).map_err(|e| fail(format!("cannot write {}: {e}", path.display())))?;
            eprintln!("written: {}", path.display());
        }
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// The hot wash: what went well, what to improve, a line each, an empty line to finish.
fn hot_wash_prompt() -> Result<HotWash, CliError> {
    let ask = |question: &str| -> Result<Vec<String>, CliError> {
        eprintln!("{question} (one per line; an empty line ends)");
        let mut items = Vec::new();
        let stdin = std::io::stdin();
        loop {
            eprint!("  > ");
            let _ = std::io::stderr().flush();
            let mut line = String::new();
            if stdin.lock().read_line(&mut line).map_err(fail)? == 0 || line.trim().is_empty() {
                break;
            }
            items.push(line.trim().to_owned());
        }
        Ok(items)
    };
    eprintln!("Hot wash");
    let went_well = ask("What went well?")?;
    let improve = ask("What should improve? (each becomes a corrective action)")?;
    Ok(HotWash { went_well, improve })
}

/// Drive the open exercise until it ends or ctrl-c, probing the estate for its conditions.
async fn drive(engine: &Engine, injector: Option<&dyn Injector>) -> Result<ExitCode, CliError> {
    let monitor = engine.start_monitor().ok();
    let mut sigterm =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).map_err(fail)?;
    eprintln!("driving the exercise (ctrl-c stops driving; it stays open)");
    loop {
        let health = match &monitor {
            Some(m) => m.snapshot().await,
            None => Vec::new(),
        };
        let facts = engine.exercise_facts(&health).await;
        // The next wake counts from the pass's own clock reading, not from its end.
        let pass = tokio::time::Instant::now();
        let driven = match engine.drive_exercise(&facts, injector).await {
            Ok(Some(d)) => d,
            Ok(None) => {
                println!("no exercise is open");
                return Ok(ExitCode::SUCCESS);
            }
            Err(e) => {
                eprintln!("cannot read the exercise (trying again): {e}");
                Default::default()
            }
        };
        for line in &driven.lines {
            println!("{line}");
        }
        if driven.ended {
            println!("the exercise has ended");
            return Ok(ExitCode::SUCCESS);
        }
        // Wake for the next inject on the clock, and to read the facts and the controls.
        let wait = driven.next_wake.unwrap_or(POLL).min(POLL);
        tokio::select! {
            _ = tokio::time::sleep_until(pass + wait) => {}
            _ = tokio::signal::ctrl_c() => return Ok(ExitCode::SUCCESS),
            _ = sigterm.recv() => return Ok(ExitCode::SUCCESS),
        }
    }
}

/// How often the driver looks at the facts and the facilitator's controls.
const POLL: Duration = Duration::from_millis(250);

/// `EX-20261202-1 Regional outage (functional) +0:12:30 running at 10x`
fn headline(view: &ExerciseView, now: chrono::DateTime<chrono::Utc>) -> String {
    let run = &view.run;
    let state = if !view.is_open() {
        "ended".to_owned()
    } else if run.clock.paused() {
        "PAUSED".to_owned()
    } else if run.clock.speed() != 1.0 {
        format!("running at {}x", run.clock.speed())
    } else {
        "running".to_owned()
    };
    format!(
        "EXERCISE {} {} ({}) {} {state}",
        view.record.id,
        view.scenario().name,
        view.scenario().kind,
        offset_text(run.offset(now))
    )
}

/// The facilitator's view (every inject, its state, its expected action and what the players
/// did), or the players' (released injects only, no expected actions).
pub fn status_text(view: &ExerciseView, players: bool, now: chrono::DateTime<chrono::Utc>) -> String {
    let s = view.scenario();
    let run = &view.run;
    let mut out = format!("{}\n", headline(view, now));
    if !players {
        out.push_str(&format!("scope: {}\n", s.scope.join(", ")));
    }
    for (i, inject) in s.injects.iter().enumerate() {
        let r = &run.injects[i];
        if players && (!r.state.visible_to_players() || inject.facilitator_only()) {
            continue;
        }
        let when = match (r.released, run.countdowns(s, now).iter().find(|(j, _)| *j == i)) {
            (Some(at), _) => offset_text(at),
            (None, Some((_, left))) => format!("in {}", crate::model::duration::clock(*left)),
            (None, None) => inject.trigger.to_string(),
        };
        out.push_str(&format!(
            "{:<6} {:<12} {:<10} {}  [{} → {}]\n",
            inject.id,
            r.state.name(),
            when,
            inject.title,
            inject.from,
            inject.to
        ));
        if players {
            if !inject.body.is_empty() {
                out.push_str(&format!("       {}\n", inject.body.trim().replace('\n', "\n       ")));
            }
            continue;
        }
        if let Some(e) = &inject.expected {
            let left = match run.target_left(s, i, now) {
                Some(Ok(left)) => format!(", {} left", crate::model::duration::clock(left)),
                Some(Err(past)) => format!(", {} PAST", crate::model::duration::clock(past)),
                None => String::new(),
            };
            out.push_str(&format!("       expected: {} (within {}{left})\n", e.text, human(e.within)));
        }
        if let Some(how) = r.resolved.as_ref().or(r.skipped.as_ref()) {
            out.push_str(&format!("       {how}\n"));
        }
    }
    if !players && !run.seen.is_empty() {
        out.push_str("players did:\n");
        for seen in &run.seen {
            out.push_str(&format!("  {} {} ({})\n", offset_text(seen.offset), seen.act, seen.detail));
        }
    }
    out
}

fn status_json(view: &ExerciseView, players: bool, now: chrono::DateTime<chrono::Utc>) -> String {
    let s = view.scenario();
    let injects: Vec<serde_json::Value> = s
        .injects
        .iter()
        .zip(&view.run.injects)
        .filter(|(i, r)| !players || (r.state.visible_to_players() && !i.facilitator_only()))
        .map(|(i, r)| {
            let mut v = serde_json::json!({
                "id": i.id, "title": i.title, "type": i.kind, "from": i.from, "to": i.to, "body": i.body,
                "state": r.state, "released": r.released.map(offset_text),
                "acknowledged_by": r.acknowledged.as_ref().map(|a| &a.0),
            });
            if !players {
                v["trigger"] = i.trigger.to_string().into();
                v["expected"] = serde_json::to_value(&i.expected).unwrap_or_default();
                v["outcome"] =
                    serde_json::to_value(r.resolved.as_ref().or(r.skipped.as_ref())).unwrap_or_default();
            }
            v
        })
        .collect();
    let v = serde_json::json!({
        "id": view.record.id, "name": s.name, "type": s.kind, "open": view.is_open(),
        "offset": offset_text(view.run.offset(now)), "paused": view.run.clock.paused(), "speed": view.run.clock.speed(),
        "injects": injects,
    });
    serde_json::to_string_pretty(&v).unwrap_or_default()
}

fn cleanup_text(r: &AfterAction) -> String {
    let mut out = String::from("cleanup:\n");
    for c in &r.cleanup {
        out.push_str(&format!(
            "  {} {:<14} {:<22} {}\n",
            if c.ok { "✔" } else { "✘" },
            c.system,
            c.state,
            c.note
        ));
    }
    out
}

async fn join(config: Option<PathBuf>, demo: bool) -> Result<ExitCode, CliError> {
    super::need_terminal()?;
    let (engine, _log, _) = open(config, demo).await?;
    if engine.open_exercise().await.map_err(fail)?.is_none() {
        return Err(CliError::message(
            "no exercise is running to join: the facilitator starts one with `warroom exercise start FILE`",
            1,
        ));
    }
    let options = crate::tui::Options {
        mode: crate::tui::state::Mode::Live,
        started: std::time::Instant::now(),
        sim: None,
        player: true,
    };
    crate::tui::run(engine.clone(), options)
        .await
        .map_err(|e| CliError::message(format!("the console stopped: {e}"), 1))?;
    engine.close().await;
    Ok(ExitCode::SUCCESS)
}

/// `warroom actions [--json]` (exit 1 when one is overdue) and `warroom actions close`.
pub async fn actions(
    config: Option<PathBuf>,
    command: Option<ActionsCommand>,
    json: bool,
    demo: bool,
) -> Result<ExitCode, CliError> {
    let (engine, _log, _) = open(config, demo).await?;
    if let Some(ActionsCommand::Close { id, evidence }) = command {
        engine.close_action(&id, &evidence, engine.operator()).await.map_err(CliError::write)?;
        println!("{id} closed");
        return Ok(ExitCode::SUCCESS);
    }
    let all = engine.corrective_actions().await.map_err(fail)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&all).unwrap_or_default());
    } else if all.is_empty() {
        println!("no corrective actions");
    }
    for a in all.iter().filter(|_| !json) {
        let x = &a.action;
        println!(
            "{:<6} {:<8} due {}  {:<14} {}{}",
            x.id,
            a.status.name(),
            x.due.format("%Y-%m-%d"),
            x.owner,
            x.issue,
            x.system.as_ref().map(|s| format!("  [{s}]")).unwrap_or_default()
        );
    }
    let overdue = all.iter().any(|a| a.status == ActionStatus::Overdue);
    Ok(if overdue { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
