//! One connection type for SQLite and PostgreSQL, chosen by the URL scheme,
//! and the r2d2 manager that opens it. diesel's derived `establish` tries each
//! backend in turn and loses the real error; this manager knows which backend
//! it wants and reports what actually failed.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::ManageConnection;
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, ConnectionError};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::db::DatabaseLocation;

#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

/// Runs the same diesel code against whichever concrete connection this is,
/// for the few queries the multi-backend type cannot express.
#[macro_export]
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConn::Postgres($c) => $body,
            $crate::db::DbConn::Sqlite($c) => $body,
        }
    };
}

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Any constant works; it only has to be the same for every instance.
const MIGRATION_LOCK: i64 = 0x4c41_5443_484b_4559; // "LATCHKEY"

/// SQLite waits this long for another writer before giving up.
const SQLITE_BUSY_TIMEOUT_MS: u64 = 10_000;

#[derive(Debug, Clone)]
pub struct Manager {
    location: DatabaseLocation,
    statement_timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(transparent)]
    Connect(#[from] ConnectionError),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
}

impl Manager {
    pub fn new(location: DatabaseLocation, statement_timeout: Duration) -> Self {
        Manager {
            location,
            statement_timeout,
        }
    }

    /// Brings the schema up to date. On PostgreSQL an advisory lock makes
    /// instances that start together take turns, so each migration runs once.
    pub fn migrate(&self) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let mut conn = self.connect()?;
        match &mut conn {
            DbConn::Sqlite(c) => {
                c.batch_execute("PRAGMA journal_mode = WAL;")?;
                c.run_pending_migrations(SQLITE_MIGRATIONS)?;
            }
            DbConn::Postgres(c) => {
                c.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))?;
                let outcome = c.run_pending_migrations(POSTGRES_MIGRATIONS).map(drop);
                c.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))?;
                outcome?;
            }
        }
        Ok(())
    }
}

impl ManageConnection for Manager {
    type Connection = DbConn;
    type Error = ConnectError;

    fn connect(&self) -> Result<DbConn, ConnectError> {
        match &self.location {
            DatabaseLocation::Postgres(url) => {
                let mut conn = PgConnection::establish(url)?;
                // Times are written by the application in UTC; keep the session
                // in UTC too so nothing is converted behind its back.
                conn.batch_execute(&format!(
                    "SET TIME ZONE 'UTC'; SET statement_timeout = {};",
                    self.statement_timeout.as_millis()
                ))?;
                Ok(DbConn::Postgres(conn))
            }
            DatabaseLocation::SqliteFile(path) => {
                let mut conn = SqliteConnection::establish(&path.to_string_lossy())?;
                // `optimize=0x10002` is SQLite's advice for long-lived
                // connections: refresh statistics that are missing or stale
                // (a cheap no-op when they are fine). `db::optimize` repeats
                // it hourly.
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}; PRAGMA synchronous = NORMAL; \
                     PRAGMA foreign_keys = ON; PRAGMA optimize = 0x10002;"
                ))?;
                Ok(DbConn::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), ConnectError> {
        Ok(conn.batch_execute("SELECT 1")?)
    }

    fn has_broken(&self, _conn: &mut DbConn) -> bool {
        std::thread::panicking()
    }
}
