//! Requests signed with an HMAC key/secret pair.
//!
//! ```text
//! Date: Wed, 25 Nov 2026 10:00:00 GMT
//! Authorization: LK-HMAC-SHA256 KeyId=<API key>, Signature=<base64 HMAC-SHA-256>
//! ```
//!
//! The signature is HMAC-SHA-256, keyed with the API secret exactly as shown
//! when the key was generated, over `<Date header>\n<METHOD> <request target>`
//! (the target is the path and query as sent, e.g. `/orders?page=2`). A date
//! more than five minutes from the server's clock is refused, and so is a
//! signature already seen within that window: every accepted signature is
//! remembered (as a SHA-256 digest, shared by every instance) until its date
//! can no longer be accepted.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Duration, NaiveDateTime};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::domain::api_key::{self, ParsedKeyId};

pub const SCHEME: &str = "LK-HMAC-SHA256";
pub const MAX_SKEW: Duration = Duration::minutes(5);
/// Instances' clocks may differ a little: a signature is remembered this much
/// longer than the skew window of the instance that accepted it.
pub const CLOCK_MARGIN: Duration = Duration::minutes(1);

#[derive(Debug, PartialEq, Eq)]
pub struct SignedCredential<'a> {
    pub key: ParsedKeyId<'a>,
    pub signature: [u8; 32],
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Authorization header is not a well-formed LK-HMAC-SHA256 credential")]
    Malformed,
    #[error("the Date header is missing or not an HTTP date")]
    BadDate,
    #[error("the Date header is more than five minutes from the server's clock")]
    Stale,
}

/// Whether this Authorization header uses the HMAC scheme at all.
pub fn is_hmac(authorization: &str) -> bool {
    authorization
        .get(..SCHEME.len())
        .is_some_and(|s| s.eq_ignore_ascii_case(SCHEME))
        && authorization[SCHEME.len()..].starts_with(' ')
}

pub fn parse(authorization: &str) -> Result<SignedCredential<'_>, SignatureError> {
    if authorization.len() > 512 || !is_hmac(authorization) {
        return Err(SignatureError::Malformed);
    }
    let mut key = None;
    let mut signature = None;
    for part in authorization[SCHEME.len()..].split(',') {
        let (name, value) = part
            .trim()
            .split_once('=')
            .ok_or(SignatureError::Malformed)?;
        let value = value.trim().trim_matches('"');
        if name.eq_ignore_ascii_case("KeyId") {
            key = Some(api_key::parse_key_id(value).map_err(|_| SignatureError::Malformed)?);
        } else if name.eq_ignore_ascii_case("Signature") {
            let bytes = B64.decode(value).map_err(|_| SignatureError::Malformed)?;
            signature = Some(<[u8; 32]>::try_from(bytes).map_err(|_| SignatureError::Malformed)?);
        }
    }
    match (key, signature) {
        (Some(key), Some(signature)) => Ok(SignedCredential { key, signature }),
        _ => Err(SignatureError::Malformed),
    }
}

/// Reads the Date header and checks it is within the allowed skew of `now`;
/// returns the signed instant (UTC).
pub fn check_date(date: Option<&str>, now: NaiveDateTime) -> Result<NaiveDateTime, SignatureError> {
    let date = date.ok_or(SignatureError::BadDate)?;
    let at = DateTime::parse_from_rfc2822(date.trim())
        .map_err(|_| SignatureError::BadDate)?
        .naive_utc();
    if (at - now).abs() > MAX_SKEW {
        return Err(SignatureError::Stale);
    }
    Ok(at)
}

/// What is remembered of an accepted signature: its SHA-256, so the replay
/// table never holds a presentable credential.
pub fn replay_digest(signature: &[u8; 32]) -> [u8; 32] {
    Sha256::digest(signature).into()
}

/// Until when a signature dated `signed_at` must be remembered: after that its
/// date is refused as stale anyway, on any instance whose clock is within
/// `CLOCK_MARGIN` of this one.
pub fn remember_until(signed_at: NaiveDateTime) -> NaiveDateTime {
    signed_at + MAX_SKEW + CLOCK_MARGIN
}

pub fn string_to_sign(date: &str, method: &str, target: &str) -> String {
    format!(
        "{}\n{} {}",
        date.trim(),
        method.to_ascii_uppercase(),
        target
    )
}

pub fn sign(secret: &[u8], string_to_sign: &str) -> [u8; 32] {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(string_to_sign.as_bytes());
    mac.finalize().into_bytes().into()
}

pub fn signature_matches(secret: &[u8], string_to_sign: &str, presented: &[u8; 32]) -> bool {
    sign(secret, string_to_sign).ct_eq(presented).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::api_key::NewApiKey;

    fn now() -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 25)
            .unwrap()
            .and_hms_opt(10, 0, 0)
            .unwrap()
    }

    #[test]
    fn a_signed_header_parses_and_its_signature_checks_out() {
        let key = NewApiKey::generate("hubhmac");
        let date = "Wed, 25 Nov 2026 10:00:00 GMT";
        let to_sign = string_to_sign(date, "get", "/orders?page=2");
        assert_eq!(to_sign, "Wed, 25 Nov 2026 10:00:00 GMT\nGET /orders?page=2");
        let signature = sign(key.pair_secret().as_bytes(), &to_sign);
        let header = format!(
            "LK-HMAC-SHA256 KeyId={}, Signature={}",
            key.key_id(),
            B64.encode(signature)
        );
        let parsed = parse(&header).unwrap();
        assert_eq!(parsed.key.public_id, key.public_id);
        assert!(signature_matches(
            key.pair_secret().as_bytes(),
            &to_sign,
            &parsed.signature
        ));
        assert!(!signature_matches(
            b"another secret",
            &to_sign,
            &parsed.signature
        ));
        assert!(!signature_matches(
            key.pair_secret().as_bytes(),
            &string_to_sign(date, "POST", "/orders?page=2"),
            &parsed.signature
        ));
        assert_eq!(check_date(Some(date), now()), Ok(now()));
    }

    #[test]
    fn dates_more_than_five_minutes_off_are_refused() {
        assert_eq!(
            check_date(Some("Wed, 25 Nov 2026 10:05:00 GMT"), now()),
            Ok(now() + Duration::minutes(5))
        );
        assert_eq!(
            check_date(Some("Wed, 25 Nov 2026 10:05:01 GMT"), now()),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            check_date(Some("Wed, 25 Nov 2026 09:54:59 GMT"), now()),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            check_date(Some("yesterday"), now()),
            Err(SignatureError::BadDate)
        );
        assert_eq!(check_date(None, now()), Err(SignatureError::BadDate));
    }

    #[test]
    fn a_signature_is_remembered_as_a_digest_until_its_date_is_stale_everywhere() {
        let signature = [7u8; 32];
        let digest = replay_digest(&signature);
        assert_eq!(
            hex::encode(digest),
            "4bb06f8e4e3a7715d201d573d0aa423762e55dabd61a2c02278fa56cc6d294e0"
        );
        assert_ne!(digest, signature);
        assert_eq!(
            remember_until(now()).to_string(),
            "2026-11-25 10:06:00",
            "five minutes of skew and one of margin"
        );
    }

    #[test]
    fn truncated_or_garbled_headers_are_malformed() {
        let key = NewApiKey::generate("hubhmac");
        let good = format!(
            "LK-HMAC-SHA256 KeyId={}, Signature={}",
            key.key_id(),
            B64.encode([7u8; 32])
        );
        assert!(parse(&good).is_ok());
        for bad in [
            good[..good.len() - 4].to_owned(),
            good.replace("KeyId=", "Key="),
            format!("LK-HMAC-SHA256 KeyId={}", key.key_id()),
            "LK-HMAC-SHA256".to_owned(),
            "Bearer x".to_owned(),
            format!(
                "LK-HMAC-SHA256 KeyId=lk_x_é, Signature={}",
                B64.encode([7u8; 32])
            ),
            format!("LK-HMAC-SHA256 {}", "a=b,".repeat(300)),
        ] {
            assert_eq!(parse(&bad), Err(SignatureError::Malformed), "{bad}");
        }
    }
}
