//! A system's runbook: what an operator follows when warroom itself is unavailable. The engine
//! gathers it (every command already written out for `sh`); this renders it as a document.
//! The JSON is the runbook itself (schema `warroom.runbook/1`, docs/json.md).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::doc::{Block, Doc};
use super::duration::human;

pub const SCHEMA: &str = "warroom.runbook/1";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Runbook {
    pub schema: &'static str,
    pub generated_at: DateTime<Utc>,
    pub plan: String,
    pub config_sha256: String,
    pub system: String,
    pub tier: u8,
    pub tier_label: String,
    pub description: Option<String>,
    pub owner: Option<String>,
    pub rto_secs: u64,
    pub rpo_secs: u64,
    pub site: Option<String>,
    pub standby: Option<String>,
    pub standby_site: Option<String>,
    /// The business processes that rely on it.
    pub processes: Vec<String>,
    pub prerequisites: Vec<String>,
    /// What must be back first, in waves: each wave's systems can come back together.
    pub recover_first: Vec<Vec<String>>,
    /// What relies on it, to check once it is back.
    pub then_check: Vec<String>,
    pub health: Option<String>,
    pub failover: Option<Procedure>,
    pub failback: Option<Procedure>,
    pub restore: Restore,
    pub contacts: Vec<ContactRow>,
    pub tests: Vec<TestLine>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Procedure {
    pub approval: Option<String>,
    pub estimate_secs: u64,
    pub commit_window_secs: Option<u64>,
    pub steps: Vec<StepLine>,
    pub validate: Vec<StepLine>,
    pub rollback: Vec<StepLine>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepLine {
    pub name: String,
    /// run | http | wait_healthy | manual
    pub kind: &'static str,
    /// The command that does it by hand, for `sh`.
    pub command: Option<String>,
    /// What a person does or checks.
    pub instruction: Option<String>,
    pub timeout_secs: u64,
    pub estimate_secs: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Restore {
    /// Its newest restorable backup, and how to restore it from each location holding the chain.
    Ready {
        backup: String,
        taken_at: DateTime<Utc>,
        /// Oldest first: the full backup, then what builds on it.
        chain: Vec<ChainLink>,
        to: String,
        identity: String,
        tools: Vec<String>,
        locations: Vec<RestoreFrom>,
    },
    /// Why there is nothing to restore.
    None { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainLink {
    pub id: String,
    pub kind: String,
    pub taken_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestoreFrom {
    pub location: String,
    /// Every backup of the chain has a copy here verified good.
    pub verified: bool,
    /// The script, for `sh -e`: comments, checksum checks, then the restore.
    pub script: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContactRow {
    pub name: String,
    pub role: Option<String>,
    pub lists: Vec<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub why: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestLine {
    pub test: String,
    pub last_at: Option<DateTime<Utc>>,
    pub outcome: Option<String>,
    pub next_due: DateTime<Utc>,
    pub due: super::programme::Due,
}

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn secs(s: u64) -> String {
    human(std::time::Duration::from_secs(s))
}

fn step_text(s: &StepLine) -> String {
    let mut t = s.name.clone();
    if let Some(i) = &s.instruction {
        t.push_str(": ");
        t.push_str(i);
    }
    let mut limits = vec![format!("give up after {}", secs(s.timeout_secs))];
    if let Some(e) = s.estimate_secs {
        limits.insert(0, format!("takes about {}", secs(e)));
    }
    format!("{t} ({})", limits.join(", "))
}

fn steps(doc: &mut Doc, title: &str, id: &str, lines: &[StepLine], checklist: bool) {
    if lines.is_empty() {
        return;
    }
    doc.section(3, title, id);
    let texts: Vec<String> = lines.iter().map(step_text).collect();
    doc.push(if checklist { Block::Checklist(texts) } else { Block::Steps(texts) });
    let script: Vec<String> = lines
        .iter()
        .enumerate()
        .filter_map(|(n, s)| {
            s.command.as_ref().map(|c| format!("# {}. {}\n{c}", n + 1, s.name.replace('\n', " ")))
        })
        .collect();
    if !script.is_empty() {
        doc.push(Block::Code { id: Some(format!("{id}-commands")), text: script.join("\n") });
    }
}

fn procedure(doc: &mut Doc, what: &str, id: &str, p: &Procedure) {
    let mut facts = vec![format!("takes about {} by its steps' estimates", secs(p.estimate_secs))];
    if let Some(a) = &p.approval {
        facts.push(format!("approval: {a}"));
    }
    if let Some(w) = p.commit_window_secs {
        facts.push(format!("commit or fail back within {}", secs(w)));
    }
    doc.section(2, what, id).para(format!("{}.", facts.join("; ")));
    steps(doc, "Steps", &format!("{id}-steps"), &p.steps, false);
    steps(doc, "Validation", &format!("{id}-validate"), &p.validate, true);
    steps(
        doc,
        "Rollback (when a step or the validation fails)",
        &format!("{id}-rollback"),
        &p.rollback,
        false,
    );
}

impl Runbook {
    /// The runbook as a document, for Markdown or HTML.
    pub fn doc(&self) -> Doc {
        let mut d = Doc::new(format!("Runbook: {}", self.system));
        let mut facts = vec![format!(
            "Tier {} ({}): RTO {}, RPO {}.",
            self.tier,
            self.tier_label,
            secs(self.rto_secs),
            secs(self.rpo_secs)
        )];
        if let Some(o) = &self.owner {
            facts.push(format!("Owner: {o}."));
        }
        match (&self.site, &self.standby, &self.standby_site) {
            (site, Some(kind), Some(at)) => facts.push(format!(
                "Runs at {}; {kind} standby at {at}.",
                site.as_deref().unwrap_or("its primary site")
            )),
            (Some(site), _, _) => facts.push(format!("Runs at {site}; no standby at another site.")),
            _ => {}
        }
        if !self.processes.is_empty() {
            facts.push(format!("Business processes relying on it: {}.", self.processes.join(", ")));
        }
        d.para(facts.join(" "));
        if let Some(desc) = &self.description {
            d.para(desc.clone());
        }
        d.para(format!(
            "Generated {} from the plan \"{}\" (config SHA-256 {}). Follow it when warroom itself cannot be used.",
            stamp(self.generated_at),
            self.plan,
            self.config_sha256.get(..12).unwrap_or(&self.config_sha256)
        ));

        d.section(2, "Prerequisites", "prerequisites").push(Block::Checklist(self.prerequisites.clone()));

        d.section(2, "Recovery order", "recovery-order");
        if self.recover_first.is_empty() {
            d.para(format!("{} depends on nothing: it can be recovered first.", self.system));
        } else {
            let waves: Vec<String> = self
                .recover_first
                .iter()
                .enumerate()
                .map(|(n, w)| format!("wave {}: {}", n + 1, w.join(", ")))
                .collect();
            d.para(format!("These must be back, in this order, before {}:", self.system))
                .push(Block::Steps(waves));
        }
        if !self.then_check.is_empty() {
            d.para(format!("Once it is back, check what relies on it: {}.", self.then_check.join(", ")));
        }
        if let Some(h) = &self.health {
            d.para("Its health check, by hand:")
                .push(Block::Code { id: Some("health".into()), text: h.clone() });
        }

        match &self.failover {
            Some(p) => procedure(&mut d, "Failover", "failover", p),
            None => {
                d.section(2, "Failover", "failover").push(Block::Warn(format!(
                    "{} has no failover procedure: restore it from its backup.",
                    self.system
                )));
            }
        }
        if let Some(p) = &self.failback {
            procedure(&mut d, "Failback", "failback", p);
        }

        d.section(2, "Restore from backup, with stock tools", "restore");
        match &self.restore {
            Restore::None { reason } => {
                d.push(Block::Warn(reason.clone()));
            }
            Restore::Ready { backup, taken_at, chain, to, identity, tools, locations } => {
                d.para(format!(
                    "The newest restorable backup is {backup}, taken {}. It restores into {to}, which must be empty, with the private key {identity} and {}.",
                    stamp(*taken_at),
                    tools.join(", ")
                ));
                if chain.len() > 1 {
                    let links: Vec<String> = chain
                        .iter()
                        .map(|c| format!("{} ({}, {})", c.id, c.kind, stamp(c.taken_at)))
                        .collect();
                    d.para("It is applied in order, oldest first:").push(Block::Steps(links));
                }
                for l in locations {
                    d.heading(
                        3,
                        if l.verified {
                            format!("From {}", l.location)
                        } else {
                            format!(
                                "From {} (not verified there: use it when nothing else is left)",
                                l.location
                            )
                        },
                    );
                    d.push(Block::Code {
                        id: Some(format!("restore-{}", l.location)),
                        text: l.script.clone(),
                    });
                }
            }
        }

        d.section(2, "Escalation contacts", "contacts");
        if self.contacts.is_empty() {
            d.push(Block::Warn("No contacts are configured: add [[contacts]] with lists.".into()));
        } else {
            let rows = self
                .contacts
                .iter()
                .map(|c| {
                    vec![
                        c.name.clone(),
                        c.role.clone().unwrap_or_default(),
                        c.phone.clone().unwrap_or_default(),
                        c.email.clone().unwrap_or_default(),
                        c.why.clone(),
                    ]
                })
                .collect();
            d.push(Block::Table {
                id: Some("contacts-table".into()),
                head: ["Name", "Role", "Phone", "Email", "Why"].map(String::from).to_vec(),
                rows,
            });
        }

        d.section(2, "Last tested", "tests");
        if self.tests.is_empty() {
            d.para("The testing programme asks for no test of this system.");
        } else {
            let rows = self
                .tests
                .iter()
                .map(|t| {
                    vec![
                        t.test.clone(),
                        t.last_at.map(stamp).unwrap_or_else(|| "never".into()),
                        t.outcome.clone().unwrap_or_default(),
                        stamp(t.next_due),
                        t.due.name().to_owned(),
                    ]
                })
                .collect();
            d.push(Block::Table {
                id: Some("tests-table".into()),
                head: ["Test", "Last", "Outcome", "Next due", "State"].map(String::from).to_vec(),
                rows,
            });
        }
        d
    }
}
