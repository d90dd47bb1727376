//! Turning a configuration into a demo: every system's health check pointed at its simulated
//! endpoint, on a short cycle so faults show within seconds.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::health::{HealthCheck, HttpProbe, Probe, StatusSpec};
use crate::config::{self, Config, Environment, LoadError};

/// config.toml.example, compiled in: `warroom demo` needs no files.
pub const EXAMPLE: &str = include_str!("../../config.toml.example");
/// What the built-in example is called in messages.
pub const EXAMPLE_NAME: &str = "config.toml.example (built in)";

/// The demo's probe cycle: every second, a probe may take up to 10 s (so `slow 6000ms` is
/// slow, not down), and the window is a minute, so the console reacts within seconds.
pub const INTERVAL: Duration = Duration::from_secs(1);
pub const TIMEOUT: Duration = Duration::from_secs(10);
pub const WINDOW: Duration = Duration::from_secs(60);
pub const HOLD: Duration = Duration::from_secs(30);

/// The configuration to simulate: the file given, or the built-in example.
pub fn load(path: Option<&Path>, env: &dyn Environment) -> Result<config::Loaded, LoadError> {
    match path {
        Some(p) => config::load(p, env),
        None => config::load_str(Path::new(EXAMPLE_NAME), EXAMPLE, env),
    }
}

/// Where the demo keeps its state: a `demo` folder inside the configuration's state directory,
/// so a demo never mixes with live state.
pub fn state_dir(config: &Config) -> PathBuf {
    config.console.state_dir.join("demo")
}

/// Point every system's health check at its endpoint, on the demo's cycle.
pub fn point_checks(config: &mut Config, endpoints: &BTreeMap<String, String>) {
    config.console.state_dir = state_dir(config);
    config.health.window = WINDOW;
    for (system, settings) in config.estate.systems().iter().zip(config.systems.iter_mut()) {
        let Some(url) = endpoints.get(&system.name) else { continue };
        settings.health = Some(HealthCheck {
            probe: Probe::Http(HttpProbe {
                url: url.clone(),
                method: "GET".into(),
                headers: Vec::new(),
                expect_status: StatusSpec::success(),
                body_contains: Some("ok".into()),
            }),
            interval: INTERVAL,
            timeout: TIMEOUT,
        });
        settings.thresholds.hold = HOLD;
    }
}
