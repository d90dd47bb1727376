//! The testing programme: what must be tested how often, per system, and where each system
//! stands against it (last tested, by what, with what result, next due).
//!
//! ```text
//!  TestKind   backup-verification · restore-drill · drill · functional · full-scale · tabletop
//!  Standing   ok ─► due soon (the last seventh of the interval) ─► OVERDUE (or never tested)
//! ```
//!
//! A test of a stronger kind counts for the weaker ones: a full-scale exercise is also a
//! functional one and a drill, a functional exercise is also a drill.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use super::exercise::ExerciseType;
use super::tier::Tier;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TestKind {
    BackupVerification,
    RestoreDrill,
    Drill,
    Functional,
    FullScale,
    Tabletop,
}

impl TestKind {
    pub const ALL: [TestKind; 6] = [
        TestKind::BackupVerification,
        TestKind::RestoreDrill,
        TestKind::Drill,
        TestKind::Functional,
        TestKind::FullScale,
        TestKind::Tabletop,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TestKind::BackupVerification => "backup-verification",
            TestKind::RestoreDrill => "restore-drill",
            TestKind::Drill => "drill",
            TestKind::Functional => "functional",
            TestKind::FullScale => "full-scale",
            TestKind::Tabletop => "tabletop",
        }
    }

    /// The standard's words are accepted too: partial, full, crisis simulation.
    pub fn parse(s: &str) -> Result<TestKind, String> {
        let t = s.trim().to_ascii_lowercase().replace([' ', '_'], "-");
        let kind = match t.as_str() {
            "backup-verification" | "backup-verify" | "verify" => TestKind::BackupVerification,
            "restore-drill" | "restore" => TestKind::RestoreDrill,
            "drill" | "component-failover" => TestKind::Drill,
            "functional" | "partial" => TestKind::Functional,
            "full-scale" | "full" | "full-dr" => TestKind::FullScale,
            "tabletop" | "crisis-simulation" => TestKind::Tabletop,
            _ => {
                let names: Vec<&str> = TestKind::ALL.iter().map(|k| k.name()).collect();
                return Err(format!("there is no test \"{s}\": use {}", names.join(", ")));
            }
        };
        Ok(kind)
    }

    /// The exercise type that is this test, if it is one.
    pub fn exercise(self) -> Option<ExerciseType> {
        match self {
            TestKind::Drill => Some(ExerciseType::Drill),
            TestKind::Functional => Some(ExerciseType::Functional),
            TestKind::FullScale => Some(ExerciseType::FullScale),
            TestKind::Tabletop => Some(ExerciseType::Tabletop),
            TestKind::BackupVerification | TestKind::RestoreDrill => None,
        }
    }

    /// Whether a test of kind `done` counts as one of this kind.
    pub fn satisfied_by(self, done: TestKind) -> bool {
        use TestKind::*;
        done == self || matches!((self, done), (Drill, Functional | FullScale) | (Functional, FullScale))
    }
}

impl From<ExerciseType> for TestKind {
    fn from(t: ExerciseType) -> TestKind {
        match t {
            ExerciseType::Tabletop => TestKind::Tabletop,
            ExerciseType::Drill => TestKind::Drill,
            ExerciseType::Functional => TestKind::Functional,
            ExerciseType::FullScale => TestKind::FullScale,
        }
    }
}

/// Which systems a requirement covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Covers {
    All,
    Tier(Tier),
    Systems(Vec<String>),
}

/// One row of the programme: a kind of test, how often, for which systems.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    pub test: TestKind,
    pub every: Duration,
    pub covers: Covers,
}

impl Requirement {
    pub fn covers(&self, system: &str, tier: Tier) -> bool {
        match &self.covers {
            Covers::All => true,
            Covers::Tier(t) => *t == tier,
            Covers::Systems(names) => names.iter().any(|n| n == system),
        }
    }
}

const DAY: u64 = 86_400;

/// The programme when the configuration has no `[[programme]]`: the standard's schedule, and
/// a monthly restore drill.
pub fn default_programme() -> Vec<Requirement> {
    let every =
        |test, days| Requirement { test, every: Duration::from_secs(days * DAY), covers: Covers::All };
    vec![
        every(TestKind::BackupVerification, 1),
        every(TestKind::RestoreDrill, 30),
        every(TestKind::Drill, 7),
        every(TestKind::Functional, 30),
        every(TestKind::FullScale, 91),
        every(TestKind::Tabletop, 365),
    ]
}

/// How long test results are kept by default: 7 years.
pub const DEFAULT_KEEP: Duration = Duration::from_secs(7 * 365 * DAY + 2 * DAY);

/// What a test found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Passed,
    /// It ran to the end, with findings (an RTO not met, an objective rated M or U).
    Findings,
    Failed,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Findings => "findings",
            Outcome::Failed => "FAILED",
        }
    }

    pub fn parse(s: &str) -> Option<Outcome> {
        match s {
            "passed" => Some(Outcome::Passed),
            "findings" => Some(Outcome::Findings),
            "failed" | "FAILED" => Some(Outcome::Failed),
            _ => None,
        }
    }
}

/// What a restore drill found: a restore that failed fails the drill; one slower than the RTO
/// is a finding (the restore works, the objective cannot be met by it).
pub fn drill_outcome(restored: bool, took: Duration, rto: Duration) -> Outcome {
    match (restored, took <= rto) {
        (false, _) => Outcome::Failed,
        (true, true) => Outcome::Passed,
        (true, false) => Outcome::Findings,
    }
}

/// "2m10s", or "under a second".
pub fn took_words(took: Duration) -> String {
    if took < Duration::from_secs(1) { "under a second".to_owned() } else { super::duration::human(took) }
}

/// "a restore takes 2m10s (RTO 30m)", "… under a second …", "… (over the RTO of 30m)".
pub fn restore_takes(ms: u64, rto: Duration) -> String {
    let took = Duration::from_millis(ms);
    let words = took_words(took);
    if took > rto {
        format!("a restore takes {words} (over the RTO of {})", super::duration::human(rto))
    } else {
        format!("a restore takes {words} (RTO {})", super::duration::human(rto))
    }
}

/// One test of one system.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestResult {
    pub id: String,
    pub system: String,
    pub kind: TestKind,
    pub at: DateTime<Utc>,
    pub outcome: Outcome,
    /// What ran: a job, an exercise, a backup's verification.
    pub by: String,
    pub detail: String,
    /// How long the test's work took, in milliseconds (a restore drill's restore).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Due {
    Ok,
    DueSoon,
    Overdue,
}

impl Due {
    pub fn name(self) -> &'static str {
        match self {
            Due::Ok => "ok",
            Due::DueSoon => "due soon",
            Due::Overdue => "OVERDUE",
        }
    }

    /// `warroom programme`'s exit code: 0 ok, 1 due soon, 2 overdue.
    pub fn exit_code(self) -> u8 {
        match self {
            Due::Ok => 0,
            Due::DueSoon => 1,
            Due::Overdue => 2,
        }
    }
}

/// One system against one requirement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Standing {
    pub system: String,
    pub test: TestKind,
    pub every_secs: u64,
    pub last: Option<TestResult>,
    pub next_due: DateTime<Utc>,
    pub due: Due,
}

/// When a test counts as due soon: in the last seventh of its interval (a day of a week).
pub fn due_soon_window(every: Duration) -> Duration {
    every / 7
}

/// Where `system` stands against `requirement`, given every result on record. A system never
/// tested was due when the programme began (`since`).
pub fn standing(
    requirement: &Requirement,
    system: &str,
    results: &[TestResult],
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Standing {
    let last = results
        .iter()
        .filter(|r| r.system == system && requirement.test.satisfied_by(r.kind))
        .max_by_key(|r| r.at)
        .cloned();
    let every = TimeDelta::from_std(requirement.every).unwrap_or(TimeDelta::MAX);
    // A failed test does not count: the system is due again at once.
    let next_due = match &last {
        Some(r) if r.outcome != Outcome::Failed => r.at + every,
        Some(r) => r.at,
        None => since,
    };
    let soon = TimeDelta::from_std(due_soon_window(requirement.every)).unwrap_or(TimeDelta::MAX);
    let due = if now >= next_due {
        Due::Overdue
    } else if next_due - now <= soon {
        Due::DueSoon
    } else {
        Due::Ok
    };
    Standing {
        system: system.to_owned(),
        test: requirement.test,
        every_secs: requirement.every.as_secs(),
        last,
        next_due,
        due,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + h * 3600, 0).unwrap()
    }

    fn result(kind: TestKind, hour: i64, outcome: Outcome) -> TestResult {
        TestResult {
            id: format!("T-{hour}"),
            system: "database".into(),
            kind,
            at: at(hour),
            outcome,
            by: "test".into(),
            detail: String::new(),
            duration_ms: None,
        }
    }

    fn weekly(test: TestKind) -> Requirement {
        Requirement { test, every: Duration::from_secs(7 * DAY), covers: Covers::All }
    }

    #[test]
    fn a_system_never_tested_is_overdue_from_the_start() {
        let s = standing(&weekly(TestKind::Drill), "database", &[], at(0), at(1));
        assert_eq!((s.due, s.next_due, s.last), (Due::Overdue, at(0), None));
    }

    #[test]
    fn due_soon_is_the_last_seventh_then_overdue() {
        let results = [result(TestKind::Drill, 0, Outcome::Passed)];
        let r = weekly(TestKind::Drill);
        assert_eq!(standing(&r, "database", &results, at(0), at(5 * 24)).due, Due::Ok);
        assert_eq!(standing(&r, "database", &results, at(0), at(6 * 24 + 1)).due, Due::DueSoon);
        assert_eq!(standing(&r, "database", &results, at(0), at(7 * 24)).due, Due::Overdue);
        assert_eq!(standing(&r, "api", &results, at(0), at(1)).due, Due::Overdue, "another system's test");
    }

    #[test]
    fn a_stronger_test_counts_and_a_failed_one_does_not() {
        let full = [result(TestKind::FullScale, 0, Outcome::Findings)];
        assert_eq!(standing(&weekly(TestKind::Drill), "database", &full, at(0), at(1)).due, Due::Ok);
        assert_eq!(standing(&weekly(TestKind::Tabletop), "database", &full, at(0), at(1)).due, Due::Overdue);
        let failed = [result(TestKind::RestoreDrill, 0, Outcome::Failed)];
        let s = standing(&weekly(TestKind::RestoreDrill), "database", &failed, at(0), at(1));
        assert_eq!((s.due, s.last.map(|l| l.outcome)), (Due::Overdue, Some(Outcome::Failed)));
    }

    #[test]
    fn a_drill_slower_than_the_rto_is_a_finding() {
        let rto = Duration::from_secs(1800);
        assert_eq!(drill_outcome(true, Duration::from_secs(1799), rto), Outcome::Passed);
        assert_eq!(drill_outcome(true, rto, rto), Outcome::Passed);
        assert_eq!(drill_outcome(true, Duration::from_secs(1801), rto), Outcome::Findings);
        assert_eq!(drill_outcome(false, Duration::from_secs(1), rto), Outcome::Failed);
    }

    #[test]
    fn a_restore_is_told_against_the_rto() {
        let rto = Duration::from_secs(1800);
        assert_eq!(restore_takes(400, rto), "a restore takes under a second (RTO 30m)");
        assert_eq!(restore_takes(130_000, rto), "a restore takes 2m10s (RTO 30m)");
        assert_eq!(restore_takes(2_000_000, rto), "a restore takes 33m20s (over the RTO of 30m)");
    }

    #[test]
    fn the_standards_words_are_read() {
        assert_eq!(TestKind::parse("partial"), Ok(TestKind::Functional));
        assert_eq!(TestKind::parse("full"), Ok(TestKind::FullScale));
        assert!(TestKind::parse("monthly").unwrap_err().contains("restore-drill"));
    }
}
