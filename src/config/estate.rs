//! From `[[systems]]`, `[tiers]` and `[rpo]` to a checked [`Estate`]: the semantic checks.

use std::collections::HashMap;

use toml::Spanned;

use super::backup::{self, Encryption, Location};
use super::decision;
use super::diagnostic::{Diagnostic, Report, did_you_mean};
use super::failover::{self, StepAction};
use super::health::{self, HealthSettings};
use super::systems::{SystemConfig, SystemEntry};
use super::tiers::{RpoSection, TierSection};
use super::values::{suggest_name, valid_name};
use crate::model::duration::human;
use crate::model::{
    DependencyGraph, Estate, RecoveryObjective, RpoPolicy, System, Thresholds, Tier, TierObjectives,
};

/// The parts of the document the estate is built from.
pub struct EstateSections {
    /// Each entry, or `None` where the entry could not be read (its error is already reported),
    /// with the entry's name when the raw document had one.
    pub systems: Vec<(Option<SystemEntry>, Option<String>)>,
    pub tiers: Vec<(Tier, Spanned<TierSection>)>,
    pub rpo: Option<RpoSection>,
}

/// Settings every system's checks start from.
pub struct Defaults {
    pub health: HealthSettings,
    pub thresholds: [Thresholds; 4],
    pub locations: Vec<Location>,
    pub encryption: Encryption,
    /// The configuration file's folder: relative paths start there.
    pub base: std::path::PathBuf,
}

pub fn build(
    sections: EstateSections,
    defaults: &Defaults,
    report: &mut Report,
) -> (Estate, Vec<SystemConfig>) {
    let tiers = tier_objectives(&sections.tiers, report);
    let rpo_policy = rpo_policy(sections.rpo.as_ref(), report);

    // Names of every entry, readable or not, so one bad entry does not make the others'
    // dependencies on it look unknown.
    let all_names: Vec<&str> = sections.systems.iter().filter_map(|(_, n)| n.as_deref()).collect();
    let entries: Vec<&SystemEntry> = sections.systems.iter().filter_map(|(e, _)| e.as_ref()).collect();

    // A name used twice is reported even when one of the two entries has errors of its own.
    let mut counted: HashMap<&str, usize> = HashMap::new();
    for name in &all_names {
        *counted.entry(name).or_default() += 1;
    }
    let mut told: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for (entry, name) in &sections.systems {
        if let (None, Some(name)) = (entry, name.as_deref())
            && counted.get(name).is_some_and(|n| *n > 1)
            && told.insert(name)
        {
            report.push(
                Diagnostic::error(format!("system \"{name}\" is defined twice"))
                    .at(format!("systems[{name}].name"), None)
                    .help("rename or remove one of them".to_owned()),
            );
        }
    }
    let mut first_seen: HashMap<&str, &Spanned<String>> = HashMap::new();
    let mut systems = Vec::new();
    let mut settings = Vec::new();
    let mut spans = Vec::new();
    for entry in &entries {
        let name = entry.name.get_ref().as_str();
        let key = format!("systems[{name}]");
        // A name that looks like a secret is reported as one, and never echoed in a suggestion.
        if !valid_name(name) && super::secrets::secret_value(name).is_none() {
            report.push(
                Diagnostic::error(format!("system name \"{name}\" is not usable as a name"))
                    .at(format!("{key}.name"), Some(entry.name.span()))
                    .help(format!(
                        "names use letters, digits, '-', '_' and '.', starting with a letter or digit: try \"{}\"",
                        suggest_name(name)
                    )),
            );
        }
        if let Some(first) = first_seen.get(name) {
            let (line, _) = report.line_col(first.span().start);
            report.push(
                Diagnostic::error(format!("system \"{name}\" is defined twice"))
                    .at(format!("{key}.name"), Some(entry.name.span()))
                    .help(format!("the first definition is on line {line}; rename or remove one of them")),
            );
            continue;
        }
        first_seen.insert(name, &entry.name);
        let tier = entry.tier.get_ref().0;
        let allowed = tiers.get(tier);
        let objective = RecoveryObjective {
            rto: entry.rto.as_ref().map(|d| d.get_ref().0).unwrap_or(allowed.rto),
            rpo: entry.rpo.as_ref().map(|d| d.get_ref().0).unwrap_or(allowed.rpo),
        };
        for (field, value, limit) in [("rto", &entry.rto, allowed.rto), ("rpo", &entry.rpo, allowed.rpo)] {
            let Some(value) = value else { continue };
            if value.get_ref().0 > limit {
                report.push(
                    Diagnostic::error(format!(
                        "{} {} is looser than {tier} allows ({})",
                        field.to_uppercase(),
                        human(value.get_ref().0),
                        human(limit)
                    ))
                    .at(format!("{key}.{field}"), Some(value.span()))
                    .help(format!(
                        "a system may be stricter than its tier, never looser: set {field} to {} or less, or move \"{name}\" to a lower tier",
                        human(limit)
                    )),
                );
            }
        }
        settings.push(SystemConfig {
            health: entry.health.as_ref().and_then(|h| health::resolve(name, h, &defaults.health, report)),
            replication: entry
                .replication
                .as_ref()
                .and_then(|r| super::replication::resolve(name, r, &defaults.health, report)),
            thresholds: decision::system_thresholds(
                name,
                tier,
                &defaults.thresholds,
                entry.decision.as_ref(),
                report,
            ),
            failover: entry.failover.as_ref().and_then(|p| failover::resolve(name, "failover", p, report)),
            failback: entry.failback.as_ref().and_then(|p| failover::resolve(name, "failback", p, report)),
            backup: None,
        });
        systems.push(System {
            name: name.to_owned(),
            tier,
            objective,
            depends_on: entry.depends_on.iter().map(|d| d.get_ref().clone()).collect(),
            owner: entry.owner.clone(),
            description: entry.description.clone(),
        });
        if let (Some(b), Some(system), Some(settings)) = (&entry.backup, systems.last(), settings.last_mut())
        {
            settings.backup =
                backup::resolve(system, b, &defaults.locations, &defaults.encryption, &defaults.base, report);
        }
        spans.push(*entry);
    }

    check_dependencies(&systems, &spans, &all_names, report);
    check_procedures(&systems, &settings, report);
    if systems.is_empty() && !report.has_errors() {
        report.push(
            Diagnostic::warning("the estate has no systems")
                .help("add a [[systems]] table for each system: name, tier, depends_on"),
        );
    }
    (Estate::new(systems, tiers, rpo_policy), settings)
}

/// A `wait_healthy` step needs a health check to wait on: its own system's, or the one it names.
fn check_procedures(systems: &[System], settings: &[SystemConfig], report: &mut Report) {
    for (system, config) in systems.iter().zip(settings) {
        for (which, procedure) in [("failover", &config.failover), ("failback", &config.failback)] {
            let Some(procedure) = procedure else { continue };
            for step in procedure.steps.iter().chain(&procedure.validate).chain(&procedure.rollback) {
                let StepAction::WaitHealthy { system: target } = &step.action else { continue };
                let target_name = target.as_deref().unwrap_or(&system.name);
                let path = format!("systems[{}].{which}.{}", system.name, step.name);
                match systems.iter().position(|s| s.name == target_name) {
                    None => {
                        let names = systems.iter().map(|s| s.name.as_str());
                        let d = Diagnostic::error(format!("step \"{}\" waits on \"{target_name}\", which is not a system", step.name))
                            .at(path, None);
                        report.push(match did_you_mean(target_name, names) {
                            Some(s) => d.help(format!("did you mean \"{s}\"?")),
                            None => d,
                        });
                    }
                    Some(i) if settings.get(i).is_some_and(|c| c.health.is_none()) => report.push(
                        Diagnostic::error(format!(
                            "step \"{}\" waits until \"{target_name}\" is healthy, but \"{target_name}\" has no health check",
                            step.name
                        ))
                        .at(path, None)
                        .help(format!("add [systems.health] to \"{target_name}\", or wait on another system with system = \"...\"")),
                    ),
                    Some(_) => {}
                }
            }
        }
    }
}

fn check_dependencies(systems: &[System], entries: &[&SystemEntry], all_names: &[&str], report: &mut Report) {
    let (graph, unknown) =
        DependencyGraph::build(systems.iter().map(|s| (s.name.clone(), s.depends_on.iter())));
    for u in unknown {
        let entry = entries[u.from];
        if all_names.contains(&u.name.as_str()) {
            continue; // named by an entry that has its own error
        }
        let dep = &entry.depends_on[u.position];
        let mut d = Diagnostic::error(format!("unknown dependency \"{}\"", u.name))
            .at(format!("systems[{}].depends_on[{}]", entry.name.get_ref(), u.position), Some(dep.span()));
        let own = entry.name.get_ref().as_str();
        d = match did_you_mean(&u.name, all_names.iter().copied().filter(|n| *n != own)) {
            Some(s) => d.help(format!("did you mean \"{s}\"?")),
            None => d.help("every dependency must be the name of a [[systems]] entry in this file"),
        };
        report.push(d);
    }

    for (i, entry) in entries.iter().enumerate() {
        let mut seen: Vec<&str> = Vec::new();
        for (pos, dep) in entry.depends_on.iter().enumerate() {
            let dep_name = dep.get_ref().as_str();
            let key = format!("systems[{}].depends_on[{pos}]", entry.name.get_ref());
            if seen.contains(&dep_name) {
                report.push(
                    Diagnostic::warning(format!("\"{dep_name}\" is listed twice in depends_on"))
                        .at(key, Some(dep.span()))
                        .help("remove the repeated entry"),
                );
                continue;
            }
            seen.push(dep_name);
        }
        if systems[i].tier == Tier::One {
            warn_tier4_dependencies(i, entry, systems, &graph, report);
        }
    }

    for cycle in graph.cycles() {
        let first = cycle.0[0];
        let next = cycle.0.get(1).copied().unwrap_or(first);
        let entry = entries[first];
        let next_name = graph.name(next);
        let position = entry.depends_on.iter().position(|d| d.get_ref() == next_name).unwrap_or(0);
        let span = entry.depends_on.get(position).map(|d| d.span());
        report.push(
            Diagnostic::error(format!("dependency cycle: {}", graph.describe_cycle(&cycle)))
                .at(format!("systems[{}].depends_on[{position}]", entry.name.get_ref()), span)
                .help("systems in a cycle can never be recovered in order: remove one of these dependencies"),
        );
    }
}

/// A tier-1 system that needs a tier-4 one, directly or through others, cannot meet its RTO
/// while that one may take days: warn once per tier-4 system, with the path.
fn warn_tier4_dependencies(
    from: usize,
    entry: &SystemEntry,
    systems: &[System],
    graph: &DependencyGraph,
    report: &mut Report,
) {
    let mut parent: Vec<Option<usize>> = vec![None; graph.len()];
    let mut seen = vec![false; graph.len()];
    seen[from] = true;
    let mut queue = std::collections::VecDeque::from([from]);
    while let Some(n) = queue.pop_front() {
        for &d in graph.depends_on(n) {
            if seen[d] {
                continue;
            }
            seen[d] = true;
            parent[d] = Some(n);
            queue.push_back(d);
            if systems[d].tier != Tier::Four {
                continue;
            }
            let mut path = vec![d];
            let mut at = d;
            while let Some(p) = parent[at] {
                path.push(p);
                at = p;
            }
            path.reverse();
            let first_hop = graph.name(path[1]);
            let position = entry.depends_on.iter().position(|x| x.get_ref() == first_hop).unwrap_or(0);
            let chain: Vec<&str> = path.iter().map(|&p| graph.name(p)).collect();
            let (source, target) = (&systems[from], &systems[d]);
            let how =
                if path.len() == 2 { String::new() } else { format!(" (through {})", chain.join(" -> ")) };
            report.push(
                Diagnostic::warning(format!(
                    "tier-1 system \"{}\" depends on tier-4 system \"{}\"{how}",
                    source.name, target.name
                ))
                .at(
                    format!("systems[{}].depends_on[{position}]", source.name),
                    entry.depends_on.get(position).map(|x| x.span()),
                )
                .help(format!(
                    "\"{}\" cannot recover within {} while \"{}\" may take {}: raise \"{}\"'s tier or remove the dependency",
                    source.name,
                    human(source.objective.rto),
                    target.name,
                    human(target.objective.rto),
                    target.name
                )),
            );
        }
    }
}

fn tier_objectives(overrides: &[(Tier, Spanned<TierSection>)], report: &mut Report) -> TierObjectives {
    let mut tiers = TierObjectives::standard();
    for (tier, section) in overrides {
        let standard = tier.standard_objective();
        let section = section.get_ref();
        let objective = RecoveryObjective {
            rto: section.rto.as_ref().map(|d| d.get_ref().0).unwrap_or(standard.rto),
            rpo: section.rpo.as_ref().map(|d| d.get_ref().0).unwrap_or(standard.rpo),
        };
        for (field, value, limit) in
            [("rto", &section.rto, standard.rto), ("rpo", &section.rpo, standard.rpo)]
        {
            let Some(value) = value else { continue };
            if value.get_ref().0 > limit {
                report.push(
                    Diagnostic::warning(format!(
                        "{tier} {} {} is looser than the standard's {}",
                        field.to_uppercase(),
                        human(value.get_ref().0),
                        human(limit)
                    ))
                    .at(format!("tiers.{}.{field}", tier.number()), Some(value.span()))
                    .help("allowed, but every system of the tier inherits it; make sure the business agreed to it"),
                );
            }
        }
        tiers.set(*tier, objective);
    }
    tiers
}

fn rpo_policy(section: Option<&RpoSection>, report: &mut Report) -> RpoPolicy {
    let Some(value) = section.and_then(|s| s.at_risk.as_ref()) else {
        return RpoPolicy::default();
    };
    let at_risk = *value.get_ref();
    if !(0.0..1.0).contains(&at_risk) {
        report.push(
            Diagnostic::error(format!("rpo.at_risk = {at_risk} must be at least 0 and less than 1"))
                .at("rpo.at_risk", Some(value.span()))
                .help("it is the fraction of the RPO left under which a system is at risk: 0.25 means the last quarter"),
        );
        return RpoPolicy::default();
    }
    RpoPolicy { at_risk }
}
