//! Delete the backups the retention policy no longer keeps (never one locked or needed).

use crate::engine::Engine;
use crate::engine::backup::catalog::{BackupView, locks};
use crate::engine::jobs::{JobContext, Unit};
use crate::model::backup::{retain, when};

impl Engine {
    pub(in crate::engine) async fn prune(
        &self,
        system: &str,
        delete: &[String],
        ctx: &JobContext,
    ) -> Result<String, String> {
        // Never delete what became the newest verified backup, or a parent of a kept one, since
        // the plan was made: check again against the catalog now.
        let backups: Vec<BackupView> =
            self.backups(Some(system)).await?.into_iter().filter(BackupView::trusted).collect();
        let policy = self.policy(system)?;
        let Some(retention) = policy.retention else {
            return Err(format!(
                "\"{system}\" has no retention any more (the configuration changed): nothing was deleted"
            ));
        };
        let keep = retain(&backups.iter().map(BackupView::summary).collect::<Vec<_>>(), &retention);
        let locked = locks(&backups);
        let now = self.now();
        ctx.stage("deleting", Unit::Steps);
        ctx.meter.set_total(delete.len() as u64);
        let mut deleted = 0;
        let mut problems = Vec::new();
        for id in delete {
            if ctx.cancelled() {
                return Err("cancelled".into());
            }
            if keep.contains(id) {
                ctx.log(format!("kept {id}: the policy keeps it now"));
                continue;
            }
            let Some(view) = backups.iter().find(|b| &b.manifest.id == id) else { continue };
            let mut ok = true;
            for copy in &view.copies {
                // A copy still under its lock is never tried: it comes free at its date.
                if let Some(until) =
                    locked.get(&(id.clone(), copy.location.clone())).copied().filter(|u| *u > now)
                {
                    ctx.log(format!(
                        "kept {id} at {}: immutable until {} (it can be pruned from then)",
                        copy.location,
                        when(until)
                    ));
                    ok = false;
                    continue;
                }
                let result = match self.repository(&copy.location) {
                    Ok(repo) => repo.delete(system, id).await,
                    Err(e) => Err(e),
                };
                match result {
                    Ok(()) => {
                        let _ = self.store.remove_backup(&copy.location, id).await;
                        ctx.log(format!("deleted {id} at {}", copy.location));
                    }
                    Err(e) => {
                        ok = false;
                        problems.push(e);
                    }
                }
            }
            if ok {
                deleted += 1;
                let _ = std::fs::remove_file(self.index_cache(system, id));
            }
            ctx.meter.advance(1);
        }
        if problems.is_empty() {
            Ok(format!("pruned {deleted} backup(s) of {system}"))
        } else {
            Err(format!("pruned {deleted} backup(s) of {system}; {}", problems.join("; ")))
        }
    }
}
