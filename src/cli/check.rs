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
    let loaded = load_config(file.as_deref(), 2)?;
    print!("{}", summary(&loaded.config));
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
    out
}
