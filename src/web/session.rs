//! A typed view of the session: which user is signed in, and the flash message.
//! Nothing secret about API keys is ever put here.

use actix_session::Session;

use crate::domain::session_policy::Stamps;
use crate::web::error::AppError;
use crate::web::views::Flash;

const USER_ID: &str = "uid";
const FLASH: &str = "flash";
const CSRF: &str = "csrf";
const SIGNED_IN_AT: &str = "since";
const LAST_SEEN: &str = "seen";

fn session_error(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(format!("session: {e}"))
}

pub fn user_id(session: &Session) -> Option<String> {
    session.get::<String>(USER_ID).ok().flatten()
}

/// Starts a fresh session for the user: a new identifier (no fixation) and a
/// new form token.
pub fn sign_in(session: &Session, user_id: &str, now: i64) -> Result<(), AppError> {
    session.renew();
    session
        .insert(CSRF, crate::domain::token::random_token())
        .map_err(session_error)?;
    session.insert(SIGNED_IN_AT, now).map_err(session_error)?;
    session.insert(LAST_SEEN, now).map_err(session_error)?;
    session.insert(USER_ID, user_id).map_err(session_error)
}

/// When the session signed in and was last used; None for a session without them.
pub fn stamps(session: &Session) -> Option<Stamps> {
    Some(Stamps {
        signed_in_at: session.get::<i64>(SIGNED_IN_AT).ok().flatten()?,
        last_seen: session.get::<i64>(LAST_SEEN).ok().flatten()?,
    })
}

pub fn touch(session: &Session, now: i64) -> Result<(), AppError> {
    session.insert(LAST_SEEN, now).map_err(session_error)
}

/// The session's form token; only a signed-in session has one (made at
/// sign-in). Visitors' forms are covered by `auth`'s cookie-bound token, so
/// an anonymous visit never writes a session.
pub fn form_token(session: &Session) -> Option<String> {
    session.get::<String>(CSRF).ok().flatten()
}

pub fn sign_out(session: &Session) {
    session.purge();
}

pub fn set_flash(session: &Session, flash: Flash) -> Result<(), AppError> {
    session.insert(FLASH, flash).map_err(session_error)
}

pub fn take_flash(session: &Session) -> Option<Flash> {
    let flash = session.get::<Flash>(FLASH).ok().flatten();
    if flash.is_some() {
        session.remove(FLASH);
    }
    flash
}
