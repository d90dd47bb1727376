//! The audit chain through the real binary: tampering is found and named, concurrent writers
//! from two processes lose nothing, configuration changes are recorded. The tampering tests
//! run on both stores (SQLite and PostgreSQL, tests/common/store.rs): an attacker with the
//! database's credentials is found the same way on either.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};

use common::store::Kind;
use common::{example_config, warroom};

/// The example configuration's state on `store`: its folder, and the configuration (the
/// example's, pointed at that store).
struct Chain {
    dir: tempfile::TempDir,
    store: Kind,
    config: PathBuf,
}

impl Chain {
    fn new(store: Kind) -> Chain {
        let dir = tempfile::tempdir().unwrap();
        let text = std::fs::read_to_string(example_config()).unwrap();
        let text =
            text.replacen("[console]\n", &format!("[console]\n{}", store.console_lines(dir.path())), 1);
        let config = dir.path().join("config.toml");
        std::fs::write(&config, text).unwrap();
        Chain { dir, store, config }
    }

    /// A state with `n` notes written through the binary (plus the config.changed record).
    fn with_notes(store: Kind, n: usize) -> Chain {
        let chain = Chain::new(store);
        for i in 0..n {
            chain
                .warroom()
                .args(["audit", "note", &format!("note {i}"), "--target", "database"])
                .assert()
                .success();
        }
        chain
    }

    fn warroom(&self) -> assert_cmd::Command {
        let mut cmd = warroom(self.dir.path());
        cmd.arg("--config").arg(&self.config);
        cmd
    }

    fn verify(&self) -> (i32, String) {
        let out = self.warroom().args(["audit", "verify"]).output().unwrap();
        (out.status.code().unwrap(), String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The state's database, opened by hand as an attacker with its credentials would.
    async fn database(&self) -> sqlx::AnyPool {
        self.store.connect(self.dir.path(), &self.dir.path().join("warroom/warroom.db")).await
    }

    async fn tamper(&self, sql: &[&'static str]) {
        let pool = self.database().await;
        for statement in sql {
            sqlx::query(*statement).execute(&pool).await.unwrap();
        }
        pool.close().await;
    }

    /// Rewrite record `seq`'s operator and recompute its hash with the documented scheme, as
    /// an attacker who read docs/ARCHITECTURE.md would.
    async fn forge(&self, seq: i64) {
        use sha2::{Digest, Sha256};
        use sqlx::Row;
        let pool = self.database().await;
        let row = sqlx::query(
            "SELECT at, action, target, details, outcome, prev_hash FROM audit_log WHERE seq = $1",
        )
        .bind(seq)
        .fetch_one(&pool)
        .await
        .unwrap();
        let fields: Vec<String> = (0..6).map(|i| row.try_get::<String, _>(i).unwrap()).collect();
        let canonical = serde_json::json!([
            seq, fields[0], "mallory", fields[1], fields[2], fields[3], fields[4], fields[5]
        ]);
        let hash = format!("{:x}", Sha256::digest(canonical.to_string().as_bytes()));
        sqlx::query("UPDATE audit_log SET operator = 'mallory', hash = $1 WHERE seq = $2")
            .bind(hash)
            .bind(seq)
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
}

crate::on_both_stores! {
#[tokio::test]
async fn an_intact_chain_verifies(store) {
    let chain = Chain::with_notes(store, 3);
    let (code, out) = chain.verify();
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.trim_end().split(", head").next(), Some("audit log OK: 4 records, chain intact"));
}
}

crate::on_both_stores! {
#[tokio::test]
async fn a_changed_field_names_the_record(store) {
    let chain = Chain::with_notes(store, 5);
    chain.tamper(&["UPDATE audit_log SET operator = 'mallory' WHERE seq = 3"]).await;
    let (code, out) = chain.verify();
    assert_eq!(code, 2, "{out}");
    assert_eq!(
        out.trim(),
        "audit log TAMPERED: record #3 was altered: its contents no longer match its hash"
    );
}
}

crate::on_both_stores! {
#[tokio::test]
async fn a_rewritten_record_with_a_recomputed_hash_is_still_found(store) {
    // The next record's link gives it away...
    let chain = Chain::with_notes(store, 5);
    chain.forge(3).await;
    let (code, out) = chain.verify();
    assert_eq!(code, 2, "{out}");
    assert_eq!(out.trim(), "audit log TAMPERED: record #3 was altered: record #4 no longer links to it");
    // ...and for the newest record, the head kept beside the chain does.
    let chain = Chain::with_notes(store, 2);
    chain.forge(3).await;
    let (code, out) = chain.verify();
    assert_eq!(code, 2, "{out}");
    assert_eq!(
        out.trim(),
        "audit log TAMPERED: record #3 was altered: it no longer matches the head recorded beside the chain"
    );
}
}

crate::on_both_stores! {
#[tokio::test]
async fn a_deleted_row_names_the_record(store) {
    let chain = Chain::with_notes(store, 5);
    chain.tamper(&["DELETE FROM audit_log WHERE seq = 4"]).await;
    let (code, out) = chain.verify();
    assert_eq!(code, 2, "{out}");
    assert_eq!(out.trim(), "audit log TAMPERED: record #4 was removed from the chain");

    let chain = Chain::with_notes(store, 5);
    chain.tamper(&["DELETE FROM audit_log WHERE seq IN (1, 2)"]).await;
    let (_, out) = chain.verify();
    assert_eq!(out.trim(), "audit log TAMPERED: records #1 to #2 were removed from the chain");

    let chain = Chain::with_notes(store, 5);
    chain.tamper(&["DELETE FROM audit_log WHERE seq = 6"]).await;
    let (code, out) = chain.verify();
    assert_eq!(code, 2, "{out}");
    assert_eq!(out.trim(), "audit log TAMPERED: record #6 was removed from the chain");
}
}

crate::on_both_stores! {
#[tokio::test]
async fn swapped_rows_name_the_record(store) {
    let chain = Chain::with_notes(store, 5);
    chain
        .tamper(&[
            "UPDATE audit_log SET seq = -1 WHERE seq = 3",
            "UPDATE audit_log SET seq = 3 WHERE seq = 4",
            "UPDATE audit_log SET seq = 4 WHERE seq = -1",
        ])
        .await;
    let (code, out) = chain.verify();
    assert_eq!(code, 2, "{out}");
    assert_eq!(
        out.trim(),
        "audit log TAMPERED: record #3 is out of order: it was written after the record now at #4"
    );
}
}

crate::on_both_stores! {
#[tokio::test]
async fn verify_json_names_the_problem(store) {
    let chain = Chain::with_notes(store, 2);
    chain.tamper(&["UPDATE audit_log SET details = '{\"message\":\"nothing happened\"}' WHERE seq = 2"]).await;
    let out = chain.warroom().args(["audit", "verify", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema"], "warroom.audit-verify/1");
    assert_eq!(v["ok"], false);
    assert_eq!(v["problem"], serde_json::json!({"problem": "altered", "seq": 2}));
}
}

#[test]
fn two_processes_writing_at_once_lose_nothing() {
    let state = tempfile::tempdir().unwrap();
    // Create the database first so both writers start on an existing chain.
    warroom(state.path()).arg("--config").arg(example_config()).args(["audit", "verify"]).assert().success();
    let per_writer = 25;
    let writers: Vec<_> = ["a", "b"]
        .into_iter()
        .map(|w| {
            let dir = state.path().to_owned();
            std::thread::spawn(move || {
                for i in 0..per_writer {
                    warroom(&dir)
                        .arg("--config")
                        .arg(example_config())
                        .env("WARROOM_OPERATOR", format!("writer-{w}"))
                        .args(["audit", "note", &format!("{w}-{i}")])
                        .assert()
                        .success();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let out = warroom(state.path())
        .arg("--config")
        .arg(example_config())
        .args(["audit", "verify"])
        .output()
        .unwrap();
    let (code, out) = (out.status.code().unwrap(), String::from_utf8_lossy(&out.stdout).into_owned());
    assert_eq!(code, 0, "{out}");
    let list = warroom(state.path())
        .arg("--config")
        .arg(example_config())
        .args(["audit", "list", "--json"])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(doc["schema"], "warroom.audit/1");
    let records = doc["records"].as_array().unwrap();
    let notes: Vec<String> = records
        .iter()
        .filter(|r| r["action"] == "note")
        .map(|r| r["details"]["message"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(notes.len(), 2 * per_writer);
    for w in ["a", "b"] {
        for i in 0..per_writer {
            assert!(notes.contains(&format!("{w}-{i}")), "{w}-{i} was lost");
        }
    }
    let seqs: Vec<i64> = records.iter().map(|r| r["seq"].as_i64().unwrap()).collect();
    let expected: Vec<i64> = (1..=seqs.len() as i64).rev().collect();
    assert_eq!(seqs, expected, "gaps or repeats in the chain");
}

#[test]
fn a_config_change_is_audited_once() {
    let state = tempfile::tempdir().unwrap();
    let cfg_dir = tempfile::tempdir().unwrap();
    let cfg = cfg_dir.path().join("warroom.toml");
    std::fs::copy(example_config(), &cfg).unwrap();
    let changes = |state: &Path| -> Vec<serde_json::Value> {
        let out =
            warroom(state).arg("--config").arg(&cfg).args(["audit", "list", "--json"]).output().unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        doc["records"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["action"] == "config.changed")
            .cloned()
            .collect()
    };
    warroom(state.path()).arg("--config").arg(&cfg).args(["status"]).assert().code(2);
    assert_eq!(changes(state.path()).len(), 1, "the first run records the configuration it started with");
    warroom(state.path()).arg("--config").arg(&cfg).args(["status"]).assert().code(2);
    assert_eq!(changes(state.path()).len(), 1, "an unchanged file is not recorded again");

    let text = std::fs::read_to_string(&cfg).unwrap().replace("at_risk = 0.25", "at_risk = 0.3");
    std::fs::write(&cfg, text).unwrap();
    warroom(state.path()).arg("--config").arg(&cfg).args(["status"]).assert().code(2);
    let recorded = changes(state.path());
    assert_eq!(recorded.len(), 2);
    assert_eq!(recorded[0]["details"]["previous_hash"], recorded[1]["details"]["hash"]);
    assert_eq!(recorded[0]["operator"], "tester");
}

#[test]
fn read_only_refuses_notes_and_audits_the_refusal() {
    let state = tempfile::tempdir().unwrap();
    let cfg_dir = tempfile::tempdir().unwrap();
    let cfg = cfg_dir.path().join("warroom.toml");
    std::fs::write(&cfg, "[console]\nread_only = true\n\n[[systems]]\nname = \"api\"\ntier = 1\n").unwrap();
    let out =
        warroom(state.path()).arg("--config").arg(&cfg).args(["audit", "note", "hello"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("console.read_only is set"));
    let out =
        warroom(state.path()).arg("--config").arg(&cfg).args(["audit", "list", "--json"]).output().unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["records"][0]["action"], "note");
    assert_eq!(doc["records"][0]["outcome"], "refused");
}

#[tokio::test]
async fn a_row_whose_columns_no_longer_decode_is_named_not_a_crash() {
    // SQLite keeps any bytes in a text column; PostgreSQL refuses them at the write.
    let chain = Chain::with_notes(Kind::Sqlite, 5);
    chain.tamper(&["UPDATE audit_log SET operator = X'FF00' WHERE seq = 3"]).await;
    let (code, out) = chain.verify();
    assert_eq!(code, 2, "{out}");
    assert_eq!(
        out.trim(),
        "audit log TAMPERED: record #3 was altered: its contents no longer match its hash"
    );
    let list = chain.warroom().args(["audit", "list"]).output().unwrap();
    assert_eq!(list.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&list.stderr);
    assert!(stderr.contains("an audit record cannot be read; run `warroom audit verify`"), "{stderr}");
}

crate::on_both_stores! {
#[tokio::test]
async fn removing_the_tail_and_its_head_is_still_noticed(store) {
    let chain = Chain::with_notes(store, 5);
    chain.tamper(&["DELETE FROM audit_log WHERE seq >= 5", "DELETE FROM meta WHERE key = 'audit.head'"]).await;
    let (code, out) = chain.verify();
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("the chain's recorded head is missing: records after #4 may have been removed"),
        "{out}"
    );
}
}

#[tokio::test]
async fn a_hand_changed_schema_is_explained_not_dumped() {
    let chain = Chain::with_notes(Kind::Sqlite, 1);
    chain.tamper(&["DROP TABLE meta"]).await;
    let out = chain.warroom().args(["audit", "list"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is damaged (its tables were changed by hand: no such table: meta)"), "{stderr}");
    assert!(!stderr.contains("error returned from database"), "{stderr}");
}

#[test]
fn processes_starting_together_record_a_config_change_once() {
    let state = tempfile::tempdir().unwrap();
    let starters: Vec<_> = (0..8)
        .map(|i| {
            let dir = state.path().to_owned();
            std::thread::spawn(move || {
                warroom(&dir)
                    .arg("--config")
                    .arg(example_config())
                    .args(["audit", "note", &format!("start {i}")])
                    .assert()
                    .success();
            })
        })
        .collect();
    for s in starters {
        s.join().unwrap();
    }
    let out = warroom(state.path())
        .arg("--config")
        .arg(example_config())
        .args(["audit", "list", "--json"])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let changes =
        doc["records"].as_array().unwrap().iter().filter(|r| r["action"] == "config.changed").count();
    assert_eq!(changes, 1);
}

#[test]
fn state_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let chain = Chain::with_notes(Kind::Sqlite, 1);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&chain.dir.path().join("warroom")), 0o700);
    assert_eq!(mode(&chain.dir.path().join("warroom/warroom.db")), 0o600);
}

#[test]
fn empty_notes_and_zero_limits_are_refused() {
    let state = tempfile::tempdir().unwrap();
    let out = warroom(state.path())
        .arg("--config")
        .arg(example_config())
        .args(["audit", "note", " "])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the note is empty"));
    let out = warroom(state.path())
        .arg("--config")
        .arg(example_config())
        .args(["audit", "list", "-n", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

crate::on_both_stores! {
#[test]
fn each_host_and_file_has_its_own_configuration_record(store) {
    // Two hosts on one state, each with its own file (a key line of its own, say): switching
    // between them records nothing new; a change to one is recorded once, naming its host.
    let chain = Chain::new(store);
    let other = chain.dir.path().join("other.toml");
    let text = std::fs::read_to_string(&chain.config).unwrap();
    std::fs::write(&other, format!("{text}\n# host b's own line\n")).unwrap();
    let run = |config: &Path, host: &str| {
        let mut cmd = warroom(chain.dir.path());
        cmd.arg("--config").arg(config).env("WARROOM_HOST", host).args(["audit", "note", "x"]).assert().success();
    };
    let changes = || {
        let out = chain.warroom().env("WARROOM_HOST", "host-a").args(["audit", "list", "--json"]).output().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let records = v["records"].as_array().cloned().unwrap_or_default();
        records.into_iter().filter(|r| r["action"] == "config.changed").collect::<Vec<_>>()
    };
    for _ in 0..3 {
        run(&chain.config, "host-a");
        run(&other, "host-b");
    }
    assert_eq!(changes().len(), 2, "one for each host's file when it is first seen: {:#?}", changes());
    std::fs::write(&other, format!("{text}\n# host b's own line, changed\n")).unwrap();
    run(&other, "host-b");
    run(&chain.config, "host-a");
    let changes = changes();
    assert_eq!(changes.len(), 3, "{changes:#?}");
    assert!(
        changes.iter().any(|r| {
            let d = r["details"].to_string();
            d.contains("\"host\":\"host-b\"") && !d.contains("\"previous_hash\":null")
        }),
        "the change names its host and the hash before: {changes:#?}"
    );
}
}
