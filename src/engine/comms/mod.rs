//! Crisis communications: compose a notice for an incident's stage (who gets it, on which
//! channel, the exact bytes), queue it in the outbox with its audit record, and deliver what
//! the outbox holds, retrying across restarts until each message is accepted or refused.
//!
//! ```text
//!  compose(stage, lists, message) ─► Composition (recipients per channel, rendered previews)
//!     └─► the gate (JobSpec::Notify; the plan lists every recipient) ─► work::notify
//!           queue_notice: notice + outbox rows + audit, one write ─► deliver rounds
//!  deliverer (console, `notify deliver`, the notify job): claim due rows (a lease)
//!     ─► channels::send ─► settle: sent + audit in one write | retry at backoff | permanent
//!                          | fall back to the contact's next channel
//! ```
//! - [`channels`]: SMTP (lettre, pooled), Twilio-compatible and template HTTP SMS, Slack /
//!   Teams / JSON webhooks, the file.
//! - [`deliver`]: the deliverer's rounds.

pub mod channels;
pub mod deliver;
pub mod statuspage;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Engine, EngineError};
use crate::config::notify::{Contact, Notify};
use crate::model::backup::when;
use crate::model::comms::{
    Audience, CadenceKept, Channel, DeliveryState, Due, NoticeRecord, OutboxHealth, OutboxRow, Segments,
    Stage, overrides_quiet_hours, sms_segments,
};
use crate::model::failover::IncidentRecord;
use crate::model::notice::{AffectedSystem, Compiled, IncidentFields, NoticeFields, Part};
use crate::store::{NewAuditRecord, Outcome};

/// One recipient of a notice on one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recipient {
    /// A contact's name, a webhook's name, or `file`.
    pub name: String,
    pub channel: Channel,
    pub address: String,
    pub audience: Audience,
    /// Not sent: their quiet hours, and the severity does not override them.
    pub quiet: bool,
    /// The channels to fall back to, in order.
    pub fallback: Vec<Channel>,
}

/// What one audience reads on one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rendered {
    pub audience: Audience,
    pub channel: Channel,
    pub subject: Option<String>,
    pub text: String,
    pub html: Option<String>,
    /// For SMS: the encoding and parts.
    pub segments: Option<Segments>,
}

impl Rendered {
    /// One line for the gate and the previews: `sms (internal) 183 characters · GSM-7 ·
    /// 2 segments: TEXT`, `email (external) subject: ...`, `chat (internal): FIRST LINE`.
    pub fn summary(&self) -> Option<String> {
        let who = self.audience.name();
        match (self.channel, self.segments) {
            (Channel::Sms, Some(s)) => Some(format!("sms ({who}) {s}: {}", self.text)),
            (Channel::Email, _) => {
                Some(format!("email ({who}) subject: {}", self.subject.as_deref().unwrap_or_default()))
            }
            (Channel::Chat, _) => {
                Some(format!("chat ({who}): {}", self.text.lines().next().unwrap_or_default()))
            }
            _ => None,
        }
    }
}

/// A notice ready for the gate: who gets what.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Composition {
    pub incident: String,
    pub notice: String,
    pub stage: Stage,
    pub seq: u32,
    pub lists: Vec<String>,
    pub message: String,
    pub due_at: DateTime<Utc>,
    pub next_update: Option<DateTime<Utc>>,
    pub recipients: Vec<Recipient>,
    pub rendered: Vec<Rendered>,
    /// What the status page says (when the notice goes to an external list).
    pub status_text: Option<String>,
    /// What the commander should know before approving (nobody on a list, a long SMS).
    pub warnings: Vec<String>,
}

impl Composition {
    /// Recipients per channel, quiet ones apart: `email 12, sms 3 (1 in quiet hours)`.
    pub fn counts(&self) -> BTreeMap<Channel, (usize, usize)> {
        let mut counts: BTreeMap<Channel, (usize, usize)> = BTreeMap::new();
        for r in &self.recipients {
            let c = counts.entry(r.channel).or_default();
            if r.quiet { c.1 += 1 } else { c.0 += 1 }
        }
        counts
    }

    /// The plan's lines for the gate: every recipient, per channel.
    pub fn plan_lines(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "{} for {} to {}{}",
            self.stage.title(),
            self.incident,
            self.lists.join(", "),
            if self.message.is_empty() { String::new() } else { format!(": \"{}\"", self.message) }
        )];
        for (channel, (n, quiet)) in self.counts() {
            let names: Vec<String> = self
                .recipients
                .iter()
                .filter(|r| r.channel == channel)
                .map(|r| {
                    if r.quiet {
                        format!("{} (quiet hours: not sent)", r.name)
                    } else {
                        format!("{} <{}>", r.name, r.address)
                    }
                })
                .collect();
            let quiet = if quiet > 0 { format!(", {quiet} in quiet hours") } else { String::new() };
            lines.push(format!("{channel} {n}{quiet}: {}", names.join(", ")));
        }
        lines.extend(self.rendered.iter().filter_map(Rendered::summary));
        lines.extend(self.warnings.iter().map(|w| format!("warning: {w}")));
        lines
    }
}

/// An incident's communications: what is due, what was sent, how the cadence went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CommsStatus {
    pub incident: String,
    pub next: Option<Due>,
    pub overdue: bool,
    pub kept: CadenceKept,
    pub notices: Vec<NoticeRecord>,
    pub outbox: Vec<OutboxRow>,
    pub health: OutboxHealth,
}

impl CommsStatus {
    /// Rows per state.
    pub fn tally(&self) -> BTreeMap<DeliveryState, usize> {
        let mut t = BTreeMap::new();
        for r in &self.outbox {
            *t.entry(r.state).or_default() += 1;
        }
        t
    }
}

fn hhmm(t: DateTime<Utc>) -> String {
    t.format("%H:%M UTC").to_string()
}

/// `00:23:10`, `-00:07:00`
pub fn clock(secs: i64) -> String {
    let sign = if secs < 0 { "-" } else { "" };
    let s = secs.unsigned_abs();
    format!("{sign}{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

impl Engine {
    fn notify_config(&self) -> &Notify {
        &self.config.notify
    }

    /// The compiled templates (checked at load, so compiling again cannot fail on them).
    fn templates(&self) -> Result<Compiled, String> {
        self.notify_config().templates.compile().map_err(|e| format!("template {e}"))
    }

    /// The notices of an incident, oldest first.
    pub async fn notices(&self, incident: &str) -> Result<Vec<NoticeRecord>, EngineError> {
        Ok(self.store.notices(Some(incident)).await?)
    }

    /// Outbox rows, newest first (of one incident, or all).
    pub async fn outbox(&self, incident: Option<&str>) -> Result<Vec<OutboxRow>, EngineError> {
        Ok(self.store.outbox(None, incident).await?)
    }

    /// What `incident` owes next and how its communications have gone.
    pub async fn comms_status(&self, incident: &IncidentRecord) -> Result<CommsStatus, EngineError> {
        let notices = self.notices(&incident.id).await?;
        let outbox = self.outbox(Some(&incident.id)).await?;
        let sent: Vec<_> = notices.iter().map(NoticeRecord::sent).collect();
        let cadence = self.notify_config().cadence;
        let now = self.now();
        let next = cadence.next_due(incident.declared_at, incident.closed_at, &sent);
        Ok(CommsStatus {
            incident: incident.id.clone(),
            overdue: next.is_some_and(|d| d.overdue(now)),
            next,
            kept: cadence.kept(incident.declared_at, incident.closed_at, &sent, now),
            health: OutboxHealth::of(outbox.iter().map(|r| r.state)),
            notices,
            outbox,
        })
    }

    /// The stage an incident owes now (or next), for a `notify send` that names none.
    pub async fn due_stage(&self, incident: &IncidentRecord) -> Result<Stage, String> {
        let s = self.comms_status(incident).await.map_err(|e| e.to_string())?;
        s.next.map(|d| d.stage).ok_or_else(|| {
            format!(
                "{} owes no more notices: its post-incident summary went out; name --stage to send another",
                incident.id
            )
        })
    }

    /// The fields templates see, for `incident` at `stage`.
    async fn notice_fields(
        &self,
        incident: &IncidentRecord,
        stage: Stage,
        message: &str,
        next_update: Option<DateTime<Utc>>,
    ) -> Result<NoticeFields, String> {
        let now = self.now();
        let states = self.failover_states().await.map_err(|e| e.to_string())?;
        // Read once for every affected system: the last health transition names its state.
        let events = self
            .store
            .health_events(now - chrono::Duration::days(30), now)
            .await
            .map_err(|e| e.to_string())?;
        let health_word = |system: &str| {
            events
                .iter()
                .rev()
                .find(|e| e.system == system && e.kind == "transition")
                .and_then(|e| e.to.clone())
                .unwrap_or_else(|| "affected".to_owned())
        };
        let mut systems = Vec::new();
        let mut least: Option<i64> = None;
        for name in &incident.systems {
            let Some(system) = self.config.estate.system(name) else { continue };
            let outage = self.store.outage_start(name).await.map_err(|e| e.to_string())?;
            let failover = states.iter().find(|s| &s.system == name).map(|s| s.state);
            let resolved = incident.closed_at.is_some();
            let state = match (failover, outage) {
                _ if resolved => "recovered".to_owned(),
                (Some(f), _)
                    if !matches!(
                        f,
                        crate::model::failover::FailoverState::Normal
                            | crate::model::failover::FailoverState::Alert
                    ) =>
                {
                    f.words().to_owned()
                }
                (_, Some(_)) => health_word(name),
                _ => "affected".to_owned(),
            };
            let rto_left = match (outage, resolved) {
                (Some(start), false) => {
                    let left = system.objective.rto.as_secs() as i64 - (now - start).num_seconds();
                    least = Some(least.map_or(left, |l: i64| l.min(left)));
                    Some(clock(left))
                }
                _ => None,
            };
            systems.push(AffectedSystem { name: name.clone(), tier: system.tier.number(), state, rto_left });
        }
        let public = self.notify_config().statuspage.as_ref().map(|p| &p.components);
        let mut components: Vec<String> = Vec::new();
        for name in incident.systems.iter().filter_map(|s| public.and_then(|p| p.get(s))) {
            if !components.contains(name) {
                components.push(name.clone());
            }
        }
        if components.is_empty() {
            components.push("some of our services".to_owned());
        }
        let impact = self.impacted_by(&incident.systems);
        let eta = self.plan_eta(incident).await?;
        Ok(NoticeFields {
            incident: IncidentFields {
                id: incident.id.clone(),
                kind: incident.kind.clone(),
                severity: incident.severity.clone(),
                declared_at: when(incident.declared_at),
                commander: incident.declared_by.clone(),
            },
            systems,
            components,
            impact,
            rto_left: least.map(clock),
            eta: eta.map(hhmm),
            stage: stage.name().to_owned(),
            stage_title: stage.title().to_owned(),
            audience: Audience::Internal.name().to_owned(),
            next_update: next_update.map(hhmm),
            message: message.to_owned(),
            sent_at: when(now),
        })
    }

    /// The systems that depend on `systems`, directly or through others (not those themselves).
    pub fn impacted_by(&self, systems: &[String]) -> Vec<String> {
        let mut impact: Vec<String> = Vec::new();
        loop {
            let more: Vec<String> = self
                .config
                .estate
                .systems()
                .iter()
                .filter(|s| !systems.contains(&s.name) && !impact.contains(&s.name))
                .filter(|s| s.depends_on.iter().any(|d| systems.contains(d) || impact.contains(d)))
                .map(|s| s.name.clone())
                .collect();
            if more.is_empty() {
                return impact;
            }
            impact.extend(more);
        }
    }

    /// When the incident's recovery plan expects to be done: its start plus the forecast.
    /// A plan's job that cannot be read is an error, never "no ETA".
    async fn plan_eta(&self, incident: &IncidentRecord) -> Result<Option<DateTime<Utc>>, String> {
        let Some(job) = incident.plan_job.as_deref() else { return Ok(None) };
        let snap =
            self.jobs.get(job).await.map_err(|e| format!("the recovery plan {job} cannot be read: {e}"))?;
        Ok(snap
            .filter(|s| !s.state.finished())
            .and_then(|s| s.progress.eta_secs)
            .map(|secs| self.now() + chrono::Duration::seconds(secs as i64)))
    }

    /// Who gets a notice of `stage` to `lists` now, on which channel.
    pub fn recipients(&self, stage: Stage, lists: &[String], severity: u8) -> (Vec<Recipient>, Vec<String>) {
        let notify = self.notify_config();
        let policy = notify.stage(stage);
        let now = self.now();
        let mut out = Vec::new();
        let mut warnings = Vec::new();
        for list in lists {
            let on: Vec<&Contact> = notify.contacts.iter().filter(|c| c.lists.contains(list)).collect();
            let hooks = notify.webhooks.iter().filter(|w| w.lists.contains(list)).count();
            if on.is_empty() && hooks == 0 {
                warnings.push(format!("nobody is on the list \"{list}\""));
            }
        }
        for c in &notify.contacts {
            let Some(list) = c.lists.iter().find(|l| lists.contains(l)) else { continue };
            let audience = notify.audience_of(list);
            let usable: Vec<Channel> = c
                .channels
                .iter()
                .copied()
                .filter(|ch| {
                    policy.channels.contains(ch) && notify.channel_configured(*ch) && c.address(*ch).is_some()
                })
                .collect();
            let Some((first, rest)) = usable.split_first() else {
                warnings.push(format!(
                    "{} cannot be reached for the {}: none of their channels ({}) is configured and used for this stage",
                    c.name,
                    stage.title(),
                    c.channels.iter().map(|c| c.name()).collect::<Vec<_>>().join(", ")
                ));
                continue;
            };
            let quiet = c.quiet_hours.is_some_and(|q| q.contains(now)) && !overrides_quiet_hours(severity);
            out.push(Recipient {
                name: c.name.clone(),
                channel: *first,
                address: c.address(*first).unwrap_or_default().to_owned(),
                audience,
                quiet,
                fallback: rest.to_vec(),
            });
        }
        if policy.channels.contains(&Channel::Chat) {
            for hook in &notify.webhooks {
                if let Some(list) = hook.lists.iter().find(|l| lists.contains(l)) {
                    out.push(Recipient {
                        name: hook.name.clone(),
                        channel: Channel::Chat,
                        address: format!("{} webhook", hook.kind.name()),
                        audience: notify.audience_of(list),
                        quiet: false,
                        fallback: Vec::new(),
                    });
                }
            }
        }
        if policy.channels.contains(&Channel::File)
            && let Some(file) = &notify.file
        {
            for audience in [Audience::Internal, Audience::External] {
                if file.lists.iter().any(|l| lists.contains(l) && notify.audience_of(l) == audience) {
                    out.push(Recipient {
                        name: format!("file-{}", audience.name()),
                        channel: Channel::File,
                        address: file.path.display().to_string(),
                        audience,
                        quiet: false,
                        fallback: Vec::new(),
                    });
                }
            }
        }
        (out, warnings)
    }

    /// An exercise without lists of its own writes its notices to the file channel only.
    fn exercise_file_recipients(&self) -> Vec<Recipient> {
        let Some(file) = &self.notify_config().file else { return Vec::new() };
        vec![Recipient {
            name: "file-internal".into(),
            channel: Channel::File,
            address: file.path.display().to_string(),
            audience: Audience::Internal,
            quiet: false,
            fallback: Vec::new(),
        }]
    }

    /// Compose the notice of `stage` for `incident` to `lists` (the stage's lists when empty).
    pub async fn compose(
        &self,
        incident: &IncidentRecord,
        stage: Stage,
        lists: &[String],
        message: &str,
    ) -> Result<Composition, String> {
        let notify = self.notify_config();
        let known = notify.lists();
        for l in lists {
            if !known.contains(l) {
                let hint = crate::config::diagnostic::did_you_mean(l, known.iter().map(String::as_str))
                    .map(|s| format!("; did you mean \"{s}\"?"))
                    .unwrap_or_default();
                return Err(format!("there is no list \"{l}\"{hint} (the lists: {})", known.join(", ")));
            }
        }
        let lists: Vec<String> = if lists.is_empty() { notify.stage(stage).lists } else { lists.to_vec() };
        let notices = self.notices(&incident.id).await.map_err(|e| e.to_string())?;
        let seq = notices.iter().filter(|n| n.stage == stage).map(|n| n.seq).max().unwrap_or(0) + 1;
        let sent: Vec<_> = notices.iter().map(NoticeRecord::sent).collect();
        let now = self.now();
        let due_at = match notify.cadence.next_due(incident.declared_at, incident.closed_at, &sent) {
            Some(d) if d.stage == stage => d.at,
            _ => now,
        };
        let next_update = notify.cadence.next_update_after(stage, now);
        // A stored severity this version cannot read is an error, not a guess at quiet hours.
        let severity = crate::model::failover::Severity::parse(&incident.severity)
            .map_err(|e| format!("{}'s severity cannot be read: {e}", incident.id))?
            .0;
        // An exercise's incident's notices go to its own lists (or the file channel), never to
        // the real stakeholders, unless the scenario says so.
        let exercise = self
            .exercise_of_incident(incident)
            .await
            .map_err(|e| e.to_string())?
            .filter(|x| !x.checked.notices.real);
        let lists = match &exercise {
            Some(x) => x.checked.notices.lists.clone(),
            None => lists,
        };
        let (mut recipients, mut warnings) = self.recipients(stage, &lists, severity);
        if let Some(x) = &exercise {
            if x.checked.notices.lists.is_empty() {
                recipients = self.exercise_file_recipients();
            }
            warnings.insert(
                0,
                format!(
                    "EXERCISE {}: this notice goes only to {}",
                    x.id,
                    if x.checked.notices.lists.is_empty() {
                        "the file channel".to_owned()
                    } else {
                        format!("the exercise's lists ({})", lists.join(", "))
                    }
                ),
            );
        }
        if recipients.is_empty() {
            warnings.push("nobody would receive this notice".to_owned());
        }
        let templates = self.templates()?;
        let mut fields = self.notice_fields(incident, stage, message, next_update).await?;
        let mut rendered = Vec::new();
        // The public is promised a next update only if the next stage goes to them too.
        let next_stage = match stage {
            Stage::Initial => Some(Stage::Update),
            Stage::Update | Stage::Progress => Some(Stage::Progress),
            Stage::Resolution | Stage::PostIncident => None,
        };
        let promise_public = next_stage.is_some_and(|n| notify.reaches_external(n));
        let next_inside = fields.next_update.clone();
        for audience in [Audience::Internal, Audience::External] {
            fields.audience = audience.name().to_owned();
            fields.next_update =
                if audience == Audience::External && !promise_public { None } else { next_inside.clone() };
            let render =
                |part| templates.render(stage, audience, part, &fields).map_err(|e| format!("template {e}"));
            for channel in Channel::ALL {
                if !recipients.iter().any(|r| {
                    r.audience == audience && (r.channel == channel || r.fallback.contains(&channel))
                }) {
                    continue;
                }
                let r = match channel {
                    Channel::Email => Rendered {
                        audience,
                        channel,
                        subject: Some(thread_subject(&incident.id, &render(Part::Subject)?)),
                        text: render(Part::Text)?,
                        html: Some(render(Part::Html)?),
                        segments: None,
                    },
                    Channel::Sms => {
                        let text = render(Part::Sms)?;
                        let segments = sms_segments(&text);
                        if segments.segments > 1 {
                            warnings.push(format!(
                                "the {} SMS is {} characters ({}): it goes as {} segments, each billed",
                                audience.name(),
                                segments.units,
                                segments.encoding,
                                segments.segments
                            ));
                        }
                        if text.chars().count() > 1600 {
                            return Err(format!(
                                "the {} SMS is {} characters; an SMS carries at most 1,600: shorten the message or the sms template",
                                audience.name(),
                                text.chars().count()
                            ));
                        }
                        Rendered {
                            audience,
                            channel,
                            subject: None,
                            text,
                            html: None,
                            segments: Some(segments),
                        }
                    }
                    Channel::Chat => Rendered {
                        audience,
                        channel,
                        subject: None,
                        text: render(Part::Chat)?,
                        html: None,
                        segments: None,
                    },
                    Channel::File => Rendered {
                        audience,
                        channel,
                        subject: Some(thread_subject(&incident.id, &render(Part::Subject)?)),
                        text: render(Part::Text)?,
                        html: None,
                        segments: None,
                    },
                };
                rendered.push(r);
            }
        }
        fields.audience = Audience::External.name().to_owned();
        let status_text =
            if exercise.is_none() && lists.iter().any(|l| notify.audience_of(l) == Audience::External) {
                Some(
                    templates
                        .render(stage, Audience::External, Part::Status, &fields)
                        .map_err(|e| format!("template {e}"))?,
                )
            } else {
                None
            };
        Ok(Composition {
            status_text,
            incident: incident.id.clone(),
            notice: format!("{}-{}-{seq}", incident.id, stage.name()),
            stage,
            seq,
            lists,
            message: message.to_owned(),
            due_at,
            next_update,
            recipients,
            rendered,
            warnings,
        })
    }

    /// Queue `c` in the outbox: the notice, a row per recipient with its exact bytes, and the
    /// audit record, in one write.
    pub async fn queue_notice(
        &self,
        c: &Composition,
        operator: &str,
        job: Option<&str>,
    ) -> Result<Vec<OutboxRow>, String> {
        let now = self.now();
        let first = self
            .notices(&c.incident)
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .find(|n| n.stage == Stage::Initial)
            .map(|n| n.id);
        let mut rows = Vec::new();
        for r in &c.recipients {
            let mut row = self.outbox_row(c, r, r.channel, first.as_deref(), now)?;
            // The fallbacks' bytes are made now, with the notice: the deliverer has them ready.
            let mut fallbacks = Vec::new();
            for ch in &r.fallback {
                let f = self.outbox_row(c, r, *ch, first.as_deref(), now)?;
                fallbacks.push(serde_json::json!({
                    "channel": ch, "address": f.address, "meta": f.meta,
                    "body": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &f.body),
                }));
            }
            row.meta["fallback"] = serde_json::Value::Array(fallbacks);
            rows.push(row);
        }
        let external = c.status_text.clone();
        let notice = NoticeRecord {
            id: c.notice.clone(),
            incident: c.incident.clone(),
            stage: c.stage,
            seq: c.seq,
            due_at: c.due_at,
            sent_at: now,
            next_update: c.next_update,
            lists: c.lists.clone(),
            message: c.message.clone(),
            sent_by: operator.to_owned(),
            job_id: job.map(str::to_owned),
            external,
        };
        let counts: BTreeMap<String, usize> =
            c.counts().into_iter().map(|(ch, (n, _))| (ch.name().to_owned(), n)).collect();
        let audit = NewAuditRecord::new(operator, "notify.queued", &c.incident, Outcome::Recorded).details(
            serde_json::json!({
                "notice": c.notice, "stage": c.stage, "lists": c.lists, "recipients": counts,
                "suppressed": c.recipients.iter().filter(|r| r.quiet).count(), "job": job,
            }),
        );
        self.store.queue_notice(&notice, &rows, &audit, now).await.map_err(|e| e.to_string())?;
        Ok(rows)
    }

    /// The incident a notice is for: `id`, else the open one, else the newest that still owes
    /// a notice (a closed one owes its resolution and summary).
    pub async fn comms_incident(&self, id: Option<&str>) -> Result<IncidentRecord, String> {
        if id.is_some() {
            return self.incident(id).await;
        }
        match self.current_comms().await.map_err(|e| e.to_string())? {
            Some(status) => self.incident(Some(&status.incident)).await,
            None => self.incident(None).await,
        }
    }

    /// Plan the notice of `stage` (the one due when `None`) for `incident` (the open one when
    /// `None`): the job and the gate's plan, which lists every recipient and previews each
    /// channel.
    pub async fn plan_notice(
        &self,
        incident: Option<&str>,
        stage: Option<Stage>,
        lists: &[String],
        message: &str,
    ) -> Result<(crate::engine::jobs::JobSpec, crate::engine::jobs::Plan), String> {
        if self.notify_config().contacts.is_empty() && self.notify_config().webhooks.is_empty() {
            return Err("there is nobody to tell: add [[contacts]] and a channel ([notify.email], [notify.sms], a webhook) to the configuration".into());
        }
        let record = self.comms_incident(incident).await?;
        let stage = match stage {
            Some(s) => s,
            None => self.due_stage(&record).await?,
        };
        let c = self.compose(&record, stage, lists, message).await?;
        let plan = crate::engine::jobs::Plan {
            title: format!("notify · {} · {}", c.stage.title(), c.incident),
            lines: c.plan_lines(),
        };
        let spec = crate::engine::jobs::JobSpec::Notify {
            incident: record.id,
            stage,
            lists: c.lists,
            message: message.to_owned(),
        };
        Ok((spec, plan))
    }

    /// What the console shows of communications: the open incident's, else the newest
    /// incident's while it still owes its resolution notice.
    pub async fn current_comms(&self) -> Result<Option<CommsStatus>, EngineError> {
        let all = self.incidents().await?;
        let Some(newest) = all.iter().find(|i| i.closed_at.is_none()).or_else(|| all.first()) else {
            return Ok(None);
        };
        let status = self.comms_status(newest).await?;
        let owes = newest.closed_at.is_none() || status.next.is_some();
        Ok(owes.then_some(status))
    }

    /// Queue a test message (`warroom notify test`): its rows and audit record, one write.
    pub async fn queue_test(&self, c: &Composition) -> Result<usize, String> {
        self.permit_write(self.operator(), "sending a test message", "notify.test", "-")
            .await
            .map_err(|e| e.to_string())?;
        let now = self.now();
        let rows = c
            .recipients
            .iter()
            .map(|r| self.outbox_row(c, r, r.channel, None, now))
            .collect::<Result<Vec<_>, _>>()?;
        let audit = NewAuditRecord::new(self.operator(), "notify.test", &c.notice, Outcome::Recorded)
            .details(
                serde_json::json!({"recipients": c.recipients.iter().map(|r| &r.name).collect::<Vec<_>>()}),
            );
        self.store.queue_rows(&rows, &audit, now).await.map_err(|e| e.to_string())?;
        Ok(rows.len())
    }

    /// The outbox row for `r` on `channel`: the exact bytes to send.
    pub(crate) fn outbox_row(
        &self,
        c: &Composition,
        r: &Recipient,
        channel: Channel,
        first_notice: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<OutboxRow, String> {
        let rendered = c
            .rendered
            .iter()
            .find(|x| x.audience == r.audience && x.channel == channel)
            .ok_or_else(|| format!("nothing was rendered for {} on {channel}", r.name))?;
        let contact = self.notify_config().contact(&r.name);
        let address = match channel {
            Channel::Email | Channel::Sms => {
                contact.and_then(|c| c.address(channel)).unwrap_or(&r.address).to_owned()
            }
            _ => r.address.clone(),
        };
        let (body, meta) = match channel {
            Channel::Email => {
                let email = self.notify_config().email.as_ref().ok_or("no [notify.email] is configured")?;
                let bytes = channels::email_bytes(email, c, r, &address, rendered, first_notice, now)?;
                (
                    bytes,
                    serde_json::json!({"subject": rendered.subject, "from": email.from, "audience": r.audience}),
                )
            }
            Channel::Sms => (
                rendered.text.clone().into_bytes(),
                serde_json::json!({"segments": rendered.segments, "audience": r.audience}),
            ),
            Channel::Chat => (
                rendered.text.clone().into_bytes(),
                serde_json::json!({"audience": r.audience, "stage": c.stage}),
            ),
            Channel::File => {
                let text = format!(
                    "==== {} · {} · {} · {} ====\n{}\n\n{}\n",
                    when(now),
                    c.notice,
                    r.audience.name(),
                    c.lists.join(","),
                    rendered.subject.clone().unwrap_or_default(),
                    rendered.text.trim_end()
                );
                (text.into_bytes(), serde_json::json!({"audience": r.audience}))
            }
        };
        let state = if r.quiet { DeliveryState::SuppressedQuietHours } else { DeliveryState::Queued };
        Ok(OutboxRow {
            key: OutboxRow::key_for(&c.notice, &r.name, channel),
            notice: c.notice.clone(),
            incident: c.incident.clone(),
            recipient: r.name.clone(),
            channel,
            address,
            body,
            meta,
            state,
            attempts: 0,
            next_attempt: None,
            last_error: None,
            provider_id: None,
            queued_at: now,
            sent_at: None,
            fallback_of: None,
        })
    }
}

/// Every subject starts with `[INC-...]`, whatever the template says: mail clients thread on it.
fn thread_subject(incident: &str, subject: &str) -> String {
    let tag = format!("[{incident}]");
    if subject.contains(&tag) { subject.to_owned() } else { format!("{tag} {subject}") }
}
