//! Finding a key in the list: the search box, the filters and sorts, keyset
//! pages, a pasted whole key, the Key ID's Copy button, and the key page's
//! recent requests, each as a person would use them.

use std::time::Duration;

use latchkey::db;
use latchkey::domain::api_key;
use latchkey::domain::role::Role;
use reqwest::StatusCode;
use serde_json::json;
use thirtyfour::Key;

use super::{LIST, paste, sign_in, with_admin};
use crate::common::{self, Backend, Browser, TestApp};
use crate::harness::{Chrome, Options};

/// Generates a bearer key through the console's own two forms, with this
/// contact email and these trusted IPs: (the whole key, its Key ID).
async fn key_for(
    admin: &Browser,
    type_code: &str,
    name: &str,
    contact: &str,
    trusted_ips: &str,
) -> (String, String) {
    let details = admin
        .post(
            "/settings/integrations/keys/new",
            &[
                ("type_code", type_code),
                ("name", name),
                ("contact_email", contact),
                ("expires", "never"),
            ],
        )
        .await;
    assert_eq!(details.status(), StatusCode::SEE_OTHER, "{name}: step one");
    let generated = admin
        .post(&common::location(&details), &[("trusted_ips", trusted_ips)])
        .await;
    assert_eq!(generated.status(), StatusCode::CREATED, "{name}: step two");
    let page = generated.text().await.unwrap();
    let token = common::input_value(&page, "revealed-key").expect("the modal shows the key");
    let id = api_key::parse(&token).unwrap().public_id.to_owned();
    (token, id)
}

/// A person with this role, added straight to the database: their email.
async fn person(app: &TestApp, role: Role) -> String {
    let email = format!("{}-{}@example.com", role.as_str(), db::new_row_id());
    app.add_user(&email, role).await;
    email
}

/// Polls the key's page until its recent requests hold `rows` attempts.
async fn wait_for_logged(reader: &Browser, id: &str, rows: usize) {
    let path = format!("/settings/integrations/keys/{id}");
    for _ in 0..200 {
        let page = reader.html(&path).await;
        if page.matches("<td data-label=\"Time\">").count() == rows {
            return;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the request log of {id} did not reach {rows} rows within 10 s");
}

/// The names in the key list, in the order shown.
async fn listed(chrome: &Chrome) -> Vec<String> {
    chrome.texts("td[data-label='Name and type'] a").await
}

/// Types into the search box and submits it.
async fn search_for(chrome: &Chrome, text: &str) {
    chrome.fill("#q", text).await;
    chrome.follow("button", "Search").await;
}

#[actix_web::test]
async fn support_finds_a_key_by_its_contact_and_reads_why_it_was_refused() {
    // The test stands in for the gateway in front of the verify API, whose
    // "ip" field the console believes from 127.0.0.1 only.
    let app = TestApp::spawn_trusting(Backend::Sqlite, "127.0.0.1").await;
    let admin = app.signed_in(Role::Administrator).await;
    for (name, contact) in [
        ("Billing export", "billing@acme.example"),
        ("Partner feed", "ops-team@globex.example"),
        ("Nightly report", "team-ops@acme.example"),
    ] {
        key_for(&admin, "temail", name, contact, "").await;
    }
    let (token, id) = key_for(
        &admin,
        "tsms",
        "Order alerts",
        "ops-team@acme.example",
        "198.51.100.0/24",
    )
    .await;
    let (_, answer) = app
        .verify(json!({ "key": token, "ip": "203.0.113.77" }))
        .await;
    assert_eq!(answer["code"], "IP_NOT_ALLOWED");
    let (_, answer) = app
        .verify(json!({ "key": token, "ip": "198.51.100.20" }))
        .await;
    assert_eq!(answer["code"], "VALID");
    // The verifier writes its log every two seconds or so.
    wait_for_logged(&admin, &id, 2).await;
    let support = person(&app, Role::Support).await;

    Chrome::run(
        &app.base,
        "find-by-contact",
        Options::default(),
        |chrome| async move {
            sign_in(&chrome, &support).await;
            assert_eq!(listed(&chrome).await.len(), 4);
            search_for(&chrome, "ops-team@acme").await;
            chrome.wait_for_heading("Integration Settings").await;
            assert_eq!(
                chrome.path().await,
                "/settings/integrations?q=ops-team%40acme&sort=created&dir=desc"
            );
            assert_eq!(listed(&chrome).await, ["Order alerts"]);
            assert_eq!(chrome.text(".pager-count").await, "1 key");
            assert_eq!(chrome.value("#q").await, "ops-team@acme");
            chrome.screenshot("found-by-contact").await;
            chrome.assert_accessible("key list searched").await;

            chrome.follow("td a", "Order alerts").await;
            let heading = chrome.text("h1").await;
            assert!(heading.starts_with("Order alerts"), "{heading}");
            assert_eq!(chrome.path().await, format!("{LIST}/keys/{id}"));
            let log = chrome.text(".request-log").await;
            assert!(
                log.contains("203.0.113.77 is not in the trusted IPs"),
                "{log}"
            );
            assert_eq!(
                chrome.texts(".request-log td[data-label=Outcome]").await,
                ["Valid", "IP not allowed"]
            );
            chrome
                .script(
                    "document.getElementById('requests').scrollIntoView();",
                    vec![],
                )
                .await;
            chrome.screenshot("key-page-recent-requests").await;
            chrome
                .assert_accessible("key page with recent requests")
                .await;

            // Only the refusals: the valid attempt leaves, the refusal stays.
            for (link, outcome) in [("Refused", "refused"), ("IP not allowed", "IP_NOT_ALLOWED")] {
                chrome.follow(".filter-links a", link).await;
                assert_eq!(
                    chrome.path().await,
                    format!("{LIST}/keys/{id}?outcome={outcome}")
                );
                let current = chrome.el(".filter-links a[aria-current=page]").await;
                assert_eq!(current.text().await.unwrap(), link);
                assert_eq!(
                    chrome.texts(".request-log td[data-label=Reason]").await,
                    ["203.0.113.77 is not in the trusted IPs"],
                    "filtered by {link}"
                );
                chrome
                    .screenshot(&format!("filtered-{}", outcome.to_lowercase()))
                    .await;
                chrome
                    .assert_accessible(&format!("recent requests, {link}"))
                    .await;
            }
            chrome.follow(".filter-links a", "Expired").await;
            assert!(!chrome.exists(".request-log").await);
            assert!(
                chrome
                    .text("#requests ~ p.muted")
                    .await
                    .starts_with("No recent requests with this outcome.")
            );
            chrome
                .follow("#requests ~ p.muted a", "Show every recent request")
                .await;
            assert_eq!(chrome.texts(".request-log tbody tr").await.len(), 2);
        },
    )
    .await;
}

const SENDERS: usize = 22;
/// The address the filter form makes: Transactional SMS keys, by name, A first.
const BY_NAME: &str = "/settings/integrations?type=tsms&sort=name&dir=asc";

fn senders(numbers: std::ops::RangeInclusive<usize>) -> Vec<String> {
    numbers.map(|n| format!("Sender {n:02}")).collect()
}

/// The filter form shows the type, sort and order this address asks for.
async fn assert_form_shows_tsms_by_name(chrome: &Chrome) {
    assert_eq!(chrome.value("#filter-type").await, "tsms");
    assert_eq!(chrome.value("#sort").await, "name");
    assert_eq!(chrome.value("#dir").await, "asc");
    assert_eq!(chrome.value("#q").await, "");
}

/// The top of an element, in whole pixels, and its left border's width.
async fn box_of(chrome: &Chrome, css: &str) -> (i64, String) {
    let found = chrome
        .script(
            "const e = document.querySelector(arguments[0]); const r = e.getBoundingClientRect(); \
             return [Math.round(r.top), getComputedStyle(e).borderLeftWidth];",
            vec![json!(css)],
        )
        .await;
    serde_json::from_value(found).expect("a box")
}

/// Which of First, Previous and Next the pager offers.
async fn pager_links(chrome: &Chrome) -> Vec<String> {
    chrome.texts(".pagination a").await
}

#[actix_web::test]
async fn filters_and_sorts_live_in_the_address_and_pages_follow_the_browser_history() {
    let (app, email) = with_admin(TestApp::spawn(Backend::Sqlite).await).await;
    let admin = app.signed_in(Role::Administrator).await;
    // Made out of order, so the list's newest-first order is not the name order.
    for n in (1..=SENDERS)
        .rev()
        .step_by(2)
        .chain((1..=SENDERS).step_by(2))
    {
        let name = format!("Sender {n:02}");
        key_for(&admin, "tsms", &name, "sms@example.com", "").await;
    }
    for (type_code, name) in [
        ("temail", "Receipts"),
        ("catalog", "Catalog sync"),
        ("webpush", "Browser pushes"),
    ] {
        key_for(&admin, type_code, name, "ops@example.com", "").await;
    }
    let support = person(&app, Role::Support).await;

    Chrome::run(
        &app.base,
        "filters-and-pages",
        Options::default(),
        |chrome| async move {
            sign_in(&chrome, &email).await;
            assert_eq!(chrome.text(".pager-count").await, "25 keys");
            assert_eq!(listed(&chrome).await.len(), 20);
            // The search box is drawn like the filters beside it, on their line.
            assert_eq!(
                box_of(&chrome, "#q").await,
                box_of(&chrome, "#filter-type").await,
                "the search box's and the Type filter's top and border"
            );
            chrome.click("#filter-type option[value='tsms']").await;
            chrome.click("#sort option[value='name']").await;
            chrome.click("#dir option[value='asc']").await;
            chrome.screenshot("filters-chosen").await;
            chrome.follow("button", "Search").await;

            assert_eq!(chrome.path().await, BY_NAME);
            assert_eq!(listed(&chrome).await, senders(1..=20));
            assert_eq!(chrome.text(".pager-count").await, "22 keys");
            assert_eq!(pager_links(&chrome).await, ["Next"]);
            assert_form_shows_tsms_by_name(&chrome).await;
            chrome.screenshot("first-page").await;
            chrome
                .assert_accessible("key list, filtered and sorted")
                .await;

            chrome.follow(".pagination a", "Next").await;
            let second = chrome.path().await;
            assert!(
                second.starts_with(&format!("{BY_NAME}&cursor=")),
                "{second}"
            );
            assert_eq!(listed(&chrome).await, senders(21..=SENDERS));
            assert_eq!(pager_links(&chrome).await, ["First", "Previous"]);
            assert_form_shows_tsms_by_name(&chrome).await;
            chrome.screenshot("second-page").await;
            chrome.assert_accessible("key list, second page").await;

            // Back and Forward bring each page and its form back as they were.
            chrome.driver.back().await.unwrap();
            chrome.wait_for_path(BY_NAME).await;
            assert_eq!(listed(&chrome).await, senders(1..=20));
            assert_form_shows_tsms_by_name(&chrome).await;
            chrome.screenshot("back-to-first-page").await;
            chrome.driver.forward().await.unwrap();
            chrome.wait_for_path(&second).await;
            assert_eq!(listed(&chrome).await, senders(21..=SENDERS));
            assert_form_shows_tsms_by_name(&chrome).await;

            chrome.follow(".pagination a", "Previous").await;
            let previous = chrome.path().await;
            assert!(
                previous.starts_with(&format!("{BY_NAME}&cursor=")),
                "{previous}"
            );
            assert_eq!(listed(&chrome).await, senders(1..=20));
            assert_eq!(pager_links(&chrome).await, ["First", "Next"]);
            assert_form_shows_tsms_by_name(&chrome).await;
            chrome.screenshot("previous-page").await;

            chrome.follow(".pagination a", "First").await;
            assert_eq!(chrome.path().await, BY_NAME);
            assert_eq!(listed(&chrome).await, senders(1..=20));
            assert_eq!(pager_links(&chrome).await, ["Next"]);

            // The second page's address, shared with a colleague on a phone,
            // shows them the same page with the same form.
            let phone = Options {
                width: 390,
                height: 844,
                ..Options::default()
            };
            let base = chrome.base.clone();
            Chrome::run(
                &base,
                "filters-and-pages-phone",
                phone,
                |chrome| async move {
                    sign_in(&chrome, &support).await;
                    assert_eq!(chrome.inner_width().await, 390);
                    assert!(
                        !chrome.scrolls_sideways().await,
                        "the key list and its search form scroll sideways"
                    );
                    chrome.screenshot("search-form").await;
                    chrome.open(&second).await;
                    chrome.wait_for_heading("Integration Settings").await;
                    assert_eq!(listed(&chrome).await, senders(21..=SENDERS));
                    assert_form_shows_tsms_by_name(&chrome).await;
                    assert!(!chrome.scrolls_sideways().await);
                    chrome.screenshot("shared-second-page").await;
                    chrome
                        .script("document.getElementById('dir').scrollIntoView();", vec![])
                        .await;
                    chrome.screenshot("shared-second-page-rows").await;
                    chrome
                        .assert_accessible("shared second page at phone width")
                        .await;
                },
            )
            .await;
        },
    )
    .await;
}

#[actix_web::test]
async fn a_pasted_whole_key_opens_its_page_and_never_reaches_an_address() {
    let (app, email) = with_admin(TestApp::spawn(Backend::Sqlite).await).await;
    let admin = app.signed_in(Role::Administrator).await;
    key_for(&admin, "tsms", "Order alerts", "ops@example.com", "").await;
    let viewer = person(&app, Role::Viewer).await;
    let (pasted_tx, pasted_rx) = std::sync::mpsc::channel();

    Chrome::run(
        &app.base,
        "paste-whole-key",
        Options::default(),
        |chrome| async move {
            sign_in(&chrome, &email).await;
            super::fill_details(&chrome, "catalog", "Catalog sync").await;
            chrome.follow("button", "Authorize and Generate").await;
            let key = chrome.value("#revealed-key").await;
            super::close_without_copying(&chrome).await;
            chrome.wait_for_heading("Integration Settings").await;
            let id = api_key::parse(&key).unwrap().public_id.to_owned();

            search_for(&chrome, &key).await;
            let heading = chrome.text("h1").await;
            assert!(heading.starts_with("Catalog sync"), "{heading}");
            assert_eq!(chrome.path().await, format!("{LIST}/keys/{id}"));
            let url = chrome.driver.current_url().await.unwrap();
            assert!(!url.as_str().contains(&key), "{url}");
            assert!(!chrome.source().await.contains(&key));
            chrome.screenshot("key-page-from-paste").await;
            chrome.assert_accessible("key page reached by a pasted key").await;

            // Back on the list, the search box does not give the key back.
            chrome.driver.back().await.unwrap();
            chrome.wait_for_path(LIST).await;
            assert_eq!(chrome.value("#q").await, "");
            assert!(!chrome.source().await.contains(&key));
            chrome.screenshot("back-on-the-list").await;

            // A key of the right shape that this console never issued.
            let stranger = api_key::NewApiKey::generate("catalog").token();
            search_for(&chrome, &stranger).await;
            chrome.wait_for_heading("Integration Settings").await;
            assert_eq!(
                chrome.path().await,
                "/settings/integrations?sort=created&dir=desc"
            );
            assert_eq!(
                chrome.text(".flash-error").await,
                "No key matches the key you pasted. It may have been deleted, or it belongs to another Latchkey."
            );
            assert!(!chrome.source().await.contains(&stranger));
            assert_eq!(chrome.value("#q").await, "");
            chrome.screenshot("unknown-key").await;
            chrome.assert_accessible("key list after an unknown key").await;
            pasted_tx.send((key, id)).unwrap();
        },
    )
    .await;
    let (key, id) = pasted_rx.recv().unwrap();

    Chrome::run(
        &app.base,
        "paste-whole-key-viewer",
        Options::default(),
        |chrome| async move {
            sign_in(&chrome, &viewer).await;
            search_for(&chrome, &key).await;
            chrome.wait_for_heading("Integration Settings").await;
            assert_eq!(
                chrome.path().await,
                format!("{LIST}?sort=created&dir=desc&q={id}")
            );
            let rows = chrome.texts("td[data-label='Name and type']").await;
            assert_eq!(rows.len(), 1, "{rows:?}");
            assert!(rows[0].starts_with("Catalog sync"), "{rows:?}");
            assert!(!chrome.exists("td a").await, "a Viewer has no key pages");
            assert_eq!(chrome.value("#q").await, id);
            let url = chrome.driver.current_url().await.unwrap();
            assert!(!url.as_str().contains(&key), "{url}");
            assert!(!chrome.source().await.contains(&key));
            chrome.screenshot("viewer-list-filtered").await;
            chrome
                .assert_accessible("key list filtered by a pasted key")
                .await;
        },
    )
    .await;
}

/// The text of the Copy button for this Key ID, as shown (without the words
/// only a screen reader hears).
fn copy_label_is(id: &str, label: &str) -> String {
    format!(
        "const b = document.querySelector('[data-copy-text=\"{id}\"]'); \
         return !!b && b.firstChild.textContent === '{label}';"
    )
}

/// Waits until the status region says `message`.
async fn wait_for_status(chrome: &Chrome, message: &str) {
    let js = format!(
        "return document.querySelector('[data-copy-status]').textContent === {};",
        json!(message)
    );
    chrome
        .wait_until(&format!("the status says “{message}”"), &js)
        .await;
}

/// Clicks the Copy button of this Key ID: it reads Copied, the status region
/// says so, and the clipboard holds the ID.
async fn copy_and_paste(chrome: &Chrome, id: &str) {
    chrome.click(&format!("[data-copy-text='{id}']")).await;
    chrome
        .wait_until("the button reads Copied", &copy_label_is(id, "Copied"))
        .await;
    wait_for_status(chrome, &format!("Key ID {id} copied to the clipboard.")).await;
    assert_eq!(paste(chrome).await, id);
}

#[actix_web::test]
async fn the_key_id_copy_button_says_copied_or_how_to_copy_by_hand() {
    let (app, email) = with_admin(TestApp::spawn(Backend::Sqlite).await).await;
    let admin = app.signed_in(Role::Administrator).await;
    let (_, first) = key_for(&admin, "tsms", "Order alerts", "ops@example.com", "").await;
    let (_, second) = key_for(&admin, "temail", "Receipts", "ops@example.com", "").await;
    let (_, third) = key_for(&admin, "catalog", "Catalog sync", "ops@example.com", "").await;

    Chrome::run(
        &app.base,
        "copy-key-id",
        Options::default(),
        |chrome| async move {
            sign_in(&chrome, &email).await;
            let button = format!("[data-copy-text='{first}']");
            // Its name says which key's ID it copies.
            assert_eq!(
                chrome.texts(&button).await,
                ["Copy Key ID of Order alerts"]
            );
            copy_and_paste(&chrome, &first).await;
            chrome.screenshot("copied").await;
            chrome.assert_accessible("key list after a copy").await;
            chrome
                .wait_until(
                    "the button reads Copy again",
                    &copy_label_is(&first, "Copy"),
                )
                .await;

            // Clipboard access denied: the page copies through a hidden field.
            chrome
                .script(
                    "navigator.clipboard.writeText = () => Promise.reject(new DOMException('denied', 'NotAllowedError'));",
                    vec![],
                )
                .await;
            copy_and_paste(&chrome, &second).await;

            // Neither way works: the Key ID is selected, and the page says how to copy it.
            chrome
                .script("document.execCommand = () => false;", vec![])
                .await;
            let button = format!("[data-copy-text='{third}']");
            chrome.click(&button).await;
            wait_for_status(
                &chrome,
                "The Key ID is selected: press Ctrl+C (or ⌘C) to copy it.",
            )
            .await;
            assert_eq!(
                chrome
                    .script("return window.getSelection().toString();", vec![])
                    .await,
                json!(third)
            );
            assert!(
                chrome
                    .script(&copy_label_is(&third, "Copy"), vec![])
                    .await
                    .as_bool()
                    .unwrap()
            );
            chrome.screenshot("copy-by-hand").await;
            chrome.press_with(Key::Control, "c").await;
            assert_eq!(paste(&chrome).await, third);
        },
    )
    .await;
}
