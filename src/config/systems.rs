//! `[[systems]]`: the estate.

use serde::Deserialize;
use toml::Spanned;
use toml::de::DeValue;

use super::backup::{BackupEntry, BackupPolicy};
use super::decision::DecisionEntry;
use super::diagnostic::{Diagnostic, Report};
use super::document::{Document, element_label};
use super::failover::{Procedure, ProcedureEntry};
use super::health::{HealthCheck, HealthEntry};
use super::values::{HumanDuration, TierNumber};
use crate::model::Thresholds;

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
    pub health: Option<HealthEntry>,
    pub replication: Option<super::replication::ReplicationEntry>,
    pub decision: Option<DecisionEntry>,
    pub failover: Option<ProcedureEntry>,
    pub failback: Option<ProcedureEntry>,
    pub backup: Option<BackupEntry>,
}

/// What the configuration says about a system beyond the domain model: how to probe it, its
/// decision thresholds, its procedures. Indexed like the estate's systems.
#[derive(Debug, Clone, PartialEq)]
pub struct SystemConfig {
    pub health: Option<HealthCheck>,
    /// Where its standby's lag is read from.
    pub replication: Option<super::replication::ReplicationCheck>,
    pub thresholds: Thresholds,
    pub failover: Option<Procedure>,
    pub failback: Option<Procedure>,
    pub backup: Option<BackupPolicy>,
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
