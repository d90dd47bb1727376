//! Facts from the engine: what it read or did, applied to the state (the last good data stays
//! on screen when a read fails, marked stale).

use super::*;
use crate::tui::action::EngineEvent;

/// The gate shows one proposal at a time: the next waiting one opens when it is free.
pub(super) fn open_next_gate(state: &mut State) {
    if state.overlay.is_some() {
        return;
    }
    while let Some(job) = state.gate_queue.pop_front() {
        // One decided meanwhile (from another console, or the command line) is not asked again.
        let still = state
            .jobs
            .iter()
            .find(|j| j.id == job.id)
            .is_none_or(|j| j.state == crate::engine::jobs::JobState::Proposed);
        if !still {
            continue;
        }
        let policy = job.policy;
        state.overlay = Some(Overlay::Gate(Box::new(Gate::new(GateSubject::Proposal, job, policy))));
        return;
    }
}

pub(super) fn apply(state: &mut State, fact: EngineEvent, now: DateTime<Utc>) -> Vec<Effect> {
    match fact {
        EngineEvent::Proposed(job) => {
            upsert_job(state, (*job).clone());
            state.message = None;
            state.gate_queue.push_back(*job);
            open_next_gate(state);
            Vec::new()
        }
        EngineEvent::ProposedSeveral { jobs, problems } => {
            for job in jobs {
                upsert_job(state, job.clone());
                state.gate_queue.push_back(job);
            }
            state.message = None;
            if !problems.is_empty() {
                say(state, MessageLevel::Warning, problems.join("; "), now);
            }
            open_next_gate(state);
            Vec::new()
        }
        EngineEvent::ActionFailed(e) => {
            say(state, MessageLevel::Error, e, now);
            Vec::new()
        }
        EngineEvent::Job(job) => {
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
        EngineEvent::Jobs(jobs) => {
            state.jobs = jobs;
            state.job_selected = state.job_selected.min(state.jobs.len().saturating_sub(1));
            Vec::new()
        }
        EngineEvent::Ops(ops) => {
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
        EngineEvent::StateLinkLost(why) => {
            if state.state_link_lost.is_none() {
                state.state_link_lost = Some((why, now));
            }
            Vec::new()
        }
        EngineEvent::StateLinkRestored => {
            state.state_link_lost = None;
            vec![Effect::LoadOps]
        }
        EngineEvent::StateUnreadable(why) => {
            // The last good data stays on screen; the header says it is stale, and since when.
            if state.state_unreadable.is_none() {
                state.state_unreadable = Some((why, now));
            } else if let Some((reason, _)) = &mut state.state_unreadable {
                *reason = why;
            }
            Vec::new()
        }
        EngineEvent::ExerciseDriven(lines) => {
            // The scenario's own news never hides the answer to something the operator just did:
            // it waits in the exercise log until that message has had its time.
            let operators = state.message.as_ref().is_some_and(|m| {
                !m.text.starts_with("exercise: +")
                    && now.signed_duration_since(m.at).num_seconds()
                        < crate::tui::state::message_seconds(m.level)
            });
            if let (Some(last), false) = (lines.last(), operators) {
                say(state, MessageLevel::Info, format!("exercise: {last}"), now);
            }
            state.exercise_log.extend(lines);
            let excess = state.exercise_log.len().saturating_sub(50);
            state.exercise_log.drain(..excess);
            vec![Effect::LoadOps]
        }
        EngineEvent::ExerciseEnded { summary, clean, lines } => {
            let level = if clean { MessageLevel::Info } else { MessageLevel::Warning };
            say(state, level, summary.clone(), now);
            state.exercise_log.clear();
            state.exercise_ended = std::iter::once(summary).chain(lines).collect();
            vec![Effect::LoadOps]
        }
        EngineEvent::Done(text) => {
            say(state, MessageLevel::Info, text, now);
            vec![Effect::LoadOps]
        }
        EngineEvent::Backups { backups, standings } => {
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
        EngineEvent::AuditLoaded { records, verification } => {
            state.audit.loading = false;
            state.audit.error = None;
            state.audit.selected = state.audit.selected.min(records.len().saturating_sub(1));
            state.audit.records = records;
            state.audit.verification = Some(verification);
            follow_audit(state);
            Vec::new()
        }
        EngineEvent::Health(systems) => {
            for h in systems {
                if let Some(slot) = state.health.get_mut(h.system) {
                    *slot = Some(h);
                }
            }
            Vec::new()
        }
        EngineEvent::FaultsSeen(faults) => {
            if faults.len() == state.faults.len() {
                state.faults = faults;
            }
            Vec::new()
        }
        EngineEvent::FaultSet { system, state: fault } => {
            if let Some(i) = state.estate.index_of(&system)
                && let Some(slot) = state.faults.get_mut(i)
            {
                *slot = fault;
            }
            say(state, MessageLevel::Info, format!("{system}: simulated {fault}"), now);
            Vec::new()
        }
        EngineEvent::AuditFailed(e) => {
            state.audit.loading = false;
            state.audit.error = Some(e);
            Vec::new()
        }
        EngineEvent::ConfigReloaded(reloaded) => {
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
            state.set_standing(reloaded.standing);
            state.approval = reloaded.approval;
            state.plan = reloaded.plan;
            state.process_selected = state.process_selected.min(state.plan.processes.len().saturating_sub(1));
            state.risk_selected = state.risk_selected.min(state.plan.risks.len().saturating_sub(1));
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
        EngineEvent::ConfigRejected(text) | EngineEvent::FaultFailed(text) => {
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
