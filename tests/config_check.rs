//! `warroom check` on valid and invalid configuration files, through the real binary.
//!
//! Each file in tests/fixtures/{invalid,warning} ends with comments saying what the user must see:
//! `# exit: N`, `# expect: <text>` (each must appear in stderr; `{file}` is the path as given)
//! and `# never: <text>` (must not appear anywhere: secrets are never echoed).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{example_config, fixtures, warroom};

struct Expectation {
    exit: i32,
    expect: Vec<String>,
    never: Vec<String>,
}

fn expectation(text: &str, file: &str) -> Expectation {
    let mut e = Expectation { exit: -1, expect: Vec::new(), never: Vec::new() };
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("# exit: ") {
            e.exit = v.trim().parse().unwrap();
        } else if let Some(v) = line.strip_prefix("# expect: ") {
            e.expect.push(v.replace("{file}", file));
        } else if let Some(v) = line.strip_prefix("# never: ") {
            e.never.push(v.to_owned());
        }
    }
    e
}

fn check_fixtures(dir: &str, min: usize) {
    let state = tempfile::tempdir().unwrap();
    let files = fixtures(dir);
    assert!(files.len() >= min, "expected at least {min} fixtures in {dir}, found {}", files.len());
    let mut failures = Vec::new();
    for path in &files {
        let rel = format!("tests/fixtures/{dir}/{}", path.file_name().unwrap().to_string_lossy());
        let e = expectation(&std::fs::read_to_string(path).unwrap(), &rel);
        assert!(e.exit >= 0 && !e.expect.is_empty(), "{rel} says nothing about what to expect");
        let out = warroom(state.path()).args(["check", &rel]).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.code() != Some(e.exit) {
            failures.push(format!("{rel}: exit {:?}, expected {}\n{stderr}", out.status.code(), e.exit));
        }
        for want in &e.expect {
            if !stderr.contains(want.as_str()) {
                failures.push(format!("{rel}: stderr lacks {want:?}\n{stderr}"));
            }
        }
        for secret in &e.never {
            if stderr.contains(secret.as_str()) || stdout.contains(secret.as_str()) {
                failures.push(format!("{rel}: output echoes the secret {secret:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{} problems:\n\n{}", failures.len(), failures.join("\n---\n"));
}

#[test]
fn invalid_configs_say_what_is_wrong_and_where() {
    check_fixtures("invalid", 25);
}

#[test]
fn configs_with_warnings_exit_1_and_show_them() {
    check_fixtures("warning", 4);
}

#[test]
fn valid_configs_load_and_exit_0() {
    let state = tempfile::tempdir().unwrap();
    let mut files = fixtures("valid");
    files.push(example_config());
    for path in files {
        let out = warroom(state.path()).arg("check").arg(&path).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}:\n{}{}",
            path.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn the_example_summary_shows_tiers_and_waves() {
    let state = tempfile::tempdir().unwrap();
    let out = warroom(state.path()).args(["check", "config.toml.example"]).assert().success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(stdout.contains("valid, 12 systems"), "{stdout}");
    assert!(stdout.contains("tier 1 mission critical"), "{stdout}");
    assert!(stdout.contains("wave 1  database, cache, wiki, file-shares"), "{stdout}");
    assert!(stdout.contains("wave 4  edge"), "{stdout}");
}

#[test]
fn check_also_takes_the_file_from_config_flag() {
    let state = tempfile::tempdir().unwrap();
    warroom(state.path()).args(["check", "--config", "config.toml.example"]).assert().success();
    warroom(state.path())
        .args(["--config", "tests/fixtures/invalid/cycle-two.toml", "check"])
        .assert()
        .code(2);
}

#[test]
fn a_missing_config_lists_where_it_looked() {
    let state = tempfile::tempdir().unwrap();
    let out = warroom(state.path()).current_dir(state.path()).arg("status").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("no configuration file found; looked in:"), "{stderr}");
    assert!(stderr.contains("./warroom.toml (the current folder)"), "{stderr}");
    assert!(stderr.contains("config-home/warroom/config.toml (the user's configuration folder)"), "{stderr}");

    let out =
        warroom(state.path()).env("WARROOM_CONFIG", "/nonexistent/w.toml").arg("check").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("/nonexistent/w.toml (named by WARROOM_CONFIG)"), "{stderr}");
}

#[test]
fn config_is_found_through_the_environment_and_the_current_folder() {
    let state = tempfile::tempdir().unwrap();
    warroom(state.path()).env("WARROOM_CONFIG", example_config()).arg("check").assert().success();

    let here = tempfile::tempdir().unwrap();
    std::fs::copy(example_config(), here.path().join("warroom.toml")).unwrap();
    warroom(state.path()).current_dir(here.path()).arg("check").assert().success();

    let xdg = state.path().join("config-home/warroom");
    std::fs::create_dir_all(&xdg).unwrap();
    std::fs::copy(common::root().join("tests/fixtures/valid/minimal.toml"), xdg.join("config.toml")).unwrap();
    let empty = tempfile::tempdir().unwrap();
    let out = warroom(state.path()).current_dir(empty.path()).arg("check").assert().success();
    assert!(String::from_utf8_lossy(&out.get_output().stdout).contains("valid, 1 system\n"));
}

#[test]
fn a_file_that_is_not_text_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("binary.toml");
    std::fs::write(&path, [0x5b, 0xff, 0xfe, 0x00]).unwrap();
    let out = warroom(dir.path()).arg("check").arg(&path).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("it is not UTF-8 text"), "{stderr}");
}

#[test]
fn a_folder_given_as_the_config_says_so() {
    let state = tempfile::tempdir().unwrap();
    let out = warroom(state.path()).args(["check", "tests"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("cannot read configuration file tests: it is a folder, not a file"), "{stderr}");
}

#[test]
fn two_different_files_for_check_are_refused() {
    let state = tempfile::tempdir().unwrap();
    let out = warroom(state.path())
        .args(["check", "config.toml.example", "--config", "tests/fixtures/valid/minimal.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("check was given two files"));
}
