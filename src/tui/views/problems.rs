//! Text to read before going on: the errors of a configuration that could not be reloaded.
//!
//! ```text
//! ┌ the configuration has errors; the console keeps the one it had ─┐
//! │ error: unknown dependency "databse"                               │
//! │   --> warroom.toml:12:24 · systems[api].depends_on[1]             │
//! └───────────────────────────────────────── esc closes · ↑↓ scroll ─┘
//! ```
//! Keys (handled in `update`): ↑↓ page up/down scroll, esc / enter close.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Padding, Paragraph, Wrap};

use super::layout;
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, title: &str, text: &str, scroll: usize, theme: &Theme) {
    let lines: Vec<Line> =
        text.lines().map(|l| Line::from(Span::styled(l.to_owned(), theme.text()))).collect();
    let width = area.width.saturating_sub(4);
    let height = (lines.len() as u16 + 2).min(area.height.saturating_sub(4)).max(3);
    let rect = layout::centered(area, width, height);
    let inner_rows = usize::from(height.saturating_sub(2));
    let scroll = scroll.min(lines.len().saturating_sub(inner_rows));
    let block = Block::default()
        .borders(Borders::ALL)
        .padding(Padding::horizontal(1))
        .border_style(theme.danger())
        .title(Span::styled(format!(" {title} "), theme.danger()))
        .title_bottom(Line::from(Span::styled(" esc closes · ↑↓ scroll ", theme.muted())).right_aligned());
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines).block(block).wrap(Wrap { trim: false }).scroll((scroll as u16, 0)),
        rect,
    );
}
