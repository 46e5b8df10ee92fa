//! Two-factor sign-in: the code asked for after the password (`sign_in`),
//! and Account › Two-factor, where it is set up and managed (`account`).

pub mod account;
pub mod sign_in;

use crate::db::two_factor;
use crate::domain::two_factor::{Presented, TotpSecret};
use crate::web::error::AppError;
use crate::web::state::AppState;

/// Where a user sets up two-factor, and where one the policy covers is sent
/// until they have.
pub const SETUP_PAGE: &str = "/account/two-factor";

/// Seals a TOTP secret for storage, bound to its user: a sealed secret copied
/// onto another user's row does not open.
pub fn seal(state: &AppState, user_id: &str, secret: &TotpSecret) -> Vec<u8> {
    state.secret_box.seal(secret.bytes(), &binding(user_id))
}

pub fn open(
    state: &AppState,
    user_id: &str,
    email: &str,
    sealed: &[u8],
) -> Result<TotpSecret, AppError> {
    let bytes = state
        .secret_box
        .open(sealed, &binding(user_id))
        .map_err(|_| AppError::Internal("a two-factor secret did not open".into()))?;
    TotpSecret::from_bytes(bytes, email).map_err(|e| AppError::Internal(e.to_string()))
}

fn binding(user_id: &str) -> Vec<u8> {
    format!("totp:{user_id}").into_bytes()
}

/// The stored form of a recovery code: a keyed hash (the server's pepper),
/// salted with the user's id.
pub fn recovery_hash(state: &AppState, user_id: &str, code: &str) -> String {
    hex::encode(state.hasher.hash(&format!("recovery:{user_id}:{code}")))
}

/// Fresh recovery codes: what to show once, and what to store.
pub fn new_recovery_codes(state: &AppState, user_id: &str) -> (Vec<String>, Vec<String>) {
    let codes = crate::domain::two_factor::new_recovery_codes();
    let hashes = codes
        .iter()
        .map(|c| recovery_hash(state, user_id, c))
        .collect();
    let shown = codes
        .iter()
        .map(|c| crate::domain::two_factor::display_recovery(c))
        .collect();
    (shown, hashes)
}

/// What a right answer was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Used {
    Code,
    RecoveryCode { left: i64 },
}

/// Checks what was typed against the user's two-factor, and uses it up: a
/// code's time step is accepted once (a replay is refused), a recovery code
/// works once. None if it is not right (or the user has no two-factor).
pub async fn check_and_use(
    state: &AppState,
    user_id: &str,
    email: &str,
    typed: &str,
    allow_recovery: bool,
) -> Result<Option<Used>, AppError> {
    match crate::domain::two_factor::read(typed) {
        Presented::Malformed => Ok(None),
        Presented::Recovery(_) if !allow_recovery => Ok(None),
        Presented::Code(code) => {
            let id = user_id.to_owned();
            let Some(sealed) = state
                .db(move |conn| Ok(two_factor::enrolment(conn, &id)?))
                .await?
                .and_then(|e| e.totp_secret)
            else {
                return Ok(None);
            };
            let secret = open(state, user_id, email, &sealed)?;
            let now = u64::try_from(state.clock.unix()).unwrap_or(0);
            let Some(step) = secret.matching_step(&code, now) else {
                return Ok(None);
            };
            let step = i64::try_from(step).unwrap_or(i64::MAX);
            let id = user_id.to_owned();
            let fresh = state
                .db(move |conn| Ok(two_factor::use_step(conn, &id, step)?))
                .await?;
            Ok(fresh.then_some(Used::Code))
        }
        Presented::Recovery(code) => {
            let hash = recovery_hash(state, user_id, &code);
            let id = user_id.to_owned();
            state
                .db(move |conn| {
                    if !two_factor::use_recovery_code(conn, &id, &hash)? {
                        return Ok(None);
                    }
                    let left = two_factor::recovery_codes_left(conn, &id)?;
                    Ok(Some(Used::RecoveryCode { left }))
                })
                .await
        }
    }
}
