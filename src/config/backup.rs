//! Backups: `[encryption]`, `[[locations]]`, `[systems.backup]` and `[approval]`.
//!
//! ```toml
//! [encryption]
//! recipients = ["age1..."]                      # public keys: all a backup host needs
//! identity_file = "/etc/warroom/backup-key.txt" # the private key: only where restores happen
//!
//! [[locations]]
//! name = "nas"
//! kind = "fs"                  # or "s3": bucket, prefix, endpoint, region, credentials by *_env
//! path = "/mnt/backup"
//! media = "disk"               # disk | object | tape
//! offsite = false
//!
//! [systems.backup]
//! source = { command = ["pg_dump", "app"] }     # or source = { path = "/srv/data" }
//! kind = "full"                                 # incremental/differential need a path source
//! every = "10m"
//! locations = ["nas", "s3-offsite"]
//! retention = { keep_last = 10, keep_daily = 7, keep_weekly = 4, keep_monthly = 12 }
//! deep_verify_every = "1d"                      # full restore tests into a scratch folder
//!
//! [approval]                                    # the gate, per action (and tier)
//! restore = { default = "confirm", tier1 = "typed" }
//! prune = "confirm"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::diagnostic::{Diagnostic, Report, did_you_mean};
use super::secrets::SecretSource;
use super::values::{HumanDuration, suggest_name, valid_name};
use crate::model::duration::human;
use crate::model::signature::PublicKey;
use crate::model::{
    Action, ApprovalPolicies, ApprovalPolicy, BackupKind, Media, RetentionPolicy, System, ThreeTwoOne, Tier,
};

/// `[encryption]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncryptionSection {
    #[serde(default)]
    pub recipients: Vec<Spanned<String>>,
    pub recipients_file: Option<PathBuf>,
    pub identity_file: Option<PathBuf>,
    /// Public keys of the hosts whose signed backups are trusted (minisign's `RW...`).
    #[serde(default)]
    pub signers: Vec<Spanned<String>>,
    /// This host's signing key (secret, 0600): where backups are made.
    pub signing_key_file: Option<PathBuf>,
}

/// Who backups are encrypted to, where the key to read them is, and whose signatures make a
/// backup trusted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Encryption {
    /// age public keys (`age1...`).
    pub recipients: Vec<String>,
    /// The private key file, where restores happen (it need not exist where backups are made).
    pub identity_file: Option<PathBuf>,
    /// The signers whose backups are listed, verified, counted for RPO and restored.
    pub signers: Vec<PublicKey>,
    /// This host's signing key: where backups are made (it need not exist where they are read).
    pub signing_key_file: Option<PathBuf>,
}

impl EncryptionSection {
    pub fn resolve(&self, base: &Path, report: &mut Report) -> Encryption {
        let mut recipients = Vec::new();
        for (i, r) in self.recipients.iter().enumerate() {
            let text = r.get_ref().trim();
            if text.starts_with("AGE-SECRET-KEY-") {
                continue; // already reported as an inline secret
            }
            match age::x25519::Recipient::from_str(text) {
                Ok(_) => recipients.push(text.to_owned()),
                Err(e) => report.push(
                    Diagnostic::error(format!("\"{text}\" is not an age public key ({e})"))
                        .at(format!("encryption.recipients[{i}]"), Some(r.span()))
                        .help("a recipient looks like age1 followed by 58 letters and digits; `warroom keygen` makes a pair"),
                ),
            }
        }
        if let Some(file) = &self.recipients_file {
            let path = base.join(file);
            match std::fs::read_to_string(&path) {
                Ok(text) => {
                    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
                        match age::x25519::Recipient::from_str(line) {
                            Ok(_) => recipients.push(line.to_owned()),
                            Err(e) => report.push(
                                Diagnostic::error(format!(
                                    "{} holds \"{line}\", which is not an age public key ({e})",
                                    path.display()
                                ))
                                .at("encryption.recipients_file", None),
                            ),
                        }
                    }
                }
                Err(e) => report.push(
                    Diagnostic::error(format!("cannot read the recipients file {}: {e}", path.display()))
                        .at("encryption.recipients_file", None),
                ),
            }
        }
        let mut signers = Vec::new();
        for (i, k) in self.signers.iter().enumerate() {
            match PublicKey::parse(k.get_ref()) {
                Ok(key) => signers.push(key),
                Err(e) => report.push(
                    Diagnostic::error(format!("\"{}\" is not a signer's public key: {e}", k.get_ref().trim()))
                        .at(format!("encryption.signers[{i}]"), Some(k.span()))
                        .help("`warroom keygen` prints the signing public key (RW...) to put here; it is also in the .pub file beside the key"),
                ),
            }
        }
        Encryption {
            recipients,
            identity_file: self.identity_file.as_ref().map(|f| base.join(f)),
            signers,
            signing_key_file: self.signing_key_file.as_ref().map(|f| base.join(f)),
        }
    }
}

/// Backups are trusted only when signed by a configured signer: with backups and no signer,
/// nothing could ever be restored.
pub fn check_signing(
    encryption: &Encryption,
    any_backups: bool,
    section: &EncryptionSection,
    report: &mut Report,
) {
    if any_backups && encryption.signers.is_empty() && section.signers.is_empty() {
        report.push(
            Diagnostic::warning("systems have backups, but no signer is configured: only backups signed by a configured signer are listed, verified and restored, and none can be made")
                .at("encryption.signers", None)
                .help("on the backup host run `warroom keygen --signing-only --out /etc/warroom/backup-signing.key` (mode 600: it stays there) and put the lines it prints, signers = [\"RW...\"] and signing_key_file, in [encryption]; existing backups then show as \"unsigned (made before signing)\" until `warroom backup adopt ID`"),
        );
    }
}

/// `[[locations]]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocationEntry {
    pub name: Spanned<String>,
    pub kind: Spanned<String>,
    pub path: Option<PathBuf>,
    pub bucket: Option<String>,
    pub prefix: Option<String>,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id_env: Option<String>,
    pub access_key_id_file: Option<PathBuf>,
    pub secret_access_key_env: Option<String>,
    pub secret_access_key_file: Option<PathBuf>,
    #[serde(default)]
    pub allow_http: bool,
    pub media: Option<Spanned<String>>,
    #[serde(default)]
    pub offsite: bool,
    /// Copies here cannot be changed or deleted before a retention date (S3 Object Lock; on a
    /// folder, files made read-only).
    #[serde(default)]
    pub immutable: bool,
    /// `compliance` (nobody, not even the account's root, can shorten it) or `governance`.
    pub lock_mode: Option<Spanned<String>>,
    /// The shortest lock, whatever the retention policy says (e.g. "30d").
    pub lock_at_least: Option<HumanDuration>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Store {
    Fs {
        path: PathBuf,
    },
    S3 {
        bucket: String,
        prefix: String,
        endpoint: Option<String>,
        region: String,
        access_key: Option<SecretSource>,
        secret_key: Option<SecretSource>,
        allow_http: bool,
    },
}

/// A place backups are written to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub name: String,
    pub store: Store,
    pub media: Media,
    pub offsite: bool,
    /// Copies here are locked until a retention date.
    pub immutable: Option<Immutability>,
}

/// How copies at an immutable location are locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Immutability {
    pub mode: LockMode,
    /// The shortest lock, whatever the retention policy says.
    pub at_least: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    Compliance,
    Governance,
}

impl LockMode {
    /// As S3 spells it.
    pub fn s3_name(self) -> &'static str {
        match self {
            LockMode::Compliance => "COMPLIANCE",
            LockMode::Governance => "GOVERNANCE",
        }
    }
}

impl Location {
    /// `fs /mnt/backup`, `s3 s3://bucket/prefix`
    pub fn describe(&self) -> String {
        match &self.store {
            Store::Fs { path } => format!("fs {}", path.display()),
            Store::S3 { bucket, prefix, endpoint, .. } => {
                let at = endpoint.as_deref().map(|e| format!(" at {e}")).unwrap_or_default();
                format!("s3 s3://{bucket}/{prefix}{at}")
            }
        }
    }
}

pub fn resolve_locations(entries: &[LocationEntry], base: &Path, report: &mut Report) -> Vec<Location> {
    let mut out: Vec<Location> = Vec::new();
    for e in entries {
        let name = e.name.get_ref();
        let key = |k: &str| format!("locations[{name}].{k}");
        if !valid_name(name) {
            report.push(
                Diagnostic::error(format!("location name \"{name}\" is not usable as a name"))
                    .at(key("name"), Some(e.name.span()))
                    .help(format!("try \"{}\"", suggest_name(name))),
            );
            continue;
        }
        if out.iter().any(|l| l.name == *name) {
            report.push(
                Diagnostic::error(format!("location \"{name}\" is defined twice"))
                    .at(key("name"), Some(e.name.span())),
            );
            continue;
        }
        let pair = |k: &str, env: &Option<String>, file: &Option<PathBuf>, report: &mut Report| {
            SecretSource::from_pair(k, env.clone(), file.clone(), base)
                .map_err(|m| report.push(Diagnostic::error(m).at(key(k), Some(e.name.span()))))
                .ok()
                .flatten()
        };
        let (store, default_media) = match e.kind.get_ref().as_str() {
            "fs" => {
                let Some(path) = &e.path else {
                    report.push(
                        Diagnostic::error("an fs location needs a `path`")
                            .at(key("kind"), Some(e.kind.span()))
                            .help("add path = \"/mnt/backup\""),
                    );
                    continue;
                };
                (Store::Fs { path: base.join(path) }, Media::Disk)
            }
            "s3" => {
                let Some(bucket) = &e.bucket else {
                    report.push(
                        Diagnostic::error("an s3 location needs a `bucket`")
                            .at(key("kind"), Some(e.kind.span()))
                            .help("add bucket = \"my-backups\""),
                    );
                    continue;
                };
                let store = Store::S3 {
                    bucket: bucket.clone(),
                    prefix: e.prefix.clone().unwrap_or_default().trim_matches('/').to_owned(),
                    endpoint: e.endpoint.clone(),
                    region: e.region.clone().unwrap_or_else(|| "us-east-1".to_owned()),
                    access_key: pair("access_key_id", &e.access_key_id_env, &e.access_key_id_file, report),
                    secret_key: pair(
                        "secret_access_key",
                        &e.secret_access_key_env,
                        &e.secret_access_key_file,
                        report,
                    ),
                    allow_http: e.allow_http,
                };
                (store, Media::Object)
            }
            other => {
                report.push(
                    Diagnostic::error(format!("there is no location kind \"{other}\""))
                        .at(key("kind"), Some(e.kind.span()))
                        .help("use \"fs\" (a folder, NFS or a mounted disk) or \"s3\" (any S3-compatible store)"),
                );
                continue;
            }
        };
        let media = match &e.media {
            Some(m) => match m.get_ref().parse::<Media>() {
                Ok(m) => m,
                Err(msg) => {
                    report.push(Diagnostic::error(msg).at(key("media"), Some(m.span())));
                    continue;
                }
            },
            None => default_media,
        };
        let mode = match e.lock_mode.as_ref().map(|m| m.get_ref().as_str()) {
            None | Some("compliance") => LockMode::Compliance,
            Some("governance") => LockMode::Governance,
            Some(other) => {
                report.push(
                    Diagnostic::error(format!("there is no lock mode \"{other}\""))
                        .at(key("lock_mode"), e.lock_mode.as_ref().map(|m| m.span()))
                        .help("use \"compliance\" (nobody can shorten the lock) or \"governance\""),
                );
                continue;
            }
        };
        if !e.immutable && (e.lock_mode.is_some() || e.lock_at_least.is_some()) {
            report.push(
                Diagnostic::warning("lock_mode and lock_at_least do nothing without immutable = true")
                    .at(key("immutable"), Some(e.name.span())),
            );
        }
        let immutable = e
            .immutable
            .then(|| Immutability { mode, at_least: e.lock_at_least.map(|d| d.0).unwrap_or(Duration::ZERO) });
        out.push(Location { name: name.clone(), store, media, offsite: e.offsite, immutable });
    }
    out
}

/// `source` as written: a path or a command.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceEntry {
    pub path: Option<PathBuf>,
    pub command: Option<Vec<String>>,
}

/// `[systems.backup]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupEntry {
    pub source: Spanned<SourceEntry>,
    pub kind: Option<Spanned<String>>,
    pub every: Spanned<HumanDuration>,
    pub locations: Spanned<Vec<Spanned<String>>>,
    pub retention: Option<RetentionPolicy>,
    pub deep_verify_every: Option<HumanDuration>,
    pub full_every: Option<HumanDuration>,
    pub timeout: Option<HumanDuration>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file or folder, archived with tar.
    Path(PathBuf),
    /// A program whose standard output is the backup (a database dump), run without a shell.
    Command { program: String, args: Vec<String> },
}

impl Source {
    pub fn describe(&self) -> String {
        match self {
            Source::Path(p) => p.display().to_string(),
            Source::Command { program, args } => std::iter::once(program.as_str())
                .chain(args.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

/// A system's backup policy, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct BackupPolicy {
    pub source: Source,
    pub kind: BackupKind,
    pub every: Duration,
    /// Names of the locations, in the order written.
    pub locations: Vec<String>,
    pub retention: Option<RetentionPolicy>,
    pub deep_verify_every: Option<Duration>,
    /// An incremental chain starts again with a full backup this often.
    pub full_every: Duration,
    /// The job is stopped after this long.
    pub timeout: Duration,
}

pub const DEFAULT_FULL_EVERY: Duration = Duration::from_secs(7 * 86_400);
pub const DEFAULT_BACKUP_TIMEOUT: Duration = Duration::from_secs(6 * 3600);

/// Check one system's `[systems.backup]` against the locations and the encryption in force.
pub fn resolve(
    system: &System,
    entry: &BackupEntry,
    locations: &[Location],
    encryption: &Encryption,
    base: &Path,
    report: &mut Report,
) -> Option<BackupPolicy> {
    let name = &system.name;
    let key = |k: &str| format!("systems[{name}].backup.{k}");
    let src = entry.source.get_ref();
    let source = match (&src.path, &src.command) {
        (Some(p), None) => Source::Path(base.join(p)),
        (None, Some(c)) => match c.split_first() {
            Some((program, args)) => Source::Command { program: program.clone(), args: args.to_vec() },
            None => {
                report.push(
                    Diagnostic::error("the backup command is empty")
                        .at(key("source"), Some(entry.source.span())),
                );
                return None;
            }
        },
        _ => {
            report.push(
                Diagnostic::error("a backup source is a path or a command, exactly one of them")
                    .at(key("source"), Some(entry.source.span()))
                    .help("write source = { path = \"/srv/data\" } or source = { command = [\"pg_dump\", \"app\"] }"),
            );
            return None;
        }
    };
    let kind = match &entry.kind {
        None => BackupKind::Full,
        Some(k) => match k.get_ref().parse::<BackupKind>() {
            Ok(kind) => kind,
            Err(e) => {
                report.push(Diagnostic::error(e).at(key("kind"), Some(k.span())));
                return None;
            }
        },
    };
    if kind.needs_parent() && matches!(source, Source::Command { .. }) {
        report.push(
            Diagnostic::error(format!(
                "a {kind} backup needs a path source: a command's output is always taken whole"
            ))
            .at(key("kind"), entry.kind.as_ref().map(|k| k.span()))
            .help("use kind = \"full\" with a command, or back up a path"),
        );
        return None;
    }
    let mut ok = true;
    let names: Vec<&str> = locations.iter().map(|l| l.name.as_str()).collect();
    if entry.locations.get_ref().is_empty() {
        report.push(
            Diagnostic::error("a backup needs at least one location")
                .at(key("locations"), Some(entry.locations.span()))
                .help("name [[locations]] entries: locations = [\"nas\", \"s3-offsite\"]"),
        );
        ok = false;
    }
    for (i, l) in entry.locations.get_ref().iter().enumerate() {
        if !names.contains(&l.get_ref().as_str()) {
            let d = Diagnostic::error(format!("there is no location \"{}\"", l.get_ref()))
                .at(format!("{}[{i}]", key("locations")), Some(l.span()));
            report.push(match did_you_mean(l.get_ref(), names.iter().copied()) {
                Some(s) => d.help(format!("did you mean \"{s}\"?")),
                None => d.help("every location must be a [[locations]] entry in this file"),
            });
            ok = false;
        }
    }
    if encryption.recipients.is_empty() {
        report.push(
            Diagnostic::error(format!("\"{name}\" has a backup, but there is no one to encrypt it to"))
                .at(key("source"), Some(entry.source.span()))
                .help("backups are always encrypted: add [encryption] recipients = [\"age1...\"] (warroom keygen makes a key pair)"),
        );
        ok = false;
    }
    if let Some(r) = &entry.retention
        && r.keep_last + r.keep_daily + r.keep_weekly + r.keep_monthly == 0
    {
        report.push(
            Diagnostic::error("this retention keeps nothing")
                .at(key("retention"), None)
                .help("set at least one of keep_last, keep_daily, keep_weekly, keep_monthly, or remove retention to keep everything"),
        );
        ok = false;
    }
    let every = entry.every.get_ref().0;
    // The newest backup is as old as the interval just before the next one starts, and RPO
    // counts from a backup's start: `every` must be shorter than the RPO, with room for the
    // backup itself.
    if every >= system.objective.rpo {
        report.push(
            Diagnostic::warning(format!(
                "a backup every {} cannot meet \"{name}\"'s RPO of {}",
                human(every),
                human(system.objective.rpo)
            ))
            .at(key("every"), Some(entry.every.span()))
            .help(format!(
                "back up more often than every {}, with time to spare for the backup itself (say every {})",
                human(system.objective.rpo),
                human(system.objective.rpo * 3 / 4)
            )),
        );
    }
    if system.tier == Tier::One && ok {
        let placed: Vec<&Location> = entry
            .locations
            .get_ref()
            .iter()
            .filter_map(|l| locations.iter().find(|x| x.name == *l.get_ref()))
            .collect();
        if !placed.iter().any(|l| l.immutable.is_some()) {
            report.push(
                Diagnostic::warning(format!("tier-1 system \"{name}\" has no immutable copy: whoever holds the backup credentials can delete every copy"))
                    .at(key("locations"), Some(entry.locations.span()))
                    .help("set immutable = true on one of its [[locations]] (an S3 bucket with Object Lock, or a folder whose files are made read-only)"),
            );
        }
        let placed: Vec<(Media, bool)> = placed.iter().map(|l| (l.media, l.offsite)).collect();
        let rule = ThreeTwoOne::assess(&placed);
        if !rule.met() {
            report.push(
                Diagnostic::warning(format!("tier-1 system \"{name}\" falls short of 3-2-1: {}", rule.shortfalls().join(", ")))
                    .at(key("locations"), Some(entry.locations.span()))
                    .help("3 copies (the system's and 2 backups), on 2 kinds of media, 1 offsite: add a location such as an offsite S3 bucket"),
            );
        }
    }
    ok.then(|| BackupPolicy {
        source,
        kind,
        every,
        locations: entry.locations.get_ref().iter().map(|l| l.get_ref().clone()).collect(),
        retention: entry.retention,
        deep_verify_every: entry.deep_verify_every.map(|d| d.0),
        full_every: entry.full_every.map(|d| d.0).unwrap_or(DEFAULT_FULL_EVERY),
        timeout: entry.timeout.map(|d| d.0).unwrap_or(DEFAULT_BACKUP_TIMEOUT),
    })
}

/// A policy as written: one for every tier, or per tier with a default.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum PolicyWritten {
    All(String),
    PerTier(BTreeMap<String, String>),
}

/// `[approval]`: action name -> policy.
pub type ApprovalSection = BTreeMap<Spanned<String>, PolicyWritten>;

pub fn resolve_approval(section: &ApprovalSection, report: &mut Report) -> ApprovalPolicies {
    let mut policies = ApprovalPolicies::default();
    let actions: Vec<&str> = Action::ALL.iter().map(|a| a.name()).collect();
    for (name, written) in section {
        let Some(action) = Action::ALL.iter().copied().find(|a| a.name() == name.get_ref()) else {
            let d = Diagnostic::error(format!(
                "there is no action `{}` to set an approval policy for",
                name.get_ref()
            ))
            .at(format!("approval.{}", name.get_ref()), Some(name.span()));
            report.push(match did_you_mean(name.get_ref(), actions.iter().copied()) {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None => d.help(format!("the actions are: {}", actions.join(", "))),
            });
            continue;
        };
        // Spans inside an untagged value are not kept: errors point at the action's key.
        let span = name.span();
        let parse = |v: &String, path: String, report: &mut Report| match v.parse::<ApprovalPolicy>() {
            Ok(p) => Some(p),
            Err(e) => {
                report.push(Diagnostic::error(e).at(path, Some(span.clone())));
                None
            }
        };
        match written {
            PolicyWritten::All(v) => {
                if let Some(p) = parse(v, format!("approval.{}", action.name()), report) {
                    for tier in Tier::ALL {
                        policies.set(action, tier, p);
                    }
                }
            }
            PolicyWritten::PerTier(map) => {
                if let Some(d) = map
                    .get("default")
                    .and_then(|v| parse(v, format!("approval.{}.default", action.name()), report))
                {
                    for tier in Tier::ALL {
                        policies.set(action, tier, d);
                    }
                }
                for (k, v) in map {
                    if k == "default" {
                        continue;
                    }
                    let path = format!("approval.{}.{k}", action.name());
                    match k
                        .strip_prefix("tier")
                        .and_then(|n| n.parse::<i64>().ok())
                        .and_then(Tier::from_number)
                    {
                        Some(tier) => {
                            if let Some(p) = parse(v, path, report) {
                                policies.set(action, tier, p);
                            }
                        }
                        None => report.push(
                            Diagnostic::error(format!("`{k}` is not a tier"))
                                .at(path, Some(span.clone()))
                                .help("write default, tier1, tier2, tier3 or tier4"),
                        ),
                    }
                }
            }
        }
    }
    policies
}
