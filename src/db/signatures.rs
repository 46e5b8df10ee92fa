//! Signatures already accepted, shared by every instance: the database, not
//! any one process, decides whether a signed request is a replay.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::signature_replay;

/// Rows removed per statement when sweeping, so a sweep never holds a long lock.
const SWEEP_BATCH: i64 = 1_000;
/// Batches per sweep: with a sweep every two seconds this clears 10,000 rows a
/// second, far above any signed traffic one deployment sees.
const SWEEP_BATCHES: usize = 20;

/// Records a signature's digest. True if this is its first sighting anywhere;
/// false if some instance already accepted it. One atomic statement, so of
/// any number of simultaneous presentations exactly one sees `true`.
pub fn first_sighting(
    conn: &mut DbConn,
    digest: &[u8; 32],
    until: NaiveDateTime,
) -> QueryResult<bool> {
    let inserted = crate::on_backend!(conn, |c| diesel::insert_into(signature_replay::table)
        .values((
            signature_replay::digest.eq(&digest[..]),
            signature_replay::expires_at.eq(until),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(inserted == 1)
}

/// Removes signatures whose dates can no longer be accepted. Bounded: at most
/// `SWEEP_BATCHES` statements of `SWEEP_BATCH` rows. Returns the rows removed.
pub fn sweep(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<usize> {
    let mut removed = 0;
    for _ in 0..SWEEP_BATCHES {
        let expired: Vec<Vec<u8>> = signature_replay::table
            .select(signature_replay::digest)
            .filter(signature_replay::expires_at.lt(now))
            .limit(SWEEP_BATCH)
            .load(conn)?;
        if expired.is_empty() {
            break;
        }
        removed += diesel::delete(
            signature_replay::table.filter(signature_replay::digest.eq_any(&expired)),
        )
        .execute(conn)?;
        if (expired.len() as i64) < SWEEP_BATCH {
            break;
        }
    }
    Ok(removed)
}

/// How many signatures are remembered (for tests and diagnostics).
pub fn remembered(conn: &mut DbConn) -> QueryResult<i64> {
    signature_replay::table.count().get_result(conn)
}
