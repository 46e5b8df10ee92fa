//! Step one of the generate flow, held server-side until step two uses it once.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::key_drafts;

/// A draft left this long is no longer accepted.
pub const LIFETIME: Duration = Duration::minutes(30);
/// Used and abandoned drafts are kept this long, so a late reload still gets
/// "already generated" rather than "not found".
const RETENTION: Duration = Duration::days(1);

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = key_drafts)]
pub struct Draft {
    pub id: String,
    pub user_id: String,
    pub type_code: String,
    pub name: String,
    pub contact_email: String,
    pub expires_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
    /// The Application the key is made in.
    pub application_id: String,
}

impl Draft {
    pub fn is_stale(&self, now: NaiveDateTime) -> bool {
        self.created_at + LIFETIME < now
    }
}

/// Saves a draft and sweeps old ones, so the table stays small.
pub fn create(conn: &mut DbConn, draft: &Draft) -> QueryResult<()> {
    diesel::delete(
        key_drafts::table.filter(key_drafts::created_at.lt(draft.created_at - RETENTION)),
    )
    .execute(conn)?;
    diesel::insert_into(key_drafts::table)
        .values(draft)
        .execute(conn)
        .map(drop)
}

/// The caller's own draft, used or not; other users' drafts are invisible.
pub fn find(conn: &mut DbConn, id: &str, user_id: &str) -> QueryResult<Option<Draft>> {
    key_drafts::table
        .filter(key_drafts::id.eq(id))
        .filter(key_drafts::user_id.eq(user_id))
        .select(Draft::as_select())
        .first(conn)
        .optional()
}
