//! The jobs: every backup, verification, restore and prune, newest first, with live progress.
//!
//! ```text
//!  JOBS · 1 running · 14 finished
//! ▸ ▶ running    backup       database   ████████░░░░░░  61%  412 MiB/674 MiB  88 MiB/s  ETA 3s
//!   ✔ succeeded  deep-verify  api        backup 20261126T… deep-verified at nas
//!   ■ cancelled  restore      wiki       cancelled at the approval gate by alice
//! ┌ J-261126-224107-3fa9 · backup of database · approved by alice ───────────────┐
//! │ 22:41:07 backup 2026…: full of /srv/db to nas, cloud                          │
//! └───────────────────────────────────────────────────────────────────────────────┘
//! ```
//! Keys (handled in `update`): ↑↓ page up/down top/bottom select, c cancels (through the gate),
//! esc goes back.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Padding, Paragraph, Wrap};

use super::{fit, pad};
use crate::engine::jobs::{JobSnapshot, JobState, Progress, Unit};
use crate::model::backup::bytes;
use crate::tui::layout;
use crate::tui::state::State;
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let [title, list, detail] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(layout::AUDIT_DETAIL),
    ])
    .areas(area);
    let running = state.running_jobs();
    let finished = state.jobs.iter().filter(|j| j.state.finished()).count();
    let waiting = state.jobs.iter().filter(|j| j.state == JobState::Proposed).count();
    let mut counts = vec![
        Span::styled(" JOBS · ", theme.accent()),
        Span::styled(format!("{running} running · {finished} finished"), theme.muted()),
    ];
    if waiting > 0 {
        // A proposal someone must decide on is never hidden among the finished.
        counts.push(Span::styled(format!(" · {waiting} waiting for approval (⏎ on one)"), theme.accent()));
    }
    frame.render_widget(Paragraph::new(Line::from(counts)), title);
    if state.jobs.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled(
                "  no jobs yet: b backs the selected system up, v verifies, R restores",
                theme.muted(),
            )),
            list,
        );
        return;
    }
    let rows = usize::from(list.height).max(1);
    let scroll = layout::scroll_to(state.job_selected, state.job_selected.saturating_sub(rows - 1), rows);
    let width = usize::from(list.width);
    let target_width = state.jobs.iter().map(|j| j.target.chars().count()).max().unwrap_or(6).clamp(6, 20);
    let lines: Vec<Line> = state
        .jobs
        .iter()
        .enumerate()
        .skip(scroll)
        .take(rows)
        .map(|(i, job)| {
            let selected = i == state.job_selected;
            let style = state_style(job.state, theme);
            let mut spans = vec![
                Span::styled(if selected { "▸ " } else { "  " }, theme.accent()),
                Span::styled(format!("{} {:<10} ", job.state.symbol(), job.state.name()), style),
                Span::styled(format!("{:<12} ", job.kind), theme.text()),
                Span::styled(format!("{} ", pad(&job.target, target_width)), theme.text()),
            ];
            let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
            let room = width.saturating_sub(used);
            let rest = if job.state == JobState::Running {
                progress_text(&job.progress, room)
            } else {
                fit(&job.outcome.clone().unwrap_or_else(|| job.plan.title.clone()), room)
            };
            spans.push(Span::styled(
                rest,
                if job.state == JobState::Running { theme.info() } else { theme.muted() },
            ));
            let mut line = Line::from(spans);
            if selected {
                line = line.patch_style(theme.selection());
            }
            line
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), list);

    if let Some(job) = state.jobs.get(state.job_selected) {
        render_detail(frame, detail, job, theme);
    }
}

fn state_style(state: JobState, theme: &Theme) -> ratatui::style::Style {
    match state {
        JobState::Running | JobState::Approved => theme.info(),
        JobState::Succeeded => theme.ok(),
        JobState::Failed | JobState::Interrupted => theme.danger(),
        JobState::Cancelled | JobState::Proposed => theme.warning(),
    }
}

/// `backing up ████████░░░░  61%  412 MiB/674 MiB  88 MiB/s  ETA 3s`, fitted to `room`: the
/// bar and percentage first, then amounts, rate, ETA and the stage as room allows.
pub fn progress_text(p: &Progress, room: usize) -> String {
    let amount = |n: u64| match p.unit {
        Unit::Bytes => bytes(n),
        Unit::Steps => n.to_string(),
    };
    let fraction = p.total.filter(|t| *t > 0).map(|t| (p.done as f64 / t as f64).clamp(0.0, 1.0));
    let bar = |width: usize, f: f64| {
        let full = (f * width as f64).round() as usize;
        format!("{}{}", "█".repeat(full), "░".repeat(width.saturating_sub(full)))
    };
    let mut parts: Vec<String> = Vec::new();
    match (fraction, p.total) {
        (Some(f), Some(t)) => {
            parts.push(format!("{} {:>3.0}%", bar(12, f), f * 100.0));
            parts.push(format!("{}/{}", amount(p.done), amount(t)));
        }
        _ => parts.push(amount(p.done)),
    }
    if let Some(rate) = p.rate.filter(|r| *r > 0.0) {
        parts.push(match p.unit {
            Unit::Bytes => format!("{}/s", bytes(rate as u64)),
            Unit::Steps => format!("{rate:.1}/s"),
        });
    }
    if let Some(eta) = p.eta_secs {
        parts.push(format!(
            "ETA {}",
            crate::model::duration::human(std::time::Duration::from_secs(eta.max(1)))
        ));
    }
    let mut out = String::new();
    for part in parts {
        let sep = if out.is_empty() { "" } else { "  " };
        if out.chars().count() + sep.len() + part.chars().count() > room {
            break;
        }
        out.push_str(sep);
        out.push_str(&part);
    }
    let with_stage = format!("{} {out}", p.stage);
    if with_stage.chars().count() <= room { with_stage } else { fit(&out, room) }
}

fn render_detail(frame: &mut Frame, area: Rect, job: &JobSnapshot, theme: &Theme) {
    let inner = usize::from(area.width.saturating_sub(4));
    let mut lines: Vec<Line> = Vec::new();
    if let Some(outcome) = &job.outcome {
        lines.push(Line::from(Span::styled(outcome.clone(), state_style(job.state, theme))));
    }
    let rows = usize::from(area.height.saturating_sub(2));
    let log_rows = rows.saturating_sub(lines.len());
    if job.log.is_empty() {
        for l in job.plan.lines.iter().take(log_rows) {
            lines.push(Line::from(Span::styled(fit(l, inner), theme.muted())));
        }
    } else {
        // The newest lines of the log.
        for l in job.log.iter().skip(job.log.len().saturating_sub(log_rows)) {
            lines.push(Line::from(Span::styled(fit(l, inner), theme.text())));
        }
    }
    let who = match &job.approved_by {
        Some(a) => format!("approved by {a}"),
        None => format!("proposed by {}", job.proposed_by),
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .padding(Padding::horizontal(1))
        .border_style(theme.muted())
        .title(Span::styled(
            fit(&format!(" {} · {} · {who} ", job.id, job.plan.title), inner),
            theme.accent(),
        ));
    frame.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), area);
}
