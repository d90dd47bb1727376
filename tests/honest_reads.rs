//! A failed read is never an all-clear: with the state database locked by another
//! connection, nothing is settled or marked Failed, and everything resumes when the lock goes.
//! Jobs owned by another host are alive while their heartbeat is fresh, interrupted after.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use chrono::{TimeDelta, Utc};
use common::estate::{Estate, write};
use common::store::Kind;
use warroom::engine::jobs::JobState;

/// A connection of its own to the estate's state, as another process (or a damaged page) has.
async fn pool(e: &Estate) -> sqlx::AnyPool {
    e.store.connect(e.dir.path(), &e.path("state/warroom.db")).await
}

/// A running failover job and its system's state, as a process of `host` (pid `pid`) left them.
async fn plant_failover(e: &Estate, id: &str, host: &str, pid: i64, heartbeat_ago: i64) {
    let p = pool(e).await;
    let ts = |t: chrono::DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let now = Utc::now();
    sqlx::query(
        "INSERT INTO jobs (id, kind, target, state, plan, spec, policy, proposed_by, proposed_at, started_at, log, \
         owner_pid, owner_host, heartbeat_at) VALUES ($1, 'failover', 'files', 'running', '{\"title\":\"\",\"lines\":[]}', \
         '{\"Failover\":{\"system\":\"files\",\"failback\":false}}', 'typed', 'tester', $2, $2, '[]', $3, $4, $5)",
    )
    .bind(id)
    .bind(ts(now - TimeDelta::minutes(5)))
    .bind(pid)
    .bind(host)
    .bind(ts(now - TimeDelta::seconds(heartbeat_ago)))
    .execute(&p)
    .await
    .unwrap();
    sqlx::query("INSERT INTO system_states (system, state, since, job_id) VALUES ('files', 'failover_initiated', $1, $2)")
        .bind(ts(now))
        .bind(id)
        .execute(&p)
        .await
        .unwrap();
    p.close().await;
}

async fn estate(store: Kind) -> (Estate, warroom::engine::Engine) {
    let e = Estate::on(store);
    write(&e.data().join("a.txt"), b"alpha\n");
    let config = e.config(&format!("{{ path = \"{}\" }}", e.data().display()), "full", "");
    let engine = e.engine(&config).await;
    (e, engine)
}

crate::on_both_stores! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_of_another_host_is_interrupted_when_its_heartbeat_is_old_and_left_alone_while_fresh(store) {
    let (e, engine) = estate(store).await;
    plant_failover(&e, "J-fresh", "other-host", 4242, 2).await;
    engine.settle_stopped().await.unwrap();
    let job = engine.jobs().get("J-fresh").await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Running, "a fresh heartbeat is an owner alive");
    assert!(engine.jobs().owner_alive("J-fresh").await.unwrap());

    // The same owner, silent for longer than OWNER_GONE_AFTER: dead.
    let p = pool(&e).await;
    let old = (Utc::now() - TimeDelta::minutes(10)).to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    sqlx::query("UPDATE jobs SET heartbeat_at = $1 WHERE id = 'J-fresh'")
        .bind(old)
        .execute(&p)
        .await
        .unwrap();
    p.close().await;
    assert!(!engine.jobs().owner_alive("J-fresh").await.unwrap(), "so another host can approve or settle it");
    engine.settle_stopped().await.unwrap();
    let job = engine.jobs().get("J-fresh").await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Interrupted);
    assert!(job.outcome.unwrap().contains("on other-host"));
    let states = engine.failover_states().await.unwrap();
    assert_eq!(states[0].state, "failed", "its system is Failed, as on one host");
}
}

crate::on_both_stores! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_state_settles_nothing_and_says_so_then_resumes(store) {
    let (e, engine) = estate(store).await;
    // Our own running failover: alive, as the console that runs it is.
    plant_failover(&e, "J-ours", &warroom::engine::jobs::hostname(), i64::from(std::process::id()), 0).await;
    // In WAL mode a lock held by another connection never stops a reader, so another
    // connection makes the jobs unreadable outright (as a damaged page or an I/O error would),
    // while the system states still read: exactly where "its job is gone" used to be read.
    let p = pool(&e).await;
    sqlx::query("ALTER TABLE jobs RENAME TO jobs_away").execute(&p).await.unwrap();
    let settled = engine.settle_interrupted_failovers().await;
    let reason = settled.expect_err("an unreadable job is an error, never 'its job is gone'").to_string();
    assert!(reason.contains("job"), "{reason}");
    assert!(engine.settle_stopped().await.is_err());
    let states = engine.failover_states().await.unwrap();
    assert_eq!(states[0].state, "failover_initiated", "nothing became Failed: {states:?}");
    // The state reads again: everything resumes, and still nothing became Failed.
    sqlx::query("ALTER TABLE jobs_away RENAME TO jobs").execute(&p).await.unwrap();
    p.close().await;
    engine.settle_stopped().await.unwrap();
    let states = engine.failover_states().await.unwrap();
    assert_eq!(states[0].state, "failover_initiated", "{states:?}");
    assert_eq!(engine.jobs().get("J-ours").await.unwrap().unwrap().state, JobState::Running);
}
}

crate::on_both_stores! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_failover_state_is_an_error_not_normal(store) {
    let (e, engine) = estate(store).await;
    plant_failover(&e, "J-ours", &warroom::engine::jobs::hostname(), i64::from(std::process::id()), 0).await;
    assert!(engine.failover_state("files").await.unwrap().0.in_progress());
    let p = pool(&e).await;
    sqlx::query("ALTER TABLE system_states RENAME TO away").execute(&p).await.unwrap();
    // "Normal" here would let a second failover of a system in the middle of one be planned.
    let read = engine.failover_state("files").await;
    assert!(read.is_err(), "{read:?}");
    sqlx::query("ALTER TABLE away RENAME TO system_states").execute(&p).await.unwrap();
    p.close().await;
    assert!(engine.failover_state("files").await.unwrap().0.in_progress());
}
}

crate::on_both_stores! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_row_this_version_cannot_read_is_named_not_skipped_or_defaulted(store) {
    let (e, engine) = estate(store).await;
    plant_failover(&e, "J-odd", "other-host", 4242, 0).await;
    let p = pool(&e).await;
    sqlx::query("UPDATE jobs SET kind = 'teleport' WHERE id = 'J-odd'").execute(&p).await.unwrap();
    p.close().await;
    let err =
        engine.jobs().list(10).await.expect_err("an unknown kind is not read as another one").to_string();
    assert!(err.contains("J-odd") && err.contains("\"teleport\""), "{err}");
    let err = engine.jobs().get("J-odd").await.expect_err("nor as no job").to_string();
    assert!(err.contains("does not know"), "{err}");
}
}

crate::on_both_stores! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_this_version_cannot_read_does_not_block_or_lose_the_ones_after_it(store) {
    let (e, engine) = estate(store).await;
    plant_failover(&e, "J-sig", &warroom::engine::jobs::hostname(), i64::from(std::process::id()), 0).await;
    let p = pool(&e).await;
    for signal in ["teleport", "confirm"] {
        sqlx::query("INSERT INTO job_signals (job_id, signal, argument, by_whom, at) VALUES ('J-sig', $1, NULL, 'bob', $2)")
            .bind(signal)
            .bind(Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
            .execute(&p)
            .await
            .unwrap();
    }
    p.close().await;
    let state = e.store.open(e.dir.path(), engine.state_dir()).await;
    let taken = state.take_signals("J-sig", Utc::now()).await.unwrap();
    assert_eq!(taken.len(), 2, "{taken:?}");
    assert!(taken[0].as_ref().is_err_and(|e| e.contains("\"teleport\"")), "{taken:?}");
    assert_eq!(taken[1].as_ref().map(|s| s.signal).ok(), Some(warroom::engine::jobs::Signal::Confirm));
    assert!(state.take_signals("J-sig", Utc::now()).await.unwrap().is_empty(), "each is taken once");
}
}
