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
        None => config::load_builtin(EXAMPLE_NAME, EXAMPLE, env),
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

/// Point every system's replication source at its simulated standby (which reports a lag that
/// moves, and grows under `replication-stalled`), on a short cycle.
pub fn point_replication(config: &mut Config, endpoints: &BTreeMap<String, String>) {
    use crate::config::replication::{LagSource, ReplicationCheck};
    for (system, settings) in config.estate.systems().iter().zip(config.systems.iter_mut()) {
        let (Some(url), Some(_)) = (endpoints.get(&system.name), settings.replication.as_ref()) else {
            continue;
        };
        settings.replication = Some(ReplicationCheck {
            source: LagSource::Http {
                probe: HttpProbe {
                    url: url.clone(),
                    method: "GET".into(),
                    headers: Vec::new(),
                    expect_status: StatusSpec::success(),
                    body_contains: None,
                },
                pointer: Some("/lag_seconds".into()),
            },
            interval: INTERVAL,
            timeout: Duration::from_secs(2),
            stale_after: Duration::from_secs(5),
        });
    }
}

/// Give the demo's backups a home: each location becomes a folder in the demo's state
/// directory (same name, media and offsite, so 3-2-1 reads as configured), each system's
/// source becomes sample data generated there (a command source becomes a program printing a
/// sample dump), and a key made for the demo encrypts them. Call after [`point_checks`] (which
/// moves the state directory into `demo/`) and after the state directory is made (private).
/// Creates what is missing; never overwrites.
pub fn point_backups(config: &mut Config) -> Result<(), String> {
    use crate::config::backup::{Source, Store};
    let dir = config.console.state_dir.clone();
    let (public, key) = demo_key(&dir)?;
    let (signer, signing_key) = demo_signing_key(&dir)?;
    // The demo keeps its own timers running: backups and deep verifications on schedule.
    config.console.run_schedule = true;
    config.encryption.recipients = vec![public];
    config.encryption.identity_file = Some(key);
    config.encryption.signers = vec![signer];
    config.encryption.signing_key_file = Some(signing_key);
    for location in &mut config.locations {
        let path = dir.join("repo").join(&location.name);
        std::fs::create_dir_all(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        location.store = Store::Fs { path };
    }
    for (system, settings) in config.estate.systems().iter().zip(config.systems.iter_mut()) {
        let Some(policy) = settings.backup.as_mut() else { continue };
        let data = dir.join("data").join(&system.name);
        match &policy.source {
            Source::Path(_) => {
                sample_tree(&data, &system.name)?;
                policy.source = Source::Path(data);
            }
            Source::Command { .. } => {
                sample_dump(&data, &system.name)?;
                policy.source = Source::Command {
                    program: "sh".into(),
                    args: vec!["-c".into(), format!("cat '{}'", data.join("dump.sql").display())],
                };
            }
        }
    }
    Ok(())
}

/// Point the notices at the demo's own SMTP server and SMS gateway (`sinks`): real servers on
/// loopback that keep what they get in the demo's folder. Webhooks are left out (their URLs
/// would be the user's secrets); the file channel and the status page write into the demo's
/// folder.
pub fn point_notify(config: &mut Config, smtp: std::net::SocketAddr, sms_url: &str) -> Result<(), String> {
    use crate::config::notify::{AccountSid, EmailChannel, FileChannel, SmsChannel, Tls};
    use crate::config::secrets::SecretSource;
    let dir = config.console.state_dir.clone();
    let from = config
        .notify
        .email
        .as_ref()
        .map(|e| e.from.clone())
        .unwrap_or_else(|| "warroom <warroom@example.com>".into());
    let reply_to = config.notify.email.as_ref().and_then(|e| e.reply_to.clone());
    config.notify.email = Some(EmailChannel {
        host: smtp.ip().to_string(),
        port: smtp.port(),
        tls: Tls::None,
        username: None,
        password: None,
        from,
        reply_to,
        pool: 4,
        timeout: std::time::Duration::from_secs(10),
    });
    let token = dir.join("demo-sms-token");
    if !token.exists() {
        write_private(&token, b"demo-token\n")?;
    }
    let from = match &config.notify.sms {
        Some(SmsChannel::Twilio { from, .. }) => from.clone(),
        _ => None,
    };
    config.notify.sms = Some(SmsChannel::Twilio {
        base_url: sms_url.to_owned(),
        account_sid: AccountSid::Plain("ACdemo".into()),
        auth_token: SecretSource::File(token),
        from: from.or_else(|| Some("+15005550006".into())),
        messaging_service_sid: None,
        timeout: std::time::Duration::from_secs(10),
    });
    config.notify.webhooks.clear();
    if let Some(page) = &mut config.notify.statuspage {
        page.path = Some(dir.join("statuspage"));
        page.location = None;
    }
    if let Some(file) = &mut config.notify.file {
        *file = FileChannel { path: dir.join("notices.log"), lists: file.lists.clone() };
    }
    Ok(())
}

/// The demo's age key pair: made once, private key 0600.
fn demo_key(dir: &Path) -> Result<(String, PathBuf), String> {
    use age::secrecy::ExposeSecret;
    use std::str::FromStr;
    let path = dir.join("backup-key.txt");
    if let Ok(text) = std::fs::read_to_string(&path)
        && let Some(line) = text.lines().find(|l| l.starts_with("AGE-SECRET-KEY-"))
        && let Ok(identity) = age::x25519::Identity::from_str(line.trim())
    {
        return Ok((identity.to_public().to_string(), path));
    }
    let identity = age::x25519::Identity::generate();
    let public = identity.to_public().to_string();
    let text = format!(
        "# the demo's backup key\n# public key: {public}\n{}\n",
        identity.to_string().expose_secret()
    );
    write_private(&path, text.as_bytes())?;
    Ok((public, path))
}

/// The demo's signing key, beside its age key: made once, 0600. Its backups are signed by it
/// like any backup host's.
fn demo_signing_key(dir: &Path) -> Result<(crate::model::signature::PublicKey, PathBuf), String> {
    use crate::model::signature::SecretKey;
    use std::io::Read;
    let path = dir.join("backup-key.txt.signing");
    // Its public half beside it, so `minisign -V -p` checks the demo's copies by hand too.
    let public = dir.join("backup-key.txt.signing.pub");
    if let Ok(text) = std::fs::read_to_string(&path)
        && let Ok(key) = SecretKey::parse(&text)
    {
        if !public.exists() {
            let _ = std::fs::write(&public, key.public().file_text());
        }
        return Ok((key.public(), path));
    }
    let mut random = [0u8; 40];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut random))
        .map_err(|e| format!("cannot read random bytes for the demo's signing key: {e}"))?;
    let key = SecretKey::from_random(random);
    write_private(&path, key.file_text().as_bytes())?;
    std::fs::write(&public, key.public().file_text())
        .map_err(|e| format!("cannot write {}: {e}", public.display()))?;
    Ok((key.public(), path))
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    f.write_all(bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// A small deterministic generator: the same sample data for the same system.
struct Sample(u64);

impl Sample {
    fn new(name: &str) -> Sample {
        Sample(
            name.bytes().fold(0x9e3779b97f4a7c15u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100000001b3))
                | 1,
        )
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// About 3 MiB: logs (compressible), configuration, records as CSV, and a binary blob.
fn sample_tree(dir: &Path, system: &str) -> Result<(), String> {
    if dir.exists() {
        return Ok(());
    }
    let mut r = Sample::new(system);
    let write = |rel: &str, bytes: &[u8]| -> Result<(), String> {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::write(&path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    write(
        "config/service.yaml",
        format!("service: {system}\nreplicas: 3\nlisten: 0.0.0.0:8080\n").as_bytes(),
    )?;
    for day in 1..=6 {
        let mut log = String::new();
        for i in 0..4000 {
            let n = r.next();
            log.push_str(&format!(
                "2026-11-{day:02}T{:02}:{:02}:{:02}Z {system} {} request id={:016x} took {}ms\n",
                (i / 180) % 24,
                (i / 3) % 60,
                i % 60,
                ["GET /orders", "POST /orders", "GET /health", "PUT /cart"][(n % 4) as usize],
                n,
                n % 900
            ));
        }
        write(&format!("logs/{system}-2026-11-{day:02}.log"), log.as_bytes())?;
    }
    let mut csv = String::from("id,customer,amount,currency\n");
    for i in 0..12_000 {
        let n = r.next();
        csv.push_str(&format!("{i},{:08x},{}.{:02},EUR\n", n >> 32, n % 5000, n % 100));
    }
    write("data/records.csv", csv.as_bytes())?;
    let blob: Vec<u8> = (0..(512 * 1024 / 8)).flat_map(|_| r.next().to_le_bytes()).collect();
    write("data/blob.bin", &blob)?;
    write("activity.log", format!("{system}: sample data created\n").as_bytes())?;
    Ok(())
}

/// A ~2 MiB SQL dump for a command source.
fn sample_dump(dir: &Path, system: &str) -> Result<(), String> {
    let path = dir.join("dump.sql");
    if path.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut r = Sample::new(system);
    let mut sql = format!(
        "-- {system}: sample dump\nCREATE TABLE orders (id bigint, customer text, amount numeric);\n"
    );
    for i in 0..40_000 {
        let n = r.next();
        sql.push_str(&format!(
            "INSERT INTO orders VALUES ({i}, 'c{:06x}', {}.{:02});\n",
            n >> 40,
            n % 9000,
            n % 100
        ));
    }
    std::fs::write(&path, sql).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Something changes in each system's sample data, so incremental backups have work: a line
/// appended to its activity log (or dump).
pub fn touch_samples(config: &Config, now: chrono::DateTime<chrono::Utc>) {
    use std::io::Write;
    for system in config.estate.systems() {
        let dir = config.console.state_dir.join("data").join(&system.name);
        let file =
            if dir.join("dump.sql").exists() { dir.join("dump.sql") } else { dir.join("activity.log") };
        if !dir.exists() {
            continue;
        }
        if let Ok(mut f) = std::fs::OpenOptions::new().append(true).open(&file) {
            let _ = writeln!(f, "-- {} activity at {}", system.name, now.to_rfc3339());
        }
    }
}

/// Turn each system's failover and failback into real requests against the simulated
/// estate's control API (promote the standby, demote it) and waits on its health, so the demo
/// can run a whole outage and recovery. Manual steps of the configured procedure are kept.
pub fn point_procedures(config: &mut Config, control: &str, token: &str) {
    use crate::config::failover::{HttpCall, Procedure, Step, StepAction};
    use crate::config::health::HeaderValue;
    for (system, settings) in config.estate.systems().iter().zip(config.systems.iter_mut()) {
        let name = &system.name;
        let call = |action: &str| {
            StepAction::Http(HttpCall {
                method: "POST".into(),
                url: format!("{control}/systems/{name}/{action}"),
                headers: vec![(
                    super::control::TOKEN_HEADER.to_owned(),
                    HeaderValue::Plain(token.to_owned()),
                )],
                body: None,
                expect_status: StatusSpec::success(),
            })
        };
        let step = |name: &str, action: StepAction, timeout: u64, estimate: u64| Step {
            name: name.to_owned(),
            action,
            timeout: Duration::from_secs(timeout),
            estimate: Some(Duration::from_secs(estimate)),
        };
        if let Some(failover) = settings.failover.as_mut() {
            let manual: Vec<Step> = failover
                .steps
                .iter()
                .filter(|s| matches!(s.action, StepAction::Manual { .. }))
                .cloned()
                .collect();
            let mut steps = vec![
                step("Promote the standby", call("promote"), 30, 2),
                step("Wait for health", StepAction::WaitHealthy { system: None }, 60, 3),
            ];
            steps.extend(manual);
            *failover = Procedure {
                approval: failover.approval,
                commit_window: failover.commit_window,
                on_commit_timeout: failover.on_commit_timeout,
                steps,
                validate: vec![step("Answers healthy", StepAction::WaitHealthy { system: None }, 30, 1)],
                rollback: vec![step("Demote the standby", call("demote"), 30, 2)],
            };
        }
        if let Some(failback) = settings.failback.as_mut() {
            failback.steps = vec![
                step("Demote the standby", call("demote"), 30, 2),
                step("Wait for health", StepAction::WaitHealthy { system: None }, 60, 3),
            ];
            failback.validate = Vec::new();
            failback.rollback = vec![step("Promote the standby again", call("promote"), 30, 2)];
        }
    }
}
