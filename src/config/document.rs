//! The parsed TOML document with the position of every key and value, so any problem can be
//! reported with its key path (`systems[api].depends_on[1]`), line and column.

use std::ops::Range;

use serde::de::{DeserializeOwned, IntoDeserializer};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::diagnostic::{Diagnostic, did_you_mean};

pub type Node<'i> = Spanned<DeValue<'i>>;

/// A parsed configuration document.
pub struct Document<'i> {
    pub root: DeTable<'i>,
}

impl<'i> Document<'i> {
    /// Parse `text`, recovering from syntax errors so that all of them are reported at once.
    pub fn parse(text: &'i str) -> (Document<'i>, Vec<Diagnostic>) {
        let (root, errors) = DeTable::parse_recoverable(text);
        let doc = Document {
            root: root.into_inner(),
        };
        let diagnostics = errors
            .into_iter()
            .map(|e| {
                let span = e.span();
                let key = span.as_ref().and_then(|s| key_path_by_text(text, s.start));
                let message = e.message().trim();
                let help = if message.contains("duplicate key") {
                    "a key may appear only once in a table: remove or rename one of them"
                } else {
                    "check the quoting, brackets and `=` on this line: key = \"string\", key = 12, key = [\"a\", \"b\"]"
                };
                let mut d = Diagnostic::error(format!("TOML syntax: {message}"));
                d.span = span;
                d.key = key;
                d.help(help)
            })
            .collect();
        (doc, diagnostics)
    }

    /// The key path of the deepest key or value at byte `offset`.
    pub fn key_path_at(&self, offset: usize) -> Option<String> {
        let mut path = String::new();
        locate_in_table(&self.root, offset, &mut path).then_some(path)
    }
}

fn locate_in_table(table: &DeTable<'_>, offset: usize, path: &mut String) -> bool {
    for (key, value) in table.iter() {
        let before = path.len();
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key.get_ref());
        if contains(&key.span(), offset) {
            return true;
        }
        if locate_in_value(value, offset, path) {
            return true;
        }
        path.truncate(before);
    }
    false
}

fn locate_in_value(value: &Node<'_>, offset: usize, path: &mut String) -> bool {
    match value.get_ref() {
        DeValue::Table(t) => locate_in_table(t, offset, path) || contains(&value.span(), offset),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let before = path.len();
                path.push_str(&element_label(item, i));
                if locate_in_value(item, offset, path) || contains(&item.span(), offset) {
                    return true;
                }
                path.truncate(before);
            }
            contains(&value.span(), offset)
        }
        _ => contains(&value.span(), offset),
    }
}

/// The key path at `offset` worked out from the text alone, for documents that did not parse:
/// the nearest table header above, the entry's `name` if it has one, and the key on the line.
fn key_path_by_text(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let line = text[line_start..].lines().next().unwrap_or("").trim();
    let bare_key = |s: &str| {
        let k = s.trim();
        (!k.is_empty()
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
        .then(|| k.to_owned())
    };
    if line.starts_with('[') {
        return bare_key(line.trim_matches(['[', ']']));
    }
    let key = match line.split_once('=') {
        Some((k, _)) => bare_key(k),
        None => line.split_whitespace().next().and_then(bare_key),
    };

    // The header above, and where its section starts and ends.
    let mut header = None;
    let mut pos = line_start;
    for l in text[..line_start].lines().rev() {
        pos -= l.len() + 1;
        let t = l.trim();
        if t.starts_with('[') {
            header = Some((t, pos));
            break;
        }
    }
    let mut path = match header {
        None => String::new(),
        Some((h, at)) if h.starts_with("[[") => {
            let table = h.trim_matches(['[', ']']).trim();
            let index = text[..at]
                .lines()
                .filter(|l| {
                    l.trim().trim_matches(['[', ']']).trim() == table && l.trim().starts_with("[[")
                })
                .count();
            let section_end = text[line_start..]
                .find("\n[")
                .map(|i| line_start + i)
                .unwrap_or(text.len());
            let name = text[at..section_end].lines().find_map(|l| {
                let (k, v) = l.split_once('=')?;
                (k.trim() == "name").then(|| v.trim().trim_matches('"').to_owned())
            });
            match name {
                Some(n) if !n.is_empty() => format!("{table}[{n}]"),
                _ => format!("{table}[{index}]"),
            }
        }
        Some((h, _)) => h.trim_matches(['[', ']']).trim().to_owned(),
    };
    if let Some(k) = key {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(&k);
    }
    (!path.is_empty()).then_some(path)
}

/// `[api]` for a table with a string `name`, else the position: `[3]`.
pub fn element_label(item: &Node<'_>, index: usize) -> String {
    match item
        .get_ref()
        .as_table()
        .and_then(|t| t.get("name"))
        .and_then(|n| n.get_ref().as_str())
    {
        Some(name) => format!("[{name}]"),
        None => format!("[{index}]"),
    }
}

fn contains(span: &Range<usize>, offset: usize) -> bool {
    span.start <= offset && offset < span.end.max(span.start + 1)
}

/// Deserialize one section of the document. A failure becomes a diagnostic at the key path of
/// the offending key or value; `path` names the section (`console`, `systems[api]`).
pub fn deserialize_section<T: DeserializeOwned>(
    doc: &Document<'_>,
    path: &str,
    node: &Node<'_>,
) -> Result<T, Diagnostic> {
    let mut owned = node.clone();
    owned.get_mut().make_owned();
    T::deserialize(owned.into_deserializer()).map_err(|e| {
        let span = e.span().unwrap_or_else(|| node.span());
        let key = doc
            .key_path_at(span.start)
            .unwrap_or_else(|| path.to_owned());
        explain(e.message(), key, span)
    })
}

/// Turn serde's message into one an operator can act on.
fn explain(message: &str, key: String, span: Range<usize>) -> Diagnostic {
    let message = message.trim();
    if let Some((field, expected)) = unknown_field(message) {
        let mut d = Diagnostic::error(format!("unknown key `{field}`")).at(key, Some(span));
        let suggestion = did_you_mean(field, expected.iter().map(String::as_str));
        d = match suggestion {
            Some(s) => d.help(format!("did you mean `{s}`?")),
            None if expected.is_empty() => d.help("this table takes no keys"),
            None => d.help(format!(
                "the keys allowed here are: {}",
                expected.join(", ")
            )),
        };
        return d;
    }
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|s| s.strip_suffix('`'))
    {
        return Diagnostic::error(format!("missing required key `{field}`"))
            .at(key, Some(span))
            .help(format!("add `{field} = ...` to this table"));
    }
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        return Diagnostic::error(format!("wrong type: {rest}")).at(key, Some(span));
    }
    Diagnostic::error(message.to_owned()).at(key, Some(span))
}

/// Parse serde's "unknown field `x`, expected one of `a`, `b`" (or "expected `a`", or "there
/// are no fields") into the field and the allowed names.
fn unknown_field(message: &str) -> Option<(&str, Vec<String>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, rest) = rest.split_once('`')?;
    let expected = rest
        .split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, s)| s.to_owned())
        .collect();
    Some((field, expected))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_paths_name_array_elements_by_their_name() {
        let text =
            "[console]\ntheme = 1\n\n[[systems]]\nname = \"api\"\ndepends_on = [\"a\", \"b\"]\n";
        let (doc, errors) = Document::parse(text);
        assert!(errors.is_empty());
        let at = |needle: &str| doc.key_path_at(text.find(needle).unwrap_or_default());
        assert_eq!(at("theme").as_deref(), Some("console.theme"));
        assert_eq!(at("1\n").as_deref(), Some("console.theme"));
        assert_eq!(at("\"b\"").as_deref(), Some("systems[api].depends_on[1]"));
    }

    #[test]
    fn syntax_errors_get_a_key_path_from_the_text() {
        let text = "[console]\ntheme = 1\n\n[[systems]]\nname = \"db\"\n\n[[systems]]\nname = \"api\"\ntier = 1\ntier = 2\n";
        let at = text.rfind("tier").unwrap_or_default();
        assert_eq!(
            key_path_by_text(text, at).as_deref(),
            Some("systems[api].tier")
        );
        let at = text.find("theme").unwrap_or_default();
        assert_eq!(key_path_by_text(text, at).as_deref(), Some("console.theme"));
        let broken = "[[systems]]\nname \"api\"\n";
        assert_eq!(
            key_path_by_text(broken, 17).as_deref(),
            Some("systems[0].name")
        );
    }

    #[test]
    fn unknown_field_messages_are_parsed() {
        let (f, e) = unknown_field("unknown field `teir`, expected one of `name`, `tier`")
            .unwrap_or_default();
        assert_eq!(f, "teir");
        assert_eq!(e, vec!["name", "tier"]);
        let (f, e) = unknown_field("unknown field `x`, there are no fields").unwrap_or_default();
        assert_eq!(f, "x");
        assert!(e.is_empty());
    }

    #[test]
    fn syntax_errors_are_all_reported() {
        let (_, errors) = Document::parse("a = \nb = [1,\n[x\n");
        assert!(!errors.is_empty());
        assert!(errors.iter().all(|e| e.span.is_some()));
    }
}
