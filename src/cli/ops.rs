//! `warroom failover|failback|commit|plan|recover|approve|reject|confirm|abort|skip|retry|jobs`
//! and `warroom incident ...`: the recovery commands. Side effects pass the approval gate as
//! the backup commands do (`backup::gate_and_run`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use chrono::SecondsFormat;
use serde::Serialize;

use super::backup::{gate_and_run, render_plan};
use super::{CliError, open_engine};
use crate::engine::Engine;
use crate::engine::incident::report_markdown;
use crate::engine::jobs::{JobSnapshot, JobSpec, JobState, Proof, Refusal, Signal};
use crate::model::duration::human;
use crate::model::failover::{IncidentKind, Severity};

const FAILED: u8 = 1;
const REFUSED: u8 = 2;
const BAD_INPUT: u8 = 3;

fn bad(e: impl Into<String>) -> CliError {
    CliError::message(e, BAD_INPUT)
}

pub async fn failover(
    config: Option<PathBuf>,
    system: String,
    failback: bool,
    dry_run: bool,
    yes: bool,
) -> Result<ExitCode, CliError> {
    let (engine, _log) = open_engine(config, BAD_INPUT).await?;
    let (spec, plan) = engine.plan_procedure(&system, failback).await.map_err(bad)?;
    if dry_run {
        println!("{}", render_plan(&plan));
        println!("\ndry run: nothing was run");
        let _ = engine
            .audit(crate::model::audit::NewAuditRecord::new(
                engine.operator(),
                if failback { "failback.dry_run" } else { "failover.dry_run" },
                &system,
                crate::model::audit::Outcome::Recorded,
            ))
            .await;
        engine.close().await;
        return Ok(ExitCode::SUCCESS);
    }
    let code = gate_and_run(&engine, spec, plan, yes).await;
    engine.close().await;
    code
}

pub async fn commit(config: Option<PathBuf>, system: String) -> Result<ExitCode, CliError> {
    let (engine, _log) = open_engine(config, BAD_INPUT).await?;
    let result = engine.commit(&system, engine.operator()).await;
    engine.close().await;
    println!("{}", result.map_err(|e| CliError::message(e, REFUSED))?);
    Ok(ExitCode::SUCCESS)
}

pub async fn plan(config: Option<PathBuf>, systems: Vec<String>, json: bool) -> Result<ExitCode, CliError> {
    let (engine, _log) = open_engine(config, BAD_INPUT).await?;
    let systems = split(systems);
    let (spec, plan) = engine.plan_recover(&systems, None).await.map_err(bad)?;
    if json {
        let (p, methods) = engine.recovery_plan(&systems).await.map_err(bad)?;
        let graph = engine.config().estate.graph();
        let entries: Vec<serde_json::Value> = p
            .systems
            .iter()
            .map(|s| {
                serde_json::json!({
                    "name": graph.name(s.system),
                    "wave": s.wave + 1,
                    "method": methods[s.system],
                    "waits_for": s.waits_for.iter().map(|d| graph.name(*d)).collect::<Vec<_>>(),
                    "estimate_seconds": s.duration.as_secs(),
                    "start_seconds": s.start.as_secs(),
                    "finish_seconds": s.finish.as_secs(),
                    "rto_left_seconds": s.rto_left.map(|d| d.as_secs()),
                    "breach": s.breach,
                })
            })
            .collect();
        let doc = serde_json::json!({
            "schema": "warroom.plan/1",
            "generated_at": engine.now().to_rfc3339_opts(SecondsFormat::Secs, true),
            "total_seconds": p.total.as_secs(),
            "waves": p.waves.len(),
            "systems": entries,
        });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        println!("{}", render_plan(&plan));
        println!("\nnothing runs: `warroom recover {}` runs this plan", systems.join(" "));
    }
    let _ = spec;
    engine.close().await;
    Ok(ExitCode::SUCCESS)
}

pub async fn recover(config: Option<PathBuf>, systems: Vec<String>, yes: bool) -> Result<ExitCode, CliError> {
    let (engine, _log) = open_engine(config, BAD_INPUT).await?;
    let systems = split(systems);
    // The open incident's plan, as from the console: its screen and report follow this one.
    let incident = engine.incident(None).await.ok().map(|i| i.id);
    let (spec, plan) = engine.plan_recover(&systems, incident.as_deref()).await.map_err(bad)?;
    if let JobSpec::Recover { incident: Some(id), .. } = &spec {
        eprintln!("for incident {id}");
    }
    let code = gate_and_run(&engine, spec, plan, yes).await;
    engine.close().await;
    code
}

/// `a,b c` -> [a, b, c]
fn split(systems: Vec<String>) -> Vec<String> {
    systems
        .iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `warroom approve JOB`: an approval from this operator (the second, for two-person). The
/// process that proposed it runs it, while it lives; if it is gone, this one does.
pub async fn approve(config: Option<PathBuf>, job: String, yes: bool) -> Result<ExitCode, CliError> {
    let (engine, _log) = open_engine(config, BAD_INPUT).await?;
    let snapshot = find_job(&engine, &job).await?;
    let operator = engine.operator().to_owned();
    // Approved already: it runs in the process that proposed it, or (that one gone) here.
    if snapshot.state == JobState::Approved {
        eprintln!("{} is approved already (by {})", snapshot.id, snapshot.approvals.join(" and "));
        let code = run_or_watch(&engine, &snapshot.id, &operator).await;
        engine.close().await;
        return code;
    }
    eprintln!("{}", render_plan(&snapshot.plan));
    eprintln!("  proposed by {} · policy {}", snapshot.proposed_by, snapshot.policy.name());
    let proof = super::backup::ask_proof(&snapshot, yes)?;
    let Some(proof) = proof else {
        eprintln!("not approved (nothing changed)");
        return Ok(ExitCode::from(REFUSED));
    };
    let code = match engine.approve(&snapshot.id, &operator, &proof).await {
        Ok(j) => {
            println!("{} approved by {operator}", j.id);
            run_or_watch(&engine, &j.id, &operator).await
        }
        // Given, and counted: the job waits for the second.
        Err(Refusal::AwaitingSecond { job, first }) => {
            println!("{job} approved by {first}, the first of two");
            eprintln!(
                "the two-person policy needs a second person: they approve it from their own console, \
                 or run `warroom approve {job}` as themselves; it waits for them"
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Err(CliError::message(format!("not approved: {e}"), REFUSED)),
    };
    engine.close().await;
    code
}

/// An approved job is run by the live process that proposed it: wait until it starts there, and
/// if that process is gone (its pid on this host; its heartbeat on another, older than the
/// heartbeat timeout), run it here, so an approval is never left with nobody to carry it out.
async fn run_or_watch(engine: &Engine, id: &str, operator: &str) -> Result<ExitCode, CliError> {
    let patience = engine.jobs().heartbeat_timeout() * 2 + Duration::from_secs(5);
    let began = std::time::Instant::now();
    let mut said = false;
    loop {
        let (job, owner) = engine
            .jobs()
            .get_with_owner(id)
            .await
            .map_err(|e| CliError::engine(e, 3))?
            .ok_or_else(|| CliError::message(format!("{id} is gone from the state"), 1))?;
        let who = owner.words.as_deref().unwrap_or("unknown");
        match job.state {
            JobState::Approved => {}
            JobState::Running => {
                eprintln!("it runs in the process that proposed it ({who}): `warroom jobs` shows it");
                return Ok(ExitCode::SUCCESS);
            }
            state => {
                eprintln!(
                    "the process that proposed it ({who}) carried it out: {state}{}",
                    job.outcome.map(|o| format!(": {o}")).unwrap_or_default()
                );
                return Ok(ExitCode::SUCCESS);
            }
        }
        if !owner.alive {
            engine
                .may_take_over(&job, operator)
                .await
                .map_err(|e| CliError::message(e.to_string(), REFUSED))?;
            if owner.words.is_some() {
                eprintln!("the process that proposed it ({who}) is gone: this one runs it");
            }
            return super::backup::run_with_progress(engine, id, operator).await;
        }
        if !said {
            eprintln!("the process that proposed it ({who}) runs it: waiting for it to start");
            said = true;
        }
        if began.elapsed() > patience {
            eprintln!(
                "it has not started yet, and that process is alive: it runs it when it can (`warroom jobs` shows it)"
            );
            return Ok(ExitCode::SUCCESS);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

pub async fn reject(config: Option<PathBuf>, job: String) -> Result<ExitCode, CliError> {
    let (engine, _log) = open_engine(config, BAD_INPUT).await?;
    let snapshot = find_job(&engine, &job).await?;
    engine
        .cancel_proposal(&snapshot.id, engine.operator())
        .await
        .map_err(|e| CliError::message(e.to_string(), REFUSED))?;
    println!("{} rejected by {}: it will not run", snapshot.id, engine.operator());
    engine.close().await;
    Ok(ExitCode::SUCCESS)
}

/// Answer a running job: a manual step done (`confirm`) or not (`abort`); a plan's system
/// `skip`ped or `retry`'d.
pub async fn signal(
    config: Option<PathBuf>,
    job: String,
    signal: Signal,
    system: Option<String>,
) -> Result<ExitCode, CliError> {
    let (engine, _log) = open_engine(config, BAD_INPUT).await?;
    let snapshot = find_job(&engine, &job).await?;
    engine
        .signal_job(&snapshot.id, signal, system.as_deref(), engine.operator())
        .await
        .map_err(|e| CliError::message(e, REFUSED))?;
    println!("{signal} sent to {}", snapshot.id);
    engine.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn find_job(engine: &Engine, id: &str) -> Result<JobSnapshot, CliError> {
    let jobs = engine.jobs().list(1000).await.map_err(|e| CliError::message(e.to_string(), BAD_INPUT))?;
    let found: Vec<&JobSnapshot> = jobs.iter().filter(|j| j.id == id || j.id.starts_with(id)).collect();
    match found.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(bad(format!("there is no job \"{id}\" (see `warroom jobs`)"))),
        _ => Err(bad(format!("\"{id}\" matches several jobs; give more of the id"))),
    }
}

#[derive(Serialize)]
struct JobLine<'a> {
    #[serde(flatten)]
    job: &'a JobSnapshot,
}

pub async fn jobs(config: Option<PathBuf>, json: bool, limit: u32) -> Result<ExitCode, CliError> {
    let (engine, _log) = open_engine(config, BAD_INPUT).await?;
    let jobs = engine.jobs().list(limit).await.map_err(|e| CliError::message(e.to_string(), BAD_INPUT))?;
    if json {
        let lines: Vec<JobLine> = jobs.iter().map(|job| JobLine { job }).collect();
        let doc = serde_json::json!({
            "schema": "warroom.jobs/1",
            "generated_at": engine.now().to_rfc3339_opts(SecondsFormat::Secs, true),
            "jobs": lines,
        });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else if jobs.is_empty() {
        println!("no jobs yet");
    } else {
        for j in &jobs {
            let when = j.proposed_at.map(|t| t.format("%m-%d %H:%M:%S").to_string()).unwrap_or_default();
            let what = match j.state {
                JobState::Running => match j.progress.total {
                    Some(total) => format!("{} {}/{}", j.progress.stage, j.progress.done, total),
                    // A program's output: how much is not known until it ends.
                    None if j.progress.done > 0 => format!("{} {} so far", j.progress.stage, j.progress.done),
                    None => j.progress.stage.clone(),
                },
                _ => j.outcome.clone().unwrap_or_else(|| j.plan.title.clone()),
            };
            println!(
                "{}  {when}  {} {:<11} {:<12} {:<14} {what}",
                j.id,
                j.state.symbol(),
                j.state.name(),
                j.kind,
                j.target
            );
            if j.state == JobState::Proposed {
                println!(
                    "    proposed by {}; waits for {}: their console's jobs screen, or `warroom approve {}` as them",
                    j.proposed_by,
                    engine.waits_for(j).await,
                    j.id
                );
            }
            // Approved, and nobody to run it: say who can.
            if j.state == JobState::Approved {
                let owner = engine.jobs().get_with_owner(&j.id).await.map_err(|e| CliError::engine(e, 3))?;
                if let Some((_, owner)) = owner.filter(|(_, o)| !o.alive) {
                    println!(
                        "    approved by {}; the process that proposed it ({}) is gone: `warroom approve {}` \
                         as {} runs it, `warroom reject {}` withdraws it",
                        j.approvals.join(" and "),
                        owner.words.as_deref().unwrap_or("unknown"),
                        j.id,
                        j.takers().join(" or "),
                        j.id
                    );
                }
            }
        }
    }
    engine.close().await;
    Ok(ExitCode::SUCCESS)
}

pub async fn incident_declare(
    config: Option<PathBuf>,
    kind: String,
    severity: String,
    systems: Vec<String>,
    yes: bool,
) -> Result<ExitCode, CliError> {
    let kind = IncidentKind::parse(&kind).map_err(bad)?;
    let severity = Severity::parse(&severity).map_err(bad)?;
    let (engine, _log) = open_engine(config, BAD_INPUT).await?;
    let systems = split(systems);
    engine.check_affected(&systems).map_err(bad)?;
    let incident = engine
        .declare_incident(kind, severity, &systems, engine.operator())
        .await
        .map_err(CliError::write)?;
    println!("{} declared: {} {} · {}", incident.id, incident.kind, incident.severity, systems.join(", "));
    // Declaring proposes the initial notice (T+0) to the stakeholders, then the recovery plan.
    if !engine.config().notify.contacts.is_empty() {
        match engine.plan_notice(Some(&incident.id), Some(crate::model::comms::Stage::Initial), &[], "").await
        {
            Ok((spec, plan)) => {
                if let Err(e) = gate_and_run(&engine, spec, plan, yes).await {
                    eprintln!("{}", e.render(false));
                }
            }
            Err(e) => eprintln!("no initial notice: {e}"),
        }
    }
    // Declaring proposes the recovery plan for the affected systems.
    let (spec, plan) = match engine.plan_recover(&systems, Some(&incident.id)).await {
        Ok(p) => p,
        Err(e) => {
            eprintln!("no recovery plan: {e}");
            engine.close().await;
            return Ok(ExitCode::SUCCESS);
        }
    };
    let code = gate_and_run(&engine, spec, plan, yes).await;
    engine.close().await;
    code
}

pub async fn incident_list(config: Option<PathBuf>, json: bool) -> Result<ExitCode, CliError> {
    let (engine, _log) = open_engine(config, BAD_INPUT).await?;
    // An unreadable state is UNKNOWN (3), never "no incidents".
    let all = engine.incidents().await.map_err(|e| CliError::engine(e, 3))?;
    if json {
        let list: Vec<serde_json::Value> = all
            .iter()
            .map(|i| {
                serde_json::json!({
                    "id": i.id, "type": i.kind, "severity": i.severity, "systems": i.systems,
                    "declared_by": i.declared_by, "declared_at": i.declared_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                    "plan_job": i.plan_job, "closed_at": i.closed_at.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true)),
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({ "schema": "warroom.incidents/1", "incidents": list })
            )
            .unwrap_or_default()
        );
    } else if all.is_empty() {
        println!("no incidents");
    } else {
        for i in &all {
            let state = match i.closed_at {
                Some(t) => format!("closed {}", t.format("%Y-%m-%d %H:%M")),
                None => {
                    format!("OPEN {}", human((engine.now() - i.declared_at).to_std().unwrap_or_default()))
                }
            };
            println!("{}  {:<14} {}  {:<16} {}", i.id, i.kind, i.severity, state, i.systems.join(", "));
        }
    }
    engine.close().await;
    Ok(ExitCode::SUCCESS)
}

pub async fn incident_show(config: Option<PathBuf>, id: Option<String>) -> Result<ExitCode, CliError> {
    let (engine, _log) = open_engine(config, BAD_INPUT).await?;
    let incident = engine.incident(id.as_deref()).await.map_err(bad)?;
    println!(
        "{} · {} {} · declared {} by {}",
        incident.id,
        incident.kind,
        incident.severity,
        incident.declared_at.format("%Y-%m-%d %H:%M:%S UTC"),
        incident.declared_by
    );
    println!("systems: {}", incident.systems.join(", "));
    if let Some(job) = &incident.plan_job {
        println!("plan: {job}");
    }
    for e in engine.timeline(&incident).await.map_err(|e| CliError::engine(e, 3))? {
        println!(
            "  {}  {:<10} {:<22} {}{}",
            e.at.format("%H:%M:%S"),
            e.system.as_deref().unwrap_or("-"),
            e.kind,
            e.who.as_deref().map(|w| format!("{w}: ")).unwrap_or_default(),
            e.text
        );
    }
    engine.close().await;
    Ok(ExitCode::SUCCESS)
}

pub async fn incident_note(
    config: Option<PathBuf>,
    id: Option<String>,
    text: String,
) -> Result<ExitCode, CliError> {
    let (engine, _log) = open_engine(config, BAD_INPUT).await?;
    let incident = engine.incident(id.as_deref()).await.map_err(bad)?;
    engine.incident_note(&incident.id, &text, engine.operator()).await.map_err(CliError::write)?;
    println!("noted on {}", incident.id);
    engine.close().await;
    Ok(ExitCode::SUCCESS)
}

pub async fn incident_close(
    config: Option<PathBuf>,
    id: Option<String>,
    summary: Option<String>,
    yes: bool,
) -> Result<ExitCode, CliError> {
    let (engine, _log) = open_engine(config, BAD_INPUT).await?;
    let incident = engine.incident(id.as_deref()).await.map_err(bad)?;
    let closed = engine
        .close_incident(&incident.id, summary.as_deref(), engine.operator())
        .await
        .map_err(CliError::write)?;
    println!("{closed} closed");
    // Closing proposes the resolution notice to the stakeholders.
    let mut code = ExitCode::SUCCESS;
    if !engine.config().notify.contacts.is_empty() {
        match engine.plan_notice(Some(&closed), Some(crate::model::comms::Stage::Resolution), &[], "").await {
            Ok((spec, plan)) => match gate_and_run(&engine, spec, plan, yes).await {
                Ok(c) => code = c,
                Err(e) => eprintln!(
                    "{}
the resolution notice is still due: `warroom notify send --stage resolution --incident {closed}`",
                    e.render(false)
                ),
            },
            Err(e) => eprintln!("no resolution notice: {e}"),
        }
    }
    engine.close().await;
    Ok(code)
}

pub async fn incident_report(
    config: Option<PathBuf>,
    id: Option<String>,
    format: String,
) -> Result<ExitCode, CliError> {
    let (engine, _log) = open_engine(config, BAD_INPUT).await?;
    let incident = engine.incident(id.as_deref()).await.map_err(bad)?;
    let report = engine.report(&incident).await.map_err(|e| CliError::message(e, 3))?;
    match format.as_str() {
        "json" => {
            let mut doc = serde_json::to_value(&report).unwrap_or_default();
            doc["schema"] = serde_json::json!("warroom.incident-report/1");
            println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        }
        "md" | "markdown" => print!("{}", report_markdown(&report)),
        other => return Err(bad(format!("there is no report format \"{other}\": use md or json"))),
    }
    engine.close().await;
    let _ = FAILED;
    Ok(ExitCode::SUCCESS)
}

/// The proof for approving `job` here: asked on a terminal, `--yes` otherwise.
pub fn proof_for(job: &JobSnapshot, yes: bool) -> Result<Option<Proof>, CliError> {
    super::backup::ask_proof(job, yes)
}
