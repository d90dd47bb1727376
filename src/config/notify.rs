//! `[[contacts]]`, `[notify]` (channels, cadence, stages, templates) and `[statuspage]`: who
//! hears about an incident, how, and when.
//!
//! ```toml
//! [[contacts]]
//! name = "alice"
//! email = "alice@example.com"
//! phone = "+4915112345678"          # E.164
//! lists = ["executive", "technical"]
//! channels = ["sms", "email"]        # in order of preference
//! quiet_hours = "22:00-07:00"        # sev1 and sev2 override them
//! time_zone = "Europe/Berlin"
//! role = "commander"
//!
//! [notify.email]
//! host = "smtp.example.com"
//! port = 587
//! tls = "starttls"                   # or "implicit", or "none" for a local relay
//! username_env = "SMTP_USER"
//! password_env = "SMTP_PASSWORD"
//! from = "warroom <warroom@example.com>"
//!
//! [notify.sms]
//! kind = "twilio"
//! account_sid = "AC..."
//! auth_token_env = "TWILIO_TOKEN"
//! from = "+15005550006"
//!
//! [notify.webhook.ops-room]
//! kind = "slack"                     # or "teams", or "json"
//! url_env = "SLACK_WEBHOOK_URL"
//! lists = ["technical", "operations"]
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::diagnostic::{Diagnostic, Report, did_you_mean};
use super::secrets::SecretSource;
use super::values::{HumanDuration, valid_name};
use crate::model::comms::{Audience, Cadence, Channel, QuietHours, STANDARD_LISTS, Stage, check_e164};
use crate::model::notice::{TemplateSource, Templates, override_names};

/// `[[contacts]]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactEntry {
    pub name: Spanned<String>,
    pub email: Option<Spanned<String>>,
    pub phone: Option<Spanned<String>>,
    /// A chat handle (`@alice`), mentioned in chat messages to the lists they are on.
    pub chat: Option<String>,
    #[serde(default)]
    pub lists: Vec<Spanned<String>>,
    #[serde(default)]
    pub channels: Vec<Spanned<String>>,
    pub quiet_hours: Option<Spanned<String>>,
    pub time_zone: Option<Spanned<String>>,
    pub role: Option<String>,
    /// When they last had continuity training (YYYY-MM-DD).
    pub trained: Option<Spanned<String>>,
}

/// A person warroom tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub chat: Option<String>,
    pub lists: Vec<String>,
    /// Email and SMS, in order of preference (the first configured one is tried first).
    pub channels: Vec<Channel>,
    pub quiet_hours: Option<QuietHours>,
    pub role: Option<String>,
    /// When they last had continuity training.
    pub trained: Option<chrono::NaiveDate>,
}

impl Contact {
    /// The address on `channel`, if the contact has one.
    pub fn address(&self, channel: Channel) -> Option<&str> {
        match channel {
            Channel::Email => self.email.as_deref(),
            Channel::Sms => self.phone.as_deref(),
            Channel::Chat | Channel::File => None,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifySection {
    /// A folder of the user's templates (`initial-external-sms.j2`...).
    pub templates: Option<Spanned<PathBuf>>,
    /// Failures on one channel before a contact's next channel is used.
    pub fallback_after: Option<u32>,
    /// Who `warroom notify test CHANNEL` sends to (a contact's name).
    pub test_recipient: Option<Spanned<String>>,
    /// How long `notify send` waits for its messages before it returns.
    pub send_wait: Option<HumanDuration>,
    /// The lists that read the external (public) wording: `external`, and any of your own
    /// (customers, press).
    pub external_lists: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    pub cadence: CadenceSection,
    #[serde(default)]
    pub stages: BTreeMap<String, Spanned<StageSection>>,
    pub email: Option<Spanned<EmailSection>>,
    pub sms: Option<Spanned<SmsSection>>,
    #[serde(default)]
    pub webhook: BTreeMap<String, Spanned<WebhookSection>>,
    pub file: Option<Spanned<FileSection>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CadenceSection {
    pub update_after: Option<HumanDuration>,
    pub progress_every: Option<HumanDuration>,
    pub summary_after: Option<HumanDuration>,
    pub on_time_within: Option<HumanDuration>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageSection {
    pub lists: Option<Vec<Spanned<String>>>,
    pub channels: Option<Vec<Spanned<String>>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSection {
    pub host: String,
    pub port: Option<u16>,
    pub tls: Option<Spanned<String>>,
    pub username_env: Option<String>,
    pub username_file: Option<PathBuf>,
    pub password_env: Option<String>,
    pub password_file: Option<PathBuf>,
    pub from: Spanned<String>,
    pub reply_to: Option<Spanned<String>>,
    pub pool: Option<u32>,
    pub timeout: Option<HumanDuration>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsSection {
    pub kind: Spanned<String>,
    // twilio
    pub base_url: Option<String>,
    pub account_sid: Option<String>,
    pub account_sid_env: Option<String>,
    pub auth_token_env: Option<String>,
    pub auth_token_file: Option<PathBuf>,
    pub from: Option<Spanned<String>>,
    pub messaging_service_sid: Option<String>,
    // http
    pub method: Option<Spanned<String>>,
    pub url: Option<Spanned<String>>,
    pub form: Option<BTreeMap<String, String>>,
    pub json: Option<Spanned<String>>,
    pub secret_env: Option<String>,
    pub secret_file: Option<PathBuf>,
    pub success_status: Option<Vec<u16>>,
    pub success_body: Option<String>,
    pub permanent_status: Option<Vec<u16>>,
    pub timeout: Option<HumanDuration>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSection {
    pub kind: Spanned<String>,
    pub url_env: Option<String>,
    pub url_file: Option<PathBuf>,
    pub lists: Option<Vec<Spanned<String>>>,
    pub timeout: Option<HumanDuration>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSection {
    pub path: PathBuf,
    pub lists: Option<Vec<Spanned<String>>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusPageSection {
    /// The page's title.
    pub title: Option<String>,
    /// A folder the page and its feed are written to.
    pub path: Option<PathBuf>,
    /// Or a backup location (an S3 bucket that serves the page).
    pub location: Option<Spanned<String>>,
    /// The public components: system name = the name the public knows it by.
    #[serde(default)]
    pub components: BTreeMap<String, Spanned<String>>,
    /// Where the page is served, for the feed's links.
    pub url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    /// Plain, then STARTTLS (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Implicit,
    /// No TLS: a relay on this host or network only.
    None,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailChannel {
    pub host: String,
    pub port: u16,
    pub tls: Tls,
    pub username: Option<SecretSource>,
    pub password: Option<SecretSource>,
    pub from: String,
    pub reply_to: Option<String>,
    pub pool: u32,
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmsChannel {
    Twilio {
        base_url: String,
        account_sid: AccountSid,
        auth_token: SecretSource,
        from: Option<String>,
        messaging_service_sid: Option<String>,
        timeout: Duration,
    },
    Http(HttpSms),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountSid {
    Plain(String),
    Secret(SecretSource),
}

/// A gateway reached by a request template (`{{ to }}`, `{{ text }}`, `{{ secret }}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSms {
    pub method: String,
    pub url: String,
    pub form: Option<BTreeMap<String, String>>,
    pub json: Option<String>,
    pub secret: Option<SecretSource>,
    /// Statuses that mean accepted (default: any 2xx).
    pub success_status: Vec<u16>,
    /// Text the body must contain to be accepted (a gateway that says 200 to a failure).
    pub success_body: Option<String>,
    /// Statuses never retried (default 400, 401, 403, 404, 422).
    pub permanent_status: Vec<u16>,
    pub timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookKind {
    Slack,
    Teams,
    Json,
}

impl WebhookKind {
    pub fn name(self) -> &'static str {
        match self {
            WebhookKind::Slack => "slack",
            WebhookKind::Teams => "teams",
            WebhookKind::Json => "json",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub name: String,
    pub kind: WebhookKind,
    pub url: SecretSource,
    pub lists: Vec<String>,
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChannel {
    pub path: PathBuf,
    pub lists: Vec<String>,
}

/// Which lists a stage goes to, and on which channels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagePolicy {
    pub lists: Vec<String>,
    pub channels: Vec<Channel>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusPage {
    pub title: String,
    pub path: Option<PathBuf>,
    pub location: Option<String>,
    pub components: BTreeMap<String, String>,
    pub url: Option<String>,
}

/// Everything about telling people, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notify {
    pub contacts: Vec<Contact>,
    pub email: Option<EmailChannel>,
    pub sms: Option<SmsChannel>,
    pub webhooks: Vec<Webhook>,
    pub file: Option<FileChannel>,
    pub cadence: Cadence,
    pub stages: BTreeMap<Stage, StagePolicy>,
    pub templates: Templates,
    pub fallback_after: u32,
    pub test_recipient: Option<String>,
    pub send_wait: Duration,
    pub statuspage: Option<StatusPage>,
    /// The lists that read external wording.
    pub external_lists: Vec<String>,
}

impl Default for Notify {
    fn default() -> Notify {
        Notify {
            contacts: Vec::new(),
            email: None,
            sms: None,
            webhooks: Vec::new(),
            file: None,
            cadence: Cadence::default(),
            stages: Stage::ALL.into_iter().map(|s| (s, default_stage(s))).collect(),
            templates: Templates::default(),
            fallback_after: 3,
            test_recipient: None,
            send_wait: Duration::from_secs(30),
            statuspage: None,
            external_lists: vec!["external".to_owned()],
        }
    }
}

impl Notify {
    pub fn contact(&self, name: &str) -> Option<&Contact> {
        self.contacts.iter().find(|c| c.name == name)
    }

    /// Every list a contact or channel names, the standard's first.
    pub fn lists(&self) -> Vec<String> {
        let mut lists: Vec<String> = STANDARD_LISTS.iter().map(|s| (*s).to_owned()).collect();
        for c in &self.contacts {
            for l in &c.lists {
                if !lists.contains(l) {
                    lists.push(l.clone());
                }
            }
        }
        lists
    }

    pub fn channel_configured(&self, channel: Channel) -> bool {
        match channel {
            Channel::Email => self.email.is_some(),
            Channel::Sms => self.sms.is_some(),
            Channel::Chat => !self.webhooks.is_empty(),
            Channel::File => self.file.is_some(),
        }
    }

    pub fn stage(&self, stage: Stage) -> StagePolicy {
        self.stages.get(&stage).cloned().unwrap_or_else(|| default_stage(stage))
    }

    /// Who reads `list`: the public wording for the external lists, the inside one otherwise.
    pub fn audience_of(&self, list: &str) -> Audience {
        if self.external_lists.iter().any(|l| l == list) { Audience::External } else { Audience::Internal }
    }

    /// Whether a notice of `stage` goes to any external list (so a promise of it may be made
    /// to the public).
    pub fn reaches_external(&self, stage: Stage) -> bool {
        self.stage(stage).lists.iter().any(|l| self.audience_of(l) == Audience::External)
    }
}

/// The playbook's defaults: everyone hears of the start and the end; the updates go inside;
/// SMS only on open and resolve (as Statuspage does), email and chat on every stage.
fn default_stage(stage: Stage) -> StagePolicy {
    let all: Vec<String> = STANDARD_LISTS.iter().map(|s| (*s).to_owned()).collect();
    let inside: Vec<String> = all.iter().filter(|l| *l != "external").cloned().collect();
    let (lists, channels) = match stage {
        Stage::Initial | Stage::Resolution => (all, Channel::ALL.to_vec()),
        Stage::Update | Stage::Progress => (inside, vec![Channel::Email, Channel::Chat, Channel::File]),
        Stage::PostIncident => (all, vec![Channel::Email, Channel::Chat, Channel::File]),
    };
    StagePolicy { lists, channels }
}

fn seconds(d: &Option<HumanDuration>, default: Duration) -> Duration {
    d.map(|d| d.0).unwrap_or(default)
}

/// An address with an `@` and a dot after it, no spaces; `Name <addr>` is taken too.
pub fn check_email(address: &str) -> Result<(), String> {
    let bare = match (address.find('<'), address.rfind('>')) {
        (Some(a), Some(b)) if a < b => &address[a + 1..b],
        _ => address,
    };
    let ok = bare.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
    }) && !bare.contains(char::is_whitespace);
    if ok { Ok(()) } else { Err(format!("\"{address}\" is not an email address (name@example.com)")) }
}

fn known_lists(report: &mut Report, key: &str, lists: &[Spanned<String>], known: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, l) in lists.iter().enumerate() {
        if known.contains(l.get_ref()) {
            out.push(l.get_ref().clone());
        } else {
            let d = Diagnostic::error(format!("there is no list \"{}\"", l.get_ref()))
                .at(format!("{key}[{i}]"), Some(l.span()));
            report.push(match did_you_mean(l.get_ref(), known.iter().map(String::as_str)) {
                Some(s) => d.help(format!("did you mean \"{s}\"?")),
                None => d.help(format!("the lists are: {}", known.join(", "))),
            });
        }
    }
    out
}

fn channels(report: &mut Report, key: &str, names: &[Spanned<String>]) -> Vec<Channel> {
    let mut out = Vec::new();
    for (i, c) in names.iter().enumerate() {
        match Channel::parse(c.get_ref()) {
            Some(ch) if !out.contains(&ch) => out.push(ch),
            Some(_) => {}
            None => report.push(
                Diagnostic::error(format!("there is no channel \"{}\"", c.get_ref()))
                    .at(format!("{key}[{i}]"), Some(c.span()))
                    .help("use email, sms, chat or file"),
            ),
        }
    }
    out
}

/// Check and resolve the contacts and `[notify]`; `[statuspage]` too.
pub fn resolve(
    contacts: &[ContactEntry],
    section: &NotifySection,
    statuspage: Option<&StatusPageSection>,
    base: &Path,
    system_names: &[String],
    location_names: &[String],
    report: &mut Report,
) -> Notify {
    let mut notify = Notify::default();
    // Contacts first: the lists they name are the lists there are.
    for e in contacts {
        let name = e.name.get_ref();
        let key = |k: &str| format!("contacts[{name}].{k}");
        if !valid_name(name) {
            report.push(
                Diagnostic::error(format!("contact name \"{name}\" is not usable as a name"))
                    .at(key("name"), Some(e.name.span()))
                    .help("use letters, digits, - _ and . (alice, dba-on-call)"),
            );
            continue;
        }
        if notify.contact(name).is_some() {
            report.push(
                Diagnostic::error(format!("contact \"{name}\" is defined twice"))
                    .at(key("name"), Some(e.name.span())),
            );
            continue;
        }
        if let Some(phone) = &e.phone
            && let Err(m) = check_e164(phone.get_ref())
        {
            report.push(
                Diagnostic::error(m)
                    .at(key("phone"), Some(phone.span()))
                    .help("write it as +, the country code and the number: +4915112345678"),
            );
        }
        if let Some(email) = &e.email
            && let Err(m) = check_email(email.get_ref())
        {
            report.push(Diagnostic::error(m).at(key("email"), Some(email.span())));
        }
        let mut chosen = channels(report, &key("channels"), &e.channels);
        if chosen.is_empty() {
            // Unstated: email first, then SMS, as far as the contact has the addresses.
            chosen = vec![Channel::Email, Channel::Sms];
        }
        for (i, ch) in chosen.iter().enumerate() {
            if matches!(ch, Channel::Chat | Channel::File) {
                let span = e.channels.get(i).map(|c| c.span());
                report.push(
                    Diagnostic::error(format!("a contact is reached by email or sms, not {ch}"))
                        .at(format!("{}[{i}]", key("channels")), span)
                        .help("a contact's channels are email and sms; chat rooms are [notify.webhook.NAME] with the lists they serve; the file is [notify.file]"),
                );
            }
        }
        chosen.retain(|c| matches!(c, Channel::Email | Channel::Sms));
        let explicit = !e.channels.is_empty();
        for ch in &chosen {
            let has = match ch {
                Channel::Email => e.email.is_some(),
                _ => e.phone.is_some(),
            };
            if explicit && !has {
                report.push(
                    Diagnostic::error(format!(
                        "contact \"{name}\" prefers {ch} but has no {}",
                        if *ch == Channel::Email { "email" } else { "phone" }
                    ))
                    .at(key("channels"), e.channels.first().map(|c| c.span()))
                    .help(format!(
                        "add {} or take {ch} out of channels",
                        if *ch == Channel::Email { "email = \"...\"" } else { "phone = \"+...\"" }
                    )),
                );
            }
        }
        if e.email.is_none() && e.phone.is_none() {
            report.push(
                Diagnostic::warning(format!(
                    "contact \"{name}\" has neither an email nor a phone: nothing reaches them"
                ))
                .at(key("name"), Some(e.name.span())),
            );
        }
        let zone = e.time_zone.as_ref().map(|z| z.get_ref().as_str()).unwrap_or("UTC");
        let quiet_hours = match &e.quiet_hours {
            Some(range) => match QuietHours::parse(range.get_ref(), zone) {
                Ok(q) => Some(q),
                Err(m) => {
                    let (k, span) = if m.contains("time zone") {
                        (key("time_zone"), e.time_zone.as_ref().map(|z| z.span()))
                    } else {
                        (key("quiet_hours"), Some(range.span()))
                    };
                    report.push(Diagnostic::error(m).at(k, span));
                    None
                }
            },
            None => None,
        };
        let mut lists: Vec<String> = Vec::new();
        for l in &e.lists {
            if !valid_name(l.get_ref()) {
                report.push(
                    Diagnostic::error(format!("\"{}\" is not usable as a list name", l.get_ref()))
                        .at(key("lists"), Some(l.span())),
                );
            } else if !lists.contains(l.get_ref()) {
                lists.push(l.get_ref().clone());
            }
        }
        if lists.is_empty() {
            report.push(
                Diagnostic::warning(format!("contact \"{name}\" is on no list: no notice reaches them"))
                    .at(key("lists"), Some(e.name.span()))
                    .help(format!("add lists = [...] from: {}", STANDARD_LISTS.join(", "))),
            );
        }
        let trained = e.trained.as_ref().and_then(|t| {
            chrono::NaiveDate::parse_from_str(t.get_ref(), "%Y-%m-%d")
                .map_err(|_| {
                    report.push(
                        Diagnostic::error(format!("trained \"{}\" is not a date", t.get_ref()))
                            .at(key("trained"), Some(t.span()))
                            .help("write the day of their last continuity training as YYYY-MM-DD"),
                    )
                })
                .ok()
        });
        notify.contacts.push(Contact {
            name: name.clone(),
            email: e.email.as_ref().map(|x| x.get_ref().clone()),
            phone: e.phone.as_ref().map(|x| x.get_ref().clone()),
            chat: e.chat.clone(),
            lists,
            channels: chosen,
            quiet_hours,
            role: e.role.clone(),
            trained,
        });
    }
    let known = notify.lists();

    let pair = |k: &str, env: &Option<String>, file: &Option<PathBuf>, report: &mut Report, span| {
        SecretSource::from_pair(k, env.clone(), file.clone(), base)
            .map_err(|m| report.push(Diagnostic::error(m).at(format!("notify.{k}"), span)))
            .ok()
            .flatten()
    };

    if let Some(email) = &section.email {
        let span = Some(email.span());
        let e = email.get_ref();
        let tls = match e.tls.as_ref().map(|t| t.get_ref().as_str()) {
            None | Some("starttls") => Tls::StartTls,
            Some("implicit") => Tls::Implicit,
            Some("none") => Tls::None,
            Some(other) => {
                report.push(
                    Diagnostic::error(format!("there is no tls mode \"{other}\""))
                        .at("notify.email.tls", e.tls.as_ref().map(|t| t.span()))
                        .help("use \"starttls\" (port 587), \"implicit\" (port 465) or \"none\" (a relay on this network)"),
                );
                Tls::StartTls
            }
        };
        for (k, v) in [("from", Some(&e.from)), ("reply_to", e.reply_to.as_ref())] {
            if let Some(v) = v
                && let Err(m) = check_email(v.get_ref())
            {
                report.push(Diagnostic::error(m).at(format!("notify.email.{k}"), Some(v.span())));
            }
        }
        let username = pair("email.username", &e.username_env, &e.username_file, report, span.clone());
        let password = pair("email.password", &e.password_env, &e.password_file, report, span.clone());
        if username.is_some() != password.is_some() {
            report.push(
                Diagnostic::error("SMTP authentication needs both a username and a password")
                    .at("notify.email", span.clone())
                    .help("set username_env and password_env (or the _file forms), or neither"),
            );
        }
        if tls == Tls::None && password.is_some() && !is_loopback(&e.host) {
            report.push(
                Diagnostic::warning(format!(
                    "the SMTP password would cross the network to {} unencrypted",
                    e.host
                ))
                .at("notify.email.tls", e.tls.as_ref().map(|t| t.span()))
                .help("use tls = \"starttls\" or \"implicit\""),
            );
        }
        notify.email = Some(EmailChannel {
            host: e.host.clone(),
            port: e.port.unwrap_or(match tls {
                Tls::StartTls => 587,
                Tls::Implicit => 465,
                Tls::None => 25,
            }),
            tls,
            username,
            password,
            from: e.from.get_ref().clone(),
            reply_to: e.reply_to.as_ref().map(|r| r.get_ref().clone()),
            pool: e.pool.unwrap_or(4).max(1),
            timeout: seconds(&e.timeout, Duration::from_secs(30)),
        });
    }

    if let Some(sms) = &section.sms {
        let span = Some(sms.span());
        let s = sms.get_ref();
        let timeout = seconds(&s.timeout, Duration::from_secs(15));
        match s.kind.get_ref().as_str() {
            "twilio" => {
                let sid = match (&s.account_sid, pair("sms.account_sid", &s.account_sid_env, &None, report, span.clone())) {
                    (Some(sid), None) => Some(AccountSid::Plain(sid.clone())),
                    (None, Some(src)) => Some(AccountSid::Secret(src)),
                    _ => {
                        report.push(
                            Diagnostic::error("a twilio SMS channel needs the account: account_sid or account_sid_env")
                                .at("notify.sms.account_sid", span.clone()),
                        );
                        None
                    }
                };
                let token = pair("sms.auth_token", &s.auth_token_env, &s.auth_token_file, report, span.clone());
                if token.is_none() {
                    report.push(
                        Diagnostic::error("a twilio SMS channel needs auth_token_env (or auth_token_file)")
                            .at("notify.sms", span.clone()),
                    );
                }
                if let Some(from) = &s.from
                    && let Err(m) = check_e164(from.get_ref())
                {
                    report.push(Diagnostic::error(m).at("notify.sms.from", Some(from.span())));
                }
                if s.from.is_none() && s.messaging_service_sid.is_none() {
                    report.push(
                        Diagnostic::error("a twilio SMS channel needs `from` (a number) or `messaging_service_sid`")
                            .at("notify.sms", span.clone()),
                    );
                }
                if let (Some(account_sid), Some(auth_token)) = (sid, token) {
                    notify.sms = Some(SmsChannel::Twilio {
                        base_url: s.base_url.clone().unwrap_or_else(|| "https://api.twilio.com".into()).trim_end_matches('/').to_owned(),
                        account_sid,
                        auth_token,
                        from: s.from.as_ref().map(|f| f.get_ref().clone()),
                        messaging_service_sid: s.messaging_service_sid.clone(),
                        timeout,
                    });
                }
            }
            "http" => {
                let Some(url) = &s.url else {
                    report.push(
                        Diagnostic::error("an http SMS channel needs `url` (a template with {{ to }} and {{ text }})")
                            .at("notify.sms", span.clone()),
                    );
                    return finish(notify, section, statuspage, base, &known, system_names, location_names, report);
                };
                let method = s.method.as_ref().map(|m| m.get_ref().to_ascii_uppercase()).unwrap_or_else(|| "POST".into());
                if !["GET", "POST", "PUT"].contains(&method.as_str()) {
                    report.push(
                        Diagnostic::error(format!("there is no request method \"{method}\" for SMS"))
                            .at("notify.sms.method", s.method.as_ref().map(|m| m.span()))
                            .help("use GET, POST or PUT"),
                    );
                }
                if s.form.is_some() && s.json.is_some() {
                    report.push(
                        Diagnostic::error("an http SMS request has a form body or a JSON body, not both")
                            .at("notify.sms.json", s.json.as_ref().map(|j| j.span())),
                    );
                }
                // The request's templates are checked now, like the notices'.
                let mut texts: Vec<(String, String)> = vec![("url".into(), url.get_ref().clone())];
                if let Some(form) = &s.form {
                    texts.extend(form.iter().map(|(k, v)| (format!("form.{k}"), v.clone())));
                }
                if let Some(json) = &s.json {
                    texts.push(("json".into(), json.get_ref().clone()));
                }
                for (k, text) in &texts {
                    if let Err(m) = check_request_template(text) {
                        report.push(Diagnostic::error(m).at(format!("notify.sms.{k}"), span.clone()));
                    }
                }
                notify.sms = Some(SmsChannel::Http(HttpSms {
                    method,
                    url: url.get_ref().clone(),
                    form: s.form.clone(),
                    json: s.json.as_ref().map(|j| j.get_ref().clone()),
                    secret: pair("sms.secret", &s.secret_env, &s.secret_file, report, span.clone()),
                    success_status: s.success_status.clone().unwrap_or_default(),
                    success_body: s.success_body.clone(),
                    permanent_status: s.permanent_status.clone().unwrap_or_else(|| vec![400, 401, 403, 404, 422]),
                    timeout,
                }));
            }
            other => report.push(
                Diagnostic::error(format!("there is no SMS kind \"{other}\""))
                    .at("notify.sms.kind", Some(s.kind.span()))
                    .help("use \"twilio\" (or a Twilio-compatible API with base_url) or \"http\" (a request template: Kannel, Vonage, an Android gateway)"),
            ),
        }
    }
    finish(notify, section, statuspage, base, &known, system_names, location_names, report)
}

#[allow(clippy::too_many_arguments)]
fn finish(
    mut notify: Notify,
    section: &NotifySection,
    statuspage: Option<&StatusPageSection>,
    base: &Path,
    known: &[String],
    system_names: &[String],
    location_names: &[String],
    report: &mut Report,
) -> Notify {
    for (name, hook) in &section.webhook {
        let key = |k: &str| format!("notify.webhook.{name}.{k}");
        let h = hook.get_ref();
        let kind = match h.kind.get_ref().as_str() {
            "slack" => WebhookKind::Slack,
            "teams" => WebhookKind::Teams,
            "json" => WebhookKind::Json,
            other => {
                report.push(
                    Diagnostic::error(format!("there is no webhook kind \"{other}\""))
                        .at(key("kind"), Some(h.kind.span()))
                        .help("use \"slack\", \"teams\" or \"json\""),
                );
                continue;
            }
        };
        let url = match SecretSource::from_pair(&key("url"), h.url_env.clone(), h.url_file.clone(), base) {
            Ok(Some(url)) => url,
            Ok(None) => {
                report.push(
                    Diagnostic::error(format!(
                        "webhook \"{name}\" needs url_env (or url_file): its URL is a secret"
                    ))
                    .at(key("url_env"), Some(hook.span())),
                );
                continue;
            }
            Err(m) => {
                report.push(Diagnostic::error(m).at(key("url"), Some(hook.span())));
                continue;
            }
        };
        let lists = match &h.lists {
            Some(l) => known_lists(report, &key("lists"), l, known),
            None => known.iter().filter(|l| *l != "external").cloned().collect(),
        };
        notify.webhooks.push(Webhook {
            name: name.clone(),
            kind,
            url,
            lists,
            timeout: seconds(&h.timeout, Duration::from_secs(15)),
        });
    }
    if let Some(file) = &section.file {
        let f = file.get_ref();
        let lists = match &f.lists {
            Some(l) => known_lists(report, "notify.file.lists", l, known),
            None => known.to_vec(),
        };
        notify.file = Some(FileChannel { path: base.join(&f.path), lists });
    }
    let c = &section.cadence;
    let d = Cadence::default();
    notify.cadence = Cadence {
        update_after: seconds(&c.update_after, d.update_after),
        progress_every: seconds(&c.progress_every, d.progress_every),
        summary_after: seconds(&c.summary_after, d.summary_after),
        on_time_within: seconds(&c.on_time_within, d.on_time_within),
    };
    if notify.cadence.progress_every < Duration::from_secs(60) {
        report.push(
            Diagnostic::error(
                "notify.cadence.progress_every is under a minute: stakeholders would be flooded",
            )
            .at("notify.cadence.progress_every", None),
        );
    }
    for (name, stage) in &section.stages {
        let key = |k: &str| format!("notify.stages.{name}.{k}");
        let Ok(st) = Stage::parse(name) else {
            report.push(
                Diagnostic::error(format!("there is no stage \"{name}\""))
                    .at(format!("notify.stages.{name}"), Some(stage.span()))
                    .help(format!("the stages are: {}", Stage::ALL.map(Stage::name).join(", "))),
            );
            continue;
        };
        let mut policy = notify.stage(st);
        if let Some(lists) = &stage.get_ref().lists {
            policy.lists = known_lists(report, &key("lists"), lists, known);
        }
        if let Some(ch) = &stage.get_ref().channels {
            policy.channels = channels(report, &key("channels"), ch);
        }
        notify.stages.insert(st, policy);
    }
    if let Some(ext) = &section.external_lists {
        notify.external_lists = known_lists(report, "notify.external_lists", ext, known);
    }
    // A contact's list that no stage sends to is most likely a typo: nobody would tell them.
    for c in &notify.contacts {
        for l in &c.lists {
            let used = l == crate::model::comms::EXERCISE_LIST
                || Stage::ALL.iter().any(|st| notify.stage(*st).lists.contains(l));
            if !used {
                let d = Diagnostic::warning(format!(
                    "contact \"{}\" is on the list \"{l}\", which no stage sends to: nothing reaches them through it",
                    c.name
                ))
                .at(format!("contacts[{}].lists", c.name), None);
                report.push(match did_you_mean(l, STANDARD_LISTS.iter().copied()) {
                    Some(s) => {
                        d.help(format!("did you mean \"{s}\"? Or name it in [notify.stages.STAGE] lists"))
                    }
                    None => d.help("name it in a stage's lists: [notify.stages.initial] lists = [...]"),
                });
            }
        }
    }
    notify.fallback_after = section.fallback_after.unwrap_or(3).max(1);
    notify.send_wait = seconds(&section.send_wait, Duration::from_secs(30));
    if let Some(t) = &section.test_recipient {
        if notify.contact(t.get_ref()).is_none() {
            report.push(
                Diagnostic::error(format!("test_recipient \"{}\" is not a contact", t.get_ref()))
                    .at("notify.test_recipient", Some(t.span()))
                    .help("name one of the [[contacts]]"),
            );
        } else {
            notify.test_recipient = Some(t.get_ref().clone());
        }
    }
    if let Some(dir) = &section.templates {
        notify.templates = read_templates(&base.join(dir.get_ref()), dir.span(), report);
    }
    for problem in notify.templates.check() {
        report.push(
            Diagnostic::error(format!("template {problem}"))
                .at("notify.templates", section.templates.as_ref().map(|t| t.span()))
                .help("fix the template: warroom checks every stage, audience and channel now, so nothing fails at send time"),
        );
    }
    if let Some(sp) = statuspage {
        for (system, public) in &sp.components {
            if !system_names.contains(system) {
                let d = Diagnostic::error(format!("statuspage component \"{system}\" is not a system"))
                    .at(format!("statuspage.components.{system}"), Some(public.span()));
                let d = match did_you_mean(system, system_names.iter().map(String::as_str)) {
                    Some(s) => d.help(format!("did you mean \"{s}\"? The keys of [statuspage.components] are system names; the values are what the public reads")),
                    None => d.help("the keys of [statuspage.components] are system names; the values are what the public reads"),
                };
                report.push(d);
            }
        }
        if let Some(loc) = &sp.location
            && !location_names.contains(loc.get_ref())
        {
            report.push(
                Diagnostic::error(format!(
                    "statuspage location \"{}\" is not a [[locations]] entry",
                    loc.get_ref()
                ))
                .at("statuspage.location", Some(loc.span())),
            );
        }
        if sp.path.is_none() && sp.location.is_none() {
            report.push(
                Diagnostic::error(
                    "[statuspage] needs `path` (a folder) or `location` (a bucket that serves it)",
                )
                .at("statuspage", None),
            );
        }
        notify.statuspage = Some(StatusPage {
            title: sp.title.clone().unwrap_or_else(|| "Service status".into()),
            path: sp.path.as_ref().map(|p| base.join(p)),
            location: sp.location.as_ref().map(|l| l.get_ref().clone()),
            components: sp.components.iter().map(|(k, v)| (k.clone(), v.get_ref().clone())).collect(),
            url: sp.url.clone(),
        });
    }
    let configured = [Channel::Email, Channel::Sms, Channel::Chat, Channel::File]
        .into_iter()
        .any(|c| notify.channel_configured(c));
    if !notify.contacts.is_empty() && !configured {
        report.push(
            Diagnostic::warning("there are contacts but no channel to reach them")
                .at("notify", None)
                .help("add [notify.email] (SMTP), [notify.sms], a [notify.webhook.NAME] or [notify.file]"),
        );
    }
    notify
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A request template renders with `to`, `text` and `secret` and nothing else.
pub fn check_request_template(text: &str) -> Result<(), String> {
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    let ctx = minijinja::context! { to => "+4915112345678", text => "sample", secret => "x" };
    env.render_str(text, ctx).map(|_| ()).map_err(|e| {
        format!(
            "the request template does not render: {} (it may use {{{{ to }}}}, {{{{ text }}}} and {{{{ secret }}}})",
            e.detail().unwrap_or("error")
        )
    })
}

/// Read the user's template folder: every `*.j2` must be a name warroom knows.
fn read_templates(dir: &Path, span: std::ops::Range<usize>, report: &mut Report) -> Templates {
    let mut templates = Templates::default();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            report.push(
                Diagnostic::error(format!("cannot read the template folder {}: {e}", dir.display()))
                    .at("notify.templates", Some(span)),
            );
            return templates;
        }
    };
    let names = override_names();
    let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.sort();
    for path in files {
        let Some(stem) = path.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".j2")) else {
            continue;
        };
        if !names.iter().any(|n| n == stem) {
            let d = Diagnostic::error(format!("template {} has a name warroom does not use", path.display()))
                .at("notify.templates", Some(span.clone()));
            report.push(match did_you_mean(stem, names.iter().map(String::as_str)) {
                Some(s) => d.help(format!("did you mean {s}.j2? Names are STAGE-AUDIENCE-PART.j2, STAGE-PART.j2 or PART.j2")),
                None => d.help("names are STAGE-AUDIENCE-PART.j2 (initial-external-sms.j2), STAGE-PART.j2 or PART.j2; parts: subject, text, html, sms, chat"),
            });
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                templates
                    .overrides
                    .insert(stem.to_owned(), TemplateSource { origin: path.display().to_string(), text });
            }
            Err(e) => report.push(
                Diagnostic::error(format!("cannot read template {}: {e}", path.display()))
                    .at("notify.templates", Some(span.clone())),
            ),
        }
    }
    templates
}
