//! How durations read to a person: `1h30m` for objectives, `01:12:09` for running clocks.

use std::fmt::Write;
use std::time::Duration;

/// A compact human form: `45s`, `15m`, `1h30m`, `72h`, `10d`. Hours up to a week, as the
/// standard writes objectives (24h, 72h); days beyond. Sub-second parts are dropped.
pub fn human(d: Duration) -> String {
    let mut secs = d.as_secs();
    if secs == 0 {
        return "0s".to_owned();
    }
    let units: &[(&str, u64)] = if secs >= 7 * 86_400 {
        &[("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)]
    } else {
        &[("h", 3_600), ("m", 60), ("s", 1)]
    };
    let mut out = String::new();
    for &(unit, size) in units {
        let n = secs / size;
        if n > 0 {
            let _ = write!(out, "{n}{unit}");
            secs %= size;
        }
    }
    out
}

/// A running clock: `MM:SS` under an hour, `HH:MM:SS` under a day, `Nd HH:MM:SS` beyond.
pub fn clock(d: Duration) -> String {
    let secs = d.as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (h, m, s) = (rest / 3600, (rest % 3600) / 60, rest % 60);
    match (days, h) {
        (0, 0) => format!("{m:02}:{s:02}"),
        (0, _) => format!("{h:02}:{m:02}:{s:02}"),
        _ => format!("{days}d {h:02}:{m:02}:{s:02}"),
    }
}

/// `0:37:00`, `75:00:00`: hours, minutes and seconds, never ambiguous, for RTO clocks.
pub fn hms(d: Duration) -> String {
    let secs = d.as_secs();
    format!("{}:{:02}:{:02}", secs / 3600, (secs % 3600) / 60, secs % 60)
}

pub(crate) fn serialize_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_secs())
}

pub(crate) fn serialize_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

/// Parse `"90s"`, `"30m"`, `"4h"`, `"1h30m"`, `"2d"`, `"1w"`, `"4 hours"`, `"1h 30min"`.
///
/// Only units that cannot be misread are taken: no months or years (write days), no
/// sub-second units (warroom counts whole seconds), and no `M` (minutes or months?).
pub fn parse(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    let example = "write it like \"30m\", \"4h\" or \"1h30m\"";
    if s.is_empty() {
        return Err(format!("the duration is empty; {example}"));
    }
    if s.starts_with('-') {
        return Err(format!("\"{text}\" is negative; durations are positive: {example}"));
    }
    let mut total: u64 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!("\"{text}\" is not a duration; {example}"));
        }
        let n: u64 = rest[..digits].parse().map_err(|_| format!("\"{text}\" is too long a duration"))?;
        rest = rest[digits..].trim_start();
        let unit_len = rest.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = rest[unit_len..].trim_start();
        let size = match unit {
            "s" | "sec" | "secs" | "second" | "seconds" => 1,
            "m" | "min" | "mins" | "minute" | "minutes" => 60,
            "h" | "hr" | "hrs" | "hour" | "hours" => 3_600,
            "d" | "day" | "days" => 86_400,
            "w" | "week" | "weeks" => 7 * 86_400,
            "" => return Err(format!("\"{text}\": {n} has no unit; {example}")),
            "M" => {
                return Err(format!(
                    "\"{text}\": `M` could mean minutes or months; write `m` for minutes, or days for longer"
                ));
            }
            "ms" | "us" | "µs" | "ns" | "msec" | "usec" | "nsec" => {
                return Err(format!("\"{text}\": warroom counts whole seconds; write at least \"1s\""));
            }
            "y" | "year" | "years" | "month" | "months" | "mo" => {
                return Err(format!("\"{text}\": write long durations in days or weeks, like \"30d\""));
            }
            other => {
                return Err(format!("\"{text}\": unknown unit \"{other}\"; use s, m, h, d or w: {example}"));
            }
        };
        total = n
            .checked_mul(size)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("\"{text}\" is too long a duration"))?;
    }
    if total == 0 {
        return Err(format!("duration \"{text}\" is zero; write a positive duration such as \"30m\""));
    }
    Ok(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_forms() {
        let s = Duration::from_secs;
        assert_eq!(human(s(0)), "0s");
        assert_eq!(human(s(45)), "45s");
        assert_eq!(human(s(900)), "15m");
        assert_eq!(human(s(5400)), "1h30m");
        assert_eq!(human(s(24 * 3600)), "24h");
        assert_eq!(human(s(72 * 3600)), "72h");
        assert_eq!(human(s(100 * 3600 + 61)), "100h1m1s");
        assert_eq!(human(s(10 * 86_400)), "10d");
    }

    #[test]
    fn clock_forms() {
        let s = Duration::from_secs;
        assert_eq!(clock(s(0)), "00:00");
        assert_eq!(clock(s(192)), "03:12");
        assert_eq!(clock(s(2232)), "37:12");
        assert_eq!(clock(s(3600 + 2232)), "01:37:12");
        assert_eq!(clock(s(86_400 + 61)), "1d 00:01:01");
    }
}
