//! Exercises (FEMA's HSEEP, NIST SP 800-84): the scenario a facilitator writes, its clock, the
//! MSEL's injects and their states, and the evaluation. Pure: the scenario file is read by
//! `config::scenario`, the run is driven by `engine::exercise`, both with time passed in.
//!
//! The words are the standard's (see EXERCISES.md): an *inject* is a row of the MSEL (Master
//! Scenario Events List); a *module* groups injects with a timebox and discussion questions;
//! an *objective* has a target a measurement can be held against, and gets an HSEEP rating.

pub mod action;
pub mod clock;
pub mod evaluate;
pub mod run;

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::comms::Stage;
use super::duration::human;

pub use action::{ActionStatus, CorrectiveAction, Element};
pub use clock::ScenarioClock;
pub use evaluate::{Measures, ObjectiveResult, Rating};
pub use run::{Decision, EventKind, ExerciseEvent, Facts, InjectRun, InjectState, Run, Seen};

/// HSEEP's exercise types, with the standard's words (tabletop / partial / full) accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExerciseType {
    /// Discussion: every action goes through the gates and is recorded, none is carried out.
    Tabletop,
    /// One function, for real (a component failover, a backup verification).
    Drill,
    /// The standard's "partial": some systems for real, the rest simulated.
    Functional,
    /// The standard's "full": the real plan, end to end.
    FullScale,
}

impl ExerciseType {
    pub const ALL: [ExerciseType; 4] =
        [ExerciseType::Tabletop, ExerciseType::Drill, ExerciseType::Functional, ExerciseType::FullScale];

    pub fn name(self) -> &'static str {
        match self {
            ExerciseType::Tabletop => "tabletop",
            ExerciseType::Drill => "drill",
            ExerciseType::Functional => "functional",
            ExerciseType::FullScale => "full-scale",
        }
    }

    /// The word the standard's testing programme uses.
    pub fn standard_word(self) -> &'static str {
        match self {
            ExerciseType::Tabletop => "tabletop",
            ExerciseType::Drill => "drill",
            ExerciseType::Functional => "partial",
            ExerciseType::FullScale => "full",
        }
    }

    /// Whether the real procedures run (on the systems in scope).
    pub fn carries_out(self) -> bool {
        self != ExerciseType::Tabletop
    }

    pub fn parse(s: &str) -> Result<ExerciseType, String> {
        match s.trim().to_ascii_lowercase().replace(['_', ' '], "-").as_str() {
            "tabletop" | "discussion" => Ok(ExerciseType::Tabletop),
            "drill" => Ok(ExerciseType::Drill),
            "functional" | "partial" => Ok(ExerciseType::Functional),
            "full-scale" | "fullscale" | "full" => Ok(ExerciseType::FullScale),
            _ => Err(format!(
                "there is no exercise type \"{s}\": use tabletop, drill, functional (partial) or full-scale (full)"
            )),
        }
    }
}

impl fmt::Display for ExerciseType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The disaster scenario types of the standard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Hazard {
    Natural,
    Cyber,
    Infrastructure,
    Pandemic,
    Regional,
}

impl Hazard {
    pub fn name(self) -> &'static str {
        match self {
            Hazard::Natural => "natural",
            Hazard::Cyber => "cyber",
            Hazard::Infrastructure => "infrastructure",
            Hazard::Pandemic => "pandemic",
            Hazard::Regional => "regional",
        }
    }

    pub fn parse(s: &str) -> Result<Hazard, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "natural" => Ok(Hazard::Natural),
            "cyber" => Ok(Hazard::Cyber),
            "infrastructure" => Ok(Hazard::Infrastructure),
            "pandemic" => Ok(Hazard::Pandemic),
            "regional" => Ok(Hazard::Regional),
            _ => Err(format!(
                "there is no scenario type \"{s}\": use natural, cyber, infrastructure, pandemic or regional"
            )),
        }
    }
}

/// What kind of message an inject is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InjectKind {
    Information,
    Event,
    Media,
    /// Sets a fault in the simulated estate.
    Technical,
    /// Backs up another inject: fires only if that inject's expected action has not happened.
    Contingency,
}

impl InjectKind {
    pub fn name(self) -> &'static str {
        match self {
            InjectKind::Information => "information",
            InjectKind::Event => "event",
            InjectKind::Media => "media",
            InjectKind::Technical => "technical",
            InjectKind::Contingency => "contingency",
        }
    }

    pub fn parse(s: &str) -> Result<InjectKind, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "information" | "info" => Ok(InjectKind::Information),
            "event" => Ok(InjectKind::Event),
            "media" => Ok(InjectKind::Media),
            "technical" => Ok(InjectKind::Technical),
            "contingency" => Ok(InjectKind::Contingency),
            _ => Err(format!(
                "there is no inject type \"{s}\": use information, event, media, technical or contingency"
            )),
        }
    }
}

/// A health state a condition waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Watched {
    Down,
    Degraded,
    Healthy,
    /// Its failover state is failed over (running on the standby).
    FailedOver,
}

impl Watched {
    pub fn name(self) -> &'static str {
        match self {
            Watched::Down => "DOWN",
            Watched::Degraded => "DEGRADED",
            Watched::Healthy => "HEALTHY",
            Watched::FailedOver => "FAILED OVER",
        }
    }
}

/// "database is DOWN": a system's state the facts must show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Condition {
    pub system: String,
    pub state: Watched,
}

impl Condition {
    pub fn parse(s: &str) -> Result<Condition, String> {
        let help = "write a condition as \"SYSTEM is STATE\" (down, degraded, healthy or failed over), e.g. \"database is DOWN\"";
        let (system, state) = s.trim().split_once(" is ").ok_or_else(|| help.to_owned())?;
        let state = match state.trim().to_ascii_lowercase().replace(['-', '_'], " ").as_str() {
            "down" => Watched::Down,
            "degraded" => Watched::Degraded,
            "healthy" | "up" => Watched::Healthy,
            "failed over" => Watched::FailedOver,
            other => return Err(format!("\"{other}\" is not a state a condition can wait for: {help}")),
        };
        let system = system.trim();
        if system.is_empty() || system.contains(char::is_whitespace) {
            return Err(help.to_owned());
        }
        Ok(Condition { system: system.to_owned(), state })
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} is {}", self.system, self.state.name())
    }
}

/// When an inject is released.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Trigger {
    /// At an offset from the start, on the scenario clock.
    At { offset: Duration },
    /// A delay after another inject was released.
    After { inject: String, delay: Duration },
    /// As soon as the facts show the condition.
    When { condition: Condition },
    /// When the facilitator releases it.
    Manual,
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trigger::At { offset } => f.write_str(&offset_text(*offset)),
            Trigger::After { inject, delay } if delay.is_zero() => write!(f, "after {inject}"),
            Trigger::After { inject, delay } => write!(f, "{} after {inject}", human(*delay)),
            Trigger::When { condition } => write!(f, "when {condition}"),
            Trigger::Manual => f.write_str("manual"),
        }
    }
}

/// `+0:05` (hours and minutes), `+1:02:30` (and seconds), `+5m`, `90s`: a scenario offset.
pub fn parse_offset(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let body = t.strip_prefix("T").unwrap_or(t).trim_start_matches('+').trim();
    let bad = || {
        format!(
            "\"{s}\" is not an offset: write +H:MM (\"+0:05\" is five minutes in), +H:MM:SS, or a duration such as \"+5m\""
        )
    };
    if body.contains(':') {
        let parts: Vec<&str> = body.split(':').collect();
        let nums: Option<Vec<u64>> = parts.iter().map(|p| p.parse::<u64>().ok()).collect();
        let nums = nums.ok_or_else(bad)?;
        let secs = match nums.as_slice() {
            [h, m] if *m < 60 => h * 3600 + m * 60,
            [h, m, sec] if *m < 60 && *sec < 60 => h * 3600 + m * 60 + sec,
            _ => return Err(bad()),
        };
        return Ok(Duration::from_secs(secs));
    }
    parse_simple_duration(body).ok_or_else(bad)
}

/// `5m`, `90s`, `2h`, `1h30m`: the forms a scenario's times take.
pub fn parse_simple_duration(s: &str) -> Option<Duration> {
    let mut total = 0u64;
    let mut number = String::new();
    let mut any = false;
    for c in s.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        if c == ' ' {
            continue;
        }
        let n: u64 = number.parse().ok()?;
        number.clear();
        total += n * match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return None,
        };
        any = true;
    }
    if !number.is_empty() {
        return None;
    }
    any.then(|| Duration::from_secs(total))
}

/// `+0:05`, `+1:02:30`: how an offset is written back.
pub fn offset_text(d: Duration) -> String {
    let s = d.as_secs();
    let (h, m, sec) = (s / 3600, (s % 3600) / 60, s % 60);
    if sec == 0 { format!("+{h}:{m:02}") } else { format!("+{h}:{m:02}:{sec:02}") }
}

/// An action the run can see happen, so an inject's expected action is checked, not guessed.
/// Stored and shown as it is written: `failover database`, `notify initial`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Act {
    /// A player acknowledged the inject.
    Acknowledge,
    /// An incident was declared.
    Declare,
    /// A notice of this stage (any stage when `None`) was sent through the gate.
    Notify(Option<Stage>),
    Failover(String),
    Failback(String),
    Restore(String),
    Backup(String),
    /// A recovery plan was approved.
    Recover,
}

impl Act {
    pub fn parse(s: &str) -> Result<Act, String> {
        let mut words = s.split_whitespace();
        let verb = words.next().unwrap_or_default().to_ascii_lowercase();
        let arg = words.next();
        let help = "an expected action is one of: acknowledge, declare, notify [STAGE], failover SYSTEM, failback SYSTEM, restore SYSTEM, backup SYSTEM, recover";
        let system = |arg: Option<&str>| {
            arg.map(str::to_owned)
                .ok_or_else(|| format!("\"{verb}\" needs the system it acts on: \"{verb} database\""))
        };
        let act = match verb.as_str() {
            "acknowledge" | "ack" => Act::Acknowledge,
            "declare" => Act::Declare,
            "notify" => Act::Notify(arg.map(Stage::parse).transpose()?),
            "failover" => Act::Failover(system(arg)?),
            "failback" => Act::Failback(system(arg)?),
            "restore" => Act::Restore(system(arg)?),
            "backup" => Act::Backup(system(arg)?),
            "recover" => Act::Recover,
            _ => return Err(format!("\"{s}\" is not an action warroom can see: {help}")),
        };
        let takes = match act {
            Act::Acknowledge | Act::Declare | Act::Recover => 0,
            _ => 1,
        };
        if let Some(extra) = s.split_whitespace().nth(1 + takes) {
            return Err(format!("\"{s}\": \"{extra}\" is one word too many ({help})"));
        }
        Ok(act)
    }

    /// Whether a seen action `seen` counts as this one.
    pub fn matches(&self, seen: &Act) -> bool {
        match (self, seen) {
            (Act::Notify(None), Act::Notify(_)) => true,
            (a, b) => a == b,
        }
    }

    pub fn system(&self) -> Option<&str> {
        match self {
            Act::Failover(s) | Act::Failback(s) | Act::Restore(s) | Act::Backup(s) => Some(s),
            _ => None,
        }
    }
}

impl fmt::Display for Act {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Act::Acknowledge => f.write_str("acknowledge"),
            Act::Declare => f.write_str("declare"),
            Act::Notify(None) => f.write_str("notify"),
            Act::Notify(Some(stage)) => write!(f, "notify {stage}"),
            Act::Failover(s) => write!(f, "failover {s}"),
            Act::Failback(s) => write!(f, "failback {s}"),
            Act::Restore(s) => write!(f, "restore {s}"),
            Act::Backup(s) => write!(f, "backup {s}"),
            Act::Recover => f.write_str("recover"),
        }
    }
}

impl Serialize for Act {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Act {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Act::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// What the players are expected to do after an inject (hidden from them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expected {
    /// In the facilitator's words.
    pub text: String,
    /// The action warroom watches for, when it is one it can see.
    pub act: Option<Act>,
    /// How long after the release it should have happened.
    pub within: Duration,
}

/// A row of the MSEL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inject {
    pub id: String,
    /// Its place in the file (the MSEL's sequence).
    pub seq: usize,
    pub module: Option<String>,
    pub trigger: Trigger,
    pub kind: InjectKind,
    /// The persona it comes from ("Facilities manager", "Reporter, Daily Bugle").
    pub from: String,
    /// A role, a list or "everyone".
    pub to: String,
    pub title: String,
    pub body: String,
    pub expected: Option<Expected>,
    pub objectives: Vec<String>,
    /// For a technical inject: the system and the fault it sets (`"down"`, `"slow 6000"`).
    pub fault: Option<(String, String)>,
    /// For a contingency inject: the inject it backs up.
    pub contingency_for: Option<String>,
}

impl Inject {
    /// Addressed to the facilitator (`to = "facilitator"`): never in the players' view.
    pub fn facilitator_only(&self) -> bool {
        self.to.trim().eq_ignore_ascii_case("facilitator")
    }
}

/// A group of injects with a timebox and discussion questions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Module {
    pub id: String,
    pub title: String,
    pub timebox: Duration,
    pub questions: Vec<String>,
}

/// What meeting an objective looks like, so a measurement can be held against it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Target {
    /// "database recovered within its RTO" (`within` None) or "within 30m".
    Recovered { system: String, within: Option<Duration> },
    /// "initial notice sent within 10m" ("T+0 notice sent within 10 min").
    Notice { stage: Stage, within: Duration },
    /// "incident declared within 15m" (from the first DOWN).
    Declared { within: Duration },
    /// "detected within 5m": the first operator action after the first DOWN.
    Detected { within: Duration },
    /// "decided within 10m": from the verdict (or the first DOWN) to the approval.
    Decided { within: Duration },
    /// "cadence kept": every notice on time.
    CadenceKept,
    /// Anything else: rated from the observations alone.
    Discussion { text: String },
}

impl Target {
    /// Read a target as a facilitator writes it. Anything that is not one of the measured
    /// forms is a discussion target, rated from observations.
    pub fn parse(s: &str) -> Result<Target, String> {
        let t = s.trim();
        let lower = t.to_ascii_lowercase();
        let within = |rest: &str| -> Result<Duration, String> {
            let d = rest.trim().trim_end_matches('.');
            let d = d.replace(" minutes", "m").replace(" minute", "m").replace(" min", "m");
            let d = d.replace(" hours", "h").replace(" hour", "h").replace(" seconds", "s");
            parse_simple_duration(&d)
                .ok_or_else(|| format!("\"{t}\": \"{}\" is not a duration such as 10m or 1h", rest.trim()))
        };
        if let Some((head, rest)) = lower.split_once(" recovered within ") {
            let system = head.trim().to_owned();
            let rest = rest.trim();
            let within = if rest == "its rto" || rest == "rto" { None } else { Some(within(rest)?) };
            return Ok(Target::Recovered { system, within });
        }
        if let Some((head, rest)) = lower.split_once(" notice sent within ") {
            let stage = Stage::parse(head.trim()).map_err(|e| format!("\"{t}\": {e}"))?;
            return Ok(Target::Notice { stage, within: within(rest)? });
        }
        for (prefix, make) in [
            ("incident declared within ", (|d| Target::Declared { within: d }) as fn(Duration) -> Target),
            ("declared within ", |d| Target::Declared { within: d }),
            ("detected within ", |d| Target::Detected { within: d }),
            ("decided within ", |d| Target::Decided { within: d }),
            ("decision within ", |d| Target::Decided { within: d }),
        ] {
            if let Some(rest) = lower.strip_prefix(prefix) {
                return Ok(make(within(rest)?));
            }
        }
        if lower == "cadence kept" || lower == "comms cadence kept" {
            return Ok(Target::CadenceKept);
        }
        Ok(Target::Discussion { text: t.to_owned() })
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Recovered { system, within: None } => write!(f, "{system} recovered within its RTO"),
            Target::Recovered { system, within: Some(d) } => {
                write!(f, "{system} recovered within {}", human(*d))
            }
            Target::Notice { stage, within } => write!(f, "{} sent within {}", stage.title(), human(*within)),
            Target::Declared { within } => write!(f, "incident declared within {}", human(*within)),
            Target::Detected { within } => write!(f, "detected within {}", human(*within)),
            Target::Decided { within } => write!(f, "decided within {}", human(*within)),
            Target::CadenceKept => f.write_str("comms cadence kept"),
            Target::Discussion { text } => f.write_str(text),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Objective {
    pub id: String,
    pub text: String,
    /// The capability or system it tests.
    pub tests: String,
    pub target: Target,
}

/// Where an exercise's notices go.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ExerciseNotices {
    /// The lists that hear of it (an exercise list); empty: only the file channel.
    pub lists: Vec<String>,
    /// The scenario says real stakeholders are told (`notify = "real"`).
    pub real: bool,
}

/// A scenario, as checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scenario {
    pub name: String,
    pub kind: ExerciseType,
    pub hazard: Hazard,
    pub description: String,
    pub objectives: Vec<Objective>,
    /// The systems in play: every other system is out of bounds for side effects.
    pub scope: Vec<String>,
    pub modules: Vec<Module>,
    /// In the file's order (the MSEL's sequence).
    pub injects: Vec<Inject>,
    pub notices: ExerciseNotices,
    /// Systems the scenario means to leave failed over at the end (the cleanup check allows them).
    pub leave_failed_over: Vec<String>,
}

impl Scenario {
    pub fn inject(&self, id: &str) -> Option<&Inject> {
        self.injects.iter().find(|i| i.id == id)
    }

    pub fn objective(&self, id: &str) -> Option<&Objective> {
        self.objectives.iter().find(|o| o.id == id)
    }

    pub fn in_scope(&self, system: &str) -> bool {
        self.scope.iter().any(|s| s == system)
    }
}

/// An exercise as the store keeps it: the scenario's exact text (evidence of what ran) and
/// when it started and ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExerciseRecord {
    pub id: String,
    pub name: String,
    pub kind: ExerciseType,
    /// The scenario file's text.
    #[serde(skip)]
    pub scenario: String,
    /// The scenario as it was checked when the exercise started (what runs, whatever the
    /// configuration says later).
    #[serde(skip)]
    pub checked: Scenario,
    pub scenario_sha256: String,
    pub path: String,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub started_by: String,
    pub ended_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_read_as_a_facilitator_writes_them() {
        assert_eq!(parse_offset("+0:05"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_offset("+1:02:30"), Ok(Duration::from_secs(3750)));
        assert_eq!(parse_offset("T+0:10"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_offset("+5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_offset("90s"), Ok(Duration::from_secs(90)));
        assert!(parse_offset("+0:75").is_err());
        assert!(parse_offset("soon").unwrap_err().contains("+H:MM"));
        assert_eq!(offset_text(Duration::from_secs(300)), "+0:05");
        assert_eq!(offset_text(Duration::from_secs(3750)), "+1:02:30");
    }

    #[test]
    fn types_take_the_standards_words() {
        assert_eq!(ExerciseType::parse("partial"), Ok(ExerciseType::Functional));
        assert_eq!(ExerciseType::parse("full"), Ok(ExerciseType::FullScale));
        assert_eq!(ExerciseType::parse("Full-Scale"), Ok(ExerciseType::FullScale));
        assert!(ExerciseType::parse("game").unwrap_err().contains("tabletop"));
        assert!(!ExerciseType::Tabletop.carries_out());
    }

    #[test]
    fn conditions_and_actions_parse_or_say_how() {
        let c = Condition::parse("database is DOWN").unwrap();
        assert_eq!((c.system.as_str(), c.state), ("database", Watched::Down));
        assert_eq!(Condition::parse("api is failed over").unwrap().state, Watched::FailedOver);
        assert!(Condition::parse("database down").unwrap_err().contains("SYSTEM is STATE"));
        assert_eq!(Act::parse("failover database"), Ok(Act::Failover("database".into())));
        assert_eq!(Act::parse("notify initial"), Ok(Act::Notify(Some(Stage::Initial))));
        assert_eq!(Act::parse("notify"), Ok(Act::Notify(None)));
        assert!(Act::parse("failover").unwrap_err().contains("needs the system"));
        assert!(Act::parse("declare now").unwrap_err().contains("one word too many"));
        assert!(Act::parse("panic").unwrap_err().contains("acknowledge, declare"));
        assert!(Act::Notify(None).matches(&Act::Notify(Some(Stage::Update))));
        assert!(!Act::Notify(Some(Stage::Initial)).matches(&Act::Notify(Some(Stage::Update))));
    }

    #[test]
    fn targets_are_measured_when_they_can_be() {
        assert_eq!(
            Target::parse("database recovered within its RTO"),
            Ok(Target::Recovered { system: "database".into(), within: None })
        );
        assert_eq!(
            Target::parse("T+0 notice sent within 10 min"),
            Ok(Target::Notice { stage: Stage::Initial, within: Duration::from_secs(600) })
        );
        assert_eq!(
            Target::parse("incident declared within 15m"),
            Ok(Target::Declared { within: Duration::from_secs(900) })
        );
        assert!(matches!(Target::parse("Roles are clear to everyone"), Ok(Target::Discussion { .. })));
        assert!(Target::parse("files recovered within a while").unwrap_err().contains("not a duration"));
    }
}
