//! Configuration problems, and how they are shown to a stressed operator.
//!
//! ```text
//! error: unknown dependency `databse`
//!   --> warroom.toml:12:24 · systems[api].depends_on[1]
//!    |
//! 12 | depends_on = ["cache", "databse"]
//!    |                        ^^^^^^^^^
//!    = help: did you mean `database`?
//! ```

use std::fmt::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error,
    Warning,
}

/// One problem found in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub level: Level,
    pub message: String,
    /// Where in the document: `systems[api].depends_on[1]`.
    pub key: Option<String>,
    /// Byte range in the file, when known.
    pub span: Option<Range<usize>>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(message: impl Into<String>) -> Self {
        Diagnostic { level: Level::Error, message: message.into(), key: None, span: None, help: None }
    }

    pub fn warning(message: impl Into<String>) -> Self {
        Diagnostic { level: Level::Warning, ..Diagnostic::error(message) }
    }

    pub fn at(mut self, key: impl Into<String>, span: Option<Range<usize>>) -> Self {
        self.key = Some(key.into());
        self.span = span;
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// Every problem found in one file, with the file's text so lines can be shown.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub path: PathBuf,
    text: String,
    pub diagnostics: Vec<Diagnostic>,
    /// Byte ranges holding what looks like a secret: never echoed back.
    secret_spans: Vec<Range<usize>>,
}

impl Report {
    pub fn new(path: &Path, text: &str) -> Self {
        Report { path: path.to_owned(), text: text.to_owned(), ..Report::default() }
    }

    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    pub fn hide_secret(&mut self, span: Range<usize>) {
        self.secret_spans.push(span);
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.level == Level::Error)
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.level == Level::Warning)
    }

    pub fn has_errors(&self) -> bool {
        self.errors().next().is_some()
    }

    /// Give a place in the file to each problem that names a key but was found without one.
    pub fn locate_keys(&mut self) {
        if self.diagnostics.iter().all(|d| d.span.is_some() || d.key.is_none()) {
            return;
        }
        let text = self.text.clone();
        let (doc, _) = super::document::Document::parse(&text);
        for d in &mut self.diagnostics {
            if d.span.is_none()
                && let Some(key) = &d.key
            {
                d.span = doc.span_of_key(key);
            }
        }
    }

    /// Errors first, then warnings, each in file order.
    pub fn sort(&mut self) {
        self.diagnostics.sort_by_key(|d| (d.level, d.span.as_ref().map(|s| s.start).unwrap_or(usize::MAX)));
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        line_col(&self.text, offset)
    }

    /// Every diagnostic, rendered for a terminal (`color` adds ANSI styles), and a summary line.
    pub fn render(&self, color: bool) -> String {
        let mut out = String::new();
        for d in &self.diagnostics {
            self.render_one(&mut out, d, color);
            out.push('\n');
        }
        let errors = self.errors().count();
        let warnings = self.warnings().count();
        let _ = writeln!(
            out,
            "{}: {} error{}, {} warning{}",
            self.path.display(),
            errors,
            if errors == 1 { "" } else { "s" },
            warnings,
            if warnings == 1 { "" } else { "s" },
        );
        out
    }

    /// `s` with every secret in the file replaced by `***`, however it got there (a name, a
    /// suggestion, a message quoting the value).
    fn scrub(&self, s: &str) -> String {
        let mut out = s.to_owned();
        // A word that the file also holds outside its secrets gives nothing away ("health" of
        // a URL's path is also a section name): only the rest is hidden.
        let mut outside = self.text.clone();
        for span in &self.secret_spans {
            if let Some(range) = outside.get(span.clone()).map(|r| r.len())
                && range > 0
            {
                outside.replace_range(span.clone(), &" ".repeat(range));
            }
        }
        for span in &self.secret_spans {
            let Some(raw) = self.text.get(span.clone()) else { continue };
            let secret = raw.trim_matches(['"', '\'']);
            if secret.chars().count() >= 4 {
                out = out.replace(secret, "***");
                // Derived forms: a suggested name built from it.
                let slug: String = secret
                    .to_lowercase()
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                    .collect();
                for part in slug.split('-').filter(|p| p.len() >= 4 && !outside.to_lowercase().contains(*p)) {
                    out = out.replace(part, "***");
                }
            }
        }
        out
    }

    /// `s` with every secret, as written, replaced by `***`.
    fn scrub_exact(&self, s: &str) -> String {
        let mut out = s.to_owned();
        for span in &self.secret_spans {
            let Some(raw) = self.text.get(span.clone()) else { continue };
            let secret = raw.trim_matches(['"', '\'']);
            if secret.chars().count() >= 4 {
                out = out.replace(secret, "***");
            }
        }
        out
    }

    fn render_one(&self, out: &mut String, d: &Diagnostic, color: bool) {
        let scrubbed = Diagnostic {
            level: d.level,
            message: self.scrub(&d.message),
            // A key path is the file's structure and its systems' names: only a name that is
            // itself a secret is hidden there.
            key: d.key.as_deref().map(|k| self.scrub_exact(k)),
            span: d.span.clone(),
            help: d.help.as_deref().map(|h| self.scrub(h)),
        };
        let d = &scrubbed;
        let paint = |code: &str, s: &str| {
            if color { format!("\x1b[{code}m{s}\x1b[0m") } else { s.to_owned() }
        };
        let (label, code) = match d.level {
            Level::Error => ("error", "1;31"),
            Level::Warning => ("warning", "1;33"),
        };
        let _ = writeln!(out, "{}: {}", paint(code, label), paint("1", &d.message));

        let location = match &d.span {
            Some(span) => {
                let (line, col) = self.line_col(span.start);
                format!("{}:{line}:{col}", self.path.display())
            }
            None => self.path.display().to_string(),
        };
        let key = d.key.as_deref().map(|k| format!(" · {k}")).unwrap_or_default();
        let Some(span) = &d.span else {
            let _ = writeln!(out, "  --> {location}{key}");
            if let Some(help) = &d.help {
                let _ = writeln!(out, "   = {}: {help}", paint("1", "help"));
            }
            return;
        };
        let (line_no, col) = self.line_col(span.start);
        let gutter = line_no.to_string().len();
        let pad = " ".repeat(gutter);
        let _ = writeln!(out, "{pad}--> {location}{key}");
        let line = self.masked_line(line_no);
        let _ = writeln!(out, "{pad} |");
        let _ = writeln!(out, "{line_no} | {line}");
        let line_chars = line.chars().count();
        let span_chars = self.text.get(span.clone()).map(|s| s.chars().count()).unwrap_or(1);
        let width = span_chars.clamp(1, line_chars.saturating_sub(col - 1).max(1));
        let carets = "^".repeat(width);
        let _ = writeln!(out, "{pad} | {}{}", " ".repeat(col - 1), paint(code, &carets));
        if let Some(help) = &d.help {
            let _ = writeln!(out, "{pad} = {}: {help}", paint("1", "help"));
        }
    }

    /// The text of a 1-based line, with any secret on it replaced by `*`.
    fn masked_line(&self, line_no: usize) -> String {
        let start = self.text.split_inclusive('\n').take(line_no - 1).map(str::len).sum::<usize>();
        let line = self.text[start..].split('\n').next().unwrap_or("");
        let line = line.strip_suffix('\r').unwrap_or(line);
        let mut masked = String::with_capacity(line.len());
        for (i, ch) in line.char_indices() {
            let at = start + i;
            // Keep the quotes, hide what is between them.
            let secret = self.secret_spans.iter().any(|s| at > s.start && at + 1 < s.end);
            masked.push(if secret { '*' } else { ch });
        }
        masked
    }
}

/// 1-based line and column (in characters) of a byte offset in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

/// The closest of `candidates` to `word`, if one is close enough to be a likely typo.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = word.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (edit_distance(&lower, &c.to_lowercase()), c))
        .filter(|(d, c)| *d <= (c.chars().count().max(word.chars().count()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance, counting transposed neighbours as one edit.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev2: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                cur[j] = cur[j].min(prev2[j - 2] + 1);
            }
        }
        prev2 = std::mem::replace(&mut prev, cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters() {
        let text = "a = 1\nname = \"é\" x\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        // The byte after "é" is column 10 in characters.
        let x = text.find('x').unwrap_or_default();
        assert_eq!(line_col(text, x), (2, 12));
    }

    #[test]
    fn suggestions_catch_typos_only() {
        let names = ["database", "cache", "api"];
        assert_eq!(did_you_mean("databse", names), Some("database"));
        assert_eq!(did_you_mean("Cache", names), Some("cache"));
        assert_eq!(did_you_mean("payments", names), None);
        assert_eq!(edit_distance("ab", "ba"), 1);
    }

    #[test]
    fn rendering_shows_the_line_and_a_caret() {
        let text = "[[systems]]\nname = \"api\"\ndepends_on = [\"databse\"]\n";
        let mut report = Report::new(Path::new("w.toml"), text);
        let start = text.find("\"databse\"").unwrap_or_default();
        report.push(
            Diagnostic::error("unknown dependency `databse`")
                .at("systems[api].depends_on[0]", Some(start..start + 9))
                .help("did you mean `database`?"),
        );
        let out = report.render(false);
        assert!(out.contains("error: unknown dependency `databse`"), "{out}");
        assert!(out.contains("--> w.toml:3:15 · systems[api].depends_on[0]"), "{out}");
        assert!(out.contains("3 | depends_on = [\"databse\"]"), "{out}");
        assert!(out.contains("  |               ^^^^^^^^^"), "{out}");
        assert!(out.contains("= help: did you mean `database`?"), "{out}");
        assert!(out.contains("w.toml: 1 error, 0 warnings"), "{out}");
    }

    #[test]
    fn secrets_are_masked_in_rendered_lines() {
        let text = "password = \"hunter2\"\n";
        let mut report = Report::new(Path::new("w.toml"), text);
        report.hide_secret(11..20);
        report.push(Diagnostic::error("inline secret").at("password", Some(11..20)));
        let out = report.render(false);
        assert!(!out.contains("hunter2"), "{out}");
        assert!(out.contains("password = \"*******\""), "{out}");
    }
}
