//! The channels: how one outbox row's bytes reach their server, and what its answer means.
//!
//! Every answer is one of three: accepted (with the provider's id where there is one), try
//! again (with how long the server asked us to wait), or refused for good. Whatever a server
//! says is untrusted: only its status, a bounded piece of its body and a well-formed id are
//! kept.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use lettre::AsyncTransport;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};

use super::{Composition, Recipient, Rendered};
use crate::config::notify::{
    AccountSid, EmailChannel, HttpSms, Notify, SmsChannel, Tls, Webhook, WebhookKind,
};
use crate::model::comms::{Channel, DeliveryState, OutboxRow};

/// What a server said to one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Accepted { state: DeliveryState, provider_id: Option<String> },
    Retry { error: String, after: Option<Duration> },
    Permanent { error: String },
}

/// The domain of `from` (`warroom <ops@example.com>` → `example.com`), for Message-IDs.
fn domain_of(from: &str) -> String {
    let bare = from.rsplit('<').next().unwrap_or(from).trim_end_matches('>');
    bare.rsplit_once('@').map(|(_, d)| d.trim().to_owned()).unwrap_or_else(|| "warroom.invalid".to_owned())
}

/// The deterministic Message-ID of `notice` to `recipient`.
pub fn message_id(notice: &str, recipient: &str, from: &str) -> String {
    format!("<{notice}.{recipient}@{}>", domain_of(from))
}

/// The RFC 5322 bytes of an email notice: multipart/alternative (plain first, then HTML), a
/// deterministic Message-ID, threaded to the incident's first notice, marked automatic.
pub fn email_bytes(
    email: &EmailChannel,
    c: &Composition,
    r: &Recipient,
    address: &str,
    rendered: &Rendered,
    first_notice: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Vec<u8>, String> {
    let parse = |what: &str, s: &str| {
        s.parse::<Mailbox>().map_err(|e| format!("{what} \"{s}\" is not an address: {e}"))
    };
    let from = parse("from", &email.from)?;
    let to = parse("the address of", address)?;
    let mut builder = lettre::Message::builder()
        .from(from)
        .to(to)
        .subject(rendered.subject.clone().unwrap_or_default())
        .date(std::time::SystemTime::from(now))
        .message_id(Some(message_id(&c.notice, &r.name, &email.from)));
    if let Some(reply) = &email.reply_to {
        builder = builder.reply_to(parse("reply_to", reply)?);
    }
    if let Some(first) = first_notice.filter(|f| *f != c.notice) {
        let id = message_id(first, &r.name, &email.from);
        builder = builder.in_reply_to(id.clone()).references(id);
    }
    builder = builder.raw_header(HeaderValue::new(
        HeaderName::new_from_ascii_str("Auto-Submitted"),
        "auto-generated".into(),
    ));
    if r.audience == crate::model::comms::Audience::External {
        let to = email.reply_to.as_deref().unwrap_or(&email.from);
        let bare = to.rsplit('<').next().unwrap_or(to).trim_end_matches('>').trim();
        builder = builder.raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe"),
            format!("<mailto:{bare}?subject=unsubscribe%20{}>", c.incident),
        ));
    }
    let body = MultiPart::alternative()
        .singlepart(SinglePart::plain(rendered.text.clone()))
        .singlepart(SinglePart::html(rendered.html.clone().unwrap_or_default()));
    let message = builder.multipart(body).map_err(|e| format!("cannot build the email to {address}: {e}"))?;
    Ok(message.formatted())
}

/// The channels' clients, made once per deliverer: the SMTP pool, the HTTP client.
pub struct Senders {
    smtp: Option<lettre::AsyncSmtpTransport<lettre::Tokio1Executor>>,
    smtp_error: Option<String>,
    http: reqwest::Client,
    notify: Arc<Notify>,
}

impl Senders {
    pub fn new(notify: Arc<Notify>) -> Senders {
        let (smtp, smtp_error) = match notify.email.as_ref().map(smtp_transport) {
            Some(Ok(t)) => (Some(t), None),
            Some(Err(e)) => (None, Some(e)),
            None => (None, None),
        };
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Senders { smtp, smtp_error, http, notify }
    }

    /// Hand `row` to its server. A server that takes the connection and never answers is given
    /// up on after its channel's timeout (twice, for the slowest honest server): the row is
    /// tried again later, and the deliverer goes on with the others.
    pub async fn send(&self, row: &OutboxRow) -> Answer {
        let limit = self.limit(row.channel);
        match tokio::time::timeout(limit, self.send_now(row)).await {
            Ok(answer) => answer,
            Err(_) => Answer::Retry { error: format!("no answer within {}s", limit.as_secs()), after: None },
        }
    }

    fn limit(&self, channel: Channel) -> Duration {
        let n = &self.notify;
        let t = match channel {
            Channel::Email => n.email.as_ref().map(|e| e.timeout),
            Channel::Sms => match &n.sms {
                Some(SmsChannel::Twilio { timeout, .. }) => Some(*timeout),
                Some(SmsChannel::Http(h)) => Some(h.timeout),
                None => None,
            },
            Channel::Chat => n.webhooks.iter().map(|w| w.timeout).max(),
            Channel::File => None,
        };
        t.unwrap_or(Duration::from_secs(30)).saturating_mul(2)
    }

    async fn send_now(&self, row: &OutboxRow) -> Answer {
        match row.channel {
            Channel::Email => self.send_email(row).await,
            Channel::Sms => match &self.notify.sms {
                Some(SmsChannel::Twilio {
                    base_url,
                    account_sid,
                    auth_token,
                    from,
                    messaging_service_sid,
                    timeout,
                }) => {
                    self.send_twilio(
                        row,
                        base_url,
                        account_sid,
                        auth_token,
                        from.as_deref(),
                        messaging_service_sid.as_deref(),
                        *timeout,
                    )
                    .await
                }
                Some(SmsChannel::Http(http)) => self.send_http_sms(row, http).await,
                None => Answer::Retry {
                    error: "no [notify.sms] is configured now".into(),
                    after: Some(Duration::from_secs(300)),
                },
            },
            Channel::Chat => match self.notify.webhooks.iter().find(|w| w.name == row.recipient) {
                Some(hook) => self.send_webhook(row, hook).await,
                None => Answer::Permanent {
                    error: format!("the webhook \"{}\" is no longer configured", row.recipient),
                },
            },
            Channel::File => append_file(row).await,
        }
    }

    async fn send_email(&self, row: &OutboxRow) -> Answer {
        let Some(smtp) = &self.smtp else {
            let why = self.smtp_error.clone().unwrap_or_else(|| "no [notify.email] is configured now".into());
            return Answer::Retry { error: why, after: Some(Duration::from_secs(300)) };
        };
        let Some(email) = &self.notify.email else {
            return Answer::Retry { error: "no [notify.email] is configured now".into(), after: None };
        };
        let envelope = match (address(&email.from), address(&row.address)) {
            (Ok(from), Ok(to)) => lettre::address::Envelope::new(Some(from), vec![to]),
            (Err(e), _) | (_, Err(e)) => return Answer::Permanent { error: e },
        };
        let envelope = match envelope {
            Ok(e) => e,
            Err(e) => return Answer::Permanent { error: format!("no envelope: {e}") },
        };
        match smtp.send_raw(&envelope, &row.body).await {
            Ok(response) => {
                // "250 2.0.0 Ok: queued as 4F1A2" — the relay's queue id, when it gives one.
                let id = response
                    .message()
                    .find_map(|l| l.split_once("queued as ").map(|(_, id)| id))
                    .and_then(clean_id);
                Answer::Accepted { state: DeliveryState::Sent, provider_id: id }
            }
            Err(e) if e.is_permanent() => {
                Answer::Permanent { error: format!("the SMTP server refused it: {e}") }
            }
            Err(e) => Answer::Retry { error: format!("SMTP: {e}"), after: None },
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn send_twilio(
        &self,
        row: &OutboxRow,
        base_url: &str,
        account_sid: &AccountSid,
        auth_token: &crate::config::secrets::SecretSource,
        from: Option<&str>,
        messaging_service_sid: Option<&str>,
        timeout: Duration,
    ) -> Answer {
        let sid = match account_sid {
            AccountSid::Plain(s) => s.clone(),
            AccountSid::Secret(src) => match src.resolve() {
                Ok(s) => s.expose().to_owned(),
                Err(e) => {
                    return Answer::Retry { error: e.to_string(), after: Some(Duration::from_secs(60)) };
                }
            },
        };
        let token = match auth_token.resolve() {
            Ok(t) => t,
            Err(e) => return Answer::Retry { error: e.to_string(), after: Some(Duration::from_secs(60)) },
        };
        let text = String::from_utf8_lossy(&row.body).into_owned();
        let mut form: Vec<(&str, String)> = vec![("To", row.address.clone()), ("Body", text)];
        match (messaging_service_sid, from) {
            (Some(m), _) => form.push(("MessagingServiceSid", m.to_owned())),
            (None, Some(f)) => form.push(("From", f.to_owned())),
            (None, None) => {}
        }
        let url = format!("{base_url}/2010-04-01/Accounts/{sid}/Messages.json");
        let sent = self
            .http
            .post(&url)
            .basic_auth(&sid, Some(token.expose()))
            .header("Idempotency-Key", &row.key)
            .form(&form)
            .timeout(timeout)
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => {
                return Answer::Retry {
                    error: format!("the SMS provider did not answer: {}", without_url(&e)),
                    after: None,
                };
            }
        };
        let status = response.status().as_u16();
        let after = retry_after(response.headers());
        let body = bounded_text(response).await;
        let json: serde_json::Value = serde_json::from_str(&body).unwrap_or(serde_json::Value::Null);
        let code = json
            .get("code")
            .and_then(|c| c.as_u64())
            .or_else(|| json.get("error_code").and_then(|c| c.as_u64()));
        let message = json
            .get("message")
            .and_then(|m| m.as_str())
            .map(|m| clip(m, 200))
            .unwrap_or_else(|| clip(&body, 200));
        match status {
            200..=299 if code.is_none() => {
                let id = json.get("sid").and_then(|s| s.as_str()).and_then(clean_id);
                if id.is_none() {
                    return Answer::Retry {
                        error: format!("the provider answered {status} without a message sid"),
                        after: None,
                    };
                }
                Answer::Accepted { state: DeliveryState::DeliveredToProvider, provider_id: id }
            }
            429 => Answer::Retry {
                error: format!(
                    "rate limited (429{}): {message}",
                    code.map(|c| format!(", code {c}")).unwrap_or_default()
                ),
                after,
            },
            _ if matches!(code, Some(20429)) => {
                Answer::Retry { error: format!("rate limited (code 20429): {message}"), after }
            }
            _ if matches!(code, Some(21211 | 21610 | 21612 | 21614 | 21408 | 21606)) => Answer::Permanent {
                error: format!("refused ({status}, code {}): {message}", code.unwrap_or_default()),
            },
            400..=499 if status != 408 => Answer::Permanent {
                error: format!(
                    "refused ({status}{}): {message}",
                    code.map(|c| format!(", code {c}")).unwrap_or_default()
                ),
            },
            _ => Answer::Retry { error: format!("the provider answered {status}: {message}"), after },
        }
    }

    async fn send_http_sms(&self, row: &OutboxRow, http: &HttpSms) -> Answer {
        let secret = match &http.secret {
            Some(src) => match src.resolve() {
                Ok(s) => s.expose().to_owned(),
                Err(e) => {
                    return Answer::Retry { error: e.to_string(), after: Some(Duration::from_secs(60)) };
                }
            },
            None => String::new(),
        };
        let text = String::from_utf8_lossy(&row.body).into_owned();
        let mut env = minijinja::Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        let ctx = minijinja::context! { to => row.address, text => text, secret => secret };
        let render = |t: &str| {
            env.render_str(t, &ctx).map_err(|e| format!("the request template does not render: {e}"))
        };
        let url = match render(&http.url) {
            Ok(u) => u,
            Err(e) => return Answer::Permanent { error: e },
        };
        let method = reqwest::Method::from_bytes(http.method.as_bytes()).unwrap_or(reqwest::Method::POST);
        let mut request = self.http.request(method, &url).timeout(http.timeout);
        if let Some(form) = &http.form {
            let mut fields = Vec::new();
            for (k, v) in form {
                match render(v) {
                    Ok(v) => fields.push((k.clone(), v)),
                    Err(e) => return Answer::Permanent { error: e },
                }
            }
            request = request.form(&fields);
        }
        if let Some(json) = &http.json {
            // Each value is inserted as a JSON string: a text with quotes cannot break the body.
            let mut env = minijinja::Environment::new();
            env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
            let ctx = minijinja::context! {
                to => serde_json::to_string(&row.address).unwrap_or_default(),
                text => serde_json::to_string(&text).unwrap_or_default(),
                secret => serde_json::to_string(&secret).unwrap_or_default(),
            };
            match env.render_str(json, ctx) {
                Ok(body) => request = request.header("content-type", "application/json").body(body),
                Err(e) => {
                    return Answer::Permanent { error: format!("the JSON template does not render: {e}") };
                }
            }
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                return Answer::Retry {
                    error: format!("the SMS gateway did not answer: {}", without_url(&e)),
                    after: None,
                };
            }
        };
        let status = response.status().as_u16();
        let after = retry_after(response.headers());
        let body = bounded_text(response).await;
        let status_ok = if http.success_status.is_empty() {
            (200..300).contains(&status)
        } else {
            http.success_status.contains(&status)
        };
        let body_ok = http.success_body.as_ref().is_none_or(|want| body.contains(want.as_str()));
        if status_ok && body_ok {
            return Answer::Accepted { state: DeliveryState::DeliveredToProvider, provider_id: None };
        }
        let said = clip(&body, 200);
        if http.permanent_status.contains(&status) {
            Answer::Permanent { error: format!("the gateway refused it ({status}): {said}") }
        } else if status_ok {
            Answer::Retry {
                error: format!("the gateway answered {status} without the success text: {said}"),
                after,
            }
        } else {
            Answer::Retry { error: format!("the gateway answered {status}: {said}"), after }
        }
    }

    async fn send_webhook(&self, row: &OutboxRow, hook: &Webhook) -> Answer {
        let url = match hook.url.resolve() {
            Ok(u) => u,
            Err(e) => return Answer::Retry { error: e.to_string(), after: Some(Duration::from_secs(60)) },
        };
        let text = String::from_utf8_lossy(&row.body).into_owned();
        let body = match hook.kind {
            WebhookKind::Slack => serde_json::json!({
                "text": text,
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
            }),
            WebhookKind::Teams => serde_json::json!({
                "type": "message",
                "attachments": [{
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "content": {
                        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                        "type": "AdaptiveCard",
                        "version": "1.4",
                        "body": [{"type": "TextBlock", "text": text, "wrap": true}],
                    },
                }],
            }),
            WebhookKind::Json => serde_json::json!({
                "incident": row.incident, "notice": row.notice, "stage": row.meta.get("stage"),
                "audience": row.meta.get("audience"), "text": text, "idempotency_key": row.key,
            }),
        };
        let sent = self.http.post(url.expose()).json(&body).timeout(hook.timeout).send().await;
        let response = match sent {
            Ok(r) => r,
            // The URL is a secret: never in a message.
            Err(e) => {
                return Answer::Retry {
                    error: format!("the webhook did not answer: {}", without_url(&e)),
                    after: None,
                };
            }
        };
        let status = response.status().as_u16();
        let after = retry_after(response.headers());
        let said = clip(&bounded_text(response).await, 200);
        match status {
            200..=299 => Answer::Accepted { state: DeliveryState::Sent, provider_id: None },
            429 => Answer::Retry { error: format!("rate limited (429): {said}"), after },
            400..=499 if status != 408 => {
                Answer::Permanent { error: format!("the webhook refused it ({status}): {said}") }
            }
            _ => Answer::Retry { error: format!("the webhook answered {status}: {said}"), after },
        }
    }
}

fn address(s: &str) -> Result<lettre::Address, String> {
    let bare = s.rsplit('<').next().unwrap_or(s).trim_end_matches('>').trim();
    bare.parse().map_err(|e| format!("\"{s}\" is not an address: {e}"))
}

fn smtp_transport(
    email: &EmailChannel,
) -> Result<lettre::AsyncSmtpTransport<lettre::Tokio1Executor>, String> {
    use lettre::transport::smtp::PoolConfig;
    use lettre::transport::smtp::authentication::Credentials;
    use lettre::transport::smtp::client::{Tls as LTls, TlsParameters};
    type T = lettre::AsyncSmtpTransport<lettre::Tokio1Executor>;
    let params =
        || TlsParameters::new(email.host.clone()).map_err(|e| format!("TLS for {}: {e}", email.host));
    let tls = match email.tls {
        Tls::None => LTls::None,
        Tls::StartTls => LTls::Required(params()?),
        Tls::Implicit => LTls::Wrapper(params()?),
    };
    let mut builder = T::builder_dangerous(email.host.clone())
        .port(email.port)
        .tls(tls)
        .timeout(Some(email.timeout))
        .pool_config(PoolConfig::new().max_size(email.pool).idle_timeout(Duration::from_secs(60)));
    if let (Some(user), Some(pass)) = (&email.username, &email.password) {
        let user = user.resolve().map_err(|e| format!("SMTP username: {e}"))?;
        let pass = pass.resolve().map_err(|e| format!("SMTP password: {e}"))?;
        builder = builder.credentials(Credentials::new(user.expose().to_owned(), pass.expose().to_owned()));
    }
    Ok(builder.build())
}

/// Append the row to its file: one write of the whole message, then fsync.
async fn append_file(row: &OutboxRow) -> Answer {
    let path = std::path::PathBuf::from(&row.address);
    let body = row.body.clone();
    let done = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut f = std::fs::OpenOptions::new().append(true).create(true).mode(0o640).open(&path)?;
        f.write_all(&body)?;
        f.sync_data()
    })
    .await;
    match done {
        Ok(Ok(())) => Answer::Accepted { state: DeliveryState::Sent, provider_id: None },
        Ok(Err(e)) => Answer::Retry { error: format!("cannot append to {}: {e}", row.address), after: None },
        Err(e) => Answer::Retry { error: format!("the file writer stopped: {e}"), after: None },
    }
}

/// `Retry-After` in seconds (an HTTP date is read as a minute).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    Some(match v.trim().parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => Duration::from_secs(60),
    })
}

/// At most 64 KiB of a response body: a hostile server cannot fill our memory.
async fn bounded_text(mut response: reqwest::Response) -> String {
    let mut out = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        out.extend_from_slice(&chunk[..chunk.len().min(65536 - out.len().min(65536))]);
        if out.len() >= 65536 {
            break;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A provider's id, kept only if it looks like one (letters, digits, `-_.`, at most 64).
fn clean_id(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()
        && s.len() <= 64
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    .then(|| s.to_owned())
}

/// One line of at most `n` characters, control characters out.
fn clip(s: &str, n: usize) -> String {
    let line: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > n { format!("{}…", line.chars().take(n).collect::<String>()) } else { line }
}

/// A request error without its URL (a webhook's URL is its secret).
fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    let source = std::error::Error::source(e).map(|s| s.to_string()).unwrap_or_default();
    let source = source.split(" for url").next().unwrap_or_default().to_owned();
    if source.is_empty() { kind.to_owned() } else { format!("{kind}: {}", clip(&source, 160)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_are_deterministic_per_notice_and_recipient() {
        assert_eq!(
            message_id("INC-1-initial-1", "alice", "warroom <ops@example.com>"),
            "<INC-1-initial-1.alice@example.com>"
        );
        assert_eq!(
            message_id("INC-1-initial-1", "alice", "ops@example.com"),
            "<INC-1-initial-1.alice@example.com>"
        );
    }

    #[tokio::test]
    async fn a_webhooks_url_never_reaches_a_message() {
        // A webhook's URL is its secret: an unreachable one is reported without it.
        let e = reqwest::Client::new()
            .post("http://127.0.0.1:1/services/T0/B0/SECRET-TOKEN")
            .send()
            .await
            .unwrap_err();
        let said = without_url(&e);
        assert!(!said.contains("SECRET-TOKEN") && !said.contains("/services/"), "{said}");
        assert!(said.starts_with("cannot connect"), "{said}");
    }

    #[test]
    fn what_a_server_says_is_bounded_and_cleaned() {
        assert_eq!(clean_id("SM0123abc"), Some("SM0123abc".into()));
        assert_eq!(clean_id("x\n<script>"), None);
        assert_eq!(clean_id(&"a".repeat(65)), None);
        assert_eq!(clip("a\x1b[2Jb\nc", 10), "a [2Jb c");
        assert!(clip(&"x".repeat(300), 200).ends_with('…'));
    }
}
