//! The state store: one SQLite database per state directory (`state_dir/warroom.db`).
//!
//! WAL journal, migrations embedded in the binary, SQL kept portable to PostgreSQL (plain types,
//! `$n` placeholders, `ON CONFLICT` upserts). Several processes may open the same database: a
//! lock file serialises creating it and its migrations, a busy timeout serialises the processes'
//! writers, and every database error is turned into a [`StoreError`] that says what happened and
//! what to do. Within a process, writes go through one connection with group commit
//! ([`writer`]); reads through a pool of their own.

pub mod audit;
pub mod catalog;
pub mod exercises;
pub mod failover;
pub mod incidents;
pub mod jobs;
pub mod outbox;
pub mod plan;
pub mod programme;
mod writer;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sqlx::ConnectOptions;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use audit::{AuditProblem, AuditRecord, NewAuditRecord, Outcome, Verification};
pub use catalog::CatalogEntry;
pub use jobs::{JobRow, LockHeld, ts};

/// How long a writer waits for another process holding the database before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(15);

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// An open state store.
#[derive(Clone)]
pub struct Store {
    /// Readers: several at once (WAL lets them read while a write goes on).
    pool: SqlitePool,
    /// The one connection that writes, with group commit.
    writer: std::sync::Arc<writer::Writer>,
    path: PathBuf,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The state directory or database file could not be created or opened.
    #[error("cannot open the state database {}: {reason}", path.display())]
    Open { path: PathBuf, reason: String },
    /// Another process kept the database locked for longer than we wait.
    #[error(
        "the state database {} stayed locked by another process; try again, or find the process holding it (fuser {})",
        path.display(),
        path.display()
    )]
    Busy { path: PathBuf },
    /// The file is not a database, or is damaged.
    #[error(
        "the state database {} is damaged ({reason}); move it aside (keep it for investigation) and start again, or restore it from a copy",
        path.display()
    )]
    Corrupt { path: PathBuf, reason: String },
    /// The database was written by a newer warroom.
    #[error(
        "the state database {} was written by a newer warroom (schema version {version}); use that version, or point console.state_dir elsewhere",
        path.display()
    )]
    NewerSchema { path: PathBuf, version: i64 },
    /// Any other database failure, with what we were doing.
    #[error("state database {}: {doing} failed: {reason}", path.display())]
    Failed { path: PathBuf, doing: &'static str, reason: String },
}

impl StoreError {
    /// Classify a database error. `doing` says what we were doing, for the message.
    pub(crate) fn from_sqlx(path: &Path, doing: &'static str, e: sqlx::Error) -> StoreError {
        let path = path.to_owned();
        if let sqlx::Error::Database(db) = &e {
            let primary = db.code().and_then(|c| c.parse::<i64>().ok()).map(|c| c & 0xff);
            let message = db.message().to_owned();
            return match primary {
                Some(5) | Some(6) => StoreError::Busy { path },
                Some(11) | Some(26) => StoreError::Corrupt { path, reason: message },
                // A table or column that should exist does not: the schema was changed by hand.
                Some(1) if message.starts_with("no such") => StoreError::Corrupt {
                    path,
                    reason: format!("its tables were changed by hand: {message}"),
                },
                Some(8) => StoreError::Open { path, reason: format!("it is read-only here ({message})") },
                Some(13) => StoreError::Failed { path, doing, reason: "the disk is full".into() },
                _ => StoreError::Failed { path, doing, reason: message },
            };
        }
        match e {
            sqlx::Error::PoolTimedOut => StoreError::Busy { path },
            sqlx::Error::Io(io) => StoreError::Failed { path, doing, reason: io.to_string() },
            other => StoreError::Failed { path, doing, reason: other.to_string() },
        }
    }

    pub fn is_busy(&self) -> bool {
        matches!(self, StoreError::Busy { .. })
    }

    /// A row with that key exists already.
    pub fn is_duplicate(&self) -> bool {
        matches!(self, StoreError::Failed { reason, .. } if reason.starts_with("UNIQUE constraint failed"))
    }
}

impl Store {
    /// Open (creating if needed) the store in `state_dir` and bring its schema up to date.
    pub async fn open(state_dir: &Path) -> Result<Store, StoreError> {
        let path = state_dir.join("warroom.db");
        create_private_dir(state_dir).map_err(|reason| StoreError::Open { path: path.clone(), reason })?;

        // Two processes starting at once would race to create the file, switch it to WAL (which
        // fails at once, without waiting, when another connection is mid-switch) and apply the
        // migrations (sqlx does not lock them on SQLite). A lock file next to the database makes
        // the second one wait until the first has finished all three.
        let lock = lock_file(&state_dir.join("warroom.db.lock"), &path).await?;
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let opening = |e| match StoreError::from_sqlx(&path, "opening", e) {
            StoreError::Failed { path, reason, .. } => StoreError::Open { path, reason },
            other => other,
        };
        let mut conn = options.connect().await.map_err(opening)?;
        restrict_to_owner(&path);
        let migrated = MIGRATOR.run(&mut conn).await;
        if let Err(e) = migrated {
            return Err(match e {
                sqlx::migrate::MigrateError::VersionMissing(version) => {
                    StoreError::NewerSchema { path, version }
                }
                sqlx::migrate::MigrateError::Execute(e) => {
                    StoreError::from_sqlx(&path, "updating the schema", e)
                }
                other => StoreError::Failed { path, doing: "updating the schema", reason: other.to_string() },
            });
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(BUSY_TIMEOUT + Duration::from_secs(5))
            // A local file does not go stale between uses; the ping would cost a round trip to
            // the connection's thread on every query.
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(opening)?;
        drop(lock);
        let writer = std::sync::Arc::new(writer::Writer::start(conn, path.clone()));
        Ok(Store { pool, writer, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// For reading.
    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub(crate) fn error(&self, doing: &'static str) -> impl Fn(sqlx::Error) -> StoreError + '_ {
        move |e| StoreError::from_sqlx(&self.path, doing, e)
    }

    pub async fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar::<_, String>("SELECT value FROM meta WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(self.error("reading meta"))
    }

    pub async fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        let mut w = self.write("writing meta").await?;
        audit::upsert_meta(&mut w, key, value).await.map_err(self.error("writing meta"))?;
        w.commit().await
    }

    /// Close the pool, checkpointing the WAL.
    pub async fn close(self) {
        self.writer.close(&self.path).await;
        self.pool.close().await;
    }
}

/// A stored time; one that does not parse is a damaged row, never "now" or "never".
pub(crate) fn time(what: &str, t: String) -> Result<chrono::DateTime<chrono::Utc>, sqlx::Error> {
    chrono::DateTime::parse_from_rfc3339(&t)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| sqlx::Error::Decode(format!("{what} \"{t}\" is not a time: {e}").into()))
}

pub(crate) fn maybe_time(
    what: &str,
    t: Option<String>,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, sqlx::Error> {
    t.map(|t| time(what, t)).transpose()
}

/// Create the state directory readable by this user only (it holds the audit log and logs).
/// An existing directory is left as it is.
pub fn create_private_dir(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::DirBuilderExt;
    // Create first, then look: another process may be creating it at this moment.
    match std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir) {
        Ok(()) => Ok(()),
        Err(_) if dir.is_dir() => Ok(()),
        Err(_) if dir.exists() => {
            Err(format!("{} exists but is not a folder; point console.state_dir at a folder", dir.display()))
        }
        Err(e) => Err(e.to_string()),
    }
}

/// Make the database file readable by its owner only (best effort: it may belong to another
/// user who shares the state, in which case its mode is theirs to set).
fn restrict_to_owner(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
}

/// Hold an exclusive lock on `lock_path` until the returned file is dropped.
async fn lock_file(lock_path: &Path, db: &Path) -> Result<File, StoreError> {
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(lock_path)
        .map_err(|e| StoreError::Open { path: lock_path.to_owned(), reason: e.to_string() })?;
    let deadline = Instant::now() + BUSY_TIMEOUT;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StoreError::Busy { path: db.to_owned() });
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(StoreError::Open { path: lock_path.to_owned(), reason: e.to_string() });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn opens_twice_and_keeps_meta() {
        let dir = tempfile::tempdir().unwrap();
        let a = Store::open(dir.path()).await.unwrap();
        let b = Store::open(dir.path()).await.unwrap();
        a.set_meta("k", "1").await.unwrap();
        b.set_meta("k", "2").await.unwrap();
        assert_eq!(a.meta("k").await.unwrap().as_deref(), Some("2"));
        assert_eq!(a.meta("missing").await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_second_row_with_the_same_key_is_a_duplicate_and_the_writer_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let job = JobRow {
            id: "J-1".into(),
            kind: crate::model::job::JobKind::Backup,
            target: "db".into(),
            state: crate::model::job::JobState::Proposed,
            plan: crate::model::job::Plan::default(),
            spec: "{}".into(),
            policy: crate::model::ApprovalPolicy::None,
            proposed_by: "alice".into(),
            proposed_at: chrono::DateTime::from_timestamp(1_795_000_000, 0).unwrap(),
            approved_by: None,
            approved_at: None,
            started_at: None,
            finished_at: None,
            outcome: None,
            progress: None,
            log: Vec::new(),
            owner_pid: None,
            owner_host: None,
            heartbeat_at: None,
            approvals: Vec::new(),
            detail: None,
        };
        store.insert_job(&job).await.unwrap();
        let err = store.insert_job(&job).await.unwrap_err();
        assert!(err.is_duplicate(), "{err:?}");
        // The failed write was rolled back; the next one commits.
        store.set_meta("after", "yes").await.unwrap();
        assert_eq!(store.meta("after").await.unwrap().as_deref(), Some("yes"));
        assert_eq!(store.job("J-1").await.unwrap().unwrap().target, "db");
    }

    #[tokio::test]
    async fn a_file_that_is_not_a_database_is_reported_as_damaged() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("warroom.db"), vec![b'x'; 4096]).unwrap();
        let err = Store::open(dir.path()).await.err().unwrap();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
        assert!(err.to_string().contains("is damaged"), "{err}");
    }
}
