//! Recovery plans: computing one (waves and the critical-path forecast) for 10,000 systems with
//! random acyclic dependencies; and running one of 200 systems whose procedures each sleep
//! 100 ms, against its critical path.
//!
//!     cargo bench --bench recovery
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use warroom::model::DependencyGraph;
use warroom::model::recovery::plan;

fn rng(seed: &mut u64) -> u64 {
    *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    *seed >> 33
}

fn plan_10k() {
    let n = 10_000;
    let mut seed = 42;
    let nodes: Vec<(String, Vec<String>)> = (0..n)
        .map(|i| {
            let deps = if i == 0 {
                Vec::new()
            } else {
                (0..rng(&mut seed) % 4).map(|_| format!("s{}", rng(&mut seed) as usize % i)).collect()
            };
            (format!("s{i}"), deps)
        })
        .collect();
    let (graph, _) = DependencyGraph::build(nodes);
    let affected: Vec<usize> = (0..n).collect();
    let durations: Vec<Duration> = (0..n).map(|_| Duration::from_secs(10 + rng(&mut seed) % 600)).collect();
    let mut times = Vec::new();
    let mut waves = 0;
    for _ in 0..21 {
        let started = Instant::now();
        let p = plan(&graph, &affected, |i| durations[i], |_| Some(Duration::from_secs(3600))).unwrap();
        times.push(started.elapsed());
        waves = p.waves.len();
    }
    times.sort();
    println!(
        "plan for {n} systems ({} dependencies, {waves} waves): median {:.1} ms, max {:.1} ms (target < 50 ms)",
        (0..n).map(|i| graph.depends_on(i).len()).sum::<usize>(),
        times[times.len() / 2].as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3
    );
}

fn run_200() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        // 200 systems in 5 waves of 40: each depends on one or two of the wave before.
        let (waves, per) = (5usize, 40usize);
        let mut seed = 7;
        let mut text = format!(
            "[console]\noperator = \"bench\"\nstate_dir = \"{}\"\n[approval]\nrecover = \"none\"\nfailover = \"none\"\n",
            dir.path().join("state").display()
        );
        for w in 0..waves {
            for k in 0..per {
                let mut deps: Vec<String> = if w == 0 {
                    Vec::new()
                } else {
                    (0..1 + rng(&mut seed) % 2).map(|_| format!("\"w{}s{}\"", w - 1, rng(&mut seed) as usize % per)).collect()
                };
                deps.sort();
                deps.dedup();
                text.push_str(&format!(
                    "[[systems]]\nname = \"w{w}s{k}\"\ntier = 4\ndepends_on = [{}]\n[systems.failover]\nsteps = [ {{ name = \"Switch\", run = [\"sleep\", \"0.1\"] }} ]\n",
                    deps.join(", ")
                ));
            }
        }
        let path = dir.path().join("warroom.toml");
        std::fs::write(&path, text).unwrap();
        let config =
            warroom::config::load(&path, &warroom::config::ProcessEnv).unwrap_or_else(|e| panic!("{e}")).config;
        let engine = warroom::engine::Engine::open(config).await.unwrap();
        let systems: Vec<String> = (0..waves).flat_map(|w| (0..per).map(move |k| format!("w{w}s{k}"))).collect();
        let (spec, p) = engine.plan_recover(&systems, None).await.unwrap();
        let job = engine.propose(&spec, p, "bench").await.unwrap();
        engine.approve(&job.id, "bench", &warroom::engine::jobs::Proof::Unattended).await.unwrap();
        let started = Instant::now();
        let done = engine.run_job(&job.id).await.unwrap();
        let wall = started.elapsed();
        let critical = Duration::from_millis(100) * waves as u32;
        println!(
            "plan of {} systems in {waves} waves, each step sleeping 100 ms: {:?} ({}); wall {:.2} s against a critical path of {:.2} s: {:+.0}% (target within 10%)",
            systems.len(),
            done.state,
            done.outcome.unwrap_or_default(),
            wall.as_secs_f64(),
            critical.as_secs_f64(),
            (wall.as_secs_f64() / critical.as_secs_f64() - 1.0) * 100.0
        );
        // The same 200 processes, wave by wave, with no bookkeeping at all: what starting them
        // costs on this machine.
        let bare = Instant::now();
        for _ in 0..waves {
            let mut children: Vec<_> = (0..per)
                .map(|_| tokio::process::Command::new("sleep").arg("0.1").spawn().unwrap())
                .collect();
            for c in &mut children {
                c.wait().await.unwrap();
            }
        }
        let bare = bare.elapsed();
        println!(
            "  baseline, the same processes with no bookkeeping: {:.2} s ({:+.0}% on the critical path); warroom {:+.0}% on the baseline",
            bare.as_secs_f64(),
            (bare.as_secs_f64() / critical.as_secs_f64() - 1.0) * 100.0,
            (wall.as_secs_f64() / bare.as_secs_f64() - 1.0) * 100.0
        );
        // What it costs beyond the steps: per system started.
        println!(
            "  overhead beyond the critical path: {:.1} ms per system",
            (wall.saturating_sub(critical)).as_secs_f64() * 1e3 / systems.len() as f64
        );
    });
}

fn main() {
    plan_10k();
    run_200();
}
