//! Server-side session state, so logging out ends a session for good and
//! every instance sharing the database sees the same sessions.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::sessions;

/// What a session says about itself, written beside its state so a person
/// can see and end their sessions. All empty for a visitor's session.
#[derive(Debug, Clone, Default, AsChangeset, Insertable)]
#[diesel(table_name = sessions, treat_none_as_null = true)]
pub struct Details {
    /// A public name for the session (not its cookie, nor the cookie's hash).
    pub handle: Option<String>,
    pub user_id: Option<String>,
    pub started_at: Option<NaiveDateTime>,
    pub last_seen_at: Option<NaiveDateTime>,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
}

/// A session as the store writes it.
pub struct Saved {
    pub state: String,
    pub details: Details,
    pub expires_at: NaiveDateTime,
}

/// One of a user's live sessions, as Account › Sessions lists it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    pub handle: Option<String>,
    pub started_at: Option<NaiveDateTime>,
    pub last_seen_at: Option<NaiveDateTime>,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
}

/// Why a session ended from elsewhere is, as `ended` records it.
pub const ENDED_ELSEWHERE: &str = "elsewhere";

/// A live session's state, and why it ended if it was ended from elsewhere.
pub fn load(
    conn: &mut DbConn,
    id: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<(String, Option<String>)>> {
    sessions::table
        .filter(sessions::id.eq(id))
        .filter(sessions::expires_at.gt(now))
        .select((sessions::state, sessions::ended))
        .first(conn)
        .optional()
}

/// Inserts a new session; expired rows are swept at the same time.
pub fn insert(conn: &mut DbConn, id: &str, saved: &Saved, now: NaiveDateTime) -> QueryResult<()> {
    diesel::delete(sessions::table.filter(sessions::expires_at.le(now))).execute(conn)?;
    diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(id),
            sessions::state.eq(&saved.state),
            sessions::expires_at.eq(saved.expires_at),
            &saved.details,
        ))
        .execute(conn)
        .map(drop)
}

/// Rewrites a live session. Returns false if it has ended meanwhile (logout
/// elsewhere); it is then not brought back.
pub fn update(conn: &mut DbConn, id: &str, saved: &Saved, now: NaiveDateTime) -> QueryResult<bool> {
    let updated = diesel::update(
        sessions::table
            .filter(sessions::id.eq(id))
            .filter(sessions::expires_at.gt(now))
            .filter(sessions::ended.is_null()),
    )
    .set((
        sessions::state.eq(&saved.state),
        sessions::expires_at.eq(saved.expires_at),
        &saved.details,
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

pub fn touch(conn: &mut DbConn, id: &str, expires_at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(sessions::table.find(id).filter(sessions::ended.is_null()))
        .set(sessions::expires_at.eq(expires_at))
        .execute(conn)
        .map(drop)
}

pub fn delete(conn: &mut DbConn, id: &str) -> QueryResult<()> {
    diesel::delete(sessions::table.find(id))
        .execute(conn)
        .map(drop)
}

/// The user's live sessions, the most recently used first.
pub fn for_user(conn: &mut DbConn, user_id: &str) -> QueryResult<Vec<SessionRow>> {
    sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::expires_at.gt(crate::db::now()))
        .filter(sessions::ended.is_null())
        .order((sessions::last_seen_at.desc(), sessions::id))
        .select(SessionRow::as_select())
        .load(conn)
}

/// Ends one of the user's sessions, named by its handle. Returns whether it
/// was still there. Its browser is signed out on its next request, on any
/// instance, and told why; nothing of the session's state is kept.
pub fn end_one(conn: &mut DbConn, user_id: &str, handle: &str) -> QueryResult<bool> {
    let ended = diesel::update(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::ended.is_null())
            .filter(sessions::handle.eq(handle)),
    )
    .set(ending())
    .execute(conn)?;
    Ok(ended > 0)
}

/// Ends all of the user's sessions, except the one with handle `except`
/// (the asker's own, when they stay signed in). Returns how many ended.
pub fn end_for_user(conn: &mut DbConn, user_id: &str, except: Option<&str>) -> QueryResult<usize> {
    let mine = sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::ended.is_null());
    match except {
        Some(handle) => {
            diesel::update(mine.filter(sessions::handle.ne(handle).or(sessions::handle.is_null())))
                .set(ending())
                .execute(conn)
        }
        None => diesel::update(mine).set(ending()).execute(conn),
    }
}

/// What ending a session writes: the reason, and an empty state.
fn ending() -> (
    diesel::dsl::Eq<sessions::ended, &'static str>,
    diesel::dsl::Eq<sessions::state, &'static str>,
) {
    (
        sessions::ended.eq(ENDED_ELSEWHERE),
        sessions::state.eq("{}"),
    )
}
