//! Reading a standby's lag (docs/replication.md): run the source's command or GET its URL,
//! bounded by its timeout, and read what came back as a lag. Every failure is a reason an
//! operator can read, never a lag of zero.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::Engine;
use super::process::{self, Program};
use crate::config::health::HeaderValue;
use crate::config::replication::{LagSource, ReplicationCheck};
use crate::model::replication::{
    LagReading, RecoveryFigures, Replication, RestoreEstimate, TradeOff, parse_lag,
};

/// How much of an answer is read.
const BODY_LIMIT: usize = 64 * 1024;

/// One reading of `check`'s source; `now` is asked after the answer came, to measure a
/// timestamp against.
pub async fn read_lag(
    client: &reqwest::Client,
    check: &ReplicationCheck,
    now: &(dyn Fn() -> DateTime<Utc> + Send + Sync),
) -> LagReading {
    let lag = match &check.source {
        LagSource::Command { program, args } => command(program, args, check.timeout).await,
        LagSource::Http { probe, pointer } => http(client, probe, pointer.as_deref(), check.timeout).await,
    };
    let at = now();
    LagReading { at, lag: lag.and_then(|text| parse_lag(&text, at)) }
}

async fn command(program: &str, args: &[String], timeout: Duration) -> Result<String, String> {
    let p = Program { program, args, ..Default::default() };
    let out = process::run(&p, timeout, None).await.map_err(|e| e.0)?;
    if !out.succeeded() {
        return Err(out.describe(timeout));
    }
    // Its last line says the lag (psql -At prints exactly one).
    Ok(out.tail.iter().rev().find(|l| !l.trim().is_empty()).cloned().unwrap_or_default())
}

async fn http(
    client: &reqwest::Client,
    probe: &crate::config::health::HttpProbe,
    pointer: Option<&str>,
    timeout: Duration,
) -> Result<String, String> {
    let mut request = client.get(&probe.url).timeout(timeout);
    for (name, value) in &probe.headers {
        let value = match value {
            HeaderValue::Plain(v) => v.clone(),
            HeaderValue::Secret(source) => {
                source.resolve().map_err(|e| format!("header {name}: {e}"))?.expose().to_owned()
            }
        };
        request = request.header(name.as_str(), value);
    }
    let read = async {
        let mut response =
            request.send().await.map_err(|e| super::probe::describe_http_error(&e, timeout))?;
        let status = response.status();
        if !probe.expect_status.accepts(status.as_u16()) {
            return Err(format!("status {}, expected {}", status.as_u16(), probe.expect_status));
        }
        let mut body = Vec::new();
        while let Some(chunk) =
            response.chunk().await.map_err(|e| super::probe::describe_http_error(&e, timeout))?
        {
            body.extend_from_slice(&chunk);
            if body.len() > BODY_LIMIT {
                return Err(format!("the answer is longer than {} KiB: it is not a lag", BODY_LIMIT / 1024));
            }
        }
        Ok(body)
    };
    let body = tokio::time::timeout(timeout, read)
        .await
        .map_err(|_| format!("timed out after {}s", timeout.as_secs_f64()))??;
    let text = String::from_utf8_lossy(&body);
    let Some(pointer) = pointer else { return Ok(text.trim().trim_matches('"').to_owned()) };
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("the answer is not JSON ({e}), so {pointer} cannot be read"))?;
    match json.pointer(pointer) {
        None => Err(format!("the answer has nothing at {pointer}")),
        Some(serde_json::Value::Null) => Err(format!("the value at {pointer} is null")),
        Some(serde_json::Value::Number(n)) => Ok(n.to_string()),
        Some(serde_json::Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(format!("the value at {pointer} is {other}, not a lag")),
    }
}

/// One HTTP client for every reading in this process (connections are reused).
pub fn client() -> &'static reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .pool_idle_timeout(Duration::from_secs(90))
            .user_agent(concat!("warroom/", env!("CARGO_PKG_VERSION"), " (replication lag)"))
            .build()
            .unwrap_or_default()
    })
}

impl Engine {
    /// A fresh reading of `system`'s standby, as its replication state (`None`: it has no
    /// replication source).
    pub async fn read_replication(&self, system: &str) -> Option<Replication> {
        let check = self.config.system(system)?.replication.clone()?;
        let clock = self.clock.clone();
        let now = move || clock.now();
        let reading = read_lag(client(), &check, &now).await;
        let mut state = Replication::new(check.describe(), check.stale_after);
        state.record(reading);
        Some(state)
    }

    /// A fresh reading of every system with a replication source, at once (by estate index).
    pub async fn read_all_replication(&self) -> Vec<Option<Replication>> {
        let names: Vec<String> = self.config.estate.systems().iter().map(|s| s.name.clone()).collect();
        futures_util::future::join_all(names.iter().map(|n| self.read_replication(n))).await
    }
}

impl Engine {
    /// Each system's two ways back, apart from the lag (by estate index): its failover
    /// procedure's estimate, and its newest restorable backup with how long a restore takes
    /// (the newest restore drill's time, else a guess from the backup's size). The recovery
    /// plan, the gate and the console all weigh these same figures.
    pub async fn recovery_figures(&self) -> Result<Vec<RecoveryFigures>, String> {
        let programme = self.programme().await?;
        self.recovery_figures_with(&programme).await
    }

    /// [`Engine::recovery_figures`] with the testing programme the caller has read already.
    pub async fn recovery_figures_with(
        &self,
        programme: &super::programme::ProgrammeView,
    ) -> Result<Vec<RecoveryFigures>, String> {
        let newest = self.newest_restorable().await?;
        Ok(self
            .config
            .estate
            .systems()
            .iter()
            .zip(&self.config.systems)
            .map(|(s, settings)| RecoveryFigures {
                failover: settings.failover.as_ref().map(|p| p.estimate()),
                restore: newest.get(s.name.as_str()).map(|b| {
                    let drill = programme.system(&s.name).and_then(|p| p.restore_takes_ms);
                    let estimate = match drill {
                        Some(ms) => RestoreEstimate::Drill { took: Duration::from_millis(ms) },
                        None => RestoreEstimate::guess(b.manifest.stored_size),
                    };
                    (b.manifest.started_at, estimate)
                }),
            })
            .collect())
    }

    /// The trade-off for `system` now, with a fresh reading of its standby's lag.
    pub async fn trade_off(&self, system: &str) -> Result<TradeOff, String> {
        let i = self.config.estate.index_of(system).ok_or_else(|| self.no_such_system(system))?;
        let figures = self.recovery_figures().await?;
        let replication = self.read_replication(system).await;
        let s = &self.config.estate.systems()[i];
        Ok(TradeOff::of(
            s.objective.rpo,
            self.config.estate.rpo_policy,
            &figures[i],
            replication.as_ref(),
            self.now(),
        ))
    }
}
