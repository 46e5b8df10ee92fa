//! Loading many rows into SQLite at once (development data): a table's
//! indexes and triggers are dropped, the rows written, then the indexes built
//! in one pass each, which is several times faster than keeping them up to
//! date row by row. All of it happens in one transaction, so an interrupted
//! load leaves the database as it was.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::db::DbConn;

#[derive(QueryableByName)]
struct SchemaObject {
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    sql: String,
}

/// Runs `load` with `table`'s indexes and triggers set aside, then restores
/// them and runs `after` (to index the new rows elsewhere, say) before the
/// triggers return. On PostgreSQL, runs `load` and `after` in a transaction.
pub fn with_deferred_indexes<T>(
    conn: &mut DbConn,
    table: &str,
    load: impl FnOnce(&mut DbConn) -> anyhow::Result<T>,
    after: impl FnOnce(&mut DbConn) -> anyhow::Result<()>,
) -> anyhow::Result<T> {
    if matches!(conn, DbConn::Postgres(_)) {
        return conn.transaction(|conn| {
            let loaded = load(conn)?;
            after(conn)?;
            Ok(loaded)
        });
    }
    // A plain transaction (the seed is the only writer): what `load` opens
    // inside it become savepoints.
    conn.transaction(|conn| {
        let objects: Vec<SchemaObject> = diesel::sql_query(
            "SELECT type AS kind, name, sql FROM sqlite_master \
             WHERE tbl_name = ? AND type IN ('index', 'trigger') AND sql IS NOT NULL",
        )
        .bind::<Text, _>(table)
        .load(conn)?;
        for object in &objects {
            conn.batch_execute(&format!("DROP {} \"{}\"", object.kind, object.name))?;
        }
        let loaded = load(conn)?;
        for object in objects.iter().filter(|o| o.kind == "index") {
            conn.batch_execute(&object.sql)?;
        }
        after(conn)?;
        for object in objects.iter().filter(|o| o.kind == "trigger") {
            conn.batch_execute(&object.sql)?;
        }
        Ok(loaded)
    })
}
