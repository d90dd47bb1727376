//! `warroom audit list|verify|note`.

use std::fmt::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use super::{AuditCommand, CliError, open_engine};
use crate::model::audit::{AuditRecord, NewAuditRecord, Outcome};

pub async fn run(config: Option<PathBuf>, command: AuditCommand) -> Result<ExitCode, CliError> {
    let exit_on_error = match command {
        AuditCommand::Verify { .. } => 3,
        _ => 1,
    };
    let (engine, _log) = open_engine(config, exit_on_error).await?;
    let store_err = |e| CliError::engine(e, exit_on_error);
    let code = match command {
        AuditCommand::List { json, limit } => {
            let records = engine.audit_records(limit).await.map_err(store_err)?;
            if json {
                println!(
                    "{}",
                    to_json(&serde_json::json!({ "schema": "warroom.audit/1", "records": records }))?
                );
            } else {
                print!("{}", render_list(&records));
            }
            ExitCode::SUCCESS
        }
        AuditCommand::Verify { json } => {
            let v = engine.verify_audit().await.map_err(store_err)?;
            // The chain against its anchors outside the database: what backups signed beside
            // themselves at each location.
            let (anchors, unreadable) = engine.check_anchors().await;
            let rewritten: Vec<&str> = anchors.iter().filter_map(|a| a.problem.as_deref()).collect();
            let ok = v.ok() && rewritten.is_empty();
            if json {
                let doc = serde_json::json!({
                    "schema": "warroom.audit-verify/1",
                    "ok": ok,
                    "records": v.records,
                    "head": v.head,
                    "problem": v.problem,
                    "anchors": anchors,
                    "anchor_problems": unreadable,
                });
                println!("{}", to_json(&doc)?);
            } else {
                match &v.problem {
                    None => println!(
                        "audit log {}: {} record{}, chain intact{}",
                        if rewritten.is_empty() { "OK" } else { "TAMPERED" },
                        v.records,
                        if v.records == 1 { "" } else { "s" },
                        v.head
                            .as_deref()
                            .map(|h| format!(", head {}", &h[..12.min(h.len())]))
                            .unwrap_or_default()
                    ),
                    Some(p) => println!("audit log TAMPERED: {p}"),
                }
                for problem in &rewritten {
                    println!("  ✖ the chain does not match its anchor: {problem}");
                }
                let good: Vec<_> = anchors.iter().filter(|a| a.problem.is_none()).collect();
                match good.iter().max_by_key(|a| a.seq) {
                    Some(newest) => println!(
                        "  anchored: matches {} signed anchor{} at the backup locations (newest: record #{}, with backup {} at {})",
                        good.len(),
                        if good.len() == 1 { "" } else { "s" },
                        newest.seq,
                        newest.backup,
                        newest.location
                    ),
                    None if v.ok() && anchors.is_empty() && !engine.config().locations.is_empty() => {
                        println!(
                            "  no anchors to check yet: each backup writes the chain's signed head beside itself"
                        )
                    }
                    None => {}
                }
                for p in &unreadable {
                    eprintln!("warning: {p}");
                }
            }
            if ok { ExitCode::SUCCESS } else { ExitCode::from(2) }
        }
        AuditCommand::Note { message, target } => {
            if let Err(refusal) =
                engine.permit_write(engine.operator(), "a note in the audit log", "note", &target).await
            {
                engine.close().await;
                return Err(CliError::message(format!("refused: {refusal}"), 2));
            }
            let refused = engine.config().console.read_only;
            let outcome = if refused { Outcome::Refused } else { Outcome::Recorded };
            engine
                .audit(
                    NewAuditRecord::new(engine.operator(), "note", &target, outcome)
                        .details(serde_json::json!({ "message": message })),
                )
                .await
                .map_err(store_err)?;
            if refused {
                return Err(CliError::message(
                    "console.read_only is set: notes are refused (the refusal is in the audit log)",
                    1,
                ));
            }
            println!("noted");
            ExitCode::SUCCESS
        }
    };
    engine.close().await;
    Ok(code)
}

/// Pretty JSON for a command's `--json`; a value that cannot be encoded is a failure, never an
/// empty line.
pub(super) fn to_json<T: serde::Serialize>(value: &T) -> Result<String, CliError> {
    serde_json::to_string_pretty(value).map_err(|e| CliError::message(format!("cannot encode JSON: {e}"), 1))
}

fn render_list(records: &[AuditRecord]) -> String {
    let mut out = String::new();
    if records.is_empty() {
        out.push_str("the audit log is empty\n");
        return out;
    }
    for r in records {
        let at =
            r.time().map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string()).unwrap_or_else(|| r.at.clone());
        let _ = writeln!(
            out,
            "#{:<5} {}  {:<12} {:<18} {:<16} {:<9} {}",
            r.seq, at, r.operator, r.action, r.target, r.outcome, r.details
        );
    }
    out
}
