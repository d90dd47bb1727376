//! Words the console shows, in one place so the wording stays consistent.

use crate::model::RpoStatus;
use crate::model::duration::clock;

use super::state::Mode;

pub const APP: &str = "warroom";

pub fn mode(mode: Mode) -> &'static str {
    match mode {
        Mode::Live => "LIVE",
        Mode::Demo => "DEMO",
        Mode::ReadOnly => "READ-ONLY",
    }
}

/// The RPO cell of a dashboard row: `✖ never backed up`, `● 09:40 left`, `✖ breached +03:12`.
pub fn rpo_cell(status: &RpoStatus) -> String {
    match status {
        RpoStatus::NeverBackedUp => format!("{} never backed up", status.symbol()),
        RpoStatus::Compliant { remaining, .. } | RpoStatus::AtRisk { remaining, .. } => {
            format!("{} RPO {} left", status.symbol(), clock(*remaining))
        }
        RpoStatus::Breached { overdue, .. } => {
            format!("{} RPO breached +{}", status.symbol(), clock(*overdue))
        }
    }
}

/// `back`: the key that backs out (esc unless rebound).
pub fn no_match(back: &str) -> String {
    format!("no system matches the filter; {back} clears it")
}

/// The palette's editing keys (fixed: they edit text, they are not commands).
pub const PALETTE_KEYS: &[(&str, &str)] =
    &[("tab", "complete"), ("↑↓", "choose"), ("⏎", "run"), ("esc", "close"), ("ctrl-u", "clear")];
pub const PALETTE_TITLE: &str = " COMMAND ";
/// The approval gate's keys (fixed: not from the keymap).
pub const GATE_KEYS: &[(&str, &str)] =
    &[("tab", "Cancel/Approve"), ("⏎", "press"), ("esc", "cancel"), ("↑↓", "scroll the plan")];
pub const MANUAL_KEYS: &[(&str, &str)] = &[("tab", "Later/Done/Abort"), ("⏎", "press"), ("esc", "later")];
pub const CONFIRM_QUIT_KEYS: &[(&str, &str)] =
    &[("y", "quit, cancelling the jobs"), ("any other key", "stay")];
/// The filter's editing keys.
pub const FILTER_KEYS: &str = "⏎ keep  esc clear";
pub const NO_SYSTEMS: &str = "the estate has no systems: add [[systems]] tables to the configuration";
pub const NO_HEALTH_CHECK: &str = "no health check";
pub const NO_DECISION: &str = "no health check, so no failover decision: add [systems.health]";
pub const NOTHING: &str = "nothing";
pub const TOO_SMALL: &str = "The terminal is too small for warroom.";
pub const AUDIT_LOADING: &str = "reading the audit log…";
pub const AUDIT_EMPTY: &str = "the audit log is empty";
