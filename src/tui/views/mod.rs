//! Views: pure functions of the state, the theme and `now`. Each draws one part of the screen.
//!
//! ```text
//!  header     mode, operator, time, counts                      (2 lines)
//!  body       dashboard | system detail | audit log
//!  footer     key hints from the keymap, or a message           (1 line)
//!  overlays   help, command palette, configuration problems
//! ```

pub mod audit;
pub mod comms;
pub mod dashboard;
pub mod detail;
pub mod exercise;
pub mod footer;
pub mod gate;
pub mod header;
pub mod help;
pub mod incident;
pub mod jobs;
pub mod palette;
pub mod problems;
pub mod processes;
pub mod risks;

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

use super::layout;
use super::state::{Overlay, Screen, State};
use super::text;
use super::theme::Theme;
use crate::config::keys::KeyCommand;

pub fn render(frame: &mut Frame, state: &State, theme: &Theme, now: DateTime<Utc>) {
    draw(frame, state, theme, now);
    // A theme with a background of its own (light) paints it wherever nothing else did, so it
    // reads the same on a dark terminal.
    if let Some(bg) = theme.background() {
        for cell in frame.buffer_mut().content.iter_mut() {
            if cell.bg == ratatui::style::Color::Reset {
                cell.bg = bg;
            }
        }
    }
}

fn draw(frame: &mut Frame, state: &State, theme: &Theme, now: DateTime<Utc>) {
    let area = frame.area();
    if layout::too_small(area.width, area.height) {
        too_small(frame, area, theme);
        return;
    }
    header::render(frame, layout::header(area), state, theme, now);
    let body = layout::body(area);
    match state.screen {
        Screen::Dashboard => dashboard::render(frame, body, state, theme, now),
        Screen::Detail(d) => detail::render(frame, body, state, d, theme, now),
        Screen::Audit => audit::render(frame, body, state, theme),
        Screen::Jobs => jobs::render(frame, body, state, theme),
        Screen::Incident => incident::render(frame, body, state, theme, now),
        Screen::Comms => comms::render(frame, body, state, theme, now),
        Screen::Exercise => exercise::render(frame, body, state, theme, now),
        Screen::Processes => processes::render(frame, body, state, theme, now),
        Screen::Risks => risks::render(frame, body, state, theme, now),
    }
    footer::render(frame, layout::footer(area), state, theme, now);
    match &state.overlay {
        Some(Overlay::Help { scroll }) => help::render(frame, area, state, *scroll, theme),
        Some(Overlay::Palette { input, selected, error }) => {
            palette::render(frame, area, state, input, *selected, error.as_deref(), theme)
        }
        Some(Overlay::Problems { title, text, scroll }) => {
            let close = state.keymap.first_key(KeyCommand::Back).unwrap_or_else(|| "esc".into());
            problems::render(frame, area, title, text, *scroll, &close, theme)
        }
        Some(Overlay::Gate(gate)) => gate::render(frame, area, gate, theme),
        Some(Overlay::ConfirmQuit { running }) => gate::confirm_quit(frame, area, *running, theme),
        Some(Overlay::Manual { title, instruction, focus, .. }) => {
            gate::manual(frame, area, title, instruction, *focus, theme)
        }
        None => {}
    }
}

fn too_small(frame: &mut Frame, area: Rect, theme: &Theme) {
    frame.render_widget(Clear, area);
    let lines = vec![
        Line::from(Span::styled(text::TOO_SMALL, theme.warning())),
        Line::from(format!(
            "It is {}x{}; it needs at least {}x{}.",
            area.width,
            area.height,
            layout::MIN_WIDTH,
            layout::MIN_HEIGHT
        )),
        Line::from(Span::styled("Enlarge the window or make the font smaller.", theme.muted())),
    ];
    let height = (lines.len() as u16).min(area.height);
    let y = area.y + area.height.saturating_sub(height) / 2;
    let rect = Rect { x: area.x, y, width: area.width, height };
    frame.render_widget(Paragraph::new(lines).centered().wrap(Wrap { trim: true }), rect);
}

/// Cut `s` to `width` characters, ending in `…` when cut.
pub fn fit(s: &str, width: usize) -> String {
    let count = s.chars().count();
    if count <= width {
        return s.to_owned();
    }
    if width == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(width - 1).collect();
    out.push('…');
    out
}

/// `s` cut or padded with spaces to exactly `width` characters.
pub fn pad(s: &str, width: usize) -> String {
    let fitted = fit(s, width);
    let n = fitted.chars().count();
    format!("{fitted}{}", " ".repeat(width.saturating_sub(n)))
}

/// A sparkline of `values` (fractions of `top`; `None` where there is no data, drawn `·`).
pub fn spark(values: &[Option<f64>], top: f64) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    values
        .iter()
        .map(|v| match v {
            None => '·',
            Some(x) if top <= 0.0 => {
                if *x > 0.0 {
                    '█'
                } else {
                    '▁'
                }
            }
            Some(x) => BARS[((x / top).clamp(0.0, 1.0) * 7.0).round() as usize],
        })
        .collect()
}

/// `310ms`, `6.2s`
pub fn latency(d: std::time::Duration) -> String {
    if d.as_millis() < 1000 { format!("{}ms", d.as_millis()) } else { format!("{:.1}s", d.as_secs_f64()) }
}

/// `88%`, `99.5%`, `—`
pub fn percent(fraction: Option<f64>) -> String {
    match fraction {
        None => "—".to_owned(),
        Some(f) => {
            let p = f * 100.0;
            if (p - p.round()).abs() < 0.05 { format!("{p:.0}%") } else { format!("{p:.1}%") }
        }
    }
}
