//! Copying a whole state from one store to another (`warroom state migrate`): every table, row
//! for row, in one write on the target, so a copy that fails leaves the target as it was. The
//! target must be empty (a fresh database, migrated at open). After the copy the target's
//! audit chain is verified and every table's rows are counted on both sides.

use sqlx::Row;

use super::{Store, StoreError, Verification};

/// Every table of the state, in an order that keeps references ahead of what refers to them.
pub const TABLES: &[&str] = &[
    "meta",
    "audit_log",
    "jobs",
    "job_locks",
    "job_signals",
    "backups",
    "system_states",
    "incidents",
    "health_events",
    "notices",
    "outbox",
    "exercises",
    "exercise_events",
    "corrective_actions",
    "test_results",
    "plan_reviews",
];

/// Tables whose `id` the database assigns: their counter moves past the copied ids.
const IDENTITY: &[&str] = &["job_signals", "health_events", "plan_reviews"];

#[derive(Debug, Clone, serde::Serialize)]
pub struct CopyReport {
    /// (table, rows copied)
    pub tables: Vec<(String, u64)>,
    /// The target's chain, verified after the copy.
    pub verification: Verification,
}

impl Store {
    /// Copy every row of `self` into `target`, which must hold no state yet.
    pub async fn copy_into(&self, target: &Store) -> Result<CopyReport, StoreError> {
        let doing = "copying the state";
        for table in ["audit_log", "jobs", "incidents", "backups"] {
            let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(target.pool())
                .await
                .map_err(target.error(doing))?;
            if n > 0 {
                return Err(StoreError::Failed {
                    path: target.path().to_owned(),
                    doing,
                    reason: format!(
                        "it already holds a state ({n} rows in {table}); copy into an empty database (createdb a new one)"
                    ),
                });
            }
        }
        let mut w = target.write(doing).await?;
        let mut tables = Vec::new();
        for table in TABLES {
            // The target's columns and their kinds: the source's values are read as those.
            let columns = target.columns(table).await?;
            let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
            let select = format!("SELECT {} FROM {table}", names.join(", "));
            let rows = sqlx::query(sqlx::AssertSqlSafe(select))
                .fetch_all(self.pool())
                .await
                .map_err(self.error(doing))?;
            let placeholders: Vec<String> = (1..=names.len()).map(|i| format!("${i}")).collect();
            let insert =
                format!("INSERT INTO {table} ({}) VALUES ({})", names.join(", "), placeholders.join(", "));
            for row in &rows {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(insert.clone()));
                for (i, (_, kind)) in columns.iter().enumerate() {
                    let read = self.error(doing);
                    q = match kind {
                        Kind::Number => q.bind(row.try_get::<Option<i64>, _>(i).map_err(read)?),
                        Kind::Text => q.bind(row.try_get::<Option<String>, _>(i).map_err(read)?),
                        Kind::Bytes => q.bind(row.try_get::<Option<Vec<u8>>, _>(i).map_err(read)?),
                    };
                }
                q.execute(&mut *w).await.map_err(target.error(doing))?;
            }
            tables.push(((*table).to_owned(), rows.len() as u64));
        }
        if target.backend() == super::Backend::Postgres {
            for table in IDENTITY {
                let next = format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                );
                sqlx::query(sqlx::AssertSqlSafe(next)).execute(&mut *w).await.map_err(target.error(doing))?;
            }
        }
        w.commit().await?;
        // What arrived, counted on both sides, and the chain it carries.
        for (table, copied) in &tables {
            for (store, side) in [(self, "source"), (target, "target")] {
                let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                    .fetch_one(store.pool())
                    .await
                    .map_err(store.error(doing))?;
                if n as u64 != *copied {
                    return Err(StoreError::Failed {
                        path: target.path().to_owned(),
                        doing,
                        reason: format!(
                            "{table}: {copied} rows copied but the {side} holds {n}; was the source in use?"
                        ),
                    });
                }
            }
        }
        let verification = target.verify_audit().await?;
        Ok(CopyReport { tables, verification })
    }

    /// A table's columns, in order, with the kind of value each takes.
    async fn columns(&self, table: &str) -> Result<Vec<(String, Kind)>, StoreError> {
        let doing = "reading the schema";
        let rows: Vec<(String, String)> = match self.backend() {
            super::Backend::Postgres => sqlx::query_as(
                "SELECT column_name::text, data_type::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
            )
            .bind(table)
            .fetch_all(self.pool())
            .await
            .map_err(self.error(doing))?,
            super::Backend::Sqlite => {
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT name, type FROM pragma_table_info('{table}')"
                )))
                .fetch_all(self.pool())
                .await
                .map_err(self.error(doing))?;
                rows.iter()
                    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                    .collect::<Result<_, sqlx::Error>>()
                    .map_err(self.error(doing))?
            }
        };
        Ok(rows
            .into_iter()
            .map(|(name, ty)| {
                let t = ty.to_ascii_uppercase();
                let kind = if t.contains("INT") {
                    Kind::Number
                } else if t.contains("BLOB") || t.contains("BYTEA") {
                    Kind::Bytes
                } else {
                    Kind::Text
                };
                (name, kind)
            })
            .collect())
    }
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Number,
    Text,
    Bytes,
}
