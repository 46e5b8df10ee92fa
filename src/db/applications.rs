//! Applications: every key belongs to one. There are few (an Administrator
//! makes each), so they are read whole.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::applications;

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
