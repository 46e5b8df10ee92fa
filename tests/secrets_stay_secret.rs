//! A key's plaintext exists only in the response that shows it.

mod common;

use common::{Backend, TestApp, input_value};
use diesel::connection::SimpleConnection;
use latchkey::domain::api_key;
use latchkey::domain::role::Role;

both_backends!(no_plaintext_key_or_secret_reaches_the_database);

async fn no_plaintext_key_or_secret_reaches_the_database(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let mut needles = Vec::new();
    for code in ["ucd", "hubbasic", "hubhmac"] {
        let (_, page) = admin
            .generate(code, &format!("{code} key"), "10.1.0.0/16")
            .await;
        let token = match input_value(&page, "revealed-secret") {
            Some(secret) => format!("{}_{}", input_value(&page, "revealed-key").unwrap(), secret),
            None => input_value(&page, "revealed-key").unwrap(),
        };
        let parsed = api_key::parse(&token).unwrap();
        // As text, and as PostgreSQL shows bytes (hex), in case it sits in a binary column.
        needles.push(parsed.secret.to_owned());
        needles.push(hex::encode(parsed.secret));
        // Rolling shows a replacement once: it is kept no better.
        let rolled = admin
            .post(
                &format!("/settings/integrations/keys/{}/roll", parsed.public_id),
                &[("grace", "1h")],
            )
            .await;
        assert_eq!(rolled.status(), reqwest::StatusCode::CREATED);
        let page = rolled.text().await.unwrap();
        let replacement = match input_value(&page, "revealed-secret") {
            Some(secret) => format!("{}_{}", input_value(&page, "revealed-key").unwrap(), secret),
            None => input_value(&page, "revealed-key").unwrap(),
        };
        let secret = api_key::parse(&replacement).unwrap().secret.to_owned();
        needles.push(hex::encode(&secret));
        needles.push(secret);
        // Pages visited afterwards must not echo it from anywhere (the session, say).
        let list = admin.html("/settings/integrations").await;
        assert!(!list.contains(parsed.secret));
    }

    // A webhook endpoint's signing secret is shown once and kept only sealed.
    let response = admin
        .post(
            "/settings/webhooks",
            &[
                ("url", "https://hooks.example.com/latchkey"),
                ("events", "key.created"),
            ],
        )
        .await;
    assert_eq!(response.status(), reqwest::StatusCode::CREATED);
    let signing = input_value(&response.text().await.unwrap(), "revealed-secret").unwrap();
    let raw = signing.trim_start_matches("whsec_").to_owned();
    needles.push(hex::encode(&raw));
    needles.push(raw);

    let stored = everything_stored(&app);
    assert!(stored.len() >= 2, "something was searched");
    for (place, bytes) in stored {
        for needle in &needles {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{place} holds a plaintext secret"
            );
        }
    }
}

/// Every byte the console has written: the SQLite files and the secrets file,
/// or on PostgreSQL every row of every table as text.
fn everything_stored(app: &TestApp) -> Vec<(String, Vec<u8>)> {
    let mut stored = Vec::new();
    match app.backend {
        Backend::Sqlite => app
            .conn()
            .batch_execute("PRAGMA wal_checkpoint(TRUNCATE);")
            .unwrap(),
        Backend::Postgres => {
            use diesel::{Connection, RunQueryDsl, sql_types::Text};
            #[derive(diesel::QueryableByName)]
            struct Dump {
                #[diesel(sql_type = Text)]
                rows: String,
            }
            let mut pg = diesel::PgConnection::establish(app.database_url()).unwrap();
            for table in [
                "users",
                "api_keys",
                "key_drafts",
                "key_types",
                "audit_events",
                "sessions",
                "setup_tokens",
                "webhook_endpoints",
                "webhook_deliveries",
                "request_log",
            ] {
                let dump: Dump = diesel::sql_query(format!(
                    "SELECT coalesce(string_agg(t::text, E'\\n'), '') AS rows FROM {table} t"
                ))
                .get_result(&mut pg)
                .unwrap();
                stored.push((format!("table {table}"), dump.rows.into_bytes()));
            }
        }
    }
    for entry in std::fs::read_dir(app.dir.path()).unwrap() {
        let path = entry.unwrap().path();
        stored.push((path.display().to_string(), std::fs::read(&path).unwrap()));
    }
    stored
}
