//! Job records and the locks that keep one job of a kind running per system, across processes.

use sqlx::Row;

use chrono::{DateTime, SecondsFormat, Utc};

use super::audit::retry_busy;
use super::{NewAuditRecord, Store, StoreError};
use crate::model::ApprovalPolicy;
use crate::model::job::{JobKind, JobState, LockClass, Plan, Progress};

/// A job as stored: what it is, where it stands, who did what when.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRow {
    pub id: String,
    pub kind: JobKind,
    pub target: String,
    pub state: JobState,
    /// The plan shown at the gate.
    pub plan: Plan,
    /// JSON: what to run (the engine's to read).
    pub spec: String,
    pub policy: ApprovalPolicy,
    pub proposed_by: String,
    pub proposed_at: DateTime<Utc>,
    pub approved_by: Option<String>,
    pub approved_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub outcome: Option<String>,
    /// The latest progress.
    pub progress: Option<Progress>,
    /// The last lines of its log.
    pub log: Vec<String>,
    pub owner_pid: Option<i64>,
    pub owner_host: Option<String>,
    pub heartbeat_at: Option<DateTime<Utc>>,
    /// The operators who approved it, in order (two-person needs two).
    pub approvals: Vec<String>,
    /// What it reports beyond progress (a recovery plan's systems).
    pub detail: Option<serde_json::Value>,
}

const COLUMNS: &str = "id, kind, target, state, plan, spec, policy, proposed_by, proposed_at, approved_by, approved_at, \
                       started_at, finished_at, outcome, progress, log, owner_pid, owner_host, heartbeat_at, approvals, detail";

pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn decode(message: String) -> sqlx::Error {
    sqlx::Error::Decode(message.into())
}

fn row_to_job(row: &sqlx::any::AnyRow) -> Result<JobRow, sqlx::Error> {
    let id: String = row.try_get(0)?;
    let unknown = |what: &str, value: &str| {
        decode(format!(
            "job {id} has {what} \"{value}\", which this warroom does not know (written by a newer one?)"
        ))
    };
    /// A JSON column, decoded into what it holds.
    fn json<T: serde::de::DeserializeOwned>(id: &str, column: &str, text: &str) -> Result<T, sqlx::Error> {
        serde_json::from_str(text).map_err(|e| decode(format!("job {id}: its {column} cannot be read: {e}")))
    }
    let time = |column: &str, text: Option<String>| super::maybe_time(&format!("job {id}'s {column}"), text);
    let kind: String = row.try_get(1)?;
    let state: String = row.try_get(3)?;
    let policy: String = row.try_get(6)?;
    let plan: String = row.try_get(4)?;
    let progress: Option<String> = row.try_get(14)?;
    let log: String = row.try_get(15)?;
    let approvals: Option<String> = row.try_get(19)?;
    let detail: Option<String> = row.try_get(20)?;
    Ok(JobRow {
        kind: JobKind::parse(&kind).ok_or_else(|| unknown("the kind", &kind))?,
        state: JobState::parse(&state).ok_or_else(|| unknown("the state", &state))?,
        target: row.try_get(2)?,
        plan: json(&id, "plan", &plan)?,
        spec: row.try_get(5)?,
        policy: policy.parse().map_err(|_| unknown("the approval policy", &policy))?,
        proposed_by: row.try_get(7)?,
        proposed_at: super::time(&format!("job {id}'s proposal time"), row.try_get(8)?)?,
        approved_by: row.try_get(9)?,
        approved_at: time("approval time", row.try_get(10)?)?,
        started_at: time("start time", row.try_get(11)?)?,
        finished_at: time("end time", row.try_get(12)?)?,
        outcome: row.try_get(13)?,
        progress: progress.map(|p| json(&id, "progress", &p)).transpose()?,
        log: json(&id, "log", &log)?,
        owner_pid: row.try_get(16)?,
        owner_host: row.try_get(17)?,
        heartbeat_at: time("heartbeat", row.try_get(18)?)?,
        approvals: match approvals {
            Some(a) => json(&id, "approvals", &a)?,
            None => Vec::new(),
        },
        detail: detail.map(|d| json(&id, "detail", &d)).transpose()?,
        id,
    })
}

/// What a job's JSON columns hold, as text.
fn to_json(value: &impl serde::Serialize, what: &'static str) -> Result<String, sqlx::Error> {
    serde_json::to_string(value).map_err(|e| sqlx::Error::Encode(format!("{what}: {e}").into()))
}

/// Who holds a lock, when it cannot be taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockHeld {
    pub job_id: String,
}

impl Store {
    pub async fn insert_job(&self, job: &JobRow) -> Result<(), StoreError> {
        let q = insert_query(job).map_err(self.error("recording a job"))?;
        self.execute(q, "recording a job").await?;
        Ok(())
    }

    /// [`Store::insert_job`] and its audit records (its proposal; a job of an approved plan,
    /// its approval too), in one write.
    pub async fn insert_job_audited(
        &self,
        job: &JobRow,
        audit: &[NewAuditRecord],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let doing = "recording a job";
        let q = insert_query(job).map_err(self.error(doing))?;
        let mut w = self.write(doing).await?;
        q.execute(&mut *w).await.map_err(self.error(doing))?;
        for record in audit {
            self.append_in(&mut w, record, at).await?;
        }
        w.commit().await
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

    pub async fn jobs_in_state(&self, state: JobState) -> Result<Vec<JobRow>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM jobs WHERE state = $1 ORDER BY proposed_at"
        )))
        .bind(state.name())
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
        from: &[JobState],
        to: JobState,
        set: &[(&str, Option<String>)],
    ) -> Result<bool, StoreError> {
        let done = self.execute(transition_query(id, from, to, set), "updating a job").await?;
        Ok(done.rows_affected() == 1)
    }

    /// [`Store::transition_job`], and if it moved, `audit` appended in the same write.
    pub async fn transition_job_audited(
        &self,
        id: &str,
        from: &[JobState],
        to: JobState,
        set: &[(&str, Option<String>)],
        audit: &NewAuditRecord,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let q = transition_query(id, from, to, set);
        let done = self.execute_audited(q, "updating a job", audit, at, false).await?;
        Ok(done.rows_affected() == 1)
    }

    /// A job's end: [`Store::transition_job_audited`] and the release of every lock it holds,
    /// in one write.
    pub async fn finish_job_audited(
        &self,
        id: &str,
        from: &[JobState],
        to: JobState,
        set: &[(&str, Option<String>)],
        audit: &NewAuditRecord,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let doing = "recording a job's end";
        let mut w = self.write(doing).await?;
        let done = transition_query(id, from, to, set).execute(&mut *w).await.map_err(self.error(doing))?;
        if done.rows_affected() > 0 {
            self.append_in(&mut w, audit, at).await?;
        }
        sqlx::query("DELETE FROM job_locks WHERE job_id = $1")
            .bind(id)
            .execute(&mut *w)
            .await
            .map_err(self.error(doing))?;
        w.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// The running job's latest progress, log, detail and heartbeat.
    pub async fn save_job_runtime(
        &self,
        id: &str,
        progress: &Progress,
        log: &[String],
        detail: Option<&serde_json::Value>,
        heartbeat: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let err = self.error("saving a job's progress");
        let progress = to_json(progress, "the progress").map_err(&err)?;
        let log = to_json(&log, "the log").map_err(&err)?;
        self.execute(
            sqlx::query(
                "UPDATE jobs SET progress = $1, log = $2, detail = COALESCE($3, detail), heartbeat_at = $4 WHERE id = $5",
            )
            .bind(progress)
            .bind(log)
            .bind(detail.map(|d| d.to_string()))
            .bind(ts(heartbeat))
            .bind(id),
            "saving a job's progress",
        )
        .await?;
        Ok(())
    }

    /// The owner (`host`, `pid`) is alive: every job of its that has not finished says so.
    pub async fn touch_jobs_of(&self, host: &str, pid: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.execute(
            sqlx::query(
                "UPDATE jobs SET heartbeat_at = $1 WHERE owner_host = $2 AND owner_pid = $3 \
                 AND state IN ('proposed', 'approved', 'running')",
            )
            .bind(ts(at))
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
        class: LockClass,
        job_id: &str,
        still_held: impl Fn(&JobRow) -> bool,
    ) -> Result<Result<(), LockHeld>, StoreError> {
        retry_busy(|| async {
            let err = self.error("taking a job lock");
            let mut tx = self.write("taking a job lock").await?;
            let holder: Option<String> =
                sqlx::query_scalar("SELECT job_id FROM job_locks WHERE target = $1 AND kind = $2")
                    .bind(target)
                    .bind(class.name())
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
            .bind(class.name())
            .bind(job_id)
            .execute(&mut *tx)
            .await
            .map_err(&err)?;
            tx.commit().await?;
            Ok(Ok(()))
        })
        .await
    }

    pub async fn release_lock(&self, target: &str, class: LockClass, job_id: &str) -> Result<(), StoreError> {
        self.execute(
            sqlx::query("DELETE FROM job_locks WHERE target = $1 AND kind = $2 AND job_id = $3")
                .bind(target)
                .bind(class.name())
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
            let mut list: Vec<String> = match current.flatten() {
                Some(j) => serde_json::from_str::<Vec<String>>(&j)
                    .map_err(|e| err(decode(format!("job {id}: its approvals cannot be read: {e}"))))?,
                None => Vec::new(),
            };
            if !list.iter().any(|o| o == operator) {
                list.push(operator.to_owned());
            }
            sqlx::query("UPDATE jobs SET approvals = $1 WHERE id = $2")
                .bind(to_json(&list, "approvals").map_err(&err)?)
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

type Query<'q> = sqlx::query::Query<'q, sqlx::Any, <sqlx::Any as sqlx::Database>::Arguments>;

/// The columns of `jobs` that hold numbers.
const NUMBER_COLUMNS: &[&str] = &["owner_pid"];

/// `UPDATE jobs SET state = to, set... WHERE id = id AND state IN from`.
fn transition_query<'q>(
    id: &'q str,
    from: &[JobState],
    to: JobState,
    set: &[(&str, Option<String>)],
) -> Query<'q> {
    let mut sql = String::from("UPDATE jobs SET state = $1");
    for (i, (column, _)) in set.iter().enumerate() {
        // Values come as text; PostgreSQL takes text into a number column only when told.
        if NUMBER_COLUMNS.contains(column) {
            sql.push_str(&format!(", {column} = CAST(${} AS BIGINT)", i + 2));
        } else {
            sql.push_str(&format!(", {column} = ${}", i + 2));
        }
    }
    let n = set.len() + 2;
    let states: Vec<String> = from.iter().enumerate().map(|(i, _)| format!("${}", n + 1 + i)).collect();
    sql.push_str(&format!(" WHERE id = ${n} AND state IN ({})", states.join(", ")));
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(to.name());
    for (_, value) in set {
        q = q.bind(value.clone());
    }
    q = q.bind(id);
    for s in from {
        q = q.bind(s.name());
    }
    q
}

fn insert_query(job: &JobRow) -> Result<Query<'_>, sqlx::Error> {
    let approvals = if job.approvals.is_empty() { None } else { Some(to_json(&job.approvals, "approvals")?) };
    Ok(sqlx::query(
        "INSERT INTO jobs (id, kind, target, state, plan, spec, policy, proposed_by, proposed_at, approved_by, approved_at, \
         started_at, finished_at, outcome, progress, log, owner_pid, owner_host, heartbeat_at, approvals, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)",
    )
    .bind(&job.id)
    .bind(job.kind.name())
    .bind(&job.target)
    .bind(job.state.name())
    .bind(to_json(&job.plan, "the plan")?)
    .bind(&job.spec)
    .bind(job.policy.name())
    .bind(&job.proposed_by)
    .bind(ts(job.proposed_at))
    .bind(&job.approved_by)
    .bind(job.approved_at.map(ts))
    .bind(job.started_at.map(ts))
    .bind(job.finished_at.map(ts))
    .bind(&job.outcome)
    .bind(job.progress.as_ref().map(|p| to_json(p, "the progress")).transpose()?)
    .bind(to_json(&job.log, "the log")?)
    .bind(job.owner_pid)
    .bind(&job.owner_host)
    .bind(job.heartbeat_at.map(ts))
    .bind(approvals)
    .bind(job.detail.as_ref().map(|d| d.to_string())))
}
