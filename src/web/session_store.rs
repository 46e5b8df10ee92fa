//! actix-session storage in the console's own database. Unlike a cookie store,
//! deleting the row really ends the session: a copied cookie stops working at
//! logout, and every instance on the same database shares sessions.

use std::collections::HashMap;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration;
use chrono::NaiveDateTime;

use crate::db::{self, DbPool};
use crate::domain::crypto::sha256_hex;
use crate::domain::token::random_token;
use crate::web::error::{UNAVAILABLE_MARKER, is_outage};
use crate::web::session;

type SessionState = HashMap<String, String>;

#[derive(Clone)]
pub struct DbSessionStore {
    pool: DbPool,
}

impl DbSessionStore {
    pub fn new(pool: DbPool) -> Self {
        DbSessionStore { pool }
    }

    async fn run<T, F>(&self, work: F) -> anyhow::Result<T>
    where
        F: FnOnce(&mut db::DbConn) -> anyhow::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        actix_web::web::block(move || {
            let mut conn = pool
                .get()
                .map_err(|e| anyhow::anyhow!("{UNAVAILABLE_MARKER}: {e}"))?;
            work(&mut conn).map_err(|e| match e.downcast_ref::<diesel::result::Error>() {
                Some(db_error) if is_outage(db_error) => {
                    anyhow::anyhow!("{UNAVAILABLE_MARKER}: {e}")
                }
                _ => e,
            })
        })
        .await?
    }
}

/// The database holds only a hash of the cookie value, so reading the table
/// does not let anyone take over a session.
fn row_id(key: &SessionKey) -> String {
    sha256_hex(key.as_ref())
}

fn expiry(ttl: &Duration) -> NaiveDateTime {
    db::now() + chrono::Duration::seconds(ttl.whole_seconds())
}

/// The row for a session's state: the state itself, and the details read
/// from it (who, since when, from where) for Account › Sessions.
fn saved(state: &SessionState, ttl: &Duration) -> serde_json::Result<db::sessions::Saved> {
    Ok(db::sessions::Saved {
        state: serde_json::to_string(state)?,
        details: session::details(state),
        expires_at: expiry(ttl),
    })
}

impl SessionStore for DbSessionStore {
    async fn load(&self, session_key: &SessionKey) -> Result<Option<SessionState>, LoadError> {
        let id = row_id(session_key);
        let state = self
            .run(move |conn| Ok(db::sessions::load(conn, &id, db::now())?))
            .await
            .map_err(LoadError::Other)?;
        match state {
            None => Ok(None),
            // Ended from elsewhere: the browser learns why, and nothing else.
            Some((_, Some(reason))) => Ok(Some(session::ended_state(&reason))),
            Some((state, None)) => serde_json::from_str(&state)
                .map(Some)
                .map_err(|e| LoadError::Deserialization(e.into())),
        }
    }

    async fn save(
        &self,
        session_state: SessionState,
        ttl: &Duration,
    ) -> Result<SessionKey, SaveError> {
        let saved = saved(&session_state, ttl).map_err(|e| SaveError::Serialization(e.into()))?;
        let key = SessionKey::try_from(random_token()).map_err(|e| SaveError::Other(e.into()))?;
        let id = row_id(&key);
        self.run(move |conn| Ok(db::sessions::insert(conn, &id, &saved, db::now())?))
            .await
            .map_err(SaveError::Other)?;
        Ok(key)
    }

    async fn update(
        &self,
        session_key: SessionKey,
        session_state: SessionState,
        ttl: &Duration,
    ) -> Result<SessionKey, UpdateError> {
        let saved = saved(&session_state, ttl).map_err(|e| UpdateError::Serialization(e.into()))?;
        let id = row_id(&session_key);
        // A session that ended meanwhile (logout elsewhere) stays ended: the
        // write is dropped and the cookie's next request finds nothing.
        self.run(move |conn| Ok(db::sessions::update(conn, &id, &saved, db::now())?))
            .await
            .map_err(UpdateError::Other)?;
        Ok(session_key)
    }

    async fn update_ttl(&self, session_key: &SessionKey, ttl: &Duration) -> anyhow::Result<()> {
        let id = row_id(session_key);
        let expires = expiry(ttl);
        self.run(move |conn| Ok(db::sessions::touch(conn, &id, expires)?))
            .await
    }

    async fn delete(&self, session_key: &SessionKey) -> anyhow::Result<()> {
        let id = row_id(session_key);
        self.run(move |conn| Ok(db::sessions::delete(conn, &id)?))
            .await
    }
}
