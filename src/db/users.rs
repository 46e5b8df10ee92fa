use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::users;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub password_hash: String,
    pub role: String,
    pub disabled: bool,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub id: &'a str,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub role: &'a str,
    pub disabled: bool,
    pub created_at: NaiveDateTime,
}

pub fn count(conn: &mut crate::db::DbConn) -> QueryResult<i64> {
    users::table.count().get_result(conn)
}

pub fn insert(conn: &mut crate::db::DbConn, user: &NewUser<'_>) -> QueryResult<()> {
    diesel::insert_into(users::table)
        .values(user)
        .execute(conn)
        .map(drop)
}

pub fn find_by_email(conn: &mut crate::db::DbConn, email: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::email.eq(email))
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

pub fn find(conn: &mut crate::db::DbConn, id: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

pub fn list(conn: &mut crate::db::DbConn) -> QueryResult<Vec<UserRow>> {
    users::table
        .order(users::email.asc())
        .select(UserRow::as_select())
        .load(conn)
}

pub fn set_password(
    conn: &mut crate::db::DbConn,
    id: &str,
    password_hash: &str,
) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set(users::password_hash.eq(password_hash))
        .execute(conn)
        .map(drop)
}

/// Changes a user's role or disabled flag; returns false if there is no such user.
pub fn update_access(
    conn: &mut crate::db::DbConn,
    email: &str,
    role: Option<&str>,
    disabled: Option<bool>,
) -> QueryResult<bool> {
    let target = users::table.filter(users::email.eq(email));
    let updated = match (role, disabled) {
        (Some(role), _) => diesel::update(target)
            .set(users::role.eq(role))
            .execute(conn)?,
        (None, Some(disabled)) => diesel::update(target)
            .set(users::disabled.eq(disabled))
            .execute(conn)?,
        (None, None) => 0,
    };
    Ok(updated == 1)
}

pub fn email_taken(err: &diesel::result::Error) -> bool {
    matches!(
        err,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}
