//! The restore drill: a system's newest verified backup restored into scratch, every file
//! checked against its listing (size and SHA-256) as the restore writes it, the restore timed
//! against the system's RTO, the scratch removed, and the result kept with the programme's.

use std::path::Path;
use std::time::Instant;

use crate::engine::Engine;
use crate::engine::jobs::JobContext;
use crate::model::duration::human;
use crate::model::programme::{Outcome, TestKind, TestResult, drill_outcome, took_words};
use crate::store::{NewAuditRecord, Outcome as AuditOutcome};

impl Engine {
    pub(in crate::engine) async fn restore_drill(
        &self,
        system: &str,
        id: &str,
        location: &str,
        scratch: &Path,
        ctx: &JobContext,
    ) -> Result<String, String> {
        let rto = self.config.estate.system(system).map(|s| s.objective.rto).unwrap_or_default();
        let target = scratch.join("restore");
        let started = Instant::now();
        let restored = self.restore(system, id, location, &target, (false, false), None, ctx).await;
        let took = started.elapsed();
        // The scratch goes whatever happened: a drill leaves nothing behind.
        if let Err(e) = std::fs::remove_dir_all(scratch)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            ctx.log(format!("the drill's scratch {} could not be removed: {e}", scratch.display()));
        }
        let outcome = drill_outcome(restored.is_ok(), took, rto);
        let detail = match (&restored, outcome) {
            (Err(e), _) => format!("backup {id} from {location} could not be restored: {e}"),
            (Ok(_), Outcome::Findings) => format!(
                "finding: restoring backup {id} from {location} took {}, more than the RTO of {}: a restore would not meet it",
                took_words(took),
                human(rto)
            ),
            (Ok(_), _) => format!(
                "backup {id} from {location} restored and checked file by file in {} (RTO {})",
                took_words(took),
                human(rto)
            ),
        };
        let now = self.now();
        let mut result = vec![TestResult {
            id: String::new(),
            system: system.to_owned(),
            kind: TestKind::RestoreDrill,
            at: now,
            outcome,
            by: format!("job {}", ctx.id),
            detail: detail.clone(),
            duration_ms: Some(u64::try_from(took.as_millis()).unwrap_or(u64::MAX)),
        }];
        let audit = NewAuditRecord::new(self.operator(), "programme.tested", system, AuditOutcome::Recorded)
            .details(serde_json::json!({
                "test": TestKind::RestoreDrill.name(),
                "outcome": outcome.name(),
                "backup": id,
                "location": location,
                "duration_ms": u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
                "rto_secs": rto.as_secs(),
            }));
        if let Err(e) = self.store.add_test_results(&mut result, &audit, now).await {
            return Err(format!("{detail}; the result could not be recorded: {e}"));
        }
        ctx.log(detail.clone());
        match outcome {
            Outcome::Failed => Err(detail),
            _ => Ok(detail),
        }
    }
}
