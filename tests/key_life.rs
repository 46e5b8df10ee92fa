//! The life of a key between generating and deleting: editing it, switching
//! it off and on, rolling it with a grace period, and how each shows in the
//! list, on the key's page, in verification (on every instance) and in the
//! audit trail.

mod common;

use common::{Backend, Browser, TestApp, input_value, links, location};
use latchkey::domain::api_key;
use latchkey::domain::role::Role;
use reqwest::StatusCode;
use serde_json::json;

both_backends!(
    an_edit_changes_what_verification_checks_and_is_audited_field_by_field,
    bad_edits_say_why_and_write_nothing,
    an_edit_from_a_stale_form_is_refused,
    an_edit_keeps_to_the_types_expiry_policy,
    a_disabled_key_answers_disabled_everywhere_and_still_counts,
    rolling_keeps_the_old_key_for_its_grace_period_then_only_the_new_one_works,
    a_roll_with_no_grace_stops_the_old_key_at_once_and_never_past_its_expiry,
    a_key_at_its_types_limit_can_still_be_rolled,
    rolling_from_many_tabs_and_instances_at_once_makes_one_replacement,
    key_states_are_filters_of_the_key_list,
    support_and_viewers_cannot_change_keys,
    a_rolled_key_hands_over_then_a_leak_report_switches_the_new_one_off_everywhere,
);

fn id_of(token: &str) -> String {
    api_key::parse(token).unwrap().public_id.to_owned()
}

async fn outcome(app: &TestApp, token: &str) -> String {
    let (_, body) = app.verify(json!({ "key": token })).await;
    body["code"].as_str().unwrap_or_default().to_owned()
}

async fn outcome_from(app: &TestApp, token: &str, ip: &str) -> String {
    let (_, body) = app.verify(json!({ "key": token, "ip": ip })).await;
    body["code"].as_str().unwrap_or_default().to_owned()
}

/// The edit form's fields as the page fills them, with these replaced.
async fn edit_fields(admin: &Browser, id: &str, changes: &[(&str, &str)]) -> Vec<(String, String)> {
    let page = admin
        .html(&format!("/settings/integrations/keys/{id}/edit"))
        .await;
    let seen = input_value(&page, "seen-stamp").expect("the form carries its stamp");
    let mut fields: Vec<(String, String)> = vec![
        ("name".into(), input_value(&page, "name").unwrap()),
        (
            "contact_email".into(),
            input_value(&page, "contact_email").unwrap(),
        ),
        ("trusted_ips".into(), String::new()),
        ("expires".into(), "never".into()),
        ("expires_on".into(), String::new()),
        ("seen".into(), seen),
    ];
    for (name, value) in changes {
        let field = fields.iter_mut().find(|(n, _)| n == name).unwrap();
        field.1 = (*value).to_owned();
    }
    fields
}

async fn post_fields(
    admin: &Browser,
    path: &str,
    fields: &[(String, String)],
) -> reqwest::Response {
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    admin.post(path, &pairs).await
}

async fn an_edit_changes_what_verification_checks_and_is_audited_field_by_field(backend: Backend) {
    let app = TestApp::spawn_trusting(backend, "127.0.0.1").await;
    let other = app.another_instance();
    let admin = app.signed_in(Role::Administrator).await;
    let token = admin.generate_token("ucd", "Checkout").await;
    let id = id_of(&token);
    assert_eq!(outcome_from(&app, &token, "198.51.100.7").await, "VALID");

    let fields = edit_fields(
        &admin,
        &id,
        &[
            ("name", "Checkout v2"),
            ("contact_email", "team@example.com"),
            ("trusted_ips", "203.0.113.0/24\n2001:db8::1"),
            ("expires", "on"),
            ("expires_on", "2099-12-31"),
        ],
    )
    .await;
    let path = format!("/settings/integrations/keys/{id}/edit");
    let response = post_fields(&admin, &path, &fields).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response),
        format!("/settings/integrations/keys/{id}")
    );

    // This instance at once; the other within a second.
    assert_eq!(
        outcome_from(&app, &token, "198.51.100.7").await,
        "IP_NOT_ALLOWED"
    );
    assert_eq!(outcome_from(&app, &token, "203.0.113.50").await, "VALID");
    let other_verdict = || async {
        let response = reqwest::Client::new()
            .post(format!("{}/api/v1/keys/verify", other.base))
            .json(&json!({ "key": token, "ip": "198.51.100.7" }))
            .send()
            .await
            .unwrap();
        let body: serde_json::Value = response.json().await.unwrap();
        body["code"].as_str().unwrap_or_default().to_owned()
    };
    let mut seen_there = String::new();
    for _ in 0..40 {
        seen_there = other_verdict().await;
        if seen_there == "IP_NOT_ALLOWED" {
            break;
        }
        tokio_sleep(50).await;
    }
    assert_eq!(
        seen_there, "IP_NOT_ALLOWED",
        "the other instance within 2 s"
    );

    let page = admin
        .html(&format!("/settings/integrations/keys/{id}"))
        .await;
    assert!(page.contains("Checkout v2"));
    assert!(page.contains("team@example.com"));
    assert!(page.contains("2001:db8::1"));
    let detail = latest_detail(&app, "key.updated");
    assert_eq!(
        detail,
        "name “Checkout” → “Checkout v2”; contact email ops@example.com → team@example.com; \
         trusted IPs any address → 203.0.113.0/24, 2001:db8::1; expires never → 2100-01-01 00:00 UTC"
    );

    // Saving the form unchanged writes nothing.
    let before = app.audit_actions().len();
    let fields = edit_fields(&admin, &id, &[]).await;
    let same: Vec<(String, String)> = fields
        .into_iter()
        .map(|(n, v)| match n.as_str() {
            "trusted_ips" => (n, "203.0.113.0/24\n2001:db8::1".to_owned()),
            "expires" => (n, "on".to_owned()),
            "expires_on" => (n, "2099-12-31".to_owned()),
            _ => (n, v),
        })
        .collect();
    let response = post_fields(&admin, &path, &same).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.audit_actions().len(), before);
}

/// A page's text as a reader sees it (the entities askama writes undone).
fn unescaped(page: &str) -> String {
    page.replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&amp;", "&")
}

/// Waits (up to 10 s) until the page at `path` contains `text`; returns it.
async fn page_with(browser: &Browser, path: &str, text: &str) -> String {
    let mut page = String::new();
    for _ in 0..200 {
        page = unescaped(&browser.html(path).await);
        if page.contains(text) {
            break;
        }
        tokio_sleep(50).await;
    }
    page
}

fn latest_detail(app: &TestApp, action: &str) -> String {
    latchkey::db::audit::recent(&mut app.conn(), 1000)
        .unwrap()
        .into_iter()
        .find(|e| e.action == action)
        .unwrap_or_else(|| panic!("no {action} event"))
        .detail
}

async fn tokio_sleep(ms: u64) {
    actix_web::rt::time::sleep(std::time::Duration::from_millis(ms)).await;
}

async fn bad_edits_say_why_and_write_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let token = admin.generate_token("ucd", "Steady").await;
    let id = id_of(&token);
    let path = format!("/settings/integrations/keys/{id}/edit");
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("name", "  ")], "Give the key a name"),
        (
            &[("contact_email", "nobody")],
            "Enter a valid email address",
        ),
        (
            &[("trusted_ips", "10.0.0.0/8\n300.1.1.1")],
            "Line 2: “300.1.1.1”",
        ),
        (
            &[("expires", "never"), ("expires_on", "2099-01-01")],
            "You entered a date but chose “Never”",
        ),
        (
            &[("expires", "on"), ("expires_on", "2020-01-01")],
            "The expiration date is in the past",
        ),
        (&[("expires", "sometime")], "Choose an expiration date"),
    ];
    for (changes, message) in cases {
        let fields = edit_fields(&admin, &id, changes).await;
        let response = post_fields(&admin, &path, &fields).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{changes:?}"
        );
        let page = response.text().await.unwrap();
        assert!(page.contains(message), "{changes:?}: {message}");
        assert!(page.contains("Nothing was saved"));
    }
    // A form without its stamp cannot be placed.
    let mut fields = edit_fields(&admin, &id, &[("name", "New")]).await;
    fields.retain(|(n, _)| n != "seen");
    let response = post_fields(&admin, &path, &fields).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // Not a key.
    let response = post_fields(
        &admin,
        "/settings/integrations/keys/AAAAAAAAAAAA/edit",
        &edit_fields(&admin, &id, &[]).await,
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(!app.audit_actions().contains(&"key.updated".to_owned()));
    assert_eq!(outcome(&app, &token).await, "VALID");
    let page = admin
        .html(&format!("/settings/integrations/keys/{id}"))
        .await;
    assert!(page.contains("Steady"));
}

async fn an_edit_keeps_to_the_types_expiry_policy(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    // OTP for SMS keys last at most 90 days; the form preselects 30.
    let token = admin.generate_token("otpsms", "One-time codes").await;
    let id = id_of(&token);
    let path = format!("/settings/integrations/keys/{id}/edit");
    let page = admin.html(&path).await;
    assert_eq!(input_value(&page, "expires_on").map(|d| d.len()), Some(10));
    let today = latchkey::db::now().date();
    let day = |n: u64| (today + chrono::Days::new(n)).to_string();
    let cases: &[(&str, String, StatusCode, Option<String>)] = &[
        (
            "never",
            String::new(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(format!(
                "OTP for SMS keys cannot be set to never expire: they last at most 90 days. \
                 Choose an expiry on or before {}.",
                day(90)
            )),
        ),
        (
            "on",
            day(91),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(format!(
                "OTP for SMS keys last at most 90 days. Choose an expiry on or before {}.",
                day(90)
            )),
        ),
        ("on", day(90), StatusCode::SEE_OTHER, None),
    ];
    for (expires, on, status, message) in cases {
        let fields = edit_fields(&admin, &id, &[("expires", expires), ("expires_on", on)]).await;
        let response = post_fields(&admin, &path, &fields).await;
        assert_eq!(response.status(), *status, "{expires} {on}");
        let page = unescaped(&response.text().await.unwrap());
        if let Some(message) = message {
            assert!(
                page.contains(message.as_str()),
                "{expires} {on}: {message}\n{page}"
            );
        }
    }
    // Unchanged expiry, changed name: the policy is not judged again.
    let fields = edit_fields(
        &admin,
        &id,
        &[
            ("name", "Codes"),
            ("expires", "on"),
            ("expires_on", &day(90)),
        ],
    )
    .await;
    assert_eq!(
        post_fields(&admin, &path, &fields).await.status(),
        StatusCode::SEE_OTHER
    );
}

async fn an_edit_from_a_stale_form_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let token = admin.generate_token("ucd", "Shared").await;
    let id = id_of(&token);
    let path = format!("/settings/integrations/keys/{id}/edit");
    // Two tabs open the form; the first saves.
    let first = edit_fields(&admin, &id, &[("name", "From tab one")]).await;
    let second = edit_fields(&admin, &id, &[("name", "From tab two")]).await;
    assert_eq!(
        post_fields(&admin, &path, &first).await.status(),
        StatusCode::SEE_OTHER
    );
    let response = post_fields(&admin, &path, &second).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let page = response.text().await.unwrap();
    assert!(page.contains("Someone changed this key after you opened the form"));
    assert_eq!(input_value(&page, "name").as_deref(), Some("From tab one"));
    let detail = admin
        .html(&format!("/settings/integrations/keys/{id}"))
        .await;
    assert!(detail.contains("From tab one"));
    assert!(!detail.contains("From tab two"));
}

async fn a_disabled_key_answers_disabled_everywhere_and_still_counts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let other = app.another_instance();
    let admin = app.signed_in(Role::Administrator).await;
    let token = admin.generate_token("ucd", "Paused").await;
    let id = id_of(&token);
    let active_before = active(&app, "ucd");

    let response = admin
        .post(&format!("/settings/integrations/keys/{id}/disable"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(outcome(&app, &token).await, "DISABLED");
    assert_eq!(
        code_within(&other.base, &token, "DISABLED").await,
        "DISABLED",
        "the other instance within a second"
    );
    assert_eq!(
        active(&app, "ucd"),
        active_before,
        "disabled keys still count"
    );

    let list = admin.html("/settings/integrations").await;
    let row = row_of(&list, &id);
    assert!(row.contains(">Disabled</span>"), "{row}");
    assert!(row.contains("By administrator-"), "who disabled it: {row}");
    let page = admin
        .html(&format!("/settings/integrations/keys/{id}"))
        .await;
    assert!(page.contains("The key is switched off") || page.contains(">Enable</button>"));

    // Disabling twice changes nothing and records nothing more.
    admin
        .post(&format!("/settings/integrations/keys/{id}/disable"), &[])
        .await;
    let disabled_events = app
        .audit_actions()
        .iter()
        .filter(|a| *a == "key.disabled")
        .count();
    assert_eq!(disabled_events, 1);

    let response = admin
        .post(&format!("/settings/integrations/keys/{id}/enable"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(outcome(&app, &token).await, "VALID");
    let actions = app.audit_actions();
    assert!(actions.contains(&"key.enabled".to_owned()));
}

async fn verify_at(base: &str, token: &str) -> (StatusCode, serde_json::Value) {
    let response = reqwest::Client::new()
        .post(format!("{base}/api/v1/keys/verify"))
        .json(&json!({ "key": token }))
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

/// The code the console at `base` answers for `token`, polled for up to a
/// second until it is `expected`.
async fn code_within(base: &str, token: &str, expected: &str) -> String {
    let started = std::time::Instant::now();
    loop {
        let code = verify_at(base, token).await.1["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if code == expected || started.elapsed() > std::time::Duration::from_secs(1) {
            return code;
        }
        tokio_sleep(25).await;
    }
}

fn active(app: &TestApp, code: &str) -> i64 {
    latchkey::db::keys::active_count(&mut app.conn(), code, "default", latchkey::db::now()).unwrap()
}

/// The list's table row of this key.
fn row_of(list: &str, id: &str) -> String {
    let at = list
        .find(&format!("ID <code>{id}</code>"))
        .unwrap_or_else(|| panic!("{id} is listed"));
    let start = list[..at].rfind("<tr>").unwrap();
    let end = at + list[at..].find("</tr>").unwrap();
    list[start..end].to_owned()
}

/// Rolls the key; returns the status and the page.
async fn roll(admin: &Browser, id: &str, grace: &str, until: &str) -> (StatusCode, String) {
    let response = admin
        .post(
            &format!("/settings/integrations/keys/{id}/roll"),
            &[("grace", grace), ("grace_until", until)],
        )
        .await;
    (response.status(), response.text().await.unwrap())
}

async fn rolling_keeps_the_old_key_for_its_grace_period_then_only_the_new_one_works(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let old = admin.generate_token("ucd", "Rolling").await;
    let old_id = id_of(&old);
    let form = admin
        .html(&format!("/settings/integrations/keys/{old_id}/roll"))
        .await;
    assert!(
        form.contains("value=\"24h\" checked"),
        "24 hours preselected"
    );

    let (status, page) = roll(&admin, &old_id, "24h", "").await;
    assert_eq!(status, StatusCode::CREATED);
    let new = input_value(&page, "revealed-key").expect("the replacement is shown once");
    let new_id = id_of(&new);
    assert_ne!(new_id, old_id);
    assert!(new.starts_with("lk_ucd_"));
    assert!(page.contains("The old key keeps working until"));
    assert_eq!(outcome(&app, &old).await, "VALID");
    assert_eq!(outcome(&app, &new).await, "VALID");

    // Both are listed; the old one says when it stops; each links to the other.
    let list = admin.html("/settings/integrations").await;
    let old_row = row_of(&list, &old_id);
    assert!(old_row.contains(">Rolled</span>"), "{old_row}");
    assert!(old_row.contains("Stops working at"), "{old_row}");
    assert!(row_of(&list, &new_id).contains(">Active</span>"));
    let old_page = admin
        .html(&format!("/settings/integrations/keys/{old_id}"))
        .await;
    assert!(old_page.contains(&format!("/settings/integrations/keys/{new_id}\"")));
    assert!(
        !old_page.contains(">Roll key</a>"),
        "a rolled key is not rolled again"
    );
    let new_page = admin
        .html(&format!("/settings/integrations/keys/{new_id}"))
        .await;
    assert!(new_page.contains(&format!("/settings/integrations/keys/{old_id}\"")));
    // The replacement keeps the name, contact, trusted IPs and expiry.
    assert!(new_page.contains("Rolling"));
    assert!(new_page.contains("ops@example.com"));

    // 25 hours later only the new key works; the old one answers like a deleted key.
    app.clock.advance(chrono::Duration::hours(25));
    let (_, old_answer) = app.verify(json!({ "key": old })).await;
    assert_eq!(old_answer["code"], "NOT_FOUND");
    assert_eq!(outcome(&app, &new).await, "VALID");
    // (A day later the session has ended: sign in again.)
    let admin = app.signed_in(Role::Administrator).await;
    let old_page = page_with(
        &admin,
        &format!("/settings/integrations/keys/{old_id}"),
        "The key was rolled; its grace period ended",
    )
    .await;
    assert!(
        old_page.contains("Stopped working at"),
        "its page stays readable"
    );
    assert!(
        old_page.contains("The key was rolled; its grace period ended"),
        "the request log says why the old key was refused"
    );

    let actions = app.audit_actions();
    assert!(actions.contains(&"key.rolled".to_owned()));
    let detail = latest_detail(&app, "key.rolled");
    assert!(
        detail.starts_with(&format!(
            "Rolling (ucd) rolled to lk_ucd_{new_id}; the old key stops working at "
        )),
        "{detail}"
    );
    assert!(!detail.contains(&new[new.len() - 10..]), "never the secret");
}

async fn a_roll_with_no_grace_stops_the_old_key_at_once_and_never_past_its_expiry(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let old = admin.generate_token("ucd", "Immediate").await;
    let (status, page) = roll(&admin, &id_of(&old), "none", "").await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(page.contains("The old key stopped working."));
    assert_eq!(outcome(&app, &old).await, "NOT_FOUND");
    let new = input_value(&page, "revealed-key").unwrap();
    assert_eq!(outcome(&app, &new).await, "VALID");

    // A key expiring tomorrow, rolled with 7 days' grace, stops at its expiry.
    let expiring = generate_expiring(&admin, "Short-lived").await;
    let tomorrow_end = (latchkey::db::now().date() + chrono::Days::new(2))
        .and_hms_opt(0, 0, 0)
        .unwrap();
    let (status, _) = roll(&admin, &id_of(&expiring), "7d", "").await;
    assert_eq!(status, StatusCode::CREATED);
    let stops: chrono::NaiveDateTime = {
        use diesel::prelude::*;
        use latchkey::db::schema::api_keys;
        api_keys::table
            .find(id_of(&expiring))
            .select(api_keys::stops_at.assume_not_null())
            .first(&mut *app.conn())
            .unwrap()
    };
    assert_eq!(stops, tomorrow_end);

    // Bad grace choices are refused with a message and change nothing.
    let fresh = admin.generate_token("ucd", "Fresh").await;
    let cases = [
        ("forever", "", "Choose how long the old key keeps working."),
        (
            "custom",
            "",
            "Enter the date and time (UTC) the old key stops working.",
        ),
        (
            "custom",
            "2020-01-01T00:00",
            "The old key's grace period must end in the future.",
        ),
        (
            "custom",
            "2099-01-01T00:00",
            "The grace period can be at most 30 days.",
        ),
    ];
    for (grace, until, message) in cases {
        let (status, page) = roll(&admin, &id_of(&fresh), grace, until).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{grace} {until}");
        assert!(
            unescaped(&page).contains(message),
            "{grace} {until}: {message}"
        );
    }
    assert_eq!(outcome(&app, &fresh).await, "VALID");
    let page = admin
        .html(&format!("/settings/integrations/keys/{}", id_of(&fresh)))
        .await;
    assert!(page.contains(">Roll key</a>"), "still not rolled");
}

/// Generates a key that works through tomorrow (UTC).
async fn generate_expiring(admin: &Browser, name: &str) -> String {
    let tomorrow = (latchkey::db::now().date() + chrono::Days::new(1)).to_string();
    let response = admin
        .post(
            "/settings/integrations/keys/new",
            &[
                ("type_code", "ucd"),
                ("name", name),
                ("contact_email", "ops@example.com"),
                ("expires", "on"),
                ("expires_on", &tomorrow),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let step_two = location(&response);
    let response = admin.post(&step_two, &[("trusted_ips", "")]).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    input_value(&response.text().await.unwrap(), "revealed-key").unwrap()
}

async fn a_key_at_its_types_limit_can_still_be_rolled(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    // UCD allows 5 active keys.
    let mut tokens = Vec::new();
    for n in 0..5 {
        tokens.push(admin.generate_token("ucd", &format!("Limited {n}")).await);
    }
    let full = admin.submit_details("ucd", "One too many").await;
    assert_eq!(full.status(), StatusCode::CONFLICT);
    let (status, page) = roll(&admin, &id_of(&tokens[0]), "24h", "").await;
    assert_eq!(status, StatusCode::CREATED, "{page}");
    assert_eq!(
        active(&app, "ucd"),
        5,
        "a key and its replacement in grace count once"
    );
    let full = admin.submit_details("ucd", "Still too many").await;
    assert_eq!(full.status(), StatusCode::CONFLICT);
}

async fn rolling_from_many_tabs_and_instances_at_once_makes_one_replacement(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let other = app.another_instance();
    let admin = app.signed_in(Role::Administrator).await;
    let token = admin.generate_token("ucd", "Contested").await;
    let id = id_of(&token);
    admin.csrf_token().await;
    let there = Browser::sharing(&admin, &other.base);
    let rolls = (0..12).map(|n| {
        let browser = if n % 2 == 0 { &admin } else { &there };
        let id = id.clone();
        async move { roll(browser, &id, "24h", "").await.0 }
    });
    let statuses = futures::future::join_all(rolls).await;
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((created, refused), (1, 11), "{statuses:?}");
    let replacements: i64 = {
        use diesel::prelude::*;
        use latchkey::db::schema::api_keys;
        api_keys::table
            .filter(api_keys::replaces.eq(&id))
            .count()
            .get_result(&mut *app.conn())
            .unwrap()
    };
    assert_eq!(replacements, 1);
    let rolled = app
        .audit_actions()
        .iter()
        .filter(|a| *a == "key.rolled")
        .count();
    assert_eq!(rolled, 1);

    // Rolling the old key again (it is in its grace period) is refused.
    let (status, page) = roll(&admin, &id, "1h", "").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(page.contains("already rolled"));
}

async fn key_states_are_filters_of_the_key_list(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let plain = id_of(&admin.generate_token("ucd", "Plain").await);
    let off = id_of(&admin.generate_token("ucd", "Off").await);
    let rolled = id_of(&admin.generate_token("ucd", "Rolled").await);
    admin
        .post(&format!("/settings/integrations/keys/{off}/disable"), &[])
        .await;
    let (_, page) = roll(&admin, &rolled, "24h", "").await;
    let replacement = id_of(&input_value(&page, "revealed-key").unwrap());

    let table: &[(&str, &[&str])] = &[
        ("active", &[&plain, &replacement]),
        ("disabled", &[&off]),
        ("rolled", &[&rolled]),
        ("leaked", &[]),
        ("expired", &[]),
    ];
    for (status, expected) in table {
        let list = admin
            .html(&format!("/settings/integrations?status={status}"))
            .await;
        let mut listed: Vec<String> = links(&list, "/settings/integrations/keys/")
            .into_iter()
            .filter_map(|href| {
                let id = href.trim_start_matches("/settings/integrations/keys/");
                api_key::is_public_id(id).then(|| id.to_owned())
            })
            .collect();
        listed.sort();
        listed.dedup();
        let mut expected: Vec<String> = expected.iter().map(|s| (*s).to_owned()).collect();
        expected.sort();
        assert_eq!(listed, expected, "status={status}");
    }
}

async fn support_and_viewers_cannot_change_keys(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let token = admin.generate_token("ucd", "Guarded").await;
    let id = id_of(&token);
    for role in [Role::Support, Role::Viewer] {
        let browser = app.signed_in(role).await;
        for (method, path) in [
            ("GET", format!("/settings/integrations/keys/{id}/edit")),
            ("GET", format!("/settings/integrations/keys/{id}/roll")),
            ("POST", format!("/settings/integrations/keys/{id}/edit")),
            ("POST", format!("/settings/integrations/keys/{id}/disable")),
            ("POST", format!("/settings/integrations/keys/{id}/enable")),
            ("POST", format!("/settings/integrations/keys/{id}/roll")),
        ] {
            let status = match method {
                "GET" => browser.get(&path).await.status(),
                _ => browser.post(&path, &[("grace", "none")]).await.status(),
            };
            assert_eq!(status, StatusCode::FORBIDDEN, "{role} {method} {path}");
        }
        if role == Role::Support {
            let page = browser
                .html(&format!("/settings/integrations/keys/{id}"))
                .await;
            assert!(!page.contains(">Edit</a>"));
            assert!(!page.contains(">Disable</button>"));
            assert!(!page.contains(">Roll key</a>"));
        }
    }
    assert_eq!(outcome(&app, &token).await, "VALID");
    let actions = app.audit_actions();
    for forbidden in ["key.updated", "key.disabled", "key.rolled"] {
        assert!(!actions.contains(&forbidden.to_owned()));
    }
}

/// The whole life, end to end: an Administrator rolls a key with a 24-hour
/// grace period and both keys verify; 25 hours later only the new one does;
/// a signed leak report for the new key switches it off within a second on
/// every instance, a webhook receiver is told `key.leaked` exactly once, and
/// the list says why.
async fn a_rolled_key_hands_over_then_a_leak_report_switches_the_new_one_off_everywhere(
    backend: Backend,
) {
    use common::receiver::{Receiver, add_endpoint, assert_signed};
    use common::scanner::{GithubKey, Settings, report_body, signed_report};
    use std::time::Duration;

    let settings = Settings::new();
    let github = GithubKey::new("github-key-1");
    let keys = settings.file("github-keys.json", &GithubKey::published(&[&github]));
    let app = TestApp::spawn_with_serve(backend, move |serve| {
        serve.github_public_keys = Some(keys);
    })
    .await;
    let other = app.another_instance();
    let receiver = Receiver::start(&[]);
    let admin = app.signed_in(Role::Administrator).await;
    let (_, secret) = add_endpoint(&admin, &receiver.url("/hooks"), &["key.leaked"]).await;

    let old = admin.generate_token("ucd", "Partner feed").await;
    let (status, page) = roll(&admin, &id_of(&old), "24h", "").await;
    assert_eq!(status, StatusCode::CREATED);
    let new = input_value(&page, "revealed-key").unwrap();
    let new_id = id_of(&new);
    assert_eq!(outcome(&app, &old).await, "VALID");
    assert_eq!(outcome(&app, &new).await, "VALID");

    for clock in [&app.clock, &other.clock] {
        clock.advance(chrono::Duration::hours(25));
    }
    assert_eq!(outcome(&app, &old).await, "NOT_FOUND");
    assert_eq!(outcome(&app, &new).await, "VALID");
    // The other instance learns of the replacement within a second.
    assert_eq!(code_within(&other.base, &new, "VALID").await, "VALID");
    assert_eq!(verify_at(&other.base, &old).await.1["code"], "NOT_FOUND");

    let leaked_at = "https://github.com/octo/shop/blob/4f2a9c1/deploy/.env";
    let body = report_body(&[&new], leaked_at);
    let (status, feedback) = signed_report(&app.base, &github, &body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(feedback[0]["label"], "true_positive");
    assert_eq!(
        outcome(&app, &new).await,
        "DISABLED",
        "at once where reported"
    );
    let started = std::time::Instant::now();
    let mut there = String::new();
    while started.elapsed() < Duration::from_secs(1) {
        there = verify_at(&other.base, &new).await.1["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if there == "DISABLED" {
            break;
        }
        tokio_sleep(25).await;
    }
    assert_eq!(there, "DISABLED", "the other instance within a second");

    // Told once, though two instances each run a delivery worker.
    let told = receiver.wait_for(1, Duration::from_secs(10)).await;
    let told = receiver.still(told.len(), Duration::from_secs(2)).await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert_signed(&secret, &told[0]);
    let event = told[0].json();
    assert_eq!(event["type"], "key.leaked");
    assert_eq!(event["data"]["key_id"], new_id.as_str());
    assert!(
        !told[0].body.contains(&new[new.len() - 12..]),
        "never the key"
    );

    // The list says why (signed in again: a day has passed).
    let admin = app.signed_in(Role::Administrator).await;
    let list = admin.html("/settings/integrations?status=leaked").await;
    let row = row_of(&list, &new_id);
    assert!(row.contains(">Disabled</span>"), "{row}");
    assert!(row.contains(">Leaked</span>"), "{row}");
    assert!(row.contains("By a leak report"), "{row}");
    let page = unescaped(
        &admin
            .html(&format!("/settings/integrations/keys/{new_id}"))
            .await,
    );
    assert!(page.contains("This key was reported leaked"));
    assert!(page.contains(leaked_at));
}
