//! A key's detail page: usage chart, last use, and the rate limit Administrators set there.

mod common;

use common::{Backend, TestApp};
use latchkey::domain::api_key;
use latchkey::domain::role::Role;
use reqwest::StatusCode;
use serde_json::json;

both_backends!(
    the_detail_page_charts_the_last_thirty_days_of_requests,
    administrators_change_a_rate_limit_and_it_applies_at_once,
);

async fn the_detail_page_charts_the_last_thirty_days_of_requests(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let token = admin.generate_token("ucd", "Charted").await;
    let id = api_key::parse(&token).unwrap().public_id.to_owned();
    let page = admin
        .html(&format!("/settings/integrations/keys/{id}"))
        .await;
    assert!(page.contains("No requests with this key"));
    assert!(page.contains("Last used</dt><dd>Never"));

    // Write a day of usage the way the background task would.
    let today = latchkey::db::now().date().to_string();
    latchkey::db::usage::record(
        &mut app.conn(),
        &[
            latchkey::db::usage::CountDelta {
                key_id: &id,
                day: &today,
                outcome: "VALID",
                count: 40,
            },
            latchkey::db::usage::CountDelta {
                key_id: &id,
                day: &today,
                outcome: "IP_NOT_ALLOWED",
                count: 2,
            },
        ],
        &[latchkey::db::usage::LastUse {
            key_id: &id,
            at: latchkey::db::now(),
            ip: Some("203.0.113.5"),
        }],
    )
    .unwrap();
    let support = app.signed_in(Role::Support).await;
    let page = support
        .html(&format!("/settings/integrations/keys/{id}"))
        .await;
    assert!(page.contains("<svg"), "a chart drawn on the server");
    assert!(page.contains(&format!("{today}: 40 Valid")));
    assert!(page.contains(&format!("{today}: 2 IP not allowed")));
    assert!(page.contains("203.0.113.5"));
    assert_eq!(
        page.matches("<script").count(),
        page.matches("<script src=").count(),
        "no inline script: the chart is plain SVG"
    );
    assert!(
        !page.contains("Save rate limit"),
        "support reads, does not change"
    );
    let list = support.html("/settings/integrations").await;
    assert!(!list.contains("Unused 90+ days"));
}

async fn administrators_change_a_rate_limit_and_it_applies_at_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let token = admin.generate_token("tsms", "Throttled").await;
    let id = api_key::parse(&token).unwrap().public_id.to_owned();
    let path = format!("/settings/integrations/keys/{id}/rate-limit");

    for bad in ["0", "lots", "-3", "99999999999"] {
        let response = admin.post(&path, &[("rate_limit", bad)]).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        let page = response.text().await.unwrap();
        assert!(page.contains("whole number of requests per minute"));
        assert!(
            page.contains(&format!("value=\"{bad}\"")),
            "the typed value is kept"
        );
    }
    let support = app.signed_in(Role::Support).await;
    assert_eq!(
        support.post(&path, &[("rate_limit", "1")]).await.status(),
        StatusCode::FORBIDDEN
    );

    assert_eq!(
        admin.post(&path, &[("rate_limit", "1")]).await.status(),
        StatusCode::SEE_OTHER
    );
    let page = admin
        .html(&format!("/settings/integrations/keys/{id}"))
        .await;
    assert!(
        page.contains("Rate limit set to 1 per minute."),
        "the flash says so"
    );
    assert!(page.contains("1 request per minute"), "the page shows it");
    let verify = |key: String| {
        let base = app.base.clone();
        async move {
            reqwest::Client::new()
                .post(format!("{base}/api/v1/keys/verify"))
                .json(&json!({ "key": key }))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(verify(token.clone()).await, StatusCode::OK);
    assert_eq!(verify(token.clone()).await, StatusCode::TOO_MANY_REQUESTS);

    assert_eq!(
        admin.post(&path, &[("rate_limit", "")]).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        verify(token.clone()).await,
        StatusCode::OK,
        "cleared: no limit"
    );
    assert!(
        app.audit_actions()
            .contains(&"key.rate_limit_changed".to_owned())
    );
}
