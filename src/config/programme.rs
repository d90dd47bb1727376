//! `[[programme]]`: what must be tested how often, per system or tier, and `[test_results]`:
//! how long results are kept.
//!
//! ```toml
//! [[programme]]
//! test = "restore-drill"     # backup-verification, restore-drill, drill, functional (partial),
//!                            # full-scale (full), tabletop
//! every = "7d"
//! systems = ["database"]     # or tier = 1; every system when neither is given
//!
//! [test_results]
//! keep = "2557d"             # 7 years (the default); pruning refuses anything younger
//! ```
//!
//! With no `[[programme]]` the standard's schedule applies to every system: daily backup
//! verification, a monthly restore drill, a weekly drill, a monthly functional exercise, a
//! quarterly full-scale test and an annual tabletop.

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::diagnostic::{Diagnostic, Report, did_you_mean};
use super::values::{HumanDuration, TierNumber};
use crate::model::programme::{Covers, DEFAULT_KEEP, Requirement, TestKind, default_programme};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgrammeEntry {
    pub test: Spanned<String>,
    pub every: Spanned<HumanDuration>,
    #[serde(default)]
    pub systems: Vec<Spanned<String>>,
    pub tier: Option<Spanned<TierNumber>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestResultsSection {
    pub keep: Option<Spanned<HumanDuration>>,
}

/// The programme as configured.
#[derive(Debug, Clone, PartialEq)]
pub struct Programme {
    pub requirements: Vec<Requirement>,
    /// Whether it is the built-in default (no `[[programme]]` in the file).
    pub default: bool,
    /// How long results are kept.
    pub keep: Duration,
}

impl Default for Programme {
    fn default() -> Self {
        Programme { requirements: default_programme(), default: true, keep: DEFAULT_KEEP }
    }
}

/// The shortest keep: a year (a programme's annual test must still be on record when it falls due).
const SHORTEST_KEEP: Duration = Duration::from_secs(366 * 86_400);

pub fn resolve(
    entries: Option<Vec<ProgrammeEntry>>,
    results: &TestResultsSection,
    systems: &[String],
    report: &mut Report,
) -> Programme {
    let mut programme = Programme::default();
    if let Some(keep) = &results.keep {
        if keep.get_ref().0 < SHORTEST_KEEP {
            report.push(
                Diagnostic::error("test results must be kept at least a year")
                    .at("test_results.keep", Some(keep.span()))
                    .help("the standard asks for 7 years (\"2557d\", the default); give at least \"366d\""),
            );
        } else {
            programme.keep = keep.get_ref().0;
        }
    }
    let Some(entries) = entries else { return programme };
    programme.default = false;
    programme.requirements.clear();
    for (i, e) in entries.iter().enumerate() {
        let key = |k: &str| format!("programme[{i}].{k}");
        let test = match TestKind::parse(e.test.get_ref()) {
            Ok(t) => t,
            Err(m) => {
                report.push(Diagnostic::error(m).at(key("test"), Some(e.test.span())));
                continue;
            }
        };
        if e.every.get_ref().0 < Duration::from_secs(3600) {
            report.push(
                Diagnostic::error(format!(
                    "a {} every {} is more often than a test can mean",
                    test.name(),
                    crate::model::duration::human(e.every.get_ref().0)
                ))
                .at(key("every"), Some(e.every.span()))
                .help("test at most hourly (\"1h\"); daily is \"1d\""),
            );
            continue;
        }
        let covers = match (&e.tier, e.systems.is_empty()) {
            (Some(t), false) => {
                report.push(
                    Diagnostic::error("give either `systems` or `tier`, not both")
                        .at(key("tier"), Some(t.span()))
                        .help("write two [[programme]] entries to cover a tier and named systems"),
                );
                continue;
            }
            (Some(t), true) => Covers::Tier(t.get_ref().0),
            (None, true) => Covers::All,
            (None, false) => {
                let mut names = Vec::new();
                for s in &e.systems {
                    if systems.iter().any(|n| n == s.get_ref()) {
                        names.push(s.get_ref().clone());
                    } else {
                        let mut d = Diagnostic::error(format!("there is no system \"{}\"", s.get_ref()))
                            .at(key("systems"), Some(s.span()));
                        if let Some(near) = did_you_mean(s.get_ref(), systems.iter().map(String::as_str)) {
                            d = d.help(format!("did you mean \"{near}\"?"));
                        }
                        report.push(d);
                    }
                }
                Covers::Systems(names)
            }
        };
        programme.requirements.push(Requirement { test, every: e.every.get_ref().0, covers });
    }
    programme
}

#[cfg(test)]
mod tests {
    use crate::config::console::tests::FakeEnv;
    use crate::config::{LoadError, load_str};
    use std::collections::HashMap;
    use std::path::Path;

    const ESTATE: &str =
        "[[systems]]\nname = \"database\"\ntier = 1\n\n[[systems]]\nname = \"wiki\"\ntier = 4\n";

    fn load(extra: &str) -> Result<crate::config::Config, String> {
        let env = FakeEnv(HashMap::from([("USER", "tester"), ("HOME", "/home/tester")]));
        match load_str(Path::new("t.toml"), &format!("{ESTATE}{extra}"), &env) {
            Ok(l) => Ok(l.config),
            Err(LoadError::Invalid(r)) => Err(r.render(false)),
            Err(e) => Err(e.to_string()),
        }
    }

    #[test]
    fn no_programme_is_the_standards_schedule() {
        let c = load("").unwrap();
        assert!(c.programme.default);
        assert_eq!(c.programme.requirements.len(), 6);
        assert_eq!(c.programme.keep.as_secs() / 86_400, 2557);
    }

    #[test]
    fn entries_per_system_and_tier() {
        let c = load(
            "[[programme]]\ntest = \"partial\"\nevery = \"30d\"\ntier = 1\n\n[[programme]]\ntest = \"restore-drill\"\nevery = \"7d\"\nsystems = [\"wiki\"]\n\n[test_results]\nkeep = \"3650d\"\n",
        )
        .unwrap();
        let r = &c.programme.requirements;
        assert_eq!(r.len(), 2);
        assert!(
            r[0].covers("database", crate::model::Tier::One)
                && !r[0].covers("wiki", crate::model::Tier::Four)
        );
        assert!(r[1].covers("wiki", crate::model::Tier::Four));
        assert_eq!(c.programme.keep.as_secs(), 3650 * 86_400);
    }

    #[test]
    fn mistakes_name_their_key_and_line() {
        let e = load("[[programme]]\ntest = \"monthly\"\nevery = \"30d\"\n\n[[programme]]\ntest = \"drill\"\nevery = \"7d\"\nsystems = [\"databse\"]\n\n[test_results]\nkeep = \"30d\"\n").unwrap_err();
        assert!(e.contains("programme[0].test") && e.contains("there is no test \"monthly\""), "{e}");
        assert!(e.contains("programme[1].systems") && e.contains("did you mean \"database\""), "{e}");
        assert!(e.contains("test_results.keep") && e.contains("at least a year"), "{e}");
        assert!(e.contains(":8"), "the line of the unknown system: {e}");
    }
}
