//! People and two-factor, as a new Administrator meets them: invited from
//! Settings › Users, they choose a password, set up two-factor by typing the
//! secret shown under the QR code into their app, and from then on sign in
//! with a password and a code.

use super::{PASSWORD, console_with_admin, enrol_two_factor, enter_code, sign_in};
use crate::harness::{Chrome, Options};

const NEW_ADMIN: &str = "new-admin@example.com";

#[actix_web::test]
async fn an_invited_administrator_sets_up_two_factor_and_signs_in_with_a_code() {
    let (app, email) = console_with_admin().await;
    let base = app.base.clone();
    Chrome::run(
        &app.base,
        "people",
        Options::default(),
        |admin| async move {
            sign_in(&admin, &email).await;
            admin.follow("a", "Users").await;
            admin.wait_for_heading("Users").await;
            admin.fill("#invite-email", NEW_ADMIN).await;
            admin
                .click("#invite-role option[value='administrator']")
                .await;
            admin.follow("button", "Invite user").await;
            admin.wait_for_heading("Users").await;
            let link = admin.value("#invite-link").await;
            assert!(link.contains("/invitations/accept?token="), "{link}");
            admin
                .assert_accessible("users with an invitation link")
                .await;
            admin.screenshot("invitation-link").await;

            Chrome::run(&base, "people-invitee", Options::default(), |invitee| {
                let link = link.clone();
                async move {
                    invitee.open(&link).await;
                    invitee.wait_for_heading("Choose your password").await;
                    invitee.fill("#password", PASSWORD).await;
                    invitee.fill("#password_confirm", PASSWORD).await;
                    invitee.follow("button", "Join").await;
                    // Administrators set up two-factor before anything else.
                    invitee.wait_for_heading("Two-factor sign-in").await;
                    assert!(
                        invitee
                            .source()
                            .await
                            .contains("Your role signs in with a two-factor code")
                    );
                    invitee.open("/settings/integrations").await;
                    invitee.wait_for_heading("Two-factor sign-in").await;
                    let codes = enrol_two_factor(&invitee, NEW_ADMIN).await;
                    assert_eq!(codes.len(), 10);
                    invitee.wait_for_heading("Integration Settings").await;

                    invitee.follow("button", "Sign out").await;
                    invitee.wait_for_heading("Sign in to Latchkey").await;
                    invitee.fill("#email", NEW_ADMIN).await;
                    invitee.fill("#password", PASSWORD).await;
                    invitee.follow("button", "Sign in").await;
                    invitee.wait_for_heading("Enter your two-factor code").await;
                    invitee.assert_accessible("two-factor code").await;
                    invitee.screenshot("two-factor-code").await;
                    // A wrong code first: told so, still not signed in.
                    invitee.fill("#code", "000000").await;
                    invitee.follow("button", "Verify").await;
                    invitee.wait_for_heading("Enter your two-factor code").await;
                    assert!(
                        invitee
                            .text("[role=alert]")
                            .await
                            .contains("That code did not work.")
                    );
                    enter_code(&invitee, NEW_ADMIN).await;
                    invitee.wait_for_heading("Integration Settings").await;
                    assert!(invitee.text(".account-email").await.contains(NEW_ADMIN));
                    // Account › Two-factor: on, ten recovery codes left, and
                    // no way to turn it off for an Administrator.
                    invitee.follow("a", "Two-factor").await;
                    invitee.wait_for_heading("Two-factor sign-in").await;
                    let page = invitee.source().await;
                    assert!(page.contains("10 recovery codes are left."));
                    assert!(
                        !invitee
                            .exists("form[action='/account/two-factor/turn-off']")
                            .await
                    );
                    invitee.assert_accessible("two-factor on").await;
                    invitee.screenshot("two-factor-on").await;
                }
            })
            .await;

            admin.open("/settings/users").await;
            admin.wait_for_heading("Users").await;
            let row = admin.text(&format!("tr[data-user='{NEW_ADMIN}']")).await;
            assert!(row.contains("Administrator"), "{row}");
            assert!(row.contains("On"), "{row}");
            admin.screenshot("users-two-factor-on").await;
        },
    )
    .await;
}
