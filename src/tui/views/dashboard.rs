//! The tier dashboard: every system by tier, worst first within a tier.
//!
//! ```text
//! ─ TIER 1 · mission critical · RTO 1h · RPO 15m · 4 systems ─────────────────────────────────────
//!   ✖ DOWN      database   RTO 0:37:00/0:30:00 BREACHED   ● RPO 03:12 left   ▶ FAILOVER  p95 6.2s ▁▂▃█ 41%
//! ▸ ▲ DEGRADED  api        impacted by database           ● RPO 09:40 left     watch     p95 310ms ▁▁▂▄ 88%
//!   ● HEALTHY   payments   RTO 1h · RPO 5m                ● RPO 14:02 left               p95 42ms ▁▁▁▁ 100%
//! ```
//! The third column says what matters most: the RTO clock (elapsed / objective, H:MM:SS) of
//! every system that is down, with its root cause if a dependency took it down; the root
//! cause of one degraded by a dependency; else its objectives. The verdict always shows; below
//! 100 columns the columns narrow, and a system with no verdict shows what it depends on in the
//! verdict's place. From 120 columns the p95 latency and availability show, from 140 the
//! latency trend; then what it depends on. In a demo, ⚡ marks a simulated fault.
//! Only the visible lines are laid out, whatever the size of the estate.
//! Keys (handled in `update`): up/down, page up/down, top/bottom, enter opens, esc clears the filter.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{fit, latency, pad, spark};
use crate::model::decision::Verdict;
use crate::model::duration::{hms, human};
use crate::model::{HealthState, RtoClock, Tier};
use crate::tui::state::{DashboardLine, State, dashboard_lines};
use crate::tui::text;
use crate::tui::theme::Theme;

const WIDE_FROM: u16 = 100;
const TELEMETRY_FROM: u16 = 120;
const SPARK_FROM: u16 = 140;

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
        let visible =
            state.estate.tier(tier).filter(|(i, _)| shown.contains(&DashboardLine::System(*i))).count();
        format!("{visible} of {count} shown")
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
    let info = state.health_info(i);
    let rpo = state.rpo(i, now);
    let name_width =
        state.estate.systems().iter().map(|s| s.name.chars().count()).max().unwrap_or(4).clamp(4, 24);
    let wide = width >= WIDE_FROM;
    let demo = state.mode == crate::tui::state::Mode::Demo;
    let faulted = demo && state.faults.get(i).is_some_and(|f| !f.is_healthy());

    let mut spans = vec![
        Span::styled(if selected { "▸ " } else { "  " }, theme.accent()),
        Span::styled(format!("{} {:<8}  ", health.symbol(), health.word()), theme.health(health)),
        Span::styled(pad(&system.name, name_width), theme.text()),
    ];
    if demo {
        spans.push(Span::styled(if faulted { " ⚡" } else { "  " }, theme.warning()));
    }
    spans.push(Span::raw("  "));

    // What matters most about it.
    let outage = info.and_then(|h| h.outage_start).filter(|_| health == HealthState::Down);
    let cause = info.and_then(|h| h.impacted_by).map(|c| state.estate.graph().name(c).to_owned());
    let (situation, style) = match (outage, cause) {
        (Some(start), cause) => {
            let rto = RtoClock::new(start, system.objective.rto, now);
            let mut text = format!("RTO {}/{}", hms(rto.elapsed), hms(rto.objective));
            if let Some(root) = cause {
                text.push_str(&format!(" ← {root}"));
            } else if rto.breached() && wide {
                text.push_str(" BREACHED");
            }
            (text, if rto.breached() { theme.danger() } else { theme.warning() })
        }
        (None, Some(root)) => (format!("impacted by {root}"), theme.warning()),
        (None, None) => (
            format!("RTO {} · RPO {}", human(system.objective.rto), human(system.objective.rpo)),
            theme.muted(),
        ),
    };
    let (situation_width, gap, rpo_width) = if wide { (30, "  ", 22) } else { (20, " ", 19) };
    spans.push(Span::styled(format!("{}{gap}", pad(&situation, situation_width)), style));
    // A standby whose lag is read: the RPO a failover would achieve (⇄); the backup's is in
    // the detail screen.
    match state.failover_rpo(i, now) {
        Some(by_replication) => spans.push(Span::styled(
            pad(&by_replication.cell(), rpo_width),
            theme.severity(by_replication.severity()),
        )),
        None => spans.push(Span::styled(pad(&text::rpo_cell(&rpo), rpo_width), theme.rpo(&rpo))),
    }

    let verdict = info.map(|h| h.decision.verdict).unwrap_or(Verdict::NoData);
    let (word, style) = match verdict {
        Verdict::FailoverRecommended => ("▶ FAILOVER", theme.danger()),
        Verdict::RestoreRecommended => ("▶ RESTORE", theme.danger()),
        Verdict::Watch => ("  watch", theme.warning()),
        _ => ("", theme.muted()),
    };
    // Narrow, a system with no verdict gives the verdict's room to what it depends on.
    if wide || !word.is_empty() {
        spans.push(Span::styled(format!("{}  ", pad(word, 10)), style));
    }
    if width >= TELEMETRY_FROM {
        let telemetry = match info {
            Some(h) if h.stats.probes > 0 => {
                let p95: Vec<Option<f64>> =
                    h.history.iter().rev().take(8).rev().map(|b| b.p95.map(|d| d.as_secs_f64())).collect();
                let top = h
                    .thresholds
                    .response_time_above
                    .as_secs_f64()
                    .max(p95.iter().flatten().copied().fold(0.0, f64::max));
                // The trend from 140 columns; below, its room goes to what the system needs.
                let (trend, latency_width) = if width >= SPARK_FROM {
                    (format!("{} ", spark(&p95, top)), 6)
                } else {
                    (String::new(), 5)
                };
                format!(
                    "p95 {:<latency_width$} {trend}{:>4}",
                    h.stats.p95.map(latency).unwrap_or_else(|| "—".into()),
                    h.stats
                        .availability
                        .map(|a| format!("{:.0}%", (a * 100.0).floor()))
                        .unwrap_or_else(|| "—".into())
                )
            }
            _ => String::new(),
        };
        let telemetry_width = if width >= SPARK_FROM { 24 } else { 14 };
        spans.push(Span::styled(format!("{}  ", pad(&telemetry, telemetry_width)), theme.muted()));
    }

    // What it depends on, with each dependency's state, as room allows.
    let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
    let mut room = usize::from(width).saturating_sub(used + 1);
    let deps = state.estate.graph().depends_on(i);
    if room >= 8 {
        if deps.is_empty() {
            spans.push(Span::styled(fit(" needs —", room), theme.muted()));
        } else if room <= 14 {
            let worst = deps.iter().map(|&d| state.health(d)).max_by_key(|h| h.badness()).unwrap_or_default();
            // The word goes before the count does: never a bare "needs …".
            let full = format!(" needs {} {}", worst.symbol(), deps.len());
            let short = format!(" {} {}", worst.symbol(), deps.len());
            let text = if full.chars().count() <= room { full } else { short };
            spans.push(Span::styled(fit(&text, room), theme.health(worst)));
        } else {
            spans.push(Span::styled(" needs", theme.muted()));
            room -= 6;
            let pieces: Vec<(String, HealthState)> = deps
                .iter()
                .map(|&d| {
                    (
                        format!(" {} {}", state.health(d).symbol(), state.estate.graph().name(d)),
                        state.health(d),
                    )
                })
                .collect();
            if pieces.iter().map(|(p, _)| p.chars().count()).sum::<usize>() <= room {
                for (piece, dh) in pieces {
                    spans.push(Span::styled(piece, theme.health(dh)));
                }
            } else {
                // The names do not fit: how many in each state, worst first (never a bare "…").
                let mut states: Vec<HealthState> = pieces.iter().map(|(_, h)| *h).collect();
                states.sort_by_key(|h| std::cmp::Reverse(h.badness()));
                states.dedup();
                for h in states {
                    let n = pieces.iter().filter(|(_, x)| *x == h).count();
                    let piece = format!(" {} {n}", h.symbol());
                    if piece.chars().count() > room {
                        break;
                    }
                    room -= piece.chars().count();
                    spans.push(Span::styled(piece, theme.health(h)));
                }
            }
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
