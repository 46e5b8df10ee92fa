//! Wiring for `serve`: database, secrets, catalogue, session store, routes.

use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use actix_session::SessionMiddleware;
use actix_session::config::{BrowserSession, CookieContentSecurity};
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::Server;
use actix_web::middleware::{DefaultHeaders, Logger, from_fn};
use actix_web::{App, HttpServer, web};
use anyhow::Context;

use crate::config::{ServeArgs, StorageArgs};
use crate::db::{self, DatabaseLocation, DbPool};
use crate::delivery::WebhookWorker;
use crate::domain::crypto::sha256_hex;
use crate::domain::ip_allowlist::IpAllowlist;
use crate::domain::key_type::Catalogue;
use crate::domain::session_policy::SessionPolicy;
use crate::domain::token::random_token;
use crate::secrets::ServerSecrets;
use crate::verifier::Verifier;
use crate::web::clock::Clock;
use crate::web::error::{AppError, SECURITY_HEADERS, render_outer_errors};
use crate::web::password_workers::{self, PasswordWorkers};
use crate::web::session_store::DbSessionStore;
use crate::web::state::AppState;
use crate::web::{auth, routes};

/// Named for the product, not the stack; `__Host-` (which browsers only accept
/// from a secure origin, for the whole host) when served over HTTPS.
pub const SESSION_COOKIE: &str = "latchkey_session";
pub const SECURE_SESSION_COOKIE: &str = "__Host-latchkey_session";
/// Largest form body accepted (the trusted IP list is the biggest field).
const FORM_LIMIT: usize = 64 * 1024;

/// A configured console, bound to its port but not yet serving.
pub struct Application {
    pub server: Server,
    pub addr: SocketAddr,
    /// Present when the database has no users: the one-time link to create the first Administrator.
    pub setup_url: Option<String>,
    pub pool: DbPool,
    pub verifier: Arc<Verifier>,
    pub background: Background,
    /// Sends webhooks from the outbox and enqueues expiry reminders.
    pub webhooks: WebhookWorker,
    /// The console's clock; tests move it forward.
    pub clock: Arc<Clock>,
    /// What every handler shares, for tests that build an app of their own.
    pub state: web::Data<AppState>,
}

impl Application {
    pub fn build(storage: &StorageArgs, serve: &ServeArgs) -> anyhow::Result<Self> {
        Self::build_on(storage, serve, Arc::new(Clock::default()))
    }

    /// As `build`, on a clock shared with other instances (tests run several
    /// instances on one clock, as servers kept in time by NTP are).
    pub fn build_on(
        storage: &StorageArgs,
        serve: &ServeArgs,
        clock: Arc<Clock>,
    ) -> anyhow::Result<Self> {
        let location = DatabaseLocation::parse(&storage.database_url)?;
        let pool = db::connect(&location, storage.pool_size, storage.db_wait())?;
        let secrets_path = storage
            .secrets_file
            .clone()
            .unwrap_or_else(|| location.default_secrets_path());
        let secrets = ServerSecrets::load(&secrets_path)?;
        let catalogue = catalogue(serve)?;
        let leaks = crate::web::leaks::LeakIntake::configure(serve)?;

        let listener =
            TcpListener::bind(serve.bind).with_context(|| format!("binding {}", serve.bind))?;
        let addr = listener.local_addr()?;
        let setup_url = open_setup_link(&pool)?
            .map(|token| format!("{}/setup?token={token}", serve.public_url(addr)));

        let trusted_proxies = IpAllowlist::parse(&serve.trusted_proxies.replace(',', "\n"))
            .map_err(|errors| {
                anyhow::anyhow!(
                    "--trusted-proxies: {}",
                    errors
                        .iter()
                        .map(|e| format!("“{}” {}", e.text, e.message))
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            })?;
        let verifier = Arc::new(Verifier::new(
            secrets.hasher(),
            secrets.secret_box(),
            &catalogue,
        ));
        let loaded = verifier.load_all(&mut *pool.get()?)?;
        log::info!("{loaded} live API keys loaded for verification");
        let background = spawn_background(Arc::downgrade(&verifier), pool.clone());

        let session_policy = SessionPolicy {
            idle: chrono::Duration::minutes(i64::from(serve.session_idle_minutes)),
            lifetime: chrono::Duration::hours(i64::from(serve.session_max_hours)),
        };
        let webhooks =
            WebhookWorker::start(pool.clone(), secrets.secret_box(), Arc::downgrade(&clock));
        // Rows outlive the absolute lifetime by nothing: the store drops them then.
        let session_ttl =
            actix_web::cookie::time::Duration::hours(i64::from(serve.session_max_hours));
        let state = web::Data::new(AppState {
            pool: pool.clone(),
            catalogue,
            hasher: secrets.hasher(),
            secret_box: secrets.secret_box(),
            verifier: verifier.clone(),
            trusted_proxies,
            session_policy,
            two_factor: serve.require_2fa,
            clock: clock.clone(),
            passwords: PasswordWorkers::start(
                serve
                    .password_workers
                    .map_or_else(password_workers::default_workers, usize::from),
            ),
            https: serve.https,
            form_key: secrets.form_key(),
            leaks,
        });
        let session_key = Key::from(&secrets.session_key);
        let https = serve.https;
        let store = DbSessionStore::new(pool.clone());
        let shared = state.clone();
        let mut server = HttpServer::new(move || {
            let sessions = SessionMiddleware::builder(store.clone(), session_key.clone())
                .cookie_name(
                    if https {
                        SECURE_SESSION_COOKIE
                    } else {
                        SESSION_COOKIE
                    }
                    .to_owned(),
                )
                .cookie_same_site(SameSite::Strict)
                .cookie_http_only(true)
                .cookie_secure(https)
                .cookie_content_security(CookieContentSecurity::Private)
                .session_lifecycle(BrowserSession::default().state_ttl(session_ttl))
                .build();
            App::new()
                // Outermost, so API answers get them too; the console scope
                // below sets its fuller set first, and these never override it.
                .wrap(transport_headers(https))
                .app_data(state.clone())
                .app_data(extractor_errors::form())
                .app_data(extractor_errors::query())
                .app_data(extractor_errors::path())
                .app_data(extractor_errors::json())
                .configure(routes::register_api)
                .service(
                    web::scope("")
                        .configure(routes::register_console)
                        .default_service(web::to(routes::not_found))
                        .wrap(from_fn(auth::authorize))
                        .wrap(sessions)
                        .wrap(from_fn(render_outer_errors))
                        .wrap(security_headers(https))
                        // The path only: query strings may carry the one-time setup token.
                        .wrap(
                            Logger::new(r#"%a "%{r}xi" %s %b %Dms"#)
                                .custom_request_replace("r", |req| {
                                    format!("{} {}", req.method(), req.path())
                                }),
                        ),
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
            verifier,
            background,
            webhooks,
            clock,
            state: shared,
        })
    }
}

/// The built-in key type catalogue, or the one `--key-types` names.
pub fn catalogue(serve: &ServeArgs) -> anyhow::Result<Catalogue> {
    match &serve.key_types {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the key type catalogue {}", path.display()))?;
            Ok(Catalogue::parse(&text).with_context(|| format!("in {}", path.display()))?)
        }
        None => Ok(Catalogue::default_catalogue()),
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

/// Headers on every console page: a Content-Security-Policy with no inline
/// script or style and no framing, no MIME sniffing, no referrer, and HSTS
/// when served over HTTPS.
fn security_headers(https: bool) -> DefaultHeaders {
    let headers = SECURITY_HEADERS
        .iter()
        .fold(DefaultHeaders::new(), |headers, header| {
            headers.add(*header)
        });
    if https { headers.add(HSTS) } else { headers }
}

/// Headers for every response, the verification API's included: no MIME
/// sniffing, and HSTS when served over HTTPS. Two header inserts per answer.
fn transport_headers(https: bool) -> DefaultHeaders {
    let headers = DefaultHeaders::new().add(("X-Content-Type-Options", "nosniff"));
    if https { headers.add(HSTS) } else { headers }
}

const HSTS: (&str, &str) = (
    "Strict-Transport-Security",
    "max-age=63072000; includeSubDomains",
);

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
        app.server.await.context("serving")?;
        app.background.stop();
        app.webhooks.stop();
        // Graceful shutdown: the last usage counts are written before exit.
        let mut conn = app.pool.get().context("writing usage counts at shutdown")?;
        app.verifier
            .usage
            .flush(&mut conn)
            .context("writing usage counts at shutdown")?;
        Ok(())
    })
}

/// How often changes made by other instances are picked up.
const REFRESH_EVERY: Duration = Duration::from_millis(250);
/// Usage counts are written every this many refreshes (2 s).
const FLUSH_EVERY_REFRESHES: u32 = 8;
/// Sign-in counters and week-old request-log rows are swept every this many refreshes (1 min).
const SWEEP_EVERY_REFRESHES: u32 = 240;
/// SQLite's planner statistics are refreshed every this many refreshes (1 h).
const OPTIMIZE_EVERY_REFRESHES: u32 = 14_400;

/// The thread that keeps the verifier's keys current, writes usage counts and
/// the request log (pruning it), and sweeps expired signatures from the
/// replay table and week-old attempts from the request log.
pub struct Background {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl Background {
    /// Stops the thread and waits for it, so nothing touches the database
    /// while the process exits.
    pub fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.thread.join();
    }
}

/// Runs until stopped or until the verifier is dropped.
fn spawn_background(verifier: Weak<Verifier>, pool: DbPool) -> Background {
    let stop = Arc::new(AtomicBool::new(false));
    let stopping = stop.clone();
    let thread = std::thread::Builder::new()
        .name("latchkey-refresh".into())
        .spawn(move || {
            let mut tick = 0u32;
            let mut healthy = true;
            loop {
                std::thread::sleep(REFRESH_EVERY);
                if stopping.load(Ordering::SeqCst) {
                    return;
                }
                let Some(verifier) = verifier.upgrade() else {
                    return;
                };
                tick = tick.wrapping_add(1);
                let result = pool.get().map_err(|e| e.to_string()).and_then(|mut conn| {
                    verifier.refresh(&mut conn).map_err(|e| e.to_string())?;
                    if tick.is_multiple_of(FLUSH_EVERY_REFRESHES) {
                        verifier.usage.flush(&mut conn).map_err(|e| e.to_string())?;
                        verifier
                            .forget_old_signatures(&mut conn)
                            .map_err(|e| e.to_string())?;
                    }
                    if tick.is_multiple_of(SWEEP_EVERY_REFRESHES) {
                        db::throttle::sweep(&mut conn, db::now()).map_err(|e| e.to_string())?;
                        db::request_log::sweep(&mut conn, db::now()).map_err(|e| e.to_string())?;
                    }
                    if tick.is_multiple_of(OPTIMIZE_EVERY_REFRESHES) {
                        db::optimize(&mut conn).map_err(|e| e.to_string())?;
                    }
                    Ok(())
                });
                match result {
                    Err(e) if healthy => {
                        log::warn!("cannot refresh keys from the database (will keep trying): {e}");
                        healthy = false;
                    }
                    Ok(()) if !healthy => {
                        log::info!("key refresh from the database works again");
                        healthy = true;
                    }
                    _ => {}
                }
            }
        })
        .expect("the refresh thread starts");
    Background { stop, thread }
}

/// Malformed forms, queries and paths become a 400 page that says what was wrong.
mod extractor_errors {
    use super::*;

    pub fn form() -> web::FormConfig {
        web::FormConfig::default()
            .limit(FORM_LIMIT)
            .error_handler(|err, _| {
                use actix_web::error::UrlencodedError;
                match err {
                    UrlencodedError::Overflow { .. } => AppError::PayloadTooLarge.into(),
                    err => {
                        AppError::BadRequest(format!("The form could not be read: {err}.")).into()
                    }
                }
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

    /// The verification API answers in JSON, errors included.
    pub fn json() -> web::JsonConfig {
        web::JsonConfig::default()
            .limit(crate::web::api::MAX_BODY)
            .error_handler(|err, _| {
                use actix_web::error::JsonPayloadError;
                let status = match &err {
                    JsonPayloadError::OverflowKnownLength { .. }
                    | JsonPayloadError::Overflow { .. } => {
                        actix_web::http::StatusCode::PAYLOAD_TOO_LARGE
                    }
                    JsonPayloadError::ContentType => {
                        actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE
                    }
                    _ => actix_web::http::StatusCode::BAD_REQUEST,
                };
                let message =
                    format!("The request body could not be read as a verification request: {err}");
                actix_web::error::InternalError::from_response(
                    err,
                    crate::web::api::json_error(status, message),
                )
                .into()
            })
    }

    pub fn path() -> web::PathConfig {
        web::PathConfig::default().error_handler(|err, _| {
            AppError::BadRequest(format!("The address could not be read: {err}.")).into()
        })
    }
}
