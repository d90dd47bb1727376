//! `[health]` (defaults for every check) and `[systems.health]` (one system's probe).
//!
//! ```toml
//! [health]
//! interval = "10s"      # between probes of one system
//! timeout = "5s"        # a probe that takes longer is unanswered
//! window = "5m"         # availability, error rate and latency are measured over this
//! consecutive = 3       # results in a row before the health state changes
//! concurrency = 256     # probes in flight at once, all systems together
//!
//! [systems.health]
//! kind = "http"                       # or "tcp" (address) or "command" (command)
//! url = "https://api.internal/health"
//! method = "GET"
//! headers = { "Accept" = "application/json" }
//! headers_env = { "Authorization" = "API_HEALTH_TOKEN" }   # values from the environment
//! expect_status = "2xx"               # 200, "200-299", "2xx" or [200, 204]
//! body_contains = "ok"
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::diagnostic::{Diagnostic, Report};
use super::secrets::SecretSource;
use super::values::HumanDuration;

/// `[health]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthSection {
    pub interval: Option<HumanDuration>,
    pub timeout: Option<HumanDuration>,
    pub window: Option<HumanDuration>,
    pub consecutive: Option<Spanned<u32>>,
    pub concurrency: Option<Spanned<u32>>,
}

/// The health settings every check shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthSettings {
    pub interval: Duration,
    pub timeout: Duration,
    pub window: Duration,
    pub consecutive: u32,
    pub concurrency: usize,
}

impl Default for HealthSettings {
    fn default() -> Self {
        HealthSettings {
            interval: Duration::from_secs(10),
            timeout: Duration::from_secs(5),
            window: Duration::from_secs(300),
            consecutive: 3,
            concurrency: 256,
        }
    }
}

/// Samples kept per system: enough for the window at one probe a second, and never more.
pub const WINDOW_CAPACITY: usize = 1024;

impl HealthSection {
    pub fn resolve(&self, report: &mut Report) -> HealthSettings {
        let d = HealthSettings::default();
        let positive = |v: &Option<Spanned<u32>>, key: &str, report: &mut Report| match v {
            Some(n) if *n.get_ref() == 0 => {
                report.push(
                    Diagnostic::error(format!("health.{key} must be at least 1"))
                        .at(format!("health.{key}"), Some(n.span())),
                );
                None
            }
            Some(n) => Some(*n.get_ref()),
            None => None,
        };
        HealthSettings {
            interval: self.interval.map(|d| d.0).unwrap_or(d.interval),
            timeout: self.timeout.map(|d| d.0).unwrap_or(d.timeout),
            window: self.window.map(|d| d.0).unwrap_or(d.window),
            consecutive: positive(&self.consecutive, "consecutive", report).unwrap_or(d.consecutive),
            concurrency: positive(&self.concurrency, "concurrency", report)
                .map(|n| n as usize)
                .unwrap_or(d.concurrency),
        }
    }
}

/// Which status codes count as healthy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusSpec(pub Vec<(u16, u16)>);

impl StatusSpec {
    pub fn success() -> Self {
        StatusSpec(vec![(200, 299)])
    }

    pub fn accepts(&self, status: u16) -> bool {
        self.0.iter().any(|(lo, hi)| (*lo..=*hi).contains(&status))
    }
}

impl fmt::Display for StatusSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(lo, hi)| match (lo, hi) {
                (l, h) if l == h => l.to_string(),
                (l, h) if l % 100 == 0 && *h == l + 99 => format!("{}xx", l / 100),
                (l, h) => format!("{l}-{h}"),
            })
            .collect();
        f.write_str(&parts.join(", "))
    }
}

/// `expect_status` as written: a number, a range or class in a string, or a list of numbers.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum StatusWritten {
    One(i64),
    Text(String),
    List(Vec<i64>),
}

impl StatusWritten {
    pub fn parse(&self) -> Result<StatusSpec, String> {
        let code = |n: i64| u16::try_from(n).ok().filter(|c| (100..=599).contains(c));
        let bad = || {
            "expect_status takes a status (200), a range (\"200-299\"), a class (\"2xx\") or a list ([200, 204])".to_owned()
        };
        match self {
            StatusWritten::One(n) => code(*n).map(|c| StatusSpec(vec![(c, c)])).ok_or_else(bad),
            StatusWritten::List(ns) if !ns.is_empty() => ns
                .iter()
                .map(|n| code(*n).map(|c| (c, c)))
                .collect::<Option<Vec<_>>>()
                .map(StatusSpec)
                .ok_or_else(bad),
            StatusWritten::List(_) => Err(bad()),
            StatusWritten::Text(t) => {
                let t = t.trim().to_ascii_lowercase();
                if let Some(class) = t.strip_suffix("xx") {
                    let c: u16 = class.parse().map_err(|_| bad())?;
                    return if (1..=5).contains(&c) {
                        Ok(StatusSpec(vec![(c * 100, c * 100 + 99)]))
                    } else {
                        Err(bad())
                    };
                }
                if let Some((lo, hi)) = t.split_once('-') {
                    let lo = lo.trim().parse::<i64>().ok().and_then(code).ok_or_else(bad)?;
                    let hi = hi.trim().parse::<i64>().ok().and_then(code).ok_or_else(bad)?;
                    return if lo <= hi { Ok(StatusSpec(vec![(lo, hi)])) } else { Err(bad()) };
                }
                t.parse::<i64>().ok().and_then(code).map(|c| StatusSpec(vec![(c, c)])).ok_or_else(bad)
            }
        }
    }
}

/// `[systems.health]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthEntry {
    pub kind: Spanned<String>,
    pub url: Option<Spanned<String>>,
    pub method: Option<Spanned<String>>,
    pub headers: Option<Spanned<BTreeMap<String, String>>>,
    pub headers_env: Option<Spanned<BTreeMap<String, String>>>,
    pub expect_status: Option<Spanned<StatusWritten>>,
    pub body_contains: Option<String>,
    pub address: Option<Spanned<String>>,
    pub command: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    pub shell: bool,
    pub interval: Option<Spanned<HumanDuration>>,
    pub timeout: Option<Spanned<HumanDuration>>,
}

/// A header's value: written out, or read from the environment when the probe runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderValue {
    Plain(String),
    Secret(SecretSource),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpProbe {
    pub url: String,
    pub method: String,
    pub headers: Vec<(String, HeaderValue)>,
    pub expect_status: StatusSpec,
    pub body_contains: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    Http(HttpProbe),
    Tcp {
        address: String,
    },
    /// A program and its arguments; run without a shell unless `shell = true` was written
    /// (then the program is `sh` and the command line its `-c` argument).
    Command {
        program: String,
        args: Vec<String>,
    },
}

impl Probe {
    pub fn kind(&self) -> &'static str {
        match self {
            Probe::Http(_) => "http",
            Probe::Tcp { .. } => "tcp",
            Probe::Command { .. } => "command",
        }
    }

    /// One line saying what is probed: `GET https://api/health`, `tcp 10.0.0.5:5432`.
    pub fn describe(&self) -> String {
        match self {
            Probe::Http(h) => format!("{} {}", h.method, h.url),
            Probe::Tcp { address } => format!("tcp {address}"),
            Probe::Command { program, args } => std::iter::once(program.as_str())
                .chain(args.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

/// One system's health check, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheck {
    pub probe: Probe,
    pub interval: Duration,
    pub timeout: Duration,
}

const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// Check `[systems.health]` of system `name` and resolve it against the defaults.
pub fn resolve(
    name: &str,
    entry: &HealthEntry,
    defaults: &HealthSettings,
    report: &mut Report,
) -> Option<HealthCheck> {
    let key = |k: &str| format!("systems[{name}].health.{k}");
    let probe = probe(&format!("systems[{name}].health"), entry, report);
    let mut ok = probe.is_some();
    let interval = entry.interval.as_ref().map(|d| d.get_ref().0).unwrap_or(defaults.interval);
    let timeout = entry.timeout.as_ref().map(|d| d.get_ref().0).unwrap_or(defaults.timeout);
    if interval > defaults.window {
        report.push(
            Diagnostic::error(format!(
                "the probe interval ({}) is longer than the health window ({})",
                crate::model::duration::human(interval),
                crate::model::duration::human(defaults.window)
            ))
            .at(key("interval"), entry.interval.as_ref().map(|d| d.span()).or(Some(entry.kind.span())))
            .help("the window would hold at most one probe and never reach a verdict: probe more often, or lengthen [health] window"),
        );
        ok = false;
    } else if interval.as_secs_f64() * (WINDOW_CAPACITY as f64) < defaults.window.as_secs_f64() {
        report.push(
            Diagnostic::warning(format!(
                "at one probe every {} the window keeps only its newest {WINDOW_CAPACITY} probes",
                crate::model::duration::human(interval)
            ))
            .at(key("interval"), entry.interval.as_ref().map(|d| d.span()))
            .help("the stats then cover less time than [health] window says"),
        );
    }
    let probe = probe?;
    ok.then_some(HealthCheck { probe, interval, timeout })
}

/// The probe `entry` describes, checked; `section` is its key path (`systems[api].health`).
/// `None` when it has a problem (each one reported).
pub(super) fn probe(section: &str, entry: &HealthEntry, report: &mut Report) -> Option<Probe> {
    let key = |k: &str| format!("{section}.{k}");
    let kind = entry.kind.get_ref().as_str();
    let mut ok = true;
    let mut misplaced = |present: bool,
                         field: &str,
                         for_kind: &str,
                         span: Option<std::ops::Range<usize>>,
                         report: &mut Report| {
        if present {
            ok = false;
            report.push(
                Diagnostic::error(format!(
                    "`{field}` is for {for_kind} checks, and this one is kind = \"{kind}\""
                ))
                .at(key(field), span)
                .help(format!("remove `{field}`, or set kind = \"{for_kind}\"")),
            );
        }
    };
    let probe = match kind {
        "http" => {
            misplaced(
                entry.address.is_some(),
                "address",
                "tcp",
                entry.address.as_ref().map(|a| a.span()),
                report,
            );
            misplaced(
                entry.command.is_some(),
                "command",
                "command",
                entry.command.as_ref().map(|a| a.span()),
                report,
            );
            let Some(url) = &entry.url else {
                report.push(
                    Diagnostic::error("an http check needs a `url`")
                        .at(key("kind"), Some(entry.kind.span()))
                        .help("add url = \"https://host/health\""),
                );
                return None;
            };
            let u = url.get_ref();
            let parsed = reqwest::Url::parse(u);
            let usable = parsed.as_ref().is_ok_and(|p| {
                matches!(p.scheme(), "http" | "https") && p.host_str().is_some_and(|h| !h.is_empty())
            });
            if !usable {
                let why = match &parsed {
                    Err(e) => format!(" ({e})"),
                    Ok(_) => String::new(),
                };
                report.push(
                    Diagnostic::error(format!("\"{u}\" is not an http(s) URL{why}"))
                        .at(key("url"), Some(url.span()))
                        .help("write the full URL, such as \"https://api.internal/health\""),
                );
                ok = false;
            }
            let method = entry
                .method
                .as_ref()
                .map(|m| m.get_ref().to_ascii_uppercase())
                .unwrap_or_else(|| "GET".into());
            if !METHODS.contains(&method.as_str()) {
                report.push(
                    Diagnostic::error(format!("\"{method}\" is not an HTTP method"))
                        .at(key("method"), entry.method.as_ref().map(|m| m.span()))
                        .help(format!("use one of {}", METHODS.join(", "))),
                );
                ok = false;
            }
            let expect_status = match &entry.expect_status {
                Some(s) => match s.get_ref().parse() {
                    Ok(spec) => spec,
                    Err(e) => {
                        report.push(Diagnostic::error(e).at(key("expect_status"), Some(s.span())));
                        ok = false;
                        StatusSpec::success()
                    }
                },
                None => StatusSpec::success(),
            };
            let no_headers = BTreeMap::new();
            let (plain, plain_span) = match &entry.headers {
                Some(h) => (h.get_ref(), Some(h.span())),
                None => (&no_headers, None),
            };
            let (secret, secret_span) = match &entry.headers_env {
                Some(h) => (h.get_ref(), Some(h.span())),
                None => (&no_headers, None),
            };
            for (header, value) in plain {
                if reqwest::header::HeaderName::from_bytes(header.as_bytes()).is_err() {
                    report.push(
                        Diagnostic::error(format!("\"{header}\" is not an HTTP header name"))
                            .at(key(&format!("headers.{header}")), plain_span.clone())
                            .help("header names are letters, digits and - (like X-Api-Key)"),
                    );
                    ok = false;
                } else if reqwest::header::HeaderValue::from_str(value).is_err() {
                    report.push(
                        Diagnostic::error(format!("the value of header \"{header}\" cannot be sent"))
                            .at(key(&format!("headers.{header}")), plain_span.clone())
                            .help("header values are visible ASCII text, without line breaks"),
                    );
                    ok = false;
                }
            }
            for header in secret.keys() {
                if reqwest::header::HeaderName::from_bytes(header.as_bytes()).is_err() {
                    report.push(
                        Diagnostic::error(format!("\"{header}\" is not an HTTP header name"))
                            .at(key(&format!("headers_env.{header}")), secret_span.clone())
                            .help("header names are letters, digits and - (like Authorization)"),
                    );
                    ok = false;
                }
            }
            let mut headers: Vec<(String, HeaderValue)> =
                plain.iter().map(|(k, v)| (k.clone(), HeaderValue::Plain(v.clone()))).collect();
            for (header, var) in secret {
                if !valid_env_name(var) {
                    report.push(
                        Diagnostic::error(format!("\"{var}\" is not an environment variable name"))
                            .at(key(&format!("headers_env.{header}")), secret_span.clone())
                            .help("headers_env maps a header to the NAME of a variable holding its value, like API_TOKEN"),
                    );
                    ok = false;
                }
                headers.push((header.clone(), HeaderValue::Secret(SecretSource::Env(var.clone()))));
            }
            Probe::Http(HttpProbe {
                url: u.clone(),
                method,
                headers,
                expect_status,
                body_contains: entry.body_contains.clone(),
            })
        }
        "tcp" => {
            misplaced(entry.url.is_some(), "url", "http", entry.url.as_ref().map(|a| a.span()), report);
            misplaced(
                entry.command.is_some(),
                "command",
                "command",
                entry.command.as_ref().map(|a| a.span()),
                report,
            );
            let Some(address) = &entry.address else {
                report.push(
                    Diagnostic::error("a tcp check needs an `address`")
                        .at(key("kind"), Some(entry.kind.span()))
                        .help("add address = \"host:port\""),
                );
                return None;
            };
            let a = address.get_ref();
            let port_ok = a
                .rsplit_once(':')
                .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0));
            if !port_ok {
                report.push(
                    Diagnostic::error(format!("\"{a}\" is not host:port"))
                        .at(key("address"), Some(address.span()))
                        .help("write it like \"db.internal:5432\" or \"10.0.0.5:6379\""),
                );
                ok = false;
            }
            Probe::Tcp { address: a.clone() }
        }
        "command" => {
            misplaced(entry.url.is_some(), "url", "http", entry.url.as_ref().map(|a| a.span()), report);
            misplaced(
                entry.address.is_some(),
                "address",
                "tcp",
                entry.address.as_ref().map(|a| a.span()),
                report,
            );
            let Some(command) = &entry.command else {
                report.push(
                    Diagnostic::error("a command check needs a `command`")
                        .at(key("kind"), Some(entry.kind.span()))
                        .help("add command = [\"/usr/local/bin/check-db\", \"--quick\"]"),
                );
                return None;
            };
            let words = command.get_ref();
            match (words.first(), entry.shell) {
                (None, _) => {
                    report.push(
                        Diagnostic::error("the command is empty")
                            .at(key("command"), Some(command.span()))
                            .help("give the program and its arguments: [\"pg_isready\", \"-h\", \"db\"]"),
                    );
                    return None;
                }
                (Some(_), true) => {
                    Probe::Command { program: "sh".into(), args: vec!["-c".into(), words.join(" ")] }
                }
                (Some(program), false) => {
                    if !program_exists(program) {
                        report.push(
                            Diagnostic::warning(format!(
                                "the program \"{program}\" is not found on this machine"
                            ))
                            .at(key("command"), Some(command.span()))
                            .help("give its full path, or install it; every probe will fail until it exists"),
                        );
                    }
                    Probe::Command { program: program.clone(), args: words[1..].to_vec() }
                }
            }
        }
        other => {
            report.push(
                Diagnostic::error(format!("there is no health check kind \"{other}\""))
                    .at(key("kind"), Some(entry.kind.span()))
                    .help("use \"http\", \"tcp\" or \"command\""),
            );
            return None;
        }
    };
    ok.then_some(probe)
}

/// A program path that exists, or a bare name found on `PATH`.
fn program_exists(program: &str) -> bool {
    if program.contains('/') {
        return std::path::Path::new(program).exists();
    }
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

pub fn valid_env_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_specs() {
        let p = |w: StatusWritten| w.parse();
        assert!(p(StatusWritten::Text("2xx".into())).unwrap().accepts(204));
        assert!(!p(StatusWritten::Text("2xx".into())).unwrap().accepts(301));
        assert!(p(StatusWritten::Text("200-399".into())).unwrap().accepts(302));
        assert!(p(StatusWritten::One(418)).unwrap().accepts(418));
        assert!(p(StatusWritten::List(vec![200, 204])).unwrap().accepts(204));
        assert!(p(StatusWritten::One(99)).is_err());
        assert!(p(StatusWritten::Text("9xx".into())).is_err());
        assert!(p(StatusWritten::Text("300-200".into())).is_err());
        assert_eq!(StatusSpec(vec![(200, 299), (304, 304)]).to_string(), "2xx, 304");
    }
}
