//! `latchkey users add|list` and `--help`, run as the real binary.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn latchkey(dir: &std::path::Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(args)
        .env("DATABASE_URL", dir.join("cli.db"))
        .env_remove("LATCHKEY_SECRETS_FILE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the latchkey binary runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn users_are_added_from_standard_input_and_listed() {
    let dir = tempfile::tempdir().unwrap();
    let added = latchkey(
        dir.path(),
        &[
            "users",
            "add",
            "--email",
            "Ops@Example.com",
            "--role",
            "support",
        ],
        "a long enough password\n",
    );
    assert!(added.status.success(), "{}", text(&added.stderr));
    assert!(text(&added.stdout).contains("Added ops@example.com as Support"));

    let listed = latchkey(dir.path(), &["users", "list"], "");
    assert!(listed.status.success());
    let out = text(&listed.stdout);
    assert!(out.contains("ops@example.com") && out.contains("Support"));
    assert!(!out.contains("a long enough password"));
}

#[test]
fn bad_users_are_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            vec!["users", "add", "--email", "a@example.com", "--role", "root"],
            "password long",
            "unknown role",
        ),
        (
            vec![
                "users",
                "add",
                "--email",
                "not-an-email",
                "--role",
                "viewer",
            ],
            "password long",
            "not a valid email",
        ),
        (
            vec![
                "users",
                "add",
                "--email",
                "a@example.com",
                "--role",
                "viewer",
            ],
            "short\n",
            "at least 12 characters",
        ),
    ];
    for (args, stdin, message) in cases {
        let out = latchkey(dir.path(), &args, stdin);
        assert!(!out.status.success(), "{args:?}");
        assert!(
            text(&out.stderr).contains(message),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    let first = latchkey(
        dir.path(),
        &[
            "users",
            "add",
            "--email",
            "a@example.com",
            "--role",
            "viewer",
        ],
        "long enough password\n",
    );
    assert!(first.status.success());
    let duplicate = latchkey(
        dir.path(),
        &[
            "users",
            "add",
            "--email",
            "A@example.com",
            "--role",
            "viewer",
        ],
        "long enough password\n",
    );
    assert!(!duplicate.status.success());
    assert!(text(&duplicate.stderr).contains("already exists"));
}

#[test]
fn help_documents_every_option() {
    let dir = tempfile::tempdir().unwrap();
    let help = text(&latchkey(dir.path(), &["--help"], "").stdout);
    for option in [
        "--database-url",
        "--bind",
        "--secrets-file",
        "--key-types",
        "--pool-size",
        "--public-url",
        "--workers",
        "serve",
        "users",
    ] {
        assert!(help.contains(option), "{option} in --help");
    }
    for var in ["DATABASE_URL", "LATCHKEY_BIND"] {
        assert!(help.contains(var), "{var} in --help");
    }
}

#[test]
fn a_postgres_url_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let out = latchkey(
        dir.path(),
        &["users", "list", "--database-url", "postgres://127.0.0.1/x"],
        "",
    );
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("PostgreSQL"));
}
