//! The demo's own message servers on loopback: an SMTP server and an SMS gateway in Twilio's
//! shape, real servers that accept what they are sent and keep it in the demo's state folder
//! (`mail/*.eml`, `sms.log`), so a demo's notices really go somewhere, with no setup.
//!
//! Both take what they are sent as untrusted: lines and messages are bounded, and what they
//! write stays in their own folder.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::{Request, Response, StatusCode};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// The longest command line and message the sinks take.
const MAX_LINE: usize = 4096;
const MAX_MESSAGE: usize = 10 * 1024 * 1024;

/// Serve SMTP on a loopback port; each message is kept as `dir/mail/NNNNNN.eml`.
pub async fn smtp(dir: &Path) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let mail = dir.join("mail");
    std::fs::create_dir_all(&mail)?;
    let serial = Arc::new(AtomicU64::new(count(&mail)));
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let (mail, serial) = (mail.clone(), serial.clone());
            tokio::spawn(async move {
                if let Err(e) = session(stream, &mail, &serial).await {
                    tracing::debug!(error = %e, "demo SMTP session ended");
                }
            });
        }
    });
    Ok((addr, task))
}

fn count(dir: &Path) -> u64 {
    std::fs::read_dir(dir).map(|d| d.count() as u64).unwrap_or(0)
}

async fn session(stream: tokio::net::TcpStream, dir: &Path, serial: &AtomicU64) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    write.write_all(b"220 warroom-demo ESMTP sink\r\n").await?;
    let mut line = Vec::new();
    loop {
        line.clear();
        if read_line(&mut read, &mut line).await? == 0 {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line);
        let verb = text.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-warroom-demo\r\n250-8BITMIME\r\n250 SIZE 10485760\r\n",
            "HELO" | "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 2.0.0 Ok\r\n",
            "QUIT" => {
                write.write_all(b"221 2.0.0 Bye\r\n").await?;
                return Ok(());
            }
            "DATA" => {
                write.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await?;
                let mut message = Vec::new();
                loop {
                    line.clear();
                    if read_line(&mut read, &mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == b".\r\n" || line == b".\n" {
                        break;
                    }
                    let body = line.strip_prefix(b".").unwrap_or(&line);
                    if message.len() + body.len() > MAX_MESSAGE {
                        write.write_all(b"552 5.3.4 Message too big\r\n").await?;
                        return Ok(());
                    }
                    message.extend_from_slice(body);
                }
                let n = serial.fetch_add(1, Ordering::Relaxed) + 1;
                let path = dir.join(format!("{n:06}.eml"));
                let temp = dir.join(format!(".{n:06}.eml.tmp"));
                tokio::fs::write(&temp, &message).await?;
                tokio::fs::rename(&temp, &path).await?;
                write.write_all(format!("250 2.0.0 Ok: queued as demo{n}\r\n").as_bytes()).await?;
                continue;
            }
            _ => b"502 5.5.2 Command not recognised\r\n",
        };
        write.write_all(reply).await?;
    }
}

/// One line, at most [`MAX_LINE`] bytes (a longer one is cut there and ends the session).
async fn read_line<R: tokio::io::AsyncBufRead + Unpin>(
    r: &mut R,
    out: &mut Vec<u8>,
) -> std::io::Result<usize> {
    let mut limited = r.take(MAX_LINE as u64 + 2);
    let n = limited.read_until(b'\n', out).await?;
    if n > MAX_LINE {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "a line over 4 KiB"));
    }
    Ok(n)
}

/// Serve a Twilio-shaped SMS API on a loopback port; each message is a line of `dir/sms.log`.
pub async fn sms(dir: &Path) -> std::io::Result<(String, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let log = dir.join("sms.log");
    let serial = Arc::new(AtomicU64::new(0));
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let (log, serial) = (log.clone(), serial.clone());
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let (log, serial) = (log.clone(), serial.clone());
                    async move { Ok::<_, std::convert::Infallible>(message(req, &log, &serial).await) }
                });
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
            });
        }
    });
    Ok((format!("http://{addr}"), task))
}

async fn message(
    req: Request<hyper::body::Incoming>,
    log: &PathBuf,
    serial: &AtomicU64,
) -> Response<Full<Bytes>> {
    let reply = |status: StatusCode, body: String| {
        Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .unwrap_or_default()
    };
    let path = req.uri().path().to_owned();
    if req.method() != hyper::Method::POST
        || !(path.starts_with("/2010-04-01/Accounts/") && path.ends_with("/Messages.json"))
    {
        return reply(StatusCode::NOT_FOUND, r#"{"code":20404,"message":"not found","status":404}"#.into());
    }
    let Ok(body) = Limited::new(req.into_body(), 64 * 1024).collect().await.map(|b| b.to_bytes()) else {
        return reply(
            StatusCode::PAYLOAD_TOO_LARGE,
            r#"{"code":21617,"message":"too large","status":413}"#.into(),
        );
    };
    let form: Vec<(String, String)> = form_urlencoded(&String::from_utf8_lossy(&body));
    let field = |k: &str| form.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let to = field("To");
    if crate::model::comms::check_e164(&to).is_err() {
        return reply(
            StatusCode::BAD_REQUEST,
            format!(
                r#"{{"code":21211,"message":"The 'To' number {} is not a valid phone number.","status":400}}"#,
                to.escape_default()
            ),
        );
    }
    let n = serial.fetch_add(1, Ordering::Relaxed) + 1;
    let sid = format!("SMdemo{n:06}");
    let line = format!(
        "{} {sid} to {to}: {}\n",
        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ"),
        field("Body").replace(['\n', '\r'], " ")
    );
    let written = async {
        let mut f = tokio::fs::OpenOptions::new().append(true).create(true).open(log).await?;
        f.write_all(line.as_bytes()).await
    };
    if written.await.is_err() {
        return reply(
            StatusCode::SERVICE_UNAVAILABLE,
            r#"{"code":20503,"message":"cannot keep it","status":503}"#.into(),
        );
    }
    reply(
        StatusCode::CREATED,
        format!(r#"{{"sid":"{sid}","status":"queued","num_segments":"1","error_code":null}}"#),
    )
}

/// `a=1&b=x%20y` → pairs, `+` as a space.
fn form_urlencoded(s: &str) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    match u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16) {
                        Ok(b) => {
                            out.push(b);
                            i += 2;
                        }
                        Err(_) => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    s.split('&').filter_map(|p| p.split_once('=')).map(|(k, v)| (decode(k), decode(v))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode() {
        assert_eq!(
            form_urlencoded("To=%2B4915112345678&Body=a+b%21"),
            vec![("To".into(), "+4915112345678".into()), ("Body".into(), "a b!".into())]
        );
    }
}
