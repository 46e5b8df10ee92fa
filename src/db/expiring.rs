//! Live keys that stop working soon: the key list's banner counts them, and
//! `latchkey keys expiring` lists them. Both read a range of the partial index
//! `api_keys_listed_by_expiry` (`(expires_at, id) WHERE deleted_at IS NULL`),
//! so neither reads more than the keys in the window, however large the table.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::count::{Counted, count_up_to};
use crate::db::key_search::planned;
use crate::db::schema::api_keys;
use crate::domain::key_type::Catalogue;

type Backend = <DbConn as diesel::Connection>::Backend;

/// Where the window is: keys expiring after `after` and at or before
/// `until`, except switched-off and rolled keys and those of switched-off
/// types, as the key list's "Expiring soon" filter selects them.
#[derive(Debug, Clone)]
pub struct Window {
    pub after: NaiveDateTime,
    pub until: NaiveDateTime,
    pub disabled_types: Vec<String>,
}

impl Window {
    /// The keys expiring from `from` for `within`, as `catalogue` judges
    /// switched-off types at `from`.
    pub fn new(catalogue: &Catalogue, from: NaiveDateTime, within: Duration) -> Window {
        Window {
            after: from,
            until: from + within,
            disabled_types: catalogue.disabled_codes(from),
        }
    }
}

/// The ids of the keys in the window, for counting (and for the plan test).
pub fn ids_in(window: &Window) -> api_keys::BoxedQuery<'static, Backend, diesel::sql_types::Text> {
    api_keys::table
        .filter(api_keys::deleted_at.is_null())
        .filter(api_keys::expires_at.gt(window.after))
        .filter(api_keys::expires_at.le(window.until))
        .filter(api_keys::type_code.ne_all(window.disabled_types.clone()))
        // Switched-off and rolled keys stop on their own terms, not at their
        // expiry (a rolled key's replacement is counted instead).
        .filter(api_keys::disabled_at.is_null())
        .filter(api_keys::replaced_by.is_null())
        .select(api_keys::id)
        .into_boxed()
}

/// How many keys are in the window, counting no further than `cap`.
pub fn count(conn: &mut DbConn, window: &Window, cap: i64) -> QueryResult<Counted> {
    planned(conn, |conn| count_up_to(conn, ids_in(window), cap))
}

/// What `latchkey keys expiring` prints of a key: never a secret.
#[derive(Debug, Clone, Queryable)]
pub struct ExpiringKey {
    pub id: String,
    pub type_code: String,
    pub name: String,
    pub contact_email: String,
    pub expires_at: NaiveDateTime,
}

/// The next `limit` keys of the window in expiry order (then id), after the
/// key at `after` (its expiry and id), so any number stream in pages.
pub fn page(
    conn: &mut DbConn,
    window: &Window,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> QueryResult<Vec<ExpiringKey>> {
    let query = page_query(window, after, limit);
    planned(conn, |conn| query.load(conn))
}

type PageColumns = (
    diesel::sql_types::Text,
    diesel::sql_types::Text,
    diesel::sql_types::Text,
    diesel::sql_types::Text,
    diesel::sql_types::Timestamp,
);

/// What `page` runs (for the plan test): a walk along the expiry index from
/// the window's start or the last key shown.
pub fn page_query(
    window: &Window,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> api_keys::BoxedQuery<'static, Backend, PageColumns> {
    let mut query = api_keys::table
        .filter(api_keys::deleted_at.is_null())
        .filter(api_keys::expires_at.gt(window.after))
        .filter(api_keys::expires_at.le(window.until))
        .filter(api_keys::type_code.ne_all(window.disabled_types.clone()))
        // Switched-off and rolled keys stop on their own terms, not at their
        // expiry (a rolled key's replacement is counted instead).
        .filter(api_keys::disabled_at.is_null())
        .filter(api_keys::replaced_by.is_null())
        .select((
            api_keys::id,
            api_keys::type_code,
            api_keys::name,
            api_keys::contact_email,
            api_keys::expires_at.assume_not_null(),
        ))
        .order((api_keys::expires_at.asc(), api_keys::id.asc()))
        .limit(limit)
        .into_boxed();
    if let Some((at, id)) = after {
        query = query.filter(
            api_keys::expires_at
                .ge(at)
                .and(api_keys::expires_at.gt(at).or(api_keys::id.gt(id))),
        );
    }
    query
}
