//! Tiers of criticality and the recovery objectives the standard gives each.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use super::RecoveryObjective;

/// How critical a system is to the business. Tier 1 is the most critical.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(into = "u8")]
pub enum Tier {
    One = 1,
    Two = 2,
    Three = 3,
    Four = 4,
}

impl Tier {
    pub const ALL: [Tier; 4] = [Tier::One, Tier::Two, Tier::Three, Tier::Four];

    /// The tier numbered `n` (1-4), if there is one.
    pub fn from_number(n: i64) -> Option<Tier> {
        match n {
            1 => Some(Tier::One),
            2 => Some(Tier::Two),
            3 => Some(Tier::Three),
            4 => Some(Tier::Four),
            _ => None,
        }
    }

    pub fn number(self) -> u8 {
        self as u8
    }

    /// Position in arrays indexed by tier (0 for tier 1).
    pub fn index(self) -> usize {
        usize::from(self.number() - 1)
    }

    /// The standard's name for the tier.
    pub fn label(self) -> &'static str {
        match self {
            Tier::One => "mission critical",
            Tier::Two => "business essential",
            Tier::Three => "important",
            Tier::Four => "standard",
        }
    }

    /// The standby posture the standard expects at this tier.
    pub fn standby(self) -> &'static str {
        match self {
            Tier::One => "hot standby, continuous backup",
            Tier::Two => "warm standby, hourly backup",
            Tier::Three => "cold standby, 4-hourly backup",
            Tier::Four => "backup only, daily backup",
        }
    }

    /// The standard's recovery objectives for the tier.
    pub fn standard_objective(self) -> RecoveryObjective {
        const MIN: u64 = 60;
        const HOUR: u64 = 60 * MIN;
        let (rto, rpo) = match self {
            Tier::One => (HOUR, 15 * MIN),
            Tier::Two => (4 * HOUR, HOUR),
            Tier::Three => (24 * HOUR, 4 * HOUR),
            Tier::Four => (72 * HOUR, 24 * HOUR),
        };
        RecoveryObjective { rto: Duration::from_secs(rto), rpo: Duration::from_secs(rpo) }
    }
}

impl From<Tier> for u8 {
    fn from(tier: Tier) -> u8 {
        tier.number()
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tier {}", self.number())
    }
}

/// The objectives in force for each tier: the standard's, or the estate's overrides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TierObjectives([RecoveryObjective; 4]);

impl TierObjectives {
    pub fn standard() -> Self {
        TierObjectives(Tier::ALL.map(Tier::standard_objective))
    }

    pub fn get(&self, tier: Tier) -> RecoveryObjective {
        self.0[tier.index()]
    }

    pub fn set(&mut self, tier: Tier, objective: RecoveryObjective) {
        self.0[tier.index()] = objective;
    }
}

impl Default for TierObjectives {
    fn default() -> Self {
        Self::standard()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_objectives_match_the_standard() {
        let h = |n: u64| Duration::from_secs(n * 3600);
        let m = |n: u64| Duration::from_secs(n * 60);
        assert_eq!(Tier::One.standard_objective(), RecoveryObjective { rto: h(1), rpo: m(15) });
        assert_eq!(Tier::Two.standard_objective(), RecoveryObjective { rto: h(4), rpo: h(1) });
        assert_eq!(Tier::Three.standard_objective(), RecoveryObjective { rto: h(24), rpo: h(4) });
        assert_eq!(Tier::Four.standard_objective(), RecoveryObjective { rto: h(72), rpo: h(24) });
    }

    #[test]
    fn numbers_round_trip() {
        for tier in Tier::ALL {
            assert_eq!(Tier::from_number(i64::from(tier.number())), Some(tier));
        }
        assert_eq!(Tier::from_number(0), None);
        assert_eq!(Tier::from_number(5), None);
    }
}
