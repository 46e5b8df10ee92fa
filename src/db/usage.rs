//! Verification counts per key, day and outcome, and each key's last use.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::upsert::excluded;

use crate::db::schema::{api_keys, key_usage};
use crate::db::{DbConn, write_transaction};
use crate::domain::verdict::Outcome;

pub struct CountDelta<'a> {
    pub key_id: &'a str,
    /// `YYYY-MM-DD`, UTC.
    pub day: &'a str,
    pub outcome: &'a str,
    pub count: i64,
}

pub struct LastUse<'a> {
    pub key_id: &'a str,
    pub at: NaiveDateTime,
    pub ip: Option<&'a str>,
}

/// A day's count for a key that has none yet (development data).
#[derive(Insertable)]
#[diesel(table_name = key_usage)]
// Every value written as given (never DEFAULT): SQLite takes many rows at once.
#[diesel(treat_none_as_default_value = false)]
pub struct NewUsageRow {
    pub key_id: String,
    pub day: String,
    pub outcome: &'static str,
    pub count: i64,
}

/// Writes many new per-day counts in one statement.
pub fn insert_new(conn: &mut DbConn, rows: &[NewUsageRow]) -> QueryResult<usize> {
    crate::on_backend!(conn, |c| diesel::insert_into(key_usage::table)
        .values(rows)
        .execute(c))
}

/// Adds counts to the per-day totals (inside the caller's transaction).
pub fn add_counts(conn: &mut DbConn, counts: &[CountDelta<'_>]) -> QueryResult<()> {
    for delta in counts {
        crate::on_backend!(&mut *conn, |c| diesel::insert_into(key_usage::table)
            .values((
                key_usage::key_id.eq(delta.key_id),
                key_usage::day.eq(delta.day),
                key_usage::outcome.eq(delta.outcome),
                key_usage::count.eq(delta.count),
            ))
            .on_conflict((key_usage::key_id, key_usage::day, key_usage::outcome))
            .do_update()
            .set(key_usage::count.eq(key_usage::count + excluded(key_usage::count)))
            .execute(c))?;
    }
    Ok(())
}

/// Adds a batch of counts and last-use stamps in one transaction.
pub fn record(
    conn: &mut DbConn,
    counts: &[CountDelta<'_>],
    uses: &[LastUse<'_>],
) -> QueryResult<()> {
    write_transaction(conn, |conn| record_in(conn, counts, uses))
}

/// Adds counts and last-use stamps inside the caller's transaction.
pub fn record_in(
    conn: &mut DbConn,
    counts: &[CountDelta<'_>],
    uses: &[LastUse<'_>],
) -> QueryResult<()> {
    add_counts(conn, counts)?;
    for last in uses {
        // Never move the stamp backwards if another instance wrote a later one.
        diesel::update(
            api_keys::table.filter(api_keys::id.eq(last.key_id)).filter(
                api_keys::last_used_at
                    .is_null()
                    .or(api_keys::last_used_at.lt(last.at)),
            ),
        )
        .set((
            api_keys::last_used_at.eq(last.at),
            api_keys::last_used_ip.eq(last.ip),
        ))
        .execute(conn)?;
    }
    Ok(())
}

/// (day, outcome, count) for one key from `first_day` on, oldest first.
pub fn daily(
    conn: &mut DbConn,
    key_id: &str,
    first_day: &str,
) -> QueryResult<Vec<(String, String, i64)>> {
    key_usage::table
        .filter(key_usage::key_id.eq(key_id))
        .filter(key_usage::day.ge(first_day))
        .order(key_usage::day.asc())
        .select((key_usage::day, key_usage::outcome, key_usage::count))
        .load(conn)
}

/// Refused verifications (every outcome but valid) per key on one UTC day,
/// for a page of keys: one query, by the primary key (key, day, outcome).
/// Keys without refusals that day are absent from the map.
pub fn refused_on(
    conn: &mut DbConn,
    key_ids: &[String],
    day: NaiveDate,
) -> QueryResult<HashMap<String, i64>> {
    if key_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, i64)> = key_usage::table
        .filter(key_usage::key_id.eq_any(key_ids))
        .filter(key_usage::day.eq(day.format("%Y-%m-%d").to_string()))
        .filter(key_usage::outcome.ne(Outcome::Valid.code()))
        .select((key_usage::key_id, key_usage::count))
        .load(conn)?;
    let mut refused = HashMap::new();
    for (key_id, count) in rows {
        *refused.entry(key_id).or_default() += count;
    }
    Ok(refused)
}

pub fn last_use(
    conn: &mut DbConn,
    key_id: &str,
) -> QueryResult<Option<(Option<NaiveDateTime>, Option<String>)>> {
    api_keys::table
        .find(key_id)
        .select((api_keys::last_used_at, api_keys::last_used_ip))
        .first(conn)
        .optional()
}
