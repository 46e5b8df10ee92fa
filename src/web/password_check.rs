//! Checking a password someone typed (at sign-in or to change it), throttled
//! as `domain::throttle` describes: the attempt is reserved before the
//! password is looked at, refused attempts cost no hashing and take as long
//! as a check, and every failure and lock is audited.

use crate::db::audit::{self, AuditEvent, action};
use crate::db::{self, throttle};
use crate::domain::throttle::Reservation;
use crate::web::error::AppError;
pub use crate::web::password_workers::Place;
use crate::web::state::AppState;

/// Passwords longer than this are refused before hashing, so a huge body
/// cannot buy a long argon2 run.
pub const MAX_PASSWORD_BYTES: usize = 1024;

#[derive(Debug, PartialEq, Eq)]
pub enum Checked {
    Right,
    /// Wrong, or not checked because a lock holds: the same to the person asking.
    Wrong,
}

/// Who is trying, from where, and what to record if they fail.
pub struct Attempt {
    /// The normalised email typed (or the signed-in user's).
    pub account: String,
    pub client_ip: Option<String>,
    /// The user's id when it is known to be them (a signed-in user).
    pub actor_id: Option<String>,
    /// The audit action recorded for a wrong answer.
    pub failed_action: &'static str,
    /// A right answer completes the sign-in: the counters start afresh and
    /// the address becomes known to the account. False when a second step
    /// (the two-factor code) follows: the attempt is only taken back, so
    /// knowing the password alone earns nothing.
    pub completes: bool,
}

/// Checks `candidate` against `stored` (None: no such active account; a dummy
/// hash is checked instead). `place` comes from `state.passwords.admit()`,
/// which callers take before any database work (looking up the stored hash
/// included), so a burst is turned away at no cost past a bounded number of
/// sign-ins in progress. It is given back before any waiting: an attempt
/// refused by a lock, or held back by the slow-down, occupies nothing while
/// it waits.
pub async fn check(
    state: &AppState,
    place: Place,
    attempt: &Attempt,
    candidate: String,
    stored: Option<String>,
) -> Result<Checked, AppError> {
    let now = db::now();
    let reservation = reserve(state, attempt, now).await?;
    drop(place);
    let locks = match reservation {
        Reservation::Refused { delay, .. } => {
            // Counted in the row, summarised in the audit log when the lock ends.
            sleep(delay).await;
            state.passwords.pretend().await;
            return Ok(Checked::Wrong);
        }
        Reservation::Admitted { delay, locks } => {
            sleep(delay).await;
            locks
        }
    };
    let right = if candidate.len() > MAX_PASSWORD_BYTES {
        state.passwords.pretend().await;
        false
    } else {
        match state.passwords.verify(candidate, stored).await {
            Ok(right) => right,
            Err(busy @ AppError::Busy) => {
                let (account, address) = subjects(attempt);
                state
                    .db(move |conn| Ok(throttle::release(conn, &account, &address, now)?))
                    .await?;
                return Err(busy);
            }
            Err(e) => return Err(e),
        }
    };
    settle(state, attempt, right, locks).await
}

/// Checks a signed-in user's own password (to change it, or to turn
/// two-factor off), throttled and audited as `failed_action` like sign-in.
pub async fn check_own(
    state: &AppState,
    req: &actix_web::HttpRequest,
    user: &crate::web::auth::CurrentUser,
    candidate: String,
    failed_action: &'static str,
) -> Result<Checked, AppError> {
    let place = state.passwords.admit()?;
    let user_id = user.id.clone();
    let stored = state
        .db(move |conn| Ok(crate::db::users::find(conn, &user_id)?))
        .await?
        .map(|u| u.password_hash)
        .ok_or(AppError::LoginRequired)?;
    let attempt = Attempt {
        account: user.email.clone(),
        client_ip: crate::web::auth::client_ip(req),
        actor_id: Some(user.id.clone()),
        failed_action,
        completes: true,
    };
    check(state, place, &attempt, candidate, Some(stored)).await
}

/// A two-factor code (or recovery code) checked under the same counters as
/// passwords: reserved first, refused while a lock holds (without `verify`
/// running), slowed after repeated failures, and every failure audited.
/// `verify` checks the code and uses it up.
pub async fn check_code<F>(
    state: &AppState,
    attempt: &Attempt,
    verify: F,
) -> Result<Checked, AppError>
where
    F: std::future::Future<Output = Result<bool, AppError>>,
{
    let locks = match reserve(state, attempt, db::now()).await? {
        Reservation::Refused { delay, .. } => {
            sleep(delay).await;
            return Ok(Checked::Wrong);
        }
        Reservation::Admitted { delay, locks } => {
            sleep(delay).await;
            locks
        }
    };
    let right = verify.await?;
    settle(state, attempt, right, locks).await
}

/// The account and address an attempt is counted against.
fn subjects(attempt: &Attempt) -> (String, String) {
    let address = attempt
        .client_ip
        .clone()
        .unwrap_or_else(|| "unknown".into());
    (attempt.account.clone(), address)
}

async fn reserve(
    state: &AppState,
    attempt: &Attempt,
    now: chrono::NaiveDateTime,
) -> Result<Reservation, AppError> {
    let (account, address) = subjects(attempt);
    state
        .db(move |conn| Ok(throttle::reserve(conn, &account, &address, now)?))
        .await
}

/// Records how an admitted attempt ended: a right answer settles (or takes
/// back) its reservation; a wrong one is audited with any lock it set.
async fn settle(
    state: &AppState,
    attempt: &Attempt,
    right: bool,
    locks: Vec<crate::domain::throttle::Kind>,
) -> Result<Checked, AppError> {
    let (account, address) = subjects(attempt);
    if right {
        let completes = attempt.completes;
        state
            .db(move |conn| {
                let now = db::now();
                if completes {
                    throttle::succeeded(conn, &account, &address, now)?;
                } else {
                    throttle::release(conn, &account, &address, now)?;
                }
                Ok(())
            })
            .await?;
        return Ok(Checked::Right);
    }
    let event = |action, detail| AuditEvent {
        actor_id: attempt.actor_id.clone(),
        actor_email: Some(attempt.account.clone()),
        action,
        client_ip: attempt.client_ip.clone(),
        detail,
        ..AuditEvent::default()
    };
    let mut events = vec![event(attempt.failed_action, String::new())];
    events.extend(
        locks
            .into_iter()
            .map(|kind| event(action::LOCKOUT, kind.lock_message())),
    );
    state
        .db(move |conn| {
            db::write_transaction(conn, |conn| {
                events.iter().try_for_each(|e| audit::record(conn, e))
            })?;
            Ok(())
        })
        .await?;
    Ok(Checked::Wrong)
}

async fn sleep(delay: chrono::Duration) {
    if let Ok(delay) = delay.to_std()
        && !delay.is_zero()
    {
        actix_web::rt::time::sleep(delay).await;
    }
}
