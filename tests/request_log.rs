//! The request log on a key's page: why each recent attempt was refused, in
//! words, filtered by outcome, bounded per key and in time.

mod common;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use common::{Backend, Browser, TestApp};
use diesel::prelude::*;
use latchkey::db::schema::{api_keys, key_usage, request_log};
use latchkey::domain::role::Role;
use latchkey::domain::{api_key, hmac_signature};
use reqwest::StatusCode;
use serde_json::{Value, json};

both_backends!(
    a_refusal_from_an_address_not_trusted_says_so_on_the_key_page,
    each_outcome_reads_in_words,
    signed_request_refusals_read_in_words,
    the_outcome_filter_keeps_to_the_address,
    a_key_keeps_its_newest_hundred_attempts,
    attempts_older_than_seven_days_are_neither_shown_nor_kept,
    two_hundred_parallel_verifications_are_all_counted_and_the_log_stays_bounded,
    the_plaintext_key_appears_in_no_page,
    viewers_cannot_open_a_key_page,
    a_bad_outcome_filter_is_a_400_that_says_why,
    refusals_per_key_and_day_come_from_the_daily_counts,
);

const LOG_INTRO: &str = "The last 100 attempts within 7 days";

/// The code the verification API answers.
async fn verify(app: &TestApp, body: Value) -> String {
    let (_, answer) = app.verify(body).await;
    answer["code"].as_str().unwrap().to_owned()
}

/// An Administrator's key of this type with these trusted IPs and rate limit:
/// (the whole key, its id).
async fn key(admin: &Browser, code: &str, ips: &str, rate: &str) -> (String, String) {
    let step_two = admin.start_generate(code, "Logged key").await;
    let response = admin
        .post(&step_two, &[("trusted_ips", ips), ("rate_limit", rate)])
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let modal = response.text().await.unwrap();
    let revealed = common::input_value(&modal, "revealed-key").unwrap();
    // A key/secret pair's two halves, joined, make the whole key.
    let token = match common::input_value(&modal, "revealed-secret") {
        Some(secret) => format!("{revealed}_{secret}"),
        None => revealed,
    };
    let id = api_key::parse(&token).unwrap().public_id.to_owned();
    (token, id)
}

fn page_of(id: &str) -> String {
    format!("/settings/integrations/keys/{id}")
}

/// The page's text as a reader sees it (the few entities askama writes undone).
async fn read(browser: &Browser, path: &str) -> String {
    browser
        .html(path)
        .await
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&amp;", "&")
}

/// The rows of the "Recent requests" table.
fn logged_rows(page: &str) -> usize {
    page.split("class=\"data-table compact request-log\"")
        .nth(1)
        .map_or(0, |table| {
            table
                .split("</table>")
                .next()
                .unwrap()
                .matches("<td data-label=\"Time\">")
                .count()
        })
}

/// Waits (up to 10 s) until the page at `path` satisfies `check`; returns it.
async fn page_until(browser: &Browser, path: &str, check: impl Fn(&str) -> bool) -> String {
    for _ in 0..200 {
        let page = read(browser, path).await;
        if check(&page) {
            return page;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{path} did not show what was expected within 10 s");
}

fn log_rows_in_db(app: &TestApp, id: &str) -> i64 {
    request_log::table
        .filter(request_log::key_id.eq(id))
        .count()
        .get_result(&mut *app.conn())
        .unwrap()
}

fn counted(app: &TestApp, id: &str) -> i64 {
    key_usage::table
        .filter(key_usage::key_id.eq(id))
        .select(key_usage::count)
        .load::<i64>(&mut *app.conn())
        .unwrap()
        .iter()
        .sum()
}

async fn wait_until_counted(app: &TestApp, id: &str, expected: i64) {
    for _ in 0..200 {
        if counted(app, id) == expected {
            return;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "{expected} attempts were not counted within 10 s: {}",
        counted(app, id)
    );
}

async fn a_refusal_from_an_address_not_trusted_says_so_on_the_key_page(backend: Backend) {
    // The test stands in for a trusted gateway, so its "ip" field is believed.
    let app = TestApp::spawn_trusting(backend, "127.0.0.1").await;
    let admin = app.signed_in(Role::Administrator).await;
    let (token, id) = key(&admin, "ucd", "10.0.0.0/8", "").await;
    let support = app.signed_in(Role::Support).await;
    let page = read(&support, &page_of(&id)).await;
    assert!(page.contains("<h2 id=\"requests\">Recent requests</h2>"));
    assert!(page.contains(LOG_INTRO));
    assert!(page.contains("No requests with this key in the last 7 days."));

    let code = verify(&app, json!({ "key": token, "ip": "203.0.113.77" })).await;
    assert_eq!(code, "IP_NOT_ALLOWED");
    let page = page_until(&support, &page_of(&id), |p| logged_rows(p) == 1).await;
    assert!(page.contains("203.0.113.77 is not in the trusted IPs"));
    assert!(page.contains("<code>203.0.113.77</code>"));
    assert!(page.contains("IP not allowed</td>"));
}

async fn each_outcome_reads_in_words(backend: Backend) {
    // A type switched off in ten minutes, beside ordinary bearer and Basic types.
    let from = (latchkey::db::now() + chrono::Duration::minutes(10))
        .format("%Y-%m-%dT%H:%M:00Z")
        .to_string();
    let catalogue = format!(
        "[[type]]\ncode = \"webpush\"\nname = \"Web Push\"\nscheme = \"bearer\"\ndisabled_from = {from}\n\n\
         [[type]]\ncode = \"mobile\"\nname = \"Mobile App\"\nscheme = \"bearer\"\n\n\
         [[type]]\ncode = \"hub\"\nname = \"Hub\"\nscheme = \"basic\"\n"
    );
    let app = TestApp::spawn_with_catalogue(backend, &catalogue).await;
    let admin = app.signed_in(Role::Administrator).await;
    let (mobile, mobile_id) = key(&admin, "mobile", "", "1").await;
    let (restricted, restricted_id) = key(&admin, "mobile", "10.0.0.0/8", "").await;
    let (push, push_id) = key(&admin, "webpush", "", "").await;
    let (pair, pair_id) = key(&admin, "hub", "", "").await;
    let (expired, expired_id) = key(&admin, "mobile", "", "").await;

    assert_eq!(verify(&app, json!({ "key": mobile })).await, "VALID");
    assert_eq!(verify(&app, json!({ "key": mobile })).await, "RATE_LIMITED");
    assert_eq!(
        verify(&app, json!({ "key": restricted, "type": "webpush" })).await,
        "WRONG_TYPE"
    );
    // From this test's own address, 127.0.0.1.
    assert_eq!(
        verify(&app, json!({ "key": restricted })).await,
        "IP_NOT_ALLOWED"
    );
    // A Basic key sent whole, as if it were a bearer key.
    assert_eq!(verify(&app, json!({ "key": pair })).await, "MALFORMED");
    diesel::update(api_keys::table.find(&expired_id))
        .set((
            api_keys::expires_at.eq(Some(
                chrono::NaiveDate::from_ymd_opt(2020, 1, 2)
                    .unwrap()
                    .and_hms_opt(3, 4, 0)
                    .unwrap(),
            )),
            api_keys::changed_at.eq(latchkey::db::now()),
        ))
        .execute(&mut *app.conn())
        .unwrap();
    for _ in 0..100 {
        if verify(&app, json!({ "key": expired })).await == "EXPIRED" {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    app.clock.advance(chrono::Duration::minutes(15));
    assert_eq!(verify(&app, json!({ "key": push })).await, "DISABLED");

    let switched_off = format!(
        "Keys of this type were switched off on {} UTC",
        from.replace('T', " ").trim_end_matches(":00Z")
    );
    let table: [(&str, &str, &str); 7] = [
        (&mobile_id, "Valid", ""),
        (
            &mobile_id,
            "Rate limited",
            "Over the key's rate limit; the next request was allowed 60 s later",
        ),
        (
            &restricted_id,
            "Wrong type",
            "The caller expected a key of type webpush, and this key is of type mobile",
        ),
        (
            &restricted_id,
            "IP not allowed",
            "127.0.0.1 is not in the trusted IPs",
        ),
        (
            &pair_id,
            "Malformed",
            "Wrong form: keys of this type are presented as key and secret: HTTP Basic, or {\"key\", \"secret\"}",
        ),
        (
            &expired_id,
            "Expired",
            "The key expired on 2020-01-02 03:04 UTC",
        ),
        (&push_id, "Disabled", &switched_off),
    ];
    for (id, label, words) in table {
        assert_logged(&admin, id, label, words).await;
    }
}

/// Waits until the key's page logs a row with these words, and checks its outcome.
async fn assert_logged(browser: &Browser, id: &str, label: &str, words: &str) {
    let reason = format!("<td data-label=\"Reason\">{words}</td>");
    let page = page_until(browser, &page_of(id), |p| p.contains(&reason)).await;
    let row = page
        .split("<tr>")
        .find(|row| row.contains(&reason))
        .unwrap();
    assert!(
        row.contains(&format!("</span>{label}</td>")),
        "{words}: {row}"
    );
}

async fn signed_request_refusals_read_in_words(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let (token, id) = key(&admin, "hubhmac", "", "").await;
    let (key_id, secret) = token.rsplit_once('_').unwrap();
    let signed = |date: &str, target: &str, signed_target: &str| {
        let to_sign = hmac_signature::string_to_sign(date, "POST", signed_target);
        let signature = B64.encode(hmac_signature::sign(secret.as_bytes(), &to_sign));
        json!({ "signature": {
            "authorization": format!("LK-HMAC-SHA256 KeyId={key_id}, Signature={signature}"),
            "date": date,
            "method": "POST",
            "target": target,
        }})
    };
    let http_date =
        |at: chrono::DateTime<chrono::Utc>| at.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let now = http_date(chrono::Utc::now());
    let fresh = signed(&now, "/orders?id=7", "/orders?id=7");
    assert_eq!(verify(&app, fresh.clone()).await, "VALID");
    assert_eq!(verify(&app, fresh).await, "MALFORMED");
    assert_eq!(
        verify(&app, signed(&now, "/orders?id=8", "/orders?id=9")).await,
        "NOT_FOUND"
    );
    let old = http_date(chrono::Utc::now() - chrono::Duration::minutes(10));
    assert_eq!(verify(&app, signed(&old, "/", "/")).await, "MALFORMED");

    let table = [
        ("Valid", ""),
        (
            "Malformed",
            "The signature was already used; each request must be signed afresh",
        ),
        (
            "Not found",
            "The signature does not match this key's secret and the signed request",
        ),
        (
            "Malformed",
            "The Date header was more than five minutes from the server's clock",
        ),
    ];
    for (label, words) in table {
        assert_logged(&admin, &id, label, words).await;
    }
}

async fn the_outcome_filter_keeps_to_the_address(backend: Backend) {
    let app = TestApp::spawn_trusting(backend, "127.0.0.1").await;
    let admin = app.signed_in(Role::Administrator).await;
    let (token, id) = key(&admin, "ucd", "10.0.0.0/8", "").await;
    for ip in ["10.0.0.1", "10.0.0.2", "203.0.113.77"] {
        verify(&app, json!({ "key": token, "ip": ip })).await;
    }
    verify(
        &app,
        json!({ "key": token, "ip": "10.0.0.3", "type": "tsms" }),
    )
    .await;
    let all = page_until(&admin, &page_of(&id), |p| logged_rows(p) == 4).await;
    let filter_links = common::links(&all, &format!("{}?outcome=", page_of(&id)));
    assert!(filter_links.contains(&format!("{}?outcome=IP_NOT_ALLOWED#requests", page_of(&id))));
    assert!(filter_links.contains(&format!("{}?outcome=refused#requests", page_of(&id))));

    let table = [
        ("?outcome=IP_NOT_ALLOWED", 1, "IP not allowed"),
        ("?outcome=refused", 2, "Wrong type"),
        ("?outcome=VALID", 2, "Valid"),
        (
            "?outcome=EXPIRED",
            0,
            "No recent requests with this outcome.",
        ),
        ("", 4, "Valid"),
    ];
    for (query, rows, shows) in table {
        let page = read(&admin, &format!("{}{query}", page_of(&id))).await;
        assert_eq!(logged_rows(&page), rows, "{query}");
        assert!(page.contains(shows), "{query}");
    }
    let refused = read(&admin, &format!("{}?outcome=refused", page_of(&id))).await;
    assert!(!refused.contains("<code>10.0.0.1</code>"));
    assert!(refused.contains(&format!(
        "href=\"{}?outcome=refused#requests\" aria-current=\"page\"",
        page_of(&id)
    )));
}

async fn a_key_keeps_its_newest_hundred_attempts(backend: Backend) {
    let app = TestApp::spawn_trusting(backend, "127.0.0.1").await;
    let admin = app.signed_in(Role::Administrator).await;
    let (token, id) = key(&admin, "ucd", "", "").await;
    for i in 0..130 {
        let ip = format!("10.0.{}.{}", i / 100, i % 100);
        verify(&app, json!({ "key": token, "ip": ip })).await;
        if i == 60 {
            // Let one write happen in between, so pruning is seen at work too.
            actix_web::rt::time::sleep(Duration::from_millis(2500)).await;
        }
    }
    wait_until_counted(&app, &id, 130).await;
    let page = page_until(&admin, &page_of(&id), |p| logged_rows(p) == 100).await;
    assert_eq!(log_rows_in_db(&app, &id), 100);
    // The newest hundred: attempts 30 to 129.
    assert!(page.contains("<code>10.0.1.29</code>"));
    assert!(page.contains("<code>10.0.0.30</code>"));
    assert!(!page.contains("<code>10.0.0.29</code>"));
}

async fn attempts_older_than_seven_days_are_neither_shown_nor_kept(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let (token, id) = key(&admin, "ucd", "", "").await;
    for _ in 0..3 {
        verify(&app, json!({ "key": token })).await;
    }
    page_until(&admin, &page_of(&id), |p| logged_rows(p) == 3).await;

    app.clock
        .advance(chrono::Duration::days(7) + chrono::Duration::minutes(1));
    // The old session has expired on the console's clock: sign in afresh.
    let admin = app.signed_in(Role::Administrator).await;
    let page = read(&admin, &page_of(&id)).await;
    assert_eq!(logged_rows(&page), 0);
    assert!(page.contains("No requests with this key in the last 7 days."));

    verify(&app, json!({ "key": token })).await;
    page_until(&admin, &page_of(&id), |p| logged_rows(p) == 1).await;
    for _ in 0..200 {
        if log_rows_in_db(&app, &id) == 1 {
            return;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "rows older than 7 days were kept: {}",
        log_rows_in_db(&app, &id)
    );
}

async fn two_hundred_parallel_verifications_are_all_counted_and_the_log_stays_bounded(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let (token, id) = key(&admin, "ucd", "", "").await;
    let answers =
        futures::future::join_all((0..200).map(|_| verify(&app, json!({ "key": token })))).await;
    assert!(answers.iter().all(|code| code == "VALID"));
    wait_until_counted(&app, &id, 200).await;
    assert!(app.state.verifier.usage.pending_attempts() <= 100);
    let page = page_until(&admin, &page_of(&id), |p| logged_rows(p) == 100).await;
    assert_eq!(log_rows_in_db(&app, &id), 100);
    assert!(page.contains("Valid</td>"));
}

async fn the_plaintext_key_appears_in_no_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let (token, id) = key(&admin, "ucd", "10.0.0.0/8", "").await;
    let (pair, pair_id) = key(&admin, "hubbasic", "", "").await;
    verify(&app, json!({ "key": token })).await;
    verify(&app, json!({ "key": pair })).await;
    page_until(&admin, &page_of(&pair_id), |p| logged_rows(p) == 1).await;
    page_until(&admin, &page_of(&id), |p| logged_rows(p) == 1).await;
    let secret_of = |token: &str| token.rsplit('_').next().unwrap().to_owned();
    for path in [
        page_of(&id),
        format!("{}?outcome=refused", page_of(&id)),
        page_of(&pair_id),
        format!("{}?outcome=MALFORMED", page_of(&pair_id)),
        "/settings/integrations".to_owned(),
        "/audit".to_owned(),
    ] {
        let page = admin.html(&path).await;
        for plaintext in [&token, &pair] {
            assert!(!page.contains(plaintext.as_str()), "{path}");
            assert!(!page.contains(&secret_of(plaintext)), "{path}");
        }
    }
    let stored: Vec<(Option<String>, String)> = request_log::table
        .select((request_log::client_ip, request_log::reason))
        .load(&mut *app.conn())
        .unwrap();
    for (ip, reason) in stored {
        for plaintext in [&token, &pair] {
            assert!(!reason.contains(&secret_of(plaintext)));
            assert!(
                !ip.as_deref()
                    .unwrap_or_default()
                    .contains(&secret_of(plaintext))
            );
        }
    }
}

async fn viewers_cannot_open_a_key_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let (_, id) = key(&admin, "ucd", "", "").await;
    let viewer = app.signed_in(Role::Viewer).await;
    for query in ["", "?outcome=refused", "?outcome=NOPE"] {
        let response = viewer.get(&format!("{}{query}", page_of(&id))).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{query}");
        assert!(!response.text().await.unwrap().contains("Recent requests"));
    }
}

async fn a_bad_outcome_filter_is_a_400_that_says_why(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let (_, id) = key(&admin, "ucd", "", "").await;
    let table = [
        (
            "?outcome=NOPE",
            "“NOPE” is not an outcome this page can filter by.",
        ),
        (
            "?outcome=ip_not_allowed",
            "“ip_not_allowed” is not an outcome this page can filter by.",
        ),
        (
            "?outcome=%FF%FE",
            "is not an outcome this page can filter by.",
        ),
    ];
    for (query, words) in table {
        let response = admin.get(&format!("{}{query}", page_of(&id))).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        let page = response.text().await.unwrap();
        assert!(page.contains(words), "{query}: {page}");
        assert!(page.contains("Use “refused” or one of: VALID, NOT_FOUND"));
        assert!(page.contains(&format!(
            "<a href=\"{}#requests\">Show every recent request</a>",
            page_of(&id)
        )));
        assert!(!page.to_lowercase().contains("deserializ"));
        assert!(!page.contains("unknown variant"));
    }
}

async fn refusals_per_key_and_day_come_from_the_daily_counts(backend: Backend) {
    use latchkey::db::usage::{self, CountDelta};
    let app = TestApp::spawn(backend).await;
    let delta =
        |key_id: &'static str, day: &'static str, outcome: &'static str, count| CountDelta {
            key_id,
            day,
            outcome,
            count,
        };
    usage::record(
        &mut app.conn(),
        &[
            delta("aaaaaaaaaaaa", "2026-11-20", "VALID", 40),
            delta("aaaaaaaaaaaa", "2026-11-20", "IP_NOT_ALLOWED", 3),
            delta("aaaaaaaaaaaa", "2026-11-20", "RATE_LIMITED", 2),
            delta("aaaaaaaaaaaa", "2026-11-19", "EXPIRED", 7),
            delta("bbbbbbbbbbbb", "2026-11-20", "NOT_FOUND", 1),
            delta("cccccccccccc", "2026-11-20", "VALID", 9),
            delta("dddddddddddd", "2026-11-20", "WRONG_TYPE", 4),
        ],
        &[],
    )
    .unwrap();
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
    let ids: Vec<String> = ["aaaaaaaaaaaa", "bbbbbbbbbbbb", "cccccccccccc"]
        .map(String::from)
        .to_vec();
    let refused = usage::refused_on(&mut app.conn(), &ids, day).unwrap();
    let mut refused: Vec<(String, i64)> = refused.into_iter().collect();
    refused.sort();
    assert_eq!(
        refused,
        [
            ("aaaaaaaaaaaa".to_owned(), 5),
            ("bbbbbbbbbbbb".to_owned(), 1)
        ]
    );
    assert!(
        usage::refused_on(&mut app.conn(), &[], day)
            .unwrap()
            .is_empty()
    );
}
