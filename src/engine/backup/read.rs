//! Reading backups back: quick verification (each copy is there, its size and SHA-256 match),
//! restore (the chain, oldest first, into a staging folder renamed into place only when all
//! of it checked out) and deep verification (a full restore test into a scratch folder).

use std::collections::HashMap;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, sync_channel};

use bytes::Bytes;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use super::contain::{Found, Tree};
use super::manifest::{ContentCheck, EntryKind, Index, IndexEntry, Manifest, SourceInfo};
use super::repo::{DATA, INDEX, Repository};
use crate::engine::jobs::Meter;

/// Private keys, shared with the threads that decrypt.
pub type Identities = std::sync::Arc<Vec<Box<dyn age::Identity + Send + Sync>>>;

/// Read the private key(s) from an identity file (as `warroom keygen` or `age-keygen` write).
pub fn load_identities(path: &Path) -> Result<Identities, String> {
    let file = age::IdentityFile::from_file(path.display().to_string())
        .map_err(|e| format!("cannot read the identity file {}: {e}", path.display()))?;
    let ids = file
        .into_identities()
        .map_err(|e| format!("the identity file {} holds no usable key: {e}", path.display()))?;
    if ids.is_empty() {
        return Err(format!("the identity file {} holds no key", path.display()));
    }
    Ok(std::sync::Arc::new(ids))
}

/// What a quick verification of one copy found.
pub async fn quick(repo: &Repository, manifest: &Manifest) -> Result<(), String> {
    let data_key = Repository::backup_key(&manifest.system, &manifest.id, DATA);
    let (size, sha) = hash_object(repo, &data_key).await?;
    if size != manifest.stored_size {
        return Err(format!(
            "location {}: backup {}: the data is {size} bytes, the manifest says {}",
            repo.location, manifest.id, manifest.stored_size
        ));
    }
    if sha != manifest.sha256 {
        return Err(format!(
            "location {}: backup {}: the data's SHA-256 does not match the manifest (it was altered or damaged)",
            repo.location, manifest.id
        ));
    }
    let index_key = Repository::backup_key(&manifest.system, &manifest.id, INDEX);
    let (_, index_sha) = hash_object(repo, &index_key).await?;
    if index_sha != manifest.index_sha256 {
        return Err(format!(
            "location {}: backup {}: the file listing's SHA-256 does not match the manifest",
            repo.location, manifest.id
        ));
    }
    Ok(())
}

async fn hash_object(repo: &Repository, key: &str) -> Result<(u64, String), String> {
    let mut stream = repo.stream(key).await.map_err(|e| format!("{e} (the object is missing)"))?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        size += chunk.len() as u64;
        hasher.update(&chunk);
    }
    Ok((size, format!("{:x}", hasher.finalize())))
}

/// The backup's file listing, checked against its manifest and decrypted.
pub async fn index(repo: &Repository, manifest: &Manifest, identities: &Identities) -> Result<Index, String> {
    // No more than the signed manifest says the listing is.
    let bytes = repo
        .read_at_most(&Repository::backup_key(&manifest.system, &manifest.id, INDEX), manifest.index_size)
        .await?;
    if format!("{:x}", Sha256::digest(&bytes)) != manifest.index_sha256 {
        return Err(format!(
            "location {}: backup {}: the file listing was altered or damaged",
            repo.location, manifest.id
        ));
    }
    let decryptor = age::Decryptor::new_buffered(&bytes[..])
        .map_err(|e| format!("backup {}: the file listing is not an age file: {e}", manifest.id))?;
    let reader = decryptor
        .decrypt(identities.iter().map(|i| i.as_ref() as &dyn age::Identity))
        .map_err(|e| no_key(manifest, e))?;
    // Decrypted, decompressed and parsed as it streams: never whole in memory as text, and
    // never more of it than the manifest's counts allow (a listing that inflates to GiBs is
    // stopped, not parsed).
    let plain = zstd::stream::read::Decoder::new(reader)
        .map_err(|e| format!("backup {}: cannot decompress the file listing: {e}", manifest.id))?;
    let limit = index_limit(manifest);
    let limited = Limited { inner: plain, left: limit };
    let index: Index = serde_json::from_reader(io::BufReader::new(limited)).map_err(|e| {
        if e.to_string().contains(TOO_BIG) {
            format!(
                "backup {}: the file listing is bigger than its manifest's {} entries allow ({} bytes): refused",
                manifest.id, manifest.files, limit
            )
        } else {
            format!("backup {}: the file listing is unreadable: {e}", manifest.id)
        }
    })?;
    if index.entries.len() as u64 != manifest.files || index.deleted.len() as u64 != manifest.deleted_files {
        return Err(format!(
            "backup {}: the file listing holds {} entries and {} deletions, its manifest says {} and {}: refused",
            manifest.id,
            index.entries.len(),
            index.deleted.len(),
            manifest.files,
            manifest.deleted_files
        ));
    }
    Ok(index)
}

/// The most a listing of the manifest's size can take as JSON: an entry is at most two paths
/// of 4 KiB and its fields.
fn index_limit(manifest: &Manifest) -> u64 {
    (manifest.files.saturating_add(manifest.deleted_files).saturating_add(16)).saturating_mul(10 * 1024)
}

/// The most a backup's data can decompress to: the bytes read from the source, plus the tar
/// headers and padding of its entries (long names included).
fn data_limit(manifest: &Manifest) -> u64 {
    match manifest.source {
        SourceInfo::Command { .. } => manifest.plain_size,
        SourceInfo::Path { .. } => manifest
            .plain_size
            .saturating_add(manifest.files.saturating_add(2).saturating_mul(10 * 1024))
            .saturating_add(64 * 1024),
    }
}

const TOO_BIG: &str = "more than its manifest allows";

/// Reads at most `left` bytes; past that, an error (a decompression bomb, or a lie).
struct Limited<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(out)?;
        if n as u64 > self.left {
            self.left = 0;
            return Err(io::Error::other(TOO_BIG));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

fn no_key(manifest: &Manifest, e: age::DecryptError) -> String {
    match e {
        age::DecryptError::NoMatchingKeys => format!(
            "backup {}: the identity given cannot open it: it was encrypted to keys {} (check [encryption] identity_file, or give --identity)",
            manifest.id,
            manifest.recipients.join(", ")
        ),
        other => format!("backup {}: cannot decrypt: {other}", manifest.id),
    }
}

/// A blocking reader over an async stream of chunks, hashing what passes.
struct StreamReader {
    rx: Receiver<Result<Bytes, String>>,
    current: Bytes,
    hasher: Sha256,
    size: u64,
    error: Option<String>,
}

impl Read for StreamReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.recv() {
                Ok(Ok(chunk)) => {
                    self.hasher.update(&chunk);
                    self.size += chunk.len() as u64;
                    self.current = chunk;
                }
                Ok(Err(e)) => {
                    self.error = Some(e.clone());
                    return Err(io::Error::other(e));
                }
                Err(_) => return Ok(0),
            }
        }
        let n = out.len().min(self.current.len());
        out[..n].copy_from_slice(&self.current[..n]);
        let _ = self.current.split_to(n);
        Ok(n)
    }
}

/// Feed `key`'s bytes from the repository to a blocking reader.
async fn reader_for(repo: &Repository, key: &str) -> Result<StreamReader, String> {
    let mut stream = repo.stream(key).await?;
    let (tx, rx) = sync_channel::<Result<Bytes, String>>(4);
    tokio::spawn(async move {
        while let Some(chunk) = stream.next().await {
            let stop = chunk.is_err();
            if tx.send(chunk).is_err() || stop {
                break;
            }
        }
    });
    Ok(StreamReader { rx, current: Bytes::new(), hasher: Sha256::new(), size: 0, error: None })
}

/// Restore `chain` (oldest first, a full backup first) from `repo` into `target`, which must
/// not exist or be empty (unless `force`: what was there is moved aside, never deleted). Each
/// backup's data is checked against its manifest and every file against its listing as it is
/// read; the restore happens in a staging folder next to the target, renamed into place only
/// when everything checked out. Returns where an old target was moved, if anywhere.
pub async fn restore(
    repo: &Repository,
    chain: &[Manifest],
    identities: &Identities,
    target: &Path,
    force: bool,
    control: &Meter,
) -> Result<Option<PathBuf>, String> {
    let Some(last) = chain.last() else { return Err("nothing to restore".into()) };
    super::manifest::check_id(&last.id)?;
    if target.exists() && !force {
        let empty = std::fs::read_dir(target).map(|mut d| d.next().is_none()).unwrap_or(false);
        if !empty {
            return Err(format!(
                "{} is not empty; restore into an empty folder, or give --force (what is there is moved aside)",
                target.display()
            ));
        }
    }
    let parent = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    let name =
        target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "restore".into());
    // A name nobody can guess, made exclusively: nothing already there is used or removed.
    let mut suffix = [0u8; 6];
    super::keys::random(&mut suffix)?;
    let suffix: String = suffix.iter().map(|b| format!("{b:02x}")).collect();
    let staging = parent.join(format!(".{name}.warroom-restore-{}-{suffix}", last.id));
    std::fs::create_dir(&staging).map_err(|e| format!("cannot create {}: {e}", staging.display()))?;
    let total: u64 = chain.iter().map(|m| m.plain_size).sum();
    control.set_total(total);
    let result = restore_into(repo, chain, identities, &staging, control).await;
    if let Err(e) = result {
        // Nothing is left behind: what landed goes before the error is told.
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    let moved = if target.exists() {
        let empty = std::fs::read_dir(target).map(|mut d| d.next().is_none()).unwrap_or(false);
        if empty {
            std::fs::remove_dir(target).map_err(|e| format!("cannot replace {}: {e}", target.display()))?;
            None
        } else {
            let aside =
                parent.join(format!("{name}.replaced-{}", chrono::Utc::now().format("%Y%m%dT%H%M%SZ")));
            std::fs::rename(target, &aside)
                .map_err(|e| format!("cannot move {} aside: {e}", target.display()))?;
            Some(aside)
        }
    } else {
        None
    };
    std::fs::rename(&staging, target)
        .map_err(|e| format!("cannot move the restore into {}: {e}", target.display()))?;
    Ok(moved)
}

/// Restore the chain into `dir` (an empty folder) and check the result against the last
/// listing: every entry there, every file its size and SHA-256. Nothing is created, followed
/// or replaced outside `dir`, whatever the archive holds. The caller removes `dir` on error.
pub async fn restore_into(
    repo: &Repository,
    chain: &[Manifest],
    identities: &Identities,
    dir: &Path,
    control: &Meter,
) -> Result<(), String> {
    // Every listing first: what the restore will need, before a byte lands.
    let mut indexes = Vec::with_capacity(chain.len());
    for manifest in chain {
        indexes.push(index(repo, manifest, identities).await?);
    }
    let mut tree = Tree::open(dir)?;
    // The tree is at its biggest after one of the backups of the chain: each listing is the
    // whole tree at that point. Blocks round each file up.
    let need = indexes
        .iter()
        .map(|i| {
            i.entries
                .iter()
                .map(|e| e.size.div_ceil(4096).saturating_add(1).saturating_mul(4096))
                .sum::<u64>()
        })
        .max()
        .unwrap_or(0);
    let free = tree.free_space()?;
    if need > free {
        return Err(format!(
            "the restore needs about {} and {} has {} free: free some space, or restore somewhere else (--to)",
            crate::model::backup::bytes(need),
            dir.parent().unwrap_or(dir).display(),
            crate::model::backup::bytes(free)
        ));
    }
    for (n, (manifest, idx)) in chain.iter().zip(indexes.iter()).enumerate() {
        let reader = reader_for(repo, &Repository::backup_key(&manifest.system, &manifest.id, DATA)).await?;
        let (m, idx) = (manifest.clone(), idx.clone());
        let ctl = control.clone();
        let keys = identities.clone();
        let (applied, back) = tokio::task::spawn_blocking(move || {
            let r = apply(reader, &m, &idx, &keys, &mut tree, &ctl, n == 0);
            (r, tree)
        })
        .await
        .map_err(|e| format!("the restore stopped: {e}"))?;
        tree = back;
        applied?;
    }
    let Some(index) = indexes.pop() else { return Ok(()) };
    tokio::task::spawn_blocking(move || check_tree(&mut tree, &index))
        .await
        .map_err(|e| format!("the check stopped: {e}"))?
}

/// Apply one backup's data: check it, write what it stores, delete what it lists as deleted.
/// Decryption (and the stored object's SHA-256) runs on a thread of its own, decompression,
/// the per-file checks and the writing on this one: both cores work.
fn apply(
    reader: StreamReader,
    manifest: &Manifest,
    index: &Index,
    keys: &Identities,
    tree: &mut Tree,
    control: &Meter,
    fresh: bool,
) -> Result<(), String> {
    let (tx, rx) = sync_channel::<Vec<u8>>(4);
    let (m, keys) = (manifest.clone(), keys.clone());
    let decrypting = std::thread::spawn(move || -> Result<StreamReader, String> {
        let mut reader = reader;
        {
            let decryptor = age::Decryptor::new(&mut reader).map_err(|e| data_error(&m, &e.to_string()))?;
            let mut plain = decryptor
                .decrypt(keys.iter().map(|k| k.as_ref() as &dyn age::Identity))
                .map_err(|e| no_key(&m, e))?;
            let mut buf = vec![0u8; 256 * 1024];
            loop {
                let n = plain.read(&mut buf).map_err(|e| data_error(&m, &e.to_string()))?;
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        }
        // What is left (the reader may have stopped early) still counts for the hash.
        let mut rest = [0u8; 64 * 1024];
        while let Ok(n) = reader.read(&mut rest) {
            if n == 0 {
                break;
            }
        }
        Ok(reader)
    });
    let plain = ChannelReader { rx, current: Vec::new(), at: 0 };
    let limit = data_limit(manifest);
    let result = zstd::stream::read::Decoder::new(plain)
        .map_err(|e| data_error(manifest, &e.to_string()))
        .and_then(|decoder| {
            let decoder = Limited { inner: decoder, left: limit };
            let listed: HashMap<&str, &IndexEntry> =
                index.entries.iter().map(|e| (e.path.as_str(), e)).collect();
            match &manifest.source {
                SourceInfo::Command { file, .. } => {
                    write_output(decoder, tree, file, listed.get(file.as_str()).copied(), control, fresh)
                }
                SourceInfo::Path { .. } => unpack(decoder, tree, &listed, control, fresh),
            }
        })
        .map_err(|e| {
            if e.contains(TOO_BIG) {
                format!(
                    "backup {}: the data decompresses past the {limit} bytes its manifest allows: stopped (a decompression bomb, or a forged manifest)",
                    manifest.id
                )
            } else {
                e
            }
        });
    // The data's own checks come first: a damaged object explains a broken archive.
    let mut raw = decrypting.join().map_err(|_| "the decryption stopped".to_owned())??;
    if let Some(e) = raw.error.take() {
        return Err(e);
    }
    let sha = format!("{:x}", raw.hasher.finalize_reset());
    if result.is_ok() && (sha != manifest.sha256 || raw.size != manifest.stored_size) {
        return Err(format!(
            "backup {}: the data at this location does not match its manifest (SHA-256 or size differ): it was altered or damaged",
            manifest.id
        ));
    }
    result?;
    for gone in &index.deleted {
        tree.remove(gone)?;
    }
    Ok(())
}

/// A blocking reader over chunks sent from another thread.
struct ChannelReader {
    rx: Receiver<Vec<u8>>,
    current: Vec<u8>,
    at: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.at == self.current.len() {
            match self.rx.recv() {
                Ok(chunk) => {
                    self.current = chunk;
                    self.at = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = out.len().min(self.current.len() - self.at);
        out[..n].copy_from_slice(&self.current[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

fn data_error(manifest: &Manifest, e: &str) -> String {
    format!("backup {}: the data cannot be read ({e}): it was altered or damaged", manifest.id)
}

fn write_output(
    mut decoder: impl Read,
    tree: &mut Tree,
    file: &str,
    listed: Option<&IndexEntry>,
    control: &Meter,
    fresh: bool,
) -> Result<(), String> {
    let Some(expected) = listed.filter(|e| e.kind == EntryKind::File) else {
        return Err(format!("the output {file} is not in the backup's listing: refused"));
    };
    let Some(mut check) = ContentCheck::of(expected) else {
        return Err(format!("the output {file} has no content hash in its listing: refused"));
    };
    let mut out = tree.create_file(file, !fresh)?;
    let mut size = 0u64;
    let mut buf = vec![0u8; 256 * 1024];
    let written = (|| -> Result<(), String> {
        loop {
            let n = decoder.read(&mut buf).map_err(|e| format!("cannot read the backup: {e}"))?;
            if n == 0 {
                break;
            }
            size += n as u64;
            if size > expected.size {
                return Err(format!(
                    "the output {file} is longer than its listing's {} bytes: refused",
                    expected.size
                ));
            }
            check.update(&buf[..n]);
            control.advance(n as u64);
            io::Write::write_all(&mut out, &buf[..n]).map_err(|e| format!("cannot write {file}: {e}"))?;
        }
        out.sync_all().map_err(|e| format!("cannot sync {file}: {e}"))?;
        if expected.size != size || !check.clone().matches() {
            return Err(format!("the restored output does not match its listing ({size} bytes)"));
        }
        Ok(())
    })();
    if written.is_err() {
        drop(out);
        let _ = tree.remove(file);
    }
    written
}

/// Files up to this size are written by the writer threads; bigger ones by the reader.
const SMALL: u64 = 256 * 1024;
/// Threads writing small files: creating many files costs system calls, not bandwidth.
const WRITERS: usize = 3;

/// A small file, read and checked against its listing, to be written into its folder.
struct WriteJob {
    dir: std::sync::Arc<cap_std::fs::Dir>,
    name: std::ffi::OsString,
    rel: String,
    data: Vec<u8>,
    mode: u32,
    mtime: i64,
    replace: bool,
}

fn write_small(job: &WriteJob) -> Result<(), String> {
    let mut out = super::contain::create_in(&job.dir, &job.name, job.replace)
        .map_err(|e| format!("cannot write {}: {e}", job.rel))?;
    io::Write::write_all(&mut out, &job.data).map_err(|e| format!("cannot write {}: {e}", job.rel))?;
    finish_file(&out, &job.rel, job.mode, job.mtime)
}

/// Mode and time through the open handle: no second open.
fn finish_file(out: &std::fs::File, rel: &str, mode: u32, mtime: i64) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    out.set_permissions(std::fs::Permissions::from_mode(mode & 0o7777))
        .map_err(|e| format!("cannot set the mode of {rel}: {e}"))?;
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(u64::try_from(mtime).unwrap_or(0));
    let _ = out.set_modified(t);
    Ok(())
}

/// Why an archive entry is refused before anything of it is written.
fn refuse(rel: &str, why: &str) -> String {
    format!("{rel}: {why}: refused, nothing of it was written")
}

/// Unpack the archive into `tree`, each entry checked against the listing before a byte of
/// it lands. `fresh`: the tree was empty before (the first backup of a chain).
fn unpack(
    decoder: impl Read,
    tree: &mut Tree,
    listed: &HashMap<&str, &IndexEntry>,
    control: &Meter,
    fresh: bool,
) -> Result<(), String> {
    let mut archive = tar::Archive::new(decoder);
    let mut dirs: Vec<(String, u32, i64)> = Vec::new();
    let entries = archive.entries().map_err(|e| format!("cannot read the archive: {e}"))?;
    let mut buf = vec![0u8; 256 * 1024];
    // Bounded: at most 32 small files (8 MiB) wait for a writer.
    let (tx, rx) = sync_channel::<WriteJob>(32);
    let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
    let failed: std::sync::Arc<std::sync::Mutex<Option<String>>> = Default::default();
    let writers: Vec<std::thread::JoinHandle<()>> = (0..WRITERS)
        .map(|_| {
            let (rx, failed) = (rx.clone(), failed.clone());
            std::thread::spawn(move || {
                loop {
                    let job = match rx.lock() {
                        Ok(r) => r.recv(),
                        Err(_) => return,
                    };
                    let Ok(job) = job else { return };
                    if let Err(e) = write_small(&job)
                        && let Ok(mut f) = failed.lock()
                    {
                        f.get_or_insert(e);
                    }
                }
            })
        })
        .collect();
    let mut seen = std::collections::HashSet::new();
    let result = (|| -> Result<(), String> {
        for entry in entries {
            if control.cancelled() {
                return Err("cancelled".into());
            }
            if let Some(e) = failed.lock().ok().and_then(|f| f.clone()) {
                return Err(e);
            }
            let mut entry = entry.map_err(|e| format!("cannot read the archive: {e}"))?;
            let raw = entry.path().map_err(|e| format!("a bad path in the archive: {e}"))?;
            let rel = raw
                .to_str()
                .ok_or_else(|| {
                    format!("the archive holds a path that is not UTF-8 ({}): refused", raw.display())
                })?
                .trim_end_matches('/')
                .to_owned();
            super::contain::split(&rel)?;
            let header = entry.header().clone();
            let kind = header.entry_type();
            let link =
                || entry.link_name().ok().flatten().map(|l| l.display().to_string()).unwrap_or_default();
            match kind {
                tar::EntryType::Link => {
                    return Err(refuse(
                        &rel,
                        &format!("a hard link (to \"{}\"); warroom never restores hard links", link()),
                    ));
                }
                tar::EntryType::Char | tar::EntryType::Block => return Err(refuse(&rel, "a device file")),
                tar::EntryType::Fifo => return Err(refuse(&rel, "a FIFO")),
                tar::EntryType::Directory
                | tar::EntryType::Symlink
                | tar::EntryType::Regular
                | tar::EntryType::Continuous => {}
                other => {
                    return Err(refuse(&rel, &format!("an archive entry of an unexpected type ({other:?})")));
                }
            }
            let Some(expected) = listed.get(rel.as_str()).copied() else {
                return Err(refuse(&rel, "it is in the archive but not in its listing"));
            };
            if !seen.insert(rel.clone()) {
                return Err(refuse(&rel, "it is in the archive twice"));
            }
            let mode = header.mode().unwrap_or(0o644);
            let mtime = header.mtime().unwrap_or(0) as i64;
            match kind {
                tar::EntryType::Directory => {
                    if expected.kind != EntryKind::Dir {
                        return Err(refuse(&rel, "a folder in the archive, not in its listing"));
                    }
                    tree.make_dir(&rel, !fresh)?;
                    dirs.push((rel, mode, mtime));
                }
                tar::EntryType::Symlink => {
                    let target = entry
                        .link_name()
                        .ok()
                        .flatten()
                        .ok_or_else(|| format!("the link {rel} has no target"))?
                        .into_owned();
                    if expected.kind != EntryKind::Symlink || expected.target.as_deref() != target.to_str() {
                        return Err(refuse(&rel, "a link that its listing does not have"));
                    }
                    tree.symlink(&rel, &target, !fresh)?;
                }
                _ => {
                    let size = header.size().map_err(|e| format!("{rel}: a bad size in the archive: {e}"))?;
                    if expected.kind != EntryKind::File || !expected.stored || expected.size != size {
                        return Err(refuse(
                            &rel,
                            &format!("{size} bytes in the archive, its listing says {} bytes", expected.size),
                        ));
                    }
                    let Some(mut hasher) = ContentCheck::of(expected) else {
                        return Err(refuse(&rel, "its listing gives no content hash"));
                    };
                    let matches = |check: ContentCheck| check.matches();
                    if size <= SMALL {
                        // Read and checked whole before it is written.
                        let mut data = Vec::with_capacity(size as usize);
                        (&mut entry)
                            .take(size)
                            .read_to_end(&mut data)
                            .map_err(|e| format!("cannot read {rel} from the backup: {e}"))?;
                        hasher.update(&data);
                        control.advance(data.len() as u64);
                        if data.len() as u64 != size || !matches(hasher) {
                            return Err(refuse(
                                &rel,
                                "it does not match its listing (the backup was altered or damaged)",
                            ));
                        }
                        let (dir, name) = tree.parent(&rel, true)?;
                        tx.send(WriteJob {
                            dir,
                            name: name.to_owned(),
                            rel,
                            data,
                            mode,
                            mtime,
                            replace: !fresh,
                        })
                        .map_err(|_| "the file writers stopped".to_owned())?;
                    } else {
                        let mut out = tree.create_file(&rel, !fresh)?;
                        let mut got = 0u64;
                        let written = (|| -> Result<(), String> {
                            loop {
                                let n = entry
                                    .read(&mut buf)
                                    .map_err(|e| format!("cannot read {rel} from the backup: {e}"))?;
                                if n == 0 {
                                    break;
                                }
                                hasher.update(&buf[..n]);
                                got += n as u64;
                                control.advance(n as u64);
                                io::Write::write_all(&mut out, &buf[..n])
                                    .map_err(|e| format!("cannot write {rel}: {e}"))?;
                            }
                            if got != size || !matches(hasher.clone()) {
                                return Err(format!(
                                    "{rel} does not match its listing: the backup was altered or damaged; what was written of it is removed"
                                ));
                            }
                            finish_file(&out, &rel, mode, mtime)
                        })();
                        if let Err(e) = written {
                            drop(out);
                            let _ = tree.remove(&rel);
                            return Err(e);
                        }
                    }
                }
            }
        }
        Ok(())
    })();
    drop(tx);
    for w in writers {
        let _ = w.join();
    }
    result?;
    if let Some(e) = failed.lock().ok().and_then(|f| f.clone()) {
        return Err(e);
    }
    // Folders last: writing into them changed their times.
    for (rel, mode, mtime) in dirs.into_iter().rev() {
        tree.finish_dir(&rel, mode, mtime);
    }
    Ok(())
}

/// Every entry of the final listing is in the tree, of its kind, each file of its size
/// (looked at without following a link). Each file's content was checked against its SHA-256
/// as it was written.
fn check_tree(tree: &mut Tree, index: &Index) -> Result<(), String> {
    for e in &index.entries {
        let found = tree.find(&e.path)?.ok_or_else(|| format!("{} is missing after the restore", e.path))?;
        match (e.kind, found) {
            (EntryKind::Dir, Found::Dir) | (EntryKind::Symlink, Found::Symlink) => {}
            (EntryKind::File, Found::File { len }) if len == e.size => {}
            (EntryKind::File, Found::File { len }) => {
                return Err(format!("{} is {len} bytes after the restore, {} in the backup", e.path, e.size));
            }
            (EntryKind::Dir, _) => return Err(format!("{} should be a folder", e.path)),
            (EntryKind::Symlink, _) => return Err(format!("{} should be a link", e.path)),
            (EntryKind::File, _) => return Err(format!("{} should be a file", e.path)),
        }
    }
    Ok(())
}
