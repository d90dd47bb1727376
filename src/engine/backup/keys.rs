//! The backup host's signing key on disk: made by `warroom keygen`, read before each backup.

use std::path::Path;

use crate::model::signature::SecretKey;

/// A new signing key from the operating system's random source.
pub fn generate() -> Result<SecretKey, String> {
    let mut bytes = [0u8; 40];
    random(&mut bytes)?;
    Ok(SecretKey::from_random(bytes))
}

/// Fill `buf` from the operating system's random source: an error, never a weak key.
pub fn random(buf: &mut [u8]) -> Result<(), String> {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(buf))
        .map_err(|e| format!("cannot read random bytes from /dev/urandom: {e}"))
}

/// Read a private key file (the backups' signing key, an operator's key), refusing one that
/// others can read.
pub fn load(path: &Path) -> Result<SecretKey, String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read the key {}: {e}", path.display()))?;
    let unreadable = |e: std::io::Error| format!("cannot read the key {}: {e}", path.display());
    // A small file (a key is some 150 bytes) is read before its mode is judged, so that a
    // public key where the private one belongs is named as such, not told to chmod (it is no
    // secret). Not read here, or not text, it is read below, where the error is told.
    let text = (meta.is_file() && meta.len() < 4096).then(|| std::fs::read_to_string(path).ok()).flatten();
    if text.as_deref().is_some_and(|t| crate::model::signature::PublicKey::parse(t).is_ok()) {
        return Err(format!(
            "{} is a public key: give the private key file instead (the one `warroom keygen` wrote \
             beside it, without .pub)",
            path.display()
        ));
    }
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(format!(
            "the private key {} can be read by others (mode {:o}): run `chmod 600 {}`",
            path.display(),
            meta.permissions().mode() & 0o777,
            path.display()
        ));
    }
    let text = match text {
        Some(text) => text,
        None => std::fs::read_to_string(path).map_err(unreadable)?,
    };
    SecretKey::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Write `text` to a new file, mode 0600, never over an existing one.
pub fn write_new_private(path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file =
        std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                format!("{} exists: a key is never overwritten; choose another --out", path.display())
            } else {
                format!("cannot write {}: {e}", path.display())
            }
        })?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_public_key_given_for_the_private_one_is_named_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let key = generate().unwrap();
        let private = dir.path().join("alice.key");
        write_new_private(&private, &key.file_text()).unwrap();
        let public = dir.path().join("alice.key.pub");
        std::fs::write(&public, key.public().file_text()).unwrap();
        let err = load(&public).unwrap_err();
        assert!(err.contains("is a public key") && !err.contains("chmod"), "{err}");
        assert_eq!(load(&private).unwrap().public(), key.public());
    }
}
