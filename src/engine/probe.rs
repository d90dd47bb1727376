//! One probe of one system: HTTP, TCP or a command. Never panics, never blocks another probe;
//! every failure becomes an outcome with a detail an operator can read.

use std::time::{Duration, Instant};

use crate::config::health::{HeaderValue, HealthCheck, HttpProbe, Probe};
use crate::model::Outcome;

use super::process::{self, Program};

/// What a probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeResult {
    pub outcome: Outcome,
    pub latency: Duration,
    /// `200 OK`, `status 503, expected 2xx`, `connection refused`, `timed out after 5s`.
    pub detail: String,
}

/// Runs probes; one per process, so HTTP connections are reused across all probes.
#[derive(Clone)]
pub struct Prober {
    client: reqwest::Client,
}

/// How much of a response body is read to look for `body_contains`.
const BODY_LIMIT: usize = 64 * 1024;

impl Prober {
    pub fn new() -> Result<Prober, String> {
        let client = reqwest::Client::builder()
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(4)
            .tcp_nodelay(true)
            .user_agent(concat!("warroom/", env!("CARGO_PKG_VERSION"), " (health probe)"))
            .build()
            .map_err(|e| format!("cannot set up the HTTP client: {e}"))?;
        Ok(Prober { client })
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    pub async fn probe(&self, check: &HealthCheck) -> ProbeResult {
        let started = Instant::now();
        let (outcome, detail) = match &check.probe {
            Probe::Http(http) => self.http(http, check.timeout).await,
            Probe::Tcp { address } => tcp(address, check.timeout).await,
            Probe::Command { program, args } => command(program, args, check.timeout).await,
        };
        ProbeResult { outcome, latency: started.elapsed(), detail }
    }

    async fn http(&self, probe: &HttpProbe, timeout: Duration) -> (Outcome, String) {
        let method = match reqwest::Method::from_bytes(probe.method.as_bytes()) {
            Ok(m) => m,
            Err(_) => return (Outcome::Error, format!("\"{}\" is not an HTTP method", probe.method)),
        };
        let mut request = self.client.request(method, &probe.url).timeout(timeout);
        for (name, value) in &probe.headers {
            let value = match value {
                HeaderValue::Plain(v) => v.clone(),
                HeaderValue::Secret(source) => match source.resolve() {
                    Ok(secret) => secret.expose().to_owned(),
                    Err(e) => return (Outcome::Error, format!("header {name}: {e}")),
                },
            };
            request = request.header(name.as_str(), value);
        }
        let response = match tokio::time::timeout(timeout, request.send()).await {
            Err(_) => return (Outcome::Unreachable, timed_out(timeout)),
            Ok(Err(e)) => return (Outcome::Unreachable, describe_http_error(&e, timeout)),
            Ok(Ok(r)) => r,
        };
        let status = response.status();
        if !probe.expect_status.accepts(status.as_u16()) {
            return (Outcome::Error, format!("status {}, expected {}", status.as_u16(), probe.expect_status));
        }
        let Some(needle) = &probe.body_contains else {
            return (Outcome::Healthy, status.to_string());
        };
        let mut response = response;
        let mut body: Vec<u8> = Vec::new();
        loop {
            match tokio::time::timeout(timeout, response.chunk()).await {
                Err(_) => return (Outcome::Unreachable, timed_out(timeout)),
                Ok(Err(e)) => return (Outcome::Unreachable, describe_http_error(&e, timeout)),
                Ok(Ok(None)) => break,
                Ok(Ok(Some(chunk))) => {
                    body.extend_from_slice(&chunk);
                    if body.len() >= BODY_LIMIT {
                        break;
                    }
                }
            }
        }
        if String::from_utf8_lossy(&body).contains(needle.as_str()) {
            (Outcome::Healthy, status.to_string())
        } else {
            (Outcome::Error, format!("status {}, but the body lacks \"{needle}\"", status.as_u16()))
        }
    }
}

fn timed_out(timeout: Duration) -> String {
    format!("timed out after {}", seconds(timeout))
}

fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 { format!("{}s", d.as_secs()) } else { format!("{:.1}s", d.as_secs_f64()) }
}

pub(super) fn describe_http_error(e: &reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        return timed_out(timeout);
    }
    // The root cause says most: "Connection refused (os error 111)".
    let mut source: Option<&dyn std::error::Error> = Some(e);
    let mut last = e.to_string();
    while let Some(s) = source {
        last = s.to_string();
        source = s.source();
    }
    if last.contains("Connection refused") {
        return "connection refused".to_owned();
    }
    if e.is_connect() {
        return format!("cannot connect: {last}");
    }
    last
}

async fn tcp(address: &str, timeout: Duration) -> (Outcome, String) {
    match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(address)).await {
        Err(_) => (Outcome::Unreachable, timed_out(timeout)),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            (Outcome::Unreachable, "connection refused".to_owned())
        }
        Ok(Err(e)) => (Outcome::Unreachable, format!("cannot connect: {e}")),
        Ok(Ok(_)) => (Outcome::Healthy, "connected".to_owned()),
    }
}

async fn command(program: &str, args: &[String], timeout: Duration) -> (Outcome, String) {
    let p = Program { program, args, ..Default::default() };
    match process::run(&p, timeout, None).await {
        Err(e) => (Outcome::Error, e.0),
        Ok(out) if out.timed_out => (Outcome::Unreachable, out.describe(timeout)),
        Ok(out) if out.succeeded() => (Outcome::Healthy, out.describe(timeout)),
        Ok(out) => (Outcome::Error, out.describe(timeout)),
    }
}
