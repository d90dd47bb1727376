//! `:`: the command palette, with suggestions as you type.
//!
//! ```text
//! ┌ COMMAND · tab completes · ⏎ runs · esc closes ───────────────┐
//! │ : sys▏                                                        │
//! │ ▸ system NAME — open a system                                 │
//! └───────────────────────────────────────────────────────────────┘
//! ```
//! Keys (handled in `update`): typing edits, tab completes, ↑↓ choose a suggestion, enter
//! runs, esc closes.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::{fit, footer::input_spans, pad};
use crate::tui::layout;
use crate::tui::palette::suggestions;
use crate::tui::state::{State, TextInput};
use crate::tui::text;
use crate::tui::theme::Theme;

const SHOWN: usize = 8;

pub fn render(
    frame: &mut Frame,
    area: Rect,
    state: &State,
    input: &TextInput,
    selected: usize,
    error: Option<&str>,
    theme: &Theme,
) {
    let offers = suggestions(&input.text, state);
    let selected = selected.min(offers.len().saturating_sub(1));
    let mut lines = Vec::new();
    let mut first = vec![Span::styled(" : ", theme.accent())];
    first.extend(input_spans(input, theme));
    lines.push(Line::from(first));
    if let Some(e) = error {
        lines.push(Line::from(Span::styled(format!(" ✖ {e}"), theme.danger())));
    }
    let inner = usize::from(area.width.saturating_sub(6));
    let start = selected.saturating_sub(SHOWN - 1);
    let column = offers.iter().map(|s| s.line.trim_end().chars().count()).max().unwrap_or(0).min(inner / 2);
    for (i, s) in offers.iter().enumerate().skip(start).take(SHOWN) {
        let text = fit(&format!("{}  {}", pad(s.line.trim_end(), column), s.description), inner);
        let line = if i == selected {
            Line::from(vec![Span::styled(" ▸ ", theme.accent()), Span::styled(text, theme.selection())])
        } else {
            Line::from(vec![Span::raw("   "), Span::styled(text, theme.muted())])
        };
        lines.push(line);
    }
    let height = (lines.len() as u16 + 2).min(area.height.saturating_sub(layout::FOOTER));
    let rect = Rect {
        x: area.x,
        y: area.y + area.height.saturating_sub(height + layout::FOOTER),
        width: area.width,
        height,
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.block(true))
        .title(Span::styled(text::PALETTE_TITLE, theme.accent()));
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}
