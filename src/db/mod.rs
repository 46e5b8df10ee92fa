//! All database access lives under this module: the pool, migrations and one
//! file of queries per table. Functions here take a connection and return
//! diesel results; they know nothing of HTTP.

pub mod applications;
pub mod audit;
pub mod bulk;
mod connection;
pub mod count;
pub mod drafts;
pub mod expiring;
pub mod invitations;
pub mod key_search;
pub mod keys;
pub mod request_log;
pub mod schema;
pub mod sessions;
pub mod setup;
pub mod signatures;
pub mod throttle;
pub mod two_factor;
pub mod usage;
pub mod users;
pub mod webhooks;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{NaiveDateTime, SubsecRound, Utc};
use diesel::Connection;
use diesel::connection::SimpleConnection;
use diesel::r2d2;

pub use connection::{ConnectError, DbConn, Manager};

pub type DbPool = r2d2::Pool<Manager>;
pub type PooledConn = r2d2::PooledConnection<Manager>;

/// How long one SQL statement may run on PostgreSQL before it is cancelled.
const STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the data lives, read from `--database-url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseLocation {
    SqliteFile(PathBuf),
    /// A `postgres://` or `postgresql://` URL, passed to libpq as given.
    Postgres(String),
}

#[derive(Debug, thiserror::Error)]
pub enum DbSetupError {
    #[error("the database URL is empty")]
    Empty,
    #[error("cannot create the database directory {path}: {source}")]
    Directory {
        path: PathBuf,
        source: std::io::Error,
    },
    // `cause` is part of the message rather than a chained source, so it is printed once.
    #[error("cannot open the database ({what}): {cause}")]
    Open {
        what: String,
        cause: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl DatabaseLocation {
    pub fn parse(url: &str) -> Result<Self, DbSetupError> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseLocation::Postgres(url.to_owned()));
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

    /// Where the server's own secrets file goes unless told otherwise: beside
    /// an SQLite file, or in `data/` for PostgreSQL.
    pub fn default_secrets_path(&self) -> PathBuf {
        match self {
            DatabaseLocation::SqliteFile(path) => {
                let mut name = path
                    .file_name()
                    .map(|n| n.to_os_string())
                    .unwrap_or_else(|| "latchkey".into());
                name.push(".secrets");
                path.parent().unwrap_or(Path::new(".")).join(name)
            }
            DatabaseLocation::Postgres(_) => PathBuf::from("data/latchkey.secrets"),
        }
    }

    /// For messages: the backend and where, without any password in the URL.
    pub fn describe(&self) -> String {
        match self {
            DatabaseLocation::SqliteFile(path) => format!("SQLite file {}", path.display()),
            DatabaseLocation::Postgres(url) => format!("PostgreSQL at {}", redact_password(url)),
        }
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{path}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// Opens the pool and brings the schema up to date. `wait` bounds how long a
/// request waits for a connection before it gets a 503.
pub fn connect(
    location: &DatabaseLocation,
    pool_size: u32,
    wait: Duration,
) -> Result<DbPool, DbSetupError> {
    if let DatabaseLocation::SqliteFile(path) = location
        && let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
    {
        create_private_dir(dir).map_err(|source| DbSetupError::Directory {
            path: dir.to_owned(),
            source,
        })?;
    }
    let open_error = |cause| DbSetupError::Open {
        what: location.describe(),
        cause,
    };
    let manager = Manager::new(location.clone(), STATEMENT_TIMEOUT);
    manager.migrate().map_err(open_error)?;
    r2d2::Pool::builder()
        .max_size(pool_size.max(1))
        .min_idle(Some(1))
        .connection_timeout(wait)
        .build(manager)
        .map_err(|e| open_error(e.into()))
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

/// A transaction for read-modify-write work. On SQLite it takes the write lock
/// up front (`BEGIN IMMEDIATE`), so concurrent writers queue instead of one
/// failing when it upgrades from reading to writing; PostgreSQL's row locks
/// do the same job inside an ordinary transaction.
pub fn write_transaction<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    match conn {
        DbConn::Postgres(_) => conn.transaction(f),
        DbConn::Sqlite(_) => {
            conn.batch_execute("BEGIN IMMEDIATE")?;
            match f(conn) {
                Ok(value) => {
                    conn.batch_execute("COMMIT")?;
                    Ok(value)
                }
                Err(e) => {
                    // The original error matters more than a failed rollback,
                    // and a connection left mid-transaction fails its next check.
                    let _ = conn.batch_execute("ROLLBACK");
                    Err(e)
                }
            }
        }
    }
}

/// What `hold` serialises: a count-then-insert limit that must hold however
/// many requests race, on any number of instances.
#[derive(Debug, Clone, Copy)]
pub enum Limit {
    Applications = 1,
    Invitations = 2,
}

/// Inside a write transaction: waits until no other transaction holds the
/// same limit, and holds it until this one ends. SQLite's `BEGIN IMMEDIATE`
/// already holds the whole database; PostgreSQL takes a transaction-scoped
/// advisory lock (READ COMMITTED alone lets two racing transactions both see
/// room under a cap).
pub fn hold(conn: &mut DbConn, limit: Limit) -> diesel::QueryResult<()> {
    match conn {
        DbConn::Postgres(c) => c.batch_execute(&format!(
            "SELECT pg_advisory_xact_lock(7403, {})",
            limit as i32
        )),
        DbConn::Sqlite(_) => Ok(()),
    }
}

/// Keeps the query planner's statistics current, as SQLite advises for
/// long-lived connections (hourly). PostgreSQL's autovacuum does this itself.
pub fn optimize(conn: &mut DbConn) -> diesel::QueryResult<()> {
    match conn {
        DbConn::Sqlite(c) => c.batch_execute("PRAGMA optimize;"),
        DbConn::Postgres(_) => Ok(()),
    }
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
        assert_eq!(
            DatabaseLocation::parse("postgresql://127.0.0.1/latchkey").unwrap(),
            DatabaseLocation::Postgres("postgresql://127.0.0.1/latchkey".into())
        );
        assert!(DatabaseLocation::parse("").is_err());
    }

    #[test]
    fn secrets_sit_beside_an_sqlite_file() {
        let at = |url: &str| DatabaseLocation::parse(url).unwrap().default_secrets_path();
        assert_eq!(
            at("data/latchkey.db"),
            PathBuf::from("data/latchkey.db.secrets")
        );
        assert_eq!(at("x.db"), PathBuf::from("x.db.secrets"));
        assert_eq!(
            at("postgres://h/db"),
            PathBuf::from("data/latchkey.secrets")
        );
    }

    #[test]
    fn descriptions_never_show_a_password() {
        let described = DatabaseLocation::parse("postgres://app:hunter2@db.internal:5432/latchkey")
            .unwrap()
            .describe();
        assert_eq!(
            described,
            "PostgreSQL at postgres://app:***@db.internal:5432/latchkey"
        );
        assert!(
            !DatabaseLocation::parse("postgres://127.0.0.1/x")
                .unwrap()
                .describe()
                .contains("***")
        );
    }
}
