//! A key's life after it was generated, as an Administrator clicks through
//! it: editing its details (with a mistake first), switching it off and on,
//! and rolling it with a grace period.

use latchkey::domain::api_key;
use latchkey::domain::role::Role;
use reqwest::StatusCode;
use serde_json::json;

use super::{sign_in, with_admin};
use crate::common::{Backend, TestApp};
use crate::harness::{Chrome, Options};

async fn code_of(app: &TestApp, token: &str) -> String {
    let (_, body) = app.verify(json!({ "key": token })).await;
    body["code"].as_str().unwrap_or_default().to_owned()
}

/// Whether the radio button with this id is checked.
async fn checked(chrome: &Chrome, id: &str) -> bool {
    chrome
        .script(
            &format!("return document.getElementById({id:?}).checked;"),
            Vec::new(),
        )
        .await
        .as_bool()
        .unwrap_or(false)
}

/// Waits for a key's page: its heading is the key's name and its badges.
async fn wait_for_key(chrome: &Chrome, name: &str) {
    chrome
        .wait_until(
            &format!("the page of {name}"),
            &format!(
                "const h = document.querySelector('h1'); return !!h && h.textContent.trim().startsWith({name:?} + ' ');"
            ),
        )
        .await;
}

#[actix_web::test]
async fn an_administrator_edits_disables_and_rolls_a_key() {
    let (app, email) = with_admin(TestApp::spawn(Backend::Sqlite).await).await;
    let admin = app.signed_in(Role::Administrator).await;
    let token = admin.generate_token("ucd", "Checkout").await;
    let id = api_key::parse(&token).unwrap().public_id.to_owned();
    let page = format!("/settings/integrations/keys/{id}");
    let shared = app.clone();

    Chrome::run(&app.base, "key-life", Options::default(), |chrome| async move {
        let app = shared;
        sign_in(&chrome, &email).await;
        chrome.open(&page).await;
        wait_for_key(&chrome, "Checkout").await;
        chrome.screenshot("key-page").await;

        // Edit, with a mistake first: the form keeps what was typed.
        chrome.follow("a", "Edit").await;
        chrome.wait_for_heading("Edit API key").await;
        chrome.assert_accessible("edit a key").await;
        chrome.fill("#name", "Checkout (production)").await;
        // A date typed selects "On this date"; choosing Never clears it.
        chrome.fill("#expires_on", "2099-12-31").await;
        assert!(checked(&chrome, "expires-on").await);
        chrome.click("#expires-never").await;
        assert_eq!(chrome.value("#expires_on").await, "");
        chrome.fill("#trusted_ips", "203.0.113.0/24\nnot-an-ip").await;
        chrome.follow("button", "Save changes").await;
        chrome.wait_for_heading("Edit API key").await;
        assert!(
            chrome
                .text("#trusted_ips-errors")
                .await
                .contains("Line 2: “not-an-ip”")
        );
        assert_eq!(chrome.value("#name").await, "Checkout (production)");
        chrome.screenshot("edit-mistake").await;
        chrome.assert_accessible("edit a key, with a mistake").await;
        chrome.fill("#trusted_ips", "203.0.113.0/24").await;
        chrome.follow("button", "Save changes").await;
        wait_for_key(&chrome, "Checkout (production)").await;
        assert!(chrome.text(".flash").await.contains("was saved"));
        assert!(chrome.text(".ip-list").await.contains("203.0.113.0/24"));
        assert_eq!(code_of(&app, &token).await, "IP_NOT_ALLOWED");

        // Switch it off and on.
        chrome.follow("button", "Disable").await;
        chrome.wait_until("the flash", "return !!document.querySelector('.flash-success')").await;
        assert!(chrome.text("h1").await.contains("Disabled"));
        assert!(chrome.text(".section-head").await.contains("By "));
        assert_eq!(code_of(&app, &token).await, "DISABLED");
        chrome.screenshot("disabled").await;
        chrome.assert_accessible("a disabled key").await;
        chrome.follow("button", "Enable").await;
        chrome.wait_until("the Disable button", "return [...document.querySelectorAll('button')].some(b => b.textContent.trim() === 'Disable')").await;
        assert!(chrome.text("h1").await.contains("Active"));

        // Roll it with an hour's grace: the replacement is shown once.
        chrome.follow("a", "Roll key").await;
        chrome.wait_for_heading("Roll API key “Checkout (production)”").await;
        chrome.assert_accessible("roll a key").await;
        chrome.screenshot("roll-form").await;
        // Typing a time selects "Until a date and time"; another choice clears it.
        // (A datetime-local field takes keys in the browser's locale order;
        // set it as a picker would, with the event a picker sends.)
        chrome
            .script(
                "const f = document.getElementById('grace_until'); f.value = '2030-01-01T09:30'; f.dispatchEvent(new Event('input', { bubbles: true }));",
                Vec::new(),
            )
            .await;
        assert!(checked(&chrome, "grace-custom").await);
        chrome.click("#grace-1h").await;
        assert_eq!(chrome.value("#grace_until").await, "");
        chrome.follow("button", "Roll key").await;
        chrome.el("#revealed-key").await;
        let replacement = chrome.value("#revealed-key").await;
        assert!(replacement.starts_with("lk_ucd_"));
        assert_ne!(replacement, token);
        chrome.screenshot("rolled-modal").await;
        assert_eq!(code_of(&app, &token).await, "IP_NOT_ALLOWED", "the old key still checks its IPs");
        let new_id = api_key::parse(&replacement).unwrap().public_id.to_owned();

        // The old key's page says when it stops and links to its replacement.
        chrome.open(&page).await;
        wait_for_key(&chrome, "Checkout (production)").await;
        assert!(chrome.text("h1").await.contains("Rolled"));
        assert!(chrome.text(".section-head").await.contains("Stops working at"));
        assert!(chrome.exists(&format!("a[href='/settings/integrations/keys/{new_id}']")).await);
        assert!(!chrome.exists(&format!("a[href='{page}/roll']")).await);
        chrome.screenshot("rolled-old-key").await;
        chrome.assert_accessible("a rolled key").await;

        chrome.open("/settings/integrations?status=rolled").await;
        chrome.wait_for_heading("Integration Settings").await;
        assert!(chrome.text(".data-table").await.contains("Stops working at"));
        chrome.screenshot("rolled-filter").await;
    })
    .await;
    let response = admin
        .get(&format!("/settings/integrations/keys/{id}/roll"))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}
