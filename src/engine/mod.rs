//! The engine: the one way the console and the headless commands reach stored state and, in
//! later work, the async world (probes, the job pool, the approval gate).
//!
//! An [`Engine`] is cheap to clone: the console hands clones to the tasks that carry out its
//! effects, and each task sends an owned result back.

pub use crate::store::listen::StateLink;

pub mod access;
pub mod assessment;
pub mod backup;
pub mod comms;
mod error;
pub mod evidence;
pub mod exercise;
pub mod failover;
pub mod incident;
pub mod jobs;
pub mod monitor;
pub mod plan;
pub mod probe;
pub mod process;
pub mod programme;
pub mod recovery;
pub mod replication;
pub mod runbook;
pub mod work;

pub use error::{EngineError, create_state_dir};

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::clock::{Clock, SystemClock};
use crate::config::{self, Config, Environment, LoadError};
use crate::store::{AuditRecord, NewAuditRecord, Outcome, Store, Verification};

/// Applied to the configuration after every load: the demo points the health checks at its
/// simulated endpoints, on a reload as at the start.
pub type Adapt = Arc<dyn Fn(&mut Config) + Send + Sync>;

/// The configuration in force, the open store and the clock.
#[derive(Clone)]
pub struct Engine {
    config: Arc<Config>,
    store: Store,
    clock: Arc<dyn Clock>,
    adapt: Option<Adapt>,
    /// The job pool, shared by every clone: jobs outlive a reload.
    jobs: Arc<jobs::JobPool>,
    /// Who this process acts for (`[[operators]]`), found at open and at each reload.
    identity: Arc<access::Identity>,
}

/// Find who `config`'s process acts for; an operator nobody named is the one it shows it is.
fn identify(config: &mut Config) -> access::Identity {
    let identity =
        access::identify(&config.access, config.console.operator_key_file.as_deref(), &access::os_user());
    if let access::Identity::Proven { name, .. } = &identity
        && !config.console.operator_named
    {
        config.console.operator = name.clone();
    }
    identity
}

/// The store the console configuration names: SQLite in the state folder, or the PostgreSQL
/// whose URL is read now (never at config load).
async fn open_store(console: &crate::config::ConsoleConfig) -> Result<Store, crate::store::StoreError> {
    match &console.state {
        crate::config::console::StateStore::Sqlite => Store::open(&console.state_dir).await,
        crate::config::console::StateStore::Postgres(source) => {
            let key = crate::config::console::StateStore::url_key(source);
            let url = source.resolve().map_err(|e| crate::store::StoreError::Open {
                path: std::path::PathBuf::from(format!("on PostgreSQL: its URL ({key})")),
                reason: e.to_string(),
            })?;
            Store::open_postgres(url.expose()).await
        }
    }
}

/// Copy the SQLite state in the folder `dir` (it holds `warroom.db`) into the PostgreSQL state
/// `console` names, which must be empty; the copy is recorded at the end of the copied chain
/// (`state.migrated`) and the chain verified.
pub async fn migrate_state(
    dir: &Path,
    mut config: Config,
) -> Result<crate::store::copy::CopyReport, EngineError> {
    // A write like any other: by someone this process shows it acts for, who may write.
    let identity = identify(&mut config);
    let operator = config.console.operator.clone();
    let what = "copying a state into the shared database";
    let needs = crate::model::access::Roles::of(access::WRITERS);
    if let Some(refusal) =
        access::judge(&config.access, &identity, &operator, config.console.operator_named, needs, what)
    {
        return Err(EngineError::Refused(refusal.to_string()));
    }
    let console = &config.console;
    let from = Store::open(dir).await?;
    let to = open_store(console).await?;
    let mut report = from.copy_into(&to).await?;
    let copied: u64 = report.tables.iter().map(|(_, n)| n).sum();
    let record = NewAuditRecord::new(&operator, "state.migrated", "state", Outcome::Recorded).details(
        serde_json::json!({
            "from": format!("sqlite:{}", dir.join("warroom.db").display()),
            "rows": copied,
            "audit_records": report.verification.records,
            "head": report.verification.head,
        }),
    );
    to.append_audit(&record, chrono::Utc::now()).await?;
    report.verification = to.verify_audit().await?;
    from.close().await;
    to.close().await;
    Ok(report)
}

impl Engine {
    /// Open the state store of `config`, and record in the audit log a configuration that
    /// differs from the last run's.
    pub async fn open(config: Config) -> Result<Engine, EngineError> {
        Self::open_with_clock(config, Arc::new(SystemClock)).await
    }

    pub async fn open_with_clock(mut config: Config, clock: Arc<dyn Clock>) -> Result<Engine, EngineError> {
        let identity = Arc::new(identify(&mut config));
        let store = open_store(&config.console).await?;
        let jobs = Arc::new(
            jobs::JobPool::new(store.clone(), clock.clone())
                .with_heartbeat_timeout(config.console.heartbeat_timeout),
        );
        let engine = Engine { config: Arc::new(config), store, clock, adapt: None, jobs, identity };
        engine.note_config_change().await?;
        engine.settle_stopped().await?;
        Ok(engine)
    }

    /// Jobs left running by a process that stopped are Interrupted, and the failovers among them
    /// leave their systems Failed. On opening, and now and then in a console that stays open
    /// while another process dies.
    pub async fn settle_stopped(&self) -> Result<(), EngineError> {
        for id in self.jobs.recover().await? {
            tracing::warn!(job = %id, "a job left running by a process that stopped is marked interrupted");
        }
        for system in self.settle_interrupted_failovers().await? {
            tracing::warn!(%system, "a failover that was interrupted leaves its system failed");
        }
        Ok(())
    }

    /// Adapt every configuration this engine loads from now on with `adapt`.
    pub fn with_adapt(mut self, adapt: Adapt) -> Engine {
        self.adapt = Some(adapt);
        self
    }

    /// The job pool (and the gate): shared by every clone of the engine.
    pub fn jobs(&self) -> &Arc<jobs::JobPool> {
        &self.jobs
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The one wording of a system name that is not in the estate, with the nearest one.
    pub fn no_such_system(&self, name: &str) -> String {
        let names = self.config.estate.systems().iter().map(|s| s.name.as_str());
        let hint = crate::config::diagnostic::did_you_mean(name, names)
            .map(|s| format!("; did you mean \"{s}\"?"))
            .unwrap_or_default();
        format!("there is no system \"{name}\"{hint}")
    }

    /// Hear other processes' writes to a shared PostgreSQL state as they commit (`None` on
    /// SQLite, which is polled).
    pub fn listen(&self) -> Option<tokio::sync::mpsc::Receiver<StateLink>> {
        self.store.listen()
    }

    pub fn operator(&self) -> &str {
        &self.config.console.operator
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    /// Append to the audit log, at the clock's time.
    pub async fn audit(&self, record: NewAuditRecord) -> Result<AuditRecord, EngineError> {
        Ok(self.store.append_audit(&record, self.clock.now()).await?)
    }

    /// The newest `limit` audit records (all when `None`), newest first.
    pub async fn audit_records(&self, limit: Option<u32>) -> Result<Vec<AuditRecord>, EngineError> {
        Ok(self.store.audit_records(limit).await?)
    }

    pub async fn verify_audit(&self) -> Result<Verification, EngineError> {
        Ok(self.store.verify_audit().await?)
    }

    /// Read the configuration file again. On success the engine carries on with the new one
    /// (audited as a change); on failure nothing changes and the problems are returned.
    pub async fn reload(&self, env: &dyn Environment) -> Result<(Engine, config::Loaded), LoadError> {
        if self.config.origin == config::Origin::BuiltIn {
            return Err(LoadError::BuiltIn { name: self.config.path.display().to_string() });
        }
        let loaded = config::load(&self.config.path, env)?;
        let mut config = loaded.config.clone();
        if let Some(adapt) = &self.adapt {
            adapt(&mut config);
        }
        let identity = Arc::new(identify(&mut config));
        let engine = Engine {
            identity,
            config: Arc::new(config),
            store: self.store.clone(),
            clock: self.clock.clone(),
            adapt: self.adapt.clone(),
            jobs: self.jobs.clone(),
        };
        if let Err(e) = engine.note_config_change().await {
            tracing::warn!(error = %e, "could not audit the configuration change");
        }
        Ok((engine, loaded))
    }

    /// Start probing every system that has a health check. Dropping the monitor stops it.
    pub fn start_monitor(&self) -> Result<monitor::Monitor, String> {
        raise_open_file_limit();
        let prober = probe::Prober::new()?;
        Ok(monitor::Monitor::start(&self.config, self.clock.clone(), prober))
    }

    /// Probe each system once (all of them, or only `only`), at most `concurrency` at a time.
    /// Systems without a health check are left out.
    pub async fn probe_once(&self, only: Option<usize>) -> Result<Vec<(usize, probe::ProbeResult)>, String> {
        raise_open_file_limit();
        let prober = probe::Prober::new()?;
        let permits = Arc::new(tokio::sync::Semaphore::new(self.config.health.concurrency.max(1)));
        let mut tasks = tokio::task::JoinSet::new();
        for (i, settings) in self.config.systems.iter().enumerate() {
            if only.is_some_and(|o| o != i) {
                continue;
            }
            let Some(check) = settings.health.clone() else { continue };
            let (prober, permits) = (prober.clone(), permits.clone());
            tasks.spawn(async move {
                let _permit = permits.acquire_owned().await;
                (i, prober.probe(&check).await)
            });
        }
        let mut results: Vec<(usize, probe::ProbeResult)> = tasks.join_all().await;
        results.sort_by_key(|(i, _)| *i);
        Ok(results)
    }

    /// Close the store (checkpointing the WAL).
    pub async fn close(self) {
        self.store.close().await;
    }

    pub fn state_dir(&self) -> &Path {
        &self.config.console.state_dir
    }

    /// If the configuration's hash differs from the last run's, audit the change.
    async fn note_config_change(&self) -> Result<(), EngineError> {
        let path = std::fs::canonicalize(&self.config.path).unwrap_or_else(|_| self.config.path.clone());
        let target = path.display().to_string();
        let host = jobs::hostname();
        let recorded = self
            .store
            .note_config(
                &format!("{host}:{target}"),
                &self.config.hash,
                |previous| {
                    NewAuditRecord::new(self.operator(), "config.changed", &target, Outcome::Recorded)
                        .details(serde_json::json!({
                            "previous_hash": previous,
                            "hash": self.config.hash,
                            "systems": self.config.estate.systems().len(),
                            "host": host,
                        }))
                },
                self.clock.now(),
            )
            .await?;
        if recorded {
            tracing::info!(path = %target, hash = %self.config.hash, "configuration changed since the last run");
        }
        Ok(())
    }
}

/// Probing thousands of systems keeps thousands of connections open: raise this process's
/// limit on open files to what the system allows.
fn raise_open_file_limit() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if let Some(max) = limit.maximum
        && limit.current.is_some_and(|cur| cur < max)
    {
        let wanted = Rlimit { current: Some(max.min(1 << 20)), maximum: Some(max) };
        if let Err(e) = setrlimit(Resource::Nofile, wanted) {
            tracing::warn!(error = %e, "cannot raise the open-file limit");
        }
    }
}
