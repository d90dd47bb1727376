//! Communications: what the incident owes next, the notices sent, and every recipient's
//! delivery, in the mass-notification tools' words.
//!
//! ```text
//!  COMMS INC-261202-2204-ab12 · next: status update in 12:30 (22:34 UTC) · cadence kept: 1 of 1 on time
//!  NOTICES
//!  NEXT NOTICE status update → executive, technical · email 3 · sms 1 · n sends it
//!    sms (internal) 111 characters · GSM-7 · 1 segment: INC-261202-2204-ab12 SEV1: ...
//!  22:05 initial notice      executive, technical, operations, legal, external   by alice   ✔ 5 of 6
//! ┌ DELIVERY ─────────────────────────────────────────────────────────────────────────┐
//! │ ✔ sent                  email alice     alice@example.com        1 try            │
//! │ ↻ failed-retrying       sms   bob       +4915112345678           3 tries · 429…   │
//! │ ☾ suppressed-quiet-hours email gina    gina@example.com                           │
//! └───────────────────────────────────────────────────────────────────────────────────┘
//! ```
//! Keys: n sends the notice that is due (the gate previews every channel and recipient
//! first); `:notify STAGE MESSAGE` names the stage and adds the commander's words; esc goes
//! back.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::fit;
use crate::model::Severity;
use crate::model::comms::DeliveryState;
use crate::tui::state::State;
use crate::tui::theme::Theme;

fn state_style(theme: &Theme, s: DeliveryState) -> ratatui::style::Style {
    match s {
        DeliveryState::Sent | DeliveryState::DeliveredToProvider => theme.ok(),
        DeliveryState::FailedPermanent => theme.danger(),
        DeliveryState::FailedRetrying => theme.warning(),
        DeliveryState::Queued | DeliveryState::Sending => theme.accent(),
        DeliveryState::SuppressedQuietHours | DeliveryState::FallbackUsed => theme.muted(),
    }
}

pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: &Theme, now: DateTime<Utc>) {
    let width = usize::from(area.width);
    let Some(comms) = &state.ops.comms else {
        let lines = vec![
            Line::from(Span::styled(" COMMS · no incident owes a notice", theme.accent())),
            Line::default(),
            Line::from(Span::styled(
                "  declaring an incident (:declare TYPE SEVERITY SYSTEMS) proposes its initial notice",
                theme.muted(),
            )),
        ];
        frame.render_widget(Paragraph::new(lines), area);
        return;
    };
    let mut head = vec![Span::styled(format!(" COMMS {}", comms.incident), theme.accent())];
    match comms.next {
        Some(due) if due.overdue(now) => {
            head.push(Span::styled(
                format!(
                    " · ✖ {} OVERDUE {} ",
                    due.stage.title().to_uppercase(),
                    crate::model::duration::clock(due.past_due(now))
                ),
                theme.badge(Severity::Critical),
            ));
        }
        Some(due) if due.due(now) => head.push(Span::styled(
            format!(" · ⚠ the {} is due now: n sends it", due.stage.title()),
            theme.badge(Severity::Warning),
        )),
        Some(due) => head.push(Span::styled(
            format!(
                " · next: {} in {} ({})",
                due.stage.title(),
                crate::model::duration::clock(due.left(now)),
                due.at.format("%H:%M UTC")
            ),
            theme.muted(),
        )),
        None => head.push(Span::styled(" · ✔ every notice of the playbook went out", theme.ok())),
    }
    head.push(Span::styled(format!(" · {}", comms.kept), theme.muted()));
    let notices = comms.notices.len().max(1) as u16;
    let preview = preview_lines(state, theme, width);
    let [top, next, list, rows] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(preview.len() as u16),
        Constraint::Length((notices + 1).min(area.height / 3).max(2)),
        Constraint::Min(3),
    ])
    .areas(area);
    let tally: Vec<String> =
        comms.tally().iter().map(|(s, n)| format!("{} {n} {}", s.symbol(), s.name())).collect();
    frame.render_widget(
        Paragraph::new(vec![
            Line::from(head),
            Line::from(Span::styled(format!(" {}", tally.join("  ")), theme.muted())),
        ]),
        top,
    );
    frame.render_widget(Paragraph::new(preview), next);
    let mut lines = vec![Line::from(Span::styled(" NOTICES", theme.accent()))];
    if comms.notices.is_empty() {
        lines.push(Line::from(Span::styled("  none sent yet: n sends the one that is due", theme.muted())));
    }
    for n in comms.notices.iter().rev() {
        let mine: Vec<_> = comms.outbox.iter().filter(|r| r.notice == n.id).collect();
        let delivered = mine.iter().filter(|r| r.state.delivered()).count();
        let text = format!(
            "  {} {:<22} {:<40} by {:<10} ✔ {delivered} of {}",
            n.sent_at.format("%H:%M"),
            n.stage.title(),
            fit(&n.lists.join(", "), 40),
            n.sent_by,
            mine.len()
        );
        lines.push(Line::from(Span::raw(fit(&text, width))));
    }
    frame.render_widget(Paragraph::new(lines), list);
    let inner = width.saturating_sub(4);
    let mut out: Vec<Line> = Vec::new();
    for r in &comms.outbox {
        let tries = match r.attempts {
            0 => String::new(),
            1 => "1 try".to_owned(),
            n => format!("{n} tries"),
        };
        let why = match (&r.last_error, r.state.delivered()) {
            (Some(e), false) => format!(" · {e}"),
            _ => r.provider_id.as_ref().map(|id| format!(" · id {id}")).unwrap_or_default(),
        };
        let when = match (r.state, r.next_attempt, r.sent_at) {
            (DeliveryState::FailedRetrying, Some(t), _) => {
                format!(" · next {}", crate::model::duration::clock((t - now).to_std().unwrap_or_default()))
            }
            (_, _, Some(t)) => format!(" · {}", t.format("%H:%M:%S")),
            _ => String::new(),
        };
        let line = format!(
            "{} {:<22} {:<5} {:<12} {:<26} {tries}{when}{why}",
            r.state.symbol(),
            r.state.name(),
            r.channel.name(),
            fit(&r.recipient, 12),
            fit(&r.address, 26),
        );
        out.push(Line::from(Span::styled(fit(&line, inner), state_style(theme, r.state))));
    }
    if out.is_empty() {
        out.push(Line::from(Span::styled("nothing in the outbox for this incident", theme.muted())));
    }
    frame.render_widget(
        Paragraph::new(out).block(Block::default().borders(Borders::ALL).title(" DELIVERY ")),
        rows,
    );
}

/// The notice due next, as it would go now: its lists, recipients per channel, and each
/// channel's text (for SMS its characters and segments). The gate shows every recipient.
fn preview_lines<'a>(state: &State, theme: &Theme, width: usize) -> Vec<Line<'a>> {
    let Some(preview) = &state.ops.preview else { return Vec::new() };
    let c = match preview {
        Ok(c) => c,
        Err(e) => {
            return vec![Line::from(Span::styled(
                fit(&format!(" NEXT NOTICE cannot be composed: {e}"), width),
                theme.danger(),
            ))];
        }
    };
    let counts: Vec<String> = c
        .counts()
        .iter()
        .map(
            |(ch, (n, quiet))| {
                if *quiet > 0 { format!("{ch} {n} (+{quiet} in quiet hours)") } else { format!("{ch} {n}") }
            },
        )
        .collect();
    let mut lines = vec![Line::from(vec![
        Span::styled(" NEXT NOTICE ", theme.accent()),
        Span::raw(fit(
            &format!(
                "{} → {} · {} · n sends it (the gate lists every recipient)",
                c.stage.title(),
                c.lists.join(", "),
                counts.join(" · ")
            ),
            width.saturating_sub(13),
        )),
    ])];
    for line in c.rendered.iter().filter_map(|r| r.summary()) {
        lines.push(Line::from(Span::styled(fit(&format!("  {line}"), width), theme.muted())));
    }
    for w in &c.warnings {
        lines.push(Line::from(Span::styled(fit(&format!("  ▲ {w}"), width), theme.warning())));
    }
    lines
}
