//! Bad input gets a clear message and a 4xx, never a 500, and nothing is written.

mod common;

use common::Backend;

both_backends!(
    each_bad_field_in_step_one_gets_its_message_and_keeps_what_was_typed,
    bad_trusted_ip_lines_each_get_a_message_and_the_text_is_kept,
    thousands_of_bad_lines_get_twenty_messages_and_a_count,
    tampered_or_unknown_form_tokens_are_refused,
    malformed_requests_get_a_4xx_page_not_a_500,
    cross_site_form_posts_are_refused,
    an_overlong_password_is_refused_quickly_without_a_500,
);

use common::{TestApp, location};
use latchkey::domain::role::Role;
use reqwest::StatusCode;

const NEW: &str = "/settings/integrations/keys/new";

fn key_count(app: &TestApp) -> i64 {
    use diesel::prelude::*;
    latchkey::db::schema::api_keys::table
        .count()
        .get_result(&mut app.conn())
        .unwrap()
}

async fn each_bad_field_in_step_one_gets_its_message_and_keeps_what_was_typed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let long_name = "n".repeat(81);
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![
                ("type_code", "nosuchtype"),
                ("name", "A"),
                ("contact_email", "a@example.com"),
                ("expires", "never"),
            ],
            "That API type does not exist",
        ),
        (
            vec![
                ("type_code", ""),
                ("name", "A"),
                ("contact_email", "a@example.com"),
                ("expires", "never"),
            ],
            "Select the API type",
        ),
        (
            vec![
                ("type_code", "ucd"),
                ("name", ""),
                ("contact_email", "a@example.com"),
                ("expires", "never"),
            ],
            "Give the key a name",
        ),
        (
            vec![
                ("type_code", "ucd"),
                ("name", &long_name),
                ("contact_email", "a@example.com"),
                ("expires", "never"),
            ],
            "at most 80 characters",
        ),
        (
            vec![
                ("type_code", "ucd"),
                ("name", "A"),
                ("contact_email", "not an email"),
                ("expires", "never"),
            ],
            "Enter a valid email address",
        ),
        (
            vec![
                ("type_code", "ucd"),
                ("name", "A"),
                ("contact_email", "a@example.com"),
                ("expires", "on"),
                ("expires_on", "2001-01-01"),
            ],
            "in the past",
        ),
        (
            vec![
                ("type_code", "ucd"),
                ("name", "A"),
                ("contact_email", "a@example.com"),
                ("expires", "on"),
                ("expires_on", "tomorrow"),
            ],
            "YYYY-MM-DD",
        ),
        (
            vec![
                ("type_code", "ucd"),
                ("name", "A"),
                ("contact_email", "a@example.com"),
                ("expires", "sometime"),
            ],
            "Choose an expiration date",
        ),
        (vec![], "Select the API type"),
    ];
    for (form, message) in cases {
        let response = admin.post(NEW, &form).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{form:?}"
        );
        let page = response.text().await.unwrap();
        assert!(page.contains(message), "{message} for {form:?}");
        if let Some((_, email)) = form.iter().find(|(k, _)| *k == "contact_email") {
            assert!(
                page.contains(&format!("value=\"{email}\"")),
                "typed email kept"
            );
        }
    }
    assert_eq!(key_count(&app), 0);
}

async fn bad_trusted_ip_lines_each_get_a_message_and_the_text_is_kept(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let step_two = admin.start_generate("ucd", "Restricted").await;
    let typed = "10.0.0.0/8\n999.1.1.1\n10.0.0.0/40\n2001:db8::/200\nhello world";
    let response = admin.post(&step_two, &[("trusted_ips", typed)]).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    for line in 2..=5 {
        assert!(
            page.contains(&format!("Line {line}:")),
            "line {line} reported"
        );
    }
    assert!(!page.contains("Line 1:"));
    assert!(
        page.contains("10.0.0.0/8\n999.1.1.1\n10.0.0.0/40"),
        "the textarea keeps the typed text"
    );
    assert_eq!(key_count(&app), 0);
    // The draft is still usable once the list is fixed.
    assert_eq!(
        admin
            .post(&step_two, &[("trusted_ips", "10.0.0.0/8")])
            .await
            .status(),
        StatusCode::CREATED
    );
}

async fn thousands_of_bad_lines_get_twenty_messages_and_a_count(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let step_two = admin.start_generate("ucd", "Pasted a file").await;
    let typed: String = (1..=5000).map(|n| format!("bad{n}\n")).collect();
    let response = admin.post(&step_two, &[("trusted_ips", &typed)]).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(page.contains("Line 1: “bad1”"));
    assert!(page.contains("Line 20: “bad20”"));
    assert!(!page.contains("Line 21:"));
    assert!(page.contains("And 4980 more lines have errors."));
    assert_eq!(page.matches("class=\"field-error\"").count(), 21);
    assert!(
        page.contains("bad4999\nbad5000"),
        "the textarea keeps the typed text"
    );
    // The typed text (about 40 KB) and the page around it, not 5000 messages.
    assert!(page.len() < typed.len() + 20_000, "{} bytes", page.len());

    let one_more: String = (1..=21).map(|n| format!("bad{n}\n")).collect();
    let page = admin
        .post(&step_two, &[("trusted_ips", &one_more)])
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("And 1 more line has an error."));
    let twenty: String = (1..=20).map(|n| format!("bad{n}\n")).collect();
    let page = admin
        .post(&step_two, &[("trusted_ips", &twenty)])
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Line 20:") && !page.contains("more line"));
    assert_eq!(key_count(&app), 0);
}

async fn tampered_or_unknown_form_tokens_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    for draft in ["0000", "../../etc/passwd", "%00", &"f".repeat(5000)] {
        let path = format!("{NEW}/{draft}");
        let get = admin.get(&path).await.status();
        let post = admin.post(&path, &[("trusted_ips", "")]).await.status();
        assert!(get.is_client_error(), "{draft}: {get}");
        assert!(post.is_client_error(), "{draft}: {post}");
    }
    assert_eq!(key_count(&app), 0);
}

async fn malformed_requests_get_a_4xx_page_not_a_500(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let step_two = admin.start_generate("ucd", "Body tests").await;
    let url = admin.url(&step_two);

    let huge = admin
        .client
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("trusted_ips={}", "1".repeat(200_000)))
        .send()
        .await
        .unwrap();
    assert!(huge.status().is_client_error(), "{}", huge.status());

    let not_utf8 = admin
        .client
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body([b"trusted_ips=".as_slice(), &[0xff, 0xfe]].concat())
        .send()
        .await
        .unwrap();
    assert!(not_utf8.status().is_client_error(), "{}", not_utf8.status());

    let json = admin
        .client
        .post(&url)
        .json(&serde_json::json!({"trusted_ips": ""}))
        .send()
        .await
        .unwrap();
    // JSON cannot carry the form token: refused before it is read.
    assert_eq!(json.status(), StatusCode::FORBIDDEN);
    assert!(json.text().await.unwrap().contains("This form has expired"));

    // Pages are reached by cursor; an old page-number address says so.
    for page in ["0", "-1", "abc", "99999999999999999999", "50"] {
        let response = admin
            .get(&format!("/settings/integrations?page={page}"))
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "page={page}");
        let html = response.text().await.unwrap();
        assert!(html.contains("The key list has no page numbers"), "{html}");
        assert!(html.contains("href=\"/settings/integrations\">Show all keys"));
    }

    let missing = admin.get("/no/such/page").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(missing.text().await.unwrap().contains("Page not found"));

    let wrong_method = admin.client.put(admin.url("/login")).send().await.unwrap();
    assert_eq!(wrong_method.status(), StatusCode::METHOD_NOT_ALLOWED);

    let unknown_key = admin.get("/settings/integrations/keys/doesnotexist").await;
    assert_eq!(unknown_key.status(), StatusCode::NOT_FOUND);
    assert_eq!(key_count(&app), 0);
}

async fn cross_site_form_posts_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let step_two = admin.start_generate("ucd", "CSRF target").await;
    let attack = admin
        .client
        .post(admin.url(&step_two))
        .header("origin", "https://evil.example")
        .form(&[("trusted_ips", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(attack.status(), StatusCode::FORBIDDEN);
    let cross_site = admin
        .client
        .post(admin.url(&step_two))
        .header("sec-fetch-site", "cross-site")
        .form(&[("trusted_ips", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    assert_eq!(key_count(&app), 0);

    let token = admin.csrf_token().await;
    let same_origin = admin
        .client
        .post(admin.url(&step_two))
        .header("origin", admin.base.clone())
        .header("sec-fetch-site", "same-origin")
        .form(&[("trusted_ips", ""), ("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(same_origin.status(), StatusCode::CREATED);

    // What a real browser sends under Referrer-Policy: no-referrer: Origin null.
    let step_two = admin.start_generate("ucd", "From a browser").await;
    let token = admin.csrf_token().await;
    let browser_like = admin
        .client
        .post(admin.url(&step_two))
        .header("origin", "null")
        .header("sec-fetch-site", "same-origin")
        .form(&[("trusted_ips", ""), ("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(browser_like.status(), StatusCode::CREATED);
}

async fn an_overlong_password_is_refused_quickly_without_a_500(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_user("admin@example.com", Role::Administrator).await;
    let browser = app.browser();
    let response = browser
        .login("admin@example.com", &"p".repeat(50_000))
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let weird = browser.login("\u{0000}\u{202e}@example.com", "x").await;
    assert_eq!(weird.status(), StatusCode::UNAUTHORIZED);
    let redirect = browser.login("admin@example.com", common::PASSWORD).await;
    assert_eq!(location(&redirect), "/settings/integrations");
}
