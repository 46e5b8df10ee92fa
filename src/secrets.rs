//! The server's own secrets: the session signing key, the pepper for key
//! hashes and the key that seals HMAC secrets. Taken from the environment, or
//! generated once into a file beside the database that only its owner can read.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use crate::domain::crypto::{SecretBox, SecretHasher};
use crate::domain::token::random_bytes;

pub const ENV_SESSION_KEY: &str = "LATCHKEY_SESSION_KEY";
pub const ENV_PEPPER: &str = "LATCHKEY_KEY_PEPPER";
pub const ENV_ENCRYPTION_KEY: &str = "LATCHKEY_ENCRYPTION_KEY";

#[derive(Clone)]
pub struct ServerSecrets {
    pub session_key: [u8; 64],
    pub pepper: [u8; 32],
    pub encryption_key: [u8; 32],
}

#[derive(Serialize, Deserialize)]
struct SecretsFile {
    session_key: String,
    key_pepper: String,
    encryption_key: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("set all of {ENV_SESSION_KEY}, {ENV_PEPPER} and {ENV_ENCRYPTION_KEY}, or none of them")]
    PartialEnvironment,
    #[error("{name} must be {len} bytes, base64 encoded")]
    BadValue { name: String, len: usize },
    #[error("cannot read or create the secrets file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the secrets file {0} is not valid; restore it from backup (replacing it logs everyone out and breaks HMAC keys)"
    )]
    Corrupt(PathBuf),
    #[error("the secrets file {0} can be read by other users; run `chmod 600 {0}`")]
    TooOpen(PathBuf),
}

impl ServerSecrets {
    pub fn generate() -> Self {
        ServerSecrets {
            session_key: random_bytes(),
            pepper: random_bytes(),
            encryption_key: random_bytes(),
        }
    }

    pub fn hasher(&self) -> SecretHasher {
        SecretHasher::new(&self.pepper)
    }

    /// For the form tokens of visitors not signed in: derived from the
    /// session key, so rotating that rotates this.
    pub fn form_key(&self) -> [u8; 32] {
        crate::domain::crypto::hmac_sha256(&self.session_key, b"latchkey anonymous form tokens")
    }

    pub fn secret_box(&self) -> SecretBox {
        SecretBox::new(&self.encryption_key)
    }

    /// From the environment if set there, else from `path`, creating it on first start.
    pub fn load(path: &Path) -> Result<Self, SecretsError> {
        let vars = [ENV_SESSION_KEY, ENV_PEPPER, ENV_ENCRYPTION_KEY].map(|v| std::env::var(v).ok());
        match vars {
            [Some(session), Some(pepper), Some(enc)] => Ok(ServerSecrets {
                session_key: decode(ENV_SESSION_KEY, &session)?,
                pepper: decode(ENV_PEPPER, &pepper)?,
                encryption_key: decode(ENV_ENCRYPTION_KEY, &enc)?,
            }),
            [None, None, None] => Self::load_or_create_file(path),
            _ => Err(SecretsError::PartialEnvironment),
        }
    }

    fn load_or_create_file(path: &Path) -> Result<Self, SecretsError> {
        let io = |source| SecretsError::Io {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::db::create_private_dir(dir).map_err(io)?;
        }
        // create_new: if two processes start at once, exactly one writes the file.
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(mut file) => {
                let secrets = Self::generate();
                let body = serde_json::to_string_pretty(&SecretsFile {
                    session_key: B64.encode(secrets.session_key),
                    key_pepper: B64.encode(secrets.pepper),
                    encryption_key: B64.encode(secrets.encryption_key),
                })
                .expect("secrets serialise");
                file.write_all(body.as_bytes()).map_err(io)?;
                file.sync_all().map_err(io)?;
                Ok(secrets)
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Self::read_file(path),
            Err(e) => Err(io(e)),
        }
    }

    fn read_file(path: &Path) -> Result<Self, SecretsError> {
        let io = |source| SecretsError::Io {
            path: path.to_owned(),
            source,
        };
        let mode = fs::metadata(path).map_err(io)?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(SecretsError::TooOpen(path.to_owned()));
        }
        let text = fs::read_to_string(path).map_err(io)?;
        let corrupt = || SecretsError::Corrupt(path.to_owned());
        let file: SecretsFile = serde_json::from_str(&text).map_err(|_| corrupt())?;
        Ok(ServerSecrets {
            session_key: decode("session_key", &file.session_key).map_err(|_| corrupt())?,
            pepper: decode("key_pepper", &file.key_pepper).map_err(|_| corrupt())?,
            encryption_key: decode("encryption_key", &file.encryption_key)
                .map_err(|_| corrupt())?,
        })
    }
}

fn decode<const N: usize>(name: &str, value: &str) -> Result<[u8; N], SecretsError> {
    B64.decode(value.trim())
        .ok()
        .and_then(|bytes| <[u8; N]>::try_from(bytes).ok())
        .ok_or(SecretsError::BadValue {
            name: name.to_owned(),
            len: N,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_is_created_private_and_read_back_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/latchkey.db.secrets");
        let first = ServerSecrets::load_or_create_file(&path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let second = ServerSecrets::load_or_create_file(&path).unwrap();
        assert_eq!(first.session_key, second.session_key);
        assert_eq!(first.pepper, second.pepper);
        assert_eq!(first.encryption_key, second.encryption_key);
    }

    #[test]
    fn a_readable_or_garbled_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        ServerSecrets::load_or_create_file(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            ServerSecrets::read_file(&path),
            Err(SecretsError::TooOpen(_))
        ));
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        fs::write(&path, "{}").unwrap();
        assert!(matches!(
            ServerSecrets::read_file(&path),
            Err(SecretsError::Corrupt(_))
        ));
    }

    #[test]
    fn values_must_have_the_right_length() {
        assert!(decode::<32>("x", &B64.encode([0u8; 32])).is_ok());
        assert!(decode::<32>("x", &B64.encode([0u8; 31])).is_err());
        assert!(decode::<32>("x", "not base64!").is_err());
    }
}
