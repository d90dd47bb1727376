//! `update(&mut State, Action, now) -> Vec<Effect>`: the console's only state transition.
//! Pure: no I/O, no clock reads. Side effects are returned as [`Effect`]s.

use chrono::{DateTime, Utc};

use crate::config::keys::KeyCommand;

use super::action::{Action, Edit, Effect, GateKey, ManualKey, Request};
use super::keymap::Keymap;
use super::layout;
use super::palette;
use super::state::{
    DashboardLine, Detail, DetailPane, Gate, GateFocus, GateSubject, Message, MessageLevel, Mode, Overlay,
    Screen, State, TextInput, dashboard_lines, dependency_list,
};
use crate::engine::jobs::{JobSnapshot, Proof, Signal};
use crate::model::ApprovalPolicy;

pub fn update(state: &mut State, action: Action, now: DateTime<Utc>) -> Vec<Effect> {
    match action {
        Action::Tick { local_offset } => {
            state.local_offset = local_offset;
            Vec::new()
        }
        Action::Resize { width, height } => {
            state.width = width;
            state.height = height;
            follow_selection(state, now);
            Vec::new()
        }
        Action::Command(command) => on_command(state, command, now),
        Action::Edit(edit) => on_edit(state, edit, now),
        Action::OpenSystem(name) => {
            if let Some(system) = state.estate.index_of(&name) {
                state.selected = Some(system);
                follow_selection(state, now);
                go(state, Screen::Detail(Detail { system, pane: DetailPane::Overview, cursor: 0 }));
            }
            Vec::new()
        }
        Action::JumpToTier(tier) => {
            go_home(state);
            let lines = dashboard_lines(state, now);
            let first = lines.iter().find_map(|l| match l {
                DashboardLine::System(i)
                    if state.estate.systems().get(*i).is_some_and(|s| s.tier == tier) =>
                {
                    Some(*i)
                }
                _ => None,
            });
            match first {
                Some(i) => {
                    state.selected = Some(i);
                    follow_selection(state, now);
                    // Show the tier's heading at the top, as far as the list allows.
                    if let Some(pos) = lines.iter().position(|l| *l == DashboardLine::Tier(tier)) {
                        state.scroll =
                            pos.min(lines.len().saturating_sub(layout::dashboard_rows(state.height)));
                    }
                }
                None => say(
                    state,
                    MessageLevel::Warning,
                    format!("{tier} has no systems{}", filtered_note(state)),
                    now,
                ),
            }
            Vec::new()
        }
        Action::SetTheme(name) => {
            match state.themes.get(&name) {
                Some(theme) => {
                    state.theme = if state.no_color { theme.clone().without_color() } else { theme.clone() };
                    say(state, MessageLevel::Info, format!("theme {name}"), now);
                }
                None => say(state, MessageLevel::Error, format!("there is no theme \"{name}\""), now),
            }
            Vec::new()
        }
        Action::SetFilter(text) => {
            state.filter = text.trim().to_owned();
            go_home(state);
            reselect(state, now);
            Vec::new()
        }
        Action::ShowDashboard => {
            go_home(state);
            Vec::new()
        }
        Action::ShowAudit => {
            if state.screen != Screen::Audit {
                go(state, Screen::Audit);
            }
            state.audit.loading = true;
            vec![Effect::LoadAudit]
        }
        Action::ShowHelp => {
            state.overlay = Some(Overlay::Help { scroll: 0 });
            Vec::new()
        }
        Action::Reload => {
            say(state, MessageLevel::Info, format!("reading {} again…", state.config_path.display()), now);
            vec![Effect::ReloadConfig]
        }
        Action::Quit => {
            let running = state.running_jobs();
            if running > 0 && !matches!(state.overlay, Some(Overlay::ConfirmQuit { .. })) {
                state.overlay = Some(Overlay::ConfirmQuit { running });
            } else {
                state.quit = true;
            }
            Vec::new()
        }
        Action::QuitAnyway => {
            state.quit = true;
            Vec::new()
        }
        Action::Request(request) => {
            say(state, MessageLevel::Info, format!("planning: {}…", describe_request(&request)), now);
            vec![Effect::Propose(request)]
        }
        Action::Proposed(job) => {
            let policy = job.policy;
            upsert_job(state, (*job).clone());
            state.message = None;
            state.overlay = Some(Overlay::Gate(Box::new(Gate {
                subject: GateSubject::Proposal,
                job: *job,
                policy,
                focus: GateFocus::Cancel,
                typed: TextInput::default(),
                scroll: 0,
                error: None,
            })));
            Vec::new()
        }
        Action::ActionFailed(e) => {
            say(state, MessageLevel::Error, e, now);
            Vec::new()
        }
        Action::Gate(key) => gate_key(state, key, now),
        Action::ShowJobs => {
            if state.screen != Screen::Jobs {
                go(state, Screen::Jobs);
            }
            Vec::new()
        }
        Action::JobChanged(job) => {
            let was_finished = state.jobs.iter().find(|j| j.id == job.id).is_some_and(|j| j.state.finished());
            let finished = job.state.finished() && !was_finished;
            let (kind, target, job_state) = (job.kind, job.target.clone(), job.state);
            let outcome = job.outcome.clone().unwrap_or_default();
            let never_ran = job.started_at.is_none();
            upsert_job(state, *job);
            prompt_manual(state);
            if !finished {
                return Vec::new();
            }
            use crate::engine::jobs::JobState;
            let (level, also) = match job_state {
                JobState::Succeeded => (MessageLevel::Info, ""),
                // Refused at the gate (here or elsewhere): a decision, not a problem.
                JobState::Cancelled if never_ran => (MessageLevel::Info, "; nothing ran"),
                JobState::Cancelled => (MessageLevel::Warning, ""),
                _ => (MessageLevel::Error, ""),
            };
            say(state, level, format!("{kind} of {target} {job_state}: {outcome}{also}"), now);
            vec![Effect::LoadBackups]
        }
        Action::JobsLoaded(jobs) => {
            state.jobs = jobs;
            state.job_selected = state.job_selected.min(state.jobs.len().saturating_sub(1));
            Vec::new()
        }
        Action::OpsLoaded(ops) => {
            // Jobs of other processes join the list; this process's own are already there.
            for job in &ops.jobs {
                upsert_job(state, job.clone());
            }
            state.jobs.sort_by(|a, b| b.proposed_at.cmp(&a.proposed_at).then(b.id.cmp(&a.id)));
            state.ops = *ops;
            state.state_unreadable = None;
            prompt_manual(state);
            Vec::new()
        }
        Action::StateUnreadable(why) => {
            // The last good data stays on screen; the header says it is stale, and since when.
            if state.state_unreadable.is_none() {
                state.state_unreadable = Some((why, now));
            } else if let Some((reason, _)) = &mut state.state_unreadable {
                *reason = why;
            }
            Vec::new()
        }
        Action::Done(text) => {
            say(state, MessageLevel::Info, text, now);
            vec![Effect::LoadOps]
        }
        Action::ShowIncident => {
            if state.screen != Screen::Incident {
                go(state, Screen::Incident);
            }
            vec![Effect::LoadOps]
        }
        Action::Declare { kind, severity, systems } => {
            say(state, MessageLevel::Info, format!("declaring a {} {severity} incident…", kind.name()), now);
            vec![Effect::Declare { kind, severity, systems }]
        }
        Action::Commit(system) => vec![Effect::Commit { system }],
        Action::Note(text) => match &state.ops.incident {
            Some(i) => vec![Effect::Note { incident: i.id.clone(), text }],
            None => {
                say(state, MessageLevel::Warning, "there is no open incident to note on".to_owned(), now);
                Vec::new()
            }
        },
        Action::CloseIncident(summary) => match &state.ops.incident {
            Some(i) => vec![Effect::CloseIncident { incident: i.id.clone(), summary }],
            None => {
                say(state, MessageLevel::Warning, "there is no open incident to close".to_owned(), now);
                Vec::new()
            }
        },
        Action::PlanSignal { signal, system } => {
            let plan = state.ops.incident.as_ref().and_then(|i| i.plan_job.clone()).or_else(|| {
                state
                    .jobs
                    .iter()
                    .find(|j| {
                        j.kind == crate::engine::jobs::JobKind::Recover
                            && j.state == crate::engine::jobs::JobState::Running
                    })
                    .map(|j| j.id.clone())
            });
            match plan {
                Some(job) => vec![Effect::Signal { job, signal, argument: Some(system) }],
                None => {
                    say(state, MessageLevel::Warning, "no recovery plan is running".to_owned(), now);
                    Vec::new()
                }
            }
        }
        Action::Manual(key) => manual_key(state, key, now),
        Action::Report => {
            vec![Effect::Report { incident: state.ops.incident.as_ref().map(|i| i.id.clone()) }]
        }
        Action::BackupsLoaded { backups, standings } => {
            state.newest_verified = state
                .estate
                .systems()
                .iter()
                .map(|s| standings.iter().find(|x| x.system == s.name).and_then(|x| x.newest_verified))
                .collect();
            state.backups = backups;
            state.standings = standings;
            Vec::new()
        }
        Action::AuditLoaded { records, verification } => {
            state.audit.loading = false;
            state.audit.error = None;
            state.audit.selected = state.audit.selected.min(records.len().saturating_sub(1));
            state.audit.records = records;
            state.audit.verification = Some(verification);
            follow_audit(state);
            Vec::new()
        }
        Action::HealthChanged(systems) => {
            for h in systems {
                if let Some(slot) = state.health.get_mut(h.system) {
                    *slot = Some(h);
                }
            }
            Vec::new()
        }
        Action::SetFault { system, fault, replace } => {
            if state.mode != Mode::Demo {
                say(
                    state,
                    MessageLevel::Warning,
                    "faults can only be switched in the demo (warroom demo)".to_owned(),
                    now,
                );
                return Vec::new();
            }
            vec![Effect::SetFault { system, fault, replace }]
        }
        Action::FaultsSeen(faults) => {
            if faults.len() == state.faults.len() {
                state.faults = faults;
            }
            Vec::new()
        }
        Action::FaultSet { system, state: fault } => {
            if let Some(i) = state.estate.index_of(&system)
                && let Some(slot) = state.faults.get_mut(i)
            {
                *slot = fault;
            }
            say(state, MessageLevel::Info, format!("{system}: simulated {fault}"), now);
            Vec::new()
        }
        Action::AuditFailed(e) => {
            state.audit.loading = false;
            state.audit.error = Some(e);
            Vec::new()
        }
        Action::ConfigReloaded(reloaded) => {
            let selected = state.selected.and_then(|i| state.estate.systems().get(i)).map(|s| s.name.clone());
            let detail = match state.screen {
                Screen::Detail(d) => state.estate.systems().get(d.system).map(|s| s.name.clone()),
                _ => None,
            };
            let old_backups: Vec<(String, Option<DateTime<Utc>>)> = state
                .estate
                .systems()
                .iter()
                .zip(&state.newest_verified)
                .map(|(s, b)| (s.name.clone(), *b))
                .collect();
            let theme_changed = reloaded.console.theme != state.console.theme;
            state.estate = reloaded.estate;
            state.keymap = Keymap::new(&reloaded.keys);
            state.mode = match (reloaded.console.read_only, state.mode) {
                (true, _) => Mode::ReadOnly,
                (false, Mode::ReadOnly) => Mode::Live,
                (false, m) => m,
            };
            state.console = reloaded.console;
            state.approval = reloaded.approval;
            // The monitor starts again on the new configuration and reports afresh.
            state.health = vec![None; state.estate.systems().len()];
            state.faults = vec![crate::sim::FaultState::default(); state.estate.systems().len()];
            state.newest_verified = state
                .estate
                .systems()
                .iter()
                .map(|s| old_backups.iter().find(|(n, _)| *n == s.name).and_then(|(_, b)| *b))
                .collect();
            state.selected = selected.and_then(|n| state.estate.index_of(&n));
            // Screens that point at systems that are gone are dropped.
            let valid = |s: &Screen, estate: &crate::model::Estate| match s {
                Screen::Detail(d) => d.system < estate.systems().len(),
                _ => true,
            };
            state.history.retain(|s| valid(s, &state.estate));
            if let Screen::Detail(d) = &mut state.screen {
                match detail.and_then(|n| state.estate.index_of(&n)) {
                    Some(i) => {
                        d.system = i;
                        d.cursor = 0;
                    }
                    None => go_home(state),
                }
            }
            if theme_changed {
                let (theme, _) = state.themes.pick(&state.console.theme);
                state.theme = if state.no_color { theme.without_color() } else { theme };
            }
            reselect(state, now);
            let warnings = match reloaded.warnings {
                0 => String::new(),
                1 => " (1 warning: run warroom check)".to_owned(),
                n => format!(" ({n} warnings: run warroom check)"),
            };
            say(
                state,
                MessageLevel::Info,
                format!("configuration reloaded: {} systems{warnings}", state.estate.systems().len()),
                now,
            );
            Vec::new()
        }
        Action::ConfigRejected(text) => {
            state.message = None;
            state.overlay = Some(Overlay::Problems {
                title: "the configuration has errors; the console keeps the one it had".to_owned(),
                text,
                scroll: 0,
            });
            Vec::new()
        }
    }
}

/// Jobs kept in the console's list.
const JOBS_KEPT: usize = 300;

fn upsert_job(state: &mut State, job: JobSnapshot) {
    match state.jobs.iter_mut().find(|j| j.id == job.id) {
        Some(slot) => *slot = job,
        None => {
            state.jobs.insert(0, job);
            state.jobs.truncate(JOBS_KEPT);
        }
    }
}

fn describe_request(r: &Request) -> String {
    match r {
        Request::Backup { system } => format!("back up {system}"),
        Request::Verify { system, deep: false } => format!("verify {system}'s newest backup"),
        Request::Verify { system, deep: true } => format!("deep-verify {system}'s newest backup"),
        Request::Restore { system, .. } => format!("restore {system}"),
        Request::Prune { system } => format!("prune {system}'s backups"),
        Request::Failover { system, failback: false } => format!("fail {system} over"),
        Request::Failover { system, failback: true } => format!("fail {system} back"),
        Request::Recover { systems, .. } => format!("recover {}", systems.join(", ")),
    }
}

/// The approval gate takes every key while it is open.
fn gate_key(state: &mut State, key: GateKey, now: DateTime<Utc>) -> Vec<Effect> {
    let Some(Overlay::Gate(gate)) = &mut state.overlay else { return Vec::new() };
    let lines = gate.job.plan.lines.len();
    match key {
        GateKey::Toggle => {
            gate.focus = match gate.focus {
                GateFocus::Cancel => GateFocus::Approve,
                GateFocus::Approve => GateFocus::Cancel,
            };
            Vec::new()
        }
        GateKey::Up => {
            gate.scroll = gate.scroll.saturating_sub(1);
            Vec::new()
        }
        GateKey::Down => {
            gate.scroll = (gate.scroll + 1).min(lines.saturating_sub(1));
            Vec::new()
        }
        GateKey::PageUp => {
            gate.scroll = gate.scroll.saturating_sub(10);
            Vec::new()
        }
        GateKey::PageDown => {
            gate.scroll = (gate.scroll + 10).min(lines.saturating_sub(1));
            Vec::new()
        }
        GateKey::Insert(text) => {
            if gate.policy == ApprovalPolicy::Typed {
                edit_text(&mut gate.typed, Edit::Insert(text));
                gate.error = None;
                typed_focus(gate);
            }
            Vec::new()
        }
        GateKey::Backspace => {
            edit_text(&mut gate.typed, Edit::Backspace);
            gate.error = None;
            typed_focus(gate);
            Vec::new()
        }
        GateKey::Press if gate.focus == GateFocus::Approve => {
            let typed = gate.typed.text.trim().to_owned();
            if gate.policy == ApprovalPolicy::Typed && typed != gate.job.target {
                gate.error = Some(format!("type {} exactly to approve", gate.job.target));
                return Vec::new();
            }
            let proof =
                if gate.policy == ApprovalPolicy::Typed { Proof::Typed(typed) } else { Proof::Confirmed };
            let (id, subject, what) =
                (gate.job.id.clone(), gate.subject.clone(), gate.job.plan.title.clone());
            state.overlay = None;
            match subject {
                GateSubject::Proposal => {
                    say(state, MessageLevel::Info, format!("approved: {what}"), now);
                    vec![Effect::Approve { id, proof }]
                }
                GateSubject::Cancellation => {
                    say(state, MessageLevel::Warning, format!("cancelling: {what}"), now);
                    vec![Effect::CancelJob { id }]
                }
            }
        }
        GateKey::Press | GateKey::Cancel => {
            let (id, subject) = (gate.job.id.clone(), gate.subject.clone());
            state.overlay = None;
            match subject {
                GateSubject::Proposal => {
                    say(state, MessageLevel::Info, "cancelled at the gate: nothing ran".to_owned(), now);
                    vec![Effect::CancelProposal { id }]
                }
                GateSubject::Cancellation => {
                    say(state, MessageLevel::Info, "the job carries on".to_owned(), now);
                    Vec::new()
                }
            }
        }
    }
}

/// The system a backup key acts on: the open detail's, else the dashboard's selection.
fn target_system(state: &State) -> Option<String> {
    let i = match state.screen {
        Screen::Detail(d) => Some(d.system),
        Screen::Dashboard => state.selected,
        _ => None,
    }?;
    state.estate.systems().get(i).map(|s| s.name.clone())
}

/// Typing the name is the deliberate act of a typed gate: when it matches, Enter approves
/// (Tab still reaches Cancel); when it no longer does, Enter cancels again.
fn typed_focus(gate: &mut Gate) {
    if gate.policy == ApprovalPolicy::Typed {
        gate.focus =
            if gate.typed.text.trim() == gate.job.target { GateFocus::Approve } else { GateFocus::Cancel };
    }
}

fn say(state: &mut State, level: MessageLevel, text: String, now: DateTime<Utc>) {
    state.message = Some(Message { level, text, at: now });
}

fn filtered_note(state: &State) -> String {
    if state.filter.is_empty() { String::new() } else { format!(" matching \"{}\"", state.filter) }
}

/// Open a screen, remembering where we were.
fn go(state: &mut State, screen: Screen) {
    if state.screen != screen {
        state.history.push(state.screen);
        state.screen = screen;
    }
}

fn go_home(state: &mut State) {
    state.history.clear();
    state.screen = Screen::Dashboard;
    state.overlay = None;
}

fn back(state: &mut State) {
    match state.history.pop() {
        Some(screen) => state.screen = screen,
        None => state.screen = Screen::Dashboard,
    }
}

fn on_command(state: &mut State, command: KeyCommand, now: DateTime<Utc>) -> Vec<Effect> {
    // An open overlay takes every key.
    match &mut state.overlay {
        Some(Overlay::Help { .. }) => {
            let area = ratatui::layout::Rect::new(0, 0, state.width, state.height);
            let lines = super::help::rows(state).len();
            let max = layout::max_scroll(layout::help_box(area, lines, 0), lines);
            if matches!(command, KeyCommand::Back | KeyCommand::Help | KeyCommand::Quit) {
                state.overlay = None;
            } else if let Some(Overlay::Help { scroll }) = &mut state.overlay {
                *scroll = scrolled(*scroll, command, max);
            }
            return Vec::new();
        }
        Some(Overlay::Problems { text, .. }) => {
            let area = ratatui::layout::Rect::new(0, 0, state.width, state.height);
            let width = layout::inner_width(layout::problems_box(area, usize::from(state.height)));
            let lines = layout::wrap_indented(text, width).len();
            let max = layout::max_scroll(layout::problems_box(area, lines), lines);
            if matches!(command, KeyCommand::Back | KeyCommand::Open | KeyCommand::Quit) {
                state.overlay = None;
            } else if let Some(Overlay::Problems { scroll, .. }) = &mut state.overlay {
                *scroll = scrolled(*scroll, command, max);
            }
            return Vec::new();
        }
        Some(Overlay::ConfirmQuit { .. }) => {
            state.overlay = None;
            return Vec::new();
        }
        // Its keys arrive as `Action::Manual`.
        Some(Overlay::Manual { .. }) => return Vec::new(),
        // The gate's keys arrive as `Action::Gate`.
        Some(Overlay::Gate(_)) => return Vec::new(),
        Some(Overlay::Palette { .. }) | None => {}
    }

    // Commands that mean the same everywhere.
    match command {
        KeyCommand::Quit => return update(state, Action::Quit, now),
        KeyCommand::Help => return update(state, Action::ShowHelp, now),
        KeyCommand::Palette => {
            state.overlay = Some(Overlay::Palette { input: TextInput::default(), selected: 0, error: None });
            return Vec::new();
        }
        KeyCommand::Filter => {
            go_home(state);
            state.filter_input = Some(TextInput::with(&state.filter));
            return Vec::new();
        }
        KeyCommand::Audit => return update(state, Action::ShowAudit, now),
        KeyCommand::Dashboard => return update(state, Action::ShowDashboard, now),
        KeyCommand::Reload => return update(state, Action::Reload, now),
        KeyCommand::Backup
        | KeyCommand::Verify
        | KeyCommand::DeepVerify
        | KeyCommand::Restore
        | KeyCommand::Prune
            if state.screen != Screen::Jobs =>
        {
            let Some(system) = target_system(state) else {
                say(state, MessageLevel::Warning, "select a system first".to_owned(), now);
                return Vec::new();
            };
            let request = match command {
                KeyCommand::Backup => Request::Backup { system },
                KeyCommand::Verify => Request::Verify { system, deep: false },
                KeyCommand::DeepVerify => Request::Verify { system, deep: true },
                KeyCommand::Restore => Request::Restore { system, id: None, to: None },
                _ => Request::Prune { system },
            };
            return update(state, Action::Request(request), now);
        }
        KeyCommand::Jobs => return update(state, Action::ShowJobs, now),
        KeyCommand::Incident => return update(state, Action::ShowIncident, now),
        KeyCommand::Manual => {
            state.manual_later.clear();
            prompt_manual(state);
            if state.overlay.is_none() {
                say(state, MessageLevel::Info, "no job waits at a manual step".to_owned(), now);
            }
            return Vec::new();
        }
        KeyCommand::Failover if state.screen != Screen::Jobs => {
            let Some(system) = target_system(state) else {
                say(state, MessageLevel::Warning, "select a system first".to_owned(), now);
                return Vec::new();
            };
            return update(state, Action::Request(Request::Failover { system, failback: false }), now);
        }
        KeyCommand::Fault => {
            let target = match state.screen {
                Screen::Detail(d) => Some(d.system),
                _ => state.selected,
            };
            let Some(i) = target else { return Vec::new() };
            let name = state.estate.systems().get(i).map(|s| s.name.clone()).unwrap_or_default();
            let next = next_fault(state.faults.get(i).copied().unwrap_or_default());
            return update(state, Action::SetFault { system: name, fault: next, replace: true }, now);
        }
        _ => {}
    }

    match state.screen {
        Screen::Dashboard => dashboard_command(state, command, now),
        Screen::Detail(detail) => detail_command(state, detail, command),
        Screen::Audit => audit_command(state, command),
        Screen::Jobs => return jobs_command(state, command, now),
        Screen::Incident => {
            if command == KeyCommand::Back {
                back(state);
            }
        }
    }
    Vec::new()
}

/// The running job waiting at a manual step that was not put off, if any.
fn manual_waiting(state: &State) -> Option<(String, String, String)> {
    let jobs = state.jobs.iter().chain(state.ops.jobs.iter());
    jobs.filter(|j| j.state == crate::engine::jobs::JobState::Running).find_map(|j| {
        let instruction = j.progress.manual_step()?;
        let seen = |list: &[(String, String)]| list.iter().any(|(id, i)| *id == j.id && i == instruction);
        (!seen(&state.manual_later) && !seen(&state.manual_answered))
            .then(|| (j.id.clone(), j.plan.title.clone(), instruction.to_owned()))
    })
}

/// Ask about a manual step when one waits and nothing else is open; close the prompt when its
/// step no longer waits (answered elsewhere, or the job ended).
fn prompt_manual(state: &mut State) {
    if let Some(Overlay::Manual { job, instruction, .. }) = &state.overlay {
        let still = state
            .jobs
            .iter()
            .chain(state.ops.jobs.iter())
            .filter(|j| j.id == *job && j.state == crate::engine::jobs::JobState::Running)
            .any(|j| j.progress.manual_step() == Some(instruction.as_str()));
        if !still {
            state.overlay = None;
        }
    }
    if state.overlay.is_some() {
        return;
    }
    if let Some((job, title, instruction)) = manual_waiting(state) {
        state.overlay = Some(Overlay::Manual { job, title, instruction, focus: 0 });
    }
}

fn manual_key(state: &mut State, key: ManualKey, now: DateTime<Utc>) -> Vec<Effect> {
    let Some(Overlay::Manual { job, instruction, focus, .. }) = &mut state.overlay else { return Vec::new() };
    match key {
        ManualKey::Toggle => {
            *focus = (*focus + 1) % 3;
            Vec::new()
        }
        ManualKey::Later => {
            let later = (job.clone(), instruction.clone());
            state.overlay = None;
            state.manual_later.push(later);
            say(state, MessageLevel::Info, "the job waits; m answers it".to_owned(), now);
            Vec::new()
        }
        ManualKey::Press => {
            let (job, instruction, focus) = (job.clone(), instruction.clone(), *focus);
            state.overlay = None;
            if focus != 0 {
                state.manual_answered.push((job.clone(), instruction.clone()));
            }
            match focus {
                1 => {
                    say(state, MessageLevel::Info, format!("done: {instruction}"), now);
                    vec![Effect::Signal { job, signal: Signal::Confirm, argument: None }]
                }
                2 => {
                    say(
                        state,
                        MessageLevel::Warning,
                        "aborting at the manual step: the procedure rolls back".to_owned(),
                        now,
                    );
                    vec![Effect::Signal { job, signal: Signal::Abort, argument: None }]
                }
                _ => {
                    state.manual_later.push((job, instruction));
                    say(state, MessageLevel::Info, "the job waits; m answers it".to_owned(), now);
                    Vec::new()
                }
            }
        }
    }
}

/// The fault after `current` when cycling with the fault key: healthy, slow, erroring, down,
/// flapping, healthy again. A combination (set from the palette) goes back to healthy.
pub fn next_fault(current: crate::sim::FaultState) -> crate::sim::Fault {
    use crate::sim::{Fault, Listening};
    use std::time::Duration;
    match (current.listening, current.latency, current.error_fraction) {
        (Listening::Up, None, None) => Fault::Slow { latency: Duration::from_millis(6000) },
        (Listening::Up, Some(_), None) => Fault::Erroring { fraction: 0.2 },
        (Listening::Up, None, Some(_)) => Fault::Down,
        (Listening::Down, None, None) => Fault::Flapping { period: Duration::from_secs(10) },
        _ => Fault::Healthy,
    }
}

/// Scroll position after a movement command, within 0..=max.
fn scrolled(scroll: usize, command: KeyCommand, max: usize) -> usize {
    match command {
        KeyCommand::Down => scroll + 1,
        KeyCommand::Up => scroll.saturating_sub(1),
        KeyCommand::PageDown => scroll + 10,
        KeyCommand::PageUp => scroll.saturating_sub(10),
        KeyCommand::Top => 0,
        KeyCommand::Bottom => max,
        _ => scroll,
    }
    .min(max)
}

fn dashboard_command(state: &mut State, command: KeyCommand, now: DateTime<Utc>) {
    let lines = dashboard_lines(state, now);
    let systems: Vec<(usize, usize)> = lines
        .iter()
        .enumerate()
        .filter_map(|(pos, l)| match l {
            DashboardLine::System(i) => Some((pos, *i)),
            DashboardLine::Tier(_) => None,
        })
        .collect();
    if systems.is_empty() {
        if command == KeyCommand::Back && !state.filter.is_empty() {
            state.filter.clear();
            reselect(state, now);
        }
        return;
    }
    let current = state.selected.and_then(|s| systems.iter().position(|(_, i)| *i == s));
    let page = layout::dashboard_rows(state.height).max(1);
    let last = systems.len() - 1;
    let target = match (command, current) {
        (KeyCommand::Down, Some(c)) => Some((c + 1).min(last)),
        (KeyCommand::Up, Some(c)) => Some(c.saturating_sub(1)),
        (KeyCommand::Down | KeyCommand::Up, None) => Some(0),
        (KeyCommand::Top, _) => Some(0),
        (KeyCommand::Bottom, _) => Some(last),
        (KeyCommand::PageDown, c) => {
            let from = c.map(|c| systems[c].0).unwrap_or(0);
            Some(systems.iter().rposition(|(pos, _)| *pos <= from + page).unwrap_or(last))
        }
        (KeyCommand::PageUp, c) => {
            let from = c.map(|c| systems[c].0).unwrap_or(0);
            Some(systems.iter().position(|(pos, _)| *pos + page >= from).unwrap_or(0))
        }
        (KeyCommand::Open, Some(c)) => {
            let system = systems[c].1;
            go(state, Screen::Detail(Detail { system, pane: DetailPane::Overview, cursor: 0 }));
            None
        }
        (KeyCommand::Back, _) => {
            if !state.filter.is_empty() {
                state.filter.clear();
                reselect(state, now);
            }
            None
        }
        _ => None,
    };
    if let Some(t) = target {
        state.selected = Some(systems[t].1);
        follow_selection(state, now);
        if t == 0 {
            state.scroll = 0; // show the first tier's heading
        }
    }
}

fn detail_command(state: &mut State, mut detail: Detail, command: KeyCommand) {
    let (needs, impacts) = dependency_list(state, detail.system);
    let count = needs.len() + impacts.len();
    match command {
        KeyCommand::Back => {
            back(state);
            return;
        }
        KeyCommand::NextPane | KeyCommand::PrevPane | KeyCommand::Left | KeyCommand::Right => {
            detail.pane = match (command, detail.pane) {
                (KeyCommand::Left, _) => DetailPane::Overview,
                (KeyCommand::Right, _) => DetailPane::Dependencies,
                (_, DetailPane::Overview) => DetailPane::Dependencies,
                (_, DetailPane::Dependencies) => DetailPane::Overview,
            };
        }
        KeyCommand::Down
        | KeyCommand::Up
        | KeyCommand::Top
        | KeyCommand::Bottom
        | KeyCommand::PageDown
        | KeyCommand::PageUp
            if count > 0 =>
        {
            detail.pane = DetailPane::Dependencies;
            let page = layout::detail_rows(state.height).max(1);
            detail.cursor = match command {
                KeyCommand::Down => (detail.cursor + 1).min(count - 1),
                KeyCommand::Up => detail.cursor.saturating_sub(1),
                KeyCommand::Top => 0,
                KeyCommand::Bottom => count - 1,
                KeyCommand::PageDown => (detail.cursor + page).min(count - 1),
                _ => detail.cursor.saturating_sub(page),
            };
        }
        KeyCommand::Open if detail.pane == DetailPane::Dependencies && count > 0 => {
            let target = needs.iter().chain(impacts.iter()).nth(detail.cursor).copied();
            if let Some(system) = target {
                state.screen = Screen::Detail(detail);
                go(state, Screen::Detail(Detail { system, pane: DetailPane::Overview, cursor: 0 }));
                return;
            }
        }
        _ => {}
    }
    state.screen = Screen::Detail(detail);
}

fn jobs_command(state: &mut State, command: KeyCommand, now: DateTime<Utc>) -> Vec<Effect> {
    let n = state.jobs.len();
    let page = layout::audit_rows(state.height).max(1);
    let sel = &mut state.job_selected;
    match command {
        KeyCommand::Back => back(state),
        KeyCommand::Down if n > 0 => *sel = (*sel + 1).min(n - 1),
        KeyCommand::Up => *sel = sel.saturating_sub(1),
        KeyCommand::Top => *sel = 0,
        KeyCommand::Bottom if n > 0 => *sel = n - 1,
        KeyCommand::PageDown if n > 0 => *sel = (*sel + page).min(n - 1),
        KeyCommand::PageUp => *sel = sel.saturating_sub(page),
        KeyCommand::CancelJob => {
            let Some(job) = state.jobs.get(state.job_selected).cloned() else { return Vec::new() };
            if job.state != crate::engine::jobs::JobState::Running {
                say(
                    state,
                    MessageLevel::Warning,
                    format!("job {} is {}: only a running job can be cancelled", job.id, job.state),
                    now,
                );
                return Vec::new();
            }
            let tier = state.estate.system(&job.target).map(|s| s.tier).unwrap_or(crate::model::Tier::Four);
            let policy = state.approval.get(crate::model::Action::Cancel, tier);
            let mut lines = vec![
                format!("job        {} ({} of {})", job.id, job.kind, job.target),
                format!("running    {}", job.progress.stage),
                "stops it   where it is; nothing half-done is kept (a backup without its".to_owned(),
                "           manifest does not exist and is cleaned up by the next run)".to_owned(),
            ];
            lines.extend(job.plan.lines.iter().map(|l| format!("plan was   {l}")));
            let mut cancel = job.clone();
            cancel.plan = crate::engine::jobs::Plan { title: format!("Cancel: {}", job.plan.title), lines };
            state.overlay = Some(Overlay::Gate(Box::new(Gate {
                subject: GateSubject::Cancellation,
                job: cancel,
                policy,
                focus: GateFocus::Cancel,
                typed: TextInput::default(),
                scroll: 0,
                error: None,
            })));
        }
        _ => {}
    }
    Vec::new()
}

fn audit_command(state: &mut State, command: KeyCommand) {
    let n = state.audit.records.len();
    let page = layout::audit_rows(state.height).max(1);
    let sel = &mut state.audit.selected;
    match command {
        KeyCommand::Back => {
            back(state);
            return;
        }
        KeyCommand::Down if n > 0 => *sel = (*sel + 1).min(n - 1),
        KeyCommand::Up => *sel = sel.saturating_sub(1),
        KeyCommand::Top => *sel = 0,
        KeyCommand::Bottom if n > 0 => *sel = n - 1,
        KeyCommand::PageDown if n > 0 => *sel = (*sel + page).min(n - 1),
        KeyCommand::PageUp => *sel = sel.saturating_sub(page),
        _ => {}
    }
    follow_audit(state);
}

fn follow_audit(state: &mut State) {
    let rows = layout::audit_rows(state.height);
    state.audit.scroll = layout::scroll_to(state.audit.selected, state.audit.scroll, rows);
}

fn on_edit(state: &mut State, edit: Edit, now: DateTime<Utc>) -> Vec<Effect> {
    if let Some(input) = &mut state.filter_input {
        match edit {
            Edit::Submit => state.filter_input = None,
            Edit::Cancel => {
                state.filter_input = None;
                state.filter.clear();
            }
            Edit::Complete | Edit::Previous | Edit::Next => {}
            Edit::Clear => *input = TextInput::default(),
            other => edit_text(input, other),
        }
        if let Some(input) = &state.filter_input {
            state.filter = input.text.trim().to_owned();
        }
        reselect(state, now);
        return Vec::new();
    }
    let offered = match &state.overlay {
        Some(Overlay::Palette { input, .. }) => palette::suggestions(&input.text, state).len(),
        _ => 0,
    };
    let Some(Overlay::Palette { input, selected, error }) = &mut state.overlay else { return Vec::new() };
    match edit {
        Edit::Cancel => state.overlay = None,
        Edit::Clear => {
            *input = TextInput::default();
            *selected = 0;
            *error = None;
        }
        Edit::Next => *selected = (*selected + 1).min(offered.saturating_sub(1)),
        Edit::Previous => *selected = selected.saturating_sub(1),
        Edit::Complete => {
            let text = input.text.clone();
            let suggestions = palette::suggestions(&text, state);
            if let Some(Overlay::Palette { input, selected, error }) = &mut state.overlay
                && let Some(s) = suggestions.get((*selected).min(suggestions.len().saturating_sub(1)))
            {
                *input = TextInput::with(&s.line);
                *selected = 0;
                *error = None;
            }
        }
        Edit::Submit => {
            let text = input.text.clone();
            let chosen = *selected;
            // What was typed; else the suggestion the operator moved to, or a bare command
            // they typed the start of. A mistyped argument is never silently replaced.
            let parsed = palette::parse(&text, state).or_else(|e| {
                palette::suggestions(&text, state)
                    .get(chosen)
                    .filter(|s| chosen > 0 || (!s.line.contains(' ') && s.line.starts_with(text.trim())))
                    .map(|s| palette::parse(&s.line, state))
                    .filter(Result::is_ok)
                    .unwrap_or(Err(e))
            });
            match parsed {
                Ok(action) => {
                    state.overlay = None;
                    return update(state, action, now);
                }
                Err(e) => {
                    if let Some(Overlay::Palette { error, .. }) = &mut state.overlay {
                        *error = Some(e);
                    }
                }
            }
        }
        other => {
            edit_text(input, other);
            *selected = 0;
            *error = None;
        }
    }
    Vec::new()
}

fn edit_text(input: &mut TextInput, edit: Edit) {
    let byte =
        |text: &str, chars: usize| text.char_indices().nth(chars).map(|(b, _)| b).unwrap_or(text.len());
    let len = input.text.chars().count();
    match edit {
        Edit::Insert(s) => {
            let at = byte(&input.text, input.cursor);
            input.text.insert_str(at, &s);
            input.cursor += s.chars().count();
        }
        Edit::Backspace if input.cursor > 0 => {
            let at = byte(&input.text, input.cursor - 1);
            input.text.remove(at);
            input.cursor -= 1;
        }
        Edit::Delete if input.cursor < len => {
            let at = byte(&input.text, input.cursor);
            input.text.remove(at);
        }
        Edit::Left => input.cursor = input.cursor.saturating_sub(1),
        Edit::Right => input.cursor = (input.cursor + 1).min(len),
        Edit::Home => input.cursor = 0,
        Edit::End => input.cursor = len,
        _ => {}
    }
}

/// After the filter or the estate changed: keep the selection if it is still shown, else
/// select the first system shown.
fn reselect(state: &mut State, now: DateTime<Utc>) {
    let lines = dashboard_lines(state, now);
    let shown = |i: usize| lines.contains(&DashboardLine::System(i));
    if !state.selected.is_some_and(shown) {
        state.selected = lines.iter().find_map(|l| match l {
            DashboardLine::System(i) => Some(*i),
            DashboardLine::Tier(_) => None,
        });
        state.scroll = 0;
    }
    follow_selection(state, now);
}

/// Scroll the dashboard so the selected system (and, at the top of a tier, its heading) shows.
fn follow_selection(state: &mut State, now: DateTime<Utc>) {
    let lines = dashboard_lines(state, now);
    let rows = layout::dashboard_rows(state.height);
    let Some(pos) = state.selected.and_then(|s| lines.iter().position(|l| *l == DashboardLine::System(s)))
    else {
        state.scroll = state.scroll.min(lines.len().saturating_sub(rows));
        return;
    };
    let heading_above = pos > 0 && matches!(lines[pos - 1], DashboardLine::Tier(_));
    if heading_above && pos - 1 < state.scroll {
        state.scroll = pos - 1;
    }
    state.scroll = layout::scroll_to(pos, state.scroll, rows);
    state.scroll = state.scroll.min(lines.len().saturating_sub(rows));
}

#[cfg(test)]
mod tests;
