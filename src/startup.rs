//! Wiring for `serve`: database, secrets, catalogue, session store, routes.

use std::net::{SocketAddr, TcpListener};

use actix_session::SessionMiddleware;
use actix_session::config::{BrowserSession, CookieContentSecurity};
use actix_web::cookie::{Key, SameSite, time::Duration};
use actix_web::dev::Server;
use actix_web::middleware::{Logger, from_fn};
use actix_web::{App, HttpServer, web};
use anyhow::Context;

use crate::config::{ServeArgs, StorageArgs};
use crate::db::{self, DatabaseLocation, DbPool};
use crate::domain::crypto::sha256_hex;
use crate::domain::key_type::Catalogue;
use crate::domain::token::random_token;
use crate::secrets::ServerSecrets;
use crate::web::error::{AppError, render_outer_errors};
use crate::web::session_store::DbSessionStore;
use crate::web::state::AppState;
use crate::web::{auth, routes};

pub const SESSION_COOKIE: &str = "latchkey_session";
/// How long a session lasts without being used.
pub const SESSION_TTL: Duration = Duration::hours(12);
/// Largest form body accepted (the trusted IP list is the biggest field).
const FORM_LIMIT: usize = 64 * 1024;

/// A configured console, bound to its port but not yet serving.
pub struct Application {
    pub server: Server,
    pub addr: SocketAddr,
    /// Present when the database has no users: the one-time link to create the first Administrator.
    pub setup_url: Option<String>,
    pub pool: DbPool,
}

impl Application {
    pub fn build(storage: &StorageArgs, serve: &ServeArgs) -> anyhow::Result<Self> {
        let location = DatabaseLocation::parse(&storage.database_url)?;
        let pool = db::connect(&location, storage.pool_size, storage.db_wait())?;
        let secrets_path = storage
            .secrets_file
            .clone()
            .unwrap_or_else(|| location.default_secrets_path());
        let secrets = ServerSecrets::load(&secrets_path)?;
        let catalogue = match &serve.key_types {
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| {
                    format!("reading the key type catalogue {}", path.display())
                })?;
                Catalogue::parse(&text).with_context(|| format!("in {}", path.display()))?
            }
            None => Catalogue::default_catalogue(),
        };

        let listener =
            TcpListener::bind(serve.bind).with_context(|| format!("binding {}", serve.bind))?;
        let addr = listener.local_addr()?;
        let setup_url = open_setup_link(&pool)?
            .map(|token| format!("{}/setup?token={token}", serve.public_url(addr)));

        let state = web::Data::new(AppState {
            pool: pool.clone(),
            catalogue,
            hasher: secrets.hasher(),
            secret_box: secrets.secret_box(),
        });
        let session_key = Key::from(&secrets.session_key);
        let store = DbSessionStore::new(pool.clone());
        let mut server = HttpServer::new(move || {
            let sessions = SessionMiddleware::builder(store.clone(), session_key.clone())
                .cookie_name(SESSION_COOKIE.to_owned())
                .cookie_same_site(SameSite::Strict)
                .cookie_http_only(true)
                .cookie_secure(false)
                .cookie_content_security(CookieContentSecurity::Private)
                .session_lifecycle(BrowserSession::default().state_ttl(SESSION_TTL))
                .build();
            App::new()
                .app_data(state.clone())
                .app_data(extractor_errors::form())
                .app_data(extractor_errors::query())
                .app_data(extractor_errors::path())
                .configure(routes::register)
                .default_service(web::to(routes::not_found))
                .wrap(from_fn(auth::authorize))
                .wrap(sessions)
                .wrap(from_fn(render_outer_errors))
                // The path only: query strings may carry the one-time setup token.
                .wrap(
                    Logger::new(r#"%a "%{r}xi" %s %b %Dms"#).custom_request_replace("r", |req| {
                        format!("{} {}", req.method(), req.path())
                    }),
                )
        })
        .listen(listener)?;
        if let Some(workers) = serve.workers {
            server = server.workers(workers);
        }
        Ok(Application {
            server: server.run(),
            addr,
            setup_url,
            pool,
        })
    }
}

/// With no users yet, makes a fresh one-time setup token (only its hash is stored).
fn open_setup_link(pool: &DbPool) -> anyhow::Result<Option<String>> {
    let mut conn = pool.get()?;
    if db::users::count(&mut conn)? > 0 {
        return Ok(None);
    }
    let token = random_token();
    db::setup::add_token(&mut conn, &sha256_hex(&token))?;
    Ok(Some(token))
}

/// `latchkey serve`: runs until interrupted.
pub fn serve(storage: StorageArgs, serve: ServeArgs) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(&storage, &serve)?;
        log::info!("Latchkey is listening on http://{}", app.addr);
        if let Some(url) = &app.setup_url {
            log::warn!(
                "No users yet. Open this one-time link to create the first Administrator: {url}"
            );
        }
        app.server.await.context("serving")
    })
}

/// Malformed forms, queries and paths become a 400 page that says what was wrong.
mod extractor_errors {
    use super::*;

    pub fn form() -> web::FormConfig {
        web::FormConfig::default()
            .limit(FORM_LIMIT)
            .error_handler(|err, _| {
                AppError::BadRequest(format!("The form could not be read: {err}.")).into()
            })
    }

    pub fn query() -> web::QueryConfig {
        web::QueryConfig::default().error_handler(|err, _| {
            AppError::BadRequest(format!(
                "The address has a parameter that could not be read: {err}."
            ))
            .into()
        })
    }

    pub fn path() -> web::PathConfig {
        web::PathConfig::default().error_handler(|err, _| {
            AppError::BadRequest(format!("The address could not be read: {err}.")).into()
        })
    }
}
