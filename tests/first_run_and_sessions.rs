//! First-run setup link, signing in and out, and sessions that survive restarts.

mod common;

use common::Backend;

both_backends!(
    the_setup_link_creates_the_first_administrator_once,
    a_wrong_setup_token_is_refused,
    the_setup_form_explains_bad_input_and_creates_nothing,
    a_console_with_users_prints_no_setup_link,
    every_instance_honours_every_setup_link_until_a_user_exists,
    signing_in_and_out_is_audited_and_logout_ends_the_session_on_the_server,
    a_restart_does_not_sign_anyone_out,
    anonymous_visitors_are_sent_to_sign_in,
    a_disabled_user_is_signed_out_on_the_next_request,
);

use common::{Browser, PASSWORD, TestApp, location};
use latchkey::domain::role::Role;
use reqwest::StatusCode;

async fn the_setup_link_creates_the_first_administrator_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let url = app
        .setup_url
        .clone()
        .expect("a fresh database prints a setup link");
    let token = url.split("token=").nth(1).unwrap().to_owned();

    let browser = app.browser();
    assert_eq!(browser.get(&url).await.status(), StatusCode::OK);
    let response = browser
        .post(
            "/setup",
            &[
                ("token", &token),
                ("email", "First@Example.com"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    // Administrators sign in with two-factor: setup goes on to set it up,
    // and nothing else opens until it is.
    assert_eq!(location(&response), "/account/two-factor");
    let elsewhere = browser.get("/settings/integrations").await;
    assert_eq!(elsewhere.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&elsewhere), "/account/two-factor");
    assert_eq!(
        browser.enrol_two_factor("first@example.com").await.len(),
        10
    );

    let page = browser.html("/settings/integrations").await;
    assert!(
        page.contains("first@example.com"),
        "signed in as the new administrator"
    );
    assert!(page.contains("Generate API Key"));

    // The link is dead now, for everyone.
    let other = app.browser();
    assert_eq!(other.get(&url).await.status(), StatusCode::NOT_FOUND);
    let again = other
        .post(
            "/setup",
            &[
                ("token", &token),
                ("email", "intruder@example.com"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    assert!(
        latchkey::db::users::find_by_email(&mut app.conn(), "intruder@example.com")
            .unwrap()
            .is_none()
    );
    assert!(app.audit_actions().contains(&"user.created".to_owned()));
}

async fn a_wrong_setup_token_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let browser = app.browser();
    assert_eq!(
        browser.get("/setup?token=guess").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(browser.get("/setup").await.status(), StatusCode::NOT_FOUND);
}

async fn the_setup_form_explains_bad_input_and_creates_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app
        .setup_url
        .clone()
        .unwrap()
        .split("token=")
        .nth(1)
        .unwrap()
        .to_owned();
    let response = app
        .browser()
        .post(
            "/setup",
            &[
                ("token", &token),
                ("email", "nope"),
                ("password", "short"),
                ("password_confirm", "short"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(page.contains("Enter a valid email address."));
    assert!(page.contains("at least 12 characters"));
    assert_eq!(latchkey::db::users::count(&mut app.conn()).unwrap(), 0);
}

async fn a_console_with_users_prints_no_setup_link(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    assert!(app.setup_url.is_some());
    app.add_user("admin@example.com", Role::Administrator).await;
    assert!(app.another_instance().setup_url.is_none());
}

async fn every_instance_honours_every_setup_link_until_a_user_exists(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let second = app.another_instance();
    let first_link = app.setup_url.clone().unwrap();
    let second_link = second.setup_url.clone().unwrap();
    assert_ne!(first_link, second_link);
    // Each instance's link opens on the other instance too.
    let path = |link: &str| link[link.find("/setup").unwrap()..].to_owned();
    assert_eq!(
        Browser::new(&second.base)
            .get(&path(&first_link))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.browser().get(&path(&second_link)).await.status(),
        StatusCode::OK
    );
    app.add_user("admin@example.com", Role::Administrator).await;
    assert_eq!(
        app.browser().get(&path(&second_link)).await.status(),
        StatusCode::NOT_FOUND
    );
}

async fn signing_in_and_out_is_audited_and_logout_ends_the_session_on_the_server(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_user("admin@example.com", Role::Administrator).await;
    let browser = app.browser();

    let failed = browser.login("admin@example.com", "wrong password!!").await;
    assert_eq!(failed.status(), StatusCode::UNAUTHORIZED);
    let unknown = browser
        .login("nobody@example.com", "wrong password!!")
        .await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    // The same message whether or not the account exists.
    assert_eq!(
        failed.text().await.unwrap().replace("admin@", "nobody@"),
        unknown.text().await.unwrap()
    );

    let ok = browser.login("ADMIN@example.com ", PASSWORD).await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    let cookie = ok
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("latchkey_session="));
    assert!(cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Strict"));
    assert_eq!(
        browser.get("/settings/integrations").await.status(),
        StatusCode::OK
    );

    // Replay the cookie from another client after logout: it must not work.
    let cookie_value = cookie.split(';').next().unwrap().to_owned();
    assert_eq!(
        browser.post("/logout", &[]).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        browser.get("/settings/integrations").await.status(),
        StatusCode::SEE_OTHER
    );
    let thief = Browser::new(&app.base);
    let replay = thief
        .client
        .get(thief.url("/settings/integrations"))
        .header("cookie", cookie_value)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), StatusCode::SEE_OTHER);
    // Sent to sign in, told only that the session has ended.
    assert_eq!(
        location(&replay),
        "/login?ended=ended&next=%2Fsettings%2Fintegrations"
    );

    let actions = app.audit_actions();
    for action in ["auth.login_failed", "auth.login", "auth.logout"] {
        assert!(actions.contains(&action.to_owned()), "{action} recorded");
    }
    assert_eq!(
        actions.iter().filter(|a| *a == "auth.login_failed").count(),
        2
    );
}

async fn a_restart_does_not_sign_anyone_out(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let browser = app.signed_in(Role::Viewer).await;
    // A second server on the same database and secrets file, as after a restart.
    let restarted = app.another_instance();
    let same_cookies = Browser::sharing(&browser, &restarted.base);
    // Cookies are per host, and both servers are 127.0.0.1.
    assert_eq!(
        same_cookies.get("/settings/integrations").await.status(),
        StatusCode::OK
    );
}

async fn anonymous_visitors_are_sent_to_sign_in(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let browser = app.browser();
    for path in [
        "/",
        "/settings/integrations",
        "/settings/integrations/keys/new",
    ] {
        let response = browser.get(path).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(location(&response), "/login");
    }
    let post = browser
        .post("/settings/integrations/keys/new", &[("type_code", "ucd")])
        .await;
    assert_eq!(post.status(), StatusCode::SEE_OTHER);
    assert_eq!(browser.get("/healthz").await.status(), StatusCode::OK);
}

async fn a_disabled_user_is_signed_out_on_the_next_request(backend: Backend) {
    use diesel::prelude::*;
    use latchkey::db::schema::users;

    let app = TestApp::spawn(backend).await;
    let browser = app.signed_in(Role::Administrator).await;
    assert_eq!(
        browser.get("/settings/integrations").await.status(),
        StatusCode::OK
    );
    diesel::update(users::table)
        .set(users::disabled.eq(true))
        .execute(&mut app.conn())
        .unwrap();
    assert_eq!(
        browser.get("/settings/integrations").await.status(),
        StatusCode::SEE_OTHER
    );
}
