//! The risk register: the residual 5x5 heat map (likelihood by impact; each cell with its
//! count and band symbol as well as its colour) beside the list of risks, and the selected
//! risk's detail.
//!
//! ```text
//!  RISK REGISTER · 5 risks · residual · 0 high or critical · 1 review overdue
//!  likelihood \ impact   1    2    3    4    5     ▸ R-01 Loss of the primary…   6 ▲
//!  5 almost certain      ▲    ◆    ✖    ✖    ✖       R-02 Ransomware encrypts…   8 ▲
//!  4 likely              ○    ▲    ◆    ✖    ✖       R-03 A faulty release…      6 ▲
//!  3 possible            ○    ▲    ▲    ◆    ✖
//!  2 unlikely            ○   1 ○  2 ▲  1 ▲   ◆
//!  1 rare                ○    ○   1 ○   ○    ▲
//! ┌ R-02 Ransomware encrypts servers and file shares · cyber · owner carmen ─────┐
//! │ inherent 15 ✖ critical (3×5) → residual 8 ▲ medium (2×4) · mitigate          │
//! └──────────────────────────────────────────────────────────────────────────────┘
//! ```
//! Keys (handled in `update`): ↑↓ select a risk, esc goes back.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Padding, Paragraph, Wrap};

use super::{fit, pad};
use crate::model::plan::{LIKELIHOOD, Score};
use crate::tui::state::State;
use crate::tui::theme::Theme;

const CELL: usize = 5;
const LABEL: usize = 18;
/// The grid's width: the likelihood labels and five cells.
const GRID: u16 = (LABEL + 5 * CELL + 2) as u16;

fn score_words(s: Score, state: &State) -> String {
    let band = state.plan.bands.of(s.value());
    format!("{} {} {} ({}×{})", s.value(), band.symbol(), band.name(), s.likelihood, s.impact)
}

pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: &Theme, now: DateTime<Utc>) {
    let plan = &state.plan;
    if plan.risks.is_empty() {
        frame.render_widget(
            Paragraph::new(vec![
                Line::from(Span::styled(" RISK REGISTER", theme.accent())),
                Line::from(Span::styled(
                    "  no risks are registered: add [[risks]] to the config (docs/plan.md)",
                    theme.muted(),
                )),
            ]),
            area,
        );
        return;
    }
    let today = now.date_naive();
    let selected = state.risk_selected.min(plan.risks.len() - 1);
    let high = plan
        .risks
        .iter()
        .filter(|r| plan.bands.of(r.residual.value()) >= crate::model::plan::Band::High)
        .count();
    let overdue = plan.overdue_reviews(today).count();
    let [title, top, detail] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(7), Constraint::Min(0)]).areas(area);
    let mut head = vec![
        Span::styled(" RISK REGISTER · ", theme.accent()),
        Span::styled(format!("{} risks · residual · ", plan.risks.len()), theme.muted()),
        Span::styled(format!("{high} high or critical"), if high > 0 { theme.danger() } else { theme.ok() }),
    ];
    if overdue > 0 {
        head.push(Span::styled(format!(" · {overdue} review overdue"), theme.warning()));
    }
    frame.render_widget(Paragraph::new(Line::from(head)), title);

    let [grid_area, list_area] =
        Layout::horizontal([Constraint::Length(GRID), Constraint::Min(0)]).areas(top);
    let grid = plan.heat_map(true);
    let picked = plan.risks[selected].residual;
    let mut lines = vec![Line::from(vec![
        Span::styled(pad(" likelihood\\impact", LABEL), theme.muted()),
        Span::styled((1..=5).map(|i| format!("{:^CELL$}", i)).collect::<String>(), theme.muted()),
    ])];
    for l in (0..5).rev() {
        let mut spans =
            vec![Span::styled(pad(&format!(" {} {}", l + 1, LIKELIHOOD[l]), LABEL), theme.muted())];
        for (i, cell) in grid[l].iter().enumerate() {
            let band = plan.bands.of(((l + 1) * (i + 1)) as u8);
            let text = if cell.is_empty() {
                format!("{:^CELL$}", band.symbol())
            } else {
                format!("{:^CELL$}", format!("{} {}", cell.len(), band.symbol()))
            };
            let mut style = if cell.is_empty() { theme.band_text(band) } else { theme.band(band) };
            if usize::from(picked.likelihood) == l + 1 && usize::from(picked.impact) == i + 1 {
                style = style.add_modifier(Modifier::UNDERLINED);
            }
            spans.push(Span::styled(text, style));
        }
        lines.push(Line::from(spans));
    }
    lines.push(Line::from(Span::styled(" impact: 1 insignificant … 5 catastrophic", theme.muted())));
    frame.render_widget(Paragraph::new(lines), grid_area);

    let rows = usize::from(list_area.height).max(1);
    let scroll = crate::tui::layout::scroll_to(selected, selected.saturating_sub(rows - 1), rows);
    let width = usize::from(list_area.width);
    let items: Vec<Line> = plan
        .risks
        .iter()
        .enumerate()
        .skip(scroll)
        .take(rows)
        .map(|(i, r)| {
            let band = plan.bands.of(r.residual.value());
            let score = format!(" {:>2} {}", r.residual.value(), band.symbol());
            let room = width.saturating_sub(2 + 1 + score.chars().count());
            let mut spans = vec![
                Span::styled(if i == selected { "▸ " } else { "  " }, theme.accent()),
                Span::styled(pad(&format!("{} {}", r.id, r.name), room), theme.text()),
                Span::styled(score, theme.band_text(band)),
            ];
            if i == selected {
                spans = spans.into_iter().map(|s| s.patch_style(theme.selection())).collect();
            }
            Line::from(spans)
        })
        .collect();
    frame.render_widget(Paragraph::new(items), list_area);

    let r = &plan.risks[selected];
    let mut title = format!(" {} {} · {} ", r.id, r.name, r.kind.name());
    if let Some(o) = &r.owner {
        title.push_str(&format!("· owner {o} "));
    }
    let row = |label: &str, value: String, style| {
        Line::from(vec![Span::styled(pad(label, 12), theme.muted()), Span::styled(value, style)])
    };
    let band = plan.bands.of(r.residual.value());
    let mut text = vec![row(
        "score",
        format!("inherent {} → residual {}", score_words(r.inherent, state), score_words(r.residual, state)),
        theme.band_text(band),
    )];
    text.push(row("treatment", r.treatment.name().to_owned(), theme.text()));
    if let Some(d) = &r.description {
        text.push(row("scenario", d.clone(), theme.text()));
    }
    if !r.mitigations.is_empty() {
        text.push(row("mitigations", r.mitigations.join("; "), theme.text()));
    }
    let affects: Vec<String> = r.systems.iter().chain(&r.sites).chain(&r.regions).cloned().collect();
    if !affects.is_empty() {
        text.push(row("affects", affects.join(", "), theme.text()));
    }
    let exposed = plan.exposed(r);
    if !exposed.is_empty() {
        text.push(row(
            "no standby",
            format!("{} if it strikes (nothing elsewhere to run on)", exposed.join(", ")),
            theme.danger(),
        ));
    }
    let overdue = r.review_overdue(today);
    text.push(row(
        "review",
        if overdue {
            format!("OVERDUE since {}", r.review.format("%Y-%m-%d"))
        } else {
            format!("by {}", r.review.format("%Y-%m-%d"))
        },
        if overdue { theme.warning() } else { theme.text() },
    ));
    frame.render_widget(
        Paragraph::new(text).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(theme.block(false))
                .title(Span::styled(fit(&title, usize::from(detail.width.saturating_sub(4))), theme.accent()))
                .padding(Padding::horizontal(1)),
        ),
        detail,
    );
}
