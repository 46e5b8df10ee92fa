//! The audit trail. Rows are only ever inserted.

use diesel::prelude::*;

use crate::db::schema::audit_events;
use crate::db::{DbConn, new_row_id, now};

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
    pub const LOGIN: &str = "auth.login";
    pub const LOGIN_FAILED: &str = "auth.login_failed";
    pub const LOCKOUT: &str = "auth.lockout";
    pub const LOCKOUT_REFUSED: &str = "auth.lockout_refused";
    pub const UNLOCKED: &str = "auth.unlocked";
    pub const LOGOUT: &str = "auth.logout";
    pub const USER_CREATED: &str = "user.created";
    pub const PASSWORD_CHANGED: &str = "user.password_changed";
    pub const PASSWORD_CHANGE_FAILED: &str = "user.password_change_failed";
    pub const ROLE_CHANGED: &str = "user.role_changed";
    pub const USER_DISABLED: &str = "user.disabled";
    pub const USER_ENABLED: &str = "user.enabled";
}

pub fn record(conn: &mut DbConn, event: &AuditEvent) -> QueryResult<()> {
    diesel::insert_into(audit_events::table)
        .values((
            audit_events::id.eq(new_row_id()),
            audit_events::at.eq(now()),
            audit_events::actor_id.eq(&event.actor_id),
            audit_events::actor_email.eq(&event.actor_email),
            audit_events::action.eq(event.action),
            audit_events::key_id.eq(&event.key_id),
            audit_events::client_ip.eq(&event.client_ip),
            audit_events::detail.eq(&event.detail),
        ))
        .execute(conn)
        .map(drop)
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct AuditRow {
    pub at: chrono::NaiveDateTime,
    pub actor_email: Option<String>,
    pub action: String,
    pub key_id: Option<String>,
    pub client_ip: Option<String>,
    pub detail: String,
}

/// What the audit log page filters by; `None` means any.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub key_id: Option<String>,
    /// Inclusive, UTC.
    pub from: Option<chrono::NaiveDateTime>,
    /// Exclusive, UTC.
    pub until: Option<chrono::NaiveDateTime>,
}

type Backend = <DbConn as diesel::Connection>::Backend;

fn filtered(filter: &AuditFilter) -> audit_events::BoxedQuery<'static, Backend> {
    let mut query = audit_events::table.into_boxed();
    if let Some(actor) = &filter.actor {
        query = query.filter(audit_events::actor_email.eq(actor.clone()));
    }
    if let Some(action) = &filter.action {
        query = query.filter(audit_events::action.eq(action.clone()));
    }
    if let Some(key_id) = &filter.key_id {
        query = query.filter(audit_events::key_id.eq(key_id.clone()));
    }
    if let Some(from) = filter.from {
        query = query.filter(audit_events::at.ge(from));
    }
    if let Some(until) = filter.until {
        query = query.filter(audit_events::at.lt(until));
    }
    query
}

/// Matching events, newest first.
pub fn page(
    conn: &mut DbConn,
    filter: &AuditFilter,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<AuditRow>> {
    filtered(filter)
        .order((audit_events::at.desc(), audit_events::id.desc()))
        .offset(offset)
        .limit(limit)
        .select(AuditRow::as_select())
        .load(conn)
}

pub fn count(conn: &mut DbConn, filter: &AuditFilter) -> QueryResult<i64> {
    filtered(filter).count().get_result(conn)
}

/// Newest first.
pub fn recent(conn: &mut DbConn, limit: i64) -> QueryResult<Vec<AuditRow>> {
    page(conn, &AuditFilter::default(), 0, limit)
}
