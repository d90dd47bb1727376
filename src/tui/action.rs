//! The messages of the console, each flowing one way:
//!
//! - [`Event`]: from outside (a key, a resize, the clock, the engine);
//! - [`Action`]: an intent (`OpenSystem`) or a fact the engine reported (`AuditLoaded`),
//!   the only input of [`super::update::update`];
//! - [`Effect`]: a side effect `update` asks the app loop to carry out.

use chrono::FixedOffset;
use crossterm::event::KeyEvent;

use crate::config::keys::KeyCommand;
use crate::engine::backup::catalog::{BackupStanding, BackupView};
use crate::engine::jobs::{JobSnapshot, Proof, Signal};
use crate::engine::monitor::SystemHealth;
use crate::model::Tier;
use crate::model::audit::{AuditRecord, Verification};
use crate::sim::{Fault, FaultState};

use crate::config::Config;
use crate::config::console::ConsoleConfig;
use crate::config::keys::KeyBindings;
use crate::model::Estate;

use super::theme::ThemeCatalog;

#[derive(Debug)]
pub enum Event {
    Key(KeyEvent),
    Paste(String),
    Resize {
        width: u16,
        height: u16,
    },
    /// The 1 Hz clock, with the local UTC offset (it can change at a DST boundary).
    Tick {
        local_offset: FixedOffset,
    },
    Engine(EngineEvent),
}

/// What the engine reports back after carrying out an effect.
#[derive(Debug, Clone, PartialEq)]
pub enum EngineEvent {
    AuditLoaded {
        records: Vec<AuditRecord>,
        verification: Verification,
    },
    AuditFailed(String),
    ConfigReloaded(Box<ReloadedConfig>),
    /// The file has errors: the text is the rendered report.
    ConfigRejected(String),
    /// The health monitor's latest on the systems that changed.
    Health(Vec<SystemHealth>),
    /// The simulated faults as they are now (switched from anywhere: a key, `warroom sim
    /// fault`, a failover step through the control API).
    FaultsSeen(Vec<FaultState>),
    FaultSet {
        system: String,
        state: FaultState,
    },
    FaultFailed(String),
    /// A job was proposed: the gate opens on it.
    Proposed(Box<JobSnapshot>),
    /// Several were (declaring proposes the initial notice and the recovery plan): the gate
    /// opens on each in turn.
    ProposedSeveral {
        jobs: Vec<JobSnapshot>,
        /// What could not be proposed, and why.
        problems: Vec<String>,
    },
    /// Planning or proposing failed (nothing was proposed), or the gate refused.
    ActionFailed(String),
    /// A job changed (state, progress, log).
    Job(Box<JobSnapshot>),
    Jobs(Vec<JobSnapshot>),
    Backups {
        backups: Vec<BackupView>,
        standings: Vec<BackupStanding>,
    },
    /// Failover states, the open incident (with its timeline), the jobs: the shared state.
    Ops(Box<Ops>),
    /// The shared state could not be read: what is on screen is the last good read.
    StateUnreadable(String),
    /// The live link to a shared state dropped (why): the screen is the last good read until
    /// it is back.
    StateLinkLost(String),
    /// It is back (a fresh read of the shared state follows).
    StateLinkRestored,
    Done(String),
    /// The exercise driver released, skipped or resolved injects (a line each).
    ExerciseDriven(Vec<String>),
    /// The exercise ended: the summary, whether every system is back to normal, and what the
    /// end did (faults cleared, actions opened, where the report is).
    ExerciseEnded {
        summary: String,
        clean: bool,
        lines: Vec<String>,
    },
}

/// The parts of a reloaded configuration the console takes on.
#[derive(Debug, Clone, PartialEq)]
pub struct ReloadedConfig {
    pub estate: Estate,
    pub keys: KeyBindings,
    pub console: ConsoleConfig,
    pub approval: crate::model::ApprovalPolicies,
    pub plan: crate::model::plan::Plan,
    pub warnings: usize,
    /// The theme files, read again (`None`: keep the ones loaded).
    pub themes: Option<ThemeCatalog>,
    /// Who acts, under `[[operators]]` (the engine's answer for the new configuration).
    pub standing: Option<crate::engine::access::Standing>,
}

impl ReloadedConfig {
    pub fn from_config(config: &Config, warnings: usize) -> Self {
        ReloadedConfig {
            estate: config.estate.clone(),
            keys: config.keys.clone(),
            console: config.console.clone(),
            approval: config.approval.clone(),
            plan: config.plan.clone(),
            warnings,
            themes: None,
            standing: None,
        }
    }
}

/// What every process on this state shares, as the console last read it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Ops {
    pub states: Vec<crate::model::failover::FailoverRecord>,
    pub incident: Option<crate::model::failover::IncidentRecord>,
    pub timeline: Vec<crate::engine::incident::TimelineEntry>,
    pub jobs: Vec<JobSnapshot>,
    /// The incident's communications: what is due, what was sent, each delivery.
    pub comms: Option<crate::engine::comms::CommsStatus>,
    /// The notice that is due next, composed as it would go now (or why it cannot be).
    pub preview: Option<Result<crate::engine::comms::Composition, String>>,
    /// The exercise running on this state, if one is.
    pub exercise: Option<crate::engine::exercise::ExerciseView>,
    /// The testing programme (or why it cannot be read).
    pub programme: Option<Result<crate::engine::programme::ProgrammeView, String>>,
    /// The corrective actions that are not closed.
    pub actions: Vec<crate::engine::exercise::report::ActionLine>,
    /// Each system's two ways back (by estate index), weighed against the live lag.
    pub recovery: Vec<crate::model::replication::RecoveryFigures>,
}

/// What is asked of the exercise from the console.
#[derive(Debug, Clone, PartialEq)]
pub enum ExerciseRequest {
    /// A scenario by name (`scenarios/NAME.toml`) or path.
    Start {
        name: String,
        speed: f64,
    },
    Control(crate::engine::exercise::Control),
    /// End it, with the hot wash said at the palette.
    End(crate::engine::exercise::report::HotWash),
}

/// What the operator asked to be done, before it is planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Backup {
        system: String,
    },
    Verify {
        system: String,
        deep: bool,
    },
    /// `id`: a backup (else the newest verified); `to`: a folder (else one in the state dir).
    Restore {
        system: String,
        id: Option<String>,
        to: Option<std::path::PathBuf>,
    },
    Prune {
        system: String,
    },
    /// Its failover procedure (with `failback`, its failback).
    Failover {
        system: String,
        failback: bool,
    },
    /// A recovery plan over `systems` (for an incident).
    /// A stakeholder notice: `stage` (the due one when `None`), with the commander's words.
    Notify {
        stage: Option<crate::model::comms::Stage>,
        /// Only these lists (the stage's when empty).
        lists: Vec<String>,
        message: String,
    },
    Recover {
        systems: Vec<String>,
        incident: Option<String>,
    },
}

impl Request {
    pub fn system(&self) -> &str {
        match self {
            Request::Backup { system }
            | Request::Verify { system, .. }
            | Request::Restore { system, .. }
            | Request::Prune { system }
            | Request::Failover { system, .. } => system,
            Request::Recover { systems, .. } => systems.first().map(String::as_str).unwrap_or("plan"),
            Request::Notify { .. } => "notice",
        }
    }
}

/// A key in the approval gate (which takes every key while open).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GateKey {
    /// Tab, left, right: between Cancel and Approve.
    Toggle,
    /// Enter: press the focused button.
    Press,
    /// Esc: cancel.
    Cancel,
    Up,
    Down,
    PageUp,
    PageDown,
    /// Typing the system's name (the typed policy).
    Insert(String),
    Backspace,
}

/// A key in the manual-step prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManualKey {
    Toggle,
    Press,
    Later,
}

/// Editing the text of the filter or the palette.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    Insert(String),
    Backspace,
    Delete,
    Left,
    Right,
    Home,
    End,
    /// Tab: complete the word being typed (palette).
    Complete,
    /// Up/Down among the palette's suggestions.
    Previous,
    Next,
    Submit,
    Cancel,
    /// Ctrl-U: empty the line.
    Clear,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Tick {
        local_offset: FixedOffset,
    },
    Resize {
        width: u16,
        height: u16,
    },
    /// A bound key's command, in the context of the current screen.
    Command(KeyCommand),
    Edit(Edit),
    OpenSystem(String),
    JumpToTier(Tier),
    SetTheme(String),
    SetFilter(String),
    ShowDashboard,
    ShowAudit,
    ShowHelp,
    Reload,
    Quit,
    /// Demo: switch a simulated fault on (`replace`: switch the others off first).
    SetFault {
        system: String,
        fault: Fault,
        replace: bool,
    },
    /// A fact from the engine (what it read or did).
    Engine(EngineEvent),
    /// Plan a job and open the gate on it.
    Request(Request),
    ShowJobs,
    Gate(GateKey),
    /// Leave even though jobs run (after the question).
    QuitAnyway,
    ShowIncident,
    ShowComms,
    Declare {
        kind: crate::model::failover::IncidentKind,
        severity: crate::model::failover::Severity,
        systems: Vec<String>,
    },
    Commit(String),
    Note(String),
    CloseIncident(Option<String>),
    /// Write the open (or last) incident's report.
    Report,
    /// Skip or retry a system of the running plan.
    PlanSignal {
        signal: Signal,
        system: String,
    },
    Manual(ManualKey),
    ShowExercise,
    Exercise(ExerciseRequest),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    LoadAudit,
    ReloadConfig,
    SetFault {
        system: String,
        fault: Fault,
        replace: bool,
    },
    /// Plan the request and propose the job.
    Propose(Request),
    /// The gate said yes: approve the job and start it.
    Approve {
        id: String,
        proof: Proof,
    },
    /// The gate said no.
    CancelProposal {
        id: String,
    },
    /// Stop a running job.
    CancelJob {
        id: String,
    },
    /// Refresh the catalog from the repositories and report the backups.
    LoadBackups,
    /// Read the failover states, the open incident and the jobs.
    LoadOps,
    Declare {
        kind: crate::model::failover::IncidentKind,
        severity: crate::model::failover::Severity,
        systems: Vec<String>,
    },
    Commit {
        system: String,
    },
    Note {
        incident: String,
        text: String,
    },
    CloseIncident {
        incident: String,
        summary: Option<String>,
    },
    /// Write `incident`'s report (Markdown) into the state folder.
    Report {
        incident: Option<String>,
    },
    /// An operator's signal to a job: confirm/abort a manual step, skip/retry in a plan.
    Signal {
        job: String,
        signal: Signal,
        argument: Option<String>,
    },
    Exercise(ExerciseRequest),
}
