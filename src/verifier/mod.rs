//! Checking presented keys, fast: every live key is held in memory (hash,
//! type, scheme, expiry, allowlist, rate limit), so a bearer or Basic check
//! costs one keyed hash and no database read. A signed request also costs one
//! insert: the shared replay table decides whether its signature is fresh.
//! Changes made through this instance apply at once; changes made through
//! other instances are picked up by polling every quarter second. Outcomes are
//! counted in memory and written in batches.

pub mod usage;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, RwLock};

use chrono::{Duration, NaiveDateTime};

use crate::db::keys::VerifyRow;
use crate::db::{self, DbConn, DbPool};
use crate::domain::api_key::{self, PublicId};
use crate::domain::application::Application;
use crate::domain::crypto::{SecretBox, SecretHasher};
use crate::domain::hmac_signature::{self, SignatureError};
use crate::domain::ip_allowlist::IpAllowlist;
use crate::domain::key_type::{Catalogue, Scheme};
use crate::domain::rate_limit::TokenBucket;
use crate::domain::request_log::{Attempt, Detail};
use crate::domain::verdict::{Context, KeyRecord, Outcome, judge};
use usage::{Holder, UsageRecorder};

/// Re-read changes from slightly before the last one seen, so clocks that
/// differ a little between instances cannot hide a change.
const CLOCK_MARGIN: Duration = Duration::seconds(5);
/// Most signature digests one instance keeps in memory.
const LOCAL_SIGNATURES: usize = 100_000;

const NOT_A_KEY: &str = "the key does not have the shape of a Latchkey key";
const REPLAYED: &str = "this signature was already used; sign each request afresh";

pub struct Verifier {
    keys: RwLock<HashMap<PublicId, Arc<KeyRecord>>>,
    /// One shared copy of each type code.
    type_codes: Mutex<HashMap<String, Arc<str>>>,
    /// Every Application, shared by its keys: archiving one reaches them all.
    applications: RwLock<HashMap<String, Arc<Application>>>,
    hasher: SecretHasher,
    secret_box: SecretBox,
    disabled_from: HashMap<String, NaiveDateTime>,
    /// The catalogue's scheme per type code: a credential in the wrong form is
    /// refused before any lookup, so the refusal says nothing about a key.
    schemes: HashMap<String, Scheme>,
    watermark: Mutex<NaiveDateTime>,
    /// Digests of signatures this instance has seen, until they expire: a
    /// cheap first refusal of replays. The shared table decides the rest.
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
    pub fn refused(outcome: Outcome, reason: &'static str) -> Self {
        Verdict {
            outcome,
            key: None,
            retry_after: 0,
            reason: Some(reason),
        }
    }
}

/// The replay table could not be reached, so a signed request cannot be
/// accepted: the caller answers 503 and the client retries (with a fresh signature).
#[derive(Debug)]
pub struct ReplayCheckUnavailable;

/// A signed request as the verifier needs it: the credential, its date, and
/// the method and target it must cover (as a trusted party reports them).
pub struct SignedRequest<'a> {
    pub authorization: &'a str,
    pub date: Option<&'a str>,
    pub method: &'a str,
    pub target: &'a str,
}

/// How a request's credential was presented.
pub struct Presented<'a> {
    pub client_ip: Option<IpAddr>,
    pub expected_type: Option<&'a str>,
    /// The Application the caller expects (its id or name), if it says.
    pub expected_application: Option<&'a str>,
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
            schemes: catalogue
                .all()
                .iter()
                .map(|t| (t.code.clone(), t.scheme))
                .collect(),
            type_codes: Mutex::new(HashMap::new()),
            applications: RwLock::new(HashMap::new()),
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
        self.load_applications(conn)?;
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
        // First the Applications (few, read whole): an archived one's keys are
        // refused from this look on, and a new key finds its Application.
        self.load_applications(conn)?;
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
        let known = self
            .find(id.as_str())
            .is_some_and(|k| k.changed_at == row.changed_at);
        if known && !row.deleted {
            return;
        }
        // A deleted row, or one that can no longer be read as a key, is
        // refused from now on; it never keeps the version loaded before.
        let fresh = (!row.deleted).then(|| self.record(row, now)).flatten();
        let mut keys = self.keys.write().unwrap_or_else(|p| p.into_inner());
        match fresh {
            Some(fresh) => keys.insert(id, Arc::new(fresh)),
            None => keys.remove(&id),
        };
    }

    /// Takes in every Application's name and state. An Application is never
    /// deleted, so entries are only added or updated.
    pub fn load_applications(&self, conn: &mut DbConn) -> diesel::QueryResult<()> {
        let rows = db::applications::all(conn)?;
        let mut known = self.applications.write().unwrap_or_else(|p| p.into_inner());
        for row in rows {
            let archived = row.archived_at.is_some();
            match known.get(&row.id) {
                Some(app) => app.update(&row.name, archived),
                None => {
                    let app = Arc::new(Application::new(&row.id, &row.name, archived));
                    known.insert(row.id, app);
                }
            }
        }
        Ok(())
    }

    fn application(&self, id: &str) -> Option<Arc<Application>> {
        self.applications
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
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

    /// The id of the live key this whole key is, if any: a lookup for the
    /// console's search box, counted nowhere and judged by nothing else.
    pub fn identify(&self, token: &str) -> Option<String> {
        let parsed = api_key::parse(token).ok()?;
        let key = self.find(parsed.public_id)?;
        (&*key.type_code == parsed.type_code
            && self.hasher.matches(parsed.secret, &key.secret_hash))
        .then(|| key.id.to_string())
    }

    /// Checks a whole key (`Authorization: Bearer`, `X-API-Key`, `{"key"}`).
    /// Only keys of the bearer scheme accept this form.
    pub fn verify_bearer(&self, token: &str, presented: &Presented<'_>) -> Verdict {
        self.verify_secret(token, Scheme::Bearer, presented)
    }

    /// Checks a key/secret pair (HTTP Basic, `{"key", "secret"}`). Only keys
    /// of the Basic scheme accept this form.
    pub fn verify_pair(&self, key_id: &str, secret: &str, presented: &Presented<'_>) -> Verdict {
        if api_key::parse_key_id(key_id).is_err() {
            return Verdict::refused(Outcome::Malformed, NOT_A_KEY);
        }
        self.verify_secret(&format!("{key_id}_{secret}"), Scheme::Basic, presented)
    }

    /// The secret check shared by the bearer and pair forms. A credential in a
    /// form its type does not accept is refused as malformed before any lookup,
    /// whether or not such a key exists; a key whose own scheme disagrees (its
    /// type's scheme was changed after it was issued) answers exactly like a
    /// wrong secret.
    fn verify_secret(&self, token: &str, form: Scheme, presented: &Presented<'_>) -> Verdict {
        let Ok(parsed) = api_key::parse(token) else {
            return Verdict::refused(Outcome::Malformed, NOT_A_KEY);
        };
        if let Some(scheme) = self.schemes.get(parsed.type_code)
            && *scheme != form
        {
            let detail = Detail::WrongForm { takes: *scheme };
            self.log_named(parsed.public_id, parsed.type_code, detail, presented);
            return Verdict::refused(Outcome::Malformed, scheme.expected_form());
        }
        let Some(key) = self.find(parsed.public_id) else {
            return Verdict::refused(Outcome::NotFound, "no such key");
        };
        let matches = self.hasher.matches(parsed.secret, &key.secret_hash);
        if &*key.type_code != parsed.type_code || !matches || key.scheme != form {
            if &*key.type_code == parsed.type_code {
                let detail = match matches {
                    true => Detail::WrongForm { takes: key.scheme },
                    false => Detail::WrongSecret,
                };
                self.log(&key, Outcome::NotFound, detail, presented, Holder::Unproven);
            }
            return Verdict::refused(Outcome::NotFound, "no such key");
        }
        self.finish(key, presented)
    }

    /// Checks an `LK-HMAC-SHA256` credential against the request it signs.
    /// A good signature is then recorded in the shared replay table, which
    /// decides whether it is fresh; if the table cannot be reached the request
    /// is not accepted.
    pub async fn verify_signed(
        &self,
        pool: &DbPool,
        signed: SignedRequest<'_>,
        presented: &Presented<'_>,
    ) -> Result<Verdict, ReplayCheckUnavailable> {
        let (key, digest, until) = match self.check_signature(&signed, presented) {
            Ok(checked) => checked,
            Err(refused) => return Ok(refused),
        };
        if self.seen_here(&digest, presented.now) {
            return Ok(self.replayed(&key, presented));
        }
        let pool = pool.clone();
        let first = actix_web::web::block(move || {
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            db::signatures::first_sighting(&mut conn, &digest, until).map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r);
        let first = match first {
            Ok(first) => first,
            Err(e) => {
                log::warn!("cannot check a signature against the replay table: {e}");
                return Err(ReplayCheckUnavailable);
            }
        };
        self.remember_here(digest, until);
        if !first {
            return Ok(self.replayed(&key, presented));
        }
        Ok(self.finish(key, presented))
    }

    /// Everything about a signed request that needs no database: its shape,
    /// date, key, scheme and signature. Returns the key, the signature's
    /// digest and until when it must be remembered.
    fn check_signature(
        &self,
        signed: &SignedRequest<'_>,
        presented: &Presented<'_>,
    ) -> Result<(Arc<KeyRecord>, [u8; 32], NaiveDateTime), Verdict> {
        let Ok(credential) = hmac_signature::parse(signed.authorization) else {
            return Err(Verdict::refused(
                Outcome::Malformed,
                "the Authorization header is not a well-formed LK-HMAC-SHA256 credential",
            ));
        };
        let named = &credential.key;
        let signed_at = match hmac_signature::check_date(signed.date, presented.now) {
            Ok(at) => at,
            Err(SignatureError::Stale) => {
                self.log_named(
                    named.public_id,
                    named.type_code,
                    Detail::StaleDate,
                    presented,
                );
                return Err(Verdict::refused(
                    Outcome::Malformed,
                    "the Date header is more than five minutes from the server's clock",
                ));
            }
            Err(_) => {
                self.log_named(named.public_id, named.type_code, Detail::NoDate, presented);
                return Err(Verdict::refused(
                    Outcome::Malformed,
                    "the Date header is missing or not an HTTP date",
                ));
            }
        };
        if let Some(scheme) = self.schemes.get(named.type_code)
            && *scheme != Scheme::Hmac
        {
            let detail = Detail::WrongForm { takes: *scheme };
            self.log_named(named.public_id, named.type_code, detail, presented);
            return Err(Verdict::refused(Outcome::Malformed, scheme.expected_form()));
        }
        let not_found = || Verdict::refused(Outcome::NotFound, "no such key");
        let key = self.find(named.public_id).ok_or_else(not_found)?;
        let secret = key
            .secret_sealed
            .as_deref()
            .filter(|_| &*key.type_code == credential.key.type_code && key.scheme == Scheme::Hmac)
            .and_then(|sealed| {
                self.secret_box
                    .open(sealed, key.id.as_str().as_bytes())
                    .ok()
            })
            .ok_or_else(not_found)?;
        let to_sign = hmac_signature::string_to_sign(
            signed.date.unwrap_or_default(),
            signed.method,
            signed.target,
        );
        if !hmac_signature::signature_matches(&secret, &to_sign, &credential.signature) {
            self.log(
                &key,
                Outcome::NotFound,
                Detail::BadSignature,
                presented,
                Holder::Unproven,
            );
            return Err(not_found());
        }
        Ok((
            key,
            hmac_signature::replay_digest(&credential.signature),
            hmac_signature::remember_until(signed_at),
        ))
    }

    /// Whether this instance already saw the signature (and it has not expired).
    fn seen_here(&self, digest: &[u8; 32], now: NaiveDateTime) -> bool {
        self.seen_signatures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(digest)
            .is_some_and(|until| *until > now)
    }

    fn remember_here(&self, digest: [u8; 32], until: NaiveDateTime) {
        let mut seen = self
            .seen_signatures
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if seen.len() >= LOCAL_SIGNATURES {
            let now = db::now();
            seen.retain(|_, at| *at > now);
            if seen.len() >= LOCAL_SIGNATURES {
                // Only a cache: the shared table still refuses what this forgets.
                seen.clear();
            }
        }
        seen.insert(digest, until);
    }

    /// Forgets signatures whose dates can no longer be accepted, here and in
    /// the shared table (bounded work; called by the background thread).
    pub fn forget_old_signatures(&self, conn: &mut DbConn) -> diesel::QueryResult<usize> {
        let now = db::now();
        self.seen_signatures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, until| *until > now);
        db::signatures::sweep(conn, now)
    }

    fn finish(&self, key: Arc<KeyRecord>, presented: &Presented<'_>) -> Verdict {
        // A rolled key past its grace period answers like a deleted one (its
        // log still says why, for whoever looks at the old key's page).
        if let Some(at) = key.stops_at.filter(|at| *at <= presented.now) {
            let detail = Detail::Retired { at };
            self.log(&key, Outcome::NotFound, detail, presented, Holder::Unproven);
            return Verdict::refused(Outcome::NotFound, "no such key");
        }
        let ctx = Context {
            now: presented.now,
            client_ip: presented.client_ip,
            expected_type: presented.expected_type,
            expected_application: presented.expected_application,
            type_disabled_from: self.disabled_from.get(&*key.type_code).copied(),
        };
        let (outcome, retry_after) = judge(&key, &ctx);
        let detail = Detail::judged(outcome, retry_after, &key, &ctx);
        self.log(&key, outcome, detail, presented, Holder::Proven);
        Verdict {
            outcome,
            key: Some(key),
            retry_after,
            reason: None,
        }
    }
}

/// The request log's side of verification: counting and keeping attempts
/// that named a live key (cheap: no formatting, no database).
impl Verifier {
    fn log(
        &self,
        key: &KeyRecord,
        outcome: Outcome,
        detail: Detail,
        presented: &Presented<'_>,
        holder: Holder,
    ) {
        let attempt = Attempt {
            at: presented.now,
            outcome,
            client_ip: presented.client_ip,
            detail,
        };
        self.usage.record(key.id, attempt, holder);
    }

    /// A malformed attempt refused before any secret was checked, logged if
    /// it names a live key of the type it claims.
    fn log_named(
        &self,
        public_id: &str,
        type_code: &str,
        detail: Detail,
        presented: &Presented<'_>,
    ) {
        if let Some(key) = self.find(public_id).filter(|k| &*k.type_code == type_code) {
            self.log(
                &key,
                Outcome::Malformed,
                detail,
                presented,
                Holder::Unproven,
            );
        }
    }

    fn replayed(&self, key: &KeyRecord, presented: &Presented<'_>) -> Verdict {
        self.log(
            key,
            Outcome::Malformed,
            Detail::Replayed,
            presented,
            Holder::Unproven,
        );
        Verdict::refused(Outcome::Malformed, REPLAYED)
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
            // A scheme this version does not know accepts no credential at all.
            scheme: Scheme::parse(&row.scheme)?,
            name: row.name.into_boxed_str(),
            secret_hash: row.secret_hash.try_into().ok()?,
            secret_sealed: row.secret_sealed.map(Vec::into_boxed_slice),
            expires_at: row.expires_at,
            changed_at: row.changed_at,
            // An unreadable list refuses the key rather than dropping lines.
            allowlist: IpAllowlist::from_stored(&row.allowed_ips)?,
            rate: row
                .rate_limit
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n > 0)
                .map(|n| Box::new(Mutex::new(TokenBucket::per_minute(n, now)))),
            disabled: row.disabled,
            stops_at: row.stops_at,
            // A key of an Application not read yet is refused, not guessed at.
            application: self.application(&row.application_id)?,
        })
    }
}
