//! Live updates from a shared PostgreSQL state: every write transaction ends with a
//! notification on [`CHANNEL`] (sent at its COMMIT, with the writing process's token), and a
//! console listens, so it hears of other hosts' jobs, approvals, failover states, incidents and
//! notices as they commit instead of at its next poll.
//!
//! The listener is a connection of its own. When it drops (the server restarted, the network
//! broke), [`StateLink::Lost`] says so; it connects again every second, and
//! [`StateLink::Restored`] says it is back (what changed meanwhile is read then: notifications
//! sent while it was away are gone).

use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::sync::mpsc;

use super::Store;

/// The notification channel every write notifies.
pub(crate) const CHANNEL: &str = "warroom";

/// What the listener hears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateLink {
    /// Another process committed a write.
    Changed,
    /// The listening connection is gone (why); it is being re-established.
    Lost(String),
    /// It is back: read everything again.
    Restored,
}

/// This process's mark on its own notifications, so it does not re-read its own writes.
pub(crate) fn token() -> &'static str {
    static TOKEN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TOKEN.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        format!("{}:{nanos}", std::process::id())
    })
}

impl Store {
    /// Listen for other processes' writes: `None` on SQLite (the console polls it).
    pub fn listen(&self) -> Option<mpsc::Receiver<StateLink>> {
        let url = self.listen_url.clone()?;
        let (tx, rx) = mpsc::channel(256);
        tokio::spawn(async move { listen_loop(&url, tx).await });
        Some(rx)
    }
}

async fn connect(url: &str) -> Result<PgListener, sqlx::Error> {
    let mut listener = tokio::time::timeout(Duration::from_secs(10), PgListener::connect(url))
        .await
        .map_err(|_| sqlx::Error::Protocol("no answer within 10s".into()))??;
    // A lost connection is ours to re-establish, so that we can say when it is back.
    listener.eager_reconnect(false);
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

async fn listen_loop(url: &str, tx: mpsc::Sender<StateLink>) {
    let mut lost = false;
    loop {
        match connect(url).await {
            Ok(mut listener) => {
                if lost && tx.send(StateLink::Restored).await.is_err() {
                    return;
                }
                let why = loop {
                    let heard = tokio::select! {
                        heard = listener.try_recv() => heard,
                        // The console let go: so does the listener, and its connection.
                        () = tx.closed() => return,
                    };
                    match heard {
                        Ok(Some(n)) => {
                            if n.payload() == token() {
                                continue;
                            }
                            // A full queue already holds a Changed: one read covers both.
                            match tx.try_send(StateLink::Changed) {
                                Err(mpsc::error::TrySendError::Closed(_)) => return,
                                _ => continue,
                            }
                        }
                        Ok(None) => break "the server closed the connection".to_owned(),
                        Err(e) => break e.to_string(),
                    }
                };
                lost = true;
                if tx.send(StateLink::Lost(why)).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                if !lost {
                    lost = true;
                    if tx.send(StateLink::Lost(e.to_string())).await.is_err() {
                        return;
                    }
                }
            }
        }
        if tx.is_closed() {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
