//! The BC/DR status report: the snapshot the engine gathers (plain facts, no I/O), its executive
//! summary, and its renderings — Markdown, and one self-contained HTML page with inline SVG
//! charts (no script, no external resource) that prints. The JSON is the snapshot itself
//! (schema `warroom.report/1`, docs/json.md).

use std::fmt::Write;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::duration::human;
use super::plan::{Band, Bands, LIKELIHOOD, PlanReview, SEVERITY};
use super::statuspage::escape;

pub const SCHEMA: &str = "warroom.report/1";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BcdrReport {
    pub schema: &'static str,
    pub generated_at: DateTime<Utc>,
    pub plan: PlanHeader,
    /// What is at risk, in three lines.
    pub summary: Vec<String>,
    pub systems: Vec<SystemRow>,
    pub rpo_by_tier: Vec<TierRpo>,
    pub processes: Vec<ProcessRow>,
    pub risks: Vec<RiskRow>,
    pub heat_map: HeatMap,
    pub sites: Vec<SiteRow>,
    pub incidents: Vec<IncidentRow>,
    pub programme: ProgrammeRow,
    pub training: Vec<PersonRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanHeader {
    pub name: String,
    pub owner: Option<String>,
    /// The configuration the report was made from.
    pub config: String,
    pub config_sha256: String,
    pub last_review: Option<PlanReview>,
    /// Why the plan is due for review, when it is.
    pub review_due: Option<String>,
    pub review_every_secs: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SystemRow {
    pub name: String,
    pub tier: u8,
    pub tier_label: String,
    pub owner: Option<String>,
    pub depends_on: Vec<String>,
    pub rto_secs: u64,
    pub rpo_secs: u64,
    /// compliant, at_risk, breached, never_backed_up.
    pub rpo_state: String,
    pub newest_verified: Option<DateTime<Utc>>,
    pub backup_age_secs: Option<u64>,
    pub three_two_one: Option<ThreeTwoOneRow>,
    pub site: Option<String>,
    /// The best standby at another site (hot, warm, cold, backup-only).
    pub standby: Option<String>,
    pub standby_site: Option<String>,
    pub standby_needed: String,
    pub standby_ok: bool,
    pub last_test: Option<TestRow>,
    pub next_test: Option<String>,
    pub next_due: Option<DateTime<Utc>>,
    /// ok, due_soon, overdue; none when the programme asks nothing of it.
    pub test_state: Option<String>,
    pub open_actions: Vec<ActionRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ThreeTwoOneRow {
    pub copies: u32,
    pub media: u32,
    pub offsite: u32,
    pub immutable: u32,
    pub met: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestRow {
    pub kind: String,
    pub at: DateTime<Utc>,
    pub outcome: String,
    pub by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionRow {
    pub id: String,
    pub issue: String,
    pub owner: String,
    /// RFC 3339, as `status` gives it.
    pub due: String,
    pub status: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct TierRpo {
    pub tier: u8,
    pub compliant: u32,
    pub at_risk: u32,
    pub breached: u32,
    pub never_backed_up: u32,
}

impl TierRpo {
    pub fn total(&self) -> u32 {
        self.compliant + self.at_risk + self.breached + self.never_backed_up
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcessRow {
    pub name: String,
    pub description: Option<String>,
    pub owner: Option<String>,
    pub systems: Vec<String>,
    pub suppliers: Vec<String>,
    pub rto_secs: u64,
    pub rpo_secs: u64,
    pub wrt_secs: u64,
    pub mtpd_secs: u64,
    pub mtpd_from_impact: bool,
    pub min_capacity: Option<String>,
    pub workarounds: Option<String>,
    /// Per category, its impact after each bucket.
    pub impact: Vec<ImpactRow>,
    /// Where the systems' objectives fall short of the process's needs.
    pub shortfalls: Vec<String>,
    /// The systems it relies on whose RPO is breached or never met now.
    pub rpo_breached: Vec<String>,
    pub needs_met: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImpactRow {
    pub category: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScoreRow {
    pub likelihood: u8,
    pub impact: u8,
    pub score: u8,
    pub band: Band,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RiskRow {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub description: Option<String>,
    pub systems: Vec<String>,
    pub sites: Vec<String>,
    pub regions: Vec<String>,
    pub inherent: ScoreRow,
    pub residual: ScoreRow,
    pub treatment: String,
    pub mitigations: Vec<String>,
    pub owner: Option<String>,
    pub review: NaiveDate,
    pub review_overdue: bool,
    /// What a loss of the sites it takes out leaves with no standby elsewhere.
    pub exposed: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeatMap {
    /// `residual[likelihood-1][impact-1]`: the number of risks there.
    pub residual: [[u32; 5]; 5],
    pub inherent: [[u32; 5]; 5],
    pub bands: Bands,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SiteRow {
    pub name: String,
    pub role: String,
    pub region: String,
    pub location: Option<String>,
    pub runs: Vec<String>,
    /// (system, standby) for each standby here.
    pub standby: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncidentRow {
    pub id: String,
    pub kind: String,
    pub severity: String,
    pub declared_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub systems: Vec<String>,
    pub achieved: Vec<AchievedRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AchievedRow {
    pub system: String,
    pub rto_objective_secs: u64,
    pub rto_achieved_secs: Option<u64>,
    pub rto_met: Option<bool>,
    pub rpo_objective_secs: u64,
    pub rpo_achieved_secs: Option<u64>,
    pub rpo_met: Option<bool>,
    pub rpo_basis: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ProgrammeRow {
    pub overdue: Vec<DueRow>,
    pub due_soon: Vec<DueRow>,
    /// Per kind of test: how many systems it is required of, and how many are current.
    pub coverage: Vec<CoverageRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DueRow {
    pub system: String,
    pub test: String,
    pub last: Option<DateTime<Utc>>,
    pub next_due: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CoverageRow {
    pub test: String,
    pub required: u32,
    pub current: u32,
}

impl CoverageRow {
    pub fn percent(&self) -> u32 {
        (self.current * 100).checked_div(self.required).unwrap_or(100)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PersonRow {
    pub name: String,
    pub role: Option<String>,
    pub lists: Vec<String>,
    /// The exercises they took part in (id and when it started), newest first.
    pub exercises: Vec<(String, DateTime<Utc>)>,
    /// The last training the config records for them.
    pub trained: Option<NaiveDate>,
    /// Trained or exercised within the last 12 months.
    pub current: bool,
}

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn day(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

fn secs(s: u64) -> String {
    human(std::time::Duration::from_secs(s))
}

fn opt_secs(s: Option<u64>) -> String {
    s.map(secs).unwrap_or_else(|| "—".into())
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

pub(crate) fn rpo_words(s: &SystemRow) -> String {
    match s.rpo_state.as_str() {
        "compliant" => format!("✔ ok (newest verified {} ago)", opt_secs(s.backup_age_secs)),
        "at_risk" => format!("▲ at risk (newest verified {} ago)", opt_secs(s.backup_age_secs)),
        "breached" => format!("✖ breached (newest verified {} ago)", opt_secs(s.backup_age_secs)),
        _ => "✖ never backed up".into(),
    }
}

pub(crate) fn standby_words(s: &SystemRow) -> String {
    let has = match (&s.standby, &s.standby_site) {
        (Some(k), Some(at)) => format!("{k} at {at}"),
        _ => "none".into(),
    };
    if s.standby_ok { has } else { format!("✖ {has} (needs {})", s.standby_needed) }
}

pub(crate) fn test_words(s: &SystemRow) -> String {
    let last = match &s.last_test {
        Some(t) => format!("{} {} ({})", t.kind, day(t.at), t.outcome),
        None => "never tested".into(),
    };
    match (s.test_state.as_deref(), &s.next_test) {
        (Some("overdue"), Some(n)) => format!("✖ {n} overdue; last: {last}"),
        (Some("due_soon"), Some(n)) => format!("▲ {n} due soon; last: {last}"),
        _ => last,
    }
}

pub(crate) fn three_two_one_words(s: &SystemRow) -> String {
    match &s.three_two_one {
        None => "no backups".into(),
        Some(t) => format!(
            "{} {} copies, {} media, {} offsite{}",
            if t.met { "✔" } else { "✖" },
            t.copies,
            t.media,
            t.offsite,
            if t.immutable > 0 { format!(", {} immutable", t.immutable) } else { String::new() }
        ),
    }
}

impl BcdrReport {
    /// The three lines on top: what is at risk now, what the plan lacks, what the programme
    /// owes. Each line says the worst first.
    pub fn summarise(&mut self) {
        let n = self.systems.len();
        let breached: Vec<&str> = self
            .systems
            .iter()
            .filter(|s| matches!(s.rpo_state.as_str(), "breached" | "never_backed_up"))
            .map(|s| s.name.as_str())
            .collect();
        let at_risk = self.systems.iter().filter(|s| s.rpo_state == "at_risk").count();
        let unmet: Vec<&str> =
            self.processes.iter().filter(|p| !p.needs_met).map(|p| p.name.as_str()).collect();
        let mut data = if breached.is_empty() && at_risk == 0 {
            format!("Data: every one of the {n} systems is within its RPO.")
        } else {
            format!(
                "Data: {} of {n} systems past their RPO or never backed up{}{}.",
                breached.len(),
                list_some(&breached),
                if at_risk > 0 { format!(", {at_risk} at risk") } else { String::new() }
            )
        };
        if !self.processes.is_empty() {
            if unmet.is_empty() {
                let _ = write!(
                    data,
                    " Every one of the {} business processes has its needs met.",
                    self.processes.len()
                );
            } else {
                let _ = write!(
                    data,
                    " {} of {} business processes not met{}.",
                    unmet.len(),
                    self.processes.len(),
                    list_some(&unmet)
                );
            }
        }
        let weak: Vec<&str> =
            self.systems.iter().filter(|s| !s.standby_ok).map(|s| s.name.as_str()).collect();
        let high: Vec<&RiskRow> = self.risks.iter().filter(|r| r.residual.band >= Band::High).collect();
        let mut worst: Vec<&RiskRow> = self.risks.iter().collect();
        worst.sort_by_key(|r| std::cmp::Reverse((r.residual.score, r.inherent.score)));
        let risks = match worst.first() {
            None => "Risks: no risk register ([[risks]]).".to_owned(),
            Some(top) => format!(
                "Risks: {} registered, {} high or critical after mitigation; the highest is {} {} (residual {}, {}){}.",
                self.risks.len(),
                high.len(),
                top.id,
                top.name,
                top.residual.score,
                top.residual.band.name(),
                if top.exposed.is_empty() {
                    String::new()
                } else {
                    format!(", leaving {} with no standby", list_names(&top.exposed))
                }
            ),
        };
        let risks = if weak.is_empty() {
            risks
        } else {
            format!(
                "{risks} {} a weaker standby than their tier needs{}.",
                plural(weak.len(), "system has", "systems have"),
                list_some(&weak)
            )
        };
        let overdue_systems: std::collections::BTreeSet<&str> =
            self.programme.overdue.iter().map(|d| d.system.as_str()).collect();
        let open: usize = self.systems.iter().map(|s| s.open_actions.len()).sum();
        let untrained = self.training.iter().filter(|p| !p.current).count();
        let mut testing = if overdue_systems.is_empty() {
            "Testing: no test is overdue".to_owned()
        } else {
            format!("Testing: {} with a test overdue", plural(overdue_systems.len(), "system", "systems"))
        };
        let _ = write!(testing, "; {} open", plural(open, "corrective action", "corrective actions"));
        if !self.training.is_empty() {
            let _ = write!(
                testing,
                "; {} of {} people not trained or exercised in 12 months",
                untrained,
                self.training.len()
            );
        }
        if let Some(due) = &self.plan.review_due {
            let _ = write!(testing, "; {}", due.split(':').next().unwrap_or(due));
        }
        testing.push('.');
        self.summary = vec![data, risks, testing];
    }
}

fn list_names(names: &[String]) -> String {
    let v: Vec<&str> = names.iter().map(String::as_str).collect();
    join_some(&v)
}

fn join_some(v: &[&str]) -> String {
    const SHOWN: usize = 5;
    if v.len() <= SHOWN {
        v.join(", ")
    } else {
        format!("{} and {} more", v[..SHOWN].join(", "), v.len() - SHOWN)
    }
}

fn list_some(v: &[&str]) -> String {
    if v.is_empty() { String::new() } else { format!(" ({})", join_some(v)) }
}

/// The Markdown rendering.
pub fn markdown(r: &BcdrReport) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# {} — BC/DR status report\n", md_text(&r.plan.name));
    let _ = writeln!(
        md,
        "Generated {} from `{}` (SHA-256 `{}`){}.\n",
        stamp(r.generated_at),
        r.plan.config,
        r.plan.config_sha256,
        r.plan.owner.as_deref().map(|o| format!("; plan owner {o}")).unwrap_or_default()
    );
    let _ = writeln!(md, "## Executive summary\n");
    for line in &r.summary {
        let _ = writeln!(md, "- {}", md_text(line));
    }
    let _ = writeln!(md);
    match (&r.plan.last_review, &r.plan.review_due) {
        (Some(l), due) => {
            let _ = writeln!(
                md,
                "Last plan review: {} by {}: {}{}\n",
                day(l.at),
                md_text(&l.reviewer),
                md_text(&l.note),
                due.as_deref().map(|d| format!(" — {d}")).unwrap_or_default()
            );
        }
        (None, _) => {
            let _ = writeln!(md, "The plan has never been reviewed.\n");
        }
    }
    let _ = writeln!(md, "## Systems\n");
    let _ = writeln!(
        md,
        "| System | Tier | RTO | RPO | RPO now | 3-2-1 | Site | Standby | Last test | Open actions |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|---|");
    for s in &r.systems {
        let actions: Vec<String> =
            s.open_actions.iter().map(|a| format!("{} ({})", a.id, a.status)).collect();
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            md_cell(&s.name),
            s.tier,
            secs(s.rto_secs),
            secs(s.rpo_secs),
            rpo_words(s),
            three_two_one_words(s),
            md_cell(s.site.as_deref().unwrap_or("—")),
            md_cell(&standby_words(s)),
            md_cell(&test_words(s)),
            if actions.is_empty() { "—".into() } else { md_cell(&actions.join(", ")) }
        );
    }
    let _ = writeln!(md, "\n### RPO compliance by tier\n");
    let _ = writeln!(md, "| Tier | Systems | Within RPO | At risk | Breached | Never backed up |");
    let _ = writeln!(md, "|---|---|---|---|---|---|");
    for t in &r.rpo_by_tier {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} |",
            t.tier,
            t.total(),
            t.compliant,
            t.at_risk,
            t.breached,
            t.never_backed_up
        );
    }
    if !r.processes.is_empty() {
        let _ = writeln!(md, "\n## Business processes\n");
        let _ = writeln!(md, "| Process | Owner | Systems | RTO | RPO | WRT | MTPD | Needs met |");
        let _ = writeln!(md, "|---|---|---|---|---|---|---|---|");
        for p in &r.processes {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {}{} | {} |",
                md_cell(&p.name),
                md_cell(p.owner.as_deref().unwrap_or("✖ none")),
                md_cell(&p.systems.join(", ")),
                secs(p.rto_secs),
                secs(p.rpo_secs),
                secs(p.wrt_secs),
                secs(p.mtpd_secs),
                if p.mtpd_from_impact { " (from impact)" } else { "" },
                if p.needs_met { "✔ yes".to_owned() } else { "✖ no".to_owned() }
            );
        }
        for p in r.processes.iter().filter(|p| !p.needs_met) {
            let _ = writeln!(md, "\n**{}** is not met:", md_text(&p.name));
            for s in &p.shortfalls {
                let _ = writeln!(md, "- {}", md_text(s));
            }
            for s in &p.rpo_breached {
                let _ = writeln!(md, "- system {s} is past its RPO now");
            }
        }
    }
    if !r.risks.is_empty() {
        let _ = writeln!(md, "\n## Risk register\n");
        let _ = writeln!(md, "Residual risk (likelihood × impact; each cell: count and band):\n");
        md.push_str(&heat_map_markdown(&r.heat_map.residual, &r.heat_map.bands));
        let _ = writeln!(
            md,
            "\n| Id | Risk | Type | Inherent | Residual | Treatment | Owner | Review | No standby if it strikes |"
        );
        let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|");
        for k in &r.risks {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} | {}{} | {} |",
                md_cell(&k.id),
                md_cell(&k.name),
                k.kind,
                score_words(&k.inherent),
                score_words(&k.residual),
                k.treatment,
                md_cell(k.owner.as_deref().unwrap_or("—")),
                k.review,
                if k.review_overdue { " ✖ overdue" } else { "" },
                if k.exposed.is_empty() { "—".into() } else { md_cell(&k.exposed.join(", ")) }
            );
        }
    }
    if !r.sites.is_empty() {
        let _ = writeln!(md, "\n## Sites\n");
        for s in &r.sites {
            let _ = writeln!(
                md,
                "- **{}** ({}, {}{}): runs {}; standby for {}",
                s.name,
                s.role,
                s.region,
                s.location.as_deref().map(|l| format!(", {l}")).unwrap_or_default(),
                if s.runs.is_empty() { "nothing".into() } else { plural(s.runs.len(), "system", "systems") },
                if s.standby.is_empty() {
                    "none".into()
                } else {
                    s.standby.iter().map(|(n, k)| format!("{n} {k}")).collect::<Vec<_>>().join(", ")
                }
            );
        }
    }
    let _ = writeln!(md, "\n## Recent incidents\n");
    if r.incidents.is_empty() {
        let _ = writeln!(md, "None in the period.");
    }
    for i in &r.incidents {
        let _ = writeln!(
            md,
            "- **{}** {} {}, declared {}{}: {}",
            i.id,
            i.severity,
            i.kind,
            stamp(i.declared_at),
            i.closed_at.map(|c| format!(", closed {}", stamp(c))).unwrap_or_else(|| ", open".into()),
            i.systems.join(", ")
        );
        for a in &i.achieved {
            let _ = writeln!(md, "  - {}", achieved_words(a));
        }
    }
    let _ = writeln!(md, "\n## Testing programme\n");
    let _ = writeln!(md, "| Test | Required of | Current | Coverage |");
    let _ = writeln!(md, "|---|---|---|---|");
    for c in &r.programme.coverage {
        let _ = writeln!(md, "| {} | {} | {} | {}% |", c.test, c.required, c.current, c.percent());
    }
    if r.programme.overdue.is_empty() {
        let _ = writeln!(md, "\nNo test is overdue.");
    } else {
        let _ = writeln!(md, "\nOverdue:\n");
        for d in &r.programme.overdue {
            let _ = writeln!(md, "- {}", due_words(d));
        }
    }
    if !r.training.is_empty() {
        let _ = writeln!(md, "\n## Training and awareness\n");
        let _ = writeln!(md, "| Person | Role | Exercises (12 months) | Trained | Current |");
        let _ = writeln!(md, "|---|---|---|---|---|");
        for p in &r.training {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} |",
                md_cell(&p.name),
                md_cell(p.role.as_deref().unwrap_or("—")),
                if p.exercises.is_empty() {
                    "none".into()
                } else {
                    p.exercises
                        .iter()
                        .map(|(id, at)| format!("{id} ({})", day(*at)))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
                p.trained.map(|d| d.to_string()).unwrap_or_else(|| "—".into()),
                if p.current { "✔" } else { "✖ not in 12 months" }
            );
        }
    }
    md
}

fn md_cell(s: &str) -> String {
    md_text(s).replace('|', "\\|")
}

/// Text for a Markdown line: on one line, and `<` escaped so no name becomes HTML where the
/// Markdown is rendered.
fn md_text(s: &str) -> String {
    s.replace(['\r', '\n'], " ").replace('<', "\\<")
}

pub(crate) fn score_words(s: &ScoreRow) -> String {
    format!("{} {} ({}×{})", s.score, s.band.name(), s.likelihood, s.impact)
}

pub(crate) fn achieved_words(a: &AchievedRow) -> String {
    let met = |m: Option<bool>| match m {
        Some(true) => " ✔",
        Some(false) => " ✖",
        None => "",
    };
    format!(
        "{}: RTO {} of {}{}, RPO {} of {}{} ({})",
        a.system,
        opt_secs(a.rto_achieved_secs),
        secs(a.rto_objective_secs),
        met(a.rto_met),
        opt_secs(a.rpo_achieved_secs),
        secs(a.rpo_objective_secs),
        met(a.rpo_met),
        a.rpo_basis
    )
}

pub(crate) fn due_words(d: &DueRow) -> String {
    format!(
        "{}: {} due {} (last {})",
        d.system,
        d.test,
        day(d.next_due),
        d.last.map(day).unwrap_or_else(|| "never".into())
    )
}

/// The 5x5 grid as a Markdown table: likelihood down (5 at the top), impact across.
pub fn heat_map_markdown(grid: &[[u32; 5]; 5], bands: &Bands) -> String {
    let mut md = String::from("| Likelihood \\ Impact |");
    for (i, s) in SEVERITY.iter().enumerate() {
        let _ = write!(md, " {} {s} |", i + 1);
    }
    md.push_str("\n|---|---|---|---|---|---|\n");
    for l in (0..5).rev() {
        let _ = write!(md, "| {} {} |", l + 1, LIKELIHOOD[l]);
        for (i, &n) in grid[l].iter().enumerate() {
            let band = bands.of(((l + 1) * (i + 1)) as u8);
            let _ =
                write!(md, " {} {} |", if n == 0 { "–".to_owned() } else { n.to_string() }, band.symbol());
        }
        md.push('\n');
    }
    md
}

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#111}\
table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}th,td{border:1px solid #bbb;padding:.25rem .5rem;text-align:left;vertical-align:top}\
th{background:#eee}.ok{color:#075}.bad{color:#a00;font-weight:bold}.warn{color:#8a5a00}\
.summary{border:2px solid #333;padding:.5rem 1rem;margin:1rem 0}.summary li{margin:.25rem 0}\
.charts{display:flex;flex-wrap:wrap;gap:1.5rem}.charts figure{margin:0}figcaption{font-weight:bold;margin-bottom:.25rem}\
svg text{font:12px system-ui,sans-serif}\
@media print{body{margin:0;max-width:none;font-size:11px}h2{break-after:avoid}tr,figure{break-inside:avoid}.charts{display:block}}";

/// A band's fill: green, yellow, orange, red (each cell also carries its symbol and count).
pub fn band_colour(b: Band) -> &'static str {
    match b {
        Band::Low => "#b7e1c1",
        Band::Medium => "#fde68a",
        Band::High => "#fdba74",
        Band::Critical => "#f87171",
    }
}

/// The heat map as SVG: likelihood up the side, impact along the bottom, each cell with its
/// count and its band's symbol as well as colour.
pub fn heat_map_svg(grid: &[[u32; 5]; 5], bands: &Bands, id: &str, title: &str) -> String {
    const CELL: usize = 56;
    const LEFT: usize = 110;
    const TOP: usize = 8;
    let width = LEFT + 5 * CELL + 8;
    let height = TOP + 5 * CELL + 44;
    let mut s = format!(
        "<svg id=\"{id}\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{}\">",
        escape(title)
    );
    for l in 0..5 {
        let y = TOP + (4 - l) * CELL;
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{} {}</text>",
            LEFT - 6,
            y + CELL / 2 + 4,
            l + 1,
            LIKELIHOOD[l]
        );
        for (i, &n) in grid[l].iter().enumerate() {
            let x = LEFT + i * CELL;
            let score = ((l + 1) * (i + 1)) as u8;
            let band = bands.of(score);
            let _ = write!(
                s,
                "<g class=\"cell\" data-likelihood=\"{}\" data-impact=\"{}\" data-count=\"{n}\" data-band=\"{}\"><rect x=\"{x}\" y=\"{y}\" width=\"{CELL}\" height=\"{CELL}\" fill=\"{}\" stroke=\"#555\"/><text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{} {}</text><title>likelihood {} × impact {} = {score} ({}): {n}</title></g>",
                l + 1,
                i + 1,
                band.name(),
                band_colour(band),
                x + CELL / 2,
                y + CELL / 2 + 4,
                if n == 0 { String::new() } else { n.to_string() },
                band.symbol(),
                l + 1,
                i + 1,
                band.name()
            );
        }
    }
    for (i, sev) in SEVERITY.iter().enumerate() {
        let x = LEFT + i * CELL + CELL / 2;
        let _ = write!(
            s,
            "<text x=\"{x}\" y=\"{}\" text-anchor=\"middle\">{}</text><text x=\"{x}\" y=\"{}\" text-anchor=\"middle\">{sev}</text>",
            TOP + 5 * CELL + 16,
            i + 1,
            TOP + 5 * CELL + 30
        );
    }
    s.push_str("</svg>");
    s
}

/// RPO compliance by tier as stacked bars (each segment labelled with its count).
pub(crate) fn rpo_chart_svg(tiers: &[TierRpo]) -> String {
    const BAR: usize = 320;
    let height = 24 + tiers.len() * 30 + 24;
    let mut s = format!(
        "<svg id=\"rpo-chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"440\" height=\"{height}\" viewBox=\"0 0 440 {height}\" role=\"img\" aria-label=\"RPO compliance by tier\">"
    );
    let parts = [
        ("compliant", "within RPO", "#2f9e44"),
        ("at_risk", "at risk", "#f59f00"),
        ("breached", "breached", "#e03131"),
        ("never", "never backed up", "#868e96"),
    ];
    for (row, t) in tiers.iter().enumerate() {
        let y = 8 + row * 30;
        let _ = write!(s, "<text x=\"0\" y=\"{}\">tier {}</text>", y + 15, t.tier);
        let total = t.total().max(1) as usize;
        let mut x = 50;
        for ((key, words, colour), n) in
            parts.iter().zip([t.compliant, t.at_risk, t.breached, t.never_backed_up])
        {
            if n == 0 {
                continue;
            }
            let w = (n as usize * BAR / total).max(14);
            let _ = write!(
                s,
                "<g class=\"bar\" data-tier=\"{}\" data-state=\"{key}\" data-count=\"{n}\"><rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"20\" fill=\"{colour}\"/><text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#fff\">{n}</text><title>tier {}: {n} {words}</title></g>",
                t.tier,
                x + w / 2,
                y + 15,
                t.tier
            );
            x += w;
        }
    }
    let y = 8 + tiers.len() * 30 + 8;
    let mut x = 0;
    for (_, words, colour) in parts {
        let _ = write!(
            s,
            "<rect x=\"{x}\" y=\"{y}\" width=\"10\" height=\"10\" fill=\"{colour}\"/><text x=\"{}\" y=\"{}\">{words}</text>",
            x + 14,
            y + 10
        );
        x += 14 + words.len() * 7 + 12;
    }
    s.push_str("</svg>");
    s
}

/// Test coverage: per kind of test, the share of the systems it is required of that are current.
pub(crate) fn coverage_svg(rows: &[CoverageRow]) -> String {
    const BAR: usize = 240;
    let height = 8 + rows.len() * 26 + 8;
    let mut s = format!(
        "<svg id=\"coverage-chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"440\" height=\"{height}\" viewBox=\"0 0 440 {height}\" role=\"img\" aria-label=\"Test coverage\">"
    );
    for (row, c) in rows.iter().enumerate() {
        let y = 8 + row * 26;
        let pct = c.percent() as usize;
        let colour = if pct == 100 {
            "#2f9e44"
        } else if pct >= 50 {
            "#f59f00"
        } else {
            "#e03131"
        };
        let _ = write!(
            s,
            "<g class=\"bar\" data-test=\"{}\" data-percent=\"{pct}\"><text x=\"0\" y=\"{}\">{}</text><rect x=\"130\" y=\"{y}\" width=\"{BAR}\" height=\"18\" fill=\"#e9ecef\"/><rect x=\"130\" y=\"{y}\" width=\"{}\" height=\"18\" fill=\"{colour}\"/><text x=\"{}\" y=\"{}\">{pct}% ({}/{})</text></g>",
            escape(&c.test),
            y + 13,
            escape(&c.test),
            pct * BAR / 100,
            130 + BAR + 6,
            y + 13,
            c.current,
            c.required
        );
    }
    s.push_str("</svg>");
    s
}

/// The HTML page's head, with its title: shared by every plan document.
pub fn html_head(title: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{}</title>\n<style>{STYLE}</style></head><body>\n",
        escape(title)
    )
}

/// The HTML rendering: self-contained, no script, prints.
pub fn html(r: &BcdrReport) -> String {
    let e = |s: &str| escape(s);
    let mut h = html_head(&format!("{} — BC/DR status report", r.plan.name));
    let _ = writeln!(h, "<h1>{} — BC/DR status report</h1>", e(&r.plan.name));
    let _ = writeln!(
        h,
        "<p>Generated {} from <code>{}</code> (SHA-256 <code>{}</code>){}.</p>",
        stamp(r.generated_at),
        e(&r.plan.config),
        e(&r.plan.config_sha256),
        r.plan.owner.as_deref().map(|o| format!("; plan owner {}", e(o))).unwrap_or_default()
    );
    let _ = writeln!(h, "<section id=\"summary\" class=\"summary\"><h2>Executive summary</h2><ul>");
    for line in &r.summary {
        let _ = writeln!(h, "<li>{}</li>", e(line));
    }
    let _ = writeln!(h, "</ul>");
    match (&r.plan.last_review, &r.plan.review_due) {
        (Some(l), due) => {
            let _ = writeln!(
                h,
                "<p>Last plan review: {} by {}: {}{}</p>",
                day(l.at),
                e(&l.reviewer),
                e(&l.note),
                due.as_deref().map(|d| format!(" — <span class=\"bad\">{}</span>", e(d))).unwrap_or_default()
            );
        }
        (None, _) => {
            let _ = writeln!(h, "<p class=\"bad\">The plan has never been reviewed.</p>");
        }
    }
    let _ = writeln!(h, "</section>");
    let _ = writeln!(h, "<div class=\"charts\">");
    let _ = writeln!(
        h,
        "<figure><figcaption>RPO compliance by tier</figcaption>{}</figure>",
        rpo_chart_svg(&r.rpo_by_tier)
    );
    if !r.risks.is_empty() {
        let _ = writeln!(
            h,
            "<figure><figcaption>Residual risk</figcaption>{}</figure>",
            heat_map_svg(
                &r.heat_map.residual,
                &r.heat_map.bands,
                "heat-map",
                "Residual risk: likelihood by impact"
            )
        );
    }
    let _ = writeln!(
        h,
        "<figure><figcaption>Test coverage</figcaption>{}</figure>",
        coverage_svg(&r.programme.coverage)
    );
    let _ = writeln!(h, "</div>");
    let _ = writeln!(
        h,
        "<h2>Systems</h2><table id=\"systems\"><thead><tr><th>System</th><th>Tier</th><th>RTO</th><th>RPO</th><th>RPO now</th><th>3-2-1</th><th>Site</th><th>Standby</th><th>Last test</th><th>Open actions</th></tr></thead><tbody>"
    );
    for s in &r.systems {
        let class = |bad: bool| if bad { "bad" } else { "ok" };
        let actions: Vec<String> =
            s.open_actions.iter().map(|a| format!("{} ({})", a.id, a.status)).collect();
        let _ = writeln!(
            h,
            "<tr data-system=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td class=\"{}\">{}</td><td>{}</td><td class=\"{}\">{}</td><td class=\"{}\">{}</td><td>{}</td></tr>",
            e(&s.name),
            e(&s.name),
            s.tier,
            secs(s.rto_secs),
            secs(s.rpo_secs),
            class(s.rpo_state != "compliant"),
            e(&rpo_words(s)),
            class(!s.three_two_one.as_ref().is_some_and(|t| t.met)),
            e(&three_two_one_words(s)),
            e(s.site.as_deref().unwrap_or("—")),
            class(!s.standby_ok),
            e(&standby_words(s)),
            class(s.test_state.as_deref() == Some("overdue")),
            e(&test_words(s)),
            if actions.is_empty() { "—".into() } else { e(&actions.join(", ")) }
        );
    }
    let _ = writeln!(h, "</tbody></table>");
    if !r.processes.is_empty() {
        let _ = writeln!(
            h,
            "<h2>Business processes</h2><table id=\"processes\"><thead><tr><th>Process</th><th>Owner</th><th>Systems</th><th>RTO</th><th>RPO</th><th>WRT</th><th>MTPD</th><th>Needs met</th></tr></thead><tbody>"
        );
        for p in &r.processes {
            let why: Vec<String> = p
                .shortfalls
                .iter()
                .cloned()
                .chain(p.rpo_breached.iter().map(|s| format!("system {s} is past its RPO now")))
                .collect();
            let _ = writeln!(
                h,
                "<tr data-process=\"{}\"><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td><td class=\"{}\">{}</td></tr>",
                e(&p.name),
                e(&p.name),
                p.description.as_deref().map(|d| format!("<br><small>{}</small>", e(d))).unwrap_or_default(),
                e(p.owner.as_deref().unwrap_or("✖ none")),
                e(&p.systems.join(", ")),
                secs(p.rto_secs),
                secs(p.rpo_secs),
                secs(p.wrt_secs),
                secs(p.mtpd_secs),
                if p.mtpd_from_impact { " <small>(from impact)</small>" } else { "" },
                if p.needs_met { "ok" } else { "bad" },
                if p.needs_met { "✔ yes".to_owned() } else { format!("✖ no: {}", e(&why.join("; "))) }
            );
        }
        let _ = writeln!(h, "</tbody></table>");
    }
    if !r.risks.is_empty() {
        let _ = writeln!(
            h,
            "<h2>Risk register</h2><table id=\"risks\"><thead><tr><th>Id</th><th>Risk</th><th>Type</th><th>Inherent</th><th>Residual</th><th>Treatment</th><th>Owner</th><th>Review</th><th>No standby if it strikes</th></tr></thead><tbody>"
        );
        for k in &r.risks {
            let _ = writeln!(
                h,
                "<tr data-risk=\"{}\"><td>{}</td><td>{}{}</td><td>{}</td><td>{}</td><td>{} {}</td><td>{}{}</td><td>{}</td><td class=\"{}\">{}{}</td><td>{}</td></tr>",
                e(&k.id),
                e(&k.id),
                e(&k.name),
                k.description.as_deref().map(|d| format!("<br><small>{}</small>", e(d))).unwrap_or_default(),
                k.kind,
                e(&score_words(&k.inherent)),
                k.residual.band.symbol(),
                e(&score_words(&k.residual)),
                k.treatment,
                if k.mitigations.is_empty() {
                    String::new()
                } else {
                    format!(": {}", e(&k.mitigations.join("; ")))
                },
                e(k.owner.as_deref().unwrap_or("—")),
                if k.review_overdue { "bad" } else { "ok" },
                k.review,
                if k.review_overdue { " overdue" } else { "" },
                if k.exposed.is_empty() { "—".into() } else { e(&k.exposed.join(", ")) }
            );
        }
        let _ = writeln!(h, "</tbody></table>");
    }
    if !r.sites.is_empty() {
        let _ = writeln!(h, "<h2>Sites</h2><ul>");
        for s in &r.sites {
            let _ = writeln!(
                h,
                "<li><b>{}</b> ({}, {}{}): runs {}; standby for {}</li>",
                e(&s.name),
                s.role,
                e(&s.region),
                s.location.as_deref().map(|l| format!(", {}", e(l))).unwrap_or_default(),
                if s.runs.is_empty() { "nothing".into() } else { plural(s.runs.len(), "system", "systems") },
                if s.standby.is_empty() {
                    "none".into()
                } else {
                    e(&s.standby.iter().map(|(n, k)| format!("{n} {k}")).collect::<Vec<_>>().join(", "))
                }
            );
        }
        let _ = writeln!(h, "</ul>");
    }
    let _ = writeln!(h, "<h2>Recent incidents</h2>");
    if r.incidents.is_empty() {
        let _ = writeln!(h, "<p>None in the period.</p>");
    } else {
        let _ = writeln!(h, "<ul id=\"incidents\">");
        for i in &r.incidents {
            let _ = writeln!(
                h,
                "<li><b>{}</b> {} {}, declared {}{}: {}<ul>",
                e(&i.id),
                e(&i.severity),
                e(&i.kind),
                stamp(i.declared_at),
                i.closed_at.map(|c| format!(", closed {}", stamp(c))).unwrap_or_else(|| ", open".into()),
                e(&i.systems.join(", "))
            );
            for a in &i.achieved {
                let _ = writeln!(h, "<li>{}</li>", e(&achieved_words(a)));
            }
            let _ = writeln!(h, "</ul></li>");
        }
        let _ = writeln!(h, "</ul>");
    }
    let _ = writeln!(
        h,
        "<h2>Testing programme</h2><table id=\"coverage\"><thead><tr><th>Test</th><th>Required of</th><th>Current</th><th>Coverage</th></tr></thead><tbody>"
    );
    for c in &r.programme.coverage {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}%</td></tr>",
            e(&c.test),
            c.required,
            c.current,
            c.percent()
        );
    }
    let _ = writeln!(h, "</tbody></table>");
    if r.programme.overdue.is_empty() {
        let _ = writeln!(h, "<p class=\"ok\">No test is overdue.</p>");
    } else {
        let _ = writeln!(h, "<p>Overdue:</p><ul id=\"overdue\">");
        for d in &r.programme.overdue {
            let _ = writeln!(h, "<li class=\"bad\">{}</li>", e(&due_words(d)));
        }
        let _ = writeln!(h, "</ul>");
    }
    if !r.training.is_empty() {
        let _ = writeln!(
            h,
            "<h2>Training and awareness</h2><table id=\"training\"><thead><tr><th>Person</th><th>Role</th><th>Exercises (12 months)</th><th>Trained</th><th>Current</th></tr></thead><tbody>"
        );
        for p in &r.training {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td></tr>",
                e(&p.name),
                e(p.role.as_deref().unwrap_or("—")),
                if p.exercises.is_empty() {
                    "none".into()
                } else {
                    e(&p.exercises
                        .iter()
                        .map(|(id, at)| format!("{id} ({})", day(*at)))
                        .collect::<Vec<_>>()
                        .join(", "))
                },
                p.trained.map(|d| d.to_string()).unwrap_or_else(|| "—".into()),
                if p.current { "ok" } else { "bad" },
                if p.current { "✔" } else { "✖ not in 12 months" }
            );
        }
        let _ = writeln!(h, "</tbody></table>");
    }
    let _ = writeln!(h, "</body></html>");
    h
}
