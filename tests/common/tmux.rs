//! Driving the real binary in tmux: a private tmux server per test, keys sent, the screen read
//! back, polled until the expected text appears (never a fixed sleep).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;
use std::time::{Duration, Instant};

pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// A tmux server of our own, with one `width` x `height` window running a plain shell.
    /// Returns `None` (after saying so loudly) when tmux is not installed and we are not in CI.
    pub fn start(name: &str, width: u16, height: u16) -> Option<Tmux> {
        if Command::new("tmux").arg("-V").output().is_err() {
            assert!(
                std::env::var_os("CI").is_none(),
                "tmux is not installed, and CI must run the end-to-end tests"
            );
            eprintln!(
                "SKIPPED {name}: tmux is not installed (apt install tmux); the console's end-to-end test did not run"
            );
            return None;
        }
        let socket = format!("warroom-test-{name}-{}", std::process::id());
        let t = Tmux { socket };
        t.tmux(&[
            "new-session",
            "-d",
            "-s",
            "main",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            "bash --norc --noprofile",
        ]);
        Some(t)
    }

    pub fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux").arg("-L").arg(&self.socket).args(args).output().unwrap();
        assert!(out.status.success(), "tmux {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Type `text` literally.
    pub fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", "main", "-l", text]);
    }

    /// Press named keys (`Enter`, `Escape`, `Tab`, `C-c`).
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "main"];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    /// Ask for a failover of `system` on the console's command line, and wait until the
    /// approval gate shows it (`Tab`, `Enter` approve it there).
    pub fn open_failover_gate(&self, system: &str) {
        self.type_text(":");
        self.wait_text("tab complete");
        self.type_text(&format!("failover {system}"));
        self.keys(&["Enter"]);
        self.wait_text(&format!("APPROVAL · Fail over {system}"));
    }

    pub fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", "main"])
    }

    /// The screen with its colours, as SGR escape sequences.
    pub fn screen_with_colours(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-e", "-t", "main"])
    }

    pub fn format(&self, format: &str) -> String {
        self.tmux(&["display-message", "-p", "-t", "main", format]).trim().to_owned()
    }

    /// Wait until `ok(screen)` holds, or fail showing the last screen.
    pub fn wait_for(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        self.wait_until(what, ok, || self.screen())
    }

    /// [`Tmux::wait_for`], on the screen with its colours.
    pub fn wait_coloured(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        self.wait_until(what, ok, || self.screen_with_colours())
    }

    fn wait_until(&self, what: &str, ok: impl Fn(&str) -> bool, capture: impl Fn() -> String) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let screen = capture();
            if ok(&screen) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; the screen was:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(40));
        }
    }

    pub fn wait_text(&self, text: &str) -> String {
        self.wait_for(&format!("{text:?}"), |s| s.contains(text))
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux").arg("-L").arg(&self.socket).arg("kill-server").output();
    }
}
