//! What the help screen lists, as data: the view draws it, `update` scrolls it.

use crate::config::keys::KeyCommand;

use super::palette;
use super::state::State;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelpRow {
    Heading(&'static str),
    Entry(String, String),
    Blank,
}

pub fn rows(state: &State) -> Vec<HelpRow> {
    let mut rows = vec![HelpRow::Heading("KEYS")];
    for (keys, what) in state.keymap.help() {
        rows.push(HelpRow::Entry(keys, what.to_owned()));
    }
    rows.push(HelpRow::Entry("ctrl-c".into(), "quit, always".into()));
    rows.push(HelpRow::Blank);
    let palette_key = state.keymap.first_key(KeyCommand::Palette).unwrap_or_else(|| ":".into());
    rows.push(HelpRow::Heading("COMMANDS"));
    rows.push(HelpRow::Entry(
        format!("{palette_key} then type"),
        "tab completes, ↑↓ choose, ⏎ runs, esc closes".into(),
    ));
    for (usage, what) in palette::reference() {
        rows.push(HelpRow::Entry(usage.to_owned(), what.to_owned()));
    }
    rows.push(HelpRow::Blank);
    let filter_key = state.keymap.first_key(KeyCommand::Filter).unwrap_or_else(|| "/".into());
    rows.push(HelpRow::Heading("FILTER"));
    rows.push(HelpRow::Entry(format!("{filter_key} then type"), "⏎ keeps the filter, esc clears it".into()));
    for (words, what) in [
        ("api", "names containing \"api\""),
        ("1  t1  tier:1", "tier 1 (several tiers widen: \"1 2\")"),
        ("down degraded", "health: down, degraded, healthy, unknown"),
        ("breached never", "RPO: breached, at-risk, never, ok"),
        ("1 down", "words of different kinds narrow: tier 1 and down"),
    ] {
        rows.push(HelpRow::Entry(words.to_owned(), what.to_owned()));
    }
    rows
}
