//! The continuity plan: `[plan]`, `[[processes]]` (the business impact analysis), `[[risks]]`
//! (the risk register) and `[[sites]]`, read and checked against the estate. docs/plan.md has
//! every key.
//!
//! ```toml
//! [plan]
//! name = "Example Ltd BC/DR plan"
//! owner = "Head of Resilience"
//! review_every = "365d"                   # status warns when the last review is older
//! impact_after = ["1h", "4h", "24h", "72h", "1w"]
//! risk_bands = [4, 9, 14]                 # low up to 4, medium up to 9, high up to 14
//!
//! [[processes]]
//! name = "payments"
//! owner = "Head of Payments"
//! systems = ["api", "database"]
//! rto = "30m"
//! rpo = "5m"
//! wrt = "1h"
//! mtpd = "4h"                             # else the first bucket where an impact is severe
//! min_capacity = "card payments at 50% volume"
//! [processes.impact]                      # one value per bucket
//! financial = ["minimal", "moderate", "severe", "severe", "severe"]
//!
//! [[risks]]
//! id = "R-01"
//! name = "Loss of the primary data centre"
//! type = "regional"                       # natural, cyber, infrastructure, pandemic, regional
//! regions = ["eu-west"]                   # and/or sites = [...], systems = [...]
//! likelihood = 2
//! impact = 5
//! residual = [1, 5]                       # likelihood and impact after the mitigations
//! treatment = "mitigate"                  # mitigate, transfer, avoid, accept
//! mitigations = ["hot standby at the DR site"]
//! owner = "CTO"
//! review = "2027-03-01"
//!
//! [[sites]]
//! name = "primary"
//! role = "primary"                        # or "dr"
//! region = "eu-west"
//! systems = ["api", "database"]           # what runs here (a primary with none runs the rest)
//! [sites.standby]                         # the standby each system has here
//! database = "hot"                        # hot, warm, cold, backup-only
//! ```

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::time::Duration;

use chrono::NaiveDate;
use serde::Deserialize;
use toml::Spanned;

use super::diagnostic::{Diagnostic, Report, did_you_mean};
use super::values::HumanDuration;
use crate::model::Estate;
use crate::model::duration::human;
use crate::model::plan::{
    Bands, Category, Impact, Plan, Process, Risk, RiskKind, Score, Site, SiteRole, Standby, Treatment,
};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanSection {
    pub name: Option<String>,
    pub owner: Option<String>,
    pub review_every: Option<Spanned<HumanDuration>>,
    pub impact_after: Option<Spanned<Vec<HumanDuration>>>,
    pub risk_bands: Option<Spanned<Vec<u8>>>,
}

/// One value of an impact row: a level word or a figure (text or a number).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum ImpactValue {
    Text(String),
    Int(i64),
    Float(f64),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImpactEntry {
    #[serde(default)]
    pub financial: Option<Spanned<Vec<ImpactValue>>>,
    #[serde(default)]
    pub operational: Option<Spanned<Vec<ImpactValue>>>,
    #[serde(default)]
    pub legal: Option<Spanned<Vec<ImpactValue>>>,
    #[serde(default)]
    pub reputational: Option<Spanned<Vec<ImpactValue>>>,
    #[serde(default)]
    pub customer: Option<Spanned<Vec<ImpactValue>>>,
    #[serde(default)]
    pub safety: Option<Spanned<Vec<ImpactValue>>>,
}

impl ImpactEntry {
    fn rows(&self) -> [(Category, &Option<Spanned<Vec<ImpactValue>>>); 6] {
        [
            (Category::Financial, &self.financial),
            (Category::Operational, &self.operational),
            (Category::Legal, &self.legal),
            (Category::Reputational, &self.reputational),
            (Category::Customer, &self.customer),
            (Category::Safety, &self.safety),
        ]
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessEntry {
    pub name: Spanned<String>,
    pub description: Option<String>,
    pub owner: Option<String>,
    #[serde(default)]
    pub systems: Vec<Spanned<String>>,
    #[serde(default)]
    pub suppliers: Vec<String>,
    #[serde(default)]
    pub impact: ImpactEntry,
    pub mtpd: Option<Spanned<HumanDuration>>,
    pub wrt: Option<Spanned<HumanDuration>>,
    pub rto: Spanned<HumanDuration>,
    pub rpo: Spanned<HumanDuration>,
    pub min_capacity: Option<String>,
    pub workarounds: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskEntry {
    pub id: Spanned<String>,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: Spanned<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub systems: Vec<Spanned<String>>,
    #[serde(default)]
    pub sites: Vec<Spanned<String>>,
    #[serde(default)]
    pub regions: Vec<Spanned<String>>,
    pub likelihood: Spanned<i64>,
    pub impact: Spanned<i64>,
    /// `[likelihood, impact]` after the mitigations; the inherent score when not given.
    pub residual: Option<Spanned<Vec<i64>>>,
    pub treatment: Spanned<String>,
    #[serde(default)]
    pub mitigations: Vec<String>,
    pub owner: Option<String>,
    pub review: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteEntry {
    pub name: Spanned<String>,
    pub role: Spanned<String>,
    pub region: String,
    pub location: Option<String>,
    pub systems: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    pub standby: BTreeMap<Spanned<String>, Spanned<String>>,
}

/// What the plan's sections are read from.
#[derive(Default)]
pub struct PlanSections {
    pub plan: PlanSection,
    pub processes: Vec<ProcessEntry>,
    pub risks: Vec<RiskEntry>,
    pub sites: Vec<SiteEntry>,
}

/// Check the plan's sections against the estate and build the [`Plan`].
pub fn resolve(sections: PlanSections, estate: &Estate, report: &mut Report) -> Plan {
    let mut plan = Plan::default();
    let names: Vec<&str> = estate.systems().iter().map(|s| s.name.as_str()).collect();
    let p = &sections.plan;
    if let Some(n) = &p.name {
        plan.name = n.clone();
    }
    plan.owner = p.owner.clone();
    if let Some(every) = &p.review_every {
        if every.get_ref().0 < Duration::from_secs(86_400) {
            report.push(
                Diagnostic::error("a plan reviewed more often than daily is not a review interval")
                    .at("plan.review_every", Some(every.span()))
                    .help("the standard asks for an annual review: \"365d\""),
            );
        } else {
            plan.review_every = every.get_ref().0;
        }
    }
    if let Some(after) = &p.impact_after {
        let b: Vec<Duration> = after.get_ref().iter().map(|d| d.0).collect();
        if b.is_empty() || b.windows(2).any(|w| w[0] >= w[1]) {
            report.push(
                Diagnostic::error(
                    "the impact buckets must be one or more durations, each longer than the one before",
                )
                .at("plan.impact_after", Some(after.span()))
                .help("for example impact_after = [\"1h\", \"4h\", \"24h\", \"72h\", \"1w\"]"),
            );
        } else {
            plan.buckets = b;
        }
    }
    if let Some(bands) = &p.risk_bands {
        match bands.get_ref().as_slice() {
            [l, m, h] if 0 < *l && l < m && m < h && *h < 25 => {
                plan.bands = Bands { low: *l, medium: *m, high: *h }
            }
            _ => report.push(
                Diagnostic::error(
                    "risk_bands are the highest score of low, medium and high, rising, under 25",
                )
                .at("plan.risk_bands", Some(bands.span()))
                .help("the default is [4, 9, 14]: 1-4 low, 5-9 medium, 10-14 high, 15-25 critical"),
            ),
        }
    }
    let (site_list, spans) = sites(&sections.sites, estate, &names, report);
    plan.sites = site_list;
    plan.index_sites();
    plan.processes = processes(&sections.processes, &plan.buckets, estate, &names, report);
    plan.risks = risks(&sections.risks, &plan.sites, &names, report);
    if !plan.processes.is_empty() {
        for s in plan.unclaimed_tier_one(estate) {
            report.push(
                Diagnostic::warning(format!("tier-1 system {} is relied on by no business process", s.name))
                    .at(format!("systems[{}].tier", s.name), None)
                    .help("name it in the [[processes]] that need it, or lower its tier if none does"),
            );
        }
    }
    if !plan.sites.is_empty() {
        for s in estate.systems() {
            let posture = plan.posture(s);
            if posture.runs_at.is_none() {
                report.push(
                    Diagnostic::warning(format!("system {} runs at no site", s.name))
                        .at(format!("sites[{}].systems", spans.first.0), Some(spans.first.1.clone()))
                        .help("name it in a site's `systems`, or leave `systems` out of the primary site"),
                );
            } else if posture.weaker() {
                let has = posture.standby.as_ref().map(|(k, site)| format!("{} at {site}", k.name()));
                report.push(
                    Diagnostic::warning(format!(
                        "system {} is {} and needs a {} standby; it has {}",
                        s.name,
                        s.tier,
                        posture.needed.name(),
                        has.unwrap_or_else(|| "none at another site".into())
                    ))
                    .at(
                        spans
                            .standby
                            .get(&s.name)
                            .map(|(k, _)| k.clone())
                            .unwrap_or_else(|| format!("sites[{}].standby", spans.dr.0)),
                        Some(
                            spans
                                .standby
                                .get(&s.name)
                                .map(|(_, r)| r.clone())
                                .unwrap_or_else(|| spans.dr.1.clone()),
                        ),
                    )
                    .help(format!(
                        "give it `{} = \"{}\"` under a DR site's [sites.standby], or lower its tier",
                        s.name,
                        posture.needed.name()
                    )),
                );
            }
        }
    }
    plan
}

fn unknown_system(what: &str, name: &Spanned<String>, key: String, names: &[&str]) -> Diagnostic {
    let mut d = Diagnostic::error(format!("{what} names no system \"{}\"", name.get_ref()))
        .at(key, Some(name.span()));
    if let Some(near) = did_you_mean(name.get_ref(), names.iter().copied()) {
        d = d.help(format!("did you mean \"{near}\"?"));
    } else {
        d = d.help("every name must be a [[systems]] entry of this file");
    }
    d
}

fn processes(
    entries: &[ProcessEntry],
    buckets: &[Duration],
    estate: &Estate,
    names: &[&str],
    report: &mut Report,
) -> Vec<Process> {
    let mut out: Vec<Process> = Vec::new();
    for e in entries {
        let name = e.name.get_ref().clone();
        let key = |k: &str| format!("processes[{name}].{k}");
        if out.iter().any(|p| p.name == name) {
            report.push(
                Diagnostic::error(format!("process \"{name}\" is defined twice"))
                    .at(key("name"), Some(e.name.span()))
                    .help("rename or remove one of them"),
            );
            continue;
        }
        let mut systems = Vec::new();
        for s in &e.systems {
            if estate.index_of(s.get_ref()).is_some() {
                systems.push(s.get_ref().clone());
            } else {
                report.push(unknown_system(&format!("process {name}"), s, key("systems"), names));
            }
        }
        let mut impact = BTreeMap::new();
        for (category, row) in e.impact.rows() {
            let Some(row) = row else { continue };
            if row.get_ref().len() != buckets.len() {
                report.push(
                    Diagnostic::error(format!(
                        "the {} impact has {} values for {} buckets ({})",
                        category.key(),
                        row.get_ref().len(),
                        buckets.len(),
                        buckets.iter().map(|b| human(*b)).collect::<Vec<_>>().join(", ")
                    ))
                    .at(key(&format!("impact.{}", category.key())), Some(row.span()))
                    .help("give one value per bucket of [plan] impact_after: severe, moderate, minimal, none or a figure"),
                );
                continue;
            }
            let values = row
                .get_ref()
                .iter()
                .map(|v| match v {
                    ImpactValue::Text(t) => Impact::parse(t),
                    ImpactValue::Int(n) => Impact::Figure(n.to_string()),
                    ImpactValue::Float(f) => Impact::Figure(f.to_string()),
                })
                .collect();
            impact.insert(category, values);
        }
        let rto = e.rto.get_ref().0;
        let wrt = e.wrt.as_ref().map(|w| w.get_ref().0).unwrap_or(Duration::ZERO);
        let (mtpd, from_impact) = match (&e.mtpd, Process::mtpd_from(&impact, buckets)) {
            (Some(m), _) => (m.get_ref().0, false),
            (None, Some(m)) => (m, true),
            (None, None) => {
                report.push(
                    Diagnostic::error(format!(
                        "process {name} has no maximum tolerable period of disruption"
                    ))
                    .at(key("mtpd"), Some(e.name.span()))
                    .help(
                        "give mtpd = \"4h\", or an [processes.impact] row that turns severe at some bucket",
                    ),
                );
                continue;
            }
        };
        let process = Process {
            name: name.clone(),
            description: e.description.clone(),
            owner: e.owner.clone().filter(|o| !o.trim().is_empty()),
            systems,
            suppliers: e.suppliers.clone(),
            impact,
            mtpd,
            mtpd_from_impact: from_impact,
            wrt,
            rto,
            rpo: e.rpo.get_ref().0,
            min_capacity: e.min_capacity.clone(),
            workarounds: e.workarounds.clone(),
        };
        if !process.fits_mtpd() {
            let span = e.mtpd.as_ref().map(|m| m.span()).unwrap_or_else(|| e.rto.span());
            report.push(
                Diagnostic::error(format!(
                    "process {name}: RTO {} + WRT {} is {}, longer than its MTPD {}{}",
                    human(rto),
                    human(wrt),
                    human(rto + wrt),
                    human(mtpd),
                    if from_impact { " (the first bucket where its impact is severe)" } else { "" }
                ))
                .at(key(if e.mtpd.is_some() { "mtpd" } else { "rto" }), Some(span))
                .help(if wrt >= mtpd {
                    format!(
                        "the work recovery time alone ({}) uses up the MTPD: shorten wrt, or raise mtpd if the business can wait longer",
                        human(wrt)
                    )
                } else {
                    format!(
                        "the business must work again within the MTPD: set rto to at most {}, or shorten wrt",
                        human(mtpd.saturating_sub(wrt))
                    )
                }),
            );
        }
        if process.owner.is_none() {
            report.push(
                Diagnostic::warning(format!("process {name} has no owner"))
                    .at(key("name"), Some(e.name.span()))
                    .help("name who answers for it: owner = \"Head of Payments\""),
            );
        }
        for shortfall in process.shortfalls(estate) {
            let at = e
                .systems
                .iter()
                .find(|s| *s.get_ref() == *shortfall.through.as_ref().unwrap_or(&shortfall.system))
                .map(|s| s.span())
                .unwrap_or_else(|| e.name.span());
            report.push(
                Diagnostic::warning(shortfall.to_string())
                    .at(key("systems"), Some(at))
                    .help("a process's needs are met only when every system it relies on meets them"),
            );
        }
        out.push(process);
    }
    out
}

fn score(
    l: &Spanned<i64>,
    i: &Spanned<i64>,
    key: &dyn Fn(&str) -> String,
    report: &mut Report,
) -> Option<Score> {
    let mut ok = true;
    for (what, v, words) in
        [("likelihood", l, "1 rare .. 5 almost certain"), ("impact", i, "1 insignificant .. 5 catastrophic")]
    {
        if !(1..=5).contains(v.get_ref()) {
            report.push(
                Diagnostic::error(format!("{what} {} is off the 1-5 scale", v.get_ref()))
                    .at(key(what), Some(v.span()))
                    .help(format!("use {words}")),
            );
            ok = false;
        }
    }
    ok.then(|| Score { likelihood: *l.get_ref() as u8, impact: *i.get_ref() as u8 })
}

fn risks(entries: &[RiskEntry], sites: &[Site], names: &[&str], report: &mut Report) -> Vec<Risk> {
    let site_names: Vec<&str> = sites.iter().map(|s| s.name.as_str()).collect();
    let regions: Vec<&str> = sites.iter().map(|s| s.region.as_str()).collect();
    let mut out: Vec<Risk> = Vec::new();
    for e in entries {
        let label = e.name.clone();
        let key = |k: &str| format!("risks[{label}].{k}");
        if out.iter().any(|r| r.id == *e.id.get_ref()) {
            report.push(
                Diagnostic::error(format!("risk id \"{}\" is used twice", e.id.get_ref()))
                    .at(key("id"), Some(e.id.span()))
                    .help("give every risk its own id"),
            );
            continue;
        }
        let kind = RiskKind::parse(e.kind.get_ref())
            .map_err(|m| report.push(Diagnostic::error(m).at(key("type"), Some(e.kind.span()))))
            .ok();
        let treatment = Treatment::parse(e.treatment.get_ref())
            .map_err(|m| report.push(Diagnostic::error(m).at(key("treatment"), Some(e.treatment.span()))))
            .ok();
        let review = NaiveDate::parse_from_str(e.review.get_ref(), "%Y-%m-%d")
            .map_err(|_| {
                report.push(
                    Diagnostic::error(format!("review \"{}\" is not a date", e.review.get_ref()))
                        .at(key("review"), Some(e.review.span()))
                        .help("write the date of the next review as YYYY-MM-DD"),
                )
            })
            .ok();
        let inherent = score(&e.likelihood, &e.impact, &key, report);
        let residual = match &e.residual {
            None => inherent,
            Some(r) => match r.get_ref().as_slice() {
                [l, i] => score(
                    &Spanned::new(r.span(), *l),
                    &Spanned::new(r.span(), *i),
                    &|k| key(&format!("residual ({k})")),
                    report,
                ),
                _ => {
                    report.push(
                        Diagnostic::error("residual is [likelihood, impact] after the mitigations")
                            .at(key("residual"), Some(r.span()))
                            .help("for example residual = [1, 4]"),
                    );
                    None
                }
            },
        };
        if let (Some(i), Some(r), Some(span)) = (inherent, residual, e.residual.as_ref().map(|r| r.span()))
            && r.value() > i.value()
        {
            report.push(
                Diagnostic::warning(format!(
                    "risk {}: its residual score {} is above its inherent score {}",
                    e.id.get_ref(),
                    r.value(),
                    i.value()
                ))
                .at(key("residual"), Some(span))
                .help("controls lower a risk: the residual is the score after them"),
            );
        }
        let known = |list: &[Spanned<String>], allowed: &[&str], what: &str, k: &str, report: &mut Report| {
            let mut v = Vec::new();
            for s in list {
                if allowed.contains(&s.get_ref().as_str()) {
                    v.push(s.get_ref().clone());
                } else {
                    let mut d = Diagnostic::error(format!(
                        "risk {} names no {what} \"{}\"",
                        e.id.get_ref(),
                        s.get_ref()
                    ))
                    .at(key(k), Some(s.span()));
                    d = match did_you_mean(s.get_ref(), allowed.iter().copied()) {
                        Some(near) => d.help(format!("did you mean \"{near}\"?")),
                        None if allowed.is_empty() => {
                            d.help(format!("there are no {what}s: [[sites]] defines them"))
                        }
                        None => d.help(format!("the {what}s are: {}", allowed.join(", "))),
                    };
                    report.push(d);
                }
            }
            v
        };
        let systems = known(&e.systems, names, "system", "systems", report);
        let sites_hit = known(&e.sites, &site_names, "site", "sites", report);
        let regions_hit = known(&e.regions, &regions, "region", "regions", report);
        let (Some(kind), Some(treatment), Some(review), Some(inherent), Some(residual)) =
            (kind, treatment, review, inherent, residual)
        else {
            continue;
        };
        out.push(Risk {
            id: e.id.get_ref().clone(),
            name: e.name.clone(),
            kind,
            description: e.description.clone(),
            systems,
            sites: sites_hit,
            regions: regions_hit,
            inherent,
            residual,
            treatment,
            mitigations: e.mitigations.clone(),
            owner: e.owner.clone(),
            review,
        });
    }
    out
}

/// Where the sites' warnings point: each system's strongest standby entry, the first site and
/// the first DR site (the primary when there is none).
struct SiteSpans {
    standby: HashMap<String, (String, Range<usize>)>,
    first: (String, Range<usize>),
    dr: (String, Range<usize>),
}

fn sites(
    entries: &[SiteEntry],
    estate: &Estate,
    names: &[&str],
    report: &mut Report,
) -> (Vec<Site>, SiteSpans) {
    let mut spans = SiteSpans { standby: HashMap::new(), first: Default::default(), dr: Default::default() };
    if let Some(e) = entries.first() {
        spans.first = (e.name.get_ref().clone(), e.name.span());
        spans.dr = spans.first.clone();
    }
    if let Some(e) = entries.iter().find(|e| e.role.get_ref() == "dr") {
        spans.dr = (e.name.get_ref().clone(), e.name.span());
    }
    let mut out: Vec<Site> = Vec::new();
    let mut implicit: Option<usize> = None;
    // Which site each system was placed at so far (its index in `out`).
    let mut placed: HashMap<String, usize> = HashMap::new();
    for e in entries {
        let name = e.name.get_ref().clone();
        let key = |k: &str| format!("sites[{name}].{k}");
        if out.iter().any(|s| s.name == name) {
            report.push(
                Diagnostic::error(format!("site \"{name}\" is defined twice"))
                    .at(key("name"), Some(e.name.span()))
                    .help("rename or remove one of them"),
            );
            continue;
        }
        let role = match e.role.get_ref().as_str() {
            "primary" => SiteRole::Primary,
            "dr" => SiteRole::Dr,
            other => {
                report.push(
                    Diagnostic::error(format!("there is no site role \"{other}\""))
                        .at(key("role"), Some(e.role.span()))
                        .help("a site is role = \"primary\" or role = \"dr\""),
                );
                continue;
            }
        };
        let mut runs = Vec::new();
        for s in e.systems.iter().flatten() {
            if estate.index_of(s.get_ref()).is_none() {
                report.push(unknown_system(&format!("site {name}"), s, key("systems"), names));
            } else if placed.get(s.get_ref().as_str()) == Some(&out.len()) {
                // Listed twice here: once is enough.
            } else if let Some(other) = placed.get(s.get_ref().as_str()).map(|&i| &out[i]) {
                report.push(
                    Diagnostic::error(format!(
                        "system {} runs at two sites: {} and {name}",
                        s.get_ref(),
                        other.name
                    ))
                    .at(key("systems"), Some(s.span()))
                    .help(
                        "a system runs at one site; where it can take over is its standby ([sites.standby])",
                    ),
                );
            } else {
                placed.insert(s.get_ref().clone(), out.len());
                runs.push(s.get_ref().clone());
            }
        }
        if e.systems.is_none() && role == SiteRole::Primary {
            implicit.get_or_insert(out.len());
        }
        let mut standby = BTreeMap::new();
        for (system, kind) in &e.standby {
            if estate.index_of(system.get_ref()).is_none() {
                report.push(unknown_system(&format!("site {name}'s standby"), system, key("standby"), names));
                continue;
            }
            match Standby::parse(kind.get_ref()) {
                Ok(k) => {
                    standby.insert(system.get_ref().clone(), k);
                    spans.standby.insert(
                        system.get_ref().clone(),
                        (key(&format!("standby.{}", system.get_ref())), kind.span()),
                    );
                }
                Err(m) => report.push(
                    Diagnostic::error(m).at(key(&format!("standby.{}", system.get_ref())), Some(kind.span())),
                ),
            }
        }
        out.push(Site { name, role, region: e.region.clone(), location: e.location.clone(), runs, standby });
    }
    // A primary site that lists no systems runs every system no other site runs.
    if let Some(i) = implicit {
        let rest: Vec<String> =
            estate.systems().iter().map(|s| s.name.clone()).filter(|n| !placed.contains_key(n)).collect();
        out[i].runs = rest;
    }
    (out, spans)
}

/// The risks whose review date has passed, as warnings (the check and `status` call it with
/// today's date).
pub fn overdue_reviews(plan: &Plan, today: NaiveDate) -> Vec<Diagnostic> {
    plan.overdue_reviews(today)
        .map(|r| {
            Diagnostic::warning(r.review_overdue_words())
                .at(format!("risks[{}].review", r.name), None)
                .help("review it with its owner and set the next review date")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::config::console::tests::FakeEnv;
    use crate::config::{LoadError, Loaded, load_str};
    use std::collections::HashMap;
    use std::path::Path;

    const ESTATE: &str = "[[systems]]\nname = \"database\"\ntier = 2\n\n[[systems]]\nname = \"api\"\ntier = 1\ndepends_on = [\"database\"]\n\n[[systems]]\nname = \"wiki\"\ntier = 4\n\n";

    fn load(extra: &str) -> Result<Loaded, String> {
        let env = FakeEnv(HashMap::from([("USER", "tester"), ("HOME", "/home/tester")]));
        match load_str(Path::new("t.toml"), &format!("{ESTATE}{extra}"), &env) {
            Ok(l) => Ok(l),
            Err(LoadError::Invalid(r)) => Err(r.render(false)),
            Err(e) => Err(e.to_string()),
        }
    }

    fn warnings(l: &Loaded) -> String {
        l.report.render(false)
    }

    #[test]
    fn a_process_needing_more_than_its_system_gives_is_a_warning_with_the_fix_and_its_line() {
        let l = load("[[processes]]\nname = \"payments\"\nowner = \"Head of Payments\"\nsystems = [\"api\", \"database\"]\nrto = \"30m\"\nrpo = \"15m\"\nwrt = \"1h\"\nmtpd = \"4h\"\n").unwrap();
        let w = warnings(&l);
        assert!(
            w.contains("process payments needs RTO 30m, system database is tier 2 with RTO 4h: set rto = \"30m\" on it"),
            "{w}"
        );
        assert!(w.contains("process payments needs RPO 15m, system database is tier 2 with RPO 1h: raise it to tier 1 or set rpo = \"15m\""), "{w}");
        assert!(w.contains("t.toml:17:19"), "the line of \"database\" in systems: {w}");
        assert_eq!(l.config.plan.processes[0].mtpd.as_secs(), 4 * 3600);
    }

    #[test]
    fn rto_and_wrt_must_fit_the_mtpd_read_from_the_impact_table() {
        let e = load("[[processes]]\nname = \"payroll\"\nowner = \"HR\"\nsystems = [\"wiki\"]\nrto = \"72h\"\nrpo = \"24h\"\nwrt = \"8h\"\n[processes.impact]\nfinancial = [\"none\", \"minimal\", \"moderate\", \"severe\", \"severe\"]\n").unwrap_err();
        assert!(
            e.contains("process payroll: RTO 72h + WRT 8h is 80h, longer than its MTPD 72h (the first bucket where its impact is severe)"),
            "{e}"
        );
        assert!(e.contains("processes[payroll].rto") && e.contains("set rto to at most 64h"), "{e}");
        let e = load("[[processes]]\nname = \"x\"\nrto = \"1h\"\nrpo = \"1h\"\nmtpd = \"4h\"\n[processes.impact]\nlegal = [\"severe\"]\ncolour = [\"x\"]\n").unwrap_err();
        assert!(e.contains("the legal impact has 1 values for 5 buckets"), "{e}");
        assert!(e.contains("processes[x].impact.colour") || e.contains("unknown"), "{e}");
    }

    #[test]
    fn ownerless_processes_and_unclaimed_tier_one_systems_warn() {
        let l = load("[[processes]]\nname = \"intranet\"\nsystems = [\"wiki\"]\nrto = \"72h\"\nrpo = \"24h\"\nmtpd = \"1w\"\n").unwrap();
        let w = warnings(&l);
        assert!(w.contains("process intranet has no owner"), "{w}");
        assert!(w.contains("tier-1 system api is relied on by no business process"), "{w}");
        assert!(
            w.contains("t.toml:7:8 · systems[api].tier"),
            "found after reading, still with its line: {w}"
        );
        let l = load("[[processes]]\nname = \"intranet\"\nowner = \" \"\nsystems = [\"wiki\", \"api\"]\nrto = \"72h\"\nrpo = \"24h\"\nmtpd = \"1w\"\n").unwrap();
        assert!(warnings(&l).contains("process intranet has no owner"), "an empty owner is none");
    }

    #[test]
    fn risks_are_checked_with_their_keys_and_lines() {
        let e = load("[[sites]]\nname = \"primary\"\nrole = \"primary\"\nregion = \"eu-west\"\n\n[[risks]]\nid = \"R1\"\nname = \"flood\"\ntype = \"weather\"\nregions = [\"eu-wset\"]\nsystems = [\"databse\"]\nlikelihood = 6\nimpact = 3\ntreatment = \"ignore\"\nreview = \"next year\"\n").unwrap_err();
        assert!(e.contains("there is no risk type \"weather\": use natural, cyber"), "{e}");
        assert!(e.contains("risks[flood].regions") && e.contains("did you mean \"eu-west\""), "{e}");
        assert!(e.contains("did you mean \"database\""), "{e}");
        assert!(e.contains("likelihood 6 is off the 1-5 scale"), "{e}");
        assert!(e.contains("there is no treatment \"ignore\""), "{e}");
        assert!(e.contains("review \"next year\" is not a date"), "{e}");
        assert!(e.contains("t.toml:25:14"), "the likelihood's line: {e}");
    }

    #[test]
    fn a_standby_weaker_than_the_tier_needs_warns_and_a_site_loss_lists_the_exposed() {
        let l = load("[[sites]]\nname = \"primary\"\nrole = \"primary\"\nregion = \"eu-west\"\n\n[[sites]]\nname = \"dr\"\nrole = \"dr\"\nregion = \"eu-north\"\n[sites.standby]\napi = \"warm\"\ndatabase = \"warm\"\n\n[[risks]]\nid = \"R1\"\nname = \"flood\"\ntype = \"natural\"\nsites = [\"primary\"]\nlikelihood = 2\nimpact = 5\nresidual = [2, 3]\ntreatment = \"mitigate\"\nreview = \"2030-01-01\"\n").unwrap();
        let w = warnings(&l);
        assert!(w.contains("system api is tier 1 and needs a hot standby; it has warm at dr"), "{w}");
        assert!(w.contains("t.toml:24:7 · sites[dr].standby.api"), "the line of its standby: {w}");
        assert!(!w.contains("system database is"), "tier 2 with warm is enough: {w}");
        let plan = &l.config.plan;
        assert_eq!(
            plan.sites[0].runs,
            vec!["database", "api", "wiki"],
            "a primary with no list runs the rest"
        );
        assert_eq!(plan.exposed(&plan.risks[0]), vec!["wiki".to_owned()]);
        let e = load("[[sites]]\nname = \"a\"\nrole = \"primary\"\nregion = \"r\"\nsystems = [\"api\"]\n\n[[sites]]\nname = \"b\"\nrole = \"backup\"\nregion = \"r\"\n\n[[sites]]\nname = \"c\"\nrole = \"dr\"\nregion = \"r\"\nsystems = [\"api\"]\n[sites.standby]\napi = \"lukewarm\"\n").unwrap_err();
        assert!(e.contains("there is no site role \"backup\""), "{e}");
        assert!(e.contains("system api runs at two sites: a and c"), "{e}");
        assert!(e.contains("there is no standby \"lukewarm\""), "{e}");
    }
}
