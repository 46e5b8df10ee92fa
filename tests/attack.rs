//! The bursts an outside attack sent at the sign-in page, replayed with real
//! parallel requests: the locks hold under concurrency on both backends and
//! across two instances, nobody can lock the Administrator out, a burst of
//! sign-ins is bounded, and an anonymous visitor writes nothing it should not.

mod common;

use common::{Backend, Browser, PASSWORD, TestApp};
use diesel::prelude::*;
use futures::future::join_all;
use latchkey::db::{self, throttle};
use latchkey::domain::role::Role;
use latchkey::domain::throttle::{Attempts, Subject};
use reqwest::StatusCode;

both_backends!(
    sixty_parallel_guesses_get_five_password_checks_and_never_sign_in,
    a_hundred_parallel_guesses_at_one_account_from_a_hundred_addresses_are_counted_exactly,
    a_hundred_parallel_guesses_from_one_address_lock_it_at_twenty,
    a_stranger_cannot_keep_the_administrator_out,
    a_burst_of_sign_ins_is_checked_or_told_busy_never_failing,
    anonymous_visitors_write_no_session_and_refused_guesses_are_summarised,
    the_current_password_check_is_throttled_and_audited,
    a_flood_of_refused_attempts_does_not_crowd_out_other_sign_ins,
);

const WRONG: &str = "wrong password guess";

fn counters(app: &TestApp, subject: Subject) -> (i32, i32) {
    let row: Attempts = throttle::load(&mut app.conn(), &subject)
        .unwrap()
        .unwrap_or_else(|| Attempts::fresh(db::now()));
    (row.failures, row.refused)
}

fn pair(account: &str, address: &str) -> Subject {
    Subject::Pair {
        account: account.into(),
        address: address.into(),
    }
}

fn count(actions: &[String], action: &str) -> usize {
    actions.iter().filter(|a| *a == action).count()
}

/// Every answer's status, sorted, as (status, how many).
fn tally(statuses: &[StatusCode]) -> Vec<(u16, usize)> {
    let mut codes: Vec<u16> = statuses.iter().map(|s| s.as_u16()).collect();
    codes.sort();
    let mut out: Vec<(u16, usize)> = Vec::new();
    for code in codes {
        match out.last_mut() {
            Some((c, n)) if *c == code => *n += 1,
            _ => out.push((code, 1)),
        }
    }
    out
}

async fn logins(attempts: Vec<(&Browser, &str, &str)>) -> Vec<StatusCode> {
    for (browser, _, _) in &attempts {
        browser.csrf_token().await;
    }
    join_all(
        attempts
            .into_iter()
            .map(|(browser, email, password)| async move {
                browser.login(email, password).await.status()
            }),
    )
    .await
}

async fn sixty_parallel_guesses_get_five_password_checks_and_never_sign_in(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_user("target@example.com", Role::Administrator)
        .await;
    let attacker = app.browser();
    // On PostgreSQL half the guesses go to a second instance on the same database.
    let other = (backend == Backend::Postgres).then(|| app.another_instance());
    let via_other = other
        .as_ref()
        .map(|instance| Browser::sharing(&attacker, &instance.base));
    let attempts = (0..60)
        .map(|i| {
            let browser = match &via_other {
                Some(b) if i % 2 == 1 => b,
                _ => &attacker,
            };
            (browser, "target@example.com", WRONG)
        })
        .collect();
    let statuses = logins(attempts).await;
    assert_eq!(tally(&statuses), [(401, 60)]);
    assert_eq!(
        counters(&app, pair("target@example.com", "127.0.0.1")),
        (5, 55)
    );
    assert_eq!(counters(&app, Subject::Address("127.0.0.1".into())), (5, 0));
    assert_eq!(
        counters(&app, Subject::Account("target@example.com".into())),
        (5, 0)
    );
    let actions = app.audit_actions();
    assert_eq!(count(&actions, "auth.login_failed"), 5);
    assert_eq!(count(&actions, "auth.lockout"), 1);

    // The right password now is refused with the same answer.
    let right = attacker.login("target@example.com", PASSWORD).await;
    assert_eq!(right.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        counters(&app, pair("target@example.com", "127.0.0.1")),
        (5, 56)
    );
}

async fn a_hundred_parallel_guesses_at_one_account_from_a_hundred_addresses_are_counted_exactly(
    backend: Backend,
) {
    let app = TestApp::spawn_trusting(backend, "127.0.0.1").await;
    app.add_user("target@example.com", Role::Administrator)
        .await;
    let second = (backend == Backend::Postgres).then(|| app.another_instance());
    let browsers: Vec<Browser> = (0..100)
        .map(|i| {
            let base = match &second {
                Some(instance) if i % 2 == 1 => instance.base.clone(),
                _ => app.base.clone(),
            };
            Browser::from_address(&base, &format!("10.1.0.{i}"))
        })
        .collect();
    let statuses = logins(
        browsers
            .iter()
            .map(|b| (b, "target@example.com", WRONG))
            .collect(),
    )
    .await;
    // No 500 from overlapping writes; every attempt counted once: ten checked,
    // then the account is slowed for new addresses and the rest refused.
    assert_eq!(tally(&statuses), [(401, 100)]);
    assert_eq!(
        counters(&app, Subject::Account("target@example.com".into())),
        (10, 90)
    );
    let actions = app.audit_actions();
    assert_eq!(count(&actions, "auth.login_failed"), 10);
    assert_eq!(count(&actions, "auth.lockout"), 1);
}

async fn a_hundred_parallel_guesses_from_one_address_lock_it_at_twenty(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_user("colleague@example.com", Role::Viewer).await;
    let attacker = app.browser();
    let emails: Vec<String> = (0..100).map(|i| format!("user{i}@example.com")).collect();
    let statuses = logins(
        emails
            .iter()
            .map(|e| (&attacker, e.as_str(), WRONG))
            .collect(),
    )
    .await;
    assert_eq!(tally(&statuses), [(401, 100)]);
    assert_eq!(
        counters(&app, Subject::Address("127.0.0.1".into())),
        (20, 80)
    );
    // Locked addresses refuse even a right password, and that refusal does
    // not count against the account.
    let colleague = app.browser().login("colleague@example.com", PASSWORD).await;
    assert_eq!(colleague.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        counters(&app, Subject::Account("colleague@example.com".into())),
        (0, 0)
    );
    let actions = app.audit_actions();
    assert_eq!(count(&actions, "auth.login_failed"), 20);
}

async fn a_stranger_cannot_keep_the_administrator_out(backend: Backend) {
    let app = TestApp::spawn_trusting(backend, "127.0.0.1").await;
    let admin = "admin@example.com";
    app.add_user(admin, Role::Administrator).await;
    let office = app.browser_from("192.0.2.10");
    assert_eq!(
        office.login(admin, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );

    // A stranger guesses from twelve addresses at once: ten are checked,
    // then the account is slowed for new addresses.
    let strangers: Vec<Browser> = (0..12)
        .map(|i| app.browser_from(&format!("203.0.113.{i}")))
        .collect();
    let statuses = logins(strangers.iter().map(|b| (b, admin, WRONG)).collect()).await;
    assert_eq!(tally(&statuses), [(401, 12)]);
    assert_eq!(counters(&app, Subject::Account(admin.into())), (10, 2));

    // From the address it signed in from before, the account is not slowed.
    let office_again = app.browser_from("192.0.2.10");
    assert_eq!(
        office_again.login(admin, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );

    // The stranger starts again; from a new address the owner is now slowed…
    let statuses = logins(strangers.iter().map(|b| (b, admin, WRONG)).collect()).await;
    assert_eq!(tally(&statuses), [(401, 12)]);
    let hotel = app.browser_from("198.51.100.7");
    assert_eq!(
        hotel.login(admin, PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // …until `latchkey users unlock` lifts it, which is audited.
    let unlock = std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["users", "unlock", "--email", admin])
        .env("DATABASE_URL", app.database_url())
        .output()
        .unwrap();
    assert!(unlock.status.success(), "{unlock:?}");
    assert!(String::from_utf8_lossy(&unlock.stdout).contains("sign-in pauses lifted"));
    assert_eq!(
        hotel.login(admin, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let actions = app.audit_actions();
    assert_eq!(count(&actions, "auth.unlocked"), 1);
    assert_eq!(count(&actions, "auth.login"), 3);
}

async fn a_burst_of_sign_ins_is_checked_or_told_busy_never_failing(backend: Backend) {
    let app = TestApp::spawn_trusting(backend, "127.0.0.1").await;
    let browsers: Vec<Browser> = (0..200)
        .map(|i| app.browser_from(&format!("10.2.{}.{}", i / 100, i % 100)))
        .collect();
    let emails: Vec<String> = (0..200).map(|i| format!("nobody{i}@example.com")).collect();
    for b in &browsers {
        b.csrf_token().await;
    }
    let answers = join_all(browsers.iter().zip(&emails).map(|(b, e)| async move {
        let response = b.login(e, WRONG).await;
        let retry = response.headers().get("retry-after").cloned();
        (response.status(), retry)
    }))
    .await;
    let statuses: Vec<StatusCode> = answers.iter().map(|(s, _)| *s).collect();
    let checked = count_status(&statuses, StatusCode::UNAUTHORIZED);
    let busy = count_status(&statuses, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(checked + busy, 200, "{:?}", tally(&statuses));
    // One password worker with 32 places: the queue fills, the rest are told to retry.
    assert!(checked >= 32, "{checked} checked");
    assert!(busy >= 1, "{busy} busy");
    for (status, retry) in &answers {
        if *status == StatusCode::SERVICE_UNAVAILABLE {
            assert_eq!(retry.as_ref().map(|v| v.to_str().unwrap()), Some("2"));
        }
    }
    // An attempt never checked is not held against anyone.
    let failed = app
        .audit_actions()
        .iter()
        .filter(|a| *a == "auth.login_failed")
        .count();
    assert_eq!(failed, checked);
}

fn count_status(statuses: &[StatusCode], status: StatusCode) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

fn session_rows(app: &TestApp) -> i64 {
    use latchkey::db::schema::sessions;
    sessions::table
        .count()
        .get_result(&mut *app.conn())
        .unwrap()
}

async fn anonymous_visitors_write_no_session_and_refused_guesses_are_summarised(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_user("target@example.com", Role::Support).await;
    let visitors: Vec<Browser> = (0..50).map(|_| app.browser()).collect();
    let pages = join_all(visitors.iter().map(|v| v.get("/login"))).await;
    assert!(pages.iter().all(|p| p.status() == StatusCode::OK));
    let protected = join_all(visitors.iter().map(|v| v.get("/settings/integrations"))).await;
    assert!(
        protected
            .iter()
            .all(|p| p.status() == StatusCode::SEE_OTHER)
    );
    // The two-factor code page, with no sign-in under way, sends them to
    // sign in, and writes nothing either.
    let code_pages = join_all(visitors.iter().map(|v| v.get("/login/two-factor"))).await;
    let codes = join_all(
        visitors
            .iter()
            .map(|v| v.post("/login/two-factor", &[("code", "123456")])),
    )
    .await;
    for response in code_pages.iter().chain(&codes) {
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(common::location(response), "/login");
    }
    assert_eq!(session_rows(&app), 0);

    // The form still needs its token: one from another visitor's cookie is refused.
    let stranger_token = visitors[1].csrf_token().await;
    let forged = visitors[0]
        .client
        .post(visitors[0].url("/login"))
        .form(&[
            ("email", "target@example.com"),
            ("password", PASSWORD),
            ("csrf_token", &stranger_token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);

    // Thirty-five guesses: five are checked and audited, thirty refused and counted.
    let attacker = &visitors[0];
    let statuses = logins(
        (0..35)
            .map(|_| (attacker, "target@example.com", WRONG))
            .collect(),
    )
    .await;
    assert_eq!(tally(&statuses), [(401, 35)]);
    assert_eq!(session_rows(&app), 0);
    let actions = app.audit_actions();
    assert_eq!(count(&actions, "auth.login_failed"), 5);

    // Once the pause is over, housekeeping writes one summary for the thirty.
    let later = db::now() + chrono::Duration::minutes(16);
    assert_eq!(throttle::sweep(&mut app.conn(), later).unwrap(), 1);
    assert_eq!(throttle::sweep(&mut app.conn(), later).unwrap(), 0);
    let summary = db::audit::recent(&mut app.conn(), 10)
        .unwrap()
        .into_iter()
        .find(|e| e.action == "auth.lockout_refused")
        .expect("a summary row");
    assert_eq!(
        summary.detail,
        "30 attempts refused without a password check while sign-in to this account from this address was paused"
    );
    assert_eq!(summary.client_ip.as_deref(), Some("127.0.0.1"));

    // Signing in is what makes a session row.
    let colleague = app.signed_in(Role::Viewer).await;
    assert_eq!(
        colleague.get("/settings/integrations").await.status(),
        StatusCode::OK
    );
    assert_eq!(session_rows(&app), 1);
}

async fn the_current_password_check_is_throttled_and_audited(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = app.signed_in(Role::Viewer).await;
    let token = user.csrf_token().await;
    let tries = join_all((0..8).map(|_| {
        user.client
            .post(user.url("/account/password"))
            .form(&[
                ("current_password", WRONG),
                ("new_password", "a brand new passphrase"),
                ("new_password_confirm", "a brand new passphrase"),
                ("csrf_token", &token),
            ])
            .send()
    }))
    .await;
    assert!(
        tries
            .iter()
            .all(|t| t.as_ref().unwrap().status() == StatusCode::UNPROCESSABLE_ENTITY)
    );
    let actions = app.audit_actions();
    assert_eq!(count(&actions, "user.password_change_failed"), 5);
    assert_eq!(count(&actions, "auth.lockout"), 1);

    // Paused: the right current password is refused too, and nothing changes.
    let right = user
        .post(
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "a brand new passphrase"),
                ("new_password_confirm", "a brand new passphrase"),
            ],
        )
        .await;
    assert_eq!(right.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(count(&app.audit_actions(), "user.password_changed"), 0);
}

async fn a_flood_of_refused_attempts_does_not_crowd_out_other_sign_ins(backend: Backend) {
    let app = TestApp::spawn_trusting(backend, "127.0.0.1").await;
    app.add_user("admin@example.com", Role::Administrator).await;
    app.add_user("colleague@example.com", Role::Viewer).await;
    let attacker = app.browser_from("203.0.113.66");
    for _ in 0..5 {
        attacker.login("admin@example.com", WRONG).await;
    }
    // Two hundred more from the locked address: each is refused and held back
    // a second (the account's slow-down) without occupying a place meanwhile.
    attacker.csrf_token().await;
    let flood = join_all((0..200).map(|_| attacker.login("admin@example.com", WRONG)));
    let colleague = app.browser_from("192.0.2.20");
    colleague.csrf_token().await;
    let during = async {
        actix_web::rt::time::sleep(std::time::Duration::from_millis(300)).await;
        colleague
            .login("colleague@example.com", PASSWORD)
            .await
            .status()
    };
    let (flooded, colleague_status) = futures::join!(flood, during);
    assert_eq!(colleague_status, StatusCode::SEE_OTHER);
    // Each flood attempt was refused (401) or, past the bound on sign-ins in
    // progress, told the server is busy (503); only the refusals are counted.
    let statuses: Vec<StatusCode> = flooded.iter().map(|r| r.status()).collect();
    let refused = count_status(&statuses, StatusCode::UNAUTHORIZED);
    let busy = count_status(&statuses, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused + busy, 200, "{:?}", tally(&statuses));
    assert_eq!(
        counters(&app, pair("admin@example.com", "203.0.113.66")),
        (5, refused as i32)
    );
}
