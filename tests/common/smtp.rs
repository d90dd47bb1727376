//! A real SMTP server on loopback (mailin-embedded: its own SMTP implementation, not ours) that
//! keeps what it accepts, and answers 451 to the next N recipients on demand (as a greylisting server does).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{IpAddr, SocketAddr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use mailin_embedded::{Handler, Response, Server, response};

/// One message as it arrived.
#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

impl Mail {
    /// A header's value (the first one), unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next()?;
        let mut out: Option<String> = None;
        for line in head.split("\r\n") {
            if let Some(v) = out.as_mut().filter(|_| line.starts_with([' ', '\t'])) {
                v.push(' ');
                v.push_str(line.trim());
                continue;
            }
            if out.is_some() {
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case(name)
            {
                out = Some(v.trim().to_owned());
            }
        }
        out
    }
}

#[derive(Clone)]
struct Keeper {
    kept: Arc<Mutex<Vec<Mail>>>,
    fail_next: Arc<AtomicUsize>,
    refuse_to: Arc<Mutex<Vec<String>>>,
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Keeper {
    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.from = from.to_owned();
        self.to = to.to_vec();
        self.data.clear();
        response::OK
    }

    fn rcpt(&mut self, to: &str) -> Response {
        if self.refuse_to.lock().unwrap().iter().any(|r| to.contains(r.as_str())) {
            return response::NO_MAILBOX;
        }
        // Greylisting: "try again later" for the next N recipients.
        let failing = self.fail_next.load(Ordering::SeqCst);
        if failing > 0 {
            self.fail_next.store(failing - 1, Ordering::SeqCst);
            return response::INTERNAL_ERROR;
        }
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        self.kept.lock().unwrap().push(Mail {
            from: self.from.clone(),
            to: self.to.clone(),
            data: String::from_utf8_lossy(&self.data).into_owned(),
        });
        response::OK
    }
}

pub struct SmtpServer {
    pub port: u16,
    kept: Arc<Mutex<Vec<Mail>>>,
    fail_next: Arc<AtomicUsize>,
    refuse_to: Arc<Mutex<Vec<String>>>,
}

impl SmtpServer {
    /// On a free port.
    pub fn start() -> SmtpServer {
        Self::start_on(TcpListener::bind("127.0.0.1:0").unwrap())
    }

    /// On `port` (a test that stops the server chooses the port first).
    pub fn start_at(port: u16) -> SmtpServer {
        let addr = SocketAddr::new(IpAddr::from([127, 0, 0, 1]), port);
        Self::start_on(TcpListener::bind(addr).unwrap())
    }

    fn start_on(listener: TcpListener) -> SmtpServer {
        let port = listener.local_addr().unwrap().port();
        let kept = Arc::new(Mutex::new(Vec::new()));
        let fail_next = Arc::new(AtomicUsize::new(0));
        let refuse_to = Arc::new(Mutex::new(Vec::new()));
        let handler = Keeper {
            kept: kept.clone(),
            fail_next: fail_next.clone(),
            refuse_to: refuse_to.clone(),
            from: String::new(),
            to: Vec::new(),
            data: Vec::new(),
        };
        let mut server = Server::new(handler);
        server.with_name("sink.test").with_num_threads(8).with_tcp_listener(listener);
        std::thread::spawn(move || {
            let _ = server.serve();
        });
        SmtpServer { port, kept, fail_next, refuse_to }
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.kept.lock().unwrap().clone()
    }

    /// Answer 451 to the next `n` recipients.
    pub fn fail_next(&self, n: usize) {
        self.fail_next.store(n, Ordering::SeqCst);
    }

    /// Refuse (550) recipients whose address contains `part`.
    pub fn refuse(&self, part: &str) {
        self.refuse_to.lock().unwrap().push(part.to_owned());
    }
}

/// A port nothing listens on (yet).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}
