//! Incidents: declared for a set of systems, recovered through a plan, closed, reported. The
//! timeline is read from what was recorded anyway (the audit log, the health events), so it is
//! complete without anyone writing it.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use super::Engine;
use crate::engine::EngineError;
use crate::engine::access::WriteError;
use crate::model::duration::human;
use crate::model::failover::IncidentRecord;
use crate::model::failover::{IncidentKind, Severity};
use crate::store::{NewAuditRecord, Outcome};

/// One line of an incident's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    /// `health`, `verdict`, or the audit action (`failover.step`, `incident.note`...).
    pub kind: String,
    pub system: Option<String>,
    pub who: Option<String>,
    pub text: String,
}

/// RTO and RPO achieved for one system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Achieved {
    pub system: String,
    pub outage_start: DateTime<Utc>,
    pub recovered_at: Option<DateTime<Utc>>,
    pub rto_objective_secs: u64,
    pub rto_achieved_secs: Option<u64>,
    pub rto_met: Option<bool>,
    pub rpo_objective_secs: u64,
    /// Outage start minus the point the data was recovered to.
    pub rpo_achieved_secs: Option<u64>,
    pub rpo_met: Option<bool>,
    /// How the recovery point was known.
    pub rpo_basis: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub id: String,
    pub kind: String,
    pub severity: String,
    pub systems: Vec<String>,
    pub declared_by: String,
    pub declared_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_by: Option<String>,
    pub summary: Option<String>,
    pub duration_secs: u64,
    pub achieved: Vec<Achieved>,
    /// Approvals: what, by whom, how.
    pub approvals: Vec<TimelineEntry>,
    /// What failed.
    pub failures: Vec<TimelineEntry>,
    /// Stakeholder notices: each stage, when it was due and sent, and each one's deliveries.
    pub communications: Vec<NoticeLine>,
    /// "cadence kept: 5 of 6 on time".
    pub cadence: crate::model::comms::CadenceKept,
    pub timeline: Vec<TimelineEntry>,
}

/// One notice in the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoticeLine {
    pub notice: String,
    pub stage: crate::model::comms::Stage,
    pub due_at: DateTime<Utc>,
    pub sent_at: DateTime<Utc>,
    pub on_time: bool,
    pub delivered: usize,
    pub messages: usize,
    pub failed: usize,
}

fn new_incident_id(at: DateTime<Utc>) -> String {
    let mut bytes = [0u8; 2];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = f.read_exact(&mut bytes);
    }
    format!("INC-{}-{:02x}{:02x}", at.format("%y%m%d-%H%M"), bytes[0], bytes[1])
}

impl Engine {
    /// Keep what the health monitor saw, for timelines and outage starts: transitions and
    /// verdict changes. A verdict of failover recommended puts a Normal system in Alert.
    pub async fn record_monitor_event(&self, event: &super::monitor::MonitorEvent) {
        use super::failover::StateChange;
        use super::monitor::MonitorEvent;
        use crate::model::failover::FailoverState;
        use crate::model::health::HealthEvent;
        let e = match event {
            MonitorEvent::Transition { name, from, to, at, detail, .. } => HealthEvent {
                at: *at,
                system: name.clone(),
                kind: "transition".into(),
                from: Some(from.word().to_lowercase()),
                to: Some(to.word().to_lowercase()),
                detail: detail.clone(),
            },
            MonitorEvent::Verdict { name, from, to, at, decision, .. } => {
                let state = match self.failover_state(name).await {
                    Ok((state, _)) => Some(state),
                    Err(e) => {
                        // Nothing is changed on a guess; the verdict is still recorded.
                        tracing::warn!(system = %name, error = %e, "cannot read the failover state for a verdict");
                        None
                    }
                };
                match (to.is_action(), state) {
                    (true, Some(FailoverState::Normal)) => self
                        .set_failover_state(
                            name,
                            StateChange::to(FailoverState::Alert).detail(decision.summary()),
                            "warroom",
                        )
                        .await
                        .unwrap_or_else(
                            |e| tracing::warn!(system = %name, error = %e, "cannot record a failover state"),
                        ),
                    (false, Some(FailoverState::Alert)) => self
                        .set_failover_state(
                            name,
                            StateChange::to(FailoverState::Normal).detail(format!("verdict {to}")),
                            "warroom",
                        )
                        .await
                        .unwrap_or_else(
                            |e| tracing::warn!(system = %name, error = %e, "cannot record a failover state"),
                        ),
                    _ => {}
                }
                HealthEvent {
                    at: *at,
                    system: name.clone(),
                    kind: "verdict".into(),
                    from: Some(
                        serde_json::to_value(from)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_default(),
                    ),
                    to: Some(
                        serde_json::to_value(to)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_default(),
                    ),
                    detail: Some(decision.summary()),
                }
            }
            MonitorEvent::Health { .. } => return,
        };
        if let Err(err) = self.store.record_health_event(&e).await {
            tracing::warn!(error = %err, "could not record a health event");
        }
    }

    /// The affected systems of an incident: at least one, each in the estate.
    pub fn check_affected(&self, systems: &[String]) -> Result<(), String> {
        if systems.is_empty() {
            return Err("name the affected systems: --systems database,api".into());
        }
        for s in systems {
            if self.config.estate.index_of(s).is_none() {
                return Err(self.no_such_system(s));
            }
        }
        Ok(())
    }

    /// Declare an incident for `systems`; audited. Returns it (the caller proposes the plan).
    pub async fn declare_incident(
        &self,
        kind: IncidentKind,
        severity: Severity,
        systems: &[String],
        operator: &str,
    ) -> Result<IncidentRecord, WriteError> {
        self.check_affected(systems).map_err(WriteError::Input)?;
        self.permit_write(operator, "declaring an incident", "incident.declared", "-").await?;
        if self.config.console.read_only {
            let _ =
                self.audit(NewAuditRecord::new(operator, "incident.declared", "-", Outcome::Refused)).await;
            return Err(WriteError::Refused(crate::engine::jobs::Refusal::ReadOnly));
        }
        let now = self.now();
        let row = IncidentRecord {
            id: new_incident_id(now),
            kind: kind.name().to_owned(),
            severity: severity.to_string(),
            systems: systems.to_vec(),
            declared_by: operator.to_owned(),
            declared_at: now,
            plan_job: None,
            closed_by: None,
            closed_at: None,
            summary: None,
        };
        let failed = |e: crate::store::StoreError| WriteError::Failed(e.to_string());
        self.store.insert_incident(&row).await.map_err(failed)?;
        self.audit(NewAuditRecord::new(operator, "incident.declared", &row.id, Outcome::Recorded).details(
            serde_json::json!({
                "type": row.kind, "severity": row.severity, "systems": row.systems,
            }),
        ))
        .await
        .map_err(|e| WriteError::Failed(e.to_string()))?;
        Ok(row)
    }

    pub async fn incidents(&self) -> Result<Vec<IncidentRecord>, EngineError> {
        Ok(self.store.incidents().await?)
    }

    /// The open incident, if there is one (an unreadable state is an error, never "none").
    pub async fn open_incident(&self) -> Result<Option<IncidentRecord>, EngineError> {
        Ok(self.incidents().await?.into_iter().find(|i| i.closed_at.is_none()))
    }

    /// An incident by id (or the start of one), or the open one when `id` is `None`.
    pub async fn incident(&self, id: Option<&str>) -> Result<IncidentRecord, String> {
        let all = self.incidents().await.map_err(|e| e.to_string())?;
        match id {
            Some(id) => {
                let found: Vec<&IncidentRecord> =
                    all.iter().filter(|i| i.id == id || i.id.starts_with(id)).collect();
                match found.as_slice() {
                    [one] => Ok((*one).clone()),
                    [] => Err(format!("there is no incident \"{id}\" (see `warroom incident list`)")),
                    _ => Err(format!("\"{id}\" matches several incidents; give more of the id")),
                }
            }
            None => all.into_iter().find(|i| i.closed_at.is_none()).ok_or_else(|| {
                "there is no open incident; name one (see `warroom incident list`)".to_owned()
            }),
        }
    }

    pub async fn link_incident_plan(&self, incident: &str, job: &str) {
        let _ = self.store.set_incident_plan(incident, job).await;
    }

    pub async fn incident_note(&self, incident: &str, text: &str, operator: &str) -> Result<(), WriteError> {
        let i = self.incident(Some(incident)).await.map_err(WriteError::Input)?;
        self.permit_write(operator, "a note on an incident", "incident.note", &i.id).await?;
        self.audit(
            NewAuditRecord::new(operator, "incident.note", &i.id, Outcome::Recorded)
                .details(serde_json::json!({ "note": text })),
        )
        .await
        .map(|_| ())
        .map_err(|e| WriteError::Failed(e.to_string()))
    }

    pub async fn close_incident(
        &self,
        incident: &str,
        summary: Option<&str>,
        operator: &str,
    ) -> Result<String, WriteError> {
        let i = self.incident(Some(incident)).await.map_err(WriteError::Input)?;
        self.permit_write(operator, "closing an incident", "incident.closed", &i.id).await?;
        if !self
            .store
            .close_incident(&i.id, operator, self.now(), summary)
            .await
            .map_err(|e| WriteError::Failed(e.to_string()))?
        {
            return Err(WriteError::Input(format!("{} is already closed", i.id)));
        }
        let _ = self
            .audit(
                NewAuditRecord::new(operator, "incident.closed", &i.id, Outcome::Recorded)
                    .details(serde_json::json!({ "summary": summary })),
            )
            .await;
        Ok(i.id)
    }

    /// Everything that happened to the incident's systems, from the first outage (or the
    /// declaration) to its close (or now), oldest first.
    pub async fn timeline(&self, incident: &IncidentRecord) -> Result<Vec<TimelineEntry>, EngineError> {
        let end = incident.closed_at.unwrap_or_else(|| self.now());
        let mut start = incident.declared_at - chrono::TimeDelta::hours(1);
        for s in &incident.systems {
            if let Some(t) = self.store.outage_start(s).await? {
                start = start.min(t);
            }
        }
        let mut out = Vec::new();
        for e in self.store.health_events(start, end).await? {
            if !incident.systems.contains(&e.system) {
                continue;
            }
            let text = match (e.kind.as_str(), &e.from, &e.to) {
                ("verdict", _, Some(to)) => format!("verdict: {}", to.replace('_', " ")),
                (_, Some(from), Some(to)) => format!("{from} → {to}"),
                _ => e.kind.clone(),
            };
            let text = match &e.detail {
                Some(d) if !d.is_empty() => format!("{text} ({d})"),
                _ => text,
            };
            out.push(TimelineEntry {
                at: e.at,
                kind: e.kind.clone(),
                system: Some(e.system.clone()),
                who: None,
                text,
            });
        }
        let jobs_of: Vec<String> = incident.plan_job.iter().cloned().collect();
        for r in self.audit_records(None).await? {
            let Some(at) = r.time() else { continue };
            if at < incident.declared_at - chrono::TimeDelta::minutes(1) || at > end {
                continue;
            }
            let details: serde_json::Value = serde_json::from_str(&r.details).unwrap_or_default();
            let job = details.get("job").and_then(|j| j.as_str()).map(str::to_owned);
            let relevant = r.target == incident.id
                || incident.systems.contains(&r.target)
                || job.as_ref().is_some_and(|j| jobs_of.contains(j));
            if !relevant || r.action == "config.changed" {
                continue;
            }
            out.push(TimelineEntry {
                at,
                kind: r.action.clone(),
                system: incident.systems.contains(&r.target).then(|| r.target.clone()),
                who: Some(r.operator.clone()),
                text: describe(&r.action, &r.outcome, &details),
            });
        }
        out.sort_by_key(|e| e.at);
        Ok(out)
    }

    /// The post-incident report.
    /// The post-incident report, written as Markdown to `state_dir/reports/<id>.md`.
    pub async fn write_report(&self, incident: &IncidentRecord) -> Result<std::path::PathBuf, String> {
        let report = self.report(incident).await?;
        let dir = self.state_dir().join("reports");
        let path = dir.join(format!("{}.md", incident.id));
        crate::store::create_private_dir(&dir)?;
        std::fs::write(&path, report_markdown(&report))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(path)
    }

    pub async fn report(&self, incident: &IncidentRecord) -> Result<Report, String> {
        let timeline = self.timeline(incident).await.map_err(|e| e.to_string())?;
        let end = incident.closed_at.unwrap_or_else(|| self.now());
        let backups = self.backups(None).await?;
        // The replicated points failovers recorded: read once for every system of the report.
        let replicated: Vec<_> = self
            .audit_records(None)
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|r| r.action == "failover.replicated")
            .collect();
        let mut achieved = Vec::new();
        for name in &incident.systems {
            let Some(system) = self.config.estate.system(name) else { continue };
            // The outage began with the last fall before the declaration, else at it.
            let outage_start = timeline
                .iter()
                .filter(|e| e.kind == "transition" && e.system.as_deref() == Some(name))
                .filter(|e| e.text.contains("→ down") || e.text.contains("→ degraded"))
                .filter(|e| e.at <= incident.declared_at)
                .map(|e| e.at)
                .next_back()
                .unwrap_or(incident.declared_at);
            let recovered = timeline.iter().find(|e| {
                e.system.as_deref() == Some(name)
                    && e.at >= outage_start
                    && (e.kind == "failover.validated"
                        || (e.kind == "restore.finished" && e.text.starts_with("succeeded")))
            });
            let recovered_at = recovered.map(|e| e.at);
            let rto = recovered_at.map(|t| (t - outage_start).to_std().unwrap_or_default());
            // The recovery point: the backup restored, or the replica's, else the newest
            // verified backup before the outage (an upper bound on what was lost).
            // A failover's replicated point: the standby's lag read before its first step.
            let by_replication = match recovered {
                Some(e) if e.kind == "failover.validated" => {
                    replication_point(&replicated, name, outage_start, end)
                }
                _ => None,
            };
            let (point, basis) = match recovered {
                Some(_) if by_replication.is_some() => {
                    let (point, lag) = by_replication.unwrap_or_default();
                    (
                        Some(point),
                        format!(
                            "by replication: the standby was {} behind when the failover began",
                            human(lag)
                        ),
                    )
                }
                Some(e) if e.kind == "restore.finished" => {
                    let id = e
                        .text
                        .split_whitespace()
                        .find(|w| w.len() > 16 && w.contains('T'))
                        .unwrap_or_default();
                    match backups.iter().find(|b| b.manifest.id == id) {
                        Some(b) => (Some(b.manifest.started_at), format!("restored backup {id}")),
                        None => (None, "the restored backup is no longer listed".to_owned()),
                    }
                }
                Some(_) => {
                    match self.replicated_point(name, outage_start, end).await.map_err(|e| e.to_string())? {
                        Some(t) => (Some(t), "replicated point reported by the failover".to_owned()),
                        None => {
                            let newest = backups
                                .iter()
                                .filter(|b| &b.manifest.system == name && b.verified_at().is_some())
                                .map(|b| b.manifest.started_at)
                                .filter(|t| *t <= outage_start)
                                .max();
                            (newest, "at most: the newest verified backup (the failover reported no replicated point)".to_owned())
                        }
                    }
                }
                None => (None, "not recovered".to_owned()),
            };
            // By replication, what was lost is the lag the failover cut the standby off at;
            // otherwise, what was written between the recovery point and the outage.
            let rpo = match by_replication {
                Some((_, lag)) => Some(lag),
                None => point.map(|p| (outage_start - p).to_std().unwrap_or_default()),
            };
            achieved.push(Achieved {
                system: name.clone(),
                outage_start,
                recovered_at,
                rto_objective_secs: system.objective.rto.as_secs(),
                rto_achieved_secs: rto.map(|d| d.as_secs()),
                rto_met: rto.map(|d| d <= system.objective.rto),
                rpo_objective_secs: system.objective.rpo.as_secs(),
                rpo_achieved_secs: rpo.map(|d| d.as_secs()),
                rpo_met: rpo.map(|d| d <= system.objective.rpo),
                rpo_basis: basis,
            });
        }
        let approvals = timeline.iter().filter(|e| e.kind.ends_with(".approved")).cloned().collect();
        let failures = timeline
            .iter()
            .filter(|e| {
                e.text.starts_with("failed") || e.text.contains("FAILED") || e.kind.ends_with(".interrupted")
            })
            .cloned()
            .collect();
        let notices = self.notices(&incident.id).await.map_err(|e| e.to_string())?;
        let outbox = self.outbox(Some(&incident.id)).await.map_err(|e| e.to_string())?;
        let cadence = self.config.notify.cadence;
        let grace = chrono::Duration::from_std(cadence.on_time_within).unwrap_or_default();
        let communications = notices
            .iter()
            .map(|n| {
                let rows: Vec<_> =
                    outbox.iter().filter(|r| r.notice == n.id && r.fallback_of.is_none()).collect();
                NoticeLine {
                    notice: n.id.clone(),
                    stage: n.stage,
                    due_at: n.due_at,
                    sent_at: n.sent_at,
                    on_time: n.sent_at <= n.due_at + grace,
                    delivered: outbox.iter().filter(|r| r.notice == n.id && r.state.delivered()).count(),
                    messages: rows.len(),
                    failed: outbox
                        .iter()
                        .filter(|r| {
                            r.notice == n.id && r.state == crate::model::comms::DeliveryState::FailedPermanent
                        })
                        .count(),
                }
            })
            .collect();
        let sent: Vec<_> = notices.iter().map(|n| n.sent()).collect();
        let cadence = cadence.kept(incident.declared_at, incident.closed_at, &sent, self.now());
        Ok(Report {
            communications,
            cadence,
            id: incident.id.clone(),
            kind: incident.kind.clone(),
            severity: incident.severity.clone(),
            systems: incident.systems.clone(),
            declared_by: incident.declared_by.clone(),
            declared_at: incident.declared_at,
            closed_at: incident.closed_at,
            closed_by: incident.closed_by.clone(),
            summary: incident.summary.clone(),
            duration_secs: (end - incident.declared_at).num_seconds().max(0) as u64,
            achieved,
            approvals,
            failures,
            timeline,
        })
    }

    /// The replicated point a failover's steps printed (`WARROOM_REPLICATED_AT=...`).
    async fn replicated_point(
        &self,
        system: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, EngineError> {
        let jobs = self.jobs.list(500).await?;
        Ok(jobs
            .iter()
            .filter(|j| j.target == system && j.kind == crate::engine::jobs::JobKind::Failover)
            .filter(|j| j.started_at.is_some_and(|t| t >= from && t <= to))
            .flat_map(|j| j.log.iter())
            .filter_map(|l| l.split(super::failover::REPLICATED_AT).nth(1))
            .filter_map(|t| DateTime::parse_from_rfc3339(t.trim()).ok())
            .map(|t| t.with_timezone(&Utc))
            .max())
    }
}

/// The replicated point a failover of `system` recorded before its first step
/// (`failover.replicated`, among `records`) in `[from, to]`, and the lag it was read at: the
/// newest.
fn replication_point(
    records: &[crate::model::audit::AuditRecord],
    system: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Option<(DateTime<Utc>, Duration)> {
    records
        .iter()
        .filter(|r| r.action == "failover.replicated" && r.target == system && r.outcome == "recorded")
        .filter(|r| r.time().is_some_and(|t| t >= from && t <= to))
        .filter_map(|r| {
            let d: serde_json::Value = serde_json::from_str(&r.details).ok()?;
            let point = DateTime::parse_from_rfc3339(d["replicated_at"].as_str()?).ok()?;
            Some((point.with_timezone(&Utc), Duration::from_millis(d["lag_ms"].as_u64()?)))
        })
        .next_back()
}

/// A timeline line from an audit record.
fn describe(action: &str, outcome: &str, d: &serde_json::Value) -> String {
    let s = |k: &str| d.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
    match action {
        "failover.step" => {
            let err = s("error");
            if err.is_empty() {
                format!("{outcome}: {} {}", s("step"), s("name"))
            } else {
                format!("{outcome}: {} {}: {err}", s("step"), s("name"))
            }
        }
        "failover.state" => format!("state {} → {}{}", s("from"), s("to"), {
            let detail = s("detail");
            if detail.is_empty() { String::new() } else { format!(" ({detail})") }
        }),
        "incident.note" => format!("note: {}", s("note")),
        "failover.replicated" => match d.get("lag_ms").and_then(|v| v.as_u64()) {
            Some(ms) => format!(
                "the standby was {} behind before the first step (replicated point {})",
                human(Duration::from_millis(ms)),
                s("replicated_at")
            ),
            None => format!("the standby's lag could not be read before the first step: {}", s("error")),
        },
        "incident.declared" => format!("declared: {} {}", s("type"), s("severity")),
        a if a.ends_with(".approved") => format!("{outcome} ({})", s("how")),
        a if a.ends_with(".finished") => format!("{outcome}: {}", s("outcome")),
        a if a.ends_with(".interrupted") => format!("INTERRUPTED: {}", s("outcome")),
        a if a.ends_with(".proposed") => {
            let title =
                d.get("plan").and_then(|p| p.get("title")).and_then(|t| t.as_str()).unwrap_or_default();
            format!("proposed: {title}")
        }
        _ => outcome.to_owned(),
    }
}

/// The report as Markdown.
pub fn report_markdown(r: &Report) -> String {
    let t = |d: DateTime<Utc>| d.to_rfc3339_opts(SecondsFormat::Secs, true);
    let secs = |s: Option<u64>| s.map(|s| human(Duration::from_secs(s))).unwrap_or_else(|| "—".into());
    let met = |m: Option<bool>| match m {
        Some(true) => "✔ met",
        Some(false) => "✖ missed",
        None => "—",
    };
    let mut out = format!("# Incident {} — {} {}\n\n", r.id, r.kind, r.severity);
    out.push_str(&format!(
        "Declared {} by {}; {}. Systems: {}.\n\n",
        t(r.declared_at),
        r.declared_by,
        match (&r.closed_at, &r.closed_by) {
            (Some(at), Some(by)) =>
                format!("closed {} by {by} after {}", t(*at), secs(Some(r.duration_secs))),
            _ => format!("open for {}", secs(Some(r.duration_secs))),
        },
        r.systems.join(", ")
    ));
    if let Some(s) = &r.summary {
        out.push_str(&format!("**Summary.** {s}\n\n"));
    }
    out.push_str("## Recovery against objectives\n\n");
    out.push_str("| system | outage start | recovered | RTO achieved / objective | | RPO achieved / objective | | RPO basis |\n");
    out.push_str("|---|---|---|---|---|---|---|---|\n");
    for a in &r.achieved {
        out.push_str(&format!(
            "| {} | {} | {} | {} / {} | {} | {} / {} | {} | {} |\n",
            a.system,
            t(a.outage_start),
            a.recovered_at.map(t).unwrap_or_else(|| "not recovered".into()),
            secs(a.rto_achieved_secs),
            secs(Some(a.rto_objective_secs)),
            met(a.rto_met),
            secs(a.rpo_achieved_secs),
            secs(Some(a.rpo_objective_secs)),
            met(a.rpo_met),
            a.rpo_basis
        ));
    }
    out.push_str("\n## Actions and approvals\n\n");
    if r.approvals.is_empty() {
        out.push_str("None.\n");
    }
    for e in &r.approvals {
        out.push_str(&format!(
            "- {} `{}` {} by {}: {}\n",
            t(e.at),
            e.kind,
            e.system.as_deref().unwrap_or(""),
            e.who.as_deref().unwrap_or("?"),
            e.text
        ));
    }
    out.push_str("\n## What failed\n\n");
    if r.failures.is_empty() {
        out.push_str("Nothing.\n");
    }
    for e in &r.failures {
        out.push_str(&format!(
            "- {} `{}` {}: {}\n",
            t(e.at),
            e.kind,
            e.system.as_deref().unwrap_or(""),
            e.text
        ));
    }
    out.push_str(&format!("\n## Stakeholder communications\n\n{}.\n\n", r.cadence));
    if r.communications.is_empty() {
        out.push_str("No notice was sent.\n");
    } else {
        out.push_str("| notice | due | sent | | delivered |\n|---|---|---|---|---|\n");
    }
    for n in &r.communications {
        out.push_str(&format!(
            "| {} ({}) | {} | {} | {} | {} of {}{} |\n",
            n.notice,
            n.stage.title(),
            t(n.due_at),
            t(n.sent_at),
            if n.on_time { "✔ on time" } else { "✖ late" },
            n.delivered,
            n.messages,
            if n.failed > 0 { format!(", {} refused", n.failed) } else { String::new() }
        ));
    }
    out.push_str("\n## Timeline\n\n");
    for e in &r.timeline {
        out.push_str(&format!(
            "- {} {} `{}`{} {}\n",
            t(e.at),
            e.system.as_deref().unwrap_or("-"),
            e.kind,
            e.who.as_deref().map(|w| format!(" ({w})")).unwrap_or_default(),
            e.text
        ));
    }
    out
}
