use std::sync::Arc;

use crate::db::{DbConn, DbPool};
use crate::domain::crypto::{SecretBox, SecretHasher};
use crate::domain::ip_allowlist::IpAllowlist;
use crate::domain::key_type::Catalogue;
use crate::domain::session_policy::SessionPolicy;
use crate::verifier::Verifier;
use crate::web::clock::Clock;
use crate::web::error::AppError;
use crate::web::password_workers::PasswordWorkers;

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
    /// Whom two-factor sign-in is required of.
    pub two_factor: crate::domain::two_factor::Policy,
    pub clock: Arc<Clock>,
    /// Every argon2 check and hash runs here, bounded.
    pub passwords: PasswordWorkers,
    /// Served over HTTPS (`--https`): the console's origin is https, and
    /// cookies are `Secure` with `__Host-` names.
    pub https: bool,
    /// Keys the form tokens of visitors who are not signed in (see `auth`).
    pub form_key: [u8; 32],
    /// Leak reports from secret scanners: what they do, and who may send them.
    pub leaks: crate::web::leaks::LeakIntake,
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
