//! Everything the console shows, as plain data. Only [`super::update::update`] changes it.

use std::path::PathBuf;

use chrono::{DateTime, FixedOffset, Offset, Utc};

use crate::config::{Config, ConsoleConfig};
use crate::engine::backup::catalog::{BackupStanding, BackupView};
use crate::engine::jobs::{JobSnapshot, JobState};
use crate::engine::monitor::SystemHealth;
use crate::model::ApprovalPolicy;
use crate::model::audit::{AuditRecord, Verification};
use crate::model::{Estate, HealthState, RpoStatus, Tier};
use crate::sim::FaultState;

use super::action::Ops;
use super::keymap::Keymap;
use super::theme::{Theme, ThemeCatalog};

/// What the console is connected to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Live,
    Demo,
    ReadOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Dashboard,
    Detail(Detail),
    Audit,
    Jobs,
    Incident,
    /// The incident's communications.
    Comms,
    /// The running (or last) exercise.
    Exercise,
    /// The business processes, with their systems' live state.
    Processes,
    /// The risk register as a heat map, with the selected risk's detail.
    Risks,
}

/// The system detail screen: which system, which pane has focus, where the cursor is in the
/// dependency list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detail {
    pub system: usize,
    pub pane: DetailPane,
    pub cursor: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetailPane {
    Overview,
    Dependencies,
}

/// A line of text being typed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TextInput {
    pub text: String,
    /// Cursor position, in characters.
    pub cursor: usize,
}

impl TextInput {
    pub fn with(text: &str) -> Self {
        TextInput { text: text.to_owned(), cursor: text.chars().count() }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Overlay {
    Help {
        scroll: usize,
    },
    Palette {
        input: TextInput,
        selected: usize,
        error: Option<String>,
    },
    /// Text to read (configuration errors), scrollable.
    Problems {
        title: String,
        text: String,
        scroll: usize,
    },
    /// The approval gate: nothing runs until it says yes.
    Gate(Box<Gate>),
    /// Quitting while jobs run: asked first.
    ConfirmQuit {
        running: usize,
    },
    /// A job waits at a manual step: done, abort, or later.
    Manual {
        job: String,
        title: String,
        instruction: String,
        /// 0 later, 1 done, 2 abort.
        focus: u8,
    },
}

/// What the gate decides on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GateSubject {
    /// A proposed job: approve it (it starts) or cancel it (nothing runs).
    Proposal,
    /// Someone else's proposal, opened from the jobs screen: approve it, or leave it waiting
    /// for them (closing the gate withdraws nothing).
    Review,
    /// A running job: stop it, or leave it running.
    Cancellation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateFocus {
    Cancel,
    Approve,
}

/// The approval gate's modal: the plan (scrollable), Cancel focused first, and for the typed
/// policy the system's name to type.
#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    pub subject: GateSubject,
    pub job: JobSnapshot,
    pub policy: ApprovalPolicy,
    pub focus: GateFocus,
    pub typed: TextInput,
    pub scroll: usize,
    /// Why Approve did nothing (the name typed does not match).
    pub error: Option<String>,
}

impl Gate {
    /// A gate on `job` under `policy`, Cancel focused, nothing typed.
    pub fn new(subject: GateSubject, job: JobSnapshot, policy: ApprovalPolicy) -> Gate {
        Gate {
            subject,
            job,
            policy,
            focus: GateFocus::Cancel,
            typed: TextInput::default(),
            scroll: 0,
            error: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageLevel {
    Info,
    Warning,
    Error,
}

/// A notice in the footer, shown for a few seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub level: MessageLevel,
    pub text: String,
    pub at: DateTime<Utc>,
}

/// How long a footer message stays: notices briefly, warnings and errors long enough to read.
pub fn message_seconds(level: MessageLevel) -> i64 {
    match level {
        MessageLevel::Info => 6,
        MessageLevel::Warning | MessageLevel::Error => 20,
    }
}

/// The audit screen's data.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AuditView {
    pub loading: bool,
    pub records: Vec<AuditRecord>,
    pub verification: Option<Verification>,
    pub error: Option<String>,
    pub selected: usize,
    pub scroll: usize,
}

#[derive(Debug, Clone)]
pub struct State {
    /// Who acts, under `[[operators]]`: their roles, or that they may only watch.
    pub standing: Option<crate::engine::access::Standing>,
    pub estate: Estate,
    pub config_path: PathBuf,
    pub console: ConsoleConfig,
    /// The gate's policies, per action and tier.
    pub approval: crate::model::ApprovalPolicies,
    pub mode: Mode,
    pub keymap: Keymap,
    pub themes: ThemeCatalog,
    pub theme: Theme,
    pub no_color: bool,
    pub width: u16,
    pub height: u16,
    pub local_offset: FixedOffset,
    pub screen: Screen,
    /// Screens to go back to with Esc.
    pub history: Vec<Screen>,
    /// The dashboard's selected system (an index into the estate).
    pub selected: Option<usize>,
    /// The dashboard's first visible line.
    pub scroll: usize,
    /// `/` filter: system name, tier or state words.
    pub filter: String,
    /// Set while the filter is being typed.
    pub filter_input: Option<TextInput>,
    pub overlay: Option<Overlay>,
    /// Proposals waiting for the gate while it shows another (declaring proposes two).
    pub gate_queue: std::collections::VecDeque<JobSnapshot>,
    pub audit: AuditView,
    /// Per system (estate order): what the health monitor last reported; `None` until it does
    /// (or when the system has no health check).
    pub health: Vec<Option<SystemHealth>>,
    /// In a demo: each simulated system's fault.
    pub faults: Vec<FaultState>,
    /// Per system: when its newest verified backup was taken.
    pub newest_verified: Vec<Option<DateTime<Utc>>>,
    /// Every backup the catalog knows, oldest first.
    pub backups: Vec<BackupView>,
    /// Per system (by name): schedule, 3-2-1, deep verification.
    pub standings: Vec<BackupStanding>,
    /// Jobs, newest first (the last few hundred).
    pub jobs: Vec<JobSnapshot>,
    /// The Jobs screen's selected job.
    pub job_selected: usize,
    /// What every process on this state shares: failover states, the open incident.
    pub ops: Ops,
    /// Manual steps answered "later" (job and instruction), not asked again.
    pub manual_later: Vec<(String, String)>,
    /// Manual steps answered here (job, instruction): never asked again, while the job's
    /// progress catches up.
    pub manual_answered: Vec<(String, String)>,
    pub message: Option<Message>,
    pub quit: bool,
    /// The shared state could not be read (why, and since when): the screen shows the last
    /// good read, marked stale.
    pub state_unreadable: Option<(String, DateTime<Utc>)>,
    /// The live link to a shared PostgreSQL state is down (why, and since when).
    pub state_link_lost: Option<(String, DateTime<Utc>)>,
    /// Joined an exercise as a player (`warroom exercise join`): only the players' view.
    pub player: bool,
    /// The exercise screen shows the players' view (the facilitator's otherwise).
    pub players_view: bool,
    /// The exercise screen's selected inject (an index into the scenario's injects).
    pub inject_selected: usize,
    /// What the exercise driver did last, newest last (a few lines).
    pub exercise_log: Vec<String>,
    /// How the last exercise this console ended went: its cleanup and its report, a line each.
    pub exercise_ended: Vec<String>,
    /// The continuity plan: processes, risks, sites.
    pub plan: crate::model::plan::Plan,
    /// The processes screen's selected process, and the risks screen's selected risk.
    pub process_selected: usize,
    pub risk_selected: usize,
}

impl State {
    /// Who acts (`[[operators]]`): an observer's, an unlisted or an unproven operator's console
    /// says READ-ONLY, as one with `console.read_only` does.
    pub fn set_standing(&mut self, standing: Option<crate::engine::access::Standing>) {
        if standing.as_ref().is_some_and(|s| s.read_only) {
            self.mode = Mode::ReadOnly;
        } else if self.mode == Mode::ReadOnly && !self.console.read_only {
            self.mode = Mode::Live;
        }
        self.standing = standing;
    }

    pub fn new(
        config: &Config,
        themes: ThemeCatalog,
        mode: Mode,
        no_color: bool,
        now: DateTime<Utc>,
    ) -> State {
        let (theme, warning) = themes.pick(&config.console.theme);
        let n = config.estate.systems().len();
        let mut state = State {
            standing: None,
            state_unreadable: None,
            state_link_lost: None,
            player: false,
            players_view: false,
            inject_selected: 0,
            exercise_log: Vec::new(),
            exercise_ended: Vec::new(),
            plan: config.plan.clone(),
            process_selected: 0,
            risk_selected: 0,
            estate: config.estate.clone(),
            config_path: config.path.clone(),
            console: config.console.clone(),
            approval: config.approval.clone(),
            mode: if config.console.read_only { Mode::ReadOnly } else { mode },
            keymap: Keymap::new(&config.keys),
            theme: if no_color { theme.without_color() } else { theme },
            themes,
            no_color,
            width: 80,
            height: 24,
            local_offset: Utc.fix(),
            screen: Screen::Dashboard,
            history: Vec::new(),
            selected: None,
            scroll: 0,
            filter: String::new(),
            filter_input: None,
            overlay: None,
            gate_queue: std::collections::VecDeque::new(),
            audit: AuditView::default(),
            health: vec![None; n],
            faults: vec![FaultState::default(); n],
            newest_verified: vec![None; n],
            backups: Vec::new(),
            standings: Vec::new(),
            jobs: Vec::new(),
            job_selected: 0,
            ops: Default::default(),
            manual_later: Vec::new(),
            manual_answered: Vec::new(),
            message: None,
            quit: false,
        };
        state.selected = dashboard_lines(&state, now).iter().find_map(|l| match l {
            DashboardLine::System(i) => Some(*i),
            DashboardLine::Tier(_) => None,
        });
        let warnings: Vec<String> =
            state.themes.warnings.iter().map(|w| w.0.clone()).chain(warning.map(|w| w.0)).collect();
        if !warnings.is_empty() {
            state.message =
                Some(Message { level: MessageLevel::Warning, text: warnings.join(" · "), at: now });
        }
        state
    }

    pub fn health(&self, system: usize) -> HealthState {
        self.health_info(system).map(|h| h.state).unwrap_or_default()
    }

    pub fn health_info(&self, system: usize) -> Option<&SystemHealth> {
        self.health.get(system).and_then(Option::as_ref)
    }

    pub fn rpo(&self, system: usize, now: DateTime<Utc>) -> RpoStatus {
        let objective = self.estate.systems().get(system).map(|s| s.objective.rpo).unwrap_or_default();
        let newest = self.newest_verified.get(system).copied().flatten();
        RpoStatus::assess(newest, objective, self.estate.rpo_policy, now)
    }

    /// The RPO a failover would achieve now, for a system whose standby's lag is read.
    pub fn failover_rpo(
        &self,
        system: usize,
        now: DateTime<Utc>,
    ) -> Option<crate::model::replication::FailoverRpo> {
        let objective = self.estate.systems().get(system)?.objective.rpo;
        let r = self.health_info(system)?.replication.as_ref()?;
        Some(r.failover_rpo(objective, self.estate.rpo_policy, now))
    }

    /// Failing over against restoring, now: for a system with a failover procedure or a
    /// standby whose lag is read.
    pub fn trade_off(
        &self,
        system: usize,
        now: DateTime<Utc>,
    ) -> Option<crate::model::replication::TradeOff> {
        let s = self.estate.systems().get(system)?;
        let figures = self.ops.recovery.get(system)?;
        let replication = self.health_info(system).and_then(|h| h.replication.as_ref());
        if figures.failover.is_none() && replication.is_none() {
            return None;
        }
        Some(crate::model::replication::TradeOff::of(
            s.objective.rpo,
            self.estate.rpo_policy,
            figures,
            replication,
            now,
        ))
    }

    /// Jobs running now.
    pub fn running_jobs(&self) -> usize {
        self.jobs.iter().filter(|j| j.state == JobState::Running).count()
    }

    pub fn standing(&self, system: usize) -> Option<&BackupStanding> {
        let name = &self.estate.systems().get(system)?.name;
        self.standings.iter().find(|s| &s.system == name)
    }

    /// A system's backups, newest first.
    pub fn backups_of(&self, system: usize) -> Vec<&BackupView> {
        let Some(name) = self.estate.systems().get(system).map(|s| &s.name) else { return Vec::new() };
        self.backups.iter().rev().filter(|b| &b.manifest.system == name).collect()
    }

    /// The footer message, while it is fresh.
    pub fn live_message(&self, now: DateTime<Utc>) -> Option<&Message> {
        self.message.as_ref().filter(|m| (now - m.at).num_seconds() < message_seconds(m.level))
    }
}

/// One line of the dashboard: a tier's heading, or a system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DashboardLine {
    Tier(Tier),
    System(usize),
}

/// How urgent a system is, for sorting worst first: down, then breached RPO, then degraded,
/// then never backed up, then at risk, then unknown, then fine.
pub fn urgency(health: HealthState, rpo: &RpoStatus) -> u8 {
    match (health, rpo) {
        (HealthState::Down, _) => 6,
        (_, RpoStatus::Breached { .. }) => 5,
        (HealthState::Degraded, _) => 4,
        (_, RpoStatus::NeverBackedUp) => 3,
        (_, RpoStatus::AtRisk { .. }) => 2,
        (HealthState::Unknown, _) => 1,
        _ => 0,
    }
}

/// The dashboard's lines: each tier's heading and its systems, worst first, after the filter.
/// With a filter, tiers with no match are left out.
pub fn dashboard_lines(state: &State, now: DateTime<Utc>) -> Vec<DashboardLine> {
    let filter = super::filter::Filter::parse(&state.filter);
    let mut lines = Vec::new();
    for tier in Tier::ALL {
        let mut systems: Vec<(u8, usize)> = state
            .estate
            .tier(tier)
            .filter(|(i, s)| filter.matches(s, state.health(*i), &state.rpo(*i, now)))
            .map(|(i, _)| (urgency(state.health(i), &state.rpo(i, now)), i))
            .collect();
        if systems.is_empty() && !filter.is_empty() {
            continue;
        }
        systems.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        lines.push(DashboardLine::Tier(tier));
        lines.extend(systems.into_iter().map(|(_, i)| DashboardLine::System(i)));
    }
    lines
}

/// The systems listed in the detail screen's dependency pane: what it depends on, then what an
/// outage of it impacts (the most critical tiers first, nearest first within a tier).
pub fn dependency_list(state: &State, system: usize) -> (Vec<usize>, Vec<usize>) {
    let graph = state.estate.graph();
    let tier = |i: usize| state.estate.systems().get(i).map(|s| s.tier);
    let mut impacts = graph.transitive_dependents(system);
    impacts.sort_by_key(|&i| tier(i));
    (graph.depends_on(system).to_vec(), impacts)
}
