//! The state store: one SQLite database per state directory (`state_dir/warroom.db`), or one
//! PostgreSQL database that every host of a team shares.
//!
//! Both are reached through sqlx's `Any` driver, so every query is written once: plain types,
//! `$n` placeholders, `ON CONFLICT` upserts, times as fixed-width RFC 3339 text compared byte by
//! byte. Migrations for both are embedded in the binary (`migrations/sqlite`,
//! `migrations/postgres`, kept equal by `tests/store_schema.rs`). Writers are serialised as
//! SQLite serialises them: on SQLite by its write lock (a lock file serialises creating the
//! file and its migrations, a busy timeout the processes' writers), on PostgreSQL by one
//! advisory lock that every write transaction takes first, so a read-then-write (the audit
//! chain's tip, a job lock's holder) sees every other host's committed writes. Every database
//! error is turned into a [`StoreError`] that says what happened and what to do. Within a
//! process, writes go through one connection with group commit ([`writer`]); reads through a
//! pool of their own.

pub mod audit;
pub mod catalog;
pub mod copy;
pub mod exercises;
pub mod failover;
pub mod incidents;
pub mod jobs;
pub mod listen;
pub mod outbox;
pub mod plan;
pub mod programme;
mod writer;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sqlx::ConnectOptions;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AnyConnection, AnyPool};

pub use audit::{AuditProblem, AuditRecord, NewAuditRecord, Outcome, Verification};
pub use catalog::CatalogEntry;
pub use jobs::{JobRow, LockHeld, ts};

/// How long a writer waits for another process (or host) holding the database before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(15);

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Which database holds the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// One file, `state_dir/warroom.db`: one host.
    Sqlite,
    /// One database every host of a team shares.
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// An open state store.
#[derive(Clone)]
pub struct Store {
    /// Readers: several at once (WAL lets them read while a write goes on).
    pool: AnyPool,
    /// The one connection that writes, with group commit.
    writer: std::sync::Arc<writer::Writer>,
    /// Where it is, for messages: the database file, or the PostgreSQL URL without its password.
    path: PathBuf,
    backend: Backend,
    /// PostgreSQL: the connection URL, for the listener that hears other hosts' writes.
    listen_url: Option<std::sync::Arc<str>>,
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
    /// Another warroom (on this host or another) kept the shared state's write lock for longer
    /// than we wait.
    #[error(
        "the state database {} stayed locked by another warroom for over {}s; try again, or look for a stuck session in pg_stat_activity",
        path.display(),
        BUSY_TIMEOUT.as_secs()
    )]
    LockWait { path: PathBuf },
    /// The connection to a database server was lost; the next use reconnects.
    #[error("lost the connection to the state database {} ({reason}); it reconnects at the next attempt", path.display())]
    Lost { path: PathBuf, reason: String },
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

/// The reason a unique constraint gives, on either database.
const DUPLICATE: [&str; 2] = ["UNIQUE constraint failed", "duplicate key value violates unique constraint"];

impl StoreError {
    /// Classify a database error. `doing` says what we were doing, for the message.
    pub(crate) fn from_sqlx(
        path: &Path,
        backend: Backend,
        doing: &'static str,
        e: sqlx::Error,
    ) -> StoreError {
        let path = path.to_owned();
        if writer::connection_lost(&e) {
            return StoreError::Lost { path, reason: e.to_string() };
        }
        if let sqlx::Error::Database(db) = &e {
            let message = db.message().to_owned();
            return match backend {
                Backend::Sqlite => {
                    let primary = db.code().and_then(|c| c.parse::<i64>().ok()).map(|c| c & 0xff);
                    match primary {
                        Some(5) | Some(6) => StoreError::Busy { path },
                        Some(11) | Some(26) => StoreError::Corrupt { path, reason: message },
                        // A table or column that should exist does not: the schema was changed by hand.
                        Some(1) if message.starts_with("no such") => StoreError::Corrupt {
                            path,
                            reason: format!("its tables were changed by hand: {message}"),
                        },
                        Some(8) => {
                            StoreError::Open { path, reason: format!("it is read-only here ({message})") }
                        }
                        Some(13) => StoreError::Failed { path, doing, reason: "the disk is full".into() },
                        _ => StoreError::Failed { path, doing, reason: message },
                    }
                }
                // SQLSTATE codes: https://www.postgresql.org/docs/current/errcodes-appendix.html
                Backend::Postgres => match db.code().as_deref().unwrap_or("") {
                    // lock_not_available (lock_timeout), serialization_failure, deadlock_detected
                    "55P03" | "40001" | "40P01" => StoreError::LockWait { path },
                    "42P01" | "42703" => StoreError::Corrupt {
                        path,
                        reason: format!("its tables were changed by hand: {message}"),
                    },
                    "XX001" | "XX002" => StoreError::Corrupt { path, reason: message },
                    "25006" => StoreError::Open { path, reason: format!("it is read-only here ({message})") },
                    "53100" => StoreError::Failed {
                        path,
                        doing,
                        reason: "the database server's disk is full".into(),
                    },
                    "28000" | "28P01" => StoreError::Open {
                        path,
                        reason: format!("{message}; check the user and password in the connection URL"),
                    },
                    "3D000" => StoreError::Open {
                        path,
                        reason: format!("{message}; create it (createdb) or fix the URL's database name"),
                    },
                    "42501" => StoreError::Open {
                        path,
                        reason: format!(
                            "{message}; the URL's user needs to own the database (or be granted CREATE on it)"
                        ),
                    },
                    _ => StoreError::Failed { path, doing, reason: message },
                },
            };
        }
        match e {
            sqlx::Error::PoolTimedOut => match backend {
                Backend::Sqlite => StoreError::Busy { path },
                Backend::Postgres => StoreError::Lost {
                    path,
                    reason: "no connection to the database server came free in time".into(),
                },
            },
            sqlx::Error::Io(io) => StoreError::Failed { path, doing, reason: io.to_string() },
            other => StoreError::Failed { path, doing, reason: other.to_string() },
        }
    }

    pub fn is_busy(&self) -> bool {
        matches!(self, StoreError::Busy { .. } | StoreError::LockWait { .. })
    }

    /// The connection to the database server is gone (for now).
    pub fn is_lost(&self) -> bool {
        matches!(self, StoreError::Lost { .. })
    }

    /// A row with that key exists already.
    pub fn is_duplicate(&self) -> bool {
        matches!(self, StoreError::Failed { reason, .. } if DUPLICATE.iter().any(|d| reason.starts_with(d)))
    }
}

impl Store {
    /// Open (creating if needed) the SQLite store in `state_dir` and bring its schema up to date.
    pub async fn open(state_dir: &Path) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let path = state_dir.join("warroom.db");
        create_private_dir(state_dir).map_err(|reason| StoreError::Open { path: path.clone(), reason })?;

        // Two processes starting at once would race to create the file, switch it to WAL (which
        // fails at once, without waiting, when another connection is mid-switch) and apply the
        // migrations (sqlx does not lock them on SQLite). A lock file next to the database makes
        // the second one wait until the first has finished all three.
        let lock = lock_file(&state_dir.join("warroom.db.lock"), &path).await?;
        let url = SqliteConnectOptions::new().filename(&path).create_if_missing(true).to_url_lossy();
        let options = AnyConnectOptions::from_url(&url).map_err(|e| StoreError::Open {
            path: path.clone(),
            reason: format!("its path cannot be opened as a database ({e})"),
        })?;
        let opening = |e| match StoreError::from_sqlx(&path, Backend::Sqlite, "opening", e) {
            StoreError::Failed { path, reason, .. } => StoreError::Open { path, reason },
            other => other,
        };
        let mut conn = options.connect().await.map_err(opening)?;
        restrict_to_owner(&path);
        // WAL is a property of the file, set once; the rest are each connection's.
        sqlx::query("PRAGMA journal_mode = WAL").execute(&mut conn).await.map_err(opening)?;
        sqlite_session(&mut conn).await.map_err(opening)?;
        migrate(&SQLITE_MIGRATOR, &mut conn, &path, Backend::Sqlite).await?;
        let pool = AnyPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(BUSY_TIMEOUT + Duration::from_secs(5))
            // A local file does not go stale between uses; the ping would cost a round trip to
            // the connection's thread on every query.
            .test_before_acquire(false)
            .after_connect(|conn, _| Box::pin(async move { sqlite_session(conn).await }))
            .connect_with(options)
            .await
            .map_err(opening)?;
        drop(lock);
        let writer = std::sync::Arc::new(writer::Writer::start(conn, path.clone(), Backend::Sqlite, None));
        Ok(Store { pool, writer, path, backend: Backend::Sqlite, listen_url: None })
    }

    /// Connect to the PostgreSQL state at `url` (`postgres://user:password@host:port/db`, TLS
    /// as its `sslmode` says) and bring its schema up to date. Hosts starting at once migrate
    /// once: sqlx holds an advisory lock while it migrates.
    pub async fn open_postgres(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let path = PathBuf::from(redact_url(url));
        let options: AnyConnectOptions = url.parse().map_err(|e| StoreError::Open {
            path: path.clone(),
            reason: format!(
                "the connection URL does not parse ({e}); write postgres://user:password@host:5432/database"
            ),
        })?;
        if !matches!(options.database_url.scheme(), "postgres" | "postgresql") {
            return Err(StoreError::Open {
                path,
                reason: "the connection URL must start with postgres:// (or postgresql://)".into(),
            });
        }
        let opening = |e| match StoreError::from_sqlx(&path, Backend::Postgres, "connecting", e) {
            StoreError::Failed { path, reason, .. } => StoreError::Open { path, reason },
            StoreError::Lost { path, reason } => StoreError::Open {
                path,
                reason: format!(
                    "{reason}; is the server running, and reachable from this host on that port?"
                ),
            },
            other => other,
        };
        let mut conn = tokio::time::timeout(BUSY_TIMEOUT, options.connect())
            .await
            .map_err(|_| StoreError::Open {
                path: path.clone(),
                reason: format!("no answer within {}s", BUSY_TIMEOUT.as_secs()),
            })?
            .map_err(opening)?;
        migrate(&POSTGRES_MIGRATOR, &mut conn, &path, Backend::Postgres).await?;
        writer::postgres_session(&mut conn).await.map_err(opening)?;
        let pool = AnyPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(BUSY_TIMEOUT + Duration::from_secs(5))
            .connect_with(options.clone())
            .await
            .map_err(opening)?;
        let writer =
            std::sync::Arc::new(writer::Writer::start(conn, path.clone(), Backend::Postgres, Some(options)));
        Ok(Store { pool, writer, path, backend: Backend::Postgres, listen_url: Some(url.into()) })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// For reading.
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub(crate) fn error(&self, doing: &'static str) -> impl Fn(sqlx::Error) -> StoreError + '_ {
        move |e| StoreError::from_sqlx(&self.path, self.backend, doing, e)
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

/// Each SQLite connection's settings: wait for other processes' writes, keep foreign keys,
/// and sync every commit.
async fn sqlite_session(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    for pragma in [
        format!("PRAGMA busy_timeout = {}", BUSY_TIMEOUT.as_millis()),
        "PRAGMA foreign_keys = ON".to_owned(),
        "PRAGMA synchronous = FULL".to_owned(),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(pragma)).execute(&mut *conn).await?;
    }
    Ok(())
}

async fn migrate(
    migrator: &sqlx::migrate::Migrator,
    conn: &mut AnyConnection,
    path: &Path,
    backend: Backend,
) -> Result<(), StoreError> {
    let path = path.to_owned();
    match migrator.run(conn).await {
        Ok(()) => Ok(()),
        Err(sqlx::migrate::MigrateError::VersionMissing(version)) => {
            Err(StoreError::NewerSchema { path, version })
        }
        Err(sqlx::migrate::MigrateError::Execute(e)) => {
            Err(StoreError::from_sqlx(&path, backend, "updating the schema", e))
        }
        Err(other) => {
            Err(StoreError::Failed { path, doing: "updating the schema", reason: other.to_string() })
        }
    }
}

/// `postgres://user:secret@host/db` -> `postgres://user@host/db`: for messages and logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return "(a URL that does not parse)".into() };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let authority = match authority.rsplit_once('@') {
        Some((user, host)) => format!("{}@{host}", user.split(':').next().unwrap_or("")),
        None => authority.to_owned(),
    };
    // Query parameters may carry a password too (?password=...).
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let kept: Vec<&str> =
                query.split('&').filter(|p| !p.to_ascii_lowercase().starts_with("password=")).collect();
            if kept.is_empty() { path.to_owned() } else { format!("{path}?{}", kept.join("&")) }
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
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
