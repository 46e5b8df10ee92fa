//! The audit log page and its CSV export.

mod common;

use common::{Backend, Browser, PASSWORD, TestApp};
use latchkey::domain::api_key;
use latchkey::domain::role::Role;
use reqwest::StatusCode;

both_backends!(
    support_reads_every_event_and_filters_them,
    the_export_carries_the_same_selection_as_csv,
    viewers_cannot_see_the_audit_log,
    sign_ins_are_recorded_with_the_real_peer_not_a_claimed_address,
    behind_a_trusted_proxy_sign_ins_are_recorded_with_the_forwarded_address,
    the_address_lock_falls_on_the_real_peer_whatever_it_claims,
);

async fn support_reads_every_event_and_filters_them(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let kept = admin.generate_token("ucd", "Kept key").await;
    let gone = admin.generate_token("tsms", "Gone key").await;
    let gone_id = api_key::parse(&gone).unwrap().public_id.to_owned();
    admin
        .post(
            &format!("/settings/integrations/keys/{gone_id}/delete"),
            &[],
        )
        .await;
    app.browser()
        .login("nobody@example.com", "not the password")
        .await;
    let _ = kept;

    let support = app.signed_in(Role::Support).await;
    let list = support.html("/settings/integrations").await;
    assert!(
        list.contains("href=\"/audit\""),
        "Support sees the Audit log entry"
    );
    let page = support.html("/audit").await;
    for action in [
        "key.created",
        "key.deleted",
        "auth.login",
        "auth.login_failed",
    ] {
        assert!(page.contains(action), "{action} listed");
    }
    assert!(page.contains("nobody@example.com"));
    let table = &page[page.find("<tbody>").unwrap()..];
    assert!(
        table.find("key.deleted").unwrap() < table.find("key.created").unwrap(),
        "newest first"
    );

    let deleted = support.html("/audit?action=key.deleted").await;
    assert!(deleted.contains(&gone_id));
    assert!(!deleted.contains("key.created</code>"));
    let by_key = support.html(&format!("/audit?key={gone_id}")).await;
    assert_eq!(
        by_key.matches(r#"<code class="cell-sub">key."#).count(),
        2,
        "created and deleted"
    );
    let by_actor = support.html("/audit?actor=nobody@example.com").await;
    assert!(by_actor.contains("auth.login_failed") && !by_actor.contains("key.created</code>"));
    let tomorrow = (chrono::Utc::now().date_naive() + chrono::Days::new(1)).to_string();
    assert!(
        support
            .html(&format!("/audit?from={tomorrow}"))
            .await
            .contains("No events")
    );

    let bad_date = support.get("/audit?from=yesterday").await;
    assert_eq!(bad_date.status(), StatusCode::BAD_REQUEST);
    assert!(bad_date.text().await.unwrap().contains("must be a date"));
    assert_eq!(
        support.get("/audit?action=drop+table").await.status(),
        StatusCode::BAD_REQUEST
    );
}

async fn the_export_carries_the_same_selection_as_csv(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    admin
        .generate_token("ucd", "=HYPERLINK(\"http://evil.example\")")
        .await;
    let response = admin.get("/audit.csv?action=key.created").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let csv = response.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "time_utc,actor,action,key_id,client_ip,detail");
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[1].contains("\"key.created\""));
    assert!(
        lines[1].contains("\"'=HYPERLINK(\"\"http://evil.example\"\")"),
        "formula defused: {}",
        lines[1]
    );
}

async fn viewers_cannot_see_the_audit_log(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let viewer = app.signed_in(Role::Viewer).await;
    assert!(
        !viewer
            .html("/settings/integrations")
            .await
            .contains("href=\"/audit\"")
    );
    assert_eq!(viewer.get("/audit").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        viewer.get("/audit.csv").await.status(),
        StatusCode::FORBIDDEN
    );
    // Nothing can change the log: it has no state-changing routes.
    for route in latchkey::web::routes::all_routes() {
        if route.path.starts_with("/audit") {
            assert_eq!(route.method, "get", "{}", route.path);
        }
    }
}

/// Signs in with this `X-Forwarded-For`, as any client may send it.
async fn sign_in_claiming(browser: &Browser, email: &str, password: &str, claimed: &str) -> u16 {
    let token = browser.csrf_token().await;
    browser
        .client
        .post(browser.url("/login"))
        .header("x-forwarded-for", claimed)
        .form(&[
            ("email", email),
            ("password", password),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// (action, client address) of the audit rows, newest first.
fn audited_addresses(app: &TestApp) -> Vec<(String, Option<String>)> {
    latchkey::db::audit::recent(&mut app.conn(), 1000)
        .unwrap()
        .into_iter()
        .map(|row| (row.action, row.client_ip))
        .collect()
}

async fn sign_ins_are_recorded_with_the_real_peer_not_a_claimed_address(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_user("ops@example.com", Role::Viewer).await;
    let browser = app.browser();
    let failed = sign_in_claiming(&browser, "ops@example.com", "wrong password", "203.0.113.9");
    assert_eq!(failed.await, 401);
    let signed_in = sign_in_claiming(&browser, "ops@example.com", PASSWORD, "203.0.113.9");
    assert_eq!(signed_in.await, 303);
    let local = Some("127.0.0.1".to_owned());
    assert_eq!(
        audited_addresses(&app),
        vec![
            ("auth.login".to_owned(), local.clone()),
            ("auth.login_failed".to_owned(), local),
        ]
    );
}

async fn behind_a_trusted_proxy_sign_ins_are_recorded_with_the_forwarded_address(backend: Backend) {
    let app = TestApp::spawn_trusting(backend, "127.0.0.1").await;
    app.add_user("ops@example.com", Role::Viewer).await;
    let browser = app.browser();
    let failed = sign_in_claiming(
        &browser,
        "ops@example.com",
        "wrong password",
        "198.51.100.4",
    );
    assert_eq!(failed.await, 401);
    let signed_in = sign_in_claiming(&browser, "ops@example.com", PASSWORD, "203.0.113.9");
    assert_eq!(signed_in.await, 303);
    assert_eq!(
        audited_addresses(&app),
        vec![
            ("auth.login".to_owned(), Some("203.0.113.9".to_owned())),
            (
                "auth.login_failed".to_owned(),
                Some("198.51.100.4".to_owned())
            ),
        ]
    );
}

async fn the_address_lock_falls_on_the_real_peer_whatever_it_claims(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let browser = app.browser();
    // A different account and a different claimed address each time: only the
    // real peer is common to them all, so only its lock can trip.
    let mut locked = None;
    for n in 1..=60 {
        let email = format!("guess{n}@example.com");
        let claimed = format!("203.0.113.{n}");
        sign_in_claiming(&browser, &email, "wrong password", &claimed).await;
        let rows = latchkey::db::audit::recent(&mut app.conn(), 1000).unwrap();
        if let Some(lock) = rows
            .into_iter()
            .find(|r| r.action == "auth.lockout" && r.detail.contains("address"))
        {
            locked = Some(lock);
            break;
        }
    }
    let lock = locked.expect("repeated failures from one peer lock its address");
    assert_eq!(lock.client_ip.as_deref(), Some("127.0.0.1"));
    for (action, address) in audited_addresses(&app) {
        assert_eq!(address.as_deref(), Some("127.0.0.1"), "{action}");
    }
}
