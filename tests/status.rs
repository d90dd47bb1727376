//! `warroom status` through the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{example_config, warroom};

#[test]
fn status_json_lists_every_system_by_tier() {
    let state = tempfile::tempdir().unwrap();
    let out = warroom(state.path())
        .arg("status")
        .arg("--config")
        .arg(example_config())
        .arg("--json")
        .output()
        .unwrap();
    // Nothing has been backed up: every system is critical, as a monitoring plugin would say.
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema"], "warroom.status/1");
    assert_eq!(v["overall"], "critical");
    let systems = v["systems"].as_array().unwrap();
    let names: Vec<&str> = systems.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "edge",
            "api",
            "payments",
            "database",
            "auth",
            "cache",
            "queue",
            "search",
            "reporting",
            "analytics",
            "wiki",
            "file-shares"
        ]
    );
    let tiers: Vec<u64> = systems.iter().map(|s| s["tier"].as_u64().unwrap()).collect();
    assert!(tiers.windows(2).all(|w| w[0] <= w[1]), "sorted by tier: {tiers:?}");
    let db = systems.iter().find(|s| s["name"] == "database").unwrap();
    assert_eq!(
        db["objectives"],
        serde_json::json!({"rto_seconds": 1800, "rpo_seconds": 300, "rto": "30m", "rpo": "5m"})
    );
    assert_eq!(db["rpo"]["state"], "never_backed_up");
    assert_eq!(v["counts"]["never_backed_up"], 12);
}

#[test]
fn status_text_starts_with_a_plugin_style_verdict() {
    let state = tempfile::tempdir().unwrap();
    let out = warroom(state.path()).arg("status").arg("--config").arg(example_config()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("WARROOM CRITICAL: 12 systems"), "{stdout}");
    assert!(stdout.contains("TIER 4 · standard"), "{stdout}");
    assert!(stdout.contains("database     RTO 30m   RPO 5m    ✖ never backed up"), "{stdout}");
}

#[test]
fn status_on_a_broken_config_is_unknown() {
    let state = tempfile::tempdir().unwrap();
    let out = warroom(state.path())
        .args(["status", "--config", "tests/fixtures/invalid/cycle-two.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("dependency cycle: api -> cache -> api"));
}

#[test]
fn a_damaged_state_database_is_explained_not_dumped() {
    let state = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(state.path().join("warroom")).unwrap();
    std::fs::write(state.path().join("warroom/warroom.db"), vec![7u8; 8192]).unwrap();
    let out = warroom(state.path()).arg("status").arg("--config").arg(example_config()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr.contains("is damaged"), "{stderr}");
    assert!(stderr.contains("move it aside"), "{stderr}");
}

/// `warroom status | head -1`: the reader goes first, and the command leaves quietly with a
/// shell's SIGPIPE status, never a panic and its backtrace.
#[test]
fn a_reader_that_stops_early_ends_the_output_quietly() {
    let state = tempfile::tempdir().unwrap();
    let mut config = format!("[console]\nstate_dir = \"{}\"\n", state.path().join("state").display());
    for i in 0..2000 {
        config.push_str(&format!("[[systems]]\nname = \"system-{i}\"\ntier = 3\n"));
    }
    let path = state.path().join("warroom.toml");
    std::fs::write(&path, config).unwrap();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("warroom"))
        .env("XDG_STATE_HOME", state.path())
        .env("WARROOM_OPERATOR", "tester")
        .args(["status", "--config"])
        .arg(&path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Read one line, then hang up.
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    std::io::Read::read_exact(&mut stdout, &mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(141), "{said}");
    assert!(!said.contains("panicked") && !said.contains("Broken pipe"), "{said}");
}
