//! The failover states of a system, per the standard.
//!
//! ```text
//!  Normal ─(failover recommended)─► Alert ─(approved, started)─► FailoverInitiated
//!     ▲                                                             │ steps done
//!     │                                                             ▼
//!     │      committed / failed back              FailoverComplete ─► Validation ─► Recovered
//!     └──────────────────────────────────────────────────────────────────────────────┘ (commit window)
//!  any step or validation fails ─► (rollback) ─► Failed
//! ```

use chrono::{DateTime, Utc};
use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailoverState {
    #[default]
    Normal,
    /// Failover is recommended: someone should decide.
    Alert,
    FailoverInitiated,
    /// The steps are done; validation next.
    FailoverComplete,
    Validation,
    /// Validated: running on the standby, in its commit window.
    Recovered,
    /// A step or validation failed (and the rollback ran).
    Failed,
    /// Going back to the primary.
    FailingBack,
}

impl FailoverState {
    pub const ALL: [FailoverState; 8] = [
        FailoverState::Normal,
        FailoverState::Alert,
        FailoverState::FailoverInitiated,
        FailoverState::FailoverComplete,
        FailoverState::Validation,
        FailoverState::Recovered,
        FailoverState::Failed,
        FailoverState::FailingBack,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FailoverState::Normal => "normal",
            FailoverState::Alert => "alert",
            FailoverState::FailoverInitiated => "failover_initiated",
            FailoverState::FailoverComplete => "failover_complete",
            FailoverState::Validation => "validation",
            FailoverState::Recovered => "recovered",
            FailoverState::Failed => "failed",
            FailoverState::FailingBack => "failing_back",
        }
    }

    /// `None` for a name this version does not know: never read as Normal.
    pub fn parse(s: &str) -> Option<FailoverState> {
        FailoverState::ALL.into_iter().find(|x| x.name() == s)
    }

    /// Words for people.
    pub fn words(self) -> &'static str {
        match self {
            FailoverState::Normal => "normal",
            FailoverState::Alert => "alert",
            FailoverState::FailoverInitiated => "failover initiated",
            FailoverState::FailoverComplete => "failover complete",
            FailoverState::Validation => "validating",
            FailoverState::Recovered => "recovered (commit window)",
            FailoverState::Failed => "failover failed",
            FailoverState::FailingBack => "failing back",
        }
    }

    /// A procedure is under way.
    pub fn in_progress(self) -> bool {
        matches!(
            self,
            FailoverState::FailoverInitiated
                | FailoverState::FailoverComplete
                | FailoverState::Validation
                | FailoverState::FailingBack
        )
    }
}

impl fmt::Display for FailoverState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.words())
    }
}

/// The kinds of incident, per the standard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentKind {
    Natural,
    Cyber,
    Infrastructure,
    Pandemic,
    Regional,
}

impl IncidentKind {
    pub const NAMES: &'static str = "natural, cyber, infrastructure, pandemic, regional";
    pub const ALL: [IncidentKind; 5] = [
        IncidentKind::Natural,
        IncidentKind::Cyber,
        IncidentKind::Infrastructure,
        IncidentKind::Pandemic,
        IncidentKind::Regional,
    ];

    pub fn name(self) -> &'static str {
        match self {
            IncidentKind::Natural => "natural",
            IncidentKind::Cyber => "cyber",
            IncidentKind::Infrastructure => "infrastructure",
            IncidentKind::Pandemic => "pandemic",
            IncidentKind::Regional => "regional",
        }
    }

    pub fn parse(s: &str) -> Result<IncidentKind, String> {
        IncidentKind::ALL
            .into_iter()
            .find(|k| k.name() == s.to_ascii_lowercase())
            .ok_or_else(|| format!("there is no incident type \"{s}\": use {}", IncidentKind::NAMES))
    }
}

/// Severity: sev1 (the worst) to sev4. The standard's words are accepted too: critical = sev1,
/// high = sev2, medium = sev3, low = sev4 (shown as sev1..sev4 from then on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Severity(pub u8);

impl Severity {
    pub fn parse(s: &str) -> Result<Severity, String> {
        let word = s.trim().to_ascii_lowercase();
        let named = match word.as_str() {
            "critical" => Some(1),
            "high" => Some(2),
            "medium" => Some(3),
            "low" => Some(4),
            _ => None,
        };
        if let Some(n) = named {
            return Ok(Severity(n));
        }
        let digits = word.trim_start_matches("sev").trim_start_matches('s');
        match digits.parse::<u8>() {
            Ok(n @ 1..=4) => Ok(Severity(n)),
            _ => Err(format!(
                "there is no severity \"{s}\": use sev1 (the worst) to sev4, or critical, high, medium, low"
            )),
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sev{}", self.0)
    }
}

/// An incident as recorded: declared, its plan, closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentRecord {
    pub id: String,
    pub kind: String,
    pub severity: String,
    pub systems: Vec<String>,
    pub declared_by: String,
    pub declared_at: DateTime<Utc>,
    /// The recovery plan's job.
    pub plan_job: Option<String>,
    pub closed_by: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
    pub summary: Option<String>,
}

/// A system's failover state as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailoverRecord {
    pub system: String,
    pub state: FailoverState,
    pub since: DateTime<Utc>,
    pub job_id: Option<String>,
    pub commit_deadline: Option<DateTime<Utc>>,
    /// `commit` or `failback`.
    pub on_timeout: Option<String>,
    pub detail: Option<String>,
}

/// A state compares with its one spelling (`"failed"`).
impl PartialEq<&str> for FailoverState {
    fn eq(&self, other: &&str) -> bool {
        self.name() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in FailoverState::ALL {
            assert_eq!(FailoverState::parse(s.name()), Some(s));
        }
        assert_eq!(IncidentKind::parse("Cyber"), Ok(IncidentKind::Cyber));
        assert!(IncidentKind::parse("aliens").unwrap_err().contains("natural, cyber"));
        assert_eq!(Severity::parse("SEV2"), Ok(Severity(2)));
        assert_eq!(Severity::parse("1"), Ok(Severity(1)));
        assert!(Severity::parse("sev9").is_err());
        // The standard's own words.
        assert_eq!(Severity::parse("critical"), Ok(Severity(1)));
        assert_eq!(Severity::parse("High"), Ok(Severity(2)));
        assert_eq!(Severity::parse("medium"), Ok(Severity(3)));
        assert_eq!(Severity::parse("low"), Ok(Severity(4)));
        assert_eq!(Severity::parse("high").unwrap().to_string(), "sev2");
    }
}
