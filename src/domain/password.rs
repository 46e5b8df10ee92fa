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
}

pub fn check_policy(password: &str) -> Result<(), PasswordPolicyError> {
    let chars = password.chars().count();
    if chars < MIN_CHARS {
        Err(PasswordPolicyError::TooShort)
    } else if chars > MAX_CHARS {
        Err(PasswordPolicyError::TooLong)
    } else {
        Ok(())
    }
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
    fn the_policy_bounds_length_in_characters() {
        assert_eq!(check_policy("short"), Err(PasswordPolicyError::TooShort));
        assert_eq!(check_policy(&"é".repeat(12)), Ok(()));
        assert_eq!(
            check_policy(&"a".repeat(129)),
            Err(PasswordPolicyError::TooLong)
        );
    }
}
