//! The health of a system, as the monitor sees it.

use serde::Serialize;

/// Unknown until probes say otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthState {
    #[default]
    Unknown,
    Healthy,
    Degraded,
    Down,
}

impl HealthState {
    /// How bad it is, for sorting worst first: down, degraded, unknown, healthy.
    pub fn badness(self) -> u8 {
        match self {
            HealthState::Down => 3,
            HealthState::Degraded => 2,
            HealthState::Unknown => 1,
            HealthState::Healthy => 0,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            HealthState::Unknown => "◌",
            HealthState::Healthy => "●",
            HealthState::Degraded => "▲",
            HealthState::Down => "✖",
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            HealthState::Unknown => "UNKNOWN",
            HealthState::Healthy => "HEALTHY",
            HealthState::Degraded => "DEGRADED",
            HealthState::Down => "DOWN",
        }
    }

    pub const ALL: [HealthState; 4] =
        [HealthState::Down, HealthState::Degraded, HealthState::Healthy, HealthState::Unknown];
}
