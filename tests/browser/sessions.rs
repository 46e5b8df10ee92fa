//! Account › Sessions, as an Administrator signed in in two browsers uses it:
//! ending the other session from the first signs the second out on its next page.

use super::{LIST, console_with_admin, sign_in};
use crate::harness::{Chrome, Options};

#[actix_web::test]
async fn an_administrator_signs_out_their_other_browser() {
    let (app, email) = console_with_admin().await;
    let base = app.base.clone();
    Chrome::run(
        &app.base,
        "sessions",
        Options::default(),
        |first| async move {
            sign_in(&first, &email).await;
            Chrome::run(
                &base,
                "sessions-other",
                Options::default(),
                |second| async move {
                    sign_in(&second, &email).await;

                    first.follow("a", "Sessions").await;
                    first.wait_for_heading("Sessions").await;
                    assert!(first.source().await.contains("This session"));
                    first.assert_accessible("account-sessions").await;
                    first.screenshot("two-sessions").await;

                    first
                        .click("form[action='/account/sessions/end'] button")
                        .await;
                    first
                .wait_until(
                    "the sign-out confirmed",
                    "return document.body.textContent.includes('That session was signed out.');",
                )
                .await;
                    first.screenshot("other-signed-out").await;

                    second.open(LIST).await;
                    second.wait_for_heading("Sign in to Latchkey").await;
                    assert!(
                        second
                            .source()
                            .await
                            .contains("You were signed out from another session.")
                    );
                    second.assert_accessible("signed-out-elsewhere").await;
                    second.screenshot("told-at-sign-in").await;
                },
            )
            .await;
        },
    )
    .await;
}
