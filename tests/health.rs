//! Health monitoring against real things on loopback: the simulated estate's HTTP endpoints,
//! TCP listeners and closed ports, real child processes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use warroom::clock::SystemClock;
use warroom::config::console::MapEnv;
use warroom::config::health::{HealthCheck, HttpProbe, Probe, StatusSpec};
use warroom::config::{Config, load_str};
use warroom::engine::monitor::{Monitor, MonitorEvent, SystemHealth};
use warroom::engine::probe::Prober;
use warroom::model::{HealthState, Outcome, Signal, Verdict};
use warroom::sim::{Fault, SimEstate};

fn http(url: &str, timeout_ms: u64) -> HealthCheck {
    HealthCheck {
        probe: Probe::Http(HttpProbe {
            url: url.to_owned(),
            method: "GET".into(),
            headers: vec![],
            expect_status: StatusSpec::success(),
            body_contains: None,
        }),
        interval: Duration::from_secs(1),
        timeout: Duration::from_millis(timeout_ms),
    }
}

fn with_http(check: HealthCheck, f: impl FnOnce(&mut HttpProbe)) -> HealthCheck {
    let HealthCheck { probe: Probe::Http(mut h), interval, timeout } = check else { unreachable!() };
    f(&mut h);
    HealthCheck { probe: Probe::Http(h), interval, timeout }
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[tokio::test]
async fn http_probes_succeed_fail_and_time_out() {
    let sim = SimEstate::start_independent(["api".to_owned()]).await.unwrap();
    let url = sim.handle().endpoint("api").unwrap();
    let prober = Prober::new().unwrap();

    let ok = prober.probe(&http(&url, 2000)).await;
    assert_eq!((ok.outcome, ok.detail.as_str()), (Outcome::Healthy, "200 OK"));

    let wrong_status =
        prober.probe(&with_http(http(&url, 2000), |h| h.expect_status = StatusSpec(vec![(204, 204)]))).await;
    assert_eq!(
        (wrong_status.outcome, wrong_status.detail.as_str()),
        (Outcome::Error, "status 200, expected 204")
    );

    let wrong_body =
        prober.probe(&with_http(http(&url, 2000), |h| h.body_contains = Some("green".into()))).await;
    assert_eq!(wrong_body.outcome, Outcome::Error);
    assert_eq!(wrong_body.detail, "status 200, but the body lacks \"green\"");

    sim.handle().set_fault("api", Fault::Erroring { fraction: 1.0 }).unwrap();
    let failing = prober.probe(&http(&url, 2000)).await;
    assert_eq!((failing.outcome, failing.detail.as_str()), (Outcome::Error, "status 500, expected 2xx"));

    sim.handle().replace_fault("api", Fault::Slow { latency: Duration::from_secs(3) }).unwrap();
    let started = Instant::now();
    let slow = prober.probe(&http(&url, 300)).await;
    assert_eq!((slow.outcome, slow.detail.as_str()), (Outcome::Unreachable, "timed out after 0.3s"));
    assert!(started.elapsed() < Duration::from_secs(2));

    let refused = prober.probe(&http(&format!("http://127.0.0.1:{}/health", closed_port()), 2000)).await;
    assert_eq!((refused.outcome, refused.detail.as_str()), (Outcome::Unreachable, "connection refused"));
}

#[tokio::test]
async fn tcp_probes_succeed_fail_and_time_out() {
    let prober = Prober::new().unwrap();
    let check = |address: String, timeout_ms| HealthCheck {
        probe: Probe::Tcp { address },
        interval: Duration::from_secs(1),
        timeout: Duration::from_millis(timeout_ms),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let ok = prober.probe(&check(addr.clone(), 1000)).await;
    assert_eq!((ok.outcome, ok.detail.as_str()), (Outcome::Healthy, "connected"));

    let refused = prober.probe(&check(format!("127.0.0.1:{}", closed_port()), 1000)).await;
    assert_eq!((refused.outcome, refused.detail.as_str()), (Outcome::Unreachable, "connection refused"));

    // A listener that never accepts: once its queue is full, new connections hang.
    let mut held = Vec::new();
    for _ in 0..1024 {
        match tokio::time::timeout(Duration::from_millis(100), tokio::net::TcpStream::connect(&addr)).await {
            Ok(Ok(s)) => held.push(s),
            _ => break,
        }
    }
    let hung = prober.probe(&check(addr, 300)).await;
    assert_eq!(
        (hung.outcome, hung.detail.as_str()),
        (Outcome::Unreachable, "timed out after 0.3s"),
        "{} connections held",
        held.len()
    );
}

#[tokio::test]
async fn command_probes_succeed_fail_and_are_killed_at_their_timeout() {
    let prober = Prober::new().unwrap();
    let check = |script: &str, timeout_ms| HealthCheck {
        probe: Probe::Command { program: "sh".into(), args: vec!["-c".into(), script.into()] },
        interval: Duration::from_secs(1),
        timeout: Duration::from_millis(timeout_ms),
    };
    let ok = prober.probe(&check("echo fine", 2000)).await;
    assert_eq!((ok.outcome, ok.detail.as_str()), (Outcome::Healthy, "exit 0: fine"));
    let failed = prober.probe(&check("echo 'replica lag 90s' >&2; exit 2", 2000)).await;
    assert_eq!((failed.outcome, failed.detail.as_str()), (Outcome::Error, "exit 2: replica lag 90s"));

    // Ignores SIGTERM, and leaves a child behind: both are killed with the group.
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let script = format!(
        "trap '' TERM; sh -c 'trap \"\" TERM; echo $$ > {}; exec sleep 30' & sleep 30",
        pidfile.display()
    );
    let started = Instant::now();
    let hung = prober.probe(&check(&script, 400)).await;
    assert_eq!(hung.outcome, Outcome::Unreachable);
    assert!(hung.detail.starts_with("timed out after 0.4s"), "{}", hung.detail);
    assert!(started.elapsed() < Duration::from_secs(3));
    let pid = std::fs::read_to_string(&pidfile).unwrap();
    assert!(
        common::process_gone(&pid, Duration::from_secs(1)).await,
        "the probe's child {pid} is still running"
    );

    let missing = prober
        .probe(&HealthCheck {
            probe: Probe::Command { program: "/nonexistent/check".into(), args: vec![] },
            ..check("", 500)
        })
        .await;
    assert_eq!(missing.outcome, Outcome::Error);
    assert!(missing.detail.contains("cannot run /nonexistent/check"), "{}", missing.detail);
}

/// A config whose systems are probed at the sim's endpoints every `interval_ms`.
fn estate_config(sim: &SimEstate, systems: &str, interval_ms: u64) -> Config {
    // Intervals under a second cannot be written in a config; they are set below.
    let mut text = "[health]\ntimeout = \"10s\"\nwindow = \"1m\"\n\n".to_owned();
    text.push_str(systems);
    let env = MapEnv::new([("HOME", "/tmp"), ("USER", "tester")]);
    let mut config = load_str(Path::new("/tmp/health-test.toml"), &text, &env).unwrap().config;
    let endpoints = sim.endpoints();
    for (system, settings) in config.estate.systems().iter().zip(config.systems.iter_mut()) {
        let url = endpoints.get(&system.name).unwrap();
        settings.health =
            Some(HealthCheck { interval: Duration::from_millis(interval_ms), ..http(url, 10_000) });
    }
    config
}

async fn next_health(
    rx: &mut tokio::sync::broadcast::Receiver<MonitorEvent>,
    within: Duration,
    want: impl Fn(&SystemHealth) -> bool,
) -> SystemHealth {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let event = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .expect("timed out waiting for the health monitor");
        if let Ok(MonitorEvent::Health { systems }) = event
            && let Some(found) = systems.into_iter().find(|s| want(s))
        {
            return found;
        }
    }
}

#[tokio::test]
async fn a_system_switched_down_is_refused_within_one_interval() {
    let sim = SimEstate::start_independent(["database".to_owned()]).await.unwrap();
    let config = estate_config(&sim, "[[systems]]\nname = \"database\"\ntier = 1\n", 200);
    let monitor = Monitor::start(&config, Arc::new(SystemClock), Prober::new().unwrap());
    let mut samples = monitor.samples();
    // Healthy first.
    loop {
        let s = samples.recv().await.unwrap();
        if s.outcome == Outcome::Healthy {
            break;
        }
    }
    sim.handle().set_fault("database", Fault::Down).unwrap();
    // Within one interval: at most the probe already under way when it switched reads
    // healthy, the next one is refused (an ordering, not a stopwatch; the speed of probing is
    // a benchmark's business).
    let mut healthy_after = 0;
    loop {
        let s = tokio::time::timeout(Duration::from_secs(2), samples.recv()).await.unwrap().unwrap();
        if s.outcome == Outcome::Unreachable {
            assert_eq!(s.detail, "connection refused");
            break;
        }
        healthy_after += 1;
    }
    assert!(healthy_after <= 1, "{healthy_after} healthy samples after the switch");
    let mut events = monitor.subscribe();
    let down = next_health(&mut events, Duration::from_secs(5), |h| h.state == HealthState::Down).await;
    assert!(down.outage_start.is_some(), "the outage start feeds the RTO clock");
}

#[tokio::test]
async fn slow_and_erroring_recommend_failover_with_all_three_reasons() {
    let sim = SimEstate::start_independent(["api".to_owned()]).await.unwrap();
    let system = "[[systems]]\nname = \"api\"\ntier = 1\n[systems.failover]\nsteps = [ { name = \"Switch\", run = [\"true\"] } ]\n";
    let config = estate_config(&sim, system, 250);
    sim.handle().set_fault("api", Fault::Slow { latency: Duration::from_millis(6000) }).unwrap();
    sim.handle().set_fault("api", Fault::Erroring { fraction: 0.2 }).unwrap();
    let monitor = Monitor::start(&config, Arc::new(SystemClock), Prober::new().unwrap());
    let mut events = monitor.subscribe();
    let h = next_health(&mut events, Duration::from_secs(20), |h| {
        h.decision.verdict == Verdict::FailoverRecommended
    })
    .await;
    let d = &h.decision;
    assert!(d.score >= 5, "{d:?}");
    let reasons: Vec<(Signal, bool)> = d.reasons.iter().map(|r| (r.signal, r.failing)).collect();
    assert_eq!(
        reasons,
        vec![(Signal::Availability, true), (Signal::ResponseTime, true), (Signal::ErrorRate, true)]
    );
    let measured: Vec<String> = d.reasons.iter().map(|r| r.measured_text()).collect();
    assert!(measured[0].ends_with('%') && measured[0] != "100%", "{measured:?}");
    assert!(measured[1].starts_with("6.0s") || measured[1].starts_with("6.1s"), "p95 near 6 s: {measured:?}");
    assert_eq!(measured[2], "20%", "exactly a fifth of the answers fail");
    assert_eq!(d.score, 7);
}

#[tokio::test]
async fn a_down_database_makes_the_api_impacted_by_it() {
    let sim = SimEstate::start([
        ("database".to_owned(), vec![]),
        ("api".to_owned(), vec!["database".to_owned()]),
        ("wiki".to_owned(), vec![]),
    ])
    .await
    .unwrap();
    let systems = "[[systems]]\nname = \"database\"\ntier = 1\n\n[[systems]]\nname = \"api\"\ntier = 1\ndepends_on = [\"database\"]\n\n[[systems]]\nname = \"wiki\"\ntier = 4\n";
    let config = estate_config(&sim, systems, 100);
    let monitor = Monitor::start(&config, Arc::new(SystemClock), Prober::new().unwrap());
    let mut events = monitor.subscribe();
    next_health(&mut events, Duration::from_secs(5), |h| h.name == "api" && h.state == HealthState::Healthy)
        .await;
    sim.handle().set_fault("database", Fault::Down).unwrap();
    let api =
        next_health(&mut events, Duration::from_secs(10), |h| h.name == "api" && h.impacted_by.is_some())
            .await;
    assert_eq!(api.impacted_by, Some(0), "impacted by the database");
    assert!(matches!(api.state, HealthState::Degraded | HealthState::Down));
    assert!(
        !api.decision.verdict.is_action(),
        "one cause, one recommendation: the database's, not the api's"
    );
    let all = monitor.snapshot().await;
    assert_eq!(all[2].impacted_by, None, "the wiki needs nothing");
}
