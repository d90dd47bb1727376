//! The `:` command palette: what can be typed, suggestions as you type, and turning a line
//! into an [`Action`].

use crate::config::diagnostic::did_you_mean;
use crate::engine::jobs::Signal;
use crate::model::Tier;

use super::action::{Action, Request};
use super::state::State;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arg {
    None,
    System,
    Tier,
    Theme,
    Words,
    /// A system, then a fault.
    Fault,
    /// A system a job acts on (the command names the job).
    Target,
}

struct Command {
    name: &'static str,
    arg: Arg,
    usage: &'static str,
    description: &'static str,
}

const COMMANDS: &[Command] = &[
    Command { name: "system", arg: Arg::System, usage: "system NAME", description: "open a system" },
    Command {
        name: "tier",
        arg: Arg::Tier,
        usage: "tier 1-4",
        description: "jump to a tier on the dashboard",
    },
    Command {
        name: "filter",
        arg: Arg::Words,
        usage: "filter WORDS",
        description: "filter by name, tier or state",
    },
    Command { name: "theme", arg: Arg::Theme, usage: "theme NAME", description: "switch the colour theme" },
    Command {
        name: "fault",
        arg: Arg::Fault,
        usage: "fault SYSTEM MODE",
        description: "demo: switch a simulated fault (healthy, slow 6s, erroring 0.2, down, flapping 10s)",
    },
    Command {
        name: "backup",
        arg: Arg::Target,
        usage: "backup SYSTEM",
        description: "back a system up (asks first)",
    },
    Command {
        name: "verify",
        arg: Arg::Target,
        usage: "verify SYSTEM",
        description: "check every copy of its newest backup (size, SHA-256)",
    },
    Command {
        name: "deep-verify",
        arg: Arg::Target,
        usage: "deep-verify SYSTEM",
        description: "restore its newest backup into a scratch folder and check every file",
    },
    Command {
        name: "restore",
        arg: Arg::Target,
        usage: "restore SYSTEM [BACKUP-ID] [DIR]",
        description: "restore its newest verified backup (or BACKUP-ID) into an empty folder",
    },
    Command {
        name: "prune",
        arg: Arg::Target,
        usage: "prune SYSTEM",
        description: "delete the backups its retention does not keep (asks first)",
    },
    Command { name: "jobs", arg: Arg::None, usage: "jobs", description: "jobs, with progress and logs" },
    Command {
        name: "processes",
        arg: Arg::None,
        usage: "processes",
        description: "business processes: live state, RTO budget, what hurts them",
    },
    Command {
        name: "risks",
        arg: Arg::None,
        usage: "risks",
        description: "the risk register's heat map and each risk",
    },
    Command {
        name: "failover",
        arg: Arg::Target,
        usage: "failover SYSTEM",
        description: "run its failover procedure (asks first; restores it if it has none)",
    },
    Command {
        name: "failback",
        arg: Arg::Target,
        usage: "failback SYSTEM",
        description: "run its failback procedure (asks first)",
    },
    Command {
        name: "commit",
        arg: Arg::Target,
        usage: "commit SYSTEM",
        description: "commit a failover in its commit window",
    },
    Command {
        name: "recover",
        arg: Arg::Words,
        usage: "recover SYSTEM...",
        description: "the recovery plan for these systems: waves, forecast vs RTO (asks first)",
    },
    Command {
        name: "declare",
        arg: Arg::Words,
        usage: "declare TYPE SEVERITY SYSTEM,...",
        description: "declare an incident (natural, cyber, infrastructure, pandemic, regional; sev1-sev4) and plan its recovery",
    },
    Command {
        name: "incident",
        arg: Arg::None,
        usage: "incident",
        description: "the open incident: plan, timeline",
    },
    Command {
        name: "report",
        arg: Arg::None,
        usage: "report",
        description: "write the incident's report (RTO/RPO achieved, actions, timeline) to the state folder",
    },
    Command {
        name: "note",
        arg: Arg::Words,
        usage: "note TEXT",
        description: "add a note to the open incident's timeline",
    },
    Command {
        name: "comms",
        arg: Arg::None,
        usage: "comms",
        description: "the incident's communications: notices, each recipient's delivery, the next update due",
    },
    Command {
        name: "notify",
        arg: Arg::Words,
        usage: "notify [STAGE] [to=LIST,...] [MESSAGE]",
        description: "send a stakeholder notice (the due stage when none is named; initial, update, progress, resolution, post-incident) to the stage's lists or those named, with your words; the gate previews it",
    },
    Command {
        name: "exercise",
        arg: Arg::Words,
        usage: "exercise start NAME [SPEED] | pause | resume | speed N | jump ID | release ID | skip ID | resolve ID | ack ID | end",
        description: "run an exercise: a scenario in scenarios/ on its own clock (end writes the after-action report)",
    },
    Command {
        name: "observe",
        arg: Arg::Words,
        usage: "observe [+|-]TEXT [inject=ID] [objective=ID]",
        description: "an evaluator's observation in the exercise (+ strength, - area for improvement)",
    },
    Command {
        name: "rate",
        arg: Arg::Words,
        usage: "rate OBJECTIVE P|S|M|U|N/A REASON",
        description: "confirm or change an objective's proposed rating, with the reason",
    },
    Command {
        name: "close-incident",
        arg: Arg::Words,
        usage: "close-incident [SUMMARY]",
        description: "close the open incident",
    },
    Command {
        name: "skip",
        arg: Arg::Target,
        usage: "skip SYSTEM",
        description: "in the running plan: skip a system",
    },
    Command {
        name: "retry",
        arg: Arg::Target,
        usage: "retry SYSTEM",
        description: "in the running plan: try a failed system again",
    },
    Command { name: "dashboard", arg: Arg::None, usage: "dashboard", description: "the tier dashboard" },
    Command { name: "audit", arg: Arg::None, usage: "audit", description: "the audit log" },
    Command {
        name: "reload",
        arg: Arg::None,
        usage: "reload",
        description: "re-read the configuration file",
    },
    Command { name: "help", arg: Arg::None, usage: "help", description: "keys and commands" },
    Command { name: "quit", arg: Arg::None, usage: "quit", description: "leave the console" },
];

/// Every palette command's usage and description, for the help screen.
pub fn reference() -> impl Iterator<Item = (&'static str, &'static str)> {
    COMMANDS.iter().map(|c| (c.usage, c.description))
}

/// A completion offered under the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    /// The whole line it completes to.
    pub line: String,
    pub description: String,
}

fn find(name: &str) -> Option<&'static Command> {
    COMMANDS.iter().find(|c| c.name == name).or_else(|| {
        let mut matching = COMMANDS.iter().filter(|c| c.name.starts_with(name));
        match (matching.next(), matching.next()) {
            (Some(only), None) if !name.is_empty() => Some(only),
            _ => None,
        }
    })
}

fn argument_values(arg: Arg, state: &State) -> Vec<(String, String)> {
    match arg {
        Arg::System | Arg::Target => state
            .estate
            .systems()
            .iter()
            .map(|s| {
                (
                    s.name.clone(),
                    format!("tier {} · {}", s.tier.number(), s.owner.as_deref().unwrap_or("no owner")),
                )
            })
            .collect(),
        Arg::Tier => Tier::ALL.iter().map(|t| (t.number().to_string(), t.label().to_owned())).collect(),
        Arg::Theme => state
            .themes
            .names()
            .map(|n| {
                let d = state.themes.get(n).map(|t| t.description.clone()).unwrap_or_default();
                (n.to_owned(), d)
            })
            .collect(),
        Arg::Fault => {
            state.estate.systems().iter().map(|s| (s.name.clone(), "then a fault".to_owned())).collect()
        }
        Arg::None | Arg::Words => Vec::new(),
    }
}

const FAULTS: &[(&str, &str)] = &[
    ("healthy", "answers at once"),
    ("slow 6000ms", "answers after 6 s"),
    ("erroring 0.2", "a fifth of answers are 500"),
    ("down", "refuses connections"),
    ("flapping 10s", "up 10 s, down 10 s"),
];

/// What to offer for `input`: commands while the first word is typed, then its arguments.
pub fn suggestions(input: &str, state: &State) -> Vec<Suggestion> {
    let trimmed = input.trim_start();
    match trimmed.split_once(' ') {
        None => COMMANDS
            .iter()
            .filter(|c| c.name.starts_with(trimmed))
            .map(|c| Suggestion {
                line: if c.arg == Arg::None { c.name.to_owned() } else { format!("{} ", c.name) },
                description: format!("{} — {}", c.usage, c.description),
            })
            .collect(),
        Some((name, rest))
            if find(name).is_some_and(|c| c.arg == Arg::Fault) && rest.trim_start().contains(' ') =>
        {
            let (system, fault) = rest.trim_start().split_once(' ').unwrap_or_default();
            FAULTS
                .iter()
                .filter(|(f, _)| f.starts_with(fault.trim()))
                .map(|(f, d)| Suggestion {
                    line: format!("fault {system} {f}"),
                    description: (*d).to_owned(),
                })
                .collect()
        }
        Some((name, arg)) => {
            let Some(command) = find(name) else { return Vec::new() };
            let arg = arg.trim().to_lowercase();
            let values = argument_values(command.arg, state);
            let starts: Vec<_> = values.iter().filter(|(v, _)| v.to_lowercase().starts_with(&arg)).collect();
            let contains: Vec<_> = values
                .iter()
                .filter(|(v, _)| !v.to_lowercase().starts_with(&arg) && v.to_lowercase().contains(&arg))
                .collect();
            starts
                .into_iter()
                .chain(contains)
                .map(|(v, d)| Suggestion { line: format!("{} {v}", command.name), description: d.clone() })
                .collect()
        }
    }
}

/// The commands that take free words.
fn words(name: &str, arg: &str, state: &State) -> Result<Action, String> {
    let system = |word: &str| -> Result<String, String> {
        state
            .estate
            .systems()
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(word))
            .map(|s| s.name.clone())
            .ok_or_else(|| {
                let names = state.estate.systems().iter().map(|s| s.name.as_str());
                match did_you_mean(word, names) {
                    Some(s) => format!("there is no system \"{word}\"; did you mean \"{s}\"?"),
                    None => format!("there is no system \"{word}\""),
                }
            })
    };
    let systems = |text: &str| -> Result<Vec<String>, String> {
        let list: Vec<String> =
            text.split([',', ' ']).filter(|w| !w.is_empty()).map(system).collect::<Result<_, _>>()?;
        if list.is_empty() { Err("name the systems: database,api".into()) } else { Ok(list) }
    };
    match name {
        "recover" => Ok(Action::Request(Request::Recover {
            systems: systems(arg)?,
            incident: state.ops.incident.as_ref().filter(|i| i.closed_at.is_none()).map(|i| i.id.clone()),
        })),
        "declare" => {
            let mut words = arg.splitn(3, ' ');
            let (Some(kind), Some(severity), Some(rest)) = (words.next(), words.next(), words.next()) else {
                return Err(
                    ":declare needs TYPE SEVERITY SYSTEMS, like :declare cyber sev1 database,api".into()
                );
            };
            Ok(Action::Declare {
                kind: crate::model::failover::IncidentKind::parse(kind)?,
                severity: crate::model::failover::Severity::parse(severity)?,
                systems: systems(rest)?,
            })
        }
        "notify" => {
            // The first word is a stage when it names one; a word `to=a,b` names the lists;
            // the rest is the commander's message.
            let mut words: Vec<&str> = arg.split(' ').filter(|w| !w.is_empty()).collect();
            let stage = match words.first().map(|w| crate::model::comms::Stage::parse(w)) {
                Some(Ok(stage)) => {
                    words.remove(0);
                    Some(stage)
                }
                _ => None,
            };
            let mut lists = Vec::new();
            words.retain(|w| match w.strip_prefix("to=") {
                Some(l) => {
                    lists.extend(l.split(',').filter(|x| !x.is_empty()).map(str::to_owned));
                    false
                }
                None => true,
            });
            Ok(Action::Request(Request::Notify { stage, lists, message: words.join(" ") }))
        }
        "note" if arg.is_empty() => Err(":note needs the text to record".into()),
        "note" => Ok(Action::Note(arg.to_owned())),
        "close-incident" => Ok(Action::CloseIncident((!arg.is_empty()).then(|| arg.to_owned()))),
        "exercise" => exercise_words(arg),
        "observe" => observe_words(arg),
        "rate" => {
            use crate::engine::exercise::Control;
            let mut words = arg.splitn(3, ' ');
            let (Some(objective), Some(rating)) = (words.next().filter(|w| !w.is_empty()), words.next())
            else {
                return Err(
                    ":rate needs an objective, a rating and the reason: rate O-1 S the scribe was missing"
                        .into(),
                );
            };
            let rating = crate::model::exercise::Rating::parse(rating)?;
            let reason = words.next().unwrap_or_default().trim().to_owned();
            Ok(Action::Exercise(super::action::ExerciseRequest::Control(Control::Rate {
                objective: objective.to_owned(),
                rating,
                reason,
            })))
        }
        _ => Ok(Action::SetFilter(arg.to_owned())),
    }
}

/// `:exercise start NAME [SPEED]`, `:exercise pause`, `:exercise jump I-3`, `:exercise end`, ...
fn exercise_words(arg: &str) -> Result<Action, String> {
    use super::action::ExerciseRequest;
    use crate::engine::exercise::Control;
    let mut words = arg.split_whitespace();
    let verb = words.next().unwrap_or_default();
    let rest: Vec<&str> = words.collect();
    let id = |what: &str| -> Result<String, String> {
        rest.first()
            .map(|s| (*s).to_owned())
            .ok_or_else(|| format!(":exercise {what} needs an inject's id: exercise {what} I-3"))
    };
    let request = match verb {
        "" => return Ok(Action::ShowExercise),
        "start" => {
            let name =
                rest.first().ok_or(":exercise start needs a scenario: exercise start regional-outage")?;
            let speed = match rest.get(1) {
                Some(s) => s
                    .trim_end_matches('x')
                    .parse::<f64>()
                    .map_err(|_| format!("\"{s}\" is not a speed: exercise start NAME 10"))?,
                None => 1.0,
            };
            ExerciseRequest::Start { name: (*name).to_owned(), speed }
        }
        "pause" => ExerciseRequest::Control(Control::Pause),
        "resume" => ExerciseRequest::Control(Control::Resume),
        "speed" => {
            let s = rest.first().ok_or(":exercise speed needs a number: exercise speed 10")?;
            let speed =
                s.trim_end_matches('x').parse::<f64>().map_err(|_| format!("\"{s}\" is not a speed"))?;
            ExerciseRequest::Control(Control::Speed(speed))
        }
        "jump" => ExerciseRequest::Control(Control::Jump(id("jump")?)),
        "release" => ExerciseRequest::Control(Control::Release(id("release")?)),
        "skip" => ExerciseRequest::Control(Control::Skip(id("skip")?, rest[1..].join(" "))),
        "resolve" => ExerciseRequest::Control(Control::Resolve(id("resolve")?, rest[1..].join(" "))),
        "ack" | "acknowledge" => ExerciseRequest::Control(Control::Acknowledge(id("ack")?)),
        "end" => ExerciseRequest::End(hot_wash(&rest)?),
        other => {
            return Err(format!(
                "\"{other}\" is not an exercise command: start, pause, resume, speed, jump, release, skip, resolve, ack, end"
            ));
        }
    };
    Ok(Action::Exercise(request))
}

/// `:observe +the IC named a scribe inject=I-2`: `+` a strength, `-` an area for improvement.
fn observe_words(arg: &str) -> Result<Action, String> {
    use crate::engine::exercise::Control;
    use crate::model::exercise::evaluate::Kind;
    let mut inject = None;
    let mut objective = None;
    let mut text: Vec<&str> = Vec::new();
    for w in arg.split_whitespace() {
        if let Some(i) = w.strip_prefix("inject=") {
            inject = Some(i.to_owned());
        } else if let Some(o) = w.strip_prefix("objective=") {
            objective = Some(o.to_owned());
        } else {
            text.push(w);
        }
    }
    let joined = text.join(" ");
    let (kind, body) = match joined.chars().next() {
        Some('+') => (Kind::Strength, joined[1..].trim().to_owned()),
        Some('-') => (Kind::Improvement, joined[1..].trim().to_owned()),
        _ => (Kind::Note, joined),
    };
    if body.is_empty() {
        return Err(":observe needs what was seen: observe +the IC named a scribe at once".into());
    }
    Ok(Action::Exercise(super::action::ExerciseRequest::Control(Control::Observe {
        text: body,
        inject,
        objective,
        kind,
    })))
}

/// Turn a submitted line into what it asks for, or say what is wrong with it.
pub fn parse(input: &str, state: &State) -> Result<Action, String> {
    let line = input.trim();
    let (name, arg) = match line.split_once(' ') {
        Some((n, a)) => (n, a.trim()),
        None => (line, ""),
    };
    if name.is_empty() {
        return Err("type a command: system, tier, filter, theme, audit, reload, help, quit".into());
    }
    let Some(command) = find(name) else {
        let names = COMMANDS.iter().map(|c| c.name);
        return Err(match did_you_mean(name, names) {
            Some(s) => format!("there is no command :{name}; did you mean :{s}?"),
            None => format!("there is no command :{name}; :help lists them"),
        });
    };
    let need = |what: &str| Err(format!(":{} needs {what}", command.usage));
    match command.arg {
        Arg::None if !arg.is_empty() => Err(format!(":{} takes nothing after it", command.name)),
        Arg::None => Ok(match command.name {
            "dashboard" => Action::ShowDashboard,
            "jobs" => Action::ShowJobs,
            "processes" => Action::Command(crate::config::keys::KeyCommand::Processes),
            "risks" => Action::Command(crate::config::keys::KeyCommand::Risks),
            "incident" => Action::ShowIncident,
            "comms" => Action::ShowComms,
            "report" => Action::Report,
            "audit" => Action::ShowAudit,
            "reload" => Action::Reload,
            "help" => Action::ShowHelp,
            _ => Action::Quit,
        }),
        Arg::Words => words(command.name, arg, state),
        Arg::System if arg.is_empty() => need("a system name"),
        Arg::System => match state
            .estate
            .system(arg)
            .or_else(|| state.estate.systems().iter().find(|s| s.name.eq_ignore_ascii_case(arg)))
        {
            Some(s) => Ok(Action::OpenSystem(s.name.clone())),
            None => {
                let names = state.estate.systems().iter().map(|s| s.name.as_str());
                Err(match did_you_mean(arg, names) {
                    Some(s) => format!("there is no system \"{arg}\"; did you mean \"{s}\"?"),
                    None => format!("there is no system \"{arg}\""),
                })
            }
        },
        Arg::Target if arg.is_empty() => need("a system name"),
        Arg::Target => {
            let mut words = arg.split_whitespace();
            let word = words.next().unwrap_or_default();
            let Some(s) = state.estate.systems().iter().find(|s| s.name.eq_ignore_ascii_case(word)) else {
                let names = state.estate.systems().iter().map(|s| s.name.as_str());
                return Err(match did_you_mean(word, names) {
                    Some(s) => format!("there is no system \"{word}\"; did you mean \"{s}\"?"),
                    None => format!("there is no system \"{word}\""),
                });
            };
            let system = s.name.clone();
            let rest: Vec<&str> = words.collect();
            if command.name != "restore" && !rest.is_empty() {
                return Err(format!(":{} takes only a system", command.usage));
            }
            match command.name {
                "commit" => return Ok(Action::Commit(system)),
                "skip" => return Ok(Action::PlanSignal { signal: Signal::Skip, system }),
                "retry" => return Ok(Action::PlanSignal { signal: Signal::Retry, system }),
                _ => {}
            }
            Ok(Action::Request(match command.name {
                "failover" => Request::Failover { system, failback: false },
                "failback" => Request::Failover { system, failback: true },
                "backup" => Request::Backup { system },
                "verify" => Request::Verify { system, deep: false },
                "deep-verify" => Request::Verify { system, deep: true },
                "prune" => Request::Prune { system },
                _ => {
                    // restore SYSTEM [BACKUP-ID] [DIR]: a DIR is a path (it has a /).
                    let (mut id, mut to) = (None, None);
                    for word in rest {
                        if word.contains('/') {
                            to = Some(std::path::PathBuf::from(word));
                        } else {
                            id = Some(word.to_owned());
                        }
                    }
                    Request::Restore { system, id, to }
                }
            }))
        }
        Arg::Fault => {
            let mut words = arg.split_whitespace();
            let (Some(system), Some(mode)) = (words.next(), words.next()) else {
                return need("a system and a fault");
            };
            let Some(s) = state.estate.systems().iter().find(|s| s.name.eq_ignore_ascii_case(system)) else {
                return Err(format!("there is no system \"{system}\""));
            };
            let fault = crate::sim::Fault::parse(mode, words.next())?;
            Ok(Action::SetFault { system: s.name.clone(), fault, replace: false })
        }
        Arg::Tier if arg.is_empty() => need("a tier number"),
        Arg::Tier => match arg.trim_start_matches(['t', 'T']).parse::<i64>().ok().and_then(Tier::from_number)
        {
            Some(t) => Ok(Action::JumpToTier(t)),
            None => Err(format!("there is no tier \"{arg}\": tiers are 1 to 4")),
        },
        Arg::Theme if arg.is_empty() => need("a theme name"),
        Arg::Theme => match state.themes.names().find(|n| n.eq_ignore_ascii_case(arg)) {
            Some(name) => Ok(Action::SetTheme(name.to_owned())),
            None => {
                let names: Vec<&str> = state.themes.names().collect();
                Err(match did_you_mean(arg, names.iter().copied()) {
                    Some(s) => format!("there is no theme \"{arg}\"; did you mean \"{s}\"?"),
                    None => format!("there is no theme \"{arg}\"; themes: {}", names.join(", ")),
                })
            }
        },
    }
}

/// `:exercise end +fast declaration -name a scribe`: the hot wash, what went well (`+`) and
/// what to improve (`-`), each running to the next mark.
fn hot_wash(words: &[&str]) -> Result<crate::engine::exercise::report::HotWash, String> {
    let mut wash = crate::engine::exercise::report::HotWash::default();
    let mut current: Option<(bool, String)> = None;
    let done = |c: Option<(bool, String)>, wash: &mut crate::engine::exercise::report::HotWash| {
        if let Some((well, text)) = c.filter(|(_, t)| !t.trim().is_empty()) {
            if well {
                wash.went_well.push(text.trim().to_owned())
            } else {
                wash.improve.push(text.trim().to_owned())
            }
        }
    };
    for w in words {
        if let Some(rest) = w.strip_prefix('+') {
            done(current.take(), &mut wash);
            current = Some((true, rest.to_owned()));
        } else if let Some(rest) = w.strip_prefix('-') {
            done(current.take(), &mut wash);
            current = Some((false, rest.to_owned()));
        } else if let Some((_, text)) = current.as_mut() {
            text.push(' ');
            text.push_str(w);
        } else {
            return Err(format!(
                "\"{w}\": write the hot wash as :exercise end +what went well -what to improve"
            ));
        }
    }
    done(current.take(), &mut wash);
    Ok(wash)
}
