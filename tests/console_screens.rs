//! Every screen of the console, drawn on a test terminal at 80x24 and 120x40 with a fixed
//! clock, compared with the committed snapshots (tests/snapshots/). Colours are checked on the
//! buffer where they carry meaning.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

use warroom::config::console::MapEnv;
use warroom::config::keys::KeyCommand;
use warroom::config::load_str;
use warroom::engine::monitor::SystemHealth;
use warroom::model::audit::{AuditProblem, AuditRecord, Verification};
use warroom::model::{HealthState, Thresholds, WindowStats, decide};
use warroom::tui::action::{Action, Edit};
use warroom::tui::state::{Mode, State};
use warroom::tui::theme::ThemeCatalog;
use warroom::tui::update::update;
use warroom::tui::views;

const EXAMPLE: &str = include_str!("../config.toml.example");

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 22, 41, 7).single().unwrap()
}

fn state_with(config_text: &str, theme: &str, width: u16, height: u16) -> State {
    let env = MapEnv::new([("HOME", "/home/alice"), ("USER", "alice")]);
    let config = load_str(Path::new("/etc/warroom/config.toml"), config_text, &env).unwrap().config;
    let mut s = State::new(&config, ThemeCatalog::load(&[]), Mode::Live, false, now());
    act(&mut s, Action::SetTheme(theme.to_owned()));
    s.message = None;
    act(&mut s, Action::Resize { width, height });
    act(&mut s, Action::Tick { local_offset: FixedOffset::east_opt(3600).unwrap() });
    s
}

fn state(theme: &str, width: u16, height: u16) -> State {
    state_with(EXAMPLE, theme, width, height)
}

fn act(s: &mut State, action: Action) {
    update(s, action, now());
}

fn draw(s: &State) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(s.width, s.height)).unwrap();
    terminal.draw(|f| views::render(f, s, &s.theme, now())).unwrap();
    terminal
}

/// The screen as text, one line per row.
fn text(terminal: &Terminal<TestBackend>) -> String {
    let buffer = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..buffer.area.height {
        let mut line = String::new();
        for x in 0..buffer.area.width {
            line.push_str(buffer[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn snapshot(name: &str, s: &State) -> Terminal<TestBackend> {
    let terminal = draw(s);
    insta::assert_snapshot!(name, text(&terminal));
    terminal
}

/// Where `needle` starts on screen, as (x, y).
fn find(buffer: &Buffer, needle: &str) -> Option<(u16, u16)> {
    for y in 0..buffer.area.height {
        let row: Vec<&str> = (0..buffer.area.width).map(|x| buffer[(x, y)].symbol()).collect();
        let line: String = row.concat();
        if let Some(byte) = line.find(needle) {
            let col = line[..byte].chars().count() as u16;
            return Some((col, y));
        }
    }
    None
}

fn audit_records() -> Vec<AuditRecord> {
    let record = |seq: i64, at: &str, op: &str, action: &str, target: &str, details: &str, outcome: &str| {
        AuditRecord {
            seq,
            at: at.to_owned(),
            operator: op.to_owned(),
            action: action.to_owned(),
            target: target.to_owned(),
            details: details.to_owned(),
            outcome: outcome.to_owned(),
            prev_hash: "0".repeat(64),
            hash: format!("{seq:064x}"),
        }
    };
    vec![
        record(
            3,
            "2026-11-26T22:40:55.000000Z",
            "alice",
            "note",
            "database",
            r#"{"message":"called the DBA"}"#,
            "recorded",
        ),
        record(
            2,
            "2026-11-26T22:39:12.000000Z",
            "bob",
            "note",
            "-",
            r#"{"message":"read-only drill"}"#,
            "refused",
        ),
        record(
            1,
            "2026-11-26T22:04:02.000000Z",
            "alice",
            "config.changed",
            "/etc/warroom/config.toml",
            r#"{"hash":"88491962a8cf","previous_hash":null,"systems":12}"#,
            "recorded",
        ),
    ]
}

#[test]
fn dashboard_default_theme() {
    for (w, h) in [(80, 24), (120, 40)] {
        let s = state("default", w, h);
        let t = snapshot(&format!("dashboard_default_{w}x{h}"), &s);
        let buffer = t.backend().buffer();
        // Status carries colour and a word: the RPO cell of an unselected row is danger-red,
        // the health cell the unknown grey.
        let theme = &s.theme;
        let (x, y) = find(buffer, "✖ never backed up").map(|(x, _)| (x, 4)).unwrap();
        assert_eq!(buffer[(x, y)].fg, theme.palette.danger, "RPO symbol at {x},{y}");
        assert!(buffer[(x, y)].modifier.contains(Modifier::BOLD));
        let (x, y) = find(buffer, "◌ UNKNOWN").unwrap();
        assert_eq!(buffer[(x, y + 1)].fg, theme.palette.unknown);
        // The selected row is highlighted end to end.
        let (_, sel_y) = find(buffer, "▸").unwrap();
        assert_eq!(buffer[(w - 1, sel_y)].bg, theme.palette.selection_bg);
        // Tier headings take the tier's colour.
        let (x, y) = find(buffer, "TIER 1").unwrap();
        assert_eq!(buffer[(x, y)].fg, theme.palette.tiers[0]);
    }
}

#[test]
fn dashboard_filtered_light_theme() {
    let mut s = state("light", 120, 40);
    act(&mut s, Action::Command(KeyCommand::Filter));
    for c in "never 2".chars() {
        act(&mut s, Action::Edit(Edit::Insert(c.to_string())));
    }
    snapshot("dashboard_filter_typing_light_120x40", &s);
    act(&mut s, Action::Edit(Edit::Submit));
    let s80 = {
        let mut s80 = s.clone();
        act(&mut s80, Action::Resize { width: 80, height: 24 });
        s80
    };
    snapshot("dashboard_filtered_light_80x24", &s80);
    act(&mut s, Action::SetFilter("nothing-like-this".into()));
    snapshot("dashboard_no_match_light_120x40", &s);
}

#[test]
fn detail_light_theme() {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut s = state("light", w, h);
        act(&mut s, Action::OpenSystem("database".into()));
        act(&mut s, Action::Command(KeyCommand::NextPane));
        act(&mut s, Action::Command(KeyCommand::Down));
        let t = snapshot(&format!("detail_light_{w}x{h}"), &s);
        // The focused pane's border is the accent colour; the other is plain.
        let buffer = t.backend().buffer();
        let (x, y) = find(buffer, "DEPENDENCIES").unwrap();
        assert_eq!(buffer[(x, y)].fg, s.theme.palette.border_focused);
        let (x, y) = find(buffer, "OVERVIEW").unwrap();
        assert_eq!(buffer[(x, y)].fg, s.theme.palette.border);
    }
}

#[test]
fn audit_high_contrast_theme() {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut s = state("high-contrast", w, h);
        act(&mut s, Action::ShowAudit);
        act(
            &mut s,
            Action::Engine(warroom::tui::action::EngineEvent::AuditLoaded {
                records: audit_records(),
                verification: Verification { records: 3, head: Some(format!("{:064x}", 3)), problem: None },
            }),
        );
        act(&mut s, Action::Command(KeyCommand::Down));
        snapshot(&format!("audit_high_contrast_{w}x{h}"), &s);
    }
    let mut s = state("high-contrast", 120, 40);
    act(&mut s, Action::ShowAudit);
    act(
        &mut s,
        Action::Engine(warroom::tui::action::EngineEvent::AuditLoaded {
            records: audit_records(),
            verification: Verification {
                records: 1,
                head: None,
                problem: Some(AuditProblem::Altered { seq: 2 }),
            },
        }),
    );
    let t = snapshot("audit_tampered_high_contrast_120x40", &s);
    let buffer = t.backend().buffer();
    let (x, y) = find(buffer, "✖ TAMPERED").unwrap();
    assert_eq!(buffer[(x, y)].fg, s.theme.palette.danger);
}

#[test]
fn help_colorblind_theme() {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut s = state("colorblind", w, h);
        act(&mut s, Action::ShowHelp);
        snapshot(&format!("help_colorblind_{w}x{h}"), &s);
    }
}

#[test]
fn palette_with_suggestions() {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut s = state("default", w, h);
        act(&mut s, Action::Command(KeyCommand::Palette));
        for c in "system pa".chars() {
            act(&mut s, Action::Edit(Edit::Insert(c.to_string())));
        }
        snapshot(&format!("palette_default_{w}x{h}"), &s);
    }
    let mut s = state("default", 80, 24);
    act(&mut s, Action::Command(KeyCommand::Palette));
    for c in "sytem api".chars() {
        act(&mut s, Action::Edit(Edit::Insert(c.to_string())));
    }
    act(&mut s, Action::Edit(Edit::Submit));
    snapshot("palette_error_default_80x24", &s);
}

#[test]
fn reload_problems_overlay() {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut s = state("default", w, h);
        let env = MapEnv::new([("HOME", "/h"), ("USER", "a")]);
        let broken = include_str!("fixtures/invalid/many-errors.toml");
        let report = match load_str(Path::new("/etc/warroom/config.toml"), broken, &env) {
            Err(warroom::config::LoadError::Invalid(r)) => r.render(false),
            other => panic!("{other:?}"),
        };
        act(&mut s, Action::Engine(warroom::tui::action::EngineEvent::ConfigRejected(report)));
        snapshot(&format!("reload_problems_default_{w}x{h}"), &s);
    }
}

#[test]
fn a_terminal_too_small_says_so() {
    let s = state("default", 50, 12);
    snapshot("too_small_50x12", &s);
}

#[test]
fn no_color_uses_no_colour_at_all() {
    let env = MapEnv::new([("HOME", "/home/alice"), ("USER", "alice")]);
    let config = load_str(Path::new("/etc/warroom/config.toml"), EXAMPLE, &env).unwrap().config;
    let mut s = State::new(&config, ThemeCatalog::load(&[]), Mode::Live, true, now());
    act(&mut s, Action::Resize { width: 120, height: 40 });
    let t = draw(&s);
    let buffer = t.backend().buffer();
    for cell in buffer.content() {
        assert_eq!(cell.fg, Color::Reset, "a coloured cell {:?}", cell.symbol());
        assert_eq!(cell.bg, Color::Reset);
    }
    // The selection still shows, in reverse video.
    let (_, y) = find(buffer, "▸").unwrap();
    assert!(buffer[(5, y)].modifier.contains(Modifier::REVERSED));
}

#[test]
fn every_theme_in_the_themes_folder_loads() {
    let dir = common::root().join("themes");
    let catalog = ThemeCatalog::load(std::slice::from_ref(&dir));
    assert!(catalog.warnings.is_empty(), "{:?}", catalog.warnings);
    let files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path().file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(files.len() >= 4);
    for name in files {
        assert!(catalog.get(&name).is_some(), "{name} did not load");
    }
    for built_in in warroom::config::console::BUILT_IN_THEMES {
        assert!(catalog.get(built_in).is_some(), "{built_in} is not compiled in");
    }
}

#[test]
fn a_broken_theme_file_falls_back_with_the_warning_shown() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path().join("t");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("default.toml"), "[colors\nok = ").unwrap();
    let catalog = ThemeCatalog::load(std::slice::from_ref(&dir));
    let env = MapEnv::new([("HOME", "/home/alice"), ("USER", "alice")]);
    let config = load_str(Path::new("/etc/warroom/config.toml"), EXAMPLE, &env).unwrap().config;
    let mut s = State::new(&config, catalog, Mode::Live, false, now());
    act(&mut s, Action::Resize { width: 120, height: 40 });
    let screen = text(&draw(&s));
    assert!(screen.contains("default.toml is broken, using the built-in \"default\""), "{screen}");
    assert_eq!(s.theme.name, "default");
    assert!(screen.contains("TIER 1"), "the console still draws");
}

#[allow(clippy::too_many_arguments)]
/// What the monitor would report for a system: its state, window stats and a history that
/// worsens towards the end, the decision on them.
fn health(
    s: &State,
    name: &str,
    state: HealthState,
    availability: f64,
    p95_ms: u64,
    error_rate: f64,
    outage_minutes: Option<i64>,
    impacted_by: Option<&str>,
) -> SystemHealth {
    let system = s.estate.index_of(name).unwrap();
    let stats = |a: f64, p: u64, e: f64| WindowStats {
        probes: 60,
        answered: 50,
        healthy: (a * 60.0) as u32,
        errors: (e * 50.0) as u32,
        availability: Some(a),
        error_rate: Some(e),
        p50: Some(std::time::Duration::from_millis(p / 2)),
        p95: Some(std::time::Duration::from_millis(p)),
        max: Some(std::time::Duration::from_millis(p)),
    };
    let history: Vec<WindowStats> = (0..30)
        .map(|i| {
            let f = f64::from(i) / 29.0;
            stats(
                1.0 - (1.0 - availability) * f * f,
                40 + ((p95_ms.saturating_sub(40)) as f64 * f * f) as u64,
                error_rate * f,
            )
        })
        .collect();
    let thresholds = Thresholds::default();
    let has_failover = name == "database" || name == "api";
    let mut decision = decide(&stats(availability, p95_ms, error_rate), &thresholds, has_failover);
    if impacted_by.is_some() {
        decision = warroom::model::decision::defer_to_root(decision);
    }
    SystemHealth {
        system,
        name: name.to_owned(),
        state,
        since: Some(now() - chrono::TimeDelta::minutes(outage_minutes.unwrap_or(40))),
        outage_start: outage_minutes.map(|m| now() - chrono::TimeDelta::minutes(m)),
        stats: stats(availability, p95_ms, error_rate),
        history,
        decision,
        impacted_by: impacted_by.and_then(|n| s.estate.index_of(n)),
        last_detail: Some(if state == HealthState::Down {
            "connection refused".into()
        } else {
            "200 OK".into()
        }),
        last_at: Some(now()),
        thresholds,
        replication: None,
    }
}

/// An outage in progress: the database down 37 minutes (past its 30 min RTO), the API and
/// payments impacted by it, the rest healthy.
fn outage(s: &mut State) {
    let mut all = vec![
        health(s, "database", HealthState::Down, 0.41, 6200, 0.21, Some(37), None),
        health(s, "api", HealthState::Degraded, 0.88, 310, 0.08, None, Some("database")),
        health(s, "payments", HealthState::Degraded, 0.90, 120, 0.06, None, Some("database")),
        health(s, "cache", HealthState::Healthy, 1.0, 3, 0.0, None, None),
    ];
    for name in ["edge", "auth", "queue", "search", "reporting", "analytics", "wiki"] {
        all.push(health(s, name, HealthState::Healthy, 1.0, 42, 0.0, None, None));
    }
    act(s, Action::Engine(warroom::tui::action::EngineEvent::Health(all)));
}

#[test]
fn dashboard_in_an_outage() {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut s = state("default", w, h);
        outage(&mut s);
        let t = snapshot(&format!("dashboard_outage_default_{w}x{h}"), &s);
        let buffer = t.backend().buffer();
        // The worst first: the database heads tier 1, its RTO clock in the danger colour.
        let clock = if w >= 100 { "RTO 0:37:00/0:30:00 BREACHED" } else { "RTO 0:37:00/0:30:00" };
        let (x, y) = find(buffer, clock).unwrap();
        assert_eq!(buffer[(x, y)].fg, s.theme.palette.danger);
        assert_eq!(y, 3, "the first row under the tier heading");
        let (x, y) = find(buffer, "✖ DOWN").unwrap();
        assert_eq!(buffer[(x, y)].fg, s.theme.palette.danger);
        let (x, y) = find(buffer, "impacted by database").unwrap();
        assert_eq!(buffer[(x, y)].fg, s.theme.palette.warning);
    }
}

#[test]
fn detail_with_the_decision_panel() {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut s = state("default", w, h);
        outage(&mut s);
        act(&mut s, Action::OpenSystem("database".into()));
        let t = snapshot(&format!("detail_decision_default_{w}x{h}"), &s);
        let buffer = t.backend().buffer();
        let (x, y) = find(buffer, "▶ FAILOVER RECOMMENDED").unwrap();
        assert_eq!(buffer[(x, y)].fg, s.theme.palette.danger);
    }
    let mut s = state("colorblind", 120, 40);
    outage(&mut s);
    act(&mut s, Action::OpenSystem("api".into()));
    snapshot("detail_impacted_colorblind_120x40", &s);
}

/// The database's standby `lag` behind (read a second ago), its failover estimated at 6 s, its
/// newest verified backup 3m10s old with a restore drill that took 24m40s.
fn with_standby(s: &mut State, lag: u64) {
    use warroom::model::replication::{LagReading, RecoveryFigures, Replication, RestoreEstimate};
    let db = s.estate.index_of("database").unwrap();
    let mut h = s.health[db].clone().unwrap();
    let mut r = Replication::new(
        "GET http://127.0.0.1:9187/replication at /lag_seconds",
        std::time::Duration::from_secs(30),
    );
    r.record(LagReading {
        at: now() - chrono::TimeDelta::seconds(1),
        lag: Ok(std::time::Duration::from_secs(lag)),
    });
    h.replication = Some(r);
    act(s, Action::Engine(warroom::tui::action::EngineEvent::Health(vec![h])));
    s.ops.recovery = vec![RecoveryFigures::default(); s.estate.systems().len()];
    s.ops.recovery[db] = RecoveryFigures {
        failover: Some(std::time::Duration::from_secs(6)),
        restore: Some((
            now() - chrono::TimeDelta::seconds(190),
            RestoreEstimate::Drill { took: std::time::Duration::from_secs(24 * 60 + 40) },
        )),
    };
}

#[test]
fn the_decision_panel_weighs_failing_over_against_restoring() {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut s = state("default", w, h);
        outage(&mut s);
        with_standby(&mut s, 42);
        // The dashboard's RPO cell: the standby's lag, by replication.
        let t = draw(&s);
        let (x, y) = find(t.backend().buffer(), "● ⇄ lag 42s").expect("the lag in the RPO cell");
        assert_eq!(t.backend().buffer()[(x, y)].fg, s.theme.palette.ok);
        act(&mut s, Action::OpenSystem("database".into()));
        let t = snapshot(&format!("detail_tradeoff_failover_{w}x{h}"), &s);
        let said = text(&t);
        if w >= 100 {
            assert!(said.contains("fail over now: lose ~42s (RPO 5m ✔)"), "{said}");
            assert!(said.contains("→ fail over: within the RPO"), "{said}");
        } else {
            assert!(said.contains("fail over: lose ~42s ✔, ~6s"), "{said}");
            assert!(said.contains("→ fail over"), "{said}");
        }
        // The standby falls behind: restoring loses less.
        with_standby(&mut s, 400);
        let t = snapshot(&format!("detail_tradeoff_restore_{w}x{h}"), &s);
        let said = text(&t);
        assert!(said.contains("→ restore"), "{said}");
        let (x, y) = find(
            t.backend().buffer(),
            if w >= 100 { "fail over now: lose ~6m40s" } else { "fail over: lose ~6m40s" },
        )
        .expect("the failover's loss");
        assert_eq!(t.backend().buffer()[(x, y)].fg, s.theme.palette.danger, "past the RPO");
        act(&mut s, Action::ShowDashboard);
        let t = draw(&s);
        // (Its row is the selected one, drawn in the selection's colours.)
        assert!(find(t.backend().buffer(), "✖ ⇄ lag 6m40s").is_some(), "breached in the RPO cell");
    }
}

#[test]
fn the_gate_shows_what_a_failover_loses_against_a_restore() {
    use warroom::model::replication::{LagReading, RecoveryFigures, Replication, RestoreEstimate, TradeOff};
    for (w, h) in [(80, 24), (120, 40)] {
        let mut s = state("default", w, h);
        let mut r = Replication::new("psql", std::time::Duration::from_secs(30));
        r.record(LagReading { at: now(), lag: Ok(std::time::Duration::from_secs(42)) });
        let figures = RecoveryFigures {
            failover: Some(std::time::Duration::from_secs(6)),
            restore: Some((
                now() - chrono::TimeDelta::seconds(190),
                RestoreEstimate::Drill { took: std::time::Duration::from_secs(1480) },
            )),
        };
        let trade = TradeOff::of(
            std::time::Duration::from_secs(300),
            warroom::model::RpoPolicy::default(),
            &figures,
            Some(&r),
            now(),
        );
        let mut job = gate_job(warroom::model::ApprovalPolicy::Typed);
        job.kind = warroom::engine::jobs::JobKind::Failover;
        job.plan = warroom::engine::jobs::Plan {
            title: "Fail over database".into(),
            lines: [
                "1/2 Promote the standby: POST http://127.0.0.1:9900/promote (timeout 30s, about 2s)"
                    .to_owned(),
                "2/2 Wait for health: wait until healthy (timeout 1m, about 3s)".to_owned(),
                "forecast   6s to recover, from the steps' estimates".to_owned(),
            ]
            .into_iter()
            .chain(warroom::engine::failover::trade_off_lines(&trade))
            .collect(),
        };
        act(&mut s, Action::Engine(warroom::tui::action::EngineEvent::Proposed(Box::new(job))));
        let t = snapshot(&format!("gate_data_loss_default_{w}x{h}"), &s);
        let said = text(&t);
        assert!(said.contains("data       lose ~42s by replication (RPO 5m ✔)"), "{said}");
        assert!(said.contains("restore the newest verified backup: lose 3m10s"), "{said}");
    }
}

fn manifest(
    system: &str,
    id: &str,
    minutes_ago: i64,
    kind: warroom::model::BackupKind,
) -> warroom::engine::backup::manifest::Manifest {
    use warroom::engine::backup::manifest::{FORMAT, Manifest, SourceInfo};
    let at = now() - chrono::TimeDelta::minutes(minutes_ago);
    Manifest {
        format: FORMAT,
        id: id.to_owned(),
        system: system.to_owned(),
        kind,
        parent: None,
        started_at: at,
        finished_at: at + chrono::TimeDelta::seconds(20),
        source: SourceInfo::Command { command: "pg_dump app".into(), file: format!("{system}.out") },
        files: 1,
        stored_files: 1,
        deleted_files: 0,
        plain_size: 734_003_200,
        stored_size: 187_170_816,
        sha256: "ab".repeat(32),
        index_size: 200,
        index_sha256: "cd".repeat(32),
        recipients: vec!["0123456789abcdef".into()],
        compression: "zstd level 1".into(),
        encryption: "age x25519".into(),
        tool: "warroom test".into(),
        degraded: Vec::new(),
        immutable_until: Default::default(),
    }
}

fn with_backups(s: &mut State) {
    use warroom::engine::backup::catalog::{BackupStanding, BackupView, Copy};
    use warroom::engine::backup::manifest::LocationFailure;
    use warroom::model::BackupKind;
    use warroom::model::backup::ScheduleView;
    let copy = |location: &str, verified: Option<i64>, error: Option<&str>| Copy {
        location: location.to_owned(),
        verified_at: verified.map(|m| now() - chrono::TimeDelta::minutes(m)),
        deep_verified_at: None,
        error: error.map(str::to_owned),
        trust: warroom::engine::backup::manifest::Trust::Signed { key: "A1B2C3D4E5F60718".into() },
    };
    let mut degraded = manifest("database", "20261126T223707Z-5e1c0a11", 4, BackupKind::Full);
    degraded.degraded = vec![LocationFailure { location: "vault".into(), reason: "connection reset".into() }];
    let backups = vec![
        BackupView {
            manifest: manifest("database", "20261126T222707Z-0a9f3e2d", 14, BackupKind::Full),
            copies: vec![
                copy("nas", Some(13), None),
                copy("vault", None, Some("location vault: backup 2026…: the data's SHA-256 does not match")),
            ],
        },
        BackupView {
            manifest: manifest("database", "20261126T223207Z-77ab01c4", 9, BackupKind::Full),
            copies: vec![copy("nas", Some(8), None), copy("vault", Some(8), None)],
        },
        BackupView { manifest: degraded, copies: vec![copy("nas", Some(3), None)] },
    ];
    let standings = vec![BackupStanding {
        system: "database".into(),
        newest_verified: Some(now() - chrono::TimeDelta::minutes(4)),
        newest_deep_verified: Some(now() - chrono::TimeDelta::hours(3)),
        backups: 3,
        schedule: Some(ScheduleView {
            every_secs: 240,
            due_at: now() + chrono::TimeDelta::seconds(0),
            missed: false,
        }),
        three_two_one: Some(warroom::model::ThreeTwoOne { copies: 3, media: 2, offsite: 1, immutable: 0 }),
    }];
    act(s, Action::Engine(warroom::tui::action::EngineEvent::Backups { backups, standings }));
}

#[test]
fn detail_lists_backups_and_the_three_two_one_state() {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut s = state("default", w, h);
        with_backups(&mut s);
        act(&mut s, Action::OpenSystem("database".into()));
        let t = snapshot(&format!("detail_backups_default_{w}x{h}"), &s);
        let buffer = t.backend().buffer();
        let (x, y) = find(buffer, "✔ 3-2-1 met").unwrap();
        assert_eq!(buffer[(x, y)].fg, s.theme.palette.ok);
        let (x, y) = find(buffer, "23:37 full").unwrap();
        assert_eq!(buffer[(x, y)].fg, s.theme.palette.warning, "a degraded backup is marked");
        assert!(text(&t).lines().any(|l| l.contains("23:37 full") && l.contains('▲')));
        // The RPO timer counts from the newest verified backup.
        assert!(text(&t).contains("RPO 01:00 left"), "{}", text(&t));
    }
}

fn gate_job(policy: warroom::model::ApprovalPolicy) -> warroom::engine::jobs::JobSnapshot {
    warroom::engine::jobs::JobSnapshot {
        id: "J-261126-224107-3fa9".into(),
        kind: warroom::engine::jobs::JobKind::Restore,
        target: "database".into(),
        state: warroom::engine::jobs::JobState::Proposed,
        plan: warroom::engine::jobs::Plan {
            title: "Restore database from backup 20261126T223707Z-5e1c0a11".into(),
            lines: vec![
                "backup     20261126T223707Z-5e1c0a11 (full, taken 2026-11-26 22:37 UTC)".into(),
                "from       nas".into(),
                "into       /var/lib/warroom/restores/database-20261126T223707Z-5e1c0a11".into(),
                "size       1 entry; 178 MiB to read".into(),
                "checks     every object's SHA-256 and every file's size and SHA-256 as it is read;".into(),
                "           restored into a staging folder and moved into place only when all checked out"
                    .into(),
            ],
        },
        policy,
        proposed_by: "alice".into(),
        proposed_at: Some(now()),
        approved_by: None,
        approved_at: None,
        started_at: None,
        finished_at: None,
        outcome: None,
        progress: Default::default(),
        log: Vec::new(),
        approvals: Vec::new(),
        detail: None,
    }
}

#[test]
fn the_approval_gate_shows_the_plan_with_cancel_focused() {
    use warroom::tui::action::GateKey;
    for (w, h) in [(80, 24), (120, 40)] {
        let mut s = state("default", w, h);
        act(
            &mut s,
            Action::Engine(warroom::tui::action::EngineEvent::Proposed(Box::new(gate_job(
                warroom::model::ApprovalPolicy::Typed,
            )))),
        );
        for c in "datab".chars() {
            act(&mut s, Action::Gate(GateKey::Insert(c.to_string())));
        }
        let t = snapshot(&format!("gate_typed_default_{w}x{h}"), &s);
        let buffer = t.backend().buffer();
        let (x, y) = find(buffer, "[ Cancel ]").unwrap();
        assert!(buffer[(x, y)].modifier.contains(Modifier::BOLD), "Cancel has the focus");
        assert!(text(&t).contains("Type database to approve: datab"));
    }
}

#[test]
fn the_jobs_screen_shows_progress_state_and_log() {
    use warroom::engine::jobs::{JobState, Progress, Unit};
    for (w, h) in [(80, 24), (120, 40)] {
        let mut s = state("default", w, h);
        let mut running = gate_job(warroom::model::ApprovalPolicy::None);
        running.id = "J-261126-224020-1b2c".into();
        running.kind = warroom::engine::jobs::JobKind::parse("backup").unwrap();
        running.state = JobState::Running;
        running.plan.title = "Back up database".into();
        running.approved_by = Some("alice".into());
        running.progress = Progress {
            stage: "backing up".into(),
            done: 412 << 20,
            total: Some(674 << 20),
            unit: Unit::Bytes,
            rate: Some((88 << 20) as f64),
            eta_secs: Some(3),
            waiting: None,
        };
        running.log = vec![
            "22:40:20 backup 20261126T224020Z-9d: full of pg_dump app to nas, vault".into(),
            "22:40:21 nas: cleaned up incomplete backup 20261126T223001Z-11 (2 objects)".into(),
        ];
        let mut done = gate_job(warroom::model::ApprovalPolicy::Typed);
        done.state = JobState::Cancelled;
        done.outcome = Some("cancelled at the approval gate by alice".into());
        let mut failed = gate_job(warroom::model::ApprovalPolicy::None);
        failed.id = "J-261126-223001-77aa".into();
        failed.kind = warroom::engine::jobs::JobKind::parse("verify").unwrap();
        failed.target = "payments".into();
        failed.state = JobState::Failed;
        failed.outcome =
            Some("backup 2026…: location vault: the data's SHA-256 does not match the manifest".into());
        act(&mut s, Action::Engine(warroom::tui::action::EngineEvent::Jobs(vec![running, done, failed])));
        act(&mut s, Action::ShowJobs);
        let t = snapshot(&format!("jobs_default_{w}x{h}"), &s);
        assert!(text(&t).contains("61%"), "{}", text(&t));
    }
}

#[test]
fn a_proposal_waiting_for_someone_is_counted_in_the_jobs_header() {
    let mut s = state("default", 120, 40);
    let mut waiting = gate_job(warroom::model::ApprovalPolicy::Confirm);
    waiting.proposed_by = "oscar".into();
    act(&mut s, Action::Engine(warroom::tui::action::EngineEvent::Jobs(vec![waiting])));
    act(&mut s, Action::ShowJobs);
    let t = text(&draw(&s));
    assert!(t.contains("JOBS · 0 running · 0 finished · 1 waiting for approval (⏎ on one)"), "{t}");
}

fn incident_ops(s: &State) -> warroom::tui::action::Ops {
    use warroom::engine::incident::TimelineEntry;
    use warroom::engine::recovery::{Method, PlanDetail, PlanEntry, Step};
    let at = |m: i64| now() - chrono::TimeDelta::minutes(m);
    let entry = |name: &str,
                 wave: usize,
                 method: Method,
                 state: Step,
                 cause: Option<&str>,
                 forecast: u64,
                 left: Option<u64>| PlanEntry {
        name: name.into(),
        wave,
        method,
        state,
        waits_for: Vec::new(),
        job: None,
        cause: cause.map(str::to_owned),
        estimate_secs: 60,
        forecast_secs: forecast,
        rto_left_secs: left,
        breach: left.is_some_and(|l| forecast > l),
        started_at: None,
        finished_at: None,
    };
    let detail = PlanDetail {
        systems: vec![
            entry("database", 0, Method::Failover, Step::Recovered, None, 370, Some(1560)),
            entry("cache", 0, Method::Restore, Step::Running, None, 90, None),
            entry(
                "api",
                1,
                Method::Failover,
                Step::Blocked,
                Some("database did not recover"),
                450,
                Some(300),
            ),
        ],
        waiting: None,
    };
    let mut plan = gate_job(warroom::model::ApprovalPolicy::Typed);
    plan.id = "J-261126-223512-77aa".into();
    plan.kind = warroom::engine::jobs::JobKind::parse("recover").unwrap();
    plan.state = warroom::engine::jobs::JobState::Running;
    plan.detail = Some(serde_json::to_value(&detail).unwrap());
    let incident = warroom::model::failover::IncidentRecord {
        id: "INC-261126-2235-3fa9".into(),
        kind: "infrastructure".into(),
        severity: "sev1".into(),
        systems: vec!["database".into(), "cache".into(), "api".into()],
        declared_by: "alice".into(),
        declared_at: at(6),
        plan_job: Some(plan.id.clone()),
        closed_by: None,
        closed_at: None,
        summary: None,
    };
    let line = |m: i64, system: Option<&str>, kind: &str, who: Option<&str>, text: &str| TimelineEntry {
        at: at(m),
        kind: kind.into(),
        system: system.map(str::to_owned),
        who: who.map(str::to_owned),
        text: text.into(),
    };
    let _ = s;
    warroom::tui::action::Ops {
        states: vec![warroom::model::failover::FailoverRecord {
            system: "database".into(),
            state: warroom::model::failover::FailoverState::Recovered,
            since: at(1),
            job_id: None,
            commit_deadline: Some(now() + chrono::TimeDelta::minutes(27)),
            on_timeout: Some("commit".into()),
            detail: None,
        }],
        exercise: None,
        programme: None,
        actions: Vec::new(),
        recovery: Vec::new(),
        incident: Some(incident),
        timeline: vec![
            line(8, Some("database"), "transition", None, "healthy → down (connection refused)"),
            line(7, Some("database"), "verdict", None, "verdict: failover recommended"),
            line(6, None, "incident.declared", Some("alice"), "declared: infrastructure sev1"),
            line(
                6,
                Some("database"),
                "recover.approved",
                Some("alice"),
                "approved (typed the system's name)",
            ),
            line(
                5,
                Some("database"),
                "failover.step",
                Some("alice"),
                "succeeded: step 1/2 Promote the standby",
            ),
            line(2, Some("database"), "failover.validated", Some("alice"), "succeeded"),
        ],
        jobs: vec![plan],
        comms: None,
        preview: None,
    }
}

/// The incident's communications: one notice sent, its deliveries in every state.
fn comms_status(incident: &str, next_in_secs: i64) -> warroom::engine::comms::CommsStatus {
    use warroom::model::comms::{
        CadenceKept, Channel, DeliveryState, Due, NoticeRecord, OutboxHealth, OutboxRow, Stage,
    };
    let at = |m: i64| now() - chrono::TimeDelta::minutes(m);
    let notice = format!("{incident}-initial-1");
    let row = |who: &str,
               channel: Channel,
               address: &str,
               state: DeliveryState,
               attempts: u32,
               error: Option<&str>| OutboxRow {
        key: format!("{notice}/{who}/{channel}"),
        notice: notice.clone(),
        incident: incident.into(),
        recipient: who.into(),
        channel,
        address: address.into(),
        body: Vec::new(),
        meta: serde_json::json!({}),
        state,
        attempts,
        next_attempt: (state == DeliveryState::FailedRetrying)
            .then(|| now() + chrono::TimeDelta::seconds(40)),
        last_error: error.map(str::to_owned),
        provider_id: (state == DeliveryState::DeliveredToProvider).then(|| "SMabc123".to_owned()),
        queued_at: at(5),
        sent_at: state.delivered().then(|| at(5)),
        fallback_of: None,
    };
    warroom::engine::comms::CommsStatus {
        incident: incident.into(),
        next: Some(Due {
            stage: Stage::Update,
            at: now() + chrono::TimeDelta::seconds(next_in_secs),
            late_after: now() + chrono::TimeDelta::seconds(next_in_secs + 60),
        }),
        overdue: next_in_secs + 60 < 0,
        kept: CadenceKept { on_time: 1, due: 1 },
        notices: vec![NoticeRecord {
            id: notice.clone(),
            incident: incident.into(),
            stage: Stage::Initial,
            seq: 1,
            due_at: at(6),
            sent_at: at(5),
            next_update: Some(now() + chrono::TimeDelta::seconds(next_in_secs)),
            lists: vec!["executive".into(), "technical".into(), "external".into()],
            message: "Standby promotion under way".into(),
            sent_by: "alice".into(),
            job_id: None,
            external: None,
        }],
        outbox: vec![
            row("alice", Channel::Email, "alice@example.com", DeliveryState::Sent, 1, None),
            row(
                "bob",
                Channel::Sms,
                "+4915112345602",
                DeliveryState::FailedRetrying,
                3,
                Some("rate limited (429): Too Many Requests"),
            ),
            row("carmen", Channel::Sms, "+4915112345603", DeliveryState::DeliveredToProvider, 1, None),
            row(
                "frank",
                Channel::Sms,
                "+15005550001",
                DeliveryState::FailedPermanent,
                1,
                Some("refused (400, code 21211): invalid To"),
            ),
            row("gina", Channel::Email, "gina@example.com", DeliveryState::SuppressedQuietHours, 0, None),
        ],
        health: OutboxHealth::Failed,
    }
}

/// The status update as it would go now.
fn next_notice(incident: &str) -> warroom::engine::comms::Composition {
    use warroom::engine::comms::{Composition, Recipient, Rendered};
    use warroom::model::comms::{Audience, Channel, Stage, sms_segments};
    let recipient = |name: &str, channel, address: &str| Recipient {
        name: name.into(),
        channel,
        address: address.into(),
        audience: Audience::Internal,
        quiet: false,
        fallback: Vec::new(),
    };
    let sms = format!(
        "{incident} SEV1: Status update: cause identified, recovery under way. Affected: database. The standby is being promoted; writes resume within minutes. Next update 23:11 UTC."
    );
    Composition {
        incident: incident.into(),
        notice: format!("{incident}-update-1"),
        stage: Stage::Update,
        seq: 1,
        lists: vec!["executive".into(), "technical".into()],
        message: String::new(),
        due_at: now(),
        next_update: None,
        recipients: vec![
            recipient("alice", Channel::Email, "alice@example.com"),
            recipient("bob", Channel::Sms, "+4915112345602"),
        ],
        rendered: vec![
            Rendered {
                audience: Audience::Internal,
                channel: Channel::Email,
                subject: Some(format!("[{incident}] SEV1 infrastructure incident: database")),
                text: String::new(),
                html: None,
                segments: None,
            },
            Rendered {
                audience: Audience::Internal,
                channel: Channel::Sms,
                subject: None,
                segments: Some(sms_segments(&sms)),
                text: sms,
                html: None,
            },
        ],
        status_text: None,
        warnings: vec![
            "the internal SMS is 183 characters (GSM-7): it goes as 2 segments, each billed".into(),
        ],
    }
}

#[test]
fn the_comms_screen_shows_each_recipients_delivery_and_the_header_counts_down() {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut s = state("default", w, h);
        let mut ops = incident_ops(&s);
        let id = ops.incident.as_ref().unwrap().id.clone();
        ops.comms = Some(comms_status(&id, 750));
        ops.preview = Some(Ok(next_notice(&id)));
        act(&mut s, Action::Engine(warroom::tui::action::EngineEvent::Ops(Box::new(ops))));
        act(&mut s, Action::ShowComms);
        let t = snapshot(&format!("comms_default_{w}x{h}"), &s);
        let screen = text(&t);
        assert!(screen.contains("status update in 12:30"), "{screen}");
        if w >= 120 {
            assert!(screen.lines().next().unwrap().contains("next update in 12:30"), "{screen}");
        }
        assert!(screen.contains("failed-permanent"), "{screen}");
        assert!(screen.contains("suppressed-quiet-hours"), "{screen}");
        assert!(screen.contains("NEXT NOTICE status update"), "the due notice previewed: {screen}");
        assert!(screen.contains("sms (internal) 183 characters · GSM-7 · 2 segments"), "{screen}");
        let (x, y) = find(t.backend().buffer(), "✖ failed-permanent").unwrap();
        assert_eq!(t.backend().buffer()[(x, y)].fg, s.theme.palette.danger);
    }
}

#[test]
fn an_overdue_update_is_an_alarm_in_the_header() {
    let mut s = state("default", 120, 40);
    let mut ops = incident_ops(&s);
    let id = ops.incident.as_ref().unwrap().id.clone();
    ops.comms = Some(comms_status(&id, -190));
    act(&mut s, Action::Engine(warroom::tui::action::EngineEvent::Ops(Box::new(ops))));
    let t = snapshot("header_overdue_default_120x40", &s);
    let screen = text(&t);
    assert!(screen.contains("✖ UPDATE OVERDUE 03:10"), "{screen}");
}

#[test]
fn the_gate_previews_a_notice_per_channel() {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut s = state("default", w, h);
        let mut job = gate_job(warroom::model::ApprovalPolicy::Confirm);
        job.kind = warroom::engine::jobs::JobKind::parse("notify").unwrap();
        job.target = "INC-261126-2235-3fa9".into();
        job.plan = warroom::engine::jobs::Plan {
            title: "notify · initial notice · INC-261126-2235-3fa9".into(),
            lines: vec![
                "initial notice for INC-261126-2235-3fa9 to executive, technical, external".into(),
                "email 3: alice <alice@example.com>, carmen <carmen@example.com>, customers <status@example.com>".into(),
                "sms 1, 1 in quiet hours: bob <+4915112345602>, gina (quiet hours: not sent)".into(),
                "email (internal) subject: [INC-261126-2235-3fa9] SEV1 infrastructure incident: database".into(),
                "sms (internal), 171 characters, GSM-7, 2 segments: INC-261126-2235-3fa9 SEV1: Incident detected".into(),
                "warning: the internal SMS is 171 characters (GSM-7): it goes as 2 segments, each billed".into(),
            ],
        };
        act(&mut s, Action::Engine(warroom::tui::action::EngineEvent::Proposed(Box::new(job))));
        let t = snapshot(&format!("gate_notice_default_{w}x{h}"), &s);
        assert!(text(&t).contains("2 segments"), "{}", text(&t));
    }
}

#[test]
fn the_incident_screen_shows_the_plan_and_the_timeline() {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut s = state("default", w, h);
        let ops = incident_ops(&s);
        act(&mut s, Action::Engine(warroom::tui::action::EngineEvent::Ops(Box::new(ops))));
        act(&mut s, Action::ShowIncident);
        let t = snapshot(&format!("incident_default_{w}x{h}"), &s);
        let screen = text(&t);
        assert!(screen.contains("INCIDENT INC-261126-2235-3fa9"), "{screen}");
        assert!(screen.contains("⏱ database commit 27:00"), "the commit window counts down: {screen}");
        assert!(screen.contains("blocked: database did not recover"), "{screen}");
        let (x, y) = find(t.backend().buffer(), "⊘ api").unwrap();
        assert_eq!(t.backend().buffer()[(x, y)].fg, s.theme.palette.danger);
    }
}

#[test]
fn the_gate_shows_a_recovery_plan_with_its_forecast() {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut s = state("default", w, h);
        let mut job = gate_job(warroom::model::ApprovalPolicy::Typed);
        job.kind = warroom::engine::jobs::JobKind::parse("recover").unwrap();
        job.plan = warroom::engine::jobs::Plan {
            title: "Recover database, cache, api".into(),
            lines: vec![
                "wave 1".into(),
                "  database       failover, ~6m10s · ✔ back at +0:06:10, 0:26:00 left".into(),
                "  cache          restore newest verified backup, ~1m30s · back at +0:01:30 (not down)".into(),
                "wave 2".into(),
                "  api            failover, ~1m20s, after database, cache · ✖ WILL BREACH: back at +0:07:30 with 0:05:00 left".into(),
                "forecast   all back in 7m30s along the critical path; 1 system(s) will breach their RTO".into(),
                "then       each system's own procedure runs as part of this plan (no further approval)".into(),
            ],
        };
        act(&mut s, Action::Engine(warroom::tui::action::EngineEvent::Proposed(Box::new(job))));
        snapshot(&format!("gate_plan_default_{w}x{h}"), &s);
    }
}

#[test]
fn a_manual_step_asks_the_operator() {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut s = state("default", w, h);
        let mut job = gate_job(warroom::model::ApprovalPolicy::Typed);
        job.kind = warroom::engine::jobs::JobKind::parse("failover").unwrap();
        job.state = warroom::engine::jobs::JobState::Running;
        job.plan.title = "Fail over database".into();
        job.progress.stage = "manual: Confirm replication is stopped on the old primary".into();
        job.progress.waiting = Some(warroom::engine::jobs::Waiting::Manual {
            instruction: "Confirm replication is stopped on the old primary".into(),
        });
        act(&mut s, Action::Engine(warroom::tui::action::EngineEvent::Job(Box::new(job))));
        let t = snapshot(&format!("manual_default_{w}x{h}"), &s);
        assert!(text(&t).contains("Confirm replication is stopped on the old primary"));
    }
}

#[test]
fn the_light_theme_paints_its_own_background() {
    let s = state("light", 120, 40);
    let t = draw(&s);
    let background = s.theme.palette.background;
    assert_ne!(background, Color::Reset);
    // Every cell has a background of the theme's: none shows the terminal's own (dark) one.
    for cell in t.backend().buffer().content() {
        assert_ne!(cell.bg, Color::Reset, "{:?} on the terminal's background", cell.symbol());
    }
    // The dark default leaves the terminal's background alone.
    let d = draw(&state("default", 120, 40));
    assert!(d.backend().buffer().content().iter().any(|c| c.bg == Color::Reset));
}

/// A state that cannot be read is never an all-clear: the header says so over the last good
/// read, in the danger colour, and the badge goes when a read succeeds again.
#[test]
fn an_unreadable_state_shows_in_the_header_until_it_reads_again() {
    let mut s = state("default", 120, 40);
    act(
        &mut s,
        Action::Engine(warroom::tui::action::EngineEvent::StateUnreadable(
            "the database is locked by another process".into(),
        )),
    );
    let t = text(&draw(&s));
    let header = t.lines().next().unwrap();
    assert!(header.contains("✖ STATE UNREADABLE since 22:41:07"), "{header}");
    let reason = t.lines().nth(1).unwrap();
    assert!(reason.contains("state unreadable: the database is locked by another process"), "{reason}");
    assert!(reason.contains("last good read, stale"), "{reason}");
    act(&mut s, Action::Engine(warroom::tui::action::EngineEvent::Ops(Box::default())));
    assert!(!text(&draw(&s)).to_lowercase().contains("state unreadable"));
}

/// Live, at any width, a dependency cell that cannot hold the names shows counts by state
/// (`needs ✖ 1 ● 1`), never a bare `needs …`.
#[test]
fn the_dependency_cell_shows_counts_when_names_do_not_fit() {
    for w in 120..=170u16 {
        let mut s = state("default", w, 40);
        outage(&mut s);
        let t = text(&draw(&s));
        assert!(!t.contains("needs …"), "at {w} columns:\n{t}");
        let api = t.lines().find(|l| l.contains(" api ")).unwrap();
        assert!(api.contains("needs"), "at {w} columns: {api}");
    }
}

/// Healthy or not, at every width from 80 to 200 columns: never a bare `needs …`.
#[test]
fn the_dependency_cell_is_never_a_bare_ellipsis() {
    for w in 80..=200u16 {
        for down in [false, true] {
            let mut s = state("default", w, 40);
            if down {
                outage(&mut s);
            }
            let t = text(&draw(&s));
            assert!(!t.contains("needs …"), "at {w} columns (outage {down}):\n{t}");
        }
    }
}

/// The shipped regional outage, ten minutes in: I-1 acknowledged, I-2 resolved by the
/// declaration, I-3 released and waiting for its failover, the rest pending.
fn exercise_ops() -> warroom::tui::action::Ops {
    use warroom::model::exercise::{Act, EventKind, ExerciseEvent, ExerciseRecord, Run};
    let env = MapEnv::new([("HOME", "/home/alice"), ("USER", "alice")]);
    let config = load_str(Path::new("/etc/warroom/config.toml"), EXAMPLE, &env).unwrap().config;
    let path = common::root().join("scenarios/regional-outage.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let scenario = warroom::config::scenario::load(&path, &text, &config, &|_| Ok(()))
        .unwrap_or_else(|r| panic!("{}", r.render(false)))
        .scenario;
    let start = now() - chrono::Duration::seconds(600);
    let at = |secs: i64, author: &str, kind: EventKind| ExerciseEvent {
        at: start + chrono::Duration::seconds(secs),
        offset: std::time::Duration::from_secs(secs as u64),
        author: author.to_owned(),
        kind,
    };
    let events = vec![
        at(0, "fac", EventKind::Started { speed: 1.0 }),
        at(0, "exercise", EventKind::Released { inject: "I-1".into() }),
        at(120, "exercise", EventKind::Released { inject: "I-2".into() }),
        at(120, "exercise", EventKind::Down { system: "database".into() }),
        at(125, "exercise", EventKind::Released { inject: "I-4".into() }),
        at(150, "bob", EventKind::Acknowledged { inject: "I-1".into() }),
        at(180, "exercise", EventKind::Released { inject: "I-3".into() }),
        at(
            300,
            "bob",
            EventKind::Seen { act: Act::Declare, detail: "INC-1 declared by bob".into(), key: "i".into() },
        ),
        at(
            301,
            "exercise",
            EventKind::Resolved { inject: "I-2".into(), how: "declare seen at +0:05".into() },
        ),
    ];
    let record = ExerciseRecord {
        id: "EX-20261126-1".into(),
        name: scenario.name.clone(),
        kind: scenario.kind,
        scenario: text,
        checked: scenario.clone(),
        scenario_sha256: "ab".repeat(32),
        path: path.display().to_string(),
        started_at: start,
        started_by: "fac".into(),
        ended_at: None,
    };
    let run = Run::replay(&scenario, &events).unwrap();
    let exercise = warroom::engine::exercise::ExerciseView { record, events, run };
    warroom::tui::action::Ops { exercise: Some(exercise), ..Default::default() }
}

#[test]
fn the_exercise_screen_in_the_facilitators_and_the_players_view() {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut s = state("default", w, h);
        act(&mut s, Action::Engine(warroom::tui::action::EngineEvent::Ops(Box::new(exercise_ops()))));
        // The header says EXERCISE on every screen, in its own style.
        let t = draw(&s);
        let first = text(&t).lines().next().unwrap().to_owned();
        assert!(first.contains("EXERCISE"), "{first}");
        assert!(first.contains("T+0:10:00"), "{first}");
        assert_eq!(first.contains("EXERCISE functional"), w >= 100, "{first}");
        let (x, y) = find(t.backend().buffer(), "EXERCISE").unwrap();
        assert_eq!(t.backend().buffer()[(x, y)].bg, s.theme.palette.info);

        act(&mut s, Action::ShowExercise);
        let t = snapshot(&format!("exercise_facilitator_{w}x{h}"), &s);
        let screen = text(&t);
        assert!(screen.contains("C-1"), "the facilitator sees what is still to come: {screen}");
        assert!(screen.contains("in 10:00"), "I-5's countdown: {screen}");
        // The selected inject's expected action, and its time left.
        act(&mut s, Action::Command(KeyCommand::Down));
        act(&mut s, Action::Command(KeyCommand::Down));
        let screen = text(&draw(&s));
        assert!(screen.contains("expected: The commander fails the database over"), "{screen}");
        assert!(screen.contains("08:00 left"), "{screen}");

        // The players' view: released injects only, nothing of what is expected of them.
        act(&mut s, Action::Command(KeyCommand::NextPane));
        let t = snapshot(&format!("exercise_players_{w}x{h}"), &s);
        let screen = text(&t);
        assert!(!screen.contains("C-1") && !screen.contains("I-5"), "{screen}");
        assert!(!screen.contains("expected:"), "{screen}");
        assert!(screen.contains("players' view"), "{screen}");
    }
}

#[test]
fn a_joined_player_has_only_the_players_view() {
    let mut s = state("default", 120, 40);
    s.player = true;
    act(&mut s, Action::Engine(warroom::tui::action::EngineEvent::Ops(Box::new(exercise_ops()))));
    act(&mut s, Action::ShowExercise);
    act(&mut s, Action::Command(KeyCommand::NextPane));
    let screen = text(&draw(&s));
    assert!(screen.contains("players' view") && !screen.contains("C-1"), "{screen}");
    // A acknowledges the selected released inject.
    act(&mut s, Action::Command(KeyCommand::Down));
    let effects = update(&mut s, Action::Command(KeyCommand::Acknowledge), now());
    assert_eq!(
        effects,
        vec![warroom::tui::action::Effect::Exercise(warroom::tui::action::ExerciseRequest::Control(
            warroom::engine::exercise::Control::Acknowledge("I-2".into())
        ))]
    );
}

#[test]
fn the_processes_screen_shows_live_state_budget_and_what_hurts_them() {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut s = state("default", w, h);
        outage(&mut s);
        act(&mut s, Action::Command(KeyCommand::Processes));
        let t = snapshot(&format!("processes_outage_{w}x{h}"), &s);
        let buffer = t.backend().buffer();
        // The database is down 37 minutes: online-orders (RTO 1h) has 23 minutes of its
        // budget left; staff-collaboration does not rely on it and works.
        assert!(find(buffer, "23m left").is_some(), "online-orders' budget");
        let (x, y) = find(buffer, "3h23m left").expect("customer-login's budget (RTO 4h)");
        assert_eq!(buffer[(x, y)].fg, s.theme.palette.warning);
        assert!(find(buffer, "hurt by database (down 37m)").is_some());
        assert!(find(buffer, "✔ staff-collaboration").is_some());
        // Selecting another process shows its detail.
        act(&mut s, Action::Command(KeyCommand::Down));
        let t = draw(&s);
        assert!(find(t.backend().buffer(), "needs").is_some());
    }
    // Down 70 minutes: past the 1h RTO of online-orders and card-payments.
    let mut s = state("default", 80, 24);
    let down = health(&s, "database", HealthState::Down, 0.0, 6200, 0.5, Some(70), None);
    act(&mut s, Action::Engine(warroom::tui::action::EngineEvent::Health(vec![down])));
    act(&mut s, Action::Command(KeyCommand::Processes));
    let t = draw(&s);
    assert!(find(t.backend().buffer(), "✖ online-orders").is_some());
    assert!(find(t.backend().buffer(), "BREACHED 10m ago").is_some(), "online-orders past its RTO");
    let (x, y) = find(t.backend().buffer(), "2 past their RTO").unwrap_or_else(|| panic!("{}", text(&t)));
    assert_eq!(t.backend().buffer()[(x, y)].fg, s.theme.palette.danger);
}

#[test]
fn the_risk_heat_map_shows_count_symbol_and_colour() {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut s = state("default", w, h);
        act(&mut s, Action::Command(KeyCommand::Risks));
        act(&mut s, Action::Command(KeyCommand::Down));
        let t = snapshot(&format!("risks_heat_map_{w}x{h}"), &s);
        let buffer = t.backend().buffer();
        // Two risks at likelihood 2 x impact 3 (score 6, medium): the count, the symbol, the
        // band's colour, filled.
        let (x, y) = find(buffer, "2 ▲").expect("the 2x3 cell");
        assert_eq!(buffer[(x, y)].fg, s.theme.palette.info);
        assert!(buffer[(x, y)].modifier.contains(Modifier::REVERSED));
        assert!(find(buffer, "R-02 Ransomware").is_some(), "the selected risk's detail");
        assert!(find(buffer, "inherent 15 ✖ critical (3×5)").is_some());
    }
    // Without colour the cell still says what it is.
    let mut s = state("default", 80, 24);
    s.theme = s.theme.clone().without_color();
    act(&mut s, Action::Command(KeyCommand::Risks));
    let t = draw(&s);
    assert!(find(t.backend().buffer(), "2 ▲").is_some());
}
