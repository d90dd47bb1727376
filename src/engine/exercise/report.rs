//! Ending an exercise (hot wash, faults cleared, the cleanup check, the improvement plan) and the
//! after-action report: Markdown, JSON and a self-contained HTML page that prints.

use std::fmt::Write;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{ExerciseView, Injector};
use crate::engine::Engine;
use crate::engine::access::WriteError;
use crate::model::duration::human;
use crate::model::exercise::evaluate::{Kind, Measures, ObjectiveResult, evaluate};
use crate::model::exercise::{
    ActionStatus, CorrectiveAction, Element, EventKind, ExerciseType, Hazard, InjectState, offset_text,
};
use crate::model::failover::FailoverState;
use crate::model::statuspage::escape;
use crate::store::{NewAuditRecord, Outcome};

/// One system after the exercise: back to normal, or not, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CleanupLine {
    pub system: String,
    pub state: String,
    pub ok: bool,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObservationLine {
    pub offset: String,
    pub author: String,
    pub kind: &'static str,
    pub text: String,
    pub inject: Option<String>,
    pub objective: Option<String>,
}

impl ObservationLine {
    /// "Strength: TEXT (I-2, O-1)".
    fn line(&self) -> String {
        let about: Vec<&str> = self.inject.iter().chain(&self.objective).map(String::as_str).collect();
        let kind = match self.kind {
            "strength" => "Strength",
            "area for improvement" => "Area for improvement",
            _ => "Note",
        };
        if about.is_empty() {
            format!("{kind}: {}", self.text)
        } else {
            format!("{kind}: {} ({})", self.text, about.join(", "))
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineLine {
    pub offset: String,
    pub at: DateTime<Utc>,
    pub author: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InjectLine {
    pub id: String,
    pub title: String,
    pub trigger: String,
    pub state: InjectState,
    pub released: Option<String>,
    pub acknowledged_by: Option<String>,
    pub expected: Option<String>,
    pub outcome: Option<String>,
}

/// How the ending went, beyond the report.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HotWash {
    pub went_well: Vec<String>,
    pub improve: Vec<String>,
}

/// The after-action report and improvement plan (AAR/IP).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AfterAction {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ExerciseType,
    pub standard_word: &'static str,
    pub hazard: Hazard,
    pub description: String,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub facilitator: String,
    pub scope: Vec<String>,
    pub participants: Vec<String>,
    pub objectives: Vec<ObjectiveResult>,
    pub measures: Measures,
    /// Per system that went down: the data a restore would lose, from the newest verified
    /// backup taken before it went down to the moment it did.
    #[serde(serialize_with = "secs_map")]
    pub rpo_achieved: std::collections::BTreeMap<String, Duration>,
    /// Systems that went down with no verified backup before.
    pub rpo_unprotected: Vec<String>,
    /// The RTO and RPO in force for each system in scope.
    #[serde(skip)]
    pub objectives_of: std::collections::BTreeMap<String, (Duration, Duration)>,
    pub injects: Vec<InjectLine>,
    pub timeline: Vec<TimelineLine>,
    /// Every observation, with the inject or objective it is about.
    pub observations: Vec<ObservationLine>,
    pub hot_wash: HotWash,
    pub cleanup: Vec<CleanupLine>,
    pub actions: Vec<ActionLine>,
    pub scenario_path: String,
    pub scenario_sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionLine {
    #[serde(flatten)]
    pub action: CorrectiveAction,
    pub status: ActionStatus,
}

/// How an exercise ends.
#[derive(Debug, Clone, Default)]
pub struct Ending {
    pub hot_wash: HotWash,
    /// Systems left failed over on purpose (besides the scenario's own list).
    pub leave: Vec<String>,
    /// Who owns a corrective action no system owner takes (the facilitator by default).
    pub owner: Option<String>,
    /// When corrective actions fall due (30 days by default).
    pub due_in: Option<Duration>,
}

const DEFAULT_DUE: Duration = Duration::from_secs(30 * 86_400);

impl Engine {
    /// End the open exercise: clear the faults its injects set, record the hot wash, open a
    /// corrective action for every area for improvement, and write the after-action report.
    pub async fn end_exercise(
        &self,
        ending: Ending,
        injector: Option<&dyn Injector>,
        operator: &str,
    ) -> Result<(AfterAction, Vec<String>), String> {
        let view = self.running().await?;
        self.permit_write(operator, "ending an exercise", "exercise.ended", &view.record.id)
            .await
            .map_err(|e| e.to_string())?;
        let now = self.now();
        let mut lines = Vec::new();
        let mut cleared = Vec::new();
        for e in &view.events {
            if let EventKind::Fault { system, applied: true, .. } = &e.kind
                && !cleared.contains(system)
            {
                cleared.push(system.clone());
                let result = match injector {
                    Some(i) => Some(i.clear(system).await),
                    None => None,
                };
                match result {
                    Some(Ok(())) => lines.push(format!("fault cleared on {system}")),
                    Some(Err(e)) => lines.push(format!("the fault on {system} could not be cleared: {e}")),
                    None => lines.push(format!("the fault on {system} is still set: clear it with `warroom sim fault {system} healthy`")),
                }
            }
        }
        for l in &ending.leave {
            if !view.scenario().in_scope(l) {
                return Err(format!(
                    "{l} is not in the exercise's scope: only a system in play can be left failed over"
                ));
            }
        }
        let mut events = Vec::new();
        let hw = &ending.hot_wash;
        if !hw.went_well.is_empty() || !hw.improve.is_empty() {
            events.push(self.audited(
                &view,
                now,
                operator,
                EventKind::HotWash { went_well: hw.went_well.clone(), improve: hw.improve.clone() },
            ));
        }
        events.push(self.audited(&view, now, operator, EventKind::Ended));
        // Corrective actions: each area for improvement, from the evaluators and the hot wash.
        let base = self.store.action_count().await.map_err(|e| e.to_string())?;
        let due = now + chrono::Duration::from_std(ending.due_in.unwrap_or(DEFAULT_DUE)).unwrap_or_default();
        let mut improvements: Vec<(String, Option<String>)> = view
            .events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Observed { text, kind: Kind::Improvement, objective, inject } => {
                    let objective = objective.clone().or_else(|| {
                        inject
                            .as_deref()
                            .and_then(|i| view.scenario().inject(i))
                            .and_then(|i| i.objectives.first().cloned())
                    });
                    Some((text.clone(), objective))
                }
                _ => None,
            })
            .collect();
        improvements.extend(hw.improve.iter().map(|t| (t.clone(), None)));
        let mut actions = Vec::new();
        for (n, (issue, objective)) in improvements.into_iter().enumerate() {
            let system = objective
                .as_deref()
                .and_then(|o| view.scenario().objective(o))
                .map(|o| o.tests.clone())
                .filter(|t| self.config.estate.system(t).is_some());
            let owner = system
                .as_deref()
                .and_then(|s| self.config.estate.system(s))
                .and_then(|s| s.owner.clone())
                .or(ending.owner.clone())
                .unwrap_or_else(|| view.record.started_by.clone());
            let id = format!("CA-{}", base + n as i64 + 1);
            let action = CorrectiveAction {
                id: id.clone(),
                exercise: Some(view.record.id.clone()),
                objective,
                system,
                action: format!("Address: {issue}"),
                issue,
                element: Element::Planning,
                owner,
                opened_at: now,
                due,
                closed_at: None,
                closed_by: None,
                evidence: None,
            };
            let audit = NewAuditRecord::new(operator, "action.opened", &id, Outcome::Recorded).details(serde_json::json!({
                "exercise": view.record.id, "issue": action.issue, "owner": action.owner, "due": action.due,
                "system": action.system,
            }));
            actions.push((action, audit));
        }
        if !actions.is_empty() {
            self.store.add_actions(&actions).await.map_err(|e| e.to_string())?;
            let n = actions.len();
            lines.push(format!(
                "{n} corrective action{} opened (`warroom actions` lists them)",
                if n == 1 { "" } else { "s" }
            ));
        }
        self.store.end_exercise(&view.record.id, &events, now).await.map_err(|e| e.to_string())?;
        let mut report = self.after_action(Some(&view.record.id)).await?;
        // The leave list of this ending counts in its cleanup check.
        for line in report.cleanup.iter_mut() {
            if !line.ok
                && ending.leave.contains(&line.system)
                && line.state == FailoverState::Recovered.name()
            {
                line.ok = true;
                line.note = "left failed over on purpose (at the end)".into();
            }
        }
        match self.record_exercise_results(&report, operator).await {
            Ok(results) if results.is_empty() => lines
                .push("testing programme: no inject was released, so this does not count as a test".into()),
            Ok(results) => {
                let systems: Vec<&str> = results.iter().map(|r| r.system.as_str()).collect();
                lines.push(format!(
                    "testing programme: a {} test of {} recorded",
                    report.kind,
                    systems.join(", ")
                ));
            }
            Err(e) => lines.push(format!("the testing programme's results could not be recorded: {e}")),
        }
        let written = self.write_after_action(&report)?;
        lines.push(format!("after-action report: {}", written.display()));
        Ok((report, lines))
    }

    /// Write the report as Markdown, JSON and HTML to `state_dir/exercises/`; the Markdown's path.
    pub fn write_after_action(&self, report: &AfterAction) -> Result<std::path::PathBuf, String> {
        let dir = self.state_dir().join("exercises");
        crate::store::create_private_dir(&dir)?;
        let write = |ext: &str, text: String| {
            let path = dir.join(format!("{}.{ext}", report.id));
            std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            Ok::<_, String>(path)
        };
        write("json", serde_json::to_string_pretty(report).map_err(|e| e.to_string())?)?;
        write("html", after_action_html(report))?;
        write("md", after_action_markdown(report))
    }

    /// The after-action report of exercise `id` (the open or newest one when `None`).
    pub async fn after_action(&self, id: Option<&str>) -> Result<AfterAction, String> {
        let view = self.exercise(id).await?;
        let cleanup = self.cleanup(&view).await?;
        let s = view.scenario();
        let cadence = self.exercise_cadence(&view).await;
        let measures = Measures::of(&view.events, cadence);
        // RPO achieved: what a restore would lose, per system that went down.
        let mut downs: std::collections::BTreeMap<String, DateTime<Utc>> = Default::default();
        for e in &view.events {
            if let EventKind::Down { system } = &e.kind {
                downs.entry(system.clone()).or_insert(e.at);
            }
        }
        let (mut rpo_achieved, mut rpo_unprotected) = (std::collections::BTreeMap::new(), Vec::new());
        for (system, down) in &downs {
            // An unreadable catalog is an error, not "no verified backup before it went down".
            let backups = self.backups(Some(system)).await?;
            let newest = backups
                .iter()
                .filter(|b| b.verified_at().is_some() && b.manifest.started_at <= *down)
                .map(|b| b.manifest.started_at)
                .max();
            match newest {
                Some(t) => {
                    rpo_achieved.insert(system.clone(), (*down - t).to_std().unwrap_or_default());
                }
                None => rpo_unprotected.push(system.clone()),
            }
        }
        let objectives_of = s
            .scope
            .iter()
            .filter_map(|n| {
                self.config.estate.system(n).map(|x| (n.clone(), (x.objective.rto, x.objective.rpo)))
            })
            .collect();
        let rto_of = |system: &str| self.config.estate.system(system).map(|s| s.objective.rto);
        let objectives = evaluate(s, &view.events, &measures, &rto_of);
        let mut participants: Vec<String> = Vec::new();
        for e in &view.events {
            if e.author != "exercise" && !participants.contains(&e.author) {
                participants.push(e.author.clone());
            }
        }
        let injects = s
            .injects
            .iter()
            .zip(&view.run.injects)
            .map(|(i, r)| InjectLine {
                id: i.id.clone(),
                title: i.title.clone(),
                trigger: i.trigger.to_string(),
                state: r.state,
                released: r.released.map(offset_text),
                acknowledged_by: r.acknowledged.as_ref().map(|a| a.0.clone()),
                expected: i.expected.as_ref().map(|e| format!("{} (within {})", e.text, human(e.within))),
                outcome: r.resolved.clone().or(r.skipped.clone()),
            })
            .collect();
        let timeline = view
            .events
            .iter()
            .map(|e| TimelineLine {
                offset: offset_text(e.offset),
                at: e.at,
                author: e.author.clone(),
                text: e.kind.describe(s),
            })
            .collect();
        let observations = view
            .events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Observed { text, inject, objective, kind } => Some(ObservationLine {
                    offset: offset_text(e.offset),
                    author: e.author.clone(),
                    kind: kind.name(),
                    text: text.clone(),
                    inject: inject.clone(),
                    objective: objective.clone(),
                }),
                _ => None,
            })
            .collect();
        let hot_wash = view
            .events
            .iter()
            .rev()
            .find_map(|e| match &e.kind {
                EventKind::HotWash { went_well, improve } => {
                    Some(HotWash { went_well: went_well.clone(), improve: improve.clone() })
                }
                _ => None,
            })
            .unwrap_or_default();
        let now = self.now();
        let actions = self
            .store
            .actions()
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|a| a.exercise.as_deref() == Some(view.record.id.as_str()))
            .map(|a| ActionLine { status: a.status(now), action: a })
            .collect();
        Ok(AfterAction {
            id: view.record.id.clone(),
            name: s.name.clone(),
            kind: s.kind,
            standard_word: s.kind.standard_word(),
            hazard: s.hazard,
            description: s.description.clone(),
            started_at: view.record.started_at,
            ended_at: view.record.ended_at,
            facilitator: view.record.started_by.clone(),
            scope: s.scope.clone(),
            participants,
            objectives,
            measures,
            rpo_achieved,
            rpo_unprotected,
            objectives_of,
            injects,
            timeline,
            observations,
            hot_wash,
            cleanup,
            actions,
            scenario_path: view.record.path.clone(),
            scenario_sha256: view.record.scenario_sha256.clone(),
        })
    }

    /// Notices on time, of those due, for the incidents declared in the exercise.
    async fn exercise_cadence(&self, view: &ExerciseView) -> Option<(u32, u32)> {
        let end = view.record.ended_at;
        let incidents = self.store.incidents().await.ok()?;
        let mut total = (0u32, 0u32);
        let mut any = false;
        for i in incidents
            .iter()
            .filter(|i| i.declared_at >= view.record.started_at && end.is_none_or(|e| i.declared_at <= e))
        {
            if let Ok(status) = self.comms_status(i).await {
                total.0 += status.kept.on_time as u32;
                total.1 += status.kept.due as u32;
                any = true;
            }
        }
        any.then_some(total)
    }

    /// Every system in scope: back to normal, left failed over on purpose, or not.
    async fn cleanup(&self, view: &ExerciseView) -> Result<Vec<CleanupLine>, String> {
        let s = view.scenario();
        let states = self.failover_states().await.map_err(|e| e.to_string())?;
        let jobs = self.jobs.list(500).await.map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        for system in &s.scope {
            let state = states.iter().find(|r| &r.system == system).map(|r| r.state).unwrap_or_default();
            let running = jobs.iter().find(|j| {
                &j.target == system
                    && !j.state.finished()
                    && j.state != crate::engine::jobs::JobState::Proposed
            });
            let (ok, note) = match (state, running) {
                (_, Some(job)) => {
                    (false, format!("job {} ({}) is still {}", job.id, job.kind.name(), job.state))
                }
                (FailoverState::Normal, None) => (true, "back to normal".to_owned()),
                // Never failed over: the alert clears with the next healthy probes.
                (FailoverState::Alert, None) => {
                    (true, "not failed over (its alert clears once it is healthy again)".to_owned())
                }
                (FailoverState::Recovered, None) if s.leave_failed_over.contains(system) => {
                    (true, "left failed over on purpose (the scenario says so)".to_owned())
                }
                (FailoverState::Recovered, None) => {
                    (false, "left failed over (commit window open): commit it or fail it back".to_owned())
                }
                (FailoverState::Failed, None) => {
                    (false, "failed: its failover or failback did not complete".to_owned())
                }
                (other, None) => (false, format!("still {}", other.words())),
            };
            out.push(CleanupLine { system: system.clone(), state: state.name().to_owned(), ok, note });
        }
        let end = view.record.ended_at;
        for i in self.store.incidents().await.map_err(|e| e.to_string())? {
            if i.declared_at >= view.record.started_at
                && end.is_none_or(|e| i.declared_at <= e)
                && i.closed_at.is_none()
            {
                out.push(CleanupLine {
                    system: i.id.clone(),
                    state: "open".into(),
                    ok: false,
                    note: "an incident declared in the exercise is still open: close it (`warroom incident close`)".into(),
                });
            }
        }
        Ok(out)
    }
}

/// The report as Markdown.
pub fn after_action_markdown(r: &AfterAction) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# After-action report: {}\n", r.name);
    let _ = writeln!(md, "| | |\n|---|---|");
    let _ = writeln!(md, "| Exercise | {} |", r.id);
    let _ = writeln!(md, "| Type | {} |", type_words(r));
    let _ = writeln!(md, "| Scenario | {} ({}) |", r.hazard.name(), r.scenario_path);
    let _ = writeln!(md, "| Started | {} |", r.started_at.format("%Y-%m-%d %H:%M:%S UTC"));
    match r.ended_at {
        Some(e) => {
            let _ = writeln!(md, "| Ended | {} |", e.format("%Y-%m-%d %H:%M:%S UTC"));
        }
        None => {
            let _ = writeln!(md, "| Ended | still running |");
        }
    }
    let _ = writeln!(md, "| Facilitator | {} |", r.facilitator);
    let _ = writeln!(md, "| Scope | {} |", r.scope.join(", "));
    let _ = writeln!(md, "| Participants | {} |", r.participants.join(", "));
    let _ = writeln!(md, "| Scenario SHA-256 | `{}` |\n", r.scenario_sha256);
    if !r.description.is_empty() {
        let _ = writeln!(md, "{}\n", r.description.trim());
    }
    let _ = writeln!(md, "## Objectives\n\n| Objective | Target | Measured | Rating |\n|---|---|---|---|");
    for o in &r.objectives {
        let rating = match (o.rating, &o.reason) {
            (Some(x), Some(reason)) if x != o.proposed => {
                format!("{} (proposed {}: {reason})", x.letter(), o.proposed.letter())
            }
            (Some(x), _) => format!("{} (confirmed)", x.letter()),
            (None, _) => format!("{} (proposed)", o.proposed.letter()),
        };
        let _ = writeln!(md, "| {} {} | {} | {} | {} |", o.id, o.text, o.target, o.measured, rating);
    }
    for o in &r.objectives {
        if o.strengths.is_empty() && o.improvements.is_empty() {
            continue;
        }
        let _ = writeln!(md, "\n### {} {}\n", o.id, o.text);
        for s in &o.strengths {
            let _ = writeln!(md, "- Strength: {s}");
        }
        for s in &o.improvements {
            let _ = writeln!(md, "- Area for improvement: {s}");
        }
    }
    let _ = writeln!(md, "\n## Measured\n");
    for line in measured_lines(r) {
        let _ = writeln!(md, "- {line}");
    }
    let _ = writeln!(
        md,
        "\n## Injects\n\n| Inject | Trigger | State | Released | Outcome |\n|---|---|---|---|---|"
    );
    for i in &r.injects {
        let _ = writeln!(
            md,
            "| {} {} | {} | {} | {} | {} |",
            i.id,
            i.title,
            i.trigger,
            i.state.name(),
            i.released.as_deref().unwrap_or("-"),
            i.outcome.as_deref().unwrap_or("-")
        );
    }
    if !r.observations.is_empty() {
        let _ = writeln!(md, "\n## Observations\n");
        for o in &r.observations {
            let _ = writeln!(md, "- {} {}: {}", o.offset, o.author, o.line());
        }
    }
    let _ = writeln!(md, "\n## Timeline\n\n| Scenario time | By | What |\n|---|---|---|");
    for t in &r.timeline {
        let _ = writeln!(md, "| {} | {} | {} |", t.offset, t.author, t.text.replace('|', "\\|"));
    }
    let _ = writeln!(md, "\n## Hot wash\n");
    for w in &r.hot_wash.went_well {
        let _ = writeln!(md, "- Went well: {w}");
    }
    for w in &r.hot_wash.improve {
        let _ = writeln!(md, "- To improve: {w}");
    }
    if r.hot_wash.went_well.is_empty() && r.hot_wash.improve.is_empty() {
        let _ = writeln!(md, "(none recorded)");
    }
    let _ = writeln!(md, "\n## Cleanup\n\n| System | State | |\n|---|---|---|");
    for c in &r.cleanup {
        let _ = writeln!(md, "| {} | {} | {} {} |", c.system, c.state, if c.ok { "✔" } else { "✘" }, c.note);
    }
    let _ = writeln!(md, "\n## Improvement plan\n");
    if r.actions.is_empty() {
        let _ = writeln!(md, "No corrective actions.");
    } else {
        let _ = writeln!(
            md,
            "| Id | Issue | Action | Element | Owner | Due | Status |\n|---|---|---|---|---|---|---|"
        );
        for a in &r.actions {
            let x = &a.action;
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} |",
                x.id,
                x.issue,
                x.action,
                x.element.name(),
                x.owner,
                x.due.format("%Y-%m-%d"),
                a.status.name()
            );
        }
    }
    md
}

/// The report as one HTML page: no script, no external resource, and it prints.
pub fn after_action_html(r: &AfterAction) -> String {
    let mut h = String::new();
    let e = |s: &str| escape(s);
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>After-action report: {}</title>\n\
         <style>body{{font:14px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#111}}\
         table{{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}}th,td{{border:1px solid #bbb;padding:.25rem .5rem;text-align:left;vertical-align:top}}\
         th{{background:#eee}}.ok{{color:#075}}.bad{{color:#a00;font-weight:bold}}.rating{{font-weight:bold;font-size:1.1em}}\
         @media print{{body{{margin:0;max-width:none}}h2{{break-after:avoid}}tr{{break-inside:avoid}}}}</style></head><body>\n",
        e(&r.name)
    );
    let _ = writeln!(h, "<h1>After-action report: {}</h1>", e(&r.name));
    let _ = writeln!(h, "<table><tbody>");
    let row = |h: &mut String, k: &str, v: &str| {
        let _ = writeln!(h, "<tr><th>{k}</th><td>{v}</td></tr>");
    };
    row(&mut h, "Exercise", &e(&r.id));
    row(&mut h, "Type", &type_words(r));
    row(&mut h, "Scenario", &format!("{} — {}", r.hazard.name(), e(&r.scenario_path)));
    row(&mut h, "Started", &r.started_at.format("%Y-%m-%d %H:%M:%S UTC").to_string());
    row(
        &mut h,
        "Ended",
        &r.ended_at.map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string()).unwrap_or("still running".into()),
    );
    row(&mut h, "Facilitator", &e(&r.facilitator));
    row(&mut h, "Scope", &e(&r.scope.join(", ")));
    row(&mut h, "Participants", &e(&r.participants.join(", ")));
    row(&mut h, "Scenario SHA-256", &format!("<code>{}</code>", e(&r.scenario_sha256)));
    let _ = writeln!(h, "</tbody></table>");
    if !r.description.is_empty() {
        let _ = writeln!(h, "<p>{}</p>", e(r.description.trim()));
    }
    let _ = writeln!(
        h,
        "<h2>Objectives</h2><table><thead><tr><th>Objective</th><th>Target</th><th>Measured</th><th>Rating</th></tr></thead><tbody>"
    );
    for o in &r.objectives {
        let standing = o.standing();
        let class = if matches!(standing.letter(), "P" | "S") { "ok" } else { "bad" };
        let note = match (&o.rating, &o.reason) {
            (Some(_), Some(reason)) => {
                format!(" <small>(proposed {}: {})</small>", o.proposed.letter(), e(reason))
            }
            _ => " <small>(proposed)</small>".into(),
        };
        let _ = writeln!(
            h,
            "<tr><td>{} {}</td><td>{}</td><td>{}</td><td class=\"rating {class}\" title=\"{}\">{}{note}</td></tr>",
            e(&o.id),
            e(&o.text),
            e(&o.target),
            e(&o.measured),
            standing.meaning(),
            standing.letter()
        );
    }
    let _ = writeln!(h, "</tbody></table>");
    for o in r.objectives.iter().filter(|o| !o.strengths.is_empty() || !o.improvements.is_empty()) {
        let _ = writeln!(h, "<h3>{} {}</h3><ul>", e(&o.id), e(&o.text));
        for s in &o.strengths {
            let _ = writeln!(h, "<li>Strength: {}</li>", e(s));
        }
        for s in &o.improvements {
            let _ = writeln!(h, "<li>Area for improvement: {}</li>", e(s));
        }
        let _ = writeln!(h, "</ul>");
    }
    let _ = writeln!(h, "<h2>Measured</h2><ul>");
    for line in measured_lines(r) {
        let _ = writeln!(h, "<li>{}</li>", e(&line));
    }
    let _ = writeln!(h, "</ul>");
    if !r.observations.is_empty() {
        let _ = writeln!(h, "<h2>Observations</h2><ul>");
        for o in &r.observations {
            let _ = writeln!(h, "<li>{} {}: {}</li>", e(&o.offset), e(&o.author), e(&o.line()));
        }
        let _ = writeln!(h, "</ul>");
    }
    let _ = writeln!(
        h,
        "<h2>Timeline</h2><table><thead><tr><th>Scenario time</th><th>By</th><th>What</th></tr></thead><tbody>"
    );
    for t in &r.timeline {
        let _ =
            writeln!(h, "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", e(&t.offset), e(&t.author), e(&t.text));
    }
    let _ = writeln!(
        h,
        "</tbody></table><h2>Cleanup</h2><table><thead><tr><th>System</th><th>State</th><th></th></tr></thead><tbody>"
    );
    for c in &r.cleanup {
        let (class, mark) = if c.ok { ("ok", "✔") } else { ("bad", "✘") };
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"{class}\">{mark} {}</td></tr>",
            e(&c.system),
            e(&c.state),
            e(&c.note)
        );
    }
    let _ = writeln!(h, "</tbody></table><h2>Hot wash</h2><ul>");
    for w in &r.hot_wash.went_well {
        let _ = writeln!(h, "<li>Went well: {}</li>", e(w));
    }
    for w in &r.hot_wash.improve {
        let _ = writeln!(h, "<li>To improve: {}</li>", e(w));
    }
    let _ = writeln!(h, "</ul><h2>Improvement plan</h2>");
    if r.actions.is_empty() {
        let _ = writeln!(h, "<p>No corrective actions.</p>");
    } else {
        let _ = writeln!(
            h,
            "<table><thead><tr><th>Id</th><th>Issue</th><th>Action</th><th>Element</th><th>Owner</th><th>Due</th><th>Status</th></tr></thead><tbody>"
        );
        for a in &r.actions {
            let x = &a.action;
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                e(&x.id),
                e(&x.issue),
                e(&x.action),
                x.element.name(),
                e(&x.owner),
                x.due.format("%Y-%m-%d"),
                a.status.name()
            );
        }
        let _ = writeln!(h, "</tbody></table>");
    }
    let _ = writeln!(h, "</body></html>");
    h
}

impl Engine {
    /// Every corrective action, with its status now.
    pub async fn corrective_actions(&self) -> Result<Vec<ActionLine>, crate::engine::EngineError> {
        let now = self.now();
        Ok(self
            .store
            .actions()
            .await?
            .into_iter()
            .map(|a| ActionLine { status: a.status(now), action: a })
            .collect())
    }

    /// Close corrective action `id` with its evidence (often a re-test).
    pub async fn close_action(&self, id: &str, evidence: &str, operator: &str) -> Result<(), WriteError> {
        self.permit_write(operator, "closing a corrective action", "action.closed", id).await?;
        if evidence.trim().is_empty() {
            return Err(WriteError::Input(
                "closing a corrective action takes its evidence: --evidence \"re-tested in EX-…: passed\""
                    .into(),
            ));
        }
        let failed = |e: crate::store::StoreError| WriteError::Failed(e.to_string());
        let audit = NewAuditRecord::new(operator, "action.closed", id, Outcome::Recorded)
            .details(serde_json::json!({ "evidence": evidence }));
        let now = self.now();
        if self.store.close_action(id, operator, evidence, &audit, now).await.map_err(failed)? {
            return Ok(());
        }
        let all = self.store.actions().await.map_err(failed)?;
        Err(WriteError::Input(match all.iter().find(|a| a.id == id) {
            Some(a) => format!(
                "{id} was closed already, by {} at {}",
                a.closed_by.as_deref().unwrap_or("?"),
                a.closed_at.map(|t| t.to_rfc3339()).unwrap_or_default()
            ),
            None => format!("there is no corrective action \"{id}\" (`warroom actions` lists them)"),
        }))
    }
}

/// "functional (partial)"; "tabletop" (the standard's word is the same).
fn type_words(r: &AfterAction) -> String {
    if r.kind.to_string() == r.standard_word {
        r.standard_word.to_owned()
    } else {
        format!("{} ({})", r.kind, r.standard_word)
    }
}

/// The measured figures, a line each, against the objectives in force.
fn measured_lines(r: &AfterAction) -> Vec<String> {
    let m = &r.measures;
    let opt = |d: Option<Duration>| d.map(human).unwrap_or_else(|| "not observed".into());
    let mut out = vec![
        format!("Time to detect (first DOWN to first action): {}", opt(m.to_detect)),
        format!("Time to declare: {}", opt(m.to_declare)),
    ];
    for (system, d) in &m.to_decide {
        out.push(format!("Time to decide, {system}: {}", human(*d)));
    }
    for (system, d) in &m.rto_achieved {
        let rto =
            r.objectives_of.get(system).map(|(rto, _)| format!(" (RTO {})", human(*rto))).unwrap_or_default();
        out.push(format!("RTO achieved, {system}: {}{rto}", human(*d)));
    }
    for (system, d) in &r.rpo_achieved {
        let rpo =
            r.objectives_of.get(system).map(|(_, rpo)| format!(" (RPO {})", human(*rpo))).unwrap_or_default();
        out.push(format!(
            "RPO achieved, {system}: {}{rpo}, the newest verified backup before it went down",
            human(*d)
        ));
    }
    for system in &r.rpo_unprotected {
        out.push(format!("RPO achieved, {system}: no verified backup before it went down"));
    }
    for (stage, secs) in &m.notices {
        out.push(format!("{} sent at: {}", stage.title(), human(Duration::from_secs(*secs))));
    }
    if let Some((kept, due)) = m.cadence {
        out.push(format!("Comms cadence kept: {kept} of {due} on time"));
    }
    out
}

fn secs_map<S: serde::Serializer>(
    m: &std::collections::BTreeMap<String, Duration>,
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(m.len()))?;
    for (k, v) in m {
        map.serialize_entry(k, &v.as_secs())?;
    }
    map.end()
}
