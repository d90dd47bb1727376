//! Signatures on what a backup host writes: ed25519, in minisign's format, so a stock
//! `minisign -Vm manifest.json -p backup-signing.pub` checks a copy without warroom.
//!
//! ```text
//!  public key   (`[encryption] signers`, and the `.pub` file keygen writes):
//!                base64("Ed" ‖ key id (8 bytes) ‖ ed25519 public key (32))
//!  signature    (`manifest.json.minisig`, beside what it signs):
//!                untrusted comment: <text>
//!                base64("Ed" ‖ key id ‖ ed25519(the file's bytes))
//!                trusted comment: <text>
//!                base64(ed25519(signature ‖ trusted comment))
//!  secret key   (warroom's own format, 0600, only on the backup host):
//!                untrusted comment: <text>
//!                base64("Ew" ‖ key id ‖ ed25519 seed (32))
//! ```
//! The signature is minisign's "legacy" kind (the file itself is signed, not a BLAKE2b hash
//! of it): what is signed is small, and every minisign release verifies it.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};

const ALGORITHM: &[u8; 2] = b"Ed";
const SECRET_TAG: &[u8; 2] = b"Ew";

/// A signer's public key, as configured in `[encryption] signers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    id: [u8; 8],
    key: VerifyingKey,
}

impl PublicKey {
    /// The key as minisign writes it: `RW...` (the second line of a `.pub` file).
    pub fn parse(text: &str) -> Result<PublicKey, String> {
        let bytes = key_bytes(text).ok_or(
            "not a signing public key (it should look like RW followed by 54 letters, digits, + and /)",
        )?;
        let (id, raw) =
            split_key(&bytes, ALGORITHM).ok_or("not an ed25519 signing public key in minisign's format")?;
        let key =
            VerifyingKey::from_bytes(&raw).map_err(|e| format!("not a valid ed25519 public key: {e}"))?;
        Ok(PublicKey { id, key })
    }

    /// `RW...`: what goes in `[encryption] signers`.
    pub fn encoded(&self) -> String {
        let mut bytes = Vec::with_capacity(42);
        bytes.extend_from_slice(ALGORITHM);
        bytes.extend_from_slice(&self.id);
        bytes.extend_from_slice(self.key.as_bytes());
        BASE64.encode(bytes)
    }

    /// The key id as minisign prints it (16 hex digits).
    pub fn key_id(&self) -> String {
        key_id(&self.id)
    }

    /// A `.pub` file minisign reads.
    pub fn file_text(&self) -> String {
        format!("untrusted comment: minisign public key {}\n{}\n", self.key_id(), self.encoded())
    }
}

/// A key file's (or a config value's) key line, decoded: the last line that is not a comment.
fn key_bytes(text: &str) -> Option<Vec<u8>> {
    let line =
        text.lines().map(str::trim).rfind(|l| !l.is_empty() && !l.starts_with("untrusted comment:"))?;
    BASE64.decode(line).ok()
}

/// `tag ‖ key id (8) ‖ 32 bytes of key`.
fn split_key(bytes: &[u8], tag: &[u8; 2]) -> Option<([u8; 8], [u8; 32])> {
    if bytes.len() != 42 || &bytes[..2] != tag {
        return None;
    }
    let mut id = [0u8; 8];
    id.copy_from_slice(&bytes[2..10]);
    let mut key = [0u8; 32];
    key.copy_from_slice(&bytes[10..]);
    Some((id, key))
}

fn key_id(id: &[u8; 8]) -> String {
    format!("{:016X}", u64::from_le_bytes(*id))
}

/// The backup host's signing key.
pub struct SecretKey {
    id: [u8; 8],
    key: SigningKey,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKey({})", key_id(&self.id))
    }
}

impl SecretKey {
    /// A key from 40 random bytes (8 for its id, 32 for its seed), which the caller reads
    /// from the operating system.
    pub fn from_random(bytes: [u8; 40]) -> SecretKey {
        let mut id = [0u8; 8];
        id.copy_from_slice(&bytes[..8]);
        let mut seed = [0u8; 32];
        seed.copy_from_slice(&bytes[8..]);
        SecretKey { id, key: SigningKey::from_bytes(&seed) }
    }

    pub fn public(&self) -> PublicKey {
        PublicKey { id: self.id, key: self.key.verifying_key() }
    }

    /// The secret key file's text (to be written 0600).
    pub fn file_text(&self) -> String {
        let mut bytes = Vec::with_capacity(42);
        bytes.extend_from_slice(SECRET_TAG);
        bytes.extend_from_slice(&self.id);
        bytes.extend_from_slice(self.key.as_bytes());
        format!(
            "untrusted comment: warroom signing key {}: SECRET, keep it on the backup host only (mode 600)\n{}\n",
            key_id(&self.id),
            BASE64.encode(bytes)
        )
    }

    pub fn parse(text: &str) -> Result<SecretKey, String> {
        let bytes = key_bytes(text).ok_or("not a warroom signing key")?;
        let (id, seed) =
            split_key(&bytes, SECRET_TAG).ok_or("not a warroom signing key (`warroom keygen` makes one)")?;
        Ok(SecretKey { id, key: SigningKey::from_bytes(&seed) })
    }

    /// A minisign signature file for `message`, with `comment` as its trusted comment.
    pub fn sign(&self, message: &[u8], comment: &str) -> String {
        let comment = comment.replace(['\n', '\r'], " ");
        let signature = self.key.sign(message).to_bytes();
        let mut first = Vec::with_capacity(74);
        first.extend_from_slice(ALGORITHM);
        first.extend_from_slice(&self.id);
        first.extend_from_slice(&signature);
        let mut global = Vec::with_capacity(64 + comment.len());
        global.extend_from_slice(&signature);
        global.extend_from_slice(comment.as_bytes());
        let global = self.key.sign(&global).to_bytes();
        format!(
            "untrusted comment: signature from warroom signing key {}\n{}\ntrusted comment: {comment}\n{}\n",
            key_id(&self.id),
            BASE64.encode(first),
            BASE64.encode(global)
        )
    }
}

/// What a good signature says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub key_id: String,
    pub comment: String,
}

/// Why a signature is not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureError {
    /// The signature file is not minisign's format.
    Malformed(String),
    /// Signed by a key that is not among the signers.
    UnknownKey(String),
    /// The signature does not match the bytes: they were changed after signing.
    Mismatch(String),
}

impl std::fmt::Display for SignatureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignatureError::Malformed(why) => write!(f, "the signature is unreadable ({why})"),
            SignatureError::UnknownKey(id) => {
                write!(f, "signed by key {id}, which is not in [encryption] signers")
            }
            SignatureError::Mismatch(id) => {
                write!(f, "the signature by key {id} does not match: it was changed after signing")
            }
        }
    }
}

/// Check `signature` (a minisign signature file's text) over `message` against `signers`.
pub fn verify(signers: &[PublicKey], message: &[u8], signature: &str) -> Result<Signed, SignatureError> {
    let malformed = |why: &str| SignatureError::Malformed(why.to_owned());
    let mut lines = signature.lines();
    let (Some(_untrusted), Some(sig_line), Some(comment_line), Some(global_line)) =
        (lines.next(), lines.next(), lines.next(), lines.next())
    else {
        return Err(malformed("it should have four lines"));
    };
    let sig = BASE64.decode(sig_line.trim()).map_err(|_| malformed("the signature is not base64"))?;
    if sig.len() != 74 {
        return Err(malformed("the signature has the wrong length"));
    }
    if &sig[..2] != ALGORITHM {
        return Err(malformed("not a signature of the file itself (minisign -l)"));
    }
    let mut id = [0u8; 8];
    id.copy_from_slice(&sig[2..10]);
    let Some(signer) = signers.iter().find(|k| k.id == id) else {
        return Err(SignatureError::UnknownKey(key_id(&id)));
    };
    let mismatch = || SignatureError::Mismatch(key_id(&id));
    let signature = Signature::from_slice(&sig[10..]).map_err(|_| mismatch())?;
    signer.key.verify(message, &signature).map_err(|_| mismatch())?;
    let comment = comment_line
        .strip_prefix("trusted comment: ")
        .ok_or_else(|| malformed("the trusted comment is missing"))?;
    let global =
        BASE64.decode(global_line.trim()).map_err(|_| malformed("the comment's signature is not base64"))?;
    let global = Signature::from_slice(&global).map_err(|_| mismatch())?;
    let mut signed = Vec::with_capacity(64 + comment.len());
    signed.extend_from_slice(&sig[10..]);
    signed.extend_from_slice(comment.as_bytes());
    signer.key.verify(&signed, &global).map_err(|_| mismatch())?;
    Ok(Signed { key_id: key_id(&id), comment: comment.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SecretKey {
        let mut bytes = [0u8; 40];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37).wrapping_add(std::process::id() as u8);
        }
        SecretKey::from_random(bytes)
    }

    fn other() -> SecretKey {
        SecretKey::from_random([7u8; 40])
    }

    #[test]
    fn a_signature_verifies_and_names_its_key() {
        let key = key();
        let public = PublicKey::parse(&key.public().encoded()).unwrap();
        let sig = key.sign(b"manifest", "warroom backup db/1");
        let ok = verify(std::slice::from_ref(&public), b"manifest", &sig).unwrap();
        assert_eq!(ok.key_id, public.key_id());
        assert_eq!(ok.comment, "warroom backup db/1");
    }

    #[test]
    fn a_changed_message_an_unknown_key_and_a_changed_comment_are_refused() {
        let key = key();
        let other = other();
        let sig = key.sign(b"manifest", "c");
        assert!(matches!(verify(&[key.public()], b"manifest!", &sig), Err(SignatureError::Mismatch(_))));
        assert!(matches!(verify(&[other.public()], b"manifest", &sig), Err(SignatureError::UnknownKey(_))));
        let edited = sig.replace("trusted comment: c", "trusted comment: d");
        assert!(matches!(verify(&[key.public()], b"manifest", &edited), Err(SignatureError::Mismatch(_))));
        assert!(matches!(verify(&[key.public()], b"manifest", "junk"), Err(SignatureError::Malformed(_))));
    }

    #[test]
    fn keys_survive_their_files() {
        let key = key();
        let again = SecretKey::parse(&key.file_text()).unwrap();
        assert_eq!(again.public(), key.public());
        assert_eq!(PublicKey::parse(&key.public().file_text()).unwrap(), key.public());
        assert!(PublicKey::parse("age1xyz").is_err());
        assert!(SecretKey::parse(&key.public().file_text()).is_err());
    }
}
