//! `latchkey dev seed`, run as the real binary against a console's database.

mod common;

use common::{Backend, TestApp};
use diesel::prelude::*;
use latchkey::db::schema::{api_keys, audit_events, key_usage, request_log, users};
use latchkey::domain::role::Role;

both_backends!(a_seeded_database_has_every_kind_of_key_and_refuses_to_seed_over_real_ones,);

fn seed(app: &TestApp, extra: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["dev", "seed", "--keys", "3000"])
        .args(extra)
        .env("DATABASE_URL", app.database_url())
        .env(
            "LATCHKEY_SECRETS_FILE",
            app.dir.path().join("latchkey.secrets"),
        )
        .output()
        .unwrap()
}

async fn a_seeded_database_has_every_kind_of_key_and_refuses_to_seed_over_real_ones(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let seeded = seed(&app, &[]);
    assert!(seeded.status.success(), "{seeded:?}");
    assert!(String::from_utf8_lossy(&seeded.stdout).starts_with("Seeded 3000 keys and "));

    let mut conn = app.conn();
    let all: i64 = api_keys::table.count().get_result(&mut *conn).unwrap();
    let restricted: i64 = api_keys::table
        .filter(api_keys::allowed_ips.ne(""))
        .count()
        .get_result(&mut *conn)
        .unwrap();
    let deleted: i64 = api_keys::table
        .filter(api_keys::deleted_at.is_not_null())
        .count()
        .get_result(&mut *conn)
        .unwrap();
    // Rows are numbered: a third have trusted IPs (i % 3 == 0), one in fifty
    // is deleted (i % 50 == 7), the catalogue's types take turns.
    assert_eq!((all, restricted, deleted), (3000, 1000, 60));
    let mut types: Vec<String> = api_keys::table
        .select(api_keys::type_code)
        .distinct()
        .load(&mut *conn)
        .unwrap();
    types.sort();
    let types = types.len();
    assert_eq!(types, 17);
    // HMAC types' secrets are sealed, as the console does.
    let sealed: i64 = api_keys::table
        .filter(api_keys::secret_sealed.is_not_null())
        .count()
        .get_result(&mut *conn)
        .unwrap();
    assert!(sealed > 0);
    let never_used: i64 = api_keys::table
        .filter(api_keys::last_used_at.is_null())
        .count()
        .get_result(&mut *conn)
        .unwrap();
    assert!((750..1000).contains(&never_used), "{never_used}");
    let usage: i64 = key_usage::table.count().get_result(&mut *conn).unwrap();
    assert!(usage > 0);
    // Some keys used in the last week have recent attempts, with their reasons;
    // some are refusals from addresses outside their trusted IPs.
    let logged: Vec<(String, Option<String>, String)> = request_log::table
        .select((
            request_log::outcome,
            request_log::client_ip,
            request_log::reason,
        ))
        .load(&mut *conn)
        .unwrap();
    assert!(
        logged
            .iter()
            .any(|(outcome, _, reason)| outcome == "VALID" && reason.is_empty())
    );
    assert!(logged.iter().any(|(outcome, ip, reason)| {
        let ip = ip.as_deref().unwrap_or_default();
        outcome == "IP_NOT_ALLOWED"
            && ip.starts_with("203.0.113.")
            && *reason == format!("{ip} is not in the trusted IPs")
    }));
    let creators: i64 = users::table
        .filter(users::email.like("%@seed.latchkey.test"))
        .count()
        .get_result(&mut *conn)
        .unwrap();
    assert_eq!(creators, 4);
    // The audit log: each key's creation, the 60 deletions, and one sign-in
    // (one in ten failed) per twenty keys, by the four creators.
    let mut actions: Vec<(String, i64)> = audit_events::table
        .group_by(audit_events::action)
        .select((audit_events::action, diesel::dsl::count_star()))
        .order(audit_events::action)
        .load(&mut *conn)
        .unwrap();
    actions.sort();
    assert_eq!(
        actions,
        vec![
            ("auth.login".to_owned(), 135),
            ("auth.login_failed".to_owned(), 15),
            ("key.created".to_owned(), 3000),
            ("key.deleted".to_owned(), 60),
        ]
    );
    let seeded_actors: i64 = audit_events::table
        .filter(audit_events::actor_email.like("%@seed.latchkey.test"))
        .count()
        .get_result(&mut *conn)
        .unwrap();
    assert_eq!(seeded_actors, 3210);
    drop(conn);

    // A seeded database takes more; one with a real key does not, unless forced.
    assert!(seed(&app, &[]).status.success());
    let admin = app.signed_in(Role::Administrator).await;
    admin.generate_token("tsms", "A real key").await;
    let refused = seed(&app, &[]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("add --force"),
        "{refused:?}"
    );
    assert!(seed(&app, &["--force"]).status.success());
    let all: i64 = api_keys::table
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(all, 9001);
}
