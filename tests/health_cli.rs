//! `warroom probe`, `watch`, `status --probe` and `sim` through the real binary, against a
//! simulated estate on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::warroom;
use warroom::sim::{Fault, SimEstate};

/// A config file probing the sim's endpoints.
/// Wait until `name`'s endpoint refuses connections (a fault switched Down stops listening).
async fn refused(sim: &SimEstate, name: &str) {
    let url = sim.endpoints().get(name).cloned().unwrap();
    let addr = url.trim_start_matches("http://").split('/').next().unwrap().to_owned();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while tokio::net::TcpStream::connect(&addr).await.is_ok() {
        assert!(std::time::Instant::now() < deadline, "{name} still accepts connections");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn write_config(dir: &Path, sim: &SimEstate) -> std::path::PathBuf {
    let mut text = String::from("[health]\ninterval = \"1s\"\ntimeout = \"2s\"\n\n");
    for (name, url) in sim.endpoints() {
        text.push_str(&format!(
            "[[systems]]\nname = \"{name}\"\ntier = 2\n[systems.health]\nkind = \"http\"\nurl = \"{url}\"\nbody_contains = \"ok\"\n\n"
        ));
    }
    let path = dir.join("warroom.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_reports_each_system_and_exits_like_a_plugin() {
    let sim = SimEstate::start_independent(["api".to_owned(), "database".to_owned()]).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &sim);

    let out = warroom(dir.path()).arg("--config").arg(&config).args(["probe", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["schema"], "warroom.probe/1");
    let states: Vec<&str> =
        doc["systems"].as_array().unwrap().iter().map(|s| s["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["healthy", "healthy"]);

    sim.handle().set_fault("database", Fault::Down).unwrap();
    refused(&sim, "database").await;
    let out = warroom(dir.path()).arg("--config").arg(&config).args(["probe"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("database  ✖ DOWN") && text.contains("connection refused"), "{text}");

    let out = warroom(dir.path()).arg("--config").arg(&config).args(["probe", "api"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let out = warroom(dir.path()).arg("--config").arg(&config).args(["probe", "apj"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("did you mean \"api\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_with_probe_includes_health_and_verdict() {
    let sim = SimEstate::start_independent(["api".to_owned()]).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &sim);
    sim.handle().set_fault("api", Fault::Down).unwrap();
    refused(&sim, "api").await;
    let out = warroom(dir.path())
        .arg("--config")
        .arg(&config)
        .args(["status", "--probe", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let api = &doc["systems"][0];
    assert_eq!(api["health"]["state"], "down");
    assert_eq!(api["health"]["decision"]["verdict"], "restore_recommended");
    assert_eq!(api["health"]["detail"], "connection refused");
    // Without --probe, no health at all.
    let out = warroom(dir.path()).arg("--config").arg(&config).args(["status", "--json"]).output().unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["systems"][0].get("health").is_none());
}

// Blocking reads below: the estate needs a thread of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_prints_a_line_per_change() {
    let sim = SimEstate::start_independent(["api".to_owned()]).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &sim);
    let mut child = Command::new(env!("CARGO_BIN_EXE_warroom"))
        .arg("--config")
        .arg(&config)
        .args(["watch", "--json"])
        .env("XDG_STATE_HOME", dir.path())
        .env("WARROOM_OPERATOR", "tester")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let wait_for = |want: &dyn Fn(&serde_json::Value) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let line = rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .expect("no such line from watch");
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            if want(&v) {
                return v;
            }
        }
    };
    wait_for(&|v| v["event"] == "transition" && v["to"] == "healthy");
    sim.handle().set_fault("api", Fault::Down).unwrap();
    let down = wait_for(&|v| v["event"] == "transition" && v["to"] == "down");
    assert_eq!(down["name"], "api");
    assert_eq!(down["detail"], "connection refused");
    let verdict = wait_for(&|v| v["event"] == "verdict");
    assert_eq!(verdict["to"], "restore_recommended");
    child.kill().unwrap();
    let _ = child.wait();
}

#[test]
fn sim_fault_flips_a_running_estate_from_another_process() {
    let state = tempfile::tempdir().unwrap();
    let mut estate = Command::new(env!("CARGO_BIN_EXE_warroom"))
        .args(["sim", "run"])
        .env("XDG_STATE_HOME", state.path())
        .env("HOME", state.path())
        .env("WARROOM_OPERATOR", "tester")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let info = state.path().join("warroom/demo/sim.json");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !info.exists() {
        assert!(Instant::now() < deadline, "the estate did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = warroom(state.path()).args(["sim", "fault", "database", "slow", "6000ms"]).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "database: slow 6000ms",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = warroom(state.path()).args(["sim", "fault", "database", "erroring", "0.2"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "database: slow 6000ms + erroring 0.2");
    let out = warroom(state.path()).args(["sim", "list"]).output().unwrap();
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(
        list.lines().any(|l| l.starts_with("database") && l.ends_with("slow 6000ms + erroring 0.2")),
        "{list}"
    );
    assert_eq!(list.lines().count(), 12, "every system of the built-in example");

    let out = warroom(state.path()).args(["sim", "fault", "databse", "down"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("did you mean \"database\""));
    let out = warroom(state.path()).args(["sim", "fault", "database", "melting"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("there is no fault \"melting\""));
    // A second estate on the same state would take the first one's control file: refused.
    let out = warroom(state.path()).args(["sim", "run"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("a simulated estate is already running"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = warroom(state.path()).args(["sim", "list"]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("slow 6000ms + erroring 0.2"),
        "the first one answers still"
    );

    rustix_kill(estate.id());
    let _ = estate.wait();
    assert!(!info.exists(), "a stopped estate removes its sim.json");
    let out = warroom(state.path()).args(["sim", "fault", "database", "down"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("no simulated estate is running"));
}

fn rustix_kill(pid: u32) {
    let _ = Command::new("kill").arg("-TERM").arg(pid.to_string()).status();
}
