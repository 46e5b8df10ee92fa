//! Two-factor sign-in (TOTP) on the console's clock: the second step, codes
//! one step either side, replays, throttling, recovery codes, the policy's
//! forced setup, turning it off, and resets by an Administrator or the CLI.

mod common;

use common::{Backend, Browser, PASSWORD, TestApp, location, test_authenticator};
use latchkey::db;
use latchkey::domain::role::Role;
use latchkey::domain::two_factor::Policy;
use reqwest::StatusCode;

both_backends!(
    an_administrator_needs_a_code_after_the_password_and_a_code_works_once,
    codes_one_step_either_side_are_accepted_and_no_further,
    the_same_code_sent_at_once_from_two_browsers_signs_in_one,
    wrong_codes_are_throttled_like_passwords_even_in_parallel,
    the_code_must_follow_the_password_within_five_minutes,
    recovery_codes_work_once_each_even_at_once,
    new_recovery_codes_replace_the_old_ones,
    setting_up_two_factor_shows_a_qr_code_and_keeps_the_secret_sealed,
    the_policy_sends_an_unenrolled_user_to_set_up_two_factor_first,
    turning_two_factor_off_needs_the_password_and_a_code,
    an_administrator_resets_two_factor_and_ends_sessions_from_the_users_page,
    the_command_line_resets_two_factor,
    a_disabled_or_deleted_user_is_signed_out_at_once,
    people_done_when
);

const CODE_PAGE: &str = "/login/two-factor";
const KEYS: &str = "/settings/integrations";
const WRONG_CODE: &str = "That code did not work.";

/// Moves the console's clock to one second into a time step, so a test's
/// codes stay in the steps it meant for the next 28 seconds.
fn align(app: &TestApp) -> u64 {
    let now = u64::try_from(app.clock.unix()).unwrap();
    let to_next = 30 - now % 30;
    app.clock.advance(chrono::Duration::seconds(
        i64::try_from(to_next).unwrap() + 1,
    ));
    u64::try_from(app.clock.unix()).unwrap()
}

/// Step one: the password. The answer leads to the code page.
async fn password_step(browser: &Browser, email: &str) {
    let response = browser
        .post("/login", &[("email", email), ("password", PASSWORD)])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), CODE_PAGE);
}

async fn enter(browser: &Browser, code: &str) -> reqwest::Response {
    browser.post(CODE_PAGE, &[("code", code)]).await
}

async fn is_signed_in(browser: &Browser) -> bool {
    browser.get(KEYS).await.status() == StatusCode::OK
}

fn count(app: &TestApp, action: &str) -> usize {
    app.audit_actions().iter().filter(|a| *a == action).count()
}

async fn an_administrator_needs_a_code_after_the_password_and_a_code_works_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_user("admin@example.com", Role::Administrator).await;
    let now = align(&app);
    let code = test_authenticator("admin@example.com").code_at(now);

    let browser = app.browser();
    password_step(&browser, "admin@example.com").await;
    let page = browser.html(CODE_PAGE).await;
    assert!(page.contains("Enter your two-factor code"));
    assert!(page.contains("autocomplete=\"one-time-code\""));
    // Not signed in between the steps.
    assert_eq!(
        location(
            &Browser::sharing(&browser, &app.base)
                .get("/account/password")
                .await
        ),
        "/login?ended=ended&next=%2Faccount%2Fpassword"
    );

    let browser = app.browser();
    password_step(&browser, "admin@example.com").await;
    let response = enter(&browser, &code).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), KEYS);
    assert!(is_signed_in(&browser).await);

    // The same code again, from another browser with the right password: refused.
    let replay = app.browser();
    password_step(&replay, "admin@example.com").await;
    let response = enter(&replay, &code).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.text().await.unwrap().contains(WRONG_CODE));
    assert!(!is_signed_in(&replay).await);
    assert_eq!(count(&app, "auth.two_factor_failed"), 1);
    assert_eq!(count(&app, "auth.login"), 1);
}

async fn codes_one_step_either_side_are_accepted_and_no_further(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_user("admin@example.com", Role::Administrator).await;
    let now = align(&app);
    let authenticator = test_authenticator("admin@example.com");
    // (seconds from now, accepted): tried in this order; an accepted code
    // uses its step, so each later one must be for a later step.
    let table: [(i64, bool); 6] = [
        (-60, false),
        (60, false),
        (-30, true),
        (0, true),
        (-30, false),
        (30, true),
    ];
    for (offset, accepted) in table {
        let browser = app.browser();
        password_step(&browser, "admin@example.com").await;
        let at = u64::try_from(i64::try_from(now).unwrap() + offset).unwrap();
        let response = enter(&browser, &authenticator.code_at(at)).await;
        let status = if accepted {
            StatusCode::SEE_OTHER
        } else {
            StatusCode::UNAUTHORIZED
        };
        assert_eq!(response.status(), status, "code from {offset} s");
    }
}

async fn the_same_code_sent_at_once_from_two_browsers_signs_in_one(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_user("admin@example.com", Role::Administrator).await;
    let other = app.another_instance();
    let now = align(&app);
    let code = test_authenticator("admin@example.com").code_at(now);
    let here = app.browser();
    let there = Browser::new(&other.base).on_clock(other.clock.clone());
    for browser in [&here, &there] {
        password_step(browser, "admin@example.com").await;
    }
    let (a, b) = tokio::join!(enter(&here, &code), enter(&there, &code));
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [303, 401]);
}

async fn wrong_codes_are_throttled_like_passwords_even_in_parallel(backend: Backend) {
    // Behind a proxy on this machine, so a browser can come from elsewhere.
    let app = TestApp::spawn_trusting(backend, "127.0.0.1").await;
    app.add_user("admin@example.com", Role::Administrator).await;
    let browsers: Vec<Browser> = (0..12).map(|_| app.browser()).collect();
    for browser in &browsers {
        password_step(browser, "admin@example.com").await;
    }
    // Twelve wrong codes at once from one address: five are checked (the
    // fifth locks the address out of this account), the rest refused unchecked.
    let answers = futures::future::join_all(browsers.iter().map(|b| enter(b, "000000"))).await;
    assert!(
        answers
            .iter()
            .all(|r| r.status() == StatusCode::UNAUTHORIZED)
    );
    assert_eq!(count(&app, "auth.two_factor_failed"), 5);
    assert_eq!(count(&app, "auth.lockout"), 1);

    // Now even the right code is refused, with the same words.
    let browser = app.browser();
    let response = browser
        .post(
            "/login",
            &[("email", "admin@example.com"), ("password", PASSWORD)],
        )
        .await;
    // The password step is paused too, and says nothing about the password.
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("That email and password do not match an active account.")
    );
    let code = browsers[0].next_code("admin@example.com").await;
    let response = enter(&browsers[0], &code).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.text().await.unwrap().contains(WRONG_CODE));
    // Another address is not locked out of the account.
    let elsewhere = app.browser_from("203.0.113.9");
    let response = elsewhere.login("admin@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), KEYS);
}

async fn the_code_must_follow_the_password_within_five_minutes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_user("admin@example.com", Role::Administrator).await;
    let browser = app.browser();
    password_step(&browser, "admin@example.com").await;
    app.clock.advance(chrono::Duration::seconds(5 * 60 + 1));
    let code = browser.next_code("admin@example.com").await;
    let response = enter(&browser, &code).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/login");
    assert!(
        browser
            .html("/login")
            .await
            .contains("Sign in again: the code was not entered within 5 minutes of the password.")
    );
    assert!(!is_signed_in(&browser).await);
}

/// A Viewer (not covered by the default policy) who sets two-factor up on
/// Account › Two-factor; returns their browser and recovery codes.
async fn viewer_with_two_factor(app: &TestApp, email: &str) -> (Browser, Vec<String>) {
    app.add_user(email, Role::Viewer).await;
    let browser = app.browser();
    let response = browser.login(email, PASSWORD).await;
    assert_eq!(location(&response), KEYS, "no code asked before setup");
    let codes = browser.enrol_two_factor(email).await;
    (browser, codes)
}

async fn recovery_codes_work_once_each_even_at_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, codes) = viewer_with_two_factor(&app, "v@example.com").await;
    assert_eq!(codes.len(), 10);
    assert!(
        codes
            .iter()
            .all(|c| c.len() == 19 && c.matches('-').count() == 3)
    );

    let browser = app.browser();
    password_step(&browser, "v@example.com").await;
    let response = enter(&browser, &codes[0].to_uppercase()).await;
    assert_eq!(location(&response), KEYS);
    assert!(
        browser
            .html(KEYS)
            .await
            .contains("You signed in with a recovery code; 9 left.")
    );
    let again = app.browser();
    password_step(&again, "v@example.com").await;
    assert_eq!(
        enter(&again, &codes[0]).await.status(),
        StatusCode::UNAUTHORIZED
    );

    // Two browsers with the same code at once: one gets in.
    let (a, b) = (app.browser(), app.browser());
    password_step(&a, "v@example.com").await;
    password_step(&b, "v@example.com").await;
    let (ra, rb) = tokio::join!(enter(&a, &codes[1]), enter(&b, &codes[1]));
    let mut statuses = [ra.status().as_u16(), rb.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [303, 401]);
    let left =
        db::two_factor::recovery_codes_left(&mut app.conn(), &user_id(&app, "v@example.com"))
            .unwrap();
    assert_eq!(left, 8);
}

fn user_id(app: &TestApp, email: &str) -> String {
    db::users::find_by_email(&mut app.conn(), email)
        .unwrap()
        .unwrap()
        .id
}

async fn setting_up_two_factor_shows_a_qr_code_and_keeps_the_secret_sealed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_user("v@example.com", Role::Viewer).await;
    let browser = app.browser();
    assert_eq!(
        location(&browser.login("v@example.com", PASSWORD).await),
        KEYS
    );
    let page = browser
        .post("/account/two-factor/setup", &[])
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("<svg role=\"img\" aria-label=\"QR code holding the secret below\""));
    assert!(!page.contains("<?xml"));
    assert!(page.contains("otpauth://totp/Latchkey:v%40example.com?secret="));
    let shown = page
        .split("id=\"totp-secret\" class=\"secret-value\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .replace(' ', "");
    assert_eq!(shown.len(), 32, "160 bits in base32");

    // A wrong first code leaves it off, and shows the same QR code again.
    let response = browser
        .post("/account/two-factor/confirm", &[("code", "000000")])
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.text().await.unwrap().contains(&shown[..4]));
    let id = user_id(&app, "v@example.com");
    let enrolment = db::two_factor::enrolment(&mut app.conn(), &id)
        .unwrap()
        .unwrap();
    assert!(enrolment.totp_enrolled_at.is_none());
    // Stored sealed: neither the secret's bytes nor its text are in the row.
    let sealed = enrolment.totp_pending.expect("the pending secret is kept");
    let secret = totp_rs::Secret::try_from_base32(&shown).unwrap();
    let raw: &[u8] = secret.as_ref();
    assert!(!sealed.windows(raw.len()).any(|w| w == raw));
    assert!(!sealed.windows(shown.len()).any(|w| w == shown.as_bytes()));

    let codes = browser.enrol_two_factor("v@example.com").await;
    let hashes: Vec<String> = {
        use diesel::prelude::*;
        use latchkey::db::schema::recovery_codes;
        recovery_codes::table
            .filter(recovery_codes::user_id.eq(&id))
            .select(recovery_codes::code_hash)
            .load::<String>(&mut *app.conn())
            .unwrap()
    };
    assert_eq!(hashes.len(), 10);
    for code in &codes {
        let plain = code.replace('-', "");
        assert!(hashes.iter().all(|h| !h.contains(&plain)));
    }
    assert_eq!(count(&app, "user.two_factor_enrolled"), 1);
}

async fn the_policy_sends_an_unenrolled_user_to_set_up_two_factor_first(backend: Backend) {
    // (policy, role, sent to set it up after the password)
    let table: [(Policy, Role, bool); 5] = [
        (Policy::Administrators, Role::Administrator, true),
        (Policy::Administrators, Role::Support, false),
        (Policy::Everyone, Role::Viewer, true),
        (Policy::Nobody, Role::Administrator, false),
        (Policy::Everyone, Role::Administrator, true),
    ];
    for (policy, role, sent) in table {
        let app = TestApp::spawn_with_serve(backend, move |s| s.require_2fa = policy).await;
        let email = format!("{}@example.com", role.as_str());
        add_user_without_two_factor(&app, &email, role).await;
        let browser = app.browser();
        let response = browser.login(&email, PASSWORD).await;
        let expected = if sent { "/account/two-factor" } else { KEYS };
        assert_eq!(location(&response), expected, "{policy:?} {role:?}");
        if !sent {
            continue;
        }
        // Nothing else opens: pages and forms lead back to the setup.
        for path in [KEYS, "/account/password", "/account/sessions", "/audit"] {
            let response = browser.get(path).await;
            assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
            assert_eq!(location(&response), "/account/two-factor", "{path}");
        }
        let posted = browser.post("/account/sessions/end-others", &[]).await;
        assert_eq!(location(&posted), "/account/two-factor");
        let page = browser.html("/account/two-factor").await;
        assert!(page.contains("Your role must sign in with a two-factor code."));
        assert!(
            !page.contains("aria-label=\"Settings\""),
            "no navigation yet"
        );
        browser.enrol_two_factor(&email).await;
        assert!(is_signed_in(&browser).await, "{policy:?} {role:?}");
        // From now on, a code after the password.
        let again = app.browser();
        let response = again
            .post("/login", &[("email", &email), ("password", PASSWORD)])
            .await;
        assert_eq!(location(&response), CODE_PAGE);
    }
}

/// A user the policy would cover, added without two-factor (as from before
/// the policy, or with it reset).
async fn add_user_without_two_factor(app: &TestApp, email: &str, role: Role) {
    app.add_user(email, role).await;
    let id = user_id(app, email);
    db::two_factor::remove(&mut app.conn(), &id).unwrap();
}

async fn turning_two_factor_off_needs_the_password_and_a_code(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (browser, codes) = viewer_with_two_factor(&app, "v@example.com").await;
    let phone = app.browser();
    assert_eq!(
        location(&phone.login("v@example.com", PASSWORD).await),
        KEYS
    );

    let turn_off = |password: &'static str, code: String| {
        let browser = &browser;
        async move {
            browser
                .post(
                    "/account/two-factor/turn-off",
                    &[("password", password), ("code", &code)],
                )
                .await
        }
    };
    let wrong_password = turn_off("not the password", codes[0].clone()).await;
    assert_eq!(wrong_password.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let wrong_code = turn_off(PASSWORD, "000000".into()).await;
    assert_eq!(wrong_code.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let id = user_id(&app, "v@example.com");
    assert!(
        db::two_factor::enrolment(&mut app.conn(), &id)
            .unwrap()
            .unwrap()
            .totp_enrolled_at
            .is_some()
    );
    let done = turn_off(PASSWORD, codes[0].clone()).await;
    assert_eq!(location(&done), "/account/two-factor");
    assert!(
        browser
            .html("/account/two-factor")
            .await
            .contains("Two-factor sign-in is off.")
    );
    // The other session is signed out; the password alone signs in again.
    assert!(!is_signed_in(&phone).await);
    assert_eq!(
        location(&app.browser().login("v@example.com", PASSWORD).await),
        KEYS
    );

    // Where the policy requires it, it cannot be turned off.
    let admin = app.signed_in(Role::Administrator).await;
    let refused = admin
        .post(
            "/account/two-factor/turn-off",
            &[("password", PASSWORD), ("code", "000000")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("Your role must sign in with a two-factor code, so it cannot be turned off.")
    );
}

async fn an_administrator_resets_two_factor_and_ends_sessions_from_the_users_page(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let (viewer, _) = viewer_with_two_factor(&app, "v@example.com").await;
    let id = user_id(&app, "v@example.com");

    let users = admin.html("/settings/users").await;
    assert!(users.contains(&format!("/settings/users/{id}/reset-two-factor")));
    let response = admin
        .post(&format!("/settings/users/{id}/reset-two-factor"), &[])
        .await;
    assert_eq!(location(&response), "/settings/users");
    assert!(
        admin
            .html("/settings/users")
            .await
            .contains("v@example.com: two-factor reset; 1 session ended.")
    );
    assert!(!is_signed_in(&viewer).await, "their session ended");
    // The password alone signs them in again.
    let viewer = app.browser();
    assert_eq!(
        location(&viewer.login("v@example.com", PASSWORD).await),
        KEYS
    );

    let response = admin
        .post(&format!("/settings/users/{id}/end-sessions"), &[])
        .await;
    assert_eq!(location(&response), "/settings/users");
    assert!(!is_signed_in(&viewer).await);
    assert!(is_signed_in(&admin).await);
    assert_eq!(count(&app, "user.two_factor_reset"), 1);
    assert_eq!(count(&app, "user.sessions_ended"), 1);
}

async fn the_command_line_resets_two_factor(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_user("admin@example.com", Role::Administrator).await;
    let browser = app.browser();
    assert_eq!(
        location(&browser.login("admin@example.com", PASSWORD).await),
        KEYS
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["users", "reset-2fa", "--email", "Admin@Example.com"])
        .env("DATABASE_URL", app.database_url())
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "admin@example.com: two-factor reset; 1 session ended.\n"
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(!is_signed_in(&browser).await);
    // The policy sends them to set it up again after the password.
    assert_eq!(
        location(&app.browser().login("admin@example.com", PASSWORD).await),
        "/account/two-factor"
    );
    let unknown = std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["users", "reset-2fa", "--email", "nobody@example.com"])
        .env("DATABASE_URL", app.database_url())
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&unknown.stderr),
        "latchkey: there is no user with the email nobody@example.com\n"
    );
}

async fn a_disabled_or_deleted_user_is_signed_out_at_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let (viewer, _) = viewer_with_two_factor(&app, "v@example.com").await;
    let id = user_id(&app, "v@example.com");
    admin
        .post(&format!("/settings/users/{id}/disable"), &[])
        .await;
    assert_eq!(
        location(&viewer.get(KEYS).await),
        "/login?ended=elsewhere&next=%2Fsettings%2Fintegrations"
    );
    admin
        .post(&format!("/settings/users/{id}/enable"), &[])
        .await;
    let viewer = app.browser();
    viewer.login("v@example.com", PASSWORD).await;
    assert!(is_signed_in(&viewer).await);
    admin
        .post(&format!("/settings/users/{id}/delete"), &[])
        .await;
    assert!(!is_signed_in(&viewer).await);
    // Nothing of their two-factor is left behind.
    assert_eq!(
        db::two_factor::recovery_codes_left(&mut app.conn(), &id).unwrap(),
        0
    );
}

/// The "done when": an Administrator invites a Support user, who
/// accepts and signs in; the Administrator signs in with a password and a
/// code (a replayed code is refused), sees two sessions, ends the other one,
/// and the last Administrator cannot be demoted, from the page or the CLI.
async fn people_done_when(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_user("admin@example.com", Role::Administrator).await;
    let now = align(&app);
    let code = test_authenticator("admin@example.com").code_at(now);

    // The Administrator signs in on a laptop with a password and a code.
    let laptop = app.browser();
    password_step(&laptop, "admin@example.com").await;
    assert_eq!(location(&enter(&laptop, &code).await), KEYS);

    // Invites a Support user, who accepts and is signed in.
    let invited = laptop
        .post(
            "/settings/users/invite",
            &[("email", "help@example.com"), ("role", "support")],
        )
        .await;
    assert_eq!(invited.status(), StatusCode::CREATED);
    let link = common::input_value(&invited.text().await.unwrap(), "invite-link").unwrap();
    let token = link.split("token=").nth(1).unwrap().to_owned();
    let support = app.browser();
    let joined = support
        .post(
            "/invitations/accept",
            &[
                ("token", &token),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(location(&joined), KEYS);
    assert!(support.html(KEYS).await.contains("help@example.com"));

    // On a phone: the laptop's code again is refused; the next one works.
    let phone = app.browser();
    password_step(&phone, "admin@example.com").await;
    assert_eq!(
        enter(&phone, &code).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let next = test_authenticator("admin@example.com").code_at(now + 30);
    assert_eq!(location(&enter(&phone, &next).await), KEYS);

    // Two sessions listed; the laptop ends the phone's.
    let sessions = laptop.html("/account/sessions").await;
    let handles: Vec<&str> = sessions
        .split("name=\"session\" value=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    assert_eq!(sessions.matches("<tr>").count() - 1, 2, "{sessions}");
    assert_eq!(handles.len(), 1, "one other session to end");
    let ended = laptop
        .post("/account/sessions/end", &[("session", handles[0])])
        .await;
    assert_eq!(location(&ended), "/account/sessions");
    assert!(!is_signed_in(&phone).await);
    assert!(is_signed_in(&laptop).await);

    // The last Administrator cannot be demoted: not from the page...
    let id = user_id(&app, "admin@example.com");
    let refused = laptop
        .post(
            &format!("/settings/users/{id}/role"),
            &[("role", "support")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    // ...nor from the command line.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args([
            "users",
            "set-role",
            "--email",
            "admin@example.com",
            "--role",
            "support",
        ])
        .env("DATABASE_URL", app.database_url())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let admin = db::users::find_by_email(&mut app.conn(), "admin@example.com")
        .unwrap()
        .unwrap();
    assert_eq!(admin.role, "administrator");
}

async fn new_recovery_codes_replace_the_old_ones(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (browser, old) = viewer_with_two_factor(&app, "v@example.com").await;
    let refused = browser
        .post("/account/two-factor/recovery-codes", &[("code", "000000")])
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // A recovery code does not make new recovery codes.
    let refused = browser
        .post("/account/two-factor/recovery-codes", &[("code", &old[0])])
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let code = browser.next_code("v@example.com").await;
    let made = browser
        .post("/account/two-factor/recovery-codes", &[("code", &code)])
        .await;
    assert_eq!(made.status(), StatusCode::OK);
    let page = made.text().await.unwrap();
    let new: Vec<String> = page
        .split("<li><code>")
        .skip(1)
        .filter_map(|rest| rest.split('<').next())
        .map(str::to_owned)
        .collect();
    assert_eq!(new.len(), 10);
    assert!(new.iter().all(|c| !old.contains(c)));
    let signing_in = app.browser();
    password_step(&signing_in, "v@example.com").await;
    assert_eq!(
        enter(&signing_in, &old[1]).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(location(&enter(&signing_in, &new[1]).await), KEYS);
    assert_eq!(count(&app, "user.recovery_codes_replaced"), 1);
}
