//! The backup catalog: what the repositories hold, cached, with each copy's verifications.
//! The repositories stay the truth: the catalog is refreshed from them.

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::Row;

use super::{Store, StoreError};

/// One backup copy at one location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogEntry {
    pub location: String,
    pub id: String,
    pub system: String,
    pub taken_at: DateTime<Utc>,
    /// The manifest, JSON.
    pub manifest: String,
    pub verified_at: Option<DateTime<Utc>>,
    pub deep_verified_at: Option<DateTime<Utc>>,
    pub verify_error: Option<String>,
    /// Whether the manifest is signed by a configured signer (`Trust::encode`).
    pub trust: String,
}

fn ts(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

impl Store {
    /// Record (or refresh) a copy with a verification this host can believe (its own, or one
    /// signed by a configured signer). Verification times are kept unless given.
    pub async fn upsert_backup(&self, e: &CatalogEntry) -> Result<(), StoreError> {
        self.execute(sqlx::query(
            "INSERT INTO backups (location, id, system, taken_at, manifest, verified_at, deep_verified_at, verify_error, trust) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (location, id) DO UPDATE SET manifest = excluded.manifest, trust = excluded.trust, \
             verified_at = COALESCE(excluded.verified_at, backups.verified_at), \
             deep_verified_at = COALESCE(excluded.deep_verified_at, backups.deep_verified_at), \
             verify_error = excluded.verify_error",
        )
        .bind(&e.location)
        .bind(&e.id)
        .bind(&e.system)
        .bind(ts(&e.taken_at))
        .bind(&e.manifest)
        .bind(e.verified_at.as_ref().map(ts))
        .bind(e.deep_verified_at.as_ref().map(ts))
        .bind(&e.verify_error)
        .bind(&e.trust)
        , "recording a backup").await?;
        Ok(())
    }

    /// Record (or refresh) a copy whose location says nothing this host can believe about its
    /// verification: what the catalog knew of it stays.
    pub async fn upsert_backup_unverified(&self, e: &CatalogEntry) -> Result<(), StoreError> {
        self.execute(
            sqlx::query(
                "INSERT INTO backups (location, id, system, taken_at, manifest, trust) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (location, id) DO UPDATE SET manifest = excluded.manifest, trust = excluded.trust",
            )
            .bind(&e.location)
            .bind(&e.id)
            .bind(&e.system)
            .bind(ts(&e.taken_at))
            .bind(&e.manifest)
            .bind(&e.trust),
            "recording a backup",
        )
        .await?;
        Ok(())
    }

    /// Record a verification's result for a copy: success sets its time and clears the error,
    /// failure records the error and clears the verified time (a copy that failed is not
    /// restorable, whatever an older check said).
    pub async fn record_verification(
        &self,
        location: &str,
        id: &str,
        deep: bool,
        at: DateTime<Utc>,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let query = match (deep, error) {
            (false, None) => sqlx::query("UPDATE backups SET verified_at = $1, verify_error = NULL WHERE location = $2 AND id = $3")
                .bind(ts(&at))
                .bind(location)
                .bind(id),
            (true, None) => sqlx::query(
                "UPDATE backups SET deep_verified_at = $1, verified_at = COALESCE(verified_at, $1), verify_error = NULL \
                 WHERE location = $2 AND id = $3",
            )
            .bind(ts(&at))
            .bind(location)
            .bind(id),
            (_, Some(e)) => sqlx::query("UPDATE backups SET verified_at = NULL, verify_error = $1 WHERE location = $2 AND id = $3")
                .bind(e.to_owned())
                .bind(location)
                .bind(id),
        };
        self.execute(query, "recording a verification").await?;
        Ok(())
    }

    pub async fn remove_backup(&self, location: &str, id: &str) -> Result<(), StoreError> {
        self.execute(
            sqlx::query("DELETE FROM backups WHERE location = $1 AND id = $2").bind(location).bind(id),
            "forgetting a backup",
        )
        .await?;
        Ok(())
    }

    /// Every copy, of one system or all, oldest first.
    pub async fn catalog(&self, system: Option<&str>) -> Result<Vec<CatalogEntry>, StoreError> {
        let q = match system {
            Some(_) => {
                "SELECT location, id, system, taken_at, manifest, verified_at, deep_verified_at, verify_error, trust FROM backups WHERE system = $1 ORDER BY taken_at, id, location"
            }
            None => {
                "SELECT location, id, system, taken_at, manifest, verified_at, deep_verified_at, verify_error, trust FROM backups ORDER BY taken_at, id, location"
            }
        };
        let mut query = sqlx::query(q);
        if let Some(s) = system {
            query = query.bind(s);
        }
        let rows = query.fetch_all(self.pool()).await.map_err(self.error("reading the backup catalog"))?;
        rows.iter()
            .map(|r| {
                Ok(CatalogEntry {
                    location: r.try_get(0)?,
                    id: r.try_get(1)?,
                    system: r.try_get(2)?,
                    taken_at: super::time("a backup's time", r.try_get(3)?)?,
                    manifest: r.try_get(4)?,
                    verified_at: super::maybe_time("a verification time", r.try_get(5)?)?,
                    deep_verified_at: super::maybe_time("a deep verification time", r.try_get(6)?)?,
                    verify_error: r.try_get(7)?,
                    trust: r.try_get(8)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(self.error("reading the backup catalog"))
    }
}
