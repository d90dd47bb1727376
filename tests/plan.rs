//! The continuity plan's documents on the demo estate: the status report in every format, and
//! plan reviews reaching `status`.

mod common;

use common::warroom;

#[test]
fn the_demo_renders_the_status_report_and_records_a_review() {
    let state = tempfile::tempdir().unwrap();
    let out = warroom(state.path()).args(["report", "--demo", "--format", "json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["schema"], "warroom.report/1");
    assert_eq!(r["summary"].as_array().unwrap().len(), 3);
    assert_eq!(r["processes"].as_array().unwrap().len(), 5);
    assert_eq!(r["risks"].as_array().unwrap().len(), 5);
    assert_eq!(r["sites"].as_array().unwrap().len(), 2);
    let cells: u64 = r["heat_map"]["residual"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row.as_array().unwrap())
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(cells, 5, "every risk on the grid once");
    let flood = r["risks"].as_array().unwrap().iter().find(|k| k["id"] == "R-05").unwrap();
    assert_eq!(flood["exposed"], serde_json::json!(["wiki", "file-shares"]), "backup-only is no standby");
    assert!(r["plan"]["review_due"].as_str().unwrap().contains("never been reviewed"));

    let html = state.path().join("report.html");
    let out = warroom(state.path()).args(["report", "--demo", "--out"]).arg(&html).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let page = std::fs::read_to_string(&html).unwrap();
    for id in ["id=\"summary\"", "id=\"heat-map\"", "id=\"rpo-chart\"", "id=\"coverage-chart\""] {
        assert!(page.contains(id), "{id} in the page");
    }
    assert!(!page.contains("<script"), "no script");

    let out = warroom(state.path())
        .args(["review", "--demo", "--as", "alice", "--note", "annual review with the owners"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("reviewed by alice (recorded by tester)"),
        "who entered it is never hidden: {said}"
    );
    let out = warroom(state.path()).args(["report", "--demo"]).output().unwrap();
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(
        md.contains("Last plan review:") && md.contains("by alice: annual review with the owners"),
        "{md}"
    );
    let out = warroom(state.path()).args(["review", "--demo", "--note", ""]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "a review without a note is refused");
    // All of it in the demo's state, where `warroom demo` keeps it: the live state is untouched.
    let live = state.path().join("warroom");

    assert!(!live.join("warroom.db").exists(), "--demo never writes the live state");
}

#[test]
fn the_demo_renders_runbooks_in_every_format() {
    let state = tempfile::tempdir().unwrap();
    let out = warroom(state.path()).args(["runbook", "database", "--demo"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let md = String::from_utf8_lossy(&out.stdout);
    for section in [
        "# Runbook: database",
        "## Prerequisites",
        "## Recovery order",
        "## Failover",
        "### Validation",
        "### Rollback",
        "## Failback",
        "## Restore from backup, with stock tools",
        "## Escalation contacts",
        "## Last tested",
    ] {
        assert!(md.contains(section), "{section} in:\n{md}");
    }
    assert!(md.contains("pg_ctl promote -D /var/lib/postgresql/16/standby"), "steps as commands:\n{md}");
    assert!(md.contains("| bob | DBA on call |"), "contacts from the comms config:\n{md}");

    // api depends on the database: the runbook says what must be back first.
    let out = warroom(state.path()).args(["runbook", "api", "--demo", "--format", "json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["schema"], "warroom.runbook/1");
    let first: Vec<&str> = r["recover_first"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|w| w.as_array().unwrap())
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(first.contains(&"database"), "{first:?}");

    let html = state.path().join("runbooks.html");
    let out =
        warroom(state.path()).args(["runbook", "--all", "--demo", "--out"]).arg(&html).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("id=\"runbook-database\"") && page.contains("id=\"runbook-wiki\""));
    assert!(!page.contains("<script"));

    let out = warroom(state.path()).args(["runbook", "databse", "--demo"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("there is no system \"databse\""));
}

#[test]
fn the_demo_renders_the_plan_document_in_the_standards_sections() {
    let state = tempfile::tempdir().unwrap();
    let out = warroom(state.path()).args(["plan-doc", "--demo"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let md = String::from_utf8_lossy(&out.stdout);
    let sections = [
        "## 1. Executive summary",
        "## 2. Risk assessment",
        "## 3. Business impact analysis",
        "## 4. Recovery strategies",
        "## 5. Plan activation",
        "## 6. System inventory",
        "## 7. Recovery procedures",
        "## 8. Validation checklists",
        "## 9. Rollback procedures",
        "## 10. Contact lists",
        "## 11. Test reports",
    ];
    let mut at = 0;
    for s in sections {
        let found = md[at..].find(s).unwrap_or_else(|| panic!("{s} after the one before it in:\n{md}"));
        at += found;
    }
    assert!(md.contains("#### Runbook: database") || md.contains("### Runbook: database"), "runbooks inside");
    assert!(md.contains("| R-02 | Ransomware"), "the risk register");

    let out = warroom(state.path()).args(["plan-doc", "--demo", "--format", "json"]).output().unwrap();
    let d: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(d["schema"], "warroom.plan-doc/1");
    assert_eq!(d["report"]["schema"], "warroom.report/1");
    assert_eq!(d["runbooks"].as_array().unwrap().len(), 12);
    assert_eq!(d["buckets"], serde_json::json!(["1h", "4h", "24h", "72h", "7d"]));

    let out = warroom(state.path()).args(["plan-doc", "--demo", "--format", "html"]).output().unwrap();
    let page = String::from_utf8_lossy(&out.stdout);
    for id in [
        "executive-summary",
        "risk-assessment",
        "heat-map",
        "system-inventory",
        "test-reports",
        "database-failover",
    ] {
        assert!(page.contains(&format!("id=\"{id}\"")), "{id}");
    }
    assert!(!page.contains("<script"));
}
