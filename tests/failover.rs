//! Failover procedures, in process, against real child processes and a real HTTP server on
//! loopback (the simulated estate): success, rollback in reverse, a failing rollback, a step
//! killed at its timeout with its children, a manual step, one failover at a time across two
//! engines on one state, the commit window, two-person approval. Each on both stores (SQLite
//! and PostgreSQL, tests/common/store.rs).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use warroom::config::{self, ProcessEnv};
use warroom::engine::Engine;
use warroom::engine::jobs::{JobSnapshot, JobState, Proof, Refusal, Signal};
use warroom::model::failover::FailoverState;
use warroom::sim::{Fault, SimEstate};

struct Setup {
    dir: tempfile::TempDir,
    store: common::store::Kind,
}

impl Setup {
    fn new(store: common::store::Kind) -> Setup {
        Setup { dir: tempfile::tempdir().unwrap(), store }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// A configuration: `systems` is TOML for the [[systems]] entries.
    fn config(&self, systems: &str) -> PathBuf {
        let text = format!(
            "[console]\noperator = \"alice\"\nstate_dir = \"{}\"\n{}\n{systems}",
            self.path("state").display(),
            self.store.console_lines(self.dir.path())
        );
        let path = self.path("warroom.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    async fn engine(&self, config: &Path) -> Engine {
        let loaded = config::load(config, &ProcessEnv).unwrap_or_else(|e| panic!("{e}"));
        Engine::open(loaded.config).await.unwrap()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.path("steps.log")).unwrap_or_default()
    }
}

/// A step that appends `word` to steps.log.
fn note(setup: &Setup, name: &str, word: &str) -> String {
    format!(
        r#"{{ name = "{name}", run = ["sh", "-c", "echo {word} >> '{}'"] }}"#,
        setup.path("steps.log").display()
    )
}

async fn failover(engine: &Engine, system: &str) -> JobSnapshot {
    let (spec, plan) = engine.plan_procedure(system, false).await.unwrap();
    let job = engine.propose(&spec, plan, "alice").await.unwrap();
    engine.approve(&job.id, "alice", &Proof::YesFlag).await.unwrap();
    engine.run_job(&job.id).await.unwrap()
}

crate::on_both_stores! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_procedure_runs_its_steps_checks_and_opens_the_commit_window(store) {
    let s = Setup::new(store);
    let sim = SimEstate::start_independent(["database".to_owned()]).await.unwrap();
    let endpoint = sim.handle().endpoint("database").unwrap();
    // A real HTTP call: the standby is promoted through a loopback server's API... here, the
    // simulated endpoint itself (GET /health answers 200).
    let config = s.config(&format!(
        r#"
[[systems]]
name = "database"
tier = 1
[systems.health]
kind = "http"
url = "{endpoint}"
interval = "1s"
[systems.failover]
commit_window = "10m"
steps = [
  {step1},
  {{ name = "Call the API", http = {{ method = "GET", url = "{endpoint}" }} }},
  {{ name = "Wait for health", wait_healthy = "10s" }},
]
validate = [ {check} ]
rollback = [ {undo} ]
"#,
        step1 = note(&s, "Promote", "promoted"),
        check = note(&s, "Writes accepted", "checked"),
        undo = note(&s, "Demote", "demoted"),
    ));
    let engine = s.engine(&config).await;
    let job = failover(&engine, "database").await;
    assert_eq!(job.state, JobState::Succeeded, "{:?}", job.outcome);
    assert_eq!(s.log(), "promoted\nchecked\n", "steps, then the check; no rollback");
    assert!(job.log.iter().any(|l| l.contains("HTTP 200")), "{:?}", job.log);
    let (state, row) = engine.failover_state("database").await.unwrap();
    assert_eq!(state, FailoverState::Recovered);
    assert!(row.unwrap().commit_deadline.is_some());
    // Every state change and step is in the audit log.
    let audit = engine.audit_records(None).await.unwrap();
    let states: Vec<String> = audit
        .iter()
        .rev()
        .filter(|r| r.action == "failover.state")
        .map(|r| {
            serde_json::from_str::<serde_json::Value>(&r.details).unwrap()["to"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(states, ["failover_initiated", "failover_complete", "validation", "recovered"]);
    assert_eq!(audit.iter().filter(|r| r.action == "failover.step").count(), 4);

    // Commit: the standby is the system now.
    assert!(engine.commit("database", "alice").await.unwrap().contains("committed"));
    assert_eq!(engine.failover_state("database").await.unwrap().0, FailoverState::Normal);
    assert!(engine.commit("database", "alice").await.is_err(), "nothing left to commit");
}
}

crate::on_both_stores! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_step_rolls_back_what_completed_in_reverse(store) {
    let s = Setup::new(store);
    let config = s.config(&format!(
        r#"
[[systems]]
name = "api"
tier = 1
[systems.failover]
steps = [ {a}, {b}, {{ name = "Switch traffic", run = ["sh", "-c", "echo no route >&2; exit 4"] }} ]
rollback = [ {ua}, {ub}, {uc} ]
"#,
        a = note(&s, "One", "one"),
        b = note(&s, "Two", "two"),
        ua = note(&s, "Undo one", "undo-one"),
        ub = note(&s, "Undo two", "undo-two"),
        uc = note(&s, "Undo three", "undo-three"),
    ));
    let engine = s.engine(&config).await;
    let job = failover(&engine, "api").await;
    assert_eq!(job.state, JobState::Failed);
    let outcome = job.outcome.unwrap();
    assert!(outcome.contains("step 3/3 \"Switch traffic\" failed: exit 4: no route"), "{outcome}");
    assert!(outcome.contains("rolled back (2 steps)"), "{outcome}");
    // Each completed step's rollback, the latest first; the failed step's own is not run.
    assert_eq!(s.log(), "one\ntwo\nundo-two\nundo-one\n");
    let (state, row) = engine.failover_state("api").await.unwrap();
    assert_eq!((state, row.unwrap().detail.as_deref()), (FailoverState::Failed, Some("rolled back")));
}
}

crate::on_both_stores! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_rollback_says_what_is_left_to_do_by_hand(store) {
    let s = Setup::new(store);
    let config = s.config(&format!(
        r#"
[[systems]]
name = "api"
tier = 1
[systems.failover]
steps = [ {a}, {{ name = "Validate nothing", run = ["false"] }} ]
rollback = [ {{ name = "Restore DNS", run = ["sh", "-c", "echo dns api down >&2; exit 7"] }}, {undo} ]
"#,
        a = note(&s, "One", "one"),
        undo = note(&s, "Reopen the firewall", "firewall"),
    ));
    let engine = s.engine(&config).await;
    let job = failover(&engine, "api").await;
    assert_eq!(job.state, JobState::Failed);
    let outcome = job.outcome.unwrap();
    // Per-step rollback (two steps, two rollbacks): only "One" completed, so its rollback
    // ("Restore DNS") runs, and fails.
    assert!(outcome.contains("ROLLBACK FAILED at \"Restore DNS\": exit 7: dns api down"), "{outcome}");
    assert!(outcome.contains("Do by hand, in order: \"Restore DNS\""), "{outcome}");
    let (state, row) = engine.failover_state("api").await.unwrap();
    assert_eq!(state, FailoverState::Failed);
    assert!(row.unwrap().detail.unwrap().contains("rollback failed"));
}
}

crate::on_both_stores! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_past_its_timeout_is_killed_with_its_children(store) {
    let s = Setup::new(store);
    let pidfile = s.path("child.pid");
    let config = s.config(&format!(
        r#"
[[systems]]
name = "api"
tier = 1
[systems.failover]
steps = [ {{ name = "Hang", run = ["sh", "-c", "trap '' TERM; sh -c 'echo $$ > {}; exec sleep 60' & sleep 60"], timeout = "1s" }} ]
"#,
        pidfile.display()
    ));
    let engine = s.engine(&config).await;
    let started = Instant::now();
    let job = failover(&engine, "api").await;
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(job.state, JobState::Failed);
    assert!(job.outcome.unwrap().contains("timed out after 1s"));
    let pid = std::fs::read_to_string(&pidfile).unwrap();
    assert!(
        common::process_gone(&pid, Duration::from_secs(1)).await,
        "the step's child {pid} outlived its timeout"
    );
}
}

crate::on_both_stores! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_step_waits_until_an_operator_confirms_it(store) {
    let s = Setup::new(store);
    let config = s.config(&format!(
        r#"
[[systems]]
name = "database"
tier = 1
[systems.failover]
steps = [ {{ name = "Tell the DBA", manual = "Confirm replication is stopped" }}, {after} ]
"#,
        after = note(&s, "After", "after"),
    ));
    let engine = s.engine(&config).await;
    let (spec, plan) = engine.plan_procedure("database", false).await.unwrap();
    let job = engine.propose(&spec, plan, "alice").await.unwrap();
    engine.approve(&job.id, "alice", &Proof::YesFlag).await.unwrap();
    let running = engine.spawn_job(&job.id);
    // It waits at the manual step, and does nothing more.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let j = engine.jobs().get(&job.id).await.unwrap().unwrap();
        if j.progress.stage.starts_with("manual: Confirm replication") {
            break;
        }
        assert!(Instant::now() < deadline, "never reached the manual step: {:?}", j.progress);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Waiting: the job stays on its manual step, and nothing after it ran.
    let again = engine.jobs().get(&job.id).await.unwrap().unwrap();
    assert!(again.progress.stage.starts_with("manual: Confirm replication"), "{:?}", again.progress);
    assert_eq!(s.log(), "", "nothing after the manual step ran");
    assert!(!running.is_finished());
    // Another process on the same state answers it.
    let other = s.engine(&s.path("warroom.toml")).await;
    other.signal_job(&job.id, Signal::Confirm, None, "bob").await.unwrap();
    let done = running.await.unwrap().unwrap();
    assert_eq!(done.state, JobState::Succeeded, "{:?}", done.outcome);
    assert_eq!(s.log(), "after\n");
    assert!(done.log.iter().any(|l| l.contains("confirmed done by bob")), "{:?}", done.log);
}
}

crate::on_both_stores! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_engines_on_one_state_never_fail_over_the_same_system_at_once(store) {
    let s = Setup::new(store);
    let config = s.config(
        r#"
[[systems]]
name = "database"
tier = 1
[systems.failover]
steps = [ { name = "Slow promote", run = ["sleep", "1.5"] } ]
"#,
    );
    let (a, b) = (s.engine(&config).await, s.engine(&config).await);
    let prepare = |e: Engine| async move {
        let (spec, plan) = e.plan_procedure("database", false).await.unwrap();
        let job = e.propose(&spec, plan, "alice").await.unwrap();
        e.approve(&job.id, "alice", &Proof::YesFlag).await.unwrap();
        (e, job.id)
    };
    let ((a, ja), (b, jb)) = tokio::join!(prepare(a), prepare(b));
    let (ra, rb) = tokio::join!(a.run_job(&ja), b.run_job(&jb));
    let states: Vec<JobState> =
        [ra, rb].into_iter().map(|r| r.map(|j| j.state).unwrap_or(JobState::Failed)).collect();
    assert_eq!(
        states.iter().filter(|s| **s == JobState::Succeeded).count(),
        1,
        "exactly one ran: {states:?}"
    );
    let loser =
        a.jobs().get(if states[0] == JobState::Succeeded { &jb } else { &ja }).await.unwrap().unwrap();
    assert!(loser.outcome.unwrap().contains("another failover of database is running"));
}
}

crate::on_both_stores! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_commit_window_applies_its_default_and_audits_it(store) {
    let s = Setup::new(store);
    let config = s.config(&format!(
        r#"
[[systems]]
name = "database"
tier = 1
[systems.failover]
commit_window = "1s"
on_commit_timeout = "failback"
steps = [ {over} ]
[systems.failback]
steps = [ {back} ]
"#,
        over = note(&s, "Over", "over"),
        back = note(&s, "Back", "back"),
    ));
    let engine = s.engine(&config).await;
    assert_eq!(failover(&engine, "database").await.state, JobState::Succeeded);
    assert!(engine.apply_commit_timeouts().await.unwrap().is_empty(), "the window is still open");
    // The window ends: wait for it (polled), then its default applies.
    let deadline = Instant::now() + Duration::from_secs(10);
    let done = loop {
        let done = engine.apply_commit_timeouts().await.unwrap();
        if !done.is_empty() {
            break done;
        }
        assert!(Instant::now() < deadline, "the commit window never ended");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(done.len(), 1, "{done:?}");
    assert!(done[0].contains("failing back"), "{done:?}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while engine.failover_state("database").await.unwrap().0 != FailoverState::Normal {
        assert!(Instant::now() < deadline, "the failback never finished");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(s.log(), "over\nback\n");
    let audit = engine.audit_records(None).await.unwrap();
    assert!(audit.iter().any(|r| r.action == "failover.commit_window_ended"));
    let approved = audit.iter().find(|r| r.action == "failback.approved").unwrap();
    assert!(approved.details.contains("the commit window ended"), "{}", approved.details);
}
}

crate::on_both_stores! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_person_approval_needs_a_second_different_operator(store) {
    let s = Setup::new(store);
    let config = s.config(&format!(
        r#"
[[systems]]
name = "database"
tier = 1
[systems.failover]
approval = "two-person"
steps = [ {over} ]
"#,
        over = note(&s, "Over", "over"),
    ));
    let engine = s.engine(&config).await;
    let (spec, plan) = engine.plan_procedure("database", false).await.unwrap();
    let job = engine.propose(&spec, plan, "alice").await.unwrap();
    // The proposer's approval is the first of two: the job waits.
    let first = engine.approve(&job.id, "alice", &Proof::Confirmed).await;
    assert!(matches!(first, Err(Refusal::AwaitingSecond { .. })), "{first:?}");
    assert_eq!(engine.jobs().get(&job.id).await.unwrap().unwrap().state, JobState::Proposed);
    // Never the proposer again.
    let again = engine.approve(&job.id, "alice", &Proof::YesFlag).await;
    assert!(matches!(again, Err(Refusal::SameOperator { .. })), "{again:?}");
    // Another operator, another process on the same state, on the shared configuration (which
    // names alice): `--operator` says who acts.
    let approve = |extra: &[&str]| {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("warroom"))
            .arg("--config")
            .arg(&config)
            .args(extra)
            .args(["approve", &job.id, "--yes"])
            .output()
            .unwrap()
    };
    let as_alice = approve(&[]);
    assert_eq!(as_alice.status.code(), Some(2), "refused at the gate: {as_alice:?}");
    assert!(String::from_utf8_lossy(&as_alice.stderr).contains("alice already approved"), "{as_alice:?}");
    // The same operator on another host is still one person.
    let elsewhere = std::process::Command::new(assert_cmd::cargo::cargo_bin("warroom"))
        .arg("--config")
        .arg(&config)
        .env("WARROOM_HOST", "another-host")
        .args(["approve", &job.id, "--yes"])
        .output()
        .unwrap();
    assert_eq!(elsewhere.status.code(), Some(2), "{elsewhere:?}");
    assert!(String::from_utf8_lossy(&elsewhere.stderr).contains("alice already approved"), "{elsewhere:?}");
    let as_bob = approve(&["--operator", "bob"]);
    assert!(as_bob.status.success(), "{as_bob:?}");
    let approved = engine.jobs().get(&job.id).await.unwrap().unwrap();
    assert_eq!(approved.state, JobState::Approved);
    assert_eq!(approved.approvals, ["alice", "bob"]);
    let audit = engine.audit_records(None).await.unwrap();
    assert!(audit.iter().any(|r| r.action == "failover.approved" && r.operator == "bob"), "{audit:#?}");
    assert!(engine.jobs().wait_approved(&job.id).await);
    assert_eq!(engine.run_job(&job.id).await.unwrap().state, JobState::Succeeded);
    assert_eq!(s.log(), "over\n");
}
}

crate::on_both_stores! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_shows_every_command_and_request_and_runs_nothing(store) {
    let s = Setup::new(store);
    let config = s.config(&format!(
        r#"
[[systems]]
name = "database"
tier = 1
[systems.failover]
commit_window = "30m"
steps = [
  {{ name = "Promote", run = ["pg_ctl", "promote", "-D", "/var/lib/pg"], timeout = "2m", estimate = "40s" }},
  {{ name = "Repoint DNS", http = {{ method = "POST", url = "http://127.0.0.1:9/api/records/db", body = '{{"target": "standby"}}' }} }},
]
rollback = [ {undo} ]
"#,
        undo = note(&s, "Demote", "demoted"),
    ));
    let out = common::warroom(s.dir.path())
        .args(["--config"])
        .arg(&config)
        .args(["failover", "database", "--dry-run"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("run  pg_ctl promote -D /var/lib/pg (timeout 2m, about 40s)"), "{text}");
    assert!(
        text.contains(r#"POST http://127.0.0.1:9/api/records/db (timeout 5m, body {"target": "standby"})"#),
        "{text}"
    );
    assert!(text.contains("commit window of 30m"), "{text}");
    assert!(text.contains("dry run: nothing was run"), "{text}");
    assert_eq!(s.log(), "");
    let engine = s.engine(&config).await;
    assert!(engine.jobs().list(10).await.unwrap().is_empty(), "nothing was even proposed");
    let _ = Fault::Down;
}
}

crate::on_both_stores! {
#[test]
fn two_processes_asking_to_fail_over_the_same_system_run_it_once(store) {
    let s = Setup::new(store);
    let config = s.config(&format!(
        r#"
[[systems]]
name = "database"
tier = 1
[systems.failover]
approval = "none"
steps = [ {{ name = "Slow promote", run = ["sh", "-c", "sleep 1.5; echo once >> '{}'"] }} ]
"#,
        s.path("steps.log").display()
    ));
    let spawn = || {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("warroom"))
            .arg("--config")
            .arg(&config)
            .args(["failover", "database"])
            .env("XDG_STATE_HOME", s.dir.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    // Both open a state database that does not exist yet: neither may fail on the other's
    // creating it. Then one runs; the other is refused, by the lock or by the system's state,
    // depending on how far the first one got.
    assert!(a.status.success() != b.status.success(), "one ran, one did not: {:?} {:?}", a.status, b.status);
    let loser = if a.status.success() { &b } else { &a };
    let said = String::from_utf8_lossy(&loser.stderr);
    assert!(
        said.contains("another failover of database is running")
            || said.contains("database is already in \"failover initiated\""),
        "the second was refused for the right reason: {said}"
    );
    if said.contains("another failover of database is running") {
        assert_eq!(loser.status.code(), Some(2), "refused, nothing ran: {said}");
    }
    assert_eq!(s.log(), "once\n", "the procedure ran exactly once");
}
}

/// Who may do what (`[[operators]]`): each person's own key, made with `warroom keygen`, and
/// the public half listed. Returns the configuration's path; key files are `NAME.key`.
fn config_with_operators(s: &Setup, people: &[(&str, &str)], systems: &str) -> PathBuf {
    let mut operators = String::new();
    for (name, role) in people {
        let key = s.path(&format!("{name}.key"));
        let made =
            common::warroom(s.dir.path()).args(["keygen", "--for", name, "-o"]).arg(&key).output().unwrap();
        assert!(made.status.success(), "{made:?}");
        // The entry it prints, with the role chosen.
        let entry = String::from_utf8_lossy(&made.stdout)
            .replace("roles = [\"operator\"]", &format!("roles = [\"{role}\"]"));
        operators.push_str(&entry);
        operators.push('\n');
    }
    let text = format!(
        "[console]\nstate_dir = \"{}\"\n{}\n{operators}{systems}",
        s.path("state").display(),
        s.store.console_lines(s.dir.path())
    );
    let path = s.path("warroom.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The shortest heartbeat timeout a configuration may set (3 s), so an owner killed is gone soon.
fn with_short_heartbeat(config: &Path) {
    let text = std::fs::read_to_string(config).unwrap();
    std::fs::write(config, text.replacen("[console]\n", "[console]\nheartbeat_timeout = \"3s\"\n", 1))
        .unwrap();
}

/// `warroom ARGS` as the person whose key is `NAME.key` (nobody named on the command line).
fn as_person(s: &Setup, config: &Path, name: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("warroom"));
    cmd.arg("--config")
        .arg(config)
        .env_remove("WARROOM_OPERATOR")
        .env("WARROOM_OPERATOR_KEY_FILE", s.path(&format!("{name}.key")))
        .env("XDG_STATE_HOME", s.dir.path())
        .env("NO_COLOR", "1");
    cmd
}

/// Oscar (an operator) asks for the database's failover from his own process, which waits:
/// that process, an engine on the same state, and the waiting job's id.
async fn oscar_proposes_a_failover(s: &Setup, config: &Path) -> (std::process::Child, Engine, String) {
    oscar_proposes_a_failover_on(s, config, None).await
}

/// The same, from a process on `host` (else on this one).
async fn oscar_proposes_a_failover_on(
    s: &Setup,
    config: &Path,
    host: Option<&str>,
) -> (std::process::Child, Engine, String) {
    let mut oscar = as_person(s, config, "oscar");
    if let Some(host) = host {
        oscar.env("WARROOM_HOST", host);
    }
    let proposer = oscar
        .args(["failover", "database", "--yes"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let engine = s.engine(config).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let job = loop {
        let jobs = engine.jobs().list(10).await.unwrap();
        if let Some(j) = jobs.iter().find(|j| j.state == JobState::Proposed)
            && engine.audit_records(None).await.unwrap().iter().any(|r| r.action == "failover.approved")
        {
            break j.id.clone();
        }
        assert!(Instant::now() < deadline, "no proposal waits: {jobs:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    (proposer, engine, job)
}

const TIER1_DATABASE: &str = r#"
[[systems]]
name = "database"
tier = 1
[systems.failover]
approval = "confirm"
"#;

crate::on_both_stores! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_observers_failover_is_refused_naming_the_role_it_needs(store) {
    let s = Setup::new(store);
    let systems = format!("{TIER1_DATABASE}steps = [ {} ]\n", note(&s, "Over", "over"));
    let config = config_with_operators(&s, &[("olive", "observer"), ("cara", "commander")], &systems);
    let out = as_person(&s, &config, "olive").args(["failover", "database", "--yes"]).output().unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "refused at the gate: {said}");
    assert!(
        said.contains("olive is an observer: proposing a tier 1 failover needs a commander, an approver or an operator"),
        "{said}"
    );
    // An observer cannot change anything else either: a note, a commit (as a failover's
    // approval), a system this configuration does not know (the strictest rule, not the mildest).
    let noted = as_person(&s, &config, "olive").args(["audit", "note", "I was here"]).output().unwrap();
    assert_eq!(noted.status.code(), Some(2), "{noted:?}");
    let reviewed =
        as_person(&s, &config, "olive").args(["review", "--as", "cara", "--note", "all fine"]).output().unwrap();
    let said = String::from_utf8_lossy(&reviewed.stderr);
    assert_eq!(reviewed.status.code(), Some(2), "refused like the rest: {said}");
    assert!(said.contains("olive is an observer"), "{said}");
    for system in ["database", "nowhere"] {
        let commit = as_person(&s, &config, "olive").args(["commit", system]).output().unwrap();
        let said = String::from_utf8_lossy(&commit.stderr);
        assert_eq!(commit.status.code(), Some(2), "{said}");
        assert!(said.contains("olive is an observer: approving a tier 1 failover needs a commander"), "{said}");
    }
    let engine = s.engine(&config).await;
    assert!(engine.jobs().list(10).await.unwrap().is_empty(), "nothing was proposed");
    assert_eq!(s.log(), "", "nothing ran");
    let audit = engine.audit_records(None).await.unwrap();
    let refused = audit
        .iter()
        .find(|r| r.action == "failover.proposed" && r.operator == "olive")
        .unwrap_or_else(|| panic!("the refusal is audited: {audit:#?}"));
    assert_eq!(refused.outcome, "refused");
    assert!(refused.details.contains("\"needs\":[\"commander\",\"approver\",\"operator\"]"), "{}", refused.details);
    assert!(refused.details.contains("\"roles\":[\"observer\"]"), "{}", refused.details);
    assert!(audit.iter().any(|r| r.action == "note" && r.operator == "olive" && r.outcome == "refused"));
    assert!(audit.iter().any(|r| r.action == "plan.reviewed" && r.operator == "olive" && r.outcome == "refused"));
    assert!(!audit.iter().any(|r| r.operator == "cara"), "nothing is recorded under the name given with --as");
    assert!(engine.verify_audit().await.unwrap().problem.is_none());
}
}

crate::on_both_stores! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_proposes_a_tier1_failover_that_only_a_commander_approves(store) {
    let s = Setup::new(store);
    let systems = format!("{TIER1_DATABASE}steps = [ {} ]\n", note(&s, "Over", "over"));
    let people = [("oscar", "operator"), ("ann", "approver"), ("cara", "commander")];
    let config = config_with_operators(&s, &people, &systems);
    // Oscar asks; his own approval is refused for his role, and his command waits for a commander.
    let (proposer, engine, job) = oscar_proposes_a_failover(&s, &config).await;
    // Every console's list says whom it waits for.
    let listed = as_person(&s, &config, "ann").args(["jobs"]).output().unwrap();
    let said = String::from_utf8_lossy(&listed.stdout);
    assert!(said.contains(&format!("proposed by oscar; waits for a commander: their console's jobs screen, or `warroom approve {job}`")), "{said}");
    // An approver may approve most things, not a tier-1 failover; nor may anyone claim to be
    // the commander without her key.
    let ann = as_person(&s, &config, "ann").args(["approve", &job, "--yes"]).output().unwrap();
    let said = String::from_utf8_lossy(&ann.stderr);
    assert_eq!(ann.status.code(), Some(2), "{said}");
    assert!(said.contains("ann is an approver: approving a tier 1 failover needs a commander"), "{said}");
    let posing = as_person(&s, &config, "ann").args(["--operator", "cara", "approve", &job, "--yes"]).output().unwrap();
    let said = String::from_utf8_lossy(&posing.stderr);
    assert_eq!(posing.status.code(), Some(2), "{said}");
    assert!(said.contains("cannot act as cara: it acts for ann"), "{said}");
    // Nor may anyone withdraw Oscar's proposal by claiming his name: his own may, only his.
    let rejecting = as_person(&s, &config, "ann").args(["--operator", "oscar", "reject", &job]).output().unwrap();
    let said = String::from_utf8_lossy(&rejecting.stderr);
    assert_eq!(rejecting.status.code(), Some(2), "{said}");
    assert!(said.contains("cannot act as oscar: it acts for ann"), "{said}");
    let nobody = common::warroom(s.dir.path())
        .env("WARROOM_OPERATOR", "oscar")
        .args(["--config"])
        .arg(&config)
        .args(["reject", &job])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&nobody.stderr);
    assert_eq!(nobody.status.code(), Some(2), "{said}");
    assert!(said.contains("cannot act as oscar"), "{said}");
    assert_eq!(engine.jobs().get(&job).await.unwrap().unwrap().state, JobState::Proposed);
    // The commander approves from her own process; Oscar's runs it.
    let cara = as_person(&s, &config, "cara").args(["approve", &job, "--yes"]).output().unwrap();
    assert!(cara.status.success(), "{cara:?}");
    let proposed = proposer.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&proposed.stderr);
    assert!(proposed.status.success(), "{said}");
    assert!(said.contains("the proposal waits for a commander"), "{said}");
    assert_eq!(s.log(), "over\n", "ran once");
    let audit = engine.audit_records(None).await.unwrap();
    let approvals: Vec<(&str, &str)> = audit
        .iter()
        .rev()
        .filter(|r| r.action == "failover.approved")
        .map(|r| (r.operator.as_str(), r.outcome.as_str()))
        .collect();
    assert_eq!(
        approvals,
        [("oscar", "refused"), ("ann", "refused"), ("cara", "refused"), ("cara", "approved")],
        "the posing as cara is refused under the name claimed; the record says who this process was"
    );
    assert!(audit.iter().any(|r| r.action == "failover.proposed" && r.operator == "oscar" && r.outcome == "recorded"));
    assert!(engine.verify_audit().await.unwrap().problem.is_none());
}
}

crate::on_both_stores! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_given_as_the_proposers_process_dies_is_carried_out_by_the_approver(store) {
    let s = Setup::new(store);
    let systems = format!("{TIER1_DATABASE}steps = [ {} ]\n", note(&s, "Over", "over"));
    let config = config_with_operators(&s, &[("oscar", "operator"), ("cara", "commander")], &systems);
    with_short_heartbeat(&config);
    let (mut proposer, engine, job) = oscar_proposes_a_failover_on(&s, &config, Some("host-b")).await;
    // Oscar's process dies with his proposal waiting; its heartbeat is still fresh when the
    // commander approves from another host.
    proposer.kill().unwrap();
    proposer.wait().unwrap();
    let cara = as_person(&s, &config, "cara").env("WARROOM_HOST", "host-a").args(["approve", &job, "--yes"]).output().unwrap();
    let said = String::from_utf8_lossy(&cara.stderr);
    assert!(cara.status.success(), "{said}");
    assert!(said.contains("on host-b) is gone: this one runs it"), "{said}");
    assert_eq!(s.log(), "over\n", "ran once, by the approver's process");
    let done = engine.jobs().get(&job).await.unwrap().unwrap();
    assert_eq!(done.state, JobState::Succeeded, "{done:?}");
    // Approving again is no second run: it says what became of it.
    let again = as_person(&s, &config, "cara").env("WARROOM_HOST", "host-a").args(["approve", &job, "--yes"]).output().unwrap();
    assert_eq!(again.status.code(), Some(2), "{again:?}");
    assert!(String::from_utf8_lossy(&again.stderr).contains("not waiting for approval"), "{again:?}");
    assert_eq!(s.log(), "over\n");
}
}

crate::on_both_stores! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_takes_over_what_it_approved_once_the_proposers_process_is_gone(store) {
    let s = Setup::new(store);
    let config = s.config(&format!(
        "[[systems]]\nname = \"database\"\ntier = 1\n[systems.failover]\napproval = \"two-person\"\nsteps = [ {} ]\n",
        note(&s, "Over", "over")
    ));
    with_short_heartbeat(&config);
    // Bob proposes from host-b and gives the first of two approvals; his process dies waiting.
    let mut bob = std::process::Command::new(assert_cmd::cargo::cargo_bin("warroom"))
        .arg("--config")
        .arg(&config)
        .args(["--operator", "bob", "failover", "database", "--yes"])
        .env("WARROOM_HOST", "host-b")
        .env("XDG_STATE_HOME", s.dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let engine = s.engine(&config).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let job = loop {
        let jobs = engine.jobs().list(10).await.unwrap();
        if let Some(j) = jobs.iter().find(|j| j.approvals == ["bob"]) {
            break j.id.clone();
        }
        assert!(Instant::now() < deadline, "bob's proposal never waited: {jobs:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    bob.kill().unwrap();
    bob.wait().unwrap();
    // Alice's console (this engine, on this host) gives the second; bob's heartbeat is fresh,
    // so his process is taken to run it, until the heartbeat is stale.
    engine.approve(&job, "alice", &Proof::Confirmed).await.unwrap();
    assert!(engine.run_approved_here().await.unwrap().is_empty());
    let taken = loop {
        let taken = engine.run_approved_here().await.unwrap();
        if !taken.is_empty() {
            break taken;
        }
        assert!(Instant::now() < deadline, "never taken over");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(taken, std::slice::from_ref(&job));
    while engine.jobs().get(&job).await.unwrap().unwrap().state != JobState::Succeeded {
        assert!(Instant::now() < deadline, "{:?}", engine.jobs().get(&job).await.unwrap());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(s.log(), "over\n");
    assert!(engine.run_approved_here().await.unwrap().is_empty(), "once");
}
}

crate::on_both_stores! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_left_by_both_its_processes_is_listed_and_run_by_one_who_gave_it(store) {
    let s = Setup::new(store);
    let systems = format!("{TIER1_DATABASE}steps = [ {} ]\n", note(&s, "Over", "over"));
    let people = [("oscar", "operator"), ("olive", "observer"), ("ann", "approver"), ("cara", "commander")];
    let config = config_with_operators(&s, &people, &systems);
    with_short_heartbeat(&config);
    let (mut proposer, engine, job) = oscar_proposes_a_failover_on(&s, &config, Some("host-b")).await;
    proposer.kill().unwrap();
    proposer.wait().unwrap();
    // Cara approves, and her command is stopped while it waits for Oscar's process.
    let mut cara = as_person(&s, &config, "cara")
        .env("WARROOM_HOST", "host-a")
        .args(["approve", &job, "--yes"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while engine.jobs().get(&job).await.unwrap().unwrap().state != JobState::Approved {
        assert!(Instant::now() < deadline, "never approved");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cara.kill().unwrap();
    cara.wait().unwrap();
    assert_eq!(s.log(), "", "nothing ran yet");
    // Once Oscar's heartbeat is stale, the list says who can run it.
    let listed = loop {
        let out = as_person(&s, &config, "olive").env("WARROOM_HOST", "host-c").arg("jobs").output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if text.contains("is gone") {
            break text;
        }
        assert!(Instant::now() < deadline, "never listed as left: {text}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(listed.contains(&format!("`warroom approve {job}` as cara or oscar runs it")), "{listed}");
    // An observer cannot make it run, nor can another who had no part in it; one who approved
    // it can. Each refusal is audited.
    let olive = as_person(&s, &config, "olive").env("WARROOM_HOST", "host-c").args(["approve", &job, "--yes"]).output().unwrap();
    assert_eq!(olive.status.code(), Some(2), "{olive:?}");
    assert!(String::from_utf8_lossy(&olive.stderr).contains("olive is an observer"), "{olive:?}");
    let ann = as_person(&s, &config, "ann").env("WARROOM_HOST", "host-c").args(["approve", &job, "--yes"]).output().unwrap();
    assert_eq!(ann.status.code(), Some(2), "{ann:?}");
    assert!(
        String::from_utf8_lossy(&ann.stderr).contains("the one who approved it or its proposer, oscar, runs it"),
        "{ann:?}"
    );
    assert_eq!(s.log(), "");
    let audit = engine.audit_records(None).await.unwrap();
    let refused: Vec<&str> = audit
        .iter()
        .rev()
        .filter(|r| r.action == "failover.run" && r.outcome == "refused")
        .map(|r| r.operator.as_str())
        .collect();
    assert_eq!(refused, ["olive", "ann"]);
    let again = as_person(&s, &config, "cara").env("WARROOM_HOST", "host-a").args(["approve", &job, "--yes"]).output().unwrap();
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success(), "{said}");
    assert!(said.contains("is approved already (by cara)") && said.contains("is gone: this one runs it"), "{said}");
    assert_eq!(s.log(), "over\n");
    assert_eq!(engine.jobs().get(&job).await.unwrap().unwrap().state, JobState::Succeeded);
}
}

crate::on_both_stores! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_that_only_another_hosts_configuration_allows_does_not_run_here(store) {
    let s = Setup::new(store);
    let systems = format!("{TIER1_DATABASE}steps = [ {} ]\n", note(&s, "Over", "over"));
    let people = [("oscar", "operator"), ("olive", "observer"), ("cara", "commander")];
    let config = config_with_operators(&s, &people, &systems);
    // Olive's own copy of the configuration makes her a commander: her host lets her approve.
    let forged = s.path("olive.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&forged, text.replace("roles = [\"observer\"]", "roles = [\"commander\"]")).unwrap();
    let (proposer, engine, job) = oscar_proposes_a_failover(&s, &config).await;
    let olive = as_person(&s, &forged, "olive").args(["approve", &job, "--yes"]).output().unwrap();
    assert!(olive.status.success(), "her host's rule lets her: {olive:?}");
    // Oscar's host runs it on its own rule, where Olive is an observer: nothing runs.
    let proposed = proposer.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&proposed.stderr);
    assert!(!proposed.status.success(), "{said}");
    assert_eq!(s.log(), "", "no step ran");
    let done = engine.jobs().get(&job).await.unwrap().unwrap();
    assert_eq!(done.state, JobState::Failed);
    let outcome = done.outcome.unwrap_or_default();
    assert!(outcome.contains("not run on this host") && outcome.contains("olive is an observer"), "{outcome}");
    assert!(outcome.contains("approving a tier 1 failover needs a commander"), "{outcome}");
    let audit = engine.audit_records(None).await.unwrap();
    assert!(
        audit.iter().any(|r| r.action == "failover.run" && r.operator == "olive" && r.outcome == "refused"),
        "the refusal is audited: {audit:#?}"
    );
    assert_eq!(engine.failover_state("database").await.unwrap().0, FailoverState::Normal, "nothing started");
    assert!(engine.verify_audit().await.unwrap().problem.is_none());
}
}

crate::on_both_stores! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_shared_host_the_os_user_is_the_operator(store) {
    let s = Setup::new(store);
    let me = String::from_utf8(std::process::Command::new("id").arg("-un").output().unwrap().stdout).unwrap();
    let text = format!(
        "[console]\nstate_dir = \"{}\"\n{}\n[[operators]]\nname = \"pat\"\nroles = [\"commander\"]\nos_user = \"{}\"\n{TIER1_DATABASE}steps = [ {} ]\n",
        s.path("state").display(),
        s.store.console_lines(s.dir.path()),
        me.trim(),
        note(&s, "Over", "over")
    );
    let config = s.path("warroom.toml");
    std::fs::write(&config, text).unwrap();
    let out = common::warroom(s.dir.path())
        .env_remove("WARROOM_OPERATOR")
        .args(["--config"])
        .arg(&config)
        .args(["audit", "note", "on the bridge"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("nobody is named"), "the OS user names the operator: {out:?}");
    let engine = s.engine(&config).await;
    let audit = engine.audit_records(None).await.unwrap();
    assert!(audit.iter().any(|r| r.action == "note" && r.operator == "pat"), "recorded as the OS user's operator: {audit:#?}");
}
}

crate::on_both_stores! {
/// What was approved is what runs: a configuration reloaded between the proposal and the run,
/// with other steps, runs nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_procedure_changed_after_its_proposal_runs_nothing(store) {
    let s = Setup::new(store);
    let systems = |word: &str| {
        format!(
            "[[systems]]\nname = \"database\"\ntier = 1\n[systems.failover]\nsteps = [ {} ]\n",
            note(&s, "Over", word)
        )
    };
    let config = s.config(&systems("over"));
    let engine = s.engine(&config).await;
    let (spec, plan) = engine.plan_procedure("database", false).await.unwrap();
    let job = engine.propose(&spec, plan, "alice").await.unwrap();
    s.config(&systems("something-else"));
    let (reloaded, _) = engine.reload(&ProcessEnv).await.unwrap();
    reloaded.approve(&job.id, "alice", &Proof::YesFlag).await.unwrap();
    let done = reloaded.run_job(&job.id).await.unwrap();
    assert_eq!(done.state, JobState::Failed);
    assert!(done.outcome.as_deref().unwrap_or_default().contains("changed since it was proposed"), "{done:?}");
    assert_eq!(s.log(), "", "nothing ran");
}
}
