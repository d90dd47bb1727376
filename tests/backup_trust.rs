//! Backups tried as an attacker would: one who holds the public key (it is in the config) and
//! write access to a backup location (the bucket's credentials, as ransomware has). Forged
//! backups, archives that try to write outside their target, decompression bombs, lying
//! listings, and a rewritten audit chain.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::{TimeDelta, Utc};
use sha2::{Digest, Sha256};
use warroom::engine::Engine;
use warroom::engine::backup::manifest::{EntryKind, Index, IndexEntry, Manifest, SourceInfo, Trust};
use warroom::engine::backup::write::encrypt_index;
use warroom::engine::jobs::{JobState, Proof, Refusal};
use warroom::model::BackupKind;
use warroom::model::signature::SecretKey;

use common::estate::{Estate, backup, run, write};
use common::store::Kind;

/// What goes into a planted archive.
enum Entry<'a> {
    Dir(&'a str),
    File(&'a str, Vec<u8>),
    Link(&'a str, &'a str),
    HardLink(&'a str, &'a str),
}

/// A tar archive of `entries` and the listing that matches it (an attacker makes the two
/// agree).
fn archive(entries: &[Entry]) -> (Vec<u8>, Index) {
    let mut tar = tar::Builder::new(Vec::new());
    let mut listing = Vec::new();
    for e in entries {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_mtime(1_700_000_000);
        let entry = |path: &str, kind, size, sha256, target: Option<&str>| IndexEntry {
            path: path.to_owned(),
            kind,
            size,
            mtime: 1_700_000_000_000_000_000,
            ctime: 0,
            mode: 0o644,
            sha256,
            blake3: None,
            target: target.map(str::to_owned),
            stored: true,
        };
        match e {
            Entry::Dir(p) => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_size(0);
                h.set_mode(0o755);
                tar.append_data(&mut h, p, std::io::empty()).unwrap();
                listing.push(entry(p, EntryKind::Dir, 0, None, None));
            }
            Entry::File(p, data) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(data.len() as u64);
                // Written by hand: the tar crate's own writer refuses nothing here either.
                tar.append_data(&mut h, p, &data[..]).unwrap();
                let sha = format!("{:x}", Sha256::digest(data));
                listing.push(entry(p, EntryKind::File, data.len() as u64, Some(sha), None));
            }
            Entry::Link(p, target) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_size(0);
                tar.append_link(&mut h, p, target).unwrap();
                listing.push(entry(p, EntryKind::Symlink, 0, None, Some(target)));
            }
            Entry::HardLink(p, target) => {
                h.set_entry_type(tar::EntryType::Link);
                h.set_size(0);
                tar.append_link(&mut h, p, target).unwrap();
                listing.push(entry(p, EntryKind::File, 0, None, None));
            }
        }
    }
    (tar.into_inner().unwrap(), Index { entries: listing, deleted: vec![] })
}

/// Encrypt `plain` to the estate's public key, as anyone holding it can.
fn encrypt(e: &Estate, plain: &[u8]) -> Vec<u8> {
    let recipient = age::x25519::Recipient::from_str(&e.public).unwrap();
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient)).unwrap();
    let mut out = Vec::new();
    let mut w = encryptor.wrap_output(&mut out).unwrap();
    w.write_all(plain).unwrap();
    w.finish().unwrap();
    out
}

/// How a planted backup is signed.
enum Sig<'a> {
    None,
    With(&'a SecretKey),
}

/// Plant a backup of `files` in the folder location by hand: the data (`tar | zstd | age`),
/// the listing, a manifest whose sizes and SHA-256s match, taken `ago` before now.
#[allow(clippy::too_many_arguments)]
fn plant(
    e: &Estate,
    id: &str,
    tar: &[u8],
    index: &Index,
    plain_size: u64,
    sig: Sig,
    format: u32,
    ago: i64,
) -> Manifest {
    let data = encrypt(e, &zstd::encode_all(tar, 1).unwrap());
    let recipient = age::x25519::Recipient::from_str(&e.public).unwrap();
    let index_bytes = encrypt_index(index, &[recipient]).unwrap();
    let at = Utc::now() - TimeDelta::seconds(ago);
    let manifest = Manifest {
        format,
        id: id.to_owned(),
        system: "files".into(),
        kind: BackupKind::Full,
        parent: None,
        started_at: at,
        finished_at: at,
        source: SourceInfo::Path { path: e.data().display().to_string() },
        files: index.entries.len() as u64,
        stored_files: index.entries.iter().filter(|x| x.kind == EntryKind::File).count() as u64,
        deleted_files: 0,
        plain_size,
        stored_size: data.len() as u64,
        sha256: format!("{:x}", Sha256::digest(&data)),
        index_size: index_bytes.len() as u64,
        index_sha256: format!("{:x}", Sha256::digest(&index_bytes)),
        recipients: vec![],
        compression: "zstd level 1".into(),
        encryption: "age x25519".into(),
        tool: "handmade".into(),
        degraded: vec![],
        immutable_until: Default::default(),
    };
    let dir = e.path(&format!("repo/warroom/files/{id}"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("data.age"), &data).unwrap();
    std::fs::write(dir.join("index.age"), &index_bytes).unwrap();
    let bytes = serde_json::to_vec_pretty(&manifest).unwrap();
    if let Sig::With(key) = sig {
        std::fs::write(dir.join("manifest.json.minisig"), key.sign(&bytes, "planted")).unwrap();
    }
    std::fs::write(dir.join("manifest.json"), bytes).unwrap();
    manifest
}

fn signing_key(e: &Estate) -> SecretKey {
    warroom::engine::backup::keys::load(&e.path("signing.key")).unwrap()
}

async fn estate_with_a_backup(store: Kind) -> (Estate, Engine, String) {
    let e = Estate::on(store);
    write(&e.data().join("real.txt"), b"the real data\n");
    let config = e.config(&format!("{{ path = \"{}\" }}", e.data().display()), "full", "");
    let engine = e.engine(&config).await;
    backup(&engine).await;
    let id = engine.backups(Some("files")).await.unwrap()[0].manifest.id.clone();
    (e, engine, id)
}

fn forged_id(ago: i64) -> String {
    format!("{}-f0f0f0f0", (Utc::now() - TimeDelta::seconds(ago)).format("%Y%m%dT%H%M%SZ"))
}

crate::on_both_stores! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_backup_is_ignored_for_listing_verify_rpo_and_restore_and_named_as_untrusted(store) {
    let (e, engine, genuine) = estate_with_a_backup(store).await;
    let genuine_at = engine.backups(Some("files")).await.unwrap()[0].manifest.started_at;
    // Newer than the genuine one, unsigned, with everything else matching: as the attack.
    let (tar, index) = archive(&[Entry::File("real.txt", b"ransom note\n".to_vec())]);
    let forged = forged_id(-60);
    plant(&e, &forged, &tar, &index, 12, Sig::None, 2, -60);
    // And one claiming to be from before signing, though newer than signed ones.
    let (tar1, index1) = archive(&[Entry::File("real.txt", b"older ransom\n".to_vec())]);
    let legacy = format!("{}-f1f1f1f1", (Utc::now() + TimeDelta::seconds(30)).format("%Y%m%dT%H%M%SZ"));
    plant(&e, &legacy, &tar1, &index1, 13, Sig::None, 1, -30);

    assert!(engine.refresh_catalog(None).await.is_empty());
    let all = engine.backups(Some("files")).await.unwrap();
    let view = all.iter().find(|b| b.manifest.id == forged).unwrap();
    assert!(!view.trusted());
    assert_eq!(view.trust(), Trust::Untrusted { reason: "it has no signature".into() });
    assert!(view.trust().label().starts_with("not signed by a trusted key: ignored"));
    let legacy_view = all.iter().find(|b| b.manifest.id == legacy).unwrap();
    assert!(
        matches!(&legacy_view.trust(), Trust::Untrusted { reason } if reason.contains("not made before signing")),
        "{:?}",
        legacy_view.trust()
    );
    // The listing says so.
    let listing = warroom_cli_list(&e);
    assert!(listing.contains("✖ UNTRUSTED"), "{listing}");
    assert!(listing.contains("not signed by a trusted key: ignored (it has no signature)"), "{listing}");

    // RPO counts the genuine one only.
    assert_eq!(engine.newest_verified().await.unwrap().get("files"), Some(&genuine_at));
    // Verify by system takes the newest trusted; by the forged id, refuses.
    let (spec, _) = engine.plan_verify("files", true, None).await.unwrap();
    assert!(matches!(&spec, warroom::engine::jobs::JobSpec::Verify { id: Some(i), .. } if *i == genuine));
    let err = engine.plan_verify(&forged, true, None).await.unwrap_err();
    assert!(err.contains("not signed by a trusted key"), "{err}");
    // The default restore is the genuine one.
    let (spec, _) = engine.plan_restore("files", None, Some(e.path("r1")), false, None).await.unwrap();
    assert!(
        matches!(&spec, warroom::engine::jobs::JobSpec::Restore { id, untrusted: false, .. } if *id == genuine)
    );
    // Named, it is a typed gate, and --yes is not enough.
    let (spec, plan) = engine.plan_restore(&forged, None, Some(e.path("r2")), false, None).await.unwrap();
    assert!(plan.title.contains("UNTRUSTED"), "{}", plan.title);
    assert!(plan.lines.iter().any(|l| l.contains("it has no signature")), "{:?}", plan.lines);
    let job = engine.propose(&spec, plan, "tester").await.unwrap();
    assert_eq!(job.policy, warroom::model::ApprovalPolicy::Typed);
    let refused = engine.approve(&job.id, "tester", &Proof::YesFlag).await.unwrap_err();
    assert!(matches!(refused, Refusal::NeedsTyped { .. }), "{refused:?}");
    engine.approve(&job.id, "tester", &Proof::Typed("files".into())).await.unwrap();
    let done = engine.run_job(&job.id).await.unwrap();
    assert_eq!(done.state, JobState::Succeeded, "{:?}", done.outcome);
    assert_eq!(std::fs::read_to_string(e.path("r2/real.txt")).unwrap(), "ransom note\n");
    // Seeing it was audited.
    let audit = engine.audit_records(None).await.unwrap();
    assert!(audit.iter().any(|r| r.action == "backup.untrusted" && r.details.contains(&forged)));
}
}

fn warroom_cli_list(e: &Estate) -> String {
    let out = common::warroom(&e.path("home"))
        .args(["--config"])
        .arg(e.path("warroom.toml"))
        .args(["backup", "list"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

crate::on_both_stores! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_key_an_edited_manifest_and_a_swapped_index_are_each_refused_with_why(store) {
    let (e, engine, first) = estate_with_a_backup(store).await;
    // Signed, but by a key nobody configured.
    let stranger = warroom::engine::backup::keys::generate().unwrap();
    let (tar, index) = archive(&[Entry::File("real.txt", b"x\n".to_vec())]);
    let signed_elsewhere = forged_id(-90);
    plant(&e, &signed_elsewhere, &tar, &index, 2, Sig::With(&stranger), 2, -90);
    // A genuine manifest changed after signing.
    write(&e.data().join("more.txt"), b"more\n");
    backup(&engine).await;
    let second = engine
        .backups(Some("files"))
        .await
        .unwrap()
        .iter()
        .rfind(|b| b.trusted())
        .unwrap()
        .manifest
        .id
        .clone();
    let manifest_path = e.path(&format!("repo/warroom/files/{first}/manifest.json"));
    // One space more: still the same JSON, no longer the bytes that were signed.
    let text = std::fs::read_to_string(&manifest_path).unwrap();
    std::fs::write(&manifest_path, text.replacen('{', "{ ", 1)).unwrap();

    engine.refresh_catalog(None).await;
    let all = engine.backups(Some("files")).await.unwrap();
    let trust = |id: &str| all.iter().find(|b| b.manifest.id == id).unwrap().trust();
    assert!(
        matches!(trust(&signed_elsewhere), Trust::Untrusted { reason } if reason.contains(&format!("signed by key {}", stranger.public().key_id())) && reason.contains("not in [encryption] signers")),
        "{:?}",
        trust(&signed_elsewhere)
    );
    assert!(
        matches!(trust(&first), Trust::Untrusted { reason } if reason.contains("changed after signing")),
        "{:?}",
        trust(&first)
    );

    // The second backup's listing swapped for another: its manifest still names the real one.
    let second_dir = e.path(&format!("repo/warroom/files/{second}"));
    std::fs::copy(
        e.path(&format!("repo/warroom/files/{signed_elsewhere}/index.age")),
        second_dir.join("index.age"),
    )
    .unwrap();
    let (spec, plan) = engine.plan_verify(&second, false, None).await.unwrap();
    let job = run(&engine, spec, plan).await;
    assert_eq!(job.state, JobState::Failed);
    assert!(
        job.outcome.as_deref().unwrap().contains("file listing's SHA-256 does not match"),
        "{:?}",
        job.outcome
    );
}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn minisign_checks_a_genuine_manifest_and_rejects_an_edited_one() {
    if std::process::Command::new("minisign").arg("-v").output().is_err() {
        panic!("minisign is not installed (apt install minisign): the stock-tool check cannot run");
    }
    let (e, _engine, id) = estate_with_a_backup(Kind::Sqlite).await;
    let dir = e.path(&format!("repo/warroom/files/{id}"));
    let check = |dir: &Path| {
        std::process::Command::new("minisign")
            .arg("-V")
            .arg("-p")
            .arg(e.path("signing.pub"))
            .arg("-m")
            .arg(dir.join("manifest.json"))
            .output()
            .unwrap()
    };
    let out = check(&dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains(&format!("warroom backup files/{id}")), "{said}");
    let text = std::fs::read_to_string(dir.join("manifest.json")).unwrap();
    std::fs::write(dir.join("manifest.json"), text.replace("\"kind\": \"full\"", "\"kind\": \"fulL\""))
        .unwrap();
    assert!(!check(&dir).status.success(), "an edited manifest must fail minisign -V");
}

/// Plant `entries` as a backup signed with the configured key (a compromised backup host, or
/// an archive made by mistake: a restore must contain it either way), then restore and
/// deep-verify it; both must fail naming `names`, and nothing may appear in `outside`.
async fn refused_both_ways(entries: &[Entry<'_>], names: &str) {
    let (e, engine, _) = estate_with_a_backup(Kind::Sqlite).await;
    let outside = e.path("outside");
    std::fs::create_dir_all(&outside).unwrap();
    write(&outside.join("victim.txt"), b"untouched\n");
    let entries: Vec<Entry> = entries
        .iter()
        .map(|x| match x {
            Entry::Link(p, t) if *t == "OUTSIDE" => {
                Entry::Link(p, Box::leak(outside.display().to_string().into_boxed_str()))
            }
            Entry::Link(p, t) if *t == "OUTSIDE_FILE" => {
                Entry::Link(p, Box::leak(outside.join("victim.txt").display().to_string().into_boxed_str()))
            }
            Entry::Dir(p) => Entry::Dir(p),
            Entry::File(p, d) => Entry::File(p, d.clone()),
            Entry::Link(p, t) => Entry::Link(p, t),
            Entry::HardLink(p, t) => Entry::HardLink(p, t),
        })
        .collect();
    let (tar, index) = archive(&entries);
    let plain: u64 = index.entries.iter().map(|x| x.size).sum();
    let id = forged_id(-120);
    plant(&e, &id, &tar, &index, plain, Sig::With(&signing_key(&e)), 2, -120);
    engine.refresh_catalog(None).await;
    let to = e.path("restored");
    let (spec, plan) = engine.plan_restore(&id, None, Some(to.clone()), false, None).await.unwrap();
    let job = run(&engine, spec, plan).await;
    assert_eq!(job.state, JobState::Failed, "{:?}", job.outcome);
    let outcome = job.outcome.clone().unwrap();
    assert!(outcome.contains(names), "the error names the entry: {outcome}");
    assert!(!to.exists(), "nothing is left behind");
    let (spec, plan) = engine.plan_verify(&id, true, None).await.unwrap();
    let job = run(&engine, spec, plan).await;
    assert_eq!(job.state, JobState::Failed, "{:?}", job.outcome);
    assert!(job.outcome.clone().unwrap().contains(names), "{:?}", job.outcome);
    let left: Vec<PathBuf> = std::fs::read_dir(&outside).unwrap().map(|d| d.unwrap().path()).collect();
    assert_eq!(left, vec![outside.join("victim.txt")], "nothing was written outside the target");
    assert_eq!(std::fs::read_to_string(outside.join("victim.txt")).unwrap(), "untouched\n");
    let scratch = e.path("state/scratch");
    assert!(!scratch.exists() || std::fs::read_dir(&scratch).unwrap().next().is_none(), "scratch is cleaned");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_file_through_a_link_to_a_folder_writes_nothing_outside() {
    refused_both_ways(
        &[Entry::Link("evil", "OUTSIDE"), Entry::File("evil/big.bin", vec![7u8; 600 * 1024])],
        "evil",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_file_through_a_link_to_a_folder_writes_nothing_outside() {
    refused_both_ways(
        &[Entry::Link("evil", "OUTSIDE"), Entry::File("evil/small.txt", b"pwned\n".to_vec())],
        "evil",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_over_a_link_to_a_file_writes_nothing_outside() {
    refused_both_ways(
        &[Entry::Link("victim", "OUTSIDE_FILE"), Entry::File("victim", b"pwned\n".to_vec())],
        "victim",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_links_write_nothing_outside() {
    refused_both_ways(
        &[
            Entry::Dir("a"),
            Entry::Link("a/b", "OUTSIDE"),
            Entry::Dir("a/b/c"),
            Entry::File("a/b/c/d.txt", b"pwned\n".to_vec()),
        ],
        "a/b",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hard_link_entry_is_refused() {
    refused_both_ways(&[Entry::HardLink("hard", "/etc/hostname")], "hard: a hard link").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decompression_bomb_stops_at_the_manifests_size() {
    let (e, engine, _) = estate_with_a_backup(Kind::Sqlite).await;
    // A GiB of zeros compresses to a few KiB; the manifest says 4 KiB were read.
    let mut tar = tar::Builder::new(zstd::Encoder::new(Vec::new(), 1).unwrap());
    let mut h = tar::Header::new_gnu();
    let size: u64 = 1 << 30;
    h.set_entry_type(tar::EntryType::Regular);
    h.set_size(size);
    h.set_mode(0o644);
    tar.append_data(&mut h, "zeros.bin", std::io::Read::take(std::io::repeat(0), size)).unwrap();
    let compressed = tar.into_inner().unwrap().finish().unwrap();
    assert!(compressed.len() < 256 * 1024, "a bomb is small: {}", compressed.len());
    let data = encrypt(&e, &compressed);
    let index = Index {
        entries: vec![IndexEntry {
            path: "zeros.bin".into(),
            kind: EntryKind::File,
            size,
            mtime: 0,
            ctime: 0,
            mode: 0o644,
            sha256: Some("0".repeat(64)),
            blake3: None,
            target: None,
            stored: true,
        }],
        deleted: vec![],
    };
    let id = forged_id(-150);
    let m = plant(&e, &id, b"", &index, 4096, Sig::With(&signing_key(&e)), 2, -150);
    // Swap in the bomb as the data, and sign a manifest that matches it.
    let dir = e.path(&format!("repo/warroom/files/{id}"));
    std::fs::write(dir.join("data.age"), &data).unwrap();
    let m = Manifest { stored_size: data.len() as u64, sha256: format!("{:x}", Sha256::digest(&data)), ..m };
    let bytes = serde_json::to_vec_pretty(&m).unwrap();
    std::fs::write(dir.join("manifest.json.minisig"), signing_key(&e).sign(&bytes, "bomb")).unwrap();
    std::fs::write(dir.join("manifest.json"), bytes).unwrap();
    engine.refresh_catalog(None).await;
    let to = e.path("restored");
    let (spec, plan) = engine.plan_restore(&id, None, Some(to.clone()), false, None).await.unwrap();
    let job = run(&engine, spec, plan).await;
    assert_eq!(job.state, JobState::Failed, "{:?}", job.outcome);
    assert!(job.outcome.as_deref().unwrap().contains("decompression bomb"), "{:?}", job.outcome);
    assert!(!to.exists());
    let staged: Vec<_> = std::fs::read_dir(e.path(""))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|d| d.file_name().to_string_lossy().contains("warroom-restore"))
        .collect();
    assert!(staged.is_empty(), "no staging folder is left behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_longer_than_its_manifest_and_a_restore_that_cannot_fit_are_refused() {
    let (e, engine, _) = estate_with_a_backup(Kind::Sqlite).await;
    // A listing of 50,000 entries under a manifest that says 1.
    let (tar, mut index) = archive(&[Entry::File("a.txt", b"a\n".to_vec())]);
    let many = index.entries[0].clone();
    index.entries.extend((0..50_000).map(|i| IndexEntry { path: format!("f{i}"), ..many.clone() }));
    let id = forged_id(-170);
    let m = plant(&e, &id, &tar, &index, 2, Sig::None, 2, -170);
    let dir = e.path(&format!("repo/warroom/files/{id}"));
    let m = Manifest { files: 1, ..m };
    let bytes = serde_json::to_vec_pretty(&m).unwrap();
    std::fs::write(dir.join("manifest.json.minisig"), signing_key(&e).sign(&bytes, "liar")).unwrap();
    std::fs::write(dir.join("manifest.json"), bytes).unwrap();
    engine.refresh_catalog(None).await;
    let (spec, plan) = engine.plan_restore(&id, None, Some(e.path("r1")), false, None).await.unwrap();
    let job = run(&engine, spec, plan).await;
    assert_eq!(job.state, JobState::Failed);
    assert!(
        job.outcome.as_deref().unwrap().contains("file listing is bigger than its manifest"),
        "{:?}",
        job.outcome
    );

    // A listing that says a file is a PiB: more than the disk holds, refused before a byte lands.
    let (tar, mut index) = archive(&[Entry::File("huge.bin", b"h\n".to_vec())]);
    index.entries[0].size = 1 << 50;
    let id = forged_id(-180);
    plant(&e, &id, &tar, &index, 2, Sig::With(&signing_key(&e)), 2, -180);
    engine.refresh_catalog(None).await;
    let (spec, plan) = engine.plan_restore(&id, None, Some(e.path("r2")), false, None).await.unwrap();
    let job = run(&engine, spec, plan).await;
    assert_eq!(job.state, JobState::Failed);
    let outcome = job.outcome.unwrap();
    assert!(outcome.contains("the restore needs about") && outcome.contains("free"), "{outcome}");
    assert!(!e.path("r2").exists());
}

crate::on_both_stores! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_made_before_signing_is_listed_as_such_and_counts_once_adopted(store) {
    let (e, engine, id) = estate_with_a_backup(store).await;
    // Make it what an older warroom wrote: format 1, no signature.
    let dir = e.path(&format!("repo/warroom/files/{id}"));
    let text = std::fs::read_to_string(dir.join("manifest.json")).unwrap();
    std::fs::write(dir.join("manifest.json"), text.replace("\"format\": 2", "\"format\": 1")).unwrap();
    std::fs::remove_file(dir.join("manifest.json.minisig")).unwrap();
    std::fs::remove_file(dir.join("verified.json.minisig")).unwrap();
    let engine2 = engine;
    engine2.refresh_catalog(None).await;
    let view = engine2.backup(&id).await.unwrap();
    assert_eq!(view.trust(), Trust::Unsigned);
    assert_eq!(view.trust().label(), "unsigned (made before signing)");
    assert!(
        !engine2.newest_verified().await.unwrap().contains_key("files"),
        "an unsigned backup does not count"
    );
    let listing = warroom_cli_list(&e);
    assert!(listing.contains("unsigned (made before signing)"), "{listing}");

    let (spec, plan) = engine2.plan_adopt(&id, None).await.unwrap();
    assert!(plan.lines.iter().any(|l| l.contains("deep")), "{:?}", plan.lines);
    let job = run(&engine2, spec, plan).await;
    assert_eq!(job.state, JobState::Succeeded, "{:?}", job.outcome);
    let view = engine2.backup(&id).await.unwrap();
    assert!(view.trusted(), "{:?}", view.trust());
    assert!(engine2.newest_verified().await.unwrap().contains_key("files"));
}
}

crate::on_both_stores! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_rewritten_from_scratch_is_caught_against_the_anchors(store) {
    let (e, engine, id) = estate_with_a_backup(store).await;
    assert!(e.path(&format!("repo/warroom/files/{id}/anchor.json.minisig")).exists());
    let (checks, problems) = engine.check_anchors().await;
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(checks.len(), 1);
    assert!(checks[0].problem.is_none(), "{:?}", checks[0]);
    engine.close().await;
    let verify = || {
        common::warroom(&e.path("home"))
            .arg("--config")
            .arg(e.path("warroom.toml"))
            .args(["audit", "verify"])
            .output()
            .unwrap()
    };
    let out = verify();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains("anchored: matches 1 signed anchor"));

    rewrite_chain(&e).await;
    let out = verify();
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("does not match its anchor") && said.contains("was rewritten"), "{said}");
    assert!(said.contains(&id), "the anchor's backup is named: {said}");
}
}

/// Rewrite every record (operator "mallory" on the first) and recompute every hash and the
/// head with the documented scheme: the chain is consistent again, as far as the database
/// can tell.
async fn rewrite_chain(e: &Estate) {
    use sqlx::Row;
    let pool = e.store.connect(e.dir.path(), &e.path("state/warroom.db")).await;
    let rows =
        sqlx::query("SELECT seq, at, operator, action, target, details, outcome FROM audit_log ORDER BY seq")
            .fetch_all(&pool)
            .await
            .unwrap();
    let mut prev = "0".repeat(64);
    for row in rows {
        let seq: i64 = row.try_get(0).unwrap();
        let f: Vec<String> = (1..7).map(|i| row.try_get::<String, _>(i).unwrap()).collect();
        let operator = if seq == 1 { "mallory".to_owned() } else { f[1].clone() };
        let canonical = serde_json::json!([seq, f[0], operator, f[2], f[3], f[4], f[5], prev]);
        let hash = format!("{:x}", Sha256::digest(canonical.to_string().as_bytes()));
        sqlx::query("UPDATE audit_log SET operator = $1, prev_hash = $2, hash = $3 WHERE seq = $4")
            .bind(&operator)
            .bind(&prev)
            .bind(&hash)
            .bind(seq)
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("UPDATE meta SET value = $1 WHERE key = 'audit.head'")
            .bind(format!("{seq} {hash}"))
            .execute(&pool)
            .await
            .unwrap();
        prev = hash;
    }
    pool.close().await;
}

/// A genuine chain where a folder becomes a link to somewhere else between two backups: the
/// restore writes the link as a link, follows nothing, and leaves the place it points at alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_that_became_a_link_in_an_incremental_is_restored_as_a_link() {
    let e = Estate::new();
    let outside = e.path("outside");
    std::fs::create_dir_all(&outside).unwrap();
    write(&outside.join("keep.txt"), b"outside\n");
    write(&e.data().join("sub/f.txt"), b"in the folder\n");
    write(&e.data().join("top.txt"), b"top\n");
    let config = e.config(&format!("{{ path = \"{}\" }}", e.data().display()), "incremental", "");
    let engine = e.engine(&config).await;
    backup(&engine).await;
    std::fs::remove_dir_all(e.data().join("sub")).unwrap();
    std::os::unix::fs::symlink(&outside, e.data().join("sub")).unwrap();
    backup(&engine).await;
    let newest = engine.backups(Some("files")).await.unwrap().last().unwrap().manifest.clone();
    assert_eq!(newest.kind, BackupKind::Incremental);
    let to = e.path("restored");
    let job = common::estate::restore(&engine, &newest.id, &to).await;
    assert_eq!(job.state, JobState::Succeeded, "{:?}", job.outcome);
    assert_eq!(std::fs::read_link(to.join("sub")).unwrap(), outside);
    assert_eq!(std::fs::read_to_string(to.join("top.txt")).unwrap(), "top\n");
    let left: Vec<PathBuf> = std::fs::read_dir(&outside).unwrap().map(|d| d.unwrap().path()).collect();
    assert_eq!(left, vec![outside.join("keep.txt")]);
}

/// A link planted in a folder location (the system's folder pointing at somewhere else) is
/// never listed through, written through or deleted through: the cleanup of half-written
/// backups once deleted every file of every folder it pointed at.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_planted_in_the_repository_sends_nothing_elsewhere() {
    let e = Estate::new();
    let victim = e.path("victim");
    write(&victim.join("ssh/authorized_keys"), b"keep me\n");
    write(&victim.join("top.conf"), b"keep me too\n");
    std::fs::create_dir_all(e.path("repo/warroom")).unwrap();
    std::os::unix::fs::symlink(&victim, e.path("repo/warroom/files")).unwrap();
    write(&e.data().join("a.txt"), b"alpha\n");
    let config = e.config(&format!("{{ path = \"{}\" }}", e.data().display()), "full", "");
    let engine = e.engine(&config).await;
    let (spec, plan) = engine.plan_backup("files").await.unwrap();
    let job = run(&engine, spec, plan).await;
    assert_eq!(job.state, JobState::Failed, "{:?}", job.outcome);
    assert!(job.outcome.as_deref().unwrap().contains("is a link: refused"), "{:?}", job.outcome);
    assert_eq!(std::fs::read_to_string(victim.join("ssh/authorized_keys")).unwrap(), "keep me\n");
    assert_eq!(std::fs::read_to_string(victim.join("top.conf")).unwrap(), "keep me too\n");
    let entries: Vec<PathBuf> = std::fs::read_dir(&victim).unwrap().map(|d| d.unwrap().path()).collect();
    assert_eq!(entries.len(), 2, "nothing was added or removed: {entries:?}");
    assert!(engine.refresh_catalog(Some("files")).await.iter().any(|p| p.contains("is a link")));
}

/// A listing whose file has no content hash (stripped, so that nothing would be checked), or a
/// BLAKE3 that is not the content's: restore and deep verify refuse it, naming the file, and
/// leave nothing behind. Small files (read whole) and large ones (streamed) alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_whose_listing_gives_no_or_a_wrong_content_hash_is_refused() {
    let (e, engine, _) = estate_with_a_backup(Kind::Sqlite).await;
    for (n, (name, size, blake3)) in [
        ("small.txt", 100usize, None),
        ("large.bin", 600 * 1024, None),
        ("small.txt", 100, Some(blake3::hash(b"something else").to_hex().to_string())),
        ("large.bin", 600 * 1024, Some(blake3::hash(b"something else").to_hex().to_string())),
    ]
    .into_iter()
    .enumerate()
    {
        let (tar, mut index) = archive(&[Entry::File(name, vec![7u8; size])]);
        for entry in &mut index.entries {
            entry.sha256 = None;
            entry.blake3 = blake3.clone();
        }
        let ago = -200 - 10 * n as i64;
        let id = forged_id(ago);
        plant(&e, &id, &tar, &index, size as u64, Sig::With(&signing_key(&e)), 2, ago);
        engine.refresh_catalog(None).await;
        let to = e.path(&format!("restored-{n}"));
        let (spec, plan) = engine.plan_restore(&id, None, Some(to.clone()), false, None).await.unwrap();
        let job = run(&engine, spec, plan).await;
        assert_eq!(job.state, JobState::Failed, "case {n}: {:?}", job.outcome);
        assert!(job.outcome.clone().unwrap().contains(name), "case {n}: {:?}", job.outcome);
        assert!(!to.join(name).exists(), "case {n}: nothing is left of {name}");
        let (spec, plan) = engine.plan_verify(&id, true, None).await.unwrap();
        let job = run(&engine, spec, plan).await;
        assert_eq!(job.state, JobState::Failed, "case {n}: {:?}", job.outcome);
    }
}
