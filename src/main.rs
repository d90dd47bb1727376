use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let started = std::time::Instant::now();
    // Installed first, so anything that goes wrong after this point is reported properly.
    let plain =
        std::env::var_os("NO_COLOR").is_some() || !std::io::IsTerminal::is_terminal(&std::io::stderr());
    let hooks = if plain {
        color_eyre::config::HookBuilder::default().theme(color_eyre::config::Theme::new())
    } else {
        color_eyre::config::HookBuilder::default()
    };
    if let Err(e) = hooks.install() {
        eprintln!("warning: could not install the error reporter: {e}");
    }
    quiet_on_closed_pipe();
    let cli = warroom::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(warroom::cli::run(cli, started))
}

/// `warroom jobs | head -1`: once the reader has gone, a print fails, and std's print macros
/// panic. That is no bug to report, but the end of the output nobody reads: leave quietly, with
/// the status a shell gives a process its SIGPIPE stopped (128 + 13).
fn quiet_on_closed_pipe() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info.payload_as_str().unwrap_or("");
        if message.starts_with("failed printing to std") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        report(info);
    }));
}
