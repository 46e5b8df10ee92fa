//! Secret scanners reporting leaked keys: GitHub's signed partner reports
//! (keys from a file or fetched from a URL) and GitLab's token revocation
//! API. A report of a live key switches it off (or, configured so, only marks
//! it) on every instance within a second, once, audited as the scanner's doing;
//! anything unsigned, unauthorised or malformed changes nothing.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::scanner::{GithubKey, Settings, post_json, post_report, report_body, signed_report};
use common::{Backend, Browser, TestApp, input_value, links};
use latchkey::config::LeakedKeys;
use latchkey::db;
use latchkey::domain::api_key;
use latchkey::domain::role::Role;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

both_backends!(
    a_signed_report_switches_a_live_key_off_on_every_instance_within_a_second,
    with_flag_a_reported_key_is_marked_but_keeps_working,
    tokens_that_are_not_live_keys_are_false_positives_and_change_nothing,
    a_key_secret_pair_is_matched_only_whole,
    unsigned_or_badly_signed_reports_change_nothing,
    signed_reports_must_be_json_arrays_of_bounded_size,
    twenty_identical_reports_at_once_record_one_leak,
    keys_from_a_url_are_cached_and_fetched_again_for_an_unknown_key,
    gitlab_lists_its_token_types_and_revokes_live_keys,
    gitlab_requests_need_the_token_and_a_well_formed_body,
    gitlab_requests_beyond_the_rate_limit_are_told_to_retry,
    without_configuration_the_scanner_endpoints_are_absent,
);

const LEAK_URL: &str = "https://github.com/octo/shop/blob/4f2a9c1/deploy/.env";
const GITLAB_LOCATION: &str = "https://gitlab.example.com/team/app/-/blob/9e1d/config.yml";
const GITLAB_TOKEN: &str = "0f4c2b9e8d7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c";
/// A well-formed key (its checksum is right) that was never issued.
const NEVER_ISSUED: &str = "lk_ucd_EXAMPLE00000_ThisIsAnExampleKeyNotARealOne0003VK2l5";
/// Its SHA-256, from `printf %s "$NEVER_ISSUED" | sha256sum`.
const NEVER_ISSUED_SHA256: &str =
    "06fc5937a68a65dfa2b1e78f6c8d7c773be2a6531dd73e8a11af7b548be70f26";

/// A console taking GitHub reports, an Administrator signed in to it, the key
/// GitHub signs with, and the settings holding its key file (which another
/// instance reads too).
type Console = (TestApp, Browser, GithubKey, Settings);

/// Starts a [`Console`] with these other settings.
async fn github_console(
    backend: Backend,
    more: impl FnOnce(&mut latchkey::config::ServeArgs) + 'static,
) -> Console {
    let settings = Settings::new();
    let github = GithubKey::new("github-key-1");
    let keys = settings.file("github-keys.json", &GithubKey::published(&[&github]));
    let app = TestApp::spawn_with_serve(backend, move |serve| {
        serve.github_public_keys = Some(keys);
        more(serve);
    })
    .await;
    let admin = app.signed_in(Role::Administrator).await;
    (app, admin, github, settings)
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn id_of(token: &str) -> String {
    api_key::parse(token).unwrap().public_id.to_owned()
}

async fn code_at(base: &str, body: Value) -> String {
    let response = Client::new()
        .post(format!("{base}/api/v1/keys/verify"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    body["code"].as_str().unwrap_or_default().to_owned()
}

async fn code(base: &str, token: &str) -> String {
    code_at(base, json!({ "key": token })).await
}

/// Polls another instance for up to a second (20 × 50 ms) until it answers `expected`.
async fn code_within_a_second(base: &str, token: &str, expected: &str) -> String {
    let mut seen = String::new();
    for _ in 0..20 {
        seen = code(base, token).await;
        if seen == expected {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    seen
}

/// The details of this key's key.leaked audit rows, each checked to name no
/// person as its actor (the scanner did it).
fn leak_events(app: &TestApp, id: &str) -> Vec<String> {
    db::audit::recent(&mut app.conn(), 1000)
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "key.leaked" && e.key_id.as_deref() == Some(id))
        .map(|e| {
            assert_eq!(e.actor_email, None, "{}", e.detail);
            e.detail
        })
        .collect()
}

async fn key_page(admin: &Browser, id: &str) -> String {
    admin
        .html(&format!("/settings/integrations/keys/{id}"))
        .await
}

/// The keys the list's Leaked filter shows.
async fn leaked_ids(admin: &Browser) -> Vec<String> {
    let list = admin.html("/settings/integrations?status=leaked").await;
    let mut ids: Vec<String> = links(&list, "/settings/integrations/keys/")
        .into_iter()
        .map(|href| {
            href.trim_start_matches("/settings/integrations/keys/")
                .to_owned()
        })
        .filter(|id| api_key::is_public_id(id))
        .collect();
    ids.dedup();
    ids
}

fn audit_count(app: &TestApp) -> usize {
    app.audit_actions().len()
}

async fn a_signed_report_switches_a_live_key_off_on_every_instance_within_a_second(
    backend: Backend,
) {
    let (app, admin, github, _settings) = github_console(backend, |_| {}).await;
    let other = app.another_instance();
    let token = admin.generate_token("ucd", "Shop checkout").await;
    let id = id_of(&token);
    assert_eq!(
        code_within_a_second(&other.base, &token, "VALID").await,
        "VALID"
    );

    let body = report_body(&[&token], LEAK_URL);
    let (status, feedback) = signed_report(&app.base, &github, &body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        feedback,
        json!([{
            "token_hash": sha256_hex(&token),
            "token_type": "latchkey_api_key",
            "label": "true_positive",
        }])
    );
    assert_eq!(code(&app.base, &token).await, "DISABLED", "at once here");
    assert_eq!(
        code_within_a_second(&other.base, &token, "DISABLED").await,
        "DISABLED",
        "on the other instance within a second"
    );

    assert_eq!(
        leaked_ids(&admin).await,
        [id.as_str()],
        "the Leaked filter lists it"
    );
    let list = admin.html("/settings/integrations?status=leaked").await;
    assert!(list.contains("badge-leaked"), "with its Leaked badge");
    assert!(
        list.contains("By a leak report"),
        "switched off by the report"
    );
    let page = key_page(&admin, &id).await;
    assert!(page.contains("This key was reported leaked"));
    assert!(page.contains(&format!(
        "found at <span class=\"break-anywhere\">{LEAK_URL}</span>"
    )));
    assert!(page.contains("It was switched off."));
    assert!(
        page.contains(&format!("/settings/integrations/keys/{id}/roll")),
        "Roll is offered"
    );
    assert_eq!(
        leak_events(&app, &id),
        [
            "reported by GitHub secret scanning at https://github.com/octo/shop/blob/4f2a9c1/deploy/.env; switched off"
        ]
    );

    // GitHub reports again (a second commit, another instance): same answer, nothing recorded.
    let events = audit_count(&app);
    let again = report_body(&[&token], "https://github.com/octo/shop/blob/77aa01/.env");
    let (status, feedback_again) = signed_report(&other.base, &github, &again).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(feedback_again, feedback);
    assert_eq!(audit_count(&app), events, "a second report records nothing");
    let page = key_page(&admin, &id).await;
    assert!(page.contains(LEAK_URL), "the first place is kept");
}

async fn with_flag_a_reported_key_is_marked_but_keeps_working(backend: Backend) {
    let (app, admin, github, _settings) =
        github_console(backend, |serve| serve.leaked_keys = LeakedKeys::Flag).await;
    let token = admin.generate_token("tsms", "Reminders").await;
    let id = id_of(&token);

    let (status, feedback) =
        signed_report(&app.base, &github, &report_body(&[&token], LEAK_URL)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(feedback[0]["label"], "true_positive");
    assert_eq!(
        code(&app.base, &token).await,
        "VALID",
        "flagged, not switched off"
    );
    let page = key_page(&admin, &id).await;
    assert!(page.contains("This key was reported leaked"));
    assert!(page.contains("It still works."));
    assert_eq!(leaked_ids(&admin).await, [id.as_str()]);
    assert_eq!(
        leak_events(&app, &id),
        [
            "reported by GitHub secret scanning at https://github.com/octo/shop/blob/4f2a9c1/deploy/.env; flagged, still working"
        ]
    );
}

async fn tokens_that_are_not_live_keys_are_false_positives_and_change_nothing(backend: Backend) {
    let (app, admin, github, _settings) = github_console(backend, |_| {}).await;
    let live = admin.generate_token("ucd", "Untouched").await;
    let deleted = admin.generate_token("ucd", "Gone").await;
    let response = admin
        .post(
            &format!("/settings/integrations/keys/{}/delete", id_of(&deleted)),
            &[],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    // The live key with its last character changed: not a key.
    let last = if live.ends_with('x') { 'y' } else { 'x' };
    let forged = format!("{}{last}", &live[..live.len() - 1]);
    let events = audit_count(&app);

    let tokens = [
        NEVER_ISSUED,
        deleted.as_str(),
        forged.as_str(),
        "ghp_notours",
        "",
    ];
    let (status, feedback) =
        signed_report(&app.base, &github, &report_body(&tokens, LEAK_URL)).await;
    assert_eq!(status, StatusCode::OK);
    let labels: Vec<&str> = feedback
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["false_positive"; 5]);
    assert_eq!(
        feedback[0],
        json!({"token_hash": NEVER_ISSUED_SHA256, "token_type": "latchkey_api_key", "label": "false_positive"})
    );
    assert_eq!(
        feedback[4]["token_hash"],
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(audit_count(&app), events, "nothing recorded");
    assert_eq!(code(&app.base, &live).await, "VALID");
    assert!(leaked_ids(&admin).await.is_empty());

    // An empty report is a report of nothing.
    let (status, feedback) = signed_report(&app.base, &github, "[]").await;
    assert_eq!((status, feedback), (StatusCode::OK, json!([])));
}

async fn a_key_secret_pair_is_matched_only_whole(backend: Backend) {
    let (app, admin, github, _settings) = github_console(backend, |_| {}).await;
    let step_two = admin.start_generate("hubbasic", "Hub pair").await;
    let response = admin.post(&step_two, &[("trusted_ips", "")]).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let modal = response.text().await.unwrap();
    let key_id = input_value(&modal, "revealed-key").unwrap();
    let secret = input_value(&modal, "revealed-secret").unwrap();
    let whole = format!("{key_id}_{secret}");
    let id = id_of(&whole);
    let pair = json!({ "key": key_id, "secret": secret });
    assert_eq!(code_at(&app.base, pair.clone()).await, "VALID");

    // Either half alone cannot be tied to a key: false positives, nothing changes.
    let (_, feedback) = signed_report(
        &app.base,
        &github,
        &report_body(&[&key_id, &secret], LEAK_URL),
    )
    .await;
    assert_eq!(feedback[0]["label"], "false_positive");
    assert_eq!(feedback[1]["label"], "false_positive");
    assert_eq!(code_at(&app.base, pair.clone()).await, "VALID");

    // Written as a Basic credential, key:secret, it is the whole key.
    let colon = format!("{key_id}:{secret}");
    let (_, feedback) = signed_report(&app.base, &github, &report_body(&[&colon], LEAK_URL)).await;
    assert_eq!(
        feedback,
        json!([{"token_hash": sha256_hex(&colon), "token_type": "latchkey_api_key", "label": "true_positive"}])
    );
    assert_eq!(code_at(&app.base, pair).await, "DISABLED");
    // Joined with _ it is the same key, already reported.
    let (_, feedback) = signed_report(&app.base, &github, &report_body(&[&whole], LEAK_URL)).await;
    assert_eq!(feedback[0]["label"], "true_positive");
    assert_eq!(leak_events(&app, &id).len(), 1);
}

async fn unsigned_or_badly_signed_reports_change_nothing(backend: Backend) {
    let (app, admin, github, _settings) = github_console(backend, |_| {}).await;
    let stranger = GithubKey::new("github-key-1");
    let token = admin.generate_token("ucd", "Guarded").await;
    let body = report_body(&[&token], LEAK_URL);
    let good = github.sign(&body);
    let altered = body.replace("deploy/.env", "deploy/.env2");
    let other_body = report_body(&[NEVER_ISSUED], LEAK_URL);
    let events = audit_count(&app);

    // What is sent (case, body, key id, signature) and the error answered.
    type Case<'a> = (&'a str, &'a str, Option<&'a str>, Option<&'a str>, &'a str);
    let cases: [Case; 7] = [
        ("no headers", &body, None, None, "the report is not signed"),
        (
            "no signature",
            &body,
            Some("github-key-1"),
            None,
            "the report is not signed",
        ),
        (
            "no key id",
            &body,
            None,
            Some(&good),
            "the report is not signed",
        ),
        (
            "unknown key id",
            &body,
            Some("github-key-2"),
            Some(&good),
            "the report is signed with a key that is not known",
        ),
        (
            "signature of another body",
            &body,
            Some("github-key-1"),
            Some(&github.sign(&other_body)),
            "the report's signature does not match",
        ),
        (
            "body altered after signing",
            &altered,
            Some("github-key-1"),
            Some(&good),
            "the report's signature does not match",
        ),
        (
            "signed by a key claiming GitHub's id",
            &body,
            Some("github-key-1"),
            Some(&stranger.sign(&body)),
            "the report's signature does not match",
        ),
    ];
    for (case, body, key_id, signature, error) in cases {
        let (status, answer) = post_report(&app.base, body, key_id, signature).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{case}");
        assert_eq!(answer, json!({ "error": error }), "{case}");
    }
    // Nothing about keys to anyone unsigned, even for a malformed body.
    let (status, _) = post_report(&app.base, "{not json", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    assert_eq!(code(&app.base, &token).await, "VALID");
    assert_eq!(audit_count(&app), events, "nothing recorded");
    assert!(leaked_ids(&admin).await.is_empty());
}

async fn signed_reports_must_be_json_arrays_of_bounded_size(backend: Backend) {
    let (app, admin, github, _settings) = github_console(backend, |_| {}).await;
    let token = admin.generate_token("ucd", "Bounded").await;
    let events = audit_count(&app);

    for malformed in [
        "{not json",
        r#"{"token": "x"}"#,
        r#"[{"type": "latchkey_api_key"}]"#,
    ] {
        let (status, answer) = signed_report(&app.base, &github, malformed).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{malformed}");
        assert!(
            answer["error"]
                .as_str()
                .unwrap()
                .starts_with("the body is not a JSON array of reported tokens"),
            "{answer}"
        );
    }
    // 1,000 tokens are taken; 1,001 are refused whole, the live key among them untouched.
    let mut tokens = vec![NEVER_ISSUED; 999];
    tokens.push(&token);
    let (status, feedback) =
        signed_report(&app.base, &github, &report_body(&tokens, LEAK_URL)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(feedback.as_array().unwrap().len(), 1000);
    assert_eq!(feedback[999]["label"], "true_positive");
    let later = admin.generate_token("ucd", "Bounded too").await;
    let mut tokens = vec![NEVER_ISSUED; 1000];
    tokens.push(&later);
    let (status, answer) = signed_report(&app.base, &github, &report_body(&tokens, LEAK_URL)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer,
        json!({"error": "a report may carry at most 1000 tokens"})
    );
    assert_eq!(code(&app.base, &later).await, "VALID");

    // Over 1 MiB: refused before the signature is even looked at.
    let huge = report_body(&[&"x".repeat(1024 * 1024)], LEAK_URL);
    let (status, _) = signed_report(&app.base, &github, &huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // Not JSON at all.
    let body = report_body(&[&later], LEAK_URL);
    let response = Client::new()
        .post(format!("{}/api/v1/secret-scanning/github", app.base))
        .header("content-type", "text/plain")
        .header("Github-Public-Key-Identifier", "github-key-1")
        .header("Github-Public-Key-Signature", github.sign(&body))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(code(&app.base, &later).await, "VALID");
    assert_eq!(audit_count(&app), events + 2, "one leak, one key generated");
}

async fn twenty_identical_reports_at_once_record_one_leak(backend: Backend) {
    let (app, admin, github, _settings) = github_console(backend, |_| {}).await;
    let other = app.another_instance();
    let token = admin.generate_token("ucd", "Raced").await;
    let body = report_body(&[&token], LEAK_URL);
    let signature = github.sign(&body);

    // Half go to the other instance at once, most likely before its next poll
    // has loaded the new key: a report must not miss it.
    let reports = (0..20).map(|i| {
        let base = if i % 2 == 0 { &app.base } else { &other.base };
        post_report(base, &body, Some("github-key-1"), Some(&signature))
    });
    let answers = futures::future::join_all(reports).await;
    for (status, feedback) in &answers {
        assert_eq!(*status, StatusCode::OK);
        assert_eq!(feedback[0]["label"], "true_positive");
    }
    assert_eq!(leak_events(&app, &id_of(&token)).len(), 1, "exactly one");
    assert_eq!(code(&app.base, &token).await, "DISABLED");
    assert_eq!(code(&other.base, &token).await, "DISABLED");
}

/// A stand-in for GitHub's key endpoint: serves `keys` (or fails), counting fetches.
#[derive(Clone, Default)]
struct KeyServer {
    keys: Arc<std::sync::Mutex<String>>,
    /// 0: serve the keys; 1: answer 500; 2: answer with 300 KiB.
    mode: Arc<AtomicUsize>,
    fetches: Arc<AtomicUsize>,
}

impl KeyServer {
    fn start(&self) -> String {
        use actix_web::{App, HttpResponse, HttpServer, web};
        let shared = self.clone();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://{}/meta/public_keys/secret_scanning",
            listener.local_addr().unwrap()
        );
        let server = HttpServer::new(move || {
            let shared = shared.clone();
            App::new().route(
                "/meta/public_keys/secret_scanning",
                web::get().to(move || {
                    let shared = shared.clone();
                    async move {
                        shared.fetches.fetch_add(1, Ordering::SeqCst);
                        match shared.mode.load(Ordering::SeqCst) {
                            0 => HttpResponse::Ok()
                                .content_type("application/json")
                                .body(shared.keys.lock().unwrap().clone()),
                            1 => HttpResponse::InternalServerError().finish(),
                            _ => HttpResponse::Ok()
                                .content_type("application/json")
                                .body(" ".repeat(300 * 1024)),
                        }
                    }
                }),
            )
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        actix_web::rt::spawn(server);
        url
    }

    fn publish(&self, keys: &[&GithubKey]) {
        *self.keys.lock().unwrap() = GithubKey::published(keys);
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

/// Sends a report of a never-issued key signed by `key`; checks the answer
/// and how many times the key server has been asked so far.
async fn expect_report(
    app: &TestApp,
    server: &KeyServer,
    key: &GithubKey,
    status: u16,
    fetches: usize,
    why: &str,
) {
    let body = report_body(&[NEVER_ISSUED], LEAK_URL);
    let (answered, _) = signed_report(&app.base, key, &body).await;
    assert_eq!(
        (answered.as_u16(), server.fetches()),
        (status, fetches),
        "{why}"
    );
}

async fn keys_from_a_url_are_cached_and_fetched_again_for_an_unknown_key(backend: Backend) {
    use chrono::Duration;
    let first = GithubKey::new("key-a");
    let rotated = GithubKey::new("key-b");
    let never = GithubKey::new("key-c");
    let server = KeyServer::default();
    server.publish(&[&first]);
    let url = server.start();
    let app = TestApp::spawn_with_serve(backend, move |serve| {
        serve.github_public_keys_url = Some(url);
        serve.github_public_keys_refresh_minutes = 60;
    })
    .await;
    let admin = app.signed_in(Role::Administrator).await;
    let token = admin.generate_token("ucd", "Fetched").await;
    assert_eq!(
        server.fetches(),
        0,
        "nothing fetched before the first report"
    );

    let step = |key, status, fetches, why| expect_report(&app, &server, key, status, fetches, why);
    step(&first, 200, 1, "the first report fetches").await;
    step(&first, 200, 1, "then the keys are cached").await;
    app.clock.advance(Duration::minutes(59));
    step(&first, 200, 1, "for the refresh interval").await;
    app.clock.advance(Duration::minutes(2));
    step(&first, 200, 2, "and fetched again after it").await;

    server.publish(&[&first, &rotated]);
    step(&rotated, 200, 3, "a key GitHub rotated in fetches at once").await;
    step(
        &never,
        401,
        3,
        "an unknown key fetches at most once a minute",
    )
    .await;
    step(&never, 401, 3, "still within the minute").await;
    app.clock.advance(Duration::seconds(61));
    step(&never, 401, 4, "a minute later it may fetch again").await;

    server.mode.store(1, Ordering::SeqCst);
    app.clock.advance(Duration::minutes(61));
    step(&rotated, 200, 5, "a failed fetch keeps the keys held").await;
    server.mode.store(2, Ordering::SeqCst);
    app.clock.advance(Duration::minutes(61));
    step(&first, 200, 6, "so does an oversized answer").await;

    // Keys fetched from the URL switch keys off like any other.
    server.mode.store(0, Ordering::SeqCst);
    let (status, feedback) =
        signed_report(&app.base, &rotated, &report_body(&[&token], LEAK_URL)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(feedback[0]["label"], "true_positive");
    assert_eq!(code(&app.base, &token).await, "DISABLED");
}

/// A console with the GitLab revocation API on, and these other settings.
async fn gitlab_app(
    backend: Backend,
    settings: &Settings,
    more: impl FnOnce(&mut latchkey::config::ServeArgs) + 'static,
) -> TestApp {
    let token_file = settings.file("gitlab-token", &format!("{GITLAB_TOKEN}\n"));
    TestApp::spawn_with_serve(backend, move |serve| {
        serve.gitlab_revocation_token_file = Some(token_file);
        more(serve);
    })
    .await
}

async fn gitlab_get(base: &str, authorization: Option<&str>) -> (StatusCode, Value) {
    let mut request = Client::new().get(format!("{base}/api/v1/gitlab/v1/revocable_token_types"));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn gitlab_revoke(
    base: &str,
    authorization: Option<&str>,
    body: &str,
) -> (StatusCode, String) {
    let headers: Vec<(&str, &str)> = authorization
        .map(|v| ("authorization", v))
        .into_iter()
        .collect();
    let url = format!("{base}/api/v1/gitlab/v1/revoke_tokens");
    post_json(url, body, &headers).await
}

fn gitlab_body(tokens: &[(&str, &str)]) -> String {
    let items: Vec<Value> = tokens
        .iter()
        .map(|(kind, token)| json!({"type": kind, "token": token, "location": GITLAB_LOCATION}))
        .collect();
    Value::Array(items).to_string()
}

async fn gitlab_lists_its_token_types_and_revokes_live_keys(backend: Backend) {
    let settings = Settings::new();
    let app = gitlab_app(backend, &settings, |_| {}).await;
    let other = app.another_instance();
    let admin = app.signed_in(Role::Administrator).await;
    let token = admin.generate_token("ucd", "GitLab leak").await;
    let id = id_of(&token);

    let (status, types) = gitlab_get(&app.base, Some(GITLAB_TOKEN)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        types["types"],
        json!(["gitleaks_rule_id_latchkey_api_key", "latchkey_api_key"])
    );
    assert_eq!(
        types["rules"][0],
        json!({
            "type": "gitleaks_rule_id_latchkey_api_key",
            "name": "Latchkey API key",
            "description": "An API key issued by Latchkey: lk_, a type code, a 12-character key ID, then 32 secret and 6 checksum characters. Key/secret pairs are matched only whole (key ID and secret joined with _).",
            "example": "lk_ucd_EXAMPLE00000_ThisIsAnExampleKeyNotARealOne0003VK2l5",
            "pattern": r"\blk_[a-z0-9]{2,12}_[A-Za-z0-9]{12}_[A-Za-z0-9]{38}\b",
        })
    );
    let pattern = regex::Regex::new(types["rules"][0]["pattern"].as_str().unwrap()).unwrap();
    assert!(
        pattern.is_match(&format!("API_KEY={token}\n")),
        "the pattern finds a real key"
    );
    // Bearer is accepted too.
    let bearer = format!("Bearer {GITLAB_TOKEN}");
    assert_eq!(gitlab_get(&app.base, Some(&bearer)).await.0, StatusCode::OK);

    let body = gitlab_body(&[
        ("gitleaks_rule_id_latchkey_api_key", &token),
        ("latchkey_api_key", NEVER_ISSUED),
    ]);
    let (status, answer) = gitlab_revoke(&app.base, Some(GITLAB_TOKEN), &body).await;
    assert_eq!((status, answer.as_str()), (StatusCode::NO_CONTENT, ""));
    assert_eq!(code(&app.base, &token).await, "DISABLED");
    assert_eq!(
        code_within_a_second(&other.base, &token, "DISABLED").await,
        "DISABLED"
    );
    let page = key_page(&admin, &id).await;
    assert!(page.contains(GITLAB_LOCATION));
    assert_eq!(
        leak_events(&app, &id),
        [
            "reported by GitLab secret detection at https://gitlab.example.com/team/app/-/blob/9e1d/config.yml; switched off"
        ]
    );
    // Idempotent: again is 204 and records nothing.
    let events = audit_count(&app);
    let (status, _) = gitlab_revoke(&other.base, Some(&bearer), &body).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(audit_count(&app), events);
}

async fn gitlab_requests_need_the_token_and_a_well_formed_body(backend: Backend) {
    let settings = Settings::new();
    let app = gitlab_app(backend, &settings, |_| {}).await;
    let admin = app.signed_in(Role::Administrator).await;
    let token = admin.generate_token("ucd", "Kept").await;
    let body = gitlab_body(&[("latchkey_api_key", &token)]);
    let events = audit_count(&app);

    let wrong = [
        None,
        Some(""),
        Some("Bearer"),
        Some("0f4c2b9e8d7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1d"),
        Some("0f4c2b9e8d7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1"),
        Some("0f4c2b9e8d7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1cc"),
        Some("Basic MGY0YzJiOWU="),
    ];
    for authorization in wrong {
        let (status, answer) = gitlab_revoke(&app.base, authorization, &body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{authorization:?}");
        assert_eq!(
            answer,
            r#"{"error":"send the configured revocation token in Authorization"}"#
        );
        let (status, _) = gitlab_get(&app.base, authorization).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{authorization:?}");
    }

    let too_many = gitlab_body(&vec![("latchkey_api_key", NEVER_ISSUED); 1001]);
    let cases = [
        (
            "{not json",
            "the body is not a JSON array of reported tokens",
        ),
        (
            r#"[{"type": "latchkey_api_key"}]"#,
            "the body is not a JSON array of reported tokens",
        ),
        (
            r#"{"type": "latchkey_api_key", "token": "x"}"#,
            "the body is not a JSON array of reported tokens",
        ),
        (
            &gitlab_body(&[
                ("latchkey_api_key", &token),
                (
                    "gitleaks_rule_id_gitlab_personal_access_token",
                    "glpat-0000",
                ),
            ]),
            "the token type “gitleaks_rule_id_gitlab_personal_access_token” is not one this service revokes; see revocable_token_types",
        ),
        (&too_many, "a report may carry at most 1000 tokens"),
    ];
    for (bad, error) in cases {
        let (status, answer) = gitlab_revoke(&app.base, Some(GITLAB_TOKEN), bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad:.60}");
        let answer: Value = serde_json::from_str(&answer).unwrap();
        assert!(
            answer["error"].as_str().unwrap().starts_with(error),
            "{answer}"
        );
    }
    let response = Client::new()
        .post(format!("{}/api/v1/gitlab/v1/revoke_tokens", app.base))
        .header("authorization", GITLAB_TOKEN)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    assert_eq!(
        code(&app.base, &token).await,
        "VALID",
        "nothing was revoked"
    );
    assert_eq!(audit_count(&app), events);
}

async fn gitlab_requests_beyond_the_rate_limit_are_told_to_retry(backend: Backend) {
    let settings = Settings::new();
    let app = gitlab_app(backend, &settings, |serve| {
        serve.gitlab_revocation_rate_limit = 5;
    })
    .await;
    // Strangers' refused requests do not use GitLab's allowance.
    for _ in 0..20 {
        assert_eq!(
            gitlab_get(&app.base, Some("guess")).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    let requests = (0..12).map(|_| async {
        Client::new()
            .get(format!(
                "{}/api/v1/gitlab/v1/revocable_token_types",
                app.base
            ))
            .header("authorization", GITLAB_TOKEN)
            .send()
            .await
            .unwrap()
    });
    let responses = futures::future::join_all(requests).await;
    let mut statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    statuses.sort_unstable();
    assert_eq!(
        statuses,
        [200, 200, 200, 200, 200, 429, 429, 429, 429, 429, 429, 429]
    );
    let limited = responses
        .iter()
        .find(|r| r.status() == StatusCode::TOO_MANY_REQUESTS)
        .unwrap();
    // One request per 12 s at 5 a minute (11 if the burst took over a second).
    let retry = limited.headers()["retry-after"].to_str().unwrap();
    assert!(["12", "11"].contains(&retry), "Retry-After: {retry}");
    let body = gitlab_body(&[("latchkey_api_key", NEVER_ISSUED)]);
    let (status, answer) = gitlab_revoke(&app.base, Some(GITLAB_TOKEN), &body).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(answer, r#"{"error":"too many requests; retry later"}"#);
    app.clock.advance(chrono::Duration::seconds(12));
    let (status, _) = gitlab_revoke(&app.base, Some(GITLAB_TOKEN), &body).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "the allowance refills");
}

async fn without_configuration_the_scanner_endpoints_are_absent(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let token = admin.generate_token("ucd", "Unreported").await;
    let github = GithubKey::new("github-key-1");
    let (status, answer) =
        signed_report(&app.base, &github, &report_body(&[&token], LEAK_URL)).await;
    assert_eq!(
        (status, answer),
        (StatusCode::NOT_FOUND, json!({"error": "not found"}))
    );
    assert_eq!(
        gitlab_get(&app.base, Some(GITLAB_TOKEN)).await.0,
        StatusCode::NOT_FOUND
    );
    let body = gitlab_body(&[("latchkey_api_key", &token)]);
    assert_eq!(
        gitlab_revoke(&app.base, Some(GITLAB_TOKEN), &body).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(code(&app.base, &token).await, "VALID");
}

#[test]
fn bad_scanner_settings_stop_the_console_from_starting() {
    use clap::Parser;
    use latchkey::config::Cli;
    let settings = Settings::new();
    let short = settings.file("short-token", "0123456789abcdef0123456789abcde\n");
    let no_keys = settings.file("no-keys.json", r#"{"public_keys": []}"#);
    let missing = settings.dir.path().join("missing.json");
    let database = settings.dir.path().join("latchkey.db");
    let path = |p: &PathBuf| p.to_string_lossy().into_owned();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--gitlab-revocation-token-file".into(), path(&short)],
            "the token must be at least 32 characters",
        ),
        (
            vec![
                "--github-public-keys-url".into(),
                "http://keys.example.com/keys".into(),
            ],
            "--github-public-keys-url must be an https:// address (plain http:// only to a loopback address, for testing)",
        ),
        (
            vec!["--github-public-keys".into(), path(&no_keys)],
            "it lists no P-256 public key",
        ),
        (
            vec!["--github-public-keys".into(), path(&missing)],
            "No such file or directory",
        ),
    ];
    for (args, expected) in cases {
        let cli = Cli::try_parse_from(
            [
                "latchkey",
                "serve",
                "--bind",
                "127.0.0.1:0",
                "--database-url",
                &path(&database),
            ]
            .into_iter()
            .map(str::to_owned)
            .chain(args.clone()),
        )
        .unwrap();
        let error = match latchkey::startup::Application::build(&cli.storage, &cli.serve) {
            Ok(_) => panic!("{args:?} started"),
            Err(error) => format!("{error:#}"),
        };
        assert!(error.contains(expected), "{args:?}: {error}");
    }
    let parse = |value: &str| {
        Cli::try_parse_from(["latchkey", "serve", "--leaked-keys", value])
            .map(|cli| cli.serve.leaked_keys)
    };
    assert_eq!(parse("flag").unwrap(), LeakedKeys::Flag);
    assert_eq!(parse("disable").unwrap(), LeakedKeys::Disable);
    assert!(parse("delete").is_err());
    let defaults = Cli::try_parse_from(["latchkey", "serve"]).unwrap().serve;
    assert_eq!(defaults.leaked_keys, LeakedKeys::Disable);
    assert_eq!(defaults.github_public_keys_refresh_minutes, 60);
    assert_eq!(defaults.gitlab_revocation_rate_limit, 60);
}
