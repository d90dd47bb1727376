//! An exercise of 500 injects over 200 systems (targets: the console's frame under 3 ms, the
//! inject scheduler's lateness under 50 ms p99).
//!
//!     cargo bench --bench exercise
//!
//! - `exercise_frame_200x60/{exercise,dashboard}`: criterion, the facilitator's view of the MSEL
//!   and the dashboard under the EXERCISE badge, with half the injects released.
//! - `scheduler lateness`: the engine drives the exercise as the console does (a pass at each
//!   inject's wake, at least every 250 ms) on a real state at 600x for about 25 s of wall
//!   time; each timed inject's lateness is its release's scenario time past its due time,
//!   divided by the speed. Printed as p50 / p99 / max over every timed inject.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt::Write;
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use warroom::config::console::MapEnv;
use warroom::config::load_str;
use warroom::model::exercise::{EventKind, ExerciseEvent, ExerciseRecord, Facts, Run, Scenario};
use warroom::tui::action::{Action, EngineEvent, Ops};
use warroom::tui::state::{Mode, State};
use warroom::tui::theme::ThemeCatalog;
use warroom::tui::update::update;
use warroom::tui::views;

const SYSTEMS: usize = 200;
const INJECTS: usize = 500;
/// Scenario seconds between timed injects.
const GAP: usize = 30;

fn estate(state_dir: &Path) -> String {
    let mut out = format!("[console]\nstate_dir = \"{}\"\n\n", state_dir.display());
    for i in 0..SYSTEMS {
        let tier = 1 + (i * 4) / SYSTEMS;
        let _ = writeln!(out, "[[systems]]\nname = \"sys-{i:03}\"\ntier = {tier}\n");
    }
    out
}

/// 500 injects: four in five at an offset, one in ten after another, one in ten manual, each
/// on one of the 200 systems (which are all in scope).
fn scenario() -> String {
    let scope: Vec<String> = (0..SYSTEMS).map(|i| format!("\"sys-{i:03}\"")).collect();
    let mut out = format!(
        "name = \"Everything at once\"\ntype = \"tabletop\"\nhazard = \"regional\"\nscope = [{}]\n\n[[objectives]]\nid = \"O-1\"\ntext = \"Declare\"\ntests = \"sys-000\"\ntarget = \"incident declared within 10m\"\n\n",
        scope.join(", ")
    );
    for n in 0..INJECTS {
        let system = format!("sys-{:03}", n % SYSTEMS);
        let trigger = match n % 10 {
            0 if n > 0 => format!("after = \"I-{}\"\ndelay = \"1m\"", n - 1),
            5 => "manual = true".to_owned(),
            _ => {
                let secs = n * GAP;
                format!("at = \"+{}:{:02}:{:02}\"", secs / 3600, (secs % 3600) / 60, secs % 60)
            }
        };
        let _ = writeln!(
            out,
            "[[injects]]\nid = \"I-{n}\"\n{trigger}\ntype = \"event\"\nfrom = \"Monitoring\"\nto = \"on-call\"\ntitle = \"{system} reports trouble ({n})\"\nbody = \"The {system} dashboard shows errors.\"\nobjectives = [\"O-1\"]\n"
        );
    }
    out
}

fn checked(config: &warroom::config::Config) -> (String, Scenario) {
    let text = scenario();
    let scenario = warroom::config::scenario::load(Path::new("bench.toml"), &text, config, &|_| Ok(()))
        .unwrap_or_else(|r| panic!("{}", r.render(false)))
        .scenario;
    (text, scenario)
}

fn frame(c: &mut Criterion) {
    let now = Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, 0).single().unwrap();
    let env = MapEnv::new([("HOME", "/tmp"), ("USER", "bench")]);
    let config = load_str(Path::new("/tmp/bench.toml"), &estate(Path::new("/tmp/bench-state")), &env)
        .expect("the estate loads")
        .config;
    let (text, scenario) = checked(&config);
    // Half way: the first 250 injects released, every tenth acknowledged.
    let start = now - chrono::Duration::seconds((INJECTS * GAP / 2) as i64);
    let mut events = vec![ExerciseEvent {
        at: start,
        offset: Duration::ZERO,
        author: "fac".into(),
        kind: EventKind::Started { speed: 1.0 },
    }];
    for n in 0..INJECTS / 2 {
        let offset = Duration::from_secs((n * GAP) as u64);
        let at = start + chrono::Duration::from_std(offset).unwrap();
        events.push(ExerciseEvent {
            at,
            offset,
            author: "exercise".into(),
            kind: EventKind::Released { inject: format!("I-{n}") },
        });
        if n % 10 == 3 {
            events.push(ExerciseEvent {
                at,
                offset,
                author: "bob".into(),
                kind: EventKind::Acknowledged { inject: format!("I-{n}") },
            });
        }
    }
    let run = Run::replay(&scenario, &events).unwrap();
    let record = ExerciseRecord {
        id: "EX-20261203-1".into(),
        name: scenario.name.clone(),
        kind: scenario.kind,
        scenario: text,
        checked: scenario,
        scenario_sha256: "ab".repeat(32),
        path: "bench.toml".into(),
        started_at: start,
        started_by: "fac".into(),
        ended_at: None,
    };
    let ops = Ops {
        exercise: Some(warroom::engine::exercise::ExerciseView { record, events, run }),
        ..Ops::default()
    };
    let mut group = c.benchmark_group("exercise_frame_200x60");
    for (name, screen) in [("exercise", Some(Action::ShowExercise)), ("dashboard", None)] {
        let mut state = State::new(&config, ThemeCatalog::load(&[]), Mode::Live, false, now);
        update(&mut state, Action::Resize { width: 200, height: 60 }, now);
        update(&mut state, Action::Engine(EngineEvent::Ops(Box::new(ops.clone()))), now);
        if let Some(a) = screen {
            update(&mut state, a, now);
        }
        let mut terminal = Terminal::new(TestBackend::new(200, 60)).unwrap();
        group.bench_function(name, |b| {
            b.iter(|| {
                let drawn = terminal.draw(|f| views::render(f, black_box(&state), &state.theme, now));
                black_box(drawn.is_ok())
            })
        });
    }
    group.finish();
}

/// The scheduler on a real state, driven as the console drives it.
fn lateness() {
    const SPEED: f64 = 600.0;
    const POLL: Duration = Duration::from_millis(250);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let env = MapEnv::new([("HOME", "/tmp"), ("USER", "bench")]);
        let config = load_str(&dir.path().join("bench.toml"), &estate(&dir.path().join("state")), &env)
            .expect("the estate loads")
            .config;
        let (text, scenario) = checked(&config);
        let engine = warroom::engine::Engine::open(config).await.unwrap();
        engine.start_exercise(Path::new("bench.toml"), &text, scenario, SPEED, "bench").await.unwrap();
        // Through the last timed inject, a little over 25 s of wall time at 600x.
        let last = Duration::from_secs((INJECTS * GAP) as u64);
        let deadline = std::time::Instant::now() + last.div_f64(SPEED) + Duration::from_secs(2);
        let mut passes = 0u32;
        while std::time::Instant::now() < deadline {
            let pass = tokio::time::Instant::now();
            let driven = engine.drive_exercise(&Facts::default(), None).await.unwrap().unwrap();
            passes += 1;
            tokio::time::sleep_until(pass + driven.next_wake.unwrap_or(POLL).min(POLL)).await;
        }
        let view = engine.open_exercise().await.unwrap().unwrap();
        let s = view.scenario();
        let mut late: Vec<Duration> = Vec::new();
        for e in &view.events {
            if let EventKind::Released { inject } = &e.kind
                && let Some(i) = s.injects.iter().position(|x| &x.id == inject)
                && let Some(due) = view.run.due_offset(s, i)
            {
                late.push(e.offset.saturating_sub(due).div_f64(SPEED));
            }
        }
        late.sort();
        let pick = |q: f64| late[((late.len() as f64 * q).ceil() as usize).clamp(1, late.len()) - 1];
        println!(
            "scheduler lateness: {} timed injects released in {passes} passes at {SPEED}x: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (target p99 < 50 ms)",
            late.len(),
            pick(0.5).as_secs_f64() * 1e3,
            pick(0.99).as_secs_f64() * 1e3,
            late.last().unwrap().as_secs_f64() * 1e3,
        );
    });
}

fn bench(c: &mut Criterion) {
    frame(c);
    lateness();
}

criterion_group!(benches, bench);
criterion_main!(benches);
