//! Reading backups back: quick verification (each copy is there, its size and SHA-256 match),
//! restore (the chain, oldest first, into a staging folder renamed into place only when all
//! of it checked out) and deep verification (a full restore test into a scratch folder).

use std::collections::HashMap;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};
use std::sync::mpsc::{Receiver, sync_channel};

use bytes::Bytes;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use super::manifest::{EntryKind, Index, IndexEntry, Manifest, SourceInfo};
use super::repo::{DATA, INDEX, Repository};
use super::write::Control;

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
    let bytes = repo.read_all(&Repository::backup_key(&manifest.system, &manifest.id, INDEX)).await?;
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
    // Decrypted, decompressed and parsed as it streams: never whole in memory as text.
    let plain = zstd::stream::read::Decoder::new(reader)
        .map_err(|e| format!("backup {}: cannot decompress the file listing: {e}", manifest.id))?;
    serde_json::from_reader(io::BufReader::new(plain))
        .map_err(|e| format!("backup {}: the file listing is unreadable: {e}", manifest.id))
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
    control: &Control,
) -> Result<Option<PathBuf>, String> {
    let Some(last) = chain.last() else { return Err("nothing to restore".into()) };
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
    let staging = parent.join(format!(".{name}.warroom-restore-{}", last.id));
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(|e| format!("cannot clear {}: {e}", staging.display()))?;
    }
    std::fs::create_dir_all(&staging).map_err(|e| format!("cannot create {}: {e}", staging.display()))?;
    let total: u64 = chain.iter().map(|m| m.plain_size).sum();
    control.bytes_total.store(total, std::sync::atomic::Ordering::Relaxed);
    let result = restore_into(repo, chain, identities, &staging, control).await;
    if let Err(e) = result {
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
/// listing: every entry there, every file its size and SHA-256.
pub async fn restore_into(
    repo: &Repository,
    chain: &[Manifest],
    identities: &Identities,
    dir: &Path,
    control: &Control,
) -> Result<(), String> {
    let mut final_index = None;
    for (n, manifest) in chain.iter().enumerate() {
        let idx = index(repo, manifest, identities).await?;
        let reader = reader_for(repo, &Repository::backup_key(&manifest.system, &manifest.id, DATA)).await?;
        let m = manifest.clone();
        let out = dir.to_owned();
        let ctl = control.clone();
        let keys = identities.clone();
        let (applied, idx) = tokio::task::spawn_blocking(move || {
            let r = apply(reader, &m, &idx, &keys, &out, &ctl, n == 0);
            (r, idx)
        })
        .await
        .map_err(|e| format!("the restore stopped: {e}"))?;
        applied?;
        final_index = Some(idx);
    }
    let Some(index) = final_index else { return Ok(()) };
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || check_tree(&dir, &index))
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
    dir: &Path,
    control: &Control,
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
    let result = zstd::stream::read::Decoder::new(plain)
        .map_err(|e| data_error(manifest, &e.to_string()))
        .and_then(|decoder| {
            let listed: HashMap<&str, &IndexEntry> =
                index.entries.iter().map(|e| (e.path.as_str(), e)).collect();
            match &manifest.source {
                SourceInfo::Command { file, .. } => {
                    write_output(decoder, dir, file, listed.get(file.as_str()).copied(), control)
                }
                SourceInfo::Path { .. } => unpack(decoder, dir, &listed, control, fresh),
            }
        });
    // The data's own checks come first: a damaged object explains a broken archive.
    let mut raw = decrypting.join().map_err(|_| "the decryption stopped".to_owned())??;
    if let Some(e) = raw.error.take() {
        return Err(e);
    }
    let sha = format!("{:x}", raw.hasher.finalize_reset());
    if sha != manifest.sha256 || raw.size != manifest.stored_size {
        return Err(format!(
            "backup {}: the data at this location does not match its manifest (SHA-256 or size differ): it was altered or damaged",
            manifest.id
        ));
    }
    result?;
    for gone in &index.deleted {
        let path = safe_join(dir, gone)?;
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => {
                let _ = std::fs::remove_dir_all(&path);
            }
            Ok(_) => {
                let _ = std::fs::remove_file(&path);
            }
            Err(_) => {}
        }
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
    dir: &Path,
    file: &str,
    listed: Option<&IndexEntry>,
    control: &Control,
) -> Result<(), String> {
    let path = safe_join(dir, file)?;
    let mut out =
        std::fs::File::create(&path).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = decoder.read(&mut buf).map_err(|e| format!("cannot read the backup: {e}"))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
        control.bytes_done.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        io::Write::write_all(&mut out, &buf[..n])
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    out.sync_all().map_err(|e| format!("cannot sync {}: {e}", path.display()))?;
    if let Some(e) = listed {
        let sha = format!("{:x}", hasher.finalize());
        if e.size != size || e.sha256.as_deref() != Some(sha.as_str()) {
            return Err(format!("the restored output does not match its listing ({size} bytes)"));
        }
    }
    Ok(())
}

/// A path inside `dir`, refusing anything that would escape it.
fn safe_join(dir: &Path, rel: &str) -> Result<PathBuf, String> {
    let p = Path::new(rel);
    if p.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Err(format!("the backup holds an unsafe path \"{rel}\": refused"));
    }
    Ok(dir.join(p))
}

/// Files up to this size are written by the writer threads; bigger ones by the reader.
const SMALL: u64 = 256 * 1024;
/// Threads writing small files: creating many files costs system calls, not bandwidth.
const WRITERS: usize = 3;

/// A small file, read and checked, to be written.
struct WriteJob {
    path: PathBuf,
    data: Vec<u8>,
    mode: u32,
    mtime: i64,
}

fn write_file(path: &Path, data: &[u8], mode: u32, mtime: i64) -> Result<(), String> {
    let mut out = std::fs::File::create(path).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    io::Write::write_all(&mut out, data).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    finish_file(&out, path, mode, mtime)
}

/// Mode and time through the open handle: no second open.
fn finish_file(out: &std::fs::File, path: &Path, mode: u32, mtime: i64) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    out.set_permissions(std::fs::Permissions::from_mode(mode & 0o7777))
        .map_err(|e| format!("cannot set the mode of {}: {e}", path.display()))?;
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(u64::try_from(mtime).unwrap_or(0));
    let _ = out.set_modified(t);
    Ok(())
}

/// `fresh`: `dir` was empty before (the first backup of a chain): nothing can be in the way.
fn unpack(
    decoder: impl Read,
    dir: &Path,
    listed: &HashMap<&str, &IndexEntry>,
    control: &Control,
    fresh: bool,
) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let mut archive = tar::Archive::new(decoder);
    let mut dirs: Vec<(PathBuf, u32, i64)> = Vec::new();
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
                    if let Err(e) = write_file(&job.path, &job.data, job.mode, job.mtime)
                        && let Ok(mut f) = failed.lock()
                    {
                        f.get_or_insert(e);
                    }
                }
            })
        })
        .collect();
    let mut made: std::collections::HashSet<PathBuf> = std::collections::HashSet::new();
    let ensure_parent = |path: &Path, made: &mut std::collections::HashSet<PathBuf>| -> Result<(), String> {
        if let Some(p) = path.parent()
            && !made.contains(p)
        {
            std::fs::create_dir_all(p).map_err(|e| format!("cannot create {}: {e}", p.display()))?;
            made.insert(p.to_owned());
        }
        Ok(())
    };
    let result = (|| -> Result<(), String> {
        for entry in entries {
            if control.cancel.load(std::sync::atomic::Ordering::Relaxed) {
                return Err("cancelled".into());
            }
            if let Some(e) = failed.lock().ok().and_then(|f| f.clone()) {
                return Err(e);
            }
            let mut entry = entry.map_err(|e| format!("cannot read the archive: {e}"))?;
            let rel = entry
                .path()
                .map_err(|e| format!("a bad path in the archive: {e}"))?
                .to_string_lossy()
                .trim_end_matches('/')
                .to_owned();
            let path = safe_join(dir, &rel)?;
            let header = entry.header().clone();
            let mode = header.mode().unwrap_or(0o644);
            let mtime = header.mtime().unwrap_or(0) as i64;
            match header.entry_type() {
                tar::EntryType::Directory => {
                    if !made.contains(&path) {
                        std::fs::create_dir_all(&path)
                            .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
                        made.insert(path.clone());
                    }
                    dirs.push((path, mode, mtime));
                }
                tar::EntryType::Symlink => {
                    let target = entry
                        .link_name()
                        .ok()
                        .flatten()
                        .ok_or_else(|| format!("the link {rel} has no target"))?
                        .into_owned();
                    ensure_parent(&path, &mut made)?;
                    let _ = std::fs::remove_file(&path);
                    std::os::unix::fs::symlink(&target, &path)
                        .map_err(|e| format!("cannot create the link {}: {e}", path.display()))?;
                }
                tar::EntryType::Regular => {
                    ensure_parent(&path, &mut made)?;
                    // A later backup of the chain replaces the file (never writes through a
                    // link that an earlier one left there).
                    if !fresh && std::fs::symlink_metadata(&path).is_ok_and(|m| !m.is_file()) {
                        let _ = std::fs::remove_file(&path);
                    }
                    let expected = listed.get(rel.as_str()).copied();
                    let mut hasher = Sha256::new();
                    let mut size = 0u64;
                    let small = header.size().is_ok_and(|s| s <= SMALL);
                    let mut data = Vec::new();
                    let mut out = if small {
                        None
                    } else {
                        Some(
                            std::fs::File::create(&path)
                                .map_err(|e| format!("cannot write {}: {e}", path.display()))?,
                        )
                    };
                    loop {
                        let n = entry
                            .read(&mut buf)
                            .map_err(|e| format!("cannot read {rel} from the backup: {e}"))?;
                        if n == 0 {
                            break;
                        }
                        hasher.update(&buf[..n]);
                        size += n as u64;
                        control.bytes_done.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
                        match &mut out {
                            Some(f) => io::Write::write_all(f, &buf[..n])
                                .map_err(|e| format!("cannot write {}: {e}", path.display()))?,
                            None => data.extend_from_slice(&buf[..n]),
                        }
                    }
                    let sha = format!("{:x}", hasher.finalize());
                    match expected {
                        Some(e) if e.size == size && e.sha256.as_deref() == Some(sha.as_str()) => {}
                        Some(_) => {
                            return Err(format!(
                                "{rel} does not match its listing: the backup was altered or damaged"
                            ));
                        }
                        None => return Err(format!("{rel} is in the archive but not in its listing")),
                    }
                    match out {
                        Some(f) => finish_file(&f, &path, mode, mtime)?,
                        None => tx
                            .send(WriteJob { path, data, mode, mtime })
                            .map_err(|_| "the file writers stopped".to_owned())?,
                    }
                    control.files_done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                other => return Err(format!("{rel}: an archive entry of an unexpected type ({other:?})")),
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
    for (path, mode, mtime) in dirs.into_iter().rev() {
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode & 0o7777));
        set_mtime(&path, mtime);
    }
    Ok(())
}

fn set_mtime(path: &Path, secs: i64) {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(u64::try_from(secs).unwrap_or(0));
    if let Ok(f) = std::fs::File::options().write(true).open(path).or_else(|_| std::fs::File::open(path)) {
        let _ = f.set_modified(t);
    }
}

/// Every entry of the final listing is in `dir`, of its kind, each file of its size. (Each
/// file's content was checked against its SHA-256 as it was written.)
fn check_tree(dir: &Path, index: &Index) -> Result<(), String> {
    for e in &index.entries {
        let path = safe_join(dir, &e.path)?;
        let meta = std::fs::symlink_metadata(&path)
            .map_err(|_| format!("{} is missing after the restore", e.path))?;
        match e.kind {
            EntryKind::Dir if !meta.is_dir() => return Err(format!("{} should be a folder", e.path)),
            EntryKind::Symlink if !meta.file_type().is_symlink() => {
                return Err(format!("{} should be a link", e.path));
            }
            EntryKind::File if meta.len() != e.size => {
                return Err(format!(
                    "{} is {} bytes after the restore, {} in the backup",
                    e.path,
                    meta.len(),
                    e.size
                ));
            }
            _ => {}
        }
    }
    Ok(())
}
