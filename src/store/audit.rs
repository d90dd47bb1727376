//! The audit chain: append-only, tamper-evident.
//!
//! Each record's hash is the SHA-256 of its canonical encoding, a JSON array
//! `[seq, at, operator, action, target, details, outcome, prev_hash]` (all strings except `seq`;
//! `details` is the stored JSON text, itself canonical: sorted keys, no spaces). Each record
//! holds the previous record's hash (64 zeros for the first). The newest `seq` and hash are also
//! kept in `meta` (`audit.head`), so removing the last records is detected too.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::Row;

use super::{Store, StoreError};
pub use crate::model::audit::{
    AuditProblem, AuditRecord, GENESIS, NewAuditRecord, Outcome, Verification, record_hash,
};

const HEAD_KEY: &str = "audit.head";

/// How long a write keeps retrying while other processes hold the database.
const WRITE_PATIENCE: Duration = Duration::from_secs(30);

/// Run `op` again while the database is busy, backing off, for up to [`WRITE_PATIENCE`].
pub(crate) async fn retry_busy<T, F, Fut>(mut op: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    let started = std::time::Instant::now();
    let mut backoff = Duration::from_millis(5);
    loop {
        match op().await {
            Err(e) if e.is_busy() && started.elapsed() < WRITE_PATIENCE => {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_millis(200));
            }
            other => return other,
        }
    }
}

pub(crate) async fn upsert_meta(
    conn: &mut sqlx::AnyConnection,
    key: &str,
    value: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        .bind(key)
        .bind(value)
        .execute(conn)
        .await
        .map(|_| ())
}

impl Store {
    /// Append a record at time `at`. Safe against concurrent appends from other processes.
    pub async fn append_audit(
        &self,
        new: &NewAuditRecord,
        at: DateTime<Utc>,
    ) -> Result<AuditRecord, StoreError> {
        retry_busy(|| self.try_append(new, at)).await
    }

    async fn try_append(&self, new: &NewAuditRecord, at: DateTime<Utc>) -> Result<AuditRecord, StoreError> {
        // The writing connection holds the write lock, so the head read below cannot go stale.
        let mut tx = self.write("appending to the audit log").await?;
        let record = self.append_in(&mut tx, new, at).await?;
        tx.commit().await?;
        Ok(record)
    }

    /// Record the configuration with hash `hash` as the one in force for `source` (a host and
    /// its file: hosts sharing one state each keep their own), appending the record
    /// `make(previous_hash)` when it differs from the last one recorded for that source. Compare
    /// and append are one transaction, so processes starting together record a change once.
    /// True if recorded.
    pub async fn note_config(
        &self,
        source: &str,
        hash: &str,
        make: impl Fn(Option<&str>) -> NewAuditRecord,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        // Before each source had its own: one for the whole state, still the previous one for
        // the first source to start after the upgrade.
        const LEGACY: &str = "config.hash";
        let key = format!("{LEGACY}@{source}");
        retry_busy(|| async {
            let err = self.error("recording the configuration");
            let mut tx = self.write("recording the configuration").await?;
            let read =
                |k: String| sqlx::query_scalar::<_, String>("SELECT value FROM meta WHERE key = $1").bind(k);
            let own: Option<String> = read(key.clone()).fetch_optional(&mut *tx).await.map_err(&err)?;
            let carried_over = own.is_none();
            let previous = match own {
                Some(own) => Some(own),
                None => read(LEGACY.to_owned()).fetch_optional(&mut *tx).await.map_err(&err)?,
            };
            if previous.as_deref() == Some(hash) {
                if carried_over {
                    // From the single record: the next comparison is this source's own.
                    upsert_meta(&mut tx, &key, hash).await.map_err(&err)?;
                    tx.commit().await?;
                } else {
                    tx.rollback().await?;
                }
                return Ok(false);
            }
            self.append_in(&mut tx, &make(previous.as_deref()), at).await?;
            upsert_meta(&mut tx, &key, hash).await.map_err(&err)?;
            tx.commit().await?;
            Ok(true)
        })
        .await
    }

    /// Append inside a write the caller holds ([`Store::write`]).
    pub(crate) async fn append_in(
        &self,
        tx: &mut sqlx::AnyConnection,
        new: &NewAuditRecord,
        at: DateTime<Utc>,
    ) -> Result<AuditRecord, StoreError> {
        let err = self.error("appending to the audit log");
        let head = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *tx)
            .await
            .map_err(&err)?;
        let (prev_seq, prev_hash) = match head {
            Some(row) => match (row.try_get::<i64, _>(0), row.try_get::<String, _>(1)) {
                (Ok(seq), Ok(hash)) => (seq, hash),
                _ => {
                    return Err(StoreError::Corrupt {
                        path: self.path().to_owned(),
                        reason: "the newest audit record cannot be read; run `warroom audit verify`".into(),
                    });
                }
            },
            None => (0, GENESIS.to_owned()),
        };
        // While an exercise is open, every record says it was made in it.
        let exercise: Option<String> = sqlx::query_scalar("SELECT id FROM exercises WHERE open = 1")
            .fetch_optional(&mut *tx)
            .await
            .map_err(&err)?;
        let details = match (exercise, &new.details) {
            (Some(id), serde_json::Value::Object(map)) if !map.contains_key("exercise") => {
                let mut map = map.clone();
                map.insert("exercise".to_owned(), serde_json::Value::String(id));
                serde_json::Value::Object(map).to_string()
            }
            _ => new.details.to_string(),
        };
        let mut record = AuditRecord {
            seq: prev_seq + 1,
            at: at.to_rfc3339_opts(SecondsFormat::Micros, true),
            operator: new.operator.clone(),
            action: new.action.clone(),
            target: new.target.clone(),
            details,
            outcome: new.outcome.as_str().to_owned(),
            prev_hash,
            hash: String::new(),
        };
        record.hash = record.expected_hash();
        sqlx::query(
            "INSERT INTO audit_log (seq, at, operator, action, target, details, outcome, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(record.seq)
        .bind(&record.at)
        .bind(&record.operator)
        .bind(&record.action)
        .bind(&record.target)
        .bind(&record.details)
        .bind(&record.outcome)
        .bind(&record.prev_hash)
        .bind(&record.hash)
        .execute(&mut *tx)
        .await
        .map_err(&err)?;
        upsert_meta(&mut *tx, HEAD_KEY, &format!("{} {}", record.seq, record.hash)).await.map_err(&err)?;
        Ok(record)
    }

    /// The hash of record `seq`, if there is one.
    pub async fn audit_hash(&self, seq: i64) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar::<_, String>("SELECT hash FROM audit_log WHERE seq = $1")
            .bind(seq)
            .fetch_optional(self.pool())
            .await
            .map_err(self.error("reading the audit log"))
    }

    /// The newest `limit` records (all when `None`), newest first.
    pub async fn audit_records(&self, limit: Option<u32>) -> Result<Vec<AuditRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, at, operator, action, target, details, outcome, prev_hash, hash \
             FROM audit_log ORDER BY seq DESC LIMIT $1",
        )
        .bind(limit.map(i64::from).unwrap_or(i64::MAX))
        .fetch_all(self.pool())
        .await
        .map_err(self.error("reading the audit log"))?;
        rows.iter().map(record_from_row).collect::<Result<_, _>>().map_err(|_| StoreError::Corrupt {
            path: self.path().to_owned(),
            reason: "an audit record cannot be read; run `warroom audit verify` to find it".into(),
        })
    }

    /// Walk the whole chain, oldest first, and report the first record that was altered,
    /// removed or reordered.
    pub async fn verify_audit(&self) -> Result<Verification, StoreError> {
        const PAGE: i64 = 5000;
        let err = self.error("verifying the audit log");
        let mut count = 0u64;
        let mut prev_seq = 0i64;
        let mut prev_hash = GENESIS.to_owned();
        let mut problem = None;
        // Pages keyed on seq keep memory bounded however long the log is.
        let mut after = i64::MIN;
        'pages: loop {
            let rows = sqlx::query(
                "SELECT seq, at, operator, action, target, details, outcome, prev_hash, hash \
                 FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
            )
            .bind(after)
            .bind(PAGE)
            .fetch_all(self.pool())
            .await
            .map_err(&err)?;
            let Some(last) = rows.last() else { break };
            after = last.try_get(0).unwrap_or(i64::MAX);
            for row in &rows {
                // A row whose columns no longer decode was written over by hand.
                let Ok(r) = record_from_row(row) else {
                    problem = Some(AuditProblem::Altered { seq: prev_seq + 1 });
                    break 'pages;
                };
                if r.seq != prev_seq + 1 {
                    problem = Some(AuditProblem::Removed { first: prev_seq + 1, last: r.seq - 1 });
                    break 'pages;
                }
                if r.prev_hash != prev_hash {
                    problem = Some(match self.seq_with_hash(&r.prev_hash).await? {
                        Some(s) if s != prev_seq => AuditProblem::Reordered { seq: r.seq, written_after: s },
                        _ if r.expected_hash() == r.hash => AuditProblem::LinkBroken { seq: r.seq },
                        _ => AuditProblem::Altered { seq: r.seq },
                    });
                    break 'pages;
                }
                if r.expected_hash() != r.hash {
                    problem = Some(AuditProblem::Altered { seq: r.seq });
                    break 'pages;
                }
                count += 1;
                prev_seq = r.seq;
                prev_hash = r.hash;
            }
        }
        let head = match problem {
            None => self.meta(HEAD_KEY).await?,
            Some(_) => None,
        };
        if head.is_none() && problem.is_none() && count > 0 {
            problem = Some(AuditProblem::HeadMissing { seq: prev_seq });
        }
        if let Some(head) = head {
            let head_seq = head.split(' ').next().and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
            if head_seq > prev_seq {
                problem = Some(AuditProblem::Removed { first: prev_seq + 1, last: head_seq });
            } else if head_seq == prev_seq && head != format!("{prev_seq} {prev_hash}") {
                problem = Some(AuditProblem::HeadMismatch { seq: prev_seq });
            }
        }
        Ok(Verification { records: count, head: (count > 0).then_some(prev_hash), problem })
    }

    async fn seq_with_hash(&self, hash: &str) -> Result<Option<i64>, StoreError> {
        sqlx::query_scalar::<_, i64>("SELECT seq FROM audit_log WHERE hash = $1 LIMIT 1")
            .bind(hash)
            .fetch_optional(self.pool())
            .await
            .map_err(self.error("verifying the audit log"))
    }
}

fn record_from_row(row: &sqlx::any::AnyRow) -> Result<AuditRecord, sqlx::Error> {
    Ok(AuditRecord {
        seq: row.try_get(0)?,
        at: row.try_get(1)?,
        operator: row.try_get(2)?,
        action: row.try_get(3)?,
        target: row.try_get(4)?,
        details: row.try_get(5)?,
        outcome: row.try_get(6)?,
        prev_hash: row.try_get(7)?,
        hash: row.try_get(8)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_790_000_000 + secs, 0).single().unwrap()
    }

    async fn store_with(n: i64) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        for i in 0..n {
            let rec = NewAuditRecord::new("alice", "note", &format!("t{i}"), Outcome::Recorded)
                .details(serde_json::json!({"b": i, "a": "x"}));
            store.append_audit(&rec, at(i)).await.unwrap();
        }
        (dir, store)
    }

    #[tokio::test]
    async fn an_untouched_chain_verifies() {
        let (_d, store) = store_with(5).await;
        let v = store.verify_audit().await.unwrap();
        assert!(v.ok(), "{v:?}");
        assert_eq!(v.records, 5);
        let newest = store.audit_records(Some(2)).await.unwrap();
        assert_eq!(newest.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![5, 4]);
        assert_eq!(newest[1].prev_hash, store.audit_records(None).await.unwrap()[2].hash);
        assert_eq!(newest[0].details, r#"{"a":"x","b":4}"#);
    }

    #[tokio::test]
    async fn an_empty_chain_verifies() {
        let (_d, store) = store_with(0).await;
        assert_eq!(
            store.verify_audit().await.unwrap(),
            Verification { records: 0, head: None, problem: None }
        );
    }

    #[tokio::test]
    async fn removing_the_newest_record_is_detected() {
        let (_d, store) = store_with(3).await;
        sqlx::query("DELETE FROM audit_log WHERE seq = 3").execute(store.pool()).await.unwrap();
        let v = store.verify_audit().await.unwrap();
        assert_eq!(v.problem, Some(AuditProblem::Removed { first: 3, last: 3 }));
    }
}
