//! The approval gate: what will happen, exactly, and nothing runs until it is approved.
//!
//! ```text
//! ┌ APPROVAL · Restore database from backup 20261126T… ─────── policy: typed ┐
//! │ backup     20261126T224107Z-3fa9c1 (full, taken 2026-11-26 22:41 UTC)    │
//! │ from       nas                                                           │
//! │ into       /var/lib/warroom/restores/database-20261126T224107Z-3fa9c1     │
//! │                                                                          │
//! │ Type database to approve: datab▏                                         │
//! │                          [ Cancel ]   [ Approve ]                         │
//! └──────────────────────────────────────── tab switch · ⏎ press · esc cancel ┘
//! ```
//! Cancel has the focus when it opens: Enter alone never approves.
//! Keys (fixed, handled in `update` as `GateKey`): tab/←/→ switch, enter press, esc cancel,
//! ↑↓ page up/down scroll the plan, typing fills the name for the typed policy.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Padding, Paragraph};

use super::fit;
use crate::model::ApprovalPolicy;
use crate::tui::layout;
use crate::tui::state::{Gate, GateFocus, GateSubject};
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, gate: &Gate, theme: &Theme) {
    let width = area.width.saturating_sub(4).min(100);
    let inner = usize::from(width.saturating_sub(4));
    // Title, the plan, a gap, the prompt, the buttons, an error line.
    let footer_lines = 4 + usize::from(gate.policy == ApprovalPolicy::Typed);
    let room = usize::from(area.height.saturating_sub(4)).saturating_sub(footer_lines + 2).max(1);
    // What the gate shows is what will run: a long line (a recipient list, an SMS's text) wraps
    // instead of being cut.
    let rows = wrap_lines(&gate.job.plan.lines, inner);
    let plan_rows = rows.len().clamp(1, room);
    let height = (plan_rows + footer_lines + 2) as u16;
    let rect = layout::centered(area, width, height.min(area.height));
    let max = rows.len().saturating_sub(plan_rows);
    let scroll = gate.scroll.min(max);

    let mut lines: Vec<Line> = rows
        .iter()
        .skip(scroll)
        .take(plan_rows)
        .map(|l| Line::from(Span::styled(fit(l, inner), theme.text())))
        .collect();
    while lines.len() < plan_rows {
        lines.push(Line::default());
    }
    lines.push(Line::from(Span::styled(
        if max > 0 {
            format!("↑↓ scroll the plan: lines {}-{} of {}", scroll + 1, scroll + plan_rows, rows.len())
        } else {
            String::new()
        },
        theme.muted(),
    )));
    let verb = match gate.subject {
        GateSubject::Proposal | GateSubject::Review => "Approve",
        GateSubject::Cancellation => "Stop it",
    };
    let keep = match gate.subject {
        GateSubject::Proposal => "Cancel",
        GateSubject::Review => "Not now",
        GateSubject::Cancellation => "Keep running",
    };
    match gate.policy {
        ApprovalPolicy::Typed => {
            let mut spans =
                vec![Span::styled(format!("Type {} to approve: ", gate.job.target), theme.warning())];
            spans.push(Span::styled(gate.typed.text.clone(), theme.text().add_modifier(Modifier::BOLD)));
            spans.push(Span::styled("▏", theme.accent()));
            lines.push(Line::from(spans));
        }
        ApprovalPolicy::TwoPerson => lines.push(Line::from(Span::styled(
            "policy two-person: two people approve it, each from their own console or `warroom approve`",
            theme.warning(),
        ))),
        _ => {}
    }
    let button = |label: &str, focused: bool, danger: bool| {
        let text = format!("[ {label} ]");
        let style = match (focused, danger) {
            (true, true) => theme.danger().add_modifier(Modifier::REVERSED | Modifier::BOLD),
            (true, false) => theme.selection().add_modifier(Modifier::BOLD),
            (false, _) => theme.muted(),
        };
        Span::styled(text, style)
    };
    let buttons = Line::from(vec![
        button(keep, gate.focus == GateFocus::Cancel, false),
        Span::raw("   "),
        button(verb, gate.focus == GateFocus::Approve, true),
    ])
    .centered();
    lines.push(Line::default());
    lines.push(buttons);
    lines.push(Line::from(Span::styled(gate.error.clone().unwrap_or_default(), theme.danger())));

    let title = match gate.subject {
        GateSubject::Proposal | GateSubject::Review => format!(" APPROVAL · {} ", gate.job.plan.title),
        GateSubject::Cancellation => format!(" {} ", gate.job.plan.title),
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .padding(Padding::horizontal(1))
        .border_style(theme.warning())
        .title(Span::styled(
            fit(&title, inner.saturating_sub(20)),
            theme.warning().add_modifier(Modifier::BOLD),
        ))
        .title(
            Line::from(Span::styled(format!(" policy: {} ", gate.policy.name()), theme.muted()))
                .right_aligned(),
        )
        .title_bottom(
            Line::from(Span::styled(" tab switch · ⏎ press · esc cancel ", theme.muted())).right_aligned(),
        );
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}

/// Quitting while jobs run.
pub fn confirm_quit(frame: &mut Frame, area: Rect, running: usize, theme: &Theme) {
    let rect = layout::centered(area, area.width.saturating_sub(4).min(64), 6);
    let lines = vec![
        Line::from(Span::styled(
            format!("{running} job{} still running.", if running == 1 { " is" } else { "s are" }),
            theme.warning(),
        )),
        Line::from(Span::styled(
            "Quitting cancels them; what they did not finish is not kept.",
            theme.text(),
        )),
        Line::from(Span::styled("y quits · any other key stays", theme.muted())),
    ];
    let block = Block::default()
        .borders(Borders::ALL)
        .padding(Padding::horizontal(1))
        .border_style(theme.warning())
        .title(Span::styled(" QUIT? ", theme.warning()));
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}

/// A job waiting at a manual step: Later (focused first), Done, Abort.
pub fn manual(frame: &mut Frame, area: Rect, title: &str, instruction: &str, focus: u8, theme: &Theme) {
    let width = area.width.saturating_sub(4).min(90);
    let inner = usize::from(width.saturating_sub(4));
    let wrapped = layout::wrap_indented(instruction, inner);
    let height = (wrapped.len() as u16 + 6).min(area.height);
    let rect = layout::centered(area, width, height);
    let mut lines: Vec<Line> =
        vec![Line::from(Span::styled("An operator must do this, then say so:", theme.muted()))];
    lines.extend(
        wrapped
            .into_iter()
            .map(|l| Line::from(Span::styled(l, theme.warning().add_modifier(Modifier::BOLD)))),
    );
    lines.push(Line::default());
    let button = |label: &str, on: bool, danger: bool| {
        let style = match (on, danger) {
            (true, true) => theme.danger().add_modifier(Modifier::REVERSED | Modifier::BOLD),
            (true, false) => theme.selection().add_modifier(Modifier::BOLD),
            (false, _) => theme.muted(),
        };
        Span::styled(format!("[ {label} ]"), style)
    };
    lines.push(
        Line::from(vec![
            button("Later", focus == 0, false),
            Span::raw("   "),
            button("Done", focus == 1, false),
            Span::raw("   "),
            button("Abort (roll back)", focus == 2, true),
        ])
        .centered(),
    );
    let block = Block::default()
        .borders(Borders::ALL)
        .padding(Padding::horizontal(1))
        .border_style(theme.warning())
        .title(Span::styled(
            fit(&format!(" MANUAL STEP · {title} "), inner),
            theme.warning().add_modifier(Modifier::BOLD),
        ))
        .title_bottom(
            Line::from(Span::styled(" tab switch · ⏎ press · esc later ", theme.muted())).right_aligned(),
        );
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}

/// Lines wrapped to `width` characters at spaces (a word longer than the width is cut when
/// drawn); continuation rows are indented two more than their line.
fn wrap_lines(lines: &[String], width: usize) -> Vec<String> {
    lines
        .iter()
        .flat_map(|line| {
            if line.chars().count() <= width || width < 16 {
                vec![line.clone()]
            } else {
                // Runs of spaces (a plan line's aligned label) are kept.
                crate::tui::layout::wrap_indented(line, width)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::wrap_lines;

    #[test]
    fn long_plan_lines_wrap_and_keep_every_word() {
        let line =
            "email 4: alice <alice@example.com>, carmen <carmen@example.com>, dmitri <dmitri@example.com>"
                .to_owned();
        let rows = wrap_lines(&[line.clone(), "short".into()], 40);
        assert!(rows.iter().all(|r| r.chars().count() <= 40), "{rows:?}");
        assert!(rows[1].starts_with("  "));
        let words: Vec<&str> = rows.iter().flat_map(|r| r.split_whitespace()).collect();
        assert_eq!(words.join(" "), format!("{line} short"));
    }
}
