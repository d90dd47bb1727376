//! What a running job reports through, whatever its kind: a [`Meter`] (done of total, in
//! bytes or steps, and the flag that stops it), its stage, what it waits for, its log and its
//! detail. The pool reads them four times a second for listeners and saves them every second.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::clock::Clock;
use crate::model::job::{Progress, Unit, Waiting};

/// Lines of log kept per job.
const LOG_LINES: usize = 200;

/// How far a job has got, and whether it was asked to stop: shared with the code doing the
/// work (a backup's writer, a restore's reader, a procedure's steps).
#[derive(Clone, Default)]
pub struct Meter {
    cancel: Arc<AtomicBool>,
    done: Arc<AtomicU64>,
    total: Arc<AtomicU64>,
}

impl Meter {
    /// How much there is to do (bytes or steps, as the stage says); 0 is not known.
    pub fn set_total(&self, total: u64) {
        self.total.store(total, Ordering::Relaxed);
    }

    pub fn set_done(&self, done: u64) {
        self.done.store(done, Ordering::Relaxed);
    }

    pub fn advance(&self, by: u64) {
        self.done.fetch_add(by, Ordering::Relaxed);
    }

    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    pub fn total(&self) -> Option<u64> {
        Some(self.total.load(Ordering::Relaxed)).filter(|t| *t > 0)
    }

    /// Ask the work to stop; it notices at its next check.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// The stop flag itself, for a thread that watches it.
    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        self.cancel.clone()
    }
}

#[derive(Debug, Clone, Default)]
struct Stage {
    name: String,
    unit: Unit,
    waiting: Option<Waiting>,
}

/// What a running job reports through.
#[derive(Clone)]
pub struct JobContext {
    pub id: String,
    pub meter: Meter,
    stage: Arc<Mutex<Stage>>,
    log: Arc<Mutex<VecDeque<String>>>,
    detail: Arc<Mutex<Option<serde_json::Value>>>,
    clock: Arc<dyn Clock>,
}

impl JobContext {
    pub(super) fn new(id: &str, clock: Arc<dyn Clock>) -> JobContext {
        JobContext {
            id: id.to_owned(),
            meter: Meter::default(),
            stage: Arc::new(Mutex::new(Stage { name: "starting".into(), ..Stage::default() })),
            log: Arc::new(Mutex::new(VecDeque::new())),
            detail: Arc::new(Mutex::new(None)),
            clock,
        }
    }

    /// What it does now, and in which unit its meter counts.
    pub fn stage(&self, stage: &str, unit: Unit) {
        if let Ok(mut s) = self.stage.lock() {
            *s = Stage { name: stage.to_owned(), unit, waiting: None };
        }
    }

    /// It waits for an operator to do `instruction` by hand (and confirm, or abort).
    pub fn wait_manual(&self, instruction: &str) {
        if let Ok(mut s) = self.stage.lock() {
            *s = Stage {
                name: format!("manual: {instruction}"),
                unit: Unit::Steps,
                waiting: Some(Waiting::Manual { instruction: instruction.to_owned() }),
            };
        }
    }

    pub fn log(&self, line: impl Into<String>) {
        let line = format!("{} {}", self.clock.now().format("%H:%M:%S"), line.into());
        tracing::info!(job = %self.id, "{line}");
        if let Ok(mut l) = self.log.lock() {
            if l.len() == LOG_LINES {
                l.pop_front();
            }
            l.push_back(line);
        }
    }

    /// Log `line` unless it is the last line already (a condition seen on every poll).
    pub fn log_once(&self, line: impl Into<String>) {
        let line = line.into();
        let repeated = self.log.lock().is_ok_and(|l| l.back().is_some_and(|last| last.ends_with(&line)));
        if !repeated {
            self.log(line);
        }
    }

    pub fn cancelled(&self) -> bool {
        self.meter.cancelled()
    }

    /// What the job reports beyond its progress (saved with it, sent with its events).
    pub fn set_detail(&self, detail: serde_json::Value) {
        if let Ok(mut d) = self.detail.lock() {
            *d = Some(detail);
        }
    }

    pub(super) fn detail(&self) -> Option<serde_json::Value> {
        self.detail.lock().ok().and_then(|d| d.clone())
    }

    pub(super) fn log_lines(&self) -> Vec<String> {
        self.log.lock().map(|l| l.iter().cloned().collect()).unwrap_or_default()
    }

    /// Where it has got, at `rate` per second.
    pub(super) fn progress(&self, rate: Option<f64>) -> Progress {
        let stage = self.stage.lock().map(|s| s.clone()).unwrap_or_default();
        let (done, total) = (self.meter.done(), self.meter.total());
        Progress {
            stage: stage.name,
            done,
            total,
            unit: stage.unit,
            rate,
            eta_secs: Progress::eta(done, total, rate),
            waiting: stage.waiting,
        }
    }
}
