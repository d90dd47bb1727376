//! The backup engine end to end, in process: real folders, a real S3 server (s3s-fs) on
//! loopback, real age keys. Each test builds its own estate in a temporary folder. The catalog's
//! tests (a chain, verify, prune, the RPO of a damaged chain) run on both stores.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::time::Duration;

use warroom::engine::backup::read;
use warroom::engine::backup::repo::Repository;
use warroom::engine::jobs::{JobSpec, JobState, Proof};

use common::estate::{Estate, backup, restore, run, write};
use common::s3::S3Server;

/// Every entry under `a` and `b` alike: kinds, contents, symlink targets, permission bits.
fn assert_same_tree(a: &Path, b: &Path) {
    fn listing(root: &Path) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut stack = vec![root.to_owned()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let entry = entry.unwrap();
                let path = entry.path();
                let rel = path.strip_prefix(root).unwrap().display().to_string();
                let meta = std::fs::symlink_metadata(&path).unwrap();
                let mode = meta.permissions().mode() & 0o7777;
                let what = if meta.file_type().is_symlink() {
                    format!("link -> {}", std::fs::read_link(&path).unwrap().display())
                } else if meta.is_dir() {
                    stack.push(path.clone());
                    format!("dir {mode:o}")
                } else {
                    let content = std::fs::read(&path).unwrap();
                    format!(
                        "file {mode:o} {} bytes, sum {}",
                        content.len(),
                        content.iter().map(|b| *b as u64).sum::<u64>()
                    )
                };
                out.push((rel, what));
            }
        }
        out.sort();
        out
    }
    assert_eq!(listing(a), listing(b));
}

fn random_bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tree_round_trips_with_symlinks_empty_files_and_permissions() {
    let e = Estate::new();
    let data = e.data();
    write(&data.join("a/b/c/deep.txt"), b"nested three folders down\n");
    write(&data.join("empty"), b"");
    write(&data.join("run.sh"), b"#!/bin/sh\necho hi\n");
    std::fs::set_permissions(data.join("run.sh"), std::fs::Permissions::from_mode(0o750)).unwrap();
    write(&data.join("secret.conf"), b"password=never\n");
    std::fs::set_permissions(data.join("secret.conf"), std::fs::Permissions::from_mode(0o600)).unwrap();
    write(&data.join("blob.bin"), &random_bytes(3 << 20, 7));
    std::fs::create_dir_all(data.join("empty-dir")).unwrap();
    symlink("a/b/c/deep.txt", data.join("shortcut")).unwrap();
    symlink("/nonexistent/target", data.join("dangling")).unwrap();
    let config = e.config(&format!("{{ path = \"{}\" }}", data.display()), "full", "");
    let engine = e.engine(&config).await;
    let job = backup(&engine).await;
    assert!(job.outcome.as_deref().unwrap().contains("verified at nas"), "{:?}", job.outcome);

    let backups = engine.backups(Some("files")).await.unwrap();
    assert_eq!(backups.len(), 1);
    assert!(backups[0].verified_at().is_some(), "a healthy backup is verified within its own job");
    let to = e.path("restored");
    let job = restore(&engine, &backups[0].manifest.id, &to).await;
    assert_eq!(job.state, JobState::Succeeded, "{:?}", job.outcome);
    assert_same_tree(&data, &to);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_source_round_trips() {
    let e = Estate::new();
    let config = e.config(
        r#"{ command = ["sh", "-c", "echo 'CREATE TABLE orders (id int);'; seq 1 50000"] }"#,
        "full",
        "",
    );
    let engine = e.engine(&config).await;
    backup(&engine).await;
    let id = engine.backups(Some("files")).await.unwrap()[0].manifest.id.clone();
    let to = e.path("restored");
    let job = restore(&engine, &id, &to).await;
    assert_eq!(job.state, JobState::Succeeded, "{:?}", job.outcome);
    let dump = std::fs::read_to_string(to.join("files.out")).unwrap();
    assert!(dump.starts_with("CREATE TABLE orders (id int);\n1\n2\n"));
    assert!(dump.ends_with("49999\n50000\n"));

    // A failing command fails the backup, and nothing is listed.
    let config = e.config(
        r#"{ command = ["sh", "-c", "echo partial; echo 'pg_dump: connection refused' >&2; exit 1"] }"#,
        "full",
        "",
    );
    let engine = e.engine(&config).await;
    let (spec, plan) = engine.plan_backup("files").await.unwrap();
    let job = run(&engine, spec, plan).await;
    assert_eq!(job.state, JobState::Failed);
    assert!(job.outcome.as_deref().unwrap().contains("connection refused"), "{:?}", job.outcome);
    engine.refresh_catalog(None).await;
    assert_eq!(engine.backups(Some("files")).await.unwrap().len(), 1, "the failed run left no backup");
}

crate::on_both_stores! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_and_incremental_chain_restores_exactly(store) {
    let e = Estate::on(store);
    let data = e.data();
    for i in 0..40 {
        write(&data.join(format!("logs/app-{i}.log")), format!("line {i}\n").repeat(200).as_bytes());
    }
    write(&data.join("keep.txt"), b"unchanged\n");
    write(&data.join("change.txt"), b"before\n");
    write(&data.join("gone.txt"), b"deleted later\n");
    let config = e.config(&format!("{{ path = \"{}\" }}", data.display()), "incremental", "");
    let engine = e.engine(&config).await;
    backup(&engine).await;

    // Modify, delete, add; the same size with a new content is still seen.
    write(&data.join("change.txt"), b"after!\n");
    std::fs::remove_file(data.join("gone.txt")).unwrap();
    std::fs::remove_file(data.join("logs/app-3.log")).unwrap();
    write(&data.join("new/added.txt"), b"new file\n");
    let (spec, plan) = engine.plan_backup("files").await.unwrap();
    assert!(
        matches!(
            &spec,
            JobSpec::Backup { kind: warroom::model::BackupKind::Incremental, parent: Some(_), .. }
        ),
        "{spec:?}"
    );
    run(&engine, spec, plan).await;
    let backups = engine.backups(Some("files")).await.unwrap();
    assert_eq!(backups.len(), 2);
    let inc = &backups[1].manifest;
    assert_eq!(inc.parent.as_deref(), Some(backups[0].manifest.id.as_str()));
    assert_eq!(inc.stored_files, 2, "only what changed is stored: {inc:?}");
    assert_eq!(inc.deleted_files, 2);

    let to = e.path("restored");
    let job = restore(&engine, &inc.id, &to).await;
    assert_eq!(job.state, JobState::Succeeded, "{:?}", job.outcome);
    assert_same_tree(&data, &to);

    // The older backup restores as it was.
    let to_old = e.path("restored-old");
    restore(&engine, &backups[0].manifest.id, &to_old).await;
    assert_eq!(std::fs::read(to_old.join("gone.txt")).unwrap(), b"deleted later\n");
    assert_eq!(std::fs::read(to_old.join("change.txt")).unwrap(), b"before\n");
}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_s3_location_that_dies_mid_run_leaves_the_fs_copy_whole_and_the_backup_degraded() {
    let e = Estate::new();
    let s3 = S3Server::start(&e.path("s3-root")).await;
    let data = e.data();
    write(&data.join("small.txt"), b"first\n");
    let config = e.config(
        &format!("{{ path = \"{}\" }}", data.display()),
        "full",
        &s3.location_toml("cloud", e.dir.path()),
    );
    let engine = e.engine(&config).await;
    let job = backup(&engine).await;
    assert!(job.outcome.as_deref().unwrap().contains("verified at nas, cloud"), "{:?}", job.outcome);
    let first = engine.backups(Some("files")).await.unwrap();
    assert_eq!(first[0].copies.len(), 2, "a copy in each location");
    let in_s3 = walk(&e.path("s3-root").join(common::s3::BUCKET));
    assert!(in_s3.iter().any(|p| p.ends_with("manifest.json")), "the S3 server holds it: {in_s3:?}");

    // A big backup; the S3 server stops while it is written.
    write(&data.join("big.bin"), &random_bytes(48 << 20, 3));
    let (spec, plan) = engine.plan_backup("files").await.unwrap();
    let job = engine.propose(&spec, plan, "tester").await.unwrap();
    engine.approve(&job.id, "tester", &Proof::YesFlag).await.unwrap();
    let mut events = engine.jobs().subscribe();
    let running = engine.spawn_job(&job.id);
    // Live progress (four times a second): stop the server once a sixth of it is through.
    let got_going = tokio::time::timeout(Duration::from_secs(60), async {
        while let Ok(warroom::engine::jobs::JobEvent::Changed(j)) = events.recv().await {
            if j.id == job.id && (j.progress.done > (8 << 20) || j.state.finished()) {
                return j.state;
            }
        }
        JobState::Failed
    })
    .await
    .unwrap();
    assert_eq!(got_going, JobState::Running, "stopped the server while the backup ran");
    s3.stop();
    let job = running.await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Succeeded, "{:?}", job.outcome);
    let outcome = job.outcome.unwrap();
    assert!(outcome.contains("DEGRADED: cloud"), "{outcome}");
    assert!(outcome.contains("verified at nas"), "{outcome}");

    let backups = engine.backups(Some("files")).await.unwrap();
    let second = backups.last().unwrap();
    assert!(second.degraded());
    assert_eq!(second.copies.iter().map(|c| c.location.as_str()).collect::<Vec<_>>(), ["nas"]);
    // The fs copy is whole: it restores.
    let to = e.path("restored");
    let job = restore(&engine, &second.manifest.id, &to).await;
    assert_eq!(job.state, JobState::Succeeded, "{:?}", job.outcome);
    assert_same_tree(&data, &to);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if entry.path().is_dir() {
                stack.push(entry.path());
            } else {
                out.push(entry.path());
            }
        }
    }
    out
}

crate::on_both_stores! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flipped_byte_fails_verify_naming_the_location_and_backup_and_restore_refuses(store) {
    let e = Estate::on(store);
    write(&e.data().join("ledger.csv"), "date,amount\n2026-11-26,100\n".repeat(5000).as_bytes());
    let config = e.config(&format!("{{ path = \"{}\" }}", e.data().display()), "full", "");
    let engine = e.engine(&config).await;
    backup(&engine).await;
    let id = engine.backups(Some("files")).await.unwrap()[0].manifest.id.clone();
    let data_file = e.path(&format!("repo/warroom/files/{id}/data.age"));
    let mut bytes = std::fs::read(&data_file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&data_file, bytes).unwrap();

    let (spec, plan) = engine.plan_verify("files", false, None).await.unwrap();
    let job = run(&engine, spec, plan).await;
    assert_eq!(job.state, JobState::Failed);
    let outcome = job.outcome.unwrap();
    assert!(outcome.contains("location nas") && outcome.contains(&id), "{outcome}");
    assert!(outcome.contains("altered or damaged"), "{outcome}");

    // The failed copy is no longer verified: restore refuses it (no good copy to read).
    let err = engine.plan_restore(&id, None, Some(e.path("restored")), false, None).await.unwrap_err();
    assert!(err.contains("no location holds a good copy"), "{err}");
    // Even when the catalog does not know yet, reading it refuses: the data is checked as read.
    let repo = Repository::open(engine.config().location("nas").unwrap()).unwrap();
    let manifest =
        repo.manifests(Some("files"), &engine.config().encryption.signers).await.unwrap().remove(0).manifest;
    let ids = read::load_identities(&e.path("key.txt")).unwrap();
    let err = read::restore(&repo, &[manifest], &ids, &e.path("restored"), false, &Default::default())
        .await
        .unwrap_err();
    assert!(err.contains(&id), "{err}");
    assert!(!e.path("restored").exists(), "nothing half-restored is left looking complete");
}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_identity_is_a_clear_error() {
    let e = Estate::new();
    write(&e.data().join("a.txt"), b"a\n");
    let config = e.config(&format!("{{ path = \"{}\" }}", e.data().display()), "full", "");
    let engine = e.engine(&config).await;
    backup(&engine).await;
    let other = age::x25519::Identity::generate();
    use age::secrecy::ExposeSecret;
    let wrong = e.path("wrong-key.txt");
    std::fs::write(&wrong, format!("{}\n", other.to_string().expose_secret())).unwrap();
    let id = engine.backups(Some("files")).await.unwrap()[0].manifest.id.clone();
    let (spec, plan) =
        engine.plan_restore(&id, None, Some(e.path("restored")), false, Some(wrong.clone())).await.unwrap();
    let job = run(&engine, spec, plan).await;
    assert_eq!(job.state, JobState::Failed);
    let outcome = job.outcome.unwrap();
    assert!(outcome.contains("the identity given cannot open it"), "{outcome}");
    assert!(!e.path("restored").exists());

    let missing = engine.plan_restore(&id, None, Some(e.path("r2")), false, Some(e.path("nope.txt"))).await;
    assert!(missing.unwrap_err().contains("cannot read the identity file"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_state_directory_lists_verifies_and_restores_from_the_repositories_alone() {
    let e = Estate::new();
    write(&e.data().join("a.txt"), b"from the repository\n");
    let config = e.config(&format!("{{ path = \"{}\" }}", e.data().display()), "full", "");
    let engine = e.engine(&config).await;
    backup(&engine).await;
    engine.close().await;
    std::fs::remove_dir_all(e.path("state")).unwrap();

    let engine = e.engine(&config).await;
    assert!(engine.backups(None).await.unwrap().is_empty(), "a fresh catalog");
    assert!(engine.refresh_catalog(None).await.is_empty());
    let backups = engine.backups(Some("files")).await.unwrap();
    assert_eq!(backups.len(), 1);
    assert!(backups[0].verified_at().is_some(), "the verification is recorded with the copy");
    assert!(engine.newest_verified().await.unwrap().contains_key("files"), "RPO counts it");
    let (spec, plan) = engine.plan_verify("files", true, None).await.unwrap();
    assert_eq!(run(&engine, spec, plan).await.state, JobState::Succeeded);
    let to = e.path("restored");
    assert_eq!(restore(&engine, "files", &to).await.state, JobState::Succeeded);
    assert_eq!(std::fs::read(to.join("a.txt")).unwrap(), b"from the repository\n");
}

crate::on_both_stores! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_keeps_what_the_policy_keeps_and_deletes_the_rest_everywhere(store) {
    let e = Estate::on(store);
    write(&e.data().join("a.txt"), b"v1\n");
    let config = e.config(&format!("{{ path = \"{}\" }}", e.data().display()), "full", "");
    let engine = e.engine(&config).await;
    for v in 1..=4 {
        write(&e.data().join("a.txt"), format!("v{v}\n").as_bytes());
        backup(&engine).await;
    }
    let before = engine.backups(Some("files")).await.unwrap();
    let (spec, plan) = engine.plan_prune("files").await.unwrap();
    let JobSpec::Prune { delete, .. } = &spec else { panic!() };
    assert_eq!(delete, &[before[0].manifest.id.clone(), before[1].manifest.id.clone()], "keep_last = 2");
    assert!(plan.lines.iter().any(|l| l.contains(&before[0].manifest.id)), "the plan lists what goes");
    assert_eq!(run(&engine, spec, plan).await.state, JobState::Succeeded);
    let after = engine.backups(Some("files")).await.unwrap();
    assert_eq!(after.len(), 2);
    engine.refresh_catalog(None).await;
    let dirs = std::fs::read_dir(e.path("repo/warroom/files")).unwrap().count();
    assert_eq!(dirs, 2, "deleted from the repository, not only the catalog");
}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_tools_restore_a_full_backup() {
    if !tool("age") || !tool("zstd") {
        assert!(std::env::var_os("CI").is_none(), "CI must install the age and zstd command-line tools");
        eprintln!("skipped: the age and zstd command-line tools are not installed");
        return;
    }
    let e = Estate::new();
    write(&e.data().join("docs/readme.md"), b"# restore me without warroom\n");
    write(&e.data().join("bin.dat"), &random_bytes(200_000, 11));
    let config = e.config(&format!("{{ path = \"{}\" }}", e.data().display()), "full", "");
    let engine = e.engine(&config).await;
    backup(&engine).await;
    let id = engine.backups(Some("files")).await.unwrap()[0].manifest.id.clone();
    let out = e.path("by-hand");
    std::fs::create_dir_all(&out).unwrap();
    // The README's recipe, word for word.
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "age -d -i {key} {data} | zstd -d | tar x -C {out}",
            key = e.path("key.txt").display(),
            data = e.path(&format!("repo/warroom/files/{id}/data.age")).display(),
            out = out.display()
        ))
        .status()
        .unwrap();
    assert!(status.success());
    assert_same_tree(&e.data(), &out);
}

fn tool(name: &str) -> bool {
    std::process::Command::new(name).arg("--version").output().is_ok_and(|o| o.status.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_source_past_its_timeout_is_killed_with_what_it_started() {
    let e = Estate::new();
    let pidfile = e.path("dump.pid");
    let config = e.config(
        &format!(
            r#"{{ command = ["sh", "-c", "sh -c 'echo $$ > {}; exec sleep 60' & echo partial; sleep 60"] }}"#,
            pidfile.display()
        ),
        "full",
        "",
    );
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("every = \"1h\"", "every = \"1h\"\ntimeout = \"1s\"");
    std::fs::write(&config, text).unwrap();
    let engine = e.engine(&config).await;
    let started = std::time::Instant::now();
    let (spec, plan) = engine.plan_backup("files").await.unwrap();
    let job = run(&engine, spec, plan).await;
    assert!(started.elapsed() < Duration::from_secs(15), "took {:?}", started.elapsed());
    assert_eq!(job.state, JobState::Failed);
    assert!(job.outcome.unwrap().contains("timed out after 1s"));
    let pid = std::fs::read_to_string(&pidfile).unwrap();
    assert!(
        common::process_gone(&pid, Duration::from_secs(5)).await,
        "the dump's child {pid} outlived the timeout"
    );
    engine.refresh_catalog(None).await;
    assert!(engine.backups(Some("files")).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_key_for_a_deep_verify_marks_nothing_failed() {
    let e = Estate::new();
    write(&e.data().join("a.txt"), b"a\n");
    let config = e.config(&format!("{{ path = \"{}\" }}", e.data().display()), "full", "");
    let engine = e.engine(&config).await;
    backup(&engine).await;
    let wrong = e.path("wrong.txt");
    use age::secrecy::ExposeSecret;
    std::fs::write(&wrong, format!("{}\n", age::x25519::Identity::generate().to_string().expose_secret()))
        .unwrap();
    let (spec, plan) = engine.plan_verify("files", true, Some(wrong)).await.unwrap();
    let job = run(&engine, spec, plan).await;
    assert_eq!(job.state, JobState::Failed);
    assert!(job.outcome.unwrap().contains("cannot open it"));
    let b = &engine.backups(Some("files")).await.unwrap()[0];
    assert!(b.verified_at().is_some(), "the copies are as good as before: {b:?}");
    assert!(b.copies.iter().all(|c| c.error.is_none()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_rewritten_with_its_old_size_and_time_is_still_seen_as_changed() {
    let e = Estate::new();
    let file = e.data().join("b.txt");
    write(&file, b"deep\n");
    let config = e.config(&format!("{{ path = \"{}\" }}", e.data().display()), "incremental", "");
    let engine = e.engine(&config).await;
    backup(&engine).await;
    let before = std::fs::metadata(&file).unwrap().modified().unwrap();
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(&file, b"DEEP\n").unwrap();
    std::fs::File::options().write(true).open(&file).unwrap().set_modified(before).unwrap();
    backup(&engine).await;
    let last = engine.backups(Some("files")).await.unwrap().pop().unwrap();
    assert_eq!(last.manifest.stored_files, 1, "the rewrite was stored: {:?}", last.manifest);
    let to = e.path("restored");
    restore(&engine, &last.manifest.id, &to).await;
    assert_eq!(std::fs::read(to.join("b.txt")).unwrap(), b"DEEP\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incremental_is_never_built_on_a_chain_a_location_lacks() {
    let e = Estate::new();
    write(&e.data().join("a.txt"), b"one\n");
    let config = e.config(&format!("{{ path = \"{}\" }}", e.data().display()), "incremental", "");
    let engine = e.engine(&config).await;
    backup(&engine).await;
    // The copy at nas goes bad (a flipped byte found by verify).
    let id = engine.backups(Some("files")).await.unwrap()[0].manifest.id.clone();
    let data = e.path(&format!("repo/warroom/files/{id}/data.age"));
    let mut bytes = std::fs::read(&data).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&data, bytes).unwrap();
    let (spec, plan) = engine.plan_verify("files", false, None).await.unwrap();
    run(&engine, spec, plan).await;
    let (spec, plan) = engine.plan_backup("files").await.unwrap();
    assert!(
        matches!(
            &spec,
            warroom::engine::jobs::JobSpec::Backup {
                kind: warroom::model::BackupKind::Full,
                parent: None,
                ..
            }
        ),
        "{spec:?}"
    );
    assert!(plan.lines.iter().any(|l| l.contains("full because")), "{:?}", plan.lines);
}

crate::on_both_stores! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incremental_on_a_damaged_full_does_not_count_for_the_rpo(store) {
    let e = Estate::on(store);
    write(&e.data().join("ledger.csv"), "date,amount\n2026-11-26,100\n".repeat(5000).as_bytes());
    let config = e.config(&format!("{{ path = \"{}\" }}", e.data().display()), "incremental", "");
    let engine = e.engine(&config).await;
    backup(&engine).await;
    write(&e.data().join("new.txt"), b"since the full\n");
    backup(&engine).await;
    let backups = engine.backups(Some("files")).await.unwrap();
    let (full, inc) = (&backups[0].manifest, &backups[1].manifest);
    assert_eq!(inc.parent.as_deref(), Some(full.id.as_str()));
    assert_eq!(engine.newest_verified().await.unwrap().get("files"), Some(&inc.started_at));

    // The full is damaged and its verification says so: the incremental on it restores nothing.
    let data_file = e.path(&format!("repo/warroom/files/{}/data.age", full.id));
    let mut bytes = std::fs::read(&data_file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&data_file, bytes).unwrap();
    let (spec, plan) = engine.plan_verify(&full.id, false, None).await.unwrap();
    assert_eq!(run(&engine, spec, plan).await.state, JobState::Failed);
    assert_eq!(engine.newest_verified().await.unwrap().get("files"), None, "nothing of it can be restored");
    let standing = engine.standings().await.unwrap().into_iter().find(|s| s.system == "files").unwrap();
    assert_eq!(standing.newest_verified, None);
}
}

/// The runbook's restore lines, copied from the Markdown as an operator would and run with `sh`,
/// give back the data of an incremental chain with deletions (full, then incremental, then what
/// the incremental deleted).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runbooks_stock_tool_lines_restore_an_incremental_chain() {
    if !tool("age") || !tool("zstd") || !tool("jq") {
        assert!(std::env::var_os("CI").is_none(), "CI must install the age, zstd and jq command-line tools");
        eprintln!("skipped: the age, zstd and jq command-line tools are not installed");
        return;
    }
    let e = Estate::new();
    let data = e.data();
    write(&data.join("keep.txt"), b"unchanged\n");
    write(&data.join("change.txt"), b"before\n");
    write(&data.join("gone.txt"), b"deleted later\n");
    write(&data.join("old dir/it's here.txt"), b"a name that needs quoting\n");
    write(&data.join("blob.bin"), &random_bytes(100_000, 5));
    let config = e.config(&format!("{{ path = \"{}\" }}", data.display()), "incremental", "");
    let engine = e.engine(&config).await;
    backup(&engine).await;
    write(&data.join("change.txt"), b"after!\n");
    std::fs::remove_file(data.join("gone.txt")).unwrap();
    std::fs::remove_dir_all(data.join("old dir")).unwrap();
    write(&data.join("new/added.txt"), b"new file\n");
    backup(&engine).await;
    let backups = engine.backups(Some("files")).await.unwrap();
    assert_eq!(backups.len(), 2);
    assert!(backups[1].manifest.parent.is_some(), "the second backup is an incremental");

    let to = e.path("by the runbook");
    let book = engine.runbook("files", Some(&to)).await.unwrap();
    let md = book.doc().markdown();
    // The block under "From nas", exactly as the document shows it.
    let start = md.find("### From nas\n\n```sh\n").expect(&md) + "### From nas\n\n```sh\n".len();
    let script = &md[start..start + md[start..].find("\n```").unwrap()];
    assert!(script.contains("| sha256sum -c -"), "checksums are checked first:\n{script}");
    assert!(script.contains("| zstd -d | tar x -C"), "{script}");
    assert!(script.contains("jq -j"), "the incremental's deletions are applied:\n{script}");
    let out = std::process::Command::new("sh").arg("-c").arg(script).output().unwrap();
    assert!(out.status.success(), "{}\n{script}", String::from_utf8_lossy(&out.stderr));
    assert_same_tree(&data, &to);

    // A damaged copy is caught by the checksum line before anything is restored from it.
    let data_object = e.path(&format!("repo/warroom/files/{}/data.age", backups[1].manifest.id));
    let mut bytes = std::fs::read(&data_object).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 1;
    std::fs::set_permissions(&data_object, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(&data_object, bytes).unwrap();
    std::fs::remove_dir_all(&to).unwrap();
    let out = std::process::Command::new("sh").arg("-c").arg(script).output().unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("FAILED"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
