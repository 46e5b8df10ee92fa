//! Usage counts still in memory are written when the console shuts down gracefully,
//! and a test that fails never leaves its server running.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::time::Duration;

use common::server_process::ServerProcess;
use diesel::prelude::*;
use latchkey::db::keys::NewKeyRow;
use latchkey::db::schema::api_keys;
use latchkey::db::{self, DatabaseLocation};
use latchkey::domain::api_key::NewApiKey;
use latchkey::secrets::ServerSecrets;

/// One HTTP/1.1 exchange; returns the status and body.
fn exchange(port: u16, request: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Some((status, body))
}

#[test]
fn counts_not_yet_written_are_flushed_at_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("shutdown.db");
    let secrets_path = dir.path().join("shutdown.secrets");
    let secrets = ServerSecrets::load(&secrets_path).unwrap();
    let location = DatabaseLocation::parse(&db_path.to_string_lossy()).unwrap();
    let pool = db::connect(&location, 1, Duration::from_secs(5)).unwrap();
    let key = NewApiKey::generate("tsms");
    let now = db::now();
    diesel::insert_into(api_keys::table)
        .values(NewKeyRow {
            id: key.public_id.clone(),
            type_code: "tsms".into(),
            scheme: "bearer".into(),
            name: "Counted".into(),
            contact_email: "ops@example.com".into(),
            secret_hash: secrets.hasher().hash(&key.secret),
            secret_sealed: None,
            last_four: key.last_four(),
            allowed_ips: String::new(),
            created_by: None,
            created_at: now,
            expires_at: None,
            rate_limit: None,
            changed_at: now,
            application_id: "default".into(),
        })
        .execute(&mut pool.get().unwrap())
        .unwrap();

    // Killed if the test fails before it is stopped below.
    let mut server = ServerProcess::start(|command| {
        command
            .args(["--database-url", &db_path.to_string_lossy()])
            .args(["--secrets-file", &secrets_path.to_string_lossy()])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
    });
    let port = server.port;
    assert!(server.wait_until_up(), "the console started");

    let body = format!("{{\"key\":\"{}\"}}", key.token());
    let verify = format!(
        "POST /api/v1/keys/verify HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    for _ in 0..3 {
        let (status, answer) = exchange(port, &verify).unwrap();
        assert_eq!(status, 200);
        assert!(answer.contains("\"VALID\""), "{answer}");
    }
    // Stop at once, well inside the two-second batching interval.
    let exit = server.terminate();
    assert!(
        exit.success(),
        "a graceful shutdown exits cleanly: {exit:?}"
    );

    let today = db::now().date().to_string();
    let rows = db::usage::daily(&mut pool.get().unwrap(), &key.public_id, &today).unwrap();
    assert_eq!(rows, vec![(today, "VALID".to_owned(), 3)]);
}

#[test]
fn a_server_whose_test_fails_is_ended_with_the_test() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("failing.db");
    let mut port = 0;
    let failed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let server = ServerProcess::start(|command| {
            command
                .args(["--database-url", &db_path.to_string_lossy()])
                .env("RUST_LOG", "off")
                .stdout(Stdio::null())
                .stderr(Stdio::null());
        });
        port = server.port;
        assert!(server.wait_until_up(), "the console started");
        panic!("an assertion failing on purpose, with the server running");
    }));
    assert!(failed.is_err());
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the server on port {port} was ended when the test failed"
    );
}
