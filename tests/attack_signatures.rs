//! The verification surfaces under attack: credentials in the wrong form,
//! replayed signatures (across instances, restarts and bursts), clients that
//! choose what their signature covers or which address is checked, IPv4-mapped
//! ranges, and the API's own response headers. Every expected answer is
//! written out here, not computed by the code under test.

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use common::{Backend, TestApp, input_value};
use diesel::connection::SimpleConnection;
use futures::future::join_all;
use latchkey::domain::role::Role;
use latchkey::domain::{api_key, hmac_signature};
use reqwest::StatusCode;
use serde_json::{Value, json};

both_backends!(
    each_scheme_accepts_only_its_own_form_of_credential,
    a_credential_in_the_wrong_form_gets_the_same_answer_for_unknown_keys,
    a_signature_accepted_on_one_instance_is_refused_on_another_and_after_a_restart,
    twenty_parallel_presentations_across_two_instances_pass_exactly_once,
    a_signed_request_fails_closed_when_the_replay_table_is_unreachable,
    expired_signatures_are_swept_from_the_replay_table,
    a_client_cannot_choose_what_its_signature_covers,
    the_ip_field_is_believed_only_from_trusted_callers,
    ipv4_mapped_ranges_match_their_ipv4_addresses,
    api_answers_forbid_sniffing_and_with_https_send_hsts,
);

/// A key as the console's modal shows it: the whole token and, for pairs,
/// its two halves.
struct Shown {
    whole: String,
    key_id: String,
    secret: String,
}

async fn generate(app: &TestApp, code: &str, ips: &str) -> Shown {
    let admin = app.signed_in(Role::Administrator).await;
    let (status, page) = admin
        .generate(code, &format!("{code} under attack"), ips)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{page}");
    let revealed = input_value(&page, "revealed-key").unwrap();
    match input_value(&page, "revealed-secret") {
        Some(secret) => Shown {
            whole: format!("{revealed}_{secret}"),
            key_id: revealed,
            secret,
        },
        None => {
            // A bearer key split where a pair would be: "lk_<code>_<id>" and the rest.
            let parsed = api_key::parse(&revealed).unwrap();
            let key_id = format!("lk_{}_{}", parsed.type_code, parsed.public_id);
            let secret = revealed[key_id.len() + 1..].to_owned();
            Shown {
                whole: revealed,
                key_id,
                secret,
            }
        }
    }
}

fn http_date(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// `Authorization` and `Date` for a request signed with this key and secret.
fn sign(key: &Shown, method: &str, target: &str) -> (String, String) {
    let date = http_date(chrono::Utc::now());
    let to_sign = hmac_signature::string_to_sign(&date, method, target);
    let signature = B64.encode(hmac_signature::sign(key.secret.as_bytes(), &to_sign));
    (
        format!("LK-HMAC-SHA256 KeyId={}, Signature={signature}", key.key_id),
        date,
    )
}

async fn forward_to(base: &str, headers: &[(&str, &str)]) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new().get(format!("{base}/api/v1/auth"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    (response.status(), response.json().await.unwrap())
}

async fn verify_at(base: &str, body: &Value) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(format!("{base}/api/v1/keys/verify"))
        .json(body)
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

/// Forward-auth headers for a signed GET of `target`, as nginx reports it.
fn signed_headers<'a>(
    authorization: &'a str,
    date: &'a str,
    target: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("authorization", authorization),
        ("date", date),
        ("x-original-method", "GET"),
        ("x-original-uri", target),
    ]
}

#[derive(Debug, Clone, Copy)]
enum Form {
    BearerHeader,
    XApiKey,
    BasicHeader,
    SignedHeader,
    VerifyKey,
    VerifyKeyAndSecret,
    VerifySignature,
}

/// Presents `key` in `form`; returns the HTTP status and the answer's code.
async fn present(app: &TestApp, key: &Shown, form: Form, n: usize) -> (u16, String) {
    let target = format!("/orders?attempt={n}");
    let (status, body) = match form {
        Form::BearerHeader => {
            let value = format!("Bearer {}", key.whole);
            forward_to(&app.base, &[("authorization", &value)]).await
        }
        Form::XApiKey => forward_to(&app.base, &[("x-api-key", &key.whole)]).await,
        Form::BasicHeader => {
            let value = format!(
                "Basic {}",
                B64.encode(format!("{}:{}", key.key_id, key.secret))
            );
            forward_to(&app.base, &[("authorization", &value)]).await
        }
        Form::SignedHeader => {
            let (authorization, date) = sign(key, "GET", &target);
            forward_to(&app.base, &signed_headers(&authorization, &date, &target)).await
        }
        Form::VerifyKey => verify_at(&app.base, &json!({ "key": key.whole })).await,
        Form::VerifyKeyAndSecret => {
            verify_at(
                &app.base,
                &json!({ "key": key.key_id, "secret": key.secret }),
            )
            .await
        }
        Form::VerifySignature => {
            let (authorization, date) = sign(key, "POST", &target);
            let signature = json!({
                "authorization": authorization, "date": date, "method": "POST", "target": target,
            });
            verify_at(&app.base, &json!({ "signature": signature })).await
        }
    };
    (status.as_u16(), body["code"].as_str().unwrap().to_owned())
}

async fn each_scheme_accepts_only_its_own_form_of_credential(backend: Backend) {
    // The test stands in for the gateway, so signed forward-auth can be checked at all.
    let app = TestApp::spawn_trusting(backend, "127.0.0.1").await;
    let bearer = generate(&app, "ucd", "").await;
    let basic = generate(&app, "hubbasic", "").await;
    let hmac = generate(&app, "hubhmac", "").await;
    use Form::*;
    let table: [(&str, &Shown, Form, u16, &str); 21] = [
        ("bearer", &bearer, BearerHeader, 200, "VALID"),
        ("bearer", &bearer, XApiKey, 200, "VALID"),
        ("bearer", &bearer, BasicHeader, 401, "MALFORMED"),
        ("bearer", &bearer, SignedHeader, 401, "MALFORMED"),
        ("bearer", &bearer, VerifyKey, 200, "VALID"),
        ("bearer", &bearer, VerifyKeyAndSecret, 200, "MALFORMED"),
        ("bearer", &bearer, VerifySignature, 200, "MALFORMED"),
        ("basic", &basic, BearerHeader, 401, "MALFORMED"),
        ("basic", &basic, XApiKey, 401, "MALFORMED"),
        ("basic", &basic, BasicHeader, 200, "VALID"),
        ("basic", &basic, SignedHeader, 401, "MALFORMED"),
        ("basic", &basic, VerifyKey, 200, "MALFORMED"),
        ("basic", &basic, VerifyKeyAndSecret, 200, "VALID"),
        ("basic", &basic, VerifySignature, 200, "MALFORMED"),
        ("hmac", &hmac, BearerHeader, 401, "MALFORMED"),
        ("hmac", &hmac, XApiKey, 401, "MALFORMED"),
        ("hmac", &hmac, BasicHeader, 401, "MALFORMED"),
        ("hmac", &hmac, SignedHeader, 200, "VALID"),
        ("hmac", &hmac, VerifyKey, 200, "MALFORMED"),
        ("hmac", &hmac, VerifyKeyAndSecret, 200, "MALFORMED"),
        ("hmac", &hmac, VerifySignature, 200, "VALID"),
    ];
    let mut wrong = Vec::new();
    for (n, (scheme, key, form, status, code)) in table.into_iter().enumerate() {
        let answer = present(&app, key, form, n).await;
        if answer != (status, code.to_owned()) {
            wrong.push(format!(
                "{scheme} as {form:?}: got {answer:?}, expected ({status}, {code})"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

async fn a_credential_in_the_wrong_form_gets_the_same_answer_for_unknown_keys(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let known = generate(&app, "hubhmac", "").await;
    let unknown = api_key::NewApiKey::generate("hubhmac");
    let unknown = Shown {
        whole: unknown.token(),
        key_id: unknown.key_id(),
        secret: unknown.pair_secret(),
    };
    let expected = json!({
        "valid": false,
        "code": "MALFORMED",
        "reason": "keys of this type must sign each request: Authorization: LK-HMAC-SHA256, or {\"signature\"}",
    });
    for key in [&known, &unknown] {
        assert_eq!(
            verify_at(&app.base, &json!({ "key": key.whole })).await,
            (StatusCode::OK, expected.clone())
        );
        assert_eq!(
            verify_at(
                &app.base,
                &json!({ "key": key.key_id, "secret": key.secret })
            )
            .await,
            (StatusCode::OK, expected.clone())
        );
        assert_eq!(
            forward_to(&app.base, &[("x-api-key", &key.whole)]).await,
            (StatusCode::UNAUTHORIZED, expected.clone())
        );
    }
}

async fn a_signature_accepted_on_one_instance_is_refused_on_another_and_after_a_restart(
    backend: Backend,
) {
    let app = TestApp::spawn_trusting(backend, "127.0.0.1").await;
    let other = app.another_instance();
    let key = generate(&app, "hubhmac", "").await;
    // The other instance learns of the new key within a second.
    actix_web::rt::time::sleep(std::time::Duration::from_millis(1200)).await;
    let replayed = json!({
        "valid": false,
        "code": "MALFORMED",
        "reason": "this signature was already used; sign each request afresh",
    });

    let (authorization, date) = sign(&key, "GET", "/orders?id=7");
    let headers = signed_headers(&authorization, &date, "/orders?id=7");
    let (status, _) = forward_to(&app.base, &headers).await;
    assert_eq!(status, StatusCode::OK, "accepted once, on A");
    assert_eq!(
        forward_to(&other.base, &headers).await,
        (StatusCode::UNAUTHORIZED, replayed.clone()),
        "refused on B"
    );
    // A restart: a fresh process state on the same database.
    let restarted = app.another_instance();
    assert_eq!(
        forward_to(&restarted.base, &headers).await,
        (StatusCode::UNAUTHORIZED, replayed.clone()),
        "refused after a restart"
    );

    // The same holds for signatures presented through the verify API.
    let (authorization, date) = sign(&key, "POST", "/payments");
    let body = json!({ "signature": {
        "authorization": authorization, "date": date, "method": "POST", "target": "/payments",
    }});
    assert_eq!(verify_at(&other.base, &body).await.1["code"], "VALID");
    assert_eq!(
        verify_at(&app.base, &body).await,
        (StatusCode::OK, replayed.clone())
    );
    assert_eq!(
        verify_at(&restarted.base, &body).await,
        (StatusCode::OK, replayed)
    );
}

async fn twenty_parallel_presentations_across_two_instances_pass_exactly_once(backend: Backend) {
    let app = TestApp::spawn_trusting(backend, "127.0.0.1").await;
    let other = app.another_instance();
    let key = generate(&app, "hubhmac", "").await;
    actix_web::rt::time::sleep(std::time::Duration::from_millis(1200)).await;
    let (authorization, date) = sign(&key, "GET", "/burst");
    let client = reqwest::Client::new();
    let requests = (0..20).map(|i| {
        let base = if i % 2 == 0 { &app.base } else { &other.base };
        client
            .get(format!("{base}/api/v1/auth"))
            .header("authorization", &authorization)
            .header("date", &date)
            .header("x-original-method", "GET")
            .header("x-original-uri", "/burst")
            .send()
    });
    let statuses: Vec<u16> = join_all(requests)
        .await
        .into_iter()
        .map(|r| r.unwrap().status().as_u16())
        .collect();
    let valid = statuses.iter().filter(|s| **s == 200).count();
    let refused = statuses.iter().filter(|s| **s == 401).count();
    assert_eq!((valid, refused), (1, 19), "{statuses:?}");
}

async fn a_signed_request_fails_closed_when_the_replay_table_is_unreachable(backend: Backend) {
    let app = TestApp::spawn_trusting(backend, "127.0.0.1").await;
    let key = generate(&app, "hubhmac", "").await;
    let bearer = generate(&app, "ucd", "").await;
    app.conn()
        .batch_execute("ALTER TABLE signature_replay RENAME TO signature_replay_away")
        .unwrap();

    let (authorization, date) = sign(&key, "GET", "/during-outage");
    let response = reqwest::Client::new()
        .get(format!("{}/api/v1/auth", app.base))
        .header("authorization", &authorization)
        .header("date", &date)
        .header("x-original-method", "GET")
        .header("x-original-uri", "/during-outage")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "5");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({
            "valid": false,
            "code": "UNAVAILABLE",
            "reason": "signed requests cannot be checked for replay right now; retry shortly with a fresh signature",
        })
    );
    let (authorization, date) = sign(&key, "PUT", "/during-outage");
    let signature = json!({
        "authorization": authorization, "date": date, "method": "PUT", "target": "/during-outage",
    });
    let (status, body) = verify_at(&app.base, &json!({ "signature": signature })).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("UNAVAILABLE"))
    );
    // Bearer keys need no database read: they keep working.
    assert_eq!(
        verify_at(&app.base, &json!({ "key": bearer.whole }))
            .await
            .1["code"],
        "VALID"
    );

    app.conn()
        .batch_execute("ALTER TABLE signature_replay_away RENAME TO signature_replay")
        .unwrap();
    let (authorization, date) = sign(&key, "GET", "/after-outage");
    let (status, _) = forward_to(
        &app.base,
        &signed_headers(&authorization, &date, "/after-outage"),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a fresh signature passes once the table is back"
    );
}

async fn expired_signatures_are_swept_from_the_replay_table(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let past = latchkey::db::now() - chrono::Duration::minutes(1);
    let future = latchkey::db::now() + chrono::Duration::minutes(6);
    {
        let mut conn = app.conn();
        assert!(latchkey::db::signatures::first_sighting(&mut conn, &[1; 32], past).unwrap());
        assert!(latchkey::db::signatures::first_sighting(&mut conn, &[2; 32], future).unwrap());
        assert!(!latchkey::db::signatures::first_sighting(&mut conn, &[2; 32], future).unwrap());
        assert_eq!(latchkey::db::signatures::remembered(&mut conn).unwrap(), 2);
    }
    // The background thread sweeps every two seconds.
    for _ in 0..60 {
        if latchkey::db::signatures::remembered(&mut app.conn()).unwrap() == 1 {
            return;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the expired signature was not swept within 6 s");
}

async fn a_client_cannot_choose_what_its_signature_covers(backend: Backend) {
    let untrusting = TestApp::spawn(backend).await;
    let key = generate(&untrusting, "hubhmac", "").await;
    let (authorization, date) = sign(&key, "GET", "/orders");
    assert_eq!(
        forward_to(
            &untrusting.base,
            &signed_headers(&authorization, &date, "/orders")
        )
        .await,
        (
            StatusCode::UNAUTHORIZED,
            json!({
                "valid": false,
                "code": "MALFORMED",
                "reason": "signed requests are checked only through a gateway listed in --trusted-proxies, \
                           which reports the signed method and target",
            })
        ),
        "a peer that is not a trusted gateway cannot say what was signed"
    );

    let app = TestApp::spawn_trusting(backend, "127.0.0.1").await;
    let key = generate(&app, "hubhmac", "").await;
    // No target reported: the signature cannot be bound, and "/" is not assumed.
    let (authorization, date) = sign(&key, "GET", "/");
    assert_eq!(
        forward_to(
            &app.base,
            &[("authorization", &authorization), ("date", &date)]
        )
        .await,
        (
            StatusCode::UNAUTHORIZED,
            json!({
                "valid": false,
                "code": "MALFORMED",
                "reason": "the gateway did not report the signed request's method and target \
                           (X-Original-Method and X-Original-URI, or X-Forwarded-Method and X-Forwarded-Uri)",
            })
        )
    );
    // A client-sent X-Original-URI (signed) disagreeing with the gateway's X-Forwarded-Uri.
    let (authorization, date) = sign(&key, "GET", "/cheap");
    let headers = [
        ("authorization", authorization.as_str()),
        ("date", date.as_str()),
        ("x-original-uri", "/cheap"),
        ("x-forwarded-method", "GET"),
        ("x-forwarded-uri", "/expensive"),
    ];
    assert_eq!(
        forward_to(&app.base, &headers).await,
        (
            StatusCode::UNAUTHORIZED,
            json!({
                "valid": false,
                "code": "MALFORMED",
                "reason": "X-Original-URI and X-Forwarded-Uri disagree; the signed target is ambiguous",
            })
        )
    );
    // Methods that disagree are refused the same way.
    let (authorization, date) = sign(&key, "GET", "/method");
    let headers = [
        ("authorization", authorization.as_str()),
        ("date", date.as_str()),
        ("x-original-method", "GET"),
        ("x-forwarded-method", "DELETE"),
        ("x-forwarded-uri", "/method"),
    ];
    assert_eq!(forward_to(&app.base, &headers).await.1["code"], "MALFORMED");
    // Traefik's and Caddy's headers alone, or both agreeing, bind the signature.
    let (authorization, date) = sign(&key, "GET", "/traefik");
    let traefik = [
        ("authorization", authorization.as_str()),
        ("date", date.as_str()),
        ("x-forwarded-method", "GET"),
        ("x-forwarded-uri", "/traefik"),
    ];
    assert_eq!(forward_to(&app.base, &traefik).await.0, StatusCode::OK);
    let (authorization, date) = sign(&key, "GET", "/both");
    let both = [
        ("authorization", authorization.as_str()),
        ("date", date.as_str()),
        ("x-original-method", "get"),
        ("x-original-uri", "/both"),
        ("x-forwarded-method", "GET"),
        ("x-forwarded-uri", "/both"),
    ];
    assert_eq!(forward_to(&app.base, &both).await.0, StatusCode::OK);
}

async fn the_ip_field_is_believed_only_from_trusted_callers(backend: Backend) {
    let untrusting = TestApp::spawn(backend).await;
    let key = generate(&untrusting, "ucd", "10.0.0.1").await;
    assert_eq!(
        verify_at(
            &untrusting.base,
            &json!({ "key": key.whole, "ip": "10.0.0.1" })
        )
        .await,
        (
            StatusCode::OK,
            json!({
                "valid": false,
                "code": "IP_NOT_ALLOWED",
                "reason": "“ip” is believed only from callers listed in --trusted-proxies; \
                           this request's own address was checked",
            })
        )
    );

    let trusting = TestApp::spawn_trusting(backend, "127.0.0.1").await;
    let key = generate(&trusting, "ucd", "10.0.0.1").await;
    let body = json!({ "key": key.whole, "ip": "10.0.0.1" });
    let (status, answer) = verify_at(&trusting.base, &body).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::OK, Some("VALID"))
    );
    // Through the trusted proxy on behalf of an untrusted client: not believed.
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/keys/verify", trusting.base))
        .header("x-forwarded-for", "198.51.100.7")
        .json(&body)
        .send()
        .await
        .unwrap();
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["code"], "IP_NOT_ALLOWED");
}

async fn ipv4_mapped_ranges_match_their_ipv4_addresses(backend: Backend) {
    let app = TestApp::spawn_trusting(backend, "127.0.0.1").await;
    let key = generate(&app, "ucd", "::ffff:10.0.0.0/104").await;
    for (ip, code) in [
        ("10.1.2.3", "VALID"),
        ("::ffff:10.1.2.3", "VALID"),
        ("11.0.0.1", "IP_NOT_ALLOWED"),
        ("::ffff:11.0.0.1", "IP_NOT_ALLOWED"),
    ] {
        let answer = verify_at(&app.base, &json!({ "key": key.whole, "ip": ip }))
            .await
            .1;
        assert_eq!(answer["code"], code, "{ip}");
    }
    let admin = app.signed_in(Role::Administrator).await;
    let id = api_key::parse(&key.whole).unwrap().public_id.to_owned();
    let detail = admin
        .html(&format!("/settings/integrations/keys/{id}"))
        .await;
    assert!(
        detail.contains("<code>10.0.0.0/8</code>"),
        "shown in IPv4 form"
    );
    assert!(detail.contains("Each range covers one address family"));

    let step_two = admin.start_generate("ucd", "Too wide").await;
    let response = admin
        .post(
            &step_two,
            &[("trusted_ips", "10.0.0.0/8\n::ffff:0.0.0.0/95")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(page.contains("Line 2"), "the line is named");
    assert!(page.contains("an IPv4-mapped range needs a prefix of 96 or more"));
    assert!(page.contains("<code>0.0.0.0/0</code> is every IPv4 address"));
}

async fn api_answers_forbid_sniffing_and_with_https_send_hsts(backend: Backend) {
    let client = reqwest::Client::new();
    for (app, hsts) in [
        (TestApp::spawn(backend).await, None),
        (
            TestApp::spawn_https(backend).await,
            Some("max-age=63072000; includeSubDomains"),
        ),
    ] {
        let answers = [
            client
                .post(format!("{}/api/v1/keys/verify", app.base))
                .json(&json!({ "key": "lk_ucd_nope" }))
                .send()
                .await
                .unwrap(),
            client
                .post(format!("{}/api/v1/keys/verify", app.base))
                .header("content-type", "application/json")
                .body("not json")
                .send()
                .await
                .unwrap(),
            client
                .get(format!("{}/api/v1/auth", app.base))
                .send()
                .await
                .unwrap(),
        ];
        for response in answers {
            let headers = response.headers();
            let at = response.url().path().to_owned();
            assert_eq!(
                headers
                    .get("x-content-type-options")
                    .map(|v| v.to_str().unwrap()),
                Some("nosniff"),
                "{at} {}",
                response.status()
            );
            assert_eq!(
                headers
                    .get("strict-transport-security")
                    .map(|v| v.to_str().unwrap()),
                hsts,
                "{at} {}",
                response.status()
            );
        }
    }
}
