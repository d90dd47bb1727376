//! Who may do what, checked in the engine so the console and the commands obey one rule.
//!
//! ```text
//!  [[operators]] ─► identify (at open and reload): the key in console.operator_key_file, else
//!                   the process's OS user ─► Identity: Open | Proven(name, how) | Unproven(why)
//!  propose / approve / commit / signal / write ─► permit: the name must be the one proven,
//!                   listed, and hold a role [permissions] allows ─► Ok, or a Refusal (audited)
//! ```
//! Work the configuration itself starts (the backup schedule, a commit window's default, one
//! system's job inside an approved recovery plan) is not a person's act: it is not checked.

use std::path::Path;

use crate::engine::Engine;
use crate::engine::jobs::Refusal;
use crate::model::access::{Access, Role, Roles, Step};
use crate::model::{Action, Tier};
use crate::store::{NewAuditRecord, Outcome};

/// Why `operator` may not do `what` (which `needs` a role) under `access`, this process being
/// `identity`; `named` if someone named the operator (`--operator`, `console.operator`).
/// `None`: they may. Nothing is audited here.
pub fn judge(
    access: &Access,
    identity: &Identity,
    operator: &str,
    named: bool,
    needs: Roles,
    what: &str,
) -> Option<Refusal> {
    if !access.enforced() {
        return None;
    }
    Some(match (access.operator(operator), identity) {
        // Nobody named who acts, and the process showed nobody: the reason, not the login name.
        (None, Identity::Unproven { why }) if !named => {
            Refusal::NotProven { operator: operator.to_owned(), why: why.clone() }
        }
        (None, _) => Refusal::Unlisted { operator: operator.to_owned(), what: what.to_owned(), needs },
        (Some(_), Identity::Proven { name, how }) if name != operator => {
            Refusal::ActsForAnother { operator: operator.to_owned(), name: name.clone(), how: how.clone() }
        }
        (Some(_), Identity::Unproven { why }) => {
            Refusal::NotProven { operator: operator.to_owned(), why: why.clone() }
        }
        (Some(entry), _) if !entry.roles.meets(needs) => {
            Refusal::Role { operator: operator.to_owned(), has: entry.roles, needs, what: what.to_owned() }
        }
        (Some(_), _) => return None,
    })
}

/// The roles that may change anything at all: every one but observer.
pub const WRITERS: &[Role] = &[Role::Commander, Role::Approver, Role::Operator];

/// Who this process acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// No `[[operators]]`: nothing is checked.
    Open,
    /// This process showed it acts for `name`; `how` says how ("OS user alice", "key 1F2E...").
    Proven { name: String, how: String },
    /// It could not show it acts for anyone listed: why, in words.
    Unproven { why: String },
}

impl Identity {
    pub fn describe(&self) -> String {
        match self {
            Identity::Open => "no [[operators]] list: nothing is checked".to_owned(),
            Identity::Proven { name, how } => format!("{name} ({how})"),
            Identity::Unproven { why } => why.clone(),
        }
    }
}

/// The OS user this process runs as: the owner of `/proc/self`, named from `/etc/passwd`
/// (never `$USER`, which anyone can set).
pub fn os_user() -> String {
    use std::os::unix::fs::MetadataExt;
    let Ok(uid) = std::fs::metadata("/proc/self").map(|m| m.uid()) else {
        return "an unknown user".to_owned();
    };
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|passwd| {
            passwd.lines().find_map(|line| {
                let mut fields = line.split(':');
                let name = fields.next()?;
                (fields.nth(1)? == uid.to_string()).then(|| name.to_owned())
            })
        })
        .unwrap_or_else(|| format!("uid {uid}"))
}

/// Who this process acts for under `access`: the listed person whose key `key_file` holds,
/// else the one who is the OS user `user` (an entry without a key).
pub fn identify(access: &Access, key_file: Option<&Path>, user: &str) -> Identity {
    if !access.enforced() {
        return Identity::Open;
    }
    if let Some(path) = key_file {
        let secret = match crate::engine::backup::keys::load(path) {
            Ok(k) => k,
            Err(e) => return Identity::Unproven { why: format!("the operator key cannot be used: {e}") },
        };
        let public = secret.public();
        return match access.operators.iter().find(|o| o.key.as_ref() == Some(&public)) {
            Some(o) => Identity::Proven { name: o.name.clone(), how: format!("key {}", public.key_id()) },
            None => Identity::Unproven {
                why: format!(
                    "the key in {} ({}) is no listed operator's key",
                    path.display(),
                    public.key_id()
                ),
            },
        };
    }
    match access.operators.iter().find(|o| o.key.is_none() && o.os_user == user) {
        Some(o) => Identity::Proven { name: o.name.clone(), how: format!("OS user {user}") },
        None => Identity::Unproven {
            why: format!("this process runs as the OS user \"{user}\", who is no listed operator"),
        },
    }
}

/// Why an operator's write (a plan review, pruning results, the status page) did not happen.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// What was asked is wrong: the words say what to give instead.
    #[error("{0}")]
    Input(String),
    /// Who asked may not (a role, read-only, the keep): nothing was written.
    #[error("{0}")]
    Refused(Refusal),
    /// The state or the world failed.
    #[error("{0}")]
    Failed(String),
}

impl From<Refusal> for WriteError {
    fn from(r: Refusal) -> WriteError {
        WriteError::Refused(r)
    }
}

/// What the console's header says of who acts: their roles, or that they may only watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    /// "commander", "approver+operator", "not listed", "not shown to be alice".
    pub label: String,
    /// Nothing this operator does would be allowed (observer, not listed, not proven).
    pub read_only: bool,
}

impl Engine {
    /// The operator's standing under `[[operators]]` (`None` without the list).
    pub fn standing(&self) -> Option<Standing> {
        let access = &self.config.access;
        if !access.enforced() {
            return None;
        }
        let operator = self.operator();
        let (label, read_only) = match (access.operator(operator), &*self.identity) {
            (None, _) => ("not listed".to_owned(), true),
            (Some(_), Identity::Proven { name, .. }) if name != operator => {
                (format!("not shown to be {operator}"), true)
            }
            (Some(_), Identity::Unproven { .. }) => (format!("not shown to be {operator}"), true),
            (Some(entry), _) => (entry.roles.names().join("+"), !entry.roles.meets(Roles::of(WRITERS))),
        };
        Some(Standing { label, read_only })
    }

    /// Who this process acts for.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// Whether `operator` may take `step` on `action` for a system of `tier`. A refusal is
    /// audited as `audit_action` on `target`.
    pub(in crate::engine) async fn permit(
        &self,
        operator: &str,
        rule: (Action, Tier, Step),
        audit_action: &str,
        target: &str,
    ) -> Result<(), Refusal> {
        self.permit_unless_own(operator, rule, false, audit_action, target).await
    }

    /// [`Engine::permit`], where `own` (the job is the operator's own: they proposed or
    /// approved it) waives the role, never the proof that this process acts for them.
    pub(in crate::engine) async fn permit_unless_own(
        &self,
        operator: &str,
        rule: (Action, Tier, Step),
        own: bool,
        audit_action: &str,
        target: &str,
    ) -> Result<(), Refusal> {
        let (action, tier, step) = rule;
        let needs = self.config.access.permissions.allowed(action, tier, step);
        let what = match action {
            Action::Cancel => format!("cancelling another's job on {tier}"),
            _ => format!("{} a {tier} {}", step.doing(), action.name()),
        };
        let needs = if own { Roles::of(&Role::ALL) } else { needs };
        self.check(operator, needs, &what, audit_action, target).await
    }

    /// Whether `operator` may change anything at all (a note, an incident, an exercise): every
    /// listed role but observer may.
    pub async fn permit_write(
        &self,
        operator: &str,
        what: &str,
        audit_action: &str,
        target: &str,
    ) -> Result<(), Refusal> {
        self.check(operator, Roles::of(WRITERS), what, audit_action, target).await
    }

    async fn check(
        &self,
        operator: &str,
        needs: Roles,
        what: &str,
        audit_action: &str,
        target: &str,
    ) -> Result<(), Refusal> {
        let access = &self.config.access;
        let named = self.config.console.operator_named;
        let Some(refusal) = judge(access, &self.identity, operator, named, needs, what) else {
            return Ok(());
        };
        let details = serde_json::json!({
            "reason": refusal.to_string(),
            "needs": needs.names(),
            "roles": access.operator(operator).map(|o| o.roles.names()).unwrap_or_default(),
            "identity": self.identity.describe(),
        });
        self.audit(NewAuditRecord::new(operator, audit_action, target, Outcome::Refused).details(details))
            .await
            .map_err(Refusal::from)?;
        Err(refusal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::access::{OperatorEntry, Permissions};

    fn access() -> Access {
        Access {
            operators: vec![OperatorEntry {
                name: "alice".into(),
                roles: Roles::of(&[Role::Commander]),
                os_user: "al".into(),
                key: None,
            }],
            permissions: Permissions::default(),
        }
    }

    #[test]
    fn the_os_user_names_the_operator() {
        assert_eq!(identify(&Access::default(), None, "al"), Identity::Open);
        assert_eq!(
            identify(&access(), None, "al"),
            Identity::Proven { name: "alice".into(), how: "OS user al".into() }
        );
        assert!(matches!(identify(&access(), None, "alice"), Identity::Unproven { .. }));
    }

    #[test]
    fn a_key_that_cannot_be_read_proves_nobody() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let id = identify(&access(), Some(&dir.path().join("missing")), "al");
        assert!(matches!(&id, Identity::Unproven { why } if why.contains("cannot be used")), "{id:?}");
    }
}
