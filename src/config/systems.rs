//! `[[systems]]`: the estate.

use serde::Deserialize;
use toml::Spanned;

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
