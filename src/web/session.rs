//! A typed view of the session: which user is signed in, and the flash message.
//! Nothing secret about API keys is ever put here.

use actix_session::Session;

use crate::web::error::AppError;
use crate::web::views::Flash;

const USER_ID: &str = "uid";
const FLASH: &str = "flash";

fn session_error(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(format!("session: {e}"))
}

pub fn user_id(session: &Session) -> Option<String> {
    session.get::<String>(USER_ID).ok().flatten()
}

/// Starts a fresh session for the user (a new identifier, so no fixation).
pub fn sign_in(session: &Session, user_id: &str) -> Result<(), AppError> {
    session.renew();
    session.insert(USER_ID, user_id).map_err(session_error)
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
