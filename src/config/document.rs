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
        let doc = Document { root: root.into_inner() };
        let mut seen = Vec::new();
        let diagnostics = errors
            .into_iter()
            // The parser's recovery can report one mistake several times over.
            .filter(|e| {
                let key = (e.message().to_owned(), e.span());
                let fresh = !seen.contains(&key);
                seen.push(key);
                fresh
            })
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

    /// Where the value at `path` (table keys from the root) is, if it is there.
    pub fn value_span(&self, path: &[&str]) -> Option<Range<usize>> {
        let (first, rest) = path.split_first()?;
        let mut node = self.root.get(*first)?;
        for key in rest {
            node = node.get_ref().as_table()?.get(*key)?;
        }
        Some(node.span())
    }

    /// Where the value at key path `path` is (`systems[api].tier`, `risks[fire].review`): the
    /// reverse of [`Document::key_path_at`], for problems found after the document was read.
    pub fn span_of_key(&self, path: &str) -> Option<Range<usize>> {
        let mut rest = path;
        let mut node: Option<&Node<'_>> = None;
        while !rest.is_empty() {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            let (key, after) = rest.split_at(end);
            if !key.is_empty() {
                node = Some(match node {
                    None => self.root.get(key)?,
                    Some(n) => n.get_ref().as_table()?.get(key)?,
                });
            }
            rest = after;
            if let Some(label) = rest.strip_prefix('[') {
                let close = label.find(']')?;
                let wanted = format!("[{}]", &label[..close]);
                let DeValue::Array(items) = node?.get_ref() else { return None };
                node = Some(items.iter().enumerate().find(|(i, item)| element_label(item, *i) == wanted)?.1);
                rest = &label[close + 1..];
            }
            rest = rest.strip_prefix('.').unwrap_or(rest);
        }
        node.map(|n| n.span())
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
    // (byte offset, line without its line ending), so CRLF files and any UTF-8 are safe.
    let mut lines = Vec::new();
    let mut start = 0;
    for raw in text.split_inclusive('\n') {
        lines.push((start, raw.trim_end_matches(['\n', '\r'])));
        start += raw.len();
    }
    let here = lines.iter().rposition(|(s, _)| *s <= offset)?;
    let line = lines[here].1.trim();
    let bare_key = |s: &str| {
        let k = s.trim();
        (!k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
            .then(|| k.to_owned())
    };
    let is_header = |l: &str| l.trim_start().starts_with('[');
    let header_name = |l: &str| l.trim().trim_matches(['[', ']']).trim().to_owned();
    if is_header(line) {
        return bare_key(&header_name(line));
    }
    let key = match line.split_once('=') {
        Some((k, _)) => bare_key(k),
        None => line.split_whitespace().next().and_then(bare_key),
    };

    let header = (0..here).rev().find(|&i| is_header(lines[i].1));
    let mut path = match header {
        None => String::new(),
        Some(h) if lines[h].1.trim().starts_with("[[") => {
            let table = header_name(lines[h].1);
            let index = (0..h)
                .filter(|&i| lines[i].1.trim().starts_with("[[") && header_name(lines[i].1) == table)
                .count();
            let end = (here + 1..lines.len()).find(|&i| is_header(lines[i].1)).unwrap_or(lines.len());
            let name = lines[h + 1..end].iter().find_map(|(_, l)| {
                let (k, v) = l.split_once('=')?;
                (k.trim() == "name").then(|| v.trim().trim_matches('"').to_owned())
            });
            match name {
                Some(n) if !n.is_empty() => format!("{table}[{n}]"),
                _ => format!("{table}[{index}]"),
            }
        }
        Some(h) => header_name(lines[h].1),
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
    let table = item.get_ref().as_table();
    let named = |key: &str| table.and_then(|t| t.get(key)).and_then(|n| n.get_ref().as_str());
    match named("name").or_else(|| named("id")) {
        Some(name) => format!("[{name}]"),
        None => format!("[{index}]"),
    }
}

fn contains(span: &Range<usize>, offset: usize) -> bool {
    span.start <= offset && offset < span.end.max(span.start + 1)
}

/// Deserialize one section of the document; `path` names it (`console`, `systems[api]`).
///
/// Serde stops at the first problem, so after each one the offending key is taken out and the
/// section read again: every problem in the section is reported, and if what remains still
/// reads (only optional keys were bad), the value is returned too, so the semantic checks can
/// look at it.
pub fn deserialize_section<T: DeserializeOwned>(
    doc: &Document<'_>,
    path: &str,
    node: &Node<'_>,
) -> (Option<T>, Vec<Diagnostic>) {
    let mut owned = node.clone();
    owned.get_mut().make_owned();
    let mut problems = Vec::new();
    let mut removed: Vec<String> = Vec::new();
    for _ in 0..64 {
        match T::deserialize(owned.clone().into_deserializer()) {
            Ok(value) => return (Some(value), problems),
            Err(e) => {
                let span = e.span().unwrap_or_else(|| node.span());
                let message = e.message().trim();
                // A required key we took out ourselves: already reported.
                let missing = message.strip_prefix("missing field `").and_then(|s| s.strip_suffix('`'));
                if missing.is_some_and(|m| removed.iter().any(|r| r == m)) {
                    break;
                }
                let key = doc.key_path_at(span.start).unwrap_or_else(|| path.to_owned());
                problems.push(explain(message, key, span.clone()));
                match remove_at(owned.get_mut(), span.start) {
                    Some(name) => removed.push(name),
                    None => break,
                }
            }
        }
    }
    (None, problems)
}

/// Take out of `value` the deepest key (or array element) whose key or value covers `offset`;
/// returns the key's name (or "" for an array element).
fn remove_at(value: &mut DeValue<'_>, offset: usize) -> Option<String> {
    match value {
        DeValue::Table(table) => {
            let key = table
                .iter()
                .find(|(k, v)| {
                    contains(&k.span(), offset) || contains(&v.span(), offset) || reaches(v, offset)
                })
                .map(|(k, _)| k.clone())?;
            let covers_key = contains(&key.span(), offset);
            if !covers_key
                && let Some(child) = table.get_mut(key.get_ref().as_ref())
                && let Some(found) = remove_at(child.get_mut(), offset)
            {
                return Some(found);
            }
            table.remove(&key).map(|_| key.get_ref().to_string())
        }
        DeValue::Array(items) => {
            let i = items.iter().position(|v| contains(&v.span(), offset) || reaches(v, offset))?;
            if let Some(found) = items.get_mut(i).and_then(|item| remove_at(item.get_mut(), offset)) {
                return Some(found);
            }
            let mut rest = toml::de::DeArray::new();
            for (j, item) in items.iter().enumerate() {
                if j != i {
                    rest.push(item.clone());
                }
            }
            *items = rest;
            Some(String::new())
        }
        _ => None,
    }
}

/// Does anything inside `node` cover `offset` (tables from headers have no covering span)?
fn reaches(node: &Node<'_>, offset: usize) -> bool {
    match node.get_ref() {
        DeValue::Table(t) => t
            .iter()
            .any(|(k, v)| contains(&k.span(), offset) || contains(&v.span(), offset) || reaches(v, offset)),
        DeValue::Array(items) => items.iter().any(|v| contains(&v.span(), offset) || reaches(v, offset)),
        _ => false,
    }
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
            None => d.help(format!("the keys allowed here are: {}", expected.join(", "))),
        };
        return d;
    }
    if let Some(field) = message.strip_prefix("missing field `").and_then(|s| s.strip_suffix('`')) {
        return Diagnostic::error(format!("missing required key `{field}`"))
            .at(key, Some(span))
            .help(format!("add `{field} = ...` to this table"));
    }
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        let d = Diagnostic::error(format!("wrong type: {rest}")).at(key, Some(span));
        return match how_to_write(rest) {
            Some(help) => d.help(help),
            None => d,
        };
    }
    Diagnostic::error(message.to_owned()).at(key, Some(span))
}

/// How to write a value of the type serde expected ("..., expected a boolean").
fn how_to_write(invalid_type: &str) -> Option<&'static str> {
    let expected = invalid_type.rsplit_once("expected ")?.1;
    Some(match expected {
        "a string" => "write text in double quotes: key = \"text\"",
        "a boolean" => "write true or false, without quotes",
        "a sequence" => "write a list in brackets: key = [\"a\", \"b\"]",
        "a map" | "a table" => "write a table: [section] on its own line, or key = { a = 1 }",
        e if e.starts_with("i") || e.starts_with("u") || e.contains("integer") => {
            "write a whole number, without quotes"
        }
        e if e.starts_with("f") || e.contains("float") => "write a number such as 0.25, without quotes",
        _ => return None,
    })
}

/// Parse serde's "unknown field `x`, expected one of `a`, `b`" (or "expected `a`", or "there
/// are no fields") into the field and the allowed names.
fn unknown_field(message: &str) -> Option<(&str, Vec<String>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, rest) = rest.split_once('`')?;
    let expected =
        rest.split('`').enumerate().filter(|(i, _)| i % 2 == 1).map(|(_, s)| s.to_owned()).collect();
    Some((field, expected))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_paths_name_array_elements_by_their_name() {
        let text = "[console]\ntheme = 1\n\n[[systems]]\nname = \"api\"\ndepends_on = [\"a\", \"b\"]\n";
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
        assert_eq!(key_path_by_text(text, at).as_deref(), Some("systems[api].tier"));
        let at = text.find("theme").unwrap_or_default();
        assert_eq!(key_path_by_text(text, at).as_deref(), Some("console.theme"));
        let broken = "[[systems]]\nname \"api\"\n";
        assert_eq!(key_path_by_text(broken, 17).as_deref(), Some("systems[0].name"));
        // Windows line endings and multi-byte characters above the error.
        let crlf = format!("[[systems]]\r\n#{}\r\n{}name \"api\"\r\n", "é".repeat(10), "# c\r\n".repeat(13));
        let at = crlf.find("name").unwrap_or_default() + 5;
        assert_eq!(key_path_by_text(&crlf, at).as_deref(), Some("systems[0].name"));
    }

    #[test]
    fn unknown_field_messages_are_parsed() {
        let (f, e) =
            unknown_field("unknown field `teir`, expected one of `name`, `tier`").unwrap_or_default();
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
