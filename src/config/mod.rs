//! Configuration: find the file, parse it, check it, and hand back a typed [`Config`].
//!
//! Each section of the file is its own module with its own serde types; this module walks the
//! document's top level and sends each section to its module, collecting every problem (syntax,
//! types, unknown keys, inline secrets, semantic checks) into one [`Report`] instead of
//! stopping at the first.

pub mod access;
pub mod backup;
pub mod console;
pub mod decision;
pub mod diagnostic;
pub mod document;
pub mod estate;
pub mod failover;
pub mod health;
pub mod keys;
pub mod notify;
pub mod plan;
pub mod programme;
pub mod replication;
pub mod scenario;
pub mod secrets;
pub mod systems;
pub mod tiers;
pub mod values;

use std::fmt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use toml::Spanned;
use toml::de::DeValue;

pub use console::{ConsoleConfig, Environment, ProcessEnv};
pub use diagnostic::{Diagnostic, Level, Report};

use crate::model::{ApprovalPolicies, Estate};
use backup::{ApprovalSection, Encryption, EncryptionSection, Location, LocationEntry};
use console::ConsoleSection;
use decision::DecisionEntry;
use diagnostic::did_you_mean;
use document::{Document, deserialize_section};
use estate::EstateSections;
use health::{HealthSection, HealthSettings};
use keys::{KeyBindings, KeysSection};
use systems::SystemConfig;

/// The top-level sections this version understands.
pub const SECTIONS: &[&str] = &[
    "console",
    "health",
    "decision",
    "encryption",
    "locations",
    "approval",
    "systems",
    "tiers",
    "rpo",
    "keys",
    "contacts",
    "notify",
    "statuspage",
    "programme",
    "test_results",
    "plan",
    "processes",
    "risks",
    "sites",
    "operators",
    "permissions",
];

/// A loaded, checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from (for a built-in configuration, the name it goes by).
    pub path: PathBuf,
    /// Whether it was read from `path` (and can be read again) or built in.
    pub origin: Origin,
    /// SHA-256 of the file's bytes, hex: a change between runs is audited.
    pub hash: String,
    /// The text it was read from, exactly (secrets are never in it): the config in force, for
    /// the evidence pack.
    pub text: std::sync::Arc<str>,
    pub console: ConsoleConfig,
    pub estate: Estate,
    /// The console's key bindings (defaults with `[keys]` applied).
    pub keys: KeyBindings,
    /// What every health check shares.
    pub health: HealthSettings,
    /// Per system, in the estate's order: probe, thresholds, procedures, backup policy.
    pub systems: Vec<SystemConfig>,
    pub encryption: Encryption,
    pub locations: Vec<Location>,
    pub approval: ApprovalPolicies,
    /// Contacts, channels, the cadence, templates and the status page.
    pub notify: notify::Notify,
    /// What must be tested how often (the standard's schedule by default).
    pub programme: programme::Programme,
    /// The continuity plan: processes (the impact analysis), risks, sites.
    pub plan: crate::model::plan::Plan,
    /// Who the war room's people are and which roles may propose and approve what.
    pub access: crate::model::access::Access,
}

impl Config {
    pub fn location(&self, name: &str) -> Option<&Location> {
        self.locations.iter().find(|l| l.name == name)
    }

    /// A system's settings by name.
    pub fn system(&self, name: &str) -> Option<&SystemConfig> {
        self.estate.index_of(name).and_then(|i| self.systems.get(i))
    }
}

/// A configuration and its warnings.
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    /// Warnings only: a report with errors is a [`LoadError::Invalid`].
    pub report: Report,
}

#[derive(Debug)]
pub enum LoadError {
    /// No file at any of the places looked, each with why it was looked at.
    NotFound {
        tried: Vec<(PathBuf, &'static str)>,
    },
    Unreadable {
        path: PathBuf,
        reason: String,
    },
    Invalid(Box<Report>),
    /// Built into the binary: there is no file to read again.
    BuiltIn {
        name: String,
    },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::NotFound { tried } => {
                writeln!(f, "no configuration file found; looked in:")?;
                for (path, why) in tried {
                    writeln!(f, "  {} ({why})", path.display())?;
                }
                write!(f, "give one with --config PATH or WARROOM_CONFIG, or start from config.toml.example")
            }
            LoadError::Unreadable { path, reason } => {
                write!(f, "cannot read configuration file {}: {reason}", path.display())
            }
            LoadError::Invalid(report) => f.write_str(&report.render(false)),
            LoadError::BuiltIn { name } => write!(
                f,
                "{name} is compiled into warroom and cannot change; to edit the estate, copy \
                 config.toml.example, change it and run `warroom demo --config FILE`"
            ),
        }
    }
}

impl std::error::Error for LoadError {}

/// Find the configuration file: `--config PATH`, then `WARROOM_CONFIG`, then `./warroom.toml`,
/// then `$XDG_CONFIG_HOME/warroom/config.toml` (`~/.config/...` when unset).
pub fn locate(explicit: Option<&Path>, env: &dyn Environment) -> Result<PathBuf, LoadError> {
    let named = |path: PathBuf, why: &'static str| {
        if path.is_file() {
            Ok(path)
        } else if path.is_dir() {
            Err(LoadError::Unreadable { path, reason: format!("it is a folder, not a file ({why})") })
        } else {
            Err(LoadError::NotFound { tried: vec![(path, why)] })
        }
    };
    if let Some(path) = explicit {
        return named(path.to_owned(), "given on the command line");
    }
    if let Some(path) = env.var("WARROOM_CONFIG") {
        return named(PathBuf::from(path), "named by WARROOM_CONFIG");
    }
    let mut tried = vec![(PathBuf::from("./warroom.toml"), "the current folder")];
    let xdg = env
        .var("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| env.var("HOME").map(|h| PathBuf::from(h).join(".config")));
    if let Some(dir) = xdg {
        tried.push((dir.join("warroom/config.toml"), "the user's configuration folder"));
    }
    match tried.iter().find(|(p, _)| p.is_file()) {
        Some((p, _)) => Ok(p.clone()),
        None => Err(LoadError::NotFound { tried }),
    }
}

/// Read and check the file at `path`.
/// Where a configuration came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Origin {
    /// A file, read again on a reload.
    #[default]
    File,
    /// Text built into the binary (the demo's example): there is no file to read again.
    BuiltIn,
}

/// Check configuration `text` built into the binary, known as `name`.
pub fn load_builtin(name: &str, text: &str, env: &dyn Environment) -> Result<Loaded, LoadError> {
    let mut loaded = load_str(Path::new(name), text, env)?;
    loaded.config.origin = Origin::BuiltIn;
    Ok(loaded)
}

pub fn load(path: &Path, env: &dyn Environment) -> Result<Loaded, LoadError> {
    let bytes = std::fs::read(path)
        .map_err(|e| LoadError::Unreadable { path: path.to_owned(), reason: e.to_string() })?;
    let text = String::from_utf8(bytes).map_err(|e| LoadError::Unreadable {
        path: path.to_owned(),
        reason: format!("it is not UTF-8 text (invalid byte at offset {})", e.utf8_error().valid_up_to()),
    })?;
    load_str(path, &text, env)
}

/// Parse `text` (read from `path`) with an empty report to check it into, or the report of its
/// syntax errors: what the parser recovered from them is a guess, and checking it would add
/// confusing errors.
pub(crate) fn parse_reported<'a>(path: &Path, text: &'a str) -> Result<(Document<'a>, Report), Box<Report>> {
    let mut report = Report::new(path, text);
    let (doc, syntax) = Document::parse(text);
    if !syntax.is_empty() {
        for d in syntax {
            report.push(d);
        }
        report.sort();
        return Err(Box::new(report));
    }
    Ok((doc, report))
}

/// Check configuration `text` as if read from `path` (relative paths in it are relative to
/// `path`'s folder).
pub fn load_str(path: &Path, text: &str, env: &dyn Environment) -> Result<Loaded, LoadError> {
    let (doc, mut report) = parse_reported(path, text).map_err(LoadError::Invalid)?;
    secrets::scan(&doc.root, &mut report);
    let secret_keys: Vec<String> = report.diagnostics.iter().filter_map(|d| d.key.clone()).collect();
    let sections = read_sections(&doc, &mut report);
    // A secret under a key that does not exist is one problem (the secret), not two.
    report.diagnostics.retain(|d| {
        !(d.message.starts_with("unknown key") && d.key.as_ref().is_some_and(|k| secret_keys.contains(k)))
    });
    let config_dir = path.parent().map(Path::to_owned).unwrap_or_default();
    let console = sections.console.resolve(&config_dir, env);
    console::check(&sections.console, &console, &config_dir, env, &doc, &mut report);
    let encryption = sections.encryption.resolve(&config_dir, &mut report);
    let locations = backup::resolve_locations(&sections.locations, &config_dir, &mut report);
    let approval = backup::resolve_approval(&sections.approval, &mut report);
    let defaults = estate::Defaults {
        health: sections.health.resolve(&mut report),
        thresholds: decision::tier_thresholds(sections.decision.as_ref(), &mut report),
        locations: locations.clone(),
        encryption: encryption.clone(),
        base: config_dir.clone(),
    };
    let (estate, systems) = estate::build(sections.estate, &defaults, &mut report);
    let any_backups = systems.iter().any(|s| s.backup.is_some());
    backup::check_signing(&encryption, any_backups, &sections.encryption, &mut report);
    let keys = keys::resolve(&sections.keys, &mut report);
    let system_names: Vec<String> = estate.systems().iter().map(|s| s.name.clone()).collect();
    let location_names: Vec<String> = locations.iter().map(|l| l.name.clone()).collect();
    let notify = notify::resolve(
        &sections.contacts,
        &sections.notify,
        sections.statuspage.as_ref(),
        &config_dir,
        &system_names,
        &location_names,
        &mut report,
    );
    let programme =
        programme::resolve(sections.programme, &sections.test_results, &system_names, &mut report);
    let plan = plan::resolve(sections.plan, &estate, &mut report);
    let named = sections.console.operator.as_deref().map(|o| (o, doc.value_span(&["console", "operator"])));
    let mut tiers: Vec<crate::model::Tier> = estate.systems().iter().map(|s| s.tier).collect();
    tiers.sort();
    tiers.dedup();
    let access = access::resolve(&sections.operators, &sections.permissions, named, &tiers, &mut report);
    if access.enforced() {
        // Where two people must approve: every action and tier whose policy says so, and each
        // procedure that sets it for its system.
        let mut two_person: Vec<(crate::model::Action, crate::model::Tier, String)> = Vec::new();
        for action in crate::model::Action::ALL {
            for tier in &tiers {
                if approval.get(action, *tier) == crate::model::ApprovalPolicy::TwoPerson {
                    two_person.push((action, *tier, format!("[approval] on {tier}")));
                }
            }
        }
        for (model, system) in estate.systems().iter().zip(&systems) {
            let tier = model.tier;
            for (action, procedure) in [
                (crate::model::Action::Failover, &system.failover),
                (crate::model::Action::Failback, &system.failback),
            ] {
                if procedure.as_ref().and_then(|p| p.approval)
                    == Some(crate::model::ApprovalPolicy::TwoPerson)
                {
                    two_person.push((action, tier, format!("{}'s procedure", model.name)));
                }
            }
        }
        let span = sections.operators.first().map(|o| o.name.span());
        access::check_two_people_may_approve(&access, &two_person, span, &mut report);
    }
    if access.enforced() {
        // Who acts is whoever the process shows it is (its OS user, its key).
        report.diagnostics.retain(|d| !d.message.starts_with("nobody is named as the operator"));
    }
    report.locate_keys();
    report.sort();
    if report.has_errors() {
        return Err(LoadError::Invalid(Box::new(report)));
    }
    let hash = format!("{:x}", Sha256::digest(text.as_bytes()));
    Ok(Loaded {
        config: Config {
            origin: Origin::File,
            path: path.to_owned(),
            hash,
            text: text.into(),
            console,
            estate,
            keys,
            health: defaults.health,
            systems,
            encryption,
            locations,
            approval,
            notify,
            programme,
            plan,
            access,
        },
        report,
    })
}

struct Sections {
    console: ConsoleSection,
    estate: EstateSections,
    keys: KeysSection,
    health: HealthSection,
    decision: Option<DecisionEntry>,
    encryption: EncryptionSection,
    locations: Vec<LocationEntry>,
    approval: ApprovalSection,
    contacts: Vec<notify::ContactEntry>,
    notify: notify::NotifySection,
    statuspage: Option<notify::StatusPageSection>,
    programme: Option<Vec<programme::ProgrammeEntry>>,
    test_results: programme::TestResultsSection,
    plan: plan::PlanSections,
    operators: Vec<access::OperatorWritten>,
    permissions: access::PermissionsSection,
}

/// Send each top-level key to the module of its section.
fn read_sections(doc: &Document<'_>, report: &mut Report) -> Sections {
    let mut sections = Sections {
        console: ConsoleSection::default(),
        estate: EstateSections { systems: Vec::new(), tiers: Vec::new(), rpo: None },
        keys: KeysSection::new(),
        health: HealthSection::default(),
        decision: None,
        encryption: EncryptionSection::default(),
        locations: Vec::new(),
        approval: ApprovalSection::new(),
        contacts: Vec::new(),
        notify: notify::NotifySection::default(),
        statuspage: None,
        programme: None,
        test_results: programme::TestResultsSection::default(),
        plan: plan::PlanSections::default(),
        operators: Vec::new(),
        permissions: access::PermissionsSection::new(),
    };
    for (key, node) in doc.root.iter() {
        let name: &str = key.get_ref();
        match name {
            "console" => sections.console = read(doc, name, node, report).unwrap_or_default(),
            "systems" => sections.estate.systems = systems::read(doc, node, report),
            "tiers" => sections.estate.tiers = tiers::read(doc, node, report),
            "rpo" => sections.estate.rpo = read(doc, name, node, report),
            "keys" => sections.keys = read(doc, name, node, report).unwrap_or_default(),
            "health" => sections.health = read(doc, name, node, report).unwrap_or_default(),
            "decision" => sections.decision = read(doc, name, node, report),
            "encryption" => sections.encryption = read(doc, name, node, report).unwrap_or_default(),
            "locations" => sections.locations = read_list(doc, name, node, report),
            "approval" => sections.approval = read(doc, name, node, report).unwrap_or_default(),
            "contacts" => sections.contacts = read_list(doc, name, node, report),
            "notify" => sections.notify = read(doc, name, node, report).unwrap_or_default(),
            "statuspage" => sections.statuspage = read(doc, name, node, report),
            "programme" => sections.programme = Some(read_list(doc, name, node, report)),
            "test_results" => sections.test_results = read(doc, name, node, report).unwrap_or_default(),
            "plan" => sections.plan.plan = read(doc, name, node, report).unwrap_or_default(),
            "processes" => sections.plan.processes = read_list(doc, name, node, report),
            "risks" => sections.plan.risks = read_list(doc, name, node, report),
            "sites" => sections.plan.sites = read_list(doc, name, node, report),
            "operators" => sections.operators = read_list(doc, name, node, report),
            "permissions" => sections.permissions = read(doc, name, node, report).unwrap_or_default(),
            _ => report.push(unknown_section(name, key.span())),
        }
    }
    sections
}

/// Deserialize a section, adding its problems to the report.
pub(crate) fn read<T: serde::de::DeserializeOwned>(
    doc: &Document<'_>,
    path: &str,
    node: &Spanned<DeValue<'_>>,
    report: &mut Report,
) -> Option<T> {
    let (value, problems) = deserialize_section(doc, path, node);
    for p in problems {
        report.push(p);
    }
    value
}

/// An array of tables (`[[locations]]`), each entry read on its own.
pub(crate) fn read_list<T: serde::de::DeserializeOwned>(
    doc: &Document<'_>,
    name: &str,
    node: &Spanned<DeValue<'_>>,
    report: &mut Report,
) -> Vec<T> {
    let DeValue::Array(items) = node.get_ref() else {
        report.push(
            Diagnostic::error(format!("`{name}` must be a list of tables"))
                .at(name, Some(node.span()))
                .help(format!("write each one as its own [[{name}]] table (double brackets)")),
        );
        return Vec::new();
    };
    items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| {
            read(doc, &format!("{name}{}", document::element_label(item, i)), item, report)
        })
        .collect()
}

/// Keys people put at the top level that belong inside a section.
const SECTION_KEYS: &[(&str, &[&str])] = &[
    ("[console]", &["operator", "state_dir", "theme", "read_only"]),
    ("[rpo]", &["at_risk"]),
    ("a [[systems]] table", &["name", "tier", "rto", "rpo", "depends_on", "owner", "description"]),
    (
        "[health] or [systems.health]",
        &["interval", "timeout", "window", "consecutive", "concurrency", "url", "kind"],
    ),
];

fn unknown_section(name: &str, span: std::ops::Range<usize>) -> Diagnostic {
    let d = Diagnostic::error(format!("unknown section `{name}`")).at(name, Some(span));
    if let Some((section, _)) = SECTION_KEYS.iter().find(|(_, keys)| keys.contains(&name)) {
        return d.help(format!("`{name}` belongs inside {section}: move it below that header"));
    }
    match did_you_mean(name, SECTIONS.iter().copied()) {
        Some(s) => d.help(format!("did you mean `{s}`?")),
        None => d.help(format!("the sections are: {}", SECTIONS.join(", "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use console::tests::FakeEnv;
    use std::collections::HashMap;

    fn check(text: &str) -> Result<Loaded, Report> {
        let env = FakeEnv(HashMap::from([("USER", "tester"), ("HOME", "/home/tester")]));
        load_str(Path::new("test.toml"), text, &env).map_err(|e| match e {
            LoadError::Invalid(r) => *r,
            other => panic!("{other}"),
        })
    }

    fn errors(text: &str) -> Vec<Diagnostic> {
        match check(text) {
            Ok(_) => panic!("expected errors"),
            Err(r) => r.errors().cloned().collect(),
        }
    }

    #[test]
    fn a_minimal_estate_loads() {
        let loaded = check(
            "[[systems]]\nname = \"database\"\ntier = 1\nrpo = \"5m\"\n\n[[systems]]\nname = \"api\"\ntier = 1\ndepends_on = [\"database\"]\n",
        )
        .unwrap();
        let estate = &loaded.config.estate;
        assert_eq!(estate.systems().len(), 2);
        assert_eq!(estate.system("database").map(|s| s.objective.rpo.as_secs()), Some(300));
        assert_eq!(estate.system("api").map(|s| s.objective.rto.as_secs()), Some(3600));
        assert_eq!(loaded.config.console.operator, "tester");
        assert!(loaded.report.diagnostics.is_empty());
    }

    #[test]
    fn errors_are_collected_not_only_the_first() {
        let errs = errors(
            "[[systems]]\nname = \"a\"\ntier = 9\n\n[[systems]]\nname = \"b\"\ntier = 1\ndepends_on = [\"zzz\"]\ncolour = 1\n\n[[systems]]\nname = \"c\"\ntier = 2\ndepends_on = [\"c\"]\n",
        );
        let keys: Vec<_> = errs.iter().filter_map(|d| d.key.clone()).collect();
        assert!(keys.contains(&"systems[a].tier".to_owned()), "{keys:?}");
        assert!(keys.contains(&"systems[b].colour".to_owned()), "{keys:?}");
        assert!(keys.contains(&"systems[c].depends_on[0]".to_owned()), "{keys:?}");
    }

    #[test]
    fn a_dependency_is_never_suggested_as_itself() {
        let errs = errors("[[systems]]\nname = \"api\"\ntier = 1\ndepends_on = [\"apj\"]\n");
        assert_eq!(errs[0].message, "unknown dependency \"apj\"");
        assert_eq!(
            errs[0].help.as_deref(),
            Some("every dependency must be the name of a [[systems]] entry in this file")
        );
    }

    #[test]
    fn a_postgres_state_needs_its_url_from_outside_the_file() {
        const SYS: &str = "[[systems]]\nname = \"a\"\ntier = 1\n";
        let loaded =
            check(&format!("[console]\nstate = \"postgres\"\nstate_url_env = \"WR_URL\"\n\n{SYS}")).unwrap();
        assert_eq!(
            loaded.config.console.state,
            console::StateStore::Postgres(secrets::SecretSource::Env("WR_URL".into()))
        );
        assert_eq!(loaded.config.console.heartbeat_timeout, console::DEFAULT_HEARTBEAT_TIMEOUT);
        let errs = errors(&format!("[console]\nstate = \"postgres\"\n\n{SYS}"));
        assert_eq!(errs[0].key.as_deref(), Some("console.state"));
        assert!(errs[0].help.as_deref().unwrap_or("").contains("state_url_env"), "{:?}", errs[0]);
        let errs = errors(&format!("[console]\nstate = \"postgress\"\n\n{SYS}"));
        assert!(errs[0].help.as_deref().unwrap_or("").contains("did you mean \"postgres\""), "{:?}", errs[0]);
        let errs = errors(&format!(
            "[console]\nstate = \"postgres\"\nstate_url_env = \"A\"\nstate_url_file = \"/b\"\n\n{SYS}"
        ));
        assert!(errs[0].message.contains("not both"), "{:?}", errs[0]);
        // Inline, the URL is refused: it carries the password.
        assert!(!errors(&format!("[console]\nstate_url = \"postgres://u:pw@h/db\"\n\n{SYS}")).is_empty());
        let errs = errors(&format!("[console]\nheartbeat_timeout = \"1s\"\n\n{SYS}"));
        assert_eq!(errs[0].key.as_deref(), Some("console.heartbeat_timeout"));
        let loaded = check(&format!("[console]\nstate_url_env = \"WR_URL\"\n\n{SYS}")).unwrap();
        assert_eq!(loaded.config.console.state, console::StateStore::Sqlite);
        assert!(loaded.report.warnings().any(|w| w.message.contains("the state is SQLite")));
    }

    #[test]
    fn a_postgres_url_this_process_cannot_read_is_a_warning() {
        const SYS: &str = "[[systems]]\nname = \"a\"\ntier = 1\n";
        let warned = |text: &str, what: &str| {
            let loaded = check(&format!("[console]\nstate = \"postgres\"\n{text}\n\n{SYS}")).unwrap();
            let found: Vec<String> = loaded.report.warnings().map(|w| w.message.clone()).collect();
            assert!(found.iter().any(|m| m.contains(what)), "{what} in {found:?}");
        };
        warned("state_url_env = \"WR_NOT_SET\"", "names $WR_NOT_SET, which is not set here");
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let url = dir.path().join("url");
        warned(&format!("state_url_file = \"{}\"", url.display()), "cannot be read");
        std::fs::write(&url, "postgres://u:pw@127.0.0.1/db\n").unwrap_or_else(|e| panic!("{e}"));
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&url, std::fs::Permissions::from_mode(0o644))
            .unwrap_or_else(|e| panic!("{e}"));
        warned(&format!("state_url_file = \"{}\"", url.display()), "can be read by others (mode 644)");
        std::fs::set_permissions(&url, std::fs::Permissions::from_mode(0o600))
            .unwrap_or_else(|e| panic!("{e}"));
        let loaded = check(&format!(
            "[console]\nstate = \"postgres\"\nstate_url_file = \"{}\"\n\n{SYS}",
            url.display()
        ))
        .unwrap();
        assert_eq!(loaded.report.warnings().count(), 0, "{:?}", loaded.report.render(false));
    }

    #[test]
    fn nobody_named_as_operator_is_a_warning() {
        let env = FakeEnv(HashMap::from([("HOME", "/home/x")]));
        let loaded = load_str(Path::new("t.toml"), "[[systems]]\nname = \"a\"\ntier = 1\n", &env).unwrap();
        assert_eq!(loaded.config.console.operator, "unknown");
        assert!(loaded.report.warnings().any(|w| w.message.contains("nobody is named as the operator")));
    }

    #[test]
    fn tier_overrides_change_the_defaults() {
        let loaded = check("[tiers.2]\nrto = \"2h\"\n\n[[systems]]\nname = \"a\"\ntier = 2\n").unwrap();
        let a = loaded.config.estate.system("a").map(|s| s.objective);
        assert_eq!(a.map(|o| (o.rto.as_secs(), o.rpo.as_secs())), Some((7200, 3600)));
    }
}
