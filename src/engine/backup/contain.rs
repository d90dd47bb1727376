//! A restore's target, as a directory handle that nothing written can leave.
//!
//! Every path from a backup is untrusted: it is split into plain names (an absolute path, `..`,
//! `.` or an empty name is refused), and each folder on the way is opened from its parent's
//! handle with `O_NOFOLLOW | O_DIRECTORY`, so a symlink — one the archive itself made a moment
//! ago, or one already there — is never traversed. Files are created with `O_CREAT | O_EXCL |
//! O_NOFOLLOW`; a symlink is written as a link (its target is only text) and never followed.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;

use cap_std::fs::Dir;
use rustix::fs::{Mode, OFlags};

/// What is at a path inside the target (never following a link).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    File { len: u64 },
    Dir,
    Symlink,
    Other,
}

/// The target folder of a restore (or a deep verify's scratch folder).
pub struct Tree {
    root: Arc<Dir>,
    /// Folders opened so far, by their path relative to the root.
    dirs: HashMap<Vec<u8>, Arc<Dir>>,
}

/// A path from a backup, split into checked names: the folders on the way and the last name.
pub fn split(rel: &str) -> Result<(Vec<&OsStr>, &OsStr), String> {
    let unsafe_path = || format!("the backup holds an unsafe path \"{rel}\": refused");
    if rel.is_empty() || rel.as_bytes().contains(&0) {
        return Err(unsafe_path());
    }
    // Split by hand: `Path::components` would quietly drop a `.` in the middle.
    let mut names = Vec::new();
    for part in rel.split('/') {
        if part.is_empty() || part == "." || part == ".." {
            return Err(unsafe_path());
        }
        names.push(OsStr::new(part));
    }
    let last = names.pop().ok_or_else(unsafe_path)?;
    Ok((names, last))
}

fn io(what: &str, rel: &str, e: impl std::fmt::Display) -> String {
    format!("cannot {what} {rel}: {e}")
}

impl Tree {
    /// Open `path` (an existing folder, chosen by the operator) as the tree's root.
    pub fn open(path: &Path) -> Result<Tree, String> {
        let root = Dir::open_ambient_dir(path, cap_std::ambient_authority())
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        Ok(Tree { root: Arc::new(root), dirs: HashMap::new() })
    }

    /// Free bytes for an unprivileged writer on the tree's filesystem.
    pub fn free_space(&self) -> Result<u64, String> {
        let s = rustix::fs::fstatvfs(&*self.root).map_err(|e| format!("cannot read the free space: {e}"))?;
        Ok(s.f_bavail.saturating_mul(s.f_frsize))
    }

    /// The folder at `names` (relative to the root), opened without following links; made
    /// when `create` and missing.
    fn dir(&mut self, names: &[&OsStr], create: bool, rel: &str) -> Result<Arc<Dir>, String> {
        let mut key: Vec<u8> = Vec::new();
        let mut at = self.root.clone();
        for name in names {
            if !key.is_empty() {
                key.push(b'/');
            }
            key.extend_from_slice(name.as_bytes());
            if let Some(d) = self.dirs.get(&key) {
                at = d.clone();
                continue;
            }
            let next = match open_dir_nofollow(&at, name) {
                Ok(d) => d,
                Err(e) if e == rustix::io::Errno::NOENT && create => {
                    rustix::fs::mkdirat(&*at, *name, Mode::from_raw_mode(0o700))
                        .map_err(|e| io("create the folder for", rel, e))?;
                    open_dir_nofollow(&at, name).map_err(|e| io("open the folder for", rel, e))?
                }
                Err(e) if e == rustix::io::Errno::LOOP || e == rustix::io::Errno::NOTDIR => {
                    return Err(format!(
                        "{rel}: \"{}\" on its way is a link or a file, not a folder: refused (a restore never writes through a link)",
                        String::from_utf8_lossy(&key)
                    ));
                }
                Err(e) => return Err(io("open the folder for", rel, e)),
            };
            let next = Arc::new(next);
            self.dirs.insert(key.clone(), next.clone());
            at = next;
        }
        Ok(at)
    }

    /// Forget the handles of `rel` and everything under it: what was there is being replaced.
    fn forget(&mut self, rel: &str) {
        let key = rel.as_bytes();
        self.dirs.retain(|k, _| !(k.starts_with(key) && k.get(key.len()).is_none_or(|b| *b == b'/')));
    }

    /// The folder holding `rel`, and `rel`'s last name.
    pub fn parent<'a>(&mut self, rel: &'a str, create: bool) -> Result<(Arc<Dir>, &'a OsStr), String> {
        let (names, last) = split(rel)?;
        Ok((self.dir(&names, create, rel)?, last))
    }

    /// Make the folder `rel` (and what leads to it). Something else in its place is an
    /// error unless `replace` (a later backup of a chain), when it is removed first.
    pub fn make_dir(&mut self, rel: &str, replace: bool) -> Result<(), String> {
        let (names, last) = split(rel)?;
        let parent = self.dir(&names, true, rel)?;
        let mkdir = || rustix::fs::mkdirat(&*parent, last, Mode::from_raw_mode(0o700));
        match found(&parent, last) {
            Found::Dir => {}
            Found::Other => match mkdir() {
                Ok(()) => {}
                Err(e) if e == rustix::io::Errno::EXIST && replace => {
                    self.forget(rel);
                    remove(&parent, last).map_err(|e| io("replace", rel, e))?;
                    mkdir().map_err(|e| io("create the folder", rel, e))?;
                }
                Err(e) => return Err(io("create the folder", rel, e)),
            },
            _ if replace => {
                self.forget(rel);
                remove(&parent, last).map_err(|e| io("replace", rel, e))?;
                mkdir().map_err(|e| io("create the folder", rel, e))?;
            }
            _ => {
                return Err(format!("{rel} is in the backup twice (a file or link, then a folder): refused"));
            }
        }
        // Make sure it opens as a folder (and cache it).
        let mut all = names;
        all.push(last);
        self.dir(&all, false, rel).map(|_| ())
    }

    /// Create the file `rel` for writing: never over a link. With `replace`, what is there is
    /// removed first (a later backup of a chain); otherwise anything there is an error.
    pub fn create_file(&mut self, rel: &str, replace: bool) -> Result<File, String> {
        let (parent, last) = self.parent(rel, true)?;
        if replace {
            self.forget(rel);
        }
        create_in(&parent, last, replace).map_err(|e| io("write", rel, e))
    }

    /// Write the link `rel` pointing at `target` (text only: never followed here).
    pub fn symlink(&mut self, rel: &str, target: &Path, replace: bool) -> Result<(), String> {
        let (parent, last) = self.parent(rel, true)?;
        if replace && found(&parent, last) != Found::Other {
            self.forget(rel);
            remove(&parent, last).map_err(|e| io("replace", rel, e))?;
        }
        parent.symlink_contents(target, last).map_err(|e| io("create the link", rel, e))
    }

    /// Remove `rel` (a folder with everything in it), never following a link.
    pub fn remove(&mut self, rel: &str) -> Result<(), String> {
        let (names, last) = split(rel)?;
        let parent = match self.dir(&names, false, rel) {
            Ok(p) => p,
            Err(_) => return Ok(()), // its folder is not there: neither is it
        };
        self.forget(rel);
        match remove(&parent, last) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io("remove", rel, e)),
        }
    }

    /// What is at `rel`, never following a link (`None`: nothing, or its folder is not one).
    pub fn find(&mut self, rel: &str) -> Result<Option<Found>, String> {
        let (names, last) = split(rel)?;
        let Ok(parent) = self.dir(&names, false, rel) else { return Ok(None) };
        Ok(match found(&parent, last) {
            Found::Other if parent.symlink_metadata(last).is_err() => None,
            f => Some(f),
        })
    }

    /// Set a folder's mode and modification time (after everything inside it is written).
    pub fn finish_dir(&mut self, rel: &str, mode: u32, mtime: i64) {
        let Ok((names, last)) = split(rel) else { return };
        let mut all = names;
        all.push(last);
        if let Ok(dir) = self.dir(&all, false, rel) {
            let _ = rustix::fs::fchmod(&*dir, Mode::from_raw_mode(mode & 0o7777));
            let t = rustix::fs::Timespec { tv_sec: mtime, tv_nsec: 0 };
            let _ =
                rustix::fs::futimens(&*dir, &rustix::fs::Timestamps { last_access: t, last_modification: t });
        }
    }
}

fn open_dir_nofollow(parent: &Dir, name: &OsStr) -> Result<Dir, rustix::io::Errno> {
    let fd = rustix::fs::openat(
        parent,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    Ok(Dir::from_std_file(File::from(fd)))
}

fn found(parent: &Dir, name: &OsStr) -> Found {
    match parent.symlink_metadata(name) {
        Ok(m) if m.file_type().is_symlink() => Found::Symlink,
        Ok(m) if m.is_dir() => Found::Dir,
        Ok(m) if m.is_file() => Found::File { len: m.len() },
        _ => Found::Other,
    }
}

fn remove(parent: &Dir, name: &OsStr) -> std::io::Result<()> {
    match found(parent, name) {
        // cap-std's remove_dir_all does not follow links inside.
        Found::Dir => parent.remove_dir_all(name),
        _ => parent.remove_file(name),
    }
}

/// Create `name` in `parent` for writing, never through a link.
pub fn create_in(parent: &Dir, name: &OsStr, replace: bool) -> std::io::Result<File> {
    let open = || {
        rustix::fs::openat(
            parent,
            name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
    };
    match open() {
        Ok(fd) => Ok(File::from(fd)),
        Err(e) if e == rustix::io::Errno::EXIST && replace => {
            remove(parent, name)?;
            Ok(File::from(open()?))
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_paths_are_refused() {
        for bad in ["", "/etc/passwd", "../x", "a/../../x", "a/./b", "./a", "a\0b"] {
            assert!(split(bad).is_err(), "{bad:?} should be refused");
        }
        let (dirs, last) = split("a/b/c.txt").unwrap();
        assert_eq!(dirs, vec![OsStr::new("a"), OsStr::new("b")]);
        assert_eq!(last, "c.txt");
    }

    #[test]
    fn nothing_is_written_through_a_link() {
        let outside = tempfile::tempdir().unwrap();
        let root = tempfile::tempdir().unwrap();
        let mut tree = Tree::open(root.path()).unwrap();
        tree.symlink("evil", outside.path(), false).unwrap();
        let e = tree.create_file("evil/big.bin", false).unwrap_err();
        assert!(e.contains("is a link"), "{e}");
        // A link to a file is not written through either.
        std::fs::write(outside.path().join("victim"), "safe").unwrap();
        tree.symlink("file-link", &outside.path().join("victim"), false).unwrap();
        assert!(tree.create_file("file-link", false).is_err());
        tree.create_file("file-link", true).unwrap();
        assert_eq!(std::fs::read_to_string(outside.path().join("victim")).unwrap(), "safe");
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 1);
        assert_eq!(tree.find("evil").unwrap(), Some(Found::Symlink));
        assert_eq!(tree.find("evil/x").unwrap(), None);
    }
}
