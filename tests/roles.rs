//! Each role against each action: buttons a role cannot use are not shown, and
//! the server refuses the action anyway.

mod common;

use common::Backend;

both_backends!(
    viewers_see_the_list_only_and_no_controls,
    support_reviews_lists_and_details_but_changes_nothing,
    administrators_may_do_everything,
    anonymous_requests_change_nothing,
    the_forbidden_page_is_the_consoles_own,
);

use common::{Browser, TestApp};
use latchkey::domain::api_key;
use latchkey::domain::role::Role;
use reqwest::StatusCode;

struct Fixture {
    app: TestApp,
    key_id: String,
    draft: String,
}

async fn fixture(backend: Backend) -> Fixture {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let token = admin.generate_token("ucd", "Shared key").await;
    let key_id = api_key::parse(&token).unwrap().public_id.to_owned();
    let draft = admin.start_generate("tsms", "Admin's draft").await;
    Fixture { app, key_id, draft }
}

/// Every console action, with whether each role may take it.
async fn try_everything(browser: &Browser, f: &Fixture) -> Vec<(&'static str, StatusCode)> {
    let detail = format!("/settings/integrations/keys/{}", f.key_id);
    let delete = format!("{detail}/delete");
    vec![
        (
            "view list",
            browser.get("/settings/integrations").await.status(),
        ),
        ("view detail", browser.get(&detail).await.status()),
        (
            "open generate",
            browser
                .get("/settings/integrations/keys/new")
                .await
                .status(),
        ),
        (
            "submit generate",
            browser.submit_details("tsms", "x").await.status(),
        ),
        ("open step two", browser.get(&f.draft).await.status()),
        (
            "submit step two",
            browser
                .post(&f.draft, &[("trusted_ips", "")])
                .await
                .status(),
        ),
        (
            "set rate limit",
            browser
                .post(&format!("{detail}/rate-limit"), &[("rate_limit", "5")])
                .await
                .status(),
        ),
        ("open delete", browser.get(&delete).await.status()),
        ("submit delete", browser.post(&delete, &[]).await.status()),
    ]
}

async fn viewers_see_the_list_only_and_no_controls(backend: Backend) {
    let f = fixture(backend).await;
    let viewer = f.app.signed_in(Role::Viewer).await;
    let list = viewer.html("/settings/integrations").await;
    assert!(list.contains("Shared key"));
    assert!(!list.contains("Generate API Key"));
    assert!(!list.contains("/delete"));
    assert!(!list.contains(&format!(
        "href=\"/settings/integrations/keys/{}\"",
        f.key_id
    )));

    let results = try_everything(&viewer, &f).await;
    assert_eq!(results[0], ("view list", StatusCode::OK));
    for (action, status) in &results[1..] {
        assert_eq!(*status, StatusCode::FORBIDDEN, "viewer: {action}");
    }
    assert_key_survived(&f).await;
}

async fn support_reviews_lists_and_details_but_changes_nothing(backend: Backend) {
    let f = fixture(backend).await;
    let support = f.app.signed_in(Role::Support).await;
    let list = support.html("/settings/integrations").await;
    assert!(!list.contains("Generate API Key"));
    assert!(!list.contains("/delete"));
    assert!(list.contains(&format!(
        "href=\"/settings/integrations/keys/{}\"",
        f.key_id
    )));
    let detail = support
        .html(&format!("/settings/integrations/keys/{}", f.key_id))
        .await;
    assert!(detail.contains("ops@example.com"));
    assert!(!detail.contains("/delete"));

    let results = try_everything(&support, &f).await;
    assert_eq!(results[0].1, StatusCode::OK);
    assert_eq!(results[1].1, StatusCode::OK);
    for (action, status) in &results[2..] {
        assert_eq!(*status, StatusCode::FORBIDDEN, "support: {action}");
    }
    assert_key_survived(&f).await;
}

async fn administrators_may_do_everything(backend: Backend) {
    let f = fixture(backend).await;
    let admin = f.app.signed_in(Role::Administrator).await;
    let list = admin.html("/settings/integrations").await;
    assert!(list.contains("Generate API Key"));
    assert!(list.contains(&format!("/settings/integrations/keys/{}/delete", f.key_id)));
    let results = try_everything(&admin, &f).await;
    let expected = [
        StatusCode::OK,
        StatusCode::OK,
        StatusCode::OK,
        StatusCode::SEE_OTHER,
        // The draft belongs to the administrator who started it.
        StatusCode::NOT_FOUND,
        StatusCode::NOT_FOUND,
        StatusCode::SEE_OTHER,
        StatusCode::OK,
        StatusCode::SEE_OTHER,
    ];
    assert_eq!(results.len(), expected.len());
    for ((action, status), want) in results.into_iter().zip(expected) {
        assert_eq!(status, want, "administrator: {action}");
    }
}

async fn anonymous_requests_change_nothing(backend: Backend) {
    let f = fixture(backend).await;
    let results = try_everything(&f.app.browser(), &f).await;
    for (action, status) in results {
        assert_eq!(
            status,
            StatusCode::SEE_OTHER,
            "anonymous: {action} goes to sign-in"
        );
    }
    assert_key_survived(&f).await;
}

async fn assert_key_survived(f: &Fixture) {
    let view = latchkey::db::keys::find(&mut f.app.conn(), &f.key_id).unwrap();
    assert!(view.is_some(), "the key is still there");
    use diesel::prelude::*;
    use latchkey::db::schema::api_keys;
    let count: i64 = api_keys::table
        .filter(api_keys::deleted_at.is_null())
        .count()
        .get_result(&mut *f.app.conn())
        .unwrap();
    assert_eq!(count, 1, "no key was added");
}

async fn the_forbidden_page_is_the_consoles_own(backend: Backend) {
    let f = fixture(backend).await;
    let viewer = f.app.signed_in(Role::Viewer).await;
    let response = viewer.get("/settings/integrations/keys/new").await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let page = response.text().await.unwrap();
    assert!(page.contains("You do not have permission to do that"));
    assert!(page.contains("/static/app.css"));
}
