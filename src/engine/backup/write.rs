//! Taking a backup: source -> tar (for paths) -> zstd -> age -> SHA-256 -> every location at once.
//!
//! ```text
//!  thread "archive": walk, read, hash each file, tar ──► zstd (its own worker threads)
//!        │ compressed chunks (bounded channel)
//!        ▼
//!  thread "encrypt": age ──► SHA-256 of what is stored ──► 1 MiB chunks (bounded channel)
//!        ▼
//!  async: each chunk to every location's writer; a location that fails is dropped, the others
//!         carry on (the backup is then "degraded", with the reason)
//! ```
//! Every channel is bounded, so memory stays bounded whatever the size of the data. Data and
//! index are written first; the manifest, last, only to the locations that have them whole.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use crate::config::backup::Source;
use crate::engine::jobs::Meter;
use crate::model::BackupKind;

use super::manifest::{
    EntryKind, FORMAT, Index, IndexEntry, LocationFailure, Manifest, SourceInfo, fingerprint,
};
use super::repo::{ANCHOR, ANCHOR_SIG, DATA, INDEX, MANIFEST, MANIFEST_SIG, ObjectWriter, Repository};
use crate::model::signature::SecretKey;

/// zstd level: fast, as `zstd -1`.
const LEVEL: i32 = 1;
const CHUNK: usize = 1 << 20;

/// What a backup job asks for.
pub struct BackupRequest {
    pub id: String,
    pub system: String,
    pub source: Source,
    pub kind: BackupKind,
    /// For incremental and differential backups: the parent's manifest and file listing.
    pub parent: Option<(Manifest, Index)>,
    pub recipients: Vec<String>,
    pub locations: Vec<Repository>,
    pub started_at: DateTime<Utc>,
    /// This host's signing key: the manifest is signed with it.
    pub signer: Arc<SecretKey>,
    /// The audit chain's head to anchor beside the backup, signed too.
    pub anchor: Option<super::anchor::Anchor>,
    /// Immutable locations, and until when their copy is locked.
    pub lock_until: HashMap<String, DateTime<Utc>>,
}

/// A finished backup: the manifest, where it was written, the plain listing (for the local
/// cache, so the next incremental needs no private key).
pub struct Written {
    pub manifest: Manifest,
    pub index: Index,
    pub written: Vec<String>,
    /// Messages for the job log (files that changed while read, skipped special files).
    pub notes: Vec<String>,
}

pub async fn write(
    req: BackupRequest,
    control: Meter,
    finished: impl Fn() -> DateTime<Utc>,
) -> Result<Written, String> {
    let recipients: Vec<age::x25519::Recipient> = req
        .recipients
        .iter()
        .map(|r| {
            age::x25519::Recipient::from_str(r)
                .map_err(|e| format!("the recipient {r} is not a public key: {e}"))
        })
        .collect::<Result<_, _>>()?;
    if recipients.is_empty() {
        return Err("there is no one to encrypt to: add [encryption] recipients".into());
    }

    // Open the data object at every location; one that cannot even start is dropped now.
    let mut writers: Vec<(String, Option<ObjectWriter>)> = Vec::new();
    let mut failures: Vec<LocationFailure> = Vec::new();
    for repo in &req.locations {
        match repo.writer(&Repository::backup_key(&req.system, &req.id, DATA)).await {
            Ok(w) => writers.push((repo.location.clone(), Some(w))),
            Err(reason) => failures.push(LocationFailure { location: repo.location.clone(), reason }),
        }
    }
    if writers.is_empty() {
        return Err(format!("no location can be written: {}", describe_failures(&failures)));
    }

    let (compressed_tx, compressed_rx) = sync_channel::<Vec<u8>>(4);
    let (stored_tx, mut stored_rx) = mpsc::channel::<Bytes>(4);
    let parent_index = req.parent.as_ref().map(|(_, index)| index.clone());
    let source = req.source.clone();
    let archive_control = control.clone();
    let archive = tokio::task::spawn_blocking(move || {
        archive(&source, parent_index.as_ref(), compressed_tx, &archive_control)
    });
    let encrypt_recipients = recipients.clone();
    let encrypt = tokio::task::spawn_blocking(move || encrypt(compressed_rx, &encrypt_recipients, stored_tx));

    // Fan the stored bytes out to every location still writing.
    while let Some(chunk) = stored_rx.recv().await {
        for (location, slot) in writers.iter_mut() {
            let Some(w) = slot else { continue };
            if let Err(reason) = w.write(chunk.clone()).await {
                tracing::warn!(%location, %reason, "a backup location failed; the others carry on");
                if let Some(w) = slot.take() {
                    w.abort().await;
                }
                failures.push(LocationFailure { location: location.clone(), reason });
            }
        }
        if writers.iter().all(|(_, w)| w.is_none()) {
            control.cancel();
            break;
        }
    }
    drop(stored_rx);
    let archived = archive.await.map_err(|e| format!("the archiver stopped: {e}"))?;
    let encrypted = encrypt.await.map_err(|e| format!("the encryptor stopped: {e}"))?;
    let abort_all = |writers: Vec<(String, Option<ObjectWriter>)>| async move {
        for (_, w) in writers {
            if let Some(w) = w {
                w.abort().await;
            }
        }
    };
    let (mut index, plain_size, notes) = match archived {
        Ok(a) => a,
        Err(e) => {
            abort_all(writers).await;
            return Err(e);
        }
    };
    let (sha256, stored_size) = match encrypted {
        Ok(e) => e,
        Err(e) => {
            abort_all(writers).await;
            return Err(e);
        }
    };
    if control.cancelled() && writers.iter().all(|(_, w)| w.is_none()) {
        return Err(format!("every location failed: {}", describe_failures(&failures)));
    }

    // A program's output restores as `<system>.out`; the listing says so.
    if matches!(req.source, Source::Command { .. })
        && let Some(entry) = index.entries.first_mut()
    {
        entry.path = format!("{}.out", req.system);
    }

    // The data is whole where it was written whole.
    let mut live: Vec<String> = Vec::new();
    for (location, w) in writers {
        let Some(w) = w else { continue };
        match w.finish().await {
            Ok(_) => live.push(location),
            Err(reason) => failures.push(LocationFailure { location, reason }),
        }
    }

    // The listing, encrypted like the data.
    let index_bytes = encrypt_index(&index, &recipients)?;
    let index_sha256 = format!("{:x}", Sha256::digest(&index_bytes));
    let mut with_index = Vec::new();
    for location in live {
        let Some(repo) = req.locations.iter().find(|r| r.location == location) else { continue };
        match repo
            .write_small(&Repository::backup_key(&req.system, &req.id, INDEX), index_bytes.clone())
            .await
        {
            Ok(()) => with_index.push(location),
            Err(reason) => failures.push(LocationFailure { location, reason }),
        }
    }
    if with_index.is_empty() {
        return Err(format!("no location holds the whole backup: {}", describe_failures(&failures)));
    }
    // Immutable locations lock the data and the listing before the manifest makes the backup
    // exist. A location that refuses keeps its copy, unlocked, and says so.
    let mut immutable_until = std::collections::BTreeMap::new();
    for location in &with_index {
        let (Some(until), Some(repo)) =
            (req.lock_until.get(location), req.locations.iter().find(|r| &r.location == location))
        else {
            continue;
        };
        let mut locked = Ok(());
        for file in [DATA, INDEX] {
            if locked.is_ok() {
                locked =
                    repo.make_immutable(&Repository::backup_key(&req.system, &req.id, file), *until).await;
            }
        }
        match locked {
            Ok(()) => {
                immutable_until.insert(location.clone(), *until);
            }
            Err(reason) => failures.push(LocationFailure {
                location: location.clone(),
                reason: format!("the copy is not immutable: {reason}"),
            }),
        }
    }

    let stored_files = index.entries.iter().filter(|e| e.stored && e.kind == EntryKind::File).count() as u64;
    let manifest = Manifest {
        format: FORMAT,
        id: req.id.clone(),
        system: req.system.clone(),
        kind: req.kind,
        parent: req.parent.as_ref().map(|(m, _)| m.id.clone()),
        started_at: req.started_at,
        finished_at: finished(),
        source: match &req.source {
            Source::Path(p) => SourceInfo::Path { path: p.display().to_string() },
            Source::Command { .. } => {
                SourceInfo::Command { command: req.source.describe(), file: format!("{}.out", req.system) }
            }
        },
        files: index.entries.len() as u64,
        stored_files,
        deleted_files: index.deleted.len() as u64,
        plain_size,
        stored_size,
        sha256,
        index_size: index_bytes.len() as u64,
        index_sha256,
        recipients: req.recipients.iter().map(|r| fingerprint(r)).collect(),
        compression: format!("zstd level {LEVEL}"),
        encryption: "age x25519".into(),
        tool: concat!("warroom ", env!("CARGO_PKG_VERSION")).into(),
        degraded: failures,
        immutable_until,
    };
    // Last: the manifest makes the backup exist, at each location that holds all of it. Its
    // signature, and the signed anchor of the audit chain, are there before it appears.
    let bytes = serde_json::to_vec_pretty(&manifest).map_err(|e| e.to_string())?;
    let signature = req.signer.sign(&bytes, &manifest_comment(&manifest));
    let anchor = req.anchor.as_ref().map(|a| {
        let bytes = a.to_bytes();
        let sig = req.signer.sign(&bytes, &a.comment());
        (bytes, sig)
    });
    let mut written = Vec::new();
    let mut late_failures = Vec::new();
    let mut notes = notes;
    for location in with_index {
        let Some(repo) = req.locations.iter().find(|r| r.location == location) else { continue };
        if let Some((a, sig)) = &anchor {
            let key = |f: &str| Repository::backup_key(&req.system, &req.id, f);
            let anchored = match repo.write_small(&key(ANCHOR), a.clone()).await {
                Ok(()) => repo.write_small(&key(ANCHOR_SIG), sig.clone().into_bytes()).await,
                Err(e) => Err(e),
            };
            if let Err(e) = anchored {
                notes.push(format!("{location}: the audit chain's anchor was not written: {e}"));
            }
        }
        let signed = repo
            .write_small(
                &Repository::backup_key(&req.system, &req.id, MANIFEST_SIG),
                signature.clone().into_bytes(),
            )
            .await;
        let result = match signed {
            Ok(()) => {
                repo.write_small(&Repository::backup_key(&req.system, &req.id, MANIFEST), bytes.clone()).await
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => {
                if let Some(until) = manifest.immutable_until.get(&location)
                    && let Some(repo) = req.locations.iter().find(|r| r.location == location)
                {
                    for file in [MANIFEST_SIG, MANIFEST, ANCHOR, ANCHOR_SIG] {
                        if file.starts_with("anchor") && anchor.is_none() {
                            continue;
                        }
                        if let Err(e) = repo
                            .make_immutable(&Repository::backup_key(&req.system, &req.id, file), *until)
                            .await
                        {
                            notes.push(format!("{location}: {file} is not locked: {e}"));
                        }
                    }
                }
                written.push(location)
            }
            Err(reason) => late_failures.push(LocationFailure { location, reason }),
        }
    }
    if written.is_empty() {
        return Err(format!("no manifest could be written: {}", describe_failures(&late_failures)));
    }
    let mut manifest = manifest;
    manifest.degraded.extend(late_failures);
    Ok(Written { manifest, index, written, notes })
}

pub fn describe_failures(failures: &[LocationFailure]) -> String {
    failures.iter().map(|f| format!("{}: {}", f.location, f.reason)).collect::<Vec<_>>().join("; ")
}

/// The file listing as stored: JSON, zstd, age, streamed into the (compressed, encrypted)
/// result, so a listing of a million files never sits in memory as text.
pub fn encrypt_index(index: &Index, recipients: &[age::x25519::Recipient]) -> Result<Vec<u8>, String> {
    let encryptor = age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
        .map_err(|e| format!("cannot encrypt: {e}"))?;
    let mut out = Vec::new();
    let encrypted = encryptor.wrap_output(&mut out).map_err(|e| e.to_string())?;
    let mut compressed =
        zstd::stream::write::Encoder::new(io::BufWriter::with_capacity(64 * 1024, encrypted), 3)
            .map_err(|e| format!("cannot compress the index: {e}"))?;
    serde_json::to_writer(&mut compressed, index).map_err(|e| format!("cannot write the index: {e}"))?;
    let buffered = compressed.finish().map_err(|e| format!("cannot compress the index: {e}"))?;
    let encrypted = buffered.into_inner().map_err(|e| format!("cannot encrypt the index: {e}"))?;
    encrypted.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

/// Sends what is written to it in chunks over a bounded channel.
struct ChunkSink {
    buf: Vec<u8>,
    tx: SyncSender<Vec<u8>>,
}

impl Write for ChunkSink {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            let full = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
            self.tx
                .send(full)
                .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the encryptor stopped"))?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            let rest = std::mem::take(&mut self.buf);
            self.tx
                .send(rest)
                .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the encryptor stopped"))?;
        }
        Ok(())
    }
}

/// Hashes what is stored and hands it on in chunks.
struct StoredSink {
    hasher: Sha256,
    size: u64,
    buf: Vec<u8>,
    tx: mpsc::Sender<Bytes>,
}

impl Write for StoredSink {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.hasher.update(data);
        self.size += data.len() as u64;
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            let full = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
            self.tx
                .blocking_send(Bytes::from(full))
                .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "every location stopped"))?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            let rest = std::mem::take(&mut self.buf);
            self.tx
                .blocking_send(Bytes::from(rest))
                .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "every location stopped"))?;
        }
        Ok(())
    }
}

/// Encrypt the compressed stream; returns the stored object's SHA-256 and size.
fn encrypt(
    rx: Receiver<Vec<u8>>,
    recipients: &[age::x25519::Recipient],
    tx: mpsc::Sender<Bytes>,
) -> Result<(String, u64), String> {
    let encryptor = age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
        .map_err(|e| format!("cannot encrypt: {e}"))?;
    let sink = StoredSink { hasher: Sha256::new(), size: 0, buf: Vec::with_capacity(CHUNK), tx };
    let mut w = encryptor.wrap_output(sink).map_err(|e| format!("cannot encrypt: {e}"))?;
    for chunk in rx {
        w.write_all(&chunk).map_err(|e| format!("cannot encrypt: {e}"))?;
    }
    let mut sink = w.finish().map_err(|e| format!("cannot finish encrypting: {e}"))?;
    sink.flush().map_err(|e| format!("cannot hand on the data: {e}"))?;
    Ok((format!("{:x}", sink.hasher.finalize()), sink.size))
}

type Archived = (Index, u64, Vec<String>);

/// Archive the source into the compressed stream; returns the listing, the bytes read, notes.
fn archive(
    source: &Source,
    parent: Option<&Index>,
    tx: SyncSender<Vec<u8>>,
    control: &Meter,
) -> Result<Archived, String> {
    let sink = ChunkSink { buf: Vec::with_capacity(CHUNK), tx };
    let mut encoder =
        zstd::stream::write::Encoder::new(sink, LEVEL).map_err(|e| format!("cannot compress: {e}"))?;
    let workers = std::thread::available_parallelism().map(|n| n.get() as u32).unwrap_or(1);
    if workers > 1 {
        encoder.multithread(workers).map_err(|e| format!("cannot compress on {workers} threads: {e}"))?;
        // Small jobs keep zstd's buffers (a few per worker) small.
        encoder
            .set_parameter(zstd::stream::raw::CParameter::JobSize(1 << 20))
            .map_err(|e| format!("cannot set the compression job size: {e}"))?;
    }
    let result = match source {
        Source::Path(root) => archive_path(root, parent, &mut encoder, control),
        Source::Command { program, args } => archive_command(program, args, &mut encoder, control),
    };
    let (index, plain, notes) = result?;
    let mut sink = encoder.finish().map_err(|e| format!("cannot finish compressing: {e}"))?;
    sink.flush().map_err(|e| format!("cannot hand on the data: {e}"))?;
    Ok((index, plain, notes))
}

fn cancelled() -> String {
    "cancelled".to_owned()
}

/// Tells the watcher thread to stop, and waits for it.
struct StopOnDrop(Arc<AtomicBool>, Option<std::thread::JoinHandle<()>>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
        if let Some(t) = self.1.take() {
            let _ = t.join();
        }
    }
}

/// Run the program and compress its output; a failing program fails the backup.
fn archive_command(
    program: &str,
    args: &[String],
    out: &mut impl Write,
    control: &Meter,
) -> Result<Archived, String> {
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    let group = i32::try_from(child.id()).ok().and_then(rustix::process::Pid::from_raw);
    let stderr = child.stderr.take();
    let err_tail = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut e) = stderr {
            let _ = e.read_to_string(&mut text);
        }
        text.lines().rev().take(5).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join(" / ")
    });
    let mut stdout = child.stdout.take().ok_or("no output to read")?;
    // A read blocks while the program is silent: a watcher kills its whole group as soon as
    // the job is cancelled (or times out), so the read ends and nothing is left running.
    let finished = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (finished, cancel) = (finished.clone(), control.cancel_flag());
        std::thread::spawn(move || {
            while !finished.load(Ordering::Relaxed) {
                if cancel.load(Ordering::Relaxed) {
                    if let Some(pid) = group {
                        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
                    }
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        })
    };
    let _stop_watcher = StopOnDrop(finished, Some(watcher));
    let mut hasher = blake3::Hasher::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 256 * 1024];
    let kill = |child: &mut std::process::Child| {
        if let Some(pid) = group {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
        let _ = child.kill();
        let _ = child.wait();
    };
    loop {
        if control.cancelled() {
            kill(&mut child);
            return Err(cancelled());
        }
        let n = match stdout.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                kill(&mut child);
                return Err(format!("cannot read the output of {program}: {e}"));
            }
        };
        hasher.update(&buf[..n]);
        size += n as u64;
        control.set_done(size);
        if let Err(e) = out.write_all(&buf[..n]) {
            kill(&mut child);
            return Err(format!("cannot store the output: {e}"));
        }
    }
    let status = child.wait().map_err(|e| format!("cannot wait for {program}: {e}"))?;
    let tail = err_tail.join().unwrap_or_default();
    if control.cancelled() {
        return Err(cancelled());
    }
    if !status.success() {
        let code = status.code().map(|c| format!("exit {c}")).unwrap_or_else(|| "killed by a signal".into());
        let why = if tail.is_empty() { String::new() } else { format!(": {tail}") };
        return Err(format!("{program} failed ({code}){why}"));
    }
    let entry = IndexEntry {
        path: "output".into(),
        kind: EntryKind::File,
        size,
        mtime: 0,
        ctime: 0,
        mode: 0o600,
        sha256: None,
        blake3: Some(hasher.finalize().to_hex().to_string()),
        target: None,
        stored: true,
    };
    Ok((Index { entries: vec![entry], deleted: vec![] }, size, vec![]))
}

/// An entry found under the source: its relative path and the metadata the archive needs (not
/// the whole `std::fs::Metadata`: a million of these stay small).
struct Found {
    rel: String,
    meta: Meta,
}

#[derive(Clone, Copy)]
struct Meta {
    kind: FoundKind,
    len: u64,
    mtime: i64,
    mtime_nsec: i64,
    ctime_ns: i128,
    mode: u32,
    uid: u32,
    gid: u32,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FoundKind {
    File,
    Dir,
    Symlink,
}

impl Meta {
    fn of(m: &std::fs::Metadata) -> Option<Meta> {
        let ft = m.file_type();
        let kind = if ft.is_dir() {
            FoundKind::Dir
        } else if ft.is_symlink() {
            FoundKind::Symlink
        } else if ft.is_file() {
            FoundKind::File
        } else {
            return None;
        };
        Some(Meta {
            kind,
            len: m.len(),
            mtime: m.mtime(),
            mtime_nsec: m.mtime_nsec(),
            ctime_ns: i128::from(m.ctime()) * 1_000_000_000 + i128::from(m.ctime_nsec()),
            mode: m.permissions().mode(),
            uid: m.uid(),
            gid: m.gid(),
        })
    }

    fn is_file(&self) -> bool {
        self.kind == FoundKind::File
    }

    fn mtime_ns(&self) -> i128 {
        i128::from(self.mtime) * 1_000_000_000 + i128::from(self.mtime_nsec)
    }
}

/// Every file, folder and symlink under `root` (not following links), sorted, paths relative.
fn scan(root: &Path, notes: &mut Vec<String>) -> Result<Vec<Found>, String> {
    let meta = std::fs::symlink_metadata(root)
        .map_err(|e| format!("cannot read the source {}: {e}", root.display()))?;
    if !meta.is_dir() {
        let name =
            root.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "file".into());
        let meta = Meta::of(&meta)
            .ok_or_else(|| format!("the source {} is not a file or folder", root.display()))?;
        return Ok(vec![Found { rel: name, meta }]);
    }
    let mut out = Vec::new();
    let mut stack: Vec<(PathBuf, String)> = vec![(root.to_owned(), String::new())];
    while let Some((dir, rel_dir)) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
            .filter_map(Result::ok)
            .collect();
        entries.sort_by_key(|e| e.file_name());
        let mut subdirs = Vec::new();
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = if rel_dir.is_empty() { name } else { format!("{rel_dir}/{name}") };
            let full = entry.path();
            let meta = match std::fs::symlink_metadata(&full) {
                Ok(m) => m,
                Err(e) => {
                    notes.push(format!("skipped {rel}: {e}"));
                    continue;
                }
            };
            match Meta::of(&meta) {
                Some(m) if m.kind == FoundKind::Dir => {
                    subdirs.push((full, rel.clone()));
                    out.push(Found { rel, meta: m });
                }
                Some(m) => out.push(Found { rel, meta: m }),
                None => notes.push(format!("skipped {rel}: not a file, folder or symlink")),
            }
        }
        for d in subdirs.into_iter().rev() {
            stack.push(d);
        }
    }
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(out)
}

/// Archive a file or folder; with a parent listing, only what changed is stored.
fn archive_path(
    root: &Path,
    parent: Option<&Index>,
    out: &mut impl Write,
    control: &Meter,
) -> Result<Archived, String> {
    let mut notes = Vec::new();
    let found = scan(root, &mut notes)?;
    // A single file is its own source; else entries are under the folder.
    let single = !root.is_dir();
    let full = |f: &Found| if single { root.to_owned() } else { root.join(&f.rel) };
    let before: HashMap<&str, &IndexEntry> =
        parent.map(|p| p.entries.iter().map(|e| (e.path.as_str(), e)).collect()).unwrap_or_default();
    // Unchanged: same kind, size and modification time as in the parent (metadata only).
    let unchanged = |f: &Found| -> Option<&IndexEntry> {
        let old = before.get(f.rel.as_str())?;
        let same = f.meta.is_file()
            && old.kind == EntryKind::File
            && old.size == f.meta.len
            && old.mtime == f.meta.mtime_ns()
            && (old.ctime == 0 || old.ctime == f.meta.ctime_ns);
        same.then_some(*old)
    };
    let total: u64 =
        found.iter().filter(|f| f.meta.is_file() && unchanged(f).is_none()).map(|f| f.meta.len).sum();
    control.set_total(total);

    let mut tar = tar::Builder::new(out);
    tar.mode(tar::HeaderMode::Complete);
    let mut entries = Vec::with_capacity(found.len());
    let mut plain = 0u64;
    let mut buf = vec![0u8; 256 * 1024];
    for f in &found {
        if control.cancelled() {
            return Err(cancelled());
        }
        let mode = f.meta.mode;
        let mtime = f.meta.mtime_ns();
        let mut header = tar::Header::new_gnu();
        header.set_mode(mode & 0o7777);
        header.set_mtime(u64::try_from(f.meta.mtime).unwrap_or(0));
        header.set_uid(u64::from(f.meta.uid));
        header.set_gid(u64::from(f.meta.gid));
        if f.meta.kind == FoundKind::Dir {
            header.set_entry_type(tar::EntryType::Directory);
            header.set_size(0);
            tar.append_data(&mut header, &f.rel, io::empty())
                .map_err(|e| format!("cannot archive {}: {e}", f.rel))?;
            entries.push(IndexEntry {
                path: f.rel.clone(),
                kind: EntryKind::Dir,
                size: 0,
                mtime,
                ctime: f.meta.ctime_ns,
                mode,
                sha256: None,
                blake3: None,
                target: None,
                stored: true,
            });
        } else if f.meta.kind == FoundKind::Symlink {
            let target =
                std::fs::read_link(full(f)).map_err(|e| format!("cannot read the link {}: {e}", f.rel))?;
            header.set_entry_type(tar::EntryType::Symlink);
            header.set_size(0);
            tar.append_link(&mut header, &f.rel, &target)
                .map_err(|e| format!("cannot archive {}: {e}", f.rel))?;
            entries.push(IndexEntry {
                path: f.rel.clone(),
                kind: EntryKind::Symlink,
                size: 0,
                mtime,
                ctime: f.meta.ctime_ns,
                mode,
                sha256: None,
                blake3: None,
                target: Some(target.to_string_lossy().into_owned()),
                stored: true,
            });
        } else if let Some(old) = unchanged(f) {
            entries.push(IndexEntry { stored: false, mode, ctime: f.meta.ctime_ns, ..old.clone() });
        } else {
            let size = f.meta.len;
            let path = full(f);
            let file =
                std::fs::File::open(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let mut reader = ExactReader {
                inner: file,
                left: size,
                hasher: blake3::Hasher::new(),
                short: false,
                buf: &mut buf,
                control,
            };
            header.set_entry_type(tar::EntryType::Regular);
            header.set_size(size);
            tar.append_data(&mut header, &f.rel, &mut reader)
                .map_err(|e| format!("cannot archive {}: {e}", f.rel))?;
            if reader.short || std::fs::metadata(&path).is_ok_and(|m| m.len() != size) {
                notes.push(format!("{} changed while it was read; stored as {} bytes", f.rel, size));
            }
            let content = reader.hasher.finalize().to_hex().to_string();
            plain += size;
            entries.push(IndexEntry {
                path: f.rel.clone(),
                kind: EntryKind::File,
                size,
                mtime,
                ctime: f.meta.ctime_ns,
                mode,
                sha256: None,
                blake3: Some(content),
                target: None,
                stored: true,
            });
        }
    }
    tar.finish().map_err(|e| format!("cannot finish the archive: {e}"))?;
    let now: std::collections::HashSet<&str> = found.iter().map(|f| f.rel.as_str()).collect();
    let deleted = parent
        .map(|p| {
            p.entries.iter().filter(|e| !now.contains(e.path.as_str())).map(|e| e.path.clone()).collect()
        })
        .unwrap_or_default();
    Ok((Index { entries, deleted }, plain, notes))
}

/// Reads exactly `left` bytes (zeros if the file shrank while read), hashing them, counting
/// progress, stopping on cancel.
struct ExactReader<'a, R> {
    inner: R,
    left: u64,
    hasher: blake3::Hasher,
    short: bool,
    buf: &'a mut Vec<u8>,
    control: &'a Meter,
}

impl<R: Read> Read for ExactReader<'_, R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        if self.control.cancelled() {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "cancelled"));
        }
        let want = out.len().min(self.buf.len()).min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = loop {
            if self.short {
                self.buf[..want].fill(0);
                break want;
            }
            match self.inner.read(&mut self.buf[..want]) {
                Ok(0) => self.short = true,
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        out[..n].copy_from_slice(&self.buf[..n]);
        self.hasher.update(&self.buf[..n]);
        self.left -= n as u64;
        self.control.advance(n as u64);
        Ok(n)
    }
}

/// The trusted comment of a manifest's signature: what `minisign -V` prints.
pub fn manifest_comment(manifest: &Manifest) -> String {
    format!("warroom backup {}/{} taken {}", manifest.system, manifest.id, manifest.started_at.to_rfc3339())
}
