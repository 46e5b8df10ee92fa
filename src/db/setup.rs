//! The one-time first-run link that lets someone create the first Administrator.

use diesel::prelude::*;

use crate::db::schema::{setup_tokens, users};
use crate::db::users::NewUser;
use crate::db::{DbConn, now, write_transaction};

/// Links older than this are swept when a new one is made.
const LINK_LIFETIME: chrono::Duration = chrono::Duration::days(7);

/// Adds a link (only its hash is stored). Links printed earlier, by this or
/// another instance on the same database, keep working until a user exists.
pub fn add_token(conn: &mut DbConn, token_hash: &str) -> QueryResult<()> {
    let now = now();
    diesel::delete(setup_tokens::table.filter(setup_tokens::created_at.lt(now - LINK_LIFETIME)))
        .execute(conn)?;
    diesel::insert_into(setup_tokens::table)
        .values((
            setup_tokens::token_hash.eq(token_hash),
            setup_tokens::created_at.eq(now),
        ))
        .execute(conn)
        .map(drop)
}

/// Whether the link is still good: it exists and nobody has an account yet.
pub fn token_is_open(conn: &mut DbConn, token_hash: &str) -> QueryResult<bool> {
    let users: i64 = users::table.count().get_result(conn)?;
    let found: i64 = setup_tokens::table
        .filter(setup_tokens::token_hash.eq(token_hash))
        .count()
        .get_result(conn)?;
    Ok(users == 0 && found == 1)
}

/// Creates the first Administrator if the link is still good, and closes it.
/// Returns false if it was not (used already, or a user exists).
pub fn complete(conn: &mut DbConn, token_hash: &str, admin: &NewUser<'_>) -> QueryResult<bool> {
    write_transaction(conn, |conn| {
        if !token_is_open(conn, token_hash)? {
            return Ok(false);
        }
        crate::db::users::insert(conn, admin)?;
        diesel::delete(setup_tokens::table).execute(conn)?;
        Ok(true)
    })
}
