//! The audit chain's head, anchored outside the database: every backup writes the chain's
//! current head (sequence number and hash), signed by the backup host, beside itself at each
//! location. `audit verify` checks the chain against the newest anchors it can read, so a chain
//! rewritten from scratch in the database (every hash recomputed) no longer matches.
//!
//! ```text
//! warroom/<system>/<backup id>/anchor.json          {"format":1,"state":"host:/var/lib/warroom","seq":812,"hash":"…",…}
//! warroom/<system>/<backup id>/anchor.json.minisig  minisign signature; trusted comment "warroom audit anchor …"
//! ```

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub const FORMAT: u32 = 1;

/// The head of one state's audit chain when a backup was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anchor {
    pub format: u32,
    /// Which chain: the host and state folder it lives in (`host:/path`).
    pub state: String,
    pub seq: i64,
    pub hash: String,
    pub at: DateTime<Utc>,
    pub system: String,
    pub backup: String,
}

impl Anchor {
    pub fn to_bytes(&self) -> Vec<u8> {
        // Plain strings and numbers: serialising it cannot fail.
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    /// The trusted comment of its signature: what `minisign -V` prints.
    pub fn comment(&self) -> String {
        format!("warroom audit anchor {} #{} {}", self.state, self.seq, self.hash)
    }
}

/// Which chain a state folder holds: its host and folder.
pub fn state_name(host: &str, state_dir: &std::path::Path) -> String {
    let dir = std::fs::canonicalize(state_dir).unwrap_or_else(|_| state_dir.to_owned());
    format!("{host}:{}", dir.display())
}

/// One anchor read back, and what the chain says at its record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnchorCheck {
    pub location: String,
    pub system: String,
    pub backup: String,
    pub seq: i64,
    pub signed_by: String,
    /// What is wrong, when the chain does not match it.
    pub problem: Option<String>,
}
