//! Applications: Settings › Applications, keys generated in the Application
//! chosen, limits per Application, and archiving seen on every instance.

mod common;

use common::{Backend, Browser, TestApp, checked_value, input_value, location};
use latchkey::db;
use latchkey::domain::role::Role;
use reqwest::StatusCode;
use serde_json::json;

both_backends!(
    administrators_create_rename_archive_and_unarchive_applications,
    with_one_application_step_one_asks_nothing_new,
    keys_are_made_in_the_application_chosen_and_limits_count_per_application,
    racing_generations_in_one_application_stop_at_its_limit,
    an_archived_application_cuts_its_keys_off_everywhere_and_takes_no_new_ones,
    ten_racing_creations_on_two_instances_stop_at_a_thousand_applications,
);

const PAGE: &str = "/settings/applications";

/// Creates an Application through the page; returns its id.
async fn create(admin: &Browser, app: &TestApp, name: &str) -> String {
    let response = admin.post(PAGE, &[("name", name)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "created {name}");
    db::applications::all(&mut app.conn())
        .unwrap()
        .into_iter()
        .find(|a| a.name == name.trim())
        .expect("the new Application is stored")
        .id
}

/// Step one for a key of `type_code` in `application` (its id); returns the response.
async fn step_one(
    admin: &Browser,
    type_code: &str,
    name: &str,
    application: &str,
) -> reqwest::Response {
    let form = admin
        .html(&format!(
            "/settings/integrations/keys/new?type={type_code}&application={application}"
        ))
        .await;
    let expires = checked_value(&form, "expires").unwrap_or_else(|| "never".to_owned());
    admin
        .post(
            "/settings/integrations/keys/new",
            &[
                ("type_code", type_code),
                ("name", name),
                ("contact_email", "ops@example.com"),
                ("expires", &expires),
                ("expires_on", ""),
                ("application", application),
            ],
        )
        .await
}

/// Both steps; returns the step-two response.
async fn generate_in(
    admin: &Browser,
    type_code: &str,
    name: &str,
    application: &str,
) -> reqwest::Response {
    let first = step_one(admin, type_code, name, application).await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER, "step one for {name}");
    admin.post(&location(&first), &[("trusted_ips", "")]).await
}

async fn token_in(admin: &Browser, type_code: &str, name: &str, application: &str) -> String {
    let response = generate_in(admin, type_code, name, application).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    input_value(&response.text().await.unwrap(), "revealed-key").unwrap()
}

async fn administrators_create_rename_archive_and_unarchive_applications(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let page = admin.html(PAGE).await;
    assert!(page.contains("data-application=\"Default\""));

    let id = create(&admin, &app, "  Partner sandbox ").await;
    assert!(id.starts_with("app_") && id.len() == 16, "{id}");
    assert!(
        admin
            .html(PAGE)
            .await
            .contains("The Application “Partner sandbox” was created.")
    );
    // (name typed, status, words): refused with the reason, the text kept.
    let refusals = [
        (
            "PARTNER SANDBOX",
            StatusCode::CONFLICT,
            "an Application named “PARTNER SANDBOX” already exists.",
        ),
        ("   ", StatusCode::UNPROCESSABLE_ENTITY, "Enter a name."),
        (
            "a name far too long for anyone to read in a list of sixty characters",
            StatusCode::UNPROCESSABLE_ENTITY,
            "Use at most 60 characters.",
        ),
    ];
    for (typed, status, words) in refusals {
        let response = admin.post(PAGE, &[("name", typed)]).await;
        assert_eq!(response.status(), status, "{typed:?}");
        assert!(response.text().await.unwrap().contains(words), "{typed:?}");
    }

    let renamed = admin
        .post(&format!("{PAGE}/{id}/rename"), &[("name", "Braze sandbox")])
        .await;
    assert_eq!(location(&renamed), PAGE);
    let taken = admin
        .post(&format!("{PAGE}/{id}/rename"), &[("name", "default")])
        .await;
    assert_eq!(taken.status(), StatusCode::CONFLICT);

    let confirm = admin.html(&format!("{PAGE}/{id}/archive")).await;
    assert!(confirm.contains("Archive the Application “Braze sandbox”?"));
    let archived = admin.post(&format!("{PAGE}/{id}/archive"), &[]).await;
    assert_eq!(location(&archived), PAGE);
    let page = admin.html(PAGE).await;
    assert!(page.contains("“Braze sandbox” was archived: its keys are refused as DISABLED."));
    assert!(page.contains(&format!("/settings/applications/{id}/unarchive")));
    admin.post(&format!("{PAGE}/{id}/unarchive"), &[]).await;
    assert!(
        admin
            .html(PAGE)
            .await
            .contains("“Braze sandbox” was unarchived: its keys work again.")
    );
    let unknown = admin.post(&format!("{PAGE}/app_nope/archive"), &[]).await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);

    let actions = app.audit_actions();
    for action in [
        "application.created",
        "application.renamed",
        "application.archived",
        "application.unarchived",
    ] {
        assert_eq!(
            actions.iter().filter(|a| *a == action).count(),
            1,
            "{action}"
        );
    }
}

async fn with_one_application_step_one_asks_nothing_new(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let form = admin.html("/settings/integrations/keys/new").await;
    assert!(!form.contains("id=\"application\""));
    // The usual path, without an Application field at all, still works.
    let token = admin.generate_token("ucd", "Checkout").await;
    let (_, answer) = app.verify(json!({ "key": token })).await;
    assert_eq!(answer["key"]["application"]["id"], "default");
}

async fn keys_are_made_in_the_application_chosen_and_limits_count_per_application(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let sandbox = create(&admin, &app, "Partner sandbox").await;
    let form = admin.html("/settings/integrations/keys/new").await;
    assert!(form.contains("<label for=\"application\">Application</label>"));
    assert!(form.contains(&format!(
        "<option value=\"{sandbox}\">Partner sandbox</option>"
    )));

    // UCD allows 5 active keys: per Application.
    for i in 0..5 {
        token_in(&admin, "ucd", &format!("Default {i}"), "default").await;
    }
    let full = step_one(&admin, "ucd", "Default 5", "default").await;
    assert_eq!(full.status(), StatusCode::CONFLICT);
    let token = token_in(&admin, "ucd", "Sandbox 0", &sandbox).await;
    let (_, answer) = app.verify(json!({ "key": token })).await;
    assert_eq!(
        answer["key"]["application"],
        json!({ "id": sandbox, "name": "Partner sandbox" })
    );

    // Without a choice, or with a forged one: refused with a reason.
    for forged in ["", "app_forged", "default' OR '1'='1"] {
        let response = step_one(&admin, "tsms", "Forged", forged).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{forged:?}"
        );
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("Choose an Application that is not archived.")
        );
    }

    // Rolling keeps the key in its Application.
    let id = latchkey::domain::api_key::parse(&token)
        .unwrap()
        .public_id
        .to_owned();
    let rolled = admin
        .post(
            &format!("/settings/integrations/keys/{id}/roll"),
            &[("grace", "none")],
        )
        .await;
    assert_eq!(rolled.status(), StatusCode::CREATED);
    let replacement =
        input_value(&rolled.text().await.unwrap(), "revealed-key").expect("the new key is shown");
    let (_, answer) = app.verify(json!({ "key": replacement })).await;
    assert_eq!(answer["key"]["application"]["id"], sandbox.as_str());
}

async fn racing_generations_in_one_application_stop_at_its_limit(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let sandbox = create(&admin, &app, "Partner sandbox").await;
    for i in 0..5 {
        token_in(&admin, "ucd", &format!("Default {i}"), "default").await;
    }
    // Eight step twos at once in the sandbox: its 5 are made, 3 refused.
    let mut step_twos = Vec::new();
    for i in 0..8 {
        let first = step_one(&admin, "ucd", &format!("Sandbox {i}"), &sandbox).await;
        step_twos.push(location(&first));
    }
    let answers = futures::future::join_all(
        step_twos
            .iter()
            .map(|to| admin.post(to, &[("trusted_ips", "")])),
    )
    .await;
    let statuses: Vec<StatusCode> = answers.iter().map(|r| r.status()).collect();
    assert_eq!(
        common::created_and_conflicts(&statuses),
        (5, 3),
        "{statuses:?}"
    );
    let now = db::now();
    let mut conn = app.conn();
    assert_eq!(
        db::keys::active_count(&mut conn, "ucd", &sandbox, now).unwrap(),
        5
    );
    assert_eq!(
        db::keys::active_count(&mut conn, "ucd", "default", now).unwrap(),
        5
    );
}

async fn an_archived_application_cuts_its_keys_off_everywhere_and_takes_no_new_ones(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let other = app.another_instance();
    let admin = app.signed_in(Role::Administrator).await;
    let sandbox = create(&admin, &app, "Partner sandbox").await;
    let in_sandbox = token_in(&admin, "tsms", "Sandbox key", &sandbox).await;
    let in_default = token_in(&admin, "tsms", "Default key", "default").await;
    // A step two begun before the archive.
    let begun = location(&step_one(&admin, "tsms", "Late", &sandbox).await);

    let archived = admin.post(&format!("{PAGE}/{sandbox}/archive"), &[]).await;
    assert_eq!(location(&archived), PAGE);
    let started = std::time::Instant::now();
    for base in [&app.base, &other.base] {
        loop {
            let answer = answer_at(base, &in_sandbox).await;
            if answer == "DISABLED" {
                break;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_millis(1500),
                "{base} still answers {answer}"
            );
            actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(answer_at(base, &in_default).await, "VALID");
    }
    let late = admin.post(&begun, &[("trusted_ips", "")]).await;
    assert_eq!(late.status(), StatusCode::CONFLICT);
    assert!(
        late.text()
            .await
            .unwrap()
            .contains("was archived meanwhile")
    );
    let refused = step_one(&admin, "tsms", "After", &sandbox).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);

    admin
        .post(&format!("{PAGE}/{sandbox}/unarchive"), &[])
        .await;
    assert_eq!(answer_at(&app.base, &in_sandbox).await, "VALID");
    let started = std::time::Instant::now();
    while answer_at(&other.base, &in_sandbox).await != "VALID" {
        assert!(started.elapsed() < std::time::Duration::from_millis(1500));
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn answer_at(base: &str, key: &str) -> String {
    let answer: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/api/v1/keys/verify"))
        .json(&json!({ "key": key }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["code"].as_str().unwrap().to_owned()
}

async fn ten_racing_creations_on_two_instances_stop_at_a_thousand_applications(backend: Backend) {
    use diesel::prelude::*;
    use latchkey::db::schema::applications;
    let app = TestApp::spawn(backend).await;
    let other = app.another_instance();
    let admin = app.signed_in(Role::Administrator).await;
    // The Default and 998 more: room for one.
    let now = db::now();
    let rows: Vec<_> = (0..998)
        .map(|i| {
            (
                applications::id.eq(format!("app_seed{i:08}")),
                applications::name.eq(format!("Seeded {i}")),
                applications::created_at.eq(now),
            )
        })
        .collect();
    {
        let conn = &mut *app.conn();
        latchkey::on_backend!(conn, |c| diesel::insert_into(applications::table)
            .values(&rows)
            .execute(c))
        .unwrap();
    }
    let elsewhere = Browser::sharing(&admin, &other.base);
    let answers = futures::future::join_all((0..10).map(|i| {
        let browser = if i % 2 == 0 { &admin } else { &elsewhere };
        async move { browser.post(PAGE, &[("name", &format!("Racer {i}"))]).await }
    }))
    .await;
    let mut statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    statuses.sort();
    assert_eq!(statuses, [303, 409, 409, 409, 409, 409, 409, 409, 409, 409]);
    assert_eq!(db::applications::all(&mut app.conn()).unwrap().len(), 1_000);
}
