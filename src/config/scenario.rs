//! Scenario files (`scenarios/*.toml`): an exercise as a facilitator writes it, read and
//! checked against the configuration's estate (`warroom check --scenario FILE`).
//!
//! ```toml
//! name = "Regional outage at the primary site"
//! type = "functional"                 # tabletop, drill, functional (partial), full-scale (full)
//! hazard = "regional"                 # natural, cyber, infrastructure, pandemic, regional
//! description = "..."
//! scope = ["database", "api"]         # every other system is out of bounds for side effects
//! notify_lists = ["exercise"]         # who hears of it (else only the file channel)
//!
//! [[objectives]]
//! id = "O-1"
//! text = "Recover the database at the DR site"
//! tests = "database"
//! target = "database recovered within its RTO"
//!
//! [[modules]]
//! id = "M-1"
//! title = "Detection"
//! timebox = "20m"
//! questions = ["Who declares?"]
//!
//! [[injects]]
//! id = "I-1"
//! module = "M-1"
//! at = "+0:05"                        # or after = "I-0" (and delay), when = "database is DOWN", manual = true
//! type = "technical"
//! from = "Monitoring"
//! to = "on-call"
//! title = "Database unreachable"
//! body = "..."
//! fault = "database down"
//! expected = "The IC fails the database over"
//! expect = "failover database"
//! within = "15m"
//! objectives = ["O-1"]
//! ```

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::diagnostic::{Diagnostic, Report, did_you_mean};
use super::{Config, read, read_list};
use crate::model::exercise::{
    Act, Condition, ExerciseNotices, ExerciseType, Expected, Hazard, Inject, InjectKind, Module, Objective,
    Scenario, Target, Trigger, parse_offset, parse_simple_duration,
};

/// The scenarios shipped in `scenarios/`, built in so that the demo runs them from any folder.
pub const SHIPPED: [(&str, &str); 3] = [
    ("regional-outage", include_str!("../../scenarios/regional-outage.toml")),
    ("ransomware-file-shares", include_str!("../../scenarios/ransomware-file-shares.toml")),
    ("database-failover-validation", include_str!("../../scenarios/database-failover-validation.toml")),
];

/// Where the scenario `name` is: a path to a file, else `scenarios/NAME.toml` beside the
/// configuration `config`, else `scenarios/NAME.toml` in the working folder.
pub fn find(name: &str, config: &Path) -> PathBuf {
    let given = PathBuf::from(name);
    if given.is_file() {
        return given;
    }
    let file = if name.ends_with(".toml") { name.to_owned() } else { format!("{name}.toml") };
    match config.parent().map(|d| d.join("scenarios").join(&file)) {
        Some(p) if p.is_file() => p,
        _ => PathBuf::from("scenarios").join(file),
    }
}

/// The text of the scenario at `path`: the file, or a shipped scenario of that file name when no
/// such file exists (the demo's own, wherever it runs).
pub fn read_text(path: &Path) -> Result<String, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
            let shipped = SHIPPED
                .iter()
                .find(|(name, _)| *name == stem && path.extension().is_some_and(|x| x == "toml"));
            match shipped {
                Some((_, text)) => Ok((*text).to_owned()),
                None => {
                    let names: Vec<&str> = SHIPPED.iter().map(|(n, _)| *n).collect();
                    Err(format!(
                        "cannot read {}: no such file (the shipped scenarios are {})",
                        path.display(),
                        names.join(", ")
                    ))
                }
            }
        }
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    name: Spanned<String>,
    #[serde(rename = "type")]
    kind: Spanned<String>,
    hazard: Spanned<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    scope: Vec<Spanned<String>>,
    #[serde(default)]
    notify_lists: Vec<Spanned<String>>,
    /// `"exercise"` (the default) or `"real"`: real stakeholders are told.
    notify: Option<Spanned<String>>,
    #[serde(default)]
    leave_failed_over: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ObjectiveEntry {
    id: Spanned<String>,
    text: String,
    #[serde(default)]
    tests: String,
    target: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModuleEntry {
    id: Spanned<String>,
    title: String,
    timebox: Option<Spanned<String>>,
    #[serde(default)]
    questions: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InjectEntry {
    id: Spanned<String>,
    module: Option<Spanned<String>>,
    at: Option<Spanned<String>>,
    after: Option<Spanned<String>>,
    delay: Option<Spanned<String>>,
    when: Option<Spanned<String>>,
    manual: Option<Spanned<bool>>,
    #[serde(rename = "type")]
    kind: Spanned<String>,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    title: String,
    #[serde(default)]
    body: String,
    expected: Option<Spanned<String>>,
    expect: Option<Spanned<String>>,
    within: Option<Spanned<String>>,
    #[serde(default)]
    objectives: Vec<Spanned<String>>,
    fault: Option<Spanned<String>>,
    contingency_for: Option<Spanned<String>>,
}

/// A scenario that read, with its warnings; or every problem found.
pub struct Checked {
    pub scenario: Scenario,
    pub report: Report,
}

/// Read and check the scenario `text` (from `path`) against `config`. `fault_ok` says whether a
/// fault's words (`"down"`, `"slow 6000"`) name a fault the simulated estate can set.
pub fn load(
    path: &Path,
    text: &str,
    config: &Config,
    fault_ok: &dyn Fn(&str) -> Result<(), String>,
) -> Result<Checked, Box<Report>> {
    let (doc, mut report) = super::parse_reported(path, text)?;
    let mut header_table = toml::de::DeTable::new();
    let (mut objectives, mut modules, mut injects) = (Vec::new(), Vec::new(), Vec::new());
    for (key, node) in doc.root.iter() {
        match key.get_ref().as_ref() {
            "objectives" => objectives = read_list::<ObjectiveEntry>(&doc, "objectives", node, &mut report),
            "modules" => modules = read_list::<ModuleEntry>(&doc, "modules", node, &mut report),
            "injects" => injects = read_list::<InjectEntry>(&doc, "injects", node, &mut report),
            _ => {
                header_table.insert(key.clone(), node.clone());
            }
        }
    }
    let whole = Spanned::new(0..text.len(), toml::de::DeValue::Table(header_table));
    let header: Option<Header> = read(&doc, "", &whole, &mut report);
    let scenario = header.map(|h| build(h, objectives, modules, injects, config, fault_ok, &mut report));
    report.sort();
    match scenario {
        Some(scenario) if !report.has_errors() => Ok(Checked { scenario, report }),
        _ => Err(Box::new(report)),
    }
}

fn err(message: impl Into<String>, key: &str, span: std::ops::Range<usize>) -> Diagnostic {
    Diagnostic::error(message).at(key, Some(span))
}

/// A system name: it must be in the estate.
fn system_known(name: &Spanned<String>, key: &str, config: &Config, report: &mut Report) -> bool {
    if config.estate.system(name.get_ref()).is_some() {
        return true;
    }
    let names = config.estate.systems().iter().map(|s| s.name.as_str());
    let help = match did_you_mean(name.get_ref(), names) {
        Some(s) => format!("did you mean \"{s}\"?"),
        None => "name a [[systems]] entry of the configuration".to_owned(),
    };
    report.push(err(format!("there is no system \"{}\"", name.get_ref()), key, name.span()).help(help));
    false
}

fn build(
    h: Header,
    objectives: Vec<ObjectiveEntry>,
    modules: Vec<ModuleEntry>,
    injects: Vec<InjectEntry>,
    config: &Config,
    fault_ok: &dyn Fn(&str) -> Result<(), String>,
    report: &mut Report,
) -> Scenario {
    let kind = ExerciseType::parse(h.kind.get_ref())
        .map_err(|e| report.push(err(e, "type", h.kind.span())))
        .unwrap_or(ExerciseType::Tabletop);
    let hazard = Hazard::parse(h.hazard.get_ref())
        .map_err(|e| report.push(err(e, "hazard", h.hazard.span())))
        .unwrap_or(Hazard::Infrastructure);
    let mut scope = Vec::new();
    for (i, s) in h.scope.iter().enumerate() {
        if system_known(s, &format!("scope[{i}]"), config, report) && !scope.contains(s.get_ref()) {
            scope.push(s.get_ref().clone());
        }
    }
    if scope.is_empty() && kind.carries_out() {
        report.push(
            Diagnostic::error(format!(
                "a {kind} exercise runs real procedures, but its scope names no system"
            ))
            .at("scope", h.name.span().into())
            .help("list the systems in play: scope = [\"database\"]; every other system is out of bounds"),
        );
    }
    let in_scope = |name: &str| scope.iter().any(|s| s == name);
    let lists = config.notify.lists();
    let mut notify_lists = Vec::new();
    for (i, l) in h.notify_lists.iter().enumerate() {
        if lists.contains(l.get_ref()) {
            notify_lists.push(l.get_ref().clone());
        } else {
            let help = match did_you_mean(l.get_ref(), lists.iter().map(String::as_str)) {
                Some(s) => format!("did you mean \"{s}\"?"),
                None => "name a list a [[contacts]] entry is on (an exercise list)".to_owned(),
            };
            report.push(
                err(
                    format!("no contact is on the list \"{}\"", l.get_ref()),
                    &format!("notify_lists[{i}]"),
                    l.span(),
                )
                .help(help),
            );
        }
    }
    let real = match h.notify.as_ref().map(|n| n.get_ref().as_str()) {
        None | Some("exercise") => false,
        Some("real") => true,
        Some(other) => {
            let span = h.notify.as_ref().map(Spanned::span).unwrap_or_default();
            report.push(err(format!("notify = \"{other}\" is not a choice"), "notify", span).help(
                "\"exercise\" (the default: only the exercise's lists and the file channel) or \"real\" (real stakeholders are told)",
            ));
            false
        }
    };
    let mut leave_failed_over = Vec::new();
    for (i, s) in h.leave_failed_over.iter().enumerate() {
        let key = format!("leave_failed_over[{i}]");
        if system_known(s, &key, config, report) {
            if !in_scope(s.get_ref()) {
                report.push(
                    err(format!("\"{}\" is not in the scope", s.get_ref()), &key, s.span())
                        .help("only a system in play can be left failed over"),
                );
            }
            leave_failed_over.push(s.get_ref().clone());
        }
    }

    let mut seen_ids = BTreeSet::new();
    let mut unique = |id: &Spanned<String>, what: &str, key: &str, report: &mut Report| {
        let fresh = seen_ids.insert(format!("{what}:{}", id.get_ref()));
        if !fresh {
            report.push(
                err(format!("two {what}s have the id \"{}\"", id.get_ref()), key, id.span())
                    .help("give each its own id"),
            );
        }
        if id.get_ref().trim().is_empty() {
            report.push(err(format!("a {what}'s id is empty"), key, id.span()));
        }
    };

    let objectives: Vec<Objective> = objectives
        .into_iter()
        .filter_map(|o| {
            let key = format!("objectives[{}]", o.id.get_ref());
            unique(&o.id, "objective", &format!("{key}.id"), report);
            let target = Target::parse(o.target.get_ref())
                .map_err(|e| report.push(err(e, &format!("{key}.target"), o.target.span())))
                .ok()?;
            if let Target::Recovered { system, .. } = &target {
                system_known(
                    &Spanned::new(o.target.span(), system.clone()),
                    &format!("{key}.target"),
                    config,
                    report,
                );
            }
            Some(Objective { id: o.id.into_inner(), text: o.text, tests: o.tests, target })
        })
        .collect();

    let modules: Vec<Module> = modules
        .into_iter()
        .map(|m| {
            let key = format!("modules[{}]", m.id.get_ref());
            unique(&m.id, "module", &format!("{key}.id"), report);
            let timebox = m
                .timebox
                .as_ref()
                .and_then(|t| {
                    parse_simple_duration(t.get_ref()).or_else(|| {
                        report.push(err(
                            format!("\"{}\" is not a duration such as 20m", t.get_ref()),
                            &format!("{key}.timebox"),
                            t.span(),
                        ));
                        None
                    })
                })
                .unwrap_or(Duration::ZERO);
            Module { id: m.id.into_inner(), title: m.title, timebox, questions: m.questions }
        })
        .collect();

    let inject_ids: Vec<String> = injects.iter().map(|i| i.id.get_ref().clone()).collect();
    let known_inject = |id: &Spanned<String>, key: &str, report: &mut Report| {
        if inject_ids.contains(id.get_ref()) {
            return true;
        }
        let help = match did_you_mean(id.get_ref(), inject_ids.iter().map(String::as_str)) {
            Some(s) => format!("did you mean \"{s}\"?"),
            None => "name the id of an [[injects]] entry in this file".to_owned(),
        };
        report.push(err(format!("there is no inject \"{}\"", id.get_ref()), key, id.span()).help(help));
        false
    };
    let mut built = Vec::new();
    for (seq, e) in injects.into_iter().enumerate() {
        let key = format!("injects[{}]", e.id.get_ref());
        unique(&e.id, "inject", &format!("{key}.id"), report);
        if let Some(m) = &e.module
            && !modules.iter().any(|x| &x.id == m.get_ref())
        {
            report.push(
                err(format!("there is no module \"{}\"", m.get_ref()), &format!("{key}.module"), m.span())
                    .help("name the id of a [[modules]] entry"),
            );
        }
        let kind = InjectKind::parse(e.kind.get_ref())
            .map_err(|m| report.push(err(m, &format!("{key}.type"), e.kind.span())))
            .unwrap_or(InjectKind::Information);
        let given = [
            e.at.is_some(),
            e.after.is_some(),
            e.when.is_some(),
            e.manual.as_ref().is_some_and(|m| *m.get_ref()),
        ];
        let trigger = match given.iter().filter(|g| **g).count() {
            0 => {
                report.push(err("this inject has no trigger", &key, e.id.span()).help(
                    "say when it is released: at = \"+0:05\", after = \"I-1\" (with delay = \"2m\"), when = \"database is DOWN\", or manual = true",
                ));
                None
            }
            1 => trigger(&e, &key, config, &known_inject, report),
            _ => {
                report.push(
                    err("this inject has more than one trigger", &key, e.id.span())
                        .help("keep one of at, after, when and manual"),
                );
                None
            }
        };
        if e.delay.is_some() && e.after.is_none() {
            let span = e.delay.as_ref().map(Spanned::span).unwrap_or_default();
            report.push(
                err("delay is only for an inject released after another", &format!("{key}.delay"), span)
                    .help("use at = \"+H:MM\" for a time from the start"),
            );
        }
        let act = e.expect.as_ref().and_then(|x| {
            let act = Act::parse(x.get_ref())
                .map_err(|m| report.push(err(m, &format!("{key}.expect"), x.span())))
                .ok()?;
            if let Some(system) = act.system() {
                system_known(
                    &Spanned::new(x.span(), system.to_owned()),
                    &format!("{key}.expect"),
                    config,
                    report,
                );
            }
            Some(act)
        });
        let expected = match (&e.expected, act, &e.within) {
            (None, None, None) => None,
            (text, act, Some(within)) => match parse_simple_duration(within.get_ref()) {
                Some(d) => Some(Expected {
                    text: text
                        .as_ref()
                        .map(|t| t.get_ref().clone())
                        .or(act.as_ref().map(Act::to_string))
                        .unwrap_or_default(),
                    act,
                    within: d,
                }),
                None => {
                    report.push(err(
                        format!("\"{}\" is not a duration such as 10m", within.get_ref()),
                        &format!("{key}.within"),
                        within.span(),
                    ));
                    None
                }
            },
            (text, act, None) => {
                let span = text
                    .as_ref()
                    .map(Spanned::span)
                    .or(e.expect.as_ref().map(Spanned::span))
                    .unwrap_or(e.id.span());
                let _ = act;
                report.push(
                    err("an expected action needs its target time", &format!("{key}.within"), span)
                        .help("say by when, after the release: within = \"10m\""),
                );
                None
            }
        };
        let mut objective_ids = Vec::new();
        for (i, o) in e.objectives.iter().enumerate() {
            if objectives.iter().any(|x| &x.id == o.get_ref()) {
                objective_ids.push(o.get_ref().clone());
            } else {
                let names = objectives.iter().map(|x| x.id.as_str());
                let help = match did_you_mean(o.get_ref(), names) {
                    Some(s) => format!("did you mean \"{s}\"?"),
                    None => "name the id of an [[objectives]] entry".to_owned(),
                };
                report.push(
                    err(
                        format!("there is no objective \"{}\"", o.get_ref()),
                        &format!("{key}.objectives[{i}]"),
                        o.span(),
                    )
                    .help(help),
                );
            }
        }
        let fault = match (&e.fault, kind) {
            (Some(f), InjectKind::Technical) => {
                let fkey = format!("{key}.fault");
                let text = f.get_ref().trim();
                match text.split_once(' ') {
                    Some((system, mode)) => {
                        let sys = Spanned::new(f.span(), system.to_owned());
                        if system_known(&sys, &fkey, config, report) {
                            if !in_scope(system) {
                                report.push(err(format!("\"{system}\" is not in the scope"), &fkey, f.span()).help(format!("a fault may only touch a system in play: add \"{system}\" to scope")));
                            }
                            if let Err(m) = fault_ok(mode.trim()) {
                                report.push(err(m, &fkey, f.span()));
                            }
                        }
                        Some((system.to_owned(), mode.trim().to_owned()))
                    }
                    None => {
                        report.push(err(format!("fault = \"{text}\" names no fault"), &fkey, f.span()).help(
                            "write the system, then the fault: fault = \"database down\", \"api slow 6000\"",
                        ));
                        None
                    }
                }
            }
            (Some(f), _) => {
                report.push(
                    err("only a technical inject sets a fault", &format!("{key}.fault"), f.span())
                        .help("set type = \"technical\", or take the fault out"),
                );
                None
            }
            (None, InjectKind::Technical) => {
                report.push(
                    err("a technical inject sets a fault", &key, e.kind.span())
                        .help("say which: fault = \"database down\""),
                );
                None
            }
            (None, _) => None,
        };
        let contingency_for = match (&e.contingency_for, kind) {
            (Some(c), InjectKind::Contingency) => {
                known_inject(c, &format!("{key}.contingency_for"), report).then(|| c.get_ref().clone())
            }
            (Some(c), _) => {
                report.push(
                    err(
                        "only a contingency inject backs up another",
                        &format!("{key}.contingency_for"),
                        c.span(),
                    )
                    .help("set type = \"contingency\""),
                );
                None
            }
            (None, InjectKind::Contingency) => {
                report.push(
                    err("a contingency inject names the inject it backs up", &key, e.kind.span())
                        .help("contingency_for = \"I-3\""),
                );
                None
            }
            (None, _) => None,
        };
        if let Some(trigger) = trigger {
            built.push(Inject {
                id: e.id.into_inner(),
                seq,
                module: e.module.map(Spanned::into_inner),
                trigger,
                kind,
                from: e.from,
                to: if e.to.is_empty() { "everyone".into() } else { e.to },
                title: e.title,
                body: e.body,
                expected,
                objectives: objective_ids,
                fault,
                contingency_for,
            });
        }
    }
    check_injects(&built, report);
    for o in &objectives {
        if !built.iter().any(|i| i.objectives.contains(&o.id))
            && matches!(o.target, Target::Discussion { .. })
        {
            report.push(Diagnostic::warning(format!("no inject serves objective {} and nothing measures it", o.id)).at(format!("objectives[{}]", o.id), None).help("link an inject to it (objectives = [\"…\"]), or it can only be rated from observations"));
        }
    }
    Scenario {
        name: h.name.into_inner(),
        kind,
        hazard,
        description: h.description,
        objectives,
        scope,
        modules,
        injects: built,
        notices: ExerciseNotices { lists: notify_lists, real },
        leave_failed_over,
    }
}

fn trigger(
    e: &InjectEntry,
    key: &str,
    config: &Config,
    known_inject: &dyn Fn(&Spanned<String>, &str, &mut Report) -> bool,
    report: &mut Report,
) -> Option<Trigger> {
    if let Some(at) = &e.at {
        return parse_offset(at.get_ref())
            .map(|offset| Trigger::At { offset })
            .map_err(|m| report.push(err(m, &format!("{key}.at"), at.span())))
            .ok();
    }
    if let Some(after) = &e.after {
        if after.get_ref() == e.id.get_ref() {
            report.push(err("an inject cannot follow itself", &format!("{key}.after"), after.span()));
            return None;
        }
        let delay = match &e.delay {
            Some(d) => parse_offset(d.get_ref())
                .map_err(|m| report.push(err(m, &format!("{key}.delay"), d.span())))
                .ok()?,
            None => Duration::ZERO,
        };
        return known_inject(after, &format!("{key}.after"), report)
            .then(|| Trigger::After { inject: after.get_ref().clone(), delay });
    }
    if let Some(when) = &e.when {
        let condition = Condition::parse(when.get_ref())
            .map_err(|m| report.push(err(m, &format!("{key}.when"), when.span())))
            .ok()?;
        let system = Spanned::new(when.span(), condition.system.clone());
        return system_known(&system, &format!("{key}.when"), config, report)
            .then_some(Trigger::When { condition });
    }
    Some(Trigger::Manual)
}

/// Follow-ups that go round in a circle never fire: say so.
fn check_injects(injects: &[Inject], report: &mut Report) {
    for start in injects {
        let mut here = start;
        let mut steps = 0;
        while let Trigger::After { inject, .. } = &here.trigger {
            let Some(next) = injects.iter().find(|i| &i.id == inject) else { break };
            steps += 1;
            if next.id == start.id {
                report.push(
                    Diagnostic::error(format!(
                        "inject {} follows a chain of injects that comes back to it",
                        start.id
                    ))
                    .at(format!("injects[{}].after", start.id), None)
                    .help("one inject in the circle needs a time (at = \"+H:MM\") or a condition"),
                );
                break;
            }
            if steps > injects.len() {
                break;
            }
            here = next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        let env = super::super::console::tests::FakeEnv(
            [("USER", "tester"), ("HOME", "/home/tester")].into_iter().collect(),
        );
        super::super::load_str(
            Path::new("c.toml"),
            "[[systems]]\nname = \"database\"\ntier = 1\n\n[[systems]]\nname = \"api\"\ntier = 2\ndepends_on = [\"database\"]\n",
            &env,
        )
        .map_err(|e| e.to_string())
        .unwrap()
        .config
    }

    fn check(text: &str) -> Result<Checked, Box<Report>> {
        let faults = |m: &str| {
            if m.starts_with("down") || m.starts_with("slow") {
                Ok(())
            } else {
                Err(format!("\"{m}\" is not a fault"))
            }
        };
        load(Path::new("s.toml"), text, &config(), &faults)
    }

    const GOOD: &str = r#"
name = "Database failover"
type = "partial"
hazard = "infrastructure"
scope = ["database"]

[[objectives]]
id = "O-1"
text = "Fail the database over"
tests = "database"
target = "database recovered within its RTO"

[[injects]]
id = "I-1"
at = "+0:00"
type = "technical"
title = "The database is unreachable"
fault = "database down"
expected = "The IC fails over"
expect = "failover database"
within = "15m"
objectives = ["O-1"]

[[injects]]
id = "C-1"
after = "I-1"
delay = "20m"
type = "contingency"
contingency_for = "I-1"
title = "The DBA calls: the standby is ready, why wait?"
"#;

    #[test]
    fn a_good_scenario_reads() {
        let c = check(GOOD).unwrap_or_else(|r| panic!("{}", r.render(false)));
        let s = c.scenario;
        assert_eq!(s.kind, ExerciseType::Functional);
        assert_eq!(s.injects.len(), 2);
        assert_eq!(
            s.injects[1].trigger,
            Trigger::After { inject: "I-1".into(), delay: Duration::from_secs(1200) }
        );
        assert_eq!(s.injects[0].fault, Some(("database".into(), "down".into())));
        assert_eq!(
            s.injects[0].expected.as_ref().and_then(|e| e.act.clone()),
            Some(Act::Failover("database".into()))
        );
    }

    #[test]
    fn mistakes_are_named_with_their_key_and_line() {
        let bad = GOOD
            .replace("scope = [\"database\"]", "scope = [\"databse\"]")
            .replace("expect = \"failover database\"", "expect = \"failover\"")
            .replace("contingency_for = \"I-1\"", "contingency_for = \"I-9\"")
            .replace("delay = \"20m\"", "delay = \"later\"");
        let report = check(&bad).err().unwrap();
        let text = report.render(false);
        for needle in [
            "there is no system \"databse\"",
            "did you mean \"database\"?",
            "scope[0]",
            "\"failover\" needs the system",
            "injects[I-1].expect",
            "there is no inject \"I-9\"",
            "injects[C-1].delay",
            "s.toml:",
        ] {
            assert!(text.contains(needle), "{needle} not in:\n{text}");
        }
    }

    #[test]
    fn triggers_faults_and_circles_are_checked() {
        let bad = GOOD
            .replace("at = \"+0:00\"", "at = \"+0:00\"\nmanual = true")
            .replace("fault = \"database down\"", "fault = \"api down\"")
            .replace("after = \"I-1\"\n", "after = \"C-1\"\n");
        let text = check(&bad).err().unwrap().render(false);
        assert!(text.contains("more than one trigger"), "{text}");
        assert!(text.contains("\"api\" is not in the scope"), "{text}");
        assert!(text.contains("cannot follow itself"), "{text}");
        let text = check(&GOOD.replace("fault = \"database down\"", "fault = \"database melted\""))
            .err()
            .unwrap()
            .render(false);
        assert!(text.contains("\"melted\" is not a fault"), "{text}");
        let text = check(&GOOD.replace("within = \"15m\"\n", "")).err().unwrap().render(false);
        assert!(text.contains("needs its target time"), "{text}");
        let text = check(&GOOD.replace("type = \"partial\"", "type = \"partial\"\ncolour = 1"))
            .err()
            .unwrap()
            .render(false);
        assert!(text.contains("colour"), "{text}");
    }
}
