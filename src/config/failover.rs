//! `[systems.failover]` and `[systems.failback]`: a procedure's steps, its validation and its
//! rollback.
//!
//! ```toml
//! [systems.failover]
//! approval = "typed"                 # none | confirm | typed | two-person
//! commit_window = "30m"              # after failing over: commit, or fail back
//! on_commit_timeout = "commit"       # what happens if nobody decides: commit | failback
//! steps = [
//!   { name = "Promote standby", run = ["pg_ctl", "promote", "-D", "/var/lib/pg"], timeout = "2m", estimate = "40s" },
//!   { name = "Repoint DNS", http = { method = "POST", url = "https://dns.internal/api/records/db", body = "{...}" } },
//!   { name = "Wait for health", wait_healthy = "5m" },           # system = "other" to wait on another
//!   { name = "Tell the DBA on call", manual = "Confirm replication is stopped on the old primary" },
//! ]
//! validate = [ { name = "Writes accepted", run = ["/usr/local/bin/check-writes"] } ]
//! rollback = [ { name = "Demote", run = ["/usr/local/bin/demote"] } ]
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::diagnostic::{Diagnostic, Report};
use super::health::{HeaderValue, StatusSpec, StatusWritten, valid_env_name};
use super::secrets::SecretSource;
use super::values::HumanDuration;
use crate::model::ApprovalPolicy;

/// A step's timeout when it sets none.
pub const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcedureEntry {
    pub approval: Option<Spanned<String>>,
    pub commit_window: Option<HumanDuration>,
    pub on_commit_timeout: Option<Spanned<String>>,
    #[serde(default)]
    pub steps: Vec<Spanned<StepEntry>>,
    #[serde(default)]
    pub validate: Vec<Spanned<StepEntry>>,
    #[serde(default)]
    pub rollback: Vec<Spanned<StepEntry>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepEntry {
    pub name: Option<Spanned<String>>,
    pub run: Option<Vec<String>>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    pub cwd: Option<PathBuf>,
    pub http: Option<HttpCallEntry>,
    pub wait_healthy: Option<HumanDuration>,
    pub system: Option<Spanned<String>>,
    pub manual: Option<String>,
    pub timeout: Option<HumanDuration>,
    pub estimate: Option<HumanDuration>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpCallEntry {
    pub method: Option<String>,
    pub url: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub headers_env: BTreeMap<String, String>,
    pub body: Option<String>,
    pub expect_status: Option<StatusWritten>,
}

/// An HTTP request a step makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpCall {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, HeaderValue)>,
    pub body: Option<String>,
    pub expect_status: StatusSpec,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepAction {
    /// A program with arguments (no shell), its environment and working folder.
    Run {
        program: String,
        args: Vec<String>,
        env: Vec<(String, String)>,
        cwd: Option<PathBuf>,
    },
    Http(HttpCall),
    /// Until the health probe of `system` (this system when `None`) reports healthy.
    WaitHealthy {
        system: Option<String>,
    },
    /// Pause until an operator confirms the instruction is done (or aborts).
    Manual {
        instruction: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub name: String,
    pub action: StepAction,
    pub timeout: Duration,
    pub estimate: Option<Duration>,
}

impl Step {
    /// One line on exactly what the step does, for the approval gate and the dry run.
    pub fn describe(&self) -> String {
        match &self.action {
            StepAction::Run { program, args, .. } => {
                format!(
                    "run  {}",
                    std::iter::once(program.as_str())
                        .chain(args.iter().map(String::as_str))
                        .collect::<Vec<_>>()
                        .join(" ")
                )
            }
            StepAction::Http(h) => format!("{} {}", h.method, h.url),
            StepAction::WaitHealthy { system: Some(s) } => format!("wait until {s} is healthy"),
            StepAction::WaitHealthy { system: None } => "wait until healthy".to_owned(),
            StepAction::Manual { instruction } => format!("manual: {instruction}"),
        }
    }
}

/// What happens when a commit window ends with no decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitDefault {
    Commit,
    Failback,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Procedure {
    /// `None`: the gate's policy for the action and tier applies.
    pub approval: Option<ApprovalPolicy>,
    pub commit_window: Option<Duration>,
    pub on_commit_timeout: CommitDefault,
    pub steps: Vec<Step>,
    pub validate: Vec<Step>,
    pub rollback: Vec<Step>,
}

impl Procedure {
    /// The estimated duration of the steps and validation (a step with no estimate counts its
    /// timeout, a manual one nothing: it is not known).
    pub fn estimate(&self) -> Duration {
        self.steps
            .iter()
            .chain(&self.validate)
            .map(|s| match (&s.action, s.estimate) {
                (_, Some(e)) => e,
                (StepAction::Manual { .. }, None) => Duration::ZERO,
                (_, None) => s.timeout,
            })
            .sum()
    }

    /// The systems whose health `wait_healthy` steps watch (besides the system itself).
    pub fn watched_systems(&self) -> impl Iterator<Item = &str> {
        self.steps.iter().chain(&self.validate).chain(&self.rollback).filter_map(|s| match &s.action {
            StepAction::WaitHealthy { system: Some(name) } => Some(name.as_str()),
            _ => None,
        })
    }
}

/// Check a procedure (`which` is "failover" or "failback") of system `name`.
pub fn resolve(name: &str, which: &str, entry: &ProcedureEntry, report: &mut Report) -> Option<Procedure> {
    let path = format!("systems[{name}].{which}");
    let mut ok = true;
    let approval = match &entry.approval {
        Some(a) => match a.get_ref().parse::<ApprovalPolicy>() {
            Ok(p) => Some(p),
            Err(e) => {
                report.push(Diagnostic::error(e).at(format!("{path}.approval"), Some(a.span())));
                ok = false;
                None
            }
        },
        None => None,
    };
    let on_commit_timeout = match entry.on_commit_timeout.as_ref().map(|s| (s.get_ref().as_str(), s.span())) {
        None | Some(("commit", _)) => CommitDefault::Commit,
        Some(("failback", _)) => CommitDefault::Failback,
        Some((other, span)) => {
            report.push(
                Diagnostic::error(format!("on_commit_timeout = \"{other}\" is neither commit nor failback"))
                    .at(format!("{path}.on_commit_timeout"), Some(span))
                    .help("say what happens when the commit window ends with no decision: \"commit\" or \"failback\""),
            );
            ok = false;
            CommitDefault::Commit
        }
    };
    if entry.steps.is_empty() {
        report.push(
            Diagnostic::error(format!("the {which} procedure of \"{name}\" has no steps"))
                .at(format!("{path}.steps"), None)
                .help("add steps = [ { name = \"...\", run = [\"...\"] }, ... ]"),
        );
        ok = false;
    }
    let mut list =
        |key: &str, entries: &[Spanned<StepEntry>], manual_allowed: bool, report: &mut Report| -> Vec<Step> {
            let mut out = Vec::new();
            for (i, e) in entries.iter().enumerate() {
                match step(&format!("{path}.{key}[{i}]"), e, manual_allowed, report) {
                    Some(s) => out.push(s),
                    None => ok = false,
                }
            }
            out
        };
    let steps = list("steps", &entry.steps, true, report);
    let validate = list("validate", &entry.validate, false, report);
    let rollback = list("rollback", &entry.rollback, true, report);
    ok.then_some(Procedure {
        approval,
        commit_window: entry.commit_window.map(|d| d.0),
        on_commit_timeout,
        steps,
        validate,
        rollback,
    })
}

fn step(path: &str, entry: &Spanned<StepEntry>, manual_allowed: bool, report: &mut Report) -> Option<Step> {
    let span = Some(entry.span());
    let e = entry.get_ref();
    let Some(name) = e.name.as_ref().filter(|n| !n.get_ref().trim().is_empty()) else {
        report.push(
            Diagnostic::error("a step needs a name")
                .at(path.to_owned(), span)
                .help("add name = \"what this step does\""),
        );
        return None;
    };
    let path = format!("{}.{}", path.rsplit_once('[').map(|(p, _)| p).unwrap_or(path), name.get_ref());
    let actions = [e.run.is_some(), e.http.is_some(), e.wait_healthy.is_some(), e.manual.is_some()];
    let count = actions.iter().filter(|a| **a).count();
    // None given because the one given had the wrong type: that error says it already.
    let explained = count == 0
        && span.as_ref().is_some_and(|step| {
            report
                .errors()
                .any(|d| d.span.as_ref().is_some_and(|d| step.start <= d.start && d.end <= step.end))
        });
    if count != 1 {
        if !explained {
            report.push(
                Diagnostic::error(format!(
                    "step \"{}\" must do exactly one thing: run, http, wait_healthy or manual ({count} given)",
                    name.get_ref()
                ))
                .at(path, span),
            );
        }
        return None;
    }
    if e.system.is_some() && e.wait_healthy.is_none() {
        report.push(
            Diagnostic::error("`system` is only for wait_healthy steps")
                .at(format!("{path}.system"), e.system.as_ref().map(|s| s.span())),
        );
        return None;
    }
    let action = if let Some(run) = &e.run {
        let Some((program, args)) = run.split_first() else {
            report.push(
                Diagnostic::error("run is empty")
                    .at(format!("{path}.run"), span)
                    .help("give a program and its arguments"),
            );
            return None;
        };
        StepAction::Run {
            program: program.clone(),
            args: args.to_vec(),
            env: e.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            cwd: e.cwd.clone(),
        }
    } else if let Some(http) = &e.http {
        let method = http.method.clone().unwrap_or_else(|| "POST".into()).to_ascii_uppercase();
        if !(http.url.starts_with("http://") || http.url.starts_with("https://")) {
            report.push(
                Diagnostic::error(format!("\"{}\" is not an http(s) URL", http.url))
                    .at(format!("{path}.http.url"), span),
            );
            return None;
        }
        let expect_status = match &http.expect_status {
            Some(s) => match s.parse() {
                Ok(spec) => spec,
                Err(msg) => {
                    report.push(Diagnostic::error(msg).at(format!("{path}.http.expect_status"), span));
                    return None;
                }
            },
            None => StatusSpec::success(),
        };
        let mut headers: Vec<(String, HeaderValue)> =
            http.headers.iter().map(|(k, v)| (k.clone(), HeaderValue::Plain(v.clone()))).collect();
        for (header, var) in &http.headers_env {
            if !valid_env_name(var) {
                report.push(
                    Diagnostic::error(format!("\"{var}\" is not an environment variable name"))
                        .at(format!("{path}.http.headers_env.{header}"), span),
                );
                return None;
            }
            headers.push((header.clone(), HeaderValue::Secret(SecretSource::Env(var.clone()))));
        }
        StepAction::Http(HttpCall {
            method,
            url: http.url.clone(),
            headers,
            body: http.body.clone(),
            expect_status,
        })
    } else if e.wait_healthy.is_some() {
        StepAction::WaitHealthy { system: e.system.as_ref().map(|s| s.get_ref().clone()) }
    } else {
        if !manual_allowed {
            report.push(
                Diagnostic::error("a validation check cannot be manual")
                    .at(path, span)
                    .help("validation runs by itself: use run, http or wait_healthy"),
            );
            return None;
        }
        StepAction::Manual { instruction: e.manual.clone().unwrap_or_default() }
    };
    // wait_healthy's value is how long to wait; a manual step waits for the operator.
    let timeout = match (&action, e.wait_healthy, e.timeout) {
        (StepAction::WaitHealthy { .. }, Some(w), None) => w.0,
        (StepAction::WaitHealthy { .. }, Some(_), Some(_)) => {
            report.push(
                Diagnostic::error("wait_healthy already says how long to wait; remove `timeout`")
                    .at(format!("{path}.timeout"), span),
            );
            return None;
        }
        (_, _, t) => t.map(|d| d.0).unwrap_or(DEFAULT_STEP_TIMEOUT),
    };
    Some(Step { name: name.get_ref().clone(), action, timeout, estimate: e.estimate.map(|d| d.0) })
}
