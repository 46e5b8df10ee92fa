//! The Generate API Key flow, end to end over HTTP.

mod common;

use common::Backend;

both_backends!(
    keys_about_to_expire_are_flagged,
    a_key_is_generated_with_trusted_cidrs_shown_once_and_listed_masked,
    reloading_or_going_back_never_shows_the_key_again_nor_makes_a_second,
    another_administrators_draft_cannot_be_used,
    key_secret_types_show_both_halves_and_seal_hmac_secrets,
    a_type_at_its_limit_refuses_another_key_until_one_is_deleted,
    expired_keys_do_not_count_against_the_limit_and_show_as_expired,
    an_expiry_date_is_kept_and_shown,
    deleting_asks_first_names_the_key_and_removes_it_at_once,
    the_list_is_newest_first_and_paged,
    a_key_outlives_its_creator_who_is_then_not_named,
    a_deployer_catalogue_replaces_the_built_in_types_and_limits,
);

use common::{TestApp, input_value, links, location};
use diesel::prelude::*;
use latchkey::db::schema::api_keys;
use latchkey::domain::api_key;
use latchkey::domain::role::Role;
use reqwest::StatusCode;

async fn a_key_is_generated_with_trusted_cidrs_shown_once_and_listed_masked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;

    let step_two = admin.start_generate("ucd", "Checkout service").await;
    let form = admin.html(&step_two).await;
    assert!(form.contains("Authorize trusted IP addresses"));
    assert!(
        form.contains("any IP address"),
        "the page says plainly that empty means unrestricted"
    );
    assert!(form.contains("Authorize and Generate"));

    let response = admin
        .post(
            &step_two,
            &[("trusted_ips", "203.0.113.0/24\n2001:db8::/32\n")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let cache = response
        .headers()
        .get("cache-control")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cache.contains("no-store"));
    let page = response.text().await.unwrap();
    let token = input_value(&page, "revealed-key").unwrap();
    assert!(page.contains("will not be shown again"));
    assert!(page.contains("data-copy=\"revealed-key\""), "a Copy button");
    let parsed = api_key::parse(&token).expect("a well-formed key");
    assert_eq!(parsed.type_code, "ucd");

    // Listed, masked: the prefix and last four only.
    let list = admin.html("/settings/integrations").await;
    // (The list may wrap a masked key between its prefix and its "…last four".)
    let masked = format!(
        "lk_ucd_<wbr><span class=\"nowrap\">…{}</span>",
        &token[token.len() - 4..]
    );
    assert!(list.contains(&masked), "{masked} in the list");
    assert!(!list.contains(&token));
    assert!(!list.contains(parsed.secret));
    assert!(list.contains("Checkout service"));
    assert!(list.contains("203.0.113.0/24 and 1 more"));

    // Stored: the keyed hash, not the secret.
    let latchkey::db::keys::SecretMaterial { hash, sealed } =
        latchkey::db::keys::secret_material(&mut app.conn(), parsed.public_id)
            .unwrap()
            .unwrap();
    assert_eq!(hash.len(), 32);
    assert!(sealed.is_none(), "bearer keys keep no recoverable secret");
    assert!(
        !hash
            .windows(8)
            .any(|w| parsed.secret.as_bytes().windows(8).any(|s| s == w))
    );
    let stored_ips: String = api_keys::table
        .find(parsed.public_id)
        .select(api_keys::allowed_ips)
        .first(&mut app.conn())
        .unwrap();
    assert_eq!(stored_ips, "203.0.113.0/24\n2001:db8::/32");
    assert!(app.audit_actions().contains(&"key.created".to_owned()));
}

async fn reloading_or_going_back_never_shows_the_key_again_nor_makes_a_second(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let step_two = admin.start_generate("tsms", "SMS sender").await;
    let first = admin.post(&step_two, &[("trusted_ips", "")]).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let token = input_value(&first.text().await.unwrap(), "revealed-key").unwrap();

    // The browser's reload resubmits the same form.
    let reload = admin.post(&step_two, &[("trusted_ips", "")]).await;
    assert_eq!(reload.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&reload), "/settings/integrations");
    // Back, to step two's page.
    let back = admin.get(&step_two).await;
    assert_eq!(back.status(), StatusCode::SEE_OTHER);

    let list = admin.html("/settings/integrations").await;
    assert!(list.contains("already generated"));
    assert!(!list.contains(&token));
    assert!(!list.contains("revealed-key"));
    let count: i64 = api_keys::table.count().get_result(&mut app.conn()).unwrap();
    assert_eq!(count, 1);
}

async fn another_administrators_draft_cannot_be_used(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = app.signed_in(Role::Administrator).await;
    let bob = app.signed_in(Role::Administrator).await;
    let step_two = alice.start_generate("tsms", "Alice's").await;
    assert_eq!(bob.get(&step_two).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        bob.post(&step_two, &[("trusted_ips", "")]).await.status(),
        StatusCode::NOT_FOUND
    );
}

async fn key_secret_types_show_both_halves_and_seal_hmac_secrets(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;

    for (code, sealed_expected) in [("hubbasic", false), ("hubhmac", true)] {
        let (status, page) = admin.generate(code, &format!("{code} pair"), "").await;
        assert_eq!(status, StatusCode::CREATED);
        let key = input_value(&page, "revealed-key").unwrap();
        let secret = input_value(&page, "revealed-secret").unwrap();
        assert!(page.contains("API secret"));
        let joined = format!("{key}_{secret}");
        let parsed = api_key::parse(&joined).expect("key and secret join into a valid token");
        let sealed = latchkey::db::keys::secret_material(&mut app.conn(), parsed.public_id)
            .unwrap()
            .unwrap()
            .sealed;
        assert_eq!(sealed.is_some(), sealed_expected, "{code}");
        if let Some(sealed) = sealed {
            assert!(
                !sealed
                    .windows(parsed.secret.len())
                    .any(|w| w == parsed.secret.as_bytes())
            );
        }
    }
}

async fn a_type_at_its_limit_refuses_another_key_until_one_is_deleted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    for i in 0..2 {
        admin.generate_token("mobile", &format!("App {i}")).await;
    }

    // Refused at step one, with a message that says what to do.
    let refused = admin.submit_details("mobile", "Third").await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("Delete one of them before generating another")
    );

    // And at step two, if the limit was reached while the form was open.
    let other = app.signed_in(Role::Administrator).await;
    let page = other.html("/settings/integrations").await;
    let delete = links(&page, "/settings/integrations/keys/")
        .into_iter()
        .find(|l| l.ends_with("/delete"))
        .unwrap();
    assert_eq!(
        other.post(&delete, &[]).await.status(),
        StatusCode::SEE_OTHER
    );
    let step_two = admin.start_generate("mobile", "Third").await;
    admin.generate_token("mobile", "Racing ahead").await;
    let late = admin.post(&step_two, &[("trusted_ips", "")]).await;
    assert_eq!(late.status(), StatusCode::CONFLICT);
    assert!(
        late.text()
            .await
            .unwrap()
            .contains("already has 2 active keys")
    );
}

async fn expired_keys_do_not_count_against_the_limit_and_show_as_expired(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    for i in 0..2 {
        admin
            .generate_token("mobile", &format!("Old app {i}"))
            .await;
    }
    let yesterday = latchkey::db::now() - chrono::Duration::days(1);
    diesel::update(api_keys::table)
        .set(api_keys::expires_at.eq(Some(yesterday)))
        .execute(&mut app.conn())
        .unwrap();
    admin.generate_token("mobile", "New app").await;
    let list = admin.html("/settings/integrations").await;
    assert_eq!(list.matches("badge-expired\">Expired<").count(), 2);
    assert_eq!(list.matches("badge-active\">Active<").count(), 1);
}

async fn an_expiry_date_is_kept_and_shown(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let day = (chrono::Utc::now().date_naive() + chrono::Days::new(30)).to_string();
    let response = admin
        .post(
            "/settings/integrations/keys/new",
            &[
                ("type_code", "temail"),
                ("name", "Mailer"),
                ("contact_email", "m@example.com"),
                ("expires", "on"),
                ("expires_on", &day),
            ],
        )
        .await;
    let step_two = location(&response);
    assert!(admin.html(&step_two).await.contains(&day));
    assert_eq!(
        admin.post(&step_two, &[("trusted_ips", "")]).await.status(),
        StatusCode::CREATED
    );
    let expires: Option<chrono::NaiveDateTime> = api_keys::table
        .select(api_keys::expires_at)
        .first(&mut app.conn())
        .unwrap();
    let expected =
        chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d").unwrap() + chrono::Days::new(1);
    assert_eq!(expires.unwrap(), expected.and_hms_opt(0, 0, 0).unwrap());
}

async fn deleting_asks_first_names_the_key_and_removes_it_at_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let token = admin.generate_token("ucd", "Doomed key").await;
    let id = api_key::parse(&token).unwrap().public_id.to_owned();

    let confirm = admin
        .get(&format!("/settings/integrations/keys/{id}/delete"))
        .await;
    assert_eq!(confirm.status(), StatusCode::OK);
    let confirm = confirm.text().await.unwrap();
    assert!(confirm.contains("Delete API key “Doomed key”?"));
    assert!(confirm.contains("cannot be undone"));

    let deleted = admin
        .post(&format!("/settings/integrations/keys/{id}/delete"), &[])
        .await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    let list = admin.html("/settings/integrations").await;
    assert!(list.contains("was deleted"));
    assert!(!list.contains(&format!("/settings/integrations/keys/{id}")));
    assert!(list.contains("No API keys yet"));

    // A second delete, or the detail page, finds nothing.
    let again = admin
        .post(&format!("/settings/integrations/keys/{id}/delete"), &[])
        .await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        admin
            .get(&format!("/settings/integrations/keys/{id}"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let actions = app.audit_actions();
    assert_eq!(actions.iter().filter(|a| *a == "key.deleted").count(), 1);
}

async fn the_list_is_newest_first_and_paged(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    for i in 0..22 {
        admin
            .generate_token("tsms", &format!("Key number {i:02}"))
            .await;
    }
    let first = admin.html("/settings/integrations").await;
    assert!(first.contains("22 keys"));
    assert!(first.find("Key number 21").unwrap() < first.find("Key number 20").unwrap());
    assert!(!first.contains("Key number 01"));
    let next = first.split("rel=\"next\"").next().unwrap();
    let next = &next[next.rfind("href=\"").unwrap() + 6..];
    let next = next[..next.find('"').unwrap()].replace("&#38;", "&");
    let second = admin.html(&next).await;
    assert!(second.contains("Key number 01") && second.contains("Key number 00"));
    assert!(!second.contains("Key number 21"));
}

async fn a_key_outlives_its_creator_who_is_then_not_named(backend: Backend) {
    use latchkey::db::schema::users;
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let viewer = app.signed_in(Role::Viewer).await;
    admin.generate_token("tsms", "Orphan").await;
    let creator: Option<String> = api_keys::table
        .select(api_keys::created_by)
        .first(&mut app.conn())
        .unwrap();
    diesel::delete(users::table.find(creator.unwrap()))
        .execute(&mut app.conn())
        .unwrap();
    let list = viewer.html("/settings/integrations").await;
    assert!(list.contains("Orphan"));
    assert!(list.contains("a deleted user"));
}

async fn a_deployer_catalogue_replaces_the_built_in_types_and_limits(backend: Backend) {
    let app = TestApp::spawn_with_catalogue(
        backend,
        "[[type]]\ncode = \"crm\"\nname = \"CRM sync\"\nscheme = \"bearer\"\nmax_active = 1\n",
    )
    .await;
    let admin = app.signed_in(Role::Administrator).await;
    let form = admin.html("/settings/integrations/keys/new").await;
    assert!(form.contains("CRM sync"));
    assert!(!form.contains("Transactional SMS"));
    let token = admin.generate_token("crm", "Only one").await;
    assert!(token.starts_with("lk_crm_"));
    let refused = admin.submit_details("crm", "Second").await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let unknown = admin.submit_details("ucd", "Old type").await;
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

async fn keys_about_to_expire_are_flagged(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let token = admin.generate_token("tsms", "Nearly done").await;
    let id = api_key::parse(&token).unwrap().public_id.to_owned();
    let soon = latchkey::db::now() + chrono::Duration::days(3);
    diesel::update(api_keys::table.find(&id))
        .set(api_keys::expires_at.eq(Some(soon)))
        .execute(&mut app.conn())
        .unwrap();
    let list = admin.html("/settings/integrations").await;
    assert!(list.contains(">Expiring soon<"));
    app.clock.advance(chrono::Duration::days(4));
    let viewer = app.signed_in(Role::Viewer).await;
    assert!(
        viewer
            .html("/settings/integrations")
            .await
            .contains(">Expired<")
    );
}
