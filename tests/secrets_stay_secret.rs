//! A key's plaintext exists only in the response that shows it.

mod common;

use common::{TestApp, input_value};
use latchkey::domain::api_key;
use latchkey::domain::role::Role;

#[actix_web::test]
async fn no_plaintext_key_or_secret_reaches_the_database_files() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in(Role::Administrator).await;
    let mut secrets = Vec::new();
    for code in ["ucd", "hubbasic", "hubhmac"] {
        let (_, page) = admin
            .generate(code, &format!("{code} key"), "10.1.0.0/16")
            .await;
        let token = match input_value(&page, "revealed-secret") {
            Some(secret) => format!("{}_{}", input_value(&page, "revealed-key").unwrap(), secret),
            None => input_value(&page, "revealed-key").unwrap(),
        };
        let parsed = api_key::parse(&token).unwrap();
        secrets.push(parsed.secret.to_owned());
        secrets.push(token.clone());
        // Visiting pages afterwards must not echo it from anywhere (e.g. the session).
        let list = admin.html("/settings/integrations").await;
        assert!(!list.contains(parsed.secret));
    }
    // Flush the WAL so everything written is in the files we read.
    use diesel::connection::SimpleConnection;
    app.conn()
        .batch_execute("PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();

    let mut files = 0;
    for entry in std::fs::read_dir(app.dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        files += 1;
        for secret in &secrets {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{} contains a plaintext secret",
                path.display()
            );
        }
    }
    assert!(files >= 2, "the database and secrets files were searched");
}
