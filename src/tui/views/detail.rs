//! System detail: everything about one system, the decision on it, and its place in the
//! dependency graph.
//!
//! ```text
//! ─ database · tier 1 · mission critical · owner dba-team ──────────────────────────────────
//! ┌ OVERVIEW ───────────────────────────────────────┐┌ DECISION ───────────────────────────┐
//! │ RTO       30m    (tier 1 allows 1h)             ││ ▶ FAILOVER RECOMMENDED  score 7 (≥5)│
//! │ RPO       5m     (tier 1 allows 15m)            ││ ✖ availability  41%   < 95%     +3  │
//! │ health    ✖ DOWN since 22:04:02 · refused       ││ ✖ p95 response  6.2s  > 5.0s    +2  │
//! │ RTO clock 00:37/00:30 BREACHED                  ││ ✖ error rate    21%   > 5%      +2  │
//! │ probe     GET http://127.0.0.1:4312/health      ││ down since 22:04:02 · RTO left -07:00│
//! │ p95 latency, last 1m              limit 5.0s    │└─────────────────────────────────────┘
//! │ ▁▁▁▂▂▃▅▇████████████ 6.2s                       │┌ DEPENDENCIES ───────────────────────┐
//! │ availability                      limit 95%     ││ depends on (0)                      │
//! │ ████████▇▅▃▁▁▁▁ 41%                             ││ impacts (8)                         │
//! └─────────────────────────────────────────────────┘└─────────────────────────────────────┘
//! ```
//! The overview is a stack of sections (backups and procedure join it with later work).
//! Keys (handled in `update`): tab/←/→ switch pane, ↑↓ move in the dependency list, enter
//! opens the system under the cursor, esc goes back.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Padding, Paragraph, Wrap};

use super::{fit, latency, pad, percent, spark};
use crate::engine::monitor::SystemHealth;
use crate::model::decision::{Decision, Verdict};
use crate::model::duration::{hms, human};
use crate::model::{HealthState, RtoClock, System};
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
    // The trade-off between failing over and restoring joins the decision when there is one.
    let inner = usize::from(right.width.saturating_sub(4));
    let trade = trade_lines(state, detail.system, inner, now);
    let wanted = layout::DECISION + trade.len() as u16;
    let height = wanted.min(right.height.saturating_sub(4).max(layout::DECISION));
    let [decision_area, deps_area] =
        Layout::vertical([Constraint::Length(height), Constraint::Min(0)]).areas(right);
    overview(frame, left, state, detail, theme, now);
    decision(frame, decision_area, state, detail, theme, now, &trade);
    dependencies(frame, deps_area, state, detail, theme);
}

fn pane<'a>(title: &'a str, focused: bool, theme: &Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .padding(Padding::horizontal(1))
        .border_style(theme.block(focused))
        .title(Span::styled(format!(" {title} "), theme.block(focused)))
}

fn label<'a>(s: &str, theme: &Theme) -> Span<'a> {
    Span::styled(format!("{s:<10}"), theme.muted())
}

fn overview(frame: &mut Frame, area: Rect, state: &State, detail: Detail, theme: &Theme, now: DateTime<Utc>) {
    let Some(system) = state.estate.systems().get(detail.system) else { return };
    let allowed = state.estate.tiers.get(system.tier);
    let rpo = state.rpo(detail.system, now);
    let allowance = |own, tier| {
        if own == tier {
            format!("(tier {}'s objective)", system.tier.number())
        } else {
            format!("(tier {} allows {})", system.tier.number(), human(tier))
        }
    };
    let waves = state.estate.recovery_waves().unwrap_or_default();
    let wave = waves.iter().position(|w| w.contains(&detail.system));
    let inner = usize::from(area.width.saturating_sub(4));

    let mut lines = vec![
        Line::from(vec![
            label("RTO", theme),
            Span::styled(format!("{:<7}", human(system.objective.rto)), theme.text()),
            Span::styled(allowance(system.objective.rto, allowed.rto), theme.muted()),
        ]),
        Line::from(vec![
            label("RPO", theme),
            Span::styled(format!("{:<7}", human(system.objective.rpo)), theme.text()),
            Span::styled(allowance(system.objective.rpo, allowed.rpo), theme.muted()),
        ]),
    ];
    lines.extend(health_lines(state.health_info(detail.system), system, theme, now, inner));
    if state.mode == crate::tui::state::Mode::Demo
        && let Some(fault) = state.faults.get(detail.system).filter(|f| !f.is_healthy())
    {
        lines.push(Line::from(vec![
            label("simulated", theme),
            Span::styled(format!("⚡ {fault}"), theme.warning()),
        ]));
    }
    lines.push(Line::from(vec![
        label("recovery", theme),
        Span::styled(text::rpo_cell(&rpo), theme.rpo(&rpo)),
    ]));
    if let (Some(r), Some(rpo)) = (
        state.health_info(detail.system).and_then(|h| h.replication.as_ref()),
        state.failover_rpo(detail.system, now),
    ) {
        let read = match r.lag(now) {
            crate::model::replication::Lag::Known { read_at, .. } => {
                format!(" · read {}", read_at.with_timezone(&state.local_offset).format("%H:%M:%S"))
            }
            crate::model::replication::Lag::Unknown { why } => format!(" · {why}"),
        };
        lines.push(Line::from(vec![
            label("lag", theme),
            Span::styled(
                fit(&format!("{}{read}", rpo.cell()), inner.saturating_sub(10)),
                theme.severity(rpo.severity()),
            ),
        ]));
    }
    lines.push(Line::from(vec![
        label("order", theme),
        Span::styled(
            match wave {
                Some(w) => format!("wave {} of {}", w + 1, waves.len()),
                None => "—".to_owned(),
            },
            theme.text(),
        ),
    ]));
    lines.push(Line::from(vec![label("standby", theme), Span::styled(system.tier.standby(), theme.muted())]));
    lines.extend(testing_lines(state, &system.name, system.objective.rto, theme, now));
    lines.extend(backup_lines(state, detail.system, theme, now, inner));
    if let Some(h) = state.health_info(detail.system) {
        lines.push(Line::default());
        lines.extend(history_lines(h, theme, inner));
    }
    if let Some(description) = &system.description {
        lines.push(Line::default());
        lines.push(Line::from(Span::styled(description.clone(), theme.text())));
    }
    let block = pane("OVERVIEW", detail.pane == DetailPane::Overview, theme);
    frame.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), area);
}

/// The system in the testing programme (next due, last tested, the restore's real RTO) and the
/// corrective actions against it.
fn testing_lines<'a>(
    state: &State,
    system: &str,
    rto: std::time::Duration,
    theme: &Theme,
    now: DateTime<Utc>,
) -> Vec<Line<'a>> {
    use crate::model::programme::Due;
    let mut lines = Vec::new();
    match &state.ops.programme {
        Some(Ok(view)) => {
            if let Some(p) = view.system(system)
                && let Some(next) = p.next()
            {
                let style = match p.due {
                    Due::Ok => theme.ok(),
                    Due::DueSoon => theme.warning(),
                    Due::Overdue => theme.danger(),
                };
                let when = match (&next.last, next.due) {
                    (None, _) => "never tested".to_owned(),
                    (Some(_), Due::Overdue) => {
                        format!("due since {}", crate::model::backup::when(next.next_due))
                    }
                    (Some(_), _) => format!("due {}", crate::model::backup::when(next.next_due)),
                };
                lines.push(Line::from(vec![
                    label("tests", theme),
                    Span::styled(format!("{} {} ({when})", p.due.name(), next.test.name()), style),
                ]));
                if let Some(last) = p.last() {
                    lines.push(Line::from(vec![
                        label("last test", theme),
                        Span::styled(
                            format!(
                                "{} {} ago by {}: {}",
                                last.kind.name(),
                                human((now - last.at).to_std().unwrap_or_default()),
                                last.by,
                                last.outcome.name()
                            ),
                            theme.muted(),
                        ),
                    ]));
                }
                if let Some(ms) = p.restore_takes_ms {
                    let over = std::time::Duration::from_millis(ms) > rto;
                    lines.push(Line::from(vec![
                        label("restore", theme),
                        Span::styled(
                            crate::model::programme::restore_takes(ms, rto),
                            if over { theme.danger() } else { theme.muted() },
                        ),
                    ]));
                }
            }
        }
        Some(Err(e)) => lines.push(Line::from(vec![
            label("tests", theme),
            Span::styled(format!("the programme cannot be read: {e}"), theme.warning()),
        ])),
        None => {}
    }
    for a in state.ops.actions.iter().filter(|a| a.action.system.as_deref() == Some(system)) {
        let style = if a.status == crate::model::exercise::ActionStatus::Overdue {
            theme.danger()
        } else {
            theme.warning()
        };
        lines.push(Line::from(vec![
            label("action", theme),
            Span::styled(
                format!(
                    "{} {} due {} ({}): {}",
                    a.action.id,
                    a.status.name(),
                    a.action.due.format("%Y-%m-%d"),
                    a.action.owner,
                    a.action.issue
                ),
                style,
            ),
        ]));
    }
    lines
}

/// Backups shown in the detail: the newest few.
const BACKUPS_SHOWN: usize = 4;

/// The schedule, 3-2-1, deep verification and the newest backups.
fn backup_lines<'a>(
    state: &State,
    system: usize,
    theme: &Theme,
    now: DateTime<Utc>,
    width: usize,
) -> Vec<Line<'a>> {
    let Some(standing) = state.standing(system) else { return Vec::new() };
    let Some(schedule) = standing.schedule else {
        return vec![Line::from(vec![
            label("backups", theme),
            Span::styled("no backup policy", theme.muted()),
        ])];
    };
    let mut lines = Vec::new();
    let style = if schedule.missed { theme.danger() } else { theme.text() };
    lines.push(Line::from(vec![
        label("schedule", theme),
        Span::styled(
            fit(&crate::model::backup::schedule_text(&schedule, now), width.saturating_sub(10)),
            style,
        ),
    ]));
    if let Some(t) = standing.three_two_one {
        let (text, style) = if t.met() {
            (
                format!(
                    "✔ 3-2-1 met: {} copies, {} media, {} offsite{}",
                    t.copies,
                    t.media,
                    t.offsite,
                    if t.immutable > 0 { format!(", {} immutable", t.immutable) } else { String::new() }
                ),
                theme.ok(),
            )
        } else {
            (format!("✖ 3-2-1: {}", t.shortfalls().join(", ")), theme.warning())
        };
        lines.push(Line::from(vec![
            label("copies", theme),
            Span::styled(fit(&text, width.saturating_sub(10)), style),
        ]));
    }
    let deep = match standing.newest_deep_verified {
        Some(t) => {
            (format!("deep-verified {} ago", human((now - t).to_std().unwrap_or_default())), theme.ok())
        }
        None => ("never deep-verified (V runs a restore test)".to_owned(), theme.muted()),
    };
    lines.push(Line::from(vec![
        label("restore", theme),
        Span::styled(fit(&deep.0, width.saturating_sub(10)), deep.1),
    ]));
    let backups = state.backups_of(system);
    if backups.is_empty() {
        lines.push(Line::from(vec![
            label("backups", theme),
            Span::styled("none yet (b backs it up)", theme.muted()),
        ]));
    }
    for (n, b) in backups.iter().take(BACKUPS_SHOWN).enumerate() {
        let m = &b.manifest;
        let (symbol, style) = match (b.verified_at(), b.copies.iter().any(|c| c.error.is_some())) {
            // Not signed by a trusted key: shown, never counted.
            _ if !b.trusted() => ("✖", theme.danger()),
            (_, true) => ("✖", theme.danger()),
            (Some(_), false) => ("✔", theme.ok()),
            (None, false) => ("–", theme.muted()),
        };
        let locations: Vec<&str> = b.copies.iter().map(|c| c.location.as_str()).collect();
        let local = m.started_at.with_timezone(&state.local_offset);
        let when = if (now - m.started_at).num_hours() < 20 {
            local.format("%H:%M").to_string()
        } else {
            local.format("%m-%d %H:%M").to_string()
        };
        let mut text = format!(
            "{symbol} {when} {:<4} {:>8} {}",
            &m.kind.name()[..4.min(m.kind.name().len())],
            crate::model::backup::bytes(m.stored_size),
            locations.join(",")
        );
        if !b.trusted() {
            text.push_str(" UNTRUSTED");
        }
        if b.degraded() {
            let room = width.saturating_sub(10);
            text.push_str(if text.chars().count() + 11 <= room { " ▲ degraded" } else { " ▲" });
        }
        lines.push(Line::from(vec![
            label(if n == 0 { "backups" } else { "" }, theme),
            Span::styled(
                fit(&text, width.saturating_sub(10)),
                if b.degraded() { theme.warning() } else { style },
            ),
        ]));
    }
    if backups.len() > BACKUPS_SHOWN {
        lines.push(Line::from(vec![
            label("", theme),
            Span::styled(format!("and {} older", backups.len() - BACKUPS_SHOWN), theme.muted()),
        ]));
    }
    lines
}

/// The health lines: state and since when, the RTO clock while down, the last probe.
fn health_lines<'a>(
    h: Option<&SystemHealth>,
    system: &System,
    theme: &Theme,
    now: DateTime<Utc>,
    width: usize,
) -> Vec<Line<'a>> {
    let Some(h) = h else {
        return vec![Line::from(vec![
            label("health", theme),
            Span::styled(
                format!("{} {}", HealthState::Unknown.symbol(), HealthState::Unknown.word()),
                theme.unknown(),
            ),
            Span::styled(format!("  {}", text::NO_HEALTH_CHECK), theme.muted()),
        ])];
    };
    let since = h.since.map(|t| format!(" since {}", t.format("%H:%M:%S"))).unwrap_or_default();
    let mut lines = vec![Line::from(vec![
        label("health", theme),
        Span::styled(format!("{} {}{since}", h.state.symbol(), h.state.word()), theme.health(h.state)),
    ])];
    if let Some(detail) = &h.last_detail {
        lines.push(Line::from(vec![
            label("probe", theme),
            Span::styled(fit(detail, width.saturating_sub(10)), theme.muted()),
        ]));
    }
    if let (HealthState::Down, Some(start)) = (h.state, h.outage_start) {
        let rto = RtoClock::new(start, system.objective.rto, now);
        let (text, style) = if rto.breached() {
            let short = format!("{}/{} BREACHED", hms(rto.elapsed), hms(rto.objective));
            let long = format!("{short} by {}", hms(rto.overrun()));
            (if long.chars().count() + 10 <= width { long } else { short }, theme.danger())
        } else {
            (
                format!("{}/{}, {} left", hms(rto.elapsed), hms(rto.objective), hms(rto.remaining())),
                theme.warning(),
            )
        };
        lines.push(Line::from(vec![label("RTO clock", theme), Span::styled(text, style)]));
    }
    lines
}

/// Latency, availability and error rate over the window, each against its threshold.
fn history_lines<'a>(h: &SystemHealth, theme: &Theme, width: usize) -> Vec<Line<'a>> {
    let buckets = h.history.len().min(width.saturating_sub(8)).max(1);
    let recent = &h.history[h.history.len().saturating_sub(buckets)..];
    let t = &h.thresholds;
    let head = |title: &str, limit: String| {
        let gap = width.saturating_sub(title.chars().count() + limit.chars().count()).max(1);
        Line::from(vec![
            Span::styled(title.to_owned(), theme.accent()),
            Span::styled(format!("{}{limit}", " ".repeat(gap)), theme.muted()),
        ])
    };
    let p95: Vec<Option<f64>> = recent.iter().map(|b| b.p95.map(|d| d.as_secs_f64())).collect();
    let top = t.response_time_above.as_secs_f64().max(p95.iter().flatten().copied().fold(0.0, f64::max));
    let slow = h.stats.p95.is_some_and(|p| p > t.response_time_above);
    let availability: Vec<Option<f64>> = recent.iter().map(|b| b.availability).collect();
    let low = h.stats.availability.is_some_and(|a| a < t.availability_below);
    let errors: Vec<Option<f64>> = recent.iter().map(|b| b.error_rate).collect();
    let erroring = h.stats.error_rate.is_some_and(|e| e > t.error_rate_above);
    let style = |bad: bool| if bad { theme.danger() } else { theme.ok() };
    vec![
        head("p95 latency", format!("limit {}", latency(t.response_time_above))),
        Line::from(vec![
            Span::styled(spark(&p95, top), style(slow)),
            Span::styled(format!(" {}", h.stats.p95.map(latency).unwrap_or_else(|| "—".into())), style(slow)),
        ]),
        head("availability", format!("limit {}", percent(Some(t.availability_below)))),
        Line::from(vec![
            Span::styled(spark(&availability, 1.0), style(low)),
            Span::styled(format!(" {}", percent(h.stats.availability)), style(low)),
        ]),
        head("error rate", format!("limit {}", percent(Some(t.error_rate_above)))),
        Line::from(vec![
            Span::styled(spark(&errors, 1.0), style(erroring)),
            Span::styled(format!(" {}", percent(h.stats.error_rate)), style(erroring)),
        ]),
    ]
}

fn verdict_style(theme: &Theme, v: Verdict) -> ratatui::style::Style {
    match v {
        Verdict::FailoverRecommended | Verdict::RestoreRecommended => theme.danger(),
        Verdict::Watch => theme.warning(),
        Verdict::Healthy => theme.ok(),
        Verdict::NoData => theme.muted(),
    }
}

/// The decision panel: verdict, score, every reason measured against its threshold, the RTO
/// budget left and the dependencies' state.
fn decision(
    frame: &mut Frame,
    area: Rect,
    state: &State,
    detail: Detail,
    theme: &Theme,
    now: DateTime<Utc>,
    trade: &[Line<'static>],
) {
    let block = pane("DECISION", false, theme);
    let Some(system) = state.estate.systems().get(detail.system) else { return };
    let Some(h) = state.health_info(detail.system) else {
        let mut lines = vec![Line::from(Span::styled(text::NO_DECISION, theme.muted()))];
        lines.extend(trade.iter().cloned());
        frame.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), area);
        return;
    };
    let d: &Decision = &h.decision;
    let inner = usize::from(area.width.saturating_sub(4));
    // Narrow panes get the same facts in fewer words.
    let narrow = inner < 40;
    let mark = if d.verdict.is_action() { "▶ " } else { "" };
    let verdict = format!("{mark}{}", d.verdict.words().to_uppercase());
    let score = format!("score {} (≥{})", d.score, h.thresholds.failover_at_score);
    let mut lines = if narrow {
        vec![
            Line::from(Span::styled(fit(&verdict, inner), verdict_style(theme, d.verdict))),
            Line::from(Span::styled(score, theme.muted())),
        ]
    } else {
        vec![Line::from(vec![
            Span::styled(verdict, verdict_style(theme, d.verdict)),
            Span::styled(format!("  {score}"), theme.muted()),
        ])]
    };
    if let Some(root) = h.impacted_by {
        let root = state.estate.graph().name(root);
        let text = if narrow {
            format!("impacted by {root}")
        } else {
            format!("impacted by {root}: recover {root} first")
        };
        lines.push(Line::from(Span::styled(fit(&text, inner), theme.warning())));
    }
    for r in &d.reasons {
        let (symbol, style) = if r.failing { ("✖", theme.danger()) } else { ("●", theme.ok()) };
        let points = if r.failing { format!("+{}", r.points) } else { String::new() };
        let name = if narrow { r.signal.short() } else { r.signal.label() };
        let row = format!(
            "{symbol} {} {} {} {points}",
            pad(name, if narrow { 6 } else { 12 }),
            pad(&r.measured_text(), 6),
            pad(&r.threshold_text(), 7)
        );
        lines.push(Line::from(Span::styled(fit(&row, inner), style)));
    }
    if let Some(r) = &d.immediate {
        let text = if narrow {
            format!("at once: {} {}", r.signal.short(), r.threshold_text())
        } else {
            format!("at once: {}", r.text())
        };
        lines.push(Line::from(Span::styled(fit(&text, inner), theme.danger())));
    }
    match (h.state, h.outage_start) {
        (HealthState::Down, Some(start)) => {
            let rto = RtoClock::new(start, system.objective.rto, now);
            let left = if rto.breached() { format!("-{}", hms(rto.overrun())) } else { hms(rto.remaining()) };
            let style = if rto.breached() { theme.danger() } else { theme.warning() };
            let text = if narrow {
                format!("down {} · RTO left {left}", start.format("%H:%M"))
            } else {
                format!("down since {} · RTO left {left}", start.format("%H:%M:%S"))
            };
            lines.push(Line::from(Span::styled(fit(&text, inner), style)));
        }
        _ => lines.push(Line::from(Span::styled(
            fit(&format!("RTO budget {} (not down)", human(system.objective.rto)), inner),
            theme.muted(),
        ))),
    }
    let deps = state.estate.graph().depends_on(detail.system);
    let mut spans = vec![Span::styled("needs", theme.muted())];
    if deps.is_empty() {
        spans.push(Span::styled(" —", theme.muted()));
    }
    for &dep in deps {
        let s = state.health(dep);
        spans.push(Span::styled(
            format!(" {} {}", s.symbol(), state.estate.graph().name(dep)),
            theme.health(s),
        ));
    }
    lines.push(Line::from(spans));
    lines.extend(trade.iter().cloned());
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// The trade-off, wrapped to the panel: what failing over now loses and how soon it is back,
/// against restoring the newest verified backup, and which is better (fewer words when narrow).
fn trade_lines(state: &State, system: usize, inner: usize, now: DateTime<Utc>) -> Vec<Line<'static>> {
    use crate::model::replication::Choice;
    let Some(t) = state.trade_off(system, now) else { return Vec::new() };
    let theme = &state.theme;
    let style_of = |loss_ok: Option<bool>| match loss_ok {
        Some(true) => theme.ok(),
        Some(false) => theme.danger(),
        None => theme.warning(),
    };
    let within = |c: Choice| t.loss(c).map(|l| l <= t.objective);
    let rows: Vec<(String, ratatui::style::Style)> = if inner < 40 {
        let short = t.short_lines();
        let mut styles = Vec::new();
        if t.failover.is_some() {
            styles.push(style_of(within(Choice::Failover)));
        }
        if t.restore.is_some() {
            styles.push(style_of(within(Choice::Restore)));
        }
        short
            .into_iter()
            .enumerate()
            .map(|(i, l)| (l, styles.get(i).copied().unwrap_or_else(|| theme.accent())))
            .collect()
    } else {
        let mut rows = Vec::new();
        if let Some(l) = t.failover_line() {
            rows.push((l, style_of(within(Choice::Failover))));
        }
        if let Some(l) = t.restore_line() {
            rows.push((l, style_of(within(Choice::Restore))));
        }
        rows.push((t.verdict_line(), theme.accent()));
        rows
    };
    rows.into_iter()
        .flat_map(|(text, style)| {
            layout::wrap_indented(&text, inner).into_iter().map(move |l| Line::from(Span::styled(l, style)))
        })
        .collect()
}

fn dependencies(frame: &mut Frame, area: Rect, state: &State, detail: Detail, theme: &Theme) {
    let (needs, impacts) = dependency_list(state, detail.system);
    let focused = detail.pane == DetailPane::Dependencies;
    let inner_width = usize::from(area.width.saturating_sub(4));
    let name_width = inner_width.saturating_sub(14).clamp(4, 24);
    let mut lines: Vec<Line> = Vec::new();
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
    let rows = usize::from(area.height.saturating_sub(2)).max(1);
    let scroll = layout::scroll_to(cursor_line, 0, rows);
    let block = pane("DEPENDENCIES", focused, theme);
    frame.render_widget(Paragraph::new(lines).block(block).scroll((scroll as u16, 0)), area);
}
