//! Starts the real console on a free port with a fresh SQLite database, and
//! drives it over HTTP like a browser would (cookies kept, redirects visible).
#![allow(dead_code)]

pub mod plans;
pub mod receiver;
pub mod scanner;
pub mod server_process;

use latchkey::config::{ServeArgs, StorageArgs};
use latchkey::db::{self, DbPool};
use latchkey::domain::password;
use latchkey::domain::role::Role;
use latchkey::startup::Application;
use reqwest::{Client, Response, StatusCode, redirect};
use tempfile::TempDir;

pub const PASSWORD: &str = "violet kettle under the stairs";

/// Where PostgreSQL test databases are created. Trust authentication, as on
/// this project's machines; override with LATCHKEY_TEST_POSTGRES.
pub const DEFAULT_POSTGRES: &str = "postgres://127.0.0.1:5432";

/// Neither TLS nor GSSAPI encryption to the local test server: libpq sets
/// both up on the pool's background threads, and a connection still doing so
/// when a test process exits can abort it in the libraries' exit-time
/// clean-up (seen: krb5's `krb5int_getspecific` assertion).
const LOCAL_PG: &str = "sslmode=disable&gssencmode=disable";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each named test, an `async fn(Backend)`, once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[actix_web::test]
                async fn sqlite() {
                    super::$name($crate::common::Backend::Sqlite).await
                }

                #[actix_web::test]
                async fn postgres() {
                    super::$name($crate::common::Backend::Postgres).await
                }
            }
        )*
    };
}

/// A fresh PostgreSQL database for one test, dropped when the test ends.
pub struct PgDatabase {
    server: String,
    name: String,
    pub url: String,
}

impl PgDatabase {
    pub fn create() -> PgDatabase {
        use diesel::Connection;
        use diesel::connection::SimpleConnection;
        let server =
            std::env::var("LATCHKEY_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_POSTGRES.to_owned());
        let name = format!("latchkey_test_{}", db::new_row_id());
        let mut admin = diesel::PgConnection::establish(&format!("{server}/postgres?{LOCAL_PG}")).unwrap_or_else(|e| {
            panic!(
                "PostgreSQL is not reachable at {server}: {e}\n\
                 The test suite runs every integration test on PostgreSQL too. Start it with\n  \
                 pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n\
                 or point LATCHKEY_TEST_POSTGRES at a server (trust authentication, CREATE DATABASE allowed)."
            )
        });
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("CREATE DATABASE");
        PgDatabase {
            url: format!("{server}/{name}?{LOCAL_PG}"),
            server,
            name,
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        use diesel::Connection;
        use diesel::connection::SimpleConnection;
        if let Ok(mut admin) =
            diesel::PgConnection::establish(&format!("{}/postgres?{LOCAL_PG}", self.server))
        {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

pub struct TestApp {
    /// What every handler shares, for tests that assemble an app themselves.
    pub state: actix_web::web::Data<latchkey::web::state::AppState>,
    /// The console's clock: tests move it forward to check timeouts.
    pub clock: std::sync::Arc<latchkey::web::clock::Clock>,
    pub base: String,
    pub pool: DbPool,
    pub setup_url: Option<String>,
    pub backend: Backend,
    storage: StorageArgs,
    serve: ServeArgs,
    /// The webhook worker, until `stop_webhooks`.
    webhooks: std::sync::Mutex<Option<latchkey::delivery::WebhookWorker>>,
    // Dropped last: the database outlives the pool that uses it.
    pub dir: TempDir,
    pub postgres: Option<PgDatabase>,
}

/// Makes the URL the console uses from its test database's own URL.
type Route = dyn Fn(&str) -> String;
/// Changes `serve` settings before the console starts.
type Configure = dyn FnOnce(&mut ServeArgs);

#[derive(Default)]
struct Options {
    catalogue: Option<String>,
    route: Option<Box<Route>>,
    trusted_proxies: String,
    https: bool,
    serve: Option<Box<Configure>>,
}

/// Another console on the same database and secrets, as after a restart or
/// behind the same load balancer.
pub struct Instance {
    pub base: String,
    pub setup_url: Option<String>,
    /// The clock, shared with the first instance.
    pub clock: std::sync::Arc<latchkey::web::clock::Clock>,
    /// Its webhook worker (stop it to take the instance's worker away).
    pub webhooks: Option<latchkey::delivery::WebhookWorker>,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, Options::default())
    }

    /// Starts a console on a fresh PostgreSQL database, reached through the
    /// URL `route` makes of the database's own (through a proxy, say).
    pub async fn spawn_postgres_via(route: impl Fn(&str) -> String + 'static) -> TestApp {
        Self::spawn_with(
            Backend::Postgres,
            Options {
                route: Some(Box::new(route)),
                ..Options::default()
            },
        )
    }

    /// Starts a console whose key type catalogue is this TOML text.
    pub async fn spawn_with_catalogue(backend: Backend, toml: &str) -> TestApp {
        Self::spawn_with(
            backend,
            Options {
                catalogue: Some(toml.to_owned()),
                ..Options::default()
            },
        )
    }

    /// Starts a console configured as served over HTTPS (behind a TLS proxy).
    pub async fn spawn_https(backend: Backend) -> TestApp {
        Self::spawn_with(
            backend,
            Options {
                https: true,
                ..Options::default()
            },
        )
    }

    /// Starts a console that believes X-Forwarded-For from these proxies.
    pub async fn spawn_trusting(backend: Backend, proxies: &str) -> TestApp {
        Self::spawn_with(
            backend,
            Options {
                trusted_proxies: proxies.to_owned(),
                ..Options::default()
            },
        )
    }

    /// Starts a console with `serve` settings changed by `configure`.
    pub async fn spawn_with_serve(
        backend: Backend,
        configure: impl FnOnce(&mut ServeArgs) + 'static,
    ) -> TestApp {
        Self::spawn_with(
            backend,
            Options {
                serve: Some(Box::new(configure)),
                ..Options::default()
            },
        )
    }

    fn spawn_with(backend: Backend, options: Options) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let postgres = (backend == Backend::Postgres).then(PgDatabase::create);
        let database_url = match &postgres {
            Some(pg) => match &options.route {
                Some(route) => route(&pg.url),
                None => pg.url.clone(),
            },
            None => dir
                .path()
                .join("latchkey.db")
                .to_string_lossy()
                .into_owned(),
        };
        let key_types = options.catalogue.map(|toml| {
            let path = dir.path().join("key_types.toml");
            std::fs::write(&path, toml).unwrap();
            path
        });
        let storage = StorageArgs {
            database_url,
            secrets_file: Some(dir.path().join("latchkey.secrets")),
            pool_size: 8,
            db_timeout: 2,
        };
        let mut serve = ServeArgs {
            bind: "127.0.0.1:0".parse().unwrap(),
            public_url: None,
            key_types,
            trusted_proxies: options.trusted_proxies,
            https: options.https,
            session_idle_minutes: 30,
            session_max_hours: 12,
            workers: Some(2),
            password_workers: None,
            leaked_keys: latchkey::config::LeakedKeys::Disable,
            github_public_keys: None,
            github_public_keys_url: None,
            github_public_keys_refresh_minutes: 60,
            gitlab_revocation_token_file: None,
            gitlab_revocation_rate_limit: 60,
            require_2fa: latchkey::domain::two_factor::Policy::Administrators,
        };
        if let Some(configure) = options.serve {
            configure(&mut serve);
        }
        let app = Application::build(&storage, &serve).expect("the console starts");
        register_clock(&format!("http://{}", app.addr), &app.clock);
        let test_app = TestApp {
            state: app.state.clone(),
            clock: app.clock.clone(),
            base: format!("http://{}", app.addr),
            pool: app.pool.clone(),
            setup_url: app.setup_url.clone(),
            backend,
            storage,
            serve,
            webhooks: std::sync::Mutex::new(Some(app.webhooks)),
            dir,
            postgres,
        };
        actix_web::rt::spawn(app.server);
        test_app
    }

    /// Another instance on the same database, secrets and clock.
    pub fn another_instance(&self) -> Instance {
        let app = Application::build_on(&self.storage, &self.serve, self.clock.clone())
            .expect("the console starts");
        register_clock(&format!("http://{}", app.addr), &app.clock);
        let instance = Instance {
            base: format!("http://{}", app.addr),
            setup_url: app.setup_url.clone(),
            clock: app.clock.clone(),
            webhooks: Some(app.webhooks),
        };
        actix_web::rt::spawn(app.server);
        instance
    }

    /// Stops this console's webhook worker and waits for its pass to end,
    /// as a shutdown does. The console itself keeps serving.
    pub fn stop_webhooks(&self) {
        if let Some(worker) = self.webhooks.lock().unwrap().take() {
            worker.stop();
        }
    }

    /// Posts a verification request; returns the status and the JSON answer.
    pub async fn verify(&self, body: serde_json::Value) -> (StatusCode, serde_json::Value) {
        let response = Client::new()
            .post(format!("{}/api/v1/keys/verify", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap())
    }

    pub fn database_url(&self) -> &str {
        &self.storage.database_url
    }

    pub fn conn(&self) -> db::PooledConn {
        self.pool.get().expect("a database connection")
    }

    /// Adds a user straight into the database. A user the two-factor policy
    /// covers gets the tests' authenticator ([`TOTP_SECRET`]), as if they
    /// had set it up: `Browser::login` signs them in with its codes.
    pub async fn add_user(&self, email: &str, role: Role) {
        let pool = self.pool.clone();
        let email = email.to_owned();
        let sealed = self.state.two_factor.covers(role).then(|| {
            let secret = test_authenticator(&email);
            (self.state.clone(), secret)
        });
        actix_web::rt::task::spawn_blocking(move || {
            let hash = password::hash(PASSWORD);
            let id = db::new_row_id();
            db::users::insert(
                &mut pool.get().unwrap(),
                &db::users::NewUser {
                    id: &id,
                    email: &email,
                    password_hash: &hash,
                    role: role.as_str(),
                    disabled: false,
                    created_at: db::now(),
                },
            )
            .unwrap();
            if let Some((state, secret)) = sealed {
                let conn = &mut pool.get().unwrap();
                let sealed = latchkey::web::two_factor::seal(&state, &id, &secret);
                db::two_factor::set_pending(conn, &id, &sealed).unwrap();
                assert!(db::two_factor::confirm(conn, &id, &sealed, 0, &[], db::now()).unwrap());
            }
        })
        .await
        .unwrap();
    }

    pub fn browser(&self) -> Browser {
        Browser::new(&self.base).on_clock(self.clock.clone())
    }

    /// A browser whose requests say (through a trusted proxy's
    /// X-Forwarded-For) they come from `address`. Needs `spawn_trusting`.
    pub fn browser_from(&self, address: &str) -> Browser {
        Browser::from_address(&self.base, address).on_clock(self.clock.clone())
    }

    /// A browser signed in as a new user with this role (an Administrator
    /// with their password and a two-factor code).
    pub async fn signed_in(&self, role: Role) -> Browser {
        // Digits only after the role: a random hex part sometimes spelt a
        // word a test filters by ("ada", "dead"…) and selected this user too.
        let unique = u64::from_str_radix(&db::new_row_id()[..15], 16).unwrap();
        let email = format!("{}-{unique}@example.com", role.as_str());
        self.add_user(&email, role).await;
        let browser = self.browser();
        let response = browser.login(&email, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "login as {role}");
        assert_ne!(
            location(&response),
            latchkey::web::two_factor::SETUP_PAGE,
            "{role} signed in without being sent to set up two-factor"
        );
        browser
    }

    /// After 20 racing generate requests for UCD with 3 keys already there:
    /// exactly 2 were created, 18 refused, and 5 keys are active.
    pub fn assert_two_of_twenty_won_the_ucd_race(&self, statuses: &[StatusCode]) {
        assert_eq!(created_and_conflicts(statuses), (2, 18), "{statuses:?}");
        let active = db::keys::active_count(&mut self.conn(), "ucd", "default", db::now()).unwrap();
        assert_eq!(active, 5);
    }

    pub fn audit_actions(&self) -> Vec<String> {
        db::audit::recent(&mut self.conn(), 1000)
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect()
    }
}

pub struct Browser {
    pub client: Client,
    pub base: String,
    /// The session's form token, as the last page showed it.
    csrf: std::sync::Arc<std::sync::Mutex<Option<String>>>,
    /// The console's clock, for two-factor codes (the system's without one).
    clock: Option<std::sync::Arc<latchkey::web::clock::Clock>>,
}

/// Each running console's clock, by its base URL: a `Browser` for a console
/// makes its two-factor codes on that console's clock.
type Clocks = std::collections::HashMap<String, std::sync::Arc<latchkey::web::clock::Clock>>;
static CLOCKS: std::sync::Mutex<Option<Clocks>> = std::sync::Mutex::new(None);

fn register_clock(base: &str, clock: &std::sync::Arc<latchkey::web::clock::Clock>) {
    CLOCKS
        .lock()
        .unwrap()
        .get_or_insert_with(Default::default)
        .insert(base.to_owned(), clock.clone());
}

fn clock_for(base: &str) -> Option<std::sync::Arc<latchkey::web::clock::Clock>> {
    CLOCKS.lock().unwrap().as_ref()?.get(base).cloned()
}

/// The tests' authenticator app: every user `add_user` enrols shares this
/// secret (20 bytes, as Latchkey makes them).
pub const TOTP_SECRET: &[u8; 20] = b"latchkey-tests-totp!";

pub fn test_authenticator(email: &str) -> latchkey::domain::two_factor::TotpSecret {
    latchkey::domain::two_factor::TotpSecret::from_bytes(TOTP_SECRET.to_vec(), email).unwrap()
}

/// Secrets set up through the page (`enrol_two_factor`), per console and account.
type Secrets = std::collections::HashMap<(usize, String), Vec<u8>>;
static ENROLLED: std::sync::Mutex<Option<Secrets>> = std::sync::Mutex::new(None);

/// The authenticator holding this account's secret: one set up through the
/// page, or the tests' shared one.
fn authenticator_for(key: &(usize, String)) -> latchkey::domain::two_factor::TotpSecret {
    let enrolled = ENROLLED
        .lock()
        .unwrap()
        .as_ref()
        .and_then(|m| m.get(key).cloned());
    match enrolled {
        Some(bytes) => latchkey::domain::two_factor::TotpSecret::from_bytes(bytes, &key.1).unwrap(),
        None => test_authenticator(&key.1),
    }
}

/// The last time step whose code the tests used, per console (its clock,
/// which its instances share) and account: each code works once, so the
/// next sign-in takes a later one.
static USED_STEPS: std::sync::Mutex<Option<std::collections::HashMap<(usize, String), u64>>> =
    std::sync::Mutex::new(None);

impl Browser {
    pub fn new(base: &str) -> Browser {
        Browser {
            client: Client::builder()
                .cookie_store(true)
                .redirect(redirect::Policy::none())
                .build()
                .unwrap(),
            base: base.to_owned(),
            csrf: Default::default(),
            clock: clock_for(base),
        }
    }

    /// Codes are made on this clock (the console's), not the system's.
    pub fn on_clock(mut self, clock: std::sync::Arc<latchkey::web::clock::Clock>) -> Browser {
        self.clock = Some(clock);
        self
    }

    /// Puts the secret a setup page shows (base32, spaces allowed) into the
    /// tests' authenticator for `email` on this console, as a person types
    /// it into their app; `next_code` makes its codes from then on.
    pub fn remember_authenticator(&self, email: &str, shown: &str) {
        let secret = totp_rs::Secret::try_from_base32(shown.replace(' ', ""))
            .expect("the text secret is base32");
        ENROLLED
            .lock()
            .unwrap()
            .get_or_insert_with(Default::default)
            .insert(self.account_key(email), secret.as_ref().to_vec());
    }

    /// The secret the tests' authenticator holds for `email`, in base32.
    pub fn authenticator_secret(&self, email: &str) -> String {
        let secret = authenticator_for(&self.account_key(email));
        totp_rs::Secret::from(secret.bytes().to_vec()).to_base32()
    }

    /// Names an account of this console (by its clock) for the authenticator.
    fn account_key(&self, email: &str) -> (usize, String) {
        let console = self
            .clock
            .as_ref()
            .map_or(0, |c| std::sync::Arc::as_ptr(c) as usize);
        (console, email.to_owned())
    }

    /// Unix seconds on the console's clock.
    pub fn now(&self) -> u64 {
        let now = match &self.clock {
            Some(clock) => clock.unix(),
            None => db::now().and_utc().timestamp(),
        };
        u64::try_from(now).unwrap()
    }

    /// The tests' authenticator's next unused code for `email`: the current
    /// step's, or the next step's (accepted as clock skew) when the current
    /// one was used. When both were, the console's clock moves on a step
    /// (the system's is waited for).
    pub async fn next_code(&self, email: &str) -> String {
        let key = self.account_key(email);
        loop {
            let now = self.now();
            let current = now / 30;
            {
                let mut used = USED_STEPS.lock().unwrap();
                let used = used.get_or_insert_with(Default::default);
                let step = match used.get(&key) {
                    Some(&last) if last >= current => last + 1,
                    _ => current,
                };
                if step <= current + 1 {
                    used.insert(key.clone(), step);
                    return authenticator_for(&key).code_at(step * 30);
                }
            }
            match &self.clock {
                Some(clock) => clock.advance(chrono::Duration::seconds(30)),
                None => {
                    actix_web::rt::time::sleep(std::time::Duration::from_secs(30 - now % 30)).await
                }
            }
        }
    }

    /// Sets up two-factor through Account › Two-factor as a person does:
    /// reads the secret shown beside the QR code into an authenticator (kept
    /// here under the console and `email`, for later codes), confirms with its
    /// code, and returns the recovery codes shown once.
    pub async fn enrol_two_factor(&self, email: &str) -> Vec<String> {
        let response = self.post("/account/two-factor/setup", &[]).await;
        assert_eq!(response.status(), StatusCode::OK, "setup page");
        let page = response.text().await.unwrap();
        assert!(page.contains("<svg"), "the QR code is drawn on the page");
        let shown = page
            .split("id=\"totp-secret\" class=\"secret-value\">")
            .nth(1)
            .and_then(|rest| rest.split('<').next())
            .expect("the secret is shown as text");
        self.remember_authenticator(email, shown);
        let code = self.next_code(email).await;
        let response = self
            .post("/account/two-factor/confirm", &[("code", &code)])
            .await;
        assert_eq!(response.status(), StatusCode::OK, "two-factor confirmed");
        let page = response.text().await.unwrap();
        page.split("<li><code>")
            .skip(1)
            .filter_map(|rest| rest.split('<').next())
            .map(str::to_owned)
            .collect()
    }

    /// Signs in with the password and, when asked, the next code of the
    /// tests' authenticator. Returns the last response (a 303 when signed in).
    pub async fn login(&self, email: &str, password: &str) -> Response {
        let response = self
            .post("/login", &[("email", email), ("password", password)])
            .await;
        if response.status() != StatusCode::SEE_OTHER
            || location(&response) != latchkey::web::two_factor::sign_in::PAGE
        {
            return response;
        }
        let code = self.next_code(email).await;
        self.post(latchkey::web::two_factor::sign_in::PAGE, &[("code", &code)])
            .await
    }

    pub fn from_address(base: &str, address: &str) -> Browser {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-forwarded-for", address.parse().unwrap());
        Browser {
            client: Client::builder()
                .cookie_store(true)
                .redirect(redirect::Policy::none())
                .default_headers(headers)
                .build()
                .unwrap(),
            base: base.to_owned(),
            csrf: Default::default(),
            clock: clock_for(base),
        }
    }

    /// The same browser (cookies, session, form token) pointed at another instance.
    pub fn sharing(other: &Browser, base: &str) -> Browser {
        Browser {
            client: other.client.clone(),
            base: base.to_owned(),
            csrf: other.csrf.clone(),
            clock: other.clock.clone(),
        }
    }

    /// The session's form token, read from a page as a person's browser would.
    pub async fn csrf_token(&self) -> String {
        if let Some(token) = self.csrf.lock().unwrap().clone() {
            return token;
        }
        let page = self.html("/login").await;
        let token = page
            .split("name=\"csrf_token\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("the sign-in page carries a form token")
            .to_owned();
        *self.csrf.lock().unwrap() = Some(token.clone());
        token
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{}", self.base, path)
        }
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    /// The body of a page, whatever its status.
    pub async fn html(&self, path: &str) -> String {
        self.get(path).await.text().await.expect("a text body")
    }

    /// Posts a form the way the console's own pages do, with the session's form token.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Response {
        let token = self.csrf_token().await;
        let mut fields = form.to_vec();
        fields.push(("csrf_token", &token));
        let response = self
            .client
            .post(self.url(path))
            .form(&fields)
            .send()
            .await
            .expect("POST");
        // Signing in (also through setup or a password change) or out starts a
        // new session, with a new token.
        let signs_in =
            ["/login", "/login/two-factor", "/setup", "/account/password"].contains(&path);
        let session_changed =
            (signs_in && response.status() == StatusCode::SEE_OTHER) || path == "/logout";
        if session_changed {
            *self.csrf.lock().unwrap() = None;
        }
        response
    }

    /// Posts step one of the generate flow with this type and name, and the
    /// expiry the form preselects for the type (its default), as a person
    /// who leaves it alone does.
    pub async fn submit_details(&self, type_code: &str, name: &str) -> Response {
        let form = self
            .html(&format!("/settings/integrations/keys/new?type={type_code}"))
            .await;
        let expires = checked_value(&form, "expires").unwrap_or_else(|| "never".to_owned());
        let expires_on = input_value(&form, "expires_on").unwrap_or_default();
        self.post(
            "/settings/integrations/keys/new",
            &[
                ("type_code", type_code),
                ("name", name),
                ("contact_email", "ops@example.com"),
                ("expires", &expires),
                ("expires_on", &expires_on),
            ],
        )
        .await
    }

    /// Step one of the generate flow; returns step two's address.
    pub async fn start_generate(&self, type_code: &str, name: &str) -> String {
        let response = self.submit_details(type_code, name).await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "step one accepted"
        );
        location(&response)
    }

    /// Both steps; returns the page with the modal.
    pub async fn generate(
        &self,
        type_code: &str,
        name: &str,
        trusted_ips: &str,
    ) -> (StatusCode, String) {
        let step_two = self.start_generate(type_code, name).await;
        let response = self.post(&step_two, &[("trusted_ips", trusted_ips)]).await;
        let status = response.status();
        (status, response.text().await.unwrap())
    }

    /// Generates a key and returns the token shown in the modal.
    pub async fn generate_token(&self, type_code: &str, name: &str) -> String {
        let (status, page) = self.generate(type_code, name, "").await;
        assert_eq!(status, StatusCode::CREATED, "generated: {page}");
        input_value(&page, "revealed-key").expect("the modal shows the key")
    }
}

/// How many of `statuses` are 201 Created and how many 409 Conflict.
pub fn created_and_conflicts(statuses: &[StatusCode]) -> (usize, usize) {
    let count = |wanted| statuses.iter().filter(|s| **s == wanted).count();
    (count(StatusCode::CREATED), count(StatusCode::CONFLICT))
}

pub fn location(response: &Response) -> String {
    response
        .headers()
        .get("location")
        .expect("a Location header")
        .to_str()
        .unwrap()
        .to_owned()
}

/// The `value` of the input with this id.
pub fn input_value(html: &str, id: &str) -> Option<String> {
    let start = html.find(&format!("id=\"{id}\""))?;
    let tag_end = start + html[start..].find('>')?;
    let tag = &html[start..tag_end];
    let value = tag.split("value=\"").nth(1)?;
    Some(value[..value.find('"')?].to_owned())
}

/// The value of the checked radio button named `name`.
pub fn checked_value(html: &str, name: &str) -> Option<String> {
    html.split(&format!("name=\"{name}\" value=\""))
        .skip(1)
        .find(|rest| rest[..rest.find('>').unwrap_or(rest.len())].contains(" checked"))
        .and_then(|rest| rest.split('"').next())
        .map(str::to_owned)
}

/// The hrefs of links whose href starts with `prefix`.
pub fn links(html: &str, prefix: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|href| href.starts_with(prefix))
        .map(str::to_owned)
        .collect()
}
