//! `[systems.replication]`: where a standby's lag comes from (docs/replication.md).
//!
//! ```toml
//! [systems.replication]
//! kind = "command"             # or "http"
//! command = ["psql", "-Atc", "select pg_last_xact_replay_timestamp()"]
//! # url = "http://standby:9187/replication"   # kind = "http"
//! # pointer = "/lag_seconds"                  # a JSON pointer to the value (else the whole body)
//! interval = "15s"             # between readings (default: [health] interval)
//! timeout = "5s"               # a reading that takes longer failed (default: [health] timeout)
//! stale_after = "45s"          # no good reading for this long: the lag is unknown (3 intervals)
//! ```
//! What is read may be seconds (`42`, `0.3`), a duration (`1m5s`, `00:00:42.1`) or the time of
//! the last replayed change (`2026-12-03 17:31:02.123+00`), measured against this host's clock.

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::diagnostic::{Diagnostic, Report};
use super::health::{HealthEntry, HealthSettings, HttpProbe, Probe};
use super::values::HumanDuration;
use crate::model::duration::human;
use crate::model::replication::STALE_AFTER_INTERVALS;

/// `[systems.replication]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplicationEntry {
    pub kind: Spanned<String>,
    pub url: Option<Spanned<String>>,
    pub headers: Option<Spanned<std::collections::BTreeMap<String, String>>>,
    pub headers_env: Option<Spanned<std::collections::BTreeMap<String, String>>>,
    pub pointer: Option<Spanned<String>>,
    pub command: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    pub shell: bool,
    pub interval: Option<Spanned<HumanDuration>>,
    pub timeout: Option<Spanned<HumanDuration>>,
    pub stale_after: Option<Spanned<HumanDuration>>,
}

/// Where the lag is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LagSource {
    /// A program that prints the lag (its last line of output).
    Command { program: String, args: Vec<String> },
    /// A GET whose body (or the value at `pointer` in its JSON) is the lag.
    Http { probe: HttpProbe, pointer: Option<String> },
}

/// One system's replication source, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicationCheck {
    pub source: LagSource,
    pub interval: Duration,
    pub timeout: Duration,
    pub stale_after: Duration,
}

impl ReplicationCheck {
    /// `GET http://…/replication at /lag_seconds`, `psql -Atc select …`.
    pub fn describe(&self) -> String {
        match &self.source {
            LagSource::Command { program, args } => std::iter::once(program.as_str())
                .chain(args.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(" "),
            LagSource::Http { probe, pointer } => match pointer {
                Some(p) => format!("GET {} at {p}", probe.url),
                None => format!("GET {}", probe.url),
            },
        }
    }
}

/// Check `[systems.replication]` of system `name`.
pub fn resolve(
    name: &str,
    entry: &ReplicationEntry,
    defaults: &HealthSettings,
    report: &mut Report,
) -> Option<ReplicationCheck> {
    let section = format!("systems[{name}].replication");
    let key = |k: &str| format!("{section}.{k}");
    let kind = entry.kind.get_ref().as_str();
    if !matches!(kind, "command" | "http") {
        report.push(
            Diagnostic::error(format!("there is no replication source kind \"{kind}\""))
                .at(key("kind"), Some(entry.kind.span()))
                .help("use \"command\" (a program that prints the lag) or \"http\" (a URL, with a JSON pointer)"),
        );
        return None;
    }
    let mut ok = true;
    if let (Some(p), "command") = (&entry.pointer, kind) {
        report.push(
            Diagnostic::error("`pointer` is for http sources, and this one is kind = \"command\"")
                .at(key("pointer"), Some(p.span()))
                .help("remove `pointer`: a command prints the lag itself"),
        );
        ok = false;
    }
    let pointer = entry.pointer.as_ref().map(|p| p.get_ref().clone());
    if let Some(p) = &entry.pointer
        && !(p.get_ref().is_empty() || p.get_ref().starts_with('/'))
    {
        report.push(
            Diagnostic::error(format!("\"{}\" is not a JSON pointer", p.get_ref()))
                .at(key("pointer"), Some(p.span()))
                .help("a JSON pointer starts with /: \"/lag_seconds\", \"/replication/0/lag\""),
        );
        ok = false;
    }
    // The source itself is checked as a probe of that kind is.
    let as_probe = HealthEntry {
        kind: entry.kind.clone(),
        url: entry.url.clone(),
        method: None,
        headers: entry.headers.clone(),
        headers_env: entry.headers_env.clone(),
        expect_status: None,
        body_contains: None,
        address: None,
        command: entry.command.clone(),
        shell: entry.shell,
        interval: None,
        timeout: None,
    };
    let probe = super::health::probe(&section, &as_probe, report);
    let interval = entry.interval.as_ref().map(|d| d.get_ref().0).unwrap_or(defaults.interval);
    let timeout = entry.timeout.as_ref().map(|d| d.get_ref().0).unwrap_or(defaults.timeout);
    let stale_after =
        entry.stale_after.as_ref().map(|d| d.get_ref().0).unwrap_or(interval * STALE_AFTER_INTERVALS);
    if let Some(s) = &entry.stale_after
        && stale_after < interval
    {
        report.push(
            Diagnostic::error(format!(
                "stale_after ({}) is shorter than the interval ({}): every lag would be unknown between readings",
                human(stale_after),
                human(interval)
            ))
            .at(key("stale_after"), Some(s.span()))
            .help(format!("set stale_after to a few intervals, such as \"{}\"", human(interval * 3))),
        );
        ok = false;
    }
    if timeout > interval
        && let Some(t) = &entry.timeout
    {
        report.push(
            Diagnostic::warning(format!(
                "a reading may take {} but one starts every {}",
                human(timeout),
                human(interval)
            ))
            .at(key("timeout"), Some(t.span()))
            .help("readings would overlap: shorten the timeout or read less often"),
        );
    }
    let source = match probe? {
        Probe::Command { program, args } => LagSource::Command { program, args },
        Probe::Http(probe) => LagSource::Http { probe, pointer },
        Probe::Tcp { .. } => return None,
    };
    ok.then_some(ReplicationCheck { source, interval, timeout, stale_after })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::Path;

    use crate::config::console::tests::FakeEnv;
    use crate::config::{LoadError, Loaded, load_str};

    fn load(replication: &str) -> Result<Loaded, String> {
        let env = FakeEnv(HashMap::from([("USER", "tester"), ("HOME", "/home/tester")]));
        let text =
            format!("[[systems]]\nname = \"database\"\ntier = 1\n\n[systems.replication]\n{replication}");
        match load_str(Path::new("r.toml"), &text, &env) {
            Ok(l) => Ok(l),
            Err(LoadError::Invalid(r)) => Err(r.render(false)),
            Err(e) => Err(e.to_string()),
        }
    }

    #[test]
    fn a_command_and_an_http_source_resolve_with_their_defaults() {
        let l = load("kind = \"command\"\ncommand = [\"sh\", \"-c\", \"echo 3\"]\n").unwrap();
        let r = l.config.systems[0].replication.as_ref().unwrap();
        assert_eq!(r.describe(), "sh -c echo 3");
        assert_eq!(r.interval.as_secs(), 10);
        assert_eq!(r.stale_after.as_secs(), 30, "three intervals");
        let l =
            load("kind = \"http\"\nurl = \"http://127.0.0.1:9/r\"\npointer = \"/lag\"\ninterval = \"5s\"\n")
                .unwrap();
        let r = l.config.systems[0].replication.as_ref().unwrap();
        assert_eq!(r.describe(), "GET http://127.0.0.1:9/r at /lag");
        assert_eq!(r.stale_after.as_secs(), 15);
    }

    #[test]
    fn bad_sources_say_what_and_where() {
        let e = load("kind = \"tcp\"\n").unwrap_err();
        assert!(e.contains("there is no replication source kind \"tcp\"") && e.contains("r.toml:6:8"), "{e}");
        let e = load("kind = \"http\"\nurl = \"http://127.0.0.1:9/r\"\npointer = \"lag\"\n").unwrap_err();
        assert!(
            e.contains("\"lag\" is not a JSON pointer")
                && e.contains("systems[database].replication.pointer"),
            "{e}"
        );
        let e = load("kind = \"http\"\nurl = \"ftp://x/\"\n").unwrap_err();
        assert!(
            e.contains("is not an http(s) URL") && e.contains("systems[database].replication.url"),
            "{e}"
        );
        let e = load("kind = \"command\"\ncommand = [\"true\"]\npointer = \"/x\"\n").unwrap_err();
        assert!(e.contains("`pointer` is for http sources"), "{e}");
        let e = load("kind = \"command\"\ncommand = [\"true\"]\ninterval = \"30s\"\nstale_after = \"10s\"\n")
            .unwrap_err();
        assert!(e.contains("stale_after (10s) is shorter than the interval (30s)"), "{e}");
        let e = load("kind = \"command\"\n").unwrap_err();
        assert!(e.contains("a command check needs a `command`"), "{e}");
        let e = load("kind = \"command\"\ncommand = [\"true\"]\nlag = 3\n").unwrap_err();
        assert!(e.contains("lag"), "an unknown key is named: {e}");
    }
}
