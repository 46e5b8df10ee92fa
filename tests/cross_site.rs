//! The Origin check behind the form token: a foreign origin is refused even
//! with a valid token, and links from other sites still open console pages.

mod common;

use common::{Backend, Browser, PASSWORD, TestApp};
use latchkey::domain::role::Role;
use reqwest::StatusCode;

both_backends!(
    a_valid_form_token_does_not_excuse_a_foreign_origin,
    links_from_other_sites_still_open_console_pages,
    behind_a_trusted_proxy_the_forwarded_host_names_the_console,
    an_https_console_accepts_only_its_https_origin,
);

fn key_count(app: &TestApp) -> i64 {
    use diesel::prelude::*;
    latchkey::db::schema::api_keys::table
        .count()
        .get_result(&mut app.conn())
        .unwrap()
}

/// Step two of the generate flow with the session's own form token and these headers.
async fn authorize_with(
    browser: &Browser,
    step_two: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, String) {
    let token = browser.csrf_token().await;
    let mut request = browser
        .client
        .post(browser.url(step_two))
        .form(&[("trusted_ips", ""), ("csrf_token", &token)]);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

const REFUSED: &str = "You do not have permission to do that";

async fn a_valid_form_token_does_not_excuse_a_foreign_origin(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let step_two = admin.start_generate("ucd", "Cross-site target").await;
    let host = admin.base.trim_start_matches("http://").to_owned();
    let https_self = format!("https://{host}");
    let cases: [&[(&str, &str)]; 7] = [
        &[("origin", "https://evil.example")],
        &[
            ("origin", "https://evil.example"),
            ("sec-fetch-site", "same-origin"),
        ],
        // Anyone may send X-Forwarded-Host; only a trusted proxy is believed.
        &[
            ("origin", "http://evil.example"),
            ("x-forwarded-host", "evil.example"),
        ],
        // The console is served over http: an https page is another origin.
        &[("origin", &https_self)],
        &[("sec-fetch-site", "cross-site")],
        &[("sec-fetch-site", "same-site")],
        &[("sec-fetch-site", "cross-site"), ("origin", "null")],
    ];
    for headers in cases {
        let (status, page) = authorize_with(&admin, &step_two, headers).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{headers:?}");
        assert!(page.contains(REFUSED), "{headers:?}: refused as cross-site");
    }
    assert_eq!(key_count(&app), 0);

    let (status, _) = authorize_with(
        &admin,
        &step_two,
        &[("origin", &admin.base), ("sec-fetch-site", "same-origin")],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(key_count(&app), 1);
}

async fn links_from_other_sites_still_open_console_pages(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    // What a browser sends when a link on another site is followed.
    let followed = admin
        .client
        .get(admin.url("/settings/integrations"))
        .header("sec-fetch-site", "cross-site")
        .header("sec-fetch-mode", "navigate")
        .header("referer", "https://wiki.example/runbook")
        .send()
        .await
        .unwrap();
    assert_eq!(followed.status(), StatusCode::OK);
    let page = followed.text().await.unwrap();
    assert!(page.contains("Integration Settings"), "the key list");
}

async fn behind_a_trusted_proxy_the_forwarded_host_names_the_console(backend: Backend) {
    let app = TestApp::spawn_trusting(backend, "127.0.0.1").await;
    let admin = app.signed_in(Role::Administrator).await;
    let step_two = admin.start_generate("ucd", "Behind a proxy").await;
    // Without the proxy's header the browser's origin is not the host reached.
    let (status, _) =
        authorize_with(&admin, &step_two, &[("origin", "http://console.example")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = authorize_with(
        &admin,
        &step_two,
        &[
            ("origin", "http://evil.example"),
            ("x-forwarded-host", "console.example"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(key_count(&app), 0);
    let (status, _) = authorize_with(
        &admin,
        &step_two,
        &[
            ("origin", "http://console.example"),
            ("x-forwarded-host", "console.example"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
}

/// Signs in to an HTTPS console with this Origin; the test client speaks
/// plain HTTP, so the `Secure` session cookie is carried by hand.
async fn sign_in_with_origin(app: &TestApp, origin: &str) -> StatusCode {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = client
        .get(format!("{}/login", app.base))
        .send()
        .await
        .unwrap();
    let cookie = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let page = login.text().await.unwrap();
    let token = page
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    client
        .post(format!("{}/login", app.base))
        .header("cookie", cookie)
        .header("origin", origin)
        .form(&[
            ("email", "tls@example.com"),
            ("password", PASSWORD),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap()
        .status()
}

async fn an_https_console_accepts_only_its_https_origin(backend: Backend) {
    let app = TestApp::spawn_https(backend).await;
    app.add_user("tls@example.com", Role::Viewer).await;
    let host = app.base.trim_start_matches("http://").to_owned();
    assert_eq!(
        sign_in_with_origin(&app, &format!("http://{host}")).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        sign_in_with_origin(&app, &format!("https://{host}")).await,
        StatusCode::SEE_OTHER
    );
}
