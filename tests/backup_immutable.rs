//! Immutable locations against a real S3 server that implements Object Lock (moto): copies
//! are locked until the oldest date a prune could delete them, prune never tries to delete a
//! locked copy and says when it comes free, `check --locations` says when a bucket cannot lock,
//! and a folder location's copies are made read-only.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::os::unix::fs::PermissionsExt;

use chrono::{DateTime, Utc};
use common::estate::{Estate, backup, run, write};
use common::moto::MotoServer;
use warroom::engine::jobs::JobState;

crate::on_both_stores! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_in_an_object_lock_bucket_are_locked_and_prune_waits_for_their_date(store) {
    let moto = MotoServer::start();
    moto.create_bucket("locked", true);
    let e = Estate::on(store);
    write(&e.data().join("a.txt"), b"alpha\n");
    let config = e.config(
        &format!("{{ path = \"{}\" }}", e.data().display()),
        "full",
        &moto.location_toml("cloud", "locked", e.dir.path()),
    );
    let engine = e.engine(&config).await;
    let first = backup(&engine).await;
    assert!(first.outcome.as_deref().unwrap().contains("verified at nas, cloud"), "{:?}", first.outcome);
    let views = engine.backups(Some("files")).await.unwrap();
    let b = &views[0].manifest;
    // keep_last 2 at every 1h: a prune could delete it two hours after it was taken.
    let until = *b.immutable_until.get("cloud").expect("the cloud copy is immutable");
    assert_eq!((until - b.started_at).num_seconds(), 2 * 3600);
    assert!(!b.immutable_until.contains_key("nas"));
    // The server holds every object of it under a COMPLIANCE lock until that date.
    let heads = moto.boto(&format!(
        "for f in ['data.age', 'index.age', 'manifest.json', 'manifest.json.minisig']:\n    h = s3.head_object(Bucket='locked', Key='dr/warroom/files/{}/' + f)\n    print(f, h.get('ObjectLockMode'), h.get('ObjectLockRetainUntilDate').isoformat())",
        b.id
    ));
    for line in heads.lines() {
        let parts: Vec<&str> = line.split(' ').collect();
        assert_eq!(parts[1], "COMPLIANCE", "{line}");
        let locked: DateTime<Utc> = DateTime::parse_from_rfc3339(parts[2]).unwrap().with_timezone(&Utc);
        assert_eq!(locked.timestamp(), until.timestamp(), "{line}");
    }
    assert_eq!(heads.lines().count(), 4);
    // And refuses to delete it before then, whoever asks.
    let refused = moto.boto(&format!(
        "h = s3.head_object(Bucket='locked', Key='dr/warroom/files/{}/data.age')\ntry:\n    s3.delete_object(Bucket='locked', Key='dr/warroom/files/{}/data.age', VersionId=h['VersionId'])\n    print('deleted')\nexcept Exception as e:\n    print('refused', e)",
        b.id, b.id
    ));
    assert!(refused.starts_with("refused"), "{refused}");

    // Two more backups: the policy keeps two, the first is pruned at nas, kept at cloud.
    write(&e.data().join("b.txt"), b"beta\n");
    backup(&engine).await;
    write(&e.data().join("c.txt"), b"gamma\n");
    backup(&engine).await;
    let (spec, plan) = engine.plan_prune("files").await.unwrap();
    assert!(
        plan.lines.iter().any(|l| l.contains("kept at cloud until") && l.contains("immutable")),
        "{:?}",
        plan.lines
    );
    let job = run(&engine, spec, plan).await;
    assert!(
        job.log.iter().any(|l| l.contains(&format!("kept {} at cloud: immutable until", b.id))),
        "{:?}",
        job.log
    );
    assert!(job.log.iter().any(|l| l.contains(&format!("deleted {} at nas", b.id))), "{:?}", job.log);
    engine.refresh_catalog(None).await;
    let left = engine.backup(&b.id).await.unwrap();
    assert_eq!(left.copies.iter().map(|c| c.location.as_str()).collect::<Vec<_>>(), ["cloud"]);
}
}

crate::on_both_stores! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_locations_says_when_a_bucket_cannot_lock_and_the_backup_says_its_copy_is_not_immutable(store) {
    let moto = MotoServer::start();
    moto.create_bucket("locked", true);
    moto.create_bucket("plain", false);
    let e = Estate::on(store);
    write(&e.data().join("a.txt"), b"alpha\n");
    let check = |config: &std::path::Path| {
        common::warroom(&e.path("home")).args(["check", "--locations"]).arg(config).output().unwrap()
    };
    let good = e.config(
        &format!("{{ path = \"{}\" }}", e.data().display()),
        "full",
        &moto.location_toml("cloud", "locked", e.dir.path()),
    );
    let out = check(&good);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("location cloud: reachable; Object Lock enabled"));

    let plain = e.config(
        &format!("{{ path = \"{}\" }}", e.data().display()),
        "full",
        &moto.location_toml("cloud", "plain", e.dir.path()),
    );
    let out = check(&plain);
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("the bucket plain does not accept Object Lock"), "{said}");

    // A backup there still lands, and says its copy is not immutable.
    let engine = e.engine(&plain).await;
    let job = backup(&engine).await;
    assert_eq!(job.state, JobState::Succeeded);
    assert!(job.outcome.as_deref().unwrap().contains("the copy is not immutable"), "{:?}", job.outcome);
    let b = &engine.backups(Some("files")).await.unwrap()[0].manifest;
    assert!(b.immutable_until.is_empty());
}
}

crate::on_both_stores! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_immutable_folder_location_makes_its_copies_read_only(store) {
    let e = Estate::on(store);
    write(&e.data().join("a.txt"), b"alpha\n");
    let config = e.config(&format!("{{ path = \"{}\" }}", e.data().display()), "full", "immutable = true\n");
    let engine = e.engine(&config).await;
    backup(&engine).await;
    let b = engine.backups(Some("files")).await.unwrap()[0].manifest.clone();
    assert!(b.immutable_until.contains_key("nas"));
    for f in ["data.age", "index.age", "manifest.json", "manifest.json.minisig", "anchor.json"] {
        let mode = std::fs::metadata(e.path(&format!("repo/warroom/files/{}/{f}", b.id)))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o444, "{f}");
    }
    let three = engine.standings().await.unwrap()[0].three_two_one.unwrap();
    assert_eq!(three.immutable, 1);
}
}

/// moto does not check signatures; s3s does: its answer to a lock request must be about the
/// request (it has no Object Lock), never about the signature.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_requests_are_signed_as_s3_checks_them() {
    use common::s3::{ACCESS_KEY, BUCKET, S3Server, SECRET_KEY};
    use warroom::config::backup::LockMode;
    use warroom::engine::backup::objectlock::ObjectLock;
    let root = tempfile::tempdir().unwrap();
    let s3 = S3Server::start(root.path()).await;
    let endpoint = format!("http://{}", s3.addr);
    let until = Utc::now() + chrono::TimeDelta::hours(1);
    let good =
        ObjectLock::new(Some(&endpoint), BUCKET, "us-east-1", ACCESS_KEY, SECRET_KEY, LockMode::Compliance)
            .unwrap();
    let said = good.retain("warroom/files/x/data.age", until).await.unwrap_err();
    assert!(said.contains("NotImplemented") && !said.contains("Signature"), "a well-signed request: {said}");
    let bad = ObjectLock::new(
        Some(&endpoint),
        BUCKET,
        "us-east-1",
        ACCESS_KEY,
        "wrong-secret",
        LockMode::Compliance,
    )
    .unwrap();
    let said = bad.retain("warroom/files/x/data.age", until).await.unwrap_err();
    assert!(said.contains("SignatureDoesNotMatch") || said.contains("403"), "a badly signed request: {said}");
}
