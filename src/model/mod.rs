//! The domain, in pure Rust: tiers, objectives, the dependency graph, RPO and RTO.
//!
//! Nothing here does I/O or reads the clock: every function that depends on time takes `now`.
//! Everything hard to get right lives here, where it can be tested exhaustively.

pub mod access;
pub mod approval;
pub mod audit;
pub mod backup;
pub mod comms;
pub mod decision;
pub mod doc;
pub mod duration;
pub mod exercise;
pub mod failover;
pub mod graph;
pub mod health;
pub mod job;
pub mod notice;
pub mod objective;
pub mod plan;
pub mod plandoc;
pub mod programme;
pub mod recovery;
pub mod replication;
pub mod report;
pub mod rpo;
pub mod runbook;
pub mod signature;
pub mod statuspage;
pub mod system;
pub mod tier;

pub use approval::{Action, ApprovalPolicies, ApprovalPolicy};
pub use backup::{BackupKind, BackupSummary, Media, RetentionPolicy, Schedule, ThreeTwoOne};
pub use decision::{Decision, Reason, Signal, Thresholds, Verdict, VerdictHold, decide};
pub use graph::{Cycle, DependencyGraph, UnknownDependency};
pub use health::{HealthState, HealthTracker, HealthWindow, Outcome, Sample, WindowStats, impacted_by};
pub use objective::{RecoveryObjective, RtoClock};
pub use rpo::{RpoPolicy, RpoStatus, Severity};
pub use system::{Estate, System};
pub use tier::{Tier, TierObjectives};
