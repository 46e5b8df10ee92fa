use std::sync::Arc;

use crate::db::{DbConn, DbPool};
use crate::domain::crypto::{SecretBox, SecretHasher};
use crate::domain::ip_allowlist::IpAllowlist;
use crate::domain::key_type::Catalogue;
use crate::domain::session_policy::SessionPolicy;
use crate::verifier::Verifier;
use crate::web::clock::Clock;
use crate::web::error::AppError;

/// Shared by every request handler.
pub struct AppState {
    pub pool: DbPool,
    pub catalogue: Catalogue,
    pub hasher: SecretHasher,
    pub secret_box: SecretBox,
    pub verifier: Arc<Verifier>,
    /// Proxies whose `X-Forwarded-For` is believed; empty means none.
    pub trusted_proxies: IpAllowlist,
    pub session_policy: SessionPolicy,
    pub clock: Arc<Clock>,
    /// Served over HTTPS (`--https`): the console's origin is https.
    pub https: bool,
}

impl AppState {
    /// Runs blocking database work on the blocking thread pool, never on an async worker.
    pub async fn db<T, F>(&self, work: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        actix_web::web::block(move || {
            let mut conn = pool.get()?;
            work(&mut conn)
        })
        .await?
    }
}
