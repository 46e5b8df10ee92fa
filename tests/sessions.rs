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
    an_idle_session_says_so_and_returns_to_the_page_asked_for,
    only_paths_on_this_console_are_returned_to,
    a_form_sent_after_the_session_ended_is_not_saved,
    error_pages_keep_the_header_and_say_who_may,
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
            assert!(location(&response).starts_with("/login"));
            false
        }
        other => panic!("unexpected answer {other}"),
    }
}

/// Where the key list sends a browser signed out from another session.
const SIGNED_OUT_ELSEWHERE: &str = "/login?ended=elsewhere&next=%2Fsettings%2Fintegrations";

/// The value after `marker` in `html`, up to the next quote.
fn attribute(html: &str, marker: &str) -> Option<String> {
    let rest = html.split(marker).nth(1)?;
    Some(rest[..rest.find('"')?].replace("&amp;", "&"))
}

/// Signs in from the sign-in page at `page`, as a person would: with the
/// page's form token and the page it says to return to.
async fn sign_in_from(browser: &Browser, page: &str, email: &str) -> reqwest::Response {
    let html = browser.html(page).await;
    let token = attribute(&html, "name=\"csrf_token\" value=\"").expect("a form token");
    let mut form = vec![
        ("email", email.to_owned()),
        ("password", PASSWORD.to_owned()),
        ("csrf_token", token),
    ];
    if let Some(next) = attribute(&html, "name=\"next\" value=\"") {
        form.push(("next", next));
    }
    let response = browser
        .client
        .post(browser.url("/login"))
        .form(&form)
        .send()
        .await
        .unwrap();
    if location(&response) != latchkey::web::two_factor::sign_in::PAGE {
        return response;
    }
    let html = browser.html(latchkey::web::two_factor::sign_in::PAGE).await;
    let token = attribute(&html, "name=\"csrf_token\" value=\"").expect("a form token");
    let code = browser.next_code(email).await;
    browser
        .client
        .post(browser.url(latchkey::web::two_factor::sign_in::PAGE))
        .form(&[("code", code), ("csrf_token", token)])
        .send()
        .await
        .unwrap()
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
    let rows = latchkey::db::sessions::for_user(&mut conn, &user.id).unwrap();
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

    // Out on the other instance, and told why.
    let response = other_elsewhere.get(KEYS).await;
    assert_eq!(location(&response), SIGNED_OUT_ELSEWHERE);
    let told = other_elsewhere.html(SIGNED_OUT_ELSEWHERE).await;
    assert!(told.contains("You were signed out from another session. Sign in again."));
    // And on this instance, until it signs in again.
    assert_eq!(location(&other.get(KEYS).await), SIGNED_OUT_ELSEWHERE);
    let again = sign_in_from(&other, SIGNED_OUT_ELSEWHERE, "admin@example.com").await;
    assert_eq!(location(&again), KEYS);
    assert!(is_signed_in(&other).await);
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

async fn an_idle_session_says_so_and_returns_to_the_page_asked_for(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_user("support@example.com", Role::Support).await;
    let browser = signed_in_as(&app, "support@example.com").await;
    app.clock.advance(chrono::Duration::minutes(31));
    let response = browser.get("/audit?action=auth.login").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let login = location(&response);
    assert_eq!(
        login,
        "/login?ended=idle&next=%2Faudit%3Faction%3Dauth.login"
    );
    let page = browser.html(&login).await;
    assert!(
        page.contains("Your session ended after 30 minutes without activity. Sign in again."),
        "{page}"
    );
    let signed_in = sign_in_from(&browser, &login, "support@example.com").await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&signed_in), "/audit?action=auth.login");
    assert_eq!(
        browser.get("/audit?action=auth.login").await.status(),
        StatusCode::OK
    );

    // The absolute lifetime says so too.
    app.clock.advance(chrono::Duration::hours(13));
    let response = browser.get(PAGE).await;
    let login = location(&response);
    assert_eq!(login, "/login?ended=lifetime&next=%2Faccount%2Fsessions");
    assert!(
        browser
            .html(&login)
            .await
            .contains("Your session reached its limit of 12 hours.")
    );
}

async fn only_paths_on_this_console_are_returned_to(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_user("me@example.com", Role::Viewer).await;
    // The next parameter as it is sent (URL-encoded) → where signing in leads.
    #[rustfmt::skip]
    let table: &[(&str, &str)] = &[
        ("%2F%2Fevil.example", "/settings/integrations"),
        ("%2F%5Cevil.example", "/settings/integrations"),
        ("https%3A%2F%2Fevil.example", "/settings/integrations"),
        ("javascript%3Aalert(1)", "/settings/integrations"),
        ("%252F%252Fevil.example", "/settings/integrations"),
        ("%2F%0D%0ASet-Cookie%3A%20x%3D1", "/settings/integrations"),
        ("", "/settings/integrations"),
        ("%2Faccount%2Fsessions", "/account/sessions"),
        ("%2Fsettings%2Fintegrations%3Fq%3Dpay", "/settings/integrations?q=pay"),
    ];
    for (next, lands) in table {
        // Through the sign-in page's link.
        let browser = app.browser();
        let response =
            sign_in_from(&browser, &format!("/login?next={next}"), "me@example.com").await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{next}");
        assert_eq!(location(&response), *lands, "{next}");
        // Posted straight to the sign-in form.
        let direct = app.browser();
        let token = direct.csrf_token().await;
        let body = format!(
            "email=me%40example.com&password={}&csrf_token={token}&next={next}",
            PASSWORD.replace(' ', "+")
        );
        let response = direct
            .client
            .post(direct.url("/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{next} posted");
        assert_eq!(location(&response), *lands, "{next} posted");
    }
}

async fn a_form_sent_after_the_session_ended_is_not_saved(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_user("me@example.com", Role::Viewer).await;
    // Where the form was (the Referer) → where the sign-in page returns to.
    #[rustfmt::skip]
    let table: &[(Option<String>, &str)] = &[
        (Some(format!("{}/account/sessions?from=here", app.base)), "/login?ended=elsewhere&next=%2Faccount%2Fsessions%3Ffrom%3Dhere&unsaved=1"),
        (Some("https://evil.example/account/sessions".to_owned()), "/login?ended=elsewhere&next=%2Fsettings%2Fintegrations&unsaved=1"),
        (Some("http://evil.example/account/sessions".to_owned()), "/login?ended=elsewhere&next=%2Fsettings%2Fintegrations&unsaved=1"),
        (None, "/login?ended=elsewhere&next=%2Fsettings%2Fintegrations&unsaved=1"),
    ];
    for (referer, expected) in table {
        let mine = signed_in_as(&app, "me@example.com").await;
        let token = mine.csrf_token().await;
        let other = signed_in_as(&app, "me@example.com").await;
        // My session is ended from the other one; then I send a form.
        let mine_handle = handles(&other.html(PAGE).await);
        assert_eq!(mine_handle.len(), 1);
        other
            .post("/account/sessions/end", &[("session", &mine_handle[0])])
            .await;
        let before = app.audit_actions().len();
        let mut request = mine
            .client
            .post(mine.url("/account/sessions/end-others"))
            .form(&[("csrf_token", token.as_str())]);
        if let Some(referer) = referer {
            request = request.header("referer", referer);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{referer:?}");
        assert_eq!(location(&response), *expected, "{referer:?}");
        assert_eq!(app.audit_actions().len(), before, "nothing recorded");
        assert!(
            is_signed_in(&other).await,
            "the other session was not ended"
        );
        let page = mine.html(expected).await;
        assert!(page.contains("The form you sent was not saved"), "{page}");
        // Clean up for the next row.
        other.post("/logout", &[]).await;
    }
}

async fn error_pages_keep_the_header_and_say_who_may(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_user("viewer@example.com", Role::Viewer).await;
    app.add_user("support@example.com", Role::Support).await;
    let viewer = signed_in_as(&app, "viewer@example.com").await;
    let support = signed_in_as(&app, "support@example.com").await;
    // Who asks, what → the answer and the words on the page.
    #[rustfmt::skip]
    let table: &[(&Browser, &str, &str, u16, &str)] = &[
        (&viewer, "viewer@example.com", "/settings/integrations/keys/new", 403, "Only Administrators can generate and change keys."),
        (&viewer, "viewer@example.com", "/audit", 403, "Only Administrators and Support staff can read the audit log."),
        (&viewer, "viewer@example.com", "/settings/integrations/keys/abcdefabcdef", 403, "Only Administrators and Support staff can open a key&#39;s details."),
        (&support, "support@example.com", "/settings/integrations/keys/new", 403, "Only Administrators can generate and change keys."),
        (&support, "support@example.com", "/settings/webhooks", 403, "Only Administrators can generate and change keys."),
        (&viewer, "viewer@example.com", "/no/such/page", 404, "There is nothing at this address."),
        (&support, "support@example.com", "/settings/integrations/keys/abcdefabcdef", 404, "Not found"),
    ];
    for (browser, email, path, status, words) in table {
        let response = browser.get(path).await;
        assert_eq!(response.status().as_u16(), *status, "{path}");
        let html = response.text().await.unwrap();
        assert!(html.contains(words), "{path}: {html}");
        assert!(html.contains(email), "{path}: the header names the user");
        assert!(
            html.contains("class=\"sidebar\""),
            "{path}: the navigation stays"
        );
        assert!(
            html.contains("action=\"/logout\""),
            "{path}: sign out stays"
        );
    }
    // Signing out from an error page works (its form carries the session's token).
    let html = viewer.html("/no/such/page").await;
    let token = attribute(&html, "name=\"csrf_token\" value=\"").unwrap();
    assert!(!token.is_empty());
    // Without a session, the same pages have no header.
    let anonymous = app.browser();
    let html = anonymous.html("/no/such/page").await;
    assert!(!html.contains("class=\"sidebar\""));
    assert!(!html.contains("action=\"/logout\""));
}
