//! Running a program the way every probe and step does: no shell, its own process group, its
//! output captured line by line, and at its timeout the whole group killed, so nothing it
//! started is left running.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process_group};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio::sync::mpsc;

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutcome {
    /// The exit code; `None` when killed (timeout) or killed by a signal.
    pub code: Option<i32>,
    pub timed_out: bool,
    pub duration: Duration,
    /// The last lines of output (stdout and stderr interleaved as they came).
    pub tail: Vec<String>,
}

impl RunOutcome {
    pub fn succeeded(&self) -> bool {
        self.code == Some(0) && !self.timed_out
    }

    /// `exit 2: no route to host`, `timed out after 5s (killed)`.
    pub fn describe(&self, timeout: Duration) -> String {
        let last = self.tail.last().map(|l| format!(": {l}")).unwrap_or_default();
        match (self.timed_out, self.code) {
            (true, _) => format!("timed out after {}s (killed with its children)", timeout.as_secs_f64()),
            (false, Some(0)) => format!("exit 0{last}"),
            (false, Some(code)) => format!("exit {code}{last}"),
            (false, None) => format!("killed by a signal{last}"),
        }
    }
}

/// Why a program could not be run at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpawnError(pub String);

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct Program<'a> {
    pub program: &'a str,
    pub args: &'a [String],
    pub env: &'a [(String, String)],
    pub cwd: Option<&'a Path>,
}

/// Kills a process group when dropped.
struct GroupGuard(Option<Pid>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            let _ = kill_process_group(pid, Signal::KILL);
        }
    }
}

/// Lines kept for the outcome's tail.
const TAIL: usize = 20;

/// Run `p` for at most `timeout`. Each output line is also sent to `lines` (when given) as it
/// arrives; at the timeout the process group gets SIGKILL.
pub async fn run(
    p: &Program<'_>,
    timeout: Duration,
    lines: Option<mpsc::UnboundedSender<String>>,
) -> Result<RunOutcome, SpawnError> {
    let mut cmd = Command::new(p.program);
    cmd.args(p.args)
        .envs(p.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    if let Some(dir) = p.cwd {
        cmd.current_dir(dir);
    }
    let started = Instant::now();
    let mut child = cmd.spawn().map_err(|e| SpawnError(format!("cannot run {}: {e}", p.program)))?;
    let group = child.id().and_then(|id| i32::try_from(id).ok()).and_then(Pid::from_raw);
    // If this future is dropped mid-run (the console quit, the job was cancelled), the whole
    // group goes with it, not only the program we started.
    let _guard = GroupGuard(group);

    // Readers feed one channel so lines keep their order of arrival.
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    if let Some(out) = child.stdout.take() {
        let tx = tx.clone();
        tokio::spawn(async move {
            let mut r = BufReader::new(out).lines();
            while let Ok(Some(line)) = r.next_line().await {
                let _ = tx.send(line);
            }
        });
    }
    if let Some(err) = child.stderr.take() {
        let tx = tx.clone();
        tokio::spawn(async move {
            let mut r = BufReader::new(err).lines();
            while let Ok(Some(line)) = r.next_line().await {
                let _ = tx.send(line);
            }
        });
    }
    drop(tx);

    let mut tail: Vec<String> = Vec::new();
    let keep = |line: String, tail: &mut Vec<String>| {
        if let Some(l) = &lines {
            let _ = l.send(line.clone());
        }
        if tail.len() == TAIL {
            tail.remove(0);
        }
        tail.push(line);
    };
    let deadline = tokio::time::Instant::now() + timeout;
    let mut output_open = true;
    let status = loop {
        tokio::select! {
            status = child.wait() => break status.ok(),
            line = rx.recv(), if output_open => match line {
                Some(line) => keep(line, &mut tail),
                None => output_open = false,
            },
            _ = tokio::time::sleep_until(deadline) => {
                if let Some(pid) = group {
                    let _ = kill_process_group(pid, Signal::KILL);
                }
                let _ = child.kill().await;
                while let Ok(line) = rx.try_recv() {
                    keep(line, &mut tail);
                }
                return Ok(RunOutcome { code: None, timed_out: true, duration: started.elapsed(), tail });
            }
        }
    };
    // The program is gone; anything it left in the group goes too, and what it printed is read.
    if let Some(pid) = group {
        let _ = kill_process_group(pid, Signal::KILL);
    }
    let drain_until = tokio::time::Instant::now() + Duration::from_millis(200);
    while output_open {
        tokio::select! {
            line = rx.recv() => match line {
                Some(line) => keep(line, &mut tail),
                None => output_open = false,
            },
            _ = tokio::time::sleep_until(drain_until) => break,
        }
    }
    Ok(RunOutcome {
        code: status.and_then(|s| s.code()),
        timed_out: false,
        duration: started.elapsed(),
        tail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Vec<String> {
        vec!["-c".to_owned(), script.to_owned()]
    }

    #[tokio::test]
    async fn output_and_exit_code_come_back() {
        let args = sh("echo one; echo two >&2; exit 3");
        let out =
            run(&Program { program: "sh", args: &args, ..Default::default() }, Duration::from_secs(5), None)
                .await
                .unwrap();
        assert_eq!(out.code, Some(3));
        assert!(
            out.tail.contains(&"one".to_owned()) && out.tail.contains(&"two".to_owned()),
            "{:?}",
            out.tail
        );
        assert!(!out.succeeded());
    }

    #[tokio::test]
    async fn a_missing_program_is_a_clear_error() {
        let err = run(
            &Program { program: "/nonexistent/warroom-probe", ..Default::default() },
            Duration::from_secs(1),
            None,
        )
        .await
        .unwrap_err();
        assert!(err.0.contains("cannot run /nonexistent/warroom-probe"), "{err:?}");
    }

    #[tokio::test]
    async fn the_whole_group_is_killed_at_the_timeout_even_if_it_ignores_sigterm() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("child.pid");
        // A child that ignores SIGTERM, started in the background, writes its pid and sleeps.
        let args = sh(&format!(
            "trap '' TERM; sh -c 'trap \"\" TERM; echo $$ > {}; exec sleep 30' & sleep 30",
            pidfile.display()
        ));
        let started = Instant::now();
        let out = run(
            &Program { program: "sh", args: &args, ..Default::default() },
            Duration::from_millis(500),
            None,
        )
        .await
        .unwrap();
        assert!(out.timed_out);
        assert!(started.elapsed() < Duration::from_secs(5));
        let pid: i32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
        // The grandchild is gone too (give the kernel a moment to reap it).
        assert!(gone(pid).await, "process {pid} survived its group's kill");
    }

    /// Gone (or a zombie) within a second.
    async fn gone(pid: i32) -> bool {
        for _ in 0..50 {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            if stat.is_empty() || stat.contains(") Z ") {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }

    #[tokio::test]
    async fn dropping_a_run_kills_what_it_started() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("child.pid");
        let args = sh(&format!("sh -c 'echo $$ > {}; exec sleep 30' & sleep 30", pidfile.display()));
        let program = Program { program: "sh", args: &args, ..Default::default() };
        let running = run(&program, Duration::from_secs(60), None);
        // Give up on it once the grandchild is there, as a quitting console would.
        let _ = tokio::time::timeout(Duration::from_millis(500), running).await;
        let pid: i32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
        assert!(gone(pid).await, "process {pid} outlived the dropped run");
    }
}
