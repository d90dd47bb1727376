//! Value types shared by every section: human durations and tier numbers.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use crate::model::Tier;

/// A duration written the way people write them: `"30m"`, `"4h"`, `"1h30m"`, `"90s"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HumanDuration(pub Duration);

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = HumanDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"30m\", \"4h\" or \"1h30m\"")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<HumanDuration, E> {
                parse_duration(s).map(HumanDuration).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<HumanDuration, E> {
                Err(E::custom(format!(
                    "a bare number ({n}) has no unit; write a duration in quotes, such as \"{n}m\" or \"{n}s\""
                )))
            }
        }
        d.deserialize_any(V)
    }
}

pub use crate::model::duration::parse as parse_duration;

/// A tier number, 1 to 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TierNumber(pub Tier);

impl<'de> Deserialize<'de> for TierNumber {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = TierNumber;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a tier number from 1 to 4")
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<TierNumber, E> {
                Tier::from_number(n).map(TierNumber).ok_or_else(|| E::custom(tier_help(&n.to_string())))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<TierNumber, E> {
                let n = s.trim().trim_start_matches(['t', 'T']).trim_start_matches("ier").trim();
                match n.parse::<i64>().ok().and_then(Tier::from_number) {
                    Some(t) => Err(E::custom(format!(
                        "tier is written as a bare number: write `tier = {}` instead of `tier = \"{s}\"`",
                        t.number()
                    ))),
                    None => Err(E::custom(tier_help(&format!("\"{s}\"")))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

fn tier_help(got: &str) -> String {
    format!(
        "tier {got} does not exist: use 1 ({}), 2 ({}), 3 ({}) or 4 ({})",
        Tier::One.label(),
        Tier::Two.label(),
        Tier::Three.label(),
        Tier::Four.label()
    )
}

/// Is `name` usable as a system (or location, contact...) name: letters, digits, `-`, `_`, `.`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
}

/// A suggestion for an invalid name: spaces and other characters become `-`, lower-cased.
pub fn suggest_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '_' | '.') {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-').to_owned();
    if out.is_empty() { "my-system".to_owned() } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Debug)]
    struct T {
        d: Option<HumanDuration>,
        t: Option<TierNumber>,
    }

    fn parse(s: &str) -> Result<T, String> {
        toml::from_str::<T>(s).map_err(|e| e.message().to_owned())
    }

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(
            parse("d = \"1h30m\"").ok().and_then(|t| t.d),
            Some(HumanDuration(Duration::from_secs(5400)))
        );
        assert!(parse("d = \"4 hours\"").is_ok());
        let e = parse("d = \"soon\"").err().unwrap_or_default();
        assert!(e.contains("\"soon\" is not a duration"), "{e}");
        let e = parse("d = 30").err().unwrap_or_default();
        assert!(e.contains("has no unit"), "{e}");
        let e = parse("d = \"0s\"").err().unwrap_or_default();
        assert!(e.contains("is zero"), "{e}");
        let secs = |t: &str| parse_duration(t).map(|d| d.as_secs());
        assert_eq!(secs("1h 30min"), Ok(5400));
        assert_eq!(secs("2d"), Ok(172_800));
        assert_eq!(secs("1w"), Ok(604_800));
        assert_eq!(secs("90s"), Ok(90));
        for bad in ["15M", "500ms", "1y", "2months", "-5m", "1h30", "fast", ""] {
            assert!(parse_duration(bad).is_err(), "{bad} accepted");
        }
        assert!(parse_duration("15M").unwrap_err().contains("minutes or months"));
        assert!(parse_duration("-5m").unwrap_err().contains("negative"));
    }

    #[test]
    fn tiers_are_one_to_four() {
        assert_eq!(parse("t = 2").ok().and_then(|t| t.t), Some(TierNumber(Tier::Two)));
        let e = parse("t = 5").err().unwrap_or_default();
        assert!(e.contains("tier 5 does not exist"), "{e}");
        let e = parse("t = \"1\"").err().unwrap_or_default();
        assert!(e.contains("write `tier = 1`"), "{e}");
    }

    #[test]
    fn names() {
        assert!(valid_name("api-v2.eu_1"));
        assert!(!valid_name("my api"));
        assert!(!valid_name("-api"));
        assert_eq!(suggest_name("My API!"), "my-api");
    }
}
