//! `warroom keygen`, `warroom backup run|list|verify|restore|prune|schedule` and `warroom rpo`.
//!
//! Every action goes through the approval gate: the plan is printed, then on a terminal the
//! operator is asked (default No; the typed policy asks for the system's name); without a
//! terminal nothing runs unless `--yes` is given, and `--yes` is audited. Exit codes: 0 done,
//! 1 the job failed, 2 refused at the gate (nothing ran), 3 could not start (bad input).

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use super::status::UNKNOWN;
use super::{CliError, open_engine};
use crate::engine::Engine;
use crate::engine::backup::catalog::BackupView;
use crate::engine::jobs::{
    JobEvent, JobKind, JobSnapshot, JobSpec, JobState, Plan, Proof, Refusal, Signal, Unit,
};
use crate::model::ApprovalPolicy;
use crate::model::backup::{bytes, schedule_text, when};
use crate::model::duration::human;

const FAILED: u8 = 1;
const REFUSED: u8 = 2;
const BAD_INPUT: u8 = 3;

/// `warroom keygen`: a new age key pair, and beside it the backup host's signing key pair.
/// The private keys go to `out` and `out.signing` (0600, never over an existing file), the
/// signing public key also to `out.signing.pub` (minisign's format); what to put in
/// `[encryption]` is printed.
pub fn keygen(out: PathBuf, signing_only: bool) -> Result<ExitCode, CliError> {
    use crate::engine::backup::keys;
    use age::secrecy::ExposeSecret;
    let (signing_path, public_path) = if signing_only {
        (out.clone(), PathBuf::from(format!("{}.pub", out.display())))
    } else {
        (
            PathBuf::from(format!("{}.signing", out.display())),
            PathBuf::from(format!("{}.signing.pub", out.display())),
        )
    };
    let mut made = vec![&signing_path, &public_path];
    if !signing_only {
        made.push(&out);
    }
    for p in made {
        if p.exists() {
            return Err(CliError::message(
                format!(
                    "{} exists: a key is never overwritten (backups made to it would be lost); choose another --out",
                    p.display()
                ),
                BAD_INPUT,
            ));
        }
    }
    let absolute = |p: &PathBuf| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
    let bad = |e: String| CliError::message(e, BAD_INPUT);
    if signing_only {
        let signing = keys::generate().map_err(|e| CliError::message(e, FAILED))?;
        keys::write_new_private(&signing_path, &signing.file_text()).map_err(bad)?;
        std::fs::write(&public_path, signing.public().file_text())
            .map_err(|e| bad(format!("cannot write {}: {e}", public_path.display())))?;
        println!("signers = [\"{}\"]", signing.public().encoded());
        println!("signing_key_file = \"{}\"", absolute(&signing_path).display());
        eprintln!(
            "signing key {} written to {} (mode 600): it stays on the backup host; its public half is in {}.\nPut the lines above in [encryption] (signers on every host that reads the backups).",
            signing.public().key_id(),
            signing_path.display(),
            public_path.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let identity = age::x25519::Identity::generate();
    let public = identity.to_public().to_string();
    let text = format!(
        "# created: {}\n# public key: {public}\n{}\n",
        Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
        identity.to_string().expose_secret()
    );
    let signing = keys::generate().map_err(|e| CliError::message(e, FAILED))?;
    keys::write_new_private(&out, &text).map_err(bad)?;
    keys::write_new_private(&signing_path, &signing.file_text()).map_err(bad)?;
    std::fs::write(&public_path, signing.public().file_text())
        .map_err(|e| bad(format!("cannot write {}: {e}", public_path.display())))?;
    println!("recipients = [\"{public}\"]");
    println!("signers = [\"{}\"]", signing.public().encoded());
    println!("signing_key_file = \"{}\"", absolute(&signing_path).display());
    eprintln!(
        "age private key written to {} (mode 600): keep it safe and away from the backups; set\n\
         identity_file to it only where restores happen.\n\
         signing key {} written to {} (mode 600): it stays on the backup host, which signs every\n\
         backup with it; its public half is in {} (for `minisign -V -p`).\n\
         Put the lines above in [encryption].",
        out.display(),
        signing.public().key_id(),
        signing_path.display(),
        public_path.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `warroom keygen --for NAME`: an operator's own key (for a remote console) and their
/// `[[operators]]` entry.
pub fn keygen_operator(out: PathBuf, name: &str) -> Result<ExitCode, CliError> {
    use crate::engine::backup::keys;
    let name = name.trim();
    if name.is_empty() || name.contains('"') {
        return Err(CliError::message(
            "--for takes the operator's name, as [[operators]] will list it",
            BAD_INPUT,
        ));
    }
    // The backup key's default name is not one for a person's key.
    let out =
        if out == Path::new("warroom-backup-key.txt") { PathBuf::from(format!("{name}.key")) } else { out };
    let public_path = PathBuf::from(format!("{}.pub", out.display()));
    for p in [&out, &public_path] {
        if p.exists() {
            return Err(CliError::message(
                format!("{} exists: a key is never overwritten; choose another --out", p.display()),
                BAD_INPUT,
            ));
        }
    }
    let key = keys::generate().map_err(|e| CliError::message(e, FAILED))?;
    keys::write_new_private(&out, &key.file_text()).map_err(|e| CliError::message(e, BAD_INPUT))?;
    std::fs::write(&public_path, key.public().file_text())
        .map_err(|e| CliError::message(format!("cannot write {}: {e}", public_path.display()), BAD_INPUT))?;
    println!("[[operators]]");
    println!("name = \"{name}\"");
    println!("roles = [\"operator\"]   # commander, approver, operator or observer");
    println!("key = \"{}\"", key.public().encoded());
    let absolute = std::fs::canonicalize(&out).unwrap_or_else(|_| out.clone());
    eprintln!(
        "{name}'s key {} written to {} (mode 600): it stays with {name}, on their console.\n\
         Put the entry above in every host's configuration (choose the roles), and on {name}'s console\n\
         operator_key_file = \"{}\" in [console] (or WARROOM_OPERATOR_KEY_FILE={}).",
        key.public().key_id(),
        out.display(),
        absolute.display(),
        absolute.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Propose `spec` with `plan`, get it through the gate and run it with progress.
pub async fn gate_and_run(
    engine: &Engine,
    spec: JobSpec,
    plan: Plan,
    yes: bool,
) -> Result<ExitCode, CliError> {
    let operator = engine.operator().to_owned();
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    eprintln!("{}", render_plan(&plan));
    let job = engine.propose(&spec, plan, &operator).await.map_err(|e| refused(&e))?;
    // Restoring what no trusted key signed takes the typed name, never --yes.
    let yes = yes && !(spec.needs_typed_proof() && interactive);
    let Some(proof) = ask_proof(&job, yes)? else {
        return declined(engine, &job, &operator).await;
    };
    match engine.approve(&job.id, &operator, &proof).await {
        Ok(_) => {}
        Err(waiting @ (Refusal::AwaitingSecond { .. } | Refusal::Role { .. })) => {
            // Two persons, or a role this operator does not hold: wait here for the approval,
            // from someone else.
            let who = match &waiting {
                Refusal::Role { needs, .. } => format!(
                    "{waiting}\nthe proposal waits for {}: they approve it from their own console, or run",
                    needs.either()
                ),
                _ => format!(
                    "approved by {operator}; the two-person policy needs a second operator: they approve it from their own console, or run"
                ),
            };
            eprintln!("{who}\n  warroom approve {}\n(waiting; ctrl-c withdraws the proposal)", job.id);
            let approved = tokio::select! {
                a = engine.jobs().wait_approved(&job.id) => a,
                _ = tokio::signal::ctrl_c() => {
                    let _ = engine.cancel_proposal(&job.id, &operator).await;
                    return Err(CliError::message("stopped waiting: the proposal was withdrawn, nothing ran", REFUSED));
                }
            };
            if !approved {
                return Err(CliError::message(
                    "the proposal was rejected or withdrawn: nothing ran",
                    REFUSED,
                ));
            }
        }
        Err(refusal) => {
            let _ = engine.cancel_proposal(&job.id, &operator).await;
            let hint = match (&refusal, interactive) {
                (Refusal::NeedsConfirm | Refusal::NeedsTyped { .. }, false) => {
                    "; without a terminal, give --yes to approve (it is audited)"
                }
                _ => "",
            };
            return Err(CliError::message(format!("not approved, nothing ran: {refusal}{hint}"), REFUSED));
        }
    }
    run_with_progress(engine, &job.id, &operator).await
}

/// On a terminal, ask for the proof `job`'s policy needs (default No: `None`); without one,
/// `--yes`, or nothing (the gate then refuses, and audits it).
pub fn ask_proof(job: &JobSnapshot, yes: bool) -> Result<Option<Proof>, CliError> {
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    Ok(Some(match job.policy {
        ApprovalPolicy::None => Proof::Unattended,
        _ if yes => Proof::YesFlag,
        ApprovalPolicy::Confirm | ApprovalPolicy::TwoPerson if interactive => {
            if ask("Proceed? [y/N] ")?.eq_ignore_ascii_case("y") {
                Proof::Confirmed
            } else {
                return Ok(None);
            }
        }
        ApprovalPolicy::Typed if interactive => {
            let answer =
                ask(&format!("Type the system's name ({}) to proceed, anything else to stop: ", job.target))?;
            if answer.is_empty() {
                return Ok(None);
            }
            Proof::Typed(answer)
        }
        // No one to ask: the gate refuses (and audits it) unless --yes was given.
        _ => Proof::Unattended,
    }))
}

fn refused(e: &Refusal) -> CliError {
    CliError::message(format!("refused, nothing ran: {e}"), REFUSED)
}

async fn declined(engine: &Engine, job: &JobSnapshot, operator: &str) -> Result<ExitCode, CliError> {
    engine.cancel_proposal(&job.id, operator).await.map_err(|e| refused(&e))?;
    eprintln!("not approved: nothing ran (the decision is in the audit log)");
    Ok(ExitCode::from(REFUSED))
}

fn ask(prompt: &str) -> Result<String, CliError> {
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::message(format!("cannot read the answer: {e}"), REFUSED))?;
    Ok(line.trim().to_owned())
}

pub fn render_plan(plan: &Plan) -> String {
    let mut out = format!("{}\n", plan.title);
    for line in &plan.lines {
        out.push_str(&format!("  {line}\n"));
    }
    out.trim_end().to_owned()
}

/// Run an approved job, drawing its progress on a terminal; ctrl-c cancels it. A manual step
/// asks on the terminal (or says how to answer from elsewhere).
pub async fn run_with_progress(engine: &Engine, id: &str, operator: &str) -> Result<ExitCode, CliError> {
    let mut events = engine.jobs().subscribe();
    let mut handle = engine.spawn_job(id);
    let with_total = indicatif::ProgressStyle::with_template(
        "{spinner} {msg:<24} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
    .progress_chars("█▉ ");
    // A program's output has no size until it ends: how much so far, and how fast.
    let without_total =
        indicatif::ProgressStyle::with_template("{spinner} {msg:<24} {bytes} so far, {bytes_per_sec}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner());
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(with_total.clone());
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    });
    let mut total_known = true;
    let mut cancelled = false;
    let mut asked: Option<String> = None;
    let mut logged = 0usize;
    let finished = loop {
        tokio::select! {
            done = &mut handle => break done,
            event = events.recv() => {
                let Ok(JobEvent::Changed(job)) = event else { continue };
                if job.id != id {
                    continue;
                }
                // Procedures tell their steps as they go.
                if !matches!(job.kind, JobKind::Backup | JobKind::Restore | JobKind::Verify | JobKind::DeepVerify) {
                    let new: Vec<&String> = job.log.iter().skip(logged.min(job.log.len())).collect();
                    logged = job.log.len();
                    for line in new {
                        match &bar {
                            Some(b) => b.println(line),
                            None => eprintln!("{line}"),
                        }
                    }
                }
                if let Some(instruction) = job.progress.manual_step()
                    && asked.as_deref() != Some(instruction)
                {
                    asked = Some(instruction.to_owned());
                    manual(engine, &job, instruction, operator, bar.as_ref()).await;
                }
                let Some(bar) = &bar else { continue };
                let p = &job.progress;
                bar.set_message(p.stage.clone());
                if p.unit == Unit::Bytes {
                    if p.total.is_some() != total_known {
                        total_known = p.total.is_some();
                        bar.set_style(if total_known { with_total.clone() } else { without_total.clone() });
                    }
                    bar.set_length(p.total.unwrap_or(p.done.max(1)));
                    bar.set_position(p.done);
                }
            }
            _ = tokio::signal::ctrl_c(), if !cancelled => {
                cancelled = true;
                eprintln!("\ncancelling...");
                let _ = engine.jobs().cancel_running(id, operator).await;
            }
        }
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    // Refused before it started (another of its kind holds the system): nothing ran.
    let job =
        finished.map_err(|e| CliError::message(format!("the job stopped: {e}"), FAILED))?.map_err(|e| {
            let code = if matches!(e, Refusal::Held(_)) { REFUSED } else { FAILED };
            CliError::message(e.to_string(), code)
        })?;
    let outcome = job.outcome.clone().unwrap_or_default();
    match job.state {
        JobState::Succeeded => {
            println!("{outcome}");
            Ok(ExitCode::SUCCESS)
        }
        state => Err(CliError::message(format!("{} {}: {outcome}", job.kind, state), FAILED)),
    }
}

/// A manual step: ask on a terminal; otherwise say how to answer.
async fn manual(
    engine: &Engine,
    job: &JobSnapshot,
    instruction: &str,
    operator: &str,
    bar: Option<&indicatif::ProgressBar>,
) {
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let say = |text: String| match bar {
        Some(b) => b.println(text),
        None => eprintln!("{text}"),
    };
    say(format!("MANUAL STEP of {}: {instruction}", job.id));
    if !interactive {
        say(format!(
            "  waiting: `warroom confirm {}` when it is done, `warroom abort {}` to stop",
            job.id, job.id
        ));
        return;
    }
    let answer = tokio::task::spawn_blocking(|| {
        ask("Done? [y = done / a = abort / anything else = answer elsewhere] ")
    })
    .await
    .ok()
    .and_then(Result::ok)
    .unwrap_or_default();
    let signal = match answer.to_ascii_lowercase().as_str() {
        "y" | "yes" | "done" => Some(Signal::Confirm),
        "a" | "abort" => Some(Signal::Abort),
        _ => None,
    };
    match signal {
        Some(s) => {
            if let Err(e) = engine.signal_job(&job.id, s, None, operator).await {
                say(format!("could not answer: {e}"));
            }
        }
        None => say(format!("  waiting: `warroom confirm {}` (or abort) from any terminal", job.id)),
    }
}

async fn prepared(engine: &Engine) {
    for problem in engine.refresh_catalog(None).await {
        eprintln!("warning: {problem}");
    }
}

pub async fn run(config: Option<PathBuf>, system: String, yes: bool) -> Result<ExitCode, CliError> {
    let (engine, _log) = open_engine(config, BAD_INPUT).await?;
    prepared(&engine).await;
    let (spec, plan) = engine.plan_backup(&system).await.map_err(|e| CliError::message(e, BAD_INPUT))?;
    let code = gate_and_run(&engine, spec, plan, yes).await;
    engine.close().await;
    code
}

pub async fn verify(
    config: Option<PathBuf>,
    target: String,
    deep: bool,
    identity: Option<PathBuf>,
    yes: bool,
) -> Result<ExitCode, CliError> {
    let (engine, _log) = open_engine(config, BAD_INPUT).await?;
    prepared(&engine).await;
    let (spec, plan) =
        engine.plan_verify(&target, deep, identity).await.map_err(|e| CliError::message(e, BAD_INPUT))?;
    let code = gate_and_run(&engine, spec, plan, yes).await;
    engine.close().await;
    code
}

pub struct RestoreArgs {
    pub target: String,
    pub to: PathBuf,
    pub location: Option<String>,
    pub force: bool,
    pub identity: Option<PathBuf>,
    pub yes: bool,
}

pub async fn restore(config: Option<PathBuf>, args: RestoreArgs) -> Result<ExitCode, CliError> {
    let (engine, _log) = open_engine(config, BAD_INPUT).await?;
    prepared(&engine).await;
    let (spec, plan) = engine
        .plan_restore(&args.target, args.location.as_deref(), Some(args.to), args.force, args.identity)
        .await
        .map_err(|e| CliError::message(e, BAD_INPUT))?;
    let code = gate_and_run(&engine, spec, plan, args.yes).await;
    engine.close().await;
    code
}

pub async fn prune(config: Option<PathBuf>, system: Option<String>, yes: bool) -> Result<ExitCode, CliError> {
    let (engine, _log) = open_engine(config, BAD_INPUT).await?;
    prepared(&engine).await;
    let systems: Vec<String> = match system {
        Some(s) => vec![s],
        None => engine
            .config()
            .estate
            .systems()
            .iter()
            .zip(&engine.config().systems)
            .filter(|(_, c)| c.backup.as_ref().is_some_and(|b| b.retention.is_some()))
            .map(|(s, _)| s.name.clone())
            .collect(),
    };
    if systems.is_empty() {
        return Err(CliError::message("no system has a backup retention to prune by", BAD_INPUT));
    }
    let mut worst = ExitCode::SUCCESS;
    for system in systems {
        let (spec, plan) = engine.plan_prune(&system).await.map_err(|e| CliError::message(e, BAD_INPUT))?;
        if matches!(&spec, JobSpec::Prune { delete, .. } if delete.is_empty()) {
            println!("{system}: nothing to prune");
            continue;
        }
        match gate_and_run(&engine, spec, plan, yes).await {
            Ok(code) if code != ExitCode::SUCCESS => worst = code,
            Ok(_) => {}
            Err(e) => {
                eprintln!("{}", e.render(super::stderr_color()));
                worst = ExitCode::from(e.exit_code());
            }
        }
    }
    engine.close().await;
    Ok(worst)
}

pub async fn adopt(
    config: Option<PathBuf>,
    id: String,
    identity: Option<PathBuf>,
    yes: bool,
) -> Result<ExitCode, CliError> {
    let (engine, _log) = open_engine(config, BAD_INPUT).await?;
    prepared(&engine).await;
    let (spec, plan) = engine.plan_adopt(&id, identity).await.map_err(|e| CliError::message(e, BAD_INPUT))?;
    let code = gate_and_run(&engine, spec, plan, yes).await;
    engine.close().await;
    code
}

/// One backup, as `backup list --json` prints it.
#[derive(Debug, Serialize)]
struct ListedBackup<'a> {
    id: &'a str,
    system: &'a str,
    kind: &'a str,
    parent: Option<&'a str>,
    started_at: String,
    finished_at: String,
    files: u64,
    plain_size: u64,
    stored_size: u64,
    sha256: &'a str,
    verified_at: Option<String>,
    deep_verified_at: Option<String>,
    degraded: Vec<String>,
    /// `signed`, `unsigned` (made before signing) or `untrusted`, and why.
    trust: crate::engine::backup::manifest::Trust,
    copies: &'a [crate::engine::backup::catalog::Copy],
}

fn stamp(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
}

pub async fn list(
    config: Option<PathBuf>,
    system: Option<String>,
    location: Option<String>,
    json: bool,
) -> Result<ExitCode, CliError> {
    let (engine, _log) = open_engine(config, BAD_INPUT).await?;
    if let Some(s) = &system
        && engine.config().estate.index_of(s).is_none()
    {
        return Err(CliError::message(format!("there is no system \"{s}\""), BAD_INPUT));
    }
    if let Some(l) = &location
        && engine.config().location(l).is_none()
    {
        return Err(CliError::message(
            format!("there is no location \"{l}\" in the configuration"),
            BAD_INPUT,
        ));
    }
    let problems = engine.refresh_catalog(system.as_deref()).await;
    for p in &problems {
        eprintln!("warning: {p}");
    }
    let mut backups = engine.backups(system.as_deref()).await.map_err(|e| CliError::message(e, BAD_INPUT))?;
    if let Some(l) = &location {
        backups.retain(|b| b.copy(l).is_some());
        for b in &mut backups {
            b.copies.retain(|c| &c.location == l);
        }
    }
    if json {
        let listed: Vec<ListedBackup> = backups.iter().map(listed).collect();
        let doc = serde_json::json!({
            "schema": "warroom.backups/1",
            "generated_at": engine.now().to_rfc3339_opts(SecondsFormat::Secs, true),
            "problems": problems,
            "backups": listed,
        });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else if backups.is_empty() {
        println!("no backups{}", system.map(|s| format!(" of {s}")).unwrap_or_default());
    } else {
        print!("{}", render_list(&backups));
    }
    engine.close().await;
    Ok(ExitCode::SUCCESS)
}

fn listed(b: &BackupView) -> ListedBackup<'_> {
    let m = &b.manifest;
    ListedBackup {
        id: &m.id,
        system: &m.system,
        kind: m.kind.name(),
        parent: m.parent.as_deref(),
        started_at: m.started_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        finished_at: m.finished_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        files: m.files,
        plain_size: m.plain_size,
        stored_size: m.stored_size,
        sha256: &m.sha256,
        verified_at: stamp(b.verified_at()),
        deep_verified_at: stamp(b.deep_verified_at()),
        degraded: m.degraded.iter().map(|f| format!("{}: {}", f.location, f.reason)).collect(),
        trust: b.trust(),
        copies: &b.copies,
    }
}

pub fn render_list(backups: &[BackupView]) -> String {
    let mut out = String::new();
    let width = backups.iter().map(|b| b.manifest.system.len()).max().unwrap_or(6).max(6);
    out.push_str(&format!(
        "{:<25}  {:<width$}  {:<12}  {:<20}  {:>9}  {:>9}  {:<10}  LOCATIONS\n",
        "ID", "SYSTEM", "KIND", "TAKEN", "SIZE", "STORED", "VERIFIED"
    ));
    for b in backups {
        let m = &b.manifest;
        let verified = match (b.deep_verified_at(), b.verified_at()) {
            _ if !b.trusted() && b.trust() == crate::engine::backup::manifest::Trust::Unsigned => {
                "– unsigned"
            }
            _ if !b.trusted() => "✖ UNTRUSTED",
            (Some(_), _) => "✔ deep",
            (None, Some(_)) => "✔ quick",
            _ if b.copies.iter().any(|c| c.error.is_some()) => "✖ FAILED",
            _ => "– not yet",
        };
        let copies: Vec<String> = b
            .copies
            .iter()
            .map(|c| if c.error.is_some() { format!("{} (✖ bad)", c.location) } else { c.location.clone() })
            .collect();
        let mut line = format!(
            "{:<25}  {:<width$}  {:<12}  {:<20}  {:>9}  {:>9}  {:<10}  {}",
            m.id,
            m.system,
            m.kind.name(),
            when(m.started_at),
            bytes(m.plain_size),
            bytes(m.stored_size),
            verified,
            copies.join(", ")
        );
        if b.degraded() {
            let failed: Vec<&str> = m.degraded.iter().map(|f| f.location.as_str()).collect();
            line.push_str(&format!("  ▲ degraded: {} failed", failed.join(", ")));
        }
        out.push_str(line.trim_end());
        out.push('\n');
        for c in b.copies.iter().filter(|c| c.error.is_some() && c.trust.trusted()) {
            out.push_str(&format!("    ✖ {}: {}\n", c.location, c.error.as_deref().unwrap_or_default()));
        }
        for c in b.copies.iter().filter(|c| !c.trust.trusted()) {
            out.push_str(&format!(
                "    {} {}: {}\n",
                if c.trust == crate::engine::backup::manifest::Trust::Unsigned { "–" } else { "✖" },
                c.location,
                c.trust.label()
            ));
        }
    }
    out
}

/// `warroom backup schedule`: run the schedule headless (for a service manager) until stopped.
pub async fn schedule(config: Option<PathBuf>) -> Result<ExitCode, CliError> {
    let (engine, _log) = open_engine(config, BAD_INPUT).await?;
    if engine.config().console.read_only {
        return Err(CliError::message("console.read_only is set: the schedule would run nothing", REFUSED));
    }
    let systems = engine.config().systems.iter().filter(|s| s.backup.is_some()).count();
    println!("running the backup schedule of {systems} systems (ctrl-c stops)");
    let mut events = engine.jobs().subscribe();
    let scheduler = engine.start_scheduler(Duration::from_secs(10));
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| CliError::message(e.to_string(), FAILED))?;
    loop {
        tokio::select! {
            event = events.recv() => {
                if let Ok(JobEvent::Changed(job)) = event
                    && job.state.finished()
                {
                    println!("{} {} {}: {}", job.kind, job.target, job.state, job.outcome.unwrap_or_default());
                }
            }
            _ = tokio::signal::ctrl_c() => break,
            _ = sigterm.recv() => break,
        }
    }
    scheduler.abort();
    for id in engine.jobs().running_ids() {
        let _ = engine.jobs().cancel_running(&id, crate::model::access::SCHEDULER).await;
    }
    engine.close().await;
    Ok(ExitCode::SUCCESS)
}

/// One system's line in `warroom rpo`.
#[derive(Debug, Serialize)]
struct RpoLine {
    name: String,
    tier: u8,
    rpo_seconds: u64,
    /// `compliant`, `at_risk`, `breached` or `never_backed_up`.
    state: &'static str,
    newest_verified_backup: Option<String>,
    age_seconds: Option<u64>,
    remaining_seconds: Option<u64>,
    overdue_seconds: Option<u64>,
    newest_deep_verified: Option<String>,
    backups: usize,
    schedule: Option<ScheduleJson>,
    three_two_one: Option<crate::model::ThreeTwoOne>,
    /// The RPO a failover would achieve now, from the standby's lag (systems with a source).
    #[serde(skip_serializing_if = "Option::is_none")]
    replication: Option<crate::engine::assessment::ReplicationJson>,
}

#[derive(Debug, Serialize)]
struct ScheduleJson {
    every_seconds: u64,
    due_at: String,
    missed: bool,
}

/// `warroom rpo`: every system's RPO from its newest verified backup.
pub async fn rpo(config: Option<PathBuf>, json: bool) -> Result<ExitCode, CliError> {
    let (engine, _log) = open_engine(config, UNKNOWN).await?;
    let now = engine.now();
    // An unreadable state is UNKNOWN, never "never backed up".
    let (report, problems) = engine.assess_estate(None).await.map_err(|e| CliError::message(e, UNKNOWN))?;
    for p in &problems {
        eprintln!("warning: {p}");
    }
    let unknown = |e: String| CliError::message(format!("state unreadable: {e}"), UNKNOWN);
    let standings = engine.standings().await.map_err(unknown)?;
    // A missed scheduled run is a warning even while the RPO still holds.
    let missed = standings.iter().filter(|s| s.schedule.is_some_and(|x| x.missed)).count();
    let (overall, exit_code) =
        if missed > 0 && report.exit_code == 0 { ("warning", 1) } else { (report.overall, report.exit_code) };
    let lines: Vec<RpoLine> = report
        .systems
        .iter()
        .map(|s| {
            let standing = standings.iter().find(|x| x.system == s.name);
            RpoLine {
                name: s.name.clone(),
                tier: s.tier,
                rpo_seconds: s.objectives.rpo_seconds,
                state: s.rpo.state,
                newest_verified_backup: s.rpo.newest_verified_backup.clone(),
                age_seconds: s.rpo.age_seconds,
                remaining_seconds: s.rpo.remaining_seconds,
                overdue_seconds: s.rpo.overdue_seconds,
                newest_deep_verified: standing.and_then(|x| stamp(x.newest_deep_verified)),
                backups: standing.map(|x| x.backups).unwrap_or(0),
                schedule: standing.and_then(|x| x.schedule).map(|sv| ScheduleJson {
                    every_seconds: sv.every_secs,
                    due_at: sv.due_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                    missed: sv.missed,
                }),
                three_two_one: standing.and_then(|x| x.three_two_one),
                replication: s.replication.clone(),
            }
        })
        .collect();
    if json {
        let doc = serde_json::json!({
            "schema": "warroom.rpo/1",
            "generated_at": now.to_rfc3339_opts(SecondsFormat::Secs, true),
            "overall": overall,
            "exit_code": exit_code,
            "missed": missed,
            "problems": problems,
            "systems": lines,
        });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        let c = &report.counts;
        println!(
            "RPO {}: {} systems · {} breached · {} never backed up · {} at risk · {} ok{}",
            overall.to_uppercase(),
            c.systems,
            c.breached,
            c.never_backed_up,
            c.at_risk,
            c.compliant,
            if missed > 0 { format!(" · {missed} scheduled run(s) MISSED") } else { String::new() }
        );
        if let Some(standbys) = super::status::standby_counts(c) {
            println!("  {standbys}");
        }
        let width = lines.iter().map(|l| l.name.len()).max().unwrap_or(4).max(4);
        for (l, standing) in
            lines.iter().zip(report.systems.iter().map(|s| standings.iter().find(|x| x.system == s.name)))
        {
            let secs = |s: Option<u64>| crate::model::duration::clock(Duration::from_secs(s.unwrap_or(0)));
            let state = match l.state {
                "compliant" => format!("● ok, {} left", secs(l.remaining_seconds)),
                "at_risk" => format!("▲ at risk, {} left", secs(l.remaining_seconds)),
                "breached" => format!("✖ breached by {}", secs(l.overdue_seconds)),
                _ => "✖ never backed up".to_owned(),
            };
            let mut extra = Vec::new();
            if let Some(sv) = standing.and_then(|s| s.schedule) {
                extra.push(schedule_text(&sv, now));
            }
            if let Some(deep) = standing.and_then(|s| s.newest_deep_verified) {
                extra.push(format!("deep-verified {} ago", human((now - deep).to_std().unwrap_or_default())));
            }
            if let Some(t) = standing.and_then(|s| s.three_two_one).filter(|t| !t.met()) {
                extra.push(format!("3-2-1: {}", t.shortfalls().join(", ")));
            }
            println!(
                "  {:<width$}  tier {}  RPO {:<5}  {:<26}{}",
                l.name,
                l.tier,
                human(Duration::from_secs(l.rpo_seconds)),
                state,
                if extra.is_empty() { String::new() } else { format!("  {}", extra.join(" · ")) }
            );
            if let Some(r) = &l.replication {
                println!(
                    "  {:<width$}  {}",
                    "",
                    super::status::replication_words(r, &human(Duration::from_secs(l.rpo_seconds)))
                );
            }
        }
    }
    engine.close().await;
    Ok(ExitCode::from(exit_code))
}
