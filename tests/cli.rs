//! `latchkey users add|list` and `--help`, run as the real binary.

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use common::server_process::{self, ServerProcess};
use common::{Backend, PgDatabase};

both_backends!(
    roles_are_changed_and_users_disabled_from_the_command_line,
    users_are_added_from_standard_input_and_listed,
    bad_users_are_refused_with_a_reason
);

/// A database for one test: a file in a temporary directory, or a fresh PostgreSQL database.
struct Database {
    url: String,
    _dir: tempfile::TempDir,
    _postgres: Option<PgDatabase>,
}

fn database(backend: Backend) -> Database {
    let dir = tempfile::tempdir().unwrap();
    let postgres = (backend == Backend::Postgres).then(PgDatabase::create);
    let url = match &postgres {
        Some(pg) => pg.url.clone(),
        None => dir.path().join("cli.db").to_string_lossy().into_owned(),
    };
    Database {
        url,
        _dir: dir,
        _postgres: postgres,
    }
}

fn latchkey(db: &Database, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(args)
        .env("DATABASE_URL", &db.url)
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

async fn users_are_added_from_standard_input_and_listed(backend: Backend) {
    let db = database(backend);
    let added = latchkey(
        &db,
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

    let listed = latchkey(&db, &["users", "list"], "");
    assert!(listed.status.success());
    let out = text(&listed.stdout);
    assert!(out.contains("ops@example.com") && out.contains("Support"));
    assert!(!out.contains("a long enough password"));
}

async fn bad_users_are_refused_with_a_reason(backend: Backend) {
    let db = database(backend);
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
        let out = latchkey(&db, &args, stdin);
        assert!(!out.status.success(), "{args:?}");
        assert!(
            text(&out.stderr).contains(message),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    let first = latchkey(
        &db,
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
        &db,
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
    let db = database(Backend::Sqlite);
    let help = text(&latchkey(&db, &["--help"], "").stdout);
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
fn serve_options_work_before_and_after_the_subcommand() {
    use clap::{Args, Parser};
    use latchkey::config::{Cli, Command, ServeArgs};
    let options = ["--https", "--bind", "127.0.0.1:9000", "--workers", "3"];
    let before = Cli::try_parse_from(["latchkey"].iter().chain(&options).chain(&["serve"]));
    let after = Cli::try_parse_from(["latchkey", "serve"].iter().chain(&options));
    for parsed in [before, after] {
        let cli = parsed.unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(cli.command, Some(Command::Serve)));
        assert!(cli.serve.https);
        assert_eq!(cli.serve.bind.to_string(), "127.0.0.1:9000");
        assert_eq!(cli.serve.workers, Some(3));
    }
    // Every serve option, including ones added later.
    for arg in ServeArgs::augment_args(clap::Command::new("serve")).get_arguments() {
        assert!(
            arg.is_global_set(),
            "--{} must also work after `serve` (global = true)",
            arg.get_id()
        );
    }
}

#[test]
fn latchkey_serve_https_starts_a_console_served_over_https() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("serve.db");
    let server = ServerProcess::start(|command| {
        command
            .args(["serve", "--https", "--database-url"])
            .arg(&db_path)
            .env_remove("LATCHKEY_SECRETS_FILE")
            .env("RUST_LOG", "off")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
    });
    assert!(server.wait_until_up(), "the console started");
    let response = server_process::get(server.port, "/login").unwrap();
    assert!(
        response
            .to_ascii_lowercase()
            .contains("strict-transport-security: max-age="),
        "--https took effect: {response}"
    );
}

#[test]
fn connection_errors_say_what_failed() {
    let db = database(Backend::Sqlite);
    let server = std::env::var("LATCHKEY_TEST_POSTGRES")
        .unwrap_or_else(|_| common::DEFAULT_POSTGRES.to_owned());
    let missing = format!("{server}/latchkey_no_such_database");
    let cases = [
        (
            missing.as_str(),
            "latchkey_no_such_database\" does not exist",
        ),
        ("postgres://127.0.0.1:1/latchkey", "Connection refused"),
        ("postgresql://app:hunter2@127.0.0.1:1/latchkey", "app:***@"),
    ];
    for (url, expected) in cases {
        let out = latchkey(&db, &["users", "list", "--database-url", url], "");
        assert!(!out.status.success(), "{url}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains(expected), "{url}: {stderr}");
        assert!(!stderr.contains("hunter2"), "the password is not shown");
    }
}

async fn roles_are_changed_and_users_disabled_from_the_command_line(backend: Backend) {
    let db = database(backend);
    let add = latchkey(
        &db,
        &[
            "users",
            "add",
            "--email",
            "ops@example.com",
            "--role",
            "viewer",
        ],
        "a long enough password\n",
    );
    assert!(add.status.success(), "{}", text(&add.stderr));

    let promote = latchkey(
        &db,
        &[
            "users",
            "set-role",
            "--email",
            "ops@example.com",
            "--role",
            "support",
        ],
        "",
    );
    assert!(promote.status.success(), "{}", text(&promote.stderr));
    assert!(text(&latchkey(&db, &["users", "list"], "").stdout).contains("Support"));

    let disable = latchkey(&db, &["users", "disable", "--email", "OPS@example.com"], "");
    assert!(disable.status.success());
    assert!(text(&latchkey(&db, &["users", "list"], "").stdout).contains("(disabled)"));
    let enable = latchkey(&db, &["users", "enable", "--email", "ops@example.com"], "");
    assert!(enable.status.success());
    assert!(!text(&latchkey(&db, &["users", "list"], "").stdout).contains("(disabled)"));

    let nobody = latchkey(
        &db,
        &["users", "disable", "--email", "nobody@example.com"],
        "",
    );
    assert!(!nobody.status.success());
    assert!(text(&nobody.stderr).contains("no user with the email"));
    let bad_role = latchkey(
        &db,
        &[
            "users",
            "set-role",
            "--email",
            "ops@example.com",
            "--role",
            "root",
        ],
        "",
    );
    assert!(!bad_role.status.success());
}
