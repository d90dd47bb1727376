//! What failovers and incidents keep: operators' signals to running jobs, each system's
//! failover state and commit window, and the health transitions the monitor saw.

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::Row;

use super::{NewAuditRecord, Store, StoreError, maybe_time, time};
use crate::model::failover::{FailoverRecord, FailoverState};
use crate::model::health::HealthEvent;
use crate::model::job::Signal;

fn ts(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// A signal an operator sent a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignalRow {
    pub id: i64,
    pub job_id: String,
    pub signal: Signal,
    pub argument: Option<String>,
    pub by: String,
    pub at: DateTime<Utc>,
}

impl Store {
    pub async fn send_signal(
        &self,
        job_id: &str,
        signal: Signal,
        argument: Option<&str>,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.execute(
            sqlx::query(
                "INSERT INTO job_signals (job_id, signal, argument, by_whom, at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(job_id)
            .bind(signal.name())
            .bind(argument)
            .bind(by)
            .bind(ts(&at)),
            "sending a signal to a job",
        )
        .await?;
        Ok(())
    }

    /// The signals sent to `job_id` not yet taken, oldest first; they are marked taken.
    pub async fn take_signals(
        &self,
        job_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Result<SignalRow, String>>, StoreError> {
        let err = self.error("reading a job's signals");
        let rows = sqlx::query(
            "SELECT id, job_id, signal, argument, by_whom, at FROM job_signals WHERE job_id = $1 AND taken_at IS NULL ORDER BY id",
        )
        .bind(job_id)
        .fetch_all(self.pool())
        .await
        .map_err(&err)?;
        // Every row is read first: one this version cannot read is taken too (so it cannot
        // block the ones after it) and handed back as what it was, for the job's log.
        let mut read = Vec::new();
        for r in rows {
            let id: i64 = r.try_get(0).map_err(&err)?;
            let name: String = r.try_get(2).map_err(&err)?;
            let by: String = r.try_get(4).map_err(&err)?;
            let signal = match Signal::parse(&name) {
                Some(signal) => Ok(SignalRow {
                    id,
                    job_id: r.try_get(1).map_err(&err)?,
                    signal,
                    argument: r.try_get(3).map_err(&err)?,
                    by,
                    at: time("a signal's time", r.try_get(5).map_err(&err)?).map_err(&err)?,
                }),
                None => Err(format!(
                    "{by} sent \"{name}\", which this warroom does not know (a newer one's signal?): it was set aside"
                )),
            };
            read.push((id, signal));
        }
        let mut out = Vec::new();
        for (id, signal) in read {
            let taken = self
                .execute(
                    sqlx::query("UPDATE job_signals SET taken_at = $1 WHERE id = $2 AND taken_at IS NULL")
                        .bind(ts(&now))
                        .bind(id),
                    "taking a job's signal",
                )
                .await?;
            if taken.rows_affected() == 1 {
                out.push(signal);
            }
        }
        Ok(out)
    }

    /// One system's failover state (one row read, not every system's).
    pub async fn system_state(&self, system: &str) -> Result<Option<FailoverRecord>, StoreError> {
        let err = self.error("reading a failover state");
        let rows = sqlx::query(
            "SELECT system, state, since, job_id, commit_deadline, on_timeout, detail FROM system_states WHERE system = $1",
        )
        .bind(system)
        .fetch_all(self.pool())
        .await
        .map_err(&err)?;
        Ok(Self::failover_records(&rows).map_err(err)?.into_iter().next())
    }

    pub async fn system_states(&self) -> Result<Vec<FailoverRecord>, StoreError> {
        let err = self.error("reading failover states");
        let rows = sqlx::query(
            "SELECT system, state, since, job_id, commit_deadline, on_timeout, detail FROM system_states ORDER BY system",
        )
        .fetch_all(self.pool())
        .await
        .map_err(&err)?;
        Self::failover_records(&rows).map_err(err)
    }

    fn failover_records(rows: &[sqlx::any::AnyRow]) -> Result<Vec<FailoverRecord>, sqlx::Error> {
        rows.iter()
            .map(|r| {
                let system: String = r.try_get(0)?;
                let state: String = r.try_get(1)?;
                Ok(FailoverRecord {
                    state: FailoverState::parse(&state).ok_or_else(|| {
                        sqlx::Error::Decode(
                            format!("{system}'s failover state \"{state}\" is not one this warroom knows (written by a newer one?)")
                                .into(),
                        )
                    })?,
                    system,
                    since: time("a failover state's time", r.try_get(2)?)?,
                    job_id: r.try_get(3)?,
                    commit_deadline: maybe_time("a commit deadline", r.try_get(4)?)?,
                    on_timeout: r.try_get(5)?,
                    detail: r.try_get(6)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
    }

    /// Record a system's failover state and, with `audit`, its audit record in the same write.
    pub async fn set_system_state(
        &self,
        row: &FailoverRecord,
        audit: Option<(&NewAuditRecord, DateTime<Utc>)>,
    ) -> Result<(), StoreError> {
        let q = sqlx::query(
            "INSERT INTO system_states (system, state, since, job_id, commit_deadline, on_timeout, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (system) DO UPDATE SET state = excluded.state, since = excluded.since, job_id = excluded.job_id, \
             commit_deadline = excluded.commit_deadline, on_timeout = excluded.on_timeout, detail = excluded.detail",
        );
        let q = bind_state(q, row);
        match audit {
            Some((record, at)) => {
                self.execute_audited(q, "recording a failover state", record, at, true).await?
            }
            None => self.execute(q, "recording a failover state").await?,
        };
        Ok(())
    }

    /// Move a system from `expected` to `row`'s state, with `audit` in the same write, only if
    /// it is still in `expected`: of several processes (on several hosts) that noticed the same
    /// thing, one moves it and records it. True if this one did.
    pub async fn settle_system_state(
        &self,
        row: &FailoverRecord,
        expected: crate::model::failover::FailoverState,
        audit: &NewAuditRecord,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let q = sqlx::query(
            "UPDATE system_states SET state = $2, since = $3, job_id = $4, commit_deadline = $5, on_timeout = $6, \
             detail = $7 WHERE system = $1 AND state = $8",
        );
        let q = bind_state(q, row).bind(expected.name());
        let done = self.execute_audited(q, "settling a failover state", audit, at, false).await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn record_health_event(&self, e: &HealthEvent) -> Result<(), StoreError> {
        self.execute(sqlx::query(
            "INSERT INTO health_events (at, system, kind, from_state, to_state, detail) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(ts(&e.at))
        .bind(&e.system)
        .bind(&e.kind)
        .bind(&e.from)
        .bind(&e.to)
        .bind(&e.detail)
        , "recording a health event").await?;
        Ok(())
    }

    /// Health events between `from` and `to` (inclusive), oldest first.
    pub async fn health_events(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<HealthEvent>, StoreError> {
        let err = self.error("reading health events");
        let rows = sqlx::query(
            "SELECT at, system, kind, from_state, to_state, detail FROM health_events WHERE at >= $1 AND at <= $2 ORDER BY at, id",
        )
        .bind(ts(&from))
        .bind(ts(&to))
        .fetch_all(self.pool())
        .await
        .map_err(&err)?;
        rows.iter()
            .map(|r| {
                Ok(HealthEvent {
                    at: time("a health event's time", r.try_get(0)?)?,
                    system: r.try_get(1)?,
                    kind: r.try_get(2)?,
                    from: r.try_get(3)?,
                    to: r.try_get(4)?,
                    detail: r.try_get(5)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(err)
    }

    /// When `system`'s current outage began: its newest transition into down or degraded, if
    /// no transition back to healthy came after it.
    pub async fn outage_start(&self, system: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        let err = self.error("reading health events");
        let row: Option<(String, Option<String>)> = sqlx::query_as(
            "SELECT at, to_state FROM health_events WHERE system = $1 AND kind = 'transition' ORDER BY at DESC, id DESC LIMIT 1",
        )
        .bind(system)
        .fetch_optional(self.pool())
        .await
        .map_err(&err)?;
        Ok(match row {
            Some((at, Some(to))) if to == "down" || to == "degraded" => {
                Some(time("a health event's time", at).map_err(&err)?)
            }
            _ => None,
        })
    }
}

/// A system state's columns, bound as `$1..$7` (system, state, since, job, deadline, default,
/// detail).
fn bind_state<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, <sqlx::Any as sqlx::Database>::Arguments>,
    row: &'q FailoverRecord,
) -> sqlx::query::Query<'q, sqlx::Any, <sqlx::Any as sqlx::Database>::Arguments> {
    q.bind(&row.system)
        .bind(row.state.name())
        .bind(ts(&row.since))
        .bind(&row.job_id)
        .bind(row.commit_deadline.as_ref().map(ts))
        .bind(&row.on_timeout)
        .bind(&row.detail)
}
