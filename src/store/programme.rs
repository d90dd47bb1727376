//! The testing programme's results, kept for years: each written with its audit record, read
//! whole (a few per system per day at most), pruned only past the keep.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{NewAuditRecord, Store, StoreError, ts};
use crate::model::programme::{Outcome, TestKind, TestResult};

const COLUMNS: &str = "id, system, kind, at, outcome, by_what, detail, duration_ms";

fn decode(what: &str, e: impl std::fmt::Display) -> sqlx::Error {
    sqlx::Error::Decode(format!("{what}: {e}").into())
}

fn result(r: &sqlx::any::AnyRow) -> Result<TestResult, sqlx::Error> {
    let kind: String = r.try_get(2)?;
    let outcome: String = r.try_get(4)?;
    let duration: Option<i64> = r.try_get(7)?;
    Ok(TestResult {
        id: r.try_get(0)?,
        system: r.try_get(1)?,
        kind: TestKind::parse(&kind).map_err(|e| decode("a test result's kind", e))?,
        at: super::time("a test result's time", r.try_get(3)?)?,
        outcome: Outcome::parse(&outcome)
            .ok_or_else(|| decode("a test result's outcome", format!("\"{outcome}\" is not one")))?,
        by: r.try_get(5)?,
        detail: r.try_get(6)?,
        duration_ms: duration.map(|d| u64::try_from(d).unwrap_or_default()),
    })
}

impl Store {
    /// Record test results (ids are given to them here) with one audit record, one write.
    pub async fn add_test_results(
        &self,
        results: &mut [TestResult],
        audit: &NewAuditRecord,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let doing = "recording test results";
        let err = self.error(doing);
        let mut w = self.write(doing).await?;
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM test_results").fetch_one(&mut *w).await.map_err(&err)?;
        for (n, r) in results.iter_mut().enumerate() {
            r.id = format!("TR-{}-{:06}", r.at.format("%Y%m%d"), count + n as i64 + 1);
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO test_results ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            )))
            .bind(&r.id)
            .bind(&r.system)
            .bind(r.kind.name())
            .bind(ts(r.at))
            .bind(match r.outcome {
                Outcome::Passed => "passed",
                Outcome::Findings => "findings",
                Outcome::Failed => "failed",
            })
            .bind(&r.by)
            .bind(&r.detail)
            .bind(r.duration_ms.map(|d| i64::try_from(d).unwrap_or(i64::MAX)))
            .execute(&mut *w)
            .await
            .map_err(&err)?;
        }
        self.append_in(&mut w, audit, at).await?;
        w.commit().await
    }

    /// Every test result, oldest first.
    pub async fn test_results(&self) -> Result<Vec<TestResult>, StoreError> {
        let rows =
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM test_results ORDER BY at, id")))
                .fetch_all(self.pool())
                .await
                .map_err(self.error("reading the test results"))?;
        rows.iter().map(result).collect::<Result<_, _>>().map_err(self.error("reading the test results"))
    }

    /// Remove the results older than `before`, with the audit record; how many went.
    pub async fn prune_test_results(
        &self,
        before: DateTime<Utc>,
        audit: &NewAuditRecord,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let doing = "pruning test results";
        let mut w = self.write(doing).await?;
        let gone = sqlx::query("DELETE FROM test_results WHERE at < $1")
            .bind(ts(before))
            .execute(&mut *w)
            .await
            .map_err(self.error(doing))?
            .rows_affected();
        self.append_in(&mut w, audit, at).await?;
        w.commit().await?;
        Ok(gone)
    }
}
