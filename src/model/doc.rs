//! A document as blocks (headings, paragraphs, lists, checklists, tables, code), rendered once
//! as Markdown and once as a self-contained HTML page that prints: the runbooks and the plan
//! document are written this way, so both forms always say the same thing.

use std::fmt::Write;

use super::report::html_head;
use super::statuspage::escape;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// A heading, level 1-4, with the id its HTML element carries.
    Heading {
        level: u8,
        text: String,
        id: Option<String>,
    },
    Para(String),
    /// A paragraph that must stand out (a warning).
    Warn(String),
    List(Vec<String>),
    /// Numbered, in order.
    Steps(Vec<String>),
    /// Boxes to tick by hand.
    Checklist(Vec<String>),
    Table {
        id: Option<String>,
        head: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    /// A shell script, copied and run as it stands.
    Code {
        id: Option<String>,
        text: String,
    },
    /// Already rendered: its Markdown and its HTML (a chart, a heat map).
    Figure {
        markdown: String,
        html: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Doc {
    pub title: String,
    pub blocks: Vec<Block>,
}

impl Doc {
    pub fn new(title: impl Into<String>) -> Doc {
        Doc { title: title.into(), blocks: Vec::new() }
    }

    pub fn heading(&mut self, level: u8, text: impl Into<String>) -> &mut Doc {
        self.blocks.push(Block::Heading { level, text: text.into(), id: None });
        self
    }

    pub fn section(&mut self, level: u8, text: impl Into<String>, id: &str) -> &mut Doc {
        self.blocks.push(Block::Heading { level, text: text.into(), id: Some(id.to_owned()) });
        self
    }

    pub fn para(&mut self, text: impl Into<String>) -> &mut Doc {
        self.blocks.push(Block::Para(text.into()));
        self
    }

    pub fn push(&mut self, block: Block) -> &mut Doc {
        self.blocks.push(block);
        self
    }

    pub fn append(&mut self, other: Doc) -> &mut Doc {
        self.blocks.extend(other.blocks);
        self
    }

    /// Every heading `by` levels deeper and every id prefixed, so several documents (a runbook
    /// per system) make one page with no id twice.
    pub fn nested(mut self, by: u8, prefix: &str) -> Doc {
        for b in &mut self.blocks {
            match b {
                Block::Heading { level, id, .. } => {
                    *level = (*level + by).min(6);
                    if let Some(i) = id {
                        *i = format!("{prefix}-{i}");
                    }
                }
                Block::Table { id: Some(i), .. } | Block::Code { id: Some(i), .. } => {
                    *i = format!("{prefix}-{i}")
                }
                _ => {}
            }
        }
        self
    }

    pub fn markdown(&self) -> String {
        let mut md = format!("# {}\n\n", one_line(&self.title));
        for b in &self.blocks {
            match b {
                Block::Heading { level, text, .. } => {
                    let _ = writeln!(md, "{} {}\n", "#".repeat(usize::from(*level).max(2)), one_line(text));
                }
                Block::Para(t) => {
                    let _ = writeln!(md, "{}\n", one_line(t.trim_end()));
                }
                Block::Warn(t) => {
                    let _ = writeln!(md, "> **{}**\n", one_line(t));
                }
                Block::List(items) => {
                    for i in items {
                        let _ = writeln!(md, "- {}", one_line(i));
                    }
                    md.push('\n');
                }
                Block::Steps(items) => {
                    for (n, i) in items.iter().enumerate() {
                        let _ = writeln!(md, "{}. {}", n + 1, one_line(i));
                    }
                    md.push('\n');
                }
                Block::Checklist(items) => {
                    for i in items {
                        let _ = writeln!(md, "- [ ] {}", one_line(i));
                    }
                    md.push('\n');
                }
                Block::Table { head, rows, .. } => {
                    let cells = |r: &[String]| r.iter().map(|c| cell(c)).collect::<Vec<_>>().join(" | ");
                    let _ = writeln!(md, "| {} |", cells(head));
                    let _ = writeln!(md, "|{}|", vec!["---"; head.len()].join("|"));
                    for r in rows {
                        let _ = writeln!(md, "| {} |", cells(r));
                    }
                    md.push('\n');
                }
                Block::Code { text, .. } => {
                    // A fence longer than any run of backticks in the script.
                    let fence = "`".repeat(longest_run(text, '`').max(2) + 1);
                    let _ = writeln!(md, "{fence}sh\n{}\n{fence}\n", text.trim_end());
                }
                Block::Figure { markdown, .. } => {
                    let _ = writeln!(md, "{}\n", markdown.trim_end());
                }
            }
        }
        md
    }

    /// One page: no script, no external resource.
    pub fn html(&self) -> String {
        let e = |s: &str| escape(s);
        let id = |i: &Option<String>| i.as_deref().map(|i| format!(" id=\"{}\"", e(i))).unwrap_or_default();
        let mut h = html_head(&self.title);
        let _ = writeln!(h, "<h1>{}</h1>", e(&self.title));
        for b in &self.blocks {
            match b {
                Block::Heading { level, text, id: i } => {
                    let l = level.clamp(&2, &6);
                    let _ = writeln!(h, "<h{l}{}>{}</h{l}>", id(i), e(text));
                }
                Block::Para(t) => {
                    let _ = writeln!(h, "<p>{}</p>", e(t));
                }
                Block::Warn(t) => {
                    let _ = writeln!(h, "<p class=\"bad\">{}</p>", e(t));
                }
                Block::List(items) => list(&mut h, "ul", "", items),
                Block::Steps(items) => list(&mut h, "ol", "", items),
                Block::Checklist(items) => {
                    let _ = writeln!(h, "<ul class=\"checklist\">");
                    for i in items {
                        let _ = writeln!(h, "<li><span class=\"box\">☐</span> {}</li>", e(i));
                    }
                    let _ = writeln!(h, "</ul>");
                }
                Block::Table { id: i, head, rows } => {
                    let _ = write!(h, "<table{}><thead><tr>", id(i));
                    for c in head {
                        let _ = write!(h, "<th>{}</th>", e(c));
                    }
                    let _ = writeln!(h, "</tr></thead><tbody>");
                    for r in rows {
                        let _ = write!(h, "<tr>");
                        for c in r {
                            let _ = write!(h, "<td>{}</td>", e(c));
                        }
                        let _ = writeln!(h, "</tr>");
                    }
                    let _ = writeln!(h, "</tbody></table>");
                }
                Block::Code { id: i, text } => {
                    let _ = writeln!(h, "<pre{}><code>{}</code></pre>", id(i), e(text.trim_end()));
                }
                Block::Figure { html, .. } => {
                    let _ = writeln!(h, "{html}");
                }
            }
        }
        h.push_str("</body></html>\n");
        h
    }
}

fn list(h: &mut String, tag: &str, class: &str, items: &[String]) {
    let class = if class.is_empty() { String::new() } else { format!(" class=\"{class}\"") };
    let _ = writeln!(h, "<{tag}{class}>");
    for i in items {
        let _ = writeln!(h, "<li>{}</li>", escape(i));
    }
    let _ = writeln!(h, "</{tag}>");
}

/// Text on one line, so a name with a newline cannot start a heading or a list of its own,
/// with `<` escaped so it cannot become HTML where the Markdown is rendered.
fn one_line(s: &str) -> String {
    s.replace(['\r', '\n'], " ").replace('<', "\\<")
}

/// A Markdown table cell: pipes escaped, on one line.
pub fn cell(s: &str) -> String {
    one_line(s).replace('|', "\\|")
}

fn longest_run(s: &str, c: char) -> usize {
    let (mut best, mut run) = (0, 0);
    for ch in s.chars() {
        run = if ch == c { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

/// A word for `sh`: as it is when it is plain, else in single quotes (a quote inside becomes
/// `'\''`), so a path with spaces, quotes or `$` is one argument and never runs anything.
pub fn sh_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '/' | '.' | '_' | '-' | ':' | '=' | '@' | '+' | ',' | '%')
        });
    if plain { s.to_owned() } else { format!("'{}'", s.replace('\'', "'\\''")) }
}

/// A command line for `sh`, every word quoted as it needs.
pub fn sh_line<'a>(words: impl IntoIterator<Item = &'a str>) -> String {
    words.into_iter().map(sh_quote).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_for_sh_only_when_they_need_it() {
        assert_eq!(sh_quote("/srv/backup/data.age"), "/srv/backup/data.age");
        assert_eq!(sh_quote("my backups"), "'my backups'");
        assert_eq!(sh_quote("it's"), "'it'\\''s'");
        assert_eq!(sh_quote("$(rm -rf /)"), "'$(rm -rf /)'");
        assert_eq!(sh_quote(""), "''");
        assert_eq!(sh_line(["echo", "a b", "c"]), "echo 'a b' c");
    }

    #[test]
    fn hostile_text_stays_text_in_both_forms() {
        let mut d = Doc::new("Runbook <b>");
        d.para("a\n# not a heading");
        d.push(Block::Table { id: None, head: vec!["a".into()], rows: vec![vec!["x | y".into()]] });
        d.push(Block::Code { id: None, text: "echo ```".into() });
        d.push(Block::List(vec!["<script>alert(1)</script>".into()]));
        let md = d.markdown();
        assert!(!md.contains("\n# not"), "{md}");
        assert!(md.contains("| x \\| y |"), "{md}");
        assert!(md.contains("````sh\necho ```\n````"), "{md}");
        let html = d.html();
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"));
        assert!(html.contains("<title>Runbook &lt;b&gt;</title>"));
    }
}
