//! `[[systems]]`: the estate.

use serde::Deserialize;
use toml::Spanned;
use toml::de::DeValue;

use super::diagnostic::{Diagnostic, Report};
use super::document::{Document, element_label};
use super::values::{HumanDuration, TierNumber};

/// One `[[systems]]` entry as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemEntry {
    pub name: Spanned<String>,
    pub tier: Spanned<TierNumber>,
    pub rto: Option<Spanned<HumanDuration>>,
    pub rpo: Option<Spanned<HumanDuration>>,
    #[serde(default)]
    pub depends_on: Vec<Spanned<String>>,
    pub owner: Option<String>,
    pub description: Option<String>,
}

/// Read every entry on its own, so one bad entry does not hide the others' problems. Each
/// entry comes back with its name when the document gives one, even if the entry is unusable.
pub fn read(
    doc: &Document<'_>,
    node: &Spanned<DeValue<'_>>,
    report: &mut Report,
) -> Vec<(Option<SystemEntry>, Option<String>)> {
    let DeValue::Array(items) = node.get_ref() else {
        report.push(
            Diagnostic::error("`systems` must be a list of tables")
                .at("systems", Some(node.span()))
                .help("write each system as its own [[systems]] table (double brackets)"),
        );
        return Vec::new();
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let path = format!("systems{}", element_label(item, i));
            let name = item
                .get_ref()
                .as_table()
                .and_then(|t| t.get("name"))
                .and_then(|n| n.get_ref().as_str())
                .map(str::to_owned);
            (super::read(doc, &path, item, report), name)
        })
        .collect()
}
