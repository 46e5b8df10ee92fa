//! All database access lives under this module: the pool, migrations and one
//! file of queries per table. Functions here take a connection and return
//! diesel results; they know nothing of HTTP.

pub mod audit;
pub mod drafts;
pub mod keys;
pub mod schema;
pub mod sessions;
pub mod setup;
pub mod users;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{NaiveDateTime, SubsecRound, Utc};
use diesel::connection::SimpleConnection;
use diesel::r2d2::{self, ConnectionManager, CustomizeConnection};
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub type DbConn = SqliteConnection;
pub type DbPool = r2d2::Pool<ConnectionManager<DbConn>>;
pub type PooledConn = r2d2::PooledConnection<ConnectionManager<DbConn>>;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// Where the data lives, read from `--database-url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseLocation {
    SqliteFile(PathBuf),
}

#[derive(Debug, thiserror::Error)]
pub enum DbSetupError {
    #[error("PostgreSQL URLs are not supported by this build yet; use an SQLite file path")]
    PostgresNotSupported,
    #[error("the database URL is empty")]
    Empty,
    #[error("cannot create the database directory {path}: {source}")]
    Directory {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the database {path}: {source}")]
    Open {
        path: PathBuf,
        source: r2d2::PoolError,
    },
    #[error("database migrations failed: {0}")]
    Migrations(String),
}

impl DatabaseLocation {
    pub fn parse(url: &str) -> Result<Self, DbSetupError> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Err(DbSetupError::PostgresNotSupported);
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if path.is_empty() {
            return Err(DbSetupError::Empty);
        }
        Ok(DatabaseLocation::SqliteFile(PathBuf::from(path)))
    }

    /// The directory the server's own secrets file sits in by default.
    pub fn directory(&self) -> &Path {
        match self {
            DatabaseLocation::SqliteFile(path) => path.parent().unwrap_or(Path::new(".")),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            DatabaseLocation::SqliteFile(path) => format!("SQLite file {}", path.display()),
        }
    }
}

/// Per-connection SQLite settings: a busy timeout so writers queue instead of
/// failing, and foreign keys on. (Write-ahead logging is a property of the
/// file, set once in `connect`.)
#[derive(Debug)]
struct SqlitePragmas;

impl CustomizeConnection<SqliteConnection, r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), r2d2::Error> {
        conn.batch_execute(
            "PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
        )
        .map_err(r2d2::Error::QueryError)
    }
}

/// Opens the pool and brings the schema up to date.
pub fn connect(location: &DatabaseLocation, pool_size: u32) -> Result<DbPool, DbSetupError> {
    let DatabaseLocation::SqliteFile(path) = location;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir).map_err(|source| DbSetupError::Directory {
            path: dir.to_owned(),
            source,
        })?;
    }
    let url = path.to_string_lossy().into_owned();
    prepare_sqlite_file(&url).map_err(|e| DbSetupError::Migrations(e.to_string()))?;
    let manager = ConnectionManager::<SqliteConnection>::new(url);
    let pool = r2d2::Pool::builder()
        .max_size(pool_size.max(1))
        .connection_timeout(Duration::from_secs(10))
        .connection_customizer(Box::new(SqlitePragmas))
        .build(manager)
        .map_err(|source| DbSetupError::Open {
            path: path.clone(),
            source,
        })?;
    Ok(pool)
}

/// On one connection, before the pool opens several: switch the file to
/// write-ahead logging (readers never wait for the writer) and migrate.
fn prepare_sqlite_file(url: &str) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    use diesel::Connection;
    let mut conn = SqliteConnection::establish(url)?;
    conn.batch_execute("PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL;")?;
    conn.run_pending_migrations(SQLITE_MIGRATIONS)?;
    Ok(())
}

/// Creates the data directory readable by its owner only: it holds key hashes
/// and sessions. An existing directory keeps its permissions.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// A transaction that takes the write lock up front, so two writers queue
/// rather than one failing when it upgrades from reading to writing.
pub fn write_transaction<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    conn.immediate_transaction(f)
}

/// The current time as stored: UTC, microsecond precision.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// Ids for rows whose id is not shown to anyone: 128 random bits, hex.
pub fn new_row_id() -> String {
    hex::encode(crate::domain::token::random_bytes::<16>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_name_a_backend() {
        assert_eq!(
            DatabaseLocation::parse("sqlite://data/x.db").unwrap(),
            DatabaseLocation::SqliteFile("data/x.db".into())
        );
        assert_eq!(
            DatabaseLocation::parse("latchkey.db").unwrap(),
            DatabaseLocation::SqliteFile("latchkey.db".into())
        );
        assert!(DatabaseLocation::parse("").is_err());
        assert!(matches!(
            DatabaseLocation::parse("postgres://127.0.0.1/latchkey"),
            Err(DbSetupError::PostgresNotSupported)
        ));
    }
}
