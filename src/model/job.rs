//! Jobs as the domain sees them: what kind of work, where it has got, what an operator may say
//! to it. One spelling each, used by the store, the audit log, JSON and the command line.
//!
//! ```text
//!  JobKind   backup verify deep-verify restore-drill restore adopt prune failover failback
//!            recover notify
//!  JobState  proposed ─► approved ─► running ─► succeeded | failed | cancelled | interrupted
//!  Signal    confirm abort skip retry        (to a running job, from any process)
//!  Progress  stage, done/total in bytes or steps, rate, ETA, and what it waits for
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

/// A kind of background work. Adding one means a variant here and a module in the engine's
/// `work`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum JobKind {
    Backup,
    Verify,
    DeepVerify,
    /// The testing programme's restore drill: the newest verified backup restored into
    /// scratch, checked file by file, timed against the RTO.
    RestoreDrill,
    Restore,
    Adopt,
    Prune,
    Failover,
    Failback,
    Recover,
    /// A stakeholder notice: queued in the outbox and delivered.
    Notify,
}

impl JobKind {
    pub const ALL: [JobKind; 11] = [
        JobKind::Backup,
        JobKind::Verify,
        JobKind::DeepVerify,
        JobKind::RestoreDrill,
        JobKind::Restore,
        JobKind::Adopt,
        JobKind::Prune,
        JobKind::Failover,
        JobKind::Failback,
        JobKind::Recover,
        JobKind::Notify,
    ];

    pub fn name(self) -> &'static str {
        match self {
            JobKind::Backup => "backup",
            JobKind::Verify => "verify",
            JobKind::DeepVerify => "deep-verify",
            JobKind::RestoreDrill => "restore-drill",
            JobKind::Restore => "restore",
            JobKind::Adopt => "adopt",
            JobKind::Prune => "prune",
            JobKind::Failover => "failover",
            JobKind::Failback => "failback",
            JobKind::Recover => "recover",
            JobKind::Notify => "notify",
        }
    }

    pub fn parse(s: &str) -> Option<JobKind> {
        JobKind::ALL.into_iter().find(|k| k.name() == s)
    }

    /// How many jobs of the kind run at once in one process.
    pub fn concurrency(self) -> usize {
        match self {
            JobKind::Backup | JobKind::Verify | JobKind::DeepVerify => 2,
            // A plan runs every system of a wave at once.
            JobKind::Failover | JobKind::Failback => 256,
            JobKind::Restore => 8,
            JobKind::Recover => 4,
            JobKind::Adopt | JobKind::Prune | JobKind::RestoreDrill => 1,
            JobKind::Notify => 4,
        }
    }

    /// Jobs sharing a lock class never run at once on one system (across processes too).
    pub fn lock_class(self) -> Option<LockClass> {
        match self {
            // They all write the system's repositories.
            JobKind::Backup | JobKind::Prune | JobKind::Adopt => Some(LockClass::Repository),
            JobKind::Restore => Some(LockClass::Restore),
            JobKind::Verify | JobKind::DeepVerify | JobKind::RestoreDrill => None,
            // A failover and a failback of one system never run at once.
            JobKind::Failover | JobKind::Failback => Some(LockClass::Failover),
            JobKind::Recover => Some(LockClass::Recover),
            // Notices of one incident may overlap (an update while the last one retries).
            JobKind::Notify => None,
        }
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// What a job holds on its system while it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LockClass {
    Repository,
    Restore,
    Failover,
    Recover,
}

impl LockClass {
    pub fn name(self) -> &'static str {
        match self {
            LockClass::Repository => "repository",
            LockClass::Restore => "restore",
            LockClass::Failover => "failover",
            LockClass::Recover => "recover",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Proposed,
    Approved,
    Running,
    Succeeded,
    Failed,
    Cancelled,
    Interrupted,
}

impl JobState {
    pub const ALL: [JobState; 7] = [
        JobState::Proposed,
        JobState::Approved,
        JobState::Running,
        JobState::Succeeded,
        JobState::Failed,
        JobState::Cancelled,
        JobState::Interrupted,
    ];

    pub fn name(self) -> &'static str {
        match self {
            JobState::Proposed => "proposed",
            JobState::Approved => "approved",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
            JobState::Interrupted => "interrupted",
        }
    }

    pub fn parse(s: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|k| k.name() == s)
    }

    pub fn finished(self) -> bool {
        matches!(self, JobState::Succeeded | JobState::Failed | JobState::Cancelled | JobState::Interrupted)
    }

    pub fn symbol(self) -> &'static str {
        match self {
            JobState::Proposed => "?",
            JobState::Approved => "◆",
            JobState::Running => "▶",
            JobState::Succeeded => "✔",
            JobState::Failed => "✖",
            JobState::Cancelled => "■",
            JobState::Interrupted => "⚠",
        }
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// What an operator says to a running job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    /// A manual step is done.
    Confirm,
    /// Stop at the manual step (or the whole plan).
    Abort,
    /// A plan goes on without this system.
    Skip,
    /// A plan tries this system again.
    Retry,
}

impl Signal {
    pub const ALL: [Signal; 4] = [Signal::Confirm, Signal::Abort, Signal::Skip, Signal::Retry];

    pub fn name(self) -> &'static str {
        match self {
            Signal::Confirm => "confirm",
            Signal::Abort => "abort",
            Signal::Skip => "skip",
            Signal::Retry => "retry",
        }
    }

    pub fn parse(s: &str) -> Option<Signal> {
        Signal::ALL.into_iter().find(|k| k.name() == s)
    }

    /// Skip and retry name the system of the plan they are about.
    pub fn names_a_system(self) -> bool {
        matches!(self, Signal::Skip | Signal::Retry)
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    #[default]
    Bytes,
    Steps,
}

/// What the gate shows: exactly what will happen.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Plan {
    pub title: String,
    pub lines: Vec<String>,
}

/// What a job waits for, other than its work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "for", rename_all = "snake_case")]
pub enum Waiting {
    /// An operator carries out `instruction` by hand, then confirms (or aborts).
    Manual { instruction: String },
}

/// Where a job has got.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Progress {
    pub stage: String,
    pub done: u64,
    pub total: Option<u64>,
    pub unit: Unit,
    /// Per second, over the last few seconds.
    pub rate: Option<f64>,
    pub eta_secs: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting: Option<Waiting>,
}

impl Progress {
    /// The instruction a manual step waits on, if it waits on one.
    pub fn manual_step(&self) -> Option<&str> {
        match &self.waiting {
            Some(Waiting::Manual { instruction }) => Some(instruction),
            None => None,
        }
    }

    /// Seconds left at `rate`, when both the rate and the total are known.
    pub fn eta(done: u64, total: Option<u64>, rate: Option<f64>) -> Option<u64> {
        match (rate, total) {
            (Some(r), Some(t)) if r > 0.0 && t > done => Some(((t - done) as f64 / r).ceil() as u64),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn one_spelling_each_way() {
        for k in JobKind::ALL {
            assert_eq!(JobKind::parse(k.name()), Some(k));
            assert_eq!(serde_json::to_value(k).ok(), Some(serde_json::json!(k.name())));
        }
        for s in JobState::ALL {
            assert_eq!(JobState::parse(s.name()), Some(s));
            assert_eq!(serde_json::to_value(s).ok(), Some(serde_json::json!(s.name())));
        }
        for s in Signal::ALL {
            assert_eq!(Signal::parse(s.name()), Some(s));
            assert_eq!(serde_json::to_value(s).ok(), Some(serde_json::json!(s.name())));
        }
        assert_eq!(JobKind::parse("deep_verify"), None);
        assert_eq!(Signal::parse("Confirm"), None);
    }

    #[test]
    fn a_manual_step_is_a_field_not_a_prefix() {
        let p = Progress { stage: "manual: not this".into(), ..Progress::default() };
        assert_eq!(p.manual_step(), None);
        let p = Progress {
            waiting: Some(Waiting::Manual { instruction: "Stop replication".into() }),
            ..Progress::default()
        };
        assert_eq!(p.manual_step(), Some("Stop replication"));
        // Saved before the field existed: reads as waiting for nothing.
        let old: Progress = serde_json::from_str(
            r#"{"stage":"x","done":1,"total":null,"unit":"steps","rate":null,"eta_secs":null}"#,
        )
        .unwrap_or_default();
        assert_eq!(old.stage, "x");
        assert_eq!(old.waiting, None);
    }

    proptest! {
        #[test]
        fn eta_is_what_is_left_at_the_rate(done in 0u64..1 << 40, left in 0u64..1 << 40, rate in 0.001f64..1e9) {
            let eta = Progress::eta(done, Some(done + left), Some(rate));
            if left == 0 {
                prop_assert_eq!(eta, None);
            } else {
                let secs = eta.unwrap_or(0) as f64;
                prop_assert!(secs >= left as f64 / rate - 1e-6);
                prop_assert!(secs < left as f64 / rate + 1.0);
            }
            prop_assert_eq!(Progress::eta(done, None, Some(rate)), None);
            prop_assert_eq!(Progress::eta(done, Some(done + left), Some(0.0)), None);
        }
    }
}
