//! The plan's documents and its review: `warroom report`, `warroom runbook`, `warroom plan-doc`,
//! `warroom review`, `warroom evidence` (docs/plan.md).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::{CliError, logging, open_engine};
use crate::config::{Config, ProcessEnv};
use crate::engine::Engine;

const FAILED: u8 = 1;
const BAD_INPUT: u8 = 3;

/// The form a document is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Md,
    Json,
    Html,
}

impl Format {
    /// From `--format`, else the extension of `--out`, else Markdown.
    pub fn choose(given: Option<Format>, out: Option<&Path>) -> Format {
        given.unwrap_or_else(|| match out.and_then(|p| p.extension()).and_then(|e| e.to_str()) {
            Some("html" | "htm") => Format::Html,
            Some("json") => Format::Json,
            _ => Format::Md,
        })
    }
}

/// Open the engine on the configured state, or with `--demo` on the demo's (the built-in
/// example estate, its state folder and keys; the demo need not be running).
pub(super) async fn open(config: Option<PathBuf>, demo: bool) -> Result<(Engine, logging::Guard), CliError> {
    if !demo {
        return open_engine(config, BAD_INPUT).await;
    }
    let mut config: Config = crate::sim::demo::load(config.as_deref(), &ProcessEnv)
        .map(|l| l.config)
        .map_err(|e| CliError::config(e, BAD_INPUT))?;
    super::error::override_operator(&mut config);
    // The demo's own state (where `warroom demo` keeps it), never the live one; the demo need
    // not be running.
    config.console.state_dir = crate::sim::demo::state_dir(&config);
    crate::engine::create_state_dir(&config.console.state_dir).map_err(|e| CliError::engine(e, BAD_INPUT))?;
    crate::sim::demo::point_backups(&mut config).map_err(|e| CliError::message(e, BAD_INPUT))?;
    // Writing a document starts nothing.
    config.console.run_schedule = false;
    let guard = logging::init(&config.console.state_dir);
    let engine = Engine::open(config).await.map_err(|e| CliError::engine(e, BAD_INPUT))?;
    Ok((engine, guard))
}

/// Write `text` to `out` (a new file, or replacing one atomically), or print it.
pub(super) fn emit(text: &str, out: Option<&Path>) -> Result<(), CliError> {
    let Some(path) = out else {
        print!("{text}");
        return Ok(());
    };
    let tmp =
        path.with_extension(format!("{}.tmp", path.extension().and_then(|e| e.to_str()).unwrap_or_default()));
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| CliError::message(format!("cannot write {}: {e}", path.display()), FAILED))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, CliError> {
    serde_json::to_string_pretty(value)
        .map(|mut s| {
            s.push('\n');
            s
        })
        .map_err(|e| CliError::message(format!("cannot encode the document as JSON: {e}"), FAILED))
}

/// `warroom report`: the BC/DR status report.
pub async fn report(
    config: Option<PathBuf>,
    format: Option<Format>,
    out: Option<PathBuf>,
    demo: bool,
) -> Result<ExitCode, CliError> {
    let (engine, _log) = open(config, demo).await?;
    let report = engine.bcdr_report().await.map_err(|e| CliError::message(e, FAILED))?;
    let text = match Format::choose(format, out.as_deref()) {
        Format::Md => crate::model::report::markdown(&report),
        Format::Html => crate::model::report::html(&report),
        Format::Json => json(&report)?,
    };
    engine.close().await;
    emit(&text, out.as_deref())?;
    Ok(ExitCode::SUCCESS)
}

/// `warroom runbook SYSTEM|--all`: what to follow when warroom is unavailable.
pub async fn runbook(
    config: Option<PathBuf>,
    system: Option<String>,
    all: bool,
    format: Option<Format>,
    out: Option<PathBuf>,
    restore_to: Option<PathBuf>,
    demo: bool,
) -> Result<ExitCode, CliError> {
    let (engine, _log) = open(config, demo).await?;
    let books = match (&system, all) {
        (Some(name), false) => engine
            .runbook(name, restore_to.as_deref())
            .await
            .map(|b| vec![b])
            .map_err(|e| CliError::message(e, BAD_INPUT))?,
        _ => engine.runbooks(restore_to.as_deref()).await.map_err(|e| CliError::message(e, FAILED))?,
    };
    let title = engine.config().plan.name.clone();
    engine.close().await;
    let doc = || {
        let mut d = crate::model::doc::Doc::new(match &system {
            Some(s) if !all => format!("Runbook: {s}"),
            _ => format!("{title}: runbooks"),
        });
        for b in &books {
            if books.len() == 1 {
                d = b.doc();
            } else {
                d.section(2, format!("Runbook: {}", b.system), &format!("runbook-{}", b.system));
                d.append(b.doc().nested(1, &b.system));
            }
        }
        d
    };
    let text = match Format::choose(format, out.as_deref()) {
        Format::Md => doc().markdown(),
        Format::Html => doc().html(),
        Format::Json if books.len() == 1 && !all => json(&books[0])?,
        Format::Json => json(&books)?,
    };
    emit(&text, out.as_deref())?;
    Ok(ExitCode::SUCCESS)
}

/// `warroom plan-doc`: the whole BC/DR plan document.
pub async fn plan_doc(
    config: Option<PathBuf>,
    format: Option<Format>,
    out: Option<PathBuf>,
    restore_to: Option<PathBuf>,
    demo: bool,
) -> Result<ExitCode, CliError> {
    let (engine, _log) = open(config, demo).await?;
    let doc = engine.plan_document(restore_to.as_deref()).await.map_err(|e| CliError::message(e, FAILED))?;
    engine.close().await;
    let text = match Format::choose(format, out.as_deref()) {
        Format::Md => doc.doc().markdown(),
        Format::Html => doc.doc().html(),
        Format::Json => json(&doc)?,
    };
    emit(&text, out.as_deref())?;
    Ok(ExitCode::SUCCESS)
}

/// `warroom review --as NAME --note TEXT`: record that the plan was reviewed.
pub async fn review(
    config: Option<PathBuf>,
    reviewer: Option<String>,
    note: Option<String>,
    list: bool,
    demo: bool,
) -> Result<ExitCode, CliError> {
    let (engine, _log) = open(config, demo).await?;
    if list || (reviewer.is_none() && note.is_none()) {
        let reviews = engine.plan_reviews().await.map_err(|e| CliError::message(e, FAILED))?;
        if reviews.is_empty() {
            println!("the plan has never been reviewed: `warroom review --as NAME --note TEXT` records one");
        }
        for r in &reviews {
            println!(
                "{}  {}  {}  (config {})",
                r.at.format("%Y-%m-%d %H:%M UTC"),
                r.reviewer,
                r.note,
                r.config_sha256.get(..12).unwrap_or(&r.config_sha256)
            );
        }
        let warnings = engine.plan_warnings().await.map_err(|e| CliError::message(e, FAILED))?;
        for w in &warnings {
            eprintln!("warning: {w}");
        }
        engine.close().await;
        return Ok(if warnings.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) });
    }
    let reviewer = reviewer.unwrap_or_else(|| engine.operator().to_owned());
    let review =
        engine.record_review(&reviewer, note.as_deref().unwrap_or("")).await.map_err(CliError::write)?;
    let by = match review.reviewer == engine.operator() {
        true => review.reviewer.clone(),
        false => format!("{} (recorded by {})", review.reviewer, engine.operator()),
    };
    println!(
        "plan \"{}\" reviewed by {} at {} (recorded in the audit log); next review due by {}",
        engine.config().plan.name,
        by,
        review.at.format("%Y-%m-%d %H:%M UTC"),
        (review.at + chrono::Duration::from_std(engine.config().plan.review_every).unwrap_or_default())
            .format("%Y-%m-%d")
    );
    engine.close().await;
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, clap::Subcommand)]
pub enum EvidenceCommand {
    /// Check a pack: every file against SHA256SUMS, the audit records' chain, the signature
    /// (exit 0 good, 2 something is wrong, 3 unreadable)
    Verify {
        pack: PathBuf,
        /// An allowed-signers file (ssh-keygen's format) naming who may sign packs
        #[arg(long, value_name = "FILE")]
        allowed_signers: Option<PathBuf>,
        /// The signer to expect (else whoever the allowed-signers file gives the key)
        #[arg(long, value_name = "NAME")]
        signer: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

fn day(text: &str, flag: &str, end_of_day: bool) -> Result<chrono::DateTime<chrono::Utc>, CliError> {
    let d = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        CliError::message(format!("{flag} {text:?} is not a date: write it as YYYY-MM-DD (UTC)"), BAD_INPUT)
    })?;
    let t = if end_of_day { d.and_hms_nano_opt(23, 59, 59, 999_999_999) } else { d.and_hms_opt(0, 0, 0) };
    Ok(t.unwrap_or_default().and_utc())
}

/// `warroom evidence --since DATE [--until DATE] --out PACK [--sign KEY]`, and `evidence verify`.
pub async fn evidence(
    config: Option<PathBuf>,
    command: Option<EvidenceCommand>,
    since: Option<String>,
    until: Option<String>,
    out: Option<PathBuf>,
    sign: Option<PathBuf>,
    demo: bool,
) -> Result<ExitCode, CliError> {
    use crate::engine::evidence;
    if let Some(EvidenceCommand::Verify { pack, allowed_signers, signer, json: as_json }) = command {
        let check = evidence::verify(&pack, allowed_signers.as_deref(), signer.as_deref())
            .map_err(|e| CliError::message(e, BAD_INPUT))?;
        if as_json {
            let mut v = serde_json::to_value(&check).unwrap_or_default();
            v["schema"] = serde_json::json!("warroom.evidence-verify/1");
            v["ok"] = serde_json::json!(check.ok());
            print!("{}", json(&v)?);
        } else {
            for p in &check.problems {
                println!("✖ {p}");
            }
            let signature = match check.signature.as_str() {
                "none" => "not signed".to_owned(),
                "unchecked" => format!(
                    "signed ({}), signer not checked: give --allowed-signers",
                    check.signer.as_deref().unwrap_or("valid signature")
                ),
                "good" => format!("signed: {}", check.signer.as_deref().unwrap_or("good")),
                _ => format!("✖ signature BAD: {}", check.signer.as_deref().unwrap_or("")),
            };
            println!(
                "evidence pack {}: {} {}, {} file{} match SHA256SUMS, {} audit record{} chained; {signature}",
                if check.ok() { "OK" } else { "FAILED" },
                check.folder,
                if check.ok() { "intact" } else { "does not check out" },
                check.files_ok,
                if check.files_ok == 1 { "" } else { "s" },
                check.audit_records,
                if check.audit_records == 1 { "" } else { "s" },
            );
        }
        if !as_json && !check.redacted.is_empty() {
            let seqs: Vec<String> = check.redacted.iter().map(|s| format!("#{s}")).collect();
            println!(
                "  audit record{} {} held a secret and {} redacted when the pack was made: linked, but {} own hash{} cannot be re-checked",
                if seqs.len() == 1 { "" } else { "s" },
                seqs.join(", "),
                if seqs.len() == 1 { "was" } else { "were" },
                if seqs.len() == 1 { "its" } else { "their" },
                if seqs.len() == 1 { "" } else { "es" },
            );
        }
        return Ok(if check.ok() { ExitCode::SUCCESS } else { ExitCode::from(2) });
    }
    let (Some(since), Some(out)) = (since, out) else {
        return Err(CliError::message(
            "give the period and where to write: `warroom evidence --since 2026-01-01 [--until 2026-12-31] --out pack.tar.zst`",
            BAD_INPUT,
        ));
    };
    let since = day(&since, "--since", false)?;
    let (engine, _log) = open(config, demo).await?;
    let until = match until {
        Some(u) => day(&u, "--until", true)?,
        None => engine.now(),
    };
    if until < since {
        engine.close().await;
        return Err(CliError::message(
            format!(
                "--until {} is before --since {}: give the period's first day, then its last",
                until.format("%Y-%m-%d"),
                since.format("%Y-%m-%d")
            ),
            BAD_INPUT,
        ));
    }
    let pack = engine.evidence(since, until).await.map_err(|e| CliError::message(e, FAILED))?;
    let now = engine.now();
    engine.close().await;
    let sums = evidence::sums(&pack.files);
    let scratch = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let signature = match &sign {
        Some(key) => Some(evidence::sign(&sums, key, scratch).map_err(|e| CliError::message(e, FAILED))?),
        None => None,
    };
    evidence::write(&pack, &sums, signature.as_deref(), &out, now)
        .map_err(|e| CliError::message(e, FAILED))?;
    eprintln!(
        "wrote {}: {} files{} ({}); check it with `warroom evidence verify {}`",
        out.display(),
        pack.files.len() + 1,
        if signature.is_some() { ", signed" } else { "" },
        pack.folder,
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}
