//! The evidence pack an auditor asks for: the documents, the incident and exercise reports of a
//! period, the audit log's records of the period with their hash chain and the result of
//! verifying the whole chain, the config in force, and `SHA256SUMS` that `sha256sum -c` checks;
//! optionally signed with an SSH key (`ssh-keygen -Y sign`, namespace `warroom-evidence`).
//! `verify` re-checks a pack without any state: the manifest, every file, the exported chain
//! and the signature.
//!
//! ```text
//! warroom-evidence-20260101-20261231/
//!   README.md                       what this is and how to check it with stock tools
//!   report.{md,html,json}           the BC/DR status report
//!   plan.{md,html,json}             the plan document (runbooks inside)
//!   incidents/ID.{md,json}          each incident open in the period
//!   exercises/ID.{md,html,json}     each exercise started in the period
//!   audit/audit.jsonl               the period's records, exactly as stored, one per line
//!   audit/verification.json         the whole chain verified at export; the exported range
//!   config/config.toml              the config in force (secrets are never in it)
//!   SHA256SUMS                      `sha256sum -c SHA256SUMS` from inside the folder
//!   SHA256SUMS.sig                  optional: `ssh-keygen -Y verify ... -n warroom-evidence`
//! ```

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Engine;
use crate::model::audit::{AuditRecord, GENESIS};

pub const SUMS: &str = "SHA256SUMS";
pub const SIGNATURE: &str = "SHA256SUMS.sig";
pub const NAMESPACE: &str = "warroom-evidence";
pub const AUDIT: &str = "audit/audit.jsonl";
pub const AUDIT_CHECK: &str = "audit/verification.json";
/// A pack is refused past these when read back: a hostile archive cannot fill the memory.
const MAX_PACK_BYTES: u64 = 1 << 30;
const MAX_ENTRIES: usize = 100_000;

/// A pack's files, by path under its folder, before they are written.
#[derive(Debug, Clone, Default)]
pub struct Pack {
    pub folder: String,
    pub files: BTreeMap<String, Vec<u8>>,
}

/// One exported audit record: the stored columns as they are, so its hash can be recomputed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedRecord {
    pub seq: i64,
    pub at: String,
    pub operator: String,
    pub action: String,
    pub target: String,
    /// The stored JSON text, as hashed.
    pub details: String,
    pub outcome: String,
    pub prev_hash: String,
    pub hash: String,
}

impl ExportedRecord {
    fn of(r: &AuditRecord) -> ExportedRecord {
        ExportedRecord {
            seq: r.seq,
            at: r.at.clone(),
            operator: r.operator.clone(),
            action: r.action.clone(),
            target: r.target.clone(),
            details: r.details.clone(),
            outcome: r.outcome.clone(),
            prev_hash: r.prev_hash.clone(),
            hash: r.hash.clone(),
        }
    }

    /// The hash its contents call for: the audit chain's own rule.
    fn expected_hash(&self) -> String {
        AuditRecord {
            seq: self.seq,
            at: self.at.clone(),
            operator: self.operator.clone(),
            action: self.action.clone(),
            target: self.target.clone(),
            details: self.details.clone(),
            outcome: self.outcome.clone(),
            prev_hash: self.prev_hash.clone(),
            hash: self.hash.clone(),
        }
        .expected_hash()
    }
}

/// `audit/verification.json`: the whole chain as verified when the pack was made, and which
/// part of it the pack holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainCheck {
    pub schema: String,
    pub verified_at: DateTime<Utc>,
    pub chain_records: u64,
    pub chain_intact: bool,
    pub chain_problem: Option<String>,
    pub chain_head: Option<String>,
    pub exported: u64,
    pub first_seq: Option<i64>,
    pub last_seq: Option<i64>,
    /// The hash the first exported record follows (64 zeros from the start of the chain).
    pub first_prev_hash: Option<String>,
    pub last_hash: Option<String>,
    /// Records that held a secret's value, redacted in the export: their hashes were checked
    /// at export (`chain_intact`), and cannot be re-checked from the pack.
    #[serde(default)]
    pub redacted: Vec<i64>,
}

impl Engine {
    /// Gather the pack for `[since, until]`; every document rendered now from the same state.
    pub async fn evidence(&self, since: DateTime<Utc>, until: DateTime<Utc>) -> Result<Pack, String> {
        if until < since {
            return Err(format!(
                "--until {} is before --since {}: give the period's first day, then its last",
                until.format("%Y-%m-%d"),
                since.format("%Y-%m-%d")
            ));
        }
        let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let mut put = |path: &str, text: String| {
            files.insert(path.to_owned(), text.into_bytes());
        };

        let report = self.bcdr_report().await?;
        put("report.md", crate::model::report::markdown(&report));
        put("report.html", crate::model::report::html(&report));
        put("report.json", pretty(&report));
        let plan = self.plan_document(None).await?;
        let doc = plan.doc();
        put("plan.md", doc.markdown());
        put("plan.html", doc.html());
        put("plan.json", pretty(&plan));

        let mut incidents = Vec::new();
        for incident in self.incidents().await.map_err(|e| e.to_string())? {
            let open_in_period =
                incident.declared_at <= until && incident.closed_at.is_none_or(|c| c >= since);
            if !open_in_period {
                continue;
            }
            let r = self.report(&incident).await?;
            let mut value = serde_json::to_value(&r).map_err(|e| e.to_string())?;
            value["schema"] = serde_json::json!("warroom.incident-report/1");
            put(&format!("incidents/{}.md", incident.id), super::incident::report_markdown(&r));
            put(&format!("incidents/{}.json", incident.id), pretty(&value));
            incidents.push(incident.id.clone());
        }
        let mut exercises = Vec::new();
        for x in self.exercises().await.map_err(|e| e.to_string())? {
            if x.started_at < since || x.started_at > until {
                continue;
            }
            let r = self.after_action(Some(&x.id)).await?;
            put(&format!("exercises/{}.md", x.id), super::exercise::report::after_action_markdown(&r));
            put(&format!("exercises/{}.html", x.id), super::exercise::report::after_action_html(&r));
            put(&format!("exercises/{}.json", x.id), pretty(&r));
            exercises.push(x.id.clone());
        }

        // The audit records of the period, oldest first, exactly as stored.
        let verification = self.verify_audit().await.map_err(|e| e.to_string())?;
        let mut records = self.audit_records(None).await.map_err(|e| e.to_string())?;
        records.sort_by_key(|r| r.seq);
        let period: Vec<ExportedRecord> = records
            .iter()
            .filter(|r| r.time().is_some_and(|t| t >= since && t <= until))
            .map(ExportedRecord::of)
            .collect();
        // A secret must never reach the pack, not even in an audit record (an operator's note
        // that quotes one): such a record is redacted and listed, so verification knows why
        // its hash no longer matches, and still checks every link.
        let secrets = self.config_secret_values();
        let mut lines = String::new();
        let mut redacted = Vec::new();
        for r in &period {
            let mut line = serde_json::to_string(r).map_err(|e| e.to_string())?.into_bytes();
            if redact(&mut line, &secrets) {
                redacted.push(r.seq);
            }
            lines.push_str(&String::from_utf8_lossy(&line));
            lines.push('\n');
        }
        let check = ChainCheck {
            schema: "warroom.evidence-audit/1".into(),
            verified_at: self.now(),
            chain_records: verification.records,
            chain_intact: verification.ok(),
            chain_problem: verification.problem.as_ref().map(ToString::to_string),
            chain_head: verification.head.clone(),
            exported: period.len() as u64,
            first_seq: period.first().map(|r| r.seq),
            last_seq: period.last().map(|r| r.seq),
            first_prev_hash: period.first().map(|r| r.prev_hash.clone()),
            last_hash: period.last().map(|r| r.hash.clone()),
            redacted,
        };
        put(AUDIT, lines);
        put(AUDIT_CHECK, pretty(&check));

        put("config/config.toml", self.config_text());
        let folder = format!("warroom-evidence-{}-{}", since.format("%Y%m%d"), until.format("%Y%m%d"));
        put(
            "README.md",
            readme(&self.config.plan.name, since, until, self.now(), &incidents, &exercises, &check, &folder),
        );

        // A secret must never reach a document, whatever wrote it there.
        for bytes in files.values_mut() {
            redact(bytes, &secrets);
        }
        Ok(Pack { folder, files })
    }

    /// The config's text as it was loaded: the config in force, whatever the file says now.
    fn config_text(&self) -> String {
        self.config.text.to_string()
    }

    /// The values of every variable the config reads a secret from (`*_env`, `headers_env`).
    fn config_secret_values(&self) -> Vec<String> {
        let Ok(value) = self.config_text().parse::<toml::Table>() else { return Vec::new() };
        let mut names = Vec::new();
        env_names(&toml::Value::Table(value), false, &mut names);
        names
            .into_iter()
            .filter_map(|n| std::env::var(n).ok())
            // Too short to find safely (and no secret worth the name).
            .filter(|v| v.len() >= 4)
            .collect()
    }
}

/// Names of environment variables under keys ending in `_env` (and every value of a
/// `*_env` table).
fn env_names(v: &toml::Value, under_env: bool, out: &mut Vec<String>) {
    match v {
        toml::Value::String(s) if under_env => out.push(s.clone()),
        toml::Value::Table(t) => {
            for (k, v) in t {
                env_names(v, under_env || k.ends_with("_env"), out);
            }
        }
        toml::Value::Array(a) => a.iter().for_each(|v| env_names(v, under_env, out)),
        _ => {}
    }
}

/// Replace every secret's value in `bytes`; whether anything was.
fn redact(bytes: &mut Vec<u8>, secrets: &[String]) -> bool {
    let mut any = false;
    for s in secrets {
        let needle = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        let mut changed = false;
        while i < bytes.len() {
            if bytes[i..].starts_with(needle) {
                out.extend_from_slice(b"[redacted]");
                i += needle.len();
                changed = true;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        if changed {
            *bytes = out;
            any = true;
        }
    }
    any
}

#[allow(clippy::too_many_arguments)]
fn readme(
    plan: &str,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
    incidents: &[String],
    exercises: &[String],
    check: &ChainCheck,
    folder: &str,
) -> String {
    let list = |v: &[String]| if v.is_empty() { "none".to_owned() } else { v.join(", ") };
    format!(
        "# Evidence pack: {plan}\n\n\
         The period {} to {} (UTC), made {}.\n\n\
         - report.*: the BC/DR status report; plan.*: the plan document, with every runbook\n\
         - incidents/: {}\n\
         - exercises/: {}\n\
         - audit/audit.jsonl: the period's {} audit records, exactly as stored (records #{} to #{});\n  \
           audit/verification.json: the whole chain of {} records verified at export: {}\n\
         - config/config.toml: the config in force (secrets are never written in it)\n\n\
         ## Checking it with stock tools\n\n\
         ```sh\n\
         tar --zstd -xf pack.tar.zst\n\
         cd {folder} && sha256sum -c SHA256SUMS\n\
         # when signed: the signer's key in an allowed-signers file, then\n\
         ssh-keygen -Y verify -f allowed_signers -I SIGNER -n {NAMESPACE} -s SHA256SUMS.sig < SHA256SUMS\n\
         ```\n\n\
         `warroom evidence verify pack.tar.zst` checks the same, and the audit records' hash chain.\n\
         Each record's hash is the SHA-256 of the JSON array\n\
         `[seq, at, operator, action, target, details, outcome, prev_hash]`; each record holds the\n\
         previous record's hash.\n",
        since.format("%Y-%m-%d %H:%M"),
        until.format("%Y-%m-%d %H:%M"),
        now.format("%Y-%m-%d %H:%M UTC"),
        list(incidents),
        list(exercises),
        check.exported,
        check.first_seq.map(|s| s.to_string()).unwrap_or_else(|| "—".into()),
        check.last_seq.map(|s| s.to_string()).unwrap_or_else(|| "—".into()),
        check.chain_records,
        if check.chain_intact { "intact" } else { "BROKEN" },
    )
}

/// `SHA256SUMS` for the files, in `sha256sum`'s format.
pub fn sums(files: &BTreeMap<String, Vec<u8>>) -> String {
    let mut s = String::new();
    for (path, bytes) in files {
        s.push_str(&format!("{:x}  {path}\n", Sha256::digest(bytes)));
    }
    s
}

/// Write the pack as `tar | zstd` to `out` (a temporary name, then renamed into place), with
/// `SHA256SUMS` and the signature when there is one.
pub fn write(
    pack: &Pack,
    sums: &str,
    signature: Option<&[u8]>,
    out: &Path,
    at: DateTime<Utc>,
) -> Result<(), String> {
    let tmp = out.with_file_name(format!(
        ".{}.tmp-{}",
        out.file_name().and_then(|n| n.to_str()).unwrap_or("pack"),
        std::process::id()
    ));
    let result = (|| -> std::io::Result<()> {
        let file = std::fs::File::create(&tmp)?;
        let zstd = zstd::Encoder::new(file, 9)?;
        let mut tar = tar::Builder::new(zstd);
        let mut add = |path: &str, bytes: &[u8]| -> std::io::Result<()> {
            let mut h = tar::Header::new_gnu();
            h.set_size(bytes.len() as u64);
            h.set_mode(0o644);
            h.set_mtime(at.timestamp().max(0) as u64);
            h.set_entry_type(tar::EntryType::Regular);
            tar.append_data(&mut h, format!("{}/{path}", pack.folder), bytes)
        };
        for (path, bytes) in &pack.files {
            add(path, bytes)?;
        }
        add(SUMS, sums.as_bytes())?;
        if let Some(sig) = signature {
            add(SIGNATURE, sig)?;
        }
        let zstd = tar.into_inner()?;
        let file = zstd.finish()?;
        file.sync_all()
    })();
    match result.and_then(|()| std::fs::rename(&tmp, out)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(format!("cannot write {}: {e}", out.display()))
        }
    }
}

/// Sign `sums` with an SSH key by `ssh-keygen -Y sign` (a key file, or its public half with the
/// private key in ssh-agent): the armoured signature.
pub fn sign(sums: &str, key: &Path, scratch: &Path) -> Result<Vec<u8>, String> {
    let dir = scratch.join(format!(".warroom-evidence-sign-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let file = dir.join(SUMS);
    let result = (|| {
        std::fs::write(&file, sums).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
        let out = std::process::Command::new("ssh-keygen")
            .args(["-q", "-Y", "sign", "-n", NAMESPACE, "-f"])
            .arg(key)
            .arg(&file)
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| format!("cannot run ssh-keygen (install openssh-client): {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "ssh-keygen could not sign with {}: {}",
                key.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        std::fs::read(file.with_extension("sig")).map_err(|e| format!("ssh-keygen wrote no signature: {e}"))
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// What verifying a pack found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PackCheck {
    pub folder: String,
    /// Files whose checksum matched.
    pub files_ok: usize,
    /// What is wrong, one line each, naming the file or the record.
    pub problems: Vec<String>,
    pub audit_records: usize,
    /// Audit records redacted at export (they held a secret): linked, but their own hashes
    /// cannot be re-checked from the pack.
    pub redacted: Vec<i64>,
    /// none | unchecked (no allowed signers given) | good | bad
    pub signature: String,
    /// Who signed, when an allowed-signers file was given and it verified; the key's
    /// fingerprint otherwise.
    pub signer: Option<String>,
}

impl PackCheck {
    pub fn ok(&self) -> bool {
        self.problems.is_empty() && self.signature != "bad"
    }
}

/// Read a pack back, bounded: regular files under one folder, no path that climbs out.
pub fn read(pack: &Path) -> Result<(String, BTreeMap<String, Vec<u8>>), String> {
    let file = std::fs::File::open(pack).map_err(|e| format!("cannot open {}: {e}", pack.display()))?;
    let zstd =
        zstd::Decoder::new(file).map_err(|e| format!("{} is not a zstd stream: {e}", pack.display()))?;
    let mut archive = tar::Archive::new(zstd.take(MAX_PACK_BYTES));
    let mut folder: Option<String> = None;
    let mut files = BTreeMap::new();
    let entries = archive.entries().map_err(|e| format!("{} is not a tar archive: {e}", pack.display()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("{} is damaged: {e}", pack.display()))?;
        if files.len() >= MAX_ENTRIES {
            return Err(format!(
                "{} holds more than {MAX_ENTRIES} files: it is not an evidence pack",
                pack.display()
            ));
        }
        let path =
            entry.path().map_err(|e| format!("{}: an entry's name is unreadable: {e}", pack.display()))?;
        let name = path.to_string_lossy().into_owned();
        // A folder entry (what `tar c DIR` writes) holds nothing; anything else that is not a
        // file (a link, a device) is refused.
        if entry.header().entry_type().is_dir() {
            continue;
        }
        if !entry.header().entry_type().is_file() {
            return Err(format!("{}: {name} is not a regular file: a pack holds only files", pack.display()));
        }
        let mut parts = name.split('/');
        let top = parts.next().unwrap_or_default().to_owned();
        let rest: Vec<&str> = parts.collect();
        if top.is_empty() || rest.is_empty() || rest.iter().any(|p| p.is_empty() || *p == "." || *p == "..") {
            return Err(format!("{}: the entry {name:?} is outside the pack's folder", pack.display()));
        }
        match &folder {
            None => folder = Some(top),
            Some(f) if *f != top => {
                return Err(format!("{}: {name:?} is outside the pack's folder {f}", pack.display()));
            }
            Some(_) => {}
        }
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).map_err(|e| format!("{}: cannot read {name}: {e}", pack.display()))?;
        files.insert(rest.join("/"), bytes);
    }
    let folder = folder.ok_or_else(|| format!("{} is empty: it is not an evidence pack", pack.display()))?;
    Ok((folder, files))
}

/// Verify a pack: every file against `SHA256SUMS` (a changed, missing or unlisted file is
/// named), the exported audit records against their hash chain and the export's record, and
/// the signature (against `allowed_signers` when given).
pub fn verify(
    pack: &Path,
    allowed_signers: Option<&Path>,
    identity: Option<&str>,
) -> Result<PackCheck, String> {
    let (folder, files) = read(pack)?;
    let mut check = PackCheck { folder: folder.clone(), signature: "none".into(), ..PackCheck::default() };
    let Some(sums) = files.get(SUMS) else {
        check.problems.push(format!("{SUMS} is missing: nothing in the pack can be checked"));
        return Ok(check);
    };
    let sums = String::from_utf8_lossy(sums).into_owned();
    let mut listed: BTreeMap<String, String> = BTreeMap::new();
    for (n, line) in sums.lines().enumerate() {
        let Some((hash, path)) = line.split_once("  ") else {
            check.problems.push(format!("{SUMS} line {}: not `HASH  PATH`", n + 1));
            continue;
        };
        listed.insert(path.to_owned(), hash.to_owned());
    }
    for (path, hash) in &listed {
        match files.get(path) {
            None => check.problems.push(format!("{path}: missing (it is in {SUMS})")),
            Some(bytes) if format!("{:x}", Sha256::digest(bytes)) != *hash => {
                check.problems.push(format!("{path}: changed (its SHA-256 is not the one in {SUMS})"))
            }
            Some(_) => check.files_ok += 1,
        }
    }
    for path in files.keys() {
        if path != SUMS && path != SIGNATURE && !listed.contains_key(path) {
            check.problems.push(format!("{path}: not in {SUMS} (added after the pack was made)"));
        }
    }

    // The audit records: each hash recomputed, each link to the one before.
    match (files.get(AUDIT), files.get(AUDIT_CHECK)) {
        (Some(lines), Some(meta)) => {
            let meta: Result<ChainCheck, _> = serde_json::from_slice(meta);
            let redacted: &[i64] = meta.as_ref().map(|m| m.redacted.as_slice()).unwrap_or_default();
            let mut prev: Option<ExportedRecord> = None;
            for (n, line) in String::from_utf8_lossy(lines).lines().enumerate() {
                let Ok(r) = serde_json::from_str::<ExportedRecord>(line) else {
                    check.problems.push(format!("{AUDIT} line {}: not an audit record", n + 1));
                    break;
                };
                if redacted.contains(&r.seq) {
                    check.redacted.push(r.seq);
                } else if r.expected_hash() != r.hash {
                    check.problems.push(format!(
                        "{AUDIT}: audit record #{} was altered (its hash no longer matches its contents)",
                        r.seq
                    ));
                    break;
                }
                if let Some(p) = &prev {
                    if r.seq != p.seq + 1 {
                        check.problems.push(format!(
                            "{AUDIT}: audit records #{} to #{} are missing",
                            p.seq + 1,
                            r.seq - 1
                        ));
                        break;
                    }
                    if r.prev_hash != p.hash {
                        check.problems.push(format!(
                            "{AUDIT}: audit record #{} does not follow #{} (the chain is broken there)",
                            r.seq, p.seq
                        ));
                        break;
                    }
                } else if r.seq == 1 && r.prev_hash != GENESIS {
                    check.problems.push(format!("{AUDIT}: audit record #1 does not start the chain"));
                }
                check.audit_records += 1;
                prev = Some(r);
            }
            match meta {
                Err(e) => check.problems.push(format!("{AUDIT_CHECK}: unreadable: {e}")),
                Ok(m) => {
                    let differs = m.last_hash != prev.as_ref().map(|p| p.hash.clone())
                        || m.exported != check.audit_records as u64;
                    // A break already named says more than the count that follows from it.
                    if differs && check.problems.iter().all(|p| !p.starts_with(AUDIT)) {
                        check.problems.push(format!(
                            "{AUDIT}: {} records where the export recorded {} ending at #{}",
                            check.audit_records,
                            m.exported,
                            m.last_seq.map(|s| s.to_string()).unwrap_or_else(|| "—".into())
                        ));
                    }
                    if !m.chain_intact {
                        check.problems.push(format!(
                            "the audit chain was already broken when the pack was made: {}",
                            m.chain_problem.unwrap_or_default()
                        ));
                    }
                }
            }
        }
        _ => check
            .problems
            .push(format!("{AUDIT} or {AUDIT_CHECK} is missing: the audit log cannot be checked")),
    }

    if let Some(sig) = files.get(SIGNATURE) {
        let (state, signer) = check_signature(sums.as_bytes(), sig, allowed_signers, identity)?;
        check.signature = state;
        check.signer = signer;
    }
    Ok(check)
}

/// `ssh-keygen -Y verify` (with allowed signers) or `-Y check-novalidate` (without).
fn check_signature(
    sums: &[u8],
    sig: &[u8],
    allowed_signers: Option<&Path>,
    identity: Option<&str>,
) -> Result<(String, Option<String>), String> {
    use std::io::Write;
    let dir = std::env::temp_dir().join(format!(".warroom-evidence-verify-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let sig_path = dir.join(SIGNATURE);
    let result = (|| {
        std::fs::write(&sig_path, sig).map_err(|e| format!("cannot write {}: {e}", sig_path.display()))?;
        let mut cmd = std::process::Command::new("ssh-keygen");
        match allowed_signers {
            Some(file) => {
                // Without a named signer: whoever the file says made this signature.
                let principal = match identity {
                    Some(i) => i.to_owned(),
                    None => match find_principal(file, &sig_path)? {
                        Some(p) => p,
                        None => {
                            return Ok((
                                "bad".to_owned(),
                                Some(format!("the key that signed it is not in {}", file.display())),
                            ));
                        }
                    },
                };
                cmd.args(["-Y", "verify", "-f"]).arg(file).args(["-I", &principal]);
            }
            None => {
                cmd.args(["-Y", "check-novalidate"]);
            }
        }
        cmd.args(["-n", NAMESPACE, "-s"]).arg(&sig_path);
        let mut child = cmd
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| {
                format!("cannot run ssh-keygen to check the signature (install openssh-client): {e}")
            })?;
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(sums);
        }
        let out = child.wait_with_output().map_err(|e| format!("ssh-keygen: {e}"))?;
        let said = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        Ok(match (out.status.success(), allowed_signers) {
            (true, Some(_)) => ("good".to_owned(), Some(said)),
            (true, None) => ("unchecked".to_owned(), Some(said)),
            (false, _) => ("bad".to_owned(), Some(String::from_utf8_lossy(&out.stderr).trim().to_owned())),
        })
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// The principal an allowed-signers file gives the key that made `sig`.
fn find_principal(file: &Path, sig: &Path) -> Result<Option<String>, String> {
    let out = std::process::Command::new("ssh-keygen")
        .args(["-Y", "find-principals", "-f"])
        .arg(file)
        .arg("-s")
        .arg(sig)
        .output()
        .map_err(|e| format!("cannot run ssh-keygen to check the signature (install openssh-client): {e}"))?;
    let found = String::from_utf8_lossy(&out.stdout);
    Ok(found.lines().next().filter(|_| out.status.success()).map(|l| l.trim().to_owned()))
}

/// JSON as the pack holds it: pretty, with a final newline.
fn pretty<T: Serialize>(value: &T) -> String {
    let mut s = serde_json::to_string_pretty(value).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_variables_secrets_come_from_are_found_and_their_values_redacted() {
        let config: toml::Table = r#"
            [[locations]]
            secret_access_key_env = "S3_SECRET"
            [notify.email]
            password_file = "/etc/pw"
            [[systems]]
            [systems.failover]
            steps = [ { http = { url = "http://x", headers_env = { Authorization = "DNS_TOKEN" } } } ]
        "#
        .parse()
        .unwrap();
        let mut names = Vec::new();
        env_names(&toml::Value::Table(config), false, &mut names);
        names.sort();
        assert_eq!(names, ["DNS_TOKEN", "S3_SECRET"]);

        let mut text = b"token=abcd1234 and again abcd1234.".to_vec();
        redact(&mut text, &["abcd1234".to_owned()]);
        assert_eq!(text, b"token=[redacted] and again [redacted].");
    }
}
