//! The header: what mode this is, who is acting, the time, and how the estate is doing.
//!
//! ```text
//!  warroom  LIVE  op alice   22:41:07 UTC · 23:41 local                   filter "api" 3 of 12
//!  ✖ 1 down  ▲ 2 degraded  ● 9 healthy  ◌ 0 unknown    RPO ✖ 1 breached  ▲ 2 at risk  ● 10 ok
//! ```
//! Keys: none.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::model::{HealthState, RpoStatus, Severity};

use crate::tui::state::{DashboardLine, Mode, State, dashboard_lines};
use crate::tui::text;
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: &Theme, now: DateTime<Utc>) {
    let local = now.with_timezone(&state.local_offset);
    let mode = match state.mode {
        Mode::Live => Severity::Ok,
        Mode::Demo => Severity::Warning,
        Mode::ReadOnly => Severity::Warning,
    };
    let bar = theme.header();
    let mut first = vec![
        Span::styled(format!(" {} ", text::APP), theme.header_title()),
        Span::styled(" ", bar),
        Span::styled(format!(" {} ", text::mode(state.mode)), theme.badge(mode)),
        Span::styled(format!("  op {}", state.console.operator), bar),
        Span::styled(state.standing.as_ref().map(|s| format!(" · {}", s.label)).unwrap_or_default(), bar),
        Span::styled(format!("   {} UTC", now.format("%H:%M:%S")), bar),
    ];
    // An exercise says so on every screen, in its own style, right after the mode.
    if let Some(x) = &state.ops.exercise {
        let run = &x.run;
        let clock_state = if run.clock.paused() {
            " ⏸ PAUSED".to_owned()
        } else if run.clock.speed() != 1.0 {
            format!(" {}x", run.clock.speed())
        } else {
            String::new()
        };
        let kind = if area.width >= 100 { format!("{} ", x.scenario().kind) } else { String::new() };
        first.insert(3, Span::styled(" ", bar));
        first.insert(
            4,
            Span::styled(
                format!(
                    " EXERCISE {kind}{}{clock_state} ",
                    crate::tui::views::exercise::scenario_clock(run.offset(now))
                ),
                theme.exercise(),
            ),
        );
    }
    let ops_shown = state.ops.incident.as_ref().is_some_and(|i| i.closed_at.is_none())
        || state.ops.states.iter().any(|s| s.commit_deadline.is_some());
    // Local time, unless a narrow screen needs the room for the filter or an incident.
    if (state.filter.is_empty() || area.width >= 100)
        && (!ops_shown || area.width >= 160)
        && (state.ops.exercise.is_none() || area.width >= 120)
        && state.state_unreadable.is_none()
        && state.state_link_lost.is_none()
    {
        first
            .push(Span::styled(format!(" · {} local ({})", local.format("%H:%M"), local.format("%:z")), bar));
    }
    if !state.filter.is_empty() {
        let shown =
            dashboard_lines(state, now).iter().filter(|l| matches!(l, DashboardLine::System(_))).count();
        first.push(Span::styled(
            format!("   filter: {} ({} of {})", state.filter, shown, state.estate.systems().len()),
            theme.header_title(),
        ));
    }
    // A failed read is never an all-clear: a badge here, the reason on the line below.
    if let Some((_, since)) = &state.state_unreadable {
        first.push(Span::raw("  "));
        first.push(Span::styled(
            format!(" ✖ STATE UNREADABLE since {} ", since.format("%H:%M:%S")),
            theme.badge(Severity::Critical),
        ));
    }
    if let Some((_, since)) = &state.state_link_lost
        && state.state_unreadable.is_none()
    {
        first.push(Span::raw("  "));
        first.push(Span::styled(
            format!(" ✖ STATE LINK LOST since {} ", since.format("%H:%M:%S")),
            theme.badge(Severity::Critical),
        ));
    }
    // The open incident and its next stakeholder update, then every commit window counting
    // down, then failovers that failed.
    if let Some(i) = state.ops.incident.as_ref().filter(|i| i.closed_at.is_none()) {
        let open = (now - i.declared_at).to_std().unwrap_or_default();
        first.push(Span::raw("  "));
        first.push(Span::styled(
            format!(" ⚠ {} {} {} ", i.id, i.severity, crate::model::duration::hms(open)),
            theme.badge(Severity::Critical),
        ));
    }
    // The next stakeholder update: counting down, then an alarm that repeats (it flashes
    // every other second until the notice goes).
    if let Some(due) = state.ops.comms.as_ref().and_then(|c| c.next) {
        first.push(Span::raw("  "));
        if due.overdue(now) {
            let style =
                if now.timestamp() % 2 == 0 { theme.badge(Severity::Critical) } else { theme.danger() };
            first.push(Span::styled(
                format!(" ✖ UPDATE OVERDUE {} ", crate::model::duration::clock(due.past_due(now))),
                style,
            ));
        } else if due.due(now) {
            first.push(Span::styled(
                format!(" ⚠ {} DUE NOW ", due.stage.title().to_uppercase()),
                theme.badge(Severity::Warning),
            ));
        } else {
            first.push(Span::styled(
                format!(" next update in {} ", crate::model::duration::clock(due.left(now))),
                theme.badge(Severity::Warning),
            ));
        }
    }
    for s in &state.ops.states {
        let Some(deadline) = s.commit_deadline else { continue };
        let left = (deadline - now).to_std().unwrap_or_default();
        first.push(Span::raw("  "));
        first.push(Span::styled(
            format!(" ⏱ {} commit {} ", s.system, crate::model::duration::clock(left)),
            theme.badge(Severity::Warning),
        ));
    }
    // A failover that failed (or was interrupted) waits for someone to look at it by hand.
    for s in state.ops.states.iter().filter(|s| s.state == crate::model::failover::FailoverState::Failed) {
        first.push(Span::raw("  "));
        first
            .push(Span::styled(format!(" ✖ {} failover failed ", s.system), theme.badge(Severity::Critical)));
    }
    // Too long for the terminal: the operator's name gives way first (it is on the help screen).
    let width = |spans: &[Span]| spans.iter().map(|s| s.content.chars().count()).sum::<usize>();
    if width(&first) > usize::from(area.width) {
        first.retain(|s| !s.content.starts_with("  op "));
    }
    // Then the incident's id (the incident screen has it): its severity and age stay.
    if width(&first) > usize::from(area.width)
        && let Some(i) = state.ops.incident.as_ref().filter(|i| i.closed_at.is_none())
        && let Some(badge) = first.iter_mut().find(|s| s.content.starts_with(" ⚠ "))
    {
        let open = (now - i.declared_at).to_std().unwrap_or_default();
        badge.content = format!(" ⚠ {} {} ", i.severity, crate::model::duration::hms(open)).into();
    }
    let used: usize = width(&first);
    first.push(Span::styled(" ".repeat(usize::from(area.width).saturating_sub(used)), bar));

    let n = state.estate.systems().len();
    let mut health = [0usize; 4];
    let mut rpo = [0usize; 4]; // breached, never, at risk, ok
    for i in 0..n {
        health[state.health(i) as usize] += 1;
        match state.rpo(i, now) {
            RpoStatus::Breached { .. } => rpo[0] += 1,
            RpoStatus::NeverBackedUp => rpo[1] += 1,
            RpoStatus::AtRisk { .. } => rpo[2] += 1,
            RpoStatus::Compliant { .. } => rpo[3] += 1,
        }
    }
    // Narrow terminals show only the states that have systems in them.
    let all = area.width >= 120;
    let mut second = Vec::new();
    for state_ in [HealthState::Down, HealthState::Degraded, HealthState::Healthy, HealthState::Unknown] {
        let count = health[state_ as usize];
        if count == 0 && !all {
            continue;
        }
        let style = if count > 0 { theme.health(state_) } else { theme.muted() };
        second.push(Span::styled(
            format!(" {} {} {} ", state_.symbol(), count, state_.word().to_lowercase()),
            style,
        ));
    }
    second.push(Span::styled("   RPO", theme.muted()));
    let rpo_parts = [
        ("✖", rpo[0], "breached", Severity::Critical),
        ("✖", rpo[1], "never backed up", Severity::Critical),
        ("▲", rpo[2], "at risk", Severity::Warning),
        ("●", rpo[3], "ok", Severity::Ok),
    ];
    for (symbol, count, word, severity) in rpo_parts {
        if count == 0 && !all {
            continue;
        }
        let style = if count > 0 { theme.severity(severity) } else { theme.muted() };
        second.push(Span::styled(format!(" {symbol} {count} {word} "), style));
    }
    // The testing programme: systems with a test overdue (or due soon), at 120 columns and up.
    if all && let Some(Ok(programme)) = &state.ops.programme {
        use crate::model::programme::Due;
        let count = |d| programme.systems.iter().filter(|s| s.due == d).count();
        let (overdue, soon) = (count(Due::Overdue), count(Due::DueSoon));
        if overdue > 0 {
            second.push(Span::styled("   tests", theme.muted()));
            second.push(Span::styled(format!(" ✖ {overdue} overdue "), theme.severity(Severity::Critical)));
        } else if soon > 0 {
            second.push(Span::styled("   tests", theme.muted()));
            second.push(Span::styled(format!(" ▲ {soon} due soon "), theme.severity(Severity::Warning)));
        }
    }
    // What the stored state says (RPO, jobs, failovers) is the last good read: the reason
    // takes the counts' place until a read succeeds.
    if let Some((why, _)) = &state.state_unreadable {
        second = vec![Span::styled(
            format!(" ✖ state unreadable: {why} · the screen shows the last good read, stale "),
            theme.danger(),
        )];
    } else if let Some((why, _)) = &state.state_link_lost {
        second = vec![Span::styled(
            format!(" ✖ state link lost: {why} · reconnecting; the screen shows the last good read, stale "),
            theme.danger(),
        )];
    }
    frame.render_widget(Paragraph::new(vec![Line::from(first), Line::from(second)]), area);
}
