use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Installed first, so anything that goes wrong after this point is reported properly.
    if let Err(e) = color_eyre::install() {
        eprintln!("warning: could not install the error reporter: {e}");
    }
    let cli = warroom::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(warroom::cli::run(cli))
}
