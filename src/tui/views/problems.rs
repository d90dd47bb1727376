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
use ratatui::widgets::{Block, Borders, Clear, Padding, Paragraph};

use crate::tui::layout;
use crate::tui::theme::Theme;

pub fn render(
    frame: &mut Frame,
    area: Rect,
    title: &str,
    text: &str,
    scroll: usize,
    close: &str,
    theme: &Theme,
) {
    let width = layout::inner_width(layout::problems_box(area, usize::from(area.height)));
    let wrapped = layout::wrap_indented(text, width);
    let rect = layout::problems_box(area, wrapped.len());
    let max = layout::max_scroll(rect, wrapped.len());
    let scroll = scroll.min(max);
    let lines: Vec<Line> = wrapped.into_iter().map(|l| Line::from(Span::styled(l, theme.text()))).collect();
    let more = if scroll < max { "↓ more · " } else { "" };
    let block = Block::default()
        .borders(Borders::ALL)
        .padding(Padding::horizontal(1))
        .border_style(theme.danger())
        .title(Span::styled(format!(" {title} "), theme.danger()))
        .title_bottom(
            Line::from(Span::styled(format!(" {more}{close} closes "), theme.muted())).right_aligned(),
        );
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(lines).block(block).scroll((scroll as u16, 0)), rect);
}
