//! `warroom notify preview|send|outbox|test|deliver`: stakeholder notices from the command
//! line. A notice passes the approval gate like any side effect; the outbox keeps it until it
//! is delivered.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use chrono::SecondsFormat;
use clap::Subcommand;

use super::backup::gate_and_run;
use super::{CliError, open_engine};
use crate::engine::Engine;
use crate::engine::comms::deliver::Deliverer;
use crate::engine::comms::{Composition, Recipient, Rendered};
use crate::model::comms::{Audience, Channel, OutboxHealth, Stage, sms_segments};
use crate::model::failover::IncidentRecord;

const BAD_INPUT: u8 = 3;

#[derive(Debug, Subcommand)]
pub enum NotifyCommand {
    /// Show what a notice would say, per channel and audience, and who would get it; sends nothing
    Preview {
        #[command(flatten)]
        notice: NoticeArgs,
        #[arg(long)]
        json: bool,
    },
    /// Send a notice through the approval gate; waits a bounded time for delivery and says what
    /// is still queued (exit 0 delivered, 1 some still queued or refused, 2 refused at the gate)
    Send {
        #[command(flatten)]
        notice: NoticeArgs,
        /// Approve at the gate without a prompt, for scripts (audited)
        #[arg(long)]
        yes: bool,
    },
    /// Every message in the outbox and its delivery state (exit 0 all delivered, 1 retrying, 2 permanent failures)
    Outbox {
        #[arg(long)]
        json: bool,
        /// Only this incident's
        #[arg(long)]
        incident: Option<String>,
    },
    /// Send one test message on CHANNEL (email, sms, chat, file) to notify.test_recipient
    Test { channel: String },
    /// Deliver and retry what the outbox holds until stopped (for a service manager)
    Deliver,
}

/// Which notice: the same for a preview and a send.
#[derive(Debug, clap::Args)]
pub struct NoticeArgs {
    /// initial, update, progress, resolution, post-incident (default: the stage that is due)
    #[arg(long)]
    stage: Option<String>,
    /// Only these lists (comma-separated; default: the stage's lists)
    #[arg(long, value_delimiter = ',')]
    lists: Vec<String>,
    /// The commander's own words, put into every message
    #[arg(long, default_value = "")]
    message: String,
    /// The incident (default: the open one)
    #[arg(long)]
    incident: Option<String>,
}

pub async fn run(config: Option<PathBuf>, command: NotifyCommand) -> Result<ExitCode, CliError> {
    let (engine, _log) = open_engine(config, BAD_INPUT).await?;
    let result = match command {
        NotifyCommand::Preview { notice: n, json } => {
            preview(&engine, n.stage, n.lists, n.message, n.incident, json).await
        }
        NotifyCommand::Send { notice: n, yes } => {
            send(&engine, n.stage, n.lists, n.message, n.incident, yes).await
        }
        NotifyCommand::Outbox { json, incident } => outbox(&engine, json, incident).await,
        NotifyCommand::Test { channel } => test(&engine, &channel).await,
        NotifyCommand::Deliver => deliver(&engine).await,
    };
    engine.close().await;
    result
}

fn bad(e: impl Into<String>) -> CliError {
    CliError::message(e, BAD_INPUT)
}

async fn incident_and_stage(
    engine: &Engine,
    incident: Option<String>,
    stage: Option<String>,
) -> Result<(IncidentRecord, Stage), CliError> {
    let incident = engine.comms_incident(incident.as_deref()).await.map_err(bad)?;
    let stage = match stage {
        Some(s) => Stage::parse(&s).map_err(bad)?,
        None => engine.due_stage(&incident).await.map_err(bad)?,
    };
    Ok((incident, stage))
}

fn split(lists: Vec<String>) -> Vec<String> {
    lists.iter().map(|l| l.trim().to_owned()).filter(|l| !l.is_empty()).collect()
}

/// The preview a person reads: recipients per channel, then each rendering.
pub fn render_preview(c: &Composition) -> String {
    let mut out = String::new();
    out.push_str(&format!("{} · {} · lists {}\n", c.stage.title(), c.incident, c.lists.join(", ")));
    for (channel, (n, quiet)) in c.counts() {
        let q = if quiet > 0 { format!(" (+{quiet} held: quiet hours)") } else { String::new() };
        out.push_str(&format!("  {channel:<6} {n} recipient{}{q}\n", if n == 1 { "" } else { "s" }));
    }
    for r in &c.rendered {
        out.push_str(&format!("\n── {} · {} ──\n", r.channel, r.audience.name()));
        if let Some(s) = &r.subject {
            out.push_str(&format!("Subject: {s}\n\n"));
        }
        out.push_str(r.text.trim_end());
        out.push('\n');
        if let Some(s) = r.segments {
            out.push_str(&format!("[{s}]\n"));
        }
    }
    for w in &c.warnings {
        out.push_str(&format!("\nwarning: {w}"));
    }
    out.trim_end().to_owned()
}

async fn preview(
    engine: &Engine,
    stage: Option<String>,
    lists: Vec<String>,
    message: String,
    incident: Option<String>,
    json: bool,
) -> Result<ExitCode, CliError> {
    let (incident, stage) = incident_and_stage(engine, incident, stage).await?;
    let c = engine.compose(&incident, stage, &split(lists), &message).await.map_err(bad)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&c).unwrap_or_default());
    } else {
        println!("{}", render_preview(&c));
        println!("\nnothing was sent: `warroom notify send --stage {stage}` sends it through the gate");
    }
    Ok(ExitCode::SUCCESS)
}

async fn send(
    engine: &Engine,
    stage: Option<String>,
    lists: Vec<String>,
    message: String,
    incident: Option<String>,
    yes: bool,
) -> Result<ExitCode, CliError> {
    let stage = stage.map(|s| Stage::parse(&s)).transpose().map_err(bad)?;
    let (spec, plan) =
        engine.plan_notice(incident.as_deref(), stage, &split(lists), &message).await.map_err(bad)?;
    gate_and_run(engine, spec, plan, yes).await
}

async fn outbox(engine: &Engine, json: bool, incident: Option<String>) -> Result<ExitCode, CliError> {
    let rows = engine.outbox(incident.as_deref()).await.map_err(|e| CliError::engine(e, 3))?;
    let health = OutboxHealth::of(rows.iter().map(|r| r.state));
    if json {
        let doc = serde_json::json!({
            "schema": "warroom.outbox/1",
            "generated_at": engine.now().to_rfc3339_opts(SecondsFormat::Secs, true),
            "health": health,
            "messages": rows,
        });
        let _ =
            writeln!(std::io::stdout().lock(), "{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else if rows.is_empty() {
        println!("the outbox is empty: no notice has been sent");
    } else {
        for r in &rows {
            let when =
                r.sent_at.or(r.next_attempt).map(|t| t.format("%H:%M:%S").to_string()).unwrap_or_default();
            let extra = match (&r.provider_id, &r.last_error) {
                (_, Some(e)) if !r.state.delivered() => format!(" · {e}"),
                (Some(id), _) => format!(" · id {id}"),
                _ => String::new(),
            };
            // A reader that went away (`| head`) ends the listing, not the program.
            let written = writeln!(
                std::io::stdout().lock(),
                "{} {:<22} {:<5} {:<14} {:<32} tries {} {when}{extra}",
                r.state.symbol(),
                r.state.name(),
                r.channel.name(),
                r.recipient,
                r.notice,
                r.attempts
            );
            if written.is_err() {
                break;
            }
        }
    }
    Ok(ExitCode::from(health.exit_code() as u8))
}

async fn test(engine: &Engine, channel: &str) -> Result<ExitCode, CliError> {
    let channel = Channel::parse(channel)
        .ok_or_else(|| bad(format!("there is no channel \"{channel}\": use email, sms, chat or file")))?;
    let notify = &engine.config().notify;
    if !notify.channel_configured(channel) {
        return Err(bad(format!(
            "no {channel} channel is configured: add [notify.{}] first",
            match channel {
                Channel::Chat => "webhook.NAME",
                other => other.name(),
            }
        )));
    }
    let now = engine.now();
    let notice = format!("TEST-{}", now.format("%y%m%d-%H%M%S"));
    let text = format!(
        "warroom test message from {} at {}: the {channel} channel works.",
        engine.operator(),
        now.format("%Y-%m-%d %H:%M:%S UTC")
    );
    let mut recipients = Vec::new();
    match channel {
        Channel::Email | Channel::Sms => {
            let name = notify.test_recipient.as_deref().ok_or_else(|| {
                bad("notify.test_recipient is not set: name the contact who gets test messages")
            })?;
            let contact = notify
                .contact(name)
                .ok_or_else(|| bad(format!("test_recipient \"{name}\" is not a contact")))?;
            let address = contact.address(channel).ok_or_else(|| {
                bad(format!(
                    "{name} has no {} to test {channel} with",
                    if channel == Channel::Email { "email" } else { "phone" }
                ))
            })?;
            recipients.push(Recipient {
                name: name.to_owned(),
                channel,
                address: address.to_owned(),
                audience: Audience::Internal,
                quiet: false,
                fallback: Vec::new(),
            });
        }
        Channel::Chat => {
            for hook in &notify.webhooks {
                recipients.push(Recipient {
                    name: hook.name.clone(),
                    channel,
                    address: format!("{} webhook", hook.kind.name()),
                    audience: Audience::Internal,
                    quiet: false,
                    fallback: Vec::new(),
                });
            }
        }
        Channel::File => {
            if let Some(f) = &notify.file {
                recipients.push(Recipient {
                    name: "file-internal".into(),
                    channel,
                    address: f.path.display().to_string(),
                    audience: Audience::Internal,
                    quiet: false,
                    fallback: Vec::new(),
                });
            }
        }
    }
    let c = Composition {
        incident: "TEST".into(),
        notice: notice.clone(),
        stage: Stage::Initial,
        seq: 1,
        lists: Vec::new(),
        message: String::new(),
        due_at: now,
        next_update: None,
        rendered: vec![Rendered {
            audience: Audience::Internal,
            channel,
            subject: Some(format!("[warroom] test message ({channel})")),
            text: format!("{text}\n"),
            html: Some(format!("<p>{text}</p>")),
            segments: Some(sms_segments(&text)).filter(|_| channel == Channel::Sms),
        }],
        recipients: recipients.clone(),
        status_text: None,
        warnings: Vec::new(),
    };
    let rows = engine.queue_test(&c).await.map_err(|e| CliError::message(e, 2))?;
    eprintln!("sending {} test message{} on {channel}", rows, if rows == 1 { "" } else { "s" });
    let deliverer = Deliverer::new(engine);
    let deadline = std::time::Instant::now() + notify.send_wait;
    loop {
        deliverer.round().await.map_err(|e| CliError::message(e, 2))?;
        let rows: Vec<_> = engine
            .outbox(Some("TEST"))
            .await
            .map_err(|e| CliError::engine(e, 2))?
            .into_iter()
            .filter(|r| r.notice == notice)
            .collect();
        if rows.iter().all(|r| !r.state.pending()) || std::time::Instant::now() >= deadline {
            for r in &rows {
                let why = r.last_error.as_deref().map(|e| format!(": {e}")).unwrap_or_default();
                println!("{} {} {} <{}>{why}", r.state.symbol(), r.state, r.recipient, r.address);
            }
            let health = OutboxHealth::of(rows.iter().map(|r| r.state));
            if health == OutboxHealth::Retrying {
                eprintln!("still retrying: `warroom notify deliver` (or an open console) goes on with it");
            }
            return Ok(ExitCode::from(health.exit_code() as u8));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn deliver(engine: &Engine) -> Result<ExitCode, CliError> {
    let deliverer = Deliverer::new(engine);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    eprintln!("delivering the outbox of {} (ctrl-c stops)", engine.config().console.state_place());
    let run = deliverer.run(stopped, |r| {
        println!(
            "{} delivered {}, retrying {}, failed {}, fell back {}",
            chrono::Utc::now().format("%H:%M:%S"),
            r.delivered,
            r.retrying,
            r.failed,
            r.fell_back
        );
    });
    tokio::pin!(run);
    tokio::select! {
        _ = &mut run => {}
        _ = tokio::signal::ctrl_c() => {
            let _ = stop.send(true);
            run.await;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `warroom statuspage`: render and write the public page now.
pub async fn statuspage(config: Option<PathBuf>) -> Result<ExitCode, CliError> {
    let (engine, _log) = open_engine(config, BAD_INPUT).await?;
    let result = engine.publish_statuspage().await;
    engine.close().await;
    let at = result.map_err(CliError::write)?;
    println!("status page written: {at} (and feed.atom beside it)");
    Ok(ExitCode::SUCCESS)
}
