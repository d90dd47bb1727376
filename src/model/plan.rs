//! The continuity plan: the business impact analysis (processes, their impact over time, MTPD,
//! WRT and the RTO/RPO they need), the risk register (the standard's disaster scenarios on a
//! 5x5 likelihood x impact grid) and the sites with the standby each system has there.
//!
//! Pure: no I/O, no clock reads (today and now are passed in).

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::duration::human;
use super::{Estate, System, Tier};

/// How long the plan may go without a review before `status` warns (the standard: annually).
pub const DEFAULT_REVIEW_EVERY: Duration = Duration::from_secs(365 * 86_400);

/// The impact buckets when the config names none: 1h, 4h, 24h, 72h, 1w.
pub fn default_buckets() -> Vec<Duration> {
    [1, 4, 24, 72, 168].map(|h| Duration::from_secs(h * 3600)).to_vec()
}

/// The categories of impact the standard assesses a disruption in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Financial,
    Operational,
    Legal,
    Reputational,
    Customer,
    Safety,
}

impl Category {
    pub const ALL: [Category; 6] = [
        Category::Financial,
        Category::Operational,
        Category::Legal,
        Category::Reputational,
        Category::Customer,
        Category::Safety,
    ];

    /// The key in `[processes.impact]`.
    pub fn key(self) -> &'static str {
        match self {
            Category::Financial => "financial",
            Category::Operational => "operational",
            Category::Legal => "legal",
            Category::Reputational => "reputational",
            Category::Customer => "customer",
            Category::Safety => "safety",
        }
    }

    /// How a reader calls it.
    pub fn words(self) -> &'static str {
        match self {
            Category::Financial => "financial",
            Category::Operational => "operational",
            Category::Legal => "legal / regulatory",
            Category::Reputational => "reputational",
            Category::Customer => "customer",
            Category::Safety => "health and safety",
        }
    }

    pub fn parse(key: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.key() == key)
    }
}

/// The impact of a disruption of one process in one category after one bucket of time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Impact {
    None,
    Minimal,
    Moderate,
    Severe,
    /// A figure the business gave ("£250k", "3 regulators notified"), shown as written.
    Figure(String),
}

impl Impact {
    /// `none`, `minimal`, `moderate`, `severe`, or anything else as a figure.
    pub fn parse(text: &str) -> Impact {
        match text.trim().to_ascii_lowercase().as_str() {
            "none" | "-" => Impact::None,
            "minimal" | "low" => Impact::Minimal,
            "moderate" | "medium" => Impact::Moderate,
            "severe" | "high" => Impact::Severe,
            _ => Impact::Figure(text.trim().to_owned()),
        }
    }

    pub fn words(&self) -> &str {
        match self {
            Impact::None => "none",
            Impact::Minimal => "minimal",
            Impact::Moderate => "moderate",
            Impact::Severe => "severe",
            Impact::Figure(f) => f,
        }
    }

    /// Severe is the unacceptable level the MTPD is read from.
    pub fn is_severe(&self) -> bool {
        matches!(self, Impact::Severe)
    }
}

/// One business process of the impact analysis.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Process {
    pub name: String,
    pub description: Option<String>,
    pub owner: Option<String>,
    /// The systems it relies on.
    pub systems: Vec<String>,
    /// Suppliers it relies on (named, not probed).
    pub suppliers: Vec<String>,
    /// Per category, the impact after each of the plan's buckets (same length as the buckets).
    pub impact: BTreeMap<Category, Vec<Impact>>,
    /// The maximum tolerable period of disruption.
    #[serde(serialize_with = "super::duration::serialize_secs")]
    pub mtpd: Duration,
    /// Whether the MTPD was read from the impact table (the first bucket where a category is
    /// severe) rather than given.
    pub mtpd_from_impact: bool,
    /// Work recovery time: after the systems are back, until the business works normally.
    #[serde(serialize_with = "super::duration::serialize_secs")]
    pub wrt: Duration,
    #[serde(serialize_with = "super::duration::serialize_secs")]
    pub rto: Duration,
    #[serde(serialize_with = "super::duration::serialize_secs")]
    pub rpo: Duration,
    /// Minimum business continuity objective: what must keep working while disrupted.
    pub min_capacity: Option<String>,
    pub workarounds: Option<String>,
}

/// Where a system falls short of what a process needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shortfall {
    pub process: String,
    pub system: String,
    /// The system the process names that relies on it, when it is not named itself.
    pub through: Option<String>,
    /// "RTO" or "RPO".
    pub objective: &'static str,
    #[serde(serialize_with = "super::duration::serialize_secs")]
    pub needed: Duration,
    #[serde(serialize_with = "super::duration::serialize_secs")]
    pub has: Duration,
    pub tier: u8,
    /// The least critical tier whose objective meets the need, when it is more critical than
    /// the system's own.
    pub raise_to: Option<u8>,
}

impl fmt::Display for Shortfall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = self.objective.to_ascii_lowercase();
        write!(
            f,
            "process {} needs {} {}, system {}{} is tier {} with {} {}: ",
            self.process,
            self.objective,
            human(self.needed),
            self.system,
            match &self.through {
                Some(t) => format!(" (which {t} depends on)"),
                None => String::new(),
            },
            self.tier,
            self.objective,
            human(self.has)
        )?;
        match self.raise_to {
            Some(t) => write!(f, "raise it to tier {t} or set {key} = \"{}\"", human(self.needed)),
            None => write!(f, "set {key} = \"{}\" on it", human(self.needed)),
        }
    }
}

impl Process {
    /// RTO + WRT must fit in the MTPD: the time by which the business must work again.
    pub fn fits_mtpd(&self) -> bool {
        self.rto + self.wrt <= self.mtpd
    }

    /// Every system it relies on whose objectives are looser than it needs.
    pub fn shortfalls(&self, estate: &Estate) -> Vec<Shortfall> {
        let graph = estate.graph();
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        // The systems it names first, then what they depend on (it cannot be back before
        // them), each once, under the first named system that needs it.
        let direct: Vec<(usize, &String)> =
            self.systems.iter().filter_map(|n| estate.index_of(n).map(|i| (i, n))).collect();
        let named: Vec<(usize, Option<&String>)> =
            direct
                .iter()
                .map(|&(i, _)| (i, None))
                .chain(direct.iter().flat_map(|&(i, n)| {
                    graph.transitive_dependencies(i).into_iter().map(move |d| (d, Some(n)))
                }))
                .collect();
        {
            for (i, through) in named {
                if !seen.insert(i) {
                    continue;
                }
                let Some(s) = estate.systems().get(i) else { continue };
                // Its RTO binds through dependencies (nothing is back before what it needs);
                // its RPO binds the systems it names, which hold its data.
                let checks: &[(&'static str, Duration, Duration)] = if through.is_none() {
                    &[("RTO", self.rto, s.objective.rto), ("RPO", self.rpo, s.objective.rpo)]
                } else {
                    &[("RTO", self.rto, s.objective.rto)]
                };
                for &(objective, needed, has) in checks {
                    if has <= needed {
                        continue;
                    }
                    let meets = |t: Tier| {
                        let o = estate.tiers.get(t);
                        if objective == "RTO" { o.rto <= needed } else { o.rpo <= needed }
                    };
                    let raise_to =
                        Tier::ALL.into_iter().rev().find(|t| *t < s.tier && meets(*t)).map(Tier::number);
                    out.push(Shortfall {
                        process: self.name.clone(),
                        system: s.name.clone(),
                        through: through.cloned(),
                        objective,
                        needed,
                        has,
                        tier: s.tier.number(),
                        raise_to,
                    });
                }
            }
        }
        out
    }

    /// The MTPD read from an impact table: the first bucket at which any category is severe.
    pub fn mtpd_from(impact: &BTreeMap<Category, Vec<Impact>>, buckets: &[Duration]) -> Option<Duration> {
        buckets
            .iter()
            .enumerate()
            .find(|(i, _)| impact.values().any(|row| row.get(*i).is_some_and(Impact::is_severe)))
            .map(|(_, b)| *b)
    }

    /// Everything whose outage disrupts this process: its systems and what they depend on,
    /// transitively.
    pub fn reliance(&self, estate: &Estate) -> Vec<String> {
        let graph = estate.graph();
        let mut seen = std::collections::HashSet::new();
        let mut out: Vec<String> = Vec::new();
        for name in &self.systems {
            let Some(i) = estate.index_of(name) else { continue };
            for n in std::iter::once(i).chain(graph.transitive_dependencies(i)) {
                if seen.insert(n) {
                    out.push(graph.name(n).to_owned());
                }
            }
        }
        out
    }
}

/// How a process stands while systems are down: when it was disrupted, by what, and whether
/// its RTO still holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcessState {
    /// Every system it relies on is up.
    Working,
    /// Disrupted since `since` by the outage of `by` (a system it relies on, or one they
    /// depend on); `left` of its RTO, zero once breached.
    Disrupted { since: DateTime<Utc>, by: Vec<String>, left: Duration, breached: bool },
}

impl ProcessState {
    /// `down` gives, per system down now, when its outage began.
    pub fn of(
        process: &Process,
        estate: &Estate,
        down: &BTreeMap<String, DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Self {
        let by: Vec<String> = process.reliance(estate).into_iter().filter(|s| down.contains_key(s)).collect();
        let Some(since) = by.iter().filter_map(|s| down.get(s)).min().copied() else {
            return ProcessState::Working;
        };
        let elapsed = super::objective::elapsed_between(since, now);
        ProcessState::Disrupted {
            since,
            by,
            left: process.rto.saturating_sub(elapsed),
            breached: elapsed > process.rto,
        }
    }
}

/// The standard's disaster scenario types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskKind {
    Natural,
    Cyber,
    Infrastructure,
    Pandemic,
    Regional,
}

impl RiskKind {
    pub const ALL: [RiskKind; 5] = [
        RiskKind::Natural,
        RiskKind::Cyber,
        RiskKind::Infrastructure,
        RiskKind::Pandemic,
        RiskKind::Regional,
    ];

    pub fn name(self) -> &'static str {
        match self {
            RiskKind::Natural => "natural",
            RiskKind::Cyber => "cyber",
            RiskKind::Infrastructure => "infrastructure",
            RiskKind::Pandemic => "pandemic",
            RiskKind::Regional => "regional",
        }
    }

    pub fn parse(text: &str) -> Result<RiskKind, String> {
        RiskKind::ALL.into_iter().find(|k| k.name() == text).ok_or_else(|| {
            format!("there is no risk type \"{text}\": use {}", RiskKind::ALL.map(RiskKind::name).join(", "))
        })
    }
}

/// What is done about a risk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Treatment {
    Mitigate,
    Transfer,
    Avoid,
    Accept,
}

impl Treatment {
    pub const ALL: [Treatment; 4] =
        [Treatment::Mitigate, Treatment::Transfer, Treatment::Avoid, Treatment::Accept];

    pub fn name(self) -> &'static str {
        match self {
            Treatment::Mitigate => "mitigate",
            Treatment::Transfer => "transfer",
            Treatment::Avoid => "avoid",
            Treatment::Accept => "accept",
        }
    }

    pub fn parse(text: &str) -> Result<Treatment, String> {
        Treatment::ALL.into_iter().find(|k| k.name() == text).ok_or_else(|| {
            format!(
                "there is no treatment \"{text}\": use {}",
                Treatment::ALL.map(Treatment::name).join(", ")
            )
        })
    }
}

/// A place on the 5x5 grid: likelihood 1 (rare) to 5 (almost certain), impact 1 (insignificant)
/// to 5 (catastrophic).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Score {
    pub likelihood: u8,
    pub impact: u8,
}

impl Score {
    pub fn value(self) -> u8 {
        self.likelihood * self.impact
    }
}

pub const LIKELIHOOD: [&str; 5] = ["rare", "unlikely", "possible", "likely", "almost certain"];
pub const SEVERITY: [&str; 5] = ["insignificant", "minor", "moderate", "major", "catastrophic"];

/// Score bands: a score up to `low` is low, up to `medium` medium, up to `high` high, above
/// critical.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Bands {
    pub low: u8,
    pub medium: u8,
    pub high: u8,
}

impl Default for Bands {
    fn default() -> Self {
        Bands { low: 4, medium: 9, high: 14 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Band {
    Low,
    Medium,
    High,
    Critical,
}

impl Band {
    pub fn name(self) -> &'static str {
        match self {
            Band::Low => "low",
            Band::Medium => "medium",
            Band::High => "high",
            Band::Critical => "critical",
        }
    }

    /// The symbol that says the band without colour.
    pub fn symbol(self) -> &'static str {
        match self {
            Band::Low => "○",
            Band::Medium => "▲",
            Band::High => "◆",
            Band::Critical => "✖",
        }
    }
}

impl Bands {
    pub fn of(&self, score: u8) -> Band {
        if score <= self.low {
            Band::Low
        } else if score <= self.medium {
            Band::Medium
        } else if score <= self.high {
            Band::High
        } else {
            Band::Critical
        }
    }
}

/// One risk of the register: the standard's disaster scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Risk {
    pub id: String,
    pub name: String,
    pub kind: RiskKind,
    pub description: Option<String>,
    pub systems: Vec<String>,
    pub sites: Vec<String>,
    pub regions: Vec<String>,
    /// Before controls.
    pub inherent: Score,
    /// After the mitigations.
    pub residual: Score,
    pub treatment: Treatment,
    pub mitigations: Vec<String>,
    pub owner: Option<String>,
    pub review: NaiveDate,
}

impl Risk {
    pub fn review_overdue(&self, today: NaiveDate) -> bool {
        self.review < today
    }

    /// "risk R-03 (A faulty release corrupts the database) was due for review on 2026-09-30".
    pub fn review_overdue_words(&self) -> String {
        format!("risk {} ({}) was due for review on {}", self.id, self.name, self.review.format("%Y-%m-%d"))
    }

    /// The sites it takes out: the ones it names and every site in a region it names.
    pub fn sites_hit<'a>(&self, sites: &'a [Site]) -> Vec<&'a Site> {
        sites.iter().filter(|s| self.sites.contains(&s.name) || self.regions.contains(&s.region)).collect()
    }
}

/// The standby a system has at a site, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Standby {
    BackupOnly,
    Cold,
    Warm,
    Hot,
}

impl Standby {
    pub const ALL: [Standby; 4] = [Standby::Hot, Standby::Warm, Standby::Cold, Standby::BackupOnly];

    pub fn name(self) -> &'static str {
        match self {
            Standby::Hot => "hot",
            Standby::Warm => "warm",
            Standby::Cold => "cold",
            Standby::BackupOnly => "backup-only",
        }
    }

    pub fn parse(text: &str) -> Result<Standby, String> {
        Standby::ALL.into_iter().find(|k| k.name() == text).ok_or_else(|| {
            format!("there is no standby \"{text}\": use {}", Standby::ALL.map(Standby::name).join(", "))
        })
    }

    /// The standard's tier table: tier 1 hot, 2 warm, 3 cold, 4 backup only.
    pub fn needed(tier: Tier) -> Standby {
        match tier {
            Tier::One => Standby::Hot,
            Tier::Two => Standby::Warm,
            Tier::Three => Standby::Cold,
            Tier::Four => Standby::BackupOnly,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SiteRole {
    Primary,
    Dr,
}

impl SiteRole {
    pub fn name(self) -> &'static str {
        match self {
            SiteRole::Primary => "primary",
            SiteRole::Dr => "dr",
        }
    }
}

/// A site: where systems run, and the standby each has there.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Site {
    pub name: String,
    pub role: SiteRole,
    pub region: String,
    pub location: Option<String>,
    /// The systems that run here.
    pub runs: Vec<String>,
    /// The standby each system has here.
    pub standby: BTreeMap<String, Standby>,
}

/// The plan as configured: the impact analysis, the risks, the sites.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub name: String,
    pub owner: Option<String>,
    #[serde(serialize_with = "serialize_buckets")]
    pub buckets: Vec<Duration>,
    pub processes: Vec<Process>,
    pub risks: Vec<Risk>,
    pub sites: Vec<Site>,
    pub bands: Bands,
    #[serde(serialize_with = "super::duration::serialize_secs")]
    pub review_every: Duration,
    /// Where each system runs (an index into `sites`), once `index_sites` has run.
    #[serde(skip)]
    home: BTreeMap<String, usize>,
}

fn serialize_buckets<S: serde::Serializer>(b: &[Duration], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(b.iter().map(|d| d.as_secs()))
}

impl Default for Plan {
    fn default() -> Self {
        Plan {
            name: "BC/DR plan".into(),
            owner: None,
            buckets: default_buckets(),
            processes: Vec::new(),
            risks: Vec::new(),
            sites: Vec::new(),
            bands: Bands::default(),
            review_every: DEFAULT_REVIEW_EVERY,
            home: BTreeMap::new(),
        }
    }
}

/// A system's standby: where it runs, and the best standby it has at another site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Posture {
    pub system: String,
    /// The site it runs at, when a site says so.
    pub runs_at: Option<String>,
    /// The best standby elsewhere, and the site it is at.
    pub standby: Option<(Standby, String)>,
    pub needed: Standby,
}

impl Posture {
    /// Weaker than the tier needs (no standby at all counts as weaker, except at tier 4 where
    /// a backup is all that is asked and the backup locations hold it).
    pub fn weaker(&self) -> bool {
        match &self.standby {
            Some((s, _)) => *s < self.needed,
            None => self.needed != Standby::BackupOnly,
        }
    }
}

impl Plan {
    /// Look up where each system runs once, after the sites are set: `runs_at` is then a
    /// lookup instead of a scan of every site's list (5,000 systems ask it for every risk).
    pub fn index_sites(&mut self) {
        self.home.clear();
        for (i, site) in self.sites.iter().enumerate() {
            for r in &site.runs {
                self.home.entry(r.clone()).or_insert(i);
            }
        }
    }

    /// The site `system` runs at.
    pub fn runs_at(&self, system: &str) -> Option<&Site> {
        if self.home.is_empty() {
            return self.sites.iter().find(|s| s.runs.iter().any(|r| r == system));
        }
        self.home.get(system).and_then(|&i| self.sites.get(i))
    }

    /// The best standby `system` has at a site other than the ones in `excluded` and the one
    /// it runs at.
    fn standby_outside(&self, system: &str, excluded: &[&str]) -> Option<(Standby, String)> {
        let home = self.runs_at(system).map(|s| s.name.as_str());
        self.sites
            .iter()
            .filter(|s| Some(s.name.as_str()) != home && !excluded.contains(&s.name.as_str()))
            .filter_map(|s| s.standby.get(system).map(|k| (*k, s.name.clone())))
            .max_by_key(|(k, _)| *k)
    }

    pub fn posture(&self, system: &System) -> Posture {
        Posture {
            system: system.name.clone(),
            runs_at: self.runs_at(&system.name).map(|s| s.name.clone()),
            standby: self.standby_outside(&system.name, &[]),
            needed: Standby::needed(system.tier),
        }
    }

    /// What an outage of `risk`'s sites leaves with no standby elsewhere: the systems that run
    /// at a site it takes out and have no standby (better than a backup to restore) at a site
    /// it spares.
    pub fn exposed(&self, risk: &Risk) -> Vec<String> {
        let hit = risk.sites_hit(&self.sites);
        let names: Vec<&str> = hit.iter().map(|s| s.name.as_str()).collect();
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for site in &hit {
            for system in &site.runs {
                let spared =
                    self.standby_outside(system, &names).is_some_and(|(k, _)| k > Standby::BackupOnly);
                if !spared && seen.insert(system.as_str()) {
                    out.push(system.clone());
                }
            }
        }
        out
    }

    /// The risks on the 5x5 grid: `grid[likelihood-1][impact-1]` holds the indices of the risks
    /// there, by their residual score (or inherent).
    pub fn heat_map(&self, residual: bool) -> [[Vec<usize>; 5]; 5] {
        let mut grid: [[Vec<usize>; 5]; 5] = Default::default();
        for (i, r) in self.risks.iter().enumerate() {
            let s = if residual { r.residual } else { r.inherent };
            grid[usize::from(s.likelihood - 1)][usize::from(s.impact - 1)].push(i);
        }
        grid
    }

    /// The risks whose review date has passed.
    pub fn overdue_reviews(&self, today: NaiveDate) -> impl Iterator<Item = &Risk> {
        self.risks.iter().filter(move |r| r.review_overdue(today))
    }

    /// The tier-1 systems no process relies on (directly or through a dependency).
    pub fn unclaimed_tier_one<'a>(&self, estate: &'a Estate) -> Vec<&'a System> {
        let relied: std::collections::HashSet<String> =
            self.processes.iter().flat_map(|p| p.reliance(estate)).collect();
        estate.tier(Tier::One).map(|(_, s)| s).filter(|s| !relied.contains(&s.name)).collect()
    }

    /// The processes relying on `system`, directly or through a dependency.
    pub fn processes_relying_on(&self, estate: &Estate, system: &str) -> Vec<&Process> {
        self.processes.iter().filter(|p| p.reliance(estate).iter().any(|s| s == system)).collect()
    }
}

/// One review of the plan, as recorded by `warroom review`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanReview {
    pub at: DateTime<Utc>,
    pub reviewer: String,
    pub note: String,
    /// The SHA-256 of the configuration reviewed.
    pub config_sha256: String,
}

/// Whether the plan's last review is too old: `None` when it is fresh.
pub fn review_due(last: Option<DateTime<Utc>>, every: Duration, now: DateTime<Utc>) -> Option<String> {
    match last {
        None => Some(
            "the plan has never been reviewed: `warroom review --as NAME --note TEXT` records one".into(),
        ),
        Some(at) => {
            let age = super::objective::elapsed_between(at, now);
            (age > every).then(|| {
                format!(
                    "the plan was last reviewed {} ago ({}), more than the {} it may go: review it and record it with `warroom review`",
                    human(Duration::from_secs(age.as_secs() / 86_400 * 86_400)),
                    at.format("%Y-%m-%d"),
                    human(every)
                )
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::system::tests::system;
    use crate::model::{RpoPolicy, TierObjectives};

    fn estate() -> Estate {
        Estate::new(
            vec![
                system("database", Tier::Two, &[]),
                system("api", Tier::One, &["database"]),
                system("wiki", Tier::Four, &[]),
            ],
            TierObjectives::standard(),
            RpoPolicy::default(),
        )
    }

    fn minutes(m: u64) -> Duration {
        Duration::from_secs(m * 60)
    }

    fn payments() -> Process {
        Process {
            name: "payments".into(),
            description: None,
            owner: Some("Head of Payments".into()),
            systems: vec!["api".into()],
            suppliers: vec![],
            impact: BTreeMap::new(),
            mtpd: minutes(240),
            mtpd_from_impact: false,
            wrt: minutes(60),
            rto: minutes(120),
            rpo: minutes(15),
            min_capacity: None,
            workarounds: None,
        }
    }

    #[test]
    fn a_system_looser_than_its_process_is_a_shortfall_with_the_fix() {
        let p = payments();
        let e = estate();
        // api is tier 1 (RTO 1h, RPO 15m), but it needs the database, which is tier 2: the
        // process cannot be back before it.
        let through = p.shortfalls(&e);
        assert_eq!(through.len(), 1, "only the RTO binds through a dependency: {through:?}");
        assert_eq!(
            through[0].to_string(),
            "process payments needs RTO 2h, system database (which api depends on) is tier 2 with RTO 4h: raise it to tier 1 or set rto = \"2h\""
        );
        let mut p2 = p.clone();
        p2.systems = vec!["database".into()];
        let s = p2.shortfalls(&e);
        assert_eq!(s.len(), 2, "{s:?}");
        assert_eq!(
            s[0].to_string(),
            "process payments needs RTO 2h, system database is tier 2 with RTO 4h: raise it to tier 1 or set rto = \"2h\""
        );
        assert_eq!(s[1].raise_to, Some(1));
        p2.rto = minutes(30);
        assert_eq!(
            p2.shortfalls(&e)[0].to_string(),
            "process payments needs RTO 30m, system database is tier 2 with RTO 4h: set rto = \"30m\" on it"
        );
    }

    #[test]
    fn mtpd_is_the_first_severe_bucket_and_must_hold_rto_and_wrt() {
        let buckets = default_buckets();
        let impact = BTreeMap::from([
            (Category::Financial, vec![Impact::Minimal, Impact::Moderate, Impact::Severe]),
            (Category::Legal, vec![Impact::None, Impact::Figure("fine".into()), Impact::Moderate]),
        ]);
        assert_eq!(Process::mtpd_from(&impact, &buckets), Some(Duration::from_secs(24 * 3600)));
        let mut p = payments();
        assert!(p.fits_mtpd());
        p.wrt = minutes(121);
        assert!(!p.fits_mtpd());
    }

    #[test]
    fn a_process_is_disrupted_by_a_dependency_of_its_systems() {
        let e = estate();
        let p = payments();
        let t0 = DateTime::parse_from_rfc3339("2026-01-01T10:00:00Z").unwrap().with_timezone(&Utc);
        let down = BTreeMap::from([("database".to_owned(), t0)]);
        let now = t0 + chrono::Duration::minutes(30);
        assert_eq!(
            ProcessState::of(&p, &e, &down, now),
            ProcessState::Disrupted {
                since: t0,
                by: vec!["database".into()],
                left: minutes(90),
                breached: false
            }
        );
        assert_eq!(ProcessState::of(&p, &e, &BTreeMap::new(), now), ProcessState::Working);
        let late = t0 + chrono::Duration::minutes(121);
        assert!(matches!(
            ProcessState::of(&p, &e, &down, late),
            ProcessState::Disrupted { breached: true, .. }
        ));
    }

    fn plan() -> Plan {
        Plan {
            sites: vec![
                Site {
                    name: "primary".into(),
                    role: SiteRole::Primary,
                    region: "eu-west".into(),
                    location: None,
                    runs: vec!["database".into(), "api".into(), "wiki".into()],
                    standby: BTreeMap::new(),
                },
                Site {
                    name: "dr".into(),
                    role: SiteRole::Dr,
                    region: "eu-north".into(),
                    location: None,
                    runs: vec![],
                    standby: BTreeMap::from([
                        ("database".into(), Standby::Warm),
                        ("api".into(), Standby::Warm),
                    ]),
                },
            ],
            risks: vec![Risk {
                id: "R1".into(),
                name: "flood".into(),
                kind: RiskKind::Natural,
                description: None,
                systems: vec![],
                sites: vec![],
                regions: vec!["eu-west".into()],
                inherent: Score { likelihood: 2, impact: 5 },
                residual: Score { likelihood: 2, impact: 3 },
                treatment: Treatment::Mitigate,
                mitigations: vec![],
                owner: None,
                review: NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(),
            }],
            ..Plan::default()
        }
    }

    #[test]
    fn standby_against_the_tier_table_and_what_a_site_loss_exposes() {
        let p = plan();
        let e = estate();
        let api = p.posture(e.system("api").unwrap());
        assert_eq!(api.standby, Some((Standby::Warm, "dr".into())));
        assert!(api.weaker(), "tier 1 needs hot");
        assert!(!p.posture(e.system("database").unwrap()).weaker());
        assert!(!p.posture(e.system("wiki").unwrap()).weaker(), "tier 4: backup only");
        assert_eq!(p.exposed(&p.risks[0]), vec!["wiki".to_owned()]);
        let grid = p.heat_map(true);
        assert_eq!(grid[1][2], vec![0]);
        assert_eq!(p.heat_map(false)[1][4], vec![0]);
        assert_eq!(Bands::default().of(p.risks[0].inherent.value()), Band::High);
        let today = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        assert_eq!(p.overdue_reviews(today).count(), 1);
    }

    #[test]
    fn a_review_older_than_the_interval_is_due() {
        let now = DateTime::parse_from_rfc3339("2026-12-03T10:00:00Z").unwrap().with_timezone(&Utc);
        assert!(review_due(None, DEFAULT_REVIEW_EVERY, now).unwrap().contains("never been reviewed"));
        assert_eq!(review_due(Some(now - chrono::Duration::days(30)), DEFAULT_REVIEW_EVERY, now), None);
        let old = review_due(Some(now - chrono::Duration::days(400)), DEFAULT_REVIEW_EVERY, now).unwrap();
        assert!(old.contains("2025-10-29") && old.contains("400d"), "{old}");
    }

    #[test]
    fn unclaimed_tier_one_counts_reliance_through_dependencies() {
        let e = estate();
        let mut p = plan();
        assert_eq!(p.unclaimed_tier_one(&e).len(), 1);
        p.processes.push(payments());
        assert!(p.unclaimed_tier_one(&e).is_empty());
        assert_eq!(p.processes_relying_on(&e, "database").len(), 1);
    }
}
