//! `?`: every key (from the keymap), every palette command and the filter's words.
//!
//! ```text
//! ┌ HELP · esc closes ───────────────────────────────────┐
//! │ KEYS                                                  │
//! │   ↑ k            move up                              │
//! │   ...                                                 │
//! │ COMMANDS  (press : then type)                         │
//! │   system NAME    open a system                        │
//! │ FILTER  (press / then type)                           │
//! └───────────────────────────────────────────────────────┘
//! ```
//! Keys (handled in `update`): ↑↓ page up/down scroll, esc / ? / q close.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::{layout, pad};
use crate::tui::palette;
use crate::tui::state::State;
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, state: &State, scroll: usize, theme: &Theme) {
    let mut lines = vec![Line::from(Span::styled(" KEYS", theme.accent()))];
    for (keys, what) in state.keymap.help() {
        lines.push(Line::from(vec![
            Span::styled(format!("   {}", pad(&keys, 20)), theme.text()),
            Span::styled(what, theme.muted()),
        ]));
    }
    lines.push(Line::from(vec![
        Span::styled(format!("   {}", pad("ctrl-c", 20)), theme.text()),
        Span::styled("quit, always", theme.muted()),
    ]));
    lines.push(Line::default());
    lines.push(Line::from(Span::styled(" COMMANDS  (press : then type; tab completes)", theme.accent())));
    for (usage, what) in palette::reference() {
        lines.push(Line::from(vec![
            Span::styled(format!("   {}", pad(usage, 20)), theme.text()),
            Span::styled(what, theme.muted()),
        ]));
    }
    lines.push(Line::default());
    lines.push(Line::from(Span::styled(" FILTER  (press / then type)", theme.accent())));
    for (words, what) in [
        ("api", "names containing \"api\""),
        ("1  t1  tier:1", "tier 1 (several tiers widen: \"1 2\")"),
        ("down degraded", "health: down, degraded, healthy, unknown"),
        ("breached never", "RPO: breached, at-risk, never, ok"),
        ("1 down", "words of different kinds narrow: tier 1 and down"),
    ] {
        lines.push(Line::from(vec![
            Span::styled(format!("   {}", pad(words, 20)), theme.text()),
            Span::styled(what, theme.muted()),
        ]));
    }
    let width = 78.min(area.width.saturating_sub(4));
    let height = (lines.len() as u16 + 2).min(area.height.saturating_sub(2));
    let rect = layout::centered(area, width, height);
    let inner_rows = usize::from(height.saturating_sub(2));
    let scroll = scroll.min(lines.len().saturating_sub(inner_rows));
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.block(true))
        .title(Span::styled(" HELP · esc closes · ↑↓ scroll ", theme.accent()));
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(lines).block(block).scroll((scroll as u16, 0)), rect);
}
