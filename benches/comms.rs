//! Crisis communications throughput: 1,000 emails through a loopback SMTP server and 1,000 SMS
//! through a loopback Twilio-shaped gateway (the demo's own servers), delivered from the durable
//! outbox by the deliverer (pooled SMTP connections, kept-alive HTTP, several at once), against
//! the same messages sent the way the simplest tools send them (one connection per message, one
//! after another) in the same run. Also: the outbox's durable write (a row and its audit record,
//! fsync'd) on its own and under load.
//!
//!     cargo bench --bench comms
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::{Duration, Instant};

use lettre::AsyncTransport;
use warroom::config::{self, ProcessEnv};
use warroom::engine::Engine;
use warroom::engine::comms::deliver::Deliverer;
use warroom::model::comms::{OutboxRow, Stage};
use warroom::model::failover::{IncidentKind, Severity};

const N: usize = 1000;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn config_text(dir: &Path, smtp: std::net::SocketAddr, sms: &str) -> String {
    let mut t = format!(
        "[console]\noperator = \"bench\"\nstate_dir = \"{}\"\n\n[[systems]]\nname = \"database\"\ntier = 1\n\n\
         [notify]\nsend_wait = \"1s\"\n\n[notify.email]\nhost = \"{}\"\nport = {}\ntls = \"none\"\nfrom = \"warroom <warroom@example.com>\"\npool = 4\n\n\
         [notify.sms]\nkind = \"twilio\"\nbase_url = \"{sms}\"\naccount_sid = \"ACbench\"\nauth_token_file = \"token\"\nfrom = \"+15005550006\"\n\n",
        dir.join("state").display(),
        smtp.ip(),
        smtp.port()
    );
    for i in 0..N {
        t.push_str(&format!("[[contacts]]\nname = \"mail{i}\"\nemail = \"mail{i}@example.com\"\nlists = [\"technical\"]\nchannels = [\"email\"]\n\n"));
        t.push_str(&format!("[[contacts]]\nname = \"sms{i}\"\nphone = \"+49151{i:08}\"\nlists = [\"technical\"]\nchannels = [\"sms\"]\n\n"));
    }
    t
}

/// The outbox's way: compose, queue (one write), deliver until every row is accepted.
async fn pooled(engine: &Engine) -> (Duration, Duration, Vec<Duration>, Vec<OutboxRow>) {
    let incident = engine
        .declare_incident(IncidentKind::Infrastructure, Severity(1), &["database".into()], "bench")
        .await
        .unwrap();
    let c = engine.compose(&incident, Stage::Initial, &["technical".into()], "bench").await.unwrap();
    let started = Instant::now();
    let rows = engine.queue_notice(&c, "bench", None).await.unwrap();
    let enqueued = started.elapsed();
    let deliverer = Deliverer::new(engine);
    loop {
        let r = deliverer.round().await.unwrap();
        if r.attempted() == 0 {
            break;
        }
    }
    let total = started.elapsed();
    let done = engine.outbox(Some(&incident.id)).await.unwrap();
    assert_eq!(done.iter().filter(|r| r.state.delivered()).count(), 2 * N, "every message accepted");
    let mut latency: Vec<Duration> = done
        .iter()
        .filter_map(|r| r.sent_at.map(|s| (s - r.queued_at).to_std().unwrap_or_default()))
        .collect();
    latency.sort();
    (total, enqueued, latency, rows)
}

/// The simplest tools' way: a new connection for every message, one after another.
async fn one_connection_each(rows: &[OutboxRow], smtp: std::net::SocketAddr, sms: &str) -> Duration {
    let started = Instant::now();
    for r in rows {
        match r.channel {
            warroom::model::comms::Channel::Email => {
                let transport = lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous(
                    smtp.ip().to_string(),
                )
                .port(smtp.port())
                .tls(lettre::transport::smtp::client::Tls::None)
                .build();
                let envelope = lettre::address::Envelope::new(
                    Some("warroom@example.com".parse().unwrap()),
                    vec![r.address.parse().unwrap()],
                )
                .unwrap();
                transport.send_raw(&envelope, &r.body).await.unwrap();
            }
            _ => {
                let client = reqwest::Client::new();
                let response = client
                    .post(format!("{sms}/2010-04-01/Accounts/ACbench/Messages.json"))
                    .basic_auth("ACbench", Some("token"))
                    .form(&[
                        ("To", r.address.as_str()),
                        ("From", "+15005550006"),
                        ("Body", &String::from_utf8_lossy(&r.body)),
                    ])
                    .send()
                    .await
                    .unwrap();
                assert!(response.status().is_success());
            }
        }
    }
    started.elapsed()
}

/// One row and its audit record, fsync'd: alone, and with 8 writers at once.
async fn durable_writes(engine: &Engine) -> (Vec<Duration>, Vec<Duration>) {
    let incident = engine
        .declare_incident(IncidentKind::Infrastructure, Severity(1), &["database".into()], "bench")
        .await
        .unwrap();
    let c = engine.compose(&incident, Stage::Update, &["technical".into()], "").await.unwrap();
    let mut one = c.clone();
    one.recipients.truncate(1);
    let mut alone = Vec::new();
    for i in 0..300 {
        let mut x = one.clone();
        x.notice = format!("bench-alone-{i}");
        let t = Instant::now();
        engine.queue_test(&x).await.unwrap();
        alone.push(t.elapsed());
    }
    let loaded: Vec<Duration> = futures_util::future::join_all((0..8).map(|w| {
        let (engine, one) = (engine.clone(), one.clone());
        async move {
            let mut times = Vec::new();
            for i in 0..100 {
                let mut x = one.clone();
                x.notice = format!("bench-load-{w}-{i}");
                let t = Instant::now();
                engine.queue_test(&x).await.unwrap();
                times.push(t.elapsed());
            }
            times
        }
    }))
    .await
    .into_iter()
    .flatten()
    .collect();
    alone.sort();
    let mut loaded = loaded;
    loaded.sort();
    (alone, loaded)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let sinks = dir.path().join("sinks");
        std::fs::create_dir_all(&sinks).unwrap();
        let (smtp, _a) = warroom::sim::sinks::smtp(&sinks).await.unwrap();
        let (sms, _b) = warroom::sim::sinks::sms(&sinks).await.unwrap();
        std::fs::write(dir.path().join("token"), "token\n").unwrap();
        let path = dir.path().join("warroom.toml");
        std::fs::write(&path, config_text(dir.path(), smtp, &sms)).unwrap();
        let loaded = config::load(&path, &ProcessEnv).unwrap_or_else(|e| panic!("{e}"));
        let engine = Engine::open(loaded.config).await.unwrap();

        let (pooled_total, enqueued, latency, rows) = pooled(&engine).await;
        let baseline = one_connection_each(&rows, smtp, &sms).await;
        let (alone, loaded) = durable_writes(&engine).await;

        let rate = |d: Duration| (2 * N) as f64 / d.as_secs_f64();
        println!("comms: {N} emails + {N} SMS to loopback servers");
        println!(
            "  outbox, pooled      {:>8.2} s  {:>7.0} msg/s  (enqueue of all {} rows in one write: {})",
            pooled_total.as_secs_f64(),
            rate(pooled_total),
            2 * N,
            ms(enqueued)
        );
        println!(
            "  one connection each {:>8.2} s  {:>7.0} msg/s  (baseline, same messages)",
            baseline.as_secs_f64(),
            rate(baseline)
        );
        println!("  speed-up            {:>8.2}x (target ≥ 5x)", baseline.as_secs_f64() / pooled_total.as_secs_f64());
        println!(
            "  enqueue→accepted    p50 {}  p99 {}  (a burst of {} queued at once)",
            ms(percentile(&latency, 0.5)),
            ms(percentile(&latency, 0.99)),
            2 * N
        );
        println!(
            "  durable write (row + audit record, fsync): alone p50 {} p99 {}; 8 writers at once p50 {} p99 {} (target p99 < 1 ms)",
            ms(percentile(&alone, 0.5)),
            ms(percentile(&alone, 0.99)),
            ms(percentile(&loaded, 0.5)),
            ms(percentile(&loaded, 0.99))
        );
        println!(
            "  enqueue: {} per row ({} rows and the notice's audit record in one write)",
            ms(enqueued / (2 * N) as u32),
            2 * N
        );
        engine.close().await;
    });
}
