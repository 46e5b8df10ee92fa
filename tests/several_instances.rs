//! Several instances on one database behave as one: sessions, setup links,
//! limits and deletions are shared. Run on both backends; PostgreSQL is the
//! deployment this is for.

mod common;

use common::{Backend, Browser, TestApp, location};
use futures::future::join_all;
use latchkey::domain::api_key;
use latchkey::domain::role::Role;
use reqwest::StatusCode;

both_backends!(
    a_session_started_on_one_instance_works_and_ends_on_all,
    the_ucd_limit_holds_when_requests_are_spread_over_two_instances,
    a_key_deleted_through_one_instance_is_gone_from_the_other,
);

/// The same browser (same cookie jar) pointed at another instance.
fn on(browser: &Browser, base: &str) -> Browser {
    Browser::sharing(browser, base)
}

async fn a_session_started_on_one_instance_works_and_ends_on_all(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let second = app.another_instance();
    let admin = app.signed_in(Role::Administrator).await;
    let admin_on_second = on(&admin, &second.base);
    assert!(
        admin_on_second
            .html("/settings/integrations")
            .await
            .contains("Generate API Key")
    );

    // A role change made anywhere shows on the very next request, on every instance.
    {
        use diesel::prelude::*;
        use latchkey::db::schema::users;
        diesel::update(users::table)
            .set(users::role.eq("viewer"))
            .execute(&mut app.conn())
            .unwrap();
    }
    assert!(
        !admin_on_second
            .html("/settings/integrations")
            .await
            .contains("Generate API Key")
    );
    assert_eq!(
        admin.get("/settings/integrations/keys/new").await.status(),
        StatusCode::FORBIDDEN
    );

    // Signing out through the second instance ends the session on the first.
    assert_eq!(
        admin_on_second.post("/logout", &[]).await.status(),
        StatusCode::SEE_OTHER
    );
    let after = admin.get("/settings/integrations").await;
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&after), "/login");
}

async fn the_ucd_limit_holds_when_requests_are_spread_over_two_instances(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let second = app.another_instance();
    let admin = app.signed_in(Role::Administrator).await;
    let admin_on_second = on(&admin, &second.base);
    for i in 0..3 {
        admin.generate_token("ucd", &format!("Existing {i}")).await;
    }
    let mut drafts = Vec::new();
    for i in 0..20 {
        drafts.push(admin.start_generate("ucd", &format!("Racer {i}")).await);
    }
    let requests = drafts.iter().enumerate().map(|(i, draft)| {
        let via = if i % 2 == 0 { &admin } else { &admin_on_second };
        via.post(draft, &[("trusted_ips", "")])
    });
    let statuses: Vec<StatusCode> = join_all(requests)
        .await
        .iter()
        .map(|r| r.status())
        .collect();
    app.assert_two_of_twenty_won_the_ucd_race(&statuses);
}

async fn a_key_deleted_through_one_instance_is_gone_from_the_other(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let second = app.another_instance();
    let admin = app.signed_in(Role::Administrator).await;
    let token = admin.generate_token("tsms", "Short-lived").await;
    let id = api_key::parse(&token).unwrap().public_id.to_owned();
    let admin_on_second = on(&admin, &second.base);
    assert!(
        admin_on_second
            .html("/settings/integrations")
            .await
            .contains("Short-lived")
    );

    let deleted = admin
        .post(&format!("/settings/integrations/keys/{id}/delete"), &[])
        .await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    let list = admin_on_second.html("/settings/integrations").await;
    assert!(
        list.contains("was deleted"),
        "the flash follows the session across instances"
    );
    assert!(!list.contains(&format!("/settings/integrations/keys/{id}")));
    assert_eq!(
        admin_on_second
            .get(&format!("/settings/integrations/keys/{id}"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[actix_web::test]
async fn instances_starting_together_on_an_empty_postgres_database_migrate_it_once() {
    use diesel::prelude::*;
    let database = common::PgDatabase::create();
    let url = database.url.clone();
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                latchkey::db::connect(
                    &latchkey::db::DatabaseLocation::parse(&url).unwrap(),
                    2,
                    std::time::Duration::from_secs(5),
                )
            })
        })
        .collect();
    for start in starts {
        start.join().unwrap().expect("every instance starts");
    }
    let mut conn = diesel::PgConnection::establish(&url).unwrap();
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let applied: Count = diesel::sql_query("SELECT count(*) AS n FROM __diesel_schema_migrations")
        .get_result(&mut conn)
        .unwrap();
    let shipped = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"))
        .unwrap()
        .count() as i64;
    assert_eq!(applied.n, shipped);
}
