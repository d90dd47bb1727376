//! `[tiers.N]` (override a tier's objectives) and `[rpo]` (when a system is "at risk").

use serde::Deserialize;
use toml::Spanned;
use toml::de::DeValue;

use super::diagnostic::{Diagnostic, Report};
use super::document::Document;
use super::values::HumanDuration;
use crate::model::Tier;

/// `[tiers.1]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierSection {
    pub rto: Option<Spanned<HumanDuration>>,
    pub rpo: Option<Spanned<HumanDuration>>,
}

/// `[rpo]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RpoSection {
    pub at_risk: Option<Spanned<f64>>,
}

/// `[tiers.N]` tables, each checked to name a tier.
pub fn read(
    doc: &Document<'_>,
    node: &Spanned<DeValue<'_>>,
    report: &mut Report,
) -> Vec<(Tier, Spanned<TierSection>)> {
    let DeValue::Table(table) = node.get_ref() else {
        report.push(
            Diagnostic::error("`tiers` must be a table of tier numbers")
                .at("tiers", Some(node.span()))
                .help("write [tiers.1] with rto and rpo to override tier 1's objectives"),
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, value) in table.iter() {
        let path = format!("tiers.{}", key.get_ref());
        let Some(tier) = key.get_ref().parse::<i64>().ok().and_then(Tier::from_number) else {
            report.push(
                Diagnostic::error(format!("there is no tier `{}`", key.get_ref()))
                    .at(path, Some(key.span()))
                    .help("tiers are numbered 1 to 4: [tiers.1] ... [tiers.4]"),
            );
            continue;
        };
        if let Some(section) = super::read::<TierSection>(doc, &path, value, report) {
            out.push((tier, Spanned::new(value.span(), section)));
        }
    }
    out
}
