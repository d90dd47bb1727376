//! The backup commands through the real binary: the approval gate without a terminal,
//! read-only, keygen, `rpo` exit codes, and crash safety under SIGKILL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::store::Kind;
use common::warroom;

/// A state folder (and the state in `store`), a key pair from `warroom keygen`, a data folder and a configuration whose
/// `extra` TOML is added at the top.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new(store: Kind, extra: &str) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let lines = store.console_lines(d);
        let extra = match extra.contains("[console]\n") {
            true => extra.replacen("[console]\n", &format!("[console]\n{lines}"), 1),
            false if lines.is_empty() => extra.to_owned(),
            false => format!("[console]\n{lines}{extra}"),
        };
        let out = warroom(d).args(["keygen", "--out"]).arg(d.join("key.txt")).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        // keygen prints the [encryption] lines to paste.
        let lines = String::from_utf8(out.stdout).unwrap();
        std::fs::create_dir_all(d.join("data")).unwrap();
        std::fs::create_dir_all(d.join("repo")).unwrap();
        std::fs::write(d.join("data/a.txt"), "alpha\n").unwrap();
        let config = format!(
            r#"{extra}
[encryption]
{lines}identity_file = "{d}/key.txt"

[[locations]]
name = "nas"
kind = "fs"
path = "{d}/repo"
media = "disk"

[[systems]]
name = "files"
tier = 2
rpo = "1h"
[systems.backup]
source = {{ path = "{d}/data" }}
kind = "full"
every = "30m"
locations = ["nas"]
"#,
            d = d.display()
        );
        std::fs::write(d.join("warroom.toml"), config).unwrap();
        Setup { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn config(&self) -> PathBuf {
        self.path().join("warroom.toml")
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        warroom(self.path()).arg("--config").arg(self.config()).args(args).output().unwrap()
    }

    fn audit(&self) -> Vec<serde_json::Value> {
        let out = self.run(&["audit", "list", "--json"]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["records"].as_array().cloned().unwrap_or_default()
    }

    fn backups(&self) -> Vec<serde_json::Value> {
        let out = self.run(&["backup", "list", "--json"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["backups"].as_array().cloned().unwrap()
    }
}

fn text(out: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

crate::on_both_stores! {
#[test]
fn without_a_terminal_nothing_runs_unless_yes_is_given_and_both_are_audited(store) {
    let s = Setup::new(store, "[approval]\nbackup = \"confirm\"\n");
    let out = s.run(&["backup", "run", "files"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("Back up files") && t.contains("to         nas"), "the plan is shown: {t}");
    assert!(t.contains("without a terminal, give --yes"), "{t}");
    assert!(s.backups().is_empty(), "nothing ran");
    let audit = s.audit();
    let refused = audit.iter().find(|r| r["action"] == "backup.approved").unwrap();
    assert_eq!(refused["outcome"], "refused");
    assert!(audit.iter().any(|r| r["action"] == "backup.cancelled"));

    let out = s.run(&["backup", "run", "files", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(s.backups().len(), 1);
    let audit = s.audit();
    let approved =
        audit.iter().find(|r| r["action"] == "backup.approved" && r["outcome"] == "approved").unwrap();
    assert_eq!(approved["details"]["how"], "--yes", "--yes is audited as such");
    assert!(audit.iter().any(|r| r["action"] == "backup.finished" && r["outcome"] == "succeeded"));
}
}

crate::on_both_stores! {
#[test]
fn read_only_refuses_every_side_effect_and_audits_it(store) {
    let s = Setup::new(store, "[console]\nread_only = true\n");
    for args in [&["backup", "run", "files", "--yes"][..], &["backup", "prune", "files", "--yes"][..]] {
        let out = s.run(args);
        let t = text(&out);
        if args[1] == "prune" {
            // No retention: refused before anything is proposed.
            assert_eq!(out.status.code(), Some(3), "{t}");
            continue;
        }
        assert_eq!(out.status.code(), Some(2), "{t}");
        assert!(t.contains("read_only"), "{t}");
    }
    assert!(s.backups().is_empty());
    let audit = s.audit();
    let refused = audit.iter().find(|r| r["action"] == "backup.proposed").unwrap();
    assert_eq!(refused["outcome"], "refused");
}
}

#[test]
fn keygen_writes_the_private_key_0600_and_never_overwrites_it() {
    let s = Setup::new(Kind::Sqlite, "");
    let key = s.path().join("key.txt");
    assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    let before = std::fs::read_to_string(&key).unwrap();
    assert!(before.contains("AGE-SECRET-KEY-1"));
    let out = warroom(s.path()).args(["keygen", "--out"]).arg(&key).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out).contains("never overwritten"), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(&key).unwrap(), before);
}

crate::on_both_stores! {
#[test]
fn rpo_counts_verified_backups_and_exits_like_a_plugin(store) {
    let s = Setup::new(store, "");
    let out = s.run(&["rpo"]);
    assert_eq!(out.status.code(), Some(2), "never backed up is critical: {}", text(&out));
    assert!(text(&out).contains("never backed up"));
    let out = s.run(&["backup", "run", "files"]);
    assert_eq!(out.status.code(), Some(0), "backups need no approval by default: {}", text(&out));
    let out = s.run(&["rpo", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["schema"], "warroom.rpo/1");
    let files = &doc["systems"][0];
    assert_eq!(files["state"], "compliant");
    assert_eq!(files["schedule"]["missed"], false);
    let out = s.run(&["status", "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["systems"][0]["rpo"]["state"], "compliant", "status shows RPO from real backups");
}
}

crate::on_both_stores! {
/// and the next run cleans up what the killed ones left.
#[test]
fn a_backup_killed_at_any_moment_never_lists_as_complete_and_is_cleaned_up(store) {
    let s = Setup::new(store, "");
    let data = s.path().join("data");
    // Enough to take a while: incompressible data in a few files.
    let mut x: u64 = 0x9e3779b97f4a7c15;
    for f in 0..6 {
        let bytes: Vec<u8> = (0..(4 << 20))
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        std::fs::write(data.join(format!("blob-{f}.bin")), bytes).unwrap();
    }
    let bin = assert_cmd::cargo::cargo_bin("warroom");
    let spawn = || {
        std::process::Command::new(&bin)
            .arg("--config")
            .arg(s.config())
            .args(["backup", "run", "files"])
            .env("XDG_STATE_HOME", s.path())
            .env("WARROOM_OPERATOR", "tester")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    // How long a whole run takes here; the kills land anywhere within it.
    let started = std::time::Instant::now();
    assert!(spawn().wait().unwrap().success());
    let whole = started.elapsed().as_millis() as u64;
    let mut seed: u64 = 42;
    let mut killed = 0;
    // Until 22 runs have been cut short (a loaded machine runs slower or faster than measured),
    // and the last kill left a half-written backup for the next run to clean up (each run
    // cleans up what the one before left, so that is up to where the last kill landed).
    for round in 0..120 {
        if killed >= 22 && !leftovers(&s).is_empty() {
            break;
        }
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let delay = Duration::from_millis(5 + (seed >> 33) % (whole * 3 / 5).max(10));
        let mut child = spawn();
        std::thread::sleep(delay);
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            killed += 1;
        }
        child.wait().unwrap();
        // Whatever is listed is whole: its data is there with the size its manifest says.
        for b in s.backups() {
            let id = b["id"].as_str().unwrap();
            let data = s.path().join(format!("repo/warroom/files/{id}/data.age"));
            let size = std::fs::metadata(&data).map(|m| m.len()).unwrap_or(0);
            assert_eq!(
                size,
                b["stored_size"].as_u64().unwrap(),
                "round {round}: backup {id} is listed but not whole"
            );
        }
    }
    assert!(killed >= 20, "only {killed} runs were killed mid-way");
    let left = leftovers(&s);
    assert!(!left.is_empty(), "the kills left half-written backups behind");
    let out = s.run(&["backup", "run", "files"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(leftovers(&s).is_empty(), "the next run cleaned up: {:?}", leftovers(&s));
    // The jobs the kills cut short are shown as interrupted, never silently re-run.
    let interrupted = s.audit().iter().filter(|r| r["action"] == "backup.interrupted").count();
    assert!(interrupted >= 1, "killed jobs are marked interrupted");
}
}

/// Backup folders in the repository without a manifest.
fn leftovers(s: &Setup) -> Vec<String> {
    let root = s.path().join("repo/warroom/files");
    std::fs::read_dir(&root)
        .map(|d| {
            d.flatten()
                .filter(|e| !e.path().join("manifest.json").exists())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}
