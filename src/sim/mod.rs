//! The simulated estate: for demos and tabletop exercises, real HTTP health endpoints on
//! 127.0.0.1 whose faults can be switched live.
//!
//! Each system gets its own listener (a port the OS chooses) serving `GET /health`:
//!
//! | fault | what a probe sees |
//! |---|---|
//! | healthy | `200 ok` at once |
//! | slow LATENCY | `200 ok` after LATENCY |
//! | erroring FRACTION | that fraction of answers is `500` (every 1/FRACTION-th, exactly) |
//! | down | nothing listens: connection refused (open connections are cut) |
//! | flapping PERIOD | up for PERIOD, down for PERIOD, and so on |
//!
//! Systems depend on one another as the configuration says: while something a system needs
//! (directly or not) is down, it answers `503 dependency unavailable`, so an outage spreads the
//! way it would in the real estate, and the console shows its dependents "impacted by" it.
//!
//! A [`SimHandle`] switches faults in-process; [`control`] serves the same over a small
//! loopback HTTP API, so scripts, `warroom sim fault` and failover steps can flip them too.

pub mod control;
pub mod demo;
pub mod sinks;

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// What a simulated system is doing.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Fault {
    Healthy,
    Slow {
        #[serde(serialize_with = "crate::model::duration::serialize_millis", rename = "latency_ms")]
        latency: Duration,
    },
    Erroring {
        fraction: f64,
    },
    Down,
    Flapping {
        #[serde(serialize_with = "crate::model::duration::serialize_millis", rename = "period_ms")]
        period: Duration,
    },
    /// The standby is broken: once promoted it does not answer (a failover's validation fails).
    StandbyBroken,
    /// The standby stopped replaying changes `ago` (now, by default): its lag grows from there.
    ReplicationStalled {
        #[serde(serialize_with = "crate::model::duration::serialize_secs", rename = "ago_seconds")]
        ago: Duration,
    },
}

impl Fault {
    pub const MODES: &'static str = "healthy, slow LATENCY, erroring FRACTION, down, flapping PERIOD, standby-broken, replication-stalled [AGO]";

    /// `down`, `slow 6000ms`, `slow 6s`, `erroring 0.2`, `flapping 10s`, `healthy`.
    pub fn parse(mode: &str, arg: Option<&str>) -> Result<Fault, String> {
        let need = |what: &str| format!("{mode} needs {what}");
        match (mode, arg) {
            ("healthy" | "up" | "ok", None) => Ok(Fault::Healthy),
            ("down", None) => Ok(Fault::Down),
            ("standby-broken", None) => Ok(Fault::StandbyBroken),
            ("replication-stalled", None) => Ok(Fault::ReplicationStalled { ago: Duration::ZERO }),
            ("replication-stalled", Some(a)) => {
                crate::config::values::parse_duration(a).map(|ago| Fault::ReplicationStalled { ago }).map_err(
                    |e| format!("replication-stalled takes how long ago the standby stopped, like 4m: {e}"),
                )
            }
            ("slow", Some(a)) => Ok(Fault::Slow { latency: latency(a)? }),
            ("slow", None) => Err(need("a latency, like \"slow 6000ms\" or \"slow 6s\"")),
            ("erroring", Some(a)) => match a.parse::<f64>() {
                Ok(f) if f > 0.0 && f <= 1.0 => Ok(Fault::Erroring { fraction: f }),
                _ => Err(format!("erroring takes a fraction above 0 and at most 1, like 0.2; not \"{a}\"")),
            },
            ("erroring", None) => Err(need("a fraction of answers to fail, like \"erroring 0.2\"")),
            ("flapping", Some(a)) => Ok(Fault::Flapping { period: latency(a)? }),
            ("flapping", None) => Err(need("a period, like \"flapping 10s\"")),
            ("healthy" | "up" | "ok" | "down" | "standby-broken", Some(a)) => {
                Err(format!("{mode} takes nothing after it (got \"{a}\")"))
            }
            (other, _) => Err(format!("there is no fault \"{other}\": use {}", Fault::MODES)),
        }
    }
}

impl Fault {
    /// A fault as a scenario writes it: `down`, `slow 6000` (a bare number is milliseconds),
    /// `slow 6s`, `erroring 0.2`, `flapping 10s`, `healthy`.
    pub fn parse_text(text: &str) -> Result<Fault, String> {
        let mut words = text.split_whitespace();
        let mode = words.next().ok_or_else(|| format!("no fault given: use one of {}", Fault::MODES))?;
        let arg = words.next();
        if let Some(extra) = words.next() {
            return Err(format!(
                "\"{text}\": \"{extra}\" is one word too many (a fault is a mode and at most one value)"
            ));
        }
        match (mode, arg) {
            ("slow", Some(ms)) if ms.parse::<u64>().is_ok() => Fault::parse(mode, Some(&format!("{ms}ms"))),
            _ => Fault::parse(mode, arg),
        }
    }
}

fn latency(text: &str) -> Result<Duration, String> {
    if let Some(ms) = text.strip_suffix("ms") {
        return ms
            .trim()
            .parse::<u64>()
            .map(Duration::from_millis)
            .map_err(|_| format!("\"{text}\" is not a latency"));
    }
    crate::config::values::parse_duration(text)
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Healthy => f.write_str("healthy"),
            Fault::Slow { latency } => write!(f, "slow {}ms", latency.as_millis()),
            Fault::Erroring { fraction } => write!(f, "erroring {fraction}"),
            Fault::Down => f.write_str("down"),
            Fault::StandbyBroken => f.write_str("standby-broken"),
            Fault::Flapping { period } => write!(f, "flapping {}", crate::model::duration::human(*period)),
            Fault::ReplicationStalled { ago } if ago.is_zero() => f.write_str("replication-stalled"),
            Fault::ReplicationStalled { ago } => {
                write!(f, "replication-stalled {}", crate::model::duration::human(*ago))
            }
        }
    }
}

/// Whether a simulated system listens.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Listening {
    #[default]
    Up,
    Down,
    Flapping {
        #[serde(serialize_with = "crate::model::duration::serialize_millis", rename = "period_ms")]
        period: Duration,
    },
}

/// What a simulated system is doing now. Faults combine: `slow 6000ms` then `erroring 0.2`
/// makes it slow *and* erroring; `healthy` clears everything.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct FaultState {
    #[serde(serialize_with = "opt_millis", rename = "latency_ms")]
    pub latency: Option<Duration>,
    pub error_fraction: Option<f64>,
    pub listening: Listening,
    /// The standby has stopped replaying the primary's changes (its lag grows).
    pub replication_stalled: bool,
}

fn opt_millis<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_u64(d.as_millis() as u64),
        None => s.serialize_none(),
    }
}

impl FaultState {
    /// This state with `fault` switched on (or, for `healthy`, everything off).
    pub fn with(self, fault: Fault) -> FaultState {
        match fault {
            Fault::Healthy => FaultState::default(),
            Fault::Slow { latency } => FaultState { latency: Some(latency), ..self },
            Fault::Erroring { fraction } => FaultState { error_fraction: Some(fraction), ..self },
            Fault::Down => FaultState { listening: Listening::Down, ..self },
            Fault::Flapping { period } => FaultState { listening: Listening::Flapping { period }, ..self },
            // The standby's, not the primary's: see `SimHandle::set_fault`.
            Fault::StandbyBroken => self,
            Fault::ReplicationStalled { .. } => FaultState { replication_stalled: true, ..self },
        }
    }

    pub fn is_healthy(&self) -> bool {
        *self == FaultState::default()
    }
}

impl fmt::Display for FaultState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        match self.listening {
            Listening::Up => {}
            Listening::Down => parts.push("down".to_owned()),
            Listening::Flapping { period } => parts.push(Fault::Flapping { period }.to_string()),
        }
        if let Some(latency) = self.latency {
            parts.push(Fault::Slow { latency }.to_string());
        }
        if let Some(fraction) = self.error_fraction {
            parts.push(Fault::Erroring { fraction }.to_string());
        }
        if self.replication_stalled {
            parts.push("replication stalled".to_owned());
        }
        if parts.is_empty() { f.write_str("healthy") } else { f.write_str(&parts.join(" + ")) }
    }
}

struct SimSystem {
    name: String,
    addr: SocketAddr,
    /// What the endpoint does now: the primary's fault, or (after a promotion) the standby's
    /// healthy answers.
    fault: watch::Sender<FaultState>,
    /// The primary instance's fault (what faults are switched on).
    primary: std::sync::Mutex<FaultState>,
    /// The standby answers instead of the primary (after `promote`, until `demote`).
    standby_active: AtomicBool,
    /// The standby does not answer once promoted (`standby-broken`; `healthy` mends it).
    standby_broken: AtomicBool,
    answers: AtomicU64,
    /// Not listening right now (down, or in a down half of flapping).
    down_now: AtomicBool,
    /// What it needs, directly or not (indices into the estate).
    needs: Vec<usize>,
    /// Where its standby says how far behind it is (`GET /replication`): its own listener,
    /// up whatever the primary does.
    standby_addr: SocketAddr,
    /// When the standby stopped replaying (`replication-stalled`), if it has.
    stalled_since: std::sync::Mutex<Option<tokio::time::Instant>>,
    started: tokio::time::Instant,
}

/// Switches faults in-process. Cheap to clone.
#[derive(Clone)]
pub struct SimHandle {
    systems: Arc<Vec<Arc<SimSystem>>>,
}

/// One simulated system, as listed by the control API.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimEntry {
    pub name: String,
    pub endpoint: String,
    /// Where its standby's lag is read.
    pub replication: String,
    pub fault: FaultState,
    /// `slow 6000ms + erroring 0.2`
    pub description: String,
    /// `primary`, or `standby` after a failover promoted it.
    pub active: &'static str,
}

impl SimHandle {
    fn find(&self, name: &str) -> Result<&Arc<SimSystem>, String> {
        self.systems.iter().find(|s| s.name == name).ok_or_else(|| {
            let names: Vec<&str> = self.systems.iter().map(|s| s.name.as_str()).collect();
            match crate::config::diagnostic::did_you_mean(name, names.iter().copied()) {
                Some(s) => format!("there is no simulated system \"{name}\"; did you mean \"{s}\"?"),
                None => format!("there is no simulated system \"{name}\""),
            }
        })
    }

    /// Switch `fault` on the primary (it adds to what is already on; `healthy` clears). The
    /// primary's new state.
    pub fn set_fault(&self, name: &str, fault: Fault) -> Result<FaultState, String> {
        let system = self.find(name)?;
        match fault {
            Fault::StandbyBroken => system.standby_broken.store(true, Ordering::Relaxed),
            Fault::Healthy => {
                system.standby_broken.store(false, Ordering::Relaxed);
                system.stall(None);
            }
            Fault::ReplicationStalled { ago } => system.stall(Some(ago)),
            _ => {}
        }
        let state = system.primary_fault().with(fault);
        Self::apply(system, state);
        tracing::info!(system = name, fault = %state, "simulated fault switched");
        Ok(state)
    }

    /// Switch everything off on the primary, then `fault` on.
    pub fn replace_fault(&self, name: &str, fault: Fault) -> Result<FaultState, String> {
        let system = self.find(name)?;
        system.standby_broken.store(fault == Fault::StandbyBroken, Ordering::Relaxed);
        system.stall(match fault {
            Fault::ReplicationStalled { ago } => Some(ago),
            _ => None,
        });
        let state = FaultState::default().with(fault);
        Self::apply(system, state);
        tracing::info!(system = name, fault = %state, "simulated fault switched");
        Ok(state)
    }

    fn apply(system: &SimSystem, primary: FaultState) {
        if let Ok(mut p) = system.primary.lock() {
            *p = primary;
        }
        if !system.standby_active.load(Ordering::Relaxed) {
            system.fault.send_replace(primary);
        }
    }

    /// The primary's fault.
    pub fn fault(&self, name: &str) -> Result<FaultState, String> {
        self.find(name).map(|s| s.primary_fault())
    }

    /// Fail over: the standby answers (healthy) whatever the primary does.
    pub fn promote(&self, name: &str) -> Result<(), String> {
        let system = self.find(name)?;
        system.standby_active.store(true, Ordering::Relaxed);
        let standby = if system.standby_broken.load(Ordering::Relaxed) {
            FaultState { listening: Listening::Down, ..FaultState::default() }
        } else {
            FaultState::default()
        };
        system.fault.send_replace(standby);
        tracing::info!(system = name, "simulated standby promoted");
        Ok(())
    }

    /// Fail back: the primary answers again, with its faults.
    pub fn demote(&self, name: &str) -> Result<(), String> {
        let system = self.find(name)?;
        system.standby_active.store(false, Ordering::Relaxed);
        system.fault.send_replace(system.primary_fault());
        tracing::info!(system = name, "simulated standby demoted: the primary answers");
        Ok(())
    }

    /// `http://127.0.0.1:PORT/replication`: the standby's lag, as JSON `{"lag_seconds": 2.4}`.
    pub fn replication_endpoint(&self, name: &str) -> Option<String> {
        self.find(name).ok().map(|s| format!("http://{}/replication", s.standby_addr))
    }

    /// How far the standby of `name` is behind now.
    pub fn lag(&self, name: &str) -> Result<Duration, String> {
        self.find(name)?.lag()
    }

    /// `http://127.0.0.1:PORT/health`
    pub fn endpoint(&self, name: &str) -> Option<String> {
        self.find(name).ok().map(|s| format!("http://{}/health", s.addr))
    }

    pub fn list(&self) -> Vec<SimEntry> {
        self.systems
            .iter()
            .map(|s| {
                let fault = s.primary_fault();
                SimEntry {
                    name: s.name.clone(),
                    endpoint: format!("http://{}/health", s.addr),
                    replication: format!("http://{}/replication", s.standby_addr),
                    fault,
                    description: if s.standby_broken.load(Ordering::Relaxed) {
                        format!("{fault} (standby broken)")
                    } else {
                        fault.to_string()
                    },
                    active: if s.standby_active.load(Ordering::Relaxed) { "standby" } else { "primary" },
                }
            })
            .collect()
    }
}

/// A running simulated estate. Dropping it stops every endpoint.
pub struct SimEstate {
    handle: SimHandle,
    _tasks: JoinSet<()>,
}

impl SimEstate {
    /// Serve a healthy endpoint for each system, on ports the OS chooses. Each system is given
    /// with what it depends on; unknown names among those are ignored.
    pub async fn start(
        systems: impl IntoIterator<Item = (String, Vec<String>)>,
    ) -> std::io::Result<SimEstate> {
        let systems: Vec<(String, Vec<String>)> = systems.into_iter().collect();
        let (graph, _) =
            crate::model::DependencyGraph::build(systems.iter().map(|(n, d)| (n.clone(), d.iter())));
        let mut built = Vec::new();
        let mut listeners = Vec::new();
        let mut standbys = Vec::new();
        for (i, (name, _)) in systems.into_iter().enumerate() {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let standby = TcpListener::bind("127.0.0.1:0").await?;
            let standby_addr = standby.local_addr()?;
            standbys.push(standby);
            let (fault, _) = watch::channel(FaultState::default());
            built.push(Arc::new(SimSystem {
                name,
                addr,
                fault,
                primary: std::sync::Mutex::new(FaultState::default()),
                standby_active: AtomicBool::new(false),
                standby_broken: AtomicBool::new(false),
                answers: AtomicU64::new(0),
                down_now: AtomicBool::new(false),
                needs: graph.transitive_dependencies(i),
                standby_addr,
                stalled_since: std::sync::Mutex::new(None),
                started: tokio::time::Instant::now(),
            }));
            listeners.push(listener);
        }
        let estate = Arc::new(built);
        let mut tasks = JoinSet::new();
        for (i, listener) in listeners.into_iter().enumerate() {
            tasks.spawn(serve(estate.clone(), i, listener));
        }
        for (i, listener) in standbys.into_iter().enumerate() {
            tasks.spawn(serve_standby(estate.clone(), i, listener));
        }
        Ok(SimEstate { handle: SimHandle { systems: estate }, _tasks: tasks })
    }

    /// Systems that depend on nothing (names only).
    pub async fn start_independent(names: impl IntoIterator<Item = String>) -> std::io::Result<SimEstate> {
        Self::start(names.into_iter().map(|n| (n, Vec::new()))).await
    }

    pub fn handle(&self) -> SimHandle {
        self.handle.clone()
    }

    /// Name to endpoint, for pointing health checks at the estate.
    pub fn endpoints(&self) -> BTreeMap<String, String> {
        self.handle.list().into_iter().map(|e| (e.name, e.endpoint)).collect()
    }

    /// Name to its standby's lag endpoint, for pointing replication sources at the estate.
    pub fn replication_endpoints(&self) -> BTreeMap<String, String> {
        self.handle.list().into_iter().map(|e| (e.name, e.replication)).collect()
    }
}

impl SimSystem {
    fn primary_fault(&self) -> FaultState {
        self.primary.lock().map(|p| *p).unwrap_or_default()
    }

    /// Stop the standby's replay `ago` (or start it again with `None`).
    fn stall(&self, ago: Option<Duration>) {
        let now = tokio::time::Instant::now();
        if let Ok(mut s) = self.stalled_since.lock() {
            *s = ago.map(|a| now.checked_sub(a).unwrap_or(self.started));
        }
    }

    /// The standby's lag now: a second or a few while it replays (it moves, as a real one
    /// does), and growing from the moment it stopped when stalled. A promoted standby has
    /// nothing to replay from.
    fn lag(&self) -> Result<Duration, String> {
        if self.standby_active.load(Ordering::Relaxed) {
            return Err("the standby was promoted: it replicates from nothing now".to_owned());
        }
        let replaying = |at: tokio::time::Instant| {
            let t = at.saturating_duration_since(self.started).as_secs_f64();
            Duration::from_secs_f64(2.5 + 1.5 * (t / 7.0).sin())
        };
        let now = tokio::time::Instant::now();
        Ok(match self.stalled_since.lock().ok().and_then(|s| *s) {
            Some(since) => replaying(since) + now.saturating_duration_since(since),
            None => replaying(now),
        })
    }
}

/// The standby's side: `GET /replication` says how far behind it is.
async fn serve_standby(estate: Arc<Vec<Arc<SimSystem>>>, index: usize, listener: TcpListener) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let estate = estate.clone();
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let estate = estate.clone();
                        async move {
                            let Some(system) = estate.get(index) else {
                                return Ok::<_, std::convert::Infallible>(reply(StatusCode::NOT_FOUND, "not found\n"));
                            };
                            if req.uri().path() != "/replication" {
                                return Ok(reply(StatusCode::NOT_FOUND, "not found: the standby answers /replication\n"));
                            }
                            let (status, body) = match system.lag() {
                                Ok(lag) => (StatusCode::OK, serde_json::json!({ "lag_seconds": (lag.as_secs_f64() * 10.0).round() / 10.0 })),
                                Err(e) => (StatusCode::SERVICE_UNAVAILABLE, serde_json::json!({ "error": e })),
                            };
                            let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
                            *r.status_mut() = status;
                            Ok(r)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Is the system down right now (down, or in a down half of flapping)?
fn is_down(fault: FaultState, flapping_since: tokio::time::Instant) -> bool {
    match fault.listening {
        Listening::Down => true,
        Listening::Flapping { period } => {
            let p = period.as_millis().max(1);
            (flapping_since.elapsed().as_millis() / p) % 2 == 1
        }
        _ => false,
    }
}

/// When a flapping system next changes half.
fn next_flip(fault: FaultState, since: tokio::time::Instant) -> Option<tokio::time::Instant> {
    let Listening::Flapping { period } = fault.listening else { return None };
    let p = period.as_millis().max(1);
    let halves = since.elapsed().as_millis() / p + 1;
    Some(since + Duration::from_millis(u64::try_from(halves * p).unwrap_or(u64::MAX)))
}

async fn serve(estate: Arc<Vec<Arc<SimSystem>>>, index: usize, listener: TcpListener) {
    let Some(system) = estate.get(index).cloned() else { return };
    let mut faults = system.fault.subscribe();
    let mut listener = Some(listener);
    let mut connections = JoinSet::new();
    let mut flapping_since = tokio::time::Instant::now();
    let mut last_fault = *faults.borrow();
    loop {
        let fault = *faults.borrow_and_update();
        if fault != last_fault {
            flapping_since = tokio::time::Instant::now();
            last_fault = fault;
        }
        let down = is_down(fault, flapping_since);
        system.down_now.store(down, Ordering::Relaxed);
        let flip = next_flip(fault, flapping_since);
        let wait_flip = async move {
            match flip {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        if down {
            // Stop listening and cut every open connection: probes see connection refused.
            listener = None;
            connections.abort_all();
            tokio::select! {
                changed = faults.changed() => if changed.is_err() { return },
                _ = wait_flip => {}
            }
            continue;
        }
        let Some(l) = &listener else {
            listener = rebind(system.addr).await;
            if listener.is_none() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            continue;
        };
        tokio::select! {
            accepted = l.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let estate = estate.clone();
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |req| answer(estate.clone(), index, req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            changed = faults.changed() => if changed.is_err() { return },
            _ = wait_flip => {}
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn rebind(addr: SocketAddr) -> Option<TcpListener> {
    match TcpListener::bind(addr).await {
        Ok(l) => Some(l),
        Err(e) => {
            tracing::warn!(%addr, error = %e, "the simulated endpoint cannot listen again yet");
            None
        }
    }
}

async fn answer(
    estate: Arc<Vec<Arc<SimSystem>>>,
    index: usize,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    let Some(system) = estate.get(index) else {
        return Ok(reply(StatusCode::NOT_FOUND, "not found\n"));
    };
    if req.uri().path() != "/health" {
        return Ok(reply(StatusCode::NOT_FOUND, "not found: the health endpoint is /health\n"));
    }
    if system.needs.iter().any(|&d| estate.get(d).is_some_and(|s| s.down_now.load(Ordering::Relaxed))) {
        return Ok(reply(StatusCode::SERVICE_UNAVAILABLE, "dependency unavailable\n"));
    }
    let fault = *system.fault.borrow();
    let n = system.answers.fetch_add(1, Ordering::Relaxed);
    if let Some(latency) = fault.latency {
        tokio::time::sleep(latency).await;
    }
    // Exactly `fraction` of the answers fail, spread evenly: answer n fails when the running
    // count of failures due goes up by one.
    let fails = fault.error_fraction.is_some_and(|f| ((n + 1) as f64 * f).floor() > (n as f64 * f).floor());
    Ok(if fails {
        reply(StatusCode::INTERNAL_SERVER_ERROR, "simulated error\n")
    } else {
        reply(StatusCode::OK, "ok\n")
    })
}

fn reply(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *r.status_mut() = status;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_parse_like_people_say_them() {
        assert_eq!(
            Fault::parse("slow", Some("6000ms")),
            Ok(Fault::Slow { latency: Duration::from_millis(6000) })
        );
        assert_eq!(Fault::parse("slow", Some("6s")), Ok(Fault::Slow { latency: Duration::from_secs(6) }));
        assert_eq!(Fault::parse("erroring", Some("0.2")), Ok(Fault::Erroring { fraction: 0.2 }));
        assert_eq!(Fault::parse("down", None), Ok(Fault::Down));
        assert!(Fault::parse("erroring", Some("2")).is_err());
        assert!(Fault::parse("slow", None).unwrap_err().contains("needs a latency"));
        assert!(Fault::parse("melting", None).unwrap_err().contains("there is no fault"));
    }

    #[test]
    fn faults_combine_and_healthy_clears() {
        let s = FaultState::default()
            .with(Fault::Slow { latency: Duration::from_millis(6000) })
            .with(Fault::Erroring { fraction: 0.2 });
        assert_eq!(s.to_string(), "slow 6000ms + erroring 0.2");
        assert_eq!(s.with(Fault::Down).to_string(), "down + slow 6000ms + erroring 0.2");
        assert!(s.with(Fault::Healthy).is_healthy());
    }

    #[tokio::test]
    async fn erroring_fails_exactly_the_fraction() {
        let sim = SimEstate::start_independent(["api".to_owned()]).await.unwrap();
        let h = sim.handle();
        h.set_fault("api", Fault::Erroring { fraction: 0.2 }).unwrap();
        assert_eq!(h.fault("api").unwrap().to_string(), "erroring 0.2");
        let url = h.endpoint("api").unwrap();
        let client = reqwest::Client::new();
        let mut errors = 0;
        for _ in 0..50 {
            if client.get(&url).send().await.unwrap().status() == 500 {
                errors += 1;
            }
        }
        assert_eq!(errors, 10);
    }

    #[tokio::test]
    async fn an_outage_spreads_to_what_depends_on_it() {
        let sim = SimEstate::start([
            ("database".to_owned(), vec![]),
            ("cache".to_owned(), vec!["database".to_owned()]),
            ("api".to_owned(), vec!["cache".to_owned()]),
            ("wiki".to_owned(), vec![]),
        ])
        .await
        .unwrap();
        let h = sim.handle();
        let client = reqwest::Client::new();
        let status = |name: &str| {
            let (client, url) = (client.clone(), h.endpoint(name).unwrap());
            async move { client.get(&url).send().await.map(|r| r.status().as_u16()).unwrap_or(0) }
        };
        assert_eq!(status("api").await, 200);
        h.set_fault("database", Fault::Down).unwrap();
        let mut api = 0;
        for _ in 0..50 {
            api = status("api").await;
            if api == 503 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(api, 503, "api needs the database through the cache");
        assert_eq!(status("wiki").await, 200);
    }

    #[tokio::test]
    async fn down_refuses_and_up_listens_again_on_the_same_port() {
        let sim = SimEstate::start_independent(["db".to_owned()]).await.unwrap();
        let h = sim.handle();
        let url = h.endpoint("db").unwrap();
        let client = reqwest::Client::new();
        assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
        h.set_fault("db", Fault::Down).unwrap();
        let mut refused = false;
        for _ in 0..50 {
            if let Err(e) = client.get(&url).send().await
                && e.is_connect()
            {
                refused = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(refused, "a down system refuses connections, even over a kept-alive one");
        h.set_fault("db", Fault::Healthy).unwrap();
        let mut back = false;
        for _ in 0..50 {
            if client.get(&url).send().await.is_ok_and(|r| r.status() == 200) {
                back = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(back);
    }
}
