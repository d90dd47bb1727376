//! The line being typed: the filter (`/`) and the command palette (`:`).

use super::*;

pub(super) fn on_edit(state: &mut State, edit: Edit, now: DateTime<Utc>) -> Vec<Effect> {
    if let Some(input) = &mut state.filter_input {
        match edit {
            Edit::Submit => state.filter_input = None,
            Edit::Cancel => {
                state.filter_input = None;
                state.filter.clear();
            }
            Edit::Complete | Edit::Previous | Edit::Next => {}
            Edit::Clear => *input = TextInput::default(),
            other => edit_text(input, other),
        }
        if let Some(input) = &state.filter_input {
            state.filter = input.text.trim().to_owned();
        }
        reselect(state, now);
        return Vec::new();
    }
    let offered = match &state.overlay {
        Some(Overlay::Palette { input, .. }) => palette::suggestions(&input.text, state).len(),
        _ => 0,
    };
    let Some(Overlay::Palette { input, selected, error }) = &mut state.overlay else { return Vec::new() };
    match edit {
        Edit::Cancel => state.overlay = None,
        Edit::Clear => {
            *input = TextInput::default();
            *selected = 0;
            *error = None;
        }
        Edit::Next => *selected = (*selected + 1).min(offered.saturating_sub(1)),
        Edit::Previous => *selected = selected.saturating_sub(1),
        Edit::Complete => {
            let text = input.text.clone();
            let suggestions = palette::suggestions(&text, state);
            if let Some(Overlay::Palette { input, selected, error }) = &mut state.overlay
                && let Some(s) = suggestions.get((*selected).min(suggestions.len().saturating_sub(1)))
            {
                *input = TextInput::with(&s.line);
                *selected = 0;
                *error = None;
            }
        }
        Edit::Submit => {
            let text = input.text.clone();
            let chosen = *selected;
            // What was typed; else the suggestion the operator moved to, or a bare command
            // they typed the start of. A mistyped argument is never silently replaced.
            let parsed = palette::parse(&text, state).or_else(|e| {
                palette::suggestions(&text, state)
                    .get(chosen)
                    .filter(|s| chosen > 0 || (!s.line.contains(' ') && s.line.starts_with(text.trim())))
                    .map(|s| palette::parse(&s.line, state))
                    .filter(Result::is_ok)
                    .unwrap_or(Err(e))
            });
            match parsed {
                Ok(action) => {
                    state.overlay = None;
                    return update(state, action, now);
                }
                Err(e) => {
                    if let Some(Overlay::Palette { error, .. }) = &mut state.overlay {
                        *error = Some(e);
                    }
                }
            }
        }
        other => {
            edit_text(input, other);
            *selected = 0;
            *error = None;
        }
    }
    Vec::new()
}

pub(super) fn edit_text(input: &mut TextInput, edit: Edit) {
    let byte =
        |text: &str, chars: usize| text.char_indices().nth(chars).map(|(b, _)| b).unwrap_or(text.len());
    let len = input.text.chars().count();
    match edit {
        Edit::Insert(s) => {
            let at = byte(&input.text, input.cursor);
            input.text.insert_str(at, &s);
            input.cursor += s.chars().count();
        }
        Edit::Backspace if input.cursor > 0 => {
            let at = byte(&input.text, input.cursor - 1);
            input.text.remove(at);
            input.cursor -= 1;
        }
        Edit::Delete if input.cursor < len => {
            let at = byte(&input.text, input.cursor);
            input.text.remove(at);
        }
        Edit::Left => input.cursor = input.cursor.saturating_sub(1),
        Edit::Right => input.cursor = (input.cursor + 1).min(len),
        Edit::Home => input.cursor = 0,
        Edit::End => input.cursor = len,
        _ => {}
    }
}
