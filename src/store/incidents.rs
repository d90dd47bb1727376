//! Incidents: declared, worked through a recovery plan, closed. Their timelines are read from
//! the audit log and the health events, so nothing is recorded twice.

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::Row;

use super::{Store, StoreError};
use crate::model::failover::IncidentRecord;

fn ts(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

const COLUMNS: &str =
    "id, kind, severity, systems, declared_by, declared_at, plan_job, closed_by, closed_at, summary";

fn row(r: &sqlx::any::AnyRow) -> Result<IncidentRecord, sqlx::Error> {
    let systems: String = r.try_get(3)?;
    Ok(IncidentRecord {
        id: r.try_get(0)?,
        kind: r.try_get(1)?,
        severity: r.try_get(2)?,
        systems: serde_json::from_str(&systems)
            .map_err(|e| sqlx::Error::Decode(format!("an incident's systems are not a list: {e}").into()))?,
        declared_by: r.try_get(4)?,
        declared_at: super::time("an incident's declaration time", r.try_get(5)?)?,
        plan_job: r.try_get(6)?,
        closed_by: r.try_get(7)?,
        closed_at: super::maybe_time("an incident's closing time", r.try_get(8)?)?,
        summary: r.try_get(9)?,
    })
}

impl Store {
    pub async fn insert_incident(&self, i: &IncidentRecord) -> Result<(), StoreError> {
        self.execute(sqlx::query(
            "INSERT INTO incidents (id, kind, severity, systems, declared_by, declared_at, plan_job, closed_by, closed_at, summary) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&i.id)
        .bind(&i.kind)
        .bind(&i.severity)
        .bind(serde_json::to_string(&i.systems).unwrap_or_default())
        .bind(&i.declared_by)
        .bind(ts(&i.declared_at))
        .bind(&i.plan_job)
        .bind(&i.closed_by)
        .bind(i.closed_at.as_ref().map(ts))
        .bind(&i.summary)
        , "recording an incident").await?;
        Ok(())
    }

    pub async fn incidents(&self) -> Result<Vec<IncidentRecord>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM incidents ORDER BY declared_at DESC"
        )))
        .fetch_all(self.pool())
        .await
        .map_err(self.error("reading incidents"))?;
        rows.iter().map(row).collect::<Result<_, _>>().map_err(self.error("reading incidents"))
    }

    pub async fn incident(&self, id: &str) -> Result<Option<IncidentRecord>, StoreError> {
        Ok(self.incidents().await?.into_iter().find(|i| i.id == id))
    }

    pub async fn set_incident_plan(&self, id: &str, job: &str) -> Result<(), StoreError> {
        self.execute(
            sqlx::query("UPDATE incidents SET plan_job = $1 WHERE id = $2").bind(job).bind(id),
            "recording an incident's plan",
        )
        .await?;
        Ok(())
    }

    /// Close an open incident; false if it was already closed.
    pub async fn close_incident(
        &self,
        id: &str,
        by: &str,
        at: DateTime<Utc>,
        summary: Option<&str>,
    ) -> Result<bool, StoreError> {
        let done = self.execute(sqlx::query(
            "UPDATE incidents SET closed_by = $1, closed_at = $2, summary = $3 WHERE id = $4 AND closed_at IS NULL",
        )
        .bind(by)
        .bind(ts(&at))
        .bind(summary)
        .bind(id)
        , "closing an incident").await?;
        Ok(done.rows_affected() == 1)
    }
}
