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
    let review = engine
        .record_review(&reviewer, note.as_deref().unwrap_or(""))
        .await
        .map_err(|e| CliError::message(e, BAD_INPUT))?;
    println!(
        "plan \"{}\" reviewed by {} at {} (recorded in the audit log); next review due by {}",
        engine.config().plan.name,
        review.reviewer,
        review.at.format("%Y-%m-%d %H:%M UTC"),
        (review.at + chrono::Duration::from_std(engine.config().plan.review_every).unwrap_or_default())
            .format("%Y-%m-%d")
    );
    engine.close().await;
    Ok(ExitCode::SUCCESS)
}
