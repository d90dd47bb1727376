//! Who may do what: the people of a war room (`[[operators]]`), their roles, and for each
//! action and tier which roles may propose it and which may approve it (`[permissions]`).
//!
//! With no `[[operators]]` every operator has every role (one person at one console). Once the
//! list exists, a name not on it is read-only, and so is an observer.

use std::collections::BTreeMap;
use std::fmt;

use super::approval::Action;
use super::signature::PublicKey;
use super::tier::Tier;

/// A person's part in the war room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Leads the response: the only one who approves a tier-1 failover by default.
    Commander,
    /// Approves what others propose (the second person of a two-person approval).
    Approver,
    /// Proposes work and runs routine work (backups, verifications).
    Operator,
    /// Watches: read-only.
    Observer,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Commander, Role::Approver, Role::Operator, Role::Observer];

    pub fn name(self) -> &'static str {
        match self {
            Role::Commander => "commander",
            Role::Approver => "approver",
            Role::Operator => "operator",
            Role::Observer => "observer",
        }
    }

    pub fn parse(s: &str) -> Result<Role, String> {
        Role::ALL.into_iter().find(|r| r.name() == s).ok_or_else(|| {
            format!("there is no role \"{s}\"; the roles are {}", Role::ALL.map(Role::name).join(", "))
        })
    }

    /// "a commander", "an approver".
    fn with_article(self) -> String {
        let a = if matches!(self, Role::Approver | Role::Operator | Role::Observer) { "an" } else { "a" };
        format!("{a} {}", self.name())
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Roles(u8);

impl Roles {
    pub const NONE: Roles = Roles(0);

    pub fn of(roles: &[Role]) -> Roles {
        Roles(roles.iter().fold(0, |bits, r| bits | Self::bit(*r)))
    }

    fn bit(role: Role) -> u8 {
        1 << (role as u8)
    }

    pub fn contains(self, role: Role) -> bool {
        self.0 & Self::bit(role) != 0
    }

    pub fn union(self, other: Roles) -> Roles {
        Roles(self.0 | other.0)
    }

    pub fn meets(self, other: Roles) -> bool {
        self.0 & other.0 != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Role> {
        Role::ALL.into_iter().filter(move |r| self.contains(*r))
    }

    pub fn names(self) -> Vec<&'static str> {
        self.iter().map(Role::name).collect()
    }

    /// "a commander", "a commander or an approver", "a commander, an approver or an operator";
    /// "nobody" for none.
    pub fn either(self) -> String {
        let words: Vec<String> = self.iter().map(Role::with_article).collect();
        match words.as_slice() {
            [] => "nobody".to_owned(),
            [one] => one.clone(),
            [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
        }
    }

    /// "an observer", "a commander and an approver".
    pub fn both(self) -> String {
        let words: Vec<String> = self.iter().map(Role::with_article).collect();
        match words.as_slice() {
            [] => "nobody in particular".to_owned(),
            [one] => one.clone(),
            [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
        }
    }
}

/// The two decisions a job takes before it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    Propose,
    Approve,
}

impl Step {
    pub fn name(self) -> &'static str {
        match self {
            Step::Propose => "propose",
            Step::Approve => "approve",
        }
    }

    /// "proposing", "approving".
    pub fn doing(self) -> &'static str {
        match self {
            Step::Propose => "proposing",
            Step::Approve => "approving",
        }
    }
}

/// The roles that may propose and approve each action, per tier.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Permissions(BTreeMap<Action, [[Roles; 2]; 4]>);

const PEOPLE: [Role; 3] = [Role::Commander, Role::Approver, Role::Operator];
const APPROVERS: [Role; 2] = [Role::Commander, Role::Approver];

impl Permissions {
    /// The rule when `[permissions]` says nothing: every role but observer proposes; routine
    /// work (backups, verifications) is approved by anyone who may propose it, the rest by a
    /// commander or an approver, and a tier-1 failover, failback or recovery by a commander.
    pub fn default_for(action: Action, tier: Tier) -> [Roles; 2] {
        let approve = match action {
            Action::Backup | Action::Verify => Roles::of(&PEOPLE),
            Action::Failover | Action::Failback | Action::Recover if tier == Tier::One => {
                Roles::of(&[Role::Commander])
            }
            _ => Roles::of(&APPROVERS),
        };
        [Roles::of(&PEOPLE), approve]
    }

    pub fn allowed(&self, action: Action, tier: Tier, step: Step) -> Roles {
        let rules = self.0.get(&action).map(|t| t[tier.index()]).unwrap_or(Self::default_for(action, tier));
        rules[step as usize]
    }

    pub fn set(&mut self, action: Action, tier: Tier, step: Step, roles: Roles) {
        let entry = self.0.entry(action).or_insert_with(|| Tier::ALL.map(|t| Self::default_for(action, t)));
        entry[tier.index()][step as usize] = roles;
    }
}

/// One person of the war room, and how a process shows it acts for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorEntry {
    pub name: String,
    pub roles: Roles,
    /// The OS user who is this person on a shared host (the name, when not given). Used only
    /// when the entry has no key.
    pub os_user: String,
    /// The public half of the person's own key (`warroom keygen --signing-only`): a process
    /// acts for them only while it holds the private half (`console.operator_key_file`).
    pub key: Option<PublicKey>,
}

/// `[[operators]]` and `[permissions]`.
/// Who proposes and approves the work the configuration itself starts: the backup schedule
/// (restore drills too) and a failover's commit window running out. No person acts, so no
/// role is checked; no operator may take these names.
pub const SCHEDULER: &str = "scheduler";
pub const COMMIT_WINDOW: &str = "warroom (commit window ended)";
pub const CONFIGURED: &[&str] = &[SCHEDULER, COMMIT_WINDOW];

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Access {
    pub operators: Vec<OperatorEntry>,
    pub permissions: Permissions,
}

impl Access {
    /// Whether who acts is checked at all (an `[[operators]]` list exists).
    pub fn enforced(&self) -> bool {
        !self.operators.is_empty()
    }

    pub fn operator(&self, name: &str) -> Option<&OperatorEntry> {
        self.operators.iter().find(|o| o.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_rule() {
        let p = Permissions::default();
        let approve = |a, t| p.allowed(a, t, Step::Approve);
        assert_eq!(approve(Action::Failover, Tier::One), Roles::of(&[Role::Commander]));
        assert_eq!(approve(Action::Failover, Tier::Two), Roles::of(&APPROVERS));
        assert!(approve(Action::Backup, Tier::One).contains(Role::Operator));
        for a in Action::ALL {
            for t in Tier::ALL {
                for s in [Step::Propose, Step::Approve] {
                    assert!(!p.allowed(a, t, s).contains(Role::Observer), "an observer is read-only");
                }
            }
        }
    }

    #[test]
    fn a_set_rule_changes_only_its_tier_and_step() {
        let mut p = Permissions::default();
        p.set(Action::Failover, Tier::Two, Step::Approve, Roles::of(&[Role::Commander]));
        assert_eq!(p.allowed(Action::Failover, Tier::Two, Step::Approve), Roles::of(&[Role::Commander]));
        assert_eq!(p.allowed(Action::Failover, Tier::Three, Step::Approve), Roles::of(&APPROVERS));
        assert_eq!(p.allowed(Action::Failover, Tier::Two, Step::Propose), Roles::of(&PEOPLE));
    }

    #[test]
    fn roles_read_as_english() {
        assert_eq!(Roles::of(&[Role::Commander]).either(), "a commander");
        assert_eq!(Roles::of(&APPROVERS).either(), "a commander or an approver");
        assert_eq!(Roles::of(&PEOPLE).either(), "a commander, an approver or an operator");
        assert_eq!(Roles::of(&[Role::Observer]).both(), "an observer");
        assert_eq!(Roles::NONE.either(), "nobody");
    }
}
