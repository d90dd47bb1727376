//! Recovery plans and incidents: order, parallelism, blocking, skip and retry over a 60-system
//! estate; a failover killed with SIGKILL is Interrupted at its step and the incident
//! timeline says so; the report's RTO achieved.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use warroom::config::{self, ProcessEnv};
use warroom::engine::Engine;
use warroom::engine::jobs::{JobKind, JobSnapshot, JobSpec, JobState, Proof, Signal};
use warroom::engine::recovery::{PlanDetail, Step};
use warroom::model::failover::{IncidentKind, Severity};

fn write_config(dir: &Path, store: common::store::Kind, systems: &str) -> PathBuf {
    let path = dir.join("warroom.toml");
    let text = format!(
        "[console]\noperator = \"alice\"\nstate_dir = \"{}\"\n{}[approval]\nrecover = \"confirm\"\n\n{systems}",
        dir.join("state").display(),
        store.console_lines(dir)
    );
    std::fs::write(&path, text).unwrap();
    path
}

async fn engine(config: &Path) -> Engine {
    let loaded = config::load(config, &ProcessEnv).unwrap_or_else(|e| panic!("{e}"));
    Engine::open(loaded.config).await.unwrap()
}

/// A pseudo-random acyclic estate: system i depends on up to 3 of the 10 before it. Each
/// fails over by sleeping `ms` (system `fail` exits 1 instead).
fn estate(n: usize, ms: u64, fail: Option<usize>) -> (String, Vec<Vec<usize>>) {
    let mut seed: u64 = 7;
    let mut next = || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (seed >> 33) as usize
    };
    let mut deps = Vec::new();
    let mut text = String::new();
    for i in 0..n {
        let mut d: Vec<usize> = Vec::new();
        if i > 0 {
            for _ in 0..next() % 4 {
                let j = i - 1 - next() % i.min(10);
                if !d.contains(&j) {
                    d.push(j);
                }
            }
        }
        let names: Vec<String> = d.iter().map(|j| format!("\"s{j:02}\"")).collect();
        let step = if fail == Some(i) {
            r#"run = ["sh", "-c", "echo broken >&2; exit 1"]"#.to_owned()
        } else {
            format!(r#"run = ["sleep", "{}"], estimate = "1s""#, ms as f64 / 1000.0)
        };
        text.push_str(&format!(
            "[[systems]]\nname = \"s{i:02}\"\ntier = 4\ndepends_on = [{}]\n[systems.failover]\napproval = \"none\"\nsteps = [ {{ name = \"Switch\", {step} }} ]\n\n",
            names.join(", ")
        ));
        deps.push(d);
    }
    (text, deps)
}

async fn run_plan(
    engine: &Engine,
    systems: &[String],
) -> (JobSnapshot, tokio::task::JoinHandle<JobSnapshot>) {
    let (spec, plan) = engine.plan_recover(systems, None).await.unwrap();
    let job = engine.propose(&spec, plan, "alice").await.unwrap();
    engine.approve(&job.id, "alice", &Proof::YesFlag).await.unwrap();
    let e = engine.clone();
    let id = job.id.clone();
    (job, tokio::spawn(async move { e.run_job(&id).await.unwrap() }))
}

fn detail(job: &JobSnapshot) -> PlanDetail {
    serde_json::from_value(job.detail.clone().unwrap()).unwrap()
}

crate::on_both_stores! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_over_sixty_systems_respects_every_dependency_and_runs_the_rest_in_parallel(store) {
    let dir = tempfile::tempdir().unwrap();
    let (text, deps) = estate(60, 300, None);
    let config = write_config(dir.path(), store, &text);
    let engine = engine(&config).await;
    let names: Vec<String> = (0..60).map(|i| format!("s{i:02}")).collect();
    let started = Instant::now();
    let (_, handle) = run_plan(&engine, &names).await;
    let plan = handle.await.unwrap();
    let wall = started.elapsed();
    assert_eq!(plan.state, JobState::Succeeded, "{:?}", plan.outcome);

    // Every system recovered after everything it depends on (its own job's times).
    let jobs = engine.jobs().list(500).await.unwrap();
    let times: HashMap<String, (DateTime<Utc>, DateTime<Utc>)> = jobs
        .iter()
        .filter(|j| j.kind == JobKind::Failover)
        .map(|j| (j.target.clone(), (j.started_at.unwrap(), j.finished_at.unwrap())))
        .collect();
    assert_eq!(times.len(), 60);
    for (i, d) in deps.iter().enumerate() {
        let (start, _) = times[&format!("s{i:02}")];
        for j in d {
            let (_, dep_done) = times[&format!("s{j:02}")];
            assert!(dep_done <= start, "s{i:02} started before s{j:02}, which it needs, was back");
        }
    }
    // In parallel: the wall time follows the longest chain, far from the sum (60 x 0.3 s).
    let waves = detail(&plan).systems.iter().map(|s| s.wave).max().unwrap() + 1;
    let sum = Duration::from_millis(60 * 300);
    assert!(wall < sum / 3, "took {wall:?} for {waves} waves; one after another would be {sum:?}");
}
}

crate::on_both_stores! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_dependency_blocks_its_dependents_until_skipped_or_retried(store) {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        store,
        &format!(
            r#"
[[systems]]
name = "database"
tier = 1
[systems.failover]
steps = [ {{ name = "Promote", run = ["sh", "-c", "test -f '{flag}' || {{ echo not yet >&2; exit 1; }}"] }} ]
[[systems]]
name = "api"
tier = 1
depends_on = ["database"]
[systems.failover]
steps = [ {{ name = "Switch", run = ["true"] }} ]
[[systems]]
name = "web"
tier = 2
depends_on = ["api"]
[systems.failover]
steps = [ {{ name = "Switch", run = ["true"] }} ]
[[systems]]
name = "wiki"
tier = 4
[systems.failover]
steps = [ {{ name = "Switch", run = ["true"] }} ]
"#,
            flag = dir.path().join("fixed").display()
        ),
    );
    let engine = engine(&config).await;
    let systems: Vec<String> = ["database", "api", "web", "wiki"].iter().map(|s| (*s).to_owned()).collect();
    let (job, handle) = run_plan(&engine, &systems).await;
    // The database fails; what needs it is blocked; the wiki recovers anyway; the plan waits.
    let deadline = Instant::now() + Duration::from_secs(20);
    let waiting = loop {
        let j = engine.jobs().get(&job.id).await.unwrap().unwrap();
        if j.detail.is_some() && detail(&j).waiting.is_some() {
            break detail(&j);
        }
        assert!(Instant::now() < deadline, "the plan never waited: {:?}", j.detail);
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let state = |d: &PlanDetail, n: &str| d.systems.iter().find(|s| s.name == n).unwrap().state;
    assert_eq!(state(&waiting, "database"), Step::Failed);
    assert_eq!(state(&waiting, "api"), Step::Blocked);
    assert_eq!(state(&waiting, "web"), Step::Blocked);
    assert_eq!(state(&waiting, "wiki"), Step::Recovered);
    let cause = waiting.systems.iter().find(|s| s.name == "api").unwrap().cause.clone().unwrap();
    assert_eq!(cause, "database did not recover");

    // Fixed by hand; retry the database alone, without restarting the plan.
    std::fs::write(dir.path().join("fixed"), "").unwrap();
    engine.signal_job(&job.id, Signal::Retry, Some("database"), "alice").await.unwrap();
    let done = handle.await.unwrap();
    assert_eq!(done.state, JobState::Succeeded, "{:?}", done.outcome);
    let d = detail(&done);
    assert!(d.systems.iter().all(|s| s.state == Step::Recovered), "{d:?}");
    // The database's first failover job failed, the retry succeeded: two jobs.
    let jobs = engine.jobs().list(100).await.unwrap();
    assert_eq!(jobs.iter().filter(|j| j.kind == JobKind::Failover && j.target == "database").count(), 2);
}
}

crate::on_both_stores! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skipping_a_failed_system_lets_what_needs_it_go_on(store) {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        store,
        r#"
[[systems]]
name = "database"
tier = 1
[systems.failover]
steps = [ { name = "Promote", run = ["false"] } ]
[[systems]]
name = "api"
tier = 1
depends_on = ["database"]
[systems.failover]
steps = [ { name = "Switch", run = ["true"] } ]
"#,
    );
    let engine = engine(&config).await;
    let (job, handle) = run_plan(&engine, &["database".into(), "api".into()]).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while engine
        .jobs()
        .get(&job.id)
        .await
        .unwrap()
        .unwrap()
        .detail
        .is_none_or(|d| d.get("waiting").is_none_or(|w| w.is_null()))
    {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    engine.signal_job(&job.id, Signal::Skip, Some("database"), "alice").await.unwrap();
    let done = handle.await.unwrap();
    assert_eq!(done.state, JobState::Succeeded, "{:?}", done.outcome);
    let d = detail(&done);
    assert_eq!(d.systems.iter().find(|s| s.name == "database").unwrap().state, Step::Skipped);
    assert_eq!(d.systems.iter().find(|s| s.name == "api").unwrap().state, Step::Recovered);
}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plan_forecasts_against_the_rto_left_and_flags_a_breach() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        common::store::Kind::Sqlite,
        r#"
[[systems]]
name = "database"
tier = 1
rto = "10m"
[systems.failover]
steps = [ { name = "Promote", run = ["true"], estimate = "8m" } ]
[[systems]]
name = "api"
tier = 1
rto = "10m"
depends_on = ["database"]
[systems.failover]
steps = [ { name = "Switch", run = ["true"], estimate = "4m" } ]
"#,
    );
    let engine = engine(&config).await;
    // Both went down 3 minutes ago (as the monitor would have recorded).
    let down = engine.now() - chrono::TimeDelta::minutes(3);
    // The state as another process (the monitor) left it: written straight to the store.
    let store = warroom::store::Store::open(engine.state_dir()).await.unwrap();
    for s in ["database", "api"] {
        store
            .record_health_event(&warroom::model::health::HealthEvent {
                at: down,
                system: s.into(),
                kind: "transition".into(),
                from: Some("healthy".into()),
                to: Some("down".into()),
                detail: None,
            })
            .await
            .unwrap();
    }
    let (_, plan) = engine.plan_recover(&["api".into(), "database".into()], None).await.unwrap();
    let text = plan.lines.join("\n");
    // The database is back at +8m with 7m left; the api needs it first: back at +12m.
    let db = plan.lines.iter().find(|l| l.trim_start().starts_with("database")).unwrap();
    assert!(
        db.contains("✖ WILL BREACH: back at +0:08:00 with 0:06:5") || db.contains("with 0:07:00"),
        "{db}"
    );
    let api = plan.lines.iter().find(|l| l.trim_start().starts_with("api")).unwrap();
    assert!(api.contains("after database · ✖ WILL BREACH: back at +0:12:00 with 0:0"), "{api}");
    assert!(
        text.contains("all back in 12m along the critical path; 2 system(s) will breach their RTO"),
        "{text}"
    );
}

crate::on_both_stores! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failover_killed_mid_step_is_interrupted_and_the_incident_timeline_says_so(store) {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        store,
        r#"
[[systems]]
name = "database"
tier = 1
[systems.failover]
approval = "none"
steps = [ { name = "Copy the WAL", run = ["sleep", "60"] } ]
"#,
    );
    {
        let e = engine(&config).await;
        e.declare_incident(IncidentKind::Infrastructure, Severity(1), &["database".into()], "alice")
            .await
            .unwrap();
        e.close().await;
    }
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("warroom"))
        .arg("--config")
        .arg(&config)
        .args(["failover", "database"])
        .env("XDG_STATE_HOME", dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the step runs, then kill the process outright.
    let e = engine(&config).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let jobs = e.jobs().list(10).await.unwrap();
        if jobs.iter().any(|j| j.state == JobState::Running && j.progress.stage.contains("Copy the WAL")) {
            break;
        }
        assert!(Instant::now() < deadline, "the failover never started");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // A console that stays open on the same state sees it too (it checks now and then).
    e.settle_stopped().await.unwrap();
    let (state, _) = e.failover_state("database").await.unwrap();
    assert_eq!(state, warroom::model::failover::FailoverState::Failed);
    e.close().await;
    // A new process on the same state: the job is Interrupted at its step, never re-run.
    let e = engine(&config).await;
    let job = e.jobs().list(10).await.unwrap().into_iter().find(|j| j.kind == JobKind::Failover).unwrap();
    assert_eq!(job.state, JobState::Interrupted);
    assert!(job.outcome.as_deref().unwrap().contains("during step 1/1: Copy the WAL"), "{:?}", job.outcome);
    let incident = e.incident(None).await.unwrap();
    let timeline = e.timeline(&incident).await.unwrap();
    assert!(
        timeline.iter().any(|t| t.kind == "failover.interrupted" && t.text.contains("Copy the WAL")),
        "{timeline:#?}"
    );
    // The system is not left "in progress" for ever: it failed, and can be failed over again.
    let (state, row) = e.failover_state("database").await.unwrap();
    assert_eq!(state, warroom::model::failover::FailoverState::Failed);
    let detail = row.unwrap().detail.unwrap();
    assert!(
        detail.contains("interrupted in \"failover initiated\"") && detail.contains("by hand"),
        "{detail}"
    );
    e.plan_procedure("database", false).await.expect("a new failover can be planned");
}
}

crate::on_both_stores! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recovery_run_from_the_command_line_is_the_open_incidents_plan(store) {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        store,
        r#"
[[systems]]
name = "database"
tier = 1
[systems.failover]
steps = [ { name = "Promote", run = ["true"] } ]
"#,
    );
    let e = engine(&config).await;
    let incident = e
        .declare_incident(IncidentKind::Infrastructure, Severity(1), &["database".into()], "alice")
        .await
        .unwrap();
    e.close().await;
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("warroom"))
        .arg("--config")
        .arg(&config)
        .args(["recover", "database", "--yes"])
        .env("XDG_STATE_HOME", dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!("for incident {}", incident.id)),
        "{out:?}"
    );
    let e = engine(&config).await;
    let recover = e.jobs().list(10).await.unwrap().into_iter().find(|j| j.kind == JobKind::Recover).unwrap();
    assert_eq!(recover.state, JobState::Succeeded);
    let linked = e.incident(Some(&incident.id)).await.unwrap();
    assert_eq!(
        linked.plan_job.as_deref(),
        Some(recover.id.as_str()),
        "the incident follows the plan that ran"
    );
}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_for_other_systems_is_not_the_open_incidents() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        common::store::Kind::Sqlite,
        r#"
[[systems]]
name = "database"
tier = 1
[systems.failover]
steps = [ { name = "Promote", run = ["true"] } ]

[[systems]]
name = "wiki"
tier = 4
[systems.failover]
steps = [ { name = "Switch", run = ["true"] } ]
"#,
    );
    let e = engine(&config).await;
    let incident = e
        .declare_incident(IncidentKind::Infrastructure, Severity(1), &["database".into()], "alice")
        .await
        .unwrap();
    let (spec, _) = e.plan_recover(&["wiki".into()], Some(&incident.id)).await.unwrap();
    assert!(matches!(spec, JobSpec::Recover { incident: None, .. }), "{spec:?}");
    let (spec, plan) = e.plan_recover(&["database".into(), "wiki".into()], Some(&incident.id)).await.unwrap();
    assert!(matches!(&spec, JobSpec::Recover { incident: Some(id), .. } if *id == incident.id), "{spec:?}");
    assert!(plan.lines.iter().any(|l| l.contains(&incident.id)), "the gate says so: {plan:?}");
}

/// The standard's example declares with `severity = "high"`: its words are sev1..sev4.
#[test]
fn the_standards_severity_words_are_accepted_and_shown_as_sev_numbers() {
    let state = tempfile::tempdir().unwrap();
    let out = common::warroom(state.path())
        .arg("--config")
        .arg(common::example_config())
        .args([
            "incident",
            "declare",
            "--type",
            "infrastructure",
            "--severity",
            "high",
            "--systems",
            "database",
        ])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    // Declared; its plan then waits at the gate (no terminal, no --yes: nothing runs).
    assert!(
        said.contains("declared: infrastructure sev2 · database"),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = common::warroom(state.path())
        .arg("--config")
        .arg(common::example_config())
        .args(["incident", "declare", "--type", "cyber", "--severity", "severe", "--systems", "database"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("or critical, high, medium, low"));
}
