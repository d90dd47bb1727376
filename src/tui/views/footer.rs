//! The footer: the keys that work here (from the keymap), the filter being typed, or a message.
//!
//! ```text
//!  ↑↓ select  ⏎ open  / filter  : command  a audit  ? help  q quit
//!  / api▏   3 of 12 systems   ⏎ keep  esc clear
//! ```
//! Keys: none (the filter's editing keys are handled by `update`).

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::config::keys::KeyCommand;
use crate::tui::state::{DashboardLine, MessageLevel, Overlay, Screen, State, TextInput, dashboard_lines};
use crate::tui::text;
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: &Theme, now: DateTime<Utc>) {
    if let Some(input) = &state.filter_input {
        let shown =
            dashboard_lines(state, now).iter().filter(|l| matches!(l, DashboardLine::System(_))).count();
        let mut spans = vec![Span::styled(" / ", theme.accent())];
        spans.extend(input_spans(input, theme));
        spans.push(Span::styled(
            format!("   {shown} of {} systems   {}", state.estate.systems().len(), text::FILTER_KEYS),
            theme.muted(),
        ));
        frame.render_widget(Paragraph::new(Line::from(spans)), area);
        return;
    }
    match &state.overlay {
        Some(Overlay::Gate(_)) => return hints(frame, area, text::GATE_KEYS, theme),
        Some(Overlay::ConfirmQuit { .. }) => return hints(frame, area, text::CONFIRM_QUIT_KEYS, theme),
        Some(Overlay::Manual { .. }) => return hints(frame, area, text::MANUAL_KEYS, theme),
        _ => {}
    }
    if let Some(message) = state.live_message(now) {
        let style = match message.level {
            MessageLevel::Info => theme.info(),
            MessageLevel::Warning => theme.warning(),
            MessageLevel::Error => theme.danger(),
        };
        frame.render_widget(
            Paragraph::new(Line::from(Span::styled(format!(" {}", message.text), style))),
            area,
        );
        return;
    }
    // An overlay takes the keys, so the footer says what they do there.
    match &state.overlay {
        Some(Overlay::Help { .. }) | Some(Overlay::Problems { .. }) => {
            let keys = state.keymap.hints(&[KeyCommand::Back, KeyCommand::Up, KeyCommand::Down]);
            let pairs: Vec<(String, &str)> = keys
                .into_iter()
                .map(|(k, label)| (k, if label == "back" { "close" } else { "scroll" }))
                .collect();
            return hints(frame, area, &pairs, theme);
        }
        Some(Overlay::Palette { .. }) => return hints(frame, area, text::PALETTE_KEYS, theme),
        _ => {}
    }
    let commands: &[KeyCommand] = match state.screen {
        Screen::Dashboard => &[
            KeyCommand::Up,
            KeyCommand::Down,
            KeyCommand::Open,
            KeyCommand::Filter,
            KeyCommand::Palette,
            KeyCommand::Backup,
            KeyCommand::Jobs,
            KeyCommand::Audit,
            KeyCommand::Help,
            KeyCommand::Quit,
        ],
        Screen::Detail(_) => &[
            KeyCommand::Back,
            KeyCommand::NextPane,
            KeyCommand::Up,
            KeyCommand::Down,
            KeyCommand::Open,
            KeyCommand::Palette,
            KeyCommand::Backup,
            KeyCommand::Restore,
            KeyCommand::Help,
            KeyCommand::Quit,
        ],
        Screen::Audit => {
            &[KeyCommand::Back, KeyCommand::Up, KeyCommand::Down, KeyCommand::Help, KeyCommand::Quit]
        }
        Screen::Incident => &[
            KeyCommand::Back,
            KeyCommand::Palette,
            KeyCommand::Jobs,
            KeyCommand::Comms,
            KeyCommand::Help,
            KeyCommand::Quit,
        ],
        Screen::Exercise => &[
            KeyCommand::Back,
            KeyCommand::Up,
            KeyCommand::Down,
            KeyCommand::NextPane,
            KeyCommand::Acknowledge,
            KeyCommand::Observe,
            KeyCommand::Palette,
            KeyCommand::Help,
            KeyCommand::Quit,
        ],
        Screen::Comms => &[
            KeyCommand::Back,
            KeyCommand::Notify,
            KeyCommand::Palette,
            KeyCommand::Incident,
            KeyCommand::Help,
            KeyCommand::Quit,
        ],
        Screen::Processes => &[
            KeyCommand::Back,
            KeyCommand::Up,
            KeyCommand::Down,
            KeyCommand::Risks,
            KeyCommand::Palette,
            KeyCommand::Help,
            KeyCommand::Quit,
        ],
        Screen::Risks => &[
            KeyCommand::Back,
            KeyCommand::Up,
            KeyCommand::Down,
            KeyCommand::Processes,
            KeyCommand::Palette,
            KeyCommand::Help,
            KeyCommand::Quit,
        ],
        Screen::Jobs => &[
            KeyCommand::Back,
            KeyCommand::Up,
            KeyCommand::Down,
            KeyCommand::Open,
            KeyCommand::CancelJob,
            KeyCommand::Help,
            KeyCommand::Quit,
        ],
    };
    let mut commands = commands.to_vec();
    if state.mode == crate::tui::state::Mode::Demo
        && matches!(state.screen, Screen::Dashboard | Screen::Detail(_))
    {
        // In a demo, breaking things is the point: say how, before help.
        let at = commands.iter().position(|c| *c == KeyCommand::Help).unwrap_or(commands.len());
        commands.insert(at, KeyCommand::Fault);
    }
    hints(frame, area, &state.keymap.hints(&commands), theme);
}

/// The hints that fit, whole: the last two (help, quit, or the overlay's way out) always, then
/// as many from the start as there is room for.
fn hints<K: AsRef<str>, L: AsRef<str>>(frame: &mut Frame, area: Rect, pairs: &[(K, L)], theme: &Theme) {
    let width = |(k, l): &(K, L)| k.as_ref().chars().count() + l.as_ref().chars().count() + 3;
    let keep_last = pairs.len().min(2);
    let (first, last) = pairs.split_at(pairs.len() - keep_last);
    let mut room = usize::from(area.width).saturating_sub(last.iter().map(width).sum());
    let mut shown: Vec<&(K, L)> = Vec::new();
    for pair in first {
        if width(pair) > room {
            break;
        }
        room -= width(pair);
        shown.push(pair);
    }
    shown.extend(last);
    let mut spans = Vec::new();
    for (key, label) in shown {
        spans.push(Span::styled(format!(" {}", key.as_ref()), theme.accent()));
        spans.push(Span::styled(format!(" {} ", label.as_ref()), theme.muted()));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The text of an input with its cursor shown as a reversed cell.
pub fn input_spans<'a>(input: &TextInput, theme: &Theme) -> Vec<Span<'a>> {
    let before: String = input.text.chars().take(input.cursor).collect();
    let at: String = input.text.chars().nth(input.cursor).map(String::from).unwrap_or_else(|| " ".to_owned());
    let after: String = input.text.chars().skip(input.cursor + 1).collect();
    vec![
        Span::styled(before, theme.text()),
        Span::styled(at, theme.cursor()),
        Span::styled(after, theme.text()),
    ]
}
