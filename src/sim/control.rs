//! The simulated estate's control API, on loopback, and how other processes find it.
//!
//! ```text
//! GET  /systems                   [{"name":"api","endpoint":"http://127.0.0.1:41234/health","fault":{"mode":"healthy"}}]
//! POST /systems/{name}/fault      body: "down" | "slow 6000ms" | "erroring 0.2" | "flapping 10s" | "healthy"
//!                                 (or JSON {"mode":"slow","latency":"6s"}; {"fraction":0.2}; {"period":"10s"})
//! ```
//! Every request carries the header `X-Warroom-Sim-Token` with the token from `sim.json`,
//! which the running estate writes in its state directory (readable by its owner only).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

use super::{Fault, SimHandle};

pub const TOKEN_HEADER: &str = "X-Warroom-Sim-Token";
const INFO_FILE: &str = "sim.json";

/// How to reach a running simulated estate, written to `state_dir/sim.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlInfo {
    /// `http://127.0.0.1:PORT`
    pub control: String,
    pub token: String,
    pub pid: u32,
}

/// A fresh random token (128 bits from the kernel).
pub fn new_token() -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Serve the control API on 127.0.0.1 (a port the OS chooses) until the returned task ends.
pub async fn serve(
    handle: SimHandle,
    token: String,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let (handle, token) = (handle.clone(), token.clone());
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |req| route(handle.clone(), token.clone(), req));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok((addr, task))
}

#[derive(Deserialize)]
struct FaultRequest {
    mode: String,
    latency: Option<String>,
    fraction: Option<f64>,
    period: Option<String>,
}

async fn route(
    handle: SimHandle,
    token: String,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let authorised = req.headers().get(TOKEN_HEADER).and_then(|v| v.to_str().ok()) == Some(token.as_str());
    if !authorised {
        return Ok(json(
            StatusCode::UNAUTHORIZED,
            &serde_json::json!({"error": format!("missing or wrong {TOKEN_HEADER} (see sim.json in the demo's state directory)")}),
        ));
    }
    let path = req.uri().path().to_owned();
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (req.method(), parts.as_slice()) {
        (&Method::GET, ["systems"]) => Ok(json(StatusCode::OK, &handle.list())),
        (&Method::POST, ["systems", name, "fault"]) => {
            let name = (*name).to_owned();
            let body = match req.into_body().collect().await {
                Ok(b) => b.to_bytes(),
                Err(e) => {
                    return Ok(json(StatusCode::BAD_REQUEST, &serde_json::json!({"error": e.to_string()})));
                }
            };
            let fault = parse_body(&body);
            match fault.and_then(|f| handle.set_fault(&name, f)) {
                Ok(state) => Ok(json(
                    StatusCode::OK,
                    &serde_json::json!({"name": name, "fault": state, "description": state.to_string()}),
                )),
                Err(e) if e.starts_with("there is no simulated system") => {
                    Ok(json(StatusCode::NOT_FOUND, &serde_json::json!({"error": e})))
                }
                Err(e) => Ok(json(StatusCode::BAD_REQUEST, &serde_json::json!({"error": e}))),
            }
        }
        (&Method::POST, ["systems", name, action @ ("promote" | "demote")]) => {
            let result = if *action == "promote" { handle.promote(name) } else { handle.demote(name) };
            match result {
                Ok(()) => Ok(json(
                    StatusCode::OK,
                    &serde_json::json!({"name": name, "active": if *action == "promote" { "standby" } else { "primary" }}),
                )),
                Err(e) => Ok(json(StatusCode::NOT_FOUND, &serde_json::json!({"error": e}))),
            }
        }
        _ => Ok(json(
            StatusCode::NOT_FOUND,
            &serde_json::json!({"error": "the control API has GET /systems, POST /systems/{name}/fault, /promote and /demote"}),
        )),
    }
}

fn parse_body(body: &[u8]) -> Result<Fault, String> {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.starts_with('{') {
        let r: FaultRequest =
            serde_json::from_str(text).map_err(|e| format!("the body is not a fault: {e}"))?;
        let arg = r.latency.or(r.period).or(r.fraction.map(|f| f.to_string()));
        return Fault::parse(&r.mode, arg.as_deref());
    }
    let mut words = text.split_whitespace();
    let mode = words.next().ok_or_else(|| format!("the body is empty: send one of {}", Fault::MODES))?;
    Fault::parse(mode, words.next())
}

fn json<T: Serialize>(status: StatusCode, value: &T) -> Response<Full<Bytes>> {
    let body = serde_json::to_vec(value).unwrap_or_default();
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("application/json"));
    r
}

/// Write `info` to `dir/sim.json`, readable by the owner only.
pub fn write_info(dir: &Path, info: &ControlInfo) -> std::io::Result<PathBuf> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::create_dir_all(dir)?;
    let path = dir.join(INFO_FILE);
    let tmp = dir.join(format!(".{INFO_FILE}.tmp"));
    let mut f = std::fs::OpenOptions::new().create(true).write(true).truncate(true).mode(0o600).open(&tmp)?;
    f.write_all(&serde_json::to_vec_pretty(info).unwrap_or_default())?;
    f.sync_all()?;
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

/// Remove `dir/sim.json` if it is ours.
pub fn remove_info(dir: &Path) {
    let path = dir.join(INFO_FILE);
    if read_info(dir).is_ok_and(|i| i.pid == std::process::id()) {
        let _ = std::fs::remove_file(path);
    }
}

/// Find the running estate of `dir`.
pub fn read_info(dir: &Path) -> Result<ControlInfo, String> {
    let path = dir.join(INFO_FILE);
    let text = std::fs::read_to_string(&path).map_err(|_| {
        format!(
            "no simulated estate is running here ({} does not exist); start one with `warroom demo`",
            path.display()
        )
    })?;
    let info: ControlInfo =
        serde_json::from_str(&text).map_err(|e| format!("{} is damaged: {e}", path.display()))?;
    if !Path::new(&format!("/proc/{}", info.pid)).exists() {
        return Err(format!(
            "the simulated estate recorded in {} (pid {}) is no longer running; start it with `warroom demo`",
            path.display(),
            info.pid
        ));
    }
    Ok(info)
}

/// A client for another process's control API.
pub struct ControlClient {
    info: ControlInfo,
    client: reqwest::Client,
}

impl ControlClient {
    pub fn new(info: ControlInfo) -> Self {
        ControlClient { info, client: reqwest::Client::new() }
    }

    /// Switch a fault on; the answer describes the system's faults now (`slow 6000ms + erroring 0.2`).
    pub async fn set_fault(&self, system: &str, fault_text: &str) -> Result<String, String> {
        let url = format!("{}/systems/{system}/fault", self.info.control);
        let response = self
            .client
            .post(&url)
            .header(TOKEN_HEADER, &self.info.token)
            .body(fault_text.to_owned())
            .send()
            .await
            .map_err(|e| format!("cannot reach the simulated estate at {}: {e}", self.info.control))?;
        let status = response.status();
        let body: serde_json::Value = response.json().await.map_err(|e| format!("unreadable answer: {e}"))?;
        if !status.is_success() {
            return Err(body["error"].as_str().unwrap_or("the estate refused").to_owned());
        }
        body["description"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| "unreadable answer from the estate".to_owned())
    }

    pub async fn list(&self) -> Result<Vec<serde_json::Value>, String> {
        let url = format!("{}/systems", self.info.control);
        let response = self
            .client
            .get(&url)
            .header(TOKEN_HEADER, &self.info.token)
            .send()
            .await
            .map_err(|e| format!("cannot reach the simulated estate at {}: {e}", self.info.control))?;
        response.json().await.map_err(|e| format!("unreadable answer: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SimEstate;

    #[tokio::test]
    async fn faults_flip_over_the_control_api_with_the_token_only() {
        let sim = SimEstate::start_independent(["api".to_owned(), "db".to_owned()]).await.unwrap();
        let token = new_token().unwrap();
        let (addr, _task) = serve(sim.handle(), token.clone()).await.unwrap();
        let info = ControlInfo { control: format!("http://{addr}"), token, pid: std::process::id() };
        let client = ControlClient::new(info.clone());
        assert_eq!(client.set_fault("api", "slow 6000ms").await.as_deref(), Ok("slow 6000ms"));
        assert_eq!(
            client.set_fault("api", "erroring 0.2").await.as_deref(),
            Ok("slow 6000ms + erroring 0.2")
        );
        assert_eq!(
            sim.handle().fault("api").map(|f| f.to_string()).as_deref(),
            Ok("slow 6000ms + erroring 0.2")
        );
        assert!(client.set_fault("apj", "down").await.unwrap_err().contains("did you mean \"api\""));
        assert!(client.set_fault("api", "melting").await.unwrap_err().contains("there is no fault"));
        let listed = client.list().await.unwrap();
        assert_eq!(listed.len(), 2);

        let stranger = ControlClient::new(ControlInfo { token: "wrong".into(), ..info.clone() });
        assert!(stranger.set_fault("api", "down").await.unwrap_err().contains("X-Warroom-Sim-Token"));

        let dir = tempfile::tempdir().unwrap();
        write_info(dir.path(), &info).unwrap();
        assert_eq!(read_info(dir.path()), Ok(info));
    }
}
