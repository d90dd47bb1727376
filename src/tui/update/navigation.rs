//! Moving about: screens, the selection and scrolling, and what each bound key does where.

use super::*;

/// Open a screen, remembering where we were.
pub(super) fn go(state: &mut State, screen: Screen) {
    if state.screen != screen {
        state.history.push(state.screen);
        state.screen = screen;
    }
}

pub(super) fn go_home(state: &mut State) {
    state.history.clear();
    state.screen = Screen::Dashboard;
    state.overlay = None;
}

pub(super) fn back(state: &mut State) {
    match state.history.pop() {
        Some(screen) => state.screen = screen,
        None => state.screen = Screen::Dashboard,
    }
}

pub(super) fn on_command(state: &mut State, command: KeyCommand, now: DateTime<Utc>) -> Vec<Effect> {
    // An open overlay takes every key.
    match &mut state.overlay {
        Some(Overlay::Help { .. }) => {
            let area = ratatui::layout::Rect::new(0, 0, state.width, state.height);
            let lines = crate::tui::help::rows(state).len();
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
        KeyCommand::Comms => return update(state, Action::ShowComms, now),
        KeyCommand::Exercise => return update(state, Action::ShowExercise, now),
        KeyCommand::Processes => {
            go(state, Screen::Processes);
            return Vec::new();
        }
        KeyCommand::Risks => {
            go(state, Screen::Risks);
            return Vec::new();
        }
        KeyCommand::Observe => {
            if state.ops.exercise.is_none() {
                say(state, MessageLevel::Warning, "no exercise is running".to_owned(), now);
                return Vec::new();
            }
            state.overlay =
                Some(Overlay::Palette { input: TextInput::with("observe "), selected: 0, error: None });
            return Vec::new();
        }
        KeyCommand::Notify => {
            return update(
                state,
                Action::Request(Request::Notify { stage: None, lists: Vec::new(), message: String::new() }),
                now,
            );
        }
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
        Screen::Incident | Screen::Comms => {
            if command == KeyCommand::Back {
                back(state);
            }
        }
        Screen::Exercise => return exercise_command(state, command, now),
        Screen::Processes => {
            let n = state.plan.processes.len();
            if !list_command(&mut state.process_selected, n, command) && command == KeyCommand::Back {
                back(state);
            }
        }
        Screen::Risks => {
            let n = state.plan.risks.len();
            if !list_command(&mut state.risk_selected, n, command) && command == KeyCommand::Back {
                back(state);
            }
        }
    }
    Vec::new()
}

/// Moving through a list of `n`: whether `command` was a move.
fn list_command(selected: &mut usize, n: usize, command: KeyCommand) -> bool {
    let last = n.saturating_sub(1);
    *selected = match command {
        KeyCommand::Down | KeyCommand::Right => (*selected + 1).min(last),
        KeyCommand::Up | KeyCommand::Left => selected.saturating_sub(1),
        KeyCommand::Top => 0,
        KeyCommand::Bottom => last,
        KeyCommand::PageDown => (*selected + 5).min(last),
        KeyCommand::PageUp => selected.saturating_sub(5),
        _ => return false,
    };
    true
}

/// The system a backup key acts on: the open detail's, else the dashboard's selection.
pub(super) fn target_system(state: &State) -> Option<String> {
    let i = match state.screen {
        Screen::Detail(d) => Some(d.system),
        Screen::Dashboard => state.selected,
        _ => None,
    }?;
    state.estate.systems().get(i).map(|s| s.name.clone())
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
pub(super) fn scrolled(scroll: usize, command: KeyCommand, max: usize) -> usize {
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

pub(super) fn dashboard_command(state: &mut State, command: KeyCommand, now: DateTime<Utc>) {
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

pub(super) fn detail_command(state: &mut State, mut detail: Detail, command: KeyCommand) {
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

pub(super) fn jobs_command(state: &mut State, command: KeyCommand, now: DateTime<Utc>) -> Vec<Effect> {
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
        // A proposal waiting for an approval (this console's, or another host's): its gate.
        KeyCommand::Open => {
            let Some(job) = state.jobs.get(state.job_selected).cloned() else { return Vec::new() };
            if job.state != crate::engine::jobs::JobState::Proposed {
                say(
                    state,
                    MessageLevel::Info,
                    format!("job {} is {}: there is nothing to approve", job.id, job.state),
                    now,
                );
                return Vec::new();
            }
            if job.proposed_by == state.console.operator {
                // One's own: the gate as when it was proposed (Cancel withdraws it).
                state.gate_queue.push_back(job);
                super::facts::open_next_gate(state);
            } else {
                let policy = job.policy;
                state.overlay = Some(Overlay::Gate(Box::new(Gate::new(GateSubject::Review, job, policy))));
            }
        }
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
            state.overlay =
                Some(Overlay::Gate(Box::new(Gate::new(GateSubject::Cancellation, cancel, policy))));
        }
        _ => {}
    }
    Vec::new()
}

pub(super) fn audit_command(state: &mut State, command: KeyCommand) {
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

pub(super) fn follow_audit(state: &mut State) {
    let rows = layout::audit_rows(state.height);
    state.audit.scroll = layout::scroll_to(state.audit.selected, state.audit.scroll, rows);
}

/// After the filter or the estate changed: keep the selection if it is still shown, else
/// select the first system shown.
pub(super) fn reselect(state: &mut State, now: DateTime<Utc>) {
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
pub(super) fn follow_selection(state: &mut State, now: DateTime<Utc>) {
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

/// The exercise screen: move among the injects, switch between the facilitator's and the
/// players' view (a joined player has only theirs), acknowledge the selected inject.
fn exercise_command(state: &mut State, command: KeyCommand, now: DateTime<Utc>) -> Vec<Effect> {
    let shown = crate::tui::views::exercise::shown_injects(state);
    match command {
        KeyCommand::Back => back(state),
        KeyCommand::NextPane | KeyCommand::PrevPane if !state.player => {
            state.players_view = !state.players_view;
            state.inject_selected = 0;
        }
        KeyCommand::Acknowledge => {
            let Some(&i) = shown.get(state.inject_selected) else {
                say(state, MessageLevel::Warning, "no inject to acknowledge".to_owned(), now);
                return Vec::new();
            };
            let Some(x) = &state.ops.exercise else { return Vec::new() };
            let id = x.scenario().injects[i].id.clone();
            let control = crate::engine::exercise::Control::Acknowledge(id);
            return update(
                state,
                Action::Exercise(crate::tui::action::ExerciseRequest::Control(control)),
                now,
            );
        }
        other => {
            let max = shown.len().saturating_sub(1);
            state.inject_selected = scrolled(state.inject_selected, other, max);
        }
    }
    Vec::new()
}
