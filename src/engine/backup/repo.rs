//! A backup repository at one location: self-describing, so a fresh console with no local
//! state lists, verifies and restores from it alone.
//!
//! ```text
//! warroom/<system>/<backup id>/data.age       the data: tar (paths) or raw output (commands),
//!                                             zstd-compressed, age-encrypted
//! warroom/<system>/<backup id>/index.age      the file listing (JSON), zstd, age
//! warroom/<system>/<backup id>/manifest.json  what the backup is (plain JSON), written last:
//!                                             a backup without its manifest does not exist
//! warroom/<system>/<backup id>/verified.json  the latest verification (plain JSON)
//! ```
//! On a folder (`fs`), every file is written under a temporary name, synced, then renamed. On
//! S3, objects appear whole when their upload completes, and the manifest goes last.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

use crate::config::backup::{Location, Store};

use super::manifest::{FORMAT_BEFORE_SIGNING, Manifest, Trust, check_id};
use crate::model::signature::{PublicKey, SecretKey};

/// A backup found at a location: its manifest, and whether it can be believed.
#[derive(Debug, Clone)]
pub struct Listed {
    pub manifest: Manifest,
    pub trust: Trust,
}

pub const ROOT: &str = "warroom";
pub const MANIFEST: &str = "manifest.json";
pub const DATA: &str = "data.age";
pub const INDEX: &str = "index.age";
pub const VERIFIED: &str = "verified.json";
/// Signatures (minisign's format) beside what they sign.
pub const MANIFEST_SIG: &str = "manifest.json.minisig";
pub const VERIFIED_SIG: &str = "verified.json.minisig";
/// The audit chain's head when the backup was made, signed: `audit verify` checks against it.
pub const ANCHOR: &str = "anchor.json";
pub const ANCHOR_SIG: &str = "anchor.json.minisig";

/// Chunks sent to a location while writing.
pub type Chunk = Bytes;

/// The latest verification of a backup at a location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyRecord {
    pub quick_at: Option<chrono::DateTime<chrono::Utc>>,
    pub deep_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Set when the last verification failed: what was wrong.
    pub error: Option<String>,
}

#[derive(Clone)]
pub struct Repository {
    pub location: String,
    backend: Backend,
    /// How copies here are locked, for an immutable location.
    lock: Option<Lock>,
}

#[derive(Clone)]
enum Lock {
    /// A folder: written files are made read-only.
    ReadOnly,
    ObjectLock(super::objectlock::ObjectLock),
}

#[derive(Clone)]
enum Backend {
    Fs(PathBuf),
    Object { store: Arc<dyn ObjectStore>, prefix: String },
}

impl Repository {
    pub fn open(location: &Location) -> Result<Repository, String> {
        let mut lock = None;
        let backend = match &location.store {
            Store::Fs { path } => Backend::Fs(path.clone()),
            Store::S3 { bucket, prefix, endpoint, region, access_key, secret_key, allow_http } => {
                // A location that stops answering is given up on within seconds, so the others
                // are not held up; the backup is then marked degraded.
                let retry = object_store::RetryConfig {
                    backoff: object_store::BackoffConfig {
                        init_backoff: std::time::Duration::from_millis(100),
                        max_backoff: std::time::Duration::from_secs(2),
                        base: 2.0,
                    },
                    max_retries: 3,
                    retry_timeout: std::time::Duration::from_secs(15),
                };
                let mut b = object_store::aws::AmazonS3Builder::new()
                    .with_bucket_name(bucket)
                    .with_region(region)
                    .with_retry(retry);
                if let Some(e) = endpoint {
                    b = b.with_endpoint(e).with_virtual_hosted_style_request(false);
                }
                if *allow_http {
                    b = b.with_allow_http(true);
                }
                let secret = |s: &Option<crate::config::secrets::SecretSource>,
                              var: &str|
                 -> Result<Option<String>, String> {
                    match s {
                        Some(src) => src
                            .resolve()
                            .map(|v| Some(v.expose().to_owned()))
                            .map_err(|e| format!("location {}: {e}", location.name)),
                        None => Ok(std::env::var(var).ok()),
                    }
                };
                // Credentials are given, never discovered: no instance-metadata lookups from a
                // DR console, and a missing key is a clear error, not a hang.
                let (Some(key), Some(secret_key)) =
                    (secret(access_key, "AWS_ACCESS_KEY_ID")?, secret(secret_key, "AWS_SECRET_ACCESS_KEY")?)
                else {
                    return Err(format!(
                        "location {}: no credentials: set access_key_id_env and secret_access_key_env (or _file) in its [[locations]] entry, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
                        location.name
                    ));
                };
                if let Some(i) = &location.immutable {
                    lock = Some(Lock::ObjectLock(super::objectlock::ObjectLock::new(
                        endpoint.as_deref(),
                        bucket,
                        region,
                        &key,
                        &secret_key,
                        i.mode,
                    )?));
                }
                b = b.with_access_key_id(key).with_secret_access_key(secret_key);
                let store = b.build().map_err(|e| format!("location {}: {e}", location.name))?;
                Backend::Object { store: Arc::new(store), prefix: prefix.clone() }
            }
        };
        if location.immutable.is_some() && lock.is_none() {
            lock = Some(Lock::ReadOnly);
        }
        Ok(Repository { location: location.name.clone(), backend, lock })
    }

    /// Copies here are locked until a date.
    pub fn immutable(&self) -> bool {
        self.lock.is_some()
    }

    /// Lock the object `rel` until `until`: S3 Object Lock, or a read-only file on a folder.
    pub async fn make_immutable(
        &self,
        rel: &str,
        until: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), String> {
        match (&self.lock, &self.backend) {
            (None, _) => Ok(()),
            (Some(Lock::ObjectLock(l)), _) => {
                l.retain(&self.key(rel), until).await.map_err(|e| format!("location {}: {e}", self.location))
            }
            (Some(Lock::ReadOnly), Backend::Fs(root)) => {
                use std::os::unix::fs::PermissionsExt;
                let path = no_links(root, rel, &self.location)?;
                tokio::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).await.map_err(|e| {
                    format!("location {}: cannot make {} read-only: {e}", self.location, path.display())
                })
            }
            (Some(Lock::ReadOnly), Backend::Object { .. }) => Ok(()),
        }
    }

    /// Whether the location can lock copies as configured (an S3 bucket without Object Lock
    /// cannot).
    pub async fn check_immutable(&self) -> Result<(), String> {
        match &self.lock {
            Some(Lock::ObjectLock(l)) => {
                l.check().await.map_err(|e| format!("location {}: {e}", self.location))
            }
            _ => Ok(()),
        }
    }

    fn key(&self, rel: &str) -> String {
        match &self.backend {
            Backend::Object { prefix, .. } if !prefix.is_empty() => format!("{prefix}/{rel}"),
            _ => rel.to_owned(),
        }
    }

    pub fn backup_key(system: &str, id: &str, file: &str) -> String {
        format!("{ROOT}/{system}/{id}/{file}")
    }

    /// Every complete backup (those with a manifest), of one system or all, each with whether
    /// its manifest is signed by one of `signers`. A manifest whose system or id does not match
    /// the folder it lies in, or that names a path, is skipped (and logged).
    pub async fn manifests(
        &self,
        system: Option<&str>,
        signers: &[PublicKey],
    ) -> Result<Vec<Listed>, String> {
        let mut out: Vec<Listed> = Vec::new();
        for (sys, id, files) in self.backups(system).await? {
            if !files.iter().any(|f| f == MANIFEST) {
                continue;
            }
            // One unreadable backup never hides the others: it is skipped, and said.
            let bytes = match self.read_small(&Self::backup_key(&sys, &id, MANIFEST)).await {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(location = %self.location, backup = %id, error = %e, "an unreadable manifest is skipped");
                    continue;
                }
            };
            let manifest = match serde_json::from_slice::<Manifest>(&bytes) {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(location = %self.location, backup = %id, error = %e, "an unreadable manifest is skipped");
                    continue;
                }
            };
            if check_id(&sys).is_err()
                || check_id(&id).is_err()
                || manifest.id != id
                || manifest.system != sys
            {
                tracing::warn!(location = %self.location, folder = %format!("{sys}/{id}"), "a manifest that does not match its folder is skipped");
                continue;
            }
            let trust = if files.iter().any(|f| f == MANIFEST_SIG) {
                match self.read_small(&Self::backup_key(&sys, &id, MANIFEST_SIG)).await {
                    Ok(sig) => {
                        match crate::model::signature::verify(signers, &bytes, &String::from_utf8_lossy(&sig))
                        {
                            Ok(signed) => Trust::Signed { key: signed.key_id },
                            Err(e) => Trust::Untrusted { reason: e.to_string() },
                        }
                    }
                    Err(e) => Trust::Untrusted { reason: format!("its signature cannot be read: {e}") },
                }
            } else if manifest.format <= FORMAT_BEFORE_SIGNING {
                Trust::Unsigned
            } else {
                Trust::Untrusted { reason: "it has no signature".to_owned() }
            };
            out.push(Listed { manifest, trust });
        }
        out.sort_by(|a, b| {
            a.manifest.started_at.cmp(&b.manifest.started_at).then(a.manifest.id.cmp(&b.manifest.id))
        });
        // A backup "made before signing" that is newer than a signed one of its system was not.
        let first_signed: std::collections::HashMap<String, chrono::DateTime<chrono::Utc>> =
            out.iter().filter(|l| l.trust.trusted()).fold(Default::default(), |mut acc, l| {
                acc.entry(l.manifest.system.clone()).or_insert(l.manifest.started_at);
                acc
            });
        for l in &mut out {
            if l.trust == Trust::Unsigned
                && first_signed.get(&l.manifest.system).is_some_and(|t| *t < l.manifest.started_at)
            {
                l.trust = Trust::Untrusted {
                    reason: "it has no signature, and signed backups of its system are older: it was not made before signing".to_owned(),
                };
            }
        }
        Ok(out)
    }

    /// The signed manifest bytes of a backup, read again (for adopting one).
    pub async fn manifest_bytes(&self, system: &str, id: &str) -> Result<Bytes, String> {
        self.read_small(&Self::backup_key(system, id, MANIFEST)).await
    }

    /// A small object whole, refusing one bigger than [`SMALL_OBJECT`] (a planted giant
    /// never fills memory).
    pub async fn read_small(&self, rel: &str) -> Result<Bytes, String> {
        self.read_at_most(rel, SMALL_OBJECT).await
    }

    /// An object whole, refusing one bigger than `max` bytes.
    pub async fn read_at_most(&self, rel: &str, max: u64) -> Result<Bytes, String> {
        match self.size(rel).await? {
            Some(n) if n > max => Err(format!(
                "location {}: {rel} is {n} bytes, more than the {max} it may be: refused",
                self.location
            )),
            _ => self.read_all(rel).await,
        }
    }

    /// (system, backup id, file names) of everything stored, complete or not.
    pub async fn backups(&self, system: Option<&str>) -> Result<Vec<(String, String, Vec<String>)>, String> {
        let prefix = match system {
            Some(s) => format!("{ROOT}/{s}"),
            None => ROOT.to_owned(),
        };
        let mut grouped: std::collections::BTreeMap<(String, String), Vec<String>> = Default::default();
        for rel in self.list(&prefix).await? {
            let parts: Vec<&str> = rel.split('/').collect();
            if let [ROOT, sys, id, file] = parts.as_slice()
                && check_id(sys).is_ok()
                && check_id(id).is_ok()
            {
                grouped.entry(((*sys).to_owned(), (*id).to_owned())).or_default().push((*file).to_owned());
            }
        }
        Ok(grouped.into_iter().map(|((s, i), f)| (s, i, f)).collect())
    }

    /// Relative paths of the objects under `prefix`.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, String> {
        match &self.backend {
            Backend::Fs(root) => {
                let root = root.clone();
                let prefix = prefix.to_owned();
                tokio::task::spawn_blocking(move || walk_files(&root, &prefix))
                    .await
                    .map_err(|e| e.to_string())?
            }
            Backend::Object { store, prefix: base } => {
                let full = ObjectPath::from(self.key(prefix));
                let mut stream = store.list(Some(&full));
                let mut out = Vec::new();
                while let Some(item) = stream.next().await {
                    let meta = item.map_err(|e| format!("location {}: cannot list: {e}", self.location))?;
                    let key = meta.location.to_string();
                    let rel = if base.is_empty() {
                        key
                    } else {
                        key.strip_prefix(&format!("{base}/")).unwrap_or(&key).to_owned()
                    };
                    out.push(rel);
                }
                Ok(out)
            }
        }
    }

    pub async fn read_all(&self, rel: &str) -> Result<Bytes, String> {
        match &self.backend {
            Backend::Fs(root) => {
                let path = no_links(root, rel, &self.location)?;
                tokio::fs::read(&path)
                    .await
                    .map(Bytes::from)
                    .map_err(|e| format!("location {}: cannot read {}: {e}", self.location, path.display()))
            }
            Backend::Object { store, .. } => {
                let r = store
                    .get(&ObjectPath::from(self.key(rel)))
                    .await
                    .map_err(|e| format!("location {}: cannot read {rel}: {e}", self.location))?;
                r.bytes().await.map_err(|e| format!("location {}: cannot read {rel}: {e}", self.location))
            }
        }
    }

    /// The object's size, or `None` if it is not there.
    pub async fn size(&self, rel: &str) -> Result<Option<u64>, String> {
        match &self.backend {
            Backend::Fs(root) => match tokio::fs::metadata(no_links(root, rel, &self.location)?).await {
                Ok(m) => Ok(Some(m.len())),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(format!("location {}: {e}", self.location)),
            },
            Backend::Object { store, .. } => match store.head(&ObjectPath::from(self.key(rel))).await {
                Ok(m) => Ok(Some(m.size)),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(format!("location {}: {e}", self.location)),
            },
        }
    }

    /// The object's bytes as they arrive.
    pub async fn stream(
        &self,
        rel: &str,
    ) -> Result<futures_util::stream::BoxStream<'static, Result<Bytes, String>>, String> {
        let location = self.location.clone();
        match &self.backend {
            Backend::Fs(root) => {
                let path = no_links(root, rel, &location)?;
                let file = tokio::fs::File::open(&path)
                    .await
                    .map_err(|e| format!("location {location}: cannot read {}: {e}", path.display()))?;
                let stream = tokio_util_stream(file);
                Ok(stream.map(move |r| r.map_err(|e| format!("location {location}: {e}"))).boxed())
            }
            Backend::Object { store, .. } => {
                let r = store
                    .get(&ObjectPath::from(self.key(rel)))
                    .await
                    .map_err(|e| format!("location {location}: cannot read {rel}: {e}"))?;
                Ok(r.into_stream().map(move |c| c.map_err(|e| format!("location {location}: {e}"))).boxed())
            }
        }
    }

    /// Write a small object whole (the manifest, a verification record), atomically.
    pub async fn write_small(&self, rel: &str, bytes: Vec<u8>) -> Result<(), String> {
        let mut w = self.writer(rel).await?;
        w.write(Bytes::from(bytes)).await?;
        w.finish().await.map(|_| ())
    }

    pub async fn writer(&self, rel: &str) -> Result<ObjectWriter, String> {
        let location = self.location.clone();
        match &self.backend {
            Backend::Fs(root) => {
                // Never create the location itself: an unmounted disk's mount point would
                // quietly fill the wrong filesystem.
                if !root.is_dir() {
                    return Err(format!(
                        "location {location}: the folder {} does not exist (is the disk mounted?); create it to use it",
                        root.display()
                    ));
                }
                let path = no_links(root, rel, &location)?;
                let dir = path.parent().map(|p| p.to_owned()).unwrap_or_else(|| root.clone());
                tokio::fs::create_dir_all(&dir)
                    .await
                    .map_err(|e| format!("location {location}: cannot create {}: {e}", dir.display()))?;
                // Nothing under the location is followed: a link planted in the repository
                // (by whoever can write to it) never sends a write elsewhere.
                let mut at = root.clone();
                for part in Path::new(rel).parent().into_iter().flat_map(|p| p.components()) {
                    at.push(part);
                    if std::fs::symlink_metadata(&at).is_ok_and(|m| !m.is_dir()) {
                        return Err(format!(
                            "location {location}: {} is not a folder (a link?): refused",
                            at.display()
                        ));
                    }
                }
                let tmp = path.with_extension("tmp");
                let _ = tokio::fs::remove_file(&tmp).await;
                let file = tokio::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .custom_flags(libc_nofollow())
                    .open(&tmp)
                    .await
                    .map_err(|e| format!("location {location}: cannot write {}: {e}", tmp.display()))?;
                Ok(ObjectWriter { location, size: 0, sink: Sink::Fs { file, tmp, path } })
            }
            Backend::Object { store, .. } => {
                let upload = store
                    .put_multipart(&ObjectPath::from(self.key(rel)))
                    .await
                    .map_err(|e| format!("location {location}: {e}"))?;
                Ok(ObjectWriter {
                    location,
                    size: 0,
                    sink: Sink::Object(Box::new(WriteMultipart::new_with_chunk_size(
                        upload,
                        5 * 1024 * 1024,
                    ))),
                })
            }
        }
    }

    /// Delete a backup: its manifest first (from then on it does not exist), then the rest.
    pub async fn delete(&self, system: &str, id: &str) -> Result<(), String> {
        let files: Vec<String> = self
            .backups(Some(system))
            .await?
            .into_iter()
            .find(|(_, i, _)| i == id)
            .map(|(_, _, f)| f)
            .unwrap_or_default();
        let mut ordered: Vec<String> = files.iter().filter(|f| *f == MANIFEST).cloned().collect();
        ordered.extend(files.iter().filter(|f| *f != MANIFEST).cloned());
        for f in ordered {
            self.delete_object(&Self::backup_key(system, id, &f)).await?;
        }
        if let Backend::Fs(root) = &self.backend
            && let Ok(dir) = no_links(root, &format!("{ROOT}/{system}/{id}"), &self.location)
        {
            let _ = tokio::fs::remove_dir(dir).await;
        }
        Ok(())
    }

    pub async fn delete_object(&self, rel: &str) -> Result<(), String> {
        match &self.backend {
            Backend::Fs(root) => match tokio::fs::remove_file(no_links(root, rel, &self.location)?).await {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(format!("location {}: cannot delete {rel}: {e}", self.location)),
            },
            Backend::Object { store, .. } => match store.delete(&ObjectPath::from(self.key(rel))).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(format!("location {}: cannot delete {rel}: {e}", self.location)),
            },
        }
    }

    /// Remove the empty backup folders of `system` (on a folder location, a run killed between
    /// making a backup's folder and writing into it leaves one). Returns how many.
    pub async fn remove_empty(&self, system: &str) -> usize {
        let Backend::Fs(root) = &self.backend else { return 0 };
        let Ok(dir) = no_links(root, &format!("{ROOT}/{system}"), &self.location) else { return 0 };
        let Ok(mut entries) = tokio::fs::read_dir(&dir).await else { return 0 };
        let mut removed = 0;
        while let Ok(Some(entry)) = entries.next_entry().await {
            // remove_dir fails on a folder that is not empty: exactly what is wanted.
            if entry.file_type().await.is_ok_and(|t| t.is_dir())
                && tokio::fs::remove_dir(entry.path()).await.is_ok()
            {
                removed += 1;
            }
        }
        removed
    }

    /// The latest verification recorded with this copy, if it was signed by one of `signers`
    /// for this very copy (its trusted comment names the location, system and backup). An
    /// unsigned record is only a claim: anyone with the bucket could have written it.
    pub async fn read_verify(&self, system: &str, id: &str, signers: &[PublicKey]) -> Option<VerifyRecord> {
        let bytes = self.read_small(&Self::backup_key(system, id, VERIFIED)).await.ok()?;
        let sig = self.read_small(&Self::backup_key(system, id, VERIFIED_SIG)).await.ok()?;
        let signed = crate::model::signature::verify(signers, &bytes, &String::from_utf8_lossy(&sig)).ok()?;
        (signed.comment == verify_comment(&self.location, system, id)).then_some(())?;
        serde_json::from_slice(&bytes).ok()
    }

    /// [`Repository::read_verify`], where `known` is what this host already holds for the copy:
    /// a record that says exactly that (to the microsecond the store keeps) changes nothing, so
    /// its signature is not checked again.
    pub async fn read_verify_known(
        &self,
        system: &str,
        id: &str,
        signers: &[PublicKey],
        known: Option<&VerifyRecord>,
    ) -> Option<VerifyRecord> {
        if let Some(k) = known.filter(|k| k.quick_at.is_some() || k.deep_at.is_some() || k.error.is_some()) {
            let bytes = self.read_small(&Self::backup_key(system, id, VERIFIED)).await.ok()?;
            let record: VerifyRecord = serde_json::from_slice(&bytes).ok()?;
            let micros = |t: Option<chrono::DateTime<chrono::Utc>>| {
                t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
            };
            if micros(record.quick_at) == micros(k.quick_at)
                && micros(record.deep_at) == micros(k.deep_at)
                && record.error == k.error
            {
                return Some(k.clone());
            }
        }
        self.read_verify(system, id, signers).await
    }

    /// Record a verification with the copy, signed when this host has a signing key.
    pub async fn write_verify(
        &self,
        system: &str,
        id: &str,
        record: &VerifyRecord,
        signer: Option<&SecretKey>,
    ) -> Result<(), String> {
        let bytes = serde_json::to_vec_pretty(record).map_err(|e| e.to_string())?;
        let sig = signer.map(|k| k.sign(&bytes, &verify_comment(&self.location, system, id)));
        self.write_small(&Self::backup_key(system, id, VERIFIED), bytes).await?;
        match sig {
            Some(sig) => {
                self.write_small(&Self::backup_key(system, id, VERIFIED_SIG), sig.into_bytes()).await
            }
            None => self.delete_object(&Self::backup_key(system, id, VERIFIED_SIG)).await,
        }
    }
}

/// Reach a location: it answers, and an immutable one can lock what is written to it.
pub async fn probe(location: &Location) -> Result<String, String> {
    let repo = Repository::open(location)?;
    match &repo.backend {
        Backend::Fs(root) if !root.is_dir() => {
            return Err(format!(
                "location {}: the folder {} does not exist (is the disk mounted?)",
                location.name,
                root.display()
            ));
        }
        Backend::Fs(_) => {}
        Backend::Object { store, .. } => {
            let prefix = ObjectPath::from(repo.key(ROOT));
            let mut listing = store.list(Some(&prefix));
            match tokio::time::timeout(std::time::Duration::from_secs(20), listing.next()).await {
                Err(_) => return Err(format!("location {}: no answer within 20 s", location.name)),
                Ok(Some(Err(e))) => return Err(format!("location {}: cannot list: {e}", location.name)),
                Ok(_) => {}
            }
        }
    }
    repo.check_immutable().await?;
    Ok(match (&repo.lock, &repo.backend) {
        (Some(_), Backend::Object { .. }) => "reachable; Object Lock enabled: copies are locked".to_owned(),
        (Some(_), Backend::Fs(_)) => "reachable; copies are made read-only".to_owned(),
        (None, _) => "reachable".to_owned(),
    })
}

/// What a verification record's signature says it is about.
fn verify_comment(location: &str, system: &str, id: &str) -> String {
    format!("warroom verification of backup {system}/{id} at location {location}")
}

/// Refuse a path under a folder location that passes through a link (or is one): whoever
/// can write to the location could plant one to send a listing, a write or a delete elsewhere.
fn no_links(root: &Path, rel: &str, location: &str) -> Result<PathBuf, String> {
    let mut at = root.to_owned();
    for part in rel.split('/').filter(|p| !p.is_empty()) {
        if part == ".." || part == "." {
            return Err(format!("location {location}: {rel} is not a plain path: refused"));
        }
        at.push(part);
        if std::fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(format!(
                "location {location}: {} is a link: refused (nothing is followed in a repository)",
                at.display()
            ));
        }
    }
    Ok(at)
}

/// The most a small object (a manifest, signature, anchor, verification record) may be.
pub const SMALL_OBJECT: u64 = 1 << 20;

fn libc_nofollow() -> i32 {
    rustix::fs::OFlags::NOFOLLOW.bits() as i32
}

/// Files under `root/prefix`, as paths relative to `root` with `/` (temporary ones too, so a
/// cleanup finds them).
fn walk_files(root: &std::path::Path, prefix: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    // Entries below are never followed (a link is listed, not entered); the way in is checked.
    let start = no_links(root, prefix, &root.display().to_string())?;
    if std::fs::symlink_metadata(&start).is_err() {
        return Ok(out);
    }
    let mut stack = vec![start];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        for entry in entries {
            let entry = entry.map_err(|e| e.to_string())?;
            let path = entry.path();
            let kind = entry.file_type().map_err(|e| e.to_string())?;
            if kind.is_dir() {
                stack.push(path);
            } else if let Ok(rel) = path.strip_prefix(root) {
                let rel = rel.to_string_lossy().replace('\\', "/");
                out.push(rel);
            }
        }
    }
    Ok(out)
}

fn tokio_util_stream(file: tokio::fs::File) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> {
    futures_util::stream::unfold(file, |mut file| async move {
        use tokio::io::AsyncReadExt;
        let mut buf = vec![0u8; 1 << 20];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(Bytes::from(buf)), file))
            }
            Err(e) => Some((Err(e), file)),
        }
    })
}

enum Sink {
    Fs { file: tokio::fs::File, tmp: PathBuf, path: PathBuf },
    Object(Box<WriteMultipart>),
}

/// A streaming write of one object; it exists under its name only after `finish`.
pub struct ObjectWriter {
    location: String,
    size: u64,
    sink: Sink,
}

impl ObjectWriter {
    pub async fn write(&mut self, chunk: Bytes) -> Result<(), String> {
        self.size += chunk.len() as u64;
        match &mut self.sink {
            Sink::Fs { file, tmp, .. } => file
                .write_all(&chunk)
                .await
                .map_err(|e| format!("location {}: cannot write {}: {e}", self.location, tmp.display())),
            Sink::Object(w) => {
                w.wait_for_capacity(2).await.map_err(|e| format!("location {}: {e}", self.location))?;
                w.put(chunk);
                Ok(())
            }
        }
    }

    /// Make the object whole: on a folder, sync and rename. Returns its size.
    pub async fn finish(self) -> Result<u64, String> {
        let location = self.location;
        match self.sink {
            Sink::Fs { mut file, tmp, path } => {
                file.flush().await.map_err(|e| format!("location {location}: {e}"))?;
                file.sync_all()
                    .await
                    .map_err(|e| format!("location {location}: cannot sync {}: {e}", tmp.display()))?;
                drop(file);
                tokio::fs::rename(&tmp, &path)
                    .await
                    .map_err(|e| format!("location {location}: cannot rename {}: {e}", tmp.display()))?;
                if let Some(dir) = path.parent()
                    && let Ok(d) = tokio::fs::File::open(dir).await
                {
                    let _ = d.sync_all().await;
                }
            }
            Sink::Object(w) => {
                w.finish()
                    .await
                    .map_err(|e| format!("location {location}: cannot complete the upload: {e}"))?;
            }
        }
        Ok(self.size)
    }

    /// Give up: nothing is left under the object's name (a folder's temporary file goes too).
    pub async fn abort(self) {
        match self.sink {
            Sink::Fs { file, tmp, .. } => {
                drop(file);
                let _ = tokio::fs::remove_file(&tmp).await;
            }
            Sink::Object(w) => {
                let _ = w.abort().await;
            }
        }
    }
}
