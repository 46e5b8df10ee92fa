//! End-to-end flows in a real Chromium against the real console, each on a
//! fresh database. Every flow saves screenshots under `target/screenshots/`
//! and runs axe-core on every page it visits.

mod applications;
#[path = "../common/mod.rs"]
mod common;
mod finding_keys;
mod generate_flow;
mod harness;
mod key_life;
mod people;
mod sessions;
mod webhooks;

use std::sync::Arc;

use common::{Backend, PASSWORD, TestApp};
use harness::{Chrome, Options};
use latchkey::db;
use latchkey::domain::role::Role;
use thirtyfour::prelude::*;

const LIST: &str = "/settings/integrations";

/// Signs in with the password and, when the console asks (Administrators
/// have two-factor), the next code of the tests' authenticator.
async fn sign_in(chrome: &Chrome, email: &str) {
    chrome.open("/login").await;
    chrome.wait_for_heading("Sign in to Latchkey").await;
    chrome.fill("#email", email).await;
    chrome.fill("#password", PASSWORD).await;
    chrome.follow("button", "Sign in").await;
    chrome
        .wait_until(
            "signed in, or asked for a code",
            "const h1 = document.querySelector('h1'); \
             return !!h1 && ['Integration Settings', 'Enter your two-factor code'].includes(h1.textContent.trim());",
        )
        .await;
    if chrome.path().await.starts_with("/login/two-factor") {
        enter_code(chrome, email).await;
    }
    chrome.wait_for_heading("Integration Settings").await;
}

/// Types the authenticator's next code for `email` on the code page.
async fn enter_code(chrome: &Chrome, email: &str) {
    chrome.wait_for_heading("Enter your two-factor code").await;
    let code = common::Browser::new(&chrome.base).next_code(email).await;
    chrome.fill("#code", &code).await;
    chrome.follow("button", "Verify").await;
}

/// Sets up two-factor from the setup page as a person does: reads the
/// secret printed under the QR code into the tests' authenticator, types
/// its code, and leaves the recovery codes page. Returns the codes shown.
async fn enrol_two_factor(chrome: &Chrome, email: &str) -> Vec<String> {
    chrome.wait_for_heading("Two-factor sign-in").await;
    chrome.follow("button", "Set up two-factor").await;
    chrome.wait_for_heading("Set up two-factor sign-in").await;
    assert!(chrome.exists(".qr-code svg[role=img]").await);
    chrome.assert_accessible("two-factor setup").await;
    chrome.screenshot("two-factor-qr").await;
    let authenticator = common::Browser::new(&chrome.base);
    authenticator.remember_authenticator(email, &chrome.text("#totp-secret").await);
    let code = authenticator.next_code(email).await;
    chrome.fill("#code", &code).await;
    chrome.follow("button", "Turn on two-factor").await;
    chrome.wait_for_heading("Your recovery codes").await;
    let codes = chrome.texts("#recovery-codes code").await;
    chrome.assert_accessible("recovery codes").await;
    chrome.screenshot("recovery-codes").await;
    chrome.follow("a", "I have saved my recovery codes").await;
    codes
}

/// A console on a fresh SQLite database with one Administrator, whose email
/// is returned; shared so a flow can check the database after the browser is done.
async fn console_with_admin() -> (Arc<TestApp>, String) {
    with_admin(TestApp::spawn(Backend::Sqlite).await).await
}

async fn with_admin(app: TestApp) -> (Arc<TestApp>, String) {
    let email = format!("admin-{}@example.com", db::new_row_id());
    app.add_user(&email, Role::Administrator).await;
    (Arc::new(app), email)
}

/// Step one of the generate flow: type, nickname, contact; expiry left at the type's default.
async fn fill_details(chrome: &Chrome, type_code: &str, name: &str) {
    chrome.follow("a", "Generate API Key").await;
    chrome.wait_for_heading("Generate API Key").await;
    chrome.click(&format!("input#type-{type_code}")).await;
    chrome.fill("#name", name).await;
    chrome
        .fill("#contact_email", "integrations@example.com")
        .await;
    chrome.follow("button", "Continue").await;
    chrome
        .wait_for_heading("Authorize trusted IP addresses")
        .await;
}

/// Closes the key modal without copying the key: Close asks first, then
/// "Close anyway" leaves for the list.
async fn close_without_copying(chrome: &Chrome) {
    chrome.click_text("[role=dialog] a", "Close").await;
    chrome
        .follow("[data-close-confirm] a", "Close anyway")
        .await;
}

/// The key list, with its empty state telling an administrator what to do.
async fn wait_for_empty_list(chrome: &Chrome) {
    chrome.wait_for_heading("Integration Settings").await;
    assert!(
        chrome
            .text(".empty-state")
            .await
            .contains("No API keys yet")
    );
}

fn key_count(app: &TestApp) -> i64 {
    use diesel::prelude::*;
    use latchkey::db::schema::api_keys;
    let mut conn = app.conn();
    latchkey::on_backend!(&mut *conn, |c| api_keys::table.count().get_result::<i64>(c)).unwrap()
}

#[actix_web::test]
async fn first_run_setup_then_sign_out_and_back_in() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let setup = app
        .setup_url
        .clone()
        .expect("a fresh console prints a setup link");
    let link = setup.clone();
    Chrome::run(
        &app.base,
        "first-run",
        Options::default(),
        |chrome| async move {
            chrome.open(&link).await;
            chrome
                .wait_for_heading("Create the first Administrator")
                .await;
            chrome.assert_accessible("setup").await;
            chrome.fill("#email", "owner@example.com").await;
            chrome.fill("#password", "short").await;
            chrome.fill("#password_confirm", "short").await;
            chrome.follow("button", "Create Administrator").await;
            chrome
                .wait_for_heading("Create the first Administrator")
                .await;
            assert!(chrome.text("#password-error").await.contains("at least 12"));
            assert_eq!(chrome.value("#email").await, "owner@example.com");
            chrome.screenshot("setup-error").await;
            chrome.assert_accessible("setup with an error").await;

            chrome.fill("#password", PASSWORD).await;
            chrome.fill("#password_confirm", PASSWORD).await;
            chrome.follow("button", "Create Administrator").await;
            // Administrators sign in with two-factor: set it up first.
            chrome.wait_for_heading("Two-factor sign-in").await;
            assert!(
                !chrome.exists("nav.sidebar").await,
                "nothing else opens yet"
            );
            chrome.assert_accessible("two-factor required").await;
            let codes = enrol_two_factor(&chrome, "owner@example.com").await;
            assert_eq!(codes.len(), 10);
            wait_for_empty_list(&chrome).await;
            assert!(
                chrome
                    .exists("a[href='/settings/integrations/keys/new']")
                    .await
            );
            chrome.screenshot("empty-key-list").await;
            chrome.assert_accessible("empty key list").await;

            chrome.follow("button", "Sign out").await;
            chrome.wait_for_heading("Sign in to Latchkey").await;
            chrome.assert_accessible("sign in").await;
            // Signed out means signed out: the console sends us back to sign in.
            chrome.open(LIST).await;
            chrome.wait_for_heading("Sign in to Latchkey").await;

            chrome.fill("#email", "owner@example.com").await;
            chrome.fill("#password", "not the password at all").await;
            chrome.follow("button", "Sign in").await;
            chrome.wait_for_heading("Sign in to Latchkey").await;
            assert!(chrome.text("[role=alert]").await.contains("do not match"));
            assert_eq!(chrome.value("#email").await, "owner@example.com");
            chrome.screenshot("sign-in-refused").await;
            chrome.assert_accessible("sign in refused").await;

            chrome.fill("#password", PASSWORD).await;
            chrome.follow("button", "Sign in").await;
            enter_code(&chrome, "owner@example.com").await;
            chrome.wait_for_heading("Integration Settings").await;
            assert!(
                chrome
                    .text(".account-email")
                    .await
                    .contains("owner@example.com")
            );
        },
    )
    .await;
    // The setup link is spent.
    assert_eq!(
        app.browser()
            .get(&setup[setup.find("/setup").unwrap()..])
            .await
            .status(),
        404
    );
}

#[actix_web::test]
async fn a_key_is_generated_copied_once_listed_masked_and_deleted() {
    let (app, email) = console_with_admin().await;
    let check = app.clone();
    Chrome::run(
        &app.base,
        "key-lifecycle",
        Options::default(),
        |chrome| async move {
            sign_in(&chrome, &email).await;
            fill_details(&chrome, "ucd", "Checkout service").await;
            chrome.assert_accessible("authorize trusted IPs").await;
            chrome
                .fill("#trusted_ips", "203.0.113.0/24\n2001:db8::/32")
                .await;
            chrome.screenshot("trusted-ips").await;
            chrome.follow("button", "Authorize and Generate").await;

            // The modal: the whole key, once, with Copy focused.
            let modal = chrome.el("[role=dialog]").await;
            assert!(modal.is_displayed().await.unwrap());
            let key = chrome.value("#revealed-key").await;
            assert!(key.starts_with("lk_ucd_"), "{key}");
            assert_eq!(chrome.focused().await, "button “Copy”");
            chrome.screenshot("key-modal").await;
            chrome.assert_accessible("key modal").await;

            chrome.click_text("[role=dialog] button", "Copy").await;
            chrome.el_with_text("[role=dialog] button", "Copied").await;
            assert!(chrome.text("[data-copy-status]").await.contains("copied"));
            assert_eq!(
                paste(&chrome).await,
                key,
                "the clipboard holds exactly the key"
            );
            chrome.screenshot("key-copied").await;

            // Focus stays in the modal, both ways round.
            for _ in 0..4 {
                chrome.press(Key::Tab).await;
                assert!(
                    in_modal(&chrome).await,
                    "Tab left the modal: {}",
                    chrome.focused().await
                );
            }
            for _ in 0..4 {
                chrome.press_with(Key::Shift, Key::Tab).await;
                assert!(
                    in_modal(&chrome).await,
                    "Shift+Tab left the modal: {}",
                    chrome.focused().await
                );
            }

            // Escape closes it, and the key is gone for good.
            chrome.press_to_leave(Key::Escape).await;
            chrome.wait_for_heading("Integration Settings").await;
            assert!(!chrome.exists("[role=dialog]").await);
            assert_eq!(chrome.path().await, LIST);
            assert!(!chrome.source().await.contains(&key));
            let masked = chrome.text(".masked-key").await;
            assert_eq!(masked, format!("lk_ucd_…{}", &key[key.len() - 4..]));
            assert!(
                chrome
                    .text("td[data-label='Trusted IPs']")
                    .await
                    .contains("2")
            );
            chrome.screenshot("key-listed-masked").await;
            chrome.assert_accessible("key list").await;

            chrome.driver.refresh().await.unwrap();
            chrome.wait_for_heading("Integration Settings").await;
            assert!(
                !chrome.source().await.contains(&key),
                "reload showed the key"
            );

            chrome.driver.back().await.unwrap();
            assert!(!chrome.source().await.contains(&key), "back showed the key");
            chrome.screenshot("back-after-close").await;
            chrome.driver.refresh().await.unwrap();
            assert!(
                !chrome.source().await.contains(&key),
                "back then reload showed the key"
            );
            chrome.screenshot("back-then-reload").await;
            chrome.open(LIST).await;

            // Delete, with a confirmation page.
            chrome.click("a.button-danger-quiet").await;
            chrome
                .wait_for_heading("Delete API key “Checkout service”?")
                .await;
            chrome.screenshot("delete-confirmation").await;
            chrome.assert_accessible("delete confirmation").await;
            chrome.follow("button", "Delete API key").await;
            wait_for_empty_list(&chrome).await;
            assert!(chrome.text("[role=status]").await.contains("was deleted"));
            chrome.screenshot("deleted").await;
            chrome.assert_accessible("key list after delete").await;
        },
    )
    .await;
    assert_eq!(
        key_count(&check),
        1,
        "one key, whatever reload and back did"
    );
}

/// Pastes the clipboard into a scratch text area and returns what arrived;
/// focus then goes back where it was.
async fn paste(chrome: &Chrome) -> String {
    chrome
        .script(
            r#"window.pasteReturn = document.activeElement;
            const t = document.createElement("textarea");
            t.id = "paste-target"; t.setAttribute("aria-label", "paste");
            document.body.appendChild(t); t.focus();"#,
            vec![],
        )
        .await;
    chrome.press_with(Key::Control, "v").await;
    let pasted = chrome.value("#paste-target").await;
    chrome
        .script("document.getElementById('paste-target').remove();", vec![])
        .await;
    chrome.script("window.pasteReturn.focus();", vec![]).await;
    pasted
}

async fn in_modal(chrome: &Chrome) -> bool {
    chrome
        .script(
            "return !!document.activeElement.closest('[role=dialog]');",
            vec![],
        )
        .await
        .as_bool()
        .unwrap_or(false)
}

#[actix_web::test]
async fn a_bad_cidr_is_explained_next_to_the_field_and_the_typed_text_kept() {
    let (app, email) = console_with_admin().await;
    let check = app.clone();
    Chrome::run(
        &app.base,
        "bad-cidr",
        Options::default(),
        |chrome| async move {
            sign_in(&chrome, &email).await;
            fill_details(&chrome, "mobile", "iOS app").await;
            let typed = "10.0.0.0/8\n10.0.0.300/33";
            chrome.fill("#trusted_ips", typed).await;
            chrome.follow("button", "Authorize and Generate").await;
            chrome
                .wait_for_heading("Authorize trusted IP addresses")
                .await;

            // The message sits in the same field as the text area, which names it.
            let message = chrome.text(".field.has-error #trusted_ips-errors").await;
            assert!(
                message.contains("Line 2") && message.contains("10.0.0.300/33"),
                "{message}"
            );
            let field = chrome.el("#trusted_ips").await;
            assert_eq!(
                field.attr("aria-invalid").await.unwrap().as_deref(),
                Some("true")
            );
            let described = field
                .attr("aria-describedby")
                .await
                .unwrap()
                .unwrap_or_default();
            assert!(described.contains("trusted_ips-errors"), "{described}");
            assert_eq!(chrome.value("#trusted_ips").await, typed);
            assert!(!chrome.exists("[role=dialog]").await);
            chrome.screenshot("message-next-to-field").await;
            chrome.assert_accessible("trusted IPs with an error").await;

            // Fixing the line is enough to finish.
            chrome.fill("#trusted_ips", "10.0.0.0/8\n10.0.0.0/24").await;
            chrome.follow("button", "Authorize and Generate").await;
            assert!(
                chrome
                    .value("#revealed-key")
                    .await
                    .starts_with("lk_mobile_")
            );
        },
    )
    .await;
    assert_eq!(
        key_count(&check),
        1,
        "nothing was written for the refused form"
    );
}

#[actix_web::test]
async fn viewers_and_support_staff_see_no_generate_or_delete_controls() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.signed_in(Role::Administrator)
        .await
        .generate_token("ucd", "Checkout service")
        .await;
    let viewer = format!("viewer-{}@example.com", db::new_row_id());
    let support = format!("support-{}@example.com", db::new_row_id());
    app.add_user(&viewer, Role::Viewer).await;
    app.add_user(&support, Role::Support).await;

    Chrome::run(
        &app.base,
        "viewer",
        Options::default(),
        |chrome| async move {
            sign_in(&chrome, &viewer).await;
            assert_eq!(chrome.text(".masked-key").await.len(), "lk_ucd_…".len() + 4);
            assert_no_key_controls(&chrome).await;
            // A Viewer reads the list only: no detail pages, no audit log.
            assert!(!chrome.exists("td a").await);
            assert!(!chrome.exists("nav a[href='/audit']").await);
            chrome.screenshot("key-list").await;
            chrome.assert_accessible("key list (Viewer)").await;

            chrome.open("/settings/integrations/keys/new").await;
            chrome
                .wait_for_heading("You do not have permission to do that")
                .await;
            chrome.screenshot("forbidden").await;
            chrome.assert_accessible("forbidden page").await;
        },
    )
    .await;

    Chrome::run(
        &app.base,
        "support",
        Options::default(),
        |chrome| async move {
            sign_in(&chrome, &support).await;
            assert_no_key_controls(&chrome).await;
            chrome.screenshot("key-list").await;

            chrome.follow("td a", "Checkout service").await;
            let heading = chrome.text("h1").await;
            assert!(heading.starts_with("Checkout service"), "{heading}");
            assert!(!chrome.exists("a[href$='/delete']").await);
            assert!(!chrome.exists("form[action$='/rate-limit']").await);
            assert!(
                !chrome
                    .exists("button[type=submit]:not(.button-quiet)")
                    .await
            );
            chrome.screenshot("key-detail").await;
            chrome.assert_accessible("key detail (Support)").await;

            chrome.follow("nav a", "Audit log").await;
            chrome.wait_for_heading("Audit log").await;
            assert!(chrome.text("table").await.contains("Checkout service"));
            chrome.screenshot("audit-log").await;
            chrome.assert_accessible("audit log").await;
        },
    )
    .await;
}

async fn assert_no_key_controls(chrome: &Chrome) {
    let page = chrome.source().await;
    assert!(
        !page.contains("Generate API Key"),
        "a generate control is shown"
    );
    assert!(!page.contains("/delete"), "a delete control is shown");
    assert!(
        !chrome
            .exists("a[href='/settings/integrations/keys/new']")
            .await
    );
}

/// The whole flow with the keyboard alone: every stop shows where focus is.
#[actix_web::test]
async fn the_whole_flow_works_from_the_keyboard() {
    let (app, email) = console_with_admin().await;
    let check = app.clone();
    Chrome::run(
        &app.base,
        "keyboard",
        Options::default(),
        |chrome| async move {
            chrome.open("/login").await;
            chrome.wait_for_heading("Sign in to Latchkey").await;
            assert_eq!(chrome.focused().await, "input#email");
            chrome.type_text(&email).await;
            chrome.tab_to("input#password").await;
            chrome.type_text(PASSWORD).await;
            chrome.press_to_leave(Key::Enter).await;
            // The code field has the focus: type the code and press Enter.
            chrome.wait_for_heading("Enter your two-factor code").await;
            assert_eq!(chrome.focused().await, "input#code");
            let code = common::Browser::new(&chrome.base).next_code(&email).await;
            chrome.type_text(&code).await;
            chrome.press_to_leave(Key::Enter).await;
            chrome.wait_for_heading("Integration Settings").await;

            // The skip link comes first and jumps to the page's content.
            chrome.tab_to("a “Skip to content”").await;
            chrome.screenshot("skip-link").await;
            chrome.tab_to("a “Generate API Key”").await;
            chrome.screenshot("focus-on-generate").await;
            chrome.press_to_leave(Key::Enter).await;
            chrome.wait_for_heading("Generate API Key").await;

            // The types are one group of radio buttons: Tab reaches the
            // first, the arrow keys move through them (and choose).
            chrome.tab_to("input#type-tsms").await;
            for _ in 0..20 {
                if chrome.focused().await.starts_with("input#type-ucd") {
                    break;
                }
                chrome.press(Key::Down).await;
                assert!(chrome.focus_is_visible().await);
            }
            assert!(chrome.focused().await.starts_with("input#type-ucd"));
            assert!(
                chrome
                    .el("input#type-ucd")
                    .await
                    .is_selected()
                    .await
                    .unwrap()
            );
            chrome.tab_to("input#name").await;
            chrome.type_text("Warehouse sync").await;
            chrome.tab_to("input#contact_email").await;
            chrome.type_text("warehouse@example.com").await;
            chrome.tab_to("input#expires-never").await;
            chrome.tab_to("button “Continue”").await;
            chrome.screenshot("details-filled").await;
            chrome.press_to_leave(Key::Enter).await;
            chrome
                .wait_for_heading("Authorize trusted IP addresses")
                .await;

            chrome.tab_to("textarea#trusted_ips").await;
            chrome.type_text("192.0.2.0/24").await;
            chrome.tab_to("button “Authorize and Generate”").await;
            chrome.press_to_leave(Key::Enter).await;

            chrome.el("[role=dialog]").await;
            let key = chrome.value("#revealed-key").await;
            // Focus starts on Copy. (The Enter that submitted step two can reach
            // the new page as it loads and press Copy already: hence “Cop”.)
            assert!(chrome.focused().await.starts_with("button “Cop"));
            assert!(chrome.focus_is_visible().await);
            chrome.press(Key::Enter).await;
            chrome.el_with_text("[role=dialog] button", "Copied").await;
            assert_eq!(paste(&chrome).await, key);
            chrome.screenshot("copied-from-keyboard").await;
            chrome.press_to_leave(Key::Escape).await;
            chrome.wait_for_heading("Integration Settings").await;

            chrome.tab_to("a “Delete").await;
            chrome.press_to_leave(Key::Enter).await;
            chrome
                .wait_for_heading("Delete API key “Warehouse sync”?")
                .await;
            chrome.tab_to("button “Delete API key”").await;
            chrome.screenshot("focus-on-delete").await;
            chrome.press_to_leave(Key::Enter).await;
            chrome.wait_for_heading("Integration Settings").await;
            assert!(chrome.text("[role=status]").await.contains("was deleted"));

            chrome.tab_to("button “Sign out”").await;
            chrome.press_to_leave(Key::Enter).await;
            chrome.wait_for_heading("Sign in to Latchkey").await;
        },
    )
    .await;
    assert_eq!(key_count(&check), 1);
}

/// With JavaScript off, every flow still completes with plain forms and links.
#[actix_web::test]
async fn every_flow_completes_without_javascript() {
    let (app, email) = console_with_admin().await;
    let no_js = Options {
        javascript: false,
        ..Options::default()
    };
    Chrome::run(&app.base, "no-javascript", no_js, |chrome| async move {
        sign_in(&chrome, &email).await;
        fill_details(&chrome, "hubhmac", "Partner webhook signer").await;
        chrome.fill("#trusted_ips", "198.51.100.0/24").await;
        chrome.follow("button", "Authorize and Generate").await;

        let key_id = chrome.value("#revealed-key").await;
        let secret = chrome.value("#revealed-secret").await;
        assert!(key_id.starts_with("lk_hubhmac_") && !secret.is_empty());
        // Without scripts a Copy button could do nothing, so none is shown;
        // the fields are there to select and copy by hand.
        assert!(!chrome.el("[data-copy]").await.is_displayed().await.unwrap());
        chrome.screenshot("key-and-secret").await;
        // (axe-core is itself a script: the accessibility checks run in the other flows.)

        chrome.follow("a", "Close").await;
        chrome.wait_for_heading("Integration Settings").await;
        assert!(!chrome.source().await.contains(&secret));
        let created = chrome.text("td[data-label=Created] time").await;
        assert!(created.ends_with(" UTC"), "{created}");

        chrome.follow("td a", "Partner webhook signer").await;
        chrome.fill("#rate_limit", "120").await;
        chrome.follow("button", "Save rate limit").await;
        assert!(chrome.text("[role=status]").await.contains("120"));
        chrome.follow("a", "Delete").await;
        chrome.follow("button", "Delete API key").await;
        wait_for_empty_list(&chrome).await;
        chrome.screenshot("deleted").await;
    })
    .await;
}

#[actix_web::test]
async fn the_console_reads_well_at_phone_width() {
    let (app, email) = console_with_admin().await;
    let phone = Options {
        width: 390,
        height: 844,
        ..Options::default()
    };
    Chrome::run(&app.base, "phone", phone, |chrome| async move {
        sign_in(&chrome, &email).await;
        assert_eq!(chrome.inner_width().await, 390);
        assert!(
            !chrome.scrolls_sideways().await,
            "the empty list scrolls sideways"
        );
        fill_details(&chrome, "ucd", "Checkout service (production)").await;
        assert!(
            !chrome.scrolls_sideways().await,
            "step two scrolls sideways"
        );
        chrome
            .fill("#trusted_ips", "203.0.113.0/24\n2001:db8::/32")
            .await;
        chrome.follow("button", "Authorize and Generate").await;
        chrome.el("[role=dialog]").await;
        assert!(
            !chrome.scrolls_sideways().await,
            "the modal scrolls sideways"
        );
        chrome.screenshot("key-modal").await;
        // Nothing was copied: Close asks first.
        chrome.click_text("[role=dialog] a", "Close").await;
        chrome.el("[data-close-confirm]:not([hidden])").await;
        assert!(
            !chrome.scrolls_sideways().await,
            "the modal's question scrolls sideways"
        );
        chrome.screenshot("close-without-copying").await;
        chrome.follow("a", "Close anyway").await;
        chrome.wait_for_heading("Integration Settings").await;
        assert!(
            !chrome.scrolls_sideways().await,
            "the key list scrolls sideways"
        );
        chrome.screenshot("key-list").await;
        chrome.assert_accessible("key list at phone width").await;
    })
    .await;
}

/// Times are written in UTC by the server and shown in the reader's own zone,
/// with the UTC value on hover; the list says how long ago.
#[actix_web::test]
async fn times_are_shown_in_the_readers_time_zone() {
    let (app, email) = console_with_admin().await;
    app.signed_in(Role::Administrator)
        .await
        .generate_token("ucd", "Checkout service")
        .await;
    let india = Options {
        time_zone: "Asia/Kolkata",
        ..Options::default()
    };
    Chrome::run(&app.base, "time-zone", india, |chrome| async move {
        sign_in(&chrome, &email).await;
        let created = chrome.el("td[data-label=Created] time").await;
        let relative = created.text().await.unwrap();
        assert!(
            relative == "this minute" || relative.ends_with("ago"),
            "{relative}"
        );
        let hover = created.attr("title").await.unwrap().unwrap_or_default();
        assert!(hover.ends_with(" UTC"), "{hover}");

        chrome.follow("td a", "Checkout service").await;
        let created = chrome.el("dd time[data-local]").await;
        let utc = chrono::NaiveDateTime::parse_from_str(
            &created.attr("datetime").await.unwrap().unwrap()[..19],
            "%Y-%m-%dT%H:%M:%S",
        )
        .unwrap();
        // India is UTC+5:30 all year round.
        let local = utc + chrono::Duration::minutes(330);
        let shown = created.text().await.unwrap();
        assert!(
            shown.contains(&local.format("%-I:%M").to_string()),
            "{shown} for {utc} UTC"
        );
        assert!(!shown.contains("UTC"), "{shown}");
        chrome.screenshot("key-detail").await;
    })
    .await;
}

/// Every status a key can have, as its badge, in one list a reviewer can look
/// at; axe checks the badges' contrast.
#[actix_web::test]
async fn each_key_status_shows_its_badge() {
    // The default catalogue, plus a type switched off ten minutes from now.
    let from = (chrono::Utc::now() + chrono::Duration::minutes(10)).format("%Y-%m-%dT%H:%M:%SZ");
    let catalogue = format!(
        "{}\n[[type]]\ncode = \"legacypush\"\nname = \"Legacy Push\"\nscheme = \"bearer\"\ndisabled_from = {from}\n",
        include_str!("../../src/key_types.toml")
    );
    let (app, email) =
        with_admin(TestApp::spawn_with_catalogue(Backend::Sqlite, &catalogue).await).await;
    let admin = app.signed_in(Role::Administrator).await;
    for (type_code, name) in [
        ("ucd", "Checkout service"),
        ("mobile", "Partner trial"),
        ("tsms", "Old campaign"),
        ("legacypush", "Legacy push sender"),
    ] {
        admin.generate_token(type_code, name).await;
    }
    let now = chrono::Utc::now().naive_utc();
    set_expiry(&app, "Partner trial", now + chrono::Duration::days(3));
    set_expiry(&app, "Old campaign", now - chrono::Duration::days(1));
    app.clock.advance(chrono::Duration::minutes(15));

    Chrome::run(
        &app.base,
        "statuses",
        Options::default(),
        |chrome| async move {
            sign_in(&chrome, &email).await;
            for (name, status) in [
                ("Checkout service", "Active"),
                ("Partner trial", "Expiring soon"),
                ("Old campaign", "Expired"),
                ("Legacy push sender", "Disabled"),
            ] {
                let row = chrome
                    .el_with_text("td[data-label='Name and type'] a", name)
                    .await
                    .parent()
                    .await
                    .unwrap()
                    .parent()
                    .await
                    .unwrap();
                let badge = row.find(By::Css("td[data-label=Status] .badge")).await;
                let shown = badge.unwrap().text().await.unwrap();
                assert_eq!(shown, status, "the status of {name}");
            }
            let table_scrolls = chrome
                .script(
                    "const w = document.querySelector('.table-wrap'); return w.scrollWidth > w.clientWidth;",
                    vec![],
                )
                .await;
            assert_eq!(
                table_scrolls,
                serde_json::json!(false),
                "the key table scrolls sideways on a 1280 px screen"
            );
            chrome.screenshot("key-list").await;
            chrome.assert_accessible("key list with every status").await;
        },
    )
    .await;
}

fn set_expiry(app: &TestApp, name: &str, at: chrono::NaiveDateTime) {
    use diesel::prelude::*;
    use latchkey::db::schema::api_keys;
    let mut conn = app.conn();
    let target = api_keys::table.filter(api_keys::name.eq(name));
    let updated = latchkey::on_backend!(&mut *conn, |c| diesel::update(target)
        .set(api_keys::expires_at.eq(Some(at)))
        .execute(c))
    .unwrap();
    assert_eq!(updated, 1, "one key named {name}");
}
