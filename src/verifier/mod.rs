//! Checking presented keys, fast: every live key is held in memory (hash,
//! type, expiry, allowlist, rate limit), so a check costs one keyed hash and
//! no database read. Changes made through this instance apply at once;
//! changes made through other instances are picked up by polling every
//! half second. Outcomes are counted in memory and written in batches.

pub mod usage;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, RwLock};

use chrono::{Duration, NaiveDateTime};

use crate::db::keys::VerifyRow;
use crate::db::{self, DbConn};
use crate::domain::api_key;
use crate::domain::crypto::{SecretBox, SecretHasher};
use crate::domain::hmac_signature::{self, SignatureError};
use crate::domain::ip_allowlist::IpAllowlist;
use crate::domain::key_type::Catalogue;
use crate::domain::rate_limit::TokenBucket;
use crate::domain::verdict::{Context, KeyRecord, Outcome, judge};
use usage::UsageRecorder;

/// Re-read changes from slightly before the last one seen, so clocks that
/// differ a little between instances cannot hide a change.
const CLOCK_MARGIN: Duration = Duration::seconds(5);

pub struct Verifier {
    keys: RwLock<HashMap<String, Arc<KeyRecord>>>,
    hasher: SecretHasher,
    secret_box: SecretBox,
    disabled_from: HashMap<String, NaiveDateTime>,
    watermark: Mutex<NaiveDateTime>,
    seen_signatures: Mutex<HashMap<[u8; 32], NaiveDateTime>>,
    pub usage: UsageRecorder,
}

/// The result of one check.
pub struct Verdict {
    pub outcome: Outcome,
    /// The key, when the presented secret matched one.
    pub key: Option<Arc<KeyRecord>>,
    /// Seconds to wait, for `RateLimited`.
    pub retry_after: u64,
    /// More detail for the caller, never anything about the key's existence.
    pub reason: Option<&'static str>,
}

impl Verdict {
    fn refused(outcome: Outcome, reason: &'static str) -> Self {
        Verdict {
            outcome,
            key: None,
            retry_after: 0,
            reason: Some(reason),
        }
    }
}

/// How a request's credential was presented.
pub struct Presented<'a> {
    pub client_ip: Option<IpAddr>,
    pub expected_type: Option<&'a str>,
    pub now: NaiveDateTime,
}

impl Verifier {
    pub fn new(hasher: SecretHasher, secret_box: SecretBox, catalogue: &Catalogue) -> Self {
        Verifier {
            keys: RwLock::new(HashMap::new()),
            hasher,
            secret_box,
            disabled_from: catalogue
                .all()
                .iter()
                .filter_map(|t| Some((t.code.clone(), t.disabled_from?)))
                .collect(),
            watermark: Mutex::new(NaiveDateTime::MIN),
            seen_signatures: Mutex::new(HashMap::new()),
            usage: UsageRecorder::default(),
        }
    }

    /// Loads every live key. Called once at start.
    pub fn load_all(&self, conn: &mut DbConn) -> diesel::QueryResult<usize> {
        let started = db::now();
        let rows = db::keys::live_for_verification(conn)?;
        let mut keys = self.keys.write().unwrap_or_else(|p| p.into_inner());
        keys.clear();
        for row in rows {
            keys.insert(row.id.clone(), Arc::new(record(row, started)));
        }
        *self.watermark.lock().unwrap_or_else(|p| p.into_inner()) = started;
        Ok(keys.len())
    }

    /// Applies changes made since the last look, by any instance.
    pub fn refresh(&self, conn: &mut DbConn) -> diesel::QueryResult<()> {
        let since = *self.watermark.lock().unwrap_or_else(|p| p.into_inner()) - CLOCK_MARGIN;
        let now = db::now();
        let rows = db::keys::changed_since(conn, since)?;
        let newest = rows.iter().map(|r| r.changed_at).max();
        for row in rows {
            self.apply(row, now);
        }
        if let Some(newest) = newest {
            let mut watermark = self.watermark.lock().unwrap_or_else(|p| p.into_inner());
            *watermark = (*watermark).max(newest);
        }
        Ok(())
    }

    /// Takes in a row just written by this instance (or read back by `refresh`).
    /// A re-read of an unchanged key keeps its rate-limit bucket.
    pub fn apply(&self, row: VerifyRow, now: NaiveDateTime) {
        let mut keys = self.keys.write().unwrap_or_else(|p| p.into_inner());
        if row.deleted {
            keys.remove(&row.id);
            return;
        }
        let fresh = record(row, now);
        let unchanged = keys.get(&fresh.id).is_some_and(|old| {
            old.expires_at == fresh.expires_at
                && old.allowlist == fresh.allowlist
                && old.rate.is_some() == fresh.rate.is_some()
                && old.name == fresh.name
                && rate_of(old) == rate_of(&fresh)
        });
        if !unchanged {
            keys.insert(fresh.id.clone(), Arc::new(fresh));
        }
    }

    pub fn remove(&self, id: &str) {
        self.keys
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }

    pub fn len(&self) -> usize {
        self.keys.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn find(&self, public_id: &str) -> Option<Arc<KeyRecord>> {
        self.keys
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(public_id)
            .cloned()
    }

    /// Checks a bearer token (or a key and secret joined with `_`).
    pub fn verify_token(&self, token: &str, presented: &Presented<'_>) -> Verdict {
        let Ok(parsed) = api_key::parse(token) else {
            return Verdict::refused(
                Outcome::Malformed,
                "the key does not have the shape of a Latchkey key",
            );
        };
        let Some(key) = self.find(parsed.public_id) else {
            return Verdict::refused(Outcome::NotFound, "no such key");
        };
        if key.type_code != parsed.type_code
            || !self.hasher.matches(parsed.secret, &key.secret_hash)
        {
            return Verdict::refused(Outcome::NotFound, "no such key");
        }
        self.finish(key, presented)
    }

    /// Checks an `LK-HMAC-SHA256` Authorization header against the request it signs.
    pub fn verify_signed(
        &self,
        authorization: &str,
        date: Option<&str>,
        method: &str,
        target: &str,
        presented: &Presented<'_>,
    ) -> Verdict {
        let credential = match hmac_signature::parse(authorization) {
            Ok(c) => c,
            Err(_) => {
                return Verdict::refused(
                    Outcome::Malformed,
                    "the Authorization header is not a well-formed LK-HMAC-SHA256 credential",
                );
            }
        };
        if let Err(e) = hmac_signature::check_date(date, presented.now) {
            let reason = match e {
                SignatureError::Stale => {
                    "the Date header is more than five minutes from the server's clock"
                }
                _ => "the Date header is missing or not an HTTP date",
            };
            return Verdict::refused(Outcome::Malformed, reason);
        }
        let Some(key) = self.find(credential.key.public_id) else {
            return Verdict::refused(Outcome::NotFound, "no such key");
        };
        let Some(secret) = key
            .secret_sealed
            .as_deref()
            .filter(|_| key.type_code == credential.key.type_code)
            .and_then(|sealed| self.secret_box.open(sealed, key.id.as_bytes()).ok())
        else {
            return Verdict::refused(Outcome::NotFound, "no such key");
        };
        let to_sign = hmac_signature::string_to_sign(date.unwrap_or_default(), method, target);
        if !hmac_signature::signature_matches(&secret, &to_sign, &credential.signature) {
            return Verdict::refused(Outcome::NotFound, "no such key");
        }
        if !self.first_sighting(credential.signature, presented.now) {
            return Verdict::refused(
                Outcome::Malformed,
                "this signature was already used; sign each request afresh",
            );
        }
        self.finish(key, presented)
    }

    /// Records a signature; false if it was seen within the replay window.
    fn first_sighting(&self, signature: [u8; 32], now: NaiveDateTime) -> bool {
        let mut seen = self
            .seen_signatures
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if seen.len() > 10_000 {
            seen.retain(|_, at| *at + hmac_signature::MAX_SKEW * 2 > now);
        }
        match seen.get(&signature) {
            Some(at) if *at + hmac_signature::MAX_SKEW * 2 > now => false,
            _ => {
                seen.insert(signature, now);
                true
            }
        }
    }

    fn finish(&self, key: Arc<KeyRecord>, presented: &Presented<'_>) -> Verdict {
        let ctx = Context {
            now: presented.now,
            client_ip: presented.client_ip,
            expected_type: presented.expected_type,
            type_disabled_from: self.disabled_from.get(&key.type_code).copied(),
        };
        let (outcome, retry_after) = judge(&key, &ctx);
        self.usage
            .count(&key.id, outcome, presented.now, presented.client_ip);
        Verdict {
            outcome,
            key: Some(key),
            retry_after,
            reason: None,
        }
    }
}

fn rate_of(record: &KeyRecord) -> Option<u32> {
    record
        .rate
        .as_ref()
        .map(|r| r.lock().unwrap_or_else(|p| p.into_inner()).limit())
}

fn record(row: VerifyRow, now: NaiveDateTime) -> KeyRecord {
    KeyRecord {
        allowlist: IpAllowlist::from_stored(&row.allowed_ips),
        rate: row
            .rate_limit
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| *n > 0)
            .map(|n| Mutex::new(TokenBucket::per_minute(n, now))),
        id: row.id,
        type_code: row.type_code,
        name: row.name,
        secret_hash: row.secret_hash,
        secret_sealed: row.secret_sealed,
        expires_at: row.expires_at,
    }
}
