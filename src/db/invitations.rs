//! Invitations: a one-time link (only its hash stored) that lets someone
//! choose a password and join with the role an Administrator picked.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::audit::{self, AuditEvent};
use crate::db::schema::{invitations, users};
use crate::db::users::NewUser;
use crate::db::{DbConn, write_transaction};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = invitations)]
pub struct Invitation {
    pub email: String,
    pub role: String,
    pub token_hash: String,
    pub invited_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

#[derive(Debug, thiserror::Error)]
pub enum InviteError {
    #[error("{0} already has an account")]
    UserExists(String),
    #[error(
        "there are already {MAX_OPEN} open invitations: wait for some to be accepted or to expire"
    )]
    TooMany,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// The most invitations open at once: the table stays small however many
/// are made (expired ones are removed as new ones are made).
pub const MAX_OPEN: i64 = 1_000;

/// Stores the invitation, replacing any earlier one for the same email (its
/// link stops working), and records `event`. Expired invitations are
/// removed first; past [`MAX_OPEN`] open ones, a new email is refused.
pub fn invite(
    conn: &mut DbConn,
    invitation: &Invitation,
    event: &AuditEvent,
) -> Result<(), InviteError> {
    write_transaction(conn, |conn| {
        crate::db::hold(conn, crate::db::Limit::Invitations)?;
        if crate::db::users::find_by_email(conn, &invitation.email)?.is_some() {
            return Err(InviteError::UserExists(invitation.email.clone()));
        }
        diesel::delete(invitations::table.find(&invitation.email)).execute(conn)?;
        diesel::delete(
            invitations::table.filter(invitations::expires_at.le(invitation.created_at)),
        )
        .execute(conn)?;
        let open = crate::db::count::count_up_to(
            conn,
            invitations::table.select(invitations::email),
            MAX_OPEN,
        )?;
        if !matches!(open, crate::db::count::Counted::Exactly(n) if n < MAX_OPEN) {
            return Err(InviteError::TooMany);
        }
        diesel::insert_into(invitations::table)
            .values(invitation)
            .execute(conn)?;
        audit::record(conn, event)?;
        Ok(())
    })
}

/// The invitation this link opens, if it is still good at `now`.
pub fn open(
    conn: &mut DbConn,
    token_hash: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<Invitation>> {
    invitations::table
        .filter(invitations::token_hash.eq(token_hash))
        .filter(invitations::expires_at.gt(now))
        .select(Invitation::as_select())
        .first(conn)
        .optional()
}

/// Open invitations, by email.
pub fn list(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<Vec<Invitation>> {
    invitations::table
        .filter(invitations::expires_at.gt(now))
        .order(invitations::email.asc())
        .select(Invitation::as_select())
        .load(conn)
}

/// Creates the invited user if the link is still good, closes it and records
/// `event` (its detail completed with the role). Returns the invitation used,
/// or None if the link was not good (expired, used, replaced or unknown).
pub fn accept(
    conn: &mut DbConn,
    token_hash: &str,
    now: NaiveDateTime,
    id: &str,
    password_hash: &str,
    event: &AuditEvent,
) -> QueryResult<Option<Invitation>> {
    write_transaction(conn, |conn| {
        let Some(invitation) = open(conn, token_hash, now)? else {
            return Ok(None);
        };
        // Claiming the link is the delete: of two racing accepts, the
        // second deletes nothing (PostgreSQL waits for the first to commit).
        let claimed = diesel::delete(
            invitations::table
                .find(&invitation.email)
                .filter(invitations::token_hash.eq(token_hash)),
        )
        .execute(conn)?;
        if claimed != 1 {
            return Ok(None);
        }
        let taken: i64 = users::table
            .filter(users::email.eq(&invitation.email))
            .count()
            .get_result(conn)?;
        if taken > 0 {
            return Ok(None);
        }
        crate::db::users::insert(
            conn,
            &NewUser {
                id,
                email: &invitation.email,
                password_hash,
                role: &invitation.role,
                disabled: false,
                created_at: now,
            },
        )?;
        audit::record(
            conn,
            &AuditEvent {
                actor_id: Some(id.to_owned()),
                actor_email: Some(invitation.email.clone()),
                ..event.clone()
            },
        )?;
        Ok(Some(invitation))
    })
}
