//! The exercise screen, in two views of one exercise.
//!
//! ```text
//!  ┌ EXERCISE EX-20261202-1 Regional outage · functional (partial) · +0:12:30 ▶ 10x ─── facilitator ┐
//!  │ I-1  released      +0:00     Utility power lost at the primary site   Facilities manager → all │
//!  │ C-1  pending       in 05:30  The DBA: the standby is ready…           DBA on call → commander  │
//!  │ ── I-3 API failing ────────────────────────────────────────────────────────────────────────── │
//!  │ expected: The commander fails the database over (within 15m: 07:12 left)                      │
//!  │ players did: +0:04 declare (INC-… declared by bob)                                             │
//!  └────────────────────────────────────────────────────────────────────────────────────────────────┘
//! ```
//! The facilitator's view shows every inject with its state, its countdown, its expected action
//! and what the players did; the players' view only the released injects and what they say.
//! Keys: up/down select, tab switches view (not for a joined player), A acknowledges, o observes.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use crate::model::Severity;
use crate::model::duration::{clock, human};
use crate::model::exercise::{InjectState, offset_text};
use crate::tui::state::State;
use crate::tui::theme::Theme;

/// The injects the screen lists (indices into the scenario's), in MSEL order.
pub fn shown_injects(state: &State) -> Vec<usize> {
    let Some(x) = &state.ops.exercise else { return Vec::new() };
    let players = state.player || state.players_view;
    (0..x.scenario().injects.len())
        .filter(|&i| {
            !players
                || (x.run.injects[i].state.visible_to_players()
                    && !x.scenario().injects[i].facilitator_only())
        })
        .collect()
}

/// `EXERCISE EX-… Name · functional (partial) · +0:12:30 ▶ 10x`: the header's words too.
pub fn banner(state: &State, now: DateTime<Utc>) -> Option<String> {
    let x = state.ops.exercise.as_ref()?;
    let run = &x.run;
    let clock_state = if run.clock.paused() {
        "⏸ PAUSED".to_owned()
    } else if run.clock.speed() != 1.0 {
        format!("▶ {}x", run.clock.speed())
    } else {
        "▶".to_owned()
    };
    Some(format!(
        "EXERCISE {} {} · {} ({}) · {} {clock_state}",
        x.record.id,
        x.scenario().name,
        x.scenario().kind,
        x.scenario().kind.standard_word(),
        scenario_clock(run.offset(now))
    ))
}

/// The scenario clock as it ticks: `T+0:12:30`.
pub fn scenario_clock(d: std::time::Duration) -> String {
    format!("T+{}", crate::model::duration::hms(d))
}

fn state_style(theme: &Theme, s: InjectState) -> Style {
    match s {
        InjectState::Pending => theme.muted(),
        InjectState::Released => theme.severity(Severity::Warning),
        InjectState::Acknowledged => theme.info(),
        InjectState::Resolved => theme.ok(),
        InjectState::Skipped => theme.muted(),
    }
}

fn state_symbol(s: InjectState) -> &'static str {
    match s {
        InjectState::Pending => "○",
        InjectState::Released => "▶",
        InjectState::Acknowledged => "✓",
        InjectState::Resolved => "✔",
        InjectState::Skipped => "–",
    }
}

pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: &Theme, now: DateTime<Utc>) {
    let players = state.player || state.players_view;
    let view = if players { "players' view" } else { "facilitator's view" };
    let Some(x) = &state.ops.exercise else {
        let block =
            Block::default().borders(Borders::ALL).border_style(theme.block(true)).title(" exercise ");
        let mut text = vec![Line::from("No exercise is running.")];
        if !state.exercise_ended.is_empty() {
            text.push(Line::from(""));
            text.extend(state.exercise_ended.iter().map(|l| Line::from(l.as_str())));
        }
        text.push(Line::from(""));
        text.push(Line::from(Span::styled(
            "Start one with :exercise start NAME (a scenario in scenarios/), or `warroom exercise start FILE`.",
            theme.muted(),
        )));
        frame.render_widget(Paragraph::new(text).block(block).wrap(Wrap { trim: false }), area);
        return;
    };
    let s = x.scenario();
    let run = &x.run;
    let title = format!(" {} ", banner(state, now).unwrap_or_default());
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.block(true))
        .title(Span::styled(title, theme.exercise()))
        .title_bottom(Span::styled(format!(" {view} "), theme.muted()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = usize::from(inner.width);
    let shown = shown_injects(state);
    let countdowns = run.countdowns(s, now);
    let selected = state.inject_selected.min(shown.len().saturating_sub(1));
    // The list takes what the selection's detail leaves.
    let detail_rows: u16 = if players { 6 } else { 8 };
    let list_rows = usize::from(inner.height.saturating_sub(detail_rows).max(3));
    let first = selected.saturating_sub(list_rows.saturating_sub(1));
    // One column for who sends it to whom, as wide as its longest (up to 34).
    let who_w = shown
        .iter()
        .map(|&i| format!("{} → {}", s.injects[i].from, s.injects[i].to).chars().count())
        .max()
        .unwrap_or(0)
        .min(34)
        .min(width.saturating_sub(6 + 15 + 11 + 2) / 2);
    let mut lines = Vec::new();
    if shown.is_empty() {
        lines.push(Line::from(Span::styled("Nothing has been released yet.", theme.muted())));
    }
    for (row, &i) in shown.iter().enumerate().skip(first).take(list_rows) {
        let inject = &s.injects[i];
        let r = &run.injects[i];
        let when = match (r.released, countdowns.iter().find(|(j, _)| *j == i)) {
            (Some(at), _) => offset_text(at),
            (None, Some((_, left))) => format!("in {}", clock(*left)),
            (None, None) => match &inject.trigger {
                crate::model::exercise::Trigger::When { .. } => "on a fact".to_owned(),
                crate::model::exercise::Trigger::After { inject, .. } => format!("after {inject}"),
                other => other.to_string(),
            },
        };
        let when: String = when.chars().take(10).collect();
        let who = format!("{} → {}", inject.from, inject.to);
        let fixed = 6 + 15 + 11 + 2;
        let title_w = width.saturating_sub(fixed + who_w).max(10);
        let title: String = inject.title.chars().take(title_w).collect();
        let mut spans = vec![
            Span::raw(format!(" {:<5}", inject.id)),
            Span::styled(
                format!("{} {:<13}", state_symbol(r.state), r.state.name()),
                state_style(theme, r.state),
            ),
            Span::raw(format!("{when:<11}")),
            Span::raw(format!("{title:<title_w$}  ")),
            Span::styled(who.chars().take(who_w).collect::<String>(), theme.muted()),
        ];
        if row == selected {
            spans = spans.into_iter().map(|sp| sp.patch_style(theme.selection())).collect();
        }
        lines.push(Line::from(spans));
    }
    if let Some(&i) = shown.get(selected) {
        let inject = &s.injects[i];
        let r = &run.injects[i];
        lines.push(Line::from(Span::styled(
            format!(
                "── {} {} {}",
                inject.id,
                inject.title,
                "─".repeat(width.saturating_sub(inject.title.chars().count() + 8))
            ),
            theme.accent(),
        )));
        if !inject.body.is_empty() && (players || r.state.visible_to_players()) {
            lines.push(Line::from(inject.body.trim().to_owned()));
        }
        if let Some((who, at)) = &r.acknowledged {
            lines.push(Line::from(Span::styled(
                format!("acknowledged by {who} at {}", at.format("%H:%M:%S")),
                theme.info(),
            )));
        } else if players && r.state.visible_to_players() {
            let key =
                state.keymap.first_key(crate::config::keys::KeyCommand::Acknowledge).unwrap_or_default();
            lines.push(Line::from(Span::styled(format!("not acknowledged: press {key}"), theme.warning())));
        }
        if !players {
            if let Some(e) = &inject.expected {
                let left = match run.target_left(s, i, now) {
                    Some(Ok(left)) => format!(": {} left", clock(left)),
                    Some(Err(past)) => format!(": {} PAST", clock(past)),
                    None => String::new(),
                };
                let style = if matches!(run.target_left(s, i, now), Some(Err(_))) {
                    theme.danger()
                } else {
                    theme.text()
                };
                lines.push(Line::from(Span::styled(
                    format!("expected: {} (within {}{left})", e.text, human(e.within)),
                    style,
                )));
            }
            if let Some((system, fault)) = &inject.fault {
                lines.push(Line::from(Span::styled(format!("fault: {system} {fault}"), theme.muted())));
            }
            if let Some(how) = r.resolved.as_ref().or(r.skipped.as_ref()) {
                lines.push(Line::from(Span::styled(how.clone(), theme.muted())));
            }
            let did: Vec<String> = run
                .seen
                .iter()
                .rev()
                .take(3)
                .map(|d| format!("{} {}", offset_text(d.offset), d.act))
                .collect();
            if !did.is_empty() {
                lines.push(Line::from(Span::styled(
                    format!("players did: {}", did.join(" · ")),
                    theme.text(),
                )));
            }
        }
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}
