//! Usage counts still in memory are written when the console shuts down gracefully.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

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
        })
        .execute(&mut pool.get().unwrap())
        .unwrap();

    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["--bind", &format!("127.0.0.1:{port}")])
        .args(["--database-url", &db_path.to_string_lossy()])
        .args(["--secrets-file", &secrets_path.to_string_lossy()])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let health = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let mut up = false;
    for _ in 0..200 {
        if exchange(port, health).is_some_and(|(status, _)| status == 200) {
            up = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert!(up, "the console started");

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
    let killed = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let exit = server.wait().unwrap();
    assert!(
        exit.success(),
        "a graceful shutdown exits cleanly: {exit:?}"
    );

    let today = db::now().date().to_string();
    let rows = db::usage::daily(&mut pool.get().unwrap(), &key.public_id, &today).unwrap();
    assert_eq!(rows, vec![(today, "VALID".to_owned(), 3)]);
}
