//! The plan's documents rendered from a fixed state (the example estate, a fixed clock, a risk
//! whose words are hostile), compared with committed snapshots; the HTML opened in headless
//! Chromium with assertions on its DOM: the summary, the heat map, the charts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use chrono::{TimeZone, Utc};

use warroom::clock::ManualClock;
use warroom::config::console::MapEnv;
use warroom::config::load_str;
use warroom::engine::Engine;

const EXAMPLE: &str = include_str!("../config.toml.example");

/// A risk written by someone trying to break the documents: markup, a table pipe, a newline.
const HOSTILE: &str = r#"
[[risks]]
id = "R-99"
name = "<script>alert('x')</script> | a pipe"
type = "cyber"
description = "line one\n# not a heading"
systems = ["wiki"]
likelihood = 4
impact = 4
residual = [3, 4]
treatment = "accept"
owner = "alice"
review = "2027-01-31"
"#;

async fn engine(state: &Path) -> Engine {
    let env = MapEnv::new([("HOME", "/home/alice"), ("USER", "alice"), ("WARROOM_OPERATOR", "alice")]);
    let text = format!("{EXAMPLE}{HOSTILE}");
    let mut config = load_str(Path::new("/etc/warroom/config.toml"), &text, &env).unwrap().config;
    config.console.state_dir = state.to_owned();
    let clock = Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 26, 22, 41, 7).single().unwrap()));
    Engine::open_with_clock(config, clock).await.unwrap()
}

#[tokio::test]
async fn the_status_report_renders_the_same_from_the_same_state() {
    let state = tempfile::tempdir().unwrap();
    let engine = engine(state.path()).await;
    let report = engine.bcdr_report().await.unwrap();
    let md = warroom::model::report::markdown(&report);
    insta::assert_snapshot!("report_md", md);
    let html = warroom::model::report::html(&report);
    insta::assert_snapshot!("report_html", html);
    // The hostile risk stays text.
    assert!(!html.contains("<script>alert"), "escaped in HTML");
    assert!(html.contains("&lt;script&gt;alert("));
    assert!(md.contains("\\| a pipe"), "the pipe cannot split a Markdown table row");
    assert_eq!(md.matches("<script>").count(), md.matches("\\<script>").count(), "no markup in the Markdown");
    assert!(!md.contains("\n# not a heading"), "a newline cannot start a heading");
}

#[tokio::test]
async fn a_runbook_and_the_plan_document_render_the_same_from_the_same_state() {
    let state = tempfile::tempdir().unwrap();
    let engine = engine(state.path()).await;
    let book = engine.runbook("database", Some(Path::new("/srv/restore/database"))).await.unwrap();
    insta::assert_snapshot!("runbook_database_md", book.doc().markdown());
    let plan = engine.plan_document(Some(Path::new("/srv/restore"))).await.unwrap();
    let md = plan.doc().markdown();
    assert!(md.contains("R-99"));
    assert_eq!(md.matches("<script>").count(), md.matches("\\<script>").count(), "no markup in the Markdown");
    assert!(!md.contains("\n# not a heading"));
    assert!(!plan.doc().html().contains("<script>alert"));
}

fn chromium() -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .and_then(|p| std::env::split_paths(&p).map(|d| d.join("chromium")).find(|p| p.is_file()));
    if found.is_none() {
        assert!(std::env::var_os("CI").is_none(), "chromium is not installed: .ci/run must install it");
        eprintln!("SKIPPED: chromium is not installed (apt install chromium)");
    }
    found
}

#[tokio::test]
async fn the_report_reads_in_a_real_browser_with_its_summary_heat_map_and_charts() {
    let Some(chromium) = chromium() else { return };
    let state = tempfile::tempdir().unwrap();
    let engine = engine(state.path()).await;
    let report = engine.bcdr_report().await.unwrap();
    let page = state.path().join("report.html");
    std::fs::write(&page, warroom::model::report::html(&report)).unwrap();
    let out = Command::new(&chromium)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom"])
        .arg(format!("--user-data-dir={}", state.path().join("profile").display()))
        .arg(format!("file://{}", page.display()))
        .stderr(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "chromium failed: {out:?}");
    let dom = String::from_utf8_lossy(&out.stdout);

    // The summary: three lines, the first about data.
    let summary = dom.split("id=\"summary\"").nth(1).unwrap().split("</section>").next().unwrap();
    assert_eq!(summary.matches("<li>").count(), 3, "{summary}");
    assert!(summary.contains("Data:"), "{summary}");

    // The heat map: 25 cells; their counts add up to the risks; R-99's cell (3x4, high) says so.
    let map = dom.split("id=\"heat-map\"").nth(1).unwrap().split("</svg>").next().unwrap();
    let cells: Vec<&str> = map.split("<g class=\"cell\"").skip(1).collect();
    assert_eq!(cells.len(), 25, "{map}");
    let count = |c: &str| {
        c.split("data-count=\"").nth(1).and_then(|s| s.split('"').next()).unwrap().parse::<u32>().unwrap()
    };
    assert_eq!(cells.iter().map(|c| count(c)).sum::<u32>(), 6, "five example risks and R-99");
    let r99 = cells
        .iter()
        .find(|c| c.contains("data-likelihood=\"3\"") && c.contains("data-impact=\"4\""))
        .unwrap();
    assert!(r99.contains("data-band=\"high\"") && count(r99) == 1, "{r99}");

    // The charts are drawn: a bar per tier, one per kind of test.
    let rpo = dom.split("id=\"rpo-chart\"").nth(1).unwrap().split("</svg>").next().unwrap();
    assert!(rpo.matches("<rect").count() >= 4, "{rpo}");
    let coverage = dom.split("id=\"coverage-chart\"").nth(1).unwrap().split("</svg>").next().unwrap();
    assert!(coverage.contains("restore-drill"), "{coverage}");
    // Nothing the hostile risk wrote became markup.
    assert!(!dom.contains("<script>alert"), "{dom}");
    assert!(dom.contains("&lt;script&gt;alert("));
}
