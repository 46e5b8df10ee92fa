//! Settings › Webhooks as an Administrator uses it: a mistake first, then an
//! endpoint added with its signing secret shown once, a key event delivered
//! to a real receiver, and the endpoint's deliveries read back.

use std::time::Duration;

use latchkey::domain::role::Role;

use super::{sign_in, with_admin};
use crate::common::receiver::{Receiver, assert_signed};
use crate::common::{Backend, TestApp};
use crate::harness::{Chrome, Options};

#[actix_web::test]
async fn an_administrator_adds_an_endpoint_and_reads_its_deliveries() {
    let (app, email) = with_admin(TestApp::spawn(Backend::Sqlite).await).await;
    let receiver = Receiver::start(&[]);
    let hook = receiver.url("/latchkey-events");
    let admin = app.signed_in(Role::Administrator).await;
    let shared = app.clone();

    Chrome::run(
        &app.base,
        "webhooks",
        Options::default(),
        |chrome| async move {
            let app = shared;
            sign_in(&chrome, &email).await;
            chrome.follow("a", "Webhooks").await;
            chrome.wait_for_heading("Webhooks").await;
            chrome.assert_accessible("webhooks, none yet").await;

            // A mistake first: no event chosen, and a URL that is not one.
            chrome.fill("#url", "ftp://example.com/hook").await;
            chrome.follow("button", "Add endpoint").await;
            chrome.wait_for_heading("Webhooks").await;
            assert!(chrome.exists("#url-error").await);
            assert!(chrome.exists("#events-error").await);
            assert_eq!(chrome.value("#url").await, "ftp://example.com/hook");
            chrome.screenshot("mistake").await;
            chrome.assert_accessible("webhooks, with mistakes").await;

            chrome.fill("#url", &hook).await;
            chrome.click("#event-key\\.created").await;
            chrome.follow("button", "Add endpoint").await;
            chrome.el("#revealed-secret").await;
            let secret = chrome.value("#revealed-secret").await;
            assert!(secret.starts_with("whsec_"), "{secret}");
            chrome.screenshot("secret-shown-once").await;
            chrome.assert_accessible("webhooks, secret shown").await;

            // A key generated now is told to the endpoint.
            admin.generate_token("ucd", "Hooked").await;
            let got = receiver.wait_for(1, Duration::from_secs(15)).await;
            assert_signed(&secret, &got[0]);
            assert_eq!(got[0].json()["type"], "key.created");

            // Reloading never shows the secret again; the deliveries page lists it.
            chrome.open("/settings/webhooks").await;
            chrome.wait_for_heading("Webhooks").await;
            assert!(!chrome.exists("#revealed-secret").await);
            assert!(!chrome.source().await.contains(&secret));
            chrome.follow("a", "Deliveries").await;
            chrome
                .wait_until(
                    "a delivered row",
                    "return document.body.textContent.includes('key.created');",
                )
                .await;
            chrome.screenshot("deliveries").await;
            chrome.assert_accessible("an endpoint's deliveries").await;
            drop(app);
        },
    )
    .await;
}
