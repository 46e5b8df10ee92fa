//! Two-factor sign-in: time-based one-time codes (TOTP, RFC 6238: HMAC-SHA-1,
//! six digits, 30-second steps, one step of clock skew either way) and
//! one-time recovery codes, and the policy saying whom it is required of.
//!
//! Refusing a code used before (RFC 6238 §5.2) is the caller's part: a code
//! is accepted only for a step later than the last one accepted, which the
//! database decides in one conditional update (`db::two_factor::use_step`).

use std::str::FromStr;

use totp_rs::{Builder, Secret, Totp};

use crate::domain::role::Role;

/// Seconds in one time step.
pub const STEP_SECONDS: u64 = 30;
/// 160-bit secrets, as RFC 4226 §4 recommends.
pub const SECRET_BYTES: usize = 20;
/// Recovery codes made at enrolment, each good once.
pub const RECOVERY_CODES: usize = 10;
/// The name authenticator apps show beside the account.
pub const ISSUER: &str = "Latchkey";
/// Recovery codes are 16 characters of this alphabet (80 bits), shown in
/// groups of four. No 0/1/i/l/o, which are misread.
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
const RECOVERY_LENGTH: usize = 16;

/// Whom two-factor sign-in is required of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    Administrators,
    Everyone,
    Nobody,
}

impl Policy {
    pub fn covers(self, role: Role) -> bool {
        match self {
            Policy::Administrators => role == Role::Administrator,
            Policy::Everyone => true,
            Policy::Nobody => false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("two-factor policy must be administrators, everyone or nobody, not {0:?}")]
pub struct UnknownPolicy(String);

impl FromStr for Policy {
    type Err = UnknownPolicy;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "administrators" => Ok(Policy::Administrators),
            "everyone" => Ok(Policy::Everyone),
            "nobody" => Ok(Policy::Nobody),
            _ => Err(UnknownPolicy(s.to_owned())),
        }
    }
}

/// A user's TOTP secret.
pub struct TotpSecret(Totp);

#[derive(Debug, thiserror::Error)]
#[error("a stored two-factor secret is not usable")]
pub struct BadSecret;

impl TotpSecret {
    /// A new random secret for `account` (the user's email).
    pub fn generate(account: &str) -> TotpSecret {
        let bytes = crate::domain::token::random_bytes::<SECRET_BYTES>().to_vec();
        Self::from_bytes(bytes, account).expect("a fresh 160-bit secret is valid")
    }

    /// A stored secret (after unsealing) for `account`.
    pub fn from_bytes(bytes: Vec<u8>, account: &str) -> Result<TotpSecret, BadSecret> {
        // A colon separates issuer and account in the otpauth label; emails
        // never hold one, but a stored secret must not become unusable.
        let account = account.replace(':', "");
        Builder::new()
            .with_secret(Secret::from(bytes))
            .with_step_duration(STEP_SECONDS)
            .with_skew(1)
            .with_issuer(Some(ISSUER))
            .with_account_name(account)
            .build()
            .map(TotpSecret)
            .map_err(|_| BadSecret)
    }

    pub fn bytes(&self) -> &[u8] {
        self.0.secret().as_ref()
    }

    /// The secret as people type it into an authenticator app: base32 in
    /// groups of four.
    pub fn text(&self) -> String {
        let plain = self.0.secret().to_base32();
        plain
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The otpauth:// address the QR code carries.
    pub fn uri(&self) -> String {
        self.0.to_url().unwrap_or_default()
    }

    /// The code for the step holding `unix` seconds.
    pub fn code_at(&self, unix: u64) -> String {
        self.0.generate(unix).to_string()
    }

    /// The time step a code matches at `unix` seconds (the current step or
    /// one either side), if any.
    pub fn matching_step(&self, code: &str, unix: u64) -> Option<u64> {
        self.0.check(code, unix)
    }
}

/// What someone typed into the code field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presented {
    /// Six digits (spaces allowed, as apps show them "123 456").
    Code(String),
    /// A recovery code, in the canonical form that is hashed.
    Recovery(String),
    /// Neither: refused without looking anything up.
    Malformed,
}

pub fn read(input: &str) -> Presented {
    let compact: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if compact.len() == 6 && compact.bytes().all(|b| b.is_ascii_digit()) {
        return Presented::Code(compact);
    }
    let lower = compact.to_ascii_lowercase();
    if lower.len() == RECOVERY_LENGTH && lower.bytes().all(|b| RECOVERY_ALPHABET.contains(&b)) {
        return Presented::Recovery(lower);
    }
    Presented::Malformed
}

/// A recovery code as shown once: four groups of four.
pub fn display_recovery(code: &str) -> String {
    code.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// A fresh set of recovery codes, canonical (hash these; show them with
/// `display_recovery`).
pub fn new_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES).map(|_| recovery_code()).collect()
}

/// One recovery code: uniform over the alphabet (bytes past the largest
/// multiple of its length are drawn again).
fn recovery_code() -> String {
    let n = RECOVERY_ALPHABET.len();
    let limit = (256 / n * n) as u8;
    let mut code = String::with_capacity(RECOVERY_LENGTH);
    while code.len() < RECOVERY_LENGTH {
        for byte in crate::domain::token::random_bytes::<32>() {
            if byte < limit && code.len() < RECOVERY_LENGTH {
                code.push(RECOVERY_ALPHABET[byte as usize % n] as char);
            }
        }
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B's SHA-1 secret ("12345678901234567890").
    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(b"12345678901234567890".to_vec(), "test@example.com").unwrap()
    }

    /// RFC 6238 Appendix B, SHA-1, last six of the eight digits.
    #[test]
    fn codes_match_the_rfc_6238_test_vectors() {
        let secret = rfc_secret();
        for (unix, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
            (20_000_000_000, "353130"),
        ] {
            assert_eq!(secret.code_at(unix), code, "at {unix}");
        }
    }

    #[test]
    fn a_code_matches_its_step_and_one_either_side_only() {
        let secret = rfc_secret();
        // 1_111_111_109 is in step 37_037_036; its code is 081804.
        let code = "081804";
        for (unix, step) in [
            (1_111_111_109 - 30, Some(37_037_036)),
            (1_111_111_109, Some(37_037_036)),
            (1_111_111_109 + 30, Some(37_037_036)),
            (1_111_111_109 - 60, None),
            (1_111_111_109 + 60, None),
        ] {
            assert_eq!(secret.matching_step(code, unix), step, "at {unix}");
        }
        assert_eq!(secret.matching_step("081805", 1_111_111_109), None);
        assert_eq!(secret.matching_step("81804", 1_111_111_109), None);
    }

    #[test]
    fn the_secret_is_shown_in_base32_groups_and_carried_by_an_otpauth_address() {
        let secret = rfc_secret();
        assert_eq!(secret.text(), "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ");
        assert_eq!(
            secret.uri(),
            "otpauth://totp/Latchkey:test%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Latchkey"
        );
    }

    #[test]
    fn a_new_secret_has_160_bits_and_differs_each_time() {
        let (a, b) = (
            TotpSecret::generate("a@example.com"),
            TotpSecret::generate("a@example.com"),
        );
        assert_eq!(a.bytes().len(), 20);
        assert_ne!(a.bytes(), b.bytes());
    }

    #[test]
    fn what_was_typed_is_read_as_a_code_a_recovery_code_or_nothing() {
        for (typed, read_as) in [
            ("123456", Presented::Code("123456".into())),
            (" 123 456 ", Presented::Code("123456".into())),
            ("12345", Presented::Malformed),
            ("1234567", Presented::Malformed),
            ("12345a", Presented::Malformed),
            (
                "abcd-efgh-jkmn-pqrs",
                Presented::Recovery("abcdefghjkmnpqrs".into()),
            ),
            (
                "ABCD EFGH JKMN PQRS",
                Presented::Recovery("abcdefghjkmnpqrs".into()),
            ),
            ("abcd-efgh-jkmn-pqr", Presented::Malformed),
            ("abcd-efgh-jkmn-pqr0", Presented::Malformed),
            ("", Presented::Malformed),
        ] {
            assert_eq!(read(typed), read_as, "{typed:?}");
        }
    }

    #[test]
    fn recovery_codes_are_ten_distinct_codes_that_read_back_as_recovery_codes() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        let distinct: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(distinct.len(), 10);
        for code in &codes {
            let shown = display_recovery(code);
            assert_eq!(shown.len(), 19);
            assert_eq!(read(&shown), Presented::Recovery(code.clone()));
        }
    }

    /// 32,000 characters: each of the 31 should appear about 1,032 times
    /// (a standard deviation of about 32). A draw favouring some characters
    /// (such as keeping bytes below 39 rather than 248) puts them far outside.
    #[test]
    fn recovery_codes_draw_every_character_alike() {
        let mut counts = std::collections::HashMap::new();
        for _ in 0..200 {
            for code in new_recovery_codes() {
                for c in code.chars() {
                    *counts.entry(c).or_insert(0u32) += 1;
                }
            }
        }
        assert_eq!(counts.len(), 31);
        for (c, n) in counts {
            assert!((800..=1270).contains(&n), "{c}: {n}");
        }
    }

    #[test]
    fn the_policy_covers_roles_as_written() {
        use Role::*;
        for (policy, role, covered) in [
            ("administrators", Administrator, true),
            ("administrators", Support, false),
            ("administrators", Viewer, false),
            ("everyone", Administrator, true),
            ("everyone", Support, true),
            ("everyone", Viewer, true),
            ("nobody", Administrator, false),
            ("nobody", Viewer, false),
        ] {
            let policy: Policy = policy.parse().unwrap();
            assert_eq!(policy.covers(role), covered, "{policy:?} {role:?}");
        }
        assert!("admins".parse::<Policy>().is_err());
    }
}
