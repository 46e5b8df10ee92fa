//! Applications: every key belongs to one. There are few (an Administrator
//! makes each), so they are read whole.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::audit::{self, AuditEvent, action};
use crate::db::count::{Counted, count_up_to};
use crate::db::schema::applications;
use crate::db::{DbConn, write_transaction};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = applications)]
pub struct ApplicationRow {
    pub id: String,
    pub name: String,
    pub created_at: NaiveDateTime,
    pub archived_at: Option<NaiveDateTime>,
}

/// Every Application, by name.
pub fn all(conn: &mut DbConn) -> QueryResult<Vec<ApplicationRow>> {
    applications::table
        .order(applications::name.asc())
        .select(ApplicationRow::as_select())
        .load(conn)
}

/// The most Applications a console keeps (each is held in memory by every
/// instance and re-read on every poll).
pub const MAX_APPLICATIONS: i64 = 1_000;

#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("there is no such Application")]
    NotFound,
    #[error("an Application named “{0}” already exists")]
    NameTaken(String),
    #[error("the console keeps at most {MAX_APPLICATIONS} Applications")]
    TooMany,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

fn name_taken(e: diesel::result::Error, name: &str) -> ChangeError {
    if crate::db::users::email_taken(&e) {
        ChangeError::NameTaken(name.to_owned())
    } else {
        ChangeError::Database(e)
    }
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<ApplicationRow>> {
    applications::table
        .find(id)
        .select(ApplicationRow::as_select())
        .first(conn)
        .optional()
}

/// Adds an Application named `name` (already checked) and records it.
pub fn create(
    conn: &mut DbConn,
    id: &str,
    name: &str,
    now: NaiveDateTime,
    actor: &AuditEvent,
) -> Result<(), ChangeError> {
    write_transaction(conn, |conn| {
        crate::db::hold(conn, crate::db::Limit::Applications)?;
        let all = applications::table.select(applications::id);
        if !matches!(count_up_to(conn, all, MAX_APPLICATIONS)?, Counted::Exactly(n) if n < MAX_APPLICATIONS)
        {
            return Err(ChangeError::TooMany);
        }
        diesel::insert_into(applications::table)
            .values((
                applications::id.eq(id),
                applications::name.eq(name),
                applications::created_at.eq(now),
            ))
            .execute(conn)
            .map_err(|e| name_taken(e, name))?;
        record(
            conn,
            actor,
            action::APPLICATION_CREATED,
            format!("{name} ({id})"),
        )?;
        Ok(())
    })
}

/// Renames an Application and records the old and new names.
pub fn rename(
    conn: &mut DbConn,
    id: &str,
    name: &str,
    actor: &AuditEvent,
) -> Result<String, ChangeError> {
    write_transaction(conn, |conn| {
        let old = find(conn, id)?.ok_or(ChangeError::NotFound)?;
        diesel::update(applications::table.find(id))
            .set(applications::name.eq(name))
            .execute(conn)
            .map_err(|e| name_taken(e, name))?;
        let detail = format!("{} renamed to {name}", old.name);
        record(conn, actor, action::APPLICATION_RENAMED, detail.clone())?;
        Ok(detail)
    })
}

/// Archives (its keys answer DISABLED, and no key is made in it) or
/// unarchives an Application, and records it. Returns its name.
pub fn set_archived(
    conn: &mut DbConn,
    id: &str,
    archived: bool,
    now: NaiveDateTime,
    actor: &AuditEvent,
) -> Result<String, ChangeError> {
    write_transaction(conn, |conn| {
        let app = find(conn, id)?.ok_or(ChangeError::NotFound)?;
        diesel::update(applications::table.find(id))
            .set(applications::archived_at.eq(archived.then_some(now)))
            .execute(conn)?;
        let what = if archived {
            action::APPLICATION_ARCHIVED
        } else {
            action::APPLICATION_UNARCHIVED
        };
        record(conn, actor, what, app.name.clone())?;
        Ok(app.name)
    })
}

fn record(
    conn: &mut DbConn,
    actor: &AuditEvent,
    action: &'static str,
    detail: String,
) -> QueryResult<()> {
    audit::record(
        conn,
        &AuditEvent {
            action,
            detail,
            ..actor.clone()
        },
    )
}

/// How many live keys each Application holds, each counted through the
/// Application index and no further than `cap`.
pub fn keys_in(
    conn: &mut DbConn,
    ids: &[String],
    cap: i64,
) -> QueryResult<std::collections::HashMap<String, Counted>> {
    use crate::db::schema::api_keys;
    ids.iter()
        .map(|id| {
            let keys = api_keys::table
                .filter(api_keys::deleted_at.is_null())
                .filter(api_keys::application_id.eq(id.clone()))
                .select(api_keys::id);
            Ok((id.clone(), count_up_to(conn, keys, cap)?))
        })
        .collect()
}
