//! Evaluation: the times measured from the run's events, each objective held against its target,
//! and the HSEEP rating proposed from them (the facilitator confirms or changes it).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::run::{EventKind, ExerciseEvent};
use super::{Act, Scenario, Target};
use crate::model::comms::Stage;
use crate::model::duration::human;

/// HSEEP's rating of an objective.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Rating {
    /// Performed without challenges.
    P,
    /// Performed with some challenges.
    S,
    /// Performed with major challenges (achieved, but it hurt other activities).
    M,
    /// Unable to be performed.
    U,
    /// Not observed.
    #[serde(rename = "N/A")]
    NotObserved,
}

impl Rating {
    pub fn letter(self) -> &'static str {
        match self {
            Rating::P => "P",
            Rating::S => "S",
            Rating::M => "M",
            Rating::U => "U",
            Rating::NotObserved => "N/A",
        }
    }

    pub fn meaning(self) -> &'static str {
        match self {
            Rating::P => "performed without challenges",
            Rating::S => "performed with some challenges",
            Rating::M => "performed with major challenges",
            Rating::U => "unable to be performed",
            Rating::NotObserved => "not observed",
        }
    }

    pub fn parse(s: &str) -> Result<Rating, String> {
        match s.trim().to_ascii_uppercase().as_str() {
            "P" => Ok(Rating::P),
            "S" => Ok(Rating::S),
            "M" => Ok(Rating::M),
            "U" => Ok(Rating::U),
            "N/A" | "NA" => Ok(Rating::NotObserved),
            _ => Err(format!("there is no rating \"{s}\": use P, S, M, U or N/A (HSEEP's scale)")),
        }
    }
}

/// What an observation says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Strength,
    Improvement,
    /// Neither: a note for the timeline.
    Note,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Strength => "strength",
            Kind::Improvement => "area for improvement",
            Kind::Note => "note",
        }
    }

    pub fn parse(s: &str) -> Result<Kind, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "strength" | "s" => Ok(Kind::Strength),
            "improvement" | "area-for-improvement" | "i" => Ok(Kind::Improvement),
            "note" | "n" => Ok(Kind::Note),
            _ => Err(format!("there is no observation kind \"{s}\": use strength, improvement or note")),
        }
    }
}

/// The times measured in a run, each from the scenario clock (so a paused exercise adds nothing).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Measures {
    /// When the first system in scope went DOWN.
    #[serde(serialize_with = "opt_secs")]
    pub first_down: Option<Duration>,
    /// First DOWN to the first operator action.
    #[serde(serialize_with = "opt_secs")]
    pub to_detect: Option<Duration>,
    /// First DOWN (or the start) to the incident's declaration.
    #[serde(serialize_with = "opt_secs")]
    pub to_declare: Option<Duration>,
    /// Per system: its verdict (or its DOWN) to the approval of its failover or restore.
    #[serde(serialize_with = "map_secs")]
    pub to_decide: BTreeMap<String, Duration>,
    /// Per system: its DOWN to its recovery (the RTO achieved).
    #[serde(serialize_with = "map_secs")]
    pub rto_achieved: BTreeMap<String, Duration>,
    /// The first notice of each stage, from the first DOWN (or the start).
    pub notices: Vec<(Stage, u64)>,
    /// Notices on time, of those that fell due.
    pub cadence: Option<(u32, u32)>,
}

fn opt_secs<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_some(&d.as_secs()),
        None => s.serialize_none(),
    }
}

fn map_secs<S: serde::Serializer>(m: &BTreeMap<String, Duration>, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(m.len()))?;
    for (k, v) in m {
        map.serialize_entry(k, &v.as_secs())?;
    }
    map.end()
}

impl Measures {
    /// Measure `events` (oldest first). `cadence` is the comms cadence kept, from the outbox.
    pub fn of(events: &[ExerciseEvent], cadence: Option<(u32, u32)>) -> Measures {
        let mut m = Measures { cadence, ..Measures::default() };
        let mut down: BTreeMap<&str, Duration> = BTreeMap::new();
        let mut verdict: BTreeMap<&str, Duration> = BTreeMap::new();
        for e in events {
            match &e.kind {
                EventKind::Down { system } => {
                    down.entry(system).or_insert(e.offset);
                    m.first_down.get_or_insert(e.offset);
                }
                EventKind::Verdict { system, .. } => {
                    verdict.entry(system).or_insert(e.offset);
                }
                _ => {}
            }
        }
        let since = |from: Option<Duration>, at: Duration| at.saturating_sub(from.unwrap_or_default());
        for e in events {
            let operator_act = matches!(e.kind, EventKind::Seen { .. } | EventKind::Acknowledged { .. });
            if let Some(first) = m.first_down
                && operator_act
                && e.offset >= first
                && m.to_detect.is_none()
            {
                m.to_detect = Some(e.offset - first);
            }
            match &e.kind {
                EventKind::Seen { act: Act::Declare, .. } if m.to_declare.is_none() => {
                    m.to_declare = Some(since(m.first_down, e.offset));
                }
                EventKind::Seen { act: Act::Notify(Some(stage)), .. }
                    if !m.notices.iter().any(|(s, _)| s == stage) =>
                {
                    m.notices.push((*stage, since(m.first_down, e.offset).as_secs()));
                }
                EventKind::Seen { act: act @ (Act::Failover(_) | Act::Restore(_)), .. } => {
                    let system = act.system().unwrap_or_default();
                    let from = verdict.get(system).or(down.get(system)).copied().or(m.first_down);
                    m.to_decide.entry(system.to_owned()).or_insert(since(from, e.offset));
                }
                EventKind::Recovered { system, .. } => {
                    let from = down.get(system.as_str()).copied().or(m.first_down);
                    m.rto_achieved.entry(system.clone()).or_insert(since(from, e.offset));
                }
                _ => {}
            }
        }
        m
    }
}

/// One objective, evaluated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObjectiveResult {
    pub id: String,
    pub text: String,
    pub target: String,
    /// What was measured, in words ("declared at 12m", "not achieved").
    pub measured: String,
    pub proposed: Rating,
    /// The facilitator's rating, when they confirmed or changed it.
    pub rating: Option<Rating>,
    pub reason: Option<String>,
    pub strengths: Vec<String>,
    pub improvements: Vec<String>,
}

impl ObjectiveResult {
    /// The rating that stands: the facilitator's, else the proposal.
    pub fn standing(&self) -> Rating {
        self.rating.unwrap_or(self.proposed)
    }
}

/// Hold a measured time against its target: P within it (S when an area for improvement was
/// observed), M within one and a half times it, U beyond or never.
fn against(value: Option<Duration>, target: Duration, began: bool, improvements: bool) -> (String, Rating) {
    match value {
        Some(v) if v <= target => {
            let rating = if improvements { Rating::S } else { Rating::P };
            (format!("{} (target {})", human(v), human(target)), rating)
        }
        Some(v) if v.as_secs_f64() <= target.as_secs_f64() * 1.5 => {
            (format!("{} (target {}: late)", human(v), human(target)), Rating::M)
        }
        Some(v) => (format!("{} (target {}: far past it)", human(v), human(target)), Rating::U),
        None if began => (format!("not achieved (target {})", human(target)), Rating::U),
        None => ("not observed".to_owned(), Rating::NotObserved),
    }
}

/// Every objective of `scenario`, evaluated from `events` and `measures`. `rto_of` gives a
/// system's RTO objective.
pub fn evaluate(
    scenario: &Scenario,
    events: &[ExerciseEvent],
    measures: &Measures,
    rto_of: &dyn Fn(&str) -> Option<Duration>,
) -> Vec<ObjectiveResult> {
    scenario
        .objectives
        .iter()
        .map(|o| {
            let linked = |inject: &Option<String>, objective: &Option<String>| {
                objective.as_deref() == Some(o.id.as_str())
                    || inject
                        .as_deref()
                        .and_then(|i| scenario.inject(i))
                        .is_some_and(|i| i.objectives.contains(&o.id))
            };
            let (mut strengths, mut improvements) = (Vec::new(), Vec::new());
            let mut rated = None;
            for e in events {
                match &e.kind {
                    EventKind::Observed { text, inject, objective, kind } if linked(inject, objective) => {
                        match kind {
                            Kind::Strength => strengths.push(text.clone()),
                            Kind::Improvement => improvements.push(text.clone()),
                            Kind::Note => {}
                        }
                    }
                    EventKind::Rated { objective, rating, reason } if *objective == o.id => {
                        rated = Some((*rating, reason.clone()));
                    }
                    _ => {}
                }
            }
            let began = measures.first_down.is_some();
            let improving = !improvements.is_empty();
            let (measured, proposed) = match &o.target {
                Target::Recovered { system, within } => {
                    let target = within.or_else(|| rto_of(system));
                    match target {
                        Some(t) => against(measures.rto_achieved.get(system).copied(), t, began, improving),
                        None => ("no RTO to hold it against".to_owned(), Rating::NotObserved),
                    }
                }
                Target::Notice { stage, within } => {
                    let v = measures
                        .notices
                        .iter()
                        .find(|(s, _)| s == stage)
                        .map(|(_, d)| Duration::from_secs(*d));
                    against(v, *within, true, improving)
                }
                Target::Declared { within } => against(measures.to_declare, *within, true, improving),
                Target::Detected { within } => against(measures.to_detect, *within, began, improving),
                Target::Decided { within } => {
                    let v = measures.to_decide.values().max().copied();
                    against(v, *within, began, improving)
                }
                Target::CadenceKept => match measures.cadence {
                    None | Some((_, 0)) => ("no notice fell due".to_owned(), Rating::NotObserved),
                    Some((kept, total)) => {
                        let rating = if kept == total {
                            if improving { Rating::S } else { Rating::P }
                        } else if kept * 2 >= total {
                            Rating::M
                        } else {
                            Rating::U
                        };
                        (format!("{kept} of {total} notices on time"), rating)
                    }
                },
                Target::Discussion { .. } => {
                    let rating = match (strengths.is_empty(), improvements.is_empty()) {
                        (false, true) => Rating::P,
                        (false, false) => Rating::S,
                        (true, false) => Rating::M,
                        (true, true) => Rating::NotObserved,
                    };
                    (
                        format!(
                            "{} strengths, {} areas for improvement observed",
                            strengths.len(),
                            improvements.len()
                        ),
                        rating,
                    )
                }
            };
            ObjectiveResult {
                id: o.id.clone(),
                text: o.text.clone(),
                target: o.target.to_string(),
                measured,
                proposed,
                rating: rated.as_ref().map(|r| r.0),
                reason: rated.map(|r| r.1),
                strengths,
                improvements,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::exercise::Objective;
    use crate::model::exercise::run::tests::{Driver, scenario, t};

    #[test]
    fn measures_come_from_the_scenario_clock() {
        let mut s = scenario(vec![]);
        s.objectives = vec![
            Objective {
                id: "O-1".into(),
                text: "recover the database".into(),
                tests: "database".into(),
                target: Target::parse("database recovered within its RTO").unwrap(),
            },
            Objective {
                id: "O-2".into(),
                text: "declare fast".into(),
                tests: "incident command".into(),
                target: Target::parse("incident declared within 5m").unwrap(),
            },
            Objective {
                id: "O-3".into(),
                text: "tell people".into(),
                tests: "comms".into(),
                target: Target::parse("initial notice sent within 10m").unwrap(),
            },
        ];
        let mut d = Driver::start(s, t(0), 1.0);
        d.record(t(60), EventKind::Down { system: "database".into() });
        d.record(t(120), EventKind::Acknowledged { inject: "I-1".into() });
        d.record(t(200), EventKind::Paused);
        d.record(t(5000), EventKind::Resumed);
        // 200 - 60 = 140 s of scenario time before the pause, 250 after it.
        d.record(t(5250), EventKind::Seen { act: Act::Declare, detail: "INC-1".into(), key: "INC-1".into() });
        d.record(
            t(5300),
            EventKind::Seen { act: Act::Failover("database".into()), detail: "J".into(), key: "J".into() },
        );
        d.record(t(5400), EventKind::Recovered { system: "database".into(), how: "failover".into() });
        let m = Measures::of(&d.events, None);
        assert_eq!(m.first_down, Some(Duration::from_secs(60)));
        assert_eq!(m.to_detect, Some(Duration::from_secs(60)));
        assert_eq!(m.to_declare, Some(Duration::from_secs(390)));
        assert_eq!(m.to_decide.get("database"), Some(&Duration::from_secs(440)));
        assert_eq!(m.rto_achieved.get("database"), Some(&Duration::from_secs(540)));
        let rto = |_: &str| Some(Duration::from_secs(600));
        let results = evaluate(&d.scenario, &d.events, &m, &rto);
        let ratings: Vec<Rating> = results.iter().map(|r| r.proposed).collect();
        // 9m within 10m: P; declared at 6m30s against 5m: late (M); no notice at all: U.
        assert_eq!(ratings, vec![Rating::P, Rating::M, Rating::U]);
        assert_eq!(results[0].measured, "9m (target 10m)");
    }

    #[test]
    fn observations_and_the_facilitators_word() {
        let mut s = scenario(vec![]);
        s.objectives = vec![Objective {
            id: "O-1".into(),
            text: "roles are clear".into(),
            tests: "incident command".into(),
            target: Target::parse("Everyone knows who decides").unwrap(),
        }];
        let mut d = Driver::start(s, t(0), 1.0);
        let m = Measures::of(&d.events, None);
        assert_eq!(evaluate(&d.scenario, &d.events, &m, &|_| None)[0].proposed, Rating::NotObserved);
        d.record(
            t(10),
            EventKind::Observed {
                text: "the IC named a scribe at once".into(),
                inject: None,
                objective: Some("O-1".into()),
                kind: Kind::Strength,
            },
        );
        d.record(
            t(20),
            EventKind::Observed {
                text: "nobody knew who calls the bank".into(),
                inject: None,
                objective: Some("O-1".into()),
                kind: Kind::Improvement,
            },
        );
        let r = &evaluate(&d.scenario, &d.events, &m, &|_| None)[0];
        assert_eq!((r.proposed, r.strengths.len(), r.improvements.len()), (Rating::S, 1, 1));
        d.record(
            t(30),
            EventKind::Rated {
                objective: "O-1".into(),
                rating: Rating::M,
                reason: "the bank call took an hour".into(),
            },
        );
        let r = &evaluate(&d.scenario, &d.events, &m, &|_| None)[0];
        assert_eq!((r.proposed, r.standing()), (Rating::S, Rating::M));
        assert_eq!(Rating::parse("n/a"), Ok(Rating::NotObserved));
    }
}
