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

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use sqlx::sqlite::{SqliteConnection, SqliteQueryResult};
use tokio::sync::{Mutex, OwnedMutexGuard, mpsc, oneshot};

use super::{Store, StoreError};

pub(crate) struct Writer {
    conn: Arc<Mutex<Conn>>,
    wake: mpsc::UnboundedSender<()>,
}

struct Conn {
    conn: SqliteConnection,
    /// A transaction is open (BEGIN IMMEDIATE: this process holds SQLite's write lock).
    open: bool,
    /// A `Write` was dropped inside its savepoint: roll it back before anything else.
    abandoned: bool,
    /// Writes released into the open transaction, waiting for its COMMIT.
    waiting: Vec<oneshot::Sender<Result<(), StoreError>>>,
}

impl Writer {
    /// Own `conn` and start its committer task.
    pub(crate) fn start(conn: SqliteConnection, store_path: std::path::PathBuf) -> Writer {
        let conn = Arc::new(Mutex::new(Conn { conn, open: false, abandoned: false, waiting: Vec::new() }));
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
        if c.abandoned {
            undo_savepoint(&mut c.conn).await.map_err(&err)?;
            c.abandoned = false;
        }
        if !c.open {
            sqlx::query("BEGIN IMMEDIATE").execute(&mut c.conn).await.map_err(&err)?;
            c.open = true;
        }
        if let Err(e) = sqlx::query("SAVEPOINT w").execute(&mut c.conn).await {
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
        query: sqlx::query::Query<'q, sqlx::Sqlite, <sqlx::Sqlite as sqlx::Database>::Arguments>,
        doing: &'static str,
    ) -> Result<SqliteQueryResult, StoreError> {
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
        query: sqlx::query::Query<'q, sqlx::Sqlite, <sqlx::Sqlite as sqlx::Database>::Arguments>,
        doing: &'static str,
        audit: &super::NewAuditRecord,
        at: chrono::DateTime<chrono::Utc>,
        always: bool,
    ) -> Result<SqliteQueryResult, StoreError> {
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
            c.abandoned = true;
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
        c.abandoned = undone.is_err();
        drop(c);
        let _ = self.store.writer.wake.send(());
        undone.map_err(self.store.error(self.doing))
    }
}

impl Deref for Write {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        match &self.conn {
            Some(c) => &c.conn,
            // Only commit and rollback take it, and they consume the Write.
            None => unreachable!("a Write is used after it ended"),
        }
    }
}

impl DerefMut for Write {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
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

async fn undo_savepoint(conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    sqlx::query("ROLLBACK TO w").execute(&mut *conn).await?;
    sqlx::query("RELEASE w").execute(&mut *conn).await?;
    Ok(())
}

/// COMMIT the open transaction, if any. After a failure the transaction is rolled back, so the
/// next write starts clean.
async fn commit_open(c: &mut Conn, path: &std::path::Path) -> Result<(), StoreError> {
    if c.abandoned {
        let undone = undo_savepoint(&mut c.conn).await;
        c.abandoned = false;
        if let Err(e) = undone {
            let _ = sqlx::query("ROLLBACK").execute(&mut c.conn).await;
            c.open = false;
            return Err(StoreError::from_sqlx(path, "committing", e));
        }
    }
    if !c.open {
        return Ok(());
    }
    c.open = false;
    match sqlx::query("COMMIT").execute(&mut c.conn).await {
        Ok(_) => Ok(()),
        Err(e) => {
            let _ = sqlx::query("ROLLBACK").execute(&mut c.conn).await;
            Err(StoreError::from_sqlx(path, "committing", e))
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
