//! A secret scanner for tests: a P-256 key of our own standing in for one of
//! GitHub's, its published key list, and signed reports.

use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::{EncodePublicKey, LineEnding};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

/// A signing key of our own, standing in for one of GitHub's.
pub struct GithubKey {
    pub key: SigningKey,
    pub id: String,
}

impl GithubKey {
    pub fn new(id: &str) -> GithubKey {
        let secret = latchkey::domain::token::random_bytes::<32>();
        GithubKey {
            key: SigningKey::from_slice(&secret).expect("a P-256 secret key"),
            id: id.to_owned(),
        }
    }

    pub fn sign(&self, body: &str) -> String {
        let signature: Signature = self.key.sign(body.as_bytes());
        B64.encode(signature.to_der().as_bytes())
    }

    /// GitHub's published shape, listing these keys.
    pub fn published(keys: &[&GithubKey]) -> String {
        let keys: Vec<Value> = keys
            .iter()
            .map(|k| {
                json!({
                    "key_identifier": k.id,
                    "key": k.key.verifying_key().to_public_key_pem(LineEnding::LF).unwrap(),
                    "is_current": true,
                })
            })
            .collect();
        json!({ "public_keys": keys }).to_string()
    }
}

/// Files a test's console reads its scanner settings from.
pub struct Settings {
    pub dir: tempfile::TempDir,
}

impl Settings {
    pub fn new() -> Settings {
        Settings {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

pub fn report_body(tokens: &[&str], url: &str) -> String {
    let items: Vec<Value> = tokens
        .iter()
        .map(|t| json!({"token": t, "type": "latchkey_api_key", "url": url, "source": "content"}))
        .collect();
    Value::Array(items).to_string()
}

/// Posts a JSON body with these headers: the status and the answer's text.
pub async fn post_json(url: String, body: &str, headers: &[(&str, &str)]) -> (StatusCode, String) {
    let mut request = Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_owned());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

/// Posts a report with these signature headers (None leaves one out).
pub async fn post_report(
    base: &str,
    body: &str,
    key_id: Option<&str>,
    signature: Option<&str>,
) -> (StatusCode, Value) {
    let headers: Vec<(&str, &str)> = [
        ("Github-Public-Key-Identifier", key_id),
        ("Github-Public-Key-Signature", signature),
    ]
    .into_iter()
    .filter_map(|(name, value)| Some((name, value?)))
    .collect();
    let url = format!("{base}/api/v1/secret-scanning/github");
    let (status, text) = post_json(url, body, &headers).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

pub async fn signed_report(base: &str, key: &GithubKey, body: &str) -> (StatusCode, Value) {
    post_report(base, body, Some(&key.id), Some(&key.sign(body))).await
}
