//! The headless commands: the same capabilities as the console, with machine-readable output
//! and exit codes a monitoring system understands.

pub mod audit;
pub mod backup;
pub mod check;
pub mod error;
pub mod exercise;
pub mod health;
pub mod logging;
pub mod notify;
pub mod ops;
pub mod plan;
pub mod programme;
pub mod sim;
pub mod state;
pub mod status;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use error::{CliError, load_config};

use crate::engine::Engine;
use crate::engine::jobs::Signal;

/// warroom: the war-room console for business continuity and disaster recovery.
#[derive(Debug, Parser)]
#[command(name = "warroom", version, about, long_about = None)]
pub struct Cli {
    /// Configuration file (else $WARROOM_CONFIG, ./warroom.toml, $XDG_CONFIG_HOME/warroom/config.toml)
    #[arg(long, short = 'c', global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Who acts, for the audit log and the approval gate (overrides console.operator,
    /// $WARROOM_OPERATOR and $USER); with [[operators]] it must be who this process shows it is
    /// (its OS user or console.operator_key_file)
    #[arg(long, global = true, value_name = "NAME", value_parser = non_empty_name)]
    pub operator: Option<String>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open the console on the configured estate (the default)
    Console,
    /// Validate the configuration and summarise the estate (exit 0 valid, 1 warnings, 2 invalid)
    Check {
        /// The file to check (same as --config)
        file: Option<PathBuf>,
        /// Also reach every backup location: it answers, and an immutable one can lock copies
        /// (an S3 bucket with Object Lock enabled)
        #[arg(long)]
        locations: bool,
        /// Check a scenario file against the estate instead (the built-in demo estate when no
        /// configuration is found)
        #[arg(long, value_name = "FILE")]
        scenario: Option<PathBuf>,
    },
    /// Every system by tier with objectives and RPO status (exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)
    Status {
        /// Machine-readable output (schema in docs/json.md)
        #[arg(long)]
        json: bool,
        /// Probe every system once and include its health and verdict
        #[arg(long)]
        probe: bool,
    },
    /// Probe every system (or one) once and print what came back (exit 0 OK, 1 degraded, 2 down, 3 UNKNOWN)
    Probe {
        /// Only this system
        system: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Probe continuously; print a line per health or verdict change (ctrl-c stops)
    Watch {
        /// JSON Lines
        #[arg(long)]
        json: bool,
    },
    /// The console on a simulated estate: real loopback endpoints whose faults you switch
    /// (F on a system, :fault api down, or `warroom sim fault` from another terminal)
    Demo,
    /// The simulated estate without the console
    Sim {
        #[command(subcommand)]
        command: SimCommand,
    },
    /// Make an age key pair for backups (the public key is printed, the private key written 0600), or with --for NAME an operator's own key
    Keygen {
        /// Where to write the private age key (never over an existing file); the signing key
        /// goes beside it, as FILE.signing (secret) and FILE.signing.pub. With --for: NAME.key
        #[arg(long, short = 'o', value_name = "FILE", default_value = "warroom-backup-key.txt")]
        out: PathBuf,
        /// Only a signing key (for a backup host that has its age key already): FILE is the
        /// signing key, FILE.pub its public half
        #[arg(long)]
        signing_only: bool,
        /// An operator's own key for a remote console (FILE, default NAME.key, and FILE.pub):
        /// prints their [[operators]] entry
        #[arg(long = "for", value_name = "NAME", conflicts_with = "signing_only")]
        for_operator: Option<String>,
    },
    /// Take, list, verify, restore and prune backups (exit 0 done, 1 failed, 2 refused at the gate, 3 bad input)
    Backup {
        #[command(subcommand)]
        command: BackupCommand,
    },
    /// Every system's RPO from its newest verified backup, and its standby's lag where one is read (exit 0 OK, 1 at risk, 2 breached, 3 UNKNOWN)
    Rpo {
        #[arg(long)]
        json: bool,
    },
    /// Fail a system over to its standby: its [systems.failover] procedure, through the gate
    /// (exit 0 done, 1 failed or rolled back, 2 refused, 3 bad input)
    Failover {
        system: String,
        /// Show every step, request and check, the rollback and the RTO forecast; run nothing
        #[arg(long)]
        dry_run: bool,
        /// Approve at the gate without a prompt, for scripts (the policy still applies: two-person
        /// waits for a second operator)
        #[arg(long)]
        yes: bool,
    },
    /// Go back to the primary: the [systems.failback] procedure, through the gate
    Failback {
        system: String,
        #[arg(long)]
        dry_run: bool,
        /// Approve at the gate without a prompt, for scripts (the policy still applies: two-person
        /// waits for a second operator)
        #[arg(long)]
        yes: bool,
    },
    /// Commit a failover in its commit window: the standby is the system now
    Commit { system: String },
    /// The recovery plan for systems (waves, forecast against the RTO left); nothing runs
    Plan {
        /// Systems, separated by spaces or commas
        #[arg(required = true)]
        systems: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// Run the recovery plan for systems: dependencies first, independent ones in parallel
    Recover {
        #[arg(required = true)]
        systems: Vec<String>,
        /// Approve at the gate without a prompt, for scripts (the policy still applies: two-person
        /// waits for a second operator)
        #[arg(long)]
        yes: bool,
    },
    /// Approve a proposed job (the second approval, for two-person), as this operator
    Approve {
        job: String,
        /// Approve at the gate without a prompt, for scripts (the policy still applies: two-person
        /// waits for a second operator)
        #[arg(long)]
        yes: bool,
    },
    /// Turn a proposed job down: it will not run
    Reject { job: String },
    /// Tell a job its manual step is done
    Confirm { job: String },
    /// Stop a job at its manual step (it rolls back), or a recovery plan that waits
    Abort { job: String },
    /// In a running recovery plan: skip a system (what needs it goes on)
    Skip { job: String, system: String },
    /// In a running recovery plan: try a failed system again
    Retry { job: String, system: String },
    /// Every job: backups, restores, failovers, plans (newest first)
    Jobs {
        #[arg(long)]
        json: bool,
        #[arg(long, short = 'n', value_name = "N", default_value_t = 50)]
        limit: u32,
    },
    /// Incidents: declare, list, show, note, close, report
    Incident {
        #[command(subcommand)]
        command: IncidentCommand,
    },
    /// Stakeholder notices: preview, send (through the gate), the outbox, a test, the deliverer
    Notify {
        #[command(subcommand)]
        command: notify::NotifyCommand,
    },
    /// Write the public status page (HTML and an Atom feed) from the incident's external updates
    Statuspage,
    /// Exercises: run a scenario's injects on its own clock, evaluate, and write the after-action report
    Exercise {
        #[command(subcommand)]
        command: exercise::ExerciseCommand,
        #[command(flatten)]
        at: exercise::Where,
    },
    /// Corrective actions from exercises and tests, tracked to closure (exit 1 when one is overdue)
    Actions {
        #[command(subcommand)]
        command: Option<exercise::ActionsCommand>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        at: exercise::Where,
    },
    /// The testing programme: when each system was last tested, by what, and when the next
    /// test is due (exit 1 due soon, 2 overdue); restore drills; pruning past the keep
    Programme {
        #[command(subcommand)]
        command: Option<programme::ProgrammeCommand>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        at: exercise::Where,
    },
    /// The BC/DR status report: systems, RPO, 3-2-1, standby, tests, processes, risks and
    /// their heat map, incidents, the programme, training (Markdown, JSON or HTML)
    Report {
        /// md, json or html (else from --out's extension, else md)
        #[arg(long, value_enum)]
        format: Option<plan::Format>,
        /// Write here instead of standard output
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        at: exercise::Where,
    },
    /// A system's runbook, to follow when warroom is unavailable: prerequisites, recovery order,
    /// failover, validation, rollback, failback, the restore with stock tools, contacts, tests
    Runbook {
        /// The system (or --all)
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        system: Option<String>,
        /// Every system, in recovery order
        #[arg(long)]
        all: bool,
        /// md, json or html (else from --out's extension, else md)
        #[arg(long, value_enum)]
        format: Option<plan::Format>,
        /// Write here instead of standard output
        #[arg(long)]
        out: Option<PathBuf>,
        /// Where the restore lines restore into (default /var/tmp/warroom-restore/SYSTEM; with
        /// --all, a folder per system under it)
        #[arg(long, value_name = "DIR")]
        restore_to: Option<PathBuf>,
        #[command(flatten)]
        at: exercise::Where,
    },
    /// The whole BC/DR plan document: executive summary, risk assessment, impact analysis,
    /// strategies, activation, inventory, procedures, checklists, rollback, contacts, tests
    PlanDoc {
        /// md, json or html (else from --out's extension, else md)
        #[arg(long, value_enum)]
        format: Option<plan::Format>,
        /// Write here instead of standard output
        #[arg(long)]
        out: Option<PathBuf>,
        /// Where the runbooks' restore lines restore into (a folder per system under it)
        #[arg(long, value_name = "DIR")]
        restore_to: Option<PathBuf>,
        #[command(flatten)]
        at: exercise::Where,
    },
    /// The evidence pack for a period (documents, incident and exercise reports, the audit
    /// records with their chain, the config, SHA256SUMS; optionally SSH-signed); `verify` checks one
    #[command(args_conflicts_with_subcommands = true)]
    Evidence {
        #[command(subcommand)]
        command: Option<plan::EvidenceCommand>,
        /// The period's first day (YYYY-MM-DD, UTC)
        #[arg(long, value_name = "DATE")]
        since: Option<String>,
        /// Its last day (default today)
        #[arg(long, value_name = "DATE")]
        until: Option<String>,
        /// The pack to write (tar, zstd-compressed)
        #[arg(long, value_name = "PACK")]
        out: Option<PathBuf>,
        /// Sign SHA256SUMS with this SSH key (`ssh-keygen -Y sign`; a public key with its
        /// private half in ssh-agent works too)
        #[arg(long, value_name = "KEY")]
        sign: Option<PathBuf>,
        #[command(flatten)]
        at: exercise::Where,
    },
    /// Record a review of the continuity plan (the standard asks for one a year); without
    /// --note, list the reviews (exit 1 when one is due)
    Review {
        /// Who reviewed it (else the operator)
        #[arg(long = "as")]
        reviewer: Option<String>,
        /// What the review found or changed
        #[arg(long)]
        note: Option<String>,
        /// List the reviews
        #[arg(long)]
        list: bool,
        #[command(flatten)]
        at: exercise::Where,
    },
    /// The state database: copy a one-host SQLite state into a team's PostgreSQL
    State {
        #[command(subcommand)]
        command: StateCommand,
    },
    /// The tamper-evident audit log
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// Copy a SQLite state (its jobs, backups catalog, incidents, notices, exercises and audit
    /// chain) into the empty PostgreSQL state the configuration names, verified after the copy
    /// (exit 0 copied and verified, 1 failed, 3 bad input)
    Migrate {
        /// The state to copy: sqlite:PATH (a state folder, or its warroom.db)
        #[arg(long, value_name = "sqlite:PATH")]
        from: String,
        /// Where to: postgres (console.state_url_env / state_url_file of the configuration)
        #[arg(long, value_name = "postgres")]
        to: String,
        /// Machine-readable output: the rows copied per table and the chain's verification
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// Serve the simulated estate of the configuration (the built-in example without --config)
    Run,
    /// Switch a simulated system's fault: healthy, slow LATENCY (6000ms, 6s), erroring FRACTION (0.2), down, flapping PERIOD (10s), standby-broken, replication-stalled [AGO] (4m50s)
    Fault {
        system: String,
        mode: String,
        /// The latency, fraction or period the mode takes
        arg: Option<String>,
    },
    /// The simulated systems, their endpoints and faults
    List,
}

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Back a system up now, to every location its policy names
    Run {
        system: String,
        /// Approve without asking (needed without a terminal when the policy asks; audited)
        #[arg(long)]
        yes: bool,
    },
    /// The backups in the repositories, oldest first
    List {
        /// Only this system's
        system: Option<String>,
        /// Only the copies at this location
        #[arg(long, value_name = "NAME")]
        location: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Check a backup: each copy's size and SHA-256 (quick), or restore it into a scratch folder
    /// and check every file (--deep)
    Verify {
        /// A system (its newest backup) or a backup id
        target: String,
        #[arg(long)]
        deep: bool,
        /// The private key file (else [encryption] identity_file)
        #[arg(long, value_name = "FILE")]
        identity: Option<PathBuf>,
        /// Approve at the gate without a prompt, for scripts (the policy still applies: two-person
        /// waits for a second operator)
        #[arg(long)]
        yes: bool,
    },
    /// Restore a backup (or a system's newest verified one) into an empty folder
    Restore {
        /// A backup id, or a system for its newest verified backup
        target: String,
        /// The folder to restore into: must be empty unless --force
        #[arg(long, value_name = "DIR")]
        to: PathBuf,
        /// Read from this location (else the first holding a good copy)
        #[arg(long, value_name = "NAME")]
        location: Option<String>,
        /// Restore into a folder that is not empty: what is there is moved aside, not deleted
        #[arg(long)]
        force: bool,
        #[arg(long, value_name = "FILE")]
        identity: Option<PathBuf>,
        /// Approve at the gate without a prompt, for scripts (the policy still applies: two-person
        /// waits for a second operator)
        #[arg(long)]
        yes: bool,
    },
    /// Sign a backup made before signing (or by a key no longer trusted) after a deep verify:
    /// from then on it is listed, verified, counted for RPO and restored
    Adopt {
        /// The backup's id (as `backup list` shows it)
        id: String,
        /// The private key file (else [encryption] identity_file)
        #[arg(long, value_name = "FILE")]
        identity: Option<PathBuf>,
        /// Approve at the gate without a prompt, for scripts (audited)
        #[arg(long)]
        yes: bool,
    },
    /// Delete what each system's retention does not keep (the list is in the plan)
    Prune {
        system: Option<String>,
        /// Approve at the gate without a prompt, for scripts (the policy still applies: two-person
        /// waits for a second operator)
        #[arg(long)]
        yes: bool,
    },
    /// Run the backup schedule without the console (for a service manager), until stopped
    Schedule,
}

#[derive(Debug, Subcommand)]
pub enum IncidentCommand {
    /// Declare an incident; proposes the recovery plan for the affected systems
    Declare {
        /// natural, cyber, infrastructure, pandemic or regional
        #[arg(long = "type", value_name = "TYPE")]
        kind: String,
        /// sev1 (the worst) to sev4; the standard's critical, high, medium, low are sev1..sev4
        #[arg(long)]
        severity: String,
        /// The affected systems, separated by commas
        #[arg(long, required = true, value_delimiter = ',')]
        systems: Vec<String>,
        /// Approve at the gate without a prompt, for scripts (the policy still applies: two-person
        /// waits for a second operator)
        #[arg(long)]
        yes: bool,
    },
    /// Every incident, newest first
    List {
        #[arg(long)]
        json: bool,
    },
    /// An incident (the open one by default) and its timeline
    Show { id: Option<String> },
    /// Add a note to the timeline
    Note {
        /// What to note (a decision, a call made, what was seen)
        #[arg(value_parser = non_empty)]
        text: String,
        /// The incident (the open one by default)
        #[arg(long)]
        id: Option<String>,
    },
    /// Close an incident (the open one by default), with a summary for its report
    Close {
        /// The incident (the open one by default)
        #[arg(long)]
        id: Option<String>,
        /// What happened, in a line, for the report
        #[arg(long)]
        summary: Option<String>,
        /// Approve the resolution notice it proposes without a prompt (audited)
        #[arg(long)]
        yes: bool,
    },
    /// The post-incident report: RTO and RPO achieved, actions, approvals, failures, timeline
    Report {
        id: Option<String>,
        #[arg(long, default_value = "md", value_name = "md|json")]
        format: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List records, newest first
    List {
        #[arg(long)]
        json: bool,
        /// Show only the newest N records
        #[arg(long, short = 'n', value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        limit: Option<u32>,
    },
    /// Walk the chain and report the first record altered, removed or reordered (exit 0 intact, 2 broken)
    Verify {
        #[arg(long)]
        json: bool,
    },
    /// Record a note in the audit log (a decision taken outside warroom, a call made)
    Note {
        /// What to record
        #[arg(value_parser = non_empty)]
        message: String,
        /// What the note is about (a system, an incident)
        #[arg(long, default_value = "-")]
        target: String,
    },
}

/// Run the command line; returns the process exit code. `started` is when the process
/// started (the console reports its time to first frame).
pub async fn run(cli: Cli, started: std::time::Instant) -> ExitCode {
    if let Some(name) = &cli.operator {
        error::set_operator(name);
    }
    let result = match cli.command {
        None | Some(Command::Console) => console(cli.config, started).await,
        Some(Command::Check { file: Some(file), .. }) if cli.config.as_ref().is_some_and(|c| *c != file) => {
            Err(CliError::message(
                "check was given two files (one as FILE, one with --config); give one of them",
                2,
            ))
        }
        Some(Command::Check { file, scenario: Some(scenario), .. }) => {
            check::scenario(file.or(cli.config), scenario).await
        }
        Some(Command::Check { file, locations, .. }) => check::run(file.or(cli.config), locations).await,
        Some(Command::Status { json, probe }) => status::run(cli.config, json, probe).await,
        Some(Command::Probe { system, json }) => health::probe(cli.config, system, json).await,
        Some(Command::Watch { json }) => health::watch(cli.config, json).await,
        Some(Command::Demo) => sim::demo(cli.config, started).await,
        Some(Command::Sim { command: SimCommand::Run }) => sim::run(cli.config).await,
        Some(Command::Sim { command: SimCommand::Fault { system, mode, arg } }) => {
            sim::fault(cli.config, system, mode, arg).await
        }
        Some(Command::Sim { command: SimCommand::List }) => sim::list(cli.config).await,
        Some(Command::Audit { command }) => audit::run(cli.config, command).await,
        Some(Command::State { command }) => state::run(cli.config, command).await,
        Some(Command::Keygen { out, for_operator: Some(name), .. }) => backup::keygen_operator(out, &name),
        Some(Command::Keygen { out, signing_only, .. }) => backup::keygen(out, signing_only),
        Some(Command::Failover { system, dry_run, yes }) => {
            ops::failover(cli.config, system, false, dry_run, yes).await
        }
        Some(Command::Failback { system, dry_run, yes }) => {
            ops::failover(cli.config, system, true, dry_run, yes).await
        }
        Some(Command::Commit { system }) => ops::commit(cli.config, system).await,
        Some(Command::Plan { systems, json }) => ops::plan(cli.config, systems, json).await,
        Some(Command::Recover { systems, yes }) => ops::recover(cli.config, systems, yes).await,
        Some(Command::Approve { job, yes }) => ops::approve(cli.config, job, yes).await,
        Some(Command::Reject { job }) => ops::reject(cli.config, job).await,
        Some(Command::Confirm { job }) => ops::signal(cli.config, job, Signal::Confirm, None).await,
        Some(Command::Abort { job }) => ops::signal(cli.config, job, Signal::Abort, None).await,
        Some(Command::Skip { job, system }) => ops::signal(cli.config, job, Signal::Skip, Some(system)).await,
        Some(Command::Retry { job, system }) => {
            ops::signal(cli.config, job, Signal::Retry, Some(system)).await
        }
        Some(Command::Jobs { json, limit }) => ops::jobs(cli.config, json, limit).await,
        Some(Command::Incident { command }) => match command {
            IncidentCommand::Declare { kind, severity, systems, yes } => {
                ops::incident_declare(cli.config, kind, severity, systems, yes).await
            }
            IncidentCommand::List { json } => ops::incident_list(cli.config, json).await,
            IncidentCommand::Show { id } => ops::incident_show(cli.config, id).await,
            IncidentCommand::Note { text, id } => ops::incident_note(cli.config, id, text).await,
            IncidentCommand::Close { id, summary, yes } => {
                ops::incident_close(cli.config, id, summary, yes).await
            }
            IncidentCommand::Report { id, format } => ops::incident_report(cli.config, id, format).await,
        },
        Some(Command::Notify { command }) => notify::run(cli.config, command).await,
        Some(Command::Statuspage) => notify::statuspage(cli.config).await,
        Some(Command::Exercise { command, at }) => exercise::run(cli.config, command, at.demo).await,
        Some(Command::Actions { command, json, at }) => {
            exercise::actions(cli.config, command, json, at.demo).await
        }
        Some(Command::Programme { command, json, at }) => {
            programme::run(cli.config, command, json, at.demo).await
        }
        Some(Command::Report { format, out, at }) => plan::report(cli.config, format, out, at.demo).await,
        Some(Command::Runbook { system, all, format, out, restore_to, at }) => {
            plan::runbook(cli.config, system, all, format, out, restore_to, at.demo).await
        }
        Some(Command::PlanDoc { format, out, restore_to, at }) => {
            plan::plan_doc(cli.config, format, out, restore_to, at.demo).await
        }
        Some(Command::Evidence { command, since, until, out, sign, at }) => {
            plan::evidence(cli.config, command, since, until, out, sign, at.demo).await
        }
        Some(Command::Review { reviewer, note, list, at }) => {
            plan::review(cli.config, reviewer, note, list, at.demo).await
        }
        Some(Command::Rpo { json }) => backup::rpo(cli.config, json).await,
        Some(Command::Backup { command }) => match command {
            BackupCommand::Run { system, yes } => backup::run(cli.config, system, yes).await,
            BackupCommand::List { system, location, json } => {
                backup::list(cli.config, system, location, json).await
            }
            BackupCommand::Verify { target, deep, identity, yes } => {
                backup::verify(cli.config, target, deep, identity, yes).await
            }
            BackupCommand::Restore { target, to, location, force, identity, yes } => {
                backup::restore(
                    cli.config,
                    backup::RestoreArgs { target, to, location, force, identity, yes },
                )
                .await
            }
            BackupCommand::Prune { system, yes } => backup::prune(cli.config, system, yes).await,
            BackupCommand::Adopt { id, identity, yes } => backup::adopt(cli.config, id, identity, yes).await,
            BackupCommand::Schedule => backup::schedule(cli.config).await,
        },
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{}", e.render(stderr_color()));
            ExitCode::from(e.exit_code())
        }
    }
}

/// Colour diagnostics only on a terminal, and never when NO_COLOR is set.
pub fn stderr_color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Load the configuration, start logging in its state directory and open the engine.
/// Errors end the command with `exit`.
pub async fn open_engine(explicit: Option<PathBuf>, exit: u8) -> Result<(Engine, logging::Guard), CliError> {
    let loaded = load_config(explicit.as_deref(), exit)?;
    // Private before anything (the log file) is written into it.
    crate::engine::create_state_dir(&loaded.config.console.state_dir)
        .map_err(|e| CliError::engine(e, exit))?;
    let guard = logging::init(&loaded.config.console.state_dir);
    let mut engine = Engine::open(loaded.config).await.map_err(|e| CliError::engine(e, exit))?;
    // A reload reads the file again: --operator still says who acts.
    if error::operator_given() {
        engine = engine.with_adapt(std::sync::Arc::new(error::override_operator));
    }
    Ok((engine, guard))
}

fn non_empty_name(s: &str) -> Result<String, String> {
    if s.trim().is_empty() { Err("the name is empty: say who acts".into()) } else { Ok(s.trim().to_owned()) }
}

fn non_empty(s: &str) -> Result<String, String> {
    if s.trim().is_empty() { Err("the note is empty: say what to record".into()) } else { Ok(s.to_owned()) }
}

/// The console draws on a terminal; say what to use instead when there is none.
pub fn need_terminal() -> Result<(), CliError> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(CliError::message(
            "the console needs a terminal; for scripts and pipes use `warroom status` or `warroom watch` (or --help for every command)",
            1,
        ));
    }
    Ok(())
}

async fn console(config: Option<PathBuf>, started: std::time::Instant) -> Result<ExitCode, CliError> {
    need_terminal()?;
    let (engine, _log) = open_engine(config, 1).await?;
    let options =
        crate::tui::Options { mode: crate::tui::state::Mode::Live, started, sim: None, player: false };
    crate::tui::run(engine.clone(), options)
        .await
        .map_err(|e| CliError::message(format!("the console stopped: {e}"), 1))?;
    engine.close().await;
    Ok(ExitCode::SUCCESS)
}
