//! Account › Sessions: people see where they are signed in and end sessions;
//! an ended session is out on its next request, on every instance.

mod common;

use common::{Backend, Browser, PASSWORD, TestApp, location};
use latchkey::domain::role::Role;
use reqwest::StatusCode;

both_backends!(
    my_sessions_are_listed_with_this_one_marked,
    signing_out_another_session_ends_it_on_every_instance,
    signing_out_all_others_keeps_only_this_session,
    changing_the_password_ends_the_other_sessions,
    nobody_can_end_someone_elses_session,
);

const PAGE: &str = "/account/sessions";
const KEYS: &str = "/settings/integrations";

async fn signed_in_as(app: &TestApp, email: &str) -> Browser {
    let browser = app.browser();
    let response = browser.login(email, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{email} signs in");
    browser
}

/// The handles of the sessions this page offers to sign out.
fn handles(html: &str) -> Vec<String> {
    html.split("name=\"session\" value=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_owned())
        .collect()
}

async fn is_signed_in(browser: &Browser) -> bool {
    let response = browser.get(KEYS).await;
    match response.status() {
        StatusCode::OK => true,
        StatusCode::SEE_OTHER => {
            assert_eq!(location(&response), "/login");
            false
        }
        other => panic!("unexpected answer {other}"),
    }
}

async fn my_sessions_are_listed_with_this_one_marked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_user("me@example.com", Role::Viewer).await;
    let laptop = signed_in_as(&app, "me@example.com").await;
    let _phone = signed_in_as(&app, "me@example.com").await;
    let page = laptop.get(PAGE).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert_eq!(html.matches("This session").count(), 1, "{html}");
    // Only the other session can be signed out from here.
    assert_eq!(handles(&html).len(), 1, "{html}");
    assert!(html.contains("Sign out all others"));
    assert!(html.contains("127.0.0.1"));
    assert!(html.contains("Unknown browser"));
    assert!(html.contains("href=\"/account/sessions\""), "header link");
    // The details the store wrote beside each session.
    let mut conn = app.conn();
    let user = latchkey::db::users::find_by_email(&mut conn, "me@example.com")
        .unwrap()
        .unwrap();
    let rows = latchkey::db::sessions::for_user(&mut conn, &user.id, latchkey::db::now()).unwrap();
    assert_eq!(rows.len(), 2);
    for row in rows {
        assert!(row.handle.is_some());
        assert!(row.started_at.is_some());
        assert!(row.last_seen_at.is_some());
        assert_eq!(row.client_ip.as_deref(), Some("127.0.0.1"));
    }
    // Alone, there is nothing else to sign out.
    let alone = TestApp::spawn(backend).await;
    alone.add_user("solo@example.com", Role::Viewer).await;
    let solo = signed_in_as(&alone, "solo@example.com").await;
    let html = solo.html(PAGE).await;
    assert_eq!(html.matches("This session").count(), 1);
    assert!(handles(&html).is_empty());
    assert!(!html.contains("Sign out all others"));
}

async fn signing_out_another_session_ends_it_on_every_instance(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_user("admin@example.com", Role::Administrator).await;
    let mine = signed_in_as(&app, "admin@example.com").await;
    let other = signed_in_as(&app, "admin@example.com").await;
    let second = app.another_instance();
    let other_elsewhere = Browser::sharing(&other, &second.base);
    assert!(is_signed_in(&other_elsewhere).await);

    let handle = handles(&mine.html(PAGE).await).pop().unwrap();
    let response = mine
        .post("/account/sessions/end", &[("session", &handle)])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), PAGE);
    let html = mine.html(PAGE).await;
    assert!(html.contains("That session was signed out."), "{html}");
    assert!(handles(&html).is_empty());

    assert!(
        !is_signed_in(&other_elsewhere).await,
        "out on the other instance"
    );
    assert!(!is_signed_in(&other).await, "out on this instance");
    assert!(is_signed_in(&mine).await, "the asker stays in");
    assert!(
        app.audit_actions()
            .contains(&"auth.session_ended".to_owned())
    );

    // Ending it again changes nothing.
    mine.post("/account/sessions/end", &[("session", &handle)])
        .await;
    assert!(
        mine.html(PAGE)
            .await
            .contains("That session had already ended.")
    );
    let ended = app
        .audit_actions()
        .iter()
        .filter(|a| *a == "auth.session_ended")
        .count();
    assert_eq!(ended, 1);
}

async fn signing_out_all_others_keeps_only_this_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_user("me@example.com", Role::Support).await;
    let mine = signed_in_as(&app, "me@example.com").await;
    let b = signed_in_as(&app, "me@example.com").await;
    let c = signed_in_as(&app, "me@example.com").await;
    let response = mine.post("/account/sessions/end-others", &[]).await;
    assert_eq!(location(&response), PAGE);
    let html = mine.html(PAGE).await;
    assert!(html.contains("2 other sessions were signed out."), "{html}");
    assert!(handles(&html).is_empty());
    assert!(!is_signed_in(&b).await);
    assert!(!is_signed_in(&c).await);
    assert!(is_signed_in(&mine).await);
    assert!(
        app.audit_actions()
            .contains(&"auth.other_sessions_ended".to_owned())
    );
    let audit = mine.html("/audit?action=auth.other_sessions_ended").await;
    assert!(audit.contains("All other sessions signed out"));
    assert!(audit.contains("2 signed out"));

    mine.post("/account/sessions/end-others", &[]).await;
    assert!(
        mine.html(PAGE)
            .await
            .contains("There were no other sessions.")
    );
}

async fn changing_the_password_ends_the_other_sessions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_user("me@example.com", Role::Viewer).await;
    app.add_user("someone@example.com", Role::Viewer).await;
    let mine = signed_in_as(&app, "me@example.com").await;
    let other = signed_in_as(&app, "me@example.com").await;
    let someone = signed_in_as(&app, "someone@example.com").await;
    let new = "a brand new passphrase here";
    let response = mine
        .post(
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", new),
                ("new_password_confirm", new),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(is_signed_in(&mine).await, "the changer stays in");
    assert!(!is_signed_in(&other).await, "the other session is out");
    assert!(is_signed_in(&someone).await, "other users are untouched");
    let html = mine.html(PAGE).await;
    assert_eq!(html.matches("This session").count(), 1);
    assert!(handles(&html).is_empty());
    assert!(
        app.audit_actions()
            .contains(&"auth.other_sessions_ended".to_owned())
    );
}

async fn nobody_can_end_someone_elses_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_user("ada@example.com", Role::Administrator).await;
    app.add_user("bob@example.com", Role::Viewer).await;
    let ada = signed_in_as(&app, "ada@example.com").await;
    let _ada_phone = signed_in_as(&app, "ada@example.com").await;
    let bob = signed_in_as(&app, "bob@example.com").await;
    let ada_phone = handles(&ada.html(PAGE).await).pop().unwrap();
    let response = bob
        .post("/account/sessions/end", &[("session", &ada_phone)])
        .await;
    assert_eq!(location(&response), PAGE);
    assert!(
        bob.html(PAGE)
            .await
            .contains("That session had already ended.")
    );
    assert_eq!(handles(&ada.html(PAGE).await), vec![ada_phone]);
    // Bob ending "all others" touches only his own.
    bob.post("/account/sessions/end-others", &[]).await;
    assert_eq!(handles(&ada.html(PAGE).await).len(), 1);
    // Unknown and empty handles are refused the same way.
    for bad in ["", "nope", "' OR 1=1 --"] {
        let response = bob.post("/account/sessions/end", &[("session", bad)]).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{bad:?}");
    }
    assert!(is_signed_in(&bob).await);
}
