//! The BC/DR plan document: the whole plan in the sections the standard lists, generated from
//! the config and the state — executive summary, risk assessment, business impact analysis,
//! recovery strategies, plan activation; system inventory, recovery procedures, validation
//! checklists, rollback procedures; contact lists; test reports. The JSON is the document's
//! facts (schema `warroom.plan-doc/1`, docs/json.md).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::doc::{Block, Doc};
use super::duration::human;
use super::report::{
    self, BcdrReport, achieved_words, heat_map_markdown, heat_map_svg, rpo_words, score_words, standby_words,
    test_words, three_two_one_words,
};
use super::runbook::{ContactRow, Runbook, StepLine};

pub const SCHEMA: &str = "warroom.plan-doc/1";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanDocument {
    pub schema: &'static str,
    /// The status report: summary, systems, processes, risks, sites, incidents, programme.
    pub report: BcdrReport,
    /// The impact analysis's buckets (how long after the disruption began).
    pub buckets: Vec<String>,
    pub strategies: Vec<TierStrategy>,
    pub activation: Activation,
    /// Every system's runbook, in recovery order.
    pub runbooks: Vec<Runbook>,
    pub contact_lists: Vec<ContactList>,
    /// Tests of the last 12 months, newest first.
    pub tests: Vec<TestReport>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TierStrategy {
    pub tier: u8,
    pub label: String,
    pub rto_secs: u64,
    pub rpo_secs: u64,
    pub standby: String,
    pub systems: Vec<String>,
    /// Systems with a failover procedure (the others are restored from backup).
    pub failover: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Activation {
    /// Who may declare an incident and approve recovery (commanders and executives).
    pub declare: Vec<String>,
    /// When a failover is recommended.
    pub criteria: Vec<String>,
    /// What each recovery action needs at the gate, per tier.
    pub approvals: Vec<String>,
    /// Who hears what, when.
    pub stages: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContactList {
    pub list: String,
    /// internal or external wording.
    pub audience: String,
    pub people: Vec<ContactRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestReport {
    pub system: String,
    pub test: String,
    pub at: DateTime<Utc>,
    pub outcome: String,
    pub by: String,
    pub detail: String,
}

fn secs(s: u64) -> String {
    human(std::time::Duration::from_secs(s))
}

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

fn or_dash(v: &[String]) -> String {
    if v.is_empty() { "—".into() } else { v.join(", ") }
}

/// Text ending as a sentence does.
fn sentence(s: &str) -> String {
    let t = s.trim_end();
    if t.ends_with(['.', '!', '?']) { t.to_owned() } else { format!("{t}.") }
}

fn step_item(s: &StepLine) -> String {
    match (&s.command, &s.instruction) {
        (Some(c), _) => format!("{}: `{}`", s.name, c.replace('`', "'")),
        (None, Some(i)) => format!("{}: {i}", s.name),
        (None, None) => s.name.clone(),
    }
}

impl PlanDocument {
    pub fn doc(&self) -> Doc {
        let r = &self.report;
        let mut d = Doc::new(format!("{} — business continuity and disaster recovery plan", r.plan.name));
        d.para(format!(
            "Generated {} from {} (SHA-256 {}){}. Every section is generated from the configuration that drives warroom's automation and from its records, so the plan and the automation say the same thing.",
            stamp(r.generated_at),
            r.plan.config,
            r.plan.config_sha256,
            r.plan.owner.as_deref().map(|o| format!("; plan owner {o}")).unwrap_or_default()
        ));

        // 1. Executive summary
        d.section(2, "1. Executive summary", "executive-summary").push(Block::List(r.summary.clone()));
        match (&r.plan.last_review, &r.plan.review_due) {
            (Some(l), due) => {
                d.para(format!("Last reviewed {} by {}: {}", l.at.format("%Y-%m-%d"), l.reviewer, l.note));
                if let Some(why) = due {
                    d.push(Block::Warn(why.clone()));
                }
            }
            (None, _) => {
                d.push(Block::Warn(
                    "The plan has never been reviewed: `warroom review --as NAME --note TEXT`.".into(),
                ));
            }
        }

        // 2. Risk assessment
        d.section(2, "2. Risk assessment", "risk-assessment");
        if r.risks.is_empty() {
            d.push(Block::Warn("No risks are registered: add [[risks]] to the config.".into()));
        } else {
            d.push(Block::Figure {
                markdown: format!(
                    "Residual risk (likelihood by impact):\n\n{}",
                    heat_map_markdown(&r.heat_map.residual, &r.heat_map.bands)
                ),
                html: format!(
                    "<figure><figcaption>Residual risk</figcaption>{}</figure>",
                    heat_map_svg(
                        &r.heat_map.residual,
                        &r.heat_map.bands,
                        "heat-map",
                        "Residual risk: likelihood by impact"
                    )
                ),
            });
            let rows = r
                .risks
                .iter()
                .map(|k| {
                    let affects: Vec<String> =
                        k.systems.iter().chain(&k.sites).chain(&k.regions).cloned().collect();
                    vec![
                        k.id.clone(),
                        k.name.clone(),
                        k.kind.clone(),
                        or_dash(&affects),
                        score_words(&k.inherent),
                        score_words(&k.residual),
                        format!("{}: {}", k.treatment, or_dash(&k.mitigations)),
                        k.owner.clone().unwrap_or_default(),
                        format!("{}{}", k.review, if k.review_overdue { " (overdue)" } else { "" }),
                        or_dash(&k.exposed),
                    ]
                })
                .collect();
            d.push(Block::Table {
                id: Some("risk-register".into()),
                head: strings(&[
                    "ID",
                    "Risk",
                    "Type",
                    "Affects",
                    "Inherent",
                    "Residual",
                    "Treatment",
                    "Owner",
                    "Review",
                    "No standby if it strikes",
                ]),
                rows,
            });
        }

        // 3. Business impact analysis
        d.section(2, "3. Business impact analysis", "business-impact-analysis");
        if r.processes.is_empty() {
            d.push(Block::Warn(
                "No business processes are described: add [[processes]] to the config.".into(),
            ));
        }
        for p in &r.processes {
            d.heading(3, format!("Process: {}", p.name));
            let mut facts = Vec::new();
            if let Some(desc) = &p.description {
                facts.push(sentence(desc));
            }
            facts.push(format!(
                "Owner {}. Relies on {}{}. MTPD {}{}, RTO {}, RPO {}, WRT {}.",
                p.owner.as_deref().unwrap_or("— (none named)"),
                or_dash(&p.systems),
                if p.suppliers.is_empty() {
                    String::new()
                } else {
                    format!(" and suppliers {}", p.suppliers.join(", "))
                },
                secs(p.mtpd_secs),
                if p.mtpd_from_impact { " (from the first severe impact)" } else { "" },
                secs(p.rto_secs),
                secs(p.rpo_secs),
                secs(p.wrt_secs)
            ));
            if let Some(c) = &p.min_capacity {
                facts.push(format!("Minimum capacity while disrupted: {c}."));
            }
            if let Some(w) = &p.workarounds {
                facts.push(format!("Workarounds: {w}."));
            }
            d.para(facts.join(" "));
            if !p.impact.is_empty() {
                let mut head = vec!["Impact after".to_owned()];
                head.extend(self.buckets.iter().cloned());
                let rows = p
                    .impact
                    .iter()
                    .map(|i| std::iter::once(i.category.clone()).chain(i.values.iter().cloned()).collect())
                    .collect();
                d.push(Block::Table { id: None, head, rows });
            }
            if p.needs_met {
                d.para("Its needs are met by the systems' objectives and their RPO now.");
            } else {
                let mut why = p.shortfalls.clone();
                why.extend(p.rpo_breached.iter().map(|s| format!("{s}: RPO breached or never met now")));
                d.push(Block::Warn("Its needs are not met:".into())).push(Block::List(why));
            }
        }

        // 4. Recovery strategies
        d.section(2, "4. Recovery strategies", "recovery-strategies");
        let rows = self
            .strategies
            .iter()
            .map(|t| {
                vec![
                    format!("{} {}", t.tier, t.label),
                    secs(t.rto_secs),
                    secs(t.rpo_secs),
                    t.standby.clone(),
                    or_dash(&t.systems),
                    or_dash(&t.failover),
                ]
            })
            .collect();
        d.push(Block::Table {
            id: Some("strategies".into()),
            head: strings(&["Tier", "RTO", "RPO", "Standby", "Systems", "With a failover procedure"]),
            rows,
        });
        if !r.sites.is_empty() {
            let rows = r
                .sites
                .iter()
                .map(|s| {
                    let standby: Vec<String> =
                        s.standby.iter().map(|(sys, k)| format!("{sys} {k}")).collect();
                    vec![
                        s.name.clone(),
                        s.role.clone(),
                        s.region.clone(),
                        s.location.clone().unwrap_or_default(),
                        or_dash(&s.runs),
                        or_dash(&standby),
                    ]
                })
                .collect();
            d.para("Sites:").push(Block::Table {
                id: Some("sites".into()),
                head: strings(&["Site", "Role", "Region", "Location", "Runs", "Standby here"]),
                rows,
            });
        }

        // 5. Plan activation
        let a = &self.activation;
        d.section(2, "5. Plan activation", "plan-activation");
        d.para("Who declares an incident and approves recovery:").push(Block::List(
            if a.declare.is_empty() {
                vec!["— (no commander or executive contact)".into()]
            } else {
                a.declare.clone()
            },
        ));
        d.para("When a failover is recommended (warroom's decision panel scores each system's probes):")
            .push(Block::List(a.criteria.clone()));
        d.para("What each recovery action needs at the approval gate:")
            .push(Block::List(a.approvals.clone()));
        d.para("Who is told, when:").push(Block::List(a.stages.clone()));

        // 6. System inventory
        d.section(2, "6. System inventory", "system-inventory");
        let rows = r
            .systems
            .iter()
            .map(|s| {
                vec![
                    s.name.clone(),
                    format!("{} {}", s.tier, s.tier_label),
                    s.owner.clone().unwrap_or_default(),
                    or_dash(&s.depends_on),
                    secs(s.rto_secs),
                    secs(s.rpo_secs),
                    rpo_words(s),
                    three_two_one_words(s),
                    s.site.clone().unwrap_or_default(),
                    standby_words(s),
                    test_words(s),
                ]
            })
            .collect();
        d.push(Block::Table {
            id: Some("inventory".into()),
            head: strings(&[
                "System",
                "Tier",
                "Owner",
                "Depends on",
                "RTO",
                "RPO",
                "RPO now",
                "3-2-1",
                "Site",
                "Standby",
                "Last test",
            ]),
            rows,
        });

        // 7. Recovery procedures: each system's runbook, in recovery order.
        d.section(2, "7. Recovery procedures", "recovery-procedures");
        d.para(format!(
            "In recovery order: {}. Each runbook can also be printed alone with `warroom runbook SYSTEM`.",
            self.runbooks.iter().map(|b| b.system.as_str()).collect::<Vec<_>>().join(", ")
        ));
        for b in &self.runbooks {
            d.section(3, format!("Runbook: {}", b.system), &format!("runbook-{}", b.system));
            d.append(b.doc().nested(2, &b.system));
        }

        // 8. Validation checklists
        d.section(2, "8. Validation checklists", "validation-checklists");
        for b in &self.runbooks {
            let mut items: Vec<String> =
                b.failover.iter().flat_map(|p| p.validate.iter().map(step_item)).collect();
            if let Some(h) = &b.health {
                items.push(format!("Health check answers: `{}`", h.replace('`', "'")));
            }
            items.extend(b.then_check.iter().map(|s| format!("{s}, which relies on it, is healthy again")));
            if !items.is_empty() {
                d.heading(3, b.system.clone()).push(Block::Checklist(items));
            }
        }

        // 9. Rollback procedures
        d.section(2, "9. Rollback procedures", "rollback-procedures");
        let mut any = false;
        for b in &self.runbooks {
            let rollback: Vec<String> =
                b.failover.iter().flat_map(|p| p.rollback.iter().map(step_item)).collect();
            let failback: Vec<String> =
                b.failback.iter().flat_map(|p| p.steps.iter().map(step_item)).collect();
            if rollback.is_empty() && failback.is_empty() {
                continue;
            }
            any = true;
            d.heading(3, b.system.clone());
            if !rollback.is_empty() {
                d.para("When the failover fails:").push(Block::Steps(rollback));
            }
            if !failback.is_empty() {
                d.para("Failing back to the primary:").push(Block::Steps(failback));
            }
        }
        if !any {
            d.para("No system has a rollback or failback procedure.");
        }

        // 10. Contact lists
        d.section(2, "10. Contact lists", "contact-lists");
        for l in &self.contact_lists {
            let rows = l
                .people
                .iter()
                .map(|c| {
                    vec![
                        c.name.clone(),
                        c.role.clone().unwrap_or_default(),
                        c.phone.clone().unwrap_or_default(),
                        c.email.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            d.heading(3, format!("{} ({} wording)", l.list, l.audience));
            d.push(Block::Table { id: None, head: strings(&["Name", "Role", "Phone", "Email"]), rows });
        }
        let untrained: Vec<String> =
            r.training.iter().filter(|p| !p.current).map(|p| p.name.clone()).collect();
        if !untrained.is_empty() {
            d.push(Block::Warn(format!(
                "Not trained or exercised in the last 12 months: {}.",
                untrained.join(", ")
            )));
        }

        // 11. Test reports
        d.section(2, "11. Test reports", "test-reports");
        let coverage: Vec<String> = r
            .programme
            .coverage
            .iter()
            .map(|c| {
                format!("{}: {} of {} systems current ({}%)", c.test, c.current, c.required, c.percent())
            })
            .collect();
        d.para("Coverage of the testing programme:").push(Block::List(coverage));
        if !r.programme.overdue.is_empty() {
            d.push(Block::Warn(format!("{} tests are overdue:", r.programme.overdue.len())))
                .push(Block::List(r.programme.overdue.iter().map(report::due_words).collect()));
        }
        if self.tests.is_empty() {
            d.para("No test in the last 12 months.");
        } else {
            let rows = self
                .tests
                .iter()
                .map(|t| {
                    vec![
                        stamp(t.at),
                        t.system.clone(),
                        t.test.clone(),
                        t.outcome.clone(),
                        t.by.clone(),
                        t.detail.clone(),
                    ]
                })
                .collect();
            d.push(Block::Table {
                id: Some("tests".into()),
                head: strings(&["When", "System", "Test", "Outcome", "By", "Detail"]),
                rows,
            });
        }
        if !r.incidents.is_empty() {
            d.para("Incidents of the last 12 months, with the RTO and RPO achieved:");
            let items = r
                .incidents
                .iter()
                .map(|i| {
                    let achieved: Vec<String> = i.achieved.iter().map(achieved_words).collect();
                    format!(
                        "{} ({}, {}, declared {}): {}",
                        i.id,
                        i.kind,
                        i.severity,
                        stamp(i.declared_at),
                        or_dash(&achieved)
                    )
                })
                .collect();
            d.push(Block::List(items));
        }
        d
    }
}
