//! The audit chain's records, as the domain sees them: what an operator (or warroom) did, how
//! it ended, and the hash chain that makes a change evident. The store keeps them; the console,
//! the commands and the documents show them.
//!
//! Each record's hash is the SHA-256 of its canonical encoding, a JSON array
//! `[seq, at, operator, action, target, details, outcome, prev_hash]` (all strings except `seq`;
//! `details` is the stored JSON text, itself canonical: sorted keys, no spaces). Each record
//! holds the previous record's hash (64 zeros for the first).

use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// How an audited action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Something was recorded (a note, a change noticed).
    Recorded,
    Succeeded,
    Failed,
    /// Refused by policy (read-only, no approval).
    Refused,
    Cancelled,
    Approved,
    Rejected,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Recorded => "recorded",
            Outcome::Succeeded => "succeeded",
            Outcome::Failed => "failed",
            Outcome::Refused => "refused",
            Outcome::Cancelled => "cancelled",
            Outcome::Approved => "approved",
            Outcome::Rejected => "rejected",
        }
    }
}

/// A record to append.
#[derive(Debug, Clone)]
pub struct NewAuditRecord {
    pub operator: String,
    pub action: String,
    pub target: String,
    pub details: serde_json::Value,
    pub outcome: Outcome,
}

impl NewAuditRecord {
    pub fn new(operator: &str, action: &str, target: &str, outcome: Outcome) -> Self {
        NewAuditRecord {
            operator: operator.to_owned(),
            action: action.to_owned(),
            target: target.to_owned(),
            details: serde_json::Value::Object(Default::default()),
            outcome,
        }
    }

    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

/// A stored record, exactly as stored (so a tampered one can still be shown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    pub seq: i64,
    pub at: String,
    pub operator: String,
    pub action: String,
    pub target: String,
    /// JSON text.
    #[serde(serialize_with = "raw_json")]
    pub details: String,
    pub outcome: String,
    pub prev_hash: String,
    pub hash: String,
}

fn raw_json<S: serde::Serializer>(text: &str, s: S) -> Result<S::Ok, S::Error> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) => v.serialize(s),
        Err(_) => s.serialize_str(text),
    }
}

impl AuditRecord {
    /// The hash this record's contents call for.
    pub fn expected_hash(&self) -> String {
        record_hash(
            self.seq,
            &self.at,
            &self.operator,
            &self.action,
            &self.target,
            &self.details,
            &self.outcome,
            &self.prev_hash,
        )
    }

    pub fn time(&self) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(&self.at).ok().map(|t| t.with_timezone(&Utc))
    }
}

#[allow(clippy::too_many_arguments)]
pub fn record_hash(
    seq: i64,
    at: &str,
    operator: &str,
    action: &str,
    target: &str,
    details: &str,
    outcome: &str,
    prev_hash: &str,
) -> String {
    let canonical = serde_json::json!([seq, at, operator, action, target, details, outcome, prev_hash]);
    format!("{:x}", Sha256::digest(canonical.to_string().as_bytes()))
}

/// What verification found wrong, at the first place it went wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum AuditProblem {
    /// The record's contents no longer match its hash.
    Altered { seq: i64 },
    /// Records `first..=last` are missing from the chain.
    Removed { first: i64, last: i64 },
    /// The record sits at `seq` but was written after the record now at `written_after`.
    Reordered { seq: i64, written_after: i64 },
    /// The record's link to the previous record is broken (the previous record was rewritten).
    LinkBroken { seq: i64 },
    /// The newest record differs from the head recorded beside the chain (it was rewritten).
    HeadMismatch { seq: i64 },
    /// Records exist but the head recorded beside the chain is gone (records after #seq may
    /// have been removed with it).
    HeadMissing { seq: i64 },
}

impl AuditProblem {
    /// The record the problem is at.
    pub fn seq(&self) -> i64 {
        match self {
            AuditProblem::Altered { seq }
            | AuditProblem::Reordered { seq, .. }
            | AuditProblem::HeadMismatch { seq } => *seq,
            AuditProblem::LinkBroken { seq } => seq - 1,
            AuditProblem::Removed { first, .. } => *first,
            AuditProblem::HeadMissing { seq } => seq + 1,
        }
    }
}

impl fmt::Display for AuditProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuditProblem::Altered { seq } => {
                write!(f, "record #{seq} was altered: its contents no longer match its hash")
            }
            AuditProblem::Removed { first, last } if first == last => {
                write!(f, "record #{first} was removed from the chain")
            }
            AuditProblem::Removed { first, last } => {
                write!(f, "records #{first} to #{last} were removed from the chain")
            }
            AuditProblem::Reordered { seq, written_after } => write!(
                f,
                "record #{seq} is out of order: it was written after the record now at #{written_after}"
            ),
            AuditProblem::LinkBroken { seq } => {
                write!(f, "record #{} was altered: record #{seq} no longer links to it", seq - 1)
            }
            AuditProblem::HeadMissing { seq } => {
                write!(f, "the chain's recorded head is missing: records after #{seq} may have been removed")
            }
            AuditProblem::HeadMismatch { seq } => write!(
                f,
                "record #{seq} was altered: it no longer matches the head recorded beside the chain"
            ),
        }
    }
}

/// The result of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    pub records: u64,
    pub head: Option<String>,
    pub problem: Option<AuditProblem>,
}

impl Verification {
    pub fn ok(&self) -> bool {
        self.problem.is_none()
    }
}
