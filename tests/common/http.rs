//! A loopback HTTP server that records every request and answers what the test says: an SMS
//! gateway in Twilio's shape, a Slack or Teams webhook, a server that is rate limited.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use http_body_util::BodyExt;

#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub at: std::time::Instant,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// A form field of an urlencoded body.
    pub fn form(&self, key: &str) -> Option<String> {
        url_decode_pairs(&self.body).into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

pub fn url_decode_pairs(s: &str) -> Vec<(String, String)> {
    s.split('&').filter_map(|p| p.split_once('=')).map(|(k, v)| (decode(k), decode(v))).collect()
}

fn decode(s: &str) -> String {
    let bytes = s.replace('+', " ").into_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let hex = (bytes[i] == b'%' && i + 2 < bytes.len())
            .then(|| {
                std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok())
            })
            .flatten();
        match hex {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What the server answers: status, headers, body.
pub type Reply = (u16, Vec<(&'static str, String)>, String);

type Responder = Arc<dyn Fn(&Request) -> Reply + Send + Sync>;

pub struct HttpServer {
    pub port: u16,
    seen: Arc<Mutex<Vec<Request>>>,
    /// Replies queued ahead of the responder (first in, first out).
    queued: Arc<Mutex<VecDeque<Reply>>>,
}

impl HttpServer {
    pub async fn start(responder: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> HttpServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let queued: Arc<Mutex<VecDeque<Reply>>> = Arc::new(Mutex::new(VecDeque::new()));
        let responder: Responder = Arc::new(responder);
        let (s, q) = (seen.clone(), queued.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let (s, q, responder) = (s.clone(), q.clone(), responder.clone());
                tokio::spawn(async move {
                    let service =
                        hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                            let (s, q, responder) = (s.clone(), q.clone(), responder.clone());
                            async move {
                                let method = req.method().to_string();
                                let path = req.uri().path().to_owned();
                                let query = req.uri().query().unwrap_or_default().to_owned();
                                let headers = req
                                    .headers()
                                    .iter()
                                    .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_owned()))
                                    .collect();
                                let body =
                                    req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                                let request = Request {
                                    method,
                                    path,
                                    query,
                                    headers,
                                    body: String::from_utf8_lossy(&body).into_owned(),
                                    at: std::time::Instant::now(),
                                };
                                let reply =
                                    q.lock().unwrap().pop_front().unwrap_or_else(|| responder(&request));
                                s.lock().unwrap().push(request);
                                let mut response = hyper::Response::builder().status(reply.0);
                                for (k, v) in reply.1 {
                                    response = response.header(k, v);
                                }
                                Ok::<_, std::convert::Infallible>(
                                    response
                                        .body(http_body_util::Full::new(bytes::Bytes::from(reply.2)))
                                        .unwrap(),
                                )
                            }
                        });
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
                });
            }
        });
        HttpServer { port, seen, queued }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.seen.lock().unwrap().clone()
    }

    /// Answer the next request with `reply`, then go back to the responder.
    pub fn queue(&self, reply: Reply) {
        self.queued.lock().unwrap().push_back(reply);
    }
}
