//! Each key type's expiry policy through the Generate API Key flow, the use of
//! limited types in step one, the banner about keys expiring within a week,
//! and the modal's curl example run for real. Every test runs on SQLite and
//! PostgreSQL, with the console's own clock moved where time matters.

mod common;

use chrono::{Days, Duration, NaiveDate, NaiveDateTime};
use common::{Backend, Browser, TestApp, checked_value, input_value, location};
use diesel::prelude::*;
use latchkey::db::schema::{api_keys, key_drafts};
use latchkey::domain::role::Role;
use reqwest::StatusCode;

both_backends!(
    each_choice_gives_its_expiry_counted_from_the_consoles_today,
    a_types_maximum_refuses_longer_expiries_and_never_and_writes_nothing,
    a_date_typed_while_another_choice_is_selected_is_refused_not_dropped,
    step_two_refuses_an_expiry_no_longer_allowed,
    step_one_shows_each_types_default_description_and_use,
    the_banner_counts_live_keys_expiring_within_a_week,
    the_banner_count_stops_at_its_cap,
    the_banner_leaves_out_disabled_and_rolled_keys_as_its_link_does,
    the_modals_curl_example_verifies_the_key,
);

const NEW: &str = "/settings/integrations/keys/new";

fn step_one<'a>(type_code: &'a str, expires: &'a str, date: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("type_code", type_code),
        ("name", "Policy test"),
        ("contact_email", "ops@example.com"),
        ("expires", expires),
        ("expires_on", date),
    ]
}

fn count(app: &TestApp) -> (i64, i64) {
    let keys = api_keys::table.count().get_result(&mut app.conn()).unwrap();
    let drafts = key_drafts::table
        .count()
        .get_result(&mut app.conn())
        .unwrap();
    (keys, drafts)
}

/// The console's today (UTC), after the test moved its clock.
fn console_today(app: &TestApp) -> NaiveDate {
    app.clock.now().date()
}

fn midnight(day: NaiveDate) -> NaiveDateTime {
    day.and_hms_opt(0, 0, 0).unwrap()
}

/// A console whose clock runs `days` ahead of the machine's, and an
/// Administrator signed in after the move (a move of days ends any session).
async fn console_moved_on(backend: Backend, days: i64) -> (TestApp, Browser, NaiveDate) {
    let app = TestApp::spawn(backend).await;
    app.clock.advance(Duration::days(days));
    let admin = app.signed_in(Role::Administrator).await;
    let today = console_today(&app);
    (app, admin, today)
}

/// Deletes the first key the list at `list` shows, as its Delete button does.
async fn delete_first(browser: &Browser, list: &str) {
    let page = browser.html(list).await;
    let delete = common::links(&page, "/settings/integrations/keys/")
        .into_iter()
        .find(|l| l.ends_with("/delete"))
        .expect("a Delete button");
    assert_eq!(
        browser.post(&delete, &[]).await.status(),
        StatusCode::SEE_OTHER
    );
}

async fn generate_with(admin: &Browser, form: &[(&str, &str)]) -> StatusCode {
    let response = admin.post(NEW, form).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{form:?}");
    admin
        .post(&location(&response), &[("trusted_ips", "")])
        .await
        .status()
}

async fn each_choice_gives_its_expiry_counted_from_the_consoles_today(backend: Backend) {
    // The console believes it is 40 days later than the machine does.
    let (app, admin, today) = console_moved_on(backend, 40).await;
    let on = (today + Days::new(17)).to_string();
    // (type, choice, date, days after the console's today the key works through; None: never)
    #[rustfmt::skip]
    let cases: &[(&str, &str, &str, Option<u64>)] = &[
        ("tsms", "30d", "", Some(30)),
        ("tsms", "90d", "", Some(90)),
        ("tsms", "365d", "", Some(365)),
        ("tsms", "on", &on, Some(17)),
        ("tsms", "never", "", None),
        ("otpsms", "90d", "", Some(90)),
        ("hubhmac", "365d", "", Some(365)),
    ];
    for (type_code, choice, date, through) in cases {
        assert_eq!(
            generate_with(&admin, &step_one(type_code, choice, date)).await,
            StatusCode::CREATED,
            "{type_code} {choice}"
        );
        let stored: Option<NaiveDateTime> = api_keys::table
            .order(api_keys::created_at.desc())
            .select(api_keys::expires_at)
            .first(&mut app.conn())
            .unwrap();
        // Works through the whole of that day: stops at the next midnight.
        let expected = through.map(|days| midnight(today + Days::new(days + 1)));
        assert_eq!(stored, expected, "{type_code} {choice}");
    }
}

async fn a_types_maximum_refuses_longer_expiries_and_never_and_writes_nothing(backend: Backend) {
    let (app, admin, today) = console_moved_on(backend, 3).await;
    let last = (today + Days::new(90)).to_string();
    let past_last = (today + Days::new(91)).to_string();
    let too_long =
        format!("OTP for SMS keys last at most 90 days. Choose an expiry on or before {last}.");
    let never = format!(
        "OTP for SMS keys cannot be set to never expire: they last at most 90 days. Choose an expiry on or before {last}."
    );
    let cases: &[(&str, &str, &str)] = &[
        ("365d", "", &too_long),
        ("on", &past_last, &too_long),
        ("never", "", &never),
    ];
    for (choice, date, message) in cases {
        let response = admin.post(NEW, &step_one("otpsms", choice, date)).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{choice} {date}"
        );
        let page = response.text().await.unwrap();
        assert!(page.contains(*message), "{choice}: {message}");
        assert_eq!(
            checked_value(&page, "expires").as_deref(),
            Some(*choice),
            "the choice is kept"
        );
    }
    assert_eq!(count(&app), (0, 0), "nothing written for refused forms");
    // The last day allowed is accepted.
    assert_eq!(
        generate_with(&admin, &step_one("otpsms", "on", &last)).await,
        StatusCode::CREATED
    );
}

async fn a_date_typed_while_another_choice_is_selected_is_refused_not_dropped(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let date = (console_today(&app) + Days::new(60)).to_string();
    for (choice, label) in [("never", "Never"), ("90d", "90 days")] {
        let response = admin.post(NEW, &step_one("tsms", choice, &date)).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let page = response.text().await.unwrap();
        let message = format!(
            "You entered the date {date}, but “{label}” is selected. Select “On a date” to use the date, or clear it."
        );
        assert!(page.contains(&message), "{message}");
        assert_eq!(input_value(&page, "expires_on"), Some(date.clone()));
    }
    assert_eq!(count(&app), (0, 0));
}

/// Posts step two and expects it refused (422) with a page saying `message`.
async fn step_two_refused(admin: &Browser, step_two: &str, message: &str) {
    let refused = admin.post(step_two, &[("trusted_ips", "")]).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = refused.text().await.unwrap();
    assert!(page.contains(message), "{message}");
}

async fn step_two_refuses_an_expiry_no_longer_allowed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = "drafter@example.com";
    app.add_user(email, Role::Administrator).await;
    let admin = app.browser();
    admin.login(email, common::PASSWORD).await;

    // A draft that ends today, used after the console's day has ended.
    let today = console_today(&app).to_string();
    let response = admin.post(NEW, &step_one("tsms", "on", &today)).await;
    let late = location(&response);
    app.clock.advance(Duration::days(2));
    // (Two days end the session; the same person signs in again.)
    admin.login(email, common::PASSWORD).await;
    assert!(
        admin
            .html(&late)
            .await
            .contains("The expiration date is in the past."),
        "step two says so before the button is pressed"
    );
    step_two_refused(
        &admin,
        &late,
        "href=\"/settings/integrations/keys/new?type=tsms\">Start again",
    )
    .await;

    // A draft whose expiry is past the type's maximum (as after a catalogue
    // change between the steps) never becomes a key.
    let step_two = admin.start_generate("otpsms", "OTP sender").await;
    let id = step_two.rsplit('/').next().unwrap().to_owned();
    let far = midnight(console_today(&app) + Days::new(400));
    diesel::update(key_drafts::table.find(&id))
        .set(key_drafts::expires_at.eq(Some(far)))
        .execute(&mut app.conn())
        .unwrap();
    step_two_refused(&admin, &step_two, "OTP for SMS keys last at most 90 days.").await;
    diesel::update(key_drafts::table.find(&id))
        .set(key_drafts::expires_at.eq(None::<NaiveDateTime>))
        .execute(&mut app.conn())
        .unwrap();
    step_two_refused(&admin, &step_two, "cannot be set to never expire").await;
    assert_eq!(count(&app).0, 0, "no key was written");
}

async fn step_one_shows_each_types_default_description_and_use(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    for i in 0..3 {
        admin.generate_token("ucd", &format!("Warehouse {i}")).await;
    }
    for i in 0..2 {
        admin.generate_token("mobile", &format!("App {i}")).await;
    }
    let form = admin.html(NEW).await;
    for shown in [
        "<legend>Messaging</legend>",
        "<legend>Messaging Hub REST API</legend>",
        "One token works for all UCD APIs.",
        "A leaked key can run up a large SMS bill.",
        "Keys last at most 90 days.",
        "<span class=\"type-use\">3 of 5 in use</span>",
        "<span class=\"type-use\">2 of 2 in use</span>",
        "<a href=\"/settings/integrations?type=mobile\">See its keys</a>",
    ] {
        assert!(form.contains(shown), "{shown}");
    }
    let mobile = &form[form.find("id=\"type-mobile\"").unwrap()..];
    assert!(
        mobile[..mobile.find('>').unwrap()].contains(" disabled"),
        "a full type cannot be chosen"
    );
    assert!(!form.contains("?type=ucd\">See its keys"), "UCD has room");
    // Types without a group would come last; the shipped ones all have one.
    assert!(form.find("<legend>Messaging</legend>") < form.find("<legend>Apps and web</legend>"));

    // Each type starts at its own default.
    #[rustfmt::skip]
    let defaults = [("tsms", "never"), ("otpsms", "30d"), ("caemail", "90d"), ("hubhmac", "365d")];
    for (code, choice) in defaults {
        let page = admin.html(&format!("{NEW}?type={code}")).await;
        assert_eq!(
            checked_value(&page, "expires").as_deref(),
            Some(choice),
            "{code}"
        );
        assert_eq!(checked_value(&page, "type_code").as_deref(), Some(code));
    }

    // A deleted key frees its place at once.
    delete_first(&admin, "/settings/integrations?type=mobile").await;
    let form = admin.html(NEW).await;
    assert!(form.contains("<span class=\"type-use\">1 of 2 in use</span>"));
    assert!(!form.contains("?type=mobile\">See its keys"));
}

/// Sets the expiry of the key named `name`.
fn expire(app: &TestApp, name: &str, at: NaiveDateTime) {
    let updated = diesel::update(api_keys::table.filter(api_keys::name.eq(name)))
        .set(api_keys::expires_at.eq(Some(at)))
        .execute(&mut app.conn())
        .unwrap();
    assert_eq!(updated, 1, "{name}");
}

async fn banner(viewer: &Browser) -> Option<String> {
    let page = viewer.html("/settings/integrations").await;
    let start = page.find("data-expiring-banner>")?;
    let banner = &page[start..];
    Some(banner[..banner.find("</p>").unwrap()].to_owned())
}

async fn the_banner_counts_live_keys_expiring_within_a_week(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let viewer = app.signed_in(Role::Viewer).await;
    for name in [
        "Soon 1", "Soon 2", "Soon 3", "Later", "Gone", "Done", "Forever",
    ] {
        admin.generate_token("tsms", name).await;
    }
    assert_eq!(
        banner(&viewer).await,
        None,
        "no banner while nothing expires soon"
    );

    let now = app.clock.now();
    expire(&app, "Soon 1", now + Duration::hours(1));
    expire(&app, "Soon 2", now + Duration::days(3));
    expire(
        &app,
        "Soon 3",
        now + Duration::days(7) - Duration::minutes(1),
    );
    expire(&app, "Later", now + Duration::days(10));
    expire(&app, "Gone", now + Duration::days(2));
    expire(&app, "Done", now - Duration::days(1));
    delete_first(&admin, "/settings/integrations?q=Gone").await;

    let link =
        "<a href=\"/settings/integrations?status=expiring\">Show the keys that expire soon</a>";
    assert_eq!(
        banner(&viewer).await.unwrap(),
        format!("data-expiring-banner><strong>3 keys expire within 7 days.</strong> {link}")
    );
    // The link lists exactly those keys.
    let listed = viewer.html("/settings/integrations?status=expiring").await;
    assert!(listed.contains("3 keys"));

    // Four days on: two of them have expired, and "Later" is within the week;
    // three more, and only "Later" is left.
    app.clock.advance(Duration::days(4));
    // (A move of days ends sessions: a Viewer signs in afresh each time.)
    let viewer = app.signed_in(Role::Viewer).await;
    assert_eq!(
        banner(&viewer).await.unwrap(),
        format!("data-expiring-banner><strong>2 keys expire within 7 days.</strong> {link}")
    );
    app.clock.advance(Duration::days(3));
    let viewer = app.signed_in(Role::Viewer).await;
    assert_eq!(
        banner(&viewer).await.unwrap(),
        format!("data-expiring-banner><strong>1 key expires within 7 days.</strong> {link}")
    );
    app.clock.advance(Duration::days(4));
    let viewer = app.signed_in(Role::Viewer).await;
    assert_eq!(banner(&viewer).await, None, "gone once they have expired");
}

async fn the_banner_leaves_out_disabled_and_rolled_keys_as_its_link_does(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let mut ids = Vec::new();
    for name in ["Paused", "Handed over", "Plain"] {
        let token = admin.generate_token("tsms", name).await;
        ids.push(
            latchkey::domain::api_key::parse(&token)
                .unwrap()
                .public_id
                .to_owned(),
        );
        expire(&app, name, app.clock.now() + Duration::days(2));
    }
    let disabled = admin
        .post(
            &format!("/settings/integrations/keys/{}/disable", ids[0]),
            &[],
        )
        .await;
    assert_eq!(disabled.status(), StatusCode::SEE_OTHER);
    // The rolled key's replacement keeps its expiry, and is counted instead.
    let rolled = admin
        .post(
            &format!("/settings/integrations/keys/{}/roll", ids[1]),
            &[("grace", "1h")],
        )
        .await;
    assert_eq!(rolled.status(), StatusCode::CREATED);
    let link =
        "<a href=\"/settings/integrations?status=expiring\">Show the keys that expire soon</a>";
    assert_eq!(
        banner(&admin).await.unwrap(),
        format!("data-expiring-banner><strong>2 keys expire within 7 days.</strong> {link}")
    );
    let listed = admin.html("/settings/integrations?status=expiring").await;
    assert!(
        listed.contains("2 keys"),
        "the link shows what the banner counts"
    );
}

async fn the_banner_count_stops_at_its_cap(backend: Backend) {
    use latchkey::db::keys::{KeyDetails, NewKeyRow, SeededKeyRow};
    use latchkey::domain::api_key::NewApiKey;
    use latchkey::domain::crypto::{SecretBox, SecretHasher};
    use latchkey::domain::key_type::Scheme;
    let app = TestApp::spawn(backend).await;
    let viewer = app.signed_in(Role::Viewer).await;
    let now = latchkey::db::now();
    let (hasher, sealer) = (SecretHasher::new(&[1; 32]), SecretBox::new(&[2; 32]));
    let rows: Vec<SeededKeyRow> = (0..1_001)
        .map(|i| SeededKeyRow {
            deleted_at: None,
            ..SeededKeyRow::of(NewKeyRow::new(
                &NewApiKey::generate("tsms"),
                Scheme::Bearer,
                &hasher,
                &sealer,
                KeyDetails {
                    name: format!("Bulk {i}"),
                    contact_email: "bulk@example.com".into(),
                    allowed_ips: String::new(),
                    created_by: None,
                    created_at: now,
                    expires_at: Some(now + Duration::hours(1 + i % 100)),
                    rate_limit: None,
                },
            ))
        })
        .collect();
    for chunk in rows.chunks(250) {
        latchkey::db::keys::insert_seeded(&mut app.conn(), chunk).unwrap();
    }
    assert!(
        banner(&viewer)
            .await
            .unwrap()
            .contains("<strong>1,000+ keys expire within 7 days.</strong>")
    );
}

/// The modal's example, as the browser shows it (the page escapes it).
fn example_in(page: &str) -> String {
    let start = page
        .find("id=\"revealed-curl\"")
        .expect("the modal has an example");
    let text = &page[start..];
    let text = &text[text.find('>').unwrap() + 1..text.find("</textarea>").unwrap()];
    text.replace("&#39;", "'")
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

/// Runs `script` with `sh` (off the server's threads) and returns its standard output.
async fn run_shell(script: String) -> String {
    for (tool, install) in [
        ("curl", "apt-get install -y curl"),
        ("openssl", "apt-get install -y openssl"),
    ] {
        let found = std::process::Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .unwrap();
        assert!(
            found.status.success(),
            "the curl example needs {tool} on this machine: {install}"
        );
    }
    let out = actix_web::rt::task::spawn_blocking(move || {
        std::process::Command::new("sh")
            .args(["-c", &script])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "the example failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

async fn the_modals_curl_example_verifies_the_key(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let host = app.base.trim_start_matches("http://").to_owned();
    for (code, signed) in [("tsms", false), ("hubbasic", false), ("hubhmac", true)] {
        let (status, page) = admin.generate(code, &format!("{code} example"), "").await;
        assert_eq!(status, StatusCode::CREATED);
        let example = example_in(&page);
        assert!(
            example.contains(&format!("'http://{host}/api/v1/")),
            "{code}: it calls this console: {example}"
        );
        assert_eq!(example.contains("openssl dgst -sha256 -hmac"), signed);
        let answer = run_shell(example).await;
        let answer: serde_json::Value =
            serde_json::from_str(&answer).unwrap_or_else(|e| panic!("{code}: {e}: {answer}"));
        assert_eq!(answer["code"], "VALID", "{code}: {answer}");
        assert_eq!(answer["key"]["type"], code);
        // The example exists in that one response: the list has none.
        assert!(
            !admin
                .html("/settings/integrations")
                .await
                .contains("revealed-curl")
        );
    }
}
