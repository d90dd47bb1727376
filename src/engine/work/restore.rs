//! Restore a backup into a folder it cannot leave.

use std::path::{Path, PathBuf};

use crate::engine::Engine;
use crate::engine::backup::manifest::Manifest;
use crate::engine::backup::read::{self};
use crate::engine::jobs::{JobContext, Unit};
use crate::model::BackupSummary;
use crate::model::backup::chain;

impl Engine {
    #[allow(clippy::too_many_arguments)]
    pub(in crate::engine) async fn restore(
        &self,
        system: &str,
        id: &str,
        location: &str,
        target: &Path,
        (force, untrusted): (bool, bool),
        identity: Option<PathBuf>,
        ctx: &JobContext,
    ) -> Result<String, String> {
        let identities = self.identities(identity.as_deref())?;
        let repo = self.repository(location)?;
        // The repository is the truth: read the chain's manifests from it, not the catalog, and
        // check their signatures again (the location may have changed since the plan).
        let listed = repo.manifests(Some(system), &self.config.encryption.signers).await?;
        let summaries: Vec<BackupSummary> =
            listed.iter().map(|l| l.manifest.summary(Some(l.manifest.started_at))).collect();
        let links = chain(&summaries, id).ok_or_else(|| {
            format!("location {location} does not hold backup {id} and everything it builds on")
        })?;
        let ordered: Vec<&crate::engine::backup::repo::Listed> =
            links.iter().filter_map(|l| listed.iter().find(|m| m.manifest.id == l.id)).collect();
        if let Some(bad) = ordered.iter().find(|l| !l.trust.trusted())
            && !untrusted
        {
            return Err(format!(
                "backup {} at {location} is {}: refused (nothing was restored)",
                bad.manifest.id,
                bad.trust.label()
            ));
        }
        if untrusted {
            ctx.log(format!(
                "restoring {id}, which is not signed by a trusted key, as the operator confirmed"
            ));
        }
        let ordered: Vec<Manifest> = ordered.into_iter().map(|l| l.manifest.clone()).collect();
        ctx.stage("restoring", Unit::Bytes);
        ctx.log(format!("restoring {id} from {location} into {}", target.display()));
        let moved = read::restore(&repo, &ordered, &identities, target, force, &ctx.meter).await?;
        let mut message =
            format!("restored backup {id} of {system} from {location} into {}", target.display());
        if let Some(aside) = moved {
            message.push_str(&format!("; what was there is now {}", aside.display()));
        }
        ctx.log(message.clone());
        Ok(message)
    }
}
