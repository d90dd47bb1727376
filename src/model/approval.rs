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

/// What an approval is for: the gate's policies are set per action and tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Backup,
    Verify,
    Restore,
    Adopt,
    Prune,
    Failover,
    Failback,
    Recover,
    /// Sending a stakeholder notice.
    Notify,
    Cancel,
}

impl Action {
    pub const ALL: [Action; 10] = [
        Action::Backup,
        Action::Verify,
        Action::Restore,
        Action::Adopt,
        Action::Prune,
        Action::Failover,
        Action::Failback,
        Action::Recover,
        Action::Notify,
        Action::Cancel,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Action::Backup => "backup",
            Action::Verify => "verify",
            Action::Restore => "restore",
            Action::Adopt => "adopt",
            Action::Prune => "prune",
            Action::Failover => "failover",
            Action::Failback => "failback",
            Action::Recover => "recover",
            Action::Notify => "notify",
            Action::Cancel => "cancel",
        }
    }

    /// The policy when the configuration says nothing: reading and copying run without asking
    /// (still audited), anything that deletes or changes production asks.
    pub fn default_policy(self) -> ApprovalPolicy {
        match self {
            Action::Backup | Action::Verify => ApprovalPolicy::None,
            // Adopting a backup makes this host vouch for it.
            // A notice reaches people: the commander reads it first.
            Action::Prune | Action::Cancel | Action::Adopt | Action::Notify => ApprovalPolicy::Confirm,
            Action::Restore | Action::Failover | Action::Failback | Action::Recover => ApprovalPolicy::Typed,
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The policy for each action and tier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalPolicies(std::collections::BTreeMap<Action, [ApprovalPolicy; 4]>);

impl Default for ApprovalPolicies {
    fn default() -> Self {
        ApprovalPolicies(Action::ALL.iter().map(|a| (*a, [a.default_policy(); 4])).collect())
    }
}

impl ApprovalPolicies {
    pub fn get(&self, action: Action, tier: super::Tier) -> ApprovalPolicy {
        self.0.get(&action).map(|t| t[tier.index()]).unwrap_or(action.default_policy())
    }

    pub fn set(&mut self, action: Action, tier: super::Tier, policy: ApprovalPolicy) {
        self.0.entry(action).or_insert([action.default_policy(); 4])[tier.index()] = policy;
    }
}
