//! The audit log, newest first, with the chain's verification.
//!
//! ```text
//!  AUDIT LOG · ✔ chain intact · 41 records · head 9c0e1d55a1b2
//!  #41  2026-11-26 22:41:07  alice      config.changed    /etc/warroom/config.toml   recorded
//!  #40  2026-11-26 22:40:55  alice      note              database                   recorded
//! ┌ #41 · config.changed · recorded ────────────────────────────────────────────────┐
//! │ at 2026-11-26 22:41:07.123456 UTC by alice, on /etc/warroom/config.toml          │
//! │ {"hash":"…","previous_hash":null,"systems":12}                                   │
//! └──────────────────────────────────────────────────────────────────────────────────┘
//! ```
//! Keys (handled in `update`): ↑↓ page up/down top/bottom select, esc goes back.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Padding, Paragraph, Wrap};

use super::{fit, pad};
use crate::tui::layout;
use crate::tui::state::State;
use crate::tui::text;
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let [title, list, detail] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(layout::AUDIT_DETAIL),
    ])
    .areas(area);
    let audit = &state.audit;

    let mut heading = vec![Span::styled(" AUDIT LOG · ", theme.accent())];
    match (&audit.error, &audit.verification) {
        (Some(e), _) => heading.push(Span::styled(format!("✖ cannot read it: {e}"), theme.danger())),
        (None, None) => heading.push(Span::styled(text::AUDIT_LOADING, theme.muted())),
        (None, Some(v)) => match &v.problem {
            None => {
                heading.push(Span::styled("✔ chain intact", theme.ok()));
                heading.push(Span::styled(
                    format!(
                        " · {} record{}{}",
                        v.records,
                        if v.records == 1 { "" } else { "s" },
                        v.head
                            .as_deref()
                            .map(|h| format!(" · head {}", h.chars().take(12).collect::<String>()))
                            .unwrap_or_default()
                    ),
                    theme.muted(),
                ));
            }
            Some(p) => heading.push(Span::styled(format!("✖ TAMPERED: {p}"), theme.danger())),
        },
    }
    frame.render_widget(Paragraph::new(Line::from(heading)), title);

    if audit.records.is_empty() {
        let note = if audit.loading { text::AUDIT_LOADING } else { text::AUDIT_EMPTY };
        frame.render_widget(Paragraph::new(Span::styled(format!("  {note}"), theme.muted())), list);
        return;
    }
    let width = usize::from(list.width);
    let rows: Vec<Line> = audit
        .records
        .iter()
        .enumerate()
        .skip(audit.scroll)
        .take(usize::from(list.height))
        .map(|(i, r)| {
            let at =
                r.time().map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string()).unwrap_or_else(|| r.at.clone());
            let outcome_style = match r.outcome.as_str() {
                "failed" | "refused" | "rejected" => theme.danger(),
                "cancelled" => theme.warning(),
                _ => theme.ok(),
            };
            let tampered = audit
                .verification
                .as_ref()
                .and_then(|v| v.problem.as_ref())
                .is_some_and(|p| p.seq() == r.seq);
            let marker = match (i == audit.selected, tampered) {
                (_, true) => Span::styled("✖ ", theme.danger()),
                (true, false) => Span::styled("▸ ", theme.accent()),
                (false, false) => Span::raw("  "),
            };
            let mut spans = vec![
                marker,
                Span::styled(format!("#{:<5}", r.seq), theme.muted()),
                Span::styled(format!("{at}  "), theme.text()),
                Span::styled(pad(&r.operator, 10), theme.text()),
                Span::styled(format!(" {}", pad(&r.action, 18)), theme.accent()),
            ];
            let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
            let target_width = width.saturating_sub(used + 11).min(40);
            spans.push(Span::styled(format!(" {}", pad(&r.target, target_width)), theme.text()));
            spans.push(Span::styled(format!(" {}", fit(&r.outcome, 9)), outcome_style));
            if i == audit.selected {
                for s in &mut spans {
                    s.style = s.style.patch(theme.selection());
                }
            }
            Line::from(spans)
        })
        .collect();
    frame.render_widget(Paragraph::new(rows), list);

    if let Some(r) = audit.records.get(audit.selected) {
        let block = Block::default()
            .borders(Borders::ALL)
            .padding(Padding::horizontal(1))
            .border_style(theme.block(false))
            .title(Span::styled(format!(" #{} · {} · {} ", r.seq, r.action, r.outcome), theme.accent()));
        let lines = vec![
            Line::from(Span::styled(
                format!(
                    "{} by {}, on {}",
                    r.time()
                        .map(|t| t.format("%Y-%m-%d %H:%M:%S%.3f UTC").to_string())
                        .unwrap_or_else(|| r.at.clone()),
                    r.operator,
                    if r.target == "-" || r.target.is_empty() { "(no target)" } else { r.target.as_str() }
                ),
                theme.text(),
            )),
            Line::from(Span::styled(r.details.clone(), theme.muted())),
        ];
        frame.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), detail);
    }
}
