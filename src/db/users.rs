use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::audit::{self, AuditEvent, action};
use crate::db::schema::users;
use crate::db::{DbConn, write_transaction};
use crate::domain::role::Role;
use crate::domain::user_access::{self, AccessChange, LastAdministrator, Standing};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub password_hash: String,
    pub role: String,
    pub disabled: bool,
    pub created_at: NaiveDateTime,
    pub last_sign_in_at: Option<NaiveDateTime>,
    /// When two-factor sign-in was set up; None while it is off.
    pub totp_enrolled_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub id: &'a str,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub role: &'a str,
    pub disabled: bool,
    pub created_at: NaiveDateTime,
}

pub fn count(conn: &mut crate::db::DbConn) -> QueryResult<i64> {
    users::table.count().get_result(conn)
}

pub fn insert(conn: &mut crate::db::DbConn, user: &NewUser<'_>) -> QueryResult<()> {
    diesel::insert_into(users::table)
        .values(user)
        .execute(conn)
        .map(drop)
}

pub fn find_by_email(conn: &mut crate::db::DbConn, email: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::email.eq(email))
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

pub fn find(conn: &mut crate::db::DbConn, id: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

pub fn list(conn: &mut crate::db::DbConn) -> QueryResult<Vec<UserRow>> {
    users::table
        .order(users::email.asc())
        .select(UserRow::as_select())
        .load(conn)
}

/// How many live keys each of these users created, by user id: each counted
/// through the creator index and no further than `cap`, so the Users page
/// costs the same at 1,000,000 keys.
pub fn keys_created(
    conn: &mut DbConn,
    user_ids: &[String],
    cap: i64,
) -> QueryResult<std::collections::HashMap<String, crate::db::count::Counted>> {
    use crate::db::schema::api_keys;
    user_ids
        .iter()
        .map(|id| {
            let created = api_keys::table
                .filter(api_keys::deleted_at.is_null())
                .filter(api_keys::created_by.eq(id.clone()))
                .select(api_keys::id);
            Ok((
                id.clone(),
                crate::db::count::count_up_to(conn, created, cap)?,
            ))
        })
        .collect()
}

pub fn record_sign_in(conn: &mut DbConn, id: &str, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set(users::last_sign_in_at.eq(at))
        .execute(conn)
        .map(drop)
}

pub fn set_password(
    conn: &mut crate::db::DbConn,
    id: &str,
    password_hash: &str,
) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set(users::password_hash.eq(password_hash))
        .execute(conn)
        .map(drop)
}

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("there is no user with the email {0}")]
    NoSuchUser(String),
    #[error("{0}")]
    LastAdministrator(#[from] LastAdministrator),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// Applies `change` to the user with `email` and records it (with what it was
/// and what it became) as done by `actor`, in one write transaction. Every
/// such change first locks the active Administrators (SQLite: the
/// transaction's write lock; PostgreSQL: their rows), so two changes made at
/// the same moment, from any instance, are decided one after the other and
/// the last active Administrator always remains. Returns the audit detail.
pub fn change_access(
    conn: &mut DbConn,
    email: &str,
    change: AccessChange,
    actor: &AuditEvent,
) -> Result<String, AccessError> {
    write_transaction(conn, |conn| {
        let admins = lock_active_administrators(conn)?;
        let user =
            find_by_email(conn, email)?.ok_or_else(|| AccessError::NoSuchUser(email.to_owned()))?;
        let role = user.role.parse::<Role>().unwrap_or(Role::Viewer);
        user_access::check(
            admins,
            Standing {
                role,
                disabled: user.disabled,
            },
            change,
        )?;
        let target = users::table.find(&user.id);
        let detail = match change {
            AccessChange::SetRole(new) => {
                diesel::update(target)
                    .set(users::role.eq(new.as_str()))
                    .execute(conn)?;
                format!(
                    "{email}: role changed from {} to {}",
                    role.label(),
                    new.label()
                )
            }
            AccessChange::Disable | AccessChange::Enable => {
                let disabled = change == AccessChange::Disable;
                diesel::update(target)
                    .set(users::disabled.eq(disabled))
                    .execute(conn)?;
                if disabled {
                    // Signed out everywhere at once, not at their next request.
                    crate::db::sessions::end_for_user(conn, &user.id, None)?;
                }
                let word = |d: bool| if d { "disabled" } else { "active" };
                format!("{email}: {} → {}", word(user.disabled), word(disabled))
            }
            AccessChange::Delete => {
                crate::db::sessions::end_for_user(conn, &user.id, None)?;
                crate::db::two_factor::remove(conn, &user.id)?;
                diesel::delete(target).execute(conn)?;
                format!("{email}: deleted (was {})", role.label())
            }
        };
        let action = match change {
            AccessChange::SetRole(_) => action::ROLE_CHANGED,
            AccessChange::Disable => action::USER_DISABLED,
            AccessChange::Enable => action::USER_ENABLED,
            AccessChange::Delete => action::USER_DELETED,
        };
        audit::record(
            conn,
            &AuditEvent {
                action,
                detail: detail.clone(),
                ..actor.clone()
            },
        )?;
        Ok(detail)
    })
}

/// What an Administrator (or the command line) resets of another user's
/// sign-in, without changing their access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInReset {
    /// Two-factor off (secret and recovery codes gone) and every session
    /// ended: they sign in with their password and, if the policy covers
    /// them, set two-factor up again.
    TwoFactor,
    /// Every session ended.
    Sessions,
}

/// Applies `reset` to the user with `email` and records it as done by
/// `actor`, in one transaction. Returns the audit detail.
pub fn reset_sign_in(
    conn: &mut DbConn,
    email: &str,
    reset: SignInReset,
    actor: &AuditEvent,
) -> Result<String, AccessError> {
    write_transaction(conn, |conn| {
        let user =
            find_by_email(conn, email)?.ok_or_else(|| AccessError::NoSuchUser(email.to_owned()))?;
        let (action, detail) = match reset {
            SignInReset::TwoFactor => {
                let was_on = crate::db::two_factor::remove(conn, &user.id)?;
                let ended = crate::db::sessions::end_for_user(conn, &user.id, None)?;
                let what = if was_on {
                    "two-factor reset"
                } else {
                    "two-factor was not on"
                };
                (
                    action::TWO_FACTOR_RESET,
                    format!("{email}: {what}; {} ended", sessions_phrase(ended)),
                )
            }
            SignInReset::Sessions => {
                let ended = crate::db::sessions::end_for_user(conn, &user.id, None)?;
                (
                    action::USER_SESSIONS_ENDED,
                    format!("{email}: {} ended", sessions_phrase(ended)),
                )
            }
        };
        audit::record(
            conn,
            &AuditEvent {
                action,
                detail: detail.clone(),
                ..actor.clone()
            },
        )?;
        Ok(detail)
    })
}

fn sessions_phrase(n: usize) -> String {
    match n {
        1 => "1 session".to_owned(),
        n => format!("{n} sessions"),
    }
}

/// Counts the active Administrators, holding them until the transaction ends.
fn lock_active_administrators(conn: &mut DbConn) -> QueryResult<usize> {
    let active = users::table
        .filter(users::role.eq(Role::Administrator.as_str()))
        .filter(users::disabled.eq(false))
        .select(users::id);
    let ids: Vec<String> = match conn {
        DbConn::Postgres(c) => active.for_update().load(c)?,
        // BEGIN IMMEDIATE already holds the whole database.
        DbConn::Sqlite(c) => active.load(c)?,
    };
    Ok(ids.len())
}

pub fn email_taken(err: &diesel::result::Error) -> bool {
    matches!(
        err,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}
