//! The real binary, in a real terminal (tmux), driven by keys as a person would.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::tmux::Tmux;

#[test]
fn the_console_starts_filters_opens_switches_theme_and_quits_cleanly() {
    let Some(t) = Tmux::start("console", 120, 40) else { return };
    let state = tempfile::tempdir().unwrap();
    let command = format!(
        "cd {root} && env -u COLORTERM -u NO_COLOR XDG_STATE_HOME={state} WARROOM_OPERATOR=tester {bin} --config config.toml.example; echo EXITED-$?",
        root = common::root().display(),
        state = state.path().display(),
        bin = env!("CARGO_BIN_EXE_warroom"),
    );
    t.type_text(&command);
    t.keys(&["Enter"]);

    // It starts, and the dashboard shows every system.
    let names = [
        "edge",
        "api",
        "payments",
        "database",
        "auth",
        "cache",
        "queue",
        "search",
        "reporting",
        "analytics",
        "wiki",
        "file-shares",
    ];
    t.wait_for("every system and the operator", |s| {
        s.contains("TIER 4 · standard")
            && s.contains("op tester")
            && names.iter().all(|n| s.contains(&format!(" {n} ")))
    });
    assert_eq!(t.format("#{alternate_on}"), "1", "the console uses the alternate screen");

    // `/` filters.
    t.type_text("/");
    t.wait_text("⏎ keep  esc clear");
    t.type_text("data");
    // Whole frames only: a capture can land while one is being drawn.
    t.wait_for("the filter to show the database alone", |s| {
        s.contains("filter: data (1 of 12)") && s.contains(" database ") && !s.contains(" payments ")
    });
    t.keys(&["Enter"]);
    t.wait_text("↑↓ select");

    // Enter opens the selected system.
    t.keys(&["Enter"]);
    t.wait_for("the database's detail", |s| {
        s.contains("─ database · tier 1 · mission critical · owner dba-team")
            && s.contains("OVERVIEW")
            && s.contains("impacts (8)")
    });
    t.keys(&["Escape"]);
    t.wait_text("TIER 1 · mission critical");
    t.keys(&["Escape"]);
    t.wait_for("the filter to clear", |s| s.contains(" payments ") && !s.contains("filter: data"));

    // `:theme light` switches the colours (the header bar: #303030 dark, #d0d0d0 light, in
    // the 256-colour palette since COLORTERM does not promise truecolor).
    assert!(t.screen_with_colours().contains("48;5;236"), "the default theme's header");
    t.type_text(":");
    t.wait_text("tab complete  ↑↓ choose");
    t.type_text("theme light");
    t.keys(&["Enter"]);
    let coloured =
        t.wait_coloured("the light theme's header", |s| s.contains("48;5;252") && !s.contains("48;5;236"));
    assert!(coloured.contains("theme light"), "the footer says so:\n{coloured}");

    // `q` quits and gives the terminal back.
    t.type_text("q");
    t.wait_text("EXITED-0");
    assert_eq!(t.format("#{alternate_on}"), "0", "the alternate screen is left");
    assert_eq!(t.format("#{cursor_flag}"), "1", "the cursor is shown");
}

#[test]
fn a_console_without_a_terminal_says_what_to_use_instead() {
    let state = tempfile::tempdir().unwrap();
    let out = common::warroom(state.path()).args(["--config", "config.toml.example"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the console needs a terminal"));
}

#[test]
fn the_demo_shows_an_outage_injected_from_another_terminal() {
    let Some(t) = Tmux::start("demo", 140, 40) else { return };
    let state = tempfile::tempdir().unwrap();
    let env = format!(
        "env -u COLORTERM XDG_STATE_HOME={} HOME={} WARROOM_OPERATOR=tester",
        state.path().display(),
        state.path().display()
    );
    t.type_text(&format!("{env} {} demo; echo EXITED-$?", env!("CARGO_BIN_EXE_warroom")));
    t.keys(&["Enter"]);
    t.wait_text(" DEMO ");
    t.wait_for("every system healthy", |s| s.contains("● 12 healthy"));

    // From another terminal: the database goes down.
    let out = common::warroom(state.path()).args(["sim", "fault", "database", "down"]).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "database: down",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let screen = t.wait_for("the database down, with failover recommended", |s| {
        s.lines().any(|l| l.contains("✖ DOWN") && l.contains("database") && l.contains("▶ FAILOVER"))
    });
    let database = screen.lines().find(|l| l.contains(" database ")).unwrap();
    assert!(database.contains("RTO 0:"), "the RTO clock runs: {database}");
    assert!(database.contains("⚡"), "the console sees the fault switched elsewhere: {database}");
    // One cause, not twenty alarms: what needs the database is impacted by it.
    t.wait_for("dependents impacted by the database", |s| s.contains("impacted by database"));

    // The decision panel gives every reason with its measured value and threshold.
    t.type_text(":");
    t.wait_text("tab complete");
    t.type_text("system database");
    t.keys(&["Enter"]);
    t.wait_for("failover recommended with every reason, its value and threshold", |s| {
        s.contains("▶ FAILOVER RECOMMENDED")
            && s.contains("✖ availability")
            && s.contains("< 95%")
            && s.contains("+3")
            && s.contains("p95 response")
            && s.contains("error rate")
            && s.contains("RTO left")
    });

    // The fault key moves the selected system (the database, worst first) on to its next
    // fault: it knows the database is down, though that was switched from elsewhere.
    t.keys(&["Escape"]);
    t.wait_text("TIER 1 · mission critical");
    t.type_text("F");
    t.wait_text("database: simulated flapping");

    t.type_text("q");
    t.wait_text("EXITED-0");
    assert!(!state.path().join("warroom/demo/sim.json").exists(), "the demo cleans up after itself");
}

/// The database's "RPO mm:ss left" on the dashboard, in seconds.
fn rpo_left(screen: &str, system: &str) -> Option<u64> {
    let line = screen.lines().find(|l| l.contains(&format!(" {system} ")))?;
    // The RPO cell reads "RPO 04:52 left" (the objectives column "RPO 5m" has no colon).
    line.match_indices("RPO ").find_map(|(at, _)| {
        let rest = &line[at + 4..];
        let clock: String = rest.chars().take_while(|c| c.is_ascii_digit() || *c == ':').collect();
        if !clock.contains(':') || !rest[clock.len()..].starts_with(" left") {
            return None;
        }
        let parts: Vec<u64> = clock.split(':').filter_map(|p| p.parse().ok()).collect();
        Some(parts.iter().fold(0, |acc, p| acc * 60 + p))
    })
}

#[test]
fn a_backup_from_the_console_goes_through_the_gate_and_resets_the_rpo_timer() {
    let Some(t) = Tmux::start("backup", 140, 40) else { return };
    let state = tempfile::tempdir().unwrap();
    let env = format!(
        "env -u COLORTERM XDG_STATE_HOME={} HOME={} WARROOM_OPERATOR=tester",
        state.path().display(),
        state.path().display()
    );
    t.type_text(&format!("{env} {} demo; echo EXITED-$?", env!("CARGO_BIN_EXE_warroom")));
    t.keys(&["Enter"]);
    // The demo backs everything up at the start: live RPO timers from the first minute (the
    // database's cell shows its standby's lag; payments has only backups).
    t.wait_for("payments backed up", |s| rpo_left(s, "payments").is_some_and(|l| l > 0));
    // Let the timer run down a little.
    let before = t.wait_for("the RPO timer to run", |s| rpo_left(s, "payments").is_some_and(|l| l <= 294));
    let before = rpo_left(&before, "payments").unwrap();

    // Select the database, ask for a backup: the gate opens; Esc runs nothing.
    t.type_text(":");
    t.wait_text("tab complete");
    t.type_text("backup payments");
    t.keys(&["Enter"]);
    t.wait_text("APPROVAL · Back up payments");
    t.keys(&["Escape"]);
    // The console says so, then the job's end says it again with who cancelled it.
    t.wait_for("the gate closed, nothing run", |s| !s.contains("APPROVAL") && s.contains("nothing ran"));
    let count = |audit: &[(String, String)], action: &str| {
        audit.iter().filter(|(a, target)| a == action && target == "payments").count()
    };
    // The refusal reaches the audit log a moment after the gate closes.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let audit = loop {
        let audit = demo_audit(&state.path().join("warroom/demo"));
        if count(&audit, "backup.cancelled") == 1 || std::time::Instant::now() > deadline {
            break audit;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!(count(&audit, "backup.cancelled"), 1, "the decision is audited: {audit:?}");
    let started_before = count(&audit, "backup.started");
    // The cancelled proposal never started.
    assert_eq!(started_before, count(&audit, "backup.finished"), "{audit:?}");

    // Again, and approve: the job runs and the timer starts again from the full RPO.
    t.type_text(":");
    t.wait_text("tab complete");
    t.type_text("backup payments");
    t.keys(&["Enter"]);
    let gate = t.wait_text("APPROVAL · Back up payments");
    // The timer only ever counts down, unless a newer verified backup resets it.
    let ticking = rpo_left(&gate, "payments").unwrap_or(before);
    t.keys(&["Tab", "Enter"]);
    let after = t.wait_for("the RPO timer reset", |s| rpo_left(s, "payments").is_some_and(|l| l > ticking));
    assert!(rpo_left(&after, "payments").unwrap() >= 270, "{after}");

    t.type_text("J");
    t.wait_for("the jobs: the backup that ran and the one cancelled", |s| {
        s.contains("JOBS ·")
            && s.lines().any(|l| l.contains("succeeded") && l.contains("backup") && l.contains("payments"))
            && s.lines().any(|l| l.contains("cancelled") && l.contains("payments"))
    });

    let audit = demo_audit(&state.path().join("warroom/demo"));
    assert_eq!(count(&audit, "backup.started"), started_before + 1, "{audit:?}");

    t.type_text("q");
    t.wait_text("EXITED-0");
}

/// The demo's audit log, oldest first: (action, target).
fn demo_audit(dir: &std::path::Path) -> Vec<(String, String)> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let store = warroom::store::Store::open(dir).await.unwrap();
        let records = store.audit_records(None).await.unwrap();
        records.into_iter().rev().map(|r| (r.action, r.target)).collect()
    })
}

/// The killed tmux session's console must finish the failover it started.
#[test]
fn a_failover_outlives_the_consoles_terminal() {
    let Some(t) = Tmux::start("hangup", 120, 36) else { return };
    let state = tempfile::tempdir().unwrap();
    let marker = state.path().join("validated");
    let config = state.path().join("warroom.toml");
    std::fs::write(
        &config,
        format!(
            r#"[console]
operator = "tester"
state_dir = "{state}/state"
[[systems]]
name = "database"
tier = 1
[systems.failover]
approval = "confirm"
steps = [
  {{ name = "Copy the WAL", run = ["sleep", "3"] }},
  {{ name = "Promote", run = ["sh", "-c", "echo promoted > '{marker}'"] }},
]
"#,
            state = state.path().display(),
            marker = marker.display()
        ),
    )
    .unwrap();
    let console = format!(
        "env -u COLORTERM XDG_STATE_HOME={s} HOME={s} {bin} --config {config}",
        s = state.path().display(),
        bin = env!("CARGO_BIN_EXE_warroom"),
        config = config.display()
    );
    t.type_text(&format!("{console}; echo EXITED-$?"));
    t.keys(&["Enter"]);
    t.wait_text("TIER 1");
    t.open_failover_gate("database");
    t.keys(&["Tab", "Enter"]);
    t.type_text("J");
    // Running, on the Jobs screen (the gate's plan names the step too).
    t.wait_for("the failover running its first step", |s| {
        s.contains("JOBS ·")
            && !s.contains("APPROVAL")
            && s.lines().any(|l| l.contains("running") && l.contains("database"))
    });
    // The SSH connection drops: the terminal and its session go away mid-step.
    t.tmux(&["kill-server"]);
    // The step, and the rest of the procedure, still complete.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !marker.exists() {
        assert!(Instant::now() < deadline, "the failover did not finish after the terminal went away");
        std::thread::sleep(Duration::from_millis(100));
    }
    // A new console on the same state shows the result.
    let t = Tmux::start("hangup-again", 120, 36).unwrap();
    t.type_text(&console);
    t.keys(&["Enter"]);
    t.wait_text("TIER 1");
    t.type_text("J");
    let jobs = t.wait_for("the failover's result", |s| {
        s.lines().any(|l| l.contains("succeeded") && l.contains("failover") && l.contains("database"))
    });
    assert!(jobs.contains("database failed over"), "{jobs}");
    t.type_text("q");
}

/// Fault, verdict, incident, plan, approval, recovery, report: the whole story in the demo.
#[test]
fn the_demo_runs_an_outage_and_its_recovery_end_to_end() {
    let Some(t) = Tmux::start("recovery", 140, 40) else { return };
    let state = tempfile::tempdir().unwrap();
    start_demo(&t, state.path());
    // Once the database has answered probes (its availability shows), it goes down.
    t.wait_for("the database's probes answered", |s| {
        s.lines().any(|l| l.contains("● HEALTHY") && l.contains(" database ") && l.contains("100%"))
    });
    let out = common::warroom(state.path()).args(["sim", "fault", "database", "down"]).output().unwrap();
    assert!(out.status.success());
    t.wait_for("failover recommended for the database", |s| {
        s.lines().any(|l| l.contains("✖ DOWN") && l.contains("database") && l.contains("▶ FAILOVER"))
    });
    // Declare the incident: the initial notice comes to the gate, then the recovery plan.
    t.type_text(":");
    t.wait_text("tab complete");
    t.type_text("declare infrastructure sev1 database");
    t.keys(&["Enter"]);
    t.wait_for("the initial notice at the gate", |s| {
        s.contains("APPROVAL · notify · initial notice") && s.contains("email ") && s.contains("segment")
    });
    t.keys(&["Tab", "Enter"]);
    // The plan, with the forecast against the RTO left.
    t.wait_for("the recovery plan at the gate", |s| {
        s.contains("APPROVAL · Recover database")
            && s.contains("wave 1")
            && s.contains("failover, ~")
            && s.contains("left")
            && s.contains("data: lose ~")
            && s.contains("by replication")
    });
    // Typing the name is the approval's deliberate act: Enter approves.
    t.type_text("database");
    t.keys(&["Enter"]);
    // The failover promotes the standby; its manual step asks the operator.
    t.wait_text("MANUAL STEP");
    t.keys(&["Tab", "Enter"]);
    t.type_text("I");
    let incident = t.wait_for("the database recovered", |s| s.contains("1 of 1 recovered"));
    assert!(incident.contains("INCIDENT INC-"), "{incident}");
    t.wait_for("the database healthy again", |s| s.contains("● 12 healthy"));
    // The report, with the RTO achieved.
    t.type_text(":");
    t.wait_text("tab complete");
    t.type_text("report");
    t.keys(&["Enter"]);
    let written =
        |s: &str| s.lines().find_map(|l| l.split("report written to ").nth(1)).map(|p| p.trim().to_owned());
    // The whole path (not a line caught half drawn): the file is there.
    let screen = t.wait_for("the report written", |s| written(s).is_some_and(|p| Path::new(&p).is_file()));
    let path = written(&screen).unwrap();
    let report = std::fs::read_to_string(&path).unwrap();
    let row = report.lines().find(|l| l.starts_with("| database |")).unwrap_or_default();
    assert!(row.contains("✔ met"), "RTO achieved within the objective: {report}");
    assert!(!row.contains("not recovered"), "{report}");
    // The failover read the standby's lag before its first step: the RPO achieved is that.
    assert!(row.contains("by replication: the standby was"), "RPO achieved by replication: {report}");
    assert!(report.contains("failover.replicated"), "the replicated point in the timeline: {report}");
    assert!(report.contains("recover.approved"), "who approved the plan: {report}");
    assert!(report.contains("cadence kept: 1 of 1 on time"), "{report}");
    t.type_text("q");
    t.wait_text("EXITED-0");
}

/// The demo's database standby falls behind (`replication-stalled`, the stall begun 4m50s
/// ago): the RPO cell goes at risk, then breached, and the decision panel's trade-off turns
/// from failing over to restoring the newest verified backup.
#[test]
fn a_stalled_standby_turns_the_rpo_cell_and_the_trade_off() {
    let Some(t) = Tmux::start("replication", 140, 40) else { return };
    let state = tempfile::tempdir().unwrap();
    start_demo(&t, state.path());
    let database = |s: &str| s.lines().find(|l| l.contains(" database ")).unwrap_or_default().to_owned();
    t.wait_for("the standby's lag in the RPO cell", |s| database(s).contains("● ⇄ lag"));
    // A verified backup of the database, so there is a restore to weigh.
    t.type_text(":");
    t.wait_text("tab complete");
    t.type_text("system database");
    t.keys(&["Enter"]);
    t.wait_for("the trade-off with a restore", |s| {
        s.contains("restore the newest verified backup: lose") && s.contains("→ fail over: within the RPO")
    });
    t.type_text(":");
    t.wait_text("tab complete");
    t.type_text("fault database replication-stalled 4m50s");
    t.keys(&["Enter"]);
    t.wait_for("the lag at risk", |s| s.contains("▲ ⇄ lag 4m5"));
    let screen = t.wait_for("the lag past the RPO", |s| s.contains("✖ ⇄ lag 5m"));
    let screen = if screen.contains("→ restore") {
        screen
    } else {
        t.wait_for("the trade-off turned to restore", |s| s.contains("→ restore: the standby is"))
    };
    assert!(screen.contains("(RPO 5m ✖)"), "{screen}");
    t.keys(&["Escape"]);
    t.wait_for("the dashboard's cell breached", |s| database(s).contains("✖ ⇄ lag 5m"));
    t.type_text("q");
    t.wait_text("EXITED-0");
}

/// Declare, approve the T+0 notice, see it delivered by the demo's own servers, see the next
/// update fall due (a 20-second cadence) and the header's alarm.
#[test]
fn the_demo_sends_the_initial_notice_and_the_next_update_falls_due() {
    let Some(t) = Tmux::start("comms", 140, 40) else { return };
    let state = tempfile::tempdir().unwrap();
    let config = state.path().join("comms.toml");
    std::fs::write(
        &config,
        r#"[console]
operator = "tester"

[[systems]]
name = "database"
tier = 1
[systems.health]
kind = "http"
url = "http://127.0.0.1:1/health"

[[contacts]]
name = "alice"
email = "alice@example.com"
lists = ["executive"]

[[contacts]]
name = "bob"
phone = "+4915112345602"
lists = ["technical"]
channels = ["sms"]

[notify.cadence]
update_after = "5s"
on_time_within = "2s"

[notify.email]
host = "smtp.example.com"
from = "warroom <warroom@example.com>"
"#,
    )
    .unwrap();
    let env = format!(
        "env -u COLORTERM XDG_STATE_HOME={} HOME={} WARROOM_OPERATOR=tester",
        state.path().display(),
        state.path().display()
    );
    t.type_text(&format!(
        "{env} {} demo --config {}; echo EXITED-$?",
        env!("CARGO_BIN_EXE_warroom"),
        config.display()
    ));
    t.keys(&["Enter"]);
    t.wait_text("TIER 1");
    t.type_text(":");
    t.wait_text("tab complete");
    t.type_text("declare infrastructure sev1 database");
    t.keys(&["Enter"]);
    let gate =
        t.wait_for("the initial notice at the gate", |s| s.contains("APPROVAL · notify · initial notice"));
    assert!(gate.contains("email 1: alice <alice@example.com>"), "{gate}");
    assert!(gate.contains("sms 1: bob <+4915112345602>"), "{gate}");
    t.keys(&["Tab", "Enter"]);
    // No procedure and no backup: there is no recovery plan to propose.
    t.type_text("C");
    let comms =
        t.wait_for("both delivered", |s| s.contains("✔ sent") && s.contains("✔ delivered-to-provider"));
    assert!(comms.contains("initial notice"), "{comms}");
    assert!(comms.contains("next update in"), "the header counts down: {comms}");
    // Five seconds after the notice the status update is due, two more and it is late: the alarm.
    t.wait_for("the update overdue", |s| s.contains("UPDATE OVERDUE") && s.contains("STATUS UPDATE OVERDUE"));
    // What the demo's servers kept.
    let demo = state.path().join("warroom/demo");
    let mails: Vec<_> = std::fs::read_dir(demo.join("mail")).unwrap().collect();
    assert_eq!(mails.len(), 1);
    let sms = std::fs::read_to_string(demo.join("sms.log")).unwrap();
    assert!(sms.contains("to +4915112345602: INC-"), "{sms}");
    t.type_text("q");
    t.wait_text("EXITED-0");
}

/// A shipped scenario at speed on the demo estate: its technical injects take the database
/// down, the players declare and fail over through the gates, the facilitator observes and
/// ends it, and the after-action report is written.
#[test]
fn the_demo_runs_a_shipped_scenario_at_speed_and_ends_with_a_report() {
    let Some(t) = Tmux::start("exercise", 140, 40) else { return };
    let state = tempfile::tempdir().unwrap();
    start_demo(&t, state.path());
    t.type_text(":");
    t.wait_text("tab complete");
    t.type_text("exercise start regional-outage 20");
    t.keys(&["Enter"]);
    t.wait_for("the EXERCISE badge", |s| {
        s.lines().next().is_some_and(|l| l.contains("EXERCISE functional T+"))
    });
    t.type_text("X");
    // I-2 takes the database down through the simulated estate.
    t.wait_for("I-2 released", |s| s.lines().any(|l| l.contains("I-2") && l.contains("released")));
    t.wait_for("the database down", |s| {
        s.lines().any(|l| l.contains("✖ DOWN") && l.contains("database"))
            || s.contains("✖ 1 down")
            || s.contains("✖ 2 down")
    });
    // The players declare; the notice goes to the exercise's list only.
    t.type_text(":");
    t.wait_text("tab complete");
    t.type_text("declare infrastructure sev1 database");
    t.keys(&["Enter"]);
    let gate =
        t.wait_for("the initial notice at the gate", |s| s.contains("APPROVAL · notify · initial notice"));
    assert!(gate.contains("EXERCISE"), "the gate says where an exercise's notice goes: {gate}");
    t.keys(&["Tab", "Enter"]);
    t.wait_for("the recovery plan at the gate", |s| s.contains("APPROVAL · Recover database"));
    t.type_text("database");
    t.keys(&["Enter"]);
    t.wait_text("MANUAL STEP");
    t.keys(&["Tab", "Enter"]);
    t.wait_for("the manual step done", |s| !s.contains("MANUAL STEP"));
    // An observation, then the end.
    t.type_text("o");
    t.wait_text("tab complete");
    t.type_text("+the commander declared within minutes");
    t.keys(&["Enter"]);
    t.wait_text("observation recorded (strength)");
    t.type_text(":");
    t.wait_text("tab complete");
    t.type_text("exercise end +the notice went out fast -name a scribe");
    t.keys(&["Enter"]);
    let written = |s: &str| {
        s.lines()
            .find_map(|l| l.split("after-action report: ").nth(1))
            .and_then(|p| p.split_whitespace().next())
            .map(str::to_owned)
    };
    let screen = t.wait_for("the report written", |s| written(s).is_some_and(|p| Path::new(&p).is_file()));
    let path = written(&screen).unwrap();
    let report = std::fs::read_to_string(&path).unwrap();
    assert!(report.contains("# After-action report: Regional outage at the primary site"), "{report}");
    assert!(report.contains("| I-2 Database unreachable |"), "{report}");
    assert!(report.contains("Strength: the commander declared within minutes"), "{report}");
    assert!(report.contains("- Went well: the notice went out fast"), "the hot wash: {report}");
    assert!(report.contains("- To improve: name a scribe"), "the hot wash: {report}");
    assert!(report.contains("RPO achieved, database"), "{report}");
    assert!(report.contains("| O-2 Declare an incident and take command |"), "{report}");
    assert!(report.contains("| database |"), "the cleanup check lists the database: {report}");
    assert!(screen.contains("NOT back to normal: database"), "the console says what is left: {screen}");
    t.wait_for("the badge gone", |s| !s.lines().next().unwrap_or_default().contains("EXERCISE"));
    // The failover's own manual step may come up at any moment: put it off, then quit.
    let last = std::cell::Cell::new(std::time::Instant::now() - std::time::Duration::from_secs(1));
    t.wait_for("the console quit", |s| {
        if s.contains("EXITED-0") {
            return true;
        }
        if last.get().elapsed() > std::time::Duration::from_millis(500) {
            last.set(std::time::Instant::now());
            if s.contains("MANUAL STEP") { t.keys(&["Escape"]) } else { t.type_text("q") }
        }
        false
    });
}

/// The demo on its own state, as tester, until every system is healthy.
fn start_demo(t: &Tmux, state: &Path) {
    let env = format!(
        "env -u COLORTERM XDG_STATE_HOME={} HOME={} WARROOM_OPERATOR=tester",
        state.display(),
        state.display()
    );
    t.type_text(&format!("{env} {} demo; echo EXITED-$?", env!("CARGO_BIN_EXE_warroom")));
    t.keys(&["Enter"]);
    t.wait_for("every system healthy", |s| s.contains("● 12 healthy"));
}
