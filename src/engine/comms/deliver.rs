//! The deliverer: claim the outbox's due rows, hand each to its channel, settle the answer.
//!
//! Any process on the state may run one (an open console, `warroom notify deliver`, a notify
//! job waiting for its messages); the claim's lease keeps two from holding one row. A row is
//! retried with backoff for as long as it takes (a DR site's network can be down for an hour),
//! honouring a server's `Retry-After`, until it is accepted or refused for good; after
//! `fallback_after` failures a contact's next channel takes over.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use serde::Serialize;

use super::channels::{Answer, Senders};
use crate::engine::Engine;
use crate::model::comms::{DeliveryState, OutboxRow, backoff};
use crate::store::outbox::Attempt;
use crate::store::{NewAuditRecord, Outcome};

/// How long a claim holds a row: longer than any channel's timeout.
const LEASE: Duration = Duration::from_secs(120);
/// Rows claimed per round.
const BATCH: u32 = 256;

/// What one round did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Round {
    pub delivered: usize,
    pub retrying: usize,
    pub failed: usize,
    pub fell_back: usize,
    /// Rows another deliverer took meanwhile (nothing written).
    pub lost: usize,
}

impl Round {
    pub fn attempted(&self) -> usize {
        self.delivered + self.retrying + self.failed + self.fell_back + self.lost
    }
}

/// One deliverer: its name on claims, and the channels' clients (the SMTP pool lives here).
#[derive(Clone)]
pub struct Deliverer {
    engine: Engine,
    owner: String,
    senders: Arc<Senders>,
}

impl Deliverer {
    pub fn new(engine: &Engine) -> Deliverer {
        let owner = format!("{}:{}:{}", crate::engine::jobs::hostname(), std::process::id(), next_serial());
        let notify = Arc::new(engine.config().notify.clone());
        Deliverer { engine: engine.clone(), owner, senders: Arc::new(Senders::new(notify)) }
    }

    /// Deliver what is due now; returns what happened.
    pub async fn round(&self) -> Result<Round, String> {
        let now = self.engine.now();
        let until = now + chrono::Duration::from_std(LEASE).unwrap_or_default();
        let rows =
            self.engine.store.claim_due(&self.owner, now, until, BATCH).await.map_err(|e| e.to_string())?;
        let parallel =
            self.engine.config().notify.email.as_ref().map(|e| e.pool as usize).unwrap_or(4).max(4) * 2;
        let results: Vec<Result<Settled, String>> = futures_util::stream::iter(rows)
            .map(|row| async move { self.attempt(row).await })
            .buffer_unordered(parallel)
            .collect()
            .await;
        let mut round = Round::default();
        for r in results {
            match r? {
                Settled::Delivered => round.delivered += 1,
                Settled::Retrying => round.retrying += 1,
                Settled::Failed => round.failed += 1,
                Settled::FellBack => round.fell_back += 1,
                Settled::Lost => round.lost += 1,
            }
        }
        Ok(round)
    }

    async fn attempt(&self, row: OutboxRow) -> Result<Settled, String> {
        let answer = self.senders.send(&row).await;
        let now = self.engine.now();
        let fallback_after = self.engine.config().notify.fallback_after;
        // The delivery's audit record: which row, which attempt, and what this answer adds.
        let what = |outcome, extra: serde_json::Value| {
            let mut details = serde_json::json!({
                "key": row.key, "channel": row.channel, "recipient": row.recipient, "attempt": row.attempts + 1,
            });
            if let (Some(d), serde_json::Value::Object(extra)) = (details.as_object_mut(), extra) {
                d.extend(extra);
            }
            NewAuditRecord::new("warroom", "notify.delivered", &row.incident, outcome).details(details)
        };
        let (attempt, audit, settled) = match answer {
            Answer::Accepted { state, provider_id } => {
                let audit = what(Outcome::Succeeded, serde_json::json!({ "provider_id": provider_id }));
                (Attempt::Accepted { state, provider_id }, Some(audit), Settled::Delivered)
            }
            Answer::Permanent { error } => {
                let audit = what(Outcome::Failed, serde_json::json!({ "error": error }));
                match fallback_row(&row, now) {
                    Some(replacement) => (
                        Attempt::FallBack { error, replacement: Box::new(replacement) },
                        Some(audit),
                        Settled::FellBack,
                    ),
                    None => (Attempt::Permanent { error }, Some(audit), Settled::Failed),
                }
            }
            Answer::Retry { error, after } => {
                let attempts = row.attempts + 1;
                match fallback_row(&row, now).filter(|_| attempts >= fallback_after) {
                    Some(replacement) => {
                        let audit = what(
                            Outcome::Failed,
                            serde_json::json!({ "error": error, "fallback": replacement.channel }),
                        );
                        let error = format!(
                            "{error} (after {attempts} attempts: {} takes over)",
                            replacement.channel
                        );
                        (
                            Attempt::FallBack { error, replacement: Box::new(replacement) },
                            Some(audit),
                            Settled::FellBack,
                        )
                    }
                    None => {
                        let wait = backoff(attempts, after);
                        let next = now + chrono::Duration::from_std(wait).unwrap_or_default();
                        (Attempt::Retry { error, next }, None, Settled::Retrying)
                    }
                }
            }
        };
        let held = self
            .engine
            .store
            .settle_attempt(&row.key, &self.owner, &attempt, audit.as_ref(), now)
            .await
            .map_err(|e| e.to_string())?;
        Ok(if held { settled } else { Settled::Lost })
    }

    /// Deliver until `stop` says so: a round whenever something is due, else a short sleep.
    pub async fn run(&self, mut stop: tokio::sync::watch::Receiver<bool>, mut on_round: impl FnMut(&Round)) {
        loop {
            if *stop.borrow() {
                return;
            }
            let wait = match self.round().await {
                Ok(r) if r.attempted() > 0 => {
                    on_round(&r);
                    Duration::ZERO
                }
                Ok(_) => self.until_next_due().await,
                Err(e) => {
                    tracing::warn!(error = %e, "the outbox could not be read; trying again");
                    Duration::from_secs(2)
                }
            };
            if wait > Duration::ZERO {
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }

    /// Until the soonest row is due, at most a second (new rows appear from other processes).
    async fn until_next_due(&self) -> Duration {
        let now = self.engine.now();
        match self.engine.store.next_due().await {
            Ok(Some(t)) if t > now => (t - now).to_std().unwrap_or_default().min(Duration::from_secs(1)),
            Ok(Some(_)) => Duration::from_millis(50),
            _ => Duration::from_secs(1),
        }
    }
}

enum Settled {
    Delivered,
    Retrying,
    Failed,
    FellBack,
    Lost,
}

fn next_serial() -> u64 {
    static SERIAL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// The row for the contact's next channel, from the bytes made with the notice.
fn fallback_row(row: &OutboxRow, now: chrono::DateTime<chrono::Utc>) -> Option<OutboxRow> {
    use base64::Engine as _;
    let list = row.meta.get("fallback")?.as_array()?;
    let (next, rest) = list.split_first()?;
    let channel: crate::model::comms::Channel = serde_json::from_value(next.get("channel")?.clone()).ok()?;
    let body = base64::engine::general_purpose::STANDARD.decode(next.get("body")?.as_str()?).ok()?;
    let mut meta = next.get("meta").cloned().unwrap_or(serde_json::json!({}));
    meta["fallback"] = serde_json::Value::Array(rest.to_vec());
    Some(OutboxRow {
        key: OutboxRow::key_for(&row.notice, &row.recipient, channel),
        channel,
        address: next.get("address")?.as_str()?.to_owned(),
        body,
        meta,
        state: DeliveryState::Queued,
        attempts: 0,
        next_attempt: None,
        last_error: None,
        provider_id: None,
        queued_at: now,
        sent_at: None,
        fallback_of: Some(row.key.clone()),
        ..row.clone()
    })
}
