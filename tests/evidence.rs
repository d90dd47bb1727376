//! The evidence pack end to end: made by the binary from a real state, checked with stock tools
//! and by `evidence verify`; a changed file, a removed file and an edited audit record are each
//! named; an SSH signature made and checked with ssh-keygen; secrets never in it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use common::store::Kind;
use common::{example_config, warroom};

const SECRET: &str = "s3cr3t-never-in-a-pack";

/// The binary on the example estate, its state in `store` (for PostgreSQL, a database of
/// `state`'s own).
fn cmd(state: &Path, store: Kind) -> assert_cmd::Command {
    let config = state.join("config.toml");
    if !config.exists() {
        let text = std::fs::read_to_string(example_config()).unwrap();
        let text = text.replacen("[console]\n", &format!("[console]\n{}", store.console_lines(state)), 1);
        std::fs::write(&config, text).unwrap();
    }
    let mut c = warroom(state);
    c.arg("--config")
        .arg(config)
        .env("WARROOM_S3_ACCESS_KEY_ID", "AKIA-evidence-test")
        .env("WARROOM_S3_SECRET_ACCESS_KEY", SECRET);
    c
}

fn unpack(pack: &Path) -> (String, BTreeMap<String, Vec<u8>>) {
    let mut archive = tar::Archive::new(zstd::Decoder::new(std::fs::File::open(pack).unwrap()).unwrap());
    let mut files = BTreeMap::new();
    let mut folder = String::new();
    for e in archive.entries().unwrap() {
        let mut e = e.unwrap();
        let path = e.path().unwrap().to_string_lossy().into_owned();
        let (top, rest) = path.split_once('/').unwrap();
        folder = top.to_owned();
        let mut bytes = Vec::new();
        e.read_to_end(&mut bytes).unwrap();
        files.insert(rest.to_owned(), bytes);
    }
    (folder, files)
}

fn repack(folder: &str, files: &BTreeMap<String, Vec<u8>>, to: &Path) {
    let mut tar = tar::Builder::new(zstd::Encoder::new(std::fs::File::create(to).unwrap(), 3).unwrap());
    for (path, bytes) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        // Written raw, so a hostile name (`..`) goes in as it is.
        let name = format!("{folder}/{path}");
        h.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_cksum();
        tar.append(&h, bytes.as_slice()).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap();
}

fn sha256sums(files: &BTreeMap<String, Vec<u8>>) -> Vec<u8> {
    use sha2::Digest;
    let mut s = String::new();
    for (p, b) in files.iter().filter(|(p, _)| !p.starts_with("SHA256SUMS")) {
        s.push_str(&format!("{:x}  {p}\n", sha2::Sha256::digest(b)));
    }
    s.into_bytes()
}

fn verify(state: &Path, pack: &Path) -> (Option<i32>, String) {
    let out = warroom(state).args(["evidence", "verify"]).arg(pack).output().unwrap();
    (
        out.status.code(),
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
    )
}

fn tool(name: &str, arg: &str) -> bool {
    std::process::Command::new(name).arg(arg).output().is_ok()
}

crate::on_both_stores! {
#[test]
fn a_pack_verifies_and_every_kind_of_tampering_is_named(store) {
    let state = tempfile::tempdir().unwrap();
    let s = state.path();
    let out = cmd(s, store)
        .args([
            "incident",
            "declare",
            "--type",
            "infrastructure",
            "--severity",
            "high",
            "--systems",
            "database",
        ])
        .output()
        .unwrap();
    // Declared; its recovery plan waits at the gate (no terminal, no --yes).
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("declared:"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for n in 0..3 {
        cmd(s, store).args(["audit", "note", &format!("called the DBA, attempt {n}")]).assert().success();
    }
    // An operator's note that quotes a secret: redacted in the pack, and the pack still verifies.
    cmd(s, store).args(["audit", "note", &format!("rotated the S3 key, it was {SECRET}")]).assert().success();
    let pack = s.join("pack.tar.zst");
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let out = cmd(s, store).args(["evidence", "--since", &today, "--out"]).arg(&pack).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let (code, said) = verify(s, &pack);
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("evidence pack OK"), "{said}");
    assert!(said.contains("held a secret and was redacted"), "{said}");

    let (folder, files) = unpack(&pack);
    for f in
        ["report.md", "report.html", "report.json", "plan.md", "plan.html", "plan.json", "config/config.toml"]
    {
        assert!(files.contains_key(f), "{f} in the pack: {:?}", files.keys());
    }
    let incident = files
        .keys()
        .find(|k| k.starts_with("incidents/") && k.ends_with(".md"))
        .expect("the incident's report");
    assert!(files.contains_key(&incident.replace(".md", ".json")));
    let audit = String::from_utf8(files["audit/audit.jsonl"].clone()).unwrap();
    assert!(audit.lines().count() >= 4, "the declaration and the notes: {audit}");
    assert!(audit.contains("called the DBA, attempt 2"));
    assert!(audit.contains("rotated the S3 key, it was [redacted]"), "{audit}");
    for (path, bytes) in &files {
        assert!(
            !bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
            "a secret from *_env reached {path}"
        );
    }
    if store == Kind::Postgres {
        let url = std::fs::read_to_string(s.join("state-url")).unwrap();
        let url = url.trim().as_bytes();
        assert!(
            files.values().all(|bytes| !bytes.windows(url.len()).any(|w| w == url)),
            "the state's URL (its credentials) is never in a pack"
        );
    }

    // Stock tools: zstd | tar, then sha256sum -c from inside the folder.
    if tool("zstd", "--version") && tool("sha256sum", "--version") {
        let dir = s.join("unpacked");
        std::fs::create_dir_all(&dir).unwrap();
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("zstd -dc '{}' | tar x -C '{}'", pack.display(), dir.display()))
            .status()
            .unwrap();
        assert!(status.success());
        let out = std::process::Command::new("sha256sum")
            .args(["-c", "SHA256SUMS"])
            .current_dir(dir.join(&folder))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
        // An auditor's edit repacked with stock tools (folder entries and all) is named.
        let report = dir.join(&folder).join("report.md");
        let mut text = std::fs::read(&report).unwrap();
        text[10] ^= 0x20;
        std::fs::write(&report, text).unwrap();
        let repacked = s.join("repacked.tar.zst");
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("tar c -C '{}' '{folder}' | zstd -q -o '{}'", dir.display(), repacked.display()))
            .status()
            .unwrap();
        assert!(status.success());
        let (code, said) = verify(s, &repacked);
        assert_eq!(code, Some(2), "{said}");
        assert!(said.contains("report.md: changed"), "{said}");
    } else {
        assert!(std::env::var_os("CI").is_none(), "CI must install zstd");
    }

    // A flipped byte.
    let bad = s.join("bad.tar.zst");
    let mut changed = files.clone();
    changed.get_mut("report.md").unwrap()[10] ^= 0x20;
    repack(&folder, &changed, &bad);
    let (code, said) = verify(s, &bad);
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("report.md: changed"), "{said}");

    // A removed file.
    let mut removed = files.clone();
    removed.remove("plan.html");
    repack(&folder, &removed, &bad);
    let (code, said) = verify(s, &bad);
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("plan.html: missing"), "{said}");

    // An edited audit record, with SHA256SUMS made again to match (the most a forger can do
    // without the chain): the record is named.
    let mut edited = files.clone();
    let text = audit.replace("called the DBA, attempt 1", "called nobody, attempt 1");
    let seq = audit
        .lines()
        .find(|l| l.contains("attempt 1"))
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["seq"].as_i64().unwrap())
        .unwrap();
    edited.insert("audit/audit.jsonl".into(), text.into_bytes());
    let sums = sha256sums(&edited);
    edited.insert("SHA256SUMS".into(), sums);
    repack(&folder, &edited, &bad);
    let (code, said) = verify(s, &bad);
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains(&format!("audit record #{seq} was altered")), "{said}");

    // A file slipped in.
    let mut added = files.clone();
    added.insert("incidents/extra.md".into(), b"# nothing happened\n".to_vec());
    repack(&folder, &added, &bad);
    let (code, said) = verify(s, &bad);
    assert_eq!(code, Some(2));
    assert!(said.contains("incidents/extra.md: not in SHA256SUMS"), "{said}");

    // An entry that climbs out of the folder is refused before anything is read.
    let mut hostile = BTreeMap::new();
    hostile.insert("../../etc/evil".to_owned(), b"x".to_vec());
    repack(&folder, &hostile, &bad);
    let (code, said) = verify(s, &bad);
    assert_eq!(code, Some(3), "{said}");
    assert!(said.contains("outside the pack's folder"), "{said}");
}
}

#[test]
fn a_signed_pack_names_its_signer_and_a_forged_one_fails() {
    if !tool("ssh-keygen", "-?") {
        assert!(std::env::var_os("CI").is_none(), "CI must install openssh-client (ssh-keygen)");
        eprintln!("skipped: ssh-keygen is not installed");
        return;
    }
    let state = tempfile::tempdir().unwrap();
    let s = state.path();
    let key = s.join("auditor_key");
    let ok = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "dr-lead", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(ok.success());
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let signers = s.join("allowed_signers");
    std::fs::write(&signers, format!("dr-lead@example.com namespaces=\"warroom-evidence\" {public}"))
        .unwrap();

    cmd(s, Kind::Sqlite).args(["audit", "note", "signed pack test"]).assert().success();
    let pack = s.join("signed.tar.zst");
    let out = cmd(s, Kind::Sqlite)
        .args(["evidence", "--since", "2026-01-01", "--sign"])
        .arg(&key)
        .arg("--out")
        .arg(&pack)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let out = warroom(s)
        .args(["evidence", "verify"])
        .arg(&pack)
        .arg("--allowed-signers")
        .arg(&signers)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{said}{}", String::from_utf8_lossy(&out.stderr));
    assert!(said.contains("signed:") && said.contains("dr-lead@example.com"), "{said}");
    let (code, said) = verify(s, &pack);
    assert_eq!(code, Some(0));
    assert!(said.contains("signer not checked"), "{said}");

    // Someone else's key re-signs an edited pack: the manifest matches, the signer does not.
    let (folder, mut files) = unpack(&pack);
    files.get_mut("report.md").unwrap().extend_from_slice(b"\nall systems compliant\n");
    let sums = sha256sums(&files);
    let forger = s.join("forger_key");
    std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&forger)
        .status()
        .unwrap();
    std::fs::write(s.join("SHA256SUMS"), &sums).unwrap();
    let signed = std::process::Command::new("ssh-keygen")
        .args(["-q", "-Y", "sign", "-n", "warroom-evidence", "-f"])
        .arg(&forger)
        .arg(s.join("SHA256SUMS"))
        .status()
        .unwrap();
    assert!(signed.success());
    files.insert("SHA256SUMS".into(), sums);
    files.insert("SHA256SUMS.sig".into(), std::fs::read(s.join("SHA256SUMS.sig")).unwrap());
    let bad = s.join("forged.tar.zst");
    repack(&folder, &files, &bad);
    let out = warroom(s)
        .args(["evidence", "verify"])
        .arg(&bad)
        .arg("--allowed-signers")
        .arg(&signers)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("signature BAD"), "{said}");
}

#[test]
fn a_period_that_ends_before_it_starts_is_bad_input() {
    let state = tempfile::tempdir().unwrap();
    let s = state.path();
    let out = cmd(s, Kind::Sqlite)
        .args(["evidence", "--since", "2026-02-01", "--until", "2026-01-01", "--out"])
        .arg(s.join("pack.tar.zst"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "bad input, like every other: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("--until 2026-01-01 is before --since 2026-02-01"));
    assert!(!s.join("pack.tar.zst").exists());
}
