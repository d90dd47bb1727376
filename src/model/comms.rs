//! Crisis communications, the pure part: the playbook's stages and cadence, audiences and
//! channels, SMS segments, quiet hours, E.164 numbers, the outbox's states and its backoff.
//!
//! Nothing here sends or reads the clock: every function that depends on time takes `now`.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, NaiveTime, Timelike, Utc};
use serde::{Deserialize, Serialize};

/// A stage of the standard's playbook. One spelling each, used by the store, the audit log,
/// JSON, templates and the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// T+0: detected, investigating.
    Initial,
    /// T+30 min: cause identified, recovery started.
    Update,
    /// Every 30 min after: progress, ETA, blockers.
    Progress,
    /// When recovered: restored, monitoring.
    Resolution,
    /// T+24 h after resolution: the root cause, what will prevent it.
    PostIncident,
}

impl Stage {
    pub const ALL: [Stage; 5] =
        [Stage::Initial, Stage::Update, Stage::Progress, Stage::Resolution, Stage::PostIncident];

    pub fn name(self) -> &'static str {
        match self {
            Stage::Initial => "initial",
            Stage::Update => "update",
            Stage::Progress => "progress",
            Stage::Resolution => "resolution",
            Stage::PostIncident => "post-incident",
        }
    }

    /// How people say it: "initial notice", "status update".
    pub fn title(self) -> &'static str {
        match self {
            Stage::Initial => "initial notice",
            Stage::Update => "status update",
            Stage::Progress => "progress update",
            Stage::Resolution => "resolution notice",
            Stage::PostIncident => "post-incident summary",
        }
    }

    pub fn parse(s: &str) -> Result<Stage, String> {
        let word = s.trim().to_ascii_lowercase().replace('_', "-");
        let alias = match word.as_str() {
            "t0" | "t+0" | "initial-notice" => Some(Stage::Initial),
            "status" | "status-update" => Some(Stage::Update),
            "resolved" | "resolve" => Some(Stage::Resolution),
            "summary" | "postmortem" | "post-mortem" => Some(Stage::PostIncident),
            _ => None,
        };
        alias.or_else(|| Stage::ALL.into_iter().find(|st| st.name() == word)).ok_or_else(|| {
            format!("there is no stage \"{s}\": use {}", Stage::ALL.map(Stage::name).join(", "))
        })
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The lists the standard names. Users may name more.
pub const STANDARD_LISTS: [&str; 5] = ["executive", "technical", "operations", "legal", "external"];

/// The list exercises tell their players on (a scenario's `notify_lists`): no stage of a real
/// incident sends to it.
pub const EXERCISE_LIST: &str = "exercise";

/// Who reads a message: the people inside, or customers and partners.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Audience {
    Internal,
    External,
}

impl Audience {
    pub fn name(self) -> &'static str {
        match self {
            Audience::Internal => "internal",
            Audience::External => "external",
        }
    }

    /// The `external` list reads external messages; every other list internal ones.
    pub fn of_list(list: &str) -> Audience {
        if list == "external" { Audience::External } else { Audience::Internal }
    }
}

/// How a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Email,
    Sms,
    /// A chat room's incoming webhook (Slack, Teams, generic JSON).
    Chat,
    /// Appended to a file (air-gapped sites, exercises).
    File,
}

impl Channel {
    pub const ALL: [Channel; 4] = [Channel::Email, Channel::Sms, Channel::Chat, Channel::File];

    pub fn name(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Chat => "chat",
            Channel::File => "file",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.name() == s)
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One outbox row's delivery state, in the vocabulary of mass-notification tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeliveryState {
    /// Waiting for its first attempt.
    Queued,
    /// Being handed to the server now (claimed by one deliverer).
    Sending,
    /// The server (SMTP relay, chat service, file) accepted it.
    Sent,
    /// The provider (an SMS gateway) accepted it and gave it an id.
    DeliveredToProvider,
    /// Refused for good (a bad number, a 5xx SMTP reply): shown, never retried.
    FailedPermanent,
    /// Failed for now (the channel is down, a 4xx, a 429): tried again later.
    FailedRetrying,
    /// Not sent: the contact's quiet hours, and the severity does not override them.
    SuppressedQuietHours,
    /// Given up on this channel after repeated failures: the contact's next channel has it.
    FallbackUsed,
}

impl DeliveryState {
    pub const ALL: [DeliveryState; 8] = [
        DeliveryState::Queued,
        DeliveryState::Sending,
        DeliveryState::Sent,
        DeliveryState::DeliveredToProvider,
        DeliveryState::FailedPermanent,
        DeliveryState::FailedRetrying,
        DeliveryState::SuppressedQuietHours,
        DeliveryState::FallbackUsed,
    ];

    pub fn name(self) -> &'static str {
        match self {
            DeliveryState::Queued => "queued",
            DeliveryState::Sending => "sending",
            DeliveryState::Sent => "sent",
            DeliveryState::DeliveredToProvider => "delivered-to-provider",
            DeliveryState::FailedPermanent => "failed-permanent",
            DeliveryState::FailedRetrying => "failed-retrying",
            DeliveryState::SuppressedQuietHours => "suppressed-quiet-hours",
            DeliveryState::FallbackUsed => "fallback-used",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryState> {
        DeliveryState::ALL.into_iter().find(|d| d.name() == s)
    }

    /// Still to be delivered: a deliverer will try it.
    pub fn pending(self) -> bool {
        matches!(self, DeliveryState::Queued | DeliveryState::Sending | DeliveryState::FailedRetrying)
    }

    /// A server or provider has it.
    pub fn delivered(self) -> bool {
        matches!(self, DeliveryState::Sent | DeliveryState::DeliveredToProvider)
    }

    /// A symbol and a word go with every state (never colour alone).
    pub fn symbol(self) -> &'static str {
        match self {
            DeliveryState::Queued => "◌",
            DeliveryState::Sending => "▶",
            DeliveryState::Sent | DeliveryState::DeliveredToProvider => "✔",
            DeliveryState::FailedPermanent => "✖",
            DeliveryState::FailedRetrying => "↻",
            DeliveryState::SuppressedQuietHours => "☾",
            DeliveryState::FallbackUsed => "↪",
        }
    }
}

impl fmt::Display for DeliveryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The outbox as a whole, for exit codes: 0 all delivered, 1 some still retrying, 2 some
/// refused for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutboxHealth {
    Delivered,
    Retrying,
    Failed,
}

impl OutboxHealth {
    pub fn of(states: impl IntoIterator<Item = DeliveryState>) -> OutboxHealth {
        states.into_iter().fold(OutboxHealth::Delivered, |worst, s| {
            let this = match s {
                DeliveryState::FailedPermanent => OutboxHealth::Failed,
                s if s.pending() => OutboxHealth::Retrying,
                _ => OutboxHealth::Delivered,
            };
            worst.max(this)
        })
    }

    pub fn exit_code(self) -> i32 {
        match self {
            OutboxHealth::Delivered => 0,
            OutboxHealth::Retrying => 1,
            OutboxHealth::Failed => 2,
        }
    }
}

/// When the next attempt of a row that failed `attempts` times comes: 5 s doubling to 5 min,
/// for as long as the incident is open (a DR site's network can be down for an hour).
/// A server's `Retry-After` wins when it asks for longer.
pub fn backoff(attempts: u32, retry_after: Option<Duration>) -> Duration {
    let base = Duration::from_secs(5).saturating_mul(1u32 << attempts.saturating_sub(1).min(6));
    let ours = base.min(Duration::from_secs(300));
    match retry_after {
        // A server that asks for an hour is not waited on for more than one.
        Some(asked) => ours.max(asked.min(Duration::from_secs(3600))),
        None => ours,
    }
}

/// The playbook's intervals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Cadence {
    /// The status update, after the initial notice (T+30 min).
    pub update_after: Duration,
    /// Each progress update after the one before (every 30 min).
    pub progress_every: Duration,
    /// The post-incident summary after resolution (T+24 h).
    pub summary_after: Duration,
    /// A notice sent this long after it fell due still counts as on time.
    pub on_time_within: Duration,
}

impl Default for Cadence {
    fn default() -> Cadence {
        Cadence {
            update_after: Duration::from_secs(30 * 60),
            progress_every: Duration::from_secs(30 * 60),
            summary_after: Duration::from_secs(24 * 3600),
            on_time_within: Duration::from_secs(5 * 60),
        }
    }
}

/// A notice already sent: its stage, when it was due and when it went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentNotice {
    pub stage: Stage,
    pub due_at: DateTime<Utc>,
    pub sent_at: DateTime<Utc>,
}

/// The next notice an incident owes: due at `at`, overdue (late, an alarm) after
/// `late_after` (`at` plus the cadence's `on_time_within`). One definition of late, for the
/// header, `watch` and the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Due {
    pub stage: Stage,
    pub at: DateTime<Utc>,
    pub late_after: DateTime<Utc>,
}

impl Due {
    /// It has fallen due: send it now.
    pub fn due(&self, now: DateTime<Utc>) -> bool {
        now >= self.at
    }

    /// Later than the cadence allows: the alarm.
    pub fn overdue(&self, now: DateTime<Utc>) -> bool {
        now > self.late_after
    }

    /// Seconds until it falls due (negative once overdue).
    pub fn seconds_left(&self, now: DateTime<Utc>) -> i64 {
        (self.at - now).num_seconds()
    }

    /// How long until it falls due (zero once it has).
    pub fn left(&self, now: DateTime<Utc>) -> Duration {
        (self.at - now).to_std().unwrap_or_default()
    }

    /// How long since it fell due (zero before).
    pub fn past_due(&self, now: DateTime<Utc>) -> Duration {
        (now - self.at).to_std().unwrap_or_default()
    }
}

fn after(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    t + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

impl Cadence {
    /// What an incident declared at `declared` (closed at `resolved`, if it is) owes next,
    /// given the notices sent (any order). `None`: nothing more (the summary went out).
    pub fn next_due(
        &self,
        declared: DateTime<Utc>,
        resolved: Option<DateTime<Utc>>,
        sent: &[SentNotice],
    ) -> Option<Due> {
        self.next_stage(declared, resolved, sent).map(|(stage, at)| Due {
            stage,
            at,
            late_after: after(at, self.on_time_within),
        })
    }

    fn next_stage(
        &self,
        declared: DateTime<Utc>,
        resolved: Option<DateTime<Utc>>,
        sent: &[SentNotice],
    ) -> Option<(Stage, DateTime<Utc>)> {
        let last = |stage: Stage| sent.iter().filter(|n| n.stage == stage).map(|n| n.sent_at).max();
        if let Some(resolved) = resolved {
            return match (last(Stage::Resolution), last(Stage::PostIncident)) {
                (_, Some(_)) => None,
                (Some(res), None) => Some((Stage::PostIncident, after(res, self.summary_after))),
                (None, None) => Some((Stage::Resolution, resolved)),
            };
        }
        let Some(initial) = last(Stage::Initial) else {
            return Some((Stage::Initial, declared));
        };
        let updates = [Stage::Update, Stage::Progress].into_iter().filter_map(last).max();
        match updates {
            None => Some((Stage::Update, after(initial.max(declared), self.update_after))),
            Some(latest) => Some((Stage::Progress, after(latest.max(initial), self.progress_every))),
        }
    }

    /// When the notice after one of `stage` sent at `sent_at` falls due, for its text ("next
    /// update at 23:10"). `None` after the summary, and for a resolution (the summary's time
    /// is a day off, not an update).
    pub fn next_update_after(&self, stage: Stage, sent_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match stage {
            Stage::Initial => Some(after(sent_at, self.update_after)),
            Stage::Update | Stage::Progress => Some(after(sent_at, self.progress_every)),
            Stage::Resolution | Stage::PostIncident => None,
        }
    }

    /// How well the cadence was kept: notices sent on time, of those that fell due by `now`
    /// (an overdue one not yet sent counts as late).
    pub fn kept(
        &self,
        declared: DateTime<Utc>,
        resolved: Option<DateTime<Utc>>,
        sent: &[SentNotice],
        now: DateTime<Utc>,
    ) -> CadenceKept {
        let grace = chrono::Duration::from_std(self.on_time_within).unwrap_or(chrono::Duration::zero());
        let on_time = sent.iter().filter(|n| n.sent_at <= n.due_at + grace).count();
        let mut due = sent.len();
        if let Some(next) = self.next_due(declared, resolved, sent)
            && next.overdue(now)
        {
            due += 1;
        }
        CadenceKept { on_time, due }
    }
}

/// "cadence kept: 5 of 6 on time".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CadenceKept {
    pub on_time: usize,
    pub due: usize,
}

impl fmt::Display for CadenceKept {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cadence kept: {} of {} on time", self.on_time, self.due)
    }
}

/// How an SMS is encoded and how many parts it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Segments {
    /// `gsm-7` or `ucs-2`.
    pub encoding: SmsEncoding,
    /// Characters as the network counts them (septets for GSM-7, UTF-16 units for UCS-2).
    pub units: usize,
    pub segments: usize,
}

impl fmt::Display for Segments {
    /// `183 characters · GSM-7 · 2 segments`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = if self.segments == 1 { "" } else { "s" };
        write!(f, "{} characters · {} · {} segment{plural}", self.units, self.encoding, self.segments)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SmsEncoding {
    #[serde(rename = "gsm-7")]
    Gsm7,
    #[serde(rename = "ucs-2")]
    Ucs2,
}

impl fmt::Display for SmsEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SmsEncoding::Gsm7 => "GSM-7",
            SmsEncoding::Ucs2 => "UCS-2",
        })
    }
}

/// The GSM 03.38 basic character set.
const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// The extension table: each costs two septets (an escape, then the character).
const GSM_EXTENDED: &str = "^{}\\[~]|€\u{c}";

/// GSM-7: 160 in one message, 153 per part; any other character makes it UCS-2: 70, 67.
pub fn sms_segments(text: &str) -> Segments {
    let gsm: Option<usize> = text.chars().try_fold(0usize, |n, c| {
        if GSM_BASIC.contains(c) {
            Some(n + 1)
        } else if GSM_EXTENDED.contains(c) {
            Some(n + 2)
        } else {
            None
        }
    });
    let (encoding, units, single, part) = match gsm {
        Some(n) => (SmsEncoding::Gsm7, n, 160, 153),
        None => (SmsEncoding::Ucs2, text.encode_utf16().count(), 70, 67),
    };
    let segments = if units <= single { 1 } else { units.div_ceil(part) };
    Segments { encoding, units, segments }
}

/// Is `number` in E.164: `+`, a country code that does not start with 0, 8 to 15 digits in all.
pub fn check_e164(number: &str) -> Result<(), String> {
    let Some(digits) = number.strip_prefix('+') else {
        return Err(format!(
            "\"{number}\" is not in E.164: it must start with + and the country code (+4915112345678)"
        ));
    };
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "\"{number}\" is not in E.164: only digits after the + (no spaces, dashes or brackets)"
        ));
    }
    if digits.starts_with('0') {
        return Err(format!("\"{number}\" is not in E.164: a country code never starts with 0"));
    }
    if !(8..=15).contains(&digits.len()) {
        return Err(format!(
            "\"{number}\" is not in E.164: {} digits after the +, a number has 8 to 15",
            digits.len()
        ));
    }
    Ok(())
}

/// A contact's quiet hours: a local time range in a time zone. The range may wrap midnight
/// (22:00-07:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
    pub zone: chrono_tz::Tz,
}

impl QuietHours {
    /// Parse `"22:00-07:00"` in `zone` (an IANA name, `Europe/Berlin`).
    pub fn parse(range: &str, zone: &str) -> Result<QuietHours, String> {
        let (a, b) = range
            .split_once('-')
            .ok_or_else(|| format!("\"{range}\" is not a time range: write it as 22:00-07:00"))?;
        let time = |s: &str| {
            NaiveTime::parse_from_str(s.trim(), "%H:%M")
                .map_err(|_| format!("\"{}\" is not a time of day: write it as HH:MM (22:00)", s.trim()))
        };
        let zone: chrono_tz::Tz = zone
            .parse()
            .map_err(|_| format!("\"{zone}\" is not a time zone: use an IANA name (Europe/Berlin, UTC)"))?;
        let (start, end) = (time(a)?, time(b)?);
        if start == end {
            return Err(format!("\"{range}\" is empty: the start and the end are the same time"));
        }
        Ok(QuietHours { start, end, zone })
    }

    /// Whether `at` falls inside the quiet hours, in the contact's time zone.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        let local = at.with_timezone(&self.zone).time();
        let local = NaiveTime::from_hms_opt(local.hour(), local.minute(), local.second()).unwrap_or(local);
        if self.start < self.end {
            local >= self.start && local < self.end
        } else {
            local >= self.start || local < self.end
        }
    }
}

/// Severities sev1 and sev2 reach people in their quiet hours; sev3 and sev4 wait for day.
pub fn overrides_quiet_hours(severity: u8) -> bool {
    severity <= 2
}

/// A notice as recorded: one stage of an incident's playbook, approved and queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoticeRecord {
    /// `INC-...-initial-1`
    pub id: String,
    pub incident: String,
    pub stage: Stage,
    pub seq: u32,
    pub due_at: DateTime<Utc>,
    pub sent_at: DateTime<Utc>,
    pub next_update: Option<DateTime<Utc>>,
    pub lists: Vec<String>,
    pub message: String,
    pub sent_by: String,
    pub job_id: Option<String>,
    /// What the external audience read (the status page shows it); none if none was told.
    pub external: Option<String>,
}

impl NoticeRecord {
    pub fn sent(&self) -> SentNotice {
        SentNotice { stage: self.stage, due_at: self.due_at, sent_at: self.sent_at }
    }
}

/// One outbox row: a message for one recipient on one channel, and how its delivery goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxRow {
    /// The idempotency key: `{notice}/{recipient}/{channel}`.
    pub key: String,
    pub notice: String,
    pub incident: String,
    pub recipient: String,
    pub channel: Channel,
    pub address: String,
    /// The exact bytes sent, on every attempt.
    #[serde(skip)]
    pub body: Vec<u8>,
    /// Subject, sender, segments, audience: what a screen shows without parsing the body.
    pub meta: serde_json::Value,
    pub state: DeliveryState,
    pub attempts: u32,
    pub next_attempt: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub provider_id: Option<String>,
    pub queued_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    /// The row this one stands in for, after that one fell back.
    pub fallback_of: Option<String>,
}

impl OutboxRow {
    pub fn key_for(notice: &str, recipient: &str, channel: Channel) -> String {
        format!("{notice}/{recipient}/{channel}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn due(stage: Stage, at: DateTime<Utc>) -> Due {
        Due { stage, at, late_after: at + chrono::Duration::minutes(5) }
    }

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 2, h, m, 0).single().unwrap_or_default()
    }

    #[test]
    fn stages_have_one_spelling_and_the_standards_words() {
        for s in Stage::ALL {
            assert_eq!(Stage::parse(s.name()), Ok(s));
            assert_eq!(serde_json::to_value(s).unwrap(), serde_json::json!(s.name()));
        }
        assert_eq!(Stage::parse("status-update"), Ok(Stage::Update));
        assert_eq!(Stage::parse("post_incident"), Ok(Stage::PostIncident));
        assert!(
            Stage::parse("later")
                .unwrap_err()
                .contains("initial, update, progress, resolution, post-incident")
        );
    }

    #[test]
    fn delivery_states_round_trip() {
        for s in DeliveryState::ALL {
            assert_eq!(DeliveryState::parse(s.name()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), serde_json::json!(s.name()));
        }
    }

    #[test]
    fn the_playbook_cadence() {
        let c = Cadence::default();
        let declared = t(22, 0);
        assert_eq!(c.next_due(declared, None, &[]), Some(due(Stage::Initial, declared)));
        let initial = SentNotice { stage: Stage::Initial, due_at: declared, sent_at: t(22, 2) };
        assert_eq!(c.next_due(declared, None, &[initial]), Some(due(Stage::Update, t(22, 32))));
        let update = SentNotice { stage: Stage::Update, due_at: t(22, 32), sent_at: t(22, 40) };
        assert_eq!(c.next_due(declared, None, &[initial, update]), Some(due(Stage::Progress, t(23, 10))));
        let progress = SentNotice { stage: Stage::Progress, due_at: t(23, 10), sent_at: t(23, 5) };
        assert_eq!(
            c.next_due(declared, None, &[update, progress, initial]),
            Some(due(Stage::Progress, t(23, 35)))
        );
        // Resolved: the resolution is due at once, then the summary a day after it.
        let all = [initial, update, progress];
        assert_eq!(c.next_due(declared, Some(t(23, 20)), &all), Some(due(Stage::Resolution, t(23, 20))));
        let resolution = SentNotice { stage: Stage::Resolution, due_at: t(23, 20), sent_at: t(23, 21) };
        let next = c.next_due(declared, Some(t(23, 20)), &[initial, update, progress, resolution]);
        assert_eq!(next, Some(due(Stage::PostIncident, t(23, 21) + chrono::Duration::hours(24))));
        let summary = SentNotice { stage: Stage::PostIncident, due_at: t(23, 21), sent_at: t(23, 30) };
        assert_eq!(c.next_due(declared, Some(t(23, 20)), &[initial, resolution, summary]), None);
    }

    #[test]
    fn cadence_kept_counts_the_late_and_the_overdue() {
        let c = Cadence::default();
        let declared = t(22, 0);
        let sent = [
            SentNotice { stage: Stage::Initial, due_at: declared, sent_at: t(22, 3) },
            SentNotice { stage: Stage::Update, due_at: t(22, 33), sent_at: t(22, 50) },
        ];
        // Next due 23:20; at 23:00 nothing is overdue.
        assert_eq!(c.kept(declared, None, &sent, t(23, 0)), CadenceKept { on_time: 1, due: 2 });
        // At 23:30 the progress update is 10 minutes overdue: late, and counted.
        let kept = c.kept(declared, None, &sent, t(23, 30));
        assert_eq!(kept, CadenceKept { on_time: 1, due: 3 });
        assert_eq!(kept.to_string(), "cadence kept: 1 of 3 on time");
    }

    #[test]
    fn segments_follow_gsm_and_ucs2() {
        let s = sms_segments(&"a".repeat(160));
        assert_eq!((s.encoding, s.units, s.segments), (SmsEncoding::Gsm7, 160, 1));
        assert_eq!(sms_segments(&"a".repeat(161)).segments, 2);
        assert_eq!(sms_segments(&"a".repeat(306)).segments, 2);
        assert_eq!(sms_segments(&"a".repeat(307)).segments, 3);
        // The extension characters cost two.
        let s = sms_segments(&"€".repeat(80));
        assert_eq!((s.encoding, s.units, s.segments), (SmsEncoding::Gsm7, 160, 1));
        assert_eq!(sms_segments(&"[".repeat(81)).segments, 2);
        // One curly quote or emoji makes the whole text UCS-2.
        let s = sms_segments(&format!("{}’", "a".repeat(69)));
        assert_eq!((s.encoding, s.units, s.segments), (SmsEncoding::Ucs2, 70, 1));
        assert_eq!(sms_segments(&format!("{}’", "a".repeat(70))).segments, 2);
        // An emoji is two UTF-16 units.
        assert_eq!(sms_segments("🔥").units, 2);
        assert_eq!(sms_segments("").segments, 1);
    }

    #[test]
    fn e164_numbers() {
        assert!(check_e164("+4915112345678").is_ok());
        assert!(check_e164("+14155550100").is_ok());
        assert!(check_e164("015112345678").unwrap_err().contains("must start with +"));
        assert!(check_e164("+49 151 1234").unwrap_err().contains("only digits"));
        assert!(check_e164("+0151123456").unwrap_err().contains("never starts with 0"));
        assert!(check_e164("+1234567").unwrap_err().contains("7 digits"));
        assert!(check_e164("+1234567890123456").unwrap_err().contains("16 digits"));
    }

    #[test]
    fn quiet_hours_wrap_midnight_in_the_contacts_zone() {
        let q = QuietHours::parse("22:00-07:00", "Europe/Berlin").unwrap();
        // Berlin is UTC+1 in December.
        assert!(q.contains(t(21, 0))); // 22:00 local
        assert!(!q.contains(t(20, 59))); // 21:59 local
        assert!(q.contains(t(5, 59))); // 06:59 local
        assert!(!q.contains(t(6, 0))); // 07:00 local
        let day = QuietHours::parse("12:00-13:00", "UTC").unwrap();
        assert!(day.contains(t(12, 30)) && !day.contains(t(13, 0)));
        assert!(QuietHours::parse("22:00", "UTC").unwrap_err().contains("22:00-07:00"));
        assert!(QuietHours::parse("22:00-07:00", "Mars/Olympus").unwrap_err().contains("IANA"));
        assert!(QuietHours::parse("25:00-07:00", "UTC").unwrap_err().contains("HH:MM"));
        assert!(overrides_quiet_hours(1) && overrides_quiet_hours(2) && !overrides_quiet_hours(3));
    }

    #[test]
    fn outbox_health_is_the_worst_row() {
        use DeliveryState::*;
        assert_eq!(
            OutboxHealth::of([Sent, DeliveredToProvider, SuppressedQuietHours, FallbackUsed]),
            OutboxHealth::Delivered
        );
        assert_eq!(OutboxHealth::of([Sent, FailedRetrying]), OutboxHealth::Retrying);
        assert_eq!(OutboxHealth::of([FailedPermanent, Queued]), OutboxHealth::Failed);
        assert_eq!(OutboxHealth::of([]).exit_code(), 0);
    }

    #[test]
    fn backoff_grows_caps_and_honours_retry_after() {
        assert_eq!(backoff(1, None), Duration::from_secs(5));
        assert_eq!(backoff(2, None), Duration::from_secs(10));
        assert_eq!(backoff(20, None), Duration::from_secs(300));
        assert_eq!(backoff(1, Some(Duration::from_secs(30))), Duration::from_secs(30));
        assert_eq!(backoff(7, Some(Duration::from_secs(1))), Duration::from_secs(300));
        assert_eq!(backoff(1, Some(Duration::from_secs(86400))), Duration::from_secs(3600));
    }

    proptest! {
        #[test]
        fn segments_never_undercount(text in "[a-z€\\[ ’🔥]{0,400}") {
            let s = sms_segments(&text);
            let (single, part) = match s.encoding { SmsEncoding::Gsm7 => (160, 153), SmsEncoding::Ucs2 => (70, 67) };
            prop_assert!(s.segments >= 1);
            if s.segments == 1 { prop_assert!(s.units <= single); } else { prop_assert!(s.units <= s.segments * part && s.units > (s.segments - 1) * part); }
        }

        #[test]
        fn the_next_notice_is_never_before_the_last_one_sent(
            gaps in proptest::collection::vec(0u32..7200, 0..6), resolved_after in proptest::option::of(0u32..20000)
        ) {
            let c = Cadence::default();
            let declared = t(0, 0);
            let mut sent = Vec::new();
            let mut at = declared;
            for (i, g) in gaps.iter().enumerate() {
                at += chrono::Duration::seconds(i64::from(*g));
                let stage = match i { 0 => Stage::Initial, 1 => Stage::Update, _ => Stage::Progress };
                sent.push(SentNotice { stage, due_at: at, sent_at: at });
            }
            let resolved = resolved_after.map(|s| at + chrono::Duration::seconds(i64::from(s)));
            if let Some(due) = c.next_due(declared, resolved, &sent) {
                prop_assert!(due.at >= declared);
                if resolved.is_none() { prop_assert!(due.at >= at); }
            }
        }
    }
}
