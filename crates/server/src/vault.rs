//! Broker passwords encrypted at rest with AES-256-GCM.
//!
//! The key comes from `DRAWBRIDGE_SECRET_KEY` (64 hex characters) when set, else from
//! `<data dir>/secret.key`, generated on first start with mode 0600. Losing the key makes
//! stored passwords unreadable (accounts then need their password updated), nothing else.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use std::path::Path;

/// Bytes of an AES-GCM nonce, stored in front of each ciphertext.
const NONCE_BYTES: usize = 12;

#[derive(Clone)]
pub struct Vault {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault(..)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("secret key: {0}")]
    Key(String),
    #[error("a stored password cannot be decrypted with this key")]
    Decrypt,
}

fn parse_hex(s: &str) -> Option<[u8; 32]> {
    let s = s.trim();
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

impl Vault {
    /// The key from `env_key` (the environment's value, passed in) or the data dir's file.
    pub fn open(env_key: Option<&str>, data_dir: &Path) -> Result<Self, VaultError> {
        let key = match env_key {
            Some(k) => parse_hex(k).ok_or_else(|| {
                VaultError::Key("DRAWBRIDGE_SECRET_KEY must be 64 hex characters".into())
            })?,
            None => Self::key_file(&data_dir.join("secret.key"))?,
        };
        Ok(Self::from_key(&key))
    }

    pub fn from_key(key: &[u8; 32]) -> Self {
        Self {
            cipher: Aes256Gcm::new(key.into()),
        }
    }

    fn key_file(path: &Path) -> Result<[u8; 32], VaultError> {
        if let Ok(text) = std::fs::read_to_string(path) {
            return parse_hex(&text).ok_or_else(|| {
                VaultError::Key(format!("{} is not 64 hex characters", path.display()))
            });
        }
        let hex = crate::auth::random_hex(32);
        write_private(path, &hex)
            .map_err(|e| VaultError::Key(format!("cannot write {}: {e}", path.display())))?;
        parse_hex(&hex).ok_or_else(|| VaultError::Key("generated key is malformed".into()))
    }

    pub fn seal(&self, plain: &str) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce).expect("the operating system provides randomness");
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plain.as_bytes())
            .expect("AES-GCM encrypts any length we store");
        let mut out = nonce.to_vec();
        out.extend(sealed);
        out
    }

    pub fn open_sealed(&self, sealed: &[u8]) -> Result<String, VaultError> {
        if sealed.len() < NONCE_BYTES {
            return Err(VaultError::Decrypt);
        }
        let (nonce, body) = sealed.split_at(NONCE_BYTES);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), body)
            .map_err(|_| VaultError::Decrypt)?;
        String::from_utf8(plain).map_err(|_| VaultError::Decrypt)
    }
}

/// Writes a file only its owner can read.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens_and_never_repeats_a_ciphertext() {
        let v = Vault::from_key(&[7; 32]);
        let a = v.seal("hunter2");
        let b = v.seal("hunter2");
        assert_ne!(a, b, "a fresh nonce each time");
        assert!(!a.windows(7).any(|w| w == b"hunter2"));
        assert_eq!(v.open_sealed(&a).unwrap(), "hunter2");
        let other = Vault::from_key(&[8; 32]);
        assert!(other.open_sealed(&a).is_err());
        assert!(v.open_sealed(&a[..5]).is_err());
    }

    #[test]
    fn the_key_file_is_made_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let v1 = Vault::open(None, dir.path()).unwrap();
        let sealed = v1.seal("pw");
        let v2 = Vault::open(None, dir.path()).unwrap();
        assert_eq!(v2.open_sealed(&sealed).unwrap(), "pw");
        assert!(Vault::open(Some("zz"), dir.path()).is_err());
    }
}
