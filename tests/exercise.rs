//! Exercises end to end in process: a scenario run headless on a manual clock (offsets, triggers,
//! a contingency, pause, the report's measured times); a tabletop that changes nothing; a
//! functional exercise that fails over a system in scope on the simulated estate, refuses one
//! out of scope and whose cleanup check names the system left failed over. Each on both stores
//! (SQLite and PostgreSQL, tests/common/store.rs).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use warroom::clock::ManualClock;
use warroom::config::{Config, ProcessEnv};
use warroom::engine::Engine;
use warroom::engine::access::WriteError;
use warroom::engine::exercise::report::{Ending, HotWash};
use warroom::engine::exercise::{Control, Injector, NOT_CARRIED_OUT, Pending};
use warroom::engine::jobs::{JobState, Proof, Refusal, Signal};
use warroom::model::exercise::evaluate::Kind;
use warroom::model::exercise::{Facts, InjectState, Rating, Watched};
use warroom::model::programme::{Outcome as TestOutcome, TestKind};
use warroom::sim::{Fault, SimEstate, SimHandle};

/// The demo's estate on a simulated estate of its own, its procedures pointed at the estate's
/// control API (kept alive by the returned handle).
async fn on_the_simulated_estate(dir: &Path, store: common::store::Kind) -> (Engine, SimEstate, impl Sized) {
    let mut config = demo_config(dir, store);
    let sim =
        SimEstate::start(config.estate.systems().iter().map(|s| (s.name.clone(), s.depends_on.clone())))
            .await
            .unwrap();
    let token = "t0ken".to_owned();
    let (addr, control) = warroom::sim::control::serve(sim.handle(), token.clone()).await.unwrap();
    warroom::sim::demo::point_checks(&mut config, &sim.endpoints());
    warroom::sim::demo::point_procedures(&mut config, &format!("http://{addr}"), &token);
    std::fs::create_dir_all(&config.console.state_dir).unwrap();
    (Engine::open(config).await.unwrap(), sim, control)
}

/// The demo's configuration (config.toml.example), its state in `dir`.
fn demo_config(dir: &Path, store: common::store::Kind) -> Config {
    let mut config = warroom::sim::demo::load(None, &ProcessEnv).unwrap().config;
    config.console.state_dir = dir.join("state");
    store.apply(&mut config, dir);
    config.console.operator = "fac".into();
    config
}

fn scenario(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

async fn start(engine: &Engine, path: &Path, speed: f64) -> warroom::engine::exercise::ExerciseView {
    let fault_ok = |f: &str| Fault::parse_text(f).map(|_| ());
    let (text, checked) = engine.check_scenario(path, &fault_ok).unwrap_or_else(|e| panic!("{e}"));
    engine.start_exercise(path, &text, checked.scenario, speed, "fac").await.unwrap()
}

fn state(view: &warroom::engine::exercise::ExerciseView, id: &str) -> InjectState {
    let i = view.scenario().injects.iter().position(|x| x.id == id).unwrap();
    view.run.injects[i].state
}

/// Faults set on the in-process simulated estate.
struct SimInjector(SimHandle);

impl Injector for SimInjector {
    fn set<'a>(&'a self, system: &'a str, fault: &'a str) -> Pending<'a, String> {
        Box::pin(async move { self.0.set_fault(system, Fault::parse_text(fault)?).map(|s| s.to_string()) })
    }
    fn clear<'a>(&'a self, system: &'a str) -> Pending<'a, ()> {
        Box::pin(async move { self.0.set_fault(system, Fault::Healthy).map(|_| ()) })
    }
}

const MANUAL: &str = r#"
name = "Clockwork"
type = "tabletop"
hazard = "infrastructure"
scope = ["database"]
notify_lists = ["exercise"]

[[objectives]]
id = "O-1"
text = "Declare fast"
target = "incident declared within 5m"

[[objectives]]
id = "O-2"
text = "Roles are clear"
target = "Everyone knows who decides"

[[injects]]
id = "I-1"
at = "+0:00"
type = "technical"
title = "Database down"
fault = "database down"
expected = "declare"
expect = "declare"
within = "5m"
objectives = ["O-1"]

[[injects]]
id = "I-2"
after = "I-1"
delay = "2m"
type = "information"
title = "Two minutes later"

[[injects]]
id = "I-3"
when = "database is DOWN"
type = "event"
title = "Seen down"

[[injects]]
id = "C-1"
at = "+0:06"
type = "contingency"
contingency_for = "I-1"
title = "Why no incident?"

[[injects]]
id = "I-4"
at = "+0:10"
type = "information"
title = "Ten minutes in"
expected = "a notice"
expect = "notify"
within = "5m"

[[injects]]
id = "C-2"
at = "+0:16"
type = "contingency"
contingency_for = "I-4"
title = "Still nothing sent"
"#;

crate::on_both_stores! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scenario_runs_on_a_manual_clock(store) {
    let dir = tempfile::tempdir().unwrap();
    let t0 = Utc.with_ymd_and_hms(2026, 12, 2, 9, 0, 0).unwrap();
    let clock = Arc::new(ManualClock::new(t0));
    let engine = Engine::open_with_clock(demo_config(dir.path(), store), clock.clone()).await.unwrap();
    let path = scenario(dir.path(), "clockwork.toml", MANUAL);
    start(&engine, &path, 1.0).await;
    let none = Facts::default();
    let drive = |facts: Facts| {
        let engine = engine.clone();
        async move { engine.drive_exercise(&facts, None).await.unwrap().unwrap() }
    };
    let d = drive(none.clone()).await;
    assert!(d.lines.iter().any(|l| l.starts_with("+0:00 I-1 released")), "{:?}", d.lines);
    assert!(d.lines.iter().any(|l| l.contains("fault database down")), "{:?}", d.lines);
    assert_eq!(d.next_wake, Some(Duration::from_secs(120)), "I-2 is two minutes after I-1");

    // A minute in: nothing new; pause for an hour of wall time: nothing comes due.
    clock.advance(Duration::from_secs(60));
    assert!(drive(none.clone()).await.lines.is_empty());
    engine.control_exercise(Control::Pause, "fac").await.unwrap();
    clock.advance(Duration::from_secs(3600));
    let d = drive(none.clone()).await;
    assert!(d.lines.is_empty(), "{:?}", d.lines);
    assert_eq!(d.next_wake, None, "a paused clock wakes nobody");
    let view = engine.exercise(None).await.unwrap();
    assert_eq!(view.run.countdowns(view.scenario(), engine.now())[0].1, Duration::from_secs(60));
    engine.control_exercise(Control::Resume, "fac").await.unwrap();

    // +0:02 (scenario time): I-2 follows I-1; the condition fires when the facts show it.
    clock.advance(Duration::from_secs(60));
    let down = Facts { health: [("database".to_owned(), Watched::Down)].into(), ..Facts::default() };
    let d = drive(down).await;
    assert!(d.lines.iter().any(|l| l.starts_with("+0:02 I-2 released")), "{:?}", d.lines);
    assert!(d.lines.iter().any(|l| l.contains("I-3 released")), "{:?}", d.lines);

    // +0:04: the players declare (through the engine, as the console would).
    clock.advance(Duration::from_secs(120));
    engine.control_exercise(Control::Acknowledge("I-1".into()), "bob").await.unwrap();
    let incident = engine
        .declare_incident(
            warroom::model::failover::IncidentKind::parse("infrastructure").unwrap(),
            warroom::model::failover::Severity::parse("sev1").unwrap(),
            &["database".to_owned()],
            "bob",
        )
        .await
        .unwrap();
    let d = drive(none.clone()).await;
    assert!(d.lines.iter().any(|l| l.contains("I-1 resolved: declare seen at +0:04")), "{:?}", d.lines);

    // +0:06: the contingency for I-1 is not needed; +0:10 I-4; +0:16 its contingency fires.
    clock.advance(Duration::from_secs(120));
    let d = drive(none.clone()).await;
    assert!(d.lines.iter().any(|l| l.contains("C-1 skipped: not needed")), "{:?}", d.lines);
    clock.advance(Duration::from_secs(240));
    drive(none.clone()).await;
    clock.advance(Duration::from_secs(360));
    let d = drive(none.clone()).await;
    assert!(d.lines.iter().any(|l| l.starts_with("+0:16 C-2 released")), "{:?}", d.lines);
    let view = engine.exercise(None).await.unwrap();
    assert_eq!(state(&view, "C-1"), InjectState::Skipped);
    assert_eq!(state(&view, "C-2"), InjectState::Released);
    assert_eq!(state(&view, "I-1"), InjectState::Resolved);

    // Evaluation: an observation, a changed rating, the end.
    engine
        .control_exercise(
            Control::Observe {
                text: "bob took command at once".into(),
                inject: None,
                objective: Some("O-2".into()),
                kind: Kind::Strength,
            },
            "eve",
        )
        .await
        .unwrap();
    engine
        .control_exercise(
            Control::Rate {
                objective: "O-2".into(),
                rating: Rating::S,
                reason: "the scribe was missing".into(),
            },
            "fac",
        )
        .await
        .unwrap();
    let ending = Ending {
        hot_wash: HotWash {
            went_well: vec!["fast declaration".into()],
            improve: vec!["name a scribe".into()],
        },
        ..Ending::default()
    };
    let (report, _) = engine.end_exercise(ending, None, "fac").await.unwrap();
    // Measured exactly on the scenario clock: the fault at +0:00, the declaration at +0:04 (the
    // hour paused does not count).
    assert_eq!(report.measures.first_down, Some(Duration::ZERO));
    assert_eq!(report.measures.to_declare, Some(Duration::from_secs(240)));
    assert_eq!(report.objectives[0].proposed, Rating::P, "{:?}", report.objectives[0]);
    assert_eq!(report.objectives[0].measured, "4m (target 5m)");
    assert_eq!((report.objectives[1].proposed, report.objectives[1].standing()), (Rating::P, Rating::S));
    assert_eq!(report.actions.len(), 1);
    assert_eq!(report.actions[0].action.issue, "name a scribe");
    assert!(report.participants.contains(&"eve".to_owned()));
    // The incident declared in it is still open: the cleanup check says so.
    assert!(report.cleanup.iter().any(|c| c.system == incident.id && !c.ok), "{:?}", report.cleanup);
    let md = std::fs::read_to_string(engine.state_dir().join("exercises").join(format!("{}.md", report.id)))
        .unwrap();
    assert!(
        md.contains("| O-1 Declare fast | incident declared within 5m | 4m (target 5m) | P (proposed) |"),
        "{md}"
    );
    assert!(md.contains("S (proposed P: the scribe was missing)"), "{md}");
    assert!(engine.open_exercise().await.unwrap().is_none());
}
}

const TABLETOP: &str = r#"
name = "Talk it through"
type = "tabletop"
hazard = "cyber"
scope = ["database"]
notify_lists = ["exercise"]

[[injects]]
id = "I-1"
at = "+0:00"
type = "event"
title = "Go"
"#;

crate::on_both_stores! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tabletop_changes_nothing(store) {
    let dir = tempfile::tempdir().unwrap();
    let (engine, sim, _control) = on_the_simulated_estate(dir.path(), store).await;
    start(&engine, &scenario(dir.path(), "t.toml", TABLETOP), 1.0).await;

    // A failover passes the gate and is recorded: nothing runs, the standby is not promoted.
    let (spec, plan) = engine.plan_procedure("database", false).await.unwrap();
    let job = engine.propose(&spec, plan, "bob").await.unwrap();
    engine.approve(&job.id, "bob", &Proof::Typed("database".into())).await.unwrap();
    let done = engine.run_job(&job.id).await.unwrap();
    assert_eq!(done.state, JobState::Succeeded);
    assert!(done.outcome.as_deref().unwrap().starts_with(NOT_CARRIED_OUT), "{:?}", done.outcome);
    let listed = sim.handle().list();
    assert!(listed.iter().all(|s| s.active == "primary"), "nothing was promoted");
    let states = engine.failover_states().await.unwrap();
    assert!(states.iter().all(|s| s.state == warroom::model::failover::FailoverState::Normal), "{states:?}");

    // A notice goes to the exercise's list only, never to the stakeholders.
    let incident = engine
        .declare_incident(
            warroom::model::failover::IncidentKind::parse("cyber").unwrap(),
            warroom::model::failover::Severity::parse("sev1").unwrap(),
            &["database".to_owned()],
            "bob",
        )
        .await
        .unwrap();
    let composition =
        engine.compose(&incident, warroom::model::comms::Stage::Initial, &[], "drill").await.unwrap();
    let names: Vec<&str> = composition.recipients.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, vec!["exercise-room"]);
    assert!(composition.status_text.is_none(), "the public page is not touched");

    // Every audit record since the start says EXERCISE.
    let records = engine.audit_records(None).await.unwrap();
    let since: Vec<_> = records.iter().take_while(|r| r.action != "exercise.started").collect();
    assert!(!since.is_empty());
    for r in &since {
        assert!(r.details.contains("\"exercise\":\"EX-"), "{} {} {}", r.action, r.target, r.details);
    }
    assert!(engine.verify_audit().await.unwrap().ok());
}
}

const FUNCTIONAL: &str = r#"
name = "Fail the database over"
type = "functional"
hazard = "infrastructure"
scope = ["database"]
notify_lists = ["exercise"]

[[objectives]]
id = "O-1"
text = "Recover the database"
tests = "database"
target = "database recovered within its RTO"

[[injects]]
id = "I-1"
at = "+0:00"
type = "technical"
title = "Database down"
fault = "database down"
expected = "fail over"
expect = "failover database"
within = "10m"
objectives = ["O-1"]
"#;

crate::on_both_stores! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_functional_exercise_fails_over_in_scope_and_nothing_else(store) {
    let dir = tempfile::tempdir().unwrap();
    let (engine, sim, _control) = on_the_simulated_estate(dir.path(), store).await;
    let injector = SimInjector(sim.handle());
    start(&engine, &scenario(dir.path(), "f.toml", FUNCTIONAL), 1.0).await;
    let d = engine.drive_exercise(&Facts::default(), Some(&injector)).await.unwrap().unwrap();
    assert!(d.lines.iter().any(|l| l.contains("fault database down: set")), "{:?}", d.lines);
    assert!(!sim.handle().fault("database").unwrap().is_healthy());

    // Out of scope: refused at the proposal, and audited.
    let (spec, plan) = engine.plan_procedure("api", false).await.unwrap();
    match engine.propose(&spec, plan, "bob").await {
        Err(Refusal::OutOfScope { system, .. }) => assert_eq!(system, "api"),
        other => panic!("{other:?}"),
    }
    let refused = engine.audit_records(Some(1)).await.unwrap();
    assert_eq!((refused[0].action.as_str(), refused[0].outcome.as_str()), ("failover.proposed", "refused"));

    // In scope: the real procedure runs on the simulated estate (its manual step confirmed).
    let (spec, plan) = engine.plan_procedure("database", false).await.unwrap();
    let job = engine.propose(&spec, plan, "bob").await.unwrap();
    engine.approve(&job.id, "bob", &Proof::Typed("database".into())).await.unwrap();
    let running = engine.spawn_job(&job.id);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let snap = engine.jobs().get(&job.id).await.unwrap().unwrap();
        if snap.progress.waiting.is_some() {
            engine.signal_job(&job.id, Signal::Confirm, None, "bob").await.unwrap();
            break;
        }
        assert!(snap.state != JobState::Failed, "{:?}", snap.log);
        assert!(
            std::time::Instant::now() < deadline,
            "the failover never reached its manual step: {:?}",
            snap.log
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let done = running.await.unwrap().unwrap();
    assert_eq!(done.state, JobState::Succeeded, "{:?}", done.log);
    assert!(sim.handle().list().iter().any(|s| s.name == "database" && s.active == "standby"));
    let d = engine.drive_exercise(&Facts::default(), Some(&injector)).await.unwrap().unwrap();
    assert!(d.lines.iter().any(|l| l.contains("I-1 resolved: failover database seen")), "{:?}", d.lines);

    engine
        .control_exercise(
            Control::Observe {
                text: "the runbook misses the DNS step".into(),
                inject: Some("I-1".into()),
                objective: None,
                kind: Kind::Improvement,
            },
            "eve",
        )
        .await
        .unwrap();

    // The end: the fault is cleared, and the cleanup check names the database left failed over.
    let (report, lines) = engine.end_exercise(Ending::default(), Some(&injector), "fac").await.unwrap();
    assert!(lines.iter().any(|l| l == "fault cleared on database"), "{lines:?}");
    assert!(sim.handle().fault("database").unwrap().is_healthy());
    let db = report.cleanup.iter().find(|c| c.system == "database").unwrap();
    assert!(!db.ok && db.note.contains("left failed over"), "{db:?}");
    assert!(report.measures.rto_achieved.contains_key("database"), "{:?}", report.measures);
    assert!(report.objectives[0].improvements.contains(&"the runbook misses the DNS step".to_owned()));
    assert!(
        report.rpo_achieved.contains_key("database")
            || report.rpo_unprotected.contains(&"database".to_owned()),
        "the RPO achieved is measured for the database: {:?} {:?}",
        report.rpo_achieved,
        report.rpo_unprotected
    );

    // The testing programme has a functional test of the database, with its finding.
    let results = engine.test_results().await.unwrap();
    let test = results.iter().find(|r| r.kind == TestKind::Functional).expect("the exercise is a test");
    assert_eq!((test.system.as_str(), test.outcome), ("database", TestOutcome::Findings));
    assert!(test.detail.contains("database not back to normal"), "{}", test.detail);
    assert_eq!(test.by, format!("exercise {}", report.id));
    // The corrective action is against the database: `status` shows it with the system.
    assert_eq!(report.actions[0].action.system.as_deref(), Some("database"));
    let (status, _) = engine.assess_estate(None).await.unwrap();
    let db = status.systems.iter().find(|s| s.name == "database").unwrap();
    assert_eq!(db.open_actions.len(), 1, "{:?}", db.open_actions);
    let text = warroom::cli::status::render(&status);
    let id = &report.actions[0].action.id;
    assert!(
        text.contains(&format!("action {id} open")) && text.contains("the runbook misses the DNS step"),
        "{text}"
    );
    assert!(
        lines.iter().any(|l| l.contains("testing programme: a functional test of database")),
        "{lines:?}"
    );
    // Closing it takes evidence, once: each wrong ask is bad input (exit 3), not a failure.
    let empty = engine.close_action(id, " ", "eve").await;
    assert!(matches!(&empty, Err(WriteError::Input(m)) if m.contains("--evidence")), "{empty:?}");
    engine.close_action(id, "re-tested: the runbook has the DNS step", "eve").await.unwrap();
    let again = engine.close_action(id, "again", "eve").await;
    assert!(matches!(&again, Err(WriteError::Input(m)) if m.contains("closed already, by eve")), "{again:?}");
    let none = engine.close_action("A-999", "x", "eve").await;
    assert!(matches!(&none, Err(WriteError::Input(m)) if m.contains("no corrective action")), "{none:?}");
}
}
