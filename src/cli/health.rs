//! `warroom probe` (one round of probes) and `warroom watch` (a live feed of changes).

use std::fmt::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use serde::Serialize;

use super::{CliError, open_engine};
use crate::engine::Engine;
use crate::engine::monitor::MonitorEvent;
use crate::engine::probe::ProbeResult;
use crate::model::decision::{confirmed_by, defer_to_root};
use crate::model::{
    Decision, HealthState, HealthTracker, HealthWindow, Outcome, Sample, Severity, Thresholds, WindowStats,
    decide, impacted_by,
};

/// One system after one probe: what the probe found, nothing more. A verdict needs the
/// window and the state machine's run of probes: see [`assess`].
#[derive(Debug, Clone, Serialize)]
pub struct ProbeLine {
    pub name: String,
    pub probe: String,
    pub state: HealthState,
    pub outcome: Outcome,
    pub latency_ms: u64,
    pub detail: String,
}

/// One system after a short run of probe rounds, judged as the monitor would judge it.
#[derive(Debug, Clone, Serialize)]
pub struct HealthLine {
    pub name: String,
    pub probe: String,
    /// The state machine's state after the rounds (`unknown` if it did not settle).
    pub state: HealthState,
    pub probes: u32,
    pub stats: WindowStats,
    pub decision: Decision,
    pub impacted_by: Option<String>,
    /// The last probe's outcome and detail.
    pub outcome: Outcome,
    pub latency_ms: u64,
    pub detail: String,
}

pub fn health_severity(state: HealthState) -> Severity {
    match state {
        HealthState::Down => Severity::Critical,
        HealthState::Degraded => Severity::Warning,
        HealthState::Healthy | HealthState::Unknown => Severity::Ok,
    }
}

/// One round of probes, each judged on its own.
pub async fn one_round(engine: &Engine, only: Option<usize>) -> Result<Vec<ProbeLine>, CliError> {
    let results = engine.probe_once(only).await.map_err(|e| CliError::message(e, 3))?;
    let config = engine.config();
    let now = engine.now();
    Ok(results
        .into_iter()
        .filter_map(|(i, r): (usize, ProbeResult)| {
            let system = config.estate.systems().get(i)?;
            let settings = config.systems.get(i)?;
            let sample = Sample { at: now, outcome: r.outcome, latency: r.latency, excused: false };
            Some(ProbeLine {
                name: system.name.clone(),
                probe: settings.health.as_ref().map(|h| h.probe.describe()).unwrap_or_default(),
                state: HealthTracker::classify(&sample, settings.thresholds.response_time_above),
                outcome: r.outcome,
                latency_ms: r.latency.as_millis() as u64,
                detail: r.detail,
            })
        })
        .collect())
}

/// Enough rounds of probes, `gap` apart, for the state machine to settle (the configured
/// `consecutive`), each system judged as the monitor would: its state with hysteresis, its
/// window's decision confirmed by that state, and the down dependency it defers to.
pub async fn assess(engine: &Engine, gap: Duration) -> Result<Vec<HealthLine>, CliError> {
    let config = engine.config();
    let rounds = config.health.consecutive.max(1);
    let systems = config.estate.systems();
    let mut trackers: Vec<HealthTracker> =
        systems.iter().map(|_| HealthTracker::new(config.health.consecutive)).collect();
    let mut windows: Vec<HealthWindow> =
        systems.iter().map(|_| HealthWindow::new(config.health.window, rounds as usize)).collect();
    let mut last: Vec<Option<ProbeResult>> = systems.iter().map(|_| None).collect();
    for round in 0..rounds {
        if round > 0 {
            tokio::time::sleep(gap).await;
        }
        let now = engine.now();
        for (i, r) in engine.probe_once(None).await.map_err(|e| CliError::message(e, 3))? {
            let (Some(settings), Some(tracker), Some(window)) =
                (config.systems.get(i), trackers.get_mut(i), windows.get_mut(i))
            else {
                continue;
            };
            let sample = Sample { at: now, outcome: r.outcome, latency: r.latency, excused: false };
            tracker.observe(&sample, settings.thresholds.response_time_above);
            window.push(sample);
            if let Some(l) = last.get_mut(i) {
                *l = Some(r);
            }
        }
    }
    let now = engine.now();
    let states: Vec<HealthState> = trackers.iter().map(|t| t.state).collect();
    let impacted = impacted_by(config.estate.graph(), &states);
    Ok(systems
        .iter()
        .enumerate()
        .filter_map(|(i, system)| {
            let settings = config.systems.get(i)?;
            let r = last.get(i)?.clone()?;
            let stats = windows.get(i)?.stats(now);
            // A short run: every probe of it counts, however few the thresholds ask for.
            let thresholds = Thresholds { min_probes: 1, ..settings.thresholds };
            let decision = confirmed_by(decide(&stats, &thresholds, settings.failover.is_some()), states[i]);
            let cause = impacted.get(i).copied().flatten();
            Some(HealthLine {
                name: system.name.clone(),
                probe: settings.health.as_ref().map(|h| h.probe.describe()).unwrap_or_default(),
                state: states[i],
                probes: stats.probes,
                stats,
                decision: if cause.is_some() { defer_to_root(decision) } else { decision },
                impacted_by: cause.map(|c| config.estate.graph().name(c).to_owned()),
                outcome: r.outcome,
                latency_ms: r.latency.as_millis() as u64,
                detail: r.detail,
            })
        })
        .collect())
}

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
                let names = engine.config().estate.systems().iter().map(|s| s.name.as_str());
                let hint = crate::config::diagnostic::did_you_mean(name, names)
                    .map(|s| format!("; did you mean \"{s}\"?"))
                    .unwrap_or_default();
                return Err(CliError::message(format!("there is no system \"{name}\"{hint}"), 3));
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
    let lines = one_round(&engine, only).await?;
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
    if checked == 0 {
        return Err(CliError::message("no system has a health check: there is nothing to watch", 1));
    }
    if !json {
        println!("watching {checked} systems; a line per health or verdict change (ctrl-c stops)");
    }
    let mut events = monitor.subscribe();
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| CliError::message(e.to_string(), 1))?;
    loop {
        let event = tokio::select! {
            e = events.recv() => e,
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

/// `  (score 7: availability 41% < 95% +3, p95 response 6.2s > 5.0s +2)`
pub fn reasons(d: &Decision) -> String {
    format!("  ({})", d.summary())
}
