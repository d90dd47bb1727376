//! A manual step: the prompt that asks whether the instruction is done (or to abort), once.

use super::*;

/// The running job waiting at a manual step that was not put off, if any.
pub(super) fn manual_waiting(state: &State) -> Option<(String, String, String)> {
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
pub(super) fn prompt_manual(state: &mut State) {
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

pub(super) fn manual_key(state: &mut State, key: ManualKey, now: DateTime<Utc>) -> Vec<Effect> {
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
