//! A backup estate for the integration tests: a temporary folder with an age key, a signing
//! key, a data folder, a folder location and a configuration.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use warroom::config::{self, ProcessEnv};
use warroom::engine::Engine;
use warroom::engine::jobs::{JobSnapshot, JobSpec, JobState, Proof};

pub struct Estate {
    pub dir: tempfile::TempDir,
    pub public: String,
    pub signer: String,
    /// Where the state is kept (SQLite in `state`, or a PostgreSQL database of its own).
    pub store: super::store::Kind,
}

impl Estate {
    pub fn new() -> Estate {
        Estate::on(super::store::Kind::Sqlite)
    }

    pub fn on(store: super::store::Kind) -> Estate {
        let dir = tempfile::tempdir().unwrap();
        let identity = age::x25519::Identity::generate();
        let public = identity.to_public().to_string();
        use age::secrecy::ExposeSecret;
        std::fs::write(dir.path().join("key.txt"), format!("{}\n", identity.to_string().expose_secret()))
            .unwrap();
        std::fs::set_permissions(dir.path().join("key.txt"), std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        std::fs::create_dir_all(dir.path().join("repo")).unwrap();
        let signing = warroom::engine::backup::keys::generate().unwrap();
        std::fs::write(dir.path().join("signing.key"), signing.file_text()).unwrap();
        std::fs::set_permissions(dir.path().join("signing.key"), std::fs::Permissions::from_mode(0o600))
            .unwrap();
        std::fs::write(dir.path().join("signing.pub"), signing.public().file_text()).unwrap();
        Estate { dir, public, signer: signing.public().encoded(), store }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// A configuration with an fs location `nas` (plus `extra` TOML) and one system `files`
    /// backing up `source` (a TOML inline table).
    pub fn config(&self, source: &str, kind: &str, extra: &str) -> PathBuf {
        let d = self.dir.path().display();
        let text = format!(
            r#"
[console]
operator = "tester"
state_dir = "{d}/state"
{store}

[encryption]
recipients = ["{public}"]
identity_file = "{d}/key.txt"
signers = ["{signer}"]
signing_key_file = "{d}/signing.key"

[[locations]]
name = "nas"
kind = "fs"
path = "{d}/repo"
media = "disk"
{extra}

[[systems]]
name = "files"
tier = 3
[systems.backup]
source = {source}
kind = "{kind}"
every = "1h"
locations = LOCATIONS
retention = {{ keep_last = 2 }}
"#,
            public = self.public,
            signer = self.signer,
            store = self.store.console_lines(self.dir.path()),
        );
        let locations = if extra.contains("[[locations]]") { r#"["nas", "cloud"]"# } else { r#"["nas"]"# };
        let path = self.path("warroom.toml");
        std::fs::write(&path, text.replace("LOCATIONS", locations)).unwrap();
        path
    }

    pub async fn engine(&self, config: &Path) -> Engine {
        let loaded = config::load(config, &ProcessEnv).unwrap_or_else(|e| panic!("{e}"));
        Engine::open(loaded.config).await.unwrap()
    }

    pub fn data(&self) -> PathBuf {
        self.path("data")
    }
}

/// Propose, approve and run a job to its end.
pub async fn run(engine: &Engine, spec: JobSpec, plan: warroom::engine::jobs::Plan) -> JobSnapshot {
    let job = engine.propose(&spec, plan, "tester").await.unwrap();
    engine.approve(&job.id, "tester", &Proof::YesFlag).await.unwrap();
    engine.run_job(&job.id).await.unwrap()
}

pub async fn backup(engine: &Engine) -> JobSnapshot {
    let (spec, plan) = engine.plan_backup("files").await.unwrap();
    let job = run(engine, spec, plan).await;
    assert_eq!(job.state, JobState::Succeeded, "{:?}", job.outcome);
    job
}

pub async fn restore(engine: &Engine, id: &str, to: &Path) -> JobSnapshot {
    let (spec, plan) = engine.plan_restore(id, None, Some(to.to_owned()), false, None).await.unwrap();
    run(engine, spec, plan).await
}

pub fn write(path: &Path, text: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}
