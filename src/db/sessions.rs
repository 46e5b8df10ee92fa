//! Server-side session state, so logging out ends a session for good and
//! every instance sharing the database sees the same sessions.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::sessions;

pub fn load(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> QueryResult<Option<String>> {
    sessions::table
        .filter(sessions::id.eq(id))
        .filter(sessions::expires_at.gt(now))
        .select(sessions::state)
        .first(conn)
        .optional()
}

/// Inserts a new session; expired rows are swept at the same time.
pub fn insert(
    conn: &mut DbConn,
    id: &str,
    state: &str,
    expires_at: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::delete(sessions::table.filter(sessions::expires_at.le(now))).execute(conn)?;
    diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(id),
            sessions::state.eq(state),
            sessions::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .map(drop)
}

/// Rewrites a live session. Returns false if it has ended meanwhile (logout
/// elsewhere); it is then not brought back.
pub fn update(
    conn: &mut DbConn,
    id: &str,
    state: &str,
    expires_at: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let updated = diesel::update(
        sessions::table
            .filter(sessions::id.eq(id))
            .filter(sessions::expires_at.gt(now)),
    )
    .set((
        sessions::state.eq(state),
        sessions::expires_at.eq(expires_at),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

pub fn touch(conn: &mut DbConn, id: &str, expires_at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(sessions::table.find(id))
        .set(sessions::expires_at.eq(expires_at))
        .execute(conn)
        .map(drop)
}

pub fn delete(conn: &mut DbConn, id: &str) -> QueryResult<()> {
    diesel::delete(sessions::table.find(id))
        .execute(conn)
        .map(drop)
}
