//! The store's one writing connection, with group commit.
//!
//! Every change goes through [`Store::write`]: it takes the connection (writers of this process
//! queue for it in order, rather than meeting at SQLite's lock, where the loser sleeps in its
//! busy handler however soon the lock is free), opens a savepoint inside the connection's open
//! transaction, and hands the connection over. [`Write::commit`] releases the savepoint and waits
//! until a COMMIT covering it has reached the disk. The committer task commits as soon as the
//! writers queued before it are done, so writes that arrive together (forty systems of a plan
//! starting at once) share one fsync instead of paying one each; a lone writer pays one commit,
//! as before.
//!
//! ```text
//!  write() ──► lock ── BEGIN IMMEDIATE (if none open) ── SAVEPOINT w ── statements
//!  commit() ─► RELEASE w ── unlock ── wake the committer ── wait ◄──────────────┐
//!  committer ► lock (behind the writers already queued) ── COMMIT ── tell them ─┘
//! ```
//!
//! A [`Write`] dropped without commit (an error returned early, a cancelled task) leaves its
//! savepoint marked; whoever takes the connection next rolls it back first, so nothing half done
//! is ever committed. Other processes still meet this one at SQLite's lock, and wait up to the
//! busy timeout.
//!
//! On PostgreSQL the transaction opens with `BEGIN` and then takes one advisory lock
//! ([`WRITE_LOCK`]) that every warroom's writes take, on every host: the same one-writer-at-a-
//! time as SQLite's `BEGIN IMMEDIATE`, held until the COMMIT, waited for up to the lock timeout.
//! A connection the server dropped is replaced at the next write; what was in flight fails
//! (nothing half done commits: the server rolled it back).

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use sqlx::AnyConnection;
use sqlx::ConnectOptions;
use sqlx::any::{AnyConnectOptions, AnyQueryResult};
use tokio::sync::{Mutex, OwnedMutexGuard, mpsc, oneshot};

use super::{BUSY_TIMEOUT, Backend, Store, StoreError};

/// The advisory lock every write transaction on a PostgreSQL state takes first ("warroom" in
/// ASCII): one writer at a time across all hosts.
pub(crate) const WRITE_LOCK: i64 = 0x0077_6172_726f_6f6d;

/// A PostgreSQL connection's settings: wait for locks (the write lock, a row) no longer than
/// SQLite waits for its own.
pub(crate) async fn postgres_session(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    let set = format!("SET lock_timeout = '{}ms'", BUSY_TIMEOUT.as_millis());
    sqlx::query(sqlx::AssertSqlSafe(set)).execute(&mut *conn).await?;
    Ok(())
}

/// Whether `e` means the connection itself is gone (the server restarted, the network broke),
/// rather than that one statement failed.
pub(crate) fn connection_lost(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::Protocol(_) | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Tls(_) => true,
        // connection_exception (08...), admin_shutdown, crash_shutdown, cannot_connect_now
        sqlx::Error::Database(db) => db.code().is_some_and(|c| {
            c.len() == 5 && (c.starts_with("08") || matches!(c.as_ref(), "57P01" | "57P02" | "57P03"))
        }),
        _ => false,
    }
}

pub(crate) struct Writer {
    conn: Arc<Mutex<Conn>>,
    wake: mpsc::UnboundedSender<()>,
}

struct Conn {
    conn: AnyConnection,
    backend: Backend,
    /// How to connect again (PostgreSQL): `None` for a local file, which is never lost.
    reconnect: Option<AnyConnectOptions>,
    /// The server dropped the connection: connect again before the next write.
    lost: bool,
    /// A transaction is open (BEGIN IMMEDIATE: this process holds SQLite's write lock).
    open: bool,
    /// A `Write` was dropped inside its savepoint: roll it back before anything else.
    abandoned: bool,
    /// Writes released into the open transaction, waiting for its COMMIT.
    waiting: Vec<oneshot::Sender<Result<(), StoreError>>>,
}

impl Writer {
    /// Own `conn` and start its committer task.
    pub(crate) fn start(
        conn: AnyConnection,
        store_path: std::path::PathBuf,
        backend: Backend,
        reconnect: Option<AnyConnectOptions>,
    ) -> Writer {
        let conn = Arc::new(Mutex::new(Conn {
            conn,
            backend,
            reconnect,
            lost: false,
            open: false,
            abandoned: false,
            waiting: Vec::new(),
        }));
        let (wake, woken) = mpsc::unbounded_channel();
        tokio::spawn(committer(conn.clone(), woken, store_path));
        Writer { conn, wake }
    }

    /// Commit what is open and close the connection.
    pub(crate) async fn close(&self, path: &std::path::Path) {
        let mut c = self.conn.lock().await;
        let result = commit_open(&mut c, path).await;
        for w in std::mem::take(&mut c.waiting) {
            let _ = w.send(result.clone());
        }
    }
}

/// The connection, inside a savepoint of its open transaction. Deref to run statements.
pub(crate) struct Write {
    conn: Option<OwnedMutexGuard<Conn>>,
    store: Store,
    doing: &'static str,
}

impl Store {
    /// Take the writing connection to change the database; see the module's notes.
    pub(crate) async fn write(&self, doing: &'static str) -> Result<Write, StoreError> {
        let mut c = self.writer.conn.clone().lock_owned().await;
        let err = self.error(doing);
        if c.lost {
            c.reconnect(&self.path).await?;
        }
        if c.abandoned {
            let undone = undo_savepoint(&mut c.conn).await;
            c.note(&undone);
            undone.map_err(&err)?;
            c.abandoned = false;
        }
        if !c.open {
            let begun = c.begin().await;
            c.note(&begun);
            begun.map_err(&err)?;
            c.open = true;
        }
        if let Err(e) = sqlx::query("SAVEPOINT w").execute(&mut c.conn).await {
            c.note::<()>(&Err(&e));
            // Nothing of ours is in the transaction: let the committer close it.
            drop(c);
            let _ = self.writer.wake.send(());
            return Err(err(e));
        }
        Ok(Write { conn: Some(c), store: self.clone(), doing })
    }

    /// One statement, committed on its own (or with whatever else is being written).
    pub(crate) async fn execute<'q>(
        &self,
        query: sqlx::query::Query<'q, sqlx::Any, <sqlx::Any as sqlx::Database>::Arguments>,
        doing: &'static str,
    ) -> Result<AnyQueryResult, StoreError> {
        let mut w = self.write(doing).await?;
        let done = query.execute(&mut *w).await.map_err(self.error(doing))?;
        w.commit().await?;
        Ok(done)
    }
}

impl Store {
    /// One statement and its audit record, in one write: they commit together, or neither
    /// does. The record is appended only if the statement changed a row, unless `always`.
    pub(crate) async fn execute_audited<'q>(
        &self,
        query: sqlx::query::Query<'q, sqlx::Any, <sqlx::Any as sqlx::Database>::Arguments>,
        doing: &'static str,
        audit: &super::NewAuditRecord,
        at: chrono::DateTime<chrono::Utc>,
        always: bool,
    ) -> Result<AnyQueryResult, StoreError> {
        let mut w = self.write(doing).await?;
        let done = query.execute(&mut *w).await.map_err(self.error(doing))?;
        if always || done.rows_affected() > 0 {
            self.append_in(&mut w, audit, at).await?;
        }
        w.commit().await?;
        Ok(done)
    }
}

impl Write {
    /// Keep what was written and wait until it is on disk.
    pub(crate) async fn commit(mut self) -> Result<(), StoreError> {
        let Some(mut c) = self.conn.take() else { return Ok(()) };
        if let Err(e) = sqlx::query("RELEASE w").execute(&mut c.conn).await {
            c.note::<()>(&Err(&e));
            c.abandoned = !c.lost;
            drop(c);
            let _ = self.store.writer.wake.send(());
            return Err(self.store.error(self.doing)(e));
        }
        let (tell, told) = oneshot::channel();
        c.waiting.push(tell);
        drop(c);
        let _ = self.store.writer.wake.send(());
        told.await.unwrap_or_else(|_| {
            Err(StoreError::Failed {
                path: self.store.path.clone(),
                doing: self.doing,
                reason: "the store was closed before the write was committed".into(),
            })
        })
    }

    /// Undo what was written.
    pub(crate) async fn rollback(mut self) -> Result<(), StoreError> {
        let Some(mut c) = self.conn.take() else { return Ok(()) };
        let undone = undo_savepoint(&mut c.conn).await;
        c.note(&undone);
        c.abandoned = undone.is_err() && !c.lost;
        drop(c);
        let _ = self.store.writer.wake.send(());
        undone.map_err(self.store.error(self.doing))
    }
}

impl Deref for Write {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        match &self.conn {
            Some(c) => &c.conn,
            // Only commit and rollback take it, and they consume the Write.
            None => unreachable!("a Write is used after it ended"),
        }
    }
}

impl DerefMut for Write {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match &mut self.conn {
            Some(c) => &mut c.conn,
            None => unreachable!("a Write is used after it ended"),
        }
    }
}

impl Drop for Write {
    fn drop(&mut self) {
        if let Some(mut c) = self.conn.take() {
            c.abandoned = true;
            drop(c);
            let _ = self.store.writer.wake.send(());
        }
    }
}

impl Conn {
    /// Open the write transaction: on SQLite, take its write lock; on PostgreSQL, the advisory
    /// lock every host's writes take.
    async fn begin(&mut self) -> Result<(), sqlx::Error> {
        match self.backend {
            Backend::Sqlite => {
                sqlx::query("BEGIN IMMEDIATE").execute(&mut self.conn).await?;
            }
            Backend::Postgres => {
                sqlx::query("BEGIN").execute(&mut self.conn).await?;
                if let Err(e) = sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(WRITE_LOCK)
                    .execute(&mut self.conn)
                    .await
                {
                    let _ = sqlx::query("ROLLBACK").execute(&mut self.conn).await;
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// After a statement of the writer's own: if the connection is gone, nothing of the open
    /// transaction survives; mark it for a new connection.
    fn note<T>(&mut self, result: &Result<T, impl std::borrow::Borrow<sqlx::Error>>) {
        if let Err(e) = result
            && self.reconnect.is_some()
            && connection_lost(e.borrow())
        {
            self.lost = true;
            self.open = false;
            self.abandoned = false;
        }
    }

    async fn reconnect(&mut self, path: &std::path::Path) -> Result<(), StoreError> {
        let Some(options) = &self.reconnect else { return Ok(()) };
        let lost = |reason: String| StoreError::Lost { path: path.to_owned(), reason };
        let mut conn = tokio::time::timeout(BUSY_TIMEOUT, options.connect())
            .await
            .map_err(|_| lost(format!("no answer within {}s", BUSY_TIMEOUT.as_secs())))?
            .map_err(|e| lost(e.to_string()))?;
        postgres_session(&mut conn).await.map_err(|e| lost(e.to_string()))?;
        self.conn = conn;
        self.lost = false;
        self.open = false;
        self.abandoned = false;
        Ok(())
    }
}

async fn undo_savepoint(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    sqlx::query("ROLLBACK TO w").execute(&mut *conn).await?;
    sqlx::query("RELEASE w").execute(&mut *conn).await?;
    Ok(())
}

/// COMMIT the open transaction, if any. After a failure the transaction is rolled back, so the
/// next write starts clean.
async fn commit_open(c: &mut Conn, path: &std::path::Path) -> Result<(), StoreError> {
    let backend = c.backend;
    if c.abandoned {
        let undone = undo_savepoint(&mut c.conn).await;
        c.abandoned = false;
        c.note(&undone);
        if let Err(e) = undone {
            if !c.lost {
                let _ = sqlx::query("ROLLBACK").execute(&mut c.conn).await;
            }
            c.open = false;
            return Err(StoreError::from_sqlx(path, backend, "committing", e));
        }
    }
    if !c.open {
        return Ok(());
    }
    c.open = false;
    // Listening consoles on other hosts hear of it when it commits (never if it does not).
    if backend == Backend::Postgres {
        let told = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(super::listen::CHANNEL)
            .bind(super::listen::token())
            .execute(&mut c.conn)
            .await;
        c.note(&told);
        if let Err(e) = told {
            if !c.lost {
                let _ = sqlx::query("ROLLBACK").execute(&mut c.conn).await;
            }
            return Err(StoreError::from_sqlx(path, backend, "committing", e));
        }
    }
    let committed = sqlx::query("COMMIT").execute(&mut c.conn).await;
    c.note(&committed);
    match committed {
        Ok(_) => Ok(()),
        Err(e) => {
            if !c.lost {
                let _ = sqlx::query("ROLLBACK").execute(&mut c.conn).await;
            }
            Err(StoreError::from_sqlx(path, backend, "committing", e))
        }
    }
}

async fn committer(conn: Arc<Mutex<Conn>>, mut woken: mpsc::UnboundedReceiver<()>, path: std::path::PathBuf) {
    while woken.recv().await.is_some() {
        while woken.try_recv().is_ok() {}
        // Queued behind the writers that were already waiting: they join this commit.
        let mut c = conn.lock().await;
        let result = commit_open(&mut c, &path).await;
        let waiting = std::mem::take(&mut c.waiting);
        drop(c);
        for w in waiting {
            let _ = w.send(result.clone());
        }
    }
}
