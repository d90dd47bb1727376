//! Reviews of the continuity plan, each written with its audit record.

use sqlx::Row;

use super::{NewAuditRecord, Store, StoreError, ts};
use crate::model::plan::PlanReview;

impl Store {
    /// Record a review of the plan with its audit record, in one write.
    pub async fn add_plan_review(
        &self,
        review: &PlanReview,
        audit: &NewAuditRecord,
    ) -> Result<(), StoreError> {
        let doing = "recording the plan's review";
        let err = self.error(doing);
        let mut w = self.write(doing).await?;
        sqlx::query("INSERT INTO plan_reviews (at, reviewer, note, config_sha256) VALUES ($1, $2, $3, $4)")
            .bind(ts(review.at))
            .bind(&review.reviewer)
            .bind(&review.note)
            .bind(&review.config_sha256)
            .execute(&mut *w)
            .await
            .map_err(&err)?;
        self.append_in(&mut w, audit, review.at).await?;
        w.commit().await
    }

    /// Every review of the plan, oldest first.
    pub async fn plan_reviews(&self) -> Result<Vec<PlanReview>, StoreError> {
        let doing = "reading the plan's reviews";
        let rows = sqlx::query("SELECT at, reviewer, note, config_sha256 FROM plan_reviews ORDER BY at, id")
            .fetch_all(self.pool())
            .await
            .map_err(self.error(doing))?;
        rows.iter()
            .map(|r| {
                Ok(PlanReview {
                    at: super::time("a plan review's time", r.try_get(0)?)?,
                    reviewer: r.try_get(1)?,
                    note: r.try_get(2)?,
                    config_sha256: r.try_get(3)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(self.error(doing))
    }
}
