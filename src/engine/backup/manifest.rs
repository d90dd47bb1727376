//! What a backup is: its manifest (plain JSON, written last) and its file index (encrypted).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{BackupKind, BackupSummary};

/// The manifest format; a newer warroom reads older ones. Format 2 manifests are signed
/// (`manifest.json.minisig`); format 1 ones were made before backups were signed.
pub const FORMAT: u32 = 2;
pub const FORMAT_BEFORE_SIGNING: u32 = 1;

/// A backup's manifest, as stored in each location it was written to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub id: String,
    pub system: String,
    pub kind: BackupKind,
    /// The backup an incremental or differential one builds on.
    pub parent: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub source: SourceInfo,
    /// Entries in the file listing (the whole tree), and how many of them this backup stores.
    pub files: u64,
    pub stored_files: u64,
    pub deleted_files: u64,
    /// Bytes read from the source, and bytes of the data object (compressed, encrypted).
    pub plain_size: u64,
    pub stored_size: u64,
    /// SHA-256 of the data object as stored, hex.
    pub sha256: String,
    pub index_size: u64,
    pub index_sha256: String,
    /// SHA-256 of each recipient's public key (the first 16 hex digits): which keys can read it.
    pub recipients: Vec<String>,
    pub compression: String,
    pub encryption: String,
    pub tool: String,
    /// Locations that failed while this backup was written, with why.
    #[serde(default)]
    pub degraded: Vec<LocationFailure>,
    /// Immutable locations whose copy is locked, and until when: prune leaves it until then.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub immutable_until: std::collections::BTreeMap<String, DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocationFailure {
    pub location: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SourceInfo {
    /// A file or folder: the data object is a tar archive.
    Path { path: String },
    /// A program's output: the data object is the output itself.
    Command { command: String, file: String },
}

impl Manifest {
    pub fn summary(&self, verified_at: Option<DateTime<Utc>>) -> BackupSummary {
        BackupSummary {
            id: self.id.clone(),
            at: self.started_at,
            kind: self.kind,
            parent: self.parent.clone(),
            verified_at,
        }
    }
}

/// One entry of a backup's file listing: the whole tree as it was, and whether this backup
/// holds the entry's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexEntry {
    /// Relative to the source, with `/`.
    pub path: String,
    pub kind: EntryKind,
    pub size: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime: i128,
    /// Status change time, nanoseconds since the epoch (0: not recorded). A rewrite that puts
    /// the size and the modification time back still changes it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub ctime: i128,
    pub mode: u32,
    /// Files, in listings written before BLAKE3: SHA-256 of the content, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Files: BLAKE3 of the content, hex (the stored object itself keeps its SHA-256).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blake3: Option<String>,
    /// Symlinks: where it points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The content is in this backup's data (else in an ancestor's).
    pub stored: bool,
}

fn is_zero(n: &i128) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
}

/// A backup's file listing.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Index {
    pub entries: Vec<IndexEntry>,
    /// Paths present in the parent's listing and gone since.
    pub deleted: Vec<String>,
}

/// A backup id: its start time (sortable) and a random suffix: `20261126T224107Z-3fa9c1`.
pub fn new_id(at: DateTime<Utc>) -> String {
    let mut bytes = [0u8; 3];
    // An id needs no strong randomness (a collision draws again): zeros if the source fails.
    let _ = super::keys::random(&mut bytes);
    let nanos = at.timestamp_subsec_nanos();
    let suffix: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{suffix}{:02x}", at.format("%Y%m%dT%H%M%SZ"), (nanos >> 24) & 0xff)
}

/// The short fingerprint recorded for a recipient.
pub fn fingerprint(recipient: &str) -> String {
    use sha2::{Digest, Sha256};
    format!("{:x}", Sha256::digest(recipient.as_bytes())).chars().take(16).collect()
}

/// A backup id is a plain name: it becomes a folder name in repositories, in the state
/// directory's listing cache and in a restore's staging folder, so one read from a location
/// is checked before it is used in a path.
pub fn check_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && !id.starts_with('.')
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if ok { Ok(()) } else { Err(format!("\"{}\" is not a backup id: refused", id.escape_debug())) }
}

/// Whether a backup's manifest can be believed: signed by a configured signer, or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Trust {
    /// Signed by the configured signer with this key id.
    Signed { key: String },
    /// No signature, and from before backups were signed (format 1, older than every signed
    /// backup of its system). Not used until adopted (`warroom backup adopt`).
    Unsigned,
    /// Not signed by a trusted key, with why: ignored for listing counts, verification, RPO
    /// and restore (unless named and confirmed through a typed gate).
    Untrusted { reason: String },
}

impl Trust {
    pub fn trusted(&self) -> bool {
        matches!(self, Trust::Signed { .. })
    }

    /// As the catalog stores it.
    pub fn encode(&self) -> String {
        match self {
            Trust::Signed { key } => format!("signed {key}"),
            Trust::Unsigned => "unsigned".to_owned(),
            Trust::Untrusted { reason } => format!("untrusted {reason}"),
        }
    }

    pub fn decode(text: &str) -> Trust {
        match text.split_once(' ') {
            Some(("signed", key)) => Trust::Signed { key: key.to_owned() },
            Some(("untrusted", reason)) => Trust::Untrusted { reason: reason.to_owned() },
            None if text == "unsigned" => Trust::Unsigned,
            _ => Trust::Untrusted { reason: "not checked yet".to_owned() },
        }
    }

    /// How a listing shows it.
    pub fn label(&self) -> String {
        match self {
            Trust::Signed { key } => format!("signed by {key}"),
            Trust::Unsigned => "unsigned (made before signing)".to_owned(),
            Trust::Untrusted { reason } => format!("not signed by a trusted key: ignored ({reason})"),
        }
    }
}
/// A file's content checked against its listing as it is read: BLAKE3 for listings that have
/// it, SHA-256 for those written before.
#[derive(Clone)]
pub enum ContentCheck {
    Blake3(Box<blake3::Hasher>, String),
    Sha256(sha2::Sha256, String),
}

impl ContentCheck {
    /// How `entry`'s content is checked; `None` when its listing gives no hash for it.
    pub fn of(entry: &IndexEntry) -> Option<ContentCheck> {
        use sha2::Digest;
        match (&entry.blake3, &entry.sha256) {
            (Some(b), _) => Some(ContentCheck::Blake3(Box::new(blake3::Hasher::new()), b.clone())),
            (None, Some(s)) => Some(ContentCheck::Sha256(sha2::Sha256::new(), s.clone())),
            (None, None) => None,
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        use sha2::Digest;
        match self {
            ContentCheck::Blake3(h, _) => {
                h.update(data);
            }
            ContentCheck::Sha256(h, _) => h.update(data),
        }
    }

    /// Whether what was read is what the listing says.
    pub fn matches(self) -> bool {
        use sha2::Digest;
        match self {
            ContentCheck::Blake3(h, want) => h.finalize().to_hex().as_str() == want,
            ContentCheck::Sha256(h, want) => format!("{:x}", h.finalize()) == want,
        }
    }
}
