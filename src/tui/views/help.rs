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

use super::pad;
use crate::config::keys::KeyCommand;
use crate::tui::help::{HelpRow, rows};
use crate::tui::layout;
use crate::tui::state::State;
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, state: &State, scroll: usize, theme: &Theme) {
    let rows = rows(state);
    // As wide as its longest entry, where the terminal has the room (78 columns at least).
    let entries = rows.iter().filter_map(|r| match r {
        HelpRow::Entry(keys, what) => Some((keys.chars().count(), what.chars().count())),
        _ => None,
    });
    let (keys_width, what_width) = entries.fold((20, 0), |(k, w), (a, b)| (k.max(a), w.max(b)));
    // Narrow, the descriptions keep their room and long keys are shortened.
    let room = usize::from(area.width).saturating_sub(4 + 2 + 3 + 1);
    let keys_width = keys_width.min(34).min(room.saturating_sub(what_width).max(20));
    let wanted = u16::try_from(3 + keys_width + 1 + what_width + 2).unwrap_or(u16::MAX);
    let lines: Vec<Line> = rows
        .into_iter()
        .map(|row| match row {
            HelpRow::Heading(h) => Line::from(Span::styled(format!(" {h}"), theme.accent())),
            HelpRow::Entry(keys, what) => Line::from(vec![
                Span::styled(format!("   {} ", pad(&keys, keys_width)), theme.text()),
                Span::styled(what, theme.muted()),
            ]),
            HelpRow::Blank => Line::default(),
        })
        .collect();
    let rect = layout::help_box(area, lines.len(), wanted);
    let max = layout::max_scroll(rect, lines.len());
    let scroll = scroll.min(max);
    let close = state.keymap.first_key(KeyCommand::Back).unwrap_or_else(|| "esc".into());
    let more = if scroll < max { " · ↓ more" } else { "" };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.block(true))
        .title(Span::styled(format!(" HELP · {close} closes{more} "), theme.accent()));
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(lines).block(block).scroll((scroll as u16, 0)), rect);
}
