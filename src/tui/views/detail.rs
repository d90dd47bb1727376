//! System detail: everything about one system, and its place in the dependency graph.
//!
//! ```text
//! ─ database · tier 1 · mission critical · owner dba-team ──────────────────────────────
//! ┌ OVERVIEW ──────────────────────────────────┐┌ DEPENDENCIES ───────────────────┐
//! │ RTO       30m   (tier 1 allows 1h)         ││ depends on (0)                  │
//! │ RPO       5m    (tier 1 allows 15m)        ││   nothing                       │
//! │ health    ◌ UNKNOWN  no health check       ││ impacts (4)                     │
//! │ recovery  ✖ never backed up                ││ ▸ ◌ api            tier 1       │
//! │ order     wave 1 of 4                      ││   ◌ payments       tier 1       │
//! │ Primary PostgreSQL cluster: ...            ││                                 │
//! └────────────────────────────────────────────┘└─────────────────────────────────┘
//! ```
//! The overview is a stack of sections; health, decision, backups and procedure panels join
//! it as they arrive. Keys (handled in `update`): tab/←/→ switch pane, ↑↓ move in the
//! dependency list, enter opens the system under the cursor, esc goes back.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Padding, Paragraph, Wrap};

use super::{fit, pad};
use crate::model::duration::human;
use crate::tui::layout;
use crate::tui::state::{Detail, DetailPane, State, dependency_list};
use crate::tui::text;
use crate::tui::theme::Theme;

pub fn render(
    frame: &mut Frame,
    area: Rect,
    state: &State,
    detail: Detail,
    theme: &Theme,
    now: DateTime<Utc>,
) {
    let Some(system) = state.estate.systems().get(detail.system) else { return };
    let [title, panes] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    let heading = format!(
        "─ {} · tier {} · {} · owner {} ",
        system.name,
        system.tier.number(),
        system.tier.label(),
        system.owner.as_deref().unwrap_or("—")
    );
    let fill = usize::from(title.width).saturating_sub(heading.chars().count());
    frame.render_widget(
        Paragraph::new(Line::from(Span::styled(
            format!("{heading}{}", "─".repeat(fill)),
            theme.tier(system.tier),
        ))),
        title,
    );
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)]).areas(panes);
    overview(frame, left, state, detail, theme, now);
    dependencies(frame, right, state, detail, theme);
}

fn pane<'a>(title: &'a str, focused: bool, theme: &Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .padding(Padding::horizontal(1))
        .border_style(theme.block(focused))
        .title(Span::styled(format!(" {title} "), theme.block(focused)))
}

fn overview(frame: &mut Frame, area: Rect, state: &State, detail: Detail, theme: &Theme, now: DateTime<Utc>) {
    let Some(system) = state.estate.systems().get(detail.system) else { return };
    let allowed = state.estate.tiers.get(system.tier);
    let health = state.health(detail.system);
    let rpo = state.rpo(detail.system, now);
    let label = |s: &str| Span::styled(format!("{s:<10}"), theme.muted());
    let allowance = |own, tier| {
        if own == tier {
            format!("(tier {}'s objective)", system.tier.number())
        } else {
            format!("(tier {} allows {})", system.tier.number(), human(tier))
        }
    };
    let waves = state.estate.recovery_waves().unwrap_or_default();
    let wave = waves.iter().position(|w| w.contains(&detail.system));

    let mut lines = vec![
        Line::from(vec![
            label("RTO"),
            Span::styled(format!("{:<7}", human(system.objective.rto)), theme.text()),
            Span::styled(allowance(system.objective.rto, allowed.rto), theme.muted()),
        ]),
        Line::from(vec![
            label("RPO"),
            Span::styled(format!("{:<7}", human(system.objective.rpo)), theme.text()),
            Span::styled(allowance(system.objective.rpo, allowed.rpo), theme.muted()),
        ]),
        Line::from(vec![
            label("health"),
            Span::styled(format!("{} {}", health.symbol(), health.word()), theme.health(health)),
            Span::styled(format!("  {}", text::NO_HEALTH_CHECK), theme.muted()),
        ]),
        Line::from(vec![label("recovery"), Span::styled(text::rpo_cell(&rpo), theme.rpo(&rpo))]),
        Line::from(vec![
            label("order"),
            Span::styled(
                match wave {
                    Some(w) => format!("wave {} of {}", w + 1, waves.len()),
                    None => "—".to_owned(),
                },
                theme.text(),
            ),
        ]),
        Line::from(vec![label("standby"), Span::styled(system.tier.standby(), theme.muted())]),
        Line::default(),
    ];
    if let Some(description) = &system.description {
        lines.push(Line::from(Span::styled(description.clone(), theme.text())));
    }
    let block = pane("OVERVIEW", detail.pane == DetailPane::Overview, theme);
    frame.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), area);
}

fn dependencies(frame: &mut Frame, area: Rect, state: &State, detail: Detail, theme: &Theme) {
    let (needs, impacts) = dependency_list(state, detail.system);
    let focused = detail.pane == DetailPane::Dependencies;
    let inner_width = usize::from(area.width.saturating_sub(4));
    let name_width = inner_width.saturating_sub(16).clamp(4, 24);
    let mut lines: Vec<Line> = Vec::new();
    // (line index of the cursor's entry)
    let mut cursor_line = 0;
    let mut entry = 0;
    let mut section = |title: String, items: &[usize], lines: &mut Vec<Line>| {
        lines.push(Line::from(Span::styled(title, theme.accent())));
        if items.is_empty() {
            lines.push(Line::from(Span::styled(format!("  {}", text::NOTHING), theme.muted())));
        }
        for &i in items {
            let on = focused && entry == detail.cursor;
            if entry == detail.cursor {
                cursor_line = lines.len();
            }
            entry += 1;
            let h = state.health(i);
            let name = state.estate.graph().name(i);
            let tier = state.estate.systems().get(i).map(|s| s.tier.number()).unwrap_or(0);
            let mut spans = vec![
                Span::styled(if on { "▸ " } else { "  " }, theme.accent()),
                Span::styled(format!("{} ", h.symbol()), theme.health(h)),
                Span::styled(pad(name, name_width), theme.text()),
                Span::styled(fit(&format!(" tier {tier}"), 8), theme.muted()),
            ];
            if on {
                for s in &mut spans {
                    s.style = s.style.patch(theme.selection());
                }
            }
            lines.push(Line::from(spans));
        }
    };
    section(format!("depends on ({})", needs.len()), &needs, &mut lines);
    section(format!("impacts ({})", impacts.len()), &impacts, &mut lines);
    let rows = layout::detail_rows(frame.area().height).max(1);
    let scroll = layout::scroll_to(cursor_line, 0, rows);
    let block = pane("DEPENDENCIES", focused, theme);
    frame.render_widget(Paragraph::new(lines).block(block).scroll((scroll as u16, 0)), area);
}
