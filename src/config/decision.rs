//! `[decision]`: the failover decision's thresholds, globally, per tier (`[decision.tiers.N]`)
//! and per system (`[systems.decision]`). Each level overrides only what it writes.
//!
//! ```toml
//! [decision]
//! availability_below = 0.95          # scores availability_points (3)
//! response_time_above = "5s"         # p95; scores response_time_points (2)
//! error_rate_above = 0.05            # scores error_rate_points (2)
//! failover_at_score = 5
//! immediate_availability_below = 0.5 # recommends at once
//! immediate_response_time_above = "30s"
//! hold = "2m"                        # a raised verdict holds this long before it may drop
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::diagnostic::{Diagnostic, Report};
use super::values::HumanDuration;
use crate::model::{Thresholds, Tier};

/// The thresholds as written at one level.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionEntry {
    pub availability_below: Option<Spanned<f64>>,
    pub availability_points: Option<u32>,
    pub response_time_above: Option<HumanDuration>,
    pub response_time_points: Option<u32>,
    pub error_rate_above: Option<Spanned<f64>>,
    pub error_rate_points: Option<u32>,
    pub failover_at_score: Option<Spanned<u32>>,
    pub immediate_availability_below: Option<Spanned<f64>>,
    pub immediate_response_time_above: Option<HumanDuration>,
    pub hold: Option<HumanDuration>,
    pub min_probes: Option<Spanned<u32>>,
    /// Only in `[decision]`: per-tier overrides.
    pub tiers: Option<Spanned<BTreeMap<String, DecisionEntry>>>,
}

impl DecisionEntry {
    /// `base` with this level's values written over it; fractions are checked to be 0-1.
    pub fn apply(&self, base: Thresholds, path: &str, report: &mut Report) -> Thresholds {
        let fraction = |v: &Option<Spanned<f64>>, key: &str, report: &mut Report| -> Option<f64> {
            let v = v.as_ref()?;
            let x = *v.get_ref();
            if (0.0..=1.0).contains(&x) {
                Some(x)
            } else {
                report.push(
                    Diagnostic::error(format!("{path}.{key} = {x} is not a fraction"))
                        .at(format!("{path}.{key}"), Some(v.span()))
                        .help("write it between 0 and 1: 0.95 means 95%"),
                );
                None
            }
        };
        let mut t = base;
        if let Some(v) = fraction(&self.availability_below, "availability_below", report) {
            t.availability_below = v;
        }
        if let Some(v) = fraction(&self.error_rate_above, "error_rate_above", report) {
            t.error_rate_above = v;
        }
        if let Some(v) = fraction(&self.immediate_availability_below, "immediate_availability_below", report)
        {
            t.immediate_availability_below = v;
        }
        if let Some(v) = &self.failover_at_score {
            if *v.get_ref() == 0 {
                report.push(
                    Diagnostic::error(format!("{path}.failover_at_score must be at least 1"))
                        .at(format!("{path}.failover_at_score"), Some(v.span()))
                        .help("at 0 every system would always be recommended for failover"),
                );
            } else {
                t.failover_at_score = *v.get_ref();
            }
        }
        t.availability_points = self.availability_points.unwrap_or(t.availability_points);
        t.response_time_points = self.response_time_points.unwrap_or(t.response_time_points);
        t.error_rate_points = self.error_rate_points.unwrap_or(t.error_rate_points);
        t.response_time_above = self.response_time_above.map(|d| d.0).unwrap_or(t.response_time_above);
        t.immediate_response_time_above =
            self.immediate_response_time_above.map(|d| d.0).unwrap_or(t.immediate_response_time_above);
        t.hold = self.hold.map(|d| d.0).unwrap_or(t.hold);
        if let Some(v) = &self.min_probes {
            if *v.get_ref() == 0 {
                report.push(
                    Diagnostic::error(format!("{path}.min_probes must be at least 1"))
                        .at(format!("{path}.min_probes"), Some(v.span()))
                        .help("a verdict needs at least one probe to stand on; 3 is the default"),
                );
            } else {
                t.min_probes = *v.get_ref();
            }
        }
        if t.immediate_availability_below > t.availability_below {
            report.push(
                Diagnostic::warning(format!(
                    "{path}: immediate_availability_below ({}) is above availability_below ({})",
                    t.immediate_availability_below, t.availability_below
                ))
                .at(format!("{path}.immediate_availability_below"), None)
                .help("the \"at once\" threshold is meant to be the worse one: lower it, or raise availability_below"),
            );
        }
        if t.immediate_response_time_above < t.response_time_above {
            report.push(
                Diagnostic::warning(format!(
                    "{path}: immediate_response_time_above is below response_time_above"
                ))
                .at(format!("{path}.immediate_response_time_above"), None)
                .help("the \"at once\" threshold is meant to be the worse one: raise it, or lower response_time_above"),
            );
        }
        t
    }
}

/// The thresholds of each tier: the standard's, then `[decision]`, then `[decision.tiers.N]`.
pub fn tier_thresholds(section: Option<&DecisionEntry>, report: &mut Report) -> [Thresholds; 4] {
    let global = section.map(|s| s.apply(Thresholds::default(), "decision", report)).unwrap_or_default();
    let mut out = [global; 4];
    let Some(tiers) = section.and_then(|s| s.tiers.as_ref()) else { return out };
    for (key, entry) in tiers.get_ref() {
        let path = format!("decision.tiers.{key}");
        match key.parse::<i64>().ok().and_then(Tier::from_number) {
            Some(tier) => {
                if entry.tiers.is_some() {
                    report.push(
                        Diagnostic::error(format!("{path} cannot have tiers of its own"))
                            .at(path.clone(), Some(tiers.span())),
                    );
                }
                out[tier.index()] = entry.apply(global, &path, report);
            }
            None => report.push(
                Diagnostic::error(format!("there is no tier `{key}`"))
                    .at(path, Some(tiers.span()))
                    .help("tiers are numbered 1 to 4: [decision.tiers.1] ... [decision.tiers.4]"),
            ),
        }
    }
    out
}

/// A system's thresholds: its tier's, then its own `[systems.decision]`.
pub fn system_thresholds(
    name: &str,
    tier: Tier,
    tiers: &[Thresholds; 4],
    entry: Option<&DecisionEntry>,
    report: &mut Report,
) -> Thresholds {
    let base = tiers[tier.index()];
    let Some(entry) = entry else { return base };
    let path = format!("systems[{name}].decision");
    if let Some(t) = &entry.tiers {
        report.push(
            Diagnostic::error(format!("{path}.tiers is only allowed in [decision]"))
                .at(format!("{path}.tiers"), Some(t.span()))
                .help("a system's own thresholds go straight in [systems.decision]"),
        );
    }
    entry.apply(base, &path, report)
}
