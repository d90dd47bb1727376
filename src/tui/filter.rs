//! The `/` filter: words that match a system by name, tier or state.
//!
//! `api` matches names containing "api"; `1`, `t1`, `tier:1`, `tier 1` match tier 1; `down`, `degraded`,
//! `healthy`, `unknown` match health; `breached`, `at-risk`, `never`, `ok` match RPO status.
//! Words of one kind widen the match (`1 2`: tier 1 or 2); words of different kinds narrow it
//! (`1 down`: tier 1 and down).

use crate::model::{HealthState, RpoStatus, System, Tier};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    names: Vec<String>,
    tiers: Vec<Tier>,
    health: Vec<HealthState>,
    rpo: Vec<&'static str>,
}

impl Filter {
    pub fn parse(text: &str) -> Filter {
        let mut f = Filter::default();
        let mut words = text.split_whitespace().peekable();
        while let Some(word) = words.next() {
            let w = word.to_lowercase();
            // `tier 3`, as the palette writes it: the number says which.
            if w == "tier"
                && words.peek().is_some_and(|n| n.parse::<i64>().ok().and_then(Tier::from_number).is_some())
            {
                continue;
            }
            let tier_number = w
                .strip_prefix("tier:")
                .or_else(|| w.strip_prefix("tier"))
                .or_else(|| w.strip_prefix('t'))
                .unwrap_or(&w);
            if let Some(tier) = tier_number.parse::<i64>().ok().and_then(Tier::from_number) {
                f.tiers.push(tier);
                continue;
            }
            match w.as_str() {
                "down" => f.health.push(HealthState::Down),
                "degraded" => f.health.push(HealthState::Degraded),
                "healthy" => f.health.push(HealthState::Healthy),
                "unknown" => f.health.push(HealthState::Unknown),
                "breached" => f.rpo.push("breached"),
                "at-risk" | "atrisk" | "risk" => f.rpo.push("at_risk"),
                "never" => f.rpo.push("never_backed_up"),
                "ok" | "compliant" => f.rpo.push("compliant"),
                _ => f.names.push(w),
            }
        }
        f
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty() && self.tiers.is_empty() && self.health.is_empty() && self.rpo.is_empty()
    }

    pub fn matches(&self, system: &System, health: HealthState, rpo: &RpoStatus) -> bool {
        let name = system.name.to_lowercase();
        (self.names.is_empty() || self.names.iter().any(|n| name.contains(n.as_str())))
            && (self.tiers.is_empty() || self.tiers.contains(&system.tier))
            && (self.health.is_empty() || self.health.contains(&health))
            && (self.rpo.is_empty() || self.rpo.contains(&rpo.key()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn system(name: &str, tier: Tier) -> System {
        System {
            name: name.into(),
            tier,
            objective: tier.standard_objective(),
            depends_on: vec![],
            owner: None,
            description: None,
        }
    }

    #[test]
    fn words_match_name_tier_and_state() {
        let api = system("api", Tier::One);
        let wiki = system("wiki", Tier::Four);
        let never = RpoStatus::NeverBackedUp;
        let ok = RpoStatus::Compliant { age: Duration::ZERO, remaining: Duration::from_secs(60) };
        let m = |f: &str, s: &System, h, r: &RpoStatus| Filter::parse(f).matches(s, h, r);
        assert!(m("API", &api, HealthState::Unknown, &never));
        assert!(!m("api", &wiki, HealthState::Unknown, &never));
        assert!(m("t4", &wiki, HealthState::Unknown, &never));
        assert!(m("1 4", &wiki, HealthState::Unknown, &never));
        assert!(m("tier:1", &api, HealthState::Unknown, &never));
        assert!(
            m("tier 4", &wiki, HealthState::Unknown, &never)
                && !m("tier 4", &api, HealthState::Unknown, &never)
        );
        assert!(!m("1 down", &api, HealthState::Healthy, &never));
        assert!(m("1 down", &api, HealthState::Down, &never));
        assert!(m("never", &api, HealthState::Down, &never));
        assert!(!m("never", &api, HealthState::Down, &ok));
        assert!(Filter::parse("  ").is_empty());
    }
}
