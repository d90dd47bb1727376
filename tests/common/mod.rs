//! Shared by the integration tests: the real binary, run in a clean environment.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod estate;
pub mod http;
pub mod moto;
pub mod s3;
pub mod smtp;
pub mod store;
pub mod tmux;

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The `warroom` binary with an environment that cannot leak the developer's own setup:
/// state in `state`, no config discovery beyond what the test passes, a fixed operator.
pub fn warroom(state: &Path) -> Command {
    let mut cmd = Command::cargo_bin("warroom").unwrap();
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", state)
        .env("XDG_STATE_HOME", state)
        .env("XDG_CONFIG_HOME", state.join("config-home"))
        .env("WARROOM_OPERATOR", "tester")
        .env("NO_COLOR", "1")
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn example_config() -> PathBuf {
    root().join("config.toml.example")
}

/// Files in `tests/fixtures/<dir>` with the given extension, sorted.
pub fn fixtures(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("tests/fixtures").join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

/// Whether process `pid` (its id as written in a pid file) is gone, or a zombie, within
/// `within`: polled, never a fixed sleep.
pub async fn process_gone(pid: &str, within: std::time::Duration) -> bool {
    let deadline = std::time::Instant::now() + within;
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())).unwrap_or_default();
        if stat.is_empty() || stat.contains(") Z ") {
            return true;
        }
        if std::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
