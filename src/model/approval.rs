//! What it takes to approve an action.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// The approval gate's policies, from lightest to heaviest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ApprovalPolicy {
    /// Runs without asking (still audited).
    None,
    /// Press y (or approve) to run.
    Confirm,
    /// Type the system's name to run.
    Typed,
    /// A second operator, not the proposer, approves.
    TwoPerson,
}

impl ApprovalPolicy {
    pub const NAMES: &'static [&'static str] = &["none", "confirm", "typed", "two-person"];

    pub fn name(self) -> &'static str {
        match self {
            ApprovalPolicy::None => "none",
            ApprovalPolicy::Confirm => "confirm",
            ApprovalPolicy::Typed => "typed",
            ApprovalPolicy::TwoPerson => "two-person",
        }
    }
}

impl FromStr for ApprovalPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "none" => Ok(ApprovalPolicy::None),
            "confirm" => Ok(ApprovalPolicy::Confirm),
            "typed" => Ok(ApprovalPolicy::Typed),
            "two-person" | "two_person" => Ok(ApprovalPolicy::TwoPerson),
            other => Err(format!(
                "there is no approval policy \"{other}\"; use {}",
                ApprovalPolicy::NAMES.join(", ")
            )),
        }
    }
}

impl fmt::Display for ApprovalPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
