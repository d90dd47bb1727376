//! Taking over the terminal, and always giving it back: on quit, on error, on panic.

use std::io::{self, Stdout};

use crossterm::event::{DisableBracketedPaste, EnableBracketedPaste};
use crossterm::execute;
use crossterm::terminal::{EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub type Tty = Terminal<CrosstermBackend<Stdout>>;

/// Raw mode, the alternate screen, bracketed paste, no cursor. The returned guard gives the
/// terminal back when dropped, whatever path the console leaves by.
pub fn enter() -> io::Result<(Tty, Restore)> {
    install_panic_hook();
    enable_raw_mode()?;
    let guard = Restore;
    let mut out = io::stdout();
    execute!(out, EnterAlternateScreen, EnableBracketedPaste, crossterm::cursor::Hide)?;
    let terminal = Terminal::new(CrosstermBackend::new(out))?;
    Ok((terminal, guard))
}

/// Gives the terminal back when dropped.
pub struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        restore();
    }
}

/// Raw mode off, alternate screen left, cursor shown. Safe to call more than once.
pub fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(io::stdout(), DisableBracketedPaste, LeaveAlternateScreen, crossterm::cursor::Show);
}

/// Restore the terminal before the panic report is printed (and log it), so the report is
/// readable and the shell is usable afterwards.
fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        // The console runs on the main thread: a panic there ends it, so the terminal is given
        // back first. A panic in a worker task is caught and reported by the console, which
        // keeps running; restoring the terminal then would leave a broken screen.
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() == Some("main") {
                restore();
                tracing::error!(panic = %info, "the console panicked");
                previous(info);
            } else {
                tracing::error!(panic = %info, "a background task panicked");
            }
        }));
    });
}
