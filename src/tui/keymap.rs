//! One keymap: key events to commands, and the footer hints and help generated from it.

use std::collections::HashMap;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::config::keys::{Key, KeyBindings, KeyCommand, KeySpec, NamedKey};

#[derive(Debug, Clone)]
pub struct Keymap {
    bindings: KeyBindings,
    by_key: HashMap<KeySpec, KeyCommand>,
}

impl Keymap {
    pub fn new(bindings: &KeyBindings) -> Keymap {
        let mut by_key = HashMap::new();
        for (&command, specs) in &bindings.bindings {
            for &spec in specs {
                by_key.entry(spec).or_insert(command);
            }
        }
        Keymap { bindings: bindings.clone(), by_key }
    }

    pub fn command(&self, spec: &KeySpec) -> Option<KeyCommand> {
        self.by_key.get(spec).copied()
    }

    pub fn keys(&self, command: KeyCommand) -> &[KeySpec] {
        self.bindings.keys(command)
    }

    /// The first key of `command`, as shown in hints (`⏎`, `q`, `↑`).
    pub fn first_key(&self, command: KeyCommand) -> Option<String> {
        self.keys(command).first().map(|k| k.to_string())
    }

    /// `(keys, label)` for the footer: each command's first key and short label. Up and Down
    /// share one hint (`↑↓ select`).
    pub fn hints(&self, commands: &[KeyCommand]) -> Vec<(String, &'static str)> {
        let mut out = Vec::new();
        for &c in commands {
            if c == KeyCommand::Down && commands.contains(&KeyCommand::Up) {
                continue;
            }
            let key = if c == KeyCommand::Up && commands.contains(&KeyCommand::Down) {
                match (self.first_key(KeyCommand::Up), self.first_key(KeyCommand::Down)) {
                    (Some(u), Some(d)) => Some(format!("{u}{d}")),
                    (u, d) => u.or(d),
                }
            } else {
                self.first_key(c)
            };
            if let Some(k) = key {
                out.push((k, c.hint()));
            }
        }
        out
    }

    /// Every command with all its keys, for the help screen.
    pub fn help(&self) -> Vec<(String, &'static str)> {
        KeyCommand::ALL
            .iter()
            .map(|&c| {
                let keys: Vec<String> = self.keys(c).iter().map(|k| k.to_string()).collect();
                (if keys.is_empty() { "(unbound)".to_owned() } else { keys.join(" ") }, c.description())
            })
            .collect()
    }
}

/// The key of a terminal key event in the config's terms, or `None` for releases and keys
/// that cannot be bound.
pub fn key_spec(event: &KeyEvent) -> Option<KeySpec> {
    if event.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = event.modifiers.contains(KeyModifiers::CONTROL);
    let alt = event.modifiers.contains(KeyModifiers::ALT);
    let key = match event.code {
        KeyCode::Char(c) if ctrl => Key::Char(c.to_ascii_lowercase()),
        KeyCode::Char(c) => Key::Char(c),
        KeyCode::Enter => Key::Named(NamedKey::Enter),
        KeyCode::Esc => Key::Named(NamedKey::Esc),
        KeyCode::Tab if event.modifiers.contains(KeyModifiers::SHIFT) => Key::Named(NamedKey::BackTab),
        KeyCode::Tab => Key::Named(NamedKey::Tab),
        KeyCode::BackTab => Key::Named(NamedKey::BackTab),
        KeyCode::Backspace => Key::Named(NamedKey::Backspace),
        KeyCode::Delete => Key::Named(NamedKey::Delete),
        KeyCode::Insert => Key::Named(NamedKey::Insert),
        KeyCode::Up => Key::Named(NamedKey::Up),
        KeyCode::Down => Key::Named(NamedKey::Down),
        KeyCode::Left => Key::Named(NamedKey::Left),
        KeyCode::Right => Key::Named(NamedKey::Right),
        KeyCode::Home => Key::Named(NamedKey::Home),
        KeyCode::End => Key::Named(NamedKey::End),
        KeyCode::PageUp => Key::Named(NamedKey::PageUp),
        KeyCode::PageDown => Key::Named(NamedKey::PageDown),
        KeyCode::F(n) => Key::Named(NamedKey::F(n)),
        _ => return None,
    };
    Some(KeySpec { key, ctrl, alt })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_keys_map_to_commands() {
        let km = Keymap::new(&KeyBindings::default());
        let key = |code, mods| key_spec(&KeyEvent::new(code, mods)).and_then(|s| km.command(&s));
        assert_eq!(key(KeyCode::Char('j'), KeyModifiers::NONE), Some(KeyCommand::Down));
        assert_eq!(key(KeyCode::Down, KeyModifiers::NONE), Some(KeyCommand::Down));
        assert_eq!(key(KeyCode::Char('G'), KeyModifiers::SHIFT), Some(KeyCommand::Bottom));
        assert_eq!(key(KeyCode::Char('d'), KeyModifiers::CONTROL), Some(KeyCommand::PageDown));
        assert_eq!(key(KeyCode::BackTab, KeyModifiers::SHIFT), Some(KeyCommand::PrevPane));
        assert_eq!(key(KeyCode::Char('x'), KeyModifiers::NONE), None);
    }

    #[test]
    fn hints_come_from_the_bindings() {
        let mut bindings = KeyBindings::default();
        bindings
            .bindings
            .insert(KeyCommand::Quit, vec![KeySpec::parse("ctrl-q").unwrap_or_else(|e| panic!("{e}"))]);
        let km = Keymap::new(&bindings);
        let hints = km.hints(&[KeyCommand::Up, KeyCommand::Down, KeyCommand::Quit]);
        assert_eq!(hints, vec![("↑↓".to_owned(), "select"), ("ctrl-q".to_owned(), "quit")]);
    }
}
