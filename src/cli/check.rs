//! `warroom check [FILE]`: validate, and summarise the estate.
//!
//! Exit 0 valid, 1 valid with warnings, 2 invalid.

use std::fmt::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use super::{CliError, load_config, stderr_color};
use crate::config::Config;
use crate::model::Tier;
use crate::model::duration::human;

pub async fn run(file: Option<PathBuf>, locations: bool) -> Result<ExitCode, CliError> {
    let mut loaded = load_config(file.as_deref(), 2)?;
    print!("{}", summary(&loaded.config));
    for overdue in crate::config::plan::overdue_reviews(&loaded.config.plan, chrono::Utc::now().date_naive())
    {
        loaded.report.push(overdue);
    }
    loaded.report.locate_keys();
    let mut warnings = loaded.report.warnings().count();
    if warnings > 0 {
        eprint!("\n{}", loaded.report.render(stderr_color()));
    }
    if locations {
        for location in &loaded.config.locations {
            match crate::engine::backup::repo::probe(location).await {
                Ok(said) => println!("location {}: {said}", location.name),
                Err(problem) => {
                    warnings += 1;
                    eprintln!("warning: {problem}");
                }
            }
        }
    }
    Ok(if warnings > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// `warroom check --scenario FILE`: the scenario against the estate (the configured one, or the
/// built-in demo estate when no configuration is found).
pub async fn scenario(file: Option<PathBuf>, scenario: PathBuf) -> Result<ExitCode, CliError> {
    let config = match crate::config::locate(file.as_deref(), &crate::config::ProcessEnv) {
        Ok(_) => load_config(file.as_deref(), 2)?.config,
        Err(_) => {
            eprintln!("no configuration found: checking against the built-in demo estate");
            crate::sim::demo::load(None, &crate::config::ProcessEnv)
                .map_err(|e| CliError::config(e, 2))?
                .config
        }
    };
    let scenario = crate::config::scenario::find(&scenario.to_string_lossy(), &config.path);
    let text = crate::config::scenario::read_text(&scenario).map_err(|e| CliError::message(e, 2))?;
    let fault_ok = |f: &str| crate::sim::Fault::parse_text(f).map(|_| ());
    match crate::config::scenario::load(&scenario, &text, &config, &fault_ok) {
        Ok(checked) => {
            let s = &checked.scenario;
            println!(
                "{}: valid, {} ({}), {} objectives, {} modules, {} injects, scope: {}",
                scenario.display(),
                s.name,
                s.kind,
                s.objectives.len(),
                s.modules.len(),
                s.injects.len(),
                s.scope.join(", ")
            );
            let warnings = checked.report.warnings().count();
            if warnings > 0 {
                eprint!("\n{}", checked.report.render(stderr_color()));
            }
            Ok(if warnings > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
        }
        Err(report) => {
            eprint!("{}", report.render(stderr_color()));
            Ok(ExitCode::from(2))
        }
    }
}

/// The estate at a glance: systems per tier and the recovery order.
pub fn summary(config: &Config) -> String {
    let estate = &config.estate;
    let mut out = String::new();
    let n = estate.systems().len();
    let _ = writeln!(out, "{}: valid, {n} system{}", config.path.display(), if n == 1 { "" } else { "s" });
    for tier in Tier::ALL {
        let names: Vec<&str> = estate.tier(tier).map(|(_, s)| s.name.as_str()).collect();
        let o = estate.tiers.get(tier);
        let _ = writeln!(
            out,
            "  tier {} {:<18} RTO {:<4} RPO {:<4} {:>3} system{}{}{}",
            tier.number(),
            tier.label(),
            human(o.rto),
            human(o.rpo),
            names.len(),
            if names.len() == 1 { "" } else { "s" },
            if names.is_empty() { "" } else { ": " },
            names.join(", ")
        );
    }
    if let Ok(waves) = estate.recovery_waves() {
        let _ =
            writeln!(out, "recovery order, {} wave{}:", waves.len(), if waves.len() == 1 { "" } else { "s" });
        for (i, wave) in waves.iter().enumerate() {
            let names: Vec<&str> = wave.iter().map(|&n| estate.graph().name(n)).collect();
            let _ = writeln!(out, "  wave {}  {}", i + 1, names.join(", "));
        }
    }
    let notify = &config.notify;
    if !notify.contacts.is_empty() {
        use crate::model::comms::Channel;
        let channels: Vec<&str> =
            Channel::ALL.into_iter().filter(|c| notify.channel_configured(*c)).map(Channel::name).collect();
        let lists: Vec<String> = notify
            .lists()
            .into_iter()
            .filter_map(|l| {
                let n = notify.contacts.iter().filter(|c| c.lists.contains(&l)).count();
                (n > 0).then(|| format!("{l} {n}"))
            })
            .collect();
        let _ = writeln!(
            out,
            "notices: {} contact{} ({}); channels: {}",
            notify.contacts.len(),
            if notify.contacts.len() == 1 { "" } else { "s" },
            lists.join(", "),
            if channels.is_empty() { "none".to_owned() } else { channels.join(", ") }
        );
    }
    let plan = &config.plan;
    if !plan.processes.is_empty() || !plan.risks.is_empty() || !plan.sites.is_empty() {
        let mut bands = std::collections::BTreeMap::new();
        for r in &plan.risks {
            *bands.entry(std::cmp::Reverse(plan.bands.of(r.residual.value()))).or_insert(0) += 1;
        }
        let bands: Vec<String> = bands.iter().map(|(b, n)| format!("{n} {}", b.0.name())).collect();
        let sites: Vec<String> = plan.sites.iter().map(|s| format!("{} {}", s.name, s.role.name())).collect();
        let _ = writeln!(
            out,
            "plan: {} process{}, {} risk{}{}, {} site{}{}",
            plan.processes.len(),
            if plan.processes.len() == 1 { "" } else { "es" },
            plan.risks.len(),
            if plan.risks.len() == 1 { "" } else { "s" },
            if bands.is_empty() { String::new() } else { format!(" (residual: {})", bands.join(", ")) },
            plan.sites.len(),
            if plan.sites.len() == 1 { "" } else { "s" },
            if sites.is_empty() { String::new() } else { format!(" ({})", sites.join(", ")) },
        );
    }
    out
}
