//! The keys a secret scanner signs its leak reports with, and the check of a
//! signature. GitHub publishes its keys as
//!
//! ```json
//! {"public_keys": [{"key_identifier": "<hex>", "key": "-----BEGIN PUBLIC KEY-----…", "is_current": true}]}
//! ```
//!
//! and signs the raw request body with ECDSA P-256 over SHA-256, sending the
//! key's identifier in `Github-Public-Key-Identifier` and the ASN.1 DER
//! signature, base64, in `Github-Public-Key-Signature`. A key that is no
//! longer current may still sign reports in flight, so every listed key is
//! accepted.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{DerSignature, VerifyingKey};
use p256::pkcs8::DecodePublicKey;
use serde::Deserialize;

/// Most keys one set holds: GitHub lists a handful.
pub const MAX_KEYS: usize = 32;
/// Longest key identifier read (GitHub's are 64 hex digits).
pub const MAX_KEY_ID_LEN: usize = 128;
/// Longest base64 signature read (a DER P-256 signature is at most 72 bytes).
const MAX_SIGNATURE_LEN: usize = 128;

#[derive(Debug, Clone, Default)]
pub struct PublicKeySet {
    keys: HashMap<String, VerifyingKey>,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeySetError {
    #[error("not JSON of the form {{\"public_keys\": [{{\"key_identifier\", \"key\"}}]}}: {0}")]
    Shape(String),
    #[error("it lists no P-256 public key")]
    NoKeys,
    #[error("it lists more than {MAX_KEYS} keys")]
    TooMany,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the report is not signed")]
    Unsigned,
    #[error("the report is signed with a key that is not known")]
    UnknownKey,
    #[error("the report's signature does not match")]
    Bad,
}

#[derive(Deserialize)]
struct Published {
    public_keys: Vec<PublishedKey>,
}

#[derive(Deserialize)]
struct PublishedKey {
    key_identifier: String,
    key: String,
}

/// A parsed set, and how many listed keys were passed over (not P-256 PEM,
/// or an identifier too long): a scanner may one day list other algorithms.
#[derive(Debug)]
pub struct Parsed {
    pub set: PublicKeySet,
    pub skipped: usize,
}

impl PublicKeySet {
    /// Reads a published key list. Keys it cannot use are skipped, but a list
    /// with none it can use is an error.
    pub fn parse(json: &[u8]) -> Result<Parsed, KeySetError> {
        let published: Published =
            serde_json::from_slice(json).map_err(|e| KeySetError::Shape(e.to_string()))?;
        if published.public_keys.len() > MAX_KEYS {
            return Err(KeySetError::TooMany);
        }
        let total = published.public_keys.len();
        let keys: HashMap<String, VerifyingKey> = published
            .public_keys
            .into_iter()
            .filter(|k| !k.key_identifier.is_empty() && k.key_identifier.len() <= MAX_KEY_ID_LEN)
            .filter_map(|k| {
                let key = VerifyingKey::from_public_key_pem(k.key.trim()).ok()?;
                Some((k.key_identifier, key))
            })
            .collect();
        if keys.is_empty() {
            return Err(KeySetError::NoKeys);
        }
        Ok(Parsed {
            skipped: total - keys.len(),
            set: PublicKeySet { keys },
        })
    }

    pub fn knows(&self, key_id: &str) -> bool {
        self.keys.contains_key(key_id)
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Both sets' keys; `newer`'s win where an identifier is in both.
    pub fn merged(&self, newer: &PublicKeySet) -> PublicKeySet {
        let mut keys = self.keys.clone();
        keys.extend(newer.keys.iter().map(|(id, k)| (id.clone(), *k)));
        PublicKeySet { keys }
    }

    /// Checks a base64 DER signature by the named key over `body`, exactly as received.
    pub fn verify(&self, key_id: &str, signature: &str, body: &[u8]) -> Result<(), SignatureError> {
        let (key_id, signature) = (key_id.trim(), signature.trim());
        if key_id.is_empty() || signature.is_empty() {
            return Err(SignatureError::Unsigned);
        }
        let key = self.keys.get(key_id).ok_or(SignatureError::UnknownKey)?;
        if signature.len() > MAX_SIGNATURE_LEN {
            return Err(SignatureError::Bad);
        }
        let der = B64.decode(signature).map_err(|_| SignatureError::Bad)?;
        let signature = DerSignature::try_from(der.as_slice()).map_err(|_| SignatureError::Bad)?;
        key.verify(body, &signature)
            .map_err(|_| SignatureError::Bad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Made once with OpenSSL, independently of this code:
    //   openssl ecparam -name prime256v1 -genkey -noout -out key.pem
    //   openssl ec -in key.pem -pubout
    //   openssl dgst -sha256 -sign key.pem body.json | base64 -w0
    const PEM: &str = "-----BEGIN PUBLIC KEY-----\n\
        MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEuD9Cip2ylLlunuhyqLlYqJ4by+SI\n\
        rCQ5IDrWHsqh7FPR5b9MEzBRTTo5rBFqJNJsgvtNoni6KKOSMc8ErUpysw==\n\
        -----END PUBLIC KEY-----\n";
    const KEY_ID: &str = "14a6de6b3a206e1e35bb7bc11d6755d0e4e10879984005f24f381aec6408e7c3";
    const BODY: &str = r#"[{"token":"lk_ucd_AAAAAAAAAAAA_x","type":"latchkey_api_key","url":"https://github.com/octo/repo/blob/abc/config.env","source":"content"}]"#;
    // OpenSSL leaves S as it comes: the second has a high S.
    const SIGNATURES: [&str; 2] = [
        "MEQCIGvxPTZPFdj58LS18jXxNrb3BfwoKT1+8ffnrFBvz05iAiBfl2kiAt/spfAbakVexlFx+3L5jDvUIEyF/6XYVxtLMg==",
        "MEYCIQDqKLlc7b2lcRkVNJcmRyVWZFLClBpm7AcWVnXWFk0aJgIhAOjJqhciF6iAncVSVcGPA9Lb13GGoNTuYtGt+8D4YE0M",
    ];

    fn published(keys: &[(&str, &str)]) -> Vec<u8> {
        let keys: Vec<_> = keys
            .iter()
            .map(|(id, pem)| serde_json::json!({"key_identifier": id, "key": pem, "is_current": true}))
            .collect();
        serde_json::to_vec(&serde_json::json!({ "public_keys": keys })).unwrap()
    }

    fn set() -> PublicKeySet {
        PublicKeySet::parse(&published(&[(KEY_ID, PEM)]))
            .unwrap()
            .set
    }

    #[test]
    fn openssl_signatures_over_the_raw_body_are_accepted_low_or_high_s() {
        for signature in SIGNATURES {
            assert_eq!(set().verify(KEY_ID, signature, BODY.as_bytes()), Ok(()));
        }
    }

    #[test]
    fn a_changed_body_or_signature_is_bad() {
        let altered = BODY.replace("config.env", "config.evn");
        assert_eq!(
            set().verify(KEY_ID, SIGNATURES[0], altered.as_bytes()),
            Err(SignatureError::Bad)
        );
        // The first signature with one character changed.
        let flipped = SIGNATURES[0].replacen("MEQCIGvx", "MEQCIGvy", 1);
        assert_eq!(
            set().verify(KEY_ID, &flipped, BODY.as_bytes()),
            Err(SignatureError::Bad)
        );
        for garbage in ["not base64!", "AAAA", &"A".repeat(200)] {
            assert_eq!(
                set().verify(KEY_ID, garbage, BODY.as_bytes()),
                Err(SignatureError::Bad),
                "{garbage}"
            );
        }
    }

    #[test]
    fn missing_headers_and_unknown_keys_are_told_apart() {
        assert_eq!(
            set().verify("", SIGNATURES[0], BODY.as_bytes()),
            Err(SignatureError::Unsigned)
        );
        assert_eq!(
            set().verify(KEY_ID, " ", BODY.as_bytes()),
            Err(SignatureError::Unsigned)
        );
        assert_eq!(
            set().verify("0000", SIGNATURES[0], BODY.as_bytes()),
            Err(SignatureError::UnknownKey)
        );
    }

    #[test]
    fn unusable_keys_are_skipped_and_a_set_needs_one_usable_key() {
        let parsed = PublicKeySet::parse(&published(&[
            (KEY_ID, PEM),
            (
                "other",
                "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
            ),
            (&"x".repeat(MAX_KEY_ID_LEN + 1), PEM),
        ]))
        .unwrap();
        assert_eq!((parsed.set.len(), parsed.skipped), (1, 2));
        assert!(parsed.set.knows(KEY_ID));
        assert_eq!(
            PublicKeySet::parse(&published(&[("other", "nonsense")])).unwrap_err(),
            KeySetError::NoKeys
        );
        assert_eq!(
            PublicKeySet::parse(br#"{"public_keys": []}"#).unwrap_err(),
            KeySetError::NoKeys
        );
        assert!(matches!(
            PublicKeySet::parse(b"[1, 2]").unwrap_err(),
            KeySetError::Shape(_)
        ));
        // 32 keys are read; a 33rd makes the list too long.
        assert_eq!(MAX_KEYS, 32);
        let most: Vec<(String, &str)> = (0..MAX_KEYS).map(|i| (format!("k{i}"), PEM)).collect();
        let most: Vec<(&str, &str)> = most.iter().map(|(id, pem)| (id.as_str(), *pem)).collect();
        assert_eq!(
            PublicKeySet::parse(&published(&most)).unwrap().set.len(),
            32
        );
        let many: Vec<(String, &str)> = (0..=MAX_KEYS).map(|i| (format!("k{i}"), PEM)).collect();
        let many: Vec<(&str, &str)> = many.iter().map(|(id, pem)| (id.as_str(), *pem)).collect();
        assert_eq!(
            PublicKeySet::parse(&published(&many)).unwrap_err(),
            KeySetError::TooMany
        );
    }

    #[test]
    fn a_merged_set_knows_both() {
        let other = PublicKeySet::parse(&published(&[("second", PEM)]))
            .unwrap()
            .set;
        let both = set().merged(&other);
        assert!(both.knows(KEY_ID) && both.knows("second"));
        assert!(!both.knows("third"));
        assert_eq!(both.len(), 2);
        assert!(!both.is_empty());
        assert!(PublicKeySet::default().is_empty());
    }
}
