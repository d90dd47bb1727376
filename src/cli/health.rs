//! `warroom probe` (one round of probes) and `warroom watch` (a live feed of changes).

use std::fmt::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use super::{CliError, open_engine};
use crate::engine::Engine;
use crate::engine::assessment::{ProbeLine, health_severity};
use crate::engine::monitor::MonitorEvent;
use crate::model::{Decision, Severity};

pub async fn probe(
    config: Option<PathBuf>,
    system: Option<String>,
    json: bool,
) -> Result<ExitCode, CliError> {
    let (engine, _log) = open_engine(config, 3).await?;
    let only = match &system {
        None => None,
        Some(name) => {
            let Some(i) = engine.config().estate.index_of(name) else {
                return Err(CliError::message(engine.no_such_system(name), 3));
            };
            if engine.config().systems.get(i).is_none_or(|s| s.health.is_none()) {
                return Err(CliError::message(
                    format!(
                        "\"{name}\" has no health check; add [systems.health] to it in {}",
                        engine.config().path.display()
                    ),
                    3,
                ));
            }
            Some(i)
        }
    };
    let lines = engine.probe_round(only).await.map_err(|e| CliError::message(e, 3))?;
    let worst = lines.iter().map(|l| health_severity(l.state)).max().unwrap_or(Severity::Ok);
    if json {
        let doc = serde_json::json!({
            "schema": "warroom.probe/1",
            "generated_at": engine.now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "exit_code": worst.exit_code(),
            "systems": lines,
        });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        print!("{}", render_round(&engine, &lines));
    }
    engine.close().await;
    Ok(ExitCode::from(worst.exit_code()))
}

fn render_round(engine: &Engine, lines: &[ProbeLine]) -> String {
    let mut out = String::new();
    let width = lines.iter().map(|l| l.name.len()).max().unwrap_or(4).max(4);
    for l in lines {
        let _ = writeln!(
            out,
            "{:<width$}  {} {:<8}  {:>6}ms  {}  ({})",
            l.name,
            l.state.symbol(),
            l.state.word(),
            l.latency_ms,
            l.detail,
            l.probe
        );
    }
    let unchecked: Vec<&str> = engine
        .config()
        .estate
        .systems()
        .iter()
        .zip(&engine.config().systems)
        .filter(|(_, s)| s.health.is_none())
        .map(|(s, _)| s.name.as_str())
        .collect();
    if lines.is_empty() {
        out.push_str(
            "no system has a health check: add [systems.health] to the systems in the configuration\n",
        );
    } else if !unchecked.is_empty() && unchecked.len() < 20 {
        let _ = writeln!(out, "no health check: {}", unchecked.join(", "));
    }
    out
}

pub async fn watch(config: Option<PathBuf>, json: bool) -> Result<ExitCode, CliError> {
    let (engine, _log) = open_engine(config, 1).await?;
    let monitor = engine.start_monitor().map_err(|e| CliError::message(e, 1))?;
    let checked = engine.config().systems.iter().filter(|s| s.health.is_some()).count();
    let tells = !engine.config().notify.contacts.is_empty();
    if checked == 0 && !tells {
        return Err(CliError::message("no system has a health check: there is nothing to watch", 1));
    }
    if !json {
        let systems = if checked == 1 { "1 system".to_owned() } else { format!("{checked} systems") };
        println!(
            "watching {systems}{}; a line per health or verdict change (ctrl-c stops)",
            if tells { " and the stakeholder cadence" } else { "" }
        );
    }
    let mut events = monitor.subscribe();
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| CliError::message(e.to_string(), 1))?;
    let mut comms_tick = tokio::time::interval(std::time::Duration::from_secs(5));
    let mut cadence = CadenceWatch::default();
    loop {
        let event = tokio::select! {
            e = events.recv() => e,
            _ = comms_tick.tick() => {
                match engine.current_comms().await {
                    Ok(status) => {
                        if let Some(line) = cadence.look(status.as_ref(), engine.now(), json) {
                            println!("{line}");
                        }
                    }
                    Err(e) => eprintln!("warning: the incident's notices cannot be read: {e}"),
                }
                continue;
            }
            _ = tokio::signal::ctrl_c() => break,
            _ = sigterm.recv() => break,
        };
        let event = match event {
            Ok(e) => e,
            Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                eprintln!("warning: {n} events were dropped (the output is too slow)");
                continue;
            }
            Err(_) => break,
        };
        if !matches!(event, MonitorEvent::Health { .. }) {
            engine.record_monitor_event(&event).await;
        }
        let line = match (&event, json) {
            (MonitorEvent::Health { .. }, _) => continue,
            (_, true) => serde_json::to_string(&event).unwrap_or_default(),
            (MonitorEvent::Transition { name, from, to, at, detail, .. }, false) => format!(
                "{}  {name}  {} {} -> {} {}{}",
                at.format("%Y-%m-%dT%H:%M:%SZ"),
                from.symbol(),
                from.word(),
                to.symbol(),
                to.word(),
                detail.as_deref().map(|d| format!("  ({d})")).unwrap_or_default()
            ),
            (MonitorEvent::Verdict { name, from, to, at, decision, .. }, false) => format!(
                "{}  {name}  verdict {from} -> {}{}",
                at.format("%Y-%m-%dT%H:%M:%SZ"),
                to.words().to_uppercase(),
                reasons(decision)
            ),
        };
        println!("{line}");
    }
    drop(monitor);
    engine.close().await;
    Ok(ExitCode::SUCCESS)
}

/// What `watch` last said about the stakeholder cadence: a line when a notice is due next, and
/// when it is overdue (again every five minutes while it stays so).
#[derive(Default)]
struct CadenceWatch {
    announced: Option<(String, crate::model::comms::Stage, chrono::DateTime<chrono::Utc>)>,
    due_said: bool,
    overdue_said: Option<chrono::DateTime<chrono::Utc>>,
}

impl CadenceWatch {
    fn look(
        &mut self,
        status: Option<&crate::engine::comms::CommsStatus>,
        now: chrono::DateTime<chrono::Utc>,
        json: bool,
    ) -> Option<String> {
        let status = status?;
        let due = status.next?;
        let key = (status.incident.clone(), due.stage, due.at);
        let at = now.format("%Y-%m-%dT%H:%M:%SZ");
        if self.announced.as_ref() != Some(&key) {
            self.announced = Some(key);
            self.due_said = false;
            self.overdue_said = None;
            if !due.due(now) {
                return Some(if json {
                    serde_json::json!({"event": "notice_due", "incident": status.incident, "stage": due.stage, "due_at": due.at.to_rfc3339()}).to_string()
                } else {
                    format!(
                        "{at}  {}  next: {} due at {} (in {})",
                        status.incident,
                        due.stage.title(),
                        due.at.format("%H:%M UTC"),
                        crate::model::duration::clock(due.left(now))
                    )
                });
            }
        }
        if due.due(now) && !due.overdue(now) && !self.due_said {
            self.due_said = true;
            return Some(if json {
                serde_json::json!({"event": "notice_due_now", "incident": status.incident, "stage": due.stage, "due_at": due.at.to_rfc3339(), "late_after": due.late_after.to_rfc3339()}).to_string()
            } else {
                format!(
                    "{at}  {}  the {} is due now (late after {}): `warroom notify send`",
                    status.incident,
                    due.stage.title(),
                    due.late_after.format("%H:%M UTC")
                )
            });
        }
        let again = self.overdue_said.is_none_or(|t| now - t >= chrono::Duration::minutes(5));
        if due.overdue(now) && again {
            self.overdue_said = Some(now);
            return Some(if json {
                serde_json::json!({"event": "notice_overdue", "incident": status.incident, "stage": due.stage, "due_at": due.at.to_rfc3339(), "overdue_seconds": -due.seconds_left(now)}).to_string()
            } else {
                format!(
                    "{at}  {}  ✖ UPDATE OVERDUE: the {} was due at {} ({} ago): `warroom notify send`",
                    status.incident,
                    due.stage.title(),
                    due.at.format("%H:%M UTC"),
                    crate::model::duration::clock(due.past_due(now))
                )
            });
        }
        None
    }
}

/// `  (score 7: availability 41% < 95% +3, p95 response 6.2s > 5.0s +2)`
pub fn reasons(d: &Decision) -> String {
    format!("  ({})", d.summary())
}
