//! The approval gate: it takes every key while it is open; Cancel is where it starts.

use super::*;

/// The approval gate takes every key while it is open.
pub(super) fn gate_key(state: &mut State, key: GateKey, now: DateTime<Utc>) -> Vec<Effect> {
    let Some(Overlay::Gate(gate)) = &mut state.overlay else { return Vec::new() };
    // Rows once long lines wrap (the view clamps to what it draws).
    let lines: usize = gate.job.plan.lines.iter().map(|l| 1 + l.chars().count() / 40).sum();
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
                GateSubject::Proposal | GateSubject::Review => {
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
                GateSubject::Review => {
                    say(state, MessageLevel::Info, format!("{id} still waits for an approval"), now);
                    Vec::new()
                }
                GateSubject::Cancellation => {
                    say(state, MessageLevel::Info, "the job carries on".to_owned(), now);
                    Vec::new()
                }
            }
        }
    }
}

/// Typing the name is the deliberate act of a typed gate: when it matches, Enter approves
/// (Tab still reaches Cancel); when it no longer does, Enter cancels again.
pub(super) fn typed_focus(gate: &mut Gate) {
    if gate.policy == ApprovalPolicy::Typed {
        gate.focus =
            if gate.typed.text.trim() == gate.job.target { GateFocus::Approve } else { GateFocus::Cancel };
    }
}

pub(super) fn describe_request(r: &Request) -> String {
    match r {
        Request::Backup { system } => format!("back up {system}"),
        Request::Verify { system, deep: false } => format!("verify {system}'s newest backup"),
        Request::Verify { system, deep: true } => format!("deep-verify {system}'s newest backup"),
        Request::Restore { system, .. } => format!("restore {system}"),
        Request::Prune { system } => format!("prune {system}'s backups"),
        Request::Failover { system, failback: false } => format!("fail {system} over"),
        Request::Failover { system, failback: true } => format!("fail {system} back"),
        Request::Recover { systems, .. } => format!("recover {}", systems.join(", ")),
        Request::Notify { stage: Some(stage), .. } => format!("send the {}", stage.title()),
        Request::Notify { stage: None, .. } => "send the notice that is due".to_owned(),
    }
}
