//! The business processes: each with its systems' live state, whether its RTO budget still
//! holds, and which outage hurts it (through the dependency graph).
//!
//! ```text
//!  BUSINESS PROCESSES · 5 · 2 disrupted · 1 past its RTO
//! ▸ ✖ online-orders       RTO 1h   BREACHED 7m ago   hurt by database (down 37m)
//!   ▲ card-payments       RTO 30m  12m left          hurt by database (down 18m)
//!   ✔ customer-login      RTO 1h   working           edge ● auth ● database ●
//! ┌ online-orders · owner head-of-ecommerce ──────────────────────────────────────┐
//! │ needs RTO 1h · RPO 15m · WRT 30m · MTPD 4h                                   │
//! │ relies on  edge ● api ▲ payments ▲ database ✖                                 │
//! │ an outage of any of these stops it: edge, api, payments, database, cache      │
//! └───────────────────────────────────────────────────────────────────────────────┘
//! ```
//! Keys (handled in `update`): ↑↓ select, esc goes back.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Padding, Paragraph, Wrap};

use super::{fit, pad};
use crate::model::HealthState;
use crate::model::duration::human;
use crate::model::plan::{Process, ProcessState};
use crate::tui::layout;
use crate::tui::state::State;
use crate::tui::theme::Theme;

/// When each system down now went down, from the monitor's last report.
pub fn down_since(state: &State, now: DateTime<Utc>) -> BTreeMap<String, DateTime<Utc>> {
    state
        .health
        .iter()
        .flatten()
        .filter(|h| h.state == HealthState::Down)
        .map(|h| (h.name.clone(), h.outage_start.or(h.since).unwrap_or(now)))
        .collect()
}

fn health_of(state: &State, system: &str) -> HealthState {
    state
        .estate
        .index_of(system)
        .and_then(|i| state.health.get(i).cloned().flatten())
        .map(|h| h.state)
        .unwrap_or(HealthState::Unknown)
}

fn state_words(p: &Process, s: &ProcessState, now: DateTime<Utc>) -> (String, &'static str) {
    match s {
        ProcessState::Working => ("working".into(), "✔"),
        ProcessState::Disrupted { since, breached: true, .. } => {
            let over = (now - *since).to_std().unwrap_or_default().saturating_sub(p.rto);
            (format!("BREACHED {} ago", human(round(over))), "✖")
        }
        ProcessState::Disrupted { left, .. } => (format!("{} left", human(round(*left))), "▲"),
    }
}

/// To the minute past a minute: a budget reads "12m left", not "12m3s left".
fn round(d: std::time::Duration) -> std::time::Duration {
    let s = d.as_secs();
    std::time::Duration::from_secs(if s >= 60 { s - s % 60 } else { s })
}

fn state_style(s: &ProcessState, theme: &Theme) -> Style {
    match s {
        ProcessState::Working => theme.ok(),
        ProcessState::Disrupted { breached: true, .. } => theme.danger(),
        ProcessState::Disrupted { .. } => theme.warning(),
    }
}

pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: &Theme, now: DateTime<Utc>) {
    let plan = &state.plan;
    if plan.processes.is_empty() {
        frame.render_widget(
            Paragraph::new(vec![
                Line::from(Span::styled(" BUSINESS PROCESSES", theme.accent())),
                Line::from(Span::styled(
                    "  no processes are described: add [[processes]] to the config (docs/plan.md)",
                    theme.muted(),
                )),
            ]),
            area,
        );
        return;
    }
    let down = down_since(state, now);
    let states: Vec<ProcessState> =
        plan.processes.iter().map(|p| ProcessState::of(p, &state.estate, &down, now)).collect();
    let disrupted = states.iter().filter(|s| !matches!(s, ProcessState::Working)).count();
    let breached =
        states.iter().filter(|s| matches!(s, ProcessState::Disrupted { breached: true, .. })).count();

    // The detail gets what the list does not need (up to 12 rows), so nothing of the selected
    // process is cut while list rows stand empty.
    let base = if area.height >= 30 { 10 } else { layout::AUDIT_DETAIL };
    let spare = area.height.saturating_sub(1 + plan.processes.len() as u16);
    let detail_height = spare.clamp(base.min(spare), base.max(12));
    let [title, list, detail] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(0), Constraint::Length(detail_height)])
            .areas(area);
    let mut head = vec![
        Span::styled(" BUSINESS PROCESSES · ", theme.accent()),
        Span::styled(format!("{}", plan.processes.len()), theme.muted()),
    ];
    if disrupted > 0 {
        head.push(Span::styled(format!(" · {disrupted} disrupted"), theme.warning()));
    }
    if breached > 0 {
        head.push(Span::styled(
            format!(" · {breached} past {} RTO", if breached == 1 { "its" } else { "their" }),
            theme.danger(),
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(head)), title);

    let rows = usize::from(list.height).max(1);
    let selected = state.process_selected.min(plan.processes.len() - 1);
    let scroll = layout::scroll_to(selected, selected.saturating_sub(rows - 1), rows);
    let width = usize::from(list.width);
    let name_width = plan.processes.iter().map(|p| p.name.chars().count()).max().unwrap_or(8).clamp(8, 22);
    let lines: Vec<Line> = plan
        .processes
        .iter()
        .zip(&states)
        .enumerate()
        .skip(scroll)
        .take(rows)
        .map(|(i, (p, s))| {
            let (words, symbol) = state_words(p, s, now);
            let style = state_style(s, theme);
            let mut spans = vec![
                Span::styled(if i == selected { "▸ " } else { "  " }, theme.accent()),
                Span::styled(format!("{symbol} "), style),
                Span::styled(format!("{} ", pad(&p.name, name_width)), theme.text()),
                Span::styled(format!("RTO {:<4} ", human(p.rto)), theme.muted()),
                Span::styled(format!("{} ", pad(&words, 17)), style),
            ];
            let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
            let room = width.saturating_sub(used);
            match s {
                ProcessState::Disrupted { by, .. } => {
                    let hurt: Vec<String> = by
                        .iter()
                        .map(|b| match down.get(b) {
                            Some(at) => format!(
                                "{b} (down {})",
                                human(round((now - *at).to_std().unwrap_or_default()))
                            ),
                            None => b.clone(),
                        })
                        .collect();
                    spans.push(Span::styled(
                        fit(&format!("hurt by {}", hurt.join(", ")), room),
                        theme.warning(),
                    ));
                }
                ProcessState::Working => {
                    let mut left = room;
                    for sys in &p.systems {
                        let h = health_of(state, sys);
                        let cell = format!("{sys} {} ", h.symbol());
                        let n = cell.chars().count();
                        if n > left {
                            break;
                        }
                        left -= n;
                        spans.push(Span::styled(cell, theme.health(h)));
                    }
                }
            }
            if i == selected {
                spans = spans.into_iter().map(|s| s.patch_style(theme.selection())).collect();
            }
            Line::from(spans)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), list);

    let p = &plan.processes[selected];
    let s = &states[selected];
    let mut title = format!(" {} ", p.name);
    if let Some(o) = &p.owner {
        title.push_str(&format!("· owner {o} "));
    }
    let mut text = Vec::new();
    if let Some(d) = &p.description {
        text.push(Line::from(Span::styled(d.clone(), theme.muted())));
    }
    text.push(Line::from(vec![
        Span::styled("needs      ", theme.muted()),
        Span::styled(
            format!(
                "RTO {} · RPO {} · WRT {} · MTPD {}",
                human(p.rto),
                human(p.rpo),
                human(p.wrt),
                human(p.mtpd)
            ),
            theme.text(),
        ),
    ]));
    let mut relies = vec![Span::styled("relies on  ", theme.muted())];
    for sys in &p.systems {
        let h = health_of(state, sys);
        relies.push(Span::styled(format!("{sys} {} ", h.symbol()), theme.health(h)));
    }
    text.push(Line::from(relies));
    let reliance = p.reliance(&state.estate);
    match s {
        ProcessState::Disrupted { since, by, left, breached } => {
            let budget = if *breached {
                format!("its RTO of {} ran out; disrupted since {}", human(p.rto), since.format("%H:%M UTC"))
            } else {
                format!(
                    "{} of its {} RTO left; disrupted since {}",
                    human(round(*left)),
                    human(p.rto),
                    since.format("%H:%M UTC")
                )
            };
            text.push(Line::from(vec![
                Span::styled("budget     ", theme.muted()),
                Span::styled(budget, state_style(s, theme)),
            ]));
            text.push(Line::from(vec![
                Span::styled("hurt by    ", theme.muted()),
                Span::styled(format!("the outage of {}", by.join(", ")), theme.warning()),
            ]));
        }
        ProcessState::Working => {
            text.push(Line::from(vec![
                Span::styled("at risk    ", theme.muted()),
                Span::styled(
                    format!("an outage of any of these stops it: {}", reliance.join(", ")),
                    theme.text(),
                ),
            ]));
        }
    }
    if let Some(w) = &p.workarounds {
        text.push(Line::from(vec![
            Span::styled("workaround ", theme.muted()),
            Span::styled(w.clone(), theme.text()),
        ]));
    }
    frame.render_widget(
        Paragraph::new(text).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(theme.block(false))
                .title(Span::styled(title, theme.accent()))
                .padding(Padding::horizontal(1)),
        ),
        detail,
    );
}
