//! How long the console takes to draw the dashboard, at 200x60, for estates of 50, 500 and
//! 5,000 systems (targets: 1 ms, 3 ms, 10 ms per frame). Only the visible rows are laid out,
//! but every system is sorted and filtered each frame.
//!
//!     cargo bench --bench render
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::path::Path;

use chrono::{TimeZone, Utc};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use warroom::config::console::MapEnv;
use warroom::config::load_str;
use warroom::tui::action::Action;
use warroom::tui::state::{Mode, State};
use warroom::tui::theme::ThemeCatalog;
use warroom::tui::update::update;
use warroom::tui::views;

/// The same synthetic estate benches/gen_estate.py writes, built here so the bench needs no files.
fn estate(n: usize) -> String {
    let mut out = String::new();
    for i in 0..n {
        let tier = 1 + (i * 4) / n;
        out.push_str(&format!("[[systems]]\nname = \"sys-{i:05}\"\ntier = {tier}\n"));
        let deps: Vec<String> =
            (1..=3).filter(|k| i >= k * 7).map(|k| format!("\"sys-{:05}\"", i - k * 7)).collect();
        if !deps.is_empty() && tier > 1 {
            out.push_str(&format!("depends_on = [{}]\n", deps.join(", ")));
        }
        out.push('\n');
    }
    out
}

fn bench(c: &mut Criterion) {
    let now = Utc.with_ymd_and_hms(2026, 11, 26, 22, 41, 7).single().unwrap_or_default();
    let env = MapEnv::new([("HOME", "/tmp"), ("USER", "bench")]);
    let mut group = c.benchmark_group("dashboard_frame_200x60");
    for n in [50usize, 500, 5000] {
        let loaded =
            load_str(Path::new("/tmp/bench.toml"), &estate(n), &env).expect("the synthetic estate loads");
        let mut state = State::new(&loaded.config, ThemeCatalog::load(&[]), Mode::Live, false, now);
        update(&mut state, Action::Resize { width: 200, height: 60 }, now);
        let mut terminal = Terminal::new(TestBackend::new(200, 60)).unwrap();
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                let drawn = terminal.draw(|f| views::render(f, black_box(&state), &state.theme, now));
                black_box(drawn.is_ok())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
