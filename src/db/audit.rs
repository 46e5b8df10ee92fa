//! The audit trail. Rows are only ever inserted.
//!
//! Reading: the log's order is (at DESC, id DESC) and it is read a page at a
//! time from a [`Position`] (keyset paging), never from an offset, so the
//! 200th page costs what the first does. A partial filter is first
//! [`resolve`]d into the exact actors or Key IDs it matches; each of those is
//! then read as its own ordered index range (a lane) and the lanes are merged.
//! Every query here reads an index of migration `2026-11-27-000003_audit_search`
//! in order; `tests/audit_log.rs` checks the query plans on both backends.

use std::cmp::Ordering;

use chrono::NaiveDateTime;
use diesel::dsl::{AsSelect, SqlTypeOf};
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};

use crate::db::count::{self, Counted};
use crate::db::schema::{audit_actors, audit_events};
use crate::db::{DbConn, new_row_id, now};

diesel::define_sql_function! {
    /// Lower case: Key IDs are matched (and indexed) this way.
    fn lower(x: Nullable<Text>) -> Nullable<Text>;
}

/// Who did what, to which key, from where. `when` is stamped on insert.
#[derive(Debug, Clone, Default)]
pub struct AuditEvent {
    pub actor_id: Option<String>,
    pub actor_email: Option<String>,
    pub action: &'static str,
    pub key_id: Option<String>,
    pub client_ip: Option<String>,
    pub detail: String,
}

pub mod action {
    pub const KEY_CREATED: &str = "key.created";
    pub const KEY_DELETED: &str = "key.deleted";
    pub const KEY_RATE_LIMIT_CHANGED: &str = "key.rate_limit_changed";
    pub const KEY_UPDATED: &str = "key.updated";
    pub const KEY_DISABLED: &str = "key.disabled";
    pub const KEY_ENABLED: &str = "key.enabled";
    pub const KEY_ROLLED: &str = "key.rolled";
    pub const KEY_LEAKED: &str = "key.leaked";
    pub const LOGIN: &str = "auth.login";
    pub const LOGIN_FAILED: &str = "auth.login_failed";
    pub const LOCKOUT: &str = "auth.lockout";
    pub const LOCKOUT_REFUSED: &str = "auth.lockout_refused";
    pub const UNLOCKED: &str = "auth.unlocked";
    pub const LOGOUT: &str = "auth.logout";
    pub const SESSION_ENDED: &str = "auth.session_ended";
    pub const OTHER_SESSIONS_ENDED: &str = "auth.other_sessions_ended";
    pub const USER_CREATED: &str = "user.created";
    pub const PASSWORD_CHANGED: &str = "user.password_changed";
    pub const PASSWORD_CHANGE_FAILED: &str = "user.password_change_failed";
    pub const ROLE_CHANGED: &str = "user.role_changed";
    pub const USER_DISABLED: &str = "user.disabled";
    pub const USER_ENABLED: &str = "user.enabled";
    pub const USER_DELETED: &str = "user.deleted";
    pub const USER_INVITED: &str = "user.invited";
    pub const INVITATION_ACCEPTED: &str = "user.invitation_accepted";
    pub const TWO_FACTOR_FAILED: &str = "auth.two_factor_failed";
    pub const TWO_FACTOR_ENROLLED: &str = "user.two_factor_enrolled";
    pub const TWO_FACTOR_DISABLED: &str = "user.two_factor_disabled";
    pub const TWO_FACTOR_RESET: &str = "user.two_factor_reset";
    pub const RECOVERY_CODES_REPLACED: &str = "user.recovery_codes_replaced";
    pub const USER_SESSIONS_ENDED: &str = "user.sessions_ended";
    pub const APPLICATION_CREATED: &str = "application.created";
    pub const APPLICATION_RENAMED: &str = "application.renamed";
    pub const APPLICATION_ARCHIVED: &str = "application.archived";
    pub const APPLICATION_UNARCHIVED: &str = "application.unarchived";
    pub const WEBHOOK_CREATED: &str = "webhook.created";
    pub const WEBHOOK_DELETED: &str = "webhook.deleted";
}

/// One stored event, id and time included: what [`insert_rows`] writes.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = audit_events)]
// NULL rather than DEFAULT for `None`: SQLite then takes many rows in one INSERT.
#[diesel(treat_none_as_default_value = false)]
pub struct NewAuditRow {
    pub id: String,
    pub at: NaiveDateTime,
    pub actor_id: Option<String>,
    pub actor_email: Option<String>,
    pub action: String,
    pub key_id: Option<String>,
    pub client_ip: Option<String>,
    pub detail: String,
}

impl NewAuditRow {
    /// The row for `event`, happening `at`, with a fresh id.
    pub fn new(event: &AuditEvent, at: NaiveDateTime) -> Self {
        NewAuditRow {
            id: new_row_id(),
            at,
            actor_id: event.actor_id.clone(),
            actor_email: event.actor_email.clone(),
            action: event.action.to_owned(),
            key_id: event.key_id.clone(),
            client_ip: event.client_ip.clone(),
            detail: event.detail.clone(),
        }
    }
}

/// Records one event and, if its action raises a webhook event, puts that in
/// the webhook outbox too. Call it inside the transaction of the change it
/// records, so the change, its audit row and its deliveries commit together.
pub fn record(conn: &mut DbConn, event: &AuditEvent) -> QueryResult<()> {
    let row = NewAuditRow::new(event, now());
    insert_rows(conn, std::slice::from_ref(&row))?;
    crate::db::webhooks::enqueue_for_audit(conn, &row).map(drop)
}

/// Writes events as given, and adds their actors to the list the actor filter
/// searches. For one event use [`record`]; this is for bulk writers (the
/// development seed). Run it in a transaction to write both or neither.
/// Nothing is put in the webhook outbox.
pub fn insert_rows(conn: &mut DbConn, rows: &[NewAuditRow]) -> QueryResult<usize> {
    let written = crate::on_backend!(conn, |c| diesel::insert_into(audit_events::table)
        .values(rows)
        .execute(c))?;
    let mut actors: Vec<&str> = rows
        .iter()
        .filter_map(|r| r.actor_email.as_deref())
        .collect();
    actors.sort_unstable();
    actors.dedup();
    if !actors.is_empty() {
        let actors: Vec<_> = actors
            .into_iter()
            .map(|a| audit_actors::email.eq(a))
            .collect();
        crate::on_backend!(conn, |c| diesel::insert_into(audit_actors::table)
            .values(&actors)
            .on_conflict_do_nothing()
            .execute(c))?;
    }
    Ok(written)
}

/// Writes many events (batches of at most a few thousand rows) in one
/// transaction, for the development seed. On SQLite the log's indexes are
/// dropped first and built again at the end: one sort per index instead of
/// a million scattered updates (1,070,000 events: about 12 s instead of 19 s
/// on a busy two-core machine). SQLite's DDL is transactional, so a failure
/// leaves the indexes as they were.
pub fn insert_many<I>(conn: &mut DbConn, batches: I) -> anyhow::Result<usize>
where
    I: Iterator<Item = Vec<NewAuditRow>>,
{
    crate::db::bulk::with_deferred_indexes(
        conn,
        "audit_events",
        |conn| {
            let mut written = 0;
            for batch in batches {
                written += insert_rows(conn, &batch)?;
            }
            Ok(written)
        },
        |_| Ok(()),
    )
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct AuditRow {
    pub id: String,
    pub at: chrono::NaiveDateTime,
    pub actor_email: Option<String>,
    pub action: String,
    pub key_id: Option<String>,
    pub client_ip: Option<String>,
    pub detail: String,
}

impl AuditRow {
    /// Where this row stands in the log, to continue a page from.
    pub fn position(&self) -> Position {
        Position {
            at: self.at,
            id: self.id.clone(),
        }
    }
}

/// A place in the log's order (at DESC, id DESC): an event's time and id.
/// Two events may share a time; the id settles their order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub at: NaiveDateTime,
    pub id: String,
}

/// Which way a page reads from its starting [`Position`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Towards {
    /// Events older than the position, newest first.
    Older,
    /// Events newer than the position, oldest first (the nearest ones).
    Newer,
}

/// What the audit log page filters by; `None` means any.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Part of an actor's address, in lower case.
    pub actor: Option<String>,
    pub action: Option<String>,
    /// A Key ID or its first characters, in lower case (letters and digits).
    pub key: Option<String>,
    /// Inclusive, UTC.
    pub from: Option<NaiveDateTime>,
    /// Exclusive, UTC.
    pub until: Option<NaiveDateTime>,
}

/// Most actors or keys one partial filter may stand for: each is read as its
/// own index range, so a page costs one small query per match.
pub const MAX_MATCHES: usize = 50;

/// A partial filter that matches more than [`MAX_MATCHES`] actors or keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TooBroad {
    Actors,
    Keys,
}

/// A filter whose partial parts are resolved into the exact values they match.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// The actor addresses, as stored; `None` means any actor.
    pub actors: Option<Vec<String>>,
    /// The Key IDs in lower case; `None` means any key (or none).
    pub keys: Option<Vec<String>>,
    pub action: Option<String>,
    pub from: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
}

/// Looks up which actors and keys `filter`'s partial parts match.
pub fn resolve(
    conn: &mut DbConn,
    filter: &AuditFilter,
) -> QueryResult<Result<Selection, TooBroad>> {
    let actors = match &filter.actor {
        None => None,
        Some(part) => {
            let found = actors_matching(part, MAX_MATCHES as i64 + 1).load(conn)?;
            if found.len() > MAX_MATCHES {
                return Ok(Err(TooBroad::Actors));
            }
            Some(found)
        }
    };
    let keys = match &filter.key {
        None => None,
        Some(prefix) => {
            let found: Vec<Option<String>> =
                keys_starting(prefix, MAX_MATCHES as i64 + 1).load(conn)?;
            if found.len() > MAX_MATCHES {
                return Ok(Err(TooBroad::Keys));
            }
            Some(found.into_iter().flatten().collect())
        }
    };
    Ok(Ok(Selection {
        actors,
        keys,
        action: filter.action.clone(),
        from: filter.from,
        until: filter.until,
    }))
}

type Backend = <DbConn as diesel::Connection>::Backend;

/// Addresses containing `part` (lower case), from the short list of actors.
pub fn actors_matching(part: &str, limit: i64) -> audit_actors::BoxedQuery<'static, Backend, Text> {
    audit_actors::table
        .filter(
            lower(audit_actors::email.nullable())
                .like(format!("%{}%", escape_like(part)))
                .escape('\\'),
        )
        .select(audit_actors::email)
        .order(audit_actors::email)
        .limit(limit)
        .into_boxed()
}

/// The distinct lower-case Key IDs starting with `prefix` (lower case letters
/// and digits): a range of the audit_events_by_key index. The range's end is
/// the prefix with its last character stepped up in `0-9a-z`, an order every
/// collation agrees on.
pub fn keys_starting(
    prefix: &str,
    limit: i64,
) -> audit_events::BoxedQuery<'static, Backend, Nullable<Text>> {
    let key = || lower(audit_events::key_id);
    let mut query = audit_events::table
        .select(key())
        .distinct()
        .filter(key().ge(prefix.to_owned()))
        .order(key())
        .limit(limit)
        .into_boxed();
    if let Some(end) = next_prefix(prefix) {
        query = query.filter(key().lt(end));
    }
    query
}

/// The smallest string of `0-9a-z` after every string starting with
/// `prefix`, if there is one (`"ab"` → `"ac"`, `"a9"` → `"aa"`, `"az"` → `"b"`).
fn next_prefix(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last {
            '0'..='8' | 'a'..='y' => Some((last as u8 + 1) as char),
            '9' => Some('a'),
            _ => None,
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// `part` with LIKE's wildcards taken literally (escape character `\`).
fn escape_like(part: &str) -> String {
    let mut out = String::with_capacity(part.len());
    for c in part.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// One ordered index range a page is read from.
enum Lane<'a> {
    /// The whole log (audit_events_by_time, or by_action).
    Everything,
    /// One actor's events (audit_events_by_actor, or by_actor_action with an action).
    Actor(&'a str),
    /// One key's events (audit_events_by_key).
    Key(&'a str),
}

impl Selection {
    /// A filter by key reads one lane per key, else one by actor reads one
    /// lane per actor; no match means no lanes (and no rows).
    fn lanes(&self) -> Vec<Lane<'_>> {
        match (&self.keys, &self.actors) {
            (Some(keys), _) => keys.iter().map(|k| Lane::Key(k)).collect(),
            (None, Some(actors)) => actors.iter().map(|a| Lane::Actor(a)).collect(),
            (None, None) => vec![Lane::Everything],
        }
    }

    /// The events of one lane that pass every other filter.
    fn lane(&self, lane: &Lane) -> audit_events::BoxedQuery<'static, Backend> {
        let mut query = audit_events::table.into_boxed();
        match *lane {
            Lane::Everything => {}
            Lane::Actor(actor) => {
                query = query.filter(audit_events::actor_email.eq(actor.to_owned()));
            }
            Lane::Key(key) => {
                query = query.filter(lower(audit_events::key_id).eq(key.to_owned()));
                if let Some(actors) = &self.actors {
                    query = query.filter(audit_events::actor_email.eq_any(actors.clone()));
                }
            }
        }
        if let Some(action) = &self.action {
            query = query.filter(audit_events::action.eq(action.clone()));
        }
        if let Some(from) = self.from {
            query = query.filter(audit_events::at.ge(from));
        }
        if let Some(until) = self.until {
            query = query.filter(audit_events::at.lt(until));
        }
        query
    }
}

/// The query of one lane of a page, as [`page`] runs it.
pub type PageQuery =
    audit_events::BoxedQuery<'static, Backend, SqlTypeOf<AsSelect<AuditRow, Backend>>>;

/// The queries [`page`] runs, one per lane, for tests that read their plans.
pub fn page_queries(
    selection: &Selection,
    start: Option<&Position>,
    towards: Towards,
    limit: i64,
) -> Vec<PageQuery> {
    use audit_events::{at, id};
    selection
        .lanes()
        .iter()
        .map(|lane| {
            let mut query = selection.lane(lane);
            query = match (start, towards) {
                (None, _) => query,
                // `at <= t` alone bounds the index range; the OR settles ties.
                (Some(p), Towards::Older) => {
                    query.filter(at.le(p.at).and(at.lt(p.at).or(id.lt(p.id.clone()))))
                }
                (Some(p), Towards::Newer) => {
                    query.filter(at.ge(p.at).and(at.gt(p.at).or(id.gt(p.id.clone()))))
                }
            };
            query = match towards {
                Towards::Older => query.order((at.desc(), id.desc())),
                Towards::Newer => query.order((at.asc(), id.asc())),
            };
            query.limit(limit).select(AuditRow::as_select())
        })
        .collect()
}

/// Up to `limit` events after `start` (the newest or oldest end when `None`),
/// nearest first: newest first towards older, oldest first towards newer.
pub fn page(
    conn: &mut DbConn,
    selection: &Selection,
    start: Option<&Position>,
    towards: Towards,
    limit: i64,
) -> QueryResult<Vec<AuditRow>> {
    let queries = page_queries(selection, start, towards, limit);
    let lanes = queries.len();
    let mut rows = Vec::new();
    for query in queries {
        rows.extend(query.load::<AuditRow>(conn)?);
    }
    if lanes > 1 {
        // Ids are hex: byte order is every collation's order.
        rows.sort_by(|a, b| match towards {
            Towards::Older => newest_first(a, b),
            Towards::Newer => newest_first(b, a),
        });
        rows.truncate(usize::try_from(limit).unwrap_or(0));
    }
    Ok(rows)
}

fn newest_first(a: &AuditRow, b: &AuditRow) -> Ordering {
    (b.at, &b.id).cmp(&(a.at, &a.id))
}

/// The ids of each lane's events, unordered: what [`count_up_to`] counts.
pub fn count_queries(
    selection: &Selection,
) -> Vec<audit_events::BoxedQuery<'static, Backend, Text>> {
    selection
        .lanes()
        .iter()
        .map(|lane| selection.lane(lane).select(audit_events::id))
        .collect()
}

/// How many events the selection holds, counting no further than `cap`.
pub fn count_up_to(conn: &mut DbConn, selection: &Selection, cap: i64) -> QueryResult<Counted> {
    let mut total = Counted::Exactly(0);
    for query in count_queries(selection) {
        let room = total.room_under(cap);
        total = total.plus(count::count_up_to(conn, query, room)?, cap);
        if let Counted::MoreThan(_) = total {
            break;
        }
    }
    Ok(total)
}

/// Newest first.
pub fn recent(conn: &mut DbConn, limit: i64) -> QueryResult<Vec<AuditRow>> {
    page(conn, &Selection::default(), None, Towards::Older, limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_range_ends_at_the_next_prefix() {
        let cases = [
            ("ab", Some("ac")),
            ("a9", Some("aa")),
            ("az", Some("b")),
            ("08", Some("09")),
            ("zz", None),
            ("", None),
        ];
        for (prefix, end) in cases {
            assert_eq!(next_prefix(prefix).as_deref(), end, "{prefix}");
        }
    }

    #[test]
    fn like_wildcards_are_taken_literally() {
        assert_eq!(escape_like("a_b%c\\d"), "a\\_b\\%c\\\\d");
        assert_eq!(escape_like("admin@example.com"), "admin@example.com");
    }
}
