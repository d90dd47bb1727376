//! Secrets never live in the configuration file.
//!
//! A field that needs a secret comes in two forms, `<field>_env = "VARIABLE"` (read from the
//! environment) and `<field>_file = "/path"` (read from a file only warroom can read). Any value
//! that looks like an inline secret is rejected, and the rejection never echoes the value.

use std::fmt;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};

use super::diagnostic::{Diagnostic, Report};
use super::document::{Node, element_label};

/// Where a secret is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    Env(String),
    File(PathBuf),
}

/// A secret's value. Its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretError {
    EnvUnset(String),
    FileUnreadable { path: PathBuf, reason: String },
    Empty(String),
}

impl fmt::Display for SecretError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretError::EnvUnset(var) => {
                write!(f, "environment variable {var} is not set; export it before starting warroom")
            }
            SecretError::FileUnreadable { path, reason } => {
                write!(f, "cannot read secret file {}: {reason}", path.display())
            }
            SecretError::Empty(from) => write!(f, "the secret from {from} is empty"),
        }
    }
}

impl std::error::Error for SecretError {}

impl SecretSource {
    /// Pick the source from a `<field>_env` / `<field>_file` pair. Exactly one must be set;
    /// `key` names the field for the message (`notify.smtp.password`).
    pub fn from_pair(
        key: &str,
        env: Option<String>,
        file: Option<PathBuf>,
        base_dir: &Path,
    ) -> Result<Option<SecretSource>, String> {
        match (env, file) {
            (Some(_), Some(_)) => Err(format!("{key}: set either {key}_env or {key}_file, not both")),
            (Some(var), None) => Ok(Some(SecretSource::Env(var))),
            (None, Some(path)) => Ok(Some(SecretSource::File(base_dir.join(path)))),
            (None, None) => Ok(None),
        }
    }

    /// Read the secret now (at the moment it is needed, never at config load).
    pub fn resolve(&self) -> Result<Secret, SecretError> {
        let (value, from) = match self {
            SecretSource::Env(var) => match std::env::var(var) {
                Ok(v) => (v, format!("${var}")),
                Err(_) => return Err(SecretError::EnvUnset(var.clone())),
            },
            SecretSource::File(path) => match std::fs::read_to_string(path) {
                Ok(v) => (v, path.display().to_string()),
                Err(e) => {
                    return Err(SecretError::FileUnreadable { path: path.clone(), reason: e.to_string() });
                }
            },
        };
        let value = value.trim_end_matches(['\n', '\r']).to_owned();
        if value.is_empty() {
            return Err(SecretError::Empty(from));
        }
        Ok(Secret(value))
    }
}

/// Key names that hold secrets when written inline.
fn secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    if k.ends_with("_env") || k.ends_with("_file") {
        return false;
    }
    const EXACT: &[&str] = &[
        "password",
        "passwd",
        "pass",
        "secret",
        "token",
        "api_key",
        "apikey",
        "access_key",
        "secret_key",
        "private_key",
        "credentials",
        "auth_token",
        "client_secret",
        "passphrase",
    ];
    EXACT.contains(&k.as_str())
        || [
            "_password",
            "_passwd",
            "_token",
            "_secret",
            "_secret_key",
            "_api_key",
            "_private_key",
            "_passphrase",
        ]
        .iter()
        .any(|s| k.ends_with(s))
}

/// What a value that looks like a secret looks like, if it does.
pub(crate) fn secret_value(value: &str) -> Option<&'static str> {
    let v = value.trim();
    let has = |p: &str| v.contains(p);
    if has("AGE-SECRET-KEY-1") {
        return Some("an age private key");
    }
    if has("-----BEGIN") && has("PRIVATE KEY") {
        return Some("a PEM private key");
    }
    if aws_access_key(v) {
        return Some("an AWS access key");
    }
    if ["xoxb-", "xoxp-", "xoxa-", "xoxs-"].iter().any(|p| v.starts_with(p)) {
        return Some("a Slack token");
    }
    if v.starts_with("ghp_") || v.starts_with("github_pat_") {
        return Some("a GitHub token");
    }
    if v.starts_with("sk_live_") || v.starts_with("rk_live_") {
        return Some("an API secret key");
    }
    if url_with_password(v) {
        return Some("a URL with a password in it");
    }
    let lower = v.to_ascii_lowercase();
    if lower.starts_with("bearer ") || lower.starts_with("basic ") {
        return Some("an Authorization credential");
    }
    None
}

fn aws_access_key(v: &str) -> bool {
    v.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| {
        w.len() == 20
            && (w.starts_with("AKIA") || w.starts_with("ASIA"))
            && w.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    })
}

fn url_with_password(v: &str) -> bool {
    let Some((_, rest)) = v.split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    match authority.rsplit_once('@') {
        Some((userinfo, _)) => userinfo.split_once(':').is_some_and(|(_, pw)| !pw.is_empty()),
        None => false,
    }
}

/// Report every inline secret in the document. Their values are masked in any output.
pub fn scan(root: &DeTable<'_>, report: &mut Report) {
    scan_table(root, "", report);
}

fn scan_table(table: &DeTable<'_>, path: &str, report: &mut Report) {
    for (key, value) in table.iter() {
        let key_name: &str = key.get_ref();
        let here = if path.is_empty() { key_name.to_owned() } else { format!("{path}.{key_name}") };
        if let DeValue::String(s) = value.get_ref()
            && secret_key(key_name)
            && !s.is_empty()
        {
            flag(report, &here, Some(key_name), value, "a secret");
            continue;
        }
        scan_value(value, &here, report);
    }
}

fn scan_value(value: &Node<'_>, here: &str, report: &mut Report) {
    match value.get_ref() {
        DeValue::String(s) => {
            if let Some(what) = secret_value(s) {
                flag(report, here, None, value, what);
            }
        }
        DeValue::Table(t) => scan_table(t, here, report),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                scan_value(item, &format!("{here}{}", element_label(item, i)), report);
            }
        }
        _ => {}
    }
}

/// `secret_field` is the key when its name says it holds a secret (`password`).
fn flag(report: &mut Report, path: &str, secret_field: Option<&str>, value: &Node<'_>, what: &str) {
    let help = match secret_field {
        Some(field) => format!(
            "put it in an environment variable and write `{field}_env = \"VARIABLE_NAME\"`, \
             or in a file only warroom can read and write `{field}_file = \"/path/to/secret\"`"
        ),
        None => "remove it from the file (and rotate it: it has been on disk in plain text); \
                 fields that need a secret take `<field>_env = \"VARIABLE_NAME\"` or `<field>_file = \"/path\"`"
            .to_owned(),
    };
    report.hide_secret(value.span());
    report.push(
        Diagnostic::error(format!(
            "{path} looks like {what} written inline; secrets never go in the config file"
        ))
        .at(path, Some(value.span()))
        .help(help),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn scan_text(text: &str) -> Report {
        let (root, _) = DeTable::parse_recoverable(text);
        let mut report = Report::new(Path::new("t.toml"), text);
        scan(root.get_ref(), &mut report);
        report
    }

    #[test]
    fn inline_secrets_are_rejected_with_the_way_to_do_it() {
        let r = scan_text("[notify.smtp]\npassword = \"hunter2\"\n");
        let d = &r.diagnostics[0];
        assert_eq!(d.key.as_deref(), Some("notify.smtp.password"));
        assert!(d.help.as_deref().unwrap_or("").contains("password_env = \"VARIABLE_NAME\""));
        assert!(!r.render(false).contains("hunter2"));
    }

    #[test]
    fn secret_looking_values_are_caught_anywhere() {
        for v in [
            "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ",
            "AKIAIOSFODNN7EXAMPLE",
            "https://admin:s3cret@dns.internal/api",
            "Bearer abcdef",
            "xoxb-123-456",
        ] {
            let r = scan_text(&format!("[[systems]]\nname = \"x\"\ndescription = \"{v}\"\n"));
            assert_eq!(r.diagnostics.len(), 1, "{v}");
            assert_eq!(r.diagnostics[0].key.as_deref(), Some("systems[x].description"));
        }
    }

    #[test]
    fn references_to_secrets_are_fine() {
        let r = scan_text(
            "password_env = \"SMTP_PASSWORD\"\ntoken_file = \"/run/secrets/t\"\nurl = \"https://user@host/\"\nname = \"token\"\n",
        );
        assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
    }

    #[test]
    fn pairs_resolve_from_env_or_file() {
        let dir = std::env::temp_dir();
        assert_eq!(
            SecretSource::from_pair("password", Some("X".into()), None, &dir),
            Ok(Some(SecretSource::Env("X".into())))
        );
        assert!(SecretSource::from_pair("password", Some("X".into()), Some("f".into()), &dir).is_err());
        assert_eq!(SecretSource::from_pair("password", None, None, &dir), Ok(None));

        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), "s3cret\n").unwrap();
        let secret = SecretSource::File(file.path().to_owned()).resolve().unwrap();
        assert_eq!(secret.expose(), "s3cret");
        assert_eq!(format!("{secret:?}"), "Secret(***)");
        let missing = SecretSource::Env("WARROOM_TEST_SURELY_UNSET_VAR".into()).resolve();
        assert!(matches!(missing, Err(SecretError::EnvUnset(_))));
    }
}
