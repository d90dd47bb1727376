//! How many systems one monitor keeps up with: N simulated endpoints on loopback, each probed
//! over HTTP every second for a while.
//!
//!     cargo bench --bench probe_load -- 500 2000 5000      # 60 s each
//!     PROBE_SECONDS=20 cargo bench --bench probe_load -- 5000
//!
//! The estate is served by a second process (this program, re-run with `--serve N`), so the
//! CPU and memory figures are the monitor's alone. For each N it reports the probes/s achieved,
//! the p99 lateness of probes against their schedule, CPU time per probe, peak RSS and RSS
//! growth per system; then, in the same run, what `wrk` reaches against one of the same
//! endpoints (the loopback ceiling), if wrk is installed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use warroom::clock::SystemClock;
use warroom::config::console::MapEnv;
use warroom::config::health::{HealthCheck, HttpProbe, Probe, StatusSpec};
use warroom::config::load_str;
use warroom::engine::monitor::Monitor;
use warroom::engine::probe::Prober;
use warroom::sim::SimEstate;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    if args.first().map(String::as_str) == Some("--serve") {
        let n: usize = args[1].parse().unwrap();
        serve(n);
        return;
    }
    let seconds: u64 = std::env::var("PROBE_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    let sizes: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() { vec![500, 2000, 5000] } else { sizes };
    println!(
        "{:>6} {:>10} {:>14} {:>16} {:>12} {:>16}",
        "N", "probes/s", "p99 late ms", "CPU ms/probe", "peak RSS", "RSS/system"
    );
    let last = sizes.last().copied();
    for n in sizes {
        println!("{}", measure(n, seconds, Some(n) == last));
    }
}

/// The estate of `n` systems, serving until stdin closes; prints its endpoints, one per line.
fn serve(n: usize) {
    raise_nofile();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let sim = SimEstate::start_independent((0..n).map(|i| format!("sys-{i:05}"))).await.unwrap();
        let mut out = std::io::stdout().lock();
        for (_, url) in sim.endpoints() {
            writeln!(out, "{url}").unwrap();
        }
        writeln!(out, "ready").unwrap();
        out.flush().unwrap();
        drop(out);
        let _ = tokio::task::spawn_blocking(|| {
            let mut s = String::new();
            let _ = std::io::stdin().read_line(&mut s);
        })
        .await;
    });
}

/// One run with `n` systems; with `wrk`, the loopback ceiling too, before the estate stops.
fn measure(n: usize, seconds: u64, wrk: bool) -> String {
    let mut server = Command::new(std::env::current_exe().unwrap())
        .args(["--serve", &n.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut urls = Vec::new();
    for line in BufReader::new(server.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if line == "ready" {
            break;
        }
        urls.push(line);
    }
    let first = urls[0].clone();

    raise_nofile();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let rss_before = rss_kib();
    let row = rt.block_on(async move {
        let mut text = String::from("[health]\nwindow = \"1m\"\nconcurrency = 10000\n");
        for i in 0..n {
            text.push_str(&format!("[[systems]]\nname = \"sys-{i:05}\"\ntier = 2\n"));
        }
        let env = MapEnv::new([("HOME", "/tmp"), ("USER", "bench")]);
        let mut config = load_str(Path::new("/tmp/probe-load.toml"), &text, &env).unwrap().config;
        for (settings, url) in config.systems.iter_mut().zip(&urls) {
            settings.health = Some(HealthCheck {
                probe: Probe::Http(HttpProbe {
                    url: url.clone(),
                    method: "GET".into(),
                    headers: vec![],
                    expect_status: StatusSpec::success(),
                    body_contains: None,
                }),
                interval: Duration::from_secs(1),
                timeout: Duration::from_secs(5),
            });
        }
        let monitor = Monitor::start(&config, Arc::new(SystemClock), Prober::new().unwrap());
        let mut samples = monitor.samples();
        // Warm up: connections opened, windows filling.
        let warm = Instant::now() + Duration::from_secs(5);
        while Instant::now() < warm {
            let _ = tokio::time::timeout(Duration::from_millis(100), samples.recv()).await;
        }
        let cpu_before = cpu_ms();
        let started = Instant::now();
        let mut count = 0u64;
        let mut failed = 0u64;
        let mut lateness: Vec<u64> = Vec::new();
        while started.elapsed() < Duration::from_secs(seconds) {
            match tokio::time::timeout(Duration::from_millis(200), samples.recv()).await {
                Ok(Ok(s)) => {
                    count += 1;
                    if s.outcome != warroom::model::Outcome::Healthy {
                        failed += 1;
                    }
                    lateness.push(s.lateness.as_micros() as u64);
                }
                Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(missed))) => count += missed,
                _ => {}
            }
        }
        let elapsed = started.elapsed().as_secs_f64();
        let cpu = cpu_ms() - cpu_before;
        lateness.sort_unstable();
        let p99 = lateness.get(lateness.len() * 99 / 100).copied().unwrap_or(0) as f64 / 1000.0;
        let rss_after = rss_kib();
        drop(monitor);
        let note = if failed > 0 { format!("  ({failed} probes failed)") } else { String::new() };
        format!(
            "{n:>6} {:>10.0} {:>14.1} {:>16.3} {:>9} MiB {:>12.1} KiB{note}",
            count as f64 / elapsed,
            p99,
            cpu as f64 / count.max(1) as f64,
            peak_rss_kib() / 1024,
            rss_after.saturating_sub(rss_before) as f64 / n as f64,
        )
    });
    let row = if wrk { format!("{row}\n{}", ceiling(&first)) } else { row };
    drop(server.stdin.take());
    let _ = server.wait();
    row
}

/// What wrk reaches against one endpoint: the loopback ceiling for this server, this machine.
fn ceiling(url: &str) -> String {
    let Ok(out) = Command::new("wrk").args(["-t2", "-c64", "-d5s", url]).output() else {
        return "wrk is not installed (apt install wrk): no loopback ceiling measured".to_owned();
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let rate =
        text.lines().find(|l| l.trim_start().starts_with("Requests/sec")).unwrap_or("Requests/sec: ?").trim();
    format!("wrk -t2 -c64 -d5s against one endpoint of the same server (keep-alive): {rate}")
}

fn cpu_ms() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    ticks * 1000 / 100
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn rss_kib() -> u64 {
    status_kib("VmRSS:")
}

fn peak_rss_kib() -> u64 {
    status_kib("VmHWM:")
}

fn raise_nofile() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let l = getrlimit(Resource::Nofile);
    if let Some(max) = l.maximum {
        let _ = setrlimit(Resource::Nofile, Rlimit { current: Some(max.min(1 << 20)), maximum: Some(max) });
    }
}
