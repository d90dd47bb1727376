//! The incident: its recovery plan as waves (each system's state and forecast against its
//! RTO), and the live timeline.
//!
//! ```text
//!  INCIDENT INC-261127-0105-3fa9 · cyber sev1 · declared 01:05:12 by alice · open 0:12:31
//!  PLAN J-261127-010530-77aa · running · 1 of 3 recovered
//!  wave 1  ✔ database  failover  back at +0:00:40 · RTO left 0:26:00 ✔   done 01:06:10
//!  wave 2  ▶ api       failover  back at +0:01:20 · RTO left 0:55:00 ✔
//!          ⊘ edge      restore   blocked: api did not recover
//! ┌ TIMELINE ───────────────────────────────────────────────────────────────────────┐
//! │ 01:04:02 database  transition  healthy → down (connection refused)              │
//! │ 01:05:12 -         incident.declared  alice: declared: cyber sev1               │
//! └─────────────────────────────────────────────────────────────────────────────────┘
//! ```
//! Keys: esc goes back; the palette declares (`:declare cyber sev1 database,api`), notes
//! (`:note ...`), skips or retries a system (`:skip api`), closes (`:close-incident ...`).

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Padding, Paragraph};

use super::fit;
use crate::engine::recovery::{PlanDetail, Step};
use crate::model::duration::hms;
use crate::tui::state::State;
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: &Theme, now: DateTime<Utc>) {
    let width = usize::from(area.width);
    let Some(incident) = &state.ops.incident else {
        let lines = vec![
            Line::from(Span::styled(" INCIDENT · none open", theme.accent())),
            Line::default(),
            Line::from(Span::styled(
                "  declare one with the palette:  :declare TYPE SEVERITY SYSTEMS",
                theme.muted(),
            )),
            Line::from(Span::styled(
                "  for example                    :declare infrastructure sev1 database,api",
                theme.muted(),
            )),
            Line::from(Span::styled(
                "  types: natural, cyber, infrastructure, pandemic, regional; severity sev1 (worst) to sev4",
                theme.muted(),
            )),
        ];
        frame.render_widget(Paragraph::new(lines), area);
        return;
    };
    let plan_job = incident.plan_job.as_ref().and_then(|id| state.jobs.iter().find(|j| &j.id == id));
    let detail: Option<PlanDetail> =
        plan_job.and_then(|j| j.detail.clone()).and_then(|d| serde_json::from_value(d).ok());
    let plan_rows = detail.as_ref().map(|d| d.systems.len() + 1).unwrap_or(2) as u16;
    let [head, plan, timeline] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(plan_rows.min(area.height / 2)),
        Constraint::Min(3),
    ])
    .areas(area);

    let open = (now - incident.declared_at).to_std().unwrap_or_default();
    let status = match incident.closed_at {
        Some(t) => {
            format!("closed {} by {}", t.format("%H:%M:%S"), incident.closed_by.as_deref().unwrap_or("?"))
        }
        None => format!("open {}", hms(open)),
    };
    let title = format!(
        " INCIDENT {} · {} {} · declared {} by {} · {status}",
        incident.id,
        incident.kind,
        incident.severity,
        incident.declared_at.format("%H:%M:%S"),
        incident.declared_by
    );
    let plan_line = match plan_job {
        Some(j) => {
            let waiting = detail.as_ref().and_then(|d| d.waiting.clone());
            let mut text = format!(" PLAN {} · {}", j.id, j.state);
            if let Some(d) = &detail {
                let back = d.systems.iter().filter(|s| s.state == Step::Recovered).count();
                text.push_str(&format!(" · {back} of {} recovered", d.systems.len()));
            }
            if let Some(w) = waiting {
                text.push_str(&format!(" · WAITING: {w}"));
            }
            if let Some(o) = &j.outcome {
                text.push_str(&format!(" · {o}"));
            }
            text
        }
        None => format!(" PLAN none yet · systems {}", incident.systems.join(", ")),
    };
    frame.render_widget(
        Paragraph::new(vec![
            Line::from(Span::styled(fit(&title, width), theme.accent())),
            Line::from(Span::styled(fit(&plan_line, width), theme.text())),
        ]),
        head,
    );

    let mut lines = Vec::new();
    if let Some(d) = &detail {
        let name_width = d.systems.iter().map(|s| s.name.chars().count()).max().unwrap_or(6).clamp(6, 20);
        let mut last_wave = usize::MAX;
        for s in &d.systems {
            let wave = if s.wave != last_wave { format!(" wave {:<2}", s.wave + 1) } else { " ".repeat(9) };
            last_wave = s.wave;
            let style = match s.state {
                Step::Recovered | Step::Skipped => theme.ok(),
                Step::Running => theme.info(),
                Step::Failed | Step::Blocked => theme.danger(),
                Step::Pending => theme.muted(),
            };
            let method = match s.method {
                crate::engine::recovery::Method::Failover => "failover",
                crate::engine::recovery::Method::Restore => "restore ",
            };
            let rto = match s.rto_left_secs {
                Some(l) if s.breach => {
                    format!("RTO left {} ✖ WILL BREACH", hms(std::time::Duration::from_secs(l)))
                }
                Some(l) => format!("RTO left {} ✔", hms(std::time::Duration::from_secs(l))),
                None => "not down".to_owned(),
            };
            // Why it is stuck comes first; then the forecast against the RTO.
            let cause = match (&s.cause, s.state) {
                (Some(c), Step::Blocked) => format!("blocked: {c} · "),
                (Some(c), Step::Failed) => format!("failed: {c} · "),
                (Some(c), _) => format!("{c} · "),
                (None, _) => String::new(),
            };
            let text = format!(
                " {} {:<name_width$}  {method}  {cause}back at +{} · {rto}",
                s.state.symbol(),
                s.name,
                hms(std::time::Duration::from_secs(s.forecast_secs))
            );
            lines.push(Line::from(vec![
                Span::styled(wave, theme.muted()),
                Span::styled(fit(&text, width.saturating_sub(9)), style),
            ]));
        }
    }
    frame.render_widget(Paragraph::new(lines), plan);

    let rows = usize::from(timeline.height.saturating_sub(2));
    let inner = usize::from(timeline.width.saturating_sub(4));
    let entries: Vec<Line> = state
        .ops
        .timeline
        .iter()
        .skip(state.ops.timeline.len().saturating_sub(rows))
        .map(|e| {
            let local = e.at.with_timezone(&state.local_offset);
            let style = if e.text.contains("failed") || e.text.contains("FAILED") {
                theme.danger()
            } else if e.kind == "transition" || e.kind == "verdict" {
                theme.warning()
            } else {
                theme.text()
            };
            let who = e.who.as_deref().map(|w| format!("{w}: ")).unwrap_or_default();
            let text = format!(
                "{} {:<10} {:<20} {who}{}",
                local.format("%H:%M:%S"),
                e.system.as_deref().unwrap_or("-"),
                e.kind,
                e.text
            );
            Line::from(Span::styled(fit(&text, inner), style))
        })
        .collect();
    let block = Block::default()
        .borders(Borders::ALL)
        .padding(Padding::horizontal(1))
        .border_style(theme.muted())
        .title(Span::styled(" TIMELINE ", theme.accent()));
    frame.render_widget(Paragraph::new(entries).block(block), timeline);
}
