//! A standby's lag from each kind of source, through the real binary: a command printing
//! seconds or the time of the last replayed change, an HTTP answer with a JSON pointer; a
//! source that fails or hangs is unknown (never zero); a lag past the RPO is breached; the
//! recovery plan and the failover gate say what a failover would lose.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use common::warroom;

/// One system, tier 1 with a 5-minute RPO, a failover procedure estimated at 6 s, and the
/// replication source `source` (the body of `[systems.replication]`).
fn config(dir: &Path, source: &str) -> PathBuf {
    let path = dir.join("warroom.toml");
    std::fs::write(
        &path,
        format!(
            r#"[console]
operator = "tester"

[[systems]]
name = "database"
tier = 1
rpo = "5m"

[systems.failover]
approval = "confirm"
steps = [{{ name = "Promote", run = ["true"], estimate = "6s" }}]

[systems.replication]
{source}
"#
        ),
    )
    .unwrap();
    path
}

/// `warroom rpo --json` on `source`: the database's `replication` object, and the text form.
fn rpo(source: &str) -> (serde_json::Value, String) {
    let state = tempfile::tempdir().unwrap();
    let config = config(state.path(), source);
    let out = warroom(state.path()).arg("--config").arg(&config).args(["rpo", "--json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let text = warroom(state.path()).arg("--config").arg(&config).arg("rpo").output().unwrap();
    (v["systems"][0]["replication"].clone(), String::from_utf8_lossy(&text.stdout).into_owned())
}

/// An HTTP server on loopback that answers every request with `body` after `delay`.
fn serve(body: &'static str, delay: std::time::Duration) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                std::thread::sleep(delay);
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    format!("http://{addr}/replication")
}

#[test]
fn a_command_printing_seconds_is_the_lag() {
    let (r, text) = rpo("kind = \"command\"\ncommand = [\"sh\", \"-c\", \"echo 42\"]");
    assert_eq!(r["state"], "compliant", "{r}");
    assert_eq!(r["lag_seconds"], 42.0);
    assert_eq!(r["source"], "sh -c echo 42");
    assert!(text.contains("standby ● ⇄ lag 42s: a failover now loses about that (RPO 5m)"), "{text}");
}

#[test]
fn a_command_printing_the_last_replayed_change_is_measured_against_the_clock() {
    // As `psql -Atc 'select pg_last_xact_replay_timestamp()'` prints it.
    let (r, _) = rpo(
        "kind = \"command\"\ncommand = [\"sh\", \"-c\", \"date -u -d '-38 seconds' '+%Y-%m-%d %H:%M:%S.123456+00'\"]",
    );
    assert_eq!(r["state"], "compliant", "{r}");
    let lag = r["lag_seconds"].as_f64().unwrap();
    assert!((37.0..=41.0).contains(&lag), "about 38 s behind: {r}");
}

#[test]
fn an_http_answer_is_read_at_its_json_pointer() {
    let url = serve(r#"{"replication": [{"lag": "1m5s"}]}"#, std::time::Duration::ZERO);
    let (r, _) = rpo(&format!("kind = \"http\"\nurl = \"{url}\"\npointer = \"/replication/0/lag\""));
    assert_eq!(r["state"], "compliant", "{r}");
    assert_eq!(r["lag_seconds"], 65.0);
    let url = serve(r#"{"lag_seconds": null}"#, std::time::Duration::ZERO);
    let (r, _) = rpo(&format!("kind = \"http\"\nurl = \"{url}\"\npointer = \"/lag_seconds\""));
    assert_eq!(r["state"], "unknown", "a null is no lag: {r}");
    assert!(r["why"].as_str().unwrap().contains("the value at /lag_seconds is null"), "{r}");
}

#[test]
fn a_source_that_fails_or_hangs_is_unknown_never_zero() {
    let (r, text) = rpo(
        "kind = \"command\"\ncommand = [\"sh\", \"-c\", \"echo 'could not connect to server' >&2; exit 2\"]",
    );
    assert_eq!(r["state"], "unknown", "{r}");
    assert!(r["lag_seconds"].is_null(), "never zero: {r}");
    assert!(r["why"].as_str().unwrap().contains("exit 2: could not connect to server"), "{r}");
    assert!(text.contains("standby ? ⇄ lag unknown"), "{text}");

    let url = serve(r#"{"lag_seconds": 1}"#, std::time::Duration::from_secs(5));
    let (r, _) =
        rpo(&format!("kind = \"http\"\nurl = \"{url}\"\npointer = \"/lag_seconds\"\ntimeout = \"1s\""));
    assert_eq!(r["state"], "unknown", "{r}");
    assert!(r["why"].as_str().unwrap().contains("timed out after 1s"), "{r}");

    let (r, _) = rpo("kind = \"command\"\ncommand = [\"sh\", \"-c\", \"echo lagging\"]");
    assert_eq!(r["state"], "unknown", "{r}");
    assert!(r["why"].as_str().unwrap().contains("cannot read \"lagging\" as a lag"), "{r}");
}

#[test]
fn a_lag_past_the_rpo_is_breached_and_critical() {
    let (r, text) = rpo("kind = \"command\"\ncommand = [\"sh\", \"-c\", \"echo 400\"]");
    assert_eq!(r["state"], "breached", "{r}");
    assert!(text.contains("standby ✖ ⇄ lag 6m40s: a failover now BREACHES the RPO 5m"), "{text}");
    let (r, _) = rpo("kind = \"command\"\ncommand = [\"sh\", \"-c\", \"echo 240\"]");
    assert_eq!(r["state"], "at_risk", "{r}");
    // status: the system is critical, with the standby's line.
    let state = tempfile::tempdir().unwrap();
    let config = config(state.path(), "kind = \"command\"\ncommand = [\"sh\", \"-c\", \"echo 400\"]");
    let out = warroom(state.path()).arg("--config").arg(&config).args(["status", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["systems"][0]["replication"]["state"], "breached");
    assert_eq!(v["systems"][0]["severity"], "critical");
}

#[test]
fn the_recovery_plan_and_the_failover_gate_say_what_a_failover_loses() {
    let state = tempfile::tempdir().unwrap();
    let config = config(state.path(), "kind = \"command\"\ncommand = [\"sh\", \"-c\", \"echo 42\"]");
    let out = warroom(state.path()).arg("--config").arg(&config).args(["plan", "database"]).output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        said.contains("database       failover, ~6s"),
        "the forecast from the procedure's estimate: {said}"
    );
    assert!(said.contains("data: lose ~42s by replication (RPO 5m ✔)"), "{said}");
    let out = warroom(state.path())
        .arg("--config")
        .arg(&config)
        .args(["failover", "database", "--dry-run"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("data       lose ~42s by replication (RPO 5m ✔)"), "{said}");
    assert!(said.contains("weighed    → fail over: the only way back: no verified backup"), "{said}");
}
