//! Checking presented keys, fast: every live key is held in memory (hash,
//! type, expiry, allowlist, rate limit), so a check costs one keyed hash and
//! no database read. Changes made through this instance apply at once;
//! changes made through other instances are picked up by polling every
//! quarter second. Outcomes are counted in memory and written in batches.

pub mod usage;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, RwLock};

use chrono::{Duration, NaiveDateTime};

use crate::db::keys::VerifyRow;
use crate::db::{self, DbConn};
use crate::domain::api_key::{self, PublicId};
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
    keys: RwLock<HashMap<PublicId, Arc<KeyRecord>>>,
    /// One shared copy of each type code.
    type_codes: Mutex<HashMap<String, Arc<str>>>,
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
            type_codes: Mutex::new(HashMap::new()),
            watermark: Mutex::new(NaiveDateTime::MIN),
            seen_signatures: Mutex::new(HashMap::new()),
            usage: UsageRecorder::default(),
        }
    }

    /// Loads every live key, a page at a time so start-up never holds every
    /// row twice. Called once at start.
    pub fn load_all(&self, conn: &mut DbConn) -> diesel::QueryResult<usize> {
        const PAGE: i64 = 5_000;
        let started = db::now();
        let mut loaded = HashMap::new();
        let mut after = String::new();
        loop {
            let rows = db::keys::live_for_verification(conn, &after, PAGE)?;
            let Some(last) = rows.last() else { break };
            after = last.id.clone();
            let full = rows.len() as i64 == PAGE;
            for row in rows {
                if let Some(record) = self.record(row, started) {
                    loaded.insert(record.id, Arc::new(record));
                }
            }
            if !full {
                break;
            }
        }
        loaded.shrink_to_fit();
        let count = loaded.len();
        *self.keys.write().unwrap_or_else(|p| p.into_inner()) = loaded;
        *self.watermark.lock().unwrap_or_else(|p| p.into_inner()) = started;
        Ok(count)
    }

    /// Applies changes made since the last look, by any instance.
    pub fn refresh(&self, conn: &mut DbConn) -> diesel::QueryResult<()> {
        let started = db::now();
        let since = *self.watermark.lock().unwrap_or_else(|p| p.into_inner()) - CLOCK_MARGIN;
        for row in db::keys::changed_since(conn, since)? {
            self.apply(row, started);
        }
        // Next time, look from (a margin before) this look, not from the newest
        // change: a quiet table must not be re-read over and over.
        *self.watermark.lock().unwrap_or_else(|p| p.into_inner()) = started;
        Ok(())
    }

    /// Takes in a row just written by this instance (or read back by `refresh`).
    /// A row already applied (same change stamp) costs nothing and keeps the
    /// key's rate-limit bucket.
    pub fn apply(&self, row: VerifyRow, now: NaiveDateTime) {
        let Some(id) = PublicId::parse(&row.id) else {
            return;
        };
        if row.deleted {
            self.keys
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&id);
            return;
        }
        let known = self
            .find(id.as_str())
            .is_some_and(|k| k.changed_at == row.changed_at);
        if known {
            return;
        }
        if let Some(fresh) = self.record(row, now) {
            self.keys
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .insert(id, Arc::new(fresh));
        }
    }

    pub fn remove(&self, id: &str) {
        if let Some(id) = PublicId::parse(id) {
            self.keys
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&id);
        }
    }

    fn find(&self, public_id: &str) -> Option<Arc<KeyRecord>> {
        let id = PublicId::parse(public_id)?;
        self.keys
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
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
        if &*key.type_code != parsed.type_code
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
            .filter(|_| &*key.type_code == credential.key.type_code)
            .and_then(|sealed| {
                self.secret_box
                    .open(sealed, key.id.as_str().as_bytes())
                    .ok()
            })
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
            type_disabled_from: self.disabled_from.get(&*key.type_code).copied(),
        };
        let (outcome, retry_after) = judge(&key, &ctx);
        self.usage
            .count(key.id, outcome, presented.now, presented.client_ip);
        Verdict {
            outcome,
            key: Some(key),
            retry_after,
            reason: None,
        }
    }
}

impl Verifier {
    /// The compact in-memory form of a row; None for a row that cannot be a key.
    fn record(&self, row: VerifyRow, now: NaiveDateTime) -> Option<KeyRecord> {
        let type_code = {
            let mut codes = self.type_codes.lock().unwrap_or_else(|p| p.into_inner());
            codes
                .entry(row.type_code)
                .or_insert_with_key(|code| Arc::from(code.as_str()))
                .clone()
        };
        Some(KeyRecord {
            id: PublicId::parse(&row.id)?,
            type_code,
            name: row.name.into_boxed_str(),
            secret_hash: row.secret_hash.try_into().ok()?,
            secret_sealed: row.secret_sealed.map(Vec::into_boxed_slice),
            expires_at: row.expires_at,
            changed_at: row.changed_at,
            allowlist: IpAllowlist::from_stored(&row.allowed_ips),
            rate: row
                .rate_limit
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n > 0)
                .map(|n| Box::new(Mutex::new(TokenBucket::per_minute(n, now)))),
        })
    }
}
