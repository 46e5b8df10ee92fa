//! Applications as an Administrator meets them: create one, generate a key
//! in it from step one's Application choice, and archive it after the page
//! that says its keys stop.

use super::{LIST, console_with_admin, sign_in};
use crate::harness::{Chrome, Options};

#[actix_web::test]
async fn an_administrator_creates_an_application_generates_a_key_in_it_and_archives_it() {
    let (app, email) = console_with_admin().await;
    let check = app.clone();
    Chrome::run(
        &app.base,
        "applications",
        Options::default(),
        |chrome| async move {
            sign_in(&chrome, &email).await;
            chrome.follow("a", "Applications").await;
            chrome.wait_for_heading("Applications").await;
            chrome.fill("#new-name", "Partner sandbox").await;
            chrome.follow("button", "Create Application").await;
            chrome.wait_for_heading("Applications").await;
            assert!(
                chrome
                    .text("[role=status], .flash")
                    .await
                    .contains("The Application “Partner sandbox” was created.")
            );
            chrome.assert_accessible("applications").await;
            chrome.screenshot("applications").await;

            chrome.open(LIST).await;
            chrome.follow("a", "Generate API Key").await;
            chrome.wait_for_heading("Generate API Key").await;
            let sandbox = check_id(&check, "Partner sandbox");
            chrome
                .click(&format!("#application option[value='{sandbox}']"))
                .await;
            chrome.click("input#type-tsms").await;
            chrome.fill("#name", "Sandbox sender").await;
            chrome.fill("#contact_email", "partners@example.com").await;
            chrome
                .assert_accessible("generate with an Application")
                .await;
            chrome.screenshot("generate-in-application").await;
            chrome.follow("button", "Continue").await;
            chrome
                .wait_for_heading("Authorize trusted IP addresses")
                .await;
            chrome.follow("button", "Authorize and Generate").await;
            chrome.el("[role=dialog]").await;

            chrome.open("/settings/applications").await;
            chrome.wait_for_heading("Applications").await;
            let row = chrome.text("tr[data-application='Partner sandbox']").await;
            assert!(row.contains(&sandbox), "{row}");
            chrome
                .click("tr[data-application='Partner sandbox'] a[href$='/archive']")
                .await;
            chrome
                .wait_for_heading("Archive the Application “Partner sandbox”?")
                .await;
            chrome.assert_accessible("archive an application").await;
            chrome.screenshot("archive-confirm").await;
            chrome.follow("button", "Archive “Partner sandbox”").await;
            chrome.wait_for_heading("Applications").await;
            assert!(
                chrome
                    .text("tr[data-application='Partner sandbox']")
                    .await
                    .contains("Archived")
            );
        },
    )
    .await;
}

fn check_id(app: &crate::common::TestApp, name: &str) -> String {
    latchkey::db::applications::all(&mut app.conn())
        .unwrap()
        .into_iter()
        .find(|a| a.name == name)
        .expect("created")
        .id
}
