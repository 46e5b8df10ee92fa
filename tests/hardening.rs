//! Access control by enumeration, security headers, error pages and asset caching.

mod common;

use common::{Backend, Browser, PASSWORD, TestApp, links, location};
use latchkey::domain::api_key;
use latchkey::domain::role::Role;
use latchkey::web::routes::all_routes;
use reqwest::StatusCode;

both_backends!(
    every_route_answers_each_role_as_the_written_table_says,
    a_route_registered_outside_the_table_is_refused,
    every_console_page_sends_the_security_headers,
    error_pages_are_the_consoles_own_and_say_nothing_internal,
    state_changes_without_the_sessions_form_token_are_refused,
    repeated_failed_sign_ins_slow_down_then_lock_the_account_from_that_address,
    sessions_end_when_idle_and_at_their_absolute_lifetime,
    signing_in_issues_a_new_session_identifier,
);

/// Who is asking: nobody, or a signed-in user of a role.
#[derive(Debug, Clone, Copy)]
enum Who {
    Anonymous,
    User(Role),
}

async fn browser_for(app: &TestApp, who: Who) -> Browser {
    match who {
        Who::Anonymous => app.browser(),
        Who::User(role) => {
            let email = format!("{}@example.com", role.as_str());
            let browser = app.browser();
            assert_eq!(
                browser.login(&email, PASSWORD).await.status(),
                StatusCode::SEE_OTHER
            );
            browser
        }
    }
}

/// Every route × who asks → the answer, written out rather than derived from
/// the route table or `Role::can`, so a change to either must change this too.
/// "303 /login" is "sign in first"; GET rows are tried with HEAD as well.
#[rustfmt::skip]
const ANSWERS: &[(&str, &str, [&str; 4])] = &[
    //                                                           anonymous     viewer  support administrator
    ("get", "/", ["303 /login", "303 /settings/integrations", "303 /settings/integrations", "303 /settings/integrations"]),
    ("get", "/healthz", ["200", "200", "200", "200"]),
    ("get", "/static/{file}", ["200", "200", "200", "200"]),
    ("get", "/login", ["200", "200", "200", "200"]),
    ("post", "/login", ["401", "401", "401", "401"]),
    ("post", "/logout", ["303 /login", "303 /login?signed_out=1", "303 /login?signed_out=1", "303 /login?signed_out=1"]),
    ("get", "/account/password", ["303 /login", "200", "200", "200"]),
    ("post", "/account/password", ["303 /login", "422", "422", "422"]),
    ("get", "/login/two-factor", ["303 /login", "303 /login", "303 /login", "303 /login"]),
    ("post", "/login/two-factor", ["303 /login", "303 /login", "303 /login", "303 /login"]),
    ("get", "/account/two-factor", ["303 /login", "200", "200", "200"]),
    ("post", "/account/two-factor/setup", ["303 /login", "200", "200", "200"]),
    // After the row above started a setup: no code sent, so 422.
    ("post", "/account/two-factor/confirm", ["303 /login", "422", "422", "422"]),
    ("post", "/account/two-factor/recovery-codes", ["303 /login", "422", "422", "422"]),
    ("post", "/account/two-factor/turn-off", ["303 /login", "422", "422", "409"]),
    ("get", "/account/sessions", ["303 /login", "200", "200", "200"]),
    ("post", "/account/sessions/end", ["303 /login", "303 /account/sessions", "303 /account/sessions", "303 /account/sessions"]),
    ("post", "/account/sessions/end-others", ["303 /login", "303 /account/sessions", "303 /account/sessions", "303 /account/sessions"]),
    ("get", "/setup", ["404", "404", "404", "404"]),
    ("post", "/setup", ["404", "404", "404", "404"]),
    ("get", "/audit", ["303 /login", "403", "200", "200"]),
    ("get", "/audit.csv", ["303 /login", "403", "200", "200"]),
    ("get", "/settings/integrations", ["303 /login", "200", "200", "200"]),
    ("post", "/settings/integrations/search", ["303 /login", "303 /settings/integrations", "303 /settings/integrations", "303 /settings/integrations"]),
    ("get", "/settings/integrations/keys.csv", ["303 /login", "403", "200", "200"]),
    ("get", "/settings/integrations/keys/new", ["303 /login", "403", "403", "200"]),
    ("post", "/settings/integrations/keys/new", ["303 /login", "403", "403", "422"]),
    ("get", "/settings/integrations/keys/new/{draft}", ["303 /login", "403", "403", "200"]),
    ("post", "/settings/integrations/keys/new/{draft}", ["303 /login", "403", "403", "201"]),
    ("get", "/settings/integrations/keys/{id}", ["303 /login", "403", "200", "200"]),
    ("post", "/settings/integrations/keys/{id}/rate-limit", ["303 /login", "403", "403", "303 /settings/integrations/keys/{id}"]),
    ("get", "/settings/integrations/keys/{id}/edit", ["303 /login", "403", "403", "200"]),
    ("post", "/settings/integrations/keys/{id}/edit", ["303 /login", "403", "403", "422"]),
    ("post", "/settings/integrations/keys/{id}/disable", ["303 /login", "403", "403", "303 /settings/integrations/keys/{id}"]),
    ("post", "/settings/integrations/keys/{id}/enable", ["303 /login", "403", "403", "303 /settings/integrations/keys/{id}"]),
    ("get", "/settings/integrations/keys/{id}/roll", ["303 /login", "403", "403", "200"]),
    ("post", "/settings/integrations/keys/{id}/roll", ["303 /login", "403", "403", "422"]),
    ("get", "/settings/integrations/keys/{id}/delete", ["303 /login", "403", "403", "200"]),
    ("post", "/settings/integrations/keys/{id}/delete", ["303 /login", "403", "403", "303 /settings/integrations"]),
    ("get", "/settings/webhooks", ["303 /login", "403", "403", "200"]),
    ("post", "/settings/webhooks", ["303 /login", "403", "403", "422"]),
    ("get", "/settings/webhooks/{endpoint}", ["303 /login", "403", "403", "200"]),
    ("get", "/settings/webhooks/{endpoint}/delete", ["303 /login", "403", "403", "200"]),
    ("post", "/settings/webhooks/{endpoint}/delete", ["303 /login", "403", "403", "303 /settings/webhooks"]),
    // {id} is a key's id here, no user's: nobody to change.
    ("get", "/settings/users", ["303 /login", "403", "403", "200"]),
    ("post", "/settings/users/{id}/role", ["303 /login", "403", "403", "400"]),
    ("post", "/settings/users/invite", ["303 /login", "403", "403", "422"]),
    ("get", "/invitations/accept", ["404", "404", "404", "404"]),
    ("post", "/invitations/accept", ["404", "404", "404", "404"]),
    ("post", "/settings/users/{id}/disable", ["303 /login", "403", "403", "404"]),
    ("post", "/settings/users/{id}/enable", ["303 /login", "403", "403", "404"]),
    ("get", "/settings/applications", ["303 /login", "403", "403", "200"]),
    ("post", "/settings/applications", ["303 /login", "403", "403", "422"]),
    ("post", "/settings/applications/{application}/rename", ["303 /login", "403", "403", "422"]),
    ("get", "/settings/applications/{application}/archive", ["303 /login", "403", "403", "404"]),
    ("post", "/settings/applications/{application}/archive", ["303 /login", "403", "403", "404"]),
    ("post", "/settings/applications/{application}/unarchive", ["303 /login", "403", "403", "404"]),
    ("post", "/settings/users/{id}/reset-two-factor", ["303 /login", "403", "403", "404"]),
    ("post", "/settings/users/{id}/end-sessions", ["303 /login", "403", "403", "404"]),
    ("get", "/settings/users/{id}/delete", ["303 /login", "403", "403", "404"]),
    ("post", "/settings/users/{id}/delete", ["303 /login", "403", "403", "404"]),
    ("post", "/api/v1/keys/verify", ["415", "415", "415", "415"]),
    ("get", "/api/v1/auth", ["401", "401", "401", "401"]),
    ("head", "/api/v1/auth", ["401", "401", "401", "401"]),
    ("post", "/api/v1/auth", ["401", "401", "401", "401"]),
    // Secret scanners' endpoints, not configured here: as if absent.
    ("post", "/api/v1/secret-scanning/github", ["404", "404", "404", "404"]),
    ("get", "/api/v1/gitlab/v1/revocable_token_types", ["404", "404", "404", "404"]),
    ("post", "/api/v1/gitlab/v1/revoke_tokens", ["404", "404", "404", "404"]),
];

async fn every_route_answers_each_role_as_the_written_table_says(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for role in Role::ALL {
        app.add_user(&format!("{}@example.com", role.as_str()), role)
            .await;
    }
    let admin = browser_for(&app, Who::User(Role::Administrator)).await;
    let token = admin.generate_token("ucd", "Matrix key").await;
    let key_id = api_key::parse(&token).unwrap().public_id.to_owned();
    let draft = admin.start_generate("tsms", "Matrix draft").await;
    let draft_id = draft.rsplit('/').next().unwrap().to_owned();
    let added = admin
        .post(
            "/settings/webhooks",
            &[
                ("url", "https://hooks.example.com/matrix"),
                ("events", "key.created"),
            ],
        )
        .await;
    assert_eq!(added.status(), StatusCode::CREATED);
    let endpoint_id = links(&added.text().await.unwrap(), "/settings/webhooks/")[0]
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();

    for route in all_routes() {
        assert!(
            ANSWERS
                .iter()
                .any(|(method, path, _)| *method == route.method && *path == route.path),
            "{} {} is not in the written table: add its row",
            route.method,
            route.path
        );
    }
    let mut wrong = Vec::new();
    for (method, pattern, answers) in ANSWERS {
        assert!(
            all_routes().any(|r| r.method == *method && r.path == *pattern),
            "{method} {pattern} is in the written table but not served"
        );
        let path = pattern
            .replace("{id}", &key_id)
            .replace("{draft}", &draft_id)
            .replace("{endpoint}", &endpoint_id)
            .replace("{application}", "app_unknown")
            .replace("{file}", "app.css");
        // Administrators last: their requests may delete the key.
        let who = [
            Who::Anonymous,
            Who::User(Role::Viewer),
            Who::User(Role::Support),
            Who::User(Role::Administrator),
        ];
        for (who, expected) in who.into_iter().zip(answers) {
            // A fresh browser each time, so signing out on /logout affects nothing else.
            let browser = browser_for(&app, who).await;
            let url = browser.url(&path);
            let mut tries = vec![*method];
            if *method == "get" {
                tries.insert(0, "head");
            }
            for tried in tries {
                let response = match tried {
                    "get" => browser.client.get(&url).send().await,
                    "head" => browser.client.head(&url).send().await,
                    "post" => Ok(browser.post(&url, &[("x", "")]).await),
                    other => panic!("the table does not know method {other}"),
                }
                .unwrap();
                let mut answer = response.status().as_u16().to_string();
                if response.status().is_redirection() {
                    answer = format!("{answer} {}", location(&response))
                        .replace(&key_id, "{id}")
                        .replace(&draft_id, "{draft}")
                        .replace(&endpoint_id, "{endpoint}");
                }
                if tried == "head" {
                    let body = response.bytes().await.unwrap();
                    assert!(body.is_empty(), "HEAD {pattern} as {who:?} has a body");
                }
                if answer != *expected {
                    wrong.push(format!(
                        "{tried} {pattern} as {who:?}: {answer}, expected {expected}"
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "answers differ:\n{}", wrong.join("\n"));
}

/// The route table cannot register a route without a rule, so the
/// middleware's fail-closed branch is proved with a route added by hand
/// beside the table, under the same session and access middleware.
async fn a_route_registered_outside_the_table_is_refused(backend: Backend) {
    use actix_session::SessionMiddleware;
    use actix_web::cookie::Key;
    use actix_web::middleware::from_fn;
    use actix_web::{App, HttpResponse, test, web};
    use latchkey::web::session_store::DbSessionStore;
    use latchkey::web::{auth, routes};

    let console = TestApp::spawn(backend).await;
    let sessions =
        SessionMiddleware::new(DbSessionStore::new(console.pool.clone()), Key::generate());
    let app = test::init_service(
        App::new().app_data(console.state.clone()).service(
            web::scope("")
                .configure(routes::register_console)
                .route(
                    "/outside-the-table",
                    web::route().to(|| async { HttpResponse::Ok().body("served") }),
                )
                .wrap(from_fn(auth::authorize))
                .wrap(sessions),
        ),
    )
    .await;
    // The status the server would send, whether the layers answered or erred.
    let status = |result: Result<actix_web::dev::ServiceResponse, actix_web::Error>| match result {
        Ok(response) => response.status().as_u16(),
        Err(error) => error.error_response().status().as_u16(),
    };
    for method in [actix_web::http::Method::GET, actix_web::http::Method::POST] {
        let request = test::TestRequest::default()
            .method(method.clone())
            .uri("/outside-the-table")
            .to_request();
        let answer = status(test::try_call_service(&app, request).await);
        assert_eq!(answer, 403, "{method} outside the table");
    }
    // The table's own routes pass the same middleware.
    let health = test::TestRequest::get().uri("/healthz").to_request();
    assert_eq!(status(test::try_call_service(&app, health).await), 200);
}

fn assert_security_headers(response: &reqwest::Response, context: &str) {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .unwrap_or_else(|| panic!("{name} missing on {context}"))
            .to_str()
            .unwrap()
            .to_owned()
    };
    let csp = header("content-security-policy");
    assert!(csp.contains("frame-ancestors 'none'"), "{context}: {csp}");
    assert!(
        csp.contains("script-src 'self'") && csp.contains("style-src 'self'"),
        "{context}"
    );
    assert!(!csp.contains("unsafe-inline"), "{context}");
    assert_eq!(header("x-content-type-options"), "nosniff", "{context}");
    assert_eq!(header("referrer-policy"), "no-referrer", "{context}");
}

async fn every_console_page_sends_the_security_headers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let token = admin.generate_token("ucd", "Headers").await;
    let id = api_key::parse(&token).unwrap().public_id.to_owned();
    let draft = admin.start_generate("tsms", "Headers draft").await;
    for path in [
        "/login".to_owned(),
        "/settings/integrations".to_owned(),
        "/settings/integrations/keys/new".to_owned(),
        draft,
        format!("/settings/integrations/keys/{id}"),
        format!("/settings/integrations/keys/{id}/delete"),
        "/no/such/page".to_owned(),
    ] {
        let response = admin.get(&path).await;
        assert_security_headers(&response, &path);
        assert!(
            response
                .headers()
                .get("strict-transport-security")
                .is_none()
        );
        let cache = response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(cache.contains("no-store"), "{path}: {cache}");
        let page = response.text().await.unwrap();
        assert!(!page.contains(" style="), "no inline style on {path}");
        assert_eq!(
            page.matches("<script").count(),
            page.matches("<script src=\"/static/").count(),
            "{path}"
        );
    }

    // Versioned assets are cached for a year; unversioned links are revalidated.
    let page = admin.html("/settings/integrations").await;
    let css = common::links(&page, "/static/app.css?v=")
        .pop()
        .expect("a versioned stylesheet link");
    let cached = admin.get(&css).await;
    assert!(
        cached.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    let bare = admin.get("/static/app.css").await;
    assert!(
        bare.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("no-cache")
    );

    // Over HTTPS: HSTS, and a Secure, host-only session cookie.
    let secure = TestApp::spawn_https(backend).await;
    secure.add_user("tls@example.com", Role::Viewer).await;
    let response = secure.browser().login("tls@example.com", PASSWORD).await;
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("__Host-latchkey_session="), "{cookie}");
    assert!(
        cookie.contains("Secure")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict")
    );
    let login_page = secure.browser().get("/login").await;
    assert!(
        login_page.headers()["strict-transport-security"]
            .to_str()
            .unwrap()
            .contains("max-age=")
    );
}

async fn error_pages_are_the_consoles_own_and_say_nothing_internal(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let viewer = app.signed_in(Role::Viewer).await;
    let admin = app.signed_in(Role::Administrator).await;
    let step_two = admin.start_generate("ucd", "Errors").await;
    let huge = "1".repeat(200_000);
    let cases = vec![
        (
            viewer.get("/no/such/page").await,
            StatusCode::NOT_FOUND,
            "Page not found",
        ),
        (
            viewer.get("/settings/integrations/keys/new").await,
            StatusCode::FORBIDDEN,
            "permission",
        ),
        (
            viewer
                .client
                .put(viewer.url("/login"))
                .send()
                .await
                .unwrap(),
            StatusCode::METHOD_NOT_ALLOWED,
            "Method not allowed",
        ),
        (
            admin.post(&step_two, &[("trusted_ips", &huge)]).await,
            StatusCode::PAYLOAD_TOO_LARGE,
            "Too much data",
        ),
        (
            viewer.get("/settings/integrations?sort=x").await,
            StatusCode::BAD_REQUEST,
            "The list cannot be sorted by",
        ),
    ];
    for (response, status, text) in cases {
        assert_eq!(response.status(), status);
        assert_security_headers(&response, &status.to_string());
        let page = response.text().await.unwrap();
        assert!(page.contains(text), "{status}: {page}");
        assert!(
            page.contains("<main id=\"main\""),
            "{status} uses the layout"
        );
        for internal in ["diesel", "sqlite", "postgres", "panicked", "src/", ".rs:"] {
            assert!(
                !page.to_lowercase().contains(internal),
                "{status} mentions {internal}"
            );
        }
    }
}

async fn state_changes_without_the_sessions_form_token_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let token = admin.generate_token("ucd", "Guarded").await;
    let id = api_key::parse(&token).unwrap().public_id.to_owned();
    let delete = admin.url(&format!("/settings/integrations/keys/{id}/delete"));
    let other = app.signed_in(Role::Administrator).await;
    let foreign_token = other.csrf_token().await;

    for (label, fields) in [
        ("no token", vec![]),
        ("a wrong token", vec![("csrf_token", "0".repeat(64))]),
        (
            "another session's token",
            vec![("csrf_token", foreign_token.clone())],
        ),
        ("an empty token", vec![("csrf_token", String::new())]),
    ] {
        let response = admin
            .client
            .post(&delete)
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{label}");
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("This form has expired"),
            "{label}"
        );
    }
    assert!(
        latchkey::db::keys::find(&mut app.conn(), &id)
            .unwrap()
            .is_some(),
        "nothing changed"
    );

    // Signing in without the sign-in page's token is refused too (login CSRF).
    app.add_user("csrf@example.com", Role::Viewer).await;
    let stranger = app.browser();
    let blind = stranger
        .client
        .post(stranger.url("/login"))
        .form(&[("email", "csrf@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(blind.status(), StatusCode::FORBIDDEN);

    // The token changes when a session signs in, so one seen before sign-in is useless after.
    let browser = app.browser();
    let before = browser.csrf_token().await;
    assert_eq!(
        browser.login("csrf@example.com", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let after = browser.csrf_token().await;
    assert_ne!(before, after);

    // With the token, the same delete goes through.
    assert_eq!(
        admin.post(&delete, &[]).await.status(),
        StatusCode::SEE_OTHER
    );
}

async fn repeated_failed_sign_ins_slow_down_then_lock_the_account_from_that_address(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    app.add_user("target@example.com", Role::Administrator)
        .await;
    app.add_user("colleague@example.com", Role::Viewer).await;
    let attacker = app.browser();
    let mut took = Vec::new();
    let mut pages = Vec::new();
    for _ in 0..5 {
        let started = std::time::Instant::now();
        let response = attacker
            .login("target@example.com", "wrong password guess")
            .await;
        took.push(started.elapsed());
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        pages.push(response.text().await.unwrap());
    }
    // The third failure on, answers are held back longer and longer.
    assert!(took[3] >= std::time::Duration::from_millis(250), "{took:?}");
    assert!(took[4] >= std::time::Duration::from_millis(500), "{took:?}");

    // Locked: even the right password is refused, with the same words.
    let right = attacker.login("target@example.com", PASSWORD).await;
    assert_eq!(right.status(), StatusCode::UNAUTHORIZED);
    // Pages differ only in their form token.
    let without_token = |page: String| {
        let (before, after) = page.split_once("name=\"csrf_token\" value=\"").unwrap();
        format!("{before}{}", &after[64..])
    };
    let locked_page = right.text().await.unwrap();
    assert_eq!(without_token(locked_page), without_token(pages[0].clone()));

    // An unknown account gets the same answer.
    let unknown = app
        .browser()
        .login("ghost@example.com", "wrong password guess")
        .await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        without_token(unknown.text().await.unwrap().replace("ghost@", "target@")),
        without_token(pages[0].clone())
    );

    // Other accounts from the same address still sign in.
    let colleague = app.browser().login("colleague@example.com", PASSWORD).await;
    assert_eq!(colleague.status(), StatusCode::SEE_OTHER);

    let actions = app.audit_actions();
    assert_eq!(
        actions.iter().filter(|a| *a == "auth.lockout").count(),
        1,
        "{actions:?}"
    );
}

async fn sessions_end_when_idle_and_at_their_absolute_lifetime(backend: Backend) {
    use chrono::Duration;
    let app = TestApp::spawn(backend).await;
    let idle = app.signed_in(Role::Viewer).await;
    let busy = app.signed_in(Role::Viewer).await;
    let signed_in = |b: &Browser| {
        let url = b.url("/settings/integrations");
        let client = b.client.clone();
        async move { client.get(url).send().await.unwrap().status() == StatusCode::OK }
    };
    // 29 minutes of quiet is fine; activity keeps the busy session going.
    app.clock.advance(Duration::minutes(29));
    assert!(signed_in(&idle).await && signed_in(&busy).await);
    app.clock.advance(Duration::minutes(29));
    assert!(signed_in(&busy).await);
    app.clock.advance(Duration::minutes(2));
    // The idle one was last used 31 minutes ago.
    assert!(!signed_in(&idle).await, "idle timeout");
    // Busy all day: every 25 minutes until the 12 hours are up.
    let mut elapsed = Duration::minutes(60);
    while elapsed < Duration::hours(12) - Duration::minutes(25) {
        app.clock.advance(Duration::minutes(25));
        elapsed += Duration::minutes(25);
        assert!(signed_in(&busy).await, "still signed in after {elapsed}");
    }
    app.clock.advance(Duration::hours(12) - elapsed);
    assert!(!signed_in(&busy).await, "absolute lifetime");
}

async fn signing_in_issues_a_new_session_identifier(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_user("fixation@example.com", Role::Viewer).await;
    let browser = app.browser();
    let before = browser.get("/login").await;
    let planted = before.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let after = browser.login("fixation@example.com", PASSWORD).await;
    let issued = after.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert_ne!(planted, issued, "a new identifier at sign-in");
    // The identifier from before sign-in does not carry the signed-in session.
    let attacker = Browser::new(&app.base);
    let with_planted = attacker
        .client
        .get(attacker.url("/settings/integrations"))
        .header("cookie", planted)
        .send()
        .await
        .unwrap();
    assert_eq!(with_planted.status(), StatusCode::SEE_OTHER);
}
