//! Jobs: one place proposes, gates, runs, records and settles every kind of background work.
//!
//! ```text
//!  plan (work::<kind>) ─► JobSpec + Plan ─► propose ─► Proposed ──approve (the gate: policy,
//!     read-only, typed proof)──► Approved ──start──► Running ─► Succeeded | Failed | Cancelled
//!     └── cancelled at the gate ──► Cancelled          a process that died: Interrupted
//!  dispatch: JobSpec ─► work::<kind>::run(engine, …, &JobContext) ─► Ok(outcome) | Err(why)
//! ```
//! - [`pool`]: the pool and the gate: bounded concurrency per kind, a timeout and cancellation,
//!   one job of a lock class per system even across processes (a lock row taken in one
//!   transaction), progress and heartbeats saved every second, owners' deaths settled.
//! - [`context`]: what a running job reports through: job-neutral progress, its log, signals.
//! - [`dispatch`]: the engine's side: the policy for a spec, and the one match from a spec to
//!   the module of its kind of work (`engine::work`).
//!
//! Adding a kind of work: a [`JobKind`] variant, a [`JobSpec`] variant and a module in `work`.

mod context;
mod dispatch;
mod pool;

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::engine::EngineError;
pub use crate::model::job::{JobKind, JobState, Plan, Progress, Signal, Unit, Waiting};
use crate::model::{Action, ApprovalPolicy};
use crate::store::StoreError;

pub use context::{JobContext, Meter};
pub use pool::{HEARTBEAT, JobPool, OWNER_GONE_AFTER, Owner, hostname};

/// What a job does, exactly: stored with the job, so the plan shown is the plan run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub enum JobSpec {
    /// `kind` and `parent` are decided when it is proposed: the plan says which.
    Backup {
        system: String,
        kind: crate::model::BackupKind,
        parent: Option<String>,
    },
    Verify {
        system: String,
        id: Option<String>,
        deep: bool,
        /// A private key file given for this job, else `[encryption] identity_file`.
        #[serde(default)]
        identity: Option<String>,
    },
    Restore {
        system: String,
        id: String,
        location: String,
        target: String,
        force: bool,
        #[serde(default)]
        identity: Option<String>,
        /// The backup is not signed by a trusted key: the operator named it, and the gate
        /// takes the typed proof (never `--yes`).
        #[serde(default)]
        untrusted: bool,
    },
    /// A restore drill: backup `id` of `system` from `location` restored into `scratch` (a
    /// folder of the state's own), checked file by file, timed against the RTO, removed.
    RestoreDrill {
        system: String,
        id: String,
        location: String,
        scratch: String,
    },
    /// Sign a backup made before signing (or by another key) after a deep verify of it.
    Adopt {
        system: String,
        id: String,
        #[serde(default)]
        identity: Option<String>,
        /// SHA-256 of the manifest the plan showed: only those bytes are signed.
        #[serde(default)]
        manifest_sha256: String,
        /// Not merely made before signing (a bad signature, an unknown key): typed gate.
        #[serde(default)]
        untrusted: bool,
    },
    Prune {
        system: String,
        delete: Vec<String>,
    },
    /// The system's failover procedure (or, with `failback`, its failback).
    Failover {
        system: String,
        failback: bool,
        /// SHA-256 of the procedure as planned: what was approved is what runs (a configuration
        /// reloaded meanwhile with other steps refuses to run it). Empty in a job recorded by a
        /// version before it.
        #[serde(default)]
        procedure_sha256: String,
    },
    /// A recovery plan over `systems`; `target` names it (the incident, or the system).
    Recover {
        target: String,
        systems: Vec<String>,
        incident: Option<String>,
    },
    /// A stakeholder notice of `stage` for `incident` to `lists`.
    Notify {
        incident: String,
        stage: crate::model::comms::Stage,
        lists: Vec<String>,
        #[serde(default)]
        message: String,
    },
}

impl JobSpec {
    pub fn kind(&self) -> JobKind {
        match self {
            JobSpec::Backup { .. } => JobKind::Backup,
            JobSpec::Verify { deep: false, .. } => JobKind::Verify,
            JobSpec::Verify { deep: true, .. } => JobKind::DeepVerify,
            JobSpec::RestoreDrill { .. } => JobKind::RestoreDrill,
            JobSpec::Restore { .. } => JobKind::Restore,
            JobSpec::Adopt { .. } => JobKind::Adopt,
            JobSpec::Prune { .. } => JobKind::Prune,
            JobSpec::Failover { failback: false, .. } => JobKind::Failover,
            JobSpec::Failover { failback: true, .. } => JobKind::Failback,
            JobSpec::Recover { .. } => JobKind::Recover,
            JobSpec::Notify { .. } => JobKind::Notify,
        }
    }

    pub fn system(&self) -> &str {
        match self {
            JobSpec::Backup { system, .. }
            | JobSpec::Verify { system, .. }
            | JobSpec::Restore { system, .. }
            | JobSpec::RestoreDrill { system, .. }
            | JobSpec::Adopt { system, .. }
            | JobSpec::Prune { system, .. }
            | JobSpec::Failover { system, .. } => system,
            JobSpec::Recover { target, .. } => target,
            JobSpec::Notify { incident, .. } => incident,
        }
    }

    pub fn action(&self) -> Action {
        match self {
            JobSpec::Backup { .. } => Action::Backup,
            // It reads the backup and writes only its own scratch: a verification's gate.
            JobSpec::Verify { .. } | JobSpec::RestoreDrill { .. } => Action::Verify,
            JobSpec::Restore { .. } => Action::Restore,
            JobSpec::Adopt { .. } => Action::Adopt,
            JobSpec::Prune { .. } => Action::Prune,
            JobSpec::Failover { failback: false, .. } => Action::Failover,
            JobSpec::Failover { failback: true, .. } => Action::Failback,
            JobSpec::Recover { .. } => Action::Recover,
            JobSpec::Notify { .. } => Action::Notify,
        }
    }

    /// Routine work that changes nothing a system serves: backups, verifications, the
    /// programme's restore drills into scratch. An exercise neither stops it (a tabletop
    /// carries it out) nor scopes it: stopping it would breach RPOs outside the exercise.
    pub fn is_routine(&self) -> bool {
        matches!(self, JobSpec::Backup { .. } | JobSpec::Verify { .. } | JobSpec::RestoreDrill { .. })
    }

    /// Only the typed proof (the system's name) approves it: restoring what no trusted key
    /// signed.
    pub fn needs_typed_proof(&self) -> bool {
        matches!(self, JobSpec::Restore { untrusted: true, .. } | JobSpec::Adopt { untrusted: true, .. })
    }
}

/// A job as the console and the commands see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobSnapshot {
    pub id: String,
    pub kind: JobKind,
    pub target: String,
    pub state: JobState,
    pub plan: Plan,
    pub policy: ApprovalPolicy,
    pub proposed_by: String,
    pub proposed_at: Option<DateTime<Utc>>,
    pub approved_by: Option<String>,
    pub approved_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub outcome: Option<String>,
    pub progress: Progress,
    pub log: Vec<String>,
    /// Who approved it, in order (two-person needs two).
    pub approvals: Vec<String>,
    /// What it reports beyond progress (a recovery plan's systems).
    pub detail: Option<serde_json::Value>,
}

impl JobSnapshot {
    /// Who may run it once approved if the process that proposed it is gone: those who
    /// approved it, then its proposer.
    pub fn takers(&self) -> Vec<&str> {
        let mut takers: Vec<&str> = self.approvals.iter().map(String::as_str).collect();
        if !takers.contains(&self.proposed_by.as_str()) {
            takers.push(&self.proposed_by);
        }
        takers
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum JobEvent {
    Changed(Box<JobSnapshot>),
}

/// How an approval was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proof {
    /// The operator confirmed (y, or Approve in the console).
    Confirmed,
    /// The operator typed this (the system's name, for `typed`).
    Typed(String),
    /// `--yes` on a command without a terminal.
    YesFlag,
    /// Nothing asked: the policy is `none` (the scheduler, or a command).
    Unattended,
    /// The configuration's schedule (`every`, `deep_verify_every`): backups and verifications
    /// the operator set up in advance.
    Scheduled,
    /// One system's recovery inside an approved recovery plan (the plan's job id).
    Plan(String),
    /// A commit window ended and its configured default (fail back) applies.
    CommitDefault,
}

impl Proof {
    fn describe(&self) -> &'static str {
        match self {
            Proof::Confirmed => "confirmed",
            Proof::Typed(_) => "typed the system's name",
            Proof::YesFlag => "--yes",
            Proof::Unattended => "unattended: nobody was asked",
            Proof::Scheduled => "on the configured schedule",
            Proof::Plan(_) => "part of an approved recovery plan",
            Proof::CommitDefault => "the commit window ended: the configured default",
        }
    }
}

/// Why the gate said no.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    ReadOnly,
    NeedsConfirm,
    NeedsTyped {
        system: String,
    },
    TwoPerson,
    NotWaiting {
        state: JobState,
    },
    /// The two-person policy: this was the first approval; another operator must give the second.
    AwaitingSecond {
        job: String,
        first: String,
    },
    /// The two-person policy: the second approval must come from someone else.
    SameOperator {
        operator: String,
    },
    Missing,
    /// Another job of its kind holds the system: this one did not start.
    Held(String),
    /// An operations exercise is open and the system is not in its scope.
    OutOfScope {
        system: String,
        exercise: String,
    },
    /// `[[operators]]`: the operator's roles do not include one that `what` needs.
    Role {
        operator: String,
        has: crate::model::access::Roles,
        needs: crate::model::access::Roles,
        what: String,
    },
    /// `[[operators]]` exists and does not name this operator: read-only.
    Unlisted {
        operator: String,
        what: String,
        needs: crate::model::access::Roles,
    },
    /// This process cannot show it acts for the operator named: `why`.
    NotProven {
        operator: String,
        why: String,
    },
    /// This process shows it acts for `name` (`how`), not for the `operator` named.
    ActsForAnother {
        operator: String,
        name: String,
        how: String,
    },
    /// An approved job whose proposer's process is gone is run by one who approved it, or by
    /// its proposer: not by `operator`.
    NotTheirs {
        operator: String,
        job: String,
        approvals: Vec<String>,
        proposer: String,
    },
    Store(String),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::OutOfScope { system, exercise } => write!(
                f,
                "exercise {exercise} is running and {system} is not in its scope: its procedures stay untouched until the exercise ends (`warroom exercise end`)"
            ),
            Refusal::ReadOnly => f.write_str(
                "console.read_only is set: every side effect is refused (the refusal is in the audit log)",
            ),
            Refusal::NeedsConfirm => {
                f.write_str("this needs a confirmation: answer y at the prompt, or give --yes")
            }
            Refusal::NeedsTyped { system } => {
                write!(f, "this needs the system's name typed: \"{system}\" (or --yes without a terminal)")
            }
            Refusal::TwoPerson => f.write_str(
                "this action's policy is two-person: two people approve it, which a schedule cannot; \
                 propose it by hand, or set its [approval] policy to \"typed\" or \"confirm\"",
            ),
            Refusal::NotWaiting { state } => write!(f, "the job is {state}, not waiting for approval"),
            Refusal::AwaitingSecond { job, first } => write!(
                f,
                "approved by {first}, the first of two: the two-person policy needs a second person, who approves it from their own console or with `warroom approve {job}`"
            ),
            Refusal::SameOperator { operator } => write!(
                f,
                "{operator} already approved or proposed this job: the two-person policy needs a second, different operator"
            ),
            Refusal::Missing => f.write_str("there is no such job"),
            Refusal::Role { operator, has, needs, what } => write!(
                f,
                "{operator} is {}: {what} needs {} (the roles are in [[operators]], the rules in [permissions])",
                has.both(),
                needs.either()
            ),
            Refusal::Unlisted { operator, what, needs } => write!(
                f,
                "{operator} is not in [[operators]], and an operator not listed is read-only: {what} needs {}; \
                 add an [[operators]] entry for {operator} with a role",
                needs.either()
            ),
            Refusal::NotProven { operator, why } => write!(
                f,
                "this process cannot act as {operator}: {why}, so it is read-only. An operator is shown by their OS \
                 user on a shared host, or by their own key on a remote console (console.operator_key_file or \
                 WARROOM_OPERATOR_KEY_FILE); ask for an [[operators]] entry with a role"
            ),
            Refusal::ActsForAnother { operator, name, how } => write!(
                f,
                "this process cannot act as {operator}: it acts for {name} ({how}), and may act only as {name}; \
                 leave out --operator (and WARROOM_OPERATOR), or act from {operator}'s own login or key"
            ),
            Refusal::NotTheirs { operator, job, approvals, proposer } => write!(
                f,
                "{job} is approved (by {}) but the process that proposed it is gone: {} or its proposer, \
                 {proposer}, runs it with `warroom approve {job}`, not {operator}; or it is withdrawn with \
                 `warroom reject {job}`",
                approvals.join(" and "),
                if approvals.len() > 1 { "one who approved it" } else { "the one who approved it" },
            ),
            Refusal::Held(e) | Refusal::Store(e) => f.write_str(e),
        }
    }
}

impl From<EngineError> for Refusal {
    fn from(e: EngineError) -> Self {
        Refusal::Store(e.to_string())
    }
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        Refusal::Store(e.to_string())
    }
}

/// The gate's rule: does `proof` satisfy `policy` for `system`?
pub fn satisfies(policy: ApprovalPolicy, proof: &Proof, system: &str) -> Result<(), Refusal> {
    match (policy, proof) {
        // Decided already: by the approved plan, or by the configuration's default.
        (_, Proof::Plan(_) | Proof::CommitDefault) => Ok(()),
        (ApprovalPolicy::None, _) => Ok(()),
        (ApprovalPolicy::TwoPerson, Proof::Scheduled) => Err(Refusal::TwoPerson),
        (_, Proof::YesFlag | Proof::Scheduled) => Ok(()),
        // Each of the two approvals is a confirmation; `approve` counts them.
        (ApprovalPolicy::TwoPerson, Proof::Confirmed | Proof::Typed(_)) => Ok(()),
        (ApprovalPolicy::TwoPerson, Proof::Unattended) => Err(Refusal::NeedsConfirm),
        (ApprovalPolicy::Confirm, Proof::Confirmed | Proof::Typed(_)) => Ok(()),
        (ApprovalPolicy::Confirm, Proof::Unattended) => Err(Refusal::NeedsConfirm),
        (ApprovalPolicy::Typed, Proof::Typed(t)) if t.trim() == system => Ok(()),
        (ApprovalPolicy::Typed, _) => Err(Refusal::NeedsTyped { system: system.to_owned() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_rule() {
        let s = "database";
        assert!(satisfies(ApprovalPolicy::None, &Proof::Unattended, s).is_ok());
        assert!(satisfies(ApprovalPolicy::Confirm, &Proof::Confirmed, s).is_ok());
        assert_eq!(satisfies(ApprovalPolicy::Confirm, &Proof::Unattended, s), Err(Refusal::NeedsConfirm));
        assert!(satisfies(ApprovalPolicy::Typed, &Proof::Typed("database".into()), s).is_ok());
        assert!(satisfies(ApprovalPolicy::Typed, &Proof::Typed("datab".into()), s).is_err());
        assert!(satisfies(ApprovalPolicy::Typed, &Proof::Confirmed, s).is_err());
        assert!(satisfies(ApprovalPolicy::Typed, &Proof::YesFlag, s).is_ok());
        assert!(satisfies(ApprovalPolicy::TwoPerson, &Proof::YesFlag, s).is_ok(), "one of the two");
        assert_eq!(satisfies(ApprovalPolicy::TwoPerson, &Proof::Unattended, s), Err(Refusal::NeedsConfirm));
        assert_eq!(satisfies(ApprovalPolicy::TwoPerson, &Proof::Scheduled, s), Err(Refusal::TwoPerson));
        assert!(
            satisfies(ApprovalPolicy::Typed, &Proof::Plan("J-1".into()), s).is_ok(),
            "covered by the plan"
        );
    }
}
