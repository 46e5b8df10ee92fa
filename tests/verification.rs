//! The verification API and forward-auth: every rule, both surfaces, both backends.

mod common;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use common::{Backend, Browser, TestApp, input_value};
use diesel::prelude::*;
use latchkey::db::schema::api_keys;
use latchkey::domain::role::Role;
use latchkey::domain::{api_key, hmac_signature};
use reqwest::StatusCode;
use serde_json::{Value, json};

both_backends!(
    a_valid_key_is_accepted_on_both_surfaces,
    unknown_and_deleted_keys_answer_alike,
    deletion_cuts_access_at_once_and_on_other_instances_within_a_second,
    each_rule_gives_its_own_code,
    the_rate_limit_answers_429_with_retry_after,
    key_secret_pairs_work_with_basic_authentication,
    hmac_signed_requests_pass_once_and_replays_do_not,
    x_forwarded_for_counts_only_from_trusted_proxies,
    a_disabled_type_refuses_its_keys,
    usage_is_recorded_in_batches,
    bad_requests_get_a_4xx_json_answer,
    a_stored_allowlist_that_cannot_be_read_refuses_the_key,
    a_gateway_pins_the_application_and_an_archived_one_is_cut_off_everywhere,
);

async fn verify(app: &TestApp, body: Value) -> (StatusCode, Value) {
    app.verify(body).await
}

async fn forward(app: &TestApp, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(format!("{}/api/v1/auth", app.base));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

/// An administrator and a key of this type with these trusted IPs and rate limit; returns the modal page.
async fn key_page(admin: &Browser, code: &str, ips: &str, rate: &str) -> String {
    let step_two = admin
        .start_generate(code, &format!("{code} for verification"))
        .await;
    let response = admin
        .post(&step_two, &[("trusted_ips", ips), ("rate_limit", rate)])
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.text().await.unwrap()
}

async fn bearer(app: &TestApp, code: &str, ips: &str, rate: &str) -> String {
    let admin = app.signed_in(Role::Administrator).await;
    input_value(&key_page(&admin, code, ips, rate).await, "revealed-key").unwrap()
}

async fn a_valid_key_is_accepted_on_both_surfaces(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = bearer(&app, "ucd", "", "").await;
    let id = api_key::parse(&token).unwrap().public_id.to_owned();

    let (status, body) = verify(&app, json!({ "key": token, "type": "ucd" })).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["valid"], true);
    assert_eq!(body["code"], "VALID");
    assert_eq!(body["key"]["id"], id.as_str());
    assert_eq!(body["key"]["type"], "ucd");
    assert_eq!(body["key"]["name"], "ucd for verification");
    assert!(body["key"]["expires_at"].is_null());
    assert_eq!(
        body["key"]["application"],
        json!({ "id": "default", "name": "Default" })
    );

    for header in [
        ("authorization", format!("Bearer {token}")),
        ("x-api-key", token.clone()),
    ] {
        let response = forward(&app, &[(header.0, &header.1)]).await;
        assert_eq!(response.status(), StatusCode::OK, "{}", header.0);
        assert_eq!(response.headers()["x-latchkey-key-id"], id.as_str());
        assert_eq!(response.headers()["x-latchkey-type"], "ucd");
        assert_eq!(response.headers()["x-latchkey-application"], "default");
    }
    let missing = forward(&app, &[]).await;
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
}

async fn unknown_and_deleted_keys_answer_alike(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let token = admin.generate_token("tsms", "Soon deleted").await;
    let unknown = api_key::NewApiKey::generate("tsms").token();
    let id = api_key::parse(&token).unwrap().public_id.to_owned();
    admin
        .post(&format!("/settings/integrations/keys/{id}/delete"), &[])
        .await;

    let deleted_answer = verify(&app, json!({ "key": token })).await;
    let unknown_answer = verify(&app, json!({ "key": unknown })).await;
    assert_eq!(deleted_answer, unknown_answer);
    assert_eq!(deleted_answer.1["code"], "NOT_FOUND");
}

async fn deletion_cuts_access_at_once_and_on_other_instances_within_a_second(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let other = app.another_instance();
    let admin = app.signed_in(Role::Administrator).await;
    let token = admin.generate_token("ucd", "Cut off").await;
    let id = api_key::parse(&token).unwrap().public_id.to_owned();
    let other_auth = format!("{}/api/v1/auth", other.base);
    let client = reqwest::Client::new();
    // What the other instance answers for this key right now.
    let other_answer = || async {
        let response = client
            .get(&other_auth)
            .header("x-api-key", &token)
            .send()
            .await;
        response.unwrap().status()
    };
    // The other instance learns of the new key too.
    wait_for(|| async { other_answer().await == StatusCode::OK }).await;

    let deleted = admin
        .post(&format!("/settings/integrations/keys/{id}/delete"), &[])
        .await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    let here = forward(&app, &[("x-api-key", &token)]).await;
    assert_eq!(
        here.status(),
        StatusCode::UNAUTHORIZED,
        "refused at once where it was deleted"
    );
    let started = std::time::Instant::now();
    wait_for(|| async { other_answer().await == StatusCode::UNAUTHORIZED }).await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );
}

/// Polls `check` every 50 ms for up to 5 s.
async fn wait_for<F, Fut>(check: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..100 {
        if check().await {
            return;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("condition not met within 5 s");
}

/// The key with its last character changed (to one it certainly was not).
fn mistyped(key: &str) -> String {
    let (head, last) = key.split_at(key.len() - 1);
    format!("{head}{}", if last == "x" { "y" } else { "x" })
}

async fn each_rule_gives_its_own_code(backend: Backend) {
    // The test stands in for a trusted caller, so its "ip" fields are believed.
    let app = TestApp::spawn_trusting(backend, "127.0.0.1").await;
    let restricted = bearer(&app, "ucd", "10.0.0.0/8\n2001:db8::/32", "").await;
    let cases = [
        (json!({ "key": "lk_ucd_nope" }), "MALFORMED"),
        (json!({ "key": mistyped(&restricted) }), "MALFORMED"),
        (
            json!({ "key": restricted, "ip": "10.1.2.3", "type": "tsms" }),
            "WRONG_TYPE",
        ),
        (
            json!({ "key": restricted, "ip": "192.0.2.1" }),
            "IP_NOT_ALLOWED",
        ),
        (json!({ "key": restricted, "ip": "2001:db8::5" }), "VALID"),
        (json!({ "key": restricted, "ip": "10.1.2.3" }), "VALID"),
        // Without an ip field the caller's own address is used: 127.0.0.1 is not allowed.
        (json!({ "key": restricted }), "IP_NOT_ALLOWED"),
    ];
    for (body, code) in cases {
        let (status, answer) = verify(&app, body.clone()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(answer["code"], code, "{body}");
        assert_eq!(answer["valid"], code == "VALID");
    }
    let refused = forward(&app, &[("x-api-key", &restricted)]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    // Expiry, set behind the console's back, is seen within a second.
    let id = api_key::parse(&restricted).unwrap().public_id.to_owned();
    let past = latchkey::db::now() - chrono::Duration::minutes(1);
    diesel::update(api_keys::table.find(&id))
        .set((
            api_keys::expires_at.eq(Some(past)),
            api_keys::changed_at.eq(latchkey::db::now()),
        ))
        .execute(&mut app.conn())
        .unwrap();
    let key = restricted.clone();
    wait_for(|| {
        let key = key.clone();
        let app = &app;
        async move { verify(app, json!({ "key": key, "ip": "10.1.2.3" })).await.1["code"] == "EXPIRED" }
    })
    .await;
}

async fn the_rate_limit_answers_429_with_retry_after(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = bearer(&app, "tsms", "", "2").await;
    for _ in 0..2 {
        assert_eq!(
            verify(&app, json!({ "key": token })).await.1["code"],
            "VALID"
        );
    }
    let response = forward(&app, &[("x-api-key", &token)]).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry), "{retry}");
    let (status, body) = verify(&app, json!({ "key": token })).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["code"], "RATE_LIMITED");
}

async fn key_secret_pairs_work_with_basic_authentication(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let page = key_page(&admin, "hubbasic", "", "").await;
    let key = input_value(&page, "revealed-key").unwrap();
    let secret = input_value(&page, "revealed-secret").unwrap();
    let basic = format!("Basic {}", B64.encode(format!("{key}:{secret}")));
    let response = forward(&app, &[("authorization", &basic)]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-latchkey-type"], "hubbasic");
    let wrong = format!("Basic {}", B64.encode(format!("{key}:{}", "x".repeat(38))));
    assert_eq!(
        forward(&app, &[("authorization", &wrong)]).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let (_, body) = verify(&app, json!({ "key": key, "secret": secret })).await;
    assert_eq!(body["code"], "VALID");
}

async fn hmac_signed_requests_pass_once_and_replays_do_not(backend: Backend) {
    // The test stands in for the gateway, which reports the signed method and target.
    let app = TestApp::spawn_trusting(backend, "127.0.0.1").await;
    let admin = app.signed_in(Role::Administrator).await;
    let page = key_page(&admin, "hubhmac", "", "").await;
    let key = input_value(&page, "revealed-key").unwrap();
    let secret = input_value(&page, "revealed-secret").unwrap();

    let sign = |date: &str, method: &str, uri: &str| {
        let to_sign = hmac_signature::string_to_sign(date, method, uri);
        let signature = B64.encode(hmac_signature::sign(secret.as_bytes(), &to_sign));
        format!("LK-HMAC-SHA256 KeyId={key}, Signature={signature}")
    };
    let now = chrono::Utc::now()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let authorization = sign(&now, "POST", "/orders?id=7");
    let headers = [
        ("authorization", authorization.as_str()),
        ("date", now.as_str()),
        ("x-original-method", "POST"),
        ("x-original-uri", "/orders?id=7"),
    ];
    let first = forward(&app, &headers).await;
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(first.headers()["x-latchkey-type"], "hubhmac");

    let replay = forward(&app, &headers).await;
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
    let body: Value = replay.json().await.unwrap();
    assert!(body["reason"].as_str().unwrap().contains("already used"));

    // Signed for another request: the signature does not match.
    let other_uri = [
        headers[0],
        headers[1],
        headers[2],
        ("x-original-uri", "/orders?id=8"),
    ];
    assert_eq!(
        forward(&app, &other_uri).await.status(),
        StatusCode::UNAUTHORIZED
    );

    // A date ten minutes old is refused, however well signed.
    let old = (chrono::Utc::now() - chrono::Duration::minutes(10))
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let stale = sign(&old, "GET", "/");
    let response = forward(
        &app,
        &[
            ("authorization", &stale),
            ("date", &old),
            ("x-original-method", "GET"),
            ("x-original-uri", "/"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["reason"],
        "the Date header is more than five minutes from the server's clock"
    );

    // Truncated signature.
    let truncated = &authorization[..authorization.len() - 6];
    assert_eq!(
        forward(&app, &[("authorization", truncated), ("date", &now)])
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

async fn x_forwarded_for_counts_only_from_trusted_proxies(backend: Backend) {
    let trusting = TestApp::spawn_trusting(backend, "127.0.0.1").await;
    let token = bearer(&trusting, "ucd", "203.0.113.0/24", "").await;
    let through_proxy = forward(
        &trusting,
        &[("x-api-key", &token), ("x-forwarded-for", "203.0.113.9")],
    )
    .await;
    assert_eq!(through_proxy.status(), StatusCode::OK);
    let outside = forward(
        &trusting,
        &[("x-api-key", &token), ("x-forwarded-for", "198.51.100.1")],
    )
    .await;
    assert_eq!(outside.status(), StatusCode::FORBIDDEN);

    let untrusting = TestApp::spawn(backend).await;
    let token = bearer(&untrusting, "ucd", "203.0.113.0/24", "").await;
    let spoofed = forward(
        &untrusting,
        &[("x-api-key", &token), ("x-forwarded-for", "203.0.113.9")],
    )
    .await;
    assert_eq!(
        spoofed.status(),
        StatusCode::FORBIDDEN,
        "the header is ignored without trusted proxies"
    );
}

async fn a_disabled_type_refuses_its_keys(backend: Backend) {
    // Web Push keys were switched off on a set date; here the date is ten minutes away,
    // and the test moves the console's clock past it.
    let from = (chrono::Utc::now() + chrono::Duration::minutes(10)).format("%Y-%m-%dT%H:%M:%SZ");
    let catalogue = format!(
        "[[type]]\ncode = \"webpush\"\nname = \"Web Push\"\nscheme = \"bearer\"\ndisabled_from = {from}\n\n\
         [[type]]\ncode = \"mobile\"\nname = \"Mobile App\"\nscheme = \"bearer\"\n"
    );
    let app = TestApp::spawn_with_catalogue(backend, &catalogue).await;
    let admin = app.signed_in(Role::Administrator).await;
    let token = admin.generate_token("webpush", "Old push key").await;
    assert_eq!(
        verify(&app, json!({ "key": token })).await.1["code"],
        "VALID"
    );

    app.clock.advance(chrono::Duration::minutes(15));
    assert_eq!(
        verify(&app, json!({ "key": token })).await.1["code"],
        "DISABLED"
    );
    assert_eq!(
        forward(&app, &[("x-api-key", &token)]).await.status(),
        StatusCode::UNAUTHORIZED
    );

    let list = admin.html("/settings/integrations").await;
    assert!(
        list.contains(">Disabled<"),
        "the console shows the key as disabled"
    );
    let form = admin.html("/settings/integrations/keys/new").await;
    assert!(
        !form.contains(">Web Push<"),
        "a disabled type is not offered"
    );
    let refused = admin.submit_details("webpush", "Too late").await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

async fn usage_is_recorded_in_batches(backend: Backend) {
    // A trusted caller, so the "ip" fields below are believed.
    let app = TestApp::spawn_trusting(backend, "127.0.0.1").await;
    let token = bearer(&app, "ucd", "10.0.0.0/8", "").await;
    let id = api_key::parse(&token).unwrap().public_id.to_owned();
    for _ in 0..3 {
        verify(&app, json!({ "key": token, "ip": "10.0.0.1" })).await;
    }
    verify(&app, json!({ "key": token, "ip": "192.0.2.1" })).await;
    let today = chrono::Utc::now().date_naive().to_string();
    let pool = app.pool.clone();
    let key_id = id.clone();
    wait_for(|| {
        let (pool, key_id, today) = (pool.clone(), key_id.clone(), today.clone());
        async move {
            let rows =
                latchkey::db::usage::daily(&mut pool.get().unwrap(), &key_id, &today).unwrap();
            rows.contains(&(today.clone(), "VALID".into(), 3))
                && rows.contains(&(today.clone(), "IP_NOT_ALLOWED".into(), 1))
        }
    })
    .await;
    let (at, ip) = latchkey::db::usage::last_use(&mut app.conn(), &id)
        .unwrap()
        .unwrap();
    assert!(at.is_some());
    assert_eq!(ip.as_deref(), Some("192.0.2.1"));
}

async fn bad_requests_get_a_4xx_json_answer(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = reqwest::Client::new();
    let url = format!("{}/api/v1/keys/verify", app.base);
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("application/json", b"not json".to_vec()),
        ("application/json", b"{\"key\": 42}".to_vec()),
        (
            "application/json",
            b"{\"key\": \"x\", \"ip\": \"not-an-ip\"}".to_vec(),
        ),
        ("application/json", b"{\"kee\": \"x\"}".to_vec()),
        ("application/json", b"[]".to_vec()),
        ("application/json", vec![0xff, 0xfe, 0x00]),
        (
            "application/json",
            format!("{{\"key\": \"{}\"}}", "a".repeat(10_000)).into_bytes(),
        ),
        ("text/plain", b"{\"key\": \"x\"}".to_vec()),
    ];
    for (content_type, body) in bodies {
        let response = client
            .post(&url)
            .header("content-type", content_type)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let status = response.status();
        assert!(
            status.is_client_error(),
            "{status} for {:?}",
            String::from_utf8_lossy(&body[..body.len().min(40)])
        );
        let answer: Value = response.json().await.expect("a JSON answer");
        assert!(answer["error"].is_string());
    }
    // Unicode and absurd keys are simply malformed.
    for key in ["lk_ucd_ééééééééééé_x", "🔑", "", &"lk_".repeat(30)] {
        let (status, answer) = verify(&app, json!({ "key": key })).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (StatusCode::OK, Some("MALFORMED")),
            "{key}"
        );
    }
    // Garbage and oversized headers on forward-auth.
    let huge = "x".repeat(20_000);
    for (name, value) in [
        ("authorization", "Bearer"),
        ("authorization", "Basic !!!"),
        ("authorization", "LK-HMAC-SHA256 KeyId="),
        ("x-api-key", huge.as_str()),
    ] {
        let status = forward(&app, &[(name, value)]).await.status();
        assert!(status.is_client_error(), "{name}: {status}");
    }
    let raw = client
        .get(format!("{}/api/v1/auth", app.base))
        .header(
            "x-api-key",
            reqwest::header::HeaderValue::from_bytes(b"lk_\xe9\xff").unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), StatusCode::UNAUTHORIZED);
}

/// A restricted key whose stored list gained a line that cannot be read (by
/// hand, or by a future format) must not become usable from anywhere.
async fn a_stored_allowlist_that_cannot_be_read_refuses_the_key(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = bearer(&app, "ucd", "", "").await;
    assert_eq!(verify(&app, json!({ "key": key })).await.1["code"], "VALID");
    let id = api_key::parse(&key).unwrap().public_id.to_owned();
    diesel::update(api_keys::table.find(&id))
        .set((
            api_keys::allowed_ips.eq("10.0.0.0/8\n10.0.0.0/80"),
            api_keys::changed_at.eq(latchkey::db::now()),
        ))
        .execute(&mut app.conn())
        .unwrap();
    let presented = key.clone();
    wait_for(|| {
        let key = presented.clone();
        let app = &app;
        async move { verify(app, json!({ "key": key })).await.1["code"] == "NOT_FOUND" }
    })
    .await;
    let admin = app.signed_in(Role::Administrator).await;
    let page = admin
        .html(&format!("/settings/integrations/keys/{id}"))
        .await;
    assert!(
        page.contains("Unreadable list: the key is refused"),
        "{page}"
    );
}

async fn a_gateway_pins_the_application_and_an_archived_one_is_cut_off_everywhere(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let other = app.another_instance();
    let token = bearer(&app, "ucd", "", "").await;
    // (the application the caller expects, the answer): by id or by name in any case.
    let table = [
        ("default", "VALID"),
        ("Default", "VALID"),
        (" default ", "VALID"),
        ("Partner sandbox", "WRONG_APPLICATION"),
        ("app_nope", "WRONG_APPLICATION"),
    ];
    for (expected, code) in table {
        let (status, body) = verify(&app, json!({ "key": token, "application": expected })).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["code"], code, "{expected}");
        let status = forward(
            &app,
            &[
                ("x-api-key", &token),
                ("x-latchkey-expected-application", expected),
            ],
        )
        .await
        .status();
        let want = if code == "VALID" { 200 } else { 403 };
        assert_eq!(status.as_u16(), want, "{expected}");
    }
    // The key's request log says why, once its batch is written.
    let id = api_key::parse(&token).unwrap().public_id.to_owned();
    let admin = app.signed_in(Role::Administrator).await;
    let page = format!("/settings/integrations/keys/{id}?outcome=WRONG_APPLICATION");
    wait_for(|| async {
        admin.html(&page).await.contains(
            "The caller expected a key of the Application app_nope, and this key is in Default",
        )
    })
    .await;

    // Archived behind the console's back: every instance refuses the key within a second.
    let set_archived = |archived: bool| {
        use latchkey::db::schema::applications;
        let at = archived.then(latchkey::db::now);
        diesel::update(applications::table.find("default"))
            .set(applications::archived_at.eq(at))
            .execute(&mut app.conn())
            .unwrap();
    };
    set_archived(true);
    let started = std::time::Instant::now();
    for base in [&app.base, &other.base] {
        wait_for(|| {
            let (token, base) = (token.clone(), base.clone());
            async move { verify_at(&base, json!({ "key": token })).await["code"] == "DISABLED" }
        })
        .await;
    }
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "took {:?}",
        started.elapsed()
    );
    set_archived(false);
    for base in [&app.base, &other.base] {
        wait_for(|| {
            let (token, base) = (token.clone(), base.clone());
            async move { verify_at(&base, json!({ "key": token })).await["code"] == "VALID" }
        })
        .await;
    }
}

async fn verify_at(base: &str, body: Value) -> Value {
    reqwest::Client::new()
        .post(format!("{base}/api/v1/keys/verify"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
