//! The Generate API Key flow as a new user meets it: the types by group with
//! their descriptions and use, each type's expiry choices, a date that picks
//! "On a date", and the one-time modal that will not close unasked before its
//! key was copied, shows the Key ID and a curl example, and leaves no
//! "Confirm Form Resubmission" behind for Back.

use latchkey::domain::role::Role;
use thirtyfour::Key;

use super::{LIST, close_without_copying, console_with_admin, fill_details, sign_in};
use crate::harness::{Chrome, Options};

/// Whether the expiry choice with this value is offered (shown and enabled).
async fn offered(chrome: &Chrome, value: &str) -> bool {
    chrome
        .script(
            "const r = document.getElementById('expires-' + arguments[0]); \
             return !r.disabled && r.getClientRects().length > 0;",
            vec![serde_json::json!(value)],
        )
        .await
        .as_bool()
        .unwrap()
}

async fn checked_expiry(chrome: &Chrome) -> String {
    chrome
        .script(
            "const r = document.querySelector('input[name=expires]:checked'); return r ? r.value : '';",
            vec![],
        )
        .await
        .as_str()
        .unwrap()
        .to_owned()
}

#[actix_web::test]
async fn each_type_offers_its_own_expiry_choices_and_a_date_picks_on_a_date() {
    let (app, email) = console_with_admin().await;
    let admin = app.signed_in(Role::Administrator).await;
    for i in 0..5 {
        admin.generate_token("ucd", &format!("Warehouse {i}")).await;
    }
    admin.generate_token("mobile", "iOS app").await;
    Chrome::run(
        &app.base,
        "generate-step-one",
        Options::default(),
        |chrome| async move {
            sign_in(&chrome, &email).await;
            chrome.follow("a", "Generate API Key").await;
            chrome.wait_for_heading("Generate API Key").await;

            // Grouped, described, with the use of the limited types.
            assert_eq!(
                chrome.texts(".type-group > legend").await,
                [
                    "Messaging",
                    "Email",
                    "Analytics",
                    "Customer data",
                    "Apps and web",
                    "Messaging Hub REST API"
                ]
            );
            assert!(
                chrome
                    .text("#type-ucd-about")
                    .await
                    .contains("One token works for all UCD APIs.")
            );
            assert_eq!(
                chrome.text("label[for=type-ucd] .type-use").await,
                "5 of 5 in use"
            );
            assert_eq!(
                chrome.text("label[for=type-mobile] .type-use").await,
                "1 of 2 in use"
            );
            // UCD is full: it cannot be chosen, and says where its keys are.
            assert!(
                !chrome
                    .el("input#type-ucd")
                    .await
                    .is_enabled()
                    .await
                    .unwrap()
            );
            let see = chrome.el("#type-ucd-full a").await;
            assert_eq!(
                see.attr("href").await.unwrap().as_deref(),
                Some("/settings/integrations?type=ucd")
            );
            chrome.screenshot("step-one").await;
            chrome.assert_accessible("step one").await;

            // OTP for SMS: at most 90 days, 30 by default; no 365 days, no Never.
            chrome.click("input#type-otpsms").await;
            assert_eq!(checked_expiry(&chrome).await, "30d");
            for (value, shown) in [
                ("30d", true),
                ("90d", true),
                ("365d", false),
                ("on", true),
                ("never", false),
            ] {
                assert_eq!(
                    offered(&chrome, value).await,
                    shown,
                    "{value} for OTP for SMS"
                );
            }
            assert!(
                chrome
                    .text("[data-expiry-policy]")
                    .await
                    .starts_with("OTP for SMS keys last at most 90 days")
            );
            chrome
                .script(
                    "document.querySelector('[data-expiry]').scrollIntoView();",
                    vec![],
                )
                .await;
            chrome.screenshot("otp-choices").await;

            // Transactional SMS: every choice, Never by default.
            chrome.click("input#type-tsms").await;
            assert_eq!(checked_expiry(&chrome).await, "never");
            for value in ["30d", "90d", "365d", "on", "never"] {
                assert!(
                    offered(&chrome, value).await,
                    "{value} for Transactional SMS"
                );
            }

            // Typing a date chooses "On a date"; the typed date is what is sent.
            let day = chrono::Utc::now().date_naive() + chrono::Days::new(45);
            chrome
                .fill("#expires_on", &day.format("%m%d%Y").to_string())
                .await;
            assert_eq!(checked_expiry(&chrome).await, "on");
            assert_eq!(chrome.value("#expires_on").await, day.to_string());
            // Choosing a type now keeps the date that was chosen by hand.
            chrome.click("input#type-temail").await;
            assert_eq!(checked_expiry(&chrome).await, "on");
            chrome.screenshot("date-chosen").await;
            chrome.fill("#name", "Receipts").await;
            chrome.fill("#contact_email", "mail@example.com").await;
            chrome.follow("button", "Continue").await;
            chrome
                .wait_for_heading("Authorize trusted IP addresses")
                .await;
            assert!(chrome.text(".summary").await.contains(&day.to_string()));
        },
    )
    .await;
}

/// Signs in and generates a key through both steps, up to the modal.
async fn generate(chrome: &Chrome, email: &str, type_code: &str, name: &str) {
    sign_in(chrome, email).await;
    fill_details(chrome, type_code, name).await;
    chrome.follow("button", "Authorize and Generate").await;
    chrome.el("[role=dialog]").await;
}

#[actix_web::test]
async fn closing_the_key_before_copying_it_asks_first_and_back_finds_a_normal_page() {
    let (app, email) = console_with_admin().await;
    let base = app.base.clone();
    Chrome::run(
        &app.base,
        "one-time-modal",
        Options::default(),
        |chrome| async move {
            generate(&chrome, &email, "tsms", "Order alerts").await;
            let key = chrome.value("#revealed-key").await;
            // The address is the list's at once: Reload or Back never post again.
            assert_eq!(chrome.path().await, LIST);

            // The Key ID (as the list shows it, not secret) and a curl example.
            let key_id = chrome.text("#revealed-key-id").await;
            assert!(
                key_id.len() == 12 && key.starts_with(&format!("lk_tsms_{key_id}_")),
                "{key_id}"
            );
            let example = chrome.value("#revealed-curl").await;
            assert_eq!(
                example,
                format!("curl -sS '{base}/api/v1/auth' \\\n  -H 'Authorization: Bearer {key}'")
            );
            chrome.screenshot("modal").await;
            chrome.assert_accessible("key modal with its example").await;

            // Escape before anything was copied: a question, in the page.
            chrome.press(Key::Escape).await;
            let question = chrome.el("[data-close-confirm]:not([hidden])").await;
            assert_eq!(
                question.text().await.unwrap().lines().next().unwrap(),
                "You have not copied the key. It will never be shown again. Close anyway?"
            );
            assert!(chrome.focused().await.contains("Keep it open"));
            assert_eq!(chrome.path().await, LIST);
            chrome.screenshot("asked-before-closing").await;
            chrome
                .assert_accessible("the question before closing")
                .await;
            // Escape again (or Keep it open) goes back to the key.
            chrome.press(Key::Escape).await;
            assert!(!chrome.exists("[data-close-confirm]:not([hidden])").await);
            assert_eq!(chrome.value("#revealed-key").await, key);

            // After Copy, Escape closes at once.
            chrome.click_text("[role=dialog] button", "Copy").await;
            chrome.el_with_text("[role=dialog] button", "Copied").await;
            chrome.press_to_leave(Key::Escape).await;
            chrome.wait_for_heading("Integration Settings").await;
            assert!(!chrome.exists("[role=dialog]").await);

            // Back: a page of the console, never the browser's resubmission prompt.
            chrome.driver.back().await.unwrap();
            chrome.wait_for_heading("Integration Settings").await;
            assert_eq!(chrome.path().await, LIST);
            assert!(
                chrome
                    .text("[role=status]")
                    .await
                    .contains("already generated")
            );
            assert!(!chrome.source().await.contains(&key));
            chrome.screenshot("back-after-closing").await;
        },
    )
    .await;
}

#[actix_web::test]
async fn close_anyway_then_back_or_reload_never_posts_again() {
    let (app, email) = console_with_admin().await;
    let check = app.clone();
    Chrome::run(
        &app.base,
        "close-anyway",
        Options::default(),
        |chrome| async move {
            generate(&chrome, &email, "hubhmac", "Partner signer").await;
            let secret = chrome.value("#revealed-secret").await;
            assert!(
                chrome
                    .value("#revealed-curl")
                    .await
                    .contains("openssl dgst -sha256 -hmac")
            );
            chrome.screenshot("hmac-modal").await;
            chrome.assert_accessible("key and secret modal").await;

            // Reload while the key is shown: the list, without the key and
            // without a prompt to post the form again.
            chrome.driver.refresh().await.unwrap();
            chrome.wait_for_heading("Integration Settings").await;
            assert!(!chrome.exists("[role=dialog]").await);
            assert!(!chrome.source().await.contains(&secret));

            fill_details(&chrome, "hubbasic", "Partner sender").await;
            chrome.follow("button", "Authorize and Generate").await;
            chrome.el("[role=dialog]").await;
            close_without_copying(&chrome).await;
            chrome.wait_for_heading("Integration Settings").await;
            chrome.driver.back().await.unwrap();
            chrome.wait_for_heading("Integration Settings").await;
            assert_eq!(chrome.path().await, LIST);
        },
    )
    .await;
    use diesel::prelude::*;
    use latchkey::db::schema::api_keys;
    let mut conn = check.conn();
    let count: i64 =
        latchkey::on_backend!(&mut *conn, |c| api_keys::table.count().get_result(c)).unwrap();
    assert_eq!(
        count, 2,
        "one key per Authorize and Generate, whatever Reload and Back did"
    );
}
