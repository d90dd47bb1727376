//! Crisis communications against real servers on loopback: an SMTP server (mailin-embedded)
//! that answers 451 on demand and is stopped and started again, a Twilio-shaped SMS gateway,
//! Slack- and Teams-shaped webhooks; quiet hours, fallback, the cadence, the command line.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use common::http::HttpServer;
use common::smtp::{SmtpServer, free_port};
use warroom::clock::ManualClock;
use warroom::config::{self, ProcessEnv};
use warroom::engine::Engine;
use warroom::engine::comms::deliver::Deliverer;
use warroom::model::comms::{Channel, DeliveryState, Stage};
use warroom::model::failover::{IncidentKind, IncidentRecord, Severity};

struct Setup {
    dir: tempfile::TempDir,
    store: common::store::Kind,
}

impl Setup {
    fn new(store: common::store::Kind) -> Setup {
        Setup { dir: tempfile::tempdir().unwrap(), store }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// A configuration: two systems, and `notify` (TOML for contacts and channels).
    fn config(&self, notify: &str) -> PathBuf {
        let text = format!(
            "[console]\noperator = \"alice\"\nstate_dir = \"{}\"\n{}\n[[systems]]\nname = \"database\"\ntier = 1\n\n[[systems]]\nname = \"api\"\ntier = 1\ndepends_on = [\"database\"]\n\n{notify}",
            self.path("state").display(),
            self.store.console_lines(self.dir.path())
        );
        let path = self.path("warroom.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    async fn engine(&self, config: &Path, clock: Arc<ManualClock>) -> Engine {
        let loaded = config::load(config, &ProcessEnv).unwrap_or_else(|e| panic!("{e}"));
        Engine::open_with_clock(loaded.config, clock).await.unwrap()
    }
}

fn email_channel(port: u16) -> String {
    format!(
        "[notify.email]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\nfrom = \"warroom <warroom@example.com>\"\nreply_to = \"ops@example.com\"\npool = 2\ntimeout = \"5s\"\n"
    )
}

const PEOPLE: &str = r#"
[[contacts]]
name = "alice"
email = "alice@example.com"
lists = ["executive", "technical"]

[[contacts]]
name = "carol"
email = "carol@customer.example"
lists = ["external"]
"#;

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339("2026-12-02T22:04:00Z").unwrap().with_timezone(&chrono::Utc)
}

async fn declare(engine: &Engine, severity: &str) -> IncidentRecord {
    engine
        .declare_incident(
            IncidentKind::Infrastructure,
            Severity::parse(severity).unwrap(),
            &["database".into()],
            "alice",
        )
        .await
        .unwrap()
}

/// Deliver rounds until nothing is due now.
async fn deliver_all(d: &Deliverer) {
    for _ in 0..20 {
        if d.round().await.unwrap().attempted() == 0 {
            return;
        }
    }
}

crate::on_both_stores! {
#[tokio::test]
async fn email_notices_thread_carry_both_parts_and_mark_themselves_automatic(store) {
    let smtp = SmtpServer::start();
    let setup = Setup::new(store);
    let clock = Arc::new(ManualClock::new(now()));
    let engine =
        setup.engine(&setup.config(&format!("{PEOPLE}{}", email_channel(smtp.port))), clock.clone()).await;
    let incident = declare(&engine, "sev1").await;
    let initial =
        engine.compose(&incident, Stage::Initial, &[], "Standby promotion under way.").await.unwrap();
    assert_eq!(initial.recipients.len(), 2, "{:?}", initial.recipients);
    engine.queue_notice(&initial, "alice", None).await.unwrap();
    let d = Deliverer::new(&engine);
    deliver_all(&d).await;
    clock.advance(Duration::from_secs(31 * 60));
    let update = engine.compose(&incident, Stage::Update, &[], "").await.unwrap();
    // The update goes inside only (the playbook's default).
    assert_eq!(update.recipients.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["alice"]);
    engine.queue_notice(&update, "alice", None).await.unwrap();
    deliver_all(&d).await;

    let mails = smtp.mails();
    assert_eq!(mails.len(), 3, "{mails:#?}");
    let to = |who: &str| {
        mails.iter().filter(|m| m.to.iter().any(|t| t.contains(who))).cloned().collect::<Vec<_>>()
    };
    let alice = to("alice@example.com");
    assert_eq!(alice.len(), 2);
    let first_id = format!("<{}-initial-1.alice@example.com>", incident.id);
    assert_eq!(alice[0].header("Message-ID").as_deref(), Some(first_id.as_str()));
    assert_eq!(alice[0].header("In-Reply-To"), None);
    assert_eq!(alice[1].header("Message-ID"), Some(format!("<{}-update-1.alice@example.com>", incident.id)));
    assert_eq!(alice[1].header("In-Reply-To").as_deref(), Some(first_id.as_str()));
    assert_eq!(alice[1].header("References").as_deref(), Some(first_id.as_str()));
    // A stable subject with the incident's tag, on every notice.
    let subject = |m: &common::smtp::Mail| m.header("Subject").unwrap();
    assert_eq!(subject(&alice[0]), subject(&alice[1]));
    assert!(subject(&alice[0]).starts_with(&format!("[{}]", incident.id)), "{}", subject(&alice[0]));
    for m in &mails {
        assert_eq!(m.header("Auto-Submitted").as_deref(), Some("auto-generated"));
        assert!(m.header("Content-Type").unwrap().starts_with("multipart/alternative"));
        let plain = m.data.find("Content-Type: text/plain").unwrap();
        let html = m.data.find("Content-Type: text/html").unwrap();
        assert!(plain < html, "plain comes first");
        assert_eq!(m.from, "warroom@example.com");
    }
    assert!(alice[0].data.contains("Standby promotion under way."));
    // List-Unsubscribe only for the external list.
    let carol = to("carol@customer.example");
    assert_eq!(carol.len(), 1);
    assert!(carol[0].header("List-Unsubscribe").unwrap().contains("mailto:ops@example.com"));
    assert_eq!(alice[0].header("List-Unsubscribe"), None);
    // The external reader is told about the service, not the internals, and is promised no
    // update the playbook will not send them (status updates go inside).
    assert!(!carol[0].data.contains("tier 1"), "{}", carol[0].data);
    assert!(!carol[0].data.contains("Next update"), "{}", carol[0].data);
    assert!(alice[0].data.contains("Next update by"), "{}", alice[0].data);
    // Every delivery is audited.
    let records = engine.audit_records(None).await.unwrap();
    assert_eq!(records.iter().filter(|r| r.action == "notify.delivered").count(), 3);
    assert_eq!(records.iter().filter(|r| r.action == "notify.queued").count(), 2);
    // And the cadence now waits for a progress update.
    let status = engine.comms_status(&incident).await.unwrap();
    assert_eq!(status.next.unwrap().stage, Stage::Progress);
    assert!(!status.overdue);
}
}

crate::on_both_stores! {
#[tokio::test]
async fn a_451_is_retried_with_backoff_and_the_message_arrives_once(store) {
    let smtp = SmtpServer::start();
    smtp.fail_next(2);
    let setup = Setup::new(store);
    let clock = Arc::new(ManualClock::new(now()));
    let engine =
        setup.engine(&setup.config(&format!("{PEOPLE}{}", email_channel(smtp.port))), clock.clone()).await;
    let incident = declare(&engine, "sev1").await;
    let c = engine.compose(&incident, Stage::Initial, &["technical".into()], "").await.unwrap();
    engine.queue_notice(&c, "alice", None).await.unwrap();
    let d = Deliverer::new(&engine);
    assert_eq!(d.round().await.unwrap().retrying, 1);
    let row = &engine.outbox(None).await.unwrap()[0];
    assert_eq!(row.state, DeliveryState::FailedRetrying);
    assert!(row.last_error.as_deref().unwrap().contains("451"), "{row:?}");
    // Not yet due: the backoff holds it.
    assert_eq!(d.round().await.unwrap().attempted(), 0);
    clock.advance(Duration::from_secs(5));
    assert_eq!(d.round().await.unwrap().retrying, 1);
    clock.advance(Duration::from_secs(10));
    assert_eq!(d.round().await.unwrap().delivered, 1);
    clock.advance(Duration::from_secs(3600));
    assert_eq!(d.round().await.unwrap().attempted(), 0);
    assert_eq!(smtp.mails().len(), 1);
    let row = &engine.outbox(None).await.unwrap()[0];
    assert_eq!((row.state, row.attempts), (DeliveryState::Sent, 3));
}
}

crate::on_both_stores! {
#[tokio::test]
async fn a_refused_address_is_permanent_and_the_contact_falls_back_to_sms(store) {
    let smtp = SmtpServer::start();
    smtp.refuse("bob@");
    let sms = HttpServer::start(|_| (201, vec![], r#"{"sid":"SM1","status":"queued"}"#.into())).await;
    let setup = Setup::new(store);
    let clock = Arc::new(ManualClock::new(now()));
    let people = r#"
[[contacts]]
name = "bob"
email = "bob@example.com"
phone = "+4915112345678"
lists = ["technical"]
channels = ["email", "sms"]

[[contacts]]
name = "dave"
email = "dave@example.com"
lists = ["technical"]
"#;
    std::fs::write(setup.path("token"), "secret-token\n").unwrap();
    let sms_cfg = format!(
        "[notify.sms]\nkind = \"twilio\"\nbase_url = \"{}\"\naccount_sid = \"AC123\"\nauth_token_file = \"token\"\nfrom = \"+15005550006\"\n",
        sms.url()
    );
    let engine = setup
        .engine(&setup.config(&format!("{people}{}{sms_cfg}", email_channel(smtp.port))), clock.clone())
        .await;
    let incident = declare(&engine, "sev1").await;
    let c = engine.compose(&incident, Stage::Initial, &["technical".into()], "").await.unwrap();
    engine.queue_notice(&c, "alice", None).await.unwrap();
    let d = Deliverer::new(&engine);
    deliver_all(&d).await;
    let rows = engine.outbox(None).await.unwrap();
    let state =
        |who: &str, ch: Channel| rows.iter().find(|r| r.recipient == who && r.channel == ch).map(|r| r.state);
    assert_eq!(state("bob", Channel::Email), Some(DeliveryState::FallbackUsed));
    assert_eq!(state("bob", Channel::Sms), Some(DeliveryState::DeliveredToProvider));
    assert_eq!(state("dave", Channel::Email), Some(DeliveryState::Sent));
    let bob_sms = rows.iter().find(|r| r.recipient == "bob" && r.channel == Channel::Sms).unwrap();
    assert_eq!(bob_sms.provider_id.as_deref(), Some("SM1"));
    assert_eq!(bob_sms.fallback_of.as_deref(), Some(format!("{}-initial-1/bob/email", incident.id).as_str()));
    assert_eq!(sms.requests().len(), 1);
}
}

#[tokio::test]
async fn twilio_gets_basic_auth_and_the_form_waits_out_a_429_and_keeps_21211_permanent() {
    let sms = HttpServer::start(|req| {
        if req.form("To").as_deref() == Some("+15005550001") {
            (400, vec![], r#"{"code":21211,"message":"The 'To' number +15005550001 is not a valid phone number.","more_info":"https://www.twilio.com/docs/errors/21211","status":400}"#.into())
        } else {
            (201, vec![], r#"{"sid":"SMabc123","status":"queued","num_segments":"1","error_code":null}"#.into())
        }
    })
    .await;
    sms.queue((
        429,
        vec![("Retry-After", "40".into())],
        r#"{"code":20429,"message":"Too Many Requests","status":429}"#.into(),
    ));
    let setup = Setup::new(common::store::Kind::Sqlite);
    let clock = Arc::new(ManualClock::new(now()));
    let people = r#"
[[contacts]]
name = "erin"
phone = "+4915112345678"
lists = ["operations"]
channels = ["sms"]

[[contacts]]
name = "frank"
phone = "+15005550001"
lists = ["operations"]
channels = ["sms"]
"#;
    std::fs::write(setup.path("token"), "tok2\n").unwrap();
    let cfg = format!(
        "{people}[notify.sms]\nkind = \"twilio\"\nbase_url = \"{}\"\naccount_sid = \"AC999\"\nauth_token_file = \"token\"\nfrom = \"+15005550006\"\n",
        sms.url()
    );
    let engine = setup.engine(&setup.config(&cfg), clock.clone()).await;
    let incident = declare(&engine, "sev1").await;
    let c = engine.compose(&incident, Stage::Initial, &["operations".into()], "").await.unwrap();
    engine.queue_notice(&c, "alice", None).await.unwrap();
    let d = Deliverer::new(&engine);
    // Rows go in key order: erin first (the queued 429), then frank (21211).
    let first = d.round().await.unwrap();
    assert_eq!((first.retrying, first.failed), (1, 1), "{first:?}");
    let erin = |rows: &[warroom::model::comms::OutboxRow]| {
        rows.iter().find(|r| r.recipient == "erin").cloned().unwrap()
    };
    let rows = engine.outbox(None).await.unwrap();
    let wait = erin(&rows).next_attempt.unwrap() - now();
    assert_eq!(wait.num_seconds(), 40, "Retry-After is honoured");
    clock.advance(Duration::from_secs(39));
    assert_eq!(d.round().await.unwrap().attempted(), 0);
    clock.advance(Duration::from_secs(1));
    assert_eq!(d.round().await.unwrap().delivered, 1);
    clock.advance(Duration::from_secs(3600));
    assert_eq!(d.round().await.unwrap().attempted(), 0, "a permanent refusal is not retried");
    let rows = engine.outbox(None).await.unwrap();
    let frank = rows.iter().find(|r| r.recipient == "frank").unwrap();
    assert_eq!((frank.state, frank.attempts), (DeliveryState::FailedPermanent, 1));
    assert!(frank.last_error.as_deref().unwrap().contains("21211"), "{frank:?}");
    assert_eq!(erin(&rows).provider_id.as_deref(), Some("SMabc123"));
    let requests = sms.requests();
    assert_eq!(requests.len(), 3);
    for r in &requests {
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/2010-04-01/Accounts/AC999/Messages.json");
        use base64::Engine as _;
        let auth = base64::engine::general_purpose::STANDARD.encode("AC999:tok2");
        assert_eq!(r.header("authorization"), Some(format!("Basic {auth}").as_str()));
        assert_eq!(r.form("From").as_deref(), Some("+15005550006"));
        assert!(r.form("Body").unwrap().starts_with(&incident.id));
    }
    // The retry sent the same bytes.
    assert_eq!(requests[0].body, requests[2].body);
}

#[tokio::test]
async fn slack_and_teams_webhooks_receive_their_shapes() {
    let slack = HttpServer::start(|_| (200, vec![], "ok".into())).await;
    let teams = HttpServer::start(|_| (202, vec![], String::new())).await;
    let setup = Setup::new(common::store::Kind::Sqlite);
    std::fs::write(setup.path("slack-url"), format!("{}/services/T0/B0/x\n", slack.url())).unwrap();
    std::fs::write(setup.path("teams-url"), format!("{}/webhookb2/abc\n", teams.url())).unwrap();
    let clock = Arc::new(ManualClock::new(now()));
    let cfg = format!(
        "{PEOPLE}[notify.webhook.ops-room]\nkind = \"slack\"\nurl_file = \"slack-url\"\nlists = [\"technical\"]\n\n[notify.webhook.exec-room]\nkind = \"teams\"\nurl_file = \"teams-url\"\nlists = [\"executive\"]\n"
    );
    let engine = setup.engine(&setup.config(&cfg), clock).await;
    let incident = declare(&engine, "sev2").await;
    let c = engine.compose(&incident, Stage::Initial, &[], "Failing over now").await.unwrap();
    engine.queue_notice(&c, "alice", None).await.unwrap();
    deliver_all(&Deliverer::new(&engine)).await;
    let s = slack.requests();
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].path, "/services/T0/B0/x");
    let body = s[0].json();
    assert!(body["text"].as_str().unwrap().contains("Failing over now"));
    assert_eq!(body["blocks"][0]["text"]["type"], "mrkdwn");
    let t = teams.requests();
    assert_eq!(t.len(), 1);
    let card = &t[0].json()["attachments"][0];
    assert_eq!(card["contentType"], "application/vnd.microsoft.card.adaptive");
    assert!(card["content"]["body"][0]["text"].as_str().unwrap().contains(&incident.id));
}

#[tokio::test]
async fn a_list_of_ones_own_reads_the_external_wording_when_named_so_and_a_typo_is_warned() {
    let setup = Setup::new(common::store::Kind::Sqlite);
    let people = "[notify]\nexternal_lists = [\"external\", \"press\"]\n\n[notify.stages.initial]\nlists = [\"technical\", \"press\"]\n\n[notify.file]\npath = \"notices.log\"\n\n[[contacts]]\nname = \"pat\"\nemail = \"pat@news.example\"\nlists = [\"press\"]\n\n[[contacts]]\nname = \"tom\"\nemail = \"tom@example.com\"\nlists = [\"technical\", \"externl\"]\n";
    let config = setup.config(&format!("{people}{}", email_channel(free_port())));
    let loaded = config::load(&config, &ProcessEnv).unwrap_or_else(|e| panic!("{e}"));
    let warning =
        loaded.report.warnings().find(|w| w.message.contains("\"externl\"")).expect("the typo is warned");
    assert_eq!(
        warning.help.as_deref(),
        Some("did you mean \"external\"? Or name it in [notify.stages.STAGE] lists")
    );
    let engine = Engine::open_with_clock(loaded.config, Arc::new(ManualClock::new(now()))).await.unwrap();
    let incident = declare(&engine, "sev1").await;
    let c = engine.compose(&incident, Stage::Initial, &[], "").await.unwrap();
    let audience = |who: &str| c.recipients.iter().find(|r| r.name == who).map(|r| r.audience);
    assert_eq!(audience("pat"), Some(warroom::model::comms::Audience::External));
    assert_eq!(audience("tom"), Some(warroom::model::comms::Audience::Internal));
}

crate::on_both_stores! {
#[tokio::test]
async fn quiet_hours_hold_a_sev3_and_not_a_sev1(store) {
    let smtp = SmtpServer::start();
    let setup = Setup::new(store);
    let clock = Arc::new(ManualClock::new(now()));
    // 22:04 UTC is 23:04 in Berlin: inside 22:00-07:00.
    let people = r#"
[[contacts]]
name = "gina"
email = "gina@example.com"
lists = ["technical"]
quiet_hours = "22:00-07:00"
time_zone = "Europe/Berlin"
"#;
    let engine = setup.engine(&setup.config(&format!("{people}{}", email_channel(smtp.port))), clock).await;
    let minor = declare(&engine, "sev3").await;
    let c = engine.compose(&minor, Stage::Initial, &[], "").await.unwrap();
    assert!(c.recipients[0].quiet);
    assert!(c.plan_lines().iter().any(|l| l.contains("quiet hours")), "{:?}", c.plan_lines());
    engine.queue_notice(&c, "alice", None).await.unwrap();
    let major = declare(&engine, "sev1").await;
    let c = engine.compose(&major, Stage::Initial, &[], "").await.unwrap();
    assert!(!c.recipients[0].quiet);
    engine.queue_notice(&c, "alice", None).await.unwrap();
    deliver_all(&Deliverer::new(&engine)).await;
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].header("Subject").unwrap().contains(&major.id));
    let rows = engine.outbox(Some(&minor.id)).await.unwrap();
    assert_eq!(rows[0].state, DeliveryState::SuppressedQuietHours);
}
}

crate::on_both_stores! {
/// The server is down while a notice is sent from the command line; the deliverer is killed
/// while it retries and started again; the server comes back: each message arrives once.
#[tokio::test]
async fn a_notice_survives_a_dead_server_and_a_killed_deliverer_and_arrives_once(store) {
    let port = free_port();
    let setup = Setup::new(store);
    let text = format!("[notify]\nsend_wait = \"2s\"\n\n{PEOPLE}{}", email_channel(port));
    let config = setup.config(&text);
    let state = setup.path("state");
    let engine = setup.engine(&config, Arc::new(ManualClock::new(chrono::Utc::now()))).await;
    let incident = declare(&engine, "sev1").await;
    engine.close().await;
    let out = common::warroom(&state)
        .args([
            "--config",
            config.to_str().unwrap(),
            "notify",
            "send",
            "--stage",
            "initial",
            "--yes",
            "--message",
            "DB down",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stderr.contains("email 2") || stdout.contains("email 2"), "{stdout}\n{stderr}");
    assert!(format!("{stdout}{stderr}").contains("2 still queued"), "{stdout}\n{stderr}");
    // The outbox says it is retrying (exit 1).
    let out = common::warroom(&state)
        .args(["--config", config.to_str().unwrap(), "notify", "outbox"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains("failed-retrying"));
    // A deliverer runs while the server is down, and is killed.
    let mut deliverer = std::process::Command::new(env!("CARGO_BIN_EXE_warroom"))
        .args(["--config", config.to_str().unwrap(), "notify", "deliver"])
        .env("HOME", &state)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    deliverer.kill().unwrap();
    deliverer.wait().unwrap();
    // The server comes back on its port; a new deliverer delivers.
    let smtp = SmtpServer::start_at(port);
    let mut deliverer = std::process::Command::new(env!("CARGO_BIN_EXE_warroom"))
        .args(["--config", config.to_str().unwrap(), "notify", "deliver"])
        .env("HOME", &state)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while smtp.mails().len() < 2 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Give a second delivery every chance to happen, then stop.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    deliverer.kill().unwrap();
    deliverer.wait().unwrap();
    let mails = smtp.mails();
    let mut ids: Vec<String> = mails.iter().map(|m| m.header("Message-ID").unwrap()).collect();
    ids.sort();
    assert_eq!(ids.len(), 2, "{ids:?}");
    ids.dedup();
    assert_eq!(ids.len(), 2, "each message once");
    let out = common::warroom(&state)
        .args(["--config", config.to_str().unwrap(), "notify", "outbox", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let _ = incident;
}
}

crate::on_both_stores! {
/// The one window: a deliverer that dies after claiming a row and before sending sends
/// nothing twice; one that dies after the server accepted and before its write does (the
/// lease runs out and the row goes again, same Message-ID); one that dies after its write
/// sends nothing again. Each case against the real server.
#[tokio::test]
async fn a_crash_repeats_a_message_only_between_the_servers_acceptance_and_our_write(store) {
    use warroom::engine::comms::channels::{Answer, Senders};
    let smtp = SmtpServer::start();
    let setup = Setup::new(store);
    let clock = Arc::new(ManualClock::new(now()));
    let people = r#"
[[contacts]]
name = "before"
email = "before@example.com"
lists = ["technical"]

[[contacts]]
name = "between"
email = "between@example.com"
lists = ["technical"]

[[contacts]]
name = "after"
email = "after@example.com"
lists = ["technical"]
"#;
    let config = setup.config(&format!("{people}{}", email_channel(smtp.port)));
    let engine = setup.engine(&config, clock.clone()).await;
    let incident = declare(&engine, "sev1").await;
    let c = engine.compose(&incident, Stage::Initial, &["technical".into()], "").await.unwrap();
    engine.queue_notice(&c, "alice", None).await.unwrap();
    // A second process on the same state: the one that dies.
    let store = setup.store.open(setup.dir.path(), &setup.path("state")).await;
    let until = now() + chrono::Duration::seconds(120);
    let claimed = store.claim_due("dying", now(), until, 10).await.unwrap();
    assert_eq!(claimed.len(), 3);
    let senders = Senders::new(Arc::new(engine.config().notify.clone()));
    for row in &claimed {
        match row.recipient.as_str() {
            // Dies before sending: nothing reached the server.
            "before" => {}
            // The server accepts; the process dies before its write.
            "between" => assert!(matches!(senders.send(row).await, Answer::Accepted { .. })),
            // The server accepts and the write is made; then it dies.
            _ => {
                let answer = senders.send(row).await;
                let Answer::Accepted { state, provider_id } = answer else { panic!("{answer:?}") };
                let attempt = warroom::store::outbox::Attempt::Accepted { state, provider_id };
                assert!(store.settle_attempt(&row.key, "dying", &attempt, None, now()).await.unwrap());
            }
        }
    }
    // While the lease holds, nobody else touches the rows.
    let d = Deliverer::new(&engine);
    assert_eq!(d.round().await.unwrap().attempted(), 0);
    // The lease runs out: the survivor delivers what the dead one held.
    clock.advance(Duration::from_secs(121));
    deliver_all(&d).await;
    clock.advance(Duration::from_secs(3600));
    deliver_all(&d).await;
    let count = |who: &str| smtp.mails().iter().filter(|m| m.to.iter().any(|t| t.starts_with(who))).count();
    assert_eq!(count("before@"), 1, "died before sending: sent once");
    assert_eq!(count("after@"), 1, "died after its write: sent once");
    assert_eq!(count("between@"), 2, "the one window: accepted, then died before the write");
    let ids: Vec<_> = smtp
        .mails()
        .iter()
        .filter(|m| m.to[0].starts_with("between@"))
        .map(|m| m.header("Message-ID"))
        .collect();
    assert_eq!(ids[0], ids[1], "the repeat carries the same Message-ID");
    assert!(engine.outbox(None).await.unwrap().iter().all(|r| r.state == DeliveryState::Sent));
}
}

#[tokio::test]
async fn notify_test_sends_one_message_to_the_test_recipient_and_says_what_became_of_it() {
    let smtp = SmtpServer::start();
    let setup = Setup::new(common::store::Kind::Sqlite);
    let config = setup
        .config(&format!("[notify]\ntest_recipient = \"alice\"\n\n{PEOPLE}{}", email_channel(smtp.port)));
    let state = setup.path("state");
    let out = common::warroom(&state)
        .args(["--config", config.to_str().unwrap(), "notify", "test", "email"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("✔ sent alice <alice@example.com>"), "{stdout}");
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].header("Subject").as_deref(), Some("[warroom] test message (email)"));
    // A channel that is not configured says what to add.
    let out = common::warroom(&state)
        .args(["--config", config.to_str().unwrap(), "notify", "test", "sms"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("add [notify.sms]"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // And the test is audited.
    let out = common::warroom(&state)
        .args(["--config", config.to_str().unwrap(), "audit", "list"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("notify.test"));
}

crate::on_both_stores! {
/// The outbox is shared: two deliverers on two hosts (WARROOM_HOST) work one outbox at once,
/// and each of forty messages is sent once, by one of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hosts_delivering_at_once_send_each_message_once(store) {
    let smtp = SmtpServer::start();
    let setup = Setup::new(store);
    let contacts: String = (0..40)
        .map(|i| format!("[[contacts]]\nname = \"p{i}\"\nemail = \"p{i}@example.com\"\nlists = [\"technical\"]\n\n"))
        .collect();
    let config = setup.config(&format!("{contacts}{}", email_channel(smtp.port)));
    let engine = setup.engine(&config, Arc::new(ManualClock::new(chrono::Utc::now()))).await;
    let incident = declare(&engine, "sev1").await;
    let c = engine.compose(&incident, Stage::Initial, &["technical".into()], "alice").await.unwrap();
    let rows = engine.queue_notice(&c, "alice", None).await.unwrap();
    assert_eq!(rows.len(), 40);
    let deliverer = |host: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_warroom"))
            .args(["--config", config.to_str().unwrap(), "notify", "deliver"])
            .env("HOME", setup.path("state"))
            .env("WARROOM_HOST", host)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let (mut a, mut b) = (deliverer("host-a"), deliverer("host-b"));
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while smtp.mails().len() < 40 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Give a second sending every chance to happen, then stop both.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for d in [&mut a, &mut b] {
        d.kill().unwrap();
        d.wait().unwrap();
    }
    let mut to: Vec<String> = smtp.mails().iter().map(|m| m.to.join(",")).collect();
    assert_eq!(to.len(), 40, "every message arrived");
    to.sort();
    to.dedup();
    assert_eq!(to.len(), 40, "each once");
    let outbox = engine.outbox(Some(&incident.id)).await.unwrap();
    assert!(outbox.iter().all(|r| r.state == DeliveryState::Sent), "{outbox:#?}");
}
}
