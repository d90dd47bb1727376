//! Job records and the locks that keep one job of a kind running per system, across processes.

use sqlx::Row;

use chrono::{DateTime, Utc};

use super::audit::retry_busy;
use super::{NewAuditRecord, Store, StoreError};

/// A job as stored: what it is, where it stands, who did what when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRow {
    pub id: String,
    pub kind: String,
    pub target: String,
    pub state: String,
    /// JSON: the plan shown at the gate.
    pub plan: String,
    /// JSON: what to run.
    pub spec: String,
    pub policy: String,
    pub proposed_by: String,
    pub proposed_at: String,
    pub approved_by: Option<String>,
    pub approved_at: Option<String>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub outcome: Option<String>,
    /// JSON: the latest progress.
    pub progress: Option<String>,
    /// JSON: the last lines of its log.
    pub log: String,
    pub owner_pid: Option<i64>,
    pub owner_host: Option<String>,
    pub heartbeat_at: Option<String>,
    /// JSON: the operators who approved it, in order (two-person needs two).
    pub approvals: Option<String>,
    /// JSON: what it reports beyond progress (a recovery plan's systems).
    pub detail: Option<String>,
}

const COLUMNS: &str = "id, kind, target, state, plan, spec, policy, proposed_by, proposed_at, approved_by, approved_at, \
                       started_at, finished_at, outcome, progress, log, owner_pid, owner_host, heartbeat_at, approvals, detail";

fn row_to_job(row: &sqlx::sqlite::SqliteRow) -> Result<JobRow, sqlx::Error> {
    Ok(JobRow {
        id: row.try_get(0)?,
        kind: row.try_get(1)?,
        target: row.try_get(2)?,
        state: row.try_get(3)?,
        plan: row.try_get(4)?,
        spec: row.try_get(5)?,
        policy: row.try_get(6)?,
        proposed_by: row.try_get(7)?,
        proposed_at: row.try_get(8)?,
        approved_by: row.try_get(9)?,
        approved_at: row.try_get(10)?,
        started_at: row.try_get(11)?,
        finished_at: row.try_get(12)?,
        outcome: row.try_get(13)?,
        progress: row.try_get(14)?,
        log: row.try_get(15)?,
        owner_pid: row.try_get(16)?,
        owner_host: row.try_get(17)?,
        heartbeat_at: row.try_get(18)?,
        approvals: row.try_get(19)?,
        detail: row.try_get(20)?,
    })
}

/// Who holds a lock, when it cannot be taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockHeld {
    pub job_id: String,
}

impl Store {
    pub async fn insert_job(&self, job: &JobRow) -> Result<(), StoreError> {
        self.execute(insert_query(job), "recording a job").await?;
        Ok(())
    }

    /// [`Store::insert_job`] and its audit record, in one write.
    pub async fn insert_job_audited(
        &self,
        job: &JobRow,
        audit: &NewAuditRecord,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.execute_audited(insert_query(job), "recording a job", audit, at, true).await?;
        Ok(())
    }

    pub async fn job(&self, id: &str) -> Result<Option<JobRow>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM jobs WHERE id = $1")))
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .map_err(self.error("reading a job"))?;
        row.as_ref().map(row_to_job).transpose().map_err(self.error("reading a job"))
    }

    /// The newest `limit` jobs, newest first.
    pub async fn jobs(&self, limit: u32) -> Result<Vec<JobRow>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM jobs ORDER BY proposed_at DESC, id DESC LIMIT $1"
        )))
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await
        .map_err(self.error("reading jobs"))?;
        rows.iter().map(row_to_job).collect::<Result<_, _>>().map_err(self.error("reading jobs"))
    }

    pub async fn jobs_in_state(&self, state: &str) -> Result<Vec<JobRow>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM jobs WHERE state = $1 ORDER BY proposed_at"
        )))
        .bind(state)
        .fetch_all(self.pool())
        .await
        .map_err(self.error("reading jobs"))?;
        rows.iter().map(row_to_job).collect::<Result<_, _>>().map_err(self.error("reading jobs"))
    }

    /// Move a job from `from` to `to` (only if it is still in `from`: another process may have
    /// moved it first). True if it moved.
    pub async fn transition_job(
        &self,
        id: &str,
        from: &[&str],
        to: &str,
        set: &[(&str, Option<String>)],
    ) -> Result<bool, StoreError> {
        let done = self.execute(transition_query(id, from, to, set), "updating a job").await?;
        Ok(done.rows_affected() == 1)
    }

    /// [`Store::transition_job`], and if it moved, `audit` appended in the same write.
    pub async fn transition_job_audited(
        &self,
        id: &str,
        from: &[&str],
        to: &str,
        set: &[(&str, Option<String>)],
        audit: &NewAuditRecord,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let q = transition_query(id, from, to, set);
        let done = self.execute_audited(q, "updating a job", audit, at, false).await?;
        Ok(done.rows_affected() == 1)
    }

    /// The running job's latest progress, log, detail and heartbeat.
    pub async fn save_job_runtime(
        &self,
        id: &str,
        progress: &str,
        log: &str,
        detail: Option<&str>,
        heartbeat: &str,
    ) -> Result<(), StoreError> {
        self.execute(sqlx::query(
            "UPDATE jobs SET progress = $1, log = $2, detail = COALESCE($3, detail), heartbeat_at = $4 WHERE id = $5",
        )
        .bind(progress)
        .bind(log)
        .bind(detail)
        .bind(heartbeat)
        .bind(id)
            , "saving a job's progress").await?;
        Ok(())
    }

    /// The owner (`host`, `pid`) is alive: every job of its that has not finished says so.
    pub async fn touch_jobs_of(&self, host: &str, pid: i64, at: &str) -> Result<(), StoreError> {
        self.execute(
            sqlx::query(
                "UPDATE jobs SET heartbeat_at = $1 WHERE owner_host = $2 AND owner_pid = $3 \
                 AND state IN ('proposed', 'approved', 'running')",
            )
            .bind(at)
            .bind(host)
            .bind(pid),
            "recording that this process is alive",
        )
        .await?;
        Ok(())
    }

    /// Take the lock on (`target`, `kind`) for `job_id`, unless another job holds it and
    /// `still_held(that job)` says it does. One transaction, so two processes cannot both win.
    pub async fn take_lock(
        &self,
        target: &str,
        kind: &str,
        job_id: &str,
        still_held: impl Fn(&JobRow) -> bool,
    ) -> Result<Result<(), LockHeld>, StoreError> {
        retry_busy(|| async {
            let err = self.error("taking a job lock");
            let mut tx = self.write("taking a job lock").await?;
            let holder: Option<String> =
                sqlx::query_scalar("SELECT job_id FROM job_locks WHERE target = $1 AND kind = $2")
                    .bind(target)
                    .bind(kind)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(&err)?;
            if let Some(other) = holder
                && other != job_id
            {
                let row =
                    sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM jobs WHERE id = $1")))
                        .bind(&other)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(&err)?;
                let held =
                    row.as_ref().map(row_to_job).transpose().map_err(&err)?.is_some_and(|j| still_held(&j));
                if held {
                    tx.rollback().await?;
                    return Ok(Err(LockHeld { job_id: other }));
                }
            }
            sqlx::query(
                "INSERT INTO job_locks (target, kind, job_id) VALUES ($1, $2, $3) \
                 ON CONFLICT (target, kind) DO UPDATE SET job_id = excluded.job_id",
            )
            .bind(target)
            .bind(kind)
            .bind(job_id)
            .execute(&mut *tx)
            .await
            .map_err(&err)?;
            tx.commit().await?;
            Ok(Ok(()))
        })
        .await
    }

    pub async fn release_lock(&self, target: &str, kind: &str, job_id: &str) -> Result<(), StoreError> {
        self.execute(
            sqlx::query("DELETE FROM job_locks WHERE target = $1 AND kind = $2 AND job_id = $3")
                .bind(target)
                .bind(kind)
                .bind(job_id),
            "releasing a job lock",
        )
        .await?;
        Ok(())
    }

    /// Record `operator`'s approval of `id` (in order); returns every approval so far.
    pub async fn add_approval(&self, id: &str, operator: &str) -> Result<Vec<String>, StoreError> {
        retry_busy(|| async {
            let err = self.error("recording an approval");
            let mut tx = self.write("recording an approval").await?;
            let current: Option<Option<String>> =
                sqlx::query_scalar("SELECT approvals FROM jobs WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(&err)?;
            let mut list: Vec<String> =
                current.flatten().and_then(|j| serde_json::from_str(&j).ok()).unwrap_or_default();
            if !list.iter().any(|o| o == operator) {
                list.push(operator.to_owned());
            }
            sqlx::query("UPDATE jobs SET approvals = $1 WHERE id = $2")
                .bind(serde_json::to_string(&list).unwrap_or_default())
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(&err)?;
            tx.commit().await?;
            Ok(list)
        })
        .await
    }

    /// Release every lock `job_id` holds.
    pub async fn release_locks_of(&self, job_id: &str) -> Result<(), StoreError> {
        self.execute(
            sqlx::query("DELETE FROM job_locks WHERE job_id = $1").bind(job_id),
            "releasing job locks",
        )
        .await?;
        Ok(())
    }
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Sqlite, <sqlx::Sqlite as sqlx::Database>::Arguments>;

/// `UPDATE jobs SET state = to, set... WHERE id = id AND state IN from`.
fn transition_query<'q>(
    id: &'q str,
    from: &[&'q str],
    to: &'q str,
    set: &[(&str, Option<String>)],
) -> Query<'q> {
    let mut sql = String::from("UPDATE jobs SET state = $1");
    for (i, (column, _)) in set.iter().enumerate() {
        sql.push_str(&format!(", {column} = ${}", i + 2));
    }
    let n = set.len() + 2;
    let states: Vec<String> = from.iter().enumerate().map(|(i, _)| format!("${}", n + 1 + i)).collect();
    sql.push_str(&format!(" WHERE id = ${n} AND state IN ({})", states.join(", ")));
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(to);
    for (_, value) in set {
        q = q.bind(value.clone());
    }
    q = q.bind(id);
    for s in from {
        q = q.bind(*s);
    }
    q
}

fn insert_query(job: &JobRow) -> Query<'_> {
    sqlx::query(
        "INSERT INTO jobs (id, kind, target, state, plan, spec, policy, proposed_by, proposed_at, approved_by, approved_at, \
         started_at, finished_at, outcome, progress, log, owner_pid, owner_host, heartbeat_at, approvals, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)",
    )
    .bind(&job.id)
    .bind(&job.kind)
    .bind(&job.target)
    .bind(&job.state)
    .bind(&job.plan)
    .bind(&job.spec)
    .bind(&job.policy)
    .bind(&job.proposed_by)
    .bind(&job.proposed_at)
    .bind(&job.approved_by)
    .bind(&job.approved_at)
    .bind(&job.started_at)
    .bind(&job.finished_at)
    .bind(&job.outcome)
    .bind(&job.progress)
    .bind(&job.log)
    .bind(job.owner_pid)
    .bind(&job.owner_host)
    .bind(&job.heartbeat_at)
    .bind(&job.approvals)
    .bind(&job.detail)
}
