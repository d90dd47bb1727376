//! The kinds of work, one module each: what a job of that kind does once the gate let it
//! through. Each gets the job's [`JobContext`](crate::engine::jobs::JobContext) (its meter,
//! stage, log) and returns its outcome: `Ok(what it did)` or `Err(why it failed)`.
//! `engine::jobs::dispatch` is the one match from a spec to these.

mod adopt;
mod backup;
mod drill;
mod failover;
mod notify;
mod prune;
mod recover;
mod restore;
mod verify;
