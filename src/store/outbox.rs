//! Notices and the outbox: what was sent for an incident, and every message's delivery.
//!
//! A row is queued with its exact bytes in the same write as its notice and the notice's audit
//! record. A deliverer claims due rows (a lease: two deliverers, in one process or two, never
//! hold the same row), hands each to its server, and marks it sent in the same write as the
//! delivery's audit record, only after the server accepted it. A deliverer that dies holding a
//! row leaves it `sending`; once the lease runs out the row is due again. That is the one
//! window in which a message can go twice: the server accepted it and the process died before
//! its write.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{NewAuditRecord, Store, StoreError, ts};
use crate::model::comms::{Channel, DeliveryState, NoticeRecord, OutboxRow, Stage};

const NOTICE_COLUMNS: &str =
    "id, incident, stage, seq, due_at, sent_at, next_update, lists, message, sent_by, job_id, external";

const OUTBOX_COLUMNS: &str = "key, notice, incident, recipient, channel, address, body, meta, state, attempts, \
     next_attempt, last_error, provider_id, queued_at, sent_at, fallback_of";

fn decode(what: &str) -> impl Fn(String) -> sqlx::Error + '_ {
    move |e| sqlx::Error::Decode(format!("{what}: {e}").into())
}

fn notice(r: &sqlx::any::AnyRow) -> Result<NoticeRecord, sqlx::Error> {
    let stage: String = r.try_get(2)?;
    let lists: String = r.try_get(7)?;
    let seq: i64 = r.try_get(3)?;
    Ok(NoticeRecord {
        id: r.try_get(0)?,
        incident: r.try_get(1)?,
        stage: Stage::parse(&stage).map_err(decode("a notice's stage"))?,
        seq: u32::try_from(seq).map_err(|e| decode("a notice's number")(e.to_string()))?,
        due_at: super::time("a notice's due time", r.try_get(4)?)?,
        sent_at: super::time("a notice's sending time", r.try_get(5)?)?,
        next_update: super::maybe_time("a notice's next update", r.try_get(6)?)?,
        lists: serde_json::from_str(&lists).map_err(|e| decode("a notice's lists")(e.to_string()))?,
        message: r.try_get(8)?,
        sent_by: r.try_get(9)?,
        job_id: r.try_get(10)?,
        external: r.try_get(11)?,
    })
}

fn outbox_row(r: &sqlx::any::AnyRow) -> Result<OutboxRow, sqlx::Error> {
    let channel: String = r.try_get(4)?;
    let state: String = r.try_get(8)?;
    let meta: String = r.try_get(7)?;
    let attempts: i64 = r.try_get(9)?;
    Ok(OutboxRow {
        key: r.try_get(0)?,
        notice: r.try_get(1)?,
        incident: r.try_get(2)?,
        recipient: r.try_get(3)?,
        channel: Channel::parse(&channel)
            .ok_or_else(|| decode("an outbox row's channel")(format!("\"{channel}\" is not a channel")))?,
        address: r.try_get(5)?,
        body: r.try_get(6)?,
        meta: serde_json::from_str(&meta).map_err(|e| decode("an outbox row's meta")(e.to_string()))?,
        state: DeliveryState::parse(&state)
            .ok_or_else(|| decode("an outbox row's state")(format!("\"{state}\" is not a delivery state")))?,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        next_attempt: super::maybe_time("an outbox row's next attempt", r.try_get(10)?)?,
        last_error: r.try_get(11)?,
        provider_id: r.try_get(12)?,
        queued_at: super::time("an outbox row's queue time", r.try_get(13)?)?,
        sent_at: super::maybe_time("an outbox row's sending time", r.try_get(14)?)?,
        fallback_of: r.try_get(15)?,
    })
}

async fn insert_row(w: &mut sqlx::AnyConnection, row: &OutboxRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO outbox (key, notice, incident, recipient, channel, address, body, meta, state, attempts, \
         next_attempt, last_error, provider_id, queued_at, sent_at, fallback_of) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
    )
    .bind(&row.key)
    .bind(&row.notice)
    .bind(&row.incident)
    .bind(&row.recipient)
    .bind(row.channel.name())
    .bind(&row.address)
    .bind(&row.body)
    .bind(row.meta.to_string())
    .bind(row.state.name())
    .bind(i64::from(row.attempts))
    .bind(row.next_attempt.map(ts))
    .bind(&row.last_error)
    .bind(&row.provider_id)
    .bind(ts(row.queued_at))
    .bind(row.sent_at.map(ts))
    .bind(&row.fallback_of)
    .execute(&mut *w)
    .await?;
    Ok(())
}

/// How a claimed row's attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// The server accepted it (`Sent`, or `DeliveredToProvider` with the provider's id).
    Accepted { state: DeliveryState, provider_id: Option<String> },
    /// Try again at `next`.
    Retry { error: String, next: DateTime<Utc> },
    /// Refused for good.
    Permanent { error: String },
    /// Refused too often: `replacement` (the contact's next channel) takes over.
    FallBack { error: String, replacement: Box<OutboxRow> },
}

impl Store {
    /// Record a notice, queue its rows and append its audit record: one write.
    pub async fn queue_notice(
        &self,
        n: &NoticeRecord,
        rows: &[OutboxRow],
        audit: &NewAuditRecord,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let doing = "queueing a notice";
        let err = self.error(doing);
        let mut w = self.write(doing).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO notices ({NOTICE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        )))
        .bind(&n.id)
        .bind(&n.incident)
        .bind(n.stage.name())
        .bind(i64::from(n.seq))
        .bind(ts(n.due_at))
        .bind(ts(n.sent_at))
        .bind(n.next_update.map(ts))
        .bind(serde_json::to_string(&n.lists).map_err(|e| err(sqlx::Error::Encode(e.into())))?)
        .bind(&n.message)
        .bind(&n.sent_by)
        .bind(&n.job_id)
        .bind(&n.external)
        .execute(&mut *w)
        .await
        .map_err(&err)?;
        for row in rows {
            insert_row(&mut w, row).await.map_err(&err)?;
        }
        self.append_in(&mut w, audit, at).await?;
        w.commit().await
    }

    /// Queue rows outside a notice (`notify test`), with their audit record.
    pub async fn queue_rows(
        &self,
        rows: &[OutboxRow],
        audit: &NewAuditRecord,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let doing = "queueing messages";
        let mut w = self.write(doing).await?;
        for row in rows {
            insert_row(&mut w, row).await.map_err(self.error(doing))?;
        }
        self.append_in(&mut w, audit, at).await?;
        w.commit().await
    }

    /// An incident's notices, oldest first (every incident's when `None`).
    pub async fn notices(&self, incident: Option<&str>) -> Result<Vec<NoticeRecord>, StoreError> {
        let doing = "reading notices";
        let rows = match incident {
            Some(id) => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {NOTICE_COLUMNS} FROM notices WHERE incident = $1 ORDER BY sent_at, seq"
                )))
                .bind(id)
                .fetch_all(self.pool())
                .await
            }
            None => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {NOTICE_COLUMNS} FROM notices ORDER BY sent_at, seq"
                )))
                .fetch_all(self.pool())
                .await
            }
        }
        .map_err(self.error(doing))?;
        rows.iter().map(notice).collect::<Result<_, _>>().map_err(self.error(doing))
    }

    /// Outbox rows, newest first: of one notice, one incident, or all.
    pub async fn outbox(
        &self,
        notice: Option<&str>,
        incident: Option<&str>,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let doing = "reading the outbox";
        let q = format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE ($1 IS NULL OR notice = $1) AND ($2 IS NULL OR incident = $2) \
             ORDER BY queued_at DESC, key"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(q))
            .bind(notice)
            .bind(incident)
            .fetch_all(self.pool())
            .await
            .map_err(self.error(doing))?;
        rows.iter().map(outbox_row).collect::<Result<_, _>>().map_err(self.error(doing))
    }

    /// Claim up to `limit` rows that are due at `now` for `owner`, until `until`: queued and
    /// retrying ones whose time has come, and `sending` ones whose deliverer's lease ran out.
    pub async fn claim_due(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let doing = "claiming outbox rows";
        let err = self.error(doing);
        let mut w = self.write(doing).await?;
        let now_s = ts(now);
        let keys: Vec<String> = sqlx::query_scalar(
            "SELECT key FROM outbox WHERE \
             (state IN ('queued', 'failed-retrying') AND (next_attempt IS NULL OR next_attempt <= $1) \
              AND (claimed_until IS NULL OR claimed_until < $1)) \
             OR (state = 'sending' AND claimed_until < $1) \
             ORDER BY queued_at, key LIMIT $2",
        )
        .bind(&now_s)
        .bind(i64::from(limit))
        .fetch_all(&mut *w)
        .await
        .map_err(&err)?;
        let mut rows = Vec::with_capacity(keys.len());
        for key in &keys {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE outbox SET state = 'sending', claimed_by = $1, claimed_until = $2 WHERE key = $3 RETURNING {OUTBOX_COLUMNS}"
            )))
            .bind(owner)
            .bind(ts(until))
            .bind(key)
            .fetch_one(&mut *w)
            .await
            .map_err(&err)?;
            rows.push(outbox_row(&row).map_err(&err)?);
        }
        w.commit().await?;
        Ok(rows)
    }

    /// Settle a claimed row's attempt, with its audit record in the same write. False (and
    /// nothing written) if `owner` no longer holds the row.
    pub async fn settle_attempt(
        &self,
        key: &str,
        owner: &str,
        attempt: &Attempt,
        audit: Option<&NewAuditRecord>,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let doing = "recording a delivery";
        let err = self.error(doing);
        let mut w = self.write(doing).await?;
        let (state, error, provider_id, sent_at, next) = match attempt {
            Attempt::Accepted { state, provider_id } => {
                (*state, None, provider_id.as_deref(), Some(ts(at)), None)
            }
            Attempt::Retry { error, next } => {
                (DeliveryState::FailedRetrying, Some(error), None, None, Some(ts(*next)))
            }
            Attempt::Permanent { error } => (DeliveryState::FailedPermanent, Some(error), None, None, None),
            Attempt::FallBack { error, .. } => (DeliveryState::FallbackUsed, Some(error), None, None, None),
        };
        let q = sqlx::query(
            "UPDATE outbox SET state = $1, last_error = $2, provider_id = COALESCE($3, provider_id), sent_at = $4, \
             next_attempt = $5, attempts = attempts + 1, claimed_by = NULL, claimed_until = NULL \
             WHERE key = $6 AND claimed_by = $7",
        )
        .bind(state.name())
        .bind(error)
        .bind(provider_id)
        .bind(sent_at)
        .bind(next);
        let done = q.bind(key).bind(owner).execute(&mut *w).await.map_err(&err)?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        if let Attempt::FallBack { replacement, .. } = attempt {
            insert_row(&mut w, replacement).await.map_err(&err)?;
        }
        if let Some(audit) = audit {
            self.append_in(&mut w, audit, at).await?;
        }
        w.commit().await?;
        Ok(true)
    }

    /// Give back a claimed row untouched (the deliverer is stopping).
    pub async fn release_claim(&self, key: &str, owner: &str) -> Result<(), StoreError> {
        self.execute(
            sqlx::query(
                "UPDATE outbox SET state = CASE WHEN attempts = 0 THEN 'queued' ELSE 'failed-retrying' END, \
                 claimed_by = NULL, claimed_until = NULL WHERE key = $1 AND claimed_by = $2 AND state = 'sending'",
            )
            .bind(key)
            .bind(owner),
            "releasing an outbox row",
        )
        .await?;
        Ok(())
    }

    /// The soonest time a pending row becomes due (for a deliverer's sleep).
    pub async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let doing = "reading the outbox";
        let t: Option<String> = sqlx::query_scalar(
            "SELECT MIN(COALESCE(CASE WHEN state = 'sending' THEN claimed_until ELSE next_attempt END, queued_at)) \
             FROM outbox WHERE state IN ('queued', 'failed-retrying', 'sending')",
        )
        .fetch_one(self.pool())
        .await
        .map_err(self.error(doing))?;
        super::maybe_time("the outbox's next due time", t).map_err(self.error(doing))
    }
}
