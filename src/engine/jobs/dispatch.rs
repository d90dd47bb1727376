//! The engine's side of the pool: the policy a spec gets, and the one dispatcher from a spec to
//! the module of its kind of work.

use std::path::{Path, PathBuf};

use crate::engine::Engine;
use crate::engine::jobs::{JobContext, JobSnapshot, JobSpec, JobState, Plan, Proof, Refusal};
use crate::model::access::Step;
use crate::store::{NewAuditRecord, Outcome};

impl Engine {
    /// The signals sent to the running job `ctx` since it last looked. One that cannot be read
    /// now is read at the next look (they are taken only when read): the job keeps waiting, and
    /// its log says why nothing arrives.
    pub(in crate::engine) async fn take_signals(
        &self,
        ctx: &JobContext,
    ) -> Vec<crate::store::failover::SignalRow> {
        match self.store.take_signals(&ctx.id, self.now()).await {
            Ok(signals) => signals
                .into_iter()
                .filter_map(|s| s.map_err(|unknown| ctx.log(format!("  │ {unknown}"))).ok())
                .collect(),
            Err(e) => {
                ctx.log_once(format!("cannot read operators' signals (trying again): {e}"));
                Vec::new()
            }
        }
    }

    /// Propose a job for `operator`: who may propose it (`[[operators]]`, `[permissions]`) and
    /// the policy for its action and the system's tier apply.
    pub async fn propose(&self, spec: &JobSpec, plan: Plan, operator: &str) -> Result<JobSnapshot, Refusal> {
        let rule = (spec.action(), self.tier_for(spec), Step::Propose);
        self.permit(operator, rule, &format!("{}.proposed", spec.kind()), spec.system()).await?;
        self.propose_configured(spec, plan, operator).await
    }

    /// Propose work the configuration starts (the schedule, a commit window's default): no
    /// person acts, so no role is checked.
    pub(in crate::engine) async fn propose_configured(
        &self,
        spec: &JobSpec,
        plan: Plan,
        operator: &str,
    ) -> Result<JobSnapshot, Refusal> {
        self.check_scope(spec, operator).await?;
        let policy = self.policy_for(spec);
        let job = self.jobs.propose(spec, plan, policy, operator, self.config.console.read_only).await?;
        if let JobSpec::Recover { incident: Some(incident), .. } = spec {
            self.link_incident_plan(incident, &job.id).await;
        }
        Ok(job)
    }

    /// A system's job inside the approved recovery plan `parent`: proposed and approved by it
    /// at once (one write).
    pub(in crate::engine) async fn propose_in_plan(
        &self,
        spec: &JobSpec,
        plan: Plan,
        operator: &str,
        parent: &str,
    ) -> Result<JobSnapshot, Refusal> {
        let policy = self.policy_for(spec);
        self.jobs.propose_in_plan(spec, plan, policy, operator, parent, self.config.console.read_only).await
    }

    /// The tier a spec's rules follow: its system's; a plan's most critical system's. A system
    /// this configuration does not know (a host whose file is behind another's) is taken for
    /// tier 1: its strictest rules, never its most lenient. A notice is not for a system: tier 4.
    pub fn tier_for(&self, spec: &JobSpec) -> crate::model::Tier {
        let tier_of = |name: &str| self.config.estate.system(name).map(|s| s.tier);
        match spec {
            JobSpec::Notify { .. } => Some(crate::model::Tier::Four),
            JobSpec::Recover { systems, .. } => {
                let tiers: Vec<_> = systems.iter().map(|s| tier_of(s)).collect();
                if tiers.iter().any(Option::is_none) { None } else { tiers.into_iter().flatten().min() }
            }
            _ => tier_of(spec.system()),
        }
        .unwrap_or(crate::model::Tier::One)
    }

    pub fn policy_for(&self, spec: &JobSpec) -> crate::model::ApprovalPolicy {
        // A plan is as critical as its most critical system.
        let tier = self.tier_for(spec);
        // A procedure may set its own policy.
        if let JobSpec::Failover { system, failback, .. } = spec
            && let Some(policy) = self.procedure(system, *failback).ok().and_then(|p| p.approval)
        {
            return policy;
        }
        let policy = self.config.approval.get(spec.action(), tier);
        // Restoring what no trusted key signed takes at least the typed gate.
        if spec.needs_typed_proof() { policy.max(crate::model::ApprovalPolicy::Typed) } else { policy }
    }

    /// `operator`'s approval of job `id`: who may approve it (`[[operators]]`, `[permissions]`),
    /// then the gate's policy.
    pub async fn approve(&self, id: &str, operator: &str, proof: &Proof) -> Result<JobSnapshot, Refusal> {
        let Some(spec) = self.jobs.spec(id).await? else { return Err(Refusal::Missing) };
        let audit_action = format!("{}.approved", spec.kind());
        for rule in self.approve_rules(&spec) {
            self.permit(operator, rule, &audit_action, spec.system()).await?;
        }
        self.approve_configured(id, operator, proof).await
    }

    /// Whom the proposal `job` waits for, in words: "a commander", "a second approval (from a
    /// commander), not alice's", or "an approval" when nothing is checked.
    pub async fn waits_for(&self, job: &JobSnapshot) -> String {
        let spec = self.jobs.spec(&job.id).await.ok().flatten();
        let roles = spec.filter(|_| self.config.access.enforced()).map(|spec| {
            let (action, tier, step) = (spec.action(), self.tier_for(&spec), Step::Approve);
            self.config.access.permissions.allowed(action, tier, step).either()
        });
        let second = job.policy == crate::model::ApprovalPolicy::TwoPerson && !job.approvals.is_empty();
        match (second, roles) {
            (true, Some(r)) => format!("a second approval (from {r}), not {}'s", job.approvals.join(" or ")),
            (true, None) => format!("a second approval, not {}'s", job.approvals.join(" or ")),
            (false, Some(r)) => r,
            (false, None) => "an approval".to_owned(),
        }
    }

    /// The rules an approval of `spec` meets: its own, and for a recovery plan each system's
    /// failover or restore rule too (the plan approves them all).
    fn approve_rules(&self, spec: &JobSpec) -> Vec<(crate::model::Action, crate::model::Tier, Step)> {
        let mut rules = vec![(spec.action(), self.tier_for(spec), Step::Approve)];
        if let JobSpec::Recover { systems, .. } = spec {
            for system in systems {
                let tier =
                    self.config.estate.system(system).map(|s| s.tier).unwrap_or(crate::model::Tier::One);
                let action = match self.config.system(system).map(|s| s.failover.is_some()) {
                    Some(false) => crate::model::Action::Restore,
                    _ => crate::model::Action::Failover,
                };
                rules.push((action, tier, Step::Approve));
            }
        }
        rules
    }

    /// Whether this host's own `[[operators]]` let each person who approved `job` approve it:
    /// a job approved on another host (whose configuration may say otherwise) runs here only
    /// on this host's rule. The configuration's own approvals (the schedule, a commit window's
    /// default) are no person's. `Err` says who and what, in words; it is audited.
    async fn approvals_hold_here(&self, job: &JobSnapshot, spec: &JobSpec) -> Result<(), Refusal> {
        let access = &self.config.access;
        if !access.enforced() {
            return Ok(());
        }
        let mut approvers: Vec<&str> = job.approvals.iter().map(String::as_str).collect();
        approvers.extend(job.approved_by.as_deref().filter(|a| !approvers.contains(a)));
        for approver in approvers.into_iter().filter(|a| !crate::model::access::CONFIGURED.contains(a)) {
            for (action, tier, step) in self.approve_rules(spec) {
                let needs = access.permissions.allowed(action, tier, step);
                let what = format!("{} a {tier} {}", step.doing(), action.name());
                let refusal = match access.operator(approver) {
                    Some(entry) if entry.roles.meets(needs) => continue,
                    Some(entry) => {
                        Refusal::Role { operator: approver.to_owned(), has: entry.roles, needs, what }
                    }
                    None => Refusal::Unlisted { operator: approver.to_owned(), what, needs },
                };
                let details = serde_json::json!({
                    "job": job.id,
                    "reason": format!("{refusal} (under this host's [[operators]]; approved on another host?)"),
                    "needs": needs.names(),
                    "approvals": job.approvals,
                });
                self.audit(
                    NewAuditRecord::new(
                        approver,
                        &format!("{}.run", job.kind),
                        &job.target,
                        Outcome::Refused,
                    )
                    .details(details),
                )
                .await
                .map_err(Refusal::from)?;
                return Err(refusal);
            }
        }
        Ok(())
    }

    /// The approval the configuration gives (`Proof::Scheduled`, `Proof::CommitDefault`): no
    /// person acts, so no role is checked; the policy still is.
    pub(in crate::engine) async fn approve_configured(
        &self,
        id: &str,
        operator: &str,
        proof: &Proof,
    ) -> Result<JobSnapshot, Refusal> {
        self.jobs.approve(id, operator, proof, self.config.console.read_only).await
    }

    /// Withdraw or turn down a proposal: who may cancel (`[permissions] cancel`), or its
    /// proposer.
    pub async fn cancel_proposal(&self, id: &str, operator: &str) -> Result<(), Refusal> {
        let Some(job) = self.jobs.get(id).await? else { return Err(Refusal::Missing) };
        let own = job.proposed_by == operator;
        self.permit_cancel(id, &job, own, &format!("{}.cancelled", job.kind), operator).await?;
        self.jobs.cancel_proposal(id, operator).await
    }

    /// `operator` stops a running job of this process: who may cancel it (`[permissions]
    /// cancel`), or whoever proposed or approved it.
    pub async fn cancel_job(&self, id: &str, operator: &str) -> Result<(), Refusal> {
        let Some(job) = self.jobs.get(id).await? else { return Err(Refusal::Missing) };
        let own = job.proposed_by == operator || job.approved_by.as_deref() == Some(operator);
        self.permit_cancel(id, &job, own, &format!("{}.cancel", job.kind), operator).await?;
        self.jobs.cancel_running(id, operator).await
    }

    /// Cancel's rule for `job`; for the operator's `own` job only the proof that this process
    /// acts for them.
    async fn permit_cancel(
        &self,
        id: &str,
        job: &JobSnapshot,
        own: bool,
        audit_action: &str,
        operator: &str,
    ) -> Result<(), Refusal> {
        let tier = self.jobs.spec(id).await?.map(|s| self.tier_for(&s)).unwrap_or(crate::model::Tier::One);
        let rule = (crate::model::Action::Cancel, tier, Step::Propose);
        self.permit_unless_own(operator, rule, own, audit_action, &job.target).await
    }

    /// Run the approved job `id` to its end.
    pub async fn run_job(&self, id: &str) -> Result<JobSnapshot, Refusal> {
        let Some(spec) = self.jobs.spec(id).await? else { return Err(Refusal::Missing) };
        let job = self.jobs.get(id).await?.ok_or(Refusal::Missing)?;
        let operator = job.approved_by.clone().unwrap_or(job.proposed_by.clone());
        // Not for this host: the job fails saying why (approved elsewhere, it must not be left
        // Approved for every poll to try again).
        let not_here = match job.state {
            JobState::Approved => self.approvals_hold_here(&job, &spec).await.err(),
            _ => None,
        };
        let timeout = match &spec {
            JobSpec::Backup { system, .. } | JobSpec::Verify { system, .. } => self
                .policy(system)
                .map(|p| p.timeout)
                .unwrap_or(crate::config::backup::DEFAULT_BACKUP_TIMEOUT),
            // A procedure may wait for people (manual steps): a day, not its steps' sum.
            JobSpec::Failover { .. } | JobSpec::Recover { .. } => std::time::Duration::from_secs(24 * 3600),
            _ => crate::config::backup::DEFAULT_BACKUP_TIMEOUT,
        };
        let engine = self.clone();
        self.jobs
            .run(id, &operator, timeout, move |ctx| async move {
                match not_here {
                    Some(refusal) => Err(format!(
                        "not run on this host: {refusal} under this host's [[operators]] (approved on \
                         another host whose configuration says otherwise?); propose it again"
                    )),
                    None => engine.execute(spec, ctx).await,
                }
            })
            .await
    }

    /// Whether `operator` may run the approved `job` here, its proposer's process being gone:
    /// one who may write at all, and who approved it or proposed it. A refusal is audited.
    pub async fn may_take_over(&self, job: &JobSnapshot, operator: &str) -> Result<(), Refusal> {
        let action = format!("{}.run", job.kind);
        let what = format!("running {}, whose proposer's process is gone", job.id);
        self.permit_write(operator, &what, &action, &job.target).await?;
        if job.takers().contains(&operator) {
            return Ok(());
        }
        let refusal = Refusal::NotTheirs {
            operator: operator.to_owned(),
            job: job.id.clone(),
            approvals: job.approvals.clone(),
            proposer: job.proposed_by.clone(),
        };
        let details = serde_json::json!({ "job": job.id, "reason": refusal.to_string() });
        self.audit(NewAuditRecord::new(operator, &action, &job.target, Outcome::Refused).details(details))
            .await?;
        Err(refusal)
    }

    /// Start this process's proposals that someone else approved meanwhile (from their own
    /// console, or `warroom approve`), and what this operator approved whose proposer's process
    /// is gone since: their ids.
    pub async fn run_approved_here(&self) -> Result<Vec<String>, crate::engine::EngineError> {
        let ids = self.jobs.approved_here(self.operator()).await?;
        for id in &ids {
            self.spawn_job(id);
        }
        Ok(ids)
    }

    /// Start running the approved job `id` in the background.
    pub fn spawn_job(&self, id: &str) -> tokio::task::JoinHandle<Result<JobSnapshot, Refusal>> {
        let engine = self.clone();
        let id = id.to_owned();
        tokio::spawn(async move { engine.run_job(&id).await })
    }

    /// Carry out a job's spec. Boxed: a recovery plan runs jobs that run this again.
    pub(in crate::engine) fn execute(
        &self,
        spec: JobSpec,
        ctx: JobContext,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<String, String>> + Send + '_>> {
        Box::pin(async move {
            // A tabletop carries out nothing but its notices (which go to the exercise's lists)
            // and routine work (backups, verifications, restore drills).
            let tabletop = self
                .exercise_in_force()
                .await
                .map_err(|e| format!("cannot tell whether an exercise is running, so nothing is done: {e}"))?
                .filter(|x| !x.kind.carries_out());
            if let Some(x) = tabletop
                && !matches!(spec, JobSpec::Notify { .. })
                && !spec.is_routine()
            {
                ctx.log(format!("exercise {} is a tabletop: this job is recorded and not carried out", x.id));
                return Ok(format!("{} (exercise {})", crate::engine::exercise::NOT_CARRIED_OUT, x.id));
            }
            match spec {
                JobSpec::Backup { system, kind, parent } => {
                    self.take_backup(&system, kind, parent, &ctx).await
                }
                JobSpec::Verify { system, id, deep, identity } => {
                    self.verify(&system, id.as_deref(), deep, identity.map(PathBuf::from), &ctx).await
                }
                JobSpec::Restore { system, id, location, target, force, identity, untrusted } => {
                    self.restore(
                        &system,
                        &id,
                        &location,
                        Path::new(&target),
                        (force, untrusted),
                        identity.map(PathBuf::from),
                        &ctx,
                    )
                    .await
                }
                JobSpec::RestoreDrill { system, id, location, scratch } => {
                    self.restore_drill(&system, &id, &location, Path::new(&scratch), &ctx).await
                }
                JobSpec::Adopt { system, id, identity, manifest_sha256, .. } => {
                    self.adopt(&system, &id, &manifest_sha256, identity.map(PathBuf::from), &ctx).await
                }
                JobSpec::Prune { system, delete } => self.prune(&system, &delete, &ctx).await,
                JobSpec::Failover { system, failback, procedure_sha256 } => {
                    self.run_procedure(&system, failback, &procedure_sha256, &ctx).await
                }
                JobSpec::Recover { systems, .. } => self.run_recovery(&systems, &ctx).await,
                JobSpec::Notify { incident, stage, lists, message } => {
                    self.send_notice(&incident, stage, &lists, &message, &ctx).await
                }
            }
        })
    }
}
