//! Users change their own password; the old one is required.

mod common;

use common::{Backend, PASSWORD, TestApp};
use latchkey::domain::role::Role;
use reqwest::StatusCode;

both_backends!(a_user_changes_their_own_password);

async fn a_user_changes_their_own_password(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_user("me@example.com", Role::Viewer).await;
    let me = app.browser();
    me.login("me@example.com", PASSWORD).await;
    let path = "/account/password";
    let new = "a brand new passphrase here";
    let cases = [
        (
            "wrong current password",
            new,
            new,
            "not your current password",
        ),
        (PASSWORD, "password1234", "password1234", "too common"),
        (PASSWORD, "short", "short", "at least 12 characters"),
        (PASSWORD, new, "something else entirely", "do not match"),
        (
            PASSWORD,
            PASSWORD,
            PASSWORD,
            "different from the current one",
        ),
    ];
    for (current, next, confirm, message) in cases {
        let response = me
            .post(
                path,
                &[
                    ("current_password", current),
                    ("new_password", next),
                    ("new_password_confirm", confirm),
                ],
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{message}"
        );
        assert!(
            response.text().await.unwrap().contains(message),
            "{message}"
        );
    }
    let changed = me
        .post(
            path,
            &[
                ("current_password", PASSWORD),
                ("new_password", new),
                ("new_password_confirm", new),
            ],
        )
        .await;
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);
    assert!(me.html(path).await.contains("Your password was changed."));
    assert_eq!(
        app.browser()
            .login("me@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.browser().login("me@example.com", new).await.status(),
        StatusCode::SEE_OTHER
    );
    assert!(
        app.audit_actions()
            .contains(&"user.password_changed".to_owned())
    );
    assert_eq!(
        app.browser().get(path).await.status(),
        StatusCode::SEE_OTHER,
        "signed-in users only"
    );
}
