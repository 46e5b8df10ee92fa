//! The request log: each key's recent verification attempts, written in
//! batches by the background writer and pruned there, never on the
//! verification path. Per key at most the newest 100, none older than 7 days.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::request_log;
use crate::domain::request_log::{KEEP_DAYS, KEEP_PER_KEY, OutcomeFilter};
use crate::domain::verdict::Outcome;

/// Rows per insert statement (six values each, well under SQLite's limit).
const ROWS_PER_STATEMENT: usize = 1_000;

#[derive(Insertable)]
#[diesel(table_name = request_log)]
#[diesel(treat_none_as_default_value = false)]
pub struct NewLoggedRequest {
    pub key_id: String,
    pub at: NaiveDateTime,
    /// Tells apart attempts of one key in the same microsecond (random).
    pub seq: i64,
    pub outcome: &'static str,
    pub client_ip: Option<String>,
    pub reason: String,
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = request_log)]
pub struct LoggedRequest {
    pub at: NaiveDateTime,
    pub outcome: String,
    pub client_ip: Option<String>,
    pub reason: String,
}

/// Writes rows (inside the caller's transaction, if any).
pub fn insert(conn: &mut DbConn, rows: &[NewLoggedRequest]) -> QueryResult<usize> {
    let mut written = 0;
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        written += crate::on_backend!(&mut *conn, |c| diesel::insert_into(request_log::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(written)
}

/// Deletes one key's rows past its newest 100, and those older than 7 days
/// before `newest` (the key's latest attempt). Both read by the (key, time)
/// index; the rows past the newest 100 are at most one batch's worth.
pub fn prune(conn: &mut DbConn, key_id: &str, newest: NaiveDateTime) -> QueryResult<usize> {
    let beyond_kept: Vec<i64> = request_log::table
        .filter(request_log::key_id.eq(key_id))
        .order((request_log::at.desc(), request_log::seq.desc()))
        .offset(KEEP_PER_KEY as i64)
        .limit(i64::MAX)
        .select(request_log::seq)
        .load(conn)?;
    diesel::delete(
        request_log::table
            .filter(request_log::key_id.eq(key_id))
            .filter(
                request_log::at
                    .lt(newest - Duration::days(KEEP_DAYS))
                    .or(request_log::seq.eq_any(beyond_kept)),
            ),
    )
    .execute(conn)
}

/// Deletes every row older than 7 days before `now`, whatever its key: keys
/// that are no longer used keep nothing old.
pub fn sweep(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(request_log::table.filter(request_log::at.lt(now - Duration::days(KEEP_DAYS))))
        .execute(conn)
}

/// A key's attempts of the last 7 days before `now`, newest first, at most 100.
pub fn recent(
    conn: &mut DbConn,
    key_id: &str,
    now: NaiveDateTime,
    filter: OutcomeFilter,
) -> QueryResult<Vec<LoggedRequest>> {
    let mut query = request_log::table
        .filter(request_log::key_id.eq(key_id))
        .filter(request_log::at.ge(now - Duration::days(KEEP_DAYS)))
        .order((request_log::at.desc(), request_log::seq.desc()))
        .limit(KEEP_PER_KEY as i64)
        .select(LoggedRequest::as_select())
        .into_boxed();
    query = match filter {
        OutcomeFilter::All => query,
        OutcomeFilter::Refused => query.filter(request_log::outcome.ne(Outcome::Valid.code())),
        OutcomeFilter::Only(outcome) => query.filter(request_log::outcome.eq(outcome.code())),
    };
    query.load(conn)
}
