//! Console passwords: argon2id with the crate's defaults, which are OWASP's
//! recommendation (19 MiB, 2 passes, 1 lane). Hashing takes tens of
//! milliseconds, so callers run it off the async workers.

use std::sync::LazyLock;

use argon2::{Argon2, PasswordHasher, PasswordVerifier};

pub const MIN_CHARS: usize = 12;
pub const MAX_CHARS: usize = 128;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum PasswordPolicyError {
    #[error("The password must be at least {MIN_CHARS} characters long.")]
    TooShort,
    #[error("The password can be at most {MAX_CHARS} characters long.")]
    TooLong,
    #[error(
        "That password is too common or too easy to guess. Choose another; a few unrelated words work well."
    )]
    Common,
}

/// Passwords of allowed length that appear in public breach lists, or close
/// variants of them. Compared ignoring case, spaces and punctuation.
const COMMON: &[&str] = &[
    "password1234",
    "password12345",
    "password123456",
    "passwordpassword",
    "password1password",
    "123456789012",
    "1234567890123",
    "12345678901234",
    "123456123456",
    "123123123123",
    "111111111111",
    "000000000000",
    "qwertyuiop12",
    "qwertyuiopasdf",
    "qwertyuiopasdfgh",
    "qwerty123456",
    "qwertyqwerty",
    "1qaz2wsx3edc",
    "1q2w3e4r5t6y",
    "zaq12wsxcde3",
    "iloveyou1234",
    "iloveyouiloveyou",
    "abcdefghijkl",
    "abcdefghijklm",
    "abc123abc123",
    "welcome12345",
    "welcome123456",
    "letmein12345",
    "letmeinletmein",
    "administrator",
    "administrator1",
    "admin1234567",
    "adminadmin123",
    "changeme1234",
    "changemechangeme",
    "monkey123456",
    "dragon123456",
    "football1234",
    "baseball1234",
    "sunshine1234",
    "princess1234",
    "superman1234",
    "trustno1trustno1",
    "correcthorsebatterystaple",
    "passw0rd1234",
    "p4ssw0rd1234",
    "latchkey1234",
    "latchkeylatchkey",
    "apikeyapikey",
    "secretsecret",
];

pub fn check_policy(password: &str) -> Result<(), PasswordPolicyError> {
    let chars = password.chars().count();
    if chars < MIN_CHARS {
        return Err(PasswordPolicyError::TooShort);
    }
    if chars > MAX_CHARS {
        return Err(PasswordPolicyError::TooLong);
    }
    let folded: String = password
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    let one_repeated_character = folded.chars().all(|c| folded.starts_with(c));
    if one_repeated_character || COMMON.contains(&folded.as_str()) {
        return Err(PasswordPolicyError::Common);
    }
    Ok(())
}

pub fn hash(password: &str) -> String {
    Argon2::default()
        .hash_password(password.as_bytes())
        .expect("argon2 hashing with default parameters cannot fail")
        .to_string()
}

/// Verifies against a stored PHC string. With no stored hash (unknown user), a
/// dummy hash is checked anyway so the response time does not tell.
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    let candidate = stored.unwrap_or(&DUMMY_HASH);
    let ok = Argon2::default()
        .verify_password(password.as_bytes(), candidate)
        .is_ok();
    ok && stored.is_some()
}

/// The hash of a random password nobody knows, with the same parameters as real ones.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| hash(&crate::domain::token::random_token()));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let stored = hash("correct horse battery staple");
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("correct horse battery staple", Some(&stored)));
        assert!(!verify("correct horse battery stapler", Some(&stored)));
    }

    #[test]
    fn an_unknown_user_never_verifies() {
        assert!(!verify("anything at all", None));
    }

    #[test]
    fn the_dummy_hash_has_the_same_parameters_as_real_ones() {
        assert_eq!(DUMMY_HASH[..31], hash("x")[..31]);
    }

    #[test]
    fn common_and_trivial_passwords_are_refused() {
        for common in [
            "Password1234",
            "qwerty123456",
            "correct horse battery staple!",
            "aaaaaaaaaaaaaa",
            "Letmein12345",
        ] {
            assert_eq!(
                check_policy(common),
                Err(PasswordPolicyError::Common),
                "{common}"
            );
        }
        assert_eq!(check_policy("a long passphrase of my own"), Ok(()));
    }

    #[test]
    fn the_policy_bounds_length_in_characters() {
        assert_eq!(check_policy("short"), Err(PasswordPolicyError::TooShort));
        assert_eq!(check_policy("éàüöçñßøåæœı"), Ok(()));
        assert_eq!(
            check_policy(&"a".repeat(129)),
            Err(PasswordPolicyError::TooLong)
        );
    }
}
