//! What verifying a presented key can conclude, and the rules that decide it.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use chrono::NaiveDateTime;

use crate::domain::api_key::PublicId;
use crate::domain::application::Application;
use crate::domain::ip_allowlist::IpAllowlist;
use crate::domain::key_type::Scheme;
use crate::domain::rate_limit::TokenBucket;

/// The answer codes of the verification API, in the order the rules are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Valid,
    /// Unknown, deleted, or the secret does not match: indistinguishable on purpose.
    NotFound,
    Malformed,
    Expired,
    /// The key was switched off, or its type was on a set date.
    Disabled,
    IpNotAllowed,
    WrongType,
    /// The caller expected a key of another Application.
    WrongApplication,
    RateLimited,
}

impl Outcome {
    pub const ALL: [Outcome; 9] = [
        Outcome::Valid,
        Outcome::NotFound,
        Outcome::Malformed,
        Outcome::Expired,
        Outcome::Disabled,
        Outcome::IpNotAllowed,
        Outcome::WrongType,
        Outcome::WrongApplication,
        Outcome::RateLimited,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Outcome::Valid => "VALID",
            Outcome::NotFound => "NOT_FOUND",
            Outcome::Malformed => "MALFORMED",
            Outcome::Expired => "EXPIRED",
            Outcome::Disabled => "DISABLED",
            Outcome::IpNotAllowed => "IP_NOT_ALLOWED",
            Outcome::WrongType => "WRONG_TYPE",
            Outcome::WrongApplication => "WRONG_APPLICATION",
            Outcome::RateLimited => "RATE_LIMITED",
        }
    }

    pub fn from_code(code: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.code() == code)
    }

    /// A human label for charts and tables.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Valid => "Valid",
            Outcome::NotFound => "Not found",
            Outcome::Malformed => "Malformed",
            Outcome::Expired => "Expired",
            Outcome::Disabled => "Disabled",
            Outcome::IpNotAllowed => "IP not allowed",
            Outcome::WrongType => "Wrong type",
            Outcome::WrongApplication => "Wrong application",
            Outcome::RateLimited => "Rate limited",
        }
    }
}

/// What verification needs to know about a live key. Holds no secret: only
/// the keyed hash, and for HMAC types the sealed secret.
/// Kept compact (ids inline, type codes shared, slices boxed): 100,000 of
/// these live in memory.
#[derive(Debug)]
pub struct KeyRecord {
    pub id: PublicId,
    pub type_code: Arc<str>,
    /// Which form of credential the key accepts (one byte).
    pub scheme: Scheme,
    pub name: Box<str>,
    pub secret_hash: [u8; 32],
    pub secret_sealed: Option<Box<[u8]>>,
    pub expires_at: Option<NaiveDateTime>,
    /// When the stored row last changed: a re-read with the same stamp is skipped.
    pub changed_at: NaiveDateTime,
    pub allowlist: IpAllowlist,
    pub rate: Option<Box<Mutex<TokenBucket>>>,
    /// Switched off by an Administrator or a leak report.
    pub disabled: bool,
    /// Rolled: from this instant the key answers like a deleted one.
    pub stops_at: Option<NaiveDateTime>,
    /// Its Application, shared with the Application's other keys.
    pub application: Arc<Application>,
}

/// The circumstances of one check.
pub struct Context<'a> {
    pub now: NaiveDateTime,
    pub client_ip: Option<IpAddr>,
    pub expected_type: Option<&'a str>,
    /// The Application the caller expects the key to belong to (id or name).
    pub expected_application: Option<&'a str>,
    /// From the catalogue: when the key's type stopped working, if it has.
    pub type_disabled_from: Option<NaiveDateTime>,
}

/// The rules after the secret has matched, in order. Returns the outcome and,
/// for `RateLimited`, the seconds until the next request would be allowed.
pub fn judge(key: &KeyRecord, ctx: &Context<'_>) -> (Outcome, u64) {
    if key.disabled || key.application.is_archived() {
        return (Outcome::Disabled, 0);
    }
    if key.expires_at.is_some_and(|at| at <= ctx.now) {
        return (Outcome::Expired, 0);
    }
    if ctx.type_disabled_from.is_some_and(|from| from <= ctx.now) {
        return (Outcome::Disabled, 0);
    }
    if ctx.expected_type.is_some_and(|t| t != &*key.type_code) {
        return (Outcome::WrongType, 0);
    }
    if ctx
        .expected_application
        .is_some_and(|a| !key.application.is_named(a))
    {
        return (Outcome::WrongApplication, 0);
    }
    if !key.allowlist.is_unrestricted() && !ctx.client_ip.is_some_and(|ip| key.allowlist.allows(ip))
    {
        return (Outcome::IpNotAllowed, 0);
    }
    if let Some(rate) = &key.rate {
        let mut bucket = rate.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Err(wait) = bucket.take(ctx.now) {
            return (Outcome::RateLimited, wait);
        }
    }
    (Outcome::Valid, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn now() -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 25)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap()
    }

    fn key() -> KeyRecord {
        KeyRecord {
            id: PublicId::parse("abcdefghijkl").unwrap(),
            type_code: "ucd".into(),
            scheme: Scheme::Bearer,
            name: "k".into(),
            secret_hash: [0; 32],
            secret_sealed: None,
            expires_at: None,
            changed_at: now(),
            allowlist: IpAllowlist::default(),
            rate: None,
            disabled: false,
            stops_at: None,
            application: Arc::new(Application::new("default", "Default", false)),
        }
    }

    fn ctx() -> Context<'static> {
        Context {
            now: now(),
            client_ip: Some("203.0.113.9".parse().unwrap()),
            expected_type: None,
            expected_application: None,
            type_disabled_from: None,
        }
    }

    #[test]
    fn a_plain_key_is_valid() {
        assert_eq!(judge(&key(), &ctx()).0, Outcome::Valid);
    }

    #[test]
    fn expiry_is_checked_at_the_instant() {
        let mut k = key();
        k.expires_at = Some(now());
        assert_eq!(judge(&k, &ctx()).0, Outcome::Expired);
        k.expires_at = Some(now() + Duration::seconds(1));
        assert_eq!(judge(&k, &ctx()).0, Outcome::Valid);
    }

    #[test]
    fn a_disabled_type_refuses_its_keys_from_the_set_date() {
        let mut c = ctx();
        c.type_disabled_from = Some(now() + Duration::days(1));
        assert_eq!(judge(&key(), &c).0, Outcome::Valid);
        c.type_disabled_from = Some(now());
        assert_eq!(judge(&key(), &c).0, Outcome::Disabled);
    }

    #[test]
    fn a_switched_off_key_is_disabled_before_any_other_rule() {
        let mut k = key();
        k.disabled = true;
        k.expires_at = Some(now());
        k.allowlist = IpAllowlist::parse("10.0.0.0/8").unwrap();
        assert_eq!(judge(&k, &ctx()).0, Outcome::Disabled);
        k.disabled = false;
        assert_eq!(judge(&k, &ctx()).0, Outcome::Expired);
    }

    #[test]
    fn the_expected_type_must_match() {
        let mut c = ctx();
        c.expected_type = Some("tsms");
        assert_eq!(judge(&key(), &c).0, Outcome::WrongType);
        c.expected_type = Some("ucd");
        assert_eq!(judge(&key(), &c).0, Outcome::Valid);
    }

    #[test]
    fn the_expected_application_must_be_the_keys_by_id_or_name() {
        let mut c = ctx();
        for (expected, outcome) in [
            ("default", Outcome::Valid),
            ("Default", Outcome::Valid),
            ("Partner sandbox", Outcome::WrongApplication),
            ("app_other", Outcome::WrongApplication),
        ] {
            c.expected_application = Some(expected);
            assert_eq!(judge(&key(), &c).0, outcome, "{expected}");
        }
        // The type is checked first.
        c.expected_type = Some("tsms");
        assert_eq!(judge(&key(), &c).0, Outcome::WrongType);
    }

    #[test]
    fn an_archived_application_disables_its_keys_until_unarchived() {
        let k = key();
        k.application.update("Default", true);
        assert_eq!(judge(&k, &ctx()).0, Outcome::Disabled);
        k.application.update("Default", false);
        assert_eq!(judge(&k, &ctx()).0, Outcome::Valid);
    }

    #[test]
    fn an_allowlist_needs_a_matching_client_address() {
        let mut k = key();
        k.allowlist = IpAllowlist::parse("10.0.0.0/8").unwrap();
        assert_eq!(judge(&k, &ctx()).0, Outcome::IpNotAllowed);
        let mut c = ctx();
        c.client_ip = None;
        assert_eq!(judge(&k, &c).0, Outcome::IpNotAllowed);
        c.client_ip = Some("10.9.8.7".parse().unwrap());
        assert_eq!(judge(&k, &c).0, Outcome::Valid);
    }

    #[test]
    fn the_rate_limit_comes_last_and_says_when_to_retry() {
        let mut k = key();
        k.rate = Some(Box::new(Mutex::new(TokenBucket::per_minute(2, now()))));
        assert_eq!(judge(&k, &ctx()).0, Outcome::Valid);
        assert_eq!(judge(&k, &ctx()).0, Outcome::Valid);
        let (outcome, wait) = judge(&k, &ctx());
        assert_eq!(outcome, Outcome::RateLimited);
        assert_eq!(wait, 30);
    }

    #[test]
    fn codes_are_written_out() {
        let codes: Vec<&str> = Outcome::ALL.iter().map(|o| o.code()).collect();
        assert_eq!(
            codes,
            [
                "VALID",
                "NOT_FOUND",
                "MALFORMED",
                "EXPIRED",
                "DISABLED",
                "IP_NOT_ALLOWED",
                "WRONG_TYPE",
                "WRONG_APPLICATION",
                "RATE_LIMITED"
            ]
        );
    }

    #[test]
    fn codes_round_trip() {
        for o in Outcome::ALL {
            assert_eq!(Outcome::from_code(o.code()), Some(o));
        }
    }
}
