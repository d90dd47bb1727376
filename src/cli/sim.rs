//! `warroom demo` and `warroom sim run|fault|list`: the simulated estate.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use super::{CliError, logging};
use crate::config::{Config, ProcessEnv};
use crate::engine::Engine;
use crate::sim::control::{self, ControlClient, ControlInfo};
use crate::sim::{SimEstate, demo};

/// The demo's configuration: the file given or the built-in example, its state in `demo/`.
fn demo_config(path: Option<PathBuf>) -> Result<Config, CliError> {
    let mut config =
        demo::load(path.as_deref(), &ProcessEnv).map(|l| l.config).map_err(|e| CliError::config(e, 1))?;
    super::error::override_operator(&mut config);
    Ok(config)
}

/// Start the simulated estate of `config` and its control API; record where it listens.
/// The demo's message servers: where they listen (a reload points the notices there again).
#[derive(Clone)]
struct Sinks {
    smtp: std::net::SocketAddr,
    sms: String,
}

async fn start_estate(
    config: &mut Config,
) -> Result<(SimEstate, tokio::task::JoinHandle<()>, Sinks), CliError> {
    // One simulated estate per state folder: a second would take the first one's control file.
    // Asked before anything starts or is written.
    if let Ok(running) = control::read_info(&demo::state_dir(config))
        && running.pid != std::process::id()
    {
        return Err(CliError::message(
            format!(
                "a simulated estate is already running on {} (pid {}); stop it first, or give this one a state folder of its own (console.state_dir, or XDG_STATE_HOME)",
                demo::state_dir(config).display(),
                running.pid
            ),
            1,
        ));
    }
    let systems = config.estate.systems().iter().map(|s| (s.name.clone(), s.depends_on.clone()));
    let sim = SimEstate::start(systems)
        .await
        .map_err(|e| CliError::message(format!("cannot start the simulated estate: {e}"), 1))?;
    let token = control::new_token()
        .map_err(|e| CliError::message(format!("cannot make a control token: {e}"), 1))?;
    let (addr, task) = control::serve(sim.handle(), token.clone())
        .await
        .map_err(|e| CliError::message(format!("cannot serve the control API: {e}"), 1))?;
    demo::point_checks(config, &sim.endpoints());
    demo::point_replication(config, &sim.replication_endpoints());
    demo::point_procedures(config, &format!("http://{addr}"), &token);
    crate::engine::create_state_dir(&config.console.state_dir).map_err(|e| CliError::engine(e, 1))?;
    demo::point_backups(config)
        .map_err(|e| CliError::message(format!("cannot set up the demo's backups: {e}"), 1))?;
    // The notices go to servers of the demo's own, which keep what they get.
    let dir = config.console.state_dir.clone();
    let (smtp, _smtp_task) = crate::sim::sinks::smtp(&dir)
        .await
        .map_err(|e| CliError::message(format!("cannot start the demo's SMTP server: {e}"), 1))?;
    let (sms, _sms_task) = crate::sim::sinks::sms(&dir)
        .await
        .map_err(|e| CliError::message(format!("cannot start the demo's SMS gateway: {e}"), 1))?;
    demo::point_notify(config, smtp, &sms)
        .map_err(|e| CliError::message(format!("cannot set up the demo's notices: {e}"), 1))?;
    let sinks = Sinks { smtp, sms };
    let info = ControlInfo { control: format!("http://{addr}"), token, pid: std::process::id() };
    control::write_info(&config.console.state_dir, &info)
        .map_err(|e| CliError::message(format!("cannot record the control API's address: {e}"), 1))?;
    Ok((sim, task, sinks))
}

pub async fn demo(config: Option<PathBuf>, started: std::time::Instant) -> Result<ExitCode, CliError> {
    super::need_terminal()?;
    let mut config = demo_config(config)?;
    let (sim, _control, sinks) = start_estate(&mut config).await?;
    let state_dir = config.console.state_dir.clone();
    let _log = logging::init(&state_dir);
    let endpoints = sim.endpoints();
    let standbys = sim.replication_endpoints();
    let info = control::read_info(&config.console.state_dir).map_err(|e| CliError::message(e, 1))?;
    let (control_url, token) = (info.control.clone(), info.token.clone());
    // A reload reads the file again: its systems stay pointed at the simulated endpoints.
    let adapt: crate::engine::Adapt = Arc::new(move |c: &mut Config| {
        demo::point_checks(c, &endpoints);
        demo::point_replication(c, &standbys);
        demo::point_procedures(c, &control_url, &token);
        if let Err(e) = demo::point_backups(c) {
            tracing::warn!(error = %e, "the demo's backups could not be set up again");
        }
        if let Err(e) = demo::point_notify(c, sinks.smtp, &sinks.sms) {
            tracing::warn!(error = %e, "the demo's notices could not be set up again");
        }
        super::error::override_operator(c);
    });
    // Something changes in the sample data every minute, so incremental backups have work.
    let touched = config.clone();
    let _activity = tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        tick.tick().await;
        loop {
            tick.tick().await;
            demo::touch_samples(&touched, chrono::Utc::now());
        }
    });
    let engine = Engine::open(config).await.map_err(|e| CliError::engine(e, 1))?.with_adapt(adapt);
    let options = crate::tui::Options {
        mode: crate::tui::state::Mode::Demo,
        started,
        sim: Some(sim.handle()),
        player: false,
    };
    let result = crate::tui::run(engine.clone(), options).await;
    control::remove_info(&state_dir);
    engine.close().await;
    result.map_err(|e| CliError::message(format!("the console stopped: {e}"), 1))?;
    Ok(ExitCode::SUCCESS)
}

pub async fn run(config: Option<PathBuf>) -> Result<ExitCode, CliError> {
    let mut config = demo_config(config)?;
    let (sim, _control, sinks) = start_estate(&mut config).await?;
    let _log = logging::init(&config.console.state_dir);
    println!(
        "notices go to SMTP {} and the SMS gateway {} (kept in {})",
        sinks.smtp,
        sinks.sms,
        config.console.state_dir.display()
    );
    println!("simulating {} systems (ctrl-c stops):", config.estate.systems().len());
    for (name, endpoint) in sim.endpoints() {
        println!("  {name:<20} {endpoint}");
    }
    println!("flip faults with: warroom sim fault SYSTEM MODE   ({})", crate::sim::Fault::MODES);
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| CliError::message(e.to_string(), 1))?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = sigterm.recv() => {}
    }
    control::remove_info(&config.console.state_dir);
    Ok(ExitCode::SUCCESS)
}

fn client(config: Option<PathBuf>) -> Result<ControlClient, CliError> {
    let config = demo_config(config)?;
    let info = control::read_info(&demo::state_dir(&config)).map_err(|e| CliError::message(e, 1))?;
    Ok(ControlClient::new(info))
}

pub async fn fault(
    config: Option<PathBuf>,
    system: String,
    mode: String,
    arg: Option<String>,
) -> Result<ExitCode, CliError> {
    // Checked here first, so a typo is explained without a round trip.
    crate::sim::Fault::parse(&mode, arg.as_deref()).map_err(|e| CliError::message(e, 2))?;
    let text = match &arg {
        Some(a) => format!("{mode} {a}"),
        None => mode.clone(),
    };
    let fault = client(config)?.set_fault(&system, &text).await.map_err(|e| CliError::message(e, 1))?;
    println!("{system}: {fault}");
    Ok(ExitCode::SUCCESS)
}

pub async fn list(config: Option<PathBuf>) -> Result<ExitCode, CliError> {
    let systems = client(config)?.list().await.map_err(|e| CliError::message(e, 1))?;
    for s in systems {
        println!(
            "{:<20} {:<40} {}",
            s["name"].as_str().unwrap_or("?"),
            s["endpoint"].as_str().unwrap_or("?"),
            s["description"].as_str().unwrap_or("?")
        );
    }
    Ok(ExitCode::SUCCESS)
}
