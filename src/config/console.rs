//! `[console]`: who is acting, where state lives, how the console looks.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::diagnostic::{Diagnostic, Report, did_you_mean};
use super::document::Document;
use super::secrets::SecretSource;

/// The themes compiled into the binary (the console's `themes/*.toml`).
pub const BUILT_IN_THEMES: &[&str] = &["default", "light", "high-contrast", "colorblind"];

/// Where the console looks for theme files besides its built-ins: `themes/` beside the
/// configuration file, then `$XDG_CONFIG_HOME/warroom/themes` (`~/.config/...`).
pub fn theme_dirs(config_dir: &Path, env: &dyn Environment) -> Vec<PathBuf> {
    let mut dirs = vec![config_dir.join("themes")];
    let xdg = env
        .var("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| env.var("HOME").map(|h| PathBuf::from(h).join(".config")));
    if let Some(x) = xdg {
        dirs.push(x.join("warroom/themes"));
    }
    dirs
}

/// Warnings about the console settings: an operator nobody can be held to, a theme that
/// does not exist.
pub fn check(
    section: &ConsoleSection,
    resolved: &ConsoleConfig,
    config_dir: &Path,
    env: &dyn Environment,
    doc: &Document<'_>,
    report: &mut Report,
) {
    if resolved.operator == UNKNOWN_OPERATOR {
        report.push(
            Diagnostic::warning("nobody is named as the operator: actions will be audited as \"unknown\"")
                .at("console.operator", doc.value_span(&["console", "operator"]))
                .help("set console.operator, or WARROOM_OPERATOR in the environment"),
        );
    }
    check_state(section, config_dir, doc, report);
    check_state_url(&resolved.state, env, doc, report);
    if let Some(key) = &resolved.operator_key_file
        && !key.is_file()
    {
        report.push(
            Diagnostic::warning(format!(
                "the operator key {} does not exist: this console cannot show whom it acts for",
                key.display()
            ))
            .at("console.operator_key_file", doc.value_span(&["console", "operator_key_file"]))
            .help("make one with `warroom keygen --for NAME -o FILE` (or fix WARROOM_OPERATOR_KEY_FILE)"),
        );
    }
    if let Some(t) = &section.heartbeat_timeout
        && t.0 < std::time::Duration::from_secs(3)
    {
        report.push(
            Diagnostic::error(format!(
                "console.heartbeat_timeout is {}: a process heartbeats every second, so a shorter timeout takes live hosts for dead",
                crate::model::duration::human(t.0)
            ))
            .at("console.heartbeat_timeout", doc.value_span(&["console", "heartbeat_timeout"]))
            .help("use 3s or more (the default is 30s)"),
        );
    }
    if let Some(theme) = &section.theme {
        let on_disk = theme_dirs(config_dir, env).iter().any(|d| d.join(format!("{theme}.toml")).is_file());
        if !BUILT_IN_THEMES.contains(&theme.as_str()) && !on_disk {
            let mut d = Diagnostic::warning(format!(
                "there is no theme \"{theme}\"; the console will use \"default\""
            ))
            .at("console.theme", doc.value_span(&["console", "theme"]));
            d = match did_you_mean(theme, BUILT_IN_THEMES.iter().copied()) {
                Some(s) => d.help(format!("did you mean \"{s}\"?")),
                None => d.help(format!(
                    "the built-in themes are {}; or put {theme}.toml in a themes/ folder beside this file",
                    BUILT_IN_THEMES.join(", ")
                )),
            };
            report.push(d);
        }
    }
}

/// Where a PostgreSQL state's URL comes from, as this process would find it: a variable not
/// set here, a file that is missing or that others may read (it holds the password).
fn check_state_url(state: &StateStore, env: &dyn Environment, doc: &Document<'_>, report: &mut Report) {
    let StateStore::Postgres(source) = state else { return };
    match source {
        SecretSource::Env(var) if env.var(var).is_none_or(|v| v.trim().is_empty()) => report.push(
            Diagnostic::warning(format!(
                "console.state_url_env names ${var}, which is not set here: warroom cannot reach the state"
            ))
            .at("console.state_url_env", doc.value_span(&["console", "state_url_env"]))
            .help(format!("export {var}=postgres://user:password@host:5432/warroom before starting warroom")),
        ),
        SecretSource::File(path) => {
            use std::os::unix::fs::PermissionsExt;
            let at = || doc.value_span(&["console", "state_url_file"]);
            match std::fs::metadata(path) {
                Err(e) => report.push(
                    Diagnostic::warning(format!(
                        "console.state_url_file {} cannot be read ({e}): warroom cannot reach the state",
                        path.display()
                    ))
                    .at("console.state_url_file", at())
                    .help("write the URL (postgres://user:password@host:5432/warroom) there, mode 600"),
                ),
                Ok(m) if m.permissions().mode() & 0o077 != 0 => report.push(
                    Diagnostic::warning(format!(
                        "console.state_url_file {} can be read by others (mode {:o}): it holds the database's password",
                        path.display(),
                        m.permissions().mode() & 0o777
                    ))
                    .at("console.state_url_file", at())
                    .help(format!("chmod 600 {}", path.display())),
                ),
                Ok(_) => {}
            }
        }
        SecretSource::Env(_) => {}
    }
}

/// `state`, and the URL a PostgreSQL state needs.
fn check_state(section: &ConsoleSection, config_dir: &Path, doc: &Document<'_>, report: &mut Report) {
    let url = section.url_source(config_dir);
    if let Err(e) = &url {
        report.push(
            Diagnostic::error(e.clone())
                .at("console.state_url_env", doc.value_span(&["console", "state_url_env"]))
                .help("keep the one that holds the URL"),
        );
    }
    match section.state.as_deref() {
        None | Some("sqlite") => {
            if matches!(url, Ok(Some(_))) {
                let key = if section.state_url_env.is_some() { "state_url_env" } else { "state_url_file" };
                report.push(
                    Diagnostic::warning(format!(
                        "console.{key} is set but the state is SQLite: the URL is not used"
                    ))
                    .at(format!("console.{key}"), doc.value_span(&["console", key]))
                    .help("write state = \"postgres\" to share the state through that database, or remove the key"),
                );
            }
        }
        Some("postgres") => {
            if matches!(url, Ok(None)) {
                report.push(
                    Diagnostic::error("console.state is \"postgres\" but no connection URL is given")
                        .at("console.state", doc.value_span(&["console", "state"]))
                        .help(
                            "add state_url_env = \"VARIABLE\" (an environment variable holding \
                             postgres://user:password@host:5432/warroom) or state_url_file = \"/path\"",
                        ),
                );
            }
        }
        Some(other) => {
            let mut d = Diagnostic::error(format!("there is no state store \"{other}\""))
                .at("console.state", doc.value_span(&["console", "state"]));
            d = match did_you_mean(other, ["sqlite", "postgres"]) {
                Some(s) => d.help(format!("did you mean \"{s}\"? (sqlite or postgres)")),
                None => {
                    d.help("write \"sqlite\" (one host, the default) or \"postgres\" (a team's shared state)")
                }
            };
            report.push(d);
        }
    }
}

/// How old another host's heartbeat may be before its owner is taken for dead (30 heartbeats).
pub const DEFAULT_HEARTBEAT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The operator recorded when nobody is named.
pub const UNKNOWN_OPERATOR: &str = "unknown";

/// The section as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleSection {
    pub operator: Option<String>,
    pub state_dir: Option<PathBuf>,
    /// Where the shared state lives: "sqlite" (the default, in `state_dir`) or "postgres".
    pub state: Option<String>,
    /// The PostgreSQL connection URL (it carries the password): from the environment or a file.
    pub state_url_env: Option<String>,
    pub state_url_file: Option<PathBuf>,
    pub theme: Option<String>,
    /// How old another host's heartbeat may be before its jobs are taken for dead.
    pub heartbeat_timeout: Option<super::values::HumanDuration>,
    /// The operator's own private key (a remote console): it shows which `[[operators]]`
    /// entry this console acts for. `WARROOM_OPERATOR_KEY_FILE` overrides it.
    pub operator_key_file: Option<PathBuf>,
    #[serde(default)]
    pub read_only: bool,
    #[serde(default)]
    pub run_schedule: bool,
}

/// The section resolved against the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleConfig {
    /// Who acts: recorded in the audit log against every action.
    pub operator: String,
    /// Whether someone named the operator (the file, `WARROOM_OPERATOR`, `--operator`), or it
    /// is only the login name. With `[[operators]]`, an unnamed operator is whoever this
    /// process shows it is (its OS user, its key).
    pub operator_named: bool,
    /// The operator's private key (`console.operator_key_file`, `WARROOM_OPERATOR_KEY_FILE`).
    pub operator_key_file: Option<PathBuf>,
    /// Local files: logs, restores, the catalog's anchor; and the SQLite database.
    pub state_dir: PathBuf,
    /// The database that holds the state.
    pub state: StateStore,
    /// A job whose owner (on another host) has not said it is alive for this long is settled
    /// as Interrupted by whichever process notices first.
    pub heartbeat_timeout: std::time::Duration,
    pub theme: String,
    /// Refuse every side effect.
    pub read_only: bool,
    /// The console also runs the backup schedule (else `warroom backup schedule` does).
    pub run_schedule: bool,
}

/// The database that holds the state: one file on this host, or one PostgreSQL that every
/// host of a team shares.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum StateStore {
    /// `state_dir/warroom.db`.
    #[default]
    Sqlite,
    /// The connection URL, read when the store is opened (never at config load).
    Postgres(SecretSource),
}

impl StateStore {
    /// The key that says where a PostgreSQL state's URL is read from.
    pub fn url_key(source: &SecretSource) -> &'static str {
        match source {
            SecretSource::Env(_) => "console.state_url_env",
            SecretSource::File(_) => "console.state_url_file",
        }
    }
}

impl ConsoleConfig {
    /// Where the state is, in words for a message: never the URL itself (it may hold a password).
    pub fn state_place(&self) -> String {
        match &self.state {
            StateStore::Sqlite => self.state_dir.join("warroom.db").display().to_string(),
            StateStore::Postgres(source) => {
                let from = match source {
                    SecretSource::Env(var) => var.clone(),
                    SecretSource::File(path) => path.display().to_string(),
                };
                format!("the shared state on PostgreSQL ({} = {from})", StateStore::url_key(source))
            }
        }
    }
}

/// Read access to the process environment, so resolution can be tested without touching it.
pub trait Environment: Send + Sync {
    fn var(&self, name: &str) -> Option<String>;
}

/// An environment given as a map: for tests, demos and exercises that must not depend on the
/// machine they run on.
#[derive(Debug, Clone, Default)]
pub struct MapEnv(pub std::collections::HashMap<String, String>);

impl MapEnv {
    pub fn new<const N: usize>(vars: [(&str, &str); N]) -> MapEnv {
        MapEnv(vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect())
    }
}

impl Environment for MapEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}

/// The real process environment.
pub struct ProcessEnv;

impl Environment for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

impl ConsoleSection {
    /// Fill in the defaults: operator from `WARROOM_OPERATOR`, then `$USER`, then `$LOGNAME`;
    /// state in `$XDG_STATE_HOME/warroom` (or `~/.local/state/warroom`). A relative `state_dir`
    /// is relative to the configuration file's folder.
    pub fn resolve(&self, config_dir: &Path, env: &dyn Environment) -> ConsoleConfig {
        let named =
            self.operator.clone().filter(|o| !o.trim().is_empty()).or_else(|| env.var("WARROOM_OPERATOR"));
        let operator_named = named.is_some();
        let operator = named
            .or_else(|| env.var("USER"))
            .or_else(|| env.var("LOGNAME"))
            .unwrap_or_else(|| UNKNOWN_OPERATOR.to_owned());
        let state_dir = match &self.state_dir {
            Some(dir) => config_dir.join(expand_home(dir, env)),
            None => default_state_dir(env),
        };
        // A bad combination is reported by `check` (an error, so nothing runs on it).
        let state = match (self.state.as_deref(), self.url_source(config_dir)) {
            (Some("postgres"), Ok(Some(url))) => StateStore::Postgres(url),
            _ => StateStore::Sqlite,
        };
        let operator_key_file = env
            .var("WARROOM_OPERATOR_KEY_FILE")
            .map(PathBuf::from)
            .or_else(|| self.operator_key_file.as_ref().map(|f| config_dir.join(expand_home(f, env))));
        ConsoleConfig {
            operator,
            operator_named,
            operator_key_file,
            state_dir,
            state,
            heartbeat_timeout: self
                .heartbeat_timeout
                .as_ref()
                .map(|d| d.0)
                .unwrap_or(DEFAULT_HEARTBEAT_TIMEOUT),
            theme: self.theme.clone().unwrap_or_else(|| "default".to_owned()),
            read_only: self.read_only,
            run_schedule: self.run_schedule,
        }
    }
}

impl ConsoleSection {
    fn url_source(&self, config_dir: &Path) -> Result<Option<SecretSource>, String> {
        SecretSource::from_pair(
            "console.state_url",
            self.state_url_env.clone(),
            self.state_url_file.clone(),
            config_dir,
        )
    }
}

fn default_state_dir(env: &dyn Environment) -> PathBuf {
    if let Some(dir) = env.var("XDG_STATE_HOME") {
        return PathBuf::from(dir).join("warroom");
    }
    match env.var("HOME") {
        Some(home) => PathBuf::from(home).join(".local/state/warroom"),
        None => PathBuf::from(".warroom-state"),
    }
}

/// `~/x` -> `$HOME/x`.
pub fn expand_home(path: &Path, env: &dyn Environment) -> PathBuf {
    match (path.strip_prefix("~"), env.var("HOME")) {
        (Ok(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => path.to_owned(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::HashMap;

    pub struct FakeEnv(pub HashMap<&'static str, &'static str>);

    impl Environment for FakeEnv {
        fn var(&self, name: &str) -> Option<String> {
            self.0.get(name).map(|v| (*v).to_owned())
        }
    }

    #[test]
    fn operator_comes_from_config_then_env_then_user() {
        let env = FakeEnv(HashMap::from([("WARROOM_OPERATOR", "bob"), ("USER", "carol")]));
        let dir = Path::new("/etc/warroom");
        let set = ConsoleSection { operator: Some("alice".into()), ..Default::default() };
        assert_eq!(set.resolve(dir, &env).operator, "alice");
        assert_eq!(ConsoleSection::default().resolve(dir, &env).operator, "bob");
        let env = FakeEnv(HashMap::from([("USER", "carol")]));
        assert_eq!(ConsoleSection::default().resolve(dir, &env).operator, "carol");
    }

    #[test]
    fn state_dir_defaults_to_xdg_and_relative_paths_follow_the_config() {
        let env = FakeEnv(HashMap::from([("XDG_STATE_HOME", "/var/state"), ("HOME", "/home/a")]));
        let dir = Path::new("/etc/warroom");
        assert_eq!(
            ConsoleSection::default().resolve(dir, &env).state_dir,
            PathBuf::from("/var/state/warroom")
        );
        let rel = ConsoleSection { state_dir: Some("state".into()), ..Default::default() };
        assert_eq!(rel.resolve(dir, &env).state_dir, PathBuf::from("/etc/warroom/state"));
        let home = ConsoleSection { state_dir: Some("~/wr".into()), ..Default::default() };
        assert_eq!(home.resolve(dir, &env).state_dir, PathBuf::from("/home/a/wr"));
        let env = FakeEnv(HashMap::from([("HOME", "/home/a")]));
        assert_eq!(
            ConsoleSection::default().resolve(dir, &env).state_dir,
            PathBuf::from("/home/a/.local/state/warroom")
        );
    }
}
