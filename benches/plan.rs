//! `warroom report` on a large plan: 5,000 systems (each with a verified backup at two
//! locations), 500 processes, 200 risks, two sites. The release binary runs as a user runs it,
//! under `/usr/bin/time` for its wall time and peak RSS, in each format. Targets: under 1 s and
//! under 100 MiB.
//!
//!     cargo bench --bench plan
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt::Write;
use std::path::Path;
use std::process::Command;

use chrono::{TimeDelta, Utc};

use warroom::engine::backup::manifest::{Manifest, SourceInfo};
use warroom::engine::backup::repo::{MANIFEST, MANIFEST_SIG, VERIFIED, VERIFIED_SIG, VerifyRecord};
use warroom::model::BackupKind;
use warroom::model::signature::SecretKey;

const SYSTEMS: usize = 5_000;
const PROCESSES: usize = 500;
const RISKS: usize = 200;

fn rng(seed: &mut u64) -> u64 {
    *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    *seed >> 33
}

fn config(dir: &Path, signer: &str) -> String {
    let mut seed = 11;
    let mut t = String::new();
    let _ = writeln!(t, "[console]\noperator = \"bench\"\nstate_dir = \"{}\"\n", dir.join("state").display());
    let _ = writeln!(
        t,
        "[encryption]\nrecipients = [\"age1skljvu48llrjnx4dhmd4qh8punvlp50wgsu8arlw3g2f3agat4vs4sfxr2\"]\nsigners = [\"{signer}\"]\n"
    );
    for (name, offsite, media) in [("nas", false, "disk"), ("vault", true, "tape")] {
        let path = dir.join(name);
        std::fs::create_dir_all(&path).unwrap();
        let _ = writeln!(
            t,
            "[[locations]]\nname = \"{name}\"\nkind = \"fs\"\npath = \"{}\"\nmedia = \"{media}\"\noffsite = {offsite}\n",
            path.display()
        );
    }
    let _ = writeln!(
        t,
        "[plan]\nname = \"Bench plan\"\nowner = \"alice\"\n\n[[contacts]]\nname = \"alice\"\nemail = \"alice@example.com\"\nlists = [\"executive\", \"technical\"]\nrole = \"commander\"\n"
    );
    for i in 0..SYSTEMS {
        let tier = 1 + i % 4;
        let deps: Vec<String> = if i < 10 {
            Vec::new()
        } else {
            let mut d: Vec<String> =
                (0..rng(&mut seed) % 3).map(|_| format!("\"s{}\"", rng(&mut seed) as usize % i)).collect();
            d.sort();
            d.dedup();
            d
        };
        let _ = writeln!(
            t,
            "[[systems]]\nname = \"s{i}\"\ntier = {tier}\nowner = \"team-{}\"\ndepends_on = [{}]\n[systems.backup]\nsource = {{ path = \"/srv/s{i}\" }}\nevery = \"{}\"\nlocations = [\"nas\", \"vault\"]\n",
            i % 50,
            deps.join(", "),
            ["10m", "30m", "2h", "12h"][tier - 1]
        );
    }
    for p in 0..PROCESSES {
        let systems: Vec<String> = (0..5).map(|k| format!("\"s{}\"", (p * 10 + k * 7) % SYSTEMS)).collect();
        let _ = writeln!(
            t,
            "[[processes]]\nname = \"process-{p}\"\nowner = \"owner-{}\"\nsystems = [{}]\nrto = \"4h\"\nrpo = \"1h\"\nwrt = \"1h\"\nmtpd = \"3d\"\n[processes.impact]\nfinancial = [\"minimal\", \"moderate\", \"severe\", \"severe\", \"severe\"]\ncustomer = [\"minimal\", \"minimal\", \"moderate\", \"severe\", \"severe\"]\n",
            p % 40,
            systems.join(", ")
        );
    }
    let kinds = ["natural", "cyber", "infrastructure", "pandemic", "regional"];
    for r in 0..RISKS {
        let l = 1 + rng(&mut seed) % 5;
        let i = 1 + rng(&mut seed) % 5;
        let _ = writeln!(
            t,
            "[[risks]]\nid = \"R-{r:03}\"\nname = \"Risk number {r}\"\ntype = \"{}\"\nsystems = [\"s{}\"]\nsites = [\"{}\"]\nlikelihood = {l}\nimpact = {i}\nresidual = [{}, {}]\ntreatment = \"mitigate\"\nmitigations = [\"one\", \"two\"]\nowner = \"alice\"\nreview = \"2027-06-30\"\n",
            kinds[r % 5],
            rng(&mut seed) as usize % SYSTEMS,
            if r % 2 == 0 { "dc1" } else { "dc2" },
            l.max(2) - 1,
            i
        );
    }
    t.push_str("[[sites]]\nname = \"dc1\"\nrole = \"primary\"\nregion = \"eu-central\"\n\n[[sites]]\nname = \"dc2\"\nrole = \"dr\"\nregion = \"eu-west\"\n[sites.standby]\n");
    for i in 0..SYSTEMS {
        let kind = ["hot", "warm", "cold", "backup-only"][i % 4];
        let _ = writeln!(t, "s{i} = \"{kind}\"");
    }
    t
}

/// Every system's backup at both locations, as a backup host leaves it: a signed manifest and
/// a signed verification record (files written directly, in the repository's layout).
fn populate(dir: &Path, key: &SecretKey) {
    let now = Utc::now();
    for i in 0..SYSTEMS {
        let at = now - TimeDelta::minutes((i % 90) as i64);
        let id = format!("{}-{:06x}", at.format("%Y%m%dT%H%M%SZ"), i);
        let system = format!("s{i}");
        let manifest = Manifest {
            format: 2,
            id: id.clone(),
            system: system.clone(),
            kind: BackupKind::Full,
            parent: None,
            started_at: at,
            finished_at: at + TimeDelta::seconds(30),
            source: SourceInfo::Path { path: format!("/srv/s{i}") },
            files: 120,
            stored_files: 120,
            deleted_files: 0,
            plain_size: 10 << 20,
            stored_size: 4 << 20,
            sha256: "0".repeat(64),
            index_size: 4096,
            index_sha256: "0".repeat(64),
            recipients: vec!["0123456789abcdef".into()],
            compression: "zstd".into(),
            encryption: "age".into(),
            tool: "warroom bench".into(),
            degraded: Vec::new(),
            immutable_until: Default::default(),
        };
        let bytes = serde_json::to_vec_pretty(&manifest).unwrap();
        let verified = serde_json::to_vec_pretty(&VerifyRecord {
            quick_at: Some(at + TimeDelta::minutes(1)),
            deep_at: None,
            error: None,
        })
        .unwrap();
        for location in ["nas", "vault"] {
            let folder = dir.join(location).join("warroom").join(&system).join(&id);
            std::fs::create_dir_all(&folder).unwrap();
            std::fs::write(folder.join(MANIFEST), &bytes).unwrap();
            std::fs::write(
                folder.join(MANIFEST_SIG),
                key.sign(&bytes, &format!("warroom backup {system}/{id}")),
            )
            .unwrap();
            std::fs::write(folder.join(VERIFIED), &verified).unwrap();
            let comment = format!("warroom verification of backup {system}/{id} at location {location}");
            std::fs::write(folder.join(VERIFIED_SIG), key.sign(&verified, &comment)).unwrap();
        }
    }
}

fn main() {
    // PLAN_BENCH_DIR keeps the estate for a profiler; by default it goes with the run.
    let kept = std::env::var_os("PLAN_BENCH_DIR").map(std::path::PathBuf::from);
    let temp = tempfile::tempdir().unwrap();
    let root = kept.clone().unwrap_or_else(|| temp.path().to_owned());
    let _ = std::fs::remove_dir_all(root.join("state"));
    std::fs::create_dir_all(&root).unwrap();
    let dir = &root;
    let path = dir.join("warroom.toml");
    // A signing key for the bench's backups (fixed bytes: nothing here is secret).
    let key = SecretKey::from_random([7u8; 40]);
    std::fs::write(&path, config(dir, &key.public().encoded())).unwrap();
    let _ = std::fs::remove_dir_all(dir.join("nas"));
    let _ = std::fs::remove_dir_all(dir.join("vault"));
    std::fs::create_dir_all(dir.join("nas")).unwrap();
    std::fs::create_dir_all(dir.join("vault")).unwrap();
    populate(dir, &key);
    let bin = env!("CARGO_BIN_EXE_warroom");
    // The first run checks the config against the state once (and records it in the audit log).
    if std::env::var_os("PLAN_BENCH_ONLY_SETUP").is_some() {
        return;
    }
    let check =
        Command::new(bin).args(["report", "--format", "json", "--config"]).arg(&path).output().unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    let report: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    assert_eq!(report["systems"].as_array().unwrap().len(), SYSTEMS);
    assert_eq!(report["processes"].as_array().unwrap().len(), PROCESSES);
    assert_eq!(report["risks"].as_array().unwrap().len(), RISKS);
    let compliant =
        report["systems"].as_array().unwrap().iter().filter(|s| s["rpo_state"] == "compliant").count();
    println!(
        "warroom report: {SYSTEMS} systems ({compliant} within RPO), {PROCESSES} processes, {RISKS} risks (targets: < 1 s, < 100 MiB)"
    );
    for format in ["md", "html", "json"] {
        let out = dir.join(format!("report.{format}"));
        let mut walls = Vec::new();
        let mut peak = 0u64;
        for _ in 0..5 {
            let run = Command::new("/usr/bin/time")
                .args(["-f", "%e %M", bin, "report", "--format", format, "--config"])
                .arg(&path)
                .arg("--out")
                .arg(&out)
                .output()
                .expect("/usr/bin/time (apt install time)");
            assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
            let said = String::from_utf8_lossy(&run.stderr);
            let last = said.lines().last().unwrap_or_default().to_owned();
            let mut parts = last.split_whitespace();
            walls.push(parts.next().and_then(|w| w.parse::<f64>().ok()).unwrap());
            peak = peak.max(parts.next().and_then(|k| k.parse::<u64>().ok()).unwrap());
        }
        walls.sort_by(f64::total_cmp);
        println!(
            "  --format {format:<4}  median {:.2} s (min {:.2}, max {:.2})  peak RSS {} MiB  output {} KiB",
            walls[walls.len() / 2],
            walls[0],
            walls[walls.len() - 1],
            peak / 1024,
            std::fs::metadata(&out).map(|m| m.len() / 1024).unwrap_or(0)
        );
    }
}
