//! Failed sign-in counts, shared by every instance.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::login_throttle;
use crate::db::{DbConn, write_transaction};
use crate::domain::throttle::{Attempts, Subject};

pub fn load(conn: &mut DbConn, subject: &str, now: NaiveDateTime) -> QueryResult<Attempts> {
    let row: Option<(i32, NaiveDateTime, Option<NaiveDateTime>)> = login_throttle::table
        .find(subject)
        .select((
            login_throttle::failures,
            login_throttle::window_start,
            login_throttle::locked_until,
        ))
        .first(conn)
        .optional()?;
    Ok(row
        .map(|(failures, window_start, locked_until)| Attempts {
            failures,
            window_start,
            locked_until,
        })
        .unwrap_or_else(|| Attempts::fresh(now)))
}

/// Counts a failure for `subject`; returns whether it has just been locked.
pub fn record_failure(
    conn: &mut DbConn,
    subject: &str,
    kind: Subject,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    write_transaction(conn, |conn| {
        let (next, locked) = load(conn, subject, now)?.after_failure(now, kind);
        diesel::delete(login_throttle::table.find(subject)).execute(conn)?;
        diesel::insert_into(login_throttle::table)
            .values((
                login_throttle::subject.eq(subject),
                login_throttle::failures.eq(next.failures),
                login_throttle::window_start.eq(next.window_start),
                login_throttle::locked_until.eq(next.locked_until),
            ))
            .execute(conn)?;
        Ok(locked)
    })
}

/// Forgets an account's failures after it signs in.
pub fn clear(conn: &mut DbConn, subject: &str) -> QueryResult<()> {
    diesel::delete(login_throttle::table.find(subject))
        .execute(conn)
        .map(drop)
}
