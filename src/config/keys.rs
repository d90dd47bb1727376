//! `[keys]`: the console's key bindings. Each command takes a list of keys, replacing its
//! defaults:
//!
//! ```toml
//! [keys]
//! quit = ["q", "ctrl-q"]
//! filter = ["/", "ctrl-f"]
//! ```
//!
//! Keys are written `q`, `G`, `?`, `enter`, `esc`, `tab`, `shift-tab`, `up`, `pagedown`,
//! `home`, `f5`, `space`, `ctrl-d`, `alt-x`. Ctrl-C always quits and cannot be rebound.

use std::collections::BTreeMap;
use std::fmt;

use toml::Spanned;

use super::diagnostic::{Diagnostic, Report, did_you_mean};

/// What a key can be bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyCommand {
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Top,
    Bottom,
    NextPane,
    PrevPane,
    Open,
    Back,
    Palette,
    Filter,
    Help,
    Dashboard,
    Audit,
    Reload,
    Quit,
    /// Demo: cycle the selected system's simulated fault.
    Fault,
    /// Back the selected system up (through the approval gate).
    Backup,
    /// Quick-verify the selected system's newest backup.
    Verify,
    /// Deep-verify it: a full restore test into a scratch folder.
    DeepVerify,
    /// Restore the selected system's newest verified backup.
    Restore,
    /// Delete what the selected system's retention does not keep.
    Prune,
    /// The jobs screen.
    Jobs,
    /// Cancel the selected job (through the gate).
    CancelJob,
    /// Fail the selected system over (or restore it, without a procedure), through the gate.
    Failover,
    /// The incident screen.
    Incident,
    /// Answer a job waiting at a manual step.
    Manual,
    /// The communications screen: notices, the outbox, what is due.
    Comms,
    /// Send the notice that is due (a preview at the gate first).
    Notify,
    /// The exercise screen: the MSEL (facilitator) or the released injects (players).
    Exercise,
    /// Record an evaluator's observation in the running exercise.
    Observe,
    /// A player acknowledges the selected inject.
    Acknowledge,
    /// The business processes screen.
    Processes,
    /// The risk register's heat map.
    Risks,
}

impl KeyCommand {
    pub const ALL: &'static [KeyCommand] = &[
        KeyCommand::Up,
        KeyCommand::Down,
        KeyCommand::Left,
        KeyCommand::Right,
        KeyCommand::PageUp,
        KeyCommand::PageDown,
        KeyCommand::Top,
        KeyCommand::Bottom,
        KeyCommand::NextPane,
        KeyCommand::PrevPane,
        KeyCommand::Open,
        KeyCommand::Back,
        KeyCommand::Palette,
        KeyCommand::Filter,
        KeyCommand::Help,
        KeyCommand::Dashboard,
        KeyCommand::Audit,
        KeyCommand::Reload,
        KeyCommand::Quit,
        KeyCommand::Fault,
        KeyCommand::Backup,
        KeyCommand::Verify,
        KeyCommand::DeepVerify,
        KeyCommand::Restore,
        KeyCommand::Prune,
        KeyCommand::Jobs,
        KeyCommand::CancelJob,
        KeyCommand::Failover,
        KeyCommand::Incident,
        KeyCommand::Manual,
        KeyCommand::Comms,
        KeyCommand::Notify,
        KeyCommand::Exercise,
        KeyCommand::Observe,
        KeyCommand::Acknowledge,
        KeyCommand::Processes,
        KeyCommand::Risks,
    ];

    /// The name used in `[keys]`.
    pub fn name(self) -> &'static str {
        match self {
            KeyCommand::Up => "up",
            KeyCommand::Down => "down",
            KeyCommand::Left => "left",
            KeyCommand::Right => "right",
            KeyCommand::PageUp => "page_up",
            KeyCommand::PageDown => "page_down",
            KeyCommand::Top => "top",
            KeyCommand::Bottom => "bottom",
            KeyCommand::NextPane => "next_pane",
            KeyCommand::PrevPane => "previous_pane",
            KeyCommand::Open => "open",
            KeyCommand::Back => "back",
            KeyCommand::Palette => "palette",
            KeyCommand::Filter => "filter",
            KeyCommand::Help => "help",
            KeyCommand::Dashboard => "dashboard",
            KeyCommand::Audit => "audit",
            KeyCommand::Reload => "reload",
            KeyCommand::Quit => "quit",
            KeyCommand::Fault => "fault",
            KeyCommand::Backup => "backup",
            KeyCommand::Verify => "verify",
            KeyCommand::DeepVerify => "deep_verify",
            KeyCommand::Restore => "restore",
            KeyCommand::Prune => "prune",
            KeyCommand::Jobs => "jobs",
            KeyCommand::CancelJob => "cancel_job",
            KeyCommand::Failover => "failover",
            KeyCommand::Incident => "incident",
            KeyCommand::Manual => "manual",
            KeyCommand::Comms => "comms",
            KeyCommand::Notify => "notify",
            KeyCommand::Exercise => "exercise",
            KeyCommand::Observe => "observe",
            KeyCommand::Acknowledge => "acknowledge",
            KeyCommand::Processes => "processes",
            KeyCommand::Risks => "risks",
        }
    }

    /// What the command does, for the help screen.
    pub fn description(self) -> &'static str {
        match self {
            KeyCommand::Up => "move up",
            KeyCommand::Down => "move down",
            KeyCommand::Left => "move left / previous pane",
            KeyCommand::Right => "move right / next pane",
            KeyCommand::PageUp => "page up",
            KeyCommand::PageDown => "page down",
            KeyCommand::Top => "go to the top",
            KeyCommand::Bottom => "go to the bottom",
            KeyCommand::NextPane => "next pane",
            KeyCommand::PrevPane => "previous pane",
            KeyCommand::Open => "open the selection",
            KeyCommand::Back => "back out / close",
            KeyCommand::Palette => "command palette",
            KeyCommand::Filter => "filter by name, tier or state",
            KeyCommand::Help => "help",
            KeyCommand::Dashboard => "the tier dashboard",
            KeyCommand::Audit => "the audit log",
            KeyCommand::Reload => "re-read the configuration",
            KeyCommand::Quit => "quit",
            KeyCommand::Fault => "demo: cycle the selected system's simulated fault",
            KeyCommand::Backup => "back the selected system up (asks first)",
            KeyCommand::Verify => "verify its newest backup: every copy's size and SHA-256",
            KeyCommand::DeepVerify => "deep-verify it: restore into a scratch folder and check every file",
            KeyCommand::Restore => "restore its newest verified backup (asks first)",
            KeyCommand::Prune => "delete the backups its retention does not keep (asks first)",
            KeyCommand::Jobs => "the jobs: backups, verifications, restores, with progress",
            KeyCommand::CancelJob => "cancel the selected job (asks first)",
            KeyCommand::Failover => {
                "fail the selected system over, or restore it if it has no procedure (asks first)"
            }
            KeyCommand::Incident => "the incident: recovery plan, timeline, notes",
            KeyCommand::Manual => "answer a job waiting at a manual step",
            KeyCommand::Comms => {
                "communications: notices sent, each recipient's delivery, the next update due"
            }
            KeyCommand::Notify => {
                "send the stakeholder notice that is due (the gate shows every recipient first)"
            }
            KeyCommand::Exercise => {
                "the exercise: injects, countdowns, what the players did (tab: the players' view)"
            }
            KeyCommand::Observe => {
                "record an observation in the exercise (+ strength, - area for improvement)"
            }
            KeyCommand::Acknowledge => "acknowledge the selected inject (players)",
            KeyCommand::Processes => {
                "business processes: their systems' live state, the RTO budget left, what outage hurts them"
            }
            KeyCommand::Risks => {
                "the risk register: a 5x5 heat map of likelihood by impact, each risk's detail"
            }
        }
    }

    /// A short label for the footer.
    pub fn hint(self) -> &'static str {
        match self {
            KeyCommand::Up | KeyCommand::Down => "select",
            KeyCommand::Open => "open",
            KeyCommand::Back => "back",
            KeyCommand::Palette => "command",
            KeyCommand::Filter => "filter",
            KeyCommand::Help => "help",
            KeyCommand::Quit => "quit",
            KeyCommand::Audit => "audit",
            KeyCommand::NextPane | KeyCommand::PrevPane => "pane",
            KeyCommand::CancelJob => "cancel",
            KeyCommand::DeepVerify => "deep verify",
            other => other.name(),
        }
    }

    pub fn from_name(name: &str) -> Option<KeyCommand> {
        KeyCommand::ALL.iter().copied().find(|c| c.name() == name)
    }

    pub fn default_keys(self) -> &'static [&'static str] {
        match self {
            KeyCommand::Up => &["up", "k"],
            KeyCommand::Down => &["down", "j"],
            KeyCommand::Left => &["left", "h"],
            KeyCommand::Right => &["right", "l"],
            KeyCommand::PageUp => &["pageup", "ctrl-u"],
            KeyCommand::PageDown => &["pagedown", "ctrl-d"],
            KeyCommand::Top => &["home", "g"],
            KeyCommand::Bottom => &["end", "G"],
            KeyCommand::NextPane => &["tab"],
            KeyCommand::PrevPane => &["shift-tab"],
            KeyCommand::Open => &["enter"],
            KeyCommand::Back => &["esc"],
            KeyCommand::Palette => &[":"],
            KeyCommand::Filter => &["/"],
            KeyCommand::Help => &["?"],
            KeyCommand::Dashboard => &["d"],
            KeyCommand::Audit => &["a"],
            KeyCommand::Reload => &["ctrl-r"],
            KeyCommand::Quit => &["q"],
            KeyCommand::Fault => &["F"],
            KeyCommand::Backup => &["b"],
            KeyCommand::Verify => &["v"],
            KeyCommand::DeepVerify => &["V"],
            KeyCommand::Restore => &["R"],
            KeyCommand::Prune => &["P"],
            KeyCommand::Jobs => &["J"],
            KeyCommand::CancelJob => &["c"],
            KeyCommand::Failover => &["f"],
            KeyCommand::Incident => &["I"],
            KeyCommand::Manual => &["m"],
            KeyCommand::Comms => &["C"],
            KeyCommand::Notify => &["n"],
            KeyCommand::Exercise => &["X"],
            KeyCommand::Observe => &["o"],
            KeyCommand::Acknowledge => &["A"],
            KeyCommand::Processes => &["p"],
            KeyCommand::Risks => &["r"],
        }
    }
}

impl fmt::Display for KeyCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A key that is not a character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NamedKey {
    Enter,
    Esc,
    Tab,
    BackTab,
    Backspace,
    Delete,
    Insert,
    Up,
    Down,
    Left,
    Right,
    Home,
    End,
    PageUp,
    PageDown,
    F(u8),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    Char(char),
    Named(NamedKey),
}

/// A key with its modifiers. Shift is part of the character (`G`), or `shift-tab`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeySpec {
    pub key: Key,
    pub ctrl: bool,
    pub alt: bool,
}

impl KeySpec {
    pub fn parse(text: &str) -> Result<KeySpec, String> {
        let mut ctrl = false;
        let mut alt = false;
        let mut shift = false;
        let mut rest = text;
        loop {
            let lower = rest.to_ascii_lowercase();
            if rest.chars().count() > 1 && (lower.starts_with("ctrl-") || lower.starts_with("ctrl+")) {
                ctrl = true;
                rest = &rest[5..];
            } else if rest.chars().count() > 1 && (lower.starts_with("alt-") || lower.starts_with("alt+")) {
                alt = true;
                rest = &rest[4..];
            } else if rest.chars().count() > 1 && (lower.starts_with("shift-") || lower.starts_with("shift+"))
            {
                shift = true;
                rest = &rest[6..];
            } else {
                break;
            }
        }
        let mut chars = rest.chars();
        let key = match (chars.next(), chars.next()) {
            (Some(c), None) => {
                let c = if shift { c.to_ascii_uppercase() } else { c };
                if ctrl { Key::Char(c.to_ascii_lowercase()) } else { Key::Char(c) }
            }
            _ => {
                let named = match rest.to_ascii_lowercase().as_str() {
                    "enter" | "return" => NamedKey::Enter,
                    "esc" | "escape" => NamedKey::Esc,
                    "tab" if shift => NamedKey::BackTab,
                    "tab" => NamedKey::Tab,
                    "backtab" => NamedKey::BackTab,
                    "backspace" => NamedKey::Backspace,
                    "delete" | "del" => NamedKey::Delete,
                    "insert" | "ins" => NamedKey::Insert,
                    "up" => NamedKey::Up,
                    "down" => NamedKey::Down,
                    "left" => NamedKey::Left,
                    "right" => NamedKey::Right,
                    "home" => NamedKey::Home,
                    "end" => NamedKey::End,
                    "pageup" | "pgup" => NamedKey::PageUp,
                    "pagedown" | "pgdn" => NamedKey::PageDown,
                    "space" => return Ok(KeySpec { key: Key::Char(' '), ctrl, alt }),
                    f if f.starts_with('f') && f.len() <= 3 => match f[1..].parse::<u8>() {
                        Ok(n @ 1..=12) => NamedKey::F(n),
                        _ => return Err(format!("unknown key \"{text}\"")),
                    },
                    _ => return Err(format!("unknown key \"{text}\"")),
                };
                Key::Named(named)
            }
        };
        if ctrl && matches!(key, Key::Char('c')) {
            return Err("ctrl-c always quits and cannot be bound".to_owned());
        }
        // A terminal sends these as other keys: ctrl-m is enter, ctrl-i tab, ctrl-h backspace,
        // ctrl-[ esc. Binding them would silently never work.
        if let (true, Key::Char(c @ ('m' | 'i' | 'h' | '['))) = (ctrl, key) {
            let same = match c {
                'm' => "enter",
                'i' => "tab",
                'h' => "backspace",
                _ => "esc",
            };
            return Err(format!("a terminal sends ctrl-{c} as {same}: bind \"{same}\" or another key"));
        }
        if shift && matches!(key, Key::Named(n) if n != NamedKey::BackTab) {
            return Err(format!(
                "terminals do not report shift with \"{rest}\"; only shift-tab and shifted characters work"
            ));
        }
        Ok(KeySpec { key, ctrl, alt })
    }
}

impl fmt::Display for KeySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("ctrl-")?;
        }
        if self.alt {
            f.write_str("alt-")?;
        }
        match self.key {
            Key::Char(' ') => f.write_str("space"),
            Key::Char(c) => write!(f, "{c}"),
            Key::Named(n) => match n {
                NamedKey::Enter => f.write_str("⏎"),
                NamedKey::Esc => f.write_str("esc"),
                NamedKey::Tab => f.write_str("tab"),
                NamedKey::BackTab => f.write_str("shift-tab"),
                NamedKey::Backspace => f.write_str("backspace"),
                NamedKey::Delete => f.write_str("del"),
                NamedKey::Insert => f.write_str("ins"),
                NamedKey::Up => f.write_str("↑"),
                NamedKey::Down => f.write_str("↓"),
                NamedKey::Left => f.write_str("←"),
                NamedKey::Right => f.write_str("→"),
                NamedKey::Home => f.write_str("home"),
                NamedKey::End => f.write_str("end"),
                NamedKey::PageUp => f.write_str("pgup"),
                NamedKey::PageDown => f.write_str("pgdn"),
                NamedKey::F(n) => write!(f, "f{n}"),
            },
        }
    }
}

/// The bindings in force: each command's keys, defaults replaced by `[keys]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyBindings {
    pub bindings: BTreeMap<KeyCommand, Vec<KeySpec>>,
}

impl Default for KeyBindings {
    fn default() -> Self {
        let bindings = KeyCommand::ALL
            .iter()
            .map(|&c| (c, c.default_keys().iter().filter_map(|k| KeySpec::parse(k).ok()).collect()))
            .collect();
        KeyBindings { bindings }
    }
}

impl KeyBindings {
    pub fn keys(&self, command: KeyCommand) -> &[KeySpec] {
        self.bindings.get(&command).map(Vec::as_slice).unwrap_or(&[])
    }
}

/// `[keys]` as written: command name -> list of keys.
pub type KeysSection = BTreeMap<Spanned<String>, Spanned<Vec<Spanned<String>>>>;

/// Apply `[keys]` over the defaults, reporting unknown commands, bad keys and clashes.
pub fn resolve(section: &KeysSection, report: &mut Report) -> KeyBindings {
    let mut bindings = KeyBindings::default();
    let mut written: BTreeMap<KeySpec, (KeyCommand, std::ops::Range<usize>)> = BTreeMap::new();
    for (name, keys) in section {
        let key_path = format!("keys.{}", name.get_ref());
        let Some(command) = KeyCommand::from_name(name.get_ref()) else {
            let names: Vec<&str> = KeyCommand::ALL.iter().map(|c| c.name()).collect();
            let mut d = Diagnostic::error(format!("there is no console command `{}`", name.get_ref()))
                .at(key_path, Some(name.span()));
            d = match did_you_mean(name.get_ref(), names.iter().copied()) {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None => d.help(format!("the commands are: {}", names.join(", "))),
            };
            report.push(d);
            continue;
        };
        let mut specs = Vec::new();
        for (i, key) in keys.get_ref().iter().enumerate() {
            match KeySpec::parse(key.get_ref()) {
                Ok(spec) => {
                    written.insert(spec, (command, key.span()));
                    specs.push(spec);
                }
                Err(e) => report.push(
                    Diagnostic::error(e).at(format!("{key_path}[{i}]"), Some(key.span())).help(
                        "write keys like \"q\", \"G\", \"?\", \"enter\", \"esc\", \"tab\", \"shift-tab\", \"up\", \"pagedown\", \"f5\", \"ctrl-d\", \"alt-x\"",
                    ),
                ),
            }
        }
        if specs.is_empty() && keys.get_ref().is_empty() {
            report.push(
                Diagnostic::error(format!("`{}` has no keys: it could never be used", command.name()))
                    .at(key_path, Some(keys.span()))
                    .help("give it at least one key, or remove the line to keep its defaults"),
            );
        }
        bindings.bindings.insert(command, specs);
    }
    // Two commands on one key: the user's binding must not silently lose to another.
    let mut owner: BTreeMap<KeySpec, KeyCommand> = BTreeMap::new();
    for (&command, specs) in &bindings.bindings {
        for &spec in specs {
            if let Some(&other) = owner.get(&spec) {
                let (culprit, span) = match written.get(&spec) {
                    Some((c, span)) => (*c, Some(span.clone())),
                    None => (command, None),
                };
                let victim = if culprit == command { other } else { command };
                report.push(
                    Diagnostic::error(format!(
                        "key \"{spec}\" is bound to both `{}` and `{}`",
                        culprit.name(),
                        victim.name()
                    ))
                    .at(format!("keys.{}", culprit.name()), span)
                    .help(format!(
                        "choose another key, or rebind `{}` too (e.g. {} = [\"...\"])",
                        victim.name(),
                        victim.name()
                    )),
                );
            } else {
                owner.insert(spec, command);
            }
        }
    }
    bindings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_specs_parse() {
        let k = |s| KeySpec::parse(s).unwrap();
        assert_eq!(k("q").key, Key::Char('q'));
        assert_eq!(k("G").key, Key::Char('G'));
        assert_eq!(k("shift-g").key, Key::Char('G'));
        assert_eq!(k("ctrl-d"), KeySpec { key: Key::Char('d'), ctrl: true, alt: false });
        assert_eq!(k("shift-tab").key, Key::Named(NamedKey::BackTab));
        assert_eq!(k("F5").key, Key::Named(NamedKey::F(5)));
        assert_eq!(k("space").key, Key::Char(' '));
        assert_eq!(k("-").key, Key::Char('-'));
        assert!(KeySpec::parse("ctrl-c").is_err());
        assert!(KeySpec::parse("hyper-x").is_err());
        assert!(KeySpec::parse("f13").is_err());
        assert!(KeySpec::parse("ctrl-m").unwrap_err().contains("as enter"));
        assert!(KeySpec::parse("shift-up").is_err());
    }

    #[test]
    fn defaults_do_not_clash() {
        let mut report = Report::default();
        let b = resolve(&KeysSection::new(), &mut report);
        assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
        assert_eq!(b.keys(KeyCommand::Quit), &[KeySpec::parse("q").unwrap()]);
    }
}
