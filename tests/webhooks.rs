//! Settings › Webhooks: endpoints, the outbox, signed deliveries with
//! retries, expiry reminders, several instances and restarts. The receiving
//! end is a real HTTP server on 127.0.0.1 that records what it is sent.

mod common;

use std::io::Write;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use common::receiver::{Received, Receiver, add_endpoint, assert_signed};
use common::{Backend, Browser, TestApp, created_and_conflicts, input_value, location};
use diesel::prelude::*;
use latchkey::db::schema::{expiry_reminders, webhook_deliveries, webhook_endpoints};
use latchkey::domain::api_key;
use latchkey::domain::role::Role;
use reqwest::StatusCode;

both_backends!(
    a_failing_endpoint_gets_the_same_signed_delivery_after_each_backoff,
    a_delivery_due_again_is_sent_by_the_instance_that_starts_next,
    two_instances_deliver_each_event_once_per_endpoint_and_never_key_material,
    expiry_reminders_are_sent_once_at_fourteen_days_and_once_at_one_day,
    bad_endpoint_input_is_refused_with_a_message_and_nothing_is_written,
    the_endpoint_limit_holds_under_parallel_requests_on_two_instances,
    only_administrators_see_and_manage_webhooks_and_deleting_is_confirmed_and_audited,
    unreachable_endpoints_are_retried_with_the_reason_shown,
    bulk_audit_inserts_enqueue_nothing_and_enqueue_sends_other_events,
    the_worker_queries_read_a_range_of_their_indexes,
);

fn key_id(token: &str) -> String {
    api_key::parse(token).unwrap().public_id.to_owned()
}

/// The delivery rows' (attempts, state, seconds from last attempt to next).
fn delivery_rows(app: &TestApp) -> Vec<(i32, String, Option<i64>)> {
    webhook_deliveries::table
        .select((
            webhook_deliveries::attempts,
            webhook_deliveries::state,
            webhook_deliveries::last_attempt_at,
            webhook_deliveries::next_attempt_at,
        ))
        .load::<(
            i32,
            String,
            Option<chrono::NaiveDateTime>,
            Option<chrono::NaiveDateTime>,
        )>(&mut app.conn())
        .unwrap()
        .into_iter()
        .map(|(attempts, state, last, next)| {
            let wait = last.zip(next).map(|(l, n)| (n - l).num_seconds());
            (attempts, state, wait)
        })
        .collect()
}

async fn wait_for_rows(app: &TestApp, expected: &[(i32, &str, Option<i64>)]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let rows = delivery_rows(app);
        let shown: Vec<_> = rows.iter().map(|(a, s, w)| (*a, s.as_str(), *w)).collect();
        if shown == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "delivery rows {shown:?}, expected {expected:?}"
        );
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn a_failing_endpoint_gets_the_same_signed_delivery_after_each_backoff(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let receiver = Receiver::start(&[500, 500]);
    let url = receiver.url("/hooks/latchkey");
    let (endpoint, secret) = add_endpoint(&admin, &url, &["key.created"]).await;
    // Stored sealed, bound to its endpoint: never as shown, nor as its bytes.
    let sealed: Vec<u8> = webhook_endpoints::table
        .find(&endpoint)
        .select(webhook_endpoints::secret_sealed)
        .first(&mut app.conn())
        .unwrap();
    let bytes = BASE64
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    assert!(!sealed.windows(bytes.len()).any(|w| w == bytes.as_slice()));
    assert!(!sealed.windows(secret.len()).any(|w| w == secret.as_bytes()));
    let secret_box = &app.state.secret_box;
    assert_eq!(
        secret_box.open(&sealed, endpoint.as_bytes()).unwrap(),
        bytes
    );
    assert!(secret_box.open(&sealed, b"another endpoint").is_err());
    let again = admin.html("/settings/webhooks").await;
    assert!(!again.contains(&secret), "shown once");
    let token = admin.generate_token("tsms", "Hooked").await;
    let id = key_id(&token);

    let first = receiver.wait_for(1, Duration::from_secs(5)).await;
    let first = &first[0];
    assert_eq!(first.path, "/hooks/latchkey");
    assert_signed(&secret, first);
    let webhook_id = first.header("webhook-id").to_owned();
    assert!(webhook_id.starts_with("msg_"), "{webhook_id}");
    let body = first.json();
    assert_eq!(body["type"], "key.created");
    assert_eq!(body["data"]["key_id"], id.as_str());
    assert_eq!(body["data"]["key_prefix"], format!("lk_tsms_{id}").as_str());
    assert_eq!(body["data"]["type_code"], "tsms");
    assert_eq!(body["data"]["name"], "Hooked");
    assert!(
        body["data"]["actor_email"]
            .as_str()
            .unwrap()
            .starts_with("administrator-")
    );
    assert!(
        body["data"]["detail"]
            .as_str()
            .unwrap()
            .starts_with("Hooked (tsms); trusted IPs:")
    );
    let sent_at: i64 = first.header("webhook-timestamp").parse().unwrap();
    assert!((sent_at - app.clock.unix()).abs() <= 5);
    assert!(chrono::DateTime::parse_from_rfc3339(body["timestamp"].as_str().unwrap()).is_ok());

    // 500: due again 5 s after the attempt, not before.
    wait_for_rows(&app, &[(1, "pending", Some(5))]).await;
    receiver.still(1, Duration::from_millis(1500)).await;
    let page = admin.html(&format!("/settings/webhooks/{endpoint}")).await;
    assert!(page.contains(&webhook_id), "the page names the webhook-id");
    assert!(page.contains("HTTP 500"));
    assert!(page.contains("Retrying"));
    assert!(page.contains("<code>key.created</code>"));

    app.clock.advance(chrono::Duration::seconds(5));
    let second = receiver.wait_for(2, Duration::from_secs(5)).await;
    let second = &second[1];
    assert_eq!(
        second.header("webhook-id"),
        webhook_id,
        "the same webhook-id"
    );
    assert_eq!(second.body, first.body, "the same body");
    assert_signed(&secret, second);
    let resent_at: i64 = second.header("webhook-timestamp").parse().unwrap();
    assert!(resent_at >= sent_at + 5, "{resent_at} after {sent_at}");
    wait_for_rows(&app, &[(2, "pending", Some(30))]).await;
    receiver.still(2, Duration::from_millis(1500)).await;

    app.clock.advance(chrono::Duration::seconds(30));
    let third = receiver.wait_for(3, Duration::from_secs(5)).await;
    assert_eq!(third[2].header("webhook-id"), webhook_id);
    assert_signed(&secret, &third[2]);
    wait_for_rows(&app, &[(3, "delivered", None)]).await;
    let page = admin.html(&format!("/settings/webhooks/{endpoint}")).await;
    assert!(page.contains("Delivered"));
    assert!(page.contains("HTTP 200"));
    assert!(page.contains("<td data-label=\"Attempts\">3</td>"));
    // Delivered is final, however far the clock moves.
    app.clock.advance(chrono::Duration::days(2));
    receiver.still(3, Duration::from_millis(1500)).await;
}

async fn a_delivery_due_again_is_sent_by_the_instance_that_starts_next(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let receiver = Receiver::start(&[503]);
    let (_, secret) = add_endpoint(&admin, &receiver.url("/"), &["key.deleted"]).await;
    let token = admin.generate_token("tsms", "Short-lived").await;
    let id = key_id(&token);
    let deleted = admin
        .post(&format!("/settings/integrations/keys/{id}/delete"), &[])
        .await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    let first = receiver.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(first[0].json()["type"], "key.deleted");

    // Shut this console's worker down; the retry is in the database only.
    app.stop_webhooks();
    wait_for_rows(&app, &[(1, "pending", Some(5))]).await;
    app.clock.advance(chrono::Duration::seconds(60));
    receiver.still(1, Duration::from_millis(1500)).await;

    let restarted = app.another_instance();
    restarted.clock.advance(chrono::Duration::seconds(5));
    let both = receiver.wait_for(2, Duration::from_secs(5)).await;
    assert_eq!(
        both[1].header("webhook-id"),
        both[0].header("webhook-id"),
        "the same delivery"
    );
    assert_signed(&secret, &both[1]);
    wait_for_rows(&app, &[(2, "delivered", None)]).await;
    receiver.still(2, Duration::from_millis(1000)).await;
}

async fn two_instances_deliver_each_event_once_per_endpoint_and_never_key_material(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let other = app.another_instance();
    let admin = app.signed_in(Role::Administrator).await;
    let on_other = Browser::sharing(&admin, &other.base);
    let created_only = Receiver::start(&[]);
    let created_and_deleted = Receiver::start(&[]);
    let elsewhere = Receiver::start(&[]);
    let (_, secret_a) = add_endpoint(&admin, &created_only.url("/a"), &["key.created"]).await;
    let (_, secret_b) = add_endpoint(
        &on_other,
        &created_and_deleted.url("/b"),
        &["key.created", "key.deleted"],
    )
    .await;
    add_endpoint(
        &admin,
        &elsewhere.url("/c"),
        &["key.rolled", "key.leaked", "key.expiring", "key.disabled"],
    )
    .await;

    // Ten keys generated at once, half through each instance: five bearer
    // keys, five key/secret pairs.
    let generated = futures::future::join_all((0..10).map(|i| {
        let browser = if i % 2 == 0 { &admin } else { &on_other };
        let code = if i < 5 { "tsms" } else { "hubhmac" };
        async move {
            let (status, page) = browser.generate(code, &format!("Parallel {i}"), "").await;
            assert_eq!(status, StatusCode::CREATED, "{page}");
            let key = input_value(&page, "revealed-key").unwrap();
            let secret = input_value(&page, "revealed-secret");
            (key, secret)
        }
    }))
    .await;
    let ids: Vec<String> = generated
        .iter()
        .map(|(key, secret)| match secret {
            Some(_) => api_key::parse_key_id(key).unwrap().public_id.to_owned(),
            None => key_id(key),
        })
        .collect();
    for id in &ids[..3] {
        let response = admin
            .post(&format!("/settings/integrations/keys/{id}/delete"), &[])
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
    }

    let a = created_only.wait_for(10, Duration::from_secs(10)).await;
    let b = created_and_deleted
        .wait_for(13, Duration::from_secs(10))
        .await;
    // Both workers keep running: nothing more arrives.
    let a = {
        let _ = a;
        created_only.still(10, Duration::from_millis(2000)).await
    };
    let b = {
        let _ = b;
        created_and_deleted
            .still(13, Duration::from_millis(10))
            .await
    };
    elsewhere.still(0, Duration::from_millis(10)).await;

    let count_ids = |got: &[Received]| {
        let mut ids: Vec<&str> = got.iter().map(|r| r.header("webhook-id")).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    };
    assert_eq!(count_ids(&a), 10, "each delivery once");
    assert_eq!(count_ids(&b), 13, "each delivery once");
    let types =
        |got: &[Received], wanted: &str| got.iter().filter(|r| r.json()["type"] == wanted).count();
    assert_eq!(types(&a, "key.created"), 10);
    assert_eq!(types(&b, "key.created"), 10);
    assert_eq!(types(&b, "key.deleted"), 3);
    let mut named: Vec<String> = b
        .iter()
        .map(|r| r.json()["data"]["key_id"].as_str().unwrap().to_owned())
        .collect();
    named.sort_unstable();
    named.dedup();
    let mut expected_ids = ids.clone();
    expected_ids.sort_unstable();
    assert_eq!(named, expected_ids);
    for r in &a {
        assert_signed(&secret_a, r);
    }
    for r in &b {
        assert_signed(&secret_b, r);
    }

    // No body holds a key, its secret, its stored hash or its sealed form,
    // nor a signing secret.
    let mut forbidden: Vec<String> = vec![secret_a.clone(), secret_b.clone()];
    for ((key, secret), id) in generated.iter().zip(&ids) {
        match secret {
            // A key/secret pair: the key is its public Key ID, the secret is not.
            Some(secret) => forbidden.push(secret.clone()),
            None => {
                forbidden.push(key.clone());
                forbidden.push(api_key::parse(key).unwrap().secret.to_owned());
            }
        }
        let stored = latchkey::db::keys::secret_material(&mut app.conn(), id)
            .unwrap()
            .unwrap();
        forbidden.push(hex::encode(&stored.hash));
        forbidden.push(BASE64.encode(&stored.hash));
        if let Some(sealed) = stored.sealed {
            forbidden.push(hex::encode(&sealed));
            forbidden.push(BASE64.encode(&sealed));
        }
    }
    for r in a.iter().chain(&b) {
        for secret in &forbidden {
            assert!(
                !r.body.contains(secret.as_str()),
                "a delivered body holds key material: {}",
                r.body
            );
        }
        let data = r.json()["data"].clone();
        let mut fields: Vec<&str> = data
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        fields.sort_unstable();
        assert_eq!(
            fields,
            [
                "actor_email",
                "detail",
                "key_id",
                "key_prefix",
                "name",
                "type_code"
            ]
        );
    }
}

/// Steps one and two of the generate flow for a key that expires at the end of `day`.
async fn generate_expiring(admin: &Browser, name: &str, day: chrono::NaiveDate) -> String {
    let response = admin
        .post(
            "/settings/integrations/keys/new",
            &[
                ("type_code", "tsms"),
                ("name", name),
                ("contact_email", "ops@example.com"),
                ("expires", "on"),
                ("expires_on", &day.to_string()),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let step_two = location(&response);
    let response = admin.post(&step_two, &[("trusted_ips", "")]).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    key_id(&input_value(&response.text().await.unwrap(), "revealed-key").unwrap())
}

async fn expiry_reminders_are_sent_once_at_fourteen_days_and_once_at_one_day(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // A second instance looks for due reminders too: each is still sent once.
    let _other = app.another_instance();
    let admin = app.signed_in(Role::Administrator).await;
    let receiver = Receiver::start(&[]);
    let (_, secret) = add_endpoint(&admin, &receiver.url("/expiring"), &["key.expiring"]).await;
    let today = app.clock.now().date();
    // Works until the end of today + 20 days: expires at midnight after it.
    let day = today + chrono::Days::new(20);
    let expiring = generate_expiring(&admin, "Expiring", day).await;
    let deleted = generate_expiring(&admin, "Deleted first", day).await;
    admin.generate_token("tsms", "Never expires").await;
    let response = admin
        .post(
            &format!("/settings/integrations/keys/{deleted}/delete"),
            &[],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let expires_at = (day + chrono::Days::new(1)).and_hms_opt(0, 0, 0).unwrap();

    // Both instances look, every 5 s, on clocks moved alike. 21 days away: nothing.
    receiver.still(0, Duration::from_millis(5600)).await;
    // 8 days on, 12 to 13 days remain: the 14-day reminder, once.
    // The instances share one clock.
    app.clock.advance(chrono::Duration::days(8));
    let got = receiver.wait_for(1, Duration::from_secs(8)).await;
    receiver.still(1, Duration::from_millis(5600)).await;
    let body = got[0].json();
    assert_eq!(body["type"], "key.expiring");
    assert_eq!(body["data"]["key_id"], expiring.as_str());
    assert_eq!(body["data"]["days"], 14);
    assert_eq!(body["data"]["name"], "Expiring");
    assert_eq!(body["data"]["actor_email"], serde_json::Value::Null);
    let expires_text = expires_at
        .and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(body["data"]["expires_at"], expires_text.as_str());
    assert_signed(&secret, &got[0]);

    // 12 days more, under 1 day remains: the 1-day reminder, once.
    // The instances share one clock.
    app.clock.advance(chrono::Duration::days(12));
    let got = receiver.wait_for(2, Duration::from_secs(8)).await;
    let got = {
        let _ = got;
        receiver.still(2, Duration::from_millis(5600)).await
    };
    let body = got[1].json();
    assert_eq!(body["data"]["key_id"], expiring.as_str());
    assert_eq!(body["data"]["days"], 1);
    assert_eq!(
        body["data"]["detail"],
        format!("expires at {expires_text}, within 1 day").as_str()
    );
    let reminders: Vec<(String, i32)> = expiry_reminders::table
        .select((expiry_reminders::key_id, expiry_reminders::days))
        .order(expiry_reminders::days)
        .load(&mut app.conn())
        .unwrap();
    assert_eq!(reminders, [(expiring.clone(), 1), (expiring.clone(), 14)]);
    // Expired: nothing more.
    // The instances share one clock.
    app.clock.advance(chrono::Duration::days(2));
    receiver.still(2, Duration::from_millis(5600)).await;
}

fn endpoint_count(app: &TestApp) -> i64 {
    webhook_endpoints::table
        .count()
        .get_result(&mut app.conn())
        .unwrap()
}

async fn bad_endpoint_input_is_refused_with_a_message_and_nothing_is_written(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    add_endpoint(&admin, "https://hooks.example.com/taken", &["key.created"]).await;
    let long = format!("https://example.com/{}", "a".repeat(1981));
    let longest = format!("https://example.com/{}", "a".repeat(1980));
    // (url, events, status, message shown)
    let cases: &[(&str, &[&str], u16, &str)] = &[
        (
            "",
            &["key.created"],
            422,
            "Enter the URL that should receive the events.",
        ),
        (
            "ftp://example.com/hook",
            &["key.created"],
            422,
            "The URL must start with http:// or https://.",
        ),
        (
            "javascript:alert(1)",
            &["key.created"],
            422,
            "The URL must start with http:// or https://.",
        ),
        (
            "https://user:pw@example.com/",
            &["key.created"],
            422,
            "The URL must not contain a user name or password.",
        ),
        (
            &long,
            &["key.created"],
            422,
            "The URL is at most 2,000 characters.",
        ),
        (
            "https://example.com/none",
            &[],
            422,
            "Choose at least one event.",
        ),
        (
            "https://example.com/unknown",
            &["key.created", "key.exploded"],
            422,
            "“key.exploded” is not an event the console sends.",
        ),
        (
            "https://hooks.example.com/taken",
            &["key.deleted"],
            409,
            "An endpoint with this URL already exists.",
        ),
    ];
    for (url, events, status, message) in cases {
        let mut form = vec![("url", *url)];
        form.extend(events.iter().map(|e| ("events", *e)));
        let response = admin.post("/settings/webhooks", &form).await;
        assert_eq!(response.status().as_u16(), *status, "{url} {events:?}");
        let page = response.text().await.unwrap();
        assert!(page.contains(message), "{url}: {message}");
        assert!(!page.contains("revealed-secret"), "no secret for a refusal");
        if url.len() < 100 {
            assert!(
                page.contains(&format!("value=\"{url}\"")),
                "the typed URL is kept"
            );
        }
        for event in events.iter().filter(|e| e.starts_with("key.created")) {
            assert!(
                page.contains(&format!("value=\"{event}\" checked")),
                "kept ticked"
            );
        }
    }
    assert_eq!(endpoint_count(&app), 1, "nothing written");
    let created = app
        .audit_actions()
        .iter()
        .filter(|a| *a == "webhook.created")
        .count();
    assert_eq!(created, 1);
    // The longest URL allowed is taken.
    add_endpoint(&admin, &longest, &["key.created"]).await;
    assert_eq!(endpoint_count(&app), 2);
    // A form without its token changes nothing.
    let forged = admin
        .client
        .post(admin.url("/settings/webhooks"))
        .form(&[
            ("url", "https://example.com/forged"),
            ("events", "key.created"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(endpoint_count(&app), 2);
}

async fn the_endpoint_limit_holds_under_parallel_requests_on_two_instances(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let other = app.another_instance();
    let admin = app.signed_in(Role::Administrator).await;
    let on_other = Browser::sharing(&admin, &other.base);
    for i in 0..15 {
        add_endpoint(
            &admin,
            &format!("https://example.com/before/{i}"),
            &["key.created"],
        )
        .await;
    }
    let statuses = futures::future::join_all((0..12).map(|i| {
        let browser = if i % 2 == 0 { &admin } else { &on_other };
        async move {
            let url = format!("https://example.com/racing/{i}");
            browser
                .post(
                    "/settings/webhooks",
                    &[("url", &url), ("events", "key.created")],
                )
                .await
                .status()
        }
    }))
    .await;
    assert_eq!(created_and_conflicts(&statuses), (5, 7), "{statuses:?}");
    assert_eq!(endpoint_count(&app), 20);
    let page = admin.html("/settings/webhooks").await;
    assert!(page.contains("The console keeps at most 20 endpoints."));
    assert!(!page.contains("Add endpoint</button>"));
}

async fn only_administrators_see_and_manage_webhooks_and_deleting_is_confirmed_and_audited(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let receiver = Receiver::start(&[500]);
    let (endpoint, _) = add_endpoint(&admin, &receiver.url("/x"), &["key.created"]).await;
    let home = admin.html("/settings/integrations").await;
    assert!(
        home.contains("href=\"/settings/webhooks\""),
        "admins see the link"
    );

    for role in [Role::Support, Role::Viewer] {
        let browser = app.signed_in(role).await;
        let home = browser.html("/settings/integrations").await;
        assert!(!home.contains("/settings/webhooks"), "{role} sees no link");
        let paths = [
            "/settings/webhooks".to_owned(),
            format!("/settings/webhooks/{endpoint}"),
            format!("/settings/webhooks/{endpoint}/delete"),
        ];
        for path in &paths {
            assert_eq!(
                browser.get(path).await.status(),
                StatusCode::FORBIDDEN,
                "{role} {path}"
            );
        }
        let posted = browser
            .post(
                "/settings/webhooks",
                &[("url", "https://example.com/r"), ("events", "key.created")],
            )
            .await;
        assert_eq!(posted.status(), StatusCode::FORBIDDEN);
        let posted = browser.post(&paths[2], &[]).await;
        assert_eq!(posted.status(), StatusCode::FORBIDDEN);
    }
    assert_eq!(endpoint_count(&app), 1);

    // A pending delivery is dropped with its endpoint.
    admin.generate_token("tsms", "Before deletion").await;
    receiver.wait_for(1, Duration::from_secs(5)).await;
    let confirm = admin
        .html(&format!("/settings/webhooks/{endpoint}/delete"))
        .await;
    assert!(confirm.contains("Delete this webhook endpoint?"));
    assert!(confirm.contains("name=\"csrf_token\""));
    let forged = admin
        .client
        .post(admin.url(&format!("/settings/webhooks/{endpoint}/delete")))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN, "no form token");
    assert_eq!(endpoint_count(&app), 1);
    let deleted = admin
        .post(&format!("/settings/webhooks/{endpoint}/delete"), &[])
        .await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&deleted), "/settings/webhooks");
    let page = admin.html("/settings/webhooks").await;
    assert!(page.contains("was deleted. It will not be sent anything more."));
    assert!(page.contains("No endpoints yet"));
    assert_eq!(endpoint_count(&app), 0);
    assert!(delivery_rows(&app).is_empty(), "its deliveries are gone");
    app.clock.advance(chrono::Duration::minutes(1));
    receiver.still(1, Duration::from_millis(1500)).await;
    let again = admin
        .post(&format!("/settings/webhooks/{endpoint}/delete"), &[])
        .await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        admin.get("/settings/webhooks/not-an-id").await.status(),
        StatusCode::NOT_FOUND
    );

    let actions = app.audit_actions();
    assert!(actions.contains(&"webhook.created".to_owned()));
    assert!(actions.contains(&"webhook.deleted".to_owned()));
    let audit = admin.html("/audit").await;
    assert!(audit.contains("Webhook endpoint added"));
    assert!(audit.contains("Webhook endpoint deleted"));
    assert!(audit.contains(&format!(
        "endpoint {endpoint} at http://127.0.0.1:{}",
        receiver.port
    )));
    assert!(
        !audit.contains(&receiver.url("/x")),
        "the audit log shows the origin only"
    );
    let filtered = admin.get("/audit?action=webhook.deleted").await;
    assert_eq!(filtered.status(), StatusCode::OK);
}

async fn unreachable_endpoints_are_retried_with_the_reason_shown(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    // A port nothing listens on.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    // A server that answers plain HTTP to anything, https included.
    let plain = TcpListener::bind("127.0.0.1:0").unwrap();
    let plain_port = plain.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in plain.incoming().flatten() {
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
        }
    });
    // One that answers with a redirect, which is not followed.
    let redirecting = Receiver::start(&[302]);
    let (refused, _) = add_endpoint(
        &admin,
        &format!("http://127.0.0.1:{closed_port}/hook?token=t0k3n"),
        &["key.created"],
    )
    .await;
    let (tls, _) = add_endpoint(
        &admin,
        &format!("https://127.0.0.1:{plain_port}/hook"),
        &["key.created"],
    )
    .await;
    let (moved, _) = add_endpoint(&admin, &redirecting.url("/moved"), &["key.created"]).await;
    admin.generate_token("tsms", "Nobody hears").await;
    wait_for_rows(
        &app,
        &[
            (1, "pending", Some(5)),
            (1, "pending", Some(5)),
            (1, "pending", Some(5)),
        ],
    )
    .await;
    let last_answer = |page: &str| {
        page.split("data-label=\"Last answer\" class=\"detail-cell\">")
            .nth(1)
            .and_then(|rest| rest.split("</td>").next())
            .expect("a delivery row")
            .to_owned()
    };
    let page = admin.html(&format!("/settings/webhooks/{refused}")).await;
    assert_eq!(
        last_answer(&page),
        "could not connect: Connection refused (os error 111)"
    );
    assert!(page.contains("Retrying"));
    let page = admin.html(&format!("/settings/webhooks/{tls}")).await;
    let answer = last_answer(&page);
    assert!(answer.starts_with("could not connect: "), "{answer}");
    assert!(!answer.contains("127.0.0.1"), "{answer}");
    let page = admin.html(&format!("/settings/webhooks/{moved}")).await;
    assert_eq!(last_answer(&page), "HTTP 302", "redirects are not followed");
    assert_eq!(redirecting.received().len(), 1);
}

async fn bulk_audit_inserts_enqueue_nothing_and_enqueue_sends_other_events(backend: Backend) {
    use latchkey::db::audit::{AuditEvent, NewAuditRow};
    use latchkey::domain::webhook::{EventType, KeyEventData, WebhookEvent};

    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let receiver = Receiver::start(&[]);
    let (_, secret) = add_endpoint(
        &admin,
        &receiver.url("/all"),
        &["key.created", "key.leaked"],
    )
    .await;
    let token = admin.generate_token("tsms", "Seeded beside").await;
    let id = key_id(&token);
    receiver.wait_for(1, Duration::from_secs(5)).await;

    // The development seed's bulk writer records history, not news.
    let row = NewAuditRow::new(
        &AuditEvent {
            action: "key.created",
            key_id: Some(id.clone()),
            detail: "seeded".into(),
            ..AuditEvent::default()
        },
        latchkey::db::now(),
    );
    latchkey::db::audit::insert_many(&mut app.conn(), std::iter::once(vec![row])).unwrap();
    assert_eq!(delivery_rows(&app).len(), 1);

    // An event that no audit record raised, enqueued directly.
    let mut data = KeyEventData::new(&id, "tsms", "Seeded beside");
    data.detail = "found in a public repository".into();
    let event = WebhookEvent {
        event_type: EventType::KeyLeaked,
        timestamp: app.clock.now(),
        data,
    };
    let written = latchkey::db::webhooks::enqueue(&mut app.conn(), &event).unwrap();
    assert_eq!(written, 1);
    let got = receiver.wait_for(2, Duration::from_secs(5)).await;
    let got = {
        let _ = got;
        receiver.still(2, Duration::from_millis(1000)).await
    };
    assert_eq!(got[1].json()["type"], "key.leaked");
    assert_eq!(
        got[1].json()["data"]["detail"],
        "found in a public repository"
    );
    assert_signed(&secret, &got[1]);

    // A row whose endpoint was deleted as its change committed is dropped, not retried.
    let now = latchkey::db::now();
    diesel::insert_into(webhook_deliveries::table)
        .values((
            webhook_deliveries::id.eq("msg_orphan"),
            webhook_deliveries::endpoint_id.eq("deleted-meanwhile"),
            webhook_deliveries::event_type.eq("key.leaked"),
            webhook_deliveries::payload.eq("{}"),
            webhook_deliveries::created_at.eq(now),
            webhook_deliveries::state.eq("pending"),
            webhook_deliveries::attempts.eq(0),
            webhook_deliveries::next_attempt_at.eq(Some(now)),
        ))
        .execute(&mut app.conn())
        .unwrap();
    wait_for_rows(&app, &[(1, "delivered", None), (1, "delivered", None)]).await;
    receiver.still(2, Duration::from_millis(10)).await;
}

/// Checks that `plan` reads a range of `index` on `table`, never the whole
/// table and never a sort of it (PostgreSQL may sort a short range).
fn assert_range_of(backend: Backend, plan: &str, table: &str, index: &str) {
    match backend {
        Backend::Sqlite => {
            assert!(
                plan.lines().any(|l| l
                    .trim_start()
                    .starts_with(&format!("SEARCH {table} USING INDEX {index} ("))),
                "no range of {index}:\n{plan}"
            );
            assert!(!plan.contains("TEMP B-TREE"), "a sort:\n{plan}");
            assert!(
                !plan.lines().any(|l| l.trim() == format!("SCAN {table}")),
                "a table scan:\n{plan}"
            );
        }
        Backend::Postgres => {
            assert!(plan.contains(index), "no {index}:\n{plan}");
            assert!(plan.contains("Index Cond"), "no range:\n{plan}");
            assert!(
                !plan.contains(&format!("Seq Scan on {table}")),
                "a table scan:\n{plan}"
            );
        }
    }
}

async fn the_worker_queries_read_a_range_of_their_indexes(backend: Backend) {
    use diesel::connection::SimpleConnection;
    use latchkey::db::keys::{KeyDetails, NewKeyRow, SeededKeyRow};
    use latchkey::domain::api_key::NewApiKey;
    use latchkey::domain::crypto::{SecretBox, SecretHasher};
    use latchkey::domain::key_type::Scheme;

    const KEYS: i64 = 6_000;
    let app = TestApp::spawn(backend).await;
    let now = latchkey::db::now();
    let (hasher, sealer) = (SecretHasher::new(&[1; 32]), SecretBox::new(&[2; 32]));
    // A third expire, spread over 400 days; one in fifty is deleted.
    let rows: Vec<SeededKeyRow> = (0..KEYS)
        .map(|i| {
            let key = NewApiKey::generate("tsms");
            let row = NewKeyRow::new(
                &key,
                Scheme::Bearer,
                &hasher,
                &sealer,
                KeyDetails {
                    name: format!("Key {i}"),
                    contact_email: "ops@example.com".into(),
                    allowed_ips: String::new(),
                    created_by: None,
                    created_at: now,
                    expires_at: (i % 3 == 0)
                        .then(|| now + chrono::Duration::hours((i * 7) % (400 * 24) - 24)),
                    rate_limit: None,
                },
            );
            SeededKeyRow {
                deleted_at: (i % 50 == 7).then_some(now),
                ..SeededKeyRow::of(row)
            }
        })
        .collect();
    for chunk in rows.chunks(500) {
        latchkey::db::keys::insert_seeded(&mut app.conn(), chunk).unwrap();
    }
    // An outbox of finished rows, a few pending.
    let deliveries: Vec<_> = (0..KEYS)
        .map(|i| {
            let pending = i % 100 == 0;
            (
                webhook_deliveries::id.eq(format!("msg_{i:032}")),
                webhook_deliveries::endpoint_id.eq("e"),
                webhook_deliveries::event_type.eq("key.created"),
                webhook_deliveries::payload.eq("{}"),
                webhook_deliveries::created_at.eq(now),
                webhook_deliveries::state.eq(if pending { "pending" } else { "delivered" }),
                webhook_deliveries::attempts.eq(1),
                webhook_deliveries::next_attempt_at
                    .eq(pending.then(|| now + chrono::Duration::seconds(i - KEYS / 2))),
                webhook_deliveries::finished_at.eq((!pending).then_some(now)),
            )
        })
        .collect();
    for chunk in deliveries.chunks(500) {
        latchkey::on_backend!(&mut *app.conn(), |c| diesel::insert_into(
            webhook_deliveries::table
        )
        .values(chunk)
        .execute(c))
        .unwrap();
    }
    for analyzed in [false, true] {
        if analyzed {
            app.conn().batch_execute("ANALYZE").unwrap();
        }
        for (after, until, days) in [(1, 14, 14), (0, 1, 1)] {
            let query = latchkey::db::webhooks::expiring_query(
                now + chrono::Duration::days(after),
                now + chrono::Duration::days(until),
                days,
                100,
            );
            let plan = common::plans::explain(&mut app.conn(), query);
            assert_range_of(backend, &plan, "api_keys", "api_keys_listed_by_expiry");
        }
        let plan =
            common::plans::explain(&mut app.conn(), latchkey::db::webhooks::due_query(now, 20));
        assert_range_of(
            backend,
            &plan,
            "webhook_deliveries",
            "webhook_deliveries_due",
        );
    }
}
