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
    let effects = step(state, action, now);
    // A gate that closed lets the next waiting proposal in.
    facts::open_next_gate(state);
    effects
}

fn step(state: &mut State, action: Action, now: DateTime<Utc>) -> Vec<Effect> {
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
        Action::Engine(fact) => facts::apply(state, fact, now),
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
        Action::Gate(key) => gate_key(state, key, now),
        Action::ShowJobs => {
            if state.screen != Screen::Jobs {
                go(state, Screen::Jobs);
            }
            Vec::new()
        }
        Action::ShowIncident => {
            if state.screen != Screen::Incident {
                go(state, Screen::Incident);
            }
            vec![Effect::LoadOps]
        }
        Action::ShowExercise => {
            if state.screen != Screen::Exercise {
                go(state, Screen::Exercise);
            }
            vec![Effect::LoadOps]
        }
        Action::Exercise(request) => {
            use crate::engine::exercise::Control;
            use crate::tui::action::ExerciseRequest;
            // A joined player acknowledges and observes; the clock and the MSEL are the
            // facilitator's.
            let players_own = matches!(
                request,
                ExerciseRequest::Control(Control::Acknowledge(_) | Control::Observe { .. })
            );
            if state.player && !players_own {
                let text = "a player acknowledges (A) and observes (o): the facilitator runs the exercise's clock and injects";
                say(state, MessageLevel::Warning, text.to_owned(), now);
                return Vec::new();
            }
            say(state, MessageLevel::Info, "exercise: asking…".to_owned(), now);
            vec![Effect::Exercise(request)]
        }
        Action::ShowComms => {
            if state.screen != Screen::Comms {
                go(state, Screen::Comms);
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

fn say(state: &mut State, level: MessageLevel, text: String, now: DateTime<Utc>) {
    state.message = Some(Message { level, text, at: now });
}

fn filtered_note(state: &State) -> String {
    if state.filter.is_empty() { String::new() } else { format!(" matching \"{}\"", state.filter) }
}

mod edit;
mod facts;
mod gate;
mod manual;
mod navigation;

use edit::*;
use gate::*;
use manual::*;
pub use navigation::next_fault;
use navigation::*;

#[cfg(test)]
mod tests;
