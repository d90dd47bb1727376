//! `[tiers.N]` (override a tier's objectives) and `[rpo]` (when a system is "at risk").

use serde::Deserialize;
use toml::Spanned;

use super::values::HumanDuration;

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
    pub at_risk: Spanned<f64>,
}
