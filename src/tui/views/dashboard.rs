//! The tier dashboard: every system by tier, worst first within a tier.
//!
//! ```text
//! ─ TIER 1 · mission critical · RTO 1h · RPO 15m ──────────────────────────────────────────
//! ▸ ✖ DOWN      database   RTO 30m  RPO 5m    ✖ RPO breached +03:12   needs —
//!   ▲ DEGRADED  api        RTO 1h   RPO 15m   ● RPO 09:40 left        needs ✖ database ● cache
//! ─ TIER 2 · business essential · RTO 4h · RPO 1h ─────────────────────────────────────────
//! ```
//! At 100 columns and more the objectives show; below, they are dropped first.
//! Only the visible lines are laid out, whatever the size of the estate.
//! Keys (handled in `update`): up/down, page up/down, top/bottom, enter opens, esc clears the filter.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{fit, pad};
use crate::model::Tier;
use crate::model::duration::human;
use crate::tui::state::{DashboardLine, State, dashboard_lines};
use crate::tui::text;
use crate::tui::theme::Theme;

/// Width of the objectives column; shown from this terminal width up.
const OBJECTIVES_FROM: u16 = 100;

pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: &Theme, now: DateTime<Utc>) {
    let lines = dashboard_lines(state, now);
    let systems_shown = lines.iter().any(|l| matches!(l, DashboardLine::System(_)));
    if !systems_shown {
        let back =
            state.keymap.first_key(crate::config::keys::KeyCommand::Back).unwrap_or_else(|| "esc".into());
        let note = if state.estate.systems().is_empty() {
            text::NO_SYSTEMS.to_owned()
        } else {
            text::no_match(&back)
        };
        let mut out: Vec<Line> =
            lines.iter().map(|l| line(state, theme, *l, area.width, now, &lines)).collect();
        out.push(Line::from(Span::styled(format!("  {note}"), theme.muted())));
        frame.render_widget(Paragraph::new(out), area);
        return;
    }
    let rows = usize::from(area.height);
    let scroll = state.scroll.min(lines.len().saturating_sub(1));
    let visible: Vec<Line> = lines
        .iter()
        .skip(scroll)
        .take(rows)
        .map(|l| line(state, theme, *l, area.width, now, &lines))
        .collect();
    frame.render_widget(Paragraph::new(visible), area);
}

fn line<'a>(
    state: &State,
    theme: &Theme,
    l: DashboardLine,
    width: u16,
    now: DateTime<Utc>,
    all: &[DashboardLine],
) -> Line<'a> {
    match l {
        DashboardLine::Tier(tier) => tier_heading(state, theme, tier, width, all),
        DashboardLine::System(i) => system_row(state, theme, i, width, now),
    }
}

fn tier_heading<'a>(
    state: &State,
    theme: &Theme,
    tier: Tier,
    width: u16,
    shown: &[DashboardLine],
) -> Line<'a> {
    let o = state.estate.tiers.get(tier);
    let count = state.estate.tier(tier).count();
    let systems = if state.filter.is_empty() {
        format!("{count} system{}", if count == 1 { "" } else { "s" })
    } else {
        let shown =
            state.estate.tier(tier).filter(|(i, _)| shown.contains(&DashboardLine::System(*i))).count();
        format!("{shown} of {count} shown")
    };
    let label = format!(
        "─ TIER {} · {} · RTO {} · RPO {} · {systems} ",
        tier.number(),
        tier.label(),
        human(o.rto),
        human(o.rpo)
    );
    let fill = usize::from(width).saturating_sub(label.chars().count());
    Line::from(Span::styled(format!("{label}{}", "─".repeat(fill)), theme.tier(tier)))
}

fn system_row<'a>(state: &State, theme: &Theme, i: usize, width: u16, now: DateTime<Utc>) -> Line<'a> {
    let Some(system) = state.estate.systems().get(i) else { return Line::default() };
    let selected = state.selected == Some(i);
    let health = state.health(i);
    let rpo = state.rpo(i, now);
    let name_width =
        state.estate.systems().iter().map(|s| s.name.chars().count()).max().unwrap_or(4).clamp(4, 24);

    let mut spans = vec![
        Span::styled(if selected { "▸ " } else { "  " }, theme.accent()),
        Span::styled(format!("{} {:<8}  ", health.symbol(), health.word()), theme.health(health)),
        Span::styled(format!("{}  ", pad(&system.name, name_width)), theme.text()),
    ];
    if width >= OBJECTIVES_FROM {
        spans.push(Span::styled(
            format!("RTO {:<4} RPO {:<4}  ", human(system.objective.rto), human(system.objective.rpo)),
            theme.muted(),
        ));
    }
    spans.push(Span::styled(pad(&text::rpo_cell(&rpo), 24), theme.rpo(&rpo)));

    // What it depends on, with each dependency's state.
    let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
    let mut room = usize::from(width).saturating_sub(used + 1);
    let deps = state.estate.graph().depends_on(i);
    if deps.is_empty() {
        spans.push(Span::styled(fit(" needs —", room), theme.muted()));
    } else if room <= 8 {
        // Too narrow for names: how many, with the worst state among them.
        let worst = deps.iter().map(|&d| state.health(d)).max_by_key(|h| h.badness()).unwrap_or_default();
        spans.push(Span::styled(
            fit(&format!(" needs {} {}", worst.symbol(), deps.len()), room),
            theme.health(worst),
        ));
    } else {
        spans.push(Span::styled(" needs", theme.muted()));
        room -= 6;
        for &d in deps {
            let dh = state.health(d);
            let name = state.estate.graph().name(d);
            let piece = format!(" {} {name}", dh.symbol());
            if piece.chars().count() > room {
                spans.push(Span::styled(fit(" …", room), theme.muted()));
                break;
            }
            room -= piece.chars().count();
            spans.push(Span::styled(piece, theme.health(dh)));
        }
    }
    if selected {
        let sel = theme.selection();
        for span in &mut spans {
            span.style = span.style.patch(sel);
        }
        let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
        spans.push(Span::styled(" ".repeat(usize::from(width).saturating_sub(used)), sel));
    }
    Line::from(spans)
}
