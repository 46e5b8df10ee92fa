//! Keyed hashing of key secrets and encryption of secrets the server must read back.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::domain::token::random_bytes;

const NONCE_LEN: usize = 12;

/// HMAC-SHA-256 under a pepper kept outside the database: a stolen database alone
/// does not let anyone test guesses. Keys are high-entropy, so a fast hash is right
/// (a memory-hard hash per API call would make verification a denial-of-service lever).
#[derive(Clone)]
pub struct SecretHasher {
    mac: Hmac<Sha256>,
}

impl SecretHasher {
    pub fn new(pepper: &[u8; 32]) -> Self {
        SecretHasher {
            mac: <Hmac<Sha256> as Mac>::new_from_slice(pepper)
                .expect("HMAC accepts any key length"),
        }
    }

    pub fn hash(&self, secret: &str) -> Vec<u8> {
        let mut mac = self.mac.clone();
        mac.update(secret.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// Compares in constant time, so timing does not reveal how much of a guess matched.
    pub fn matches(&self, secret: &str, stored: &[u8]) -> bool {
        self.hash(secret).ct_eq(stored).into()
    }
}

/// AES-256-GCM with a random nonce per message. The associated data binds a
/// ciphertext to its row, so it cannot be moved to another key.
#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
}

#[derive(Debug, thiserror::Error)]
#[error("the stored secret could not be decrypted")]
pub struct DecryptError;

impl SecretBox {
    pub fn new(key: &[u8; 32]) -> Self {
        SecretBox {
            cipher: Aes256Gcm::new(key.into()),
        }
    }

    /// Returns nonce || ciphertext.
    pub fn seal(&self, plaintext: &[u8], associated: &[u8]) -> Vec<u8> {
        let nonce = random_bytes::<NONCE_LEN>();
        let ciphertext = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: associated,
                },
            )
            .expect("AES-GCM encryption of a short secret cannot fail");
        [nonce.as_slice(), &ciphertext].concat()
    }

    pub fn open(&self, sealed: &[u8], associated: &[u8]) -> Result<Vec<u8>, DecryptError> {
        if sealed.len() < NONCE_LEN {
            return Err(DecryptError);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        self.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: associated,
                },
            )
            .map_err(|_| DecryptError)
    }
}

/// Plain SHA-256, for one-time tokens whose database copy must not be usable.
pub fn hmac_sha256(key: &[u8], value: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(value);
    mac.finalize().into_bytes().into()
}

/// HMAC-SHA-256 of `value` under `key`, hex encoded.
pub fn keyed_hex(key: &[u8; 32], value: &str) -> String {
    hex::encode(hmac_sha256(key, value.as_bytes()))
}

pub fn sha256_hex(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_depends_on_the_pepper_and_matches_only_its_secret() {
        let a = SecretHasher::new(&[1; 32]);
        let b = SecretHasher::new(&[2; 32]);
        let stored = a.hash("secret");
        assert_eq!(stored.len(), 32);
        assert!(a.matches("secret", &stored));
        assert!(!a.matches("secreT", &stored));
        assert!(!b.matches("secret", &stored));
        assert!(!a.matches("secret", &stored[..31]));
    }

    #[test]
    fn sealed_secrets_open_only_with_the_same_key_and_row() {
        let secret_box = SecretBox::new(&[7; 32]);
        let sealed = secret_box.seal(b"hmac secret", b"key-1");
        assert!(!sealed.windows(11).any(|w| w == b"hmac secret"));
        assert_eq!(secret_box.open(&sealed, b"key-1").unwrap(), b"hmac secret");
        assert!(secret_box.open(&sealed, b"key-2").is_err());
        assert!(SecretBox::new(&[8; 32]).open(&sealed, b"key-1").is_err());
        assert!(secret_box.open(&sealed[..5], b"key-1").is_err());
    }

    #[test]
    fn sealing_twice_gives_different_ciphertexts() {
        let secret_box = SecretBox::new(&[7; 32]);
        assert_ne!(secret_box.seal(b"x", b"k"), secret_box.seal(b"x", b"k"));
    }

    #[test]
    fn sha256_hex_is_the_standard_digest() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
