//! From what happened to what it means: [`Event`] to [`Action`], given the console's mode
//! (typing text, or navigating with the keymap).

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::action::{Action, Edit, Event, GateKey};
use super::keymap::key_spec;
use super::state::{Overlay, State};

pub fn to_action(state: &State, event: Event) -> Option<Action> {
    match event {
        Event::Resize { width, height } => Some(Action::Resize { width, height }),
        Event::Tick { local_offset } => Some(Action::Tick { local_offset }),
        Event::Paste(text) => {
            if let Some(Overlay::Gate(_)) = &state.overlay {
                return Some(Action::Gate(GateKey::Insert(text.replace(['\n', '\r'], ""))));
            }
            typing(state).then(|| Action::Edit(Edit::Insert(text.replace(['\n', '\r'], " "))))
        }
        Event::Engine(fact) => Some(Action::Engine(fact)),
        Event::Key(key) => key_action(state, &key),
    }
}

/// Is text being typed (the filter or the palette)?
pub fn typing(state: &State) -> bool {
    state.filter_input.is_some() || matches!(state.overlay, Some(Overlay::Palette { .. }))
}

fn key_action(state: &State, key: &KeyEvent) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && matches!(key.code, KeyCode::Char('c')) {
        return Some(Action::Quit);
    }
    // The approval gate takes every key, and never through the keymap: its keys are fixed,
    // so a rebinding cannot make Enter approve by surprise.
    if let Some(Overlay::Gate(_)) = &state.overlay {
        let gate = match key.code {
            KeyCode::Tab | KeyCode::BackTab | KeyCode::Left | KeyCode::Right => GateKey::Toggle,
            KeyCode::Enter => GateKey::Press,
            KeyCode::Esc => GateKey::Cancel,
            KeyCode::Up => GateKey::Up,
            KeyCode::Down => GateKey::Down,
            KeyCode::PageUp => GateKey::PageUp,
            KeyCode::PageDown => GateKey::PageDown,
            KeyCode::Backspace => GateKey::Backspace,
            KeyCode::Char(c) if !ctrl => GateKey::Insert(c.to_string()),
            _ => return None,
        };
        return Some(Action::Gate(gate));
    }
    if let Some(Overlay::Manual { .. }) = &state.overlay {
        use super::action::ManualKey;
        return Some(Action::Manual(match key.code {
            KeyCode::Tab | KeyCode::BackTab | KeyCode::Left | KeyCode::Right => ManualKey::Toggle,
            KeyCode::Enter => ManualKey::Press,
            KeyCode::Esc => ManualKey::Later,
            _ => return None,
        }));
    }
    if let Some(Overlay::ConfirmQuit { .. }) = &state.overlay {
        return Some(match key.code {
            KeyCode::Char('y') | KeyCode::Char('Y') => Action::QuitAnyway,
            _ => Action::Command(crate::config::keys::KeyCommand::Back),
        });
    }
    if typing(state) {
        let edit = match key.code {
            KeyCode::Enter => Edit::Submit,
            KeyCode::Esc => Edit::Cancel,
            KeyCode::Backspace => Edit::Backspace,
            KeyCode::Delete => Edit::Delete,
            KeyCode::Left => Edit::Left,
            KeyCode::Right => Edit::Right,
            KeyCode::Home => Edit::Home,
            KeyCode::End => Edit::End,
            KeyCode::Tab => Edit::Complete,
            KeyCode::Up | KeyCode::BackTab => Edit::Previous,
            KeyCode::Down => Edit::Next,
            KeyCode::Char('u') if ctrl => Edit::Clear,
            KeyCode::Char(c) if !ctrl => Edit::Insert(c.to_string()),
            _ => return None,
        };
        return Some(Action::Edit(edit));
    }
    key_spec(key).and_then(|spec| state.keymap.command(&spec)).map(Action::Command)
}
