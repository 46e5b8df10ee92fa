//! Settings › Users: the list, role changes, disabling and enabling, and the
//! rule that the last active Administrator remains, also under races.

mod common;

use common::{Backend, Browser, PASSWORD, TestApp};
use latchkey::domain::role::Role;
use reqwest::StatusCode;
use serde_json::json;

both_backends!(
    administrators_see_everyone_with_role_status_and_keys_created,
    role_changes_disabling_and_enabling_are_audited_with_before_and_after,
    the_last_active_administrator_cannot_be_demoted_or_disabled_from_the_page,
    administrators_demoting_each_other_at_once_leave_exactly_one,
    a_disabled_creators_keys_keep_working_and_show_their_email,
    only_administrators_open_the_users_page,
    a_deleted_creators_keys_keep_working_and_name_a_deleted_user,
    an_invitee_chooses_a_password_and_is_signed_in_once,
    invitations_expire_after_72_hours_and_a_new_one_replaces_the_old,
    bad_invitations_are_refused_with_a_reason,
    an_invitation_accepted_at_once_on_two_instances_makes_one_account,
    open_invitations_are_capped_at_a_thousand_and_expired_ones_removed
);

const LINK_NOT_VALID: &str = "This invitation link is not valid: it has expired, was already used, or a newer invitation replaced it.";

/// Invites `email` as `role`; returns the link's path and query.
async fn invite(admin: &Browser, email: &str, role: &str) -> String {
    let response = admin
        .post(
            "/settings/users/invite",
            &[("email", email), ("role", role)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let html = response.text().await.unwrap();
    let link = common::input_value(&html, "invite-link").expect("the link is shown");
    let (_, path) = link.split_once("/invitations/").unwrap();
    assert!(link.starts_with("http://127.0.0.1:"), "{link}");
    format!("/invitations/{path}")
}

async fn accept(invitee: &Browser, path: &str, password: &str, again: &str) -> reqwest::Response {
    let token = path.split_once("token=").unwrap().1;
    invitee
        .post(
            "/invitations/accept",
            &[
                ("token", token),
                ("password", password),
                ("password_confirm", again),
            ],
        )
        .await
}

const LAST_ADMIN: &str = "this is the last active Administrator: make another user an Administrator first, so someone can still manage the console";

async fn signed_in_as(app: &TestApp, base: &str, email: &str) -> Browser {
    let browser = Browser::new(base).on_clock(app.clock.clone());
    let response = browser.login(email, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "login as {email}");
    browser
}

/// The table's rows as (email, role, status, last sign-in, two-factor, keys
/// created), the sign-in as its day only.
fn rows(html: &str) -> Vec<[String; 6]> {
    html.split("<tr data-user=\"")
        .skip(1)
        .map(|row| {
            let row = &row[..row.find("</tr>").unwrap()];
            let cells: Vec<String> = row
                .split("<td data-label=\"")
                .skip(1)
                .take(6)
                .map(|cell| {
                    let text = &cell[cell.find('>').unwrap() + 1..cell.find("</td>").unwrap()];
                    match text.split_once("data-local>") {
                        Some((_, time)) => time[..10].to_owned(),
                        None => text.trim().to_owned(),
                    }
                })
                .collect();
            [0, 1, 2, 3, 4, 5].map(|i| cells[i].clone())
        })
        .collect()
}

fn row(email: &str, role: &str, status: &str, two_factor: &str, keys: &str) -> [String; 6] {
    [email, role, status, "Never", two_factor, keys].map(str::to_owned)
}

fn signed_in_row(email: &str, role: &str, on: &str, two_factor: &str, keys: &str) -> [String; 6] {
    [email, role, "Active", on, two_factor, keys].map(str::to_owned)
}

/// The key still verifies VALID, and its page and the key list name `creator`.
async fn key_works_and_names_its_creator(
    app: &TestApp,
    admin: &Browser,
    token: &str,
    creator: &str,
) {
    let (_, body) = app.verify(json!({ "key": token })).await;
    assert_eq!(body["code"], "VALID");
    let key_id = latchkey::domain::api_key::parse(token)
        .unwrap()
        .public_id
        .to_owned();
    let page = admin
        .html(&format!("/settings/integrations/keys/{key_id}"))
        .await;
    assert!(
        page.contains(&format!("<dt>Created by</dt><dd>{creator}</dd>")),
        "{page}"
    );
    let list = admin.html("/settings/integrations").await;
    assert!(list.contains(&format!(r#"title="{creator}">by {creator}</span>"#)));
}

fn today() -> String {
    chrono::Utc::now().format("%Y-%m-%d").to_string()
}

fn user_id(app: &TestApp, email: &str) -> String {
    latchkey::db::users::find_by_email(&mut app.conn(), email)
        .unwrap()
        .unwrap()
        .id
}

async fn administrators_see_everyone_with_role_status_and_keys_created(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_user("admin@example.com", Role::Administrator).await;
    app.add_user("ops@example.com", Role::Administrator).await;
    app.add_user("help@example.com", Role::Support).await;
    app.add_user("look@example.com", Role::Viewer).await;
    // Sign-in times are on the console's clock.
    app.clock.advance(chrono::Duration::days(30));
    let on = (chrono::Utc::now() + chrono::Duration::days(30))
        .format("%Y-%m-%d")
        .to_string();
    let admin = signed_in_as(&app, &app.base, "admin@example.com").await;
    admin.generate_token("ucd", "First").await;
    admin.generate_token("ucd", "Second").await;
    // A deleted key is not counted.
    let gone = admin.generate_token("ucd", "Deleted").await;
    let gone = latchkey::domain::api_key::parse(&gone)
        .unwrap()
        .public_id
        .to_owned();
    let deleted = admin
        .post(&format!("/settings/integrations/keys/{gone}/delete"), &[])
        .await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    let ops = signed_in_as(&app, &app.base, "ops@example.com").await;
    ops.generate_token("tsms", "Third").await;
    let look = user_id(&app, "look@example.com");
    let disabled = admin
        .post(&format!("/settings/users/{look}/disable"), &[])
        .await;
    assert_eq!(disabled.status(), StatusCode::SEE_OTHER);

    let html = admin.html("/settings/users").await;
    assert_eq!(
        rows(&html),
        [
            signed_in_row("admin@example.com", "Administrator", &on, "On", "2"),
            row("help@example.com", "Support", "Active", "Off", "0"),
            row("look@example.com", "Viewer", "Disabled", "Off", "0"),
            signed_in_row("ops@example.com", "Administrator", &on, "On", "1"),
        ]
    );
    assert!(html.contains(r#"<a href="/settings/users" aria-current="page">Users</a>"#));
}

async fn role_changes_disabling_and_enabling_are_audited_with_before_and_after(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_user("admin@example.com", Role::Administrator).await;
    app.add_user("help@example.com", Role::Support).await;
    let admin = signed_in_as(&app, &app.base, "admin@example.com").await;
    let help = user_id(&app, "help@example.com");
    let steps = [
        (format!("/settings/users/{help}/role"), "viewer"),
        (format!("/settings/users/{help}/disable"), ""),
        (format!("/settings/users/{help}/enable"), ""),
        (format!("/settings/users/{help}/role"), "administrator"),
    ];
    for (path, role) in &steps {
        let form: Vec<(&str, &str)> = if role.is_empty() {
            vec![]
        } else {
            vec![("role", role)]
        };
        let response = admin.post(path, &form).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(common::location(&response), "/settings/users");
    }
    let html = admin.html("/settings/users").await;
    assert!(html.contains("help@example.com: role changed from Viewer to Administrator."));
    let events: Vec<(String, Option<String>, String)> =
        latchkey::db::audit::recent(&mut app.conn(), 100)
            .unwrap()
            .into_iter()
            .filter(|e| e.action.starts_with("user."))
            .map(|e| (e.action, e.actor_email, e.detail))
            .collect();
    let by = Some("admin@example.com".to_owned());
    assert_eq!(
        events,
        [
            (
                "user.role_changed".into(),
                by.clone(),
                "help@example.com: role changed from Viewer to Administrator".into()
            ),
            (
                "user.enabled".into(),
                by.clone(),
                "help@example.com: disabled → active".into()
            ),
            (
                "user.disabled".into(),
                by.clone(),
                "help@example.com: active → disabled".into()
            ),
            (
                "user.role_changed".into(),
                by.clone(),
                "help@example.com: role changed from Support to Viewer".into()
            ),
        ]
    );
    let bad = admin
        .post(&format!("/settings/users/{help}/role"), &[("role", "root")])
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

async fn the_last_active_administrator_cannot_be_demoted_or_disabled_from_the_page(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    app.add_user("admin@example.com", Role::Administrator).await;
    app.add_user("old@example.com", Role::Administrator).await;
    let admin = signed_in_as(&app, &app.base, "admin@example.com").await;
    let me = user_id(&app, "admin@example.com");
    let old = user_id(&app, "old@example.com");
    let off = admin
        .post(&format!("/settings/users/{old}/disable"), &[])
        .await;
    assert_eq!(off.status(), StatusCode::SEE_OTHER);
    let before = app.audit_actions().len();
    for (path, form) in [
        (format!("/settings/users/{me}/disable"), vec![]),
        (
            format!("/settings/users/{me}/role"),
            vec![("role", "support")],
        ),
    ] {
        let response = admin.post(&path, &form).await;
        assert_eq!(response.status(), StatusCode::CONFLICT, "{path}");
        let html = response.text().await.unwrap();
        assert!(
            html.contains(&format!("admin@example.com: {LAST_ADMIN}")),
            "{html}"
        );
    }
    assert_eq!(app.audit_actions().len(), before, "nothing recorded");
    assert_eq!(
        rows(&admin.html("/settings/users").await),
        [
            signed_in_row("admin@example.com", "Administrator", &today(), "On", "0"),
            row("old@example.com", "Administrator", "Disabled", "On", "0"),
        ]
    );
}

/// Two Administrators, each on their own instance, demote (or disable) each
/// other at the same moment: exactly one change is made.
async fn administrators_demoting_each_other_at_once_leave_exactly_one(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_user("a@example.com", Role::Administrator).await;
    app.add_user("b@example.com", Role::Administrator).await;
    let other = app.another_instance();
    let a_id = user_id(&app, "a@example.com");
    let b_id = user_id(&app, "b@example.com");
    for round in 0..6 {
        let (action, form, undo) = if round % 2 == 0 {
            (
                "role",
                vec![("role", "viewer")],
                vec![("role", "administrator")],
            )
        } else {
            ("disable", vec![], vec![])
        };
        // Fresh sessions each round: a disabled loser's session is ended.
        let a = signed_in_as(&app, &app.base, "a@example.com").await;
        let b = signed_in_as(&app, &other.base, "b@example.com").await;
        let to_b = format!("/settings/users/{b_id}/{action}");
        let to_a = format!("/settings/users/{a_id}/{action}");
        let (by_a, by_b) = tokio::join!(a.post(&to_b, &form), b.post(&to_a, &form));
        // The loser is refused by the rule (409), or, when the winner's
        // change landed before its request was read, as no longer an
        // Administrator (403) or no longer signed in (disabled: to the sign-in
        // page, told its session ended if that was seen first).
        let answer = |r: &reqwest::Response| match r.status() {
            StatusCode::SEE_OTHER => format!("303 {}", common::location(r)),
            other => other.as_u16().to_string(),
        };
        let answers = [answer(&by_a), answer(&by_b)];
        let refused = |s: &str| {
            ["409", "403", "303 /login"].contains(&s) || s.starts_with("303 /login?ended=")
        };
        let won = match [answers[0].as_str(), answers[1].as_str()] {
            ["303 /settings/users", s] if refused(s) => &b_id,
            [s, "303 /settings/users"] if refused(s) => &a_id,
            other => panic!("round {round}: {other:?}"),
        };
        let active_admins = latchkey::db::users::list(&mut app.conn())
            .unwrap()
            .into_iter()
            .filter(|u| u.role == "administrator" && !u.disabled)
            .count();
        assert_eq!(active_admins, 1, "round {round}");
        // Put the loser back by hand, as the winner's browser is the only admin left.
        let undo_action = if action == "role" { "role" } else { "enable" };
        let winner = if won == &b_id { &a } else { &b };
        let back = winner
            .post(&format!("/settings/users/{won}/{undo_action}"), &undo)
            .await;
        assert_eq!(back.status(), StatusCode::SEE_OTHER, "round {round}");
    }
}

async fn a_disabled_creators_keys_keep_working_and_show_their_email(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_user("admin@example.com", Role::Administrator).await;
    app.add_user("maker@example.com", Role::Administrator).await;
    let maker = signed_in_as(&app, &app.base, "maker@example.com").await;
    let token = maker.generate_token("ucd", "Made by maker").await;
    let admin = signed_in_as(&app, &app.base, "admin@example.com").await;
    let id = user_id(&app, "maker@example.com");
    let off = admin
        .post(&format!("/settings/users/{id}/disable"), &[])
        .await;
    assert_eq!(off.status(), StatusCode::SEE_OTHER);
    key_works_and_names_its_creator(&app, &admin, &token, "maker@example.com").await;
}

async fn only_administrators_open_the_users_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_user("admin@example.com", Role::Administrator).await;
    let target = user_id(&app, "admin@example.com");
    for role in [Role::Support, Role::Viewer] {
        let browser = app.signed_in(role).await;
        assert_eq!(
            browser.get("/settings/users").await.status(),
            StatusCode::FORBIDDEN
        );
        let refused = browser
            .post(&format!("/settings/users/{target}/disable"), &[])
            .await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{role}");
        assert!(
            !browser
                .html("/settings/integrations")
                .await
                .contains("/settings/users")
        );
    }
}

async fn a_deleted_creators_keys_keep_working_and_name_a_deleted_user(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_user("admin@example.com", Role::Administrator).await;
    app.add_user("maker@example.com", Role::Administrator).await;
    let maker = signed_in_as(&app, &app.base, "maker@example.com").await;
    let token = maker.generate_token("ucd", "Made by maker").await;
    let admin = signed_in_as(&app, &app.base, "admin@example.com").await;
    let id = user_id(&app, "maker@example.com");
    let me = user_id(&app, "admin@example.com");

    let confirm = admin.html(&format!("/settings/users/{id}/delete")).await;
    assert!(confirm.contains("<strong>maker@example.com</strong>"));
    let deleted = admin
        .post(&format!("/settings/users/{id}/delete"), &[])
        .await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    let event = latchkey::db::audit::recent(&mut app.conn(), 1)
        .unwrap()
        .remove(0);
    assert_eq!(
        (event.action.as_str(), event.detail.as_str()),
        (
            "user.deleted",
            "maker@example.com: deleted (was Administrator)"
        )
    );
    // The deleted user is signed out at once, and told so.
    assert_eq!(
        common::location(&maker.get("/settings/integrations").await),
        "/login?ended=elsewhere&next=%2Fsettings%2Fintegrations"
    );
    key_works_and_names_its_creator(&app, &admin, &token, "a deleted user").await;
    assert_eq!(
        rows(&admin.html("/settings/users").await),
        [signed_in_row(
            "admin@example.com",
            "Administrator",
            &today(),
            "On",
            "0"
        )]
    );

    let last = admin
        .post(&format!("/settings/users/{me}/delete"), &[])
        .await;
    assert_eq!(last.status(), StatusCode::CONFLICT);
    assert!(last.text().await.unwrap().contains(LAST_ADMIN));
    let gone = admin
        .post(&format!("/settings/users/{id}/delete"), &[])
        .await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
}

async fn an_invitee_chooses_a_password_and_is_signed_in_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_user("admin@example.com", Role::Administrator).await;
    let admin = signed_in_as(&app, &app.base, "admin@example.com").await;
    let path = invite(&admin, "New@Example.com", "support").await;
    assert_eq!(
        rows(&admin.html("/settings/users").await),
        [
            signed_in_row("admin@example.com", "Administrator", &today(), "On", "0"),
            row("new@example.com", "Support", "Invited", "", "0"),
        ]
    );
    // Shown once: the page no longer carries it.
    assert!(!admin.html("/settings/users").await.contains("invite-link"));

    let invitee = app.browser();
    let form = invitee.html(&path).await;
    assert!(
        form.contains("<strong>Support</strong> with the email <strong>new@example.com</strong>")
    );
    let cases = [
        ("short", "short", "at least 12 characters"),
        ("password1234", "password1234", "too common"),
        ("a fine long passphrase", "another one", "do not match"),
    ];
    for (password, again, message) in cases {
        let refused = accept(&invitee, &path, password, again).await;
        assert_eq!(
            refused.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{password}"
        );
        assert!(
            refused.text().await.unwrap().contains(message),
            "{password}"
        );
    }
    let joined = accept(
        &invitee,
        &path,
        "a fine long passphrase",
        "a fine long passphrase",
    )
    .await;
    assert_eq!(joined.status(), StatusCode::SEE_OTHER);
    assert_eq!(common::location(&joined), "/settings/integrations");
    let signed_in = invitee.get("/settings/integrations").await;
    assert_eq!(signed_in.status(), StatusCode::OK);
    assert!(signed_in.text().await.unwrap().contains("new@example.com"));

    let again = app.browser();
    let used = again.get(&path).await;
    assert_eq!(used.status(), StatusCode::NOT_FOUND);
    assert!(used.text().await.unwrap().contains(LINK_NOT_VALID));
    let reused = accept(
        &again,
        &path,
        "another fine passphrase",
        "another fine passphrase",
    )
    .await;
    assert_eq!(reused.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        rows(&admin.html("/settings/users").await),
        [
            signed_in_row("admin@example.com", "Administrator", &today(), "On", "0"),
            row("new@example.com", "Support", "Active", "Off", "0"),
        ]
    );
    let events: Vec<(String, Option<String>, String)> =
        latchkey::db::audit::recent(&mut app.conn(), 100)
            .unwrap()
            .into_iter()
            .filter(|e| e.action.starts_with("user."))
            .map(|e| (e.action, e.actor_email, e.detail))
            .collect();
    assert_eq!(
        events,
        [
            (
                "user.invitation_accepted".into(),
                Some("new@example.com".into()),
                "new@example.com joined through an invitation".into()
            ),
            (
                "user.invited".into(),
                Some("admin@example.com".into()),
                "new@example.com invited as Support".into()
            ),
        ]
    );
    // An email with an account cannot be invited.
    let taken = admin
        .post(
            "/settings/users/invite",
            &[("email", "new@example.com"), ("role", "viewer")],
        )
        .await;
    assert_eq!(taken.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        taken
            .text()
            .await
            .unwrap()
            .contains("new@example.com already has an account.")
    );
}

async fn invitations_expire_after_72_hours_and_a_new_one_replaces_the_old(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_user("admin@example.com", Role::Administrator).await;
    let admin = signed_in_as(&app, &app.base, "admin@example.com").await;
    let visitor = app.browser();
    let first = invite(&admin, "late@example.com", "viewer").await;
    app.clock.advance(chrono::Duration::hours(71));
    assert_eq!(visitor.get(&first).await.status(), StatusCode::OK);
    app.clock.advance(chrono::Duration::hours(1));
    assert_eq!(visitor.get(&first).await.status(), StatusCode::NOT_FOUND);
    let expired = accept(
        &visitor,
        &first,
        "a fine long passphrase",
        "a fine long passphrase",
    )
    .await;
    assert_eq!(expired.status(), StatusCode::NOT_FOUND);

    // The Administrator's own session has idled out meanwhile.
    let admin = signed_in_as(&app, &app.base, "admin@example.com").await;
    let second = invite(&admin, "late@example.com", "viewer").await;
    let third = invite(&admin, "late@example.com", "administrator").await;
    assert_eq!(visitor.get(&second).await.status(), StatusCode::NOT_FOUND);
    assert!(
        visitor
            .html(&third)
            .await
            .contains("<strong>Administrator</strong>")
    );
    assert_eq!(
        rows(&admin.html("/settings/users").await)[1],
        row("late@example.com", "Administrator", "Invited", "", "0")
    );
}

async fn bad_invitations_are_refused_with_a_reason(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_user("admin@example.com", Role::Administrator).await;
    let admin = signed_in_as(&app, &app.base, "admin@example.com").await;
    let visitor = app.browser();
    for path in [
        "/invitations/accept",
        "/invitations/accept?token=",
        "/invitations/accept?token=not-a-real-token",
    ] {
        let response = visitor.get(path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(response.text().await.unwrap().contains(LINK_NOT_VALID));
    }
    let cases = [
        (
            "not-an-email",
            "viewer",
            "“not-an-email” is not a valid email address.",
        ),
        (
            "x@example.com",
            "root",
            "Choose a role: Administrator, Support or Viewer.",
        ),
        (
            "admin@example.com",
            "viewer",
            "admin@example.com already has an account.",
        ),
    ];
    for (email, role, message) in cases {
        let response = admin
            .post(
                "/settings/users/invite",
                &[("email", email), ("role", role)],
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{email}"
        );
        assert!(response.text().await.unwrap().contains(message), "{email}");
    }
}

async fn an_invitation_accepted_at_once_on_two_instances_makes_one_account(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_user("admin@example.com", Role::Administrator).await;
    let admin = signed_in_as(&app, &app.base, "admin@example.com").await;
    let path = invite(&admin, "twice@example.com", "viewer").await;
    let other = app.another_instance();
    let browsers: Vec<Browser> = (0..6)
        .map(|i| Browser::new(if i % 2 == 0 { &app.base } else { &other.base }))
        .collect();
    let password = "a fine long passphrase";
    let answers = futures::future::join_all(
        browsers
            .iter()
            .map(|b| accept(b, &path, password, password)),
    )
    .await;
    let mut statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    statuses.sort();
    assert_eq!(statuses, [303, 404, 404, 404, 404, 404]);
    let accounts = latchkey::db::users::list(&mut app.conn())
        .unwrap()
        .into_iter()
        .filter(|u| u.email == "twice@example.com")
        .count();
    assert_eq!(accounts, 1);
}

async fn open_invitations_are_capped_at_a_thousand_and_expired_ones_removed(backend: Backend) {
    use diesel::prelude::*;
    use latchkey::db::invitations::Invitation;
    use latchkey::db::schema::invitations;
    let app = TestApp::spawn(backend).await;
    app.add_user("admin@example.com", Role::Administrator).await;
    let admin = signed_in_as(&app, &app.base, "admin@example.com").await;
    let now = app.clock.now();
    // 999 open invitations and 50 expired ones.
    let rows: Vec<Invitation> = (0..1049)
        .map(|i| Invitation {
            email: format!("person{i}@example.com"),
            role: "viewer".into(),
            token_hash: format!("{i:064x}"),
            invited_by: None,
            created_at: now - chrono::Duration::hours(1),
            expires_at: if i < 999 {
                now + chrono::Duration::hours(1)
            } else {
                now - chrono::Duration::seconds(1)
            },
        })
        .collect();
    {
        let conn = &mut *app.conn();
        latchkey::on_backend!(conn, |c| diesel::insert_into(invitations::table)
            .values(&rows)
            .execute(c))
        .unwrap();
    }
    // Ten at once, on two instances: the thousandth is made, once; the
    // expired ones are gone.
    let other = app.another_instance();
    let elsewhere = Browser::sharing(&admin, &other.base);
    let answers = futures::future::join_all((0..10).map(|i| {
        let browser = if i % 2 == 0 { &admin } else { &elsewhere };
        async move {
            browser
                .post(
                    "/settings/users/invite",
                    &[
                        ("email", &format!("racer{i}@example.com")),
                        ("role", "viewer"),
                    ],
                )
                .await
        }
    }))
    .await;
    let created = answers
        .iter()
        .filter(|r| r.status() == StatusCode::CREATED)
        .count();
    assert_eq!(created, 1);
    let stored: i64 = invitations::table
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(stored, 1000);
    // Past a thousand open, a new email is refused; re-inviting one is not.
    let refused = admin
        .post(
            "/settings/users/invite",
            &[("email", "too-many@example.com"), ("role", "viewer")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.unwrap().contains(
        "there are already 1000 open invitations: wait for some to be accepted or to expire."
    ));
    invite(&admin, "person7@example.com", "support").await;
}
