//! The two state stores, for tests that must hold on both: SQLite in the test's folder, and
//! PostgreSQL in a database of the test's own on the cluster `scripts/test-postgres` starts
//! (its URL in `WARROOM_TEST_POSTGRES`).
//!
//! `on_both_stores!` turns one test into `name::sqlite` and `name::postgres`. Without a cluster
//! the PostgreSQL half says loudly that it skips, and under CI (CI=true) it fails instead.

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// The cluster's URL, or None (and why, on stderr) when the PostgreSQL half must skip.
pub fn postgres_cluster(test: &str) -> Option<String> {
    match std::env::var("WARROOM_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").as_deref() == Ok("true") => panic!(
            "{test}: WARROOM_TEST_POSTGRES is not set under CI; run the tests as scripts/test-postgres cargo test"
        ),
        _ => {
            eprintln!(
                "SKIPPED {test} on PostgreSQL: WARROOM_TEST_POSTGRES is not set (run the tests as `scripts/test-postgres cargo test`)"
            );
            None
        }
    }
}

/// Create a fresh database on the cluster and return its URL.
pub fn fresh_database(cluster: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    let name = format!("wr_{}_{}_{nanos}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
    let admin = cluster.to_owned();
    let create = name.clone();
    // A runtime of its own on a thread of its own: callable from sync and async tests alike.
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async move {
            use sqlx::Connection;
            let mut conn = sqlx::postgres::PgConnection::connect(&admin).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {create}")))
                .execute(&mut conn)
                .await
                .unwrap();
        })
    })
    .join()
    .unwrap();
    match cluster.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => panic!("WARROOM_TEST_POSTGRES {cluster} has no database part"),
    }
}

impl Kind {
    /// The `[console]` lines that put a test's state in this store. For PostgreSQL, a fresh
    /// database (one per `dir`) whose URL is written to `dir/state-url` (a file, not the environment: tests
    /// share one process under `cargo test`).
    pub fn console_lines(self, dir: &Path) -> String {
        match self {
            Kind::Sqlite => String::new(),
            Kind::Postgres => {
                // Once per folder: a config written again keeps its state.
                let file = dir.join("state-url");
                if !file.exists() {
                    let cluster = std::env::var("WARROOM_TEST_POSTGRES").expect("checked by on_both_stores");
                    std::fs::write(&file, format!("{}\n", fresh_database(&cluster))).unwrap();
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
                }
                format!("state = \"postgres\"\nstate_url_file = \"{}\"\n", file.display())
            }
        }
    }
}

impl Kind {
    /// Open the state `console_lines(dir)` set up directly, as a second process would:
    /// SQLite in `state_dir`, PostgreSQL at the URL in `dir/state-url`.
    pub async fn open(self, dir: &Path, state_dir: &Path) -> warroom::store::Store {
        match self {
            Kind::Sqlite => warroom::store::Store::open(state_dir).await.unwrap(),
            Kind::Postgres => {
                let url = std::fs::read_to_string(dir.join("state-url")).unwrap();
                warroom::store::Store::open_postgres(url.trim()).await.unwrap()
            }
        }
    }
}

impl Kind {
    /// A connection of the test's own to that state (SQLite at `sqlite_db`), as another
    /// process, an attacker with the database's credentials or a damaged page has.
    pub async fn connect(self, dir: &Path, sqlite_db: &Path) -> sqlx::AnyPool {
        sqlx::any::install_default_drivers();
        let url = match self {
            Kind::Sqlite => format!("sqlite://{}", sqlite_db.display()),
            Kind::Postgres => std::fs::read_to_string(dir.join("state-url")).unwrap().trim().to_owned(),
        };
        sqlx::AnyPool::connect(&url).await.unwrap()
    }
}

/// `on_both_stores! { #[tokio::test] async fn name(store) { ... } }`: the body runs once with
/// `store` = `Kind::Sqlite` (test `name::sqlite`) and once with `Kind::Postgres`
/// (`name::postgres`).
#[macro_export]
macro_rules! on_both_stores {
    ($(#[$attr:meta])* async fn $name:ident($store:ident) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $(#[$attr])*
            async fn sqlite() {
                let $store = common::store::Kind::Sqlite;
                $body
            }
            $(#[$attr])*
            async fn postgres() {
                if common::store::postgres_cluster(concat!(stringify!($name), "::postgres")).is_none() {
                    return;
                }
                let $store = common::store::Kind::Postgres;
                $body
            }
        }
    };
    ($(#[$attr:meta])* fn $name:ident($store:ident) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $(#[$attr])*
            fn sqlite() {
                let $store = common::store::Kind::Sqlite;
                $body
            }
            $(#[$attr])*
            fn postgres() {
                if common::store::postgres_cluster(concat!(stringify!($name), "::postgres")).is_none() {
                    return;
                }
                let $store = common::store::Kind::Postgres;
                $body
            }
        }
    };
}

/// A PostgreSQL cluster of one test's own, for a test that stops and starts the server under a
/// running warroom (the shared cluster serves every other test). `None` (and why) without
/// PostgreSQL's server programs, where `postgres_cluster` says the PostgreSQL tests skip.
pub struct PrivateCluster {
    dir: tempfile::TempDir,
    bin: std::path::PathBuf,
    port: u16,
}

impl PrivateCluster {
    pub fn start(test: &str) -> Option<PrivateCluster> {
        postgres_cluster(test)?;
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .find(|b| b.join("initdb").exists())
            .expect("WARROOM_TEST_POSTGRES is set, so PostgreSQL's server is installed");
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let c = PrivateCluster { dir, bin, port };
        if c.root() {
            std::process::Command::new("chown").arg("postgres").arg(c.dir.path()).status().unwrap();
        }
        let data = c.dir.path().join("data");
        let out = c
            .command("initdb")
            .arg("-D")
            .arg(&data)
            .args(["-U", "warroom", "--auth=trust", "--locale=C", "-E", "UTF8"])
            .output()
            .unwrap();
        assert!(out.status.success(), "initdb: {}", String::from_utf8_lossy(&out.stderr));
        c.up();
        Some(c)
    }

    fn root(&self) -> bool {
        std::process::Command::new("id").arg("-u").output().map(|o| o.stdout == b"0\n").unwrap_or(false)
    }

    fn command(&self, program: &str) -> std::process::Command {
        let path = self.bin.join(program);
        if self.root() {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            std::process::Command::new(path)
        }
    }

    /// The URL of its `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://warroom@127.0.0.1:{}/postgres", self.port)
    }

    pub fn up(&self) {
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .arg("-l")
            .arg(self.dir.path().join("log"))
            .args(["-w", "-o", &options, "start"])
            .output()
            .unwrap();
        assert!(out.status.success(), "pg_ctl start: {}", String::from_utf8_lossy(&out.stderr));
    }

    pub fn down(&self) {
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "fast", "-w", "stop"])
            .output()
            .unwrap();
        assert!(out.status.success(), "pg_ctl stop: {}", String::from_utf8_lossy(&out.stderr));
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "stop"])
            .output();
    }
}

impl Kind {
    /// Point a configuration built in code (not read from a file) at this store, its state
    /// kept under `dir` as `console_lines` keeps it.
    pub fn apply(self, config: &mut warroom::config::Config, dir: &Path) {
        if self == Kind::Postgres {
            let _ = self.console_lines(dir);
            config.console.state = warroom::config::console::StateStore::Postgres(
                warroom::config::secrets::SecretSource::File(dir.join("state-url")),
            );
        }
    }
}
