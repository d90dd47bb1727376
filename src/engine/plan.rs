//! The continuity plan's state and documents: reviews of the plan, and the snapshot the BC/DR
//! status report (and the plan document) is rendered from. Rendering is `model::report`'s.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::Engine;
use crate::model::plan::{PlanReview, review_due};
use crate::model::programme::Due;
use crate::model::report::{
    AchievedRow, ActionRow, BcdrReport, CoverageRow, DueRow, HeatMap, ImpactRow, IncidentRow, PersonRow,
    PlanHeader, ProcessRow, ProgrammeRow, RiskRow, SCHEMA, ScoreRow, SiteRow, SystemRow, TestRow,
    ThreeTwoOneRow, TierRpo,
};
use crate::store::{NewAuditRecord, Outcome};

/// How far back the report looks for incidents, and people's exercises and training.
pub const RECENT: Duration = Duration::from_secs(365 * 86_400);

use crate::engine::access::WriteError;

impl Engine {
    /// Record that the plan was reviewed, by whom, with a note: one write with its audit record.
    /// The record names the operator who entered it; `reviewer` (someone at the review who
    /// may use no console) is in its details when it is somebody else.
    pub async fn record_review(&self, reviewer: &str, note: &str) -> Result<PlanReview, WriteError> {
        if reviewer.trim().is_empty() || note.trim().is_empty() {
            return Err(WriteError::Input(
                "a review names who reviewed the plan and what they found: \
                 `warroom review --note \"reviewed with the owners; R-03 re-scored\"` (--as NAME for \
                 someone else who reviewed it)"
                    .into(),
            ));
        }
        let operator = self.operator();
        self.permit_write(operator, "recording a plan review", "plan.reviewed", "plan").await?;
        let review = PlanReview {
            at: self.now(),
            reviewer: reviewer.trim().to_owned(),
            note: note.trim().to_owned(),
            config_sha256: self.config.hash.clone(),
        };
        let mut details = serde_json::json!({ "note": review.note, "config_sha256": review.config_sha256 });
        if review.reviewer != operator {
            details["reviewer"] = serde_json::json!(review.reviewer);
        }
        let audit = NewAuditRecord::new(operator, "plan.reviewed", &self.config.plan.name, Outcome::Recorded)
            .details(details);
        self.store.add_plan_review(&review, &audit).await.map_err(|e| WriteError::Failed(e.to_string()))?;
        Ok(review)
    }

    /// Every review of the plan, oldest first.
    pub async fn plan_reviews(&self) -> Result<Vec<PlanReview>, String> {
        self.store.plan_reviews().await.map_err(|e| e.to_string())
    }

    /// Why the plan is due for review, when it is (never reviewed, or longer ago than
    /// `[plan] review_every`), and the risks whose review date has passed.
    pub async fn plan_warnings(&self) -> Result<Vec<String>, String> {
        let last = self.plan_reviews().await?.pop();
        let plan = &self.config.plan;
        let mut out: Vec<String> =
            review_due(last.map(|r| r.at), plan.review_every, self.now()).into_iter().collect();
        for r in plan.overdue_reviews(self.now().date_naive()) {
            out.push(r.review_overdue_words());
        }
        Ok(out)
    }

    /// The BC/DR status report's snapshot: every fact read now, every read error an error.
    pub async fn bcdr_report(&self) -> Result<BcdrReport, String> {
        let now = self.now();
        let config = &self.config;
        let plan = &config.plan;
        let estate = &config.estate;
        let (assessment, _) = self.assess_estate(None).await?;
        let standings = self.standings().await?;
        let programme = self.programme().await?;
        let reviews = self.plan_reviews().await?;
        let last_review = reviews.last().cloned();

        let standing_of: std::collections::HashMap<&str, &crate::engine::backup::catalog::BackupStanding> =
            standings.iter().map(|b| (b.system.as_str(), b)).collect();
        let mut systems = Vec::new();
        let mut by_tier: BTreeMap<u8, TierRpo> = BTreeMap::new();
        for s in &assessment.systems {
            let Some(system) = estate.system(&s.name) else { continue };
            let posture = plan.posture(system);
            let tier = by_tier.entry(s.tier).or_insert(TierRpo { tier: s.tier, ..TierRpo::default() });
            match s.rpo.state {
                "compliant" => tier.compliant += 1,
                "at_risk" => tier.at_risk += 1,
                "breached" => tier.breached += 1,
                _ => tier.never_backed_up += 1,
            }
            let standing = standing_of.get(s.name.as_str()).copied();
            let sp = programme.system(&s.name);
            let last = sp.and_then(|p| p.last());
            let next = sp.and_then(|p| p.next());
            systems.push(SystemRow {
                name: s.name.clone(),
                tier: s.tier,
                tier_label: s.tier_label.to_owned(),
                owner: s.owner.clone(),
                depends_on: s.depends_on.clone(),
                rto_secs: s.objectives.rto_seconds,
                rpo_secs: s.objectives.rpo_seconds,
                rpo_state: s.rpo.state.to_owned(),
                newest_verified: standing.and_then(|b| b.newest_verified),
                backup_age_secs: s.rpo.age_seconds,
                three_two_one: standing.filter(|b| b.backups > 0).and_then(|b| b.three_two_one).map(|t| {
                    ThreeTwoOneRow {
                        copies: t.copies,
                        media: t.media,
                        offsite: t.offsite,
                        immutable: t.immutable,
                        met: t.met(),
                    }
                }),
                site: posture.runs_at.clone(),
                standby: posture.standby.as_ref().map(|(k, _)| k.name().to_owned()),
                standby_site: posture.standby.as_ref().map(|(_, site)| site.clone()),
                standby_needed: posture.needed.name().to_owned(),
                standby_ok: plan.sites.is_empty() || !posture.weaker(),
                last_test: last.map(|l| TestRow {
                    kind: l.kind.name().to_owned(),
                    at: l.at,
                    outcome: l.outcome.name().to_owned(),
                    by: l.by.clone(),
                }),
                next_test: next.map(|n| n.test.name().to_owned()),
                next_due: next.map(|n| n.next_due),
                test_state: sp.filter(|p| !p.tests.is_empty()).map(|p| due_key(p.due).to_owned()),
                open_actions: s
                    .open_actions
                    .iter()
                    .map(|a| ActionRow {
                        id: a.id.clone(),
                        issue: a.issue.clone(),
                        owner: a.owner.clone(),
                        due: a.due.clone(),
                        status: a.status.name().to_owned(),
                    })
                    .collect(),
            });
        }

        let rpo_state: std::collections::HashMap<&str, &str> =
            systems.iter().map(|s| (s.name.as_str(), s.rpo_state.as_str())).collect();
        let processes = plan
            .processes
            .iter()
            .map(|p| {
                let shortfalls: Vec<String> = p.shortfalls(estate).iter().map(ToString::to_string).collect();
                let rpo_breached: Vec<String> = p
                    .systems
                    .iter()
                    .filter(|n| {
                        rpo_state
                            .get(n.as_str())
                            .is_some_and(|s| matches!(*s, "breached" | "never_backed_up"))
                    })
                    .cloned()
                    .collect();
                ProcessRow {
                    name: p.name.clone(),
                    description: p.description.clone(),
                    owner: p.owner.clone(),
                    systems: p.systems.clone(),
                    suppliers: p.suppliers.clone(),
                    rto_secs: p.rto.as_secs(),
                    rpo_secs: p.rpo.as_secs(),
                    wrt_secs: p.wrt.as_secs(),
                    mtpd_secs: p.mtpd.as_secs(),
                    mtpd_from_impact: p.mtpd_from_impact,
                    min_capacity: p.min_capacity.clone(),
                    workarounds: p.workarounds.clone(),
                    impact: p
                        .impact
                        .iter()
                        .map(|(c, v)| ImpactRow {
                            category: c.words().to_owned(),
                            values: v.iter().map(|i| i.words().to_owned()).collect(),
                        })
                        .collect(),
                    needs_met: shortfalls.is_empty() && rpo_breached.is_empty(),
                    shortfalls,
                    rpo_breached,
                }
            })
            .collect();

        let today = now.date_naive();
        let score = |s: crate::model::plan::Score| ScoreRow {
            likelihood: s.likelihood,
            impact: s.impact,
            score: s.value(),
            band: plan.bands.of(s.value()),
        };
        let risks = plan
            .risks
            .iter()
            .map(|r| RiskRow {
                id: r.id.clone(),
                name: r.name.clone(),
                kind: r.kind.name().to_owned(),
                description: r.description.clone(),
                systems: r.systems.clone(),
                sites: r.sites.clone(),
                regions: r.regions.clone(),
                inherent: score(r.inherent),
                residual: score(r.residual),
                treatment: r.treatment.name().to_owned(),
                mitigations: r.mitigations.clone(),
                owner: r.owner.clone(),
                review: r.review,
                review_overdue: r.review_overdue(today),
                exposed: plan.exposed(r),
            })
            .collect();
        let count = |grid: [[Vec<usize>; 5]; 5]| grid.map(|row| row.map(|cell| cell.len() as u32));
        let heat_map = HeatMap {
            residual: count(plan.heat_map(true)),
            inherent: count(plan.heat_map(false)),
            bands: plan.bands,
        };
        let sites = plan
            .sites
            .iter()
            .map(|s| SiteRow {
                name: s.name.clone(),
                role: s.role.name().to_owned(),
                region: s.region.clone(),
                location: s.location.clone(),
                runs: s.runs.clone(),
                standby: s.standby.iter().map(|(n, k)| (n.clone(), k.name().to_owned())).collect(),
            })
            .collect();

        let since = now - chrono::Duration::from_std(RECENT).unwrap_or_default();
        let mut incidents = Vec::new();
        for incident in self.incidents().await.map_err(|e| e.to_string())? {
            if incident.declared_at < since {
                continue;
            }
            let report = self.report(&incident).await?;
            incidents.push(IncidentRow {
                id: incident.id.clone(),
                kind: incident.kind.clone(),
                severity: incident.severity.clone(),
                declared_at: incident.declared_at,
                closed_at: incident.closed_at,
                systems: incident.systems.clone(),
                achieved: report
                    .achieved
                    .iter()
                    .map(|a| AchievedRow {
                        system: a.system.clone(),
                        rto_objective_secs: a.rto_objective_secs,
                        rto_achieved_secs: a.rto_achieved_secs,
                        rto_met: a.rto_met,
                        rpo_objective_secs: a.rpo_objective_secs,
                        rpo_achieved_secs: a.rpo_achieved_secs,
                        rpo_met: a.rpo_met,
                        rpo_basis: a.rpo_basis.clone(),
                    })
                    .collect(),
            });
        }
        incidents.sort_by_key(|i| std::cmp::Reverse(i.declared_at));

        let mut coverage: BTreeMap<&'static str, CoverageRow> = BTreeMap::new();
        let (mut overdue, mut due_soon) = (Vec::new(), Vec::new());
        for sp in &programme.systems {
            for t in &sp.tests {
                let row = coverage.entry(t.test.name()).or_insert(CoverageRow {
                    test: t.test.name().to_owned(),
                    required: 0,
                    current: 0,
                });
                row.required += 1;
                if t.due != Due::Overdue {
                    row.current += 1;
                }
                let line = DueRow {
                    system: sp.system.clone(),
                    test: t.test.name().to_owned(),
                    last: t.last.as_ref().map(|l| l.at),
                    next_due: t.next_due,
                };
                match t.due {
                    Due::Overdue => overdue.push(line),
                    Due::DueSoon => due_soon.push(line),
                    Due::Ok => {}
                }
            }
        }

        let training = self.training(since).await?;
        let mut report = BcdrReport {
            schema: SCHEMA,
            generated_at: now,
            plan: PlanHeader {
                name: plan.name.clone(),
                owner: plan.owner.clone(),
                config: config.path.display().to_string(),
                config_sha256: config.hash.clone(),
                review_due: review_due(last_review.as_ref().map(|r| r.at), plan.review_every, now),
                last_review,
                review_every_secs: plan.review_every.as_secs(),
            },
            summary: Vec::new(),
            systems,
            rpo_by_tier: by_tier.into_values().collect(),
            processes,
            risks,
            heat_map,
            sites,
            incidents,
            programme: ProgrammeRow { overdue, due_soon, coverage: coverage.into_values().collect() },
            training,
        };
        report.summarise();
        Ok(report)
    }

    /// Each contact with their role, the exercises they took part in since `since` (as an
    /// author of the exercise's events: they acted, observed or acknowledged) and their last
    /// training.
    async fn training(&self, since: DateTime<Utc>) -> Result<Vec<PersonRow>, String> {
        let mut took_part: BTreeMap<String, Vec<(String, DateTime<Utc>)>> = BTreeMap::new();
        for record in self.exercises().await.map_err(|e| e.to_string())? {
            if record.started_at < since {
                continue;
            }
            let view = self.exercise(Some(&record.id)).await?;
            let mut seen: Vec<&str> = Vec::new();
            for e in &view.events {
                if !seen.contains(&e.author.as_str()) {
                    seen.push(&e.author);
                    took_part
                        .entry(e.author.clone())
                        .or_default()
                        .push((record.id.clone(), record.started_at));
                }
            }
        }
        let today = self.now().date_naive();
        let year_ago = since.date_naive();
        Ok(self
            .config
            .notify
            .contacts
            .iter()
            .filter(|c| c.role.is_some() || c.trained.is_some())
            .map(|c| {
                let mut exercises = took_part.get(&c.name).cloned().unwrap_or_default();
                exercises.sort_by_key(|(_, at)| std::cmp::Reverse(*at));
                let trained = c.trained.filter(|d| *d <= today);
                PersonRow {
                    name: c.name.clone(),
                    role: c.role.clone(),
                    lists: c.lists.clone(),
                    current: !exercises.is_empty() || trained.is_some_and(|d| d >= year_ago),
                    exercises,
                    trained: c.trained,
                }
            })
            .collect())
    }
}

fn due_key(d: Due) -> &'static str {
    match d {
        Due::Ok => "ok",
        Due::DueSoon => "due_soon",
        Due::Overdue => "overdue",
    }
}

impl Engine {
    /// The whole plan document: the status report's facts, the strategies per tier, how the plan
    /// is activated, every runbook, the contact lists and the tests of the last 12 months.
    pub async fn plan_document(
        &self,
        restore_to: Option<&std::path::Path>,
    ) -> Result<crate::model::plandoc::PlanDocument, String> {
        use crate::model::plandoc::{
            Activation, ContactList, PlanDocument, SCHEMA, TestReport, TierStrategy,
        };
        use crate::model::{Action, Tier};
        let config = &self.config;
        let estate = &config.estate;
        let report = self.bcdr_report().await?;
        let runbooks = self.runbooks(restore_to).await?;
        let since = self.now() - chrono::Duration::from_std(RECENT).unwrap_or_default();
        let mut tests: Vec<TestReport> = self
            .test_results()
            .await?
            .into_iter()
            .filter(|t| t.at >= since)
            .map(|t| TestReport {
                system: t.system,
                test: t.kind.name().to_owned(),
                at: t.at,
                outcome: t.outcome.name().to_owned(),
                by: t.by,
                detail: t.detail,
            })
            .collect();
        tests.sort_by_key(|t| std::cmp::Reverse(t.at));

        let strategies = Tier::ALL
            .iter()
            .map(|&tier| {
                let objective = estate.tiers.get(tier);
                let members: Vec<(usize, &crate::model::System)> = estate.tier(tier).collect();
                TierStrategy {
                    tier: tier.number(),
                    label: tier.label().to_owned(),
                    rto_secs: objective.rto.as_secs(),
                    rpo_secs: objective.rpo.as_secs(),
                    standby: tier.standby().to_owned(),
                    systems: members.iter().map(|(_, s)| s.name.clone()).collect(),
                    failover: members
                        .iter()
                        .filter(|(i, _)| config.systems[*i].failover.is_some())
                        .map(|(_, s)| s.name.clone())
                        .collect(),
                }
            })
            .collect();

        let notify = &config.notify;
        let declare = notify
            .contacts
            .iter()
            .filter(|c| {
                c.role.as_deref().is_some_and(|r| r.to_lowercase().contains("commander"))
                    || c.lists.iter().any(|l| l == "executive")
            })
            .map(|c| match &c.role {
                Some(r) => format!("{} ({r})", c.name),
                None => c.name.clone(),
            })
            .collect();
        let mut criteria: Vec<(String, Vec<String>)> = Vec::new();
        for (system, settings) in estate.systems().iter().zip(&config.systems) {
            let t = &settings.thresholds;
            let line = format!(
                "fail over when the score reaches {} (availability below {:.0}%: {} points; p95 response above {}: {}; error rate above {:.0}%: {}), or at once when availability is below {:.0}% or p95 is above {}",
                t.failover_at_score,
                t.availability_below * 100.0,
                t.availability_points,
                crate::model::duration::human(t.response_time_above),
                t.response_time_points,
                t.error_rate_above * 100.0,
                t.error_rate_points,
                t.immediate_availability_below * 100.0,
                crate::model::duration::human(t.immediate_response_time_above)
            );
            match criteria.iter_mut().find(|(l, _)| *l == line) {
                Some((_, names)) => names.push(system.name.clone()),
                None => criteria.push((line, vec![system.name.clone()])),
            }
        }
        let criteria = criteria
            .into_iter()
            .map(|(line, names)| {
                if names.len() == estate.systems().len() {
                    format!("every system: {line}")
                } else {
                    format!("{}: {line}", names.join(", "))
                }
            })
            .collect();
        let approvals = [Action::Failover, Action::Failback, Action::Restore, Action::Recover]
            .iter()
            .map(|&a| {
                let per: Vec<String> = Tier::ALL
                    .iter()
                    .map(|&t| format!("tier {} {}", t.number(), config.approval.get(a, t).name()))
                    .collect();
                format!("{}: {}", a.name(), per.join(", "))
            })
            .collect();
        let stages = crate::model::comms::Stage::ALL
            .iter()
            .map(|&s| {
                let p = notify.stage(s);
                // The channels a notice can go by: those configured.
                let channels: Vec<&str> =
                    p.channels.iter().filter(|c| notify.channel_configured(**c)).map(|c| c.name()).collect();
                let by = if channels.is_empty() {
                    "no configured channel".to_owned()
                } else {
                    channels.join(", ")
                };
                format!("{}: {} by {by}", s.name(), p.lists.join(", "))
            })
            .collect();

        let contact_lists = notify
            .lists()
            .into_iter()
            .map(|list| ContactList {
                audience: match notify.audience_of(&list) {
                    crate::model::comms::Audience::External => "external".into(),
                    crate::model::comms::Audience::Internal => "internal".into(),
                },
                people: notify
                    .contacts
                    .iter()
                    .filter(|c| c.lists.contains(&list))
                    .map(|c| crate::model::runbook::ContactRow {
                        name: c.name.clone(),
                        role: c.role.clone(),
                        lists: c.lists.clone(),
                        email: c.email.clone(),
                        phone: c.phone.clone(),
                        why: format!("on the {list} list"),
                    })
                    .collect(),
                list,
            })
            .collect();

        Ok(PlanDocument {
            schema: SCHEMA,
            buckets: config.plan.buckets.iter().map(|b| crate::model::duration::human(*b)).collect(),
            report,
            strategies,
            activation: Activation { declare, criteria, approvals, stages },
            runbooks,
            contact_lists,
            tests,
        })
    }
}
