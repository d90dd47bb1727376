//! `[console]`: who is acting, where state lives, how the console looks.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::diagnostic::{Diagnostic, Report, did_you_mean};
use super::document::Document;

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

/// The operator recorded when nobody is named.
pub const UNKNOWN_OPERATOR: &str = "unknown";

/// The section as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleSection {
    pub operator: Option<String>,
    pub state_dir: Option<PathBuf>,
    pub theme: Option<String>,
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
    pub state_dir: PathBuf,
    pub theme: String,
    /// Refuse every side effect.
    pub read_only: bool,
    /// The console also runs the backup schedule (else `warroom backup schedule` does).
    pub run_schedule: bool,
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
        let operator = self
            .operator
            .clone()
            .filter(|o| !o.trim().is_empty())
            .or_else(|| env.var("WARROOM_OPERATOR"))
            .or_else(|| env.var("USER"))
            .or_else(|| env.var("LOGNAME"))
            .unwrap_or_else(|| UNKNOWN_OPERATOR.to_owned());
        let state_dir = match &self.state_dir {
            Some(dir) => config_dir.join(expand_home(dir, env)),
            None => default_state_dir(env),
        };
        ConsoleConfig {
            operator,
            state_dir,
            theme: self.theme.clone().unwrap_or_else(|| "default".to_owned()),
            read_only: self.read_only,
            run_schedule: self.run_schedule,
        }
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
