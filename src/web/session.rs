//! A typed view of the session: which user is signed in, and the flash message.
//! Nothing secret about API keys is ever put here.

use std::collections::HashMap;

use actix_session::Session;
use actix_web::HttpRequest;
use actix_web::http::header;

use crate::db::sessions::Details;
use crate::domain::session_policy::Stamps;
use crate::web::error::AppError;
use crate::web::views::Flash;

const USER_ID: &str = "uid";
const FLASH: &str = "flash";
const CSRF: &str = "csrf";
const SIGNED_IN_AT: &str = "since";
const LAST_SEEN: &str = "seen";
const HANDLE: &str = "sid";
const CLIENT_IP: &str = "ip";
const USER_AGENT: &str = "ua";
const ENDED: &str = "ended";
const SECOND_STEP: &str = "second_step";

/// The longest browser description a session keeps, in characters.
const MAX_USER_AGENT: usize = 200;

fn session_error(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(format!("session: {e}"))
}

pub fn user_id(session: &Session) -> Option<String> {
    session.get::<String>(USER_ID).ok().flatten()
}

/// Starts a fresh session for the user: a new identifier (no fixation), a
/// new form token, and a new public handle, with the browser it came from.
pub fn sign_in(
    session: &Session,
    req: &HttpRequest,
    user_id: &str,
    now: i64,
) -> Result<(), AppError> {
    session.renew();
    session.remove(ENDED);
    session.remove(SECOND_STEP);
    session
        .insert(CSRF, crate::domain::token::random_token())
        .map_err(session_error)?;
    session
        .insert(HANDLE, crate::domain::token::random_token())
        .map_err(session_error)?;
    let user_agent: Option<String> = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.chars()
                .filter(|c| !c.is_control())
                .take(MAX_USER_AGENT)
                .collect()
        });
    match user_agent {
        Some(ua) => session.insert(USER_AGENT, ua).map_err(session_error)?,
        None => {
            session.remove(USER_AGENT);
        }
    }
    match crate::web::auth::client_ip(req) {
        Some(ip) => session.insert(CLIENT_IP, ip).map_err(session_error)?,
        None => {
            session.remove(CLIENT_IP);
        }
    }
    session.insert(SIGNED_IN_AT, now).map_err(session_error)?;
    session.insert(LAST_SEEN, now).map_err(session_error)?;
    session.insert(USER_ID, user_id).map_err(session_error)
}

/// A sign-in whose password was right and whose two-factor code is still to
/// come. The session is not signed in while it waits.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SecondStep {
    pub user_id: String,
    /// When the password was accepted (unix seconds, console clock).
    pub since: i64,
    /// The page to go to afterwards (already checked), or empty.
    pub next: String,
}

/// Remembers a sign-in waiting for its code, in a fresh session (a new
/// identifier: nothing from before the password carries over).
pub fn begin_second_step(session: &Session, step: &SecondStep) -> Result<(), AppError> {
    session.clear();
    session.renew();
    session.insert(SECOND_STEP, step).map_err(session_error)
}

pub fn second_step(session: &Session) -> Option<SecondStep> {
    session.get::<SecondStep>(SECOND_STEP).ok().flatten()
}

pub fn end_second_step(session: &Session) {
    session.remove(SECOND_STEP);
}

/// When the session signed in and was last used; None for a session without them.
pub fn stamps(session: &Session) -> Option<Stamps> {
    Some(Stamps {
        signed_in_at: session.get::<i64>(SIGNED_IN_AT).ok().flatten()?,
        last_seen: session.get::<i64>(LAST_SEEN).ok().flatten()?,
    })
}

/// The public handle of this session (None for sessions from before handles).
pub fn handle(session: &Session) -> Option<String> {
    session.get::<String>(HANDLE).ok().flatten()
}

/// What the store writes beside a session's state, read from the state
/// itself (values are JSON, as actix-session keeps them). A visitor's
/// session has none of it.
pub fn details(state: &HashMap<String, String>) -> Details {
    fn text(state: &HashMap<String, String>, key: &str) -> Option<String> {
        serde_json::from_str(state.get(key)?).ok()
    }
    fn time(state: &HashMap<String, String>, key: &str) -> Option<chrono::NaiveDateTime> {
        let unix: i64 = serde_json::from_str(state.get(key)?).ok()?;
        Some(chrono::DateTime::from_timestamp(unix, 0)?.naive_utc())
    }
    Details {
        handle: text(state, HANDLE),
        user_id: text(state, USER_ID),
        started_at: time(state, SIGNED_IN_AT),
        last_seen_at: time(state, LAST_SEEN),
        client_ip: text(state, CLIENT_IP),
        user_agent: text(state, USER_AGENT),
    }
}

/// The state the store gives a session that was ended from elsewhere.
pub fn ended_state(reason: &str) -> HashMap<String, String> {
    let reason = serde_json::to_string(reason).unwrap_or_default();
    HashMap::from([(ENDED.to_owned(), reason)])
}

/// Why this session was ended from elsewhere, if it was.
pub fn ended(session: &Session) -> Option<String> {
    session.get::<String>(ENDED).ok().flatten()
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
