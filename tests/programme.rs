//! The testing programme: restore drills (timed, checked file by file, recorded; a tampered
//! backup fails the drill), the programme's standing and exit codes, and pruning that refuses
//! anything younger than the keep.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use warroom::engine::jobs::JobState;
use warroom::model::programme::{Due, Outcome, TestKind};

use common::estate::{Estate, backup, run, write};

const DRILL_WEEKLY: &str = "\n[[programme]]\ntest = \"restore-drill\"\nevery = \"7d\"\n";

crate::on_both_stores! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_drill_is_timed_checked_recorded_and_leaves_nothing(store) {
    let e = Estate::on(store);
    write(&e.data().join("ledger.csv"), "date,amount\n2026-11-26,100\n".repeat(2000).as_bytes());
    write(&e.data().join("notes/readme.txt"), b"the ledger\n");
    let config = e.config(&format!("{{ path = \"{}\" }}", e.data().display()), "full", DRILL_WEEKLY);
    let engine = e.engine(&config).await;
    // Before any drill: due now, and `programme` says so with exit 2.
    let before = engine.programme().await.unwrap();
    assert_eq!(before.due, Due::Overdue);
    assert_eq!(before.exit_code, 2);
    backup(&engine).await;

    let (spec, plan) = engine.plan_restore_drill("files").await.unwrap();
    let shown = plan.lines.join("\n");
    assert!(shown.contains("scratch, removed after") && shown.contains("RTO"), "{shown}");
    let job = run(&engine, spec, plan).await;
    assert_eq!(job.state, JobState::Succeeded, "{:?}", job.outcome);
    let outcome = job.outcome.unwrap();
    assert!(outcome.contains("checked file by file in "), "{outcome}");

    let results = engine.test_results().await.unwrap();
    let drill = results.iter().find(|r| r.kind == TestKind::RestoreDrill).expect("the drill is recorded");
    assert_eq!((drill.outcome, drill.system.as_str()), (Outcome::Passed, "files"));
    assert!(drill.duration_ms.is_some(), "the restore's duration is recorded");
    assert_eq!(drill.by, format!("job {}", job.id));
    let view = engine.programme().await.unwrap();
    let files = view.system("files").unwrap();
    assert_eq!(files.restore_takes_ms, drill.duration_ms, "the RTO a restore would really take");
    assert_eq!((view.due, view.exit_code), (Due::Ok, 0), "{view:#?}");
    // The scratch is gone; the audit log has the result.
    let drills = e.path("state/drills");
    let left: Vec<_> = std::fs::read_dir(&drills).map(|d| d.flatten().collect()).unwrap_or_default();
    assert!(left.is_empty(), "the drill's scratch is removed: {left:?}");
    let audit = engine.audit_records(None).await.unwrap();
    assert!(audit.iter().any(|r| r.action == "programme.tested" && r.details.contains("restore-drill")));

    // `warroom programme` (text and JSON) and `status` show it.
    let out = common::warroom(e.dir.path())
        .args(["--config", config.to_str().unwrap(), "programme"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("restore-drill") && text.contains("a restore takes"), "{text}");
    let out = common::warroom(e.dir.path())
        .args(["--config", config.to_str().unwrap(), "programme", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema"], "warroom.programme/1");
    assert_eq!(v["systems"][0]["tests"][0]["last"]["outcome"], "passed");
    let out = common::warroom(e.dir.path())
        .args(["--config", config.to_str().unwrap(), "status", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["systems"][0]["testing"]["last_test"], "restore-drill");
    assert_eq!(v["systems"][0]["testing"]["restore_takes_ms"], drill.duration_ms.unwrap());
}
}

crate::on_both_stores! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_backup_fails_the_drill_and_the_system_stays_due(store) {
    let e = Estate::on(store);
    write(&e.data().join("ledger.csv"), "date,amount\n2026-11-26,100\n".repeat(5000).as_bytes());
    let config = e.config(&format!("{{ path = \"{}\" }}", e.data().display()), "full", DRILL_WEEKLY);
    let engine = e.engine(&config).await;
    backup(&engine).await;
    let id = engine.backups(Some("files")).await.unwrap()[0].manifest.id.clone();
    // Someone with write access to the location alters the data after it was verified.
    let data_file = e.path(&format!("repo/warroom/files/{id}/data.age"));
    let mut bytes = std::fs::read(&data_file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&data_file, bytes).unwrap();

    let (spec, plan) = engine.plan_restore_drill("files").await.unwrap();
    let job = run(&engine, spec, plan).await;
    assert_eq!(job.state, JobState::Failed, "{:?}", job.outcome);
    let results = engine.test_results().await.unwrap();
    let drill =
        results.iter().find(|r| r.kind == TestKind::RestoreDrill).expect("a failed drill is recorded");
    assert_eq!(drill.outcome, Outcome::Failed);
    assert!(drill.detail.contains(&id) && drill.detail.contains("could not be restored"), "{}", drill.detail);
    let view = engine.programme().await.unwrap();
    assert_eq!(view.due, Due::Overdue, "a failed drill does not count");
    assert_eq!(view.system("files").unwrap().restore_takes_ms, None);
    let left: Vec<_> =
        std::fs::read_dir(e.path("state/drills")).map(|d| d.flatten().collect()).unwrap_or_default();
    assert!(left.is_empty(), "nothing half-restored is left: {left:?}");
}
}

crate::on_both_stores! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pruning_refuses_anything_younger_than_the_keep(store) {
    let e = Estate::on(store);
    write(&e.data().join("a.txt"), b"a\n");
    let config = e.config(&format!("{{ path = \"{}\" }}", e.data().display()), "full", DRILL_WEEKLY);
    let engine = e.engine(&config).await;
    backup(&engine).await;
    let (spec, plan) = engine.plan_restore_drill("files").await.unwrap();
    assert_eq!(run(&engine, spec, plan).await.state, JobState::Succeeded);
    let now = engine.now();
    let err = engine.prune_test_results(now - chrono::Duration::days(30), "tester").await.unwrap_err().to_string();
    assert!(err.contains("kept 2557 days"), "{err}");
    // Past the keep: allowed, and today's result is still there.
    let gone = engine.prune_test_results(now - chrono::Duration::days(2600), "tester").await.unwrap();
    assert_eq!(gone, 0);
    assert_eq!(
        engine.test_results().await.unwrap().iter().filter(|r| r.kind == TestKind::RestoreDrill).count(),
        1
    );
    let out = common::warroom(e.dir.path())
        .args(["--config", config.to_str().unwrap(), "programme", "prune", "--before", "2026-01-01"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "refused, as the gate's refusals are: {out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("refused, nothing was written: results are kept"), "{out:?}");
}
}
