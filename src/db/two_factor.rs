//! Two-factor secrets (sealed by the caller), the last time step accepted,
//! and recovery codes (keyed hashes). Every check that must hold once and only
//! once (a code's step, a recovery code) is one conditional write, so two
//! requests racing with the same code, on one instance or several, cannot
//! both succeed.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{recovery_codes, users};

/// A user's two-factor columns.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct Enrolment {
    pub totp_secret: Option<Vec<u8>>,
    pub totp_pending: Option<Vec<u8>>,
    pub totp_enrolled_at: Option<NaiveDateTime>,
}

pub fn enrolment(conn: &mut DbConn, user_id: &str) -> QueryResult<Option<Enrolment>> {
    users::table
        .find(user_id)
        .select(Enrolment::as_select())
        .first(conn)
        .optional()
}

/// Keeps a secret being set up until its first code confirms it (replacing
/// one set up before and never confirmed).
pub fn set_pending(conn: &mut DbConn, user_id: &str, sealed: &[u8]) -> QueryResult<()> {
    diesel::update(users::table.find(user_id))
        .set(users::totp_pending.eq(sealed))
        .execute(conn)
        .map(drop)
}

/// Makes the pending secret the user's secret, if it is still `sealed` (not
/// replaced by a setup started elsewhere since), with `step` as the last step
/// used and `code_hashes` as the only recovery codes. False if the pending
/// secret changed. Call it inside a write transaction.
pub fn confirm(
    conn: &mut DbConn,
    user_id: &str,
    sealed: &[u8],
    step: i64,
    code_hashes: &[String],
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let updated = diesel::update(
        users::table
            .find(user_id)
            .filter(users::totp_pending.eq(sealed)),
    )
    .set((
        users::totp_secret.eq(sealed),
        users::totp_pending.eq(None::<Vec<u8>>),
        users::totp_enrolled_at.eq(now),
        users::totp_last_step.eq(step),
    ))
    .execute(conn)?;
    if updated == 0 {
        return Ok(false);
    }
    replace_recovery_codes(conn, user_id, code_hashes)?;
    Ok(true)
}

/// Accepts a code's time step once: only a step later than the last one
/// accepted. False for a replay (or a user without two-factor).
pub fn use_step(conn: &mut DbConn, user_id: &str, step: i64) -> QueryResult<bool> {
    diesel::update(
        users::table
            .find(user_id)
            .filter(users::totp_secret.is_not_null())
            .filter(
                users::totp_last_step
                    .is_null()
                    .or(users::totp_last_step.lt(step)),
            ),
    )
    .set(users::totp_last_step.eq(step))
    .execute(conn)
    .map(|n| n == 1)
}

/// Uses up a recovery code: true once, false ever after.
pub fn use_recovery_code(conn: &mut DbConn, user_id: &str, code_hash: &str) -> QueryResult<bool> {
    diesel::delete(
        recovery_codes::table
            .filter(recovery_codes::user_id.eq(user_id))
            .filter(recovery_codes::code_hash.eq(code_hash)),
    )
    .execute(conn)
    .map(|n| n == 1)
}

pub fn recovery_codes_left(conn: &mut DbConn, user_id: &str) -> QueryResult<i64> {
    recovery_codes::table
        .filter(recovery_codes::user_id.eq(user_id))
        .count()
        .get_result(conn)
}

/// Replaces every recovery code of the user with these. Call it inside a
/// write transaction.
pub fn replace_recovery_codes(
    conn: &mut DbConn,
    user_id: &str,
    code_hashes: &[String],
) -> QueryResult<()> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id)))
        .execute(conn)?;
    if code_hashes.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = code_hashes
        .iter()
        .map(|hash| {
            (
                recovery_codes::user_id.eq(user_id),
                recovery_codes::code_hash.eq(hash),
            )
        })
        .collect();
    crate::on_backend!(conn, |c| diesel::insert_into(recovery_codes::table)
        .values(&rows)
        .execute(c))
    .map(drop)
}

/// Takes two-factor off the user: secret, pending secret and recovery codes.
/// True if it was on. Call it inside a write transaction.
pub fn remove(conn: &mut DbConn, user_id: &str) -> QueryResult<bool> {
    let was_on = users::table
        .find(user_id)
        .select(users::totp_enrolled_at.is_not_null())
        .first::<bool>(conn)
        .optional()?
        .unwrap_or(false);
    diesel::update(users::table.find(user_id))
        .set((
            users::totp_secret.eq(None::<Vec<u8>>),
            users::totp_pending.eq(None::<Vec<u8>>),
            users::totp_enrolled_at.eq(None::<NaiveDateTime>),
            users::totp_last_step.eq(None::<i64>),
        ))
        .execute(conn)?;
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id)))
        .execute(conn)?;
    Ok(was_on)
}
