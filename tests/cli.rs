//! `latchkey users add|list` and `--help`, run as the real binary.

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use common::server_process::{self, ServerProcess};
use common::{Backend, PgDatabase};

both_backends!(
    roles_are_changed_and_users_disabled_from_the_command_line,
    users_are_added_from_standard_input_and_listed,
    bad_users_are_refused_with_a_reason,
    the_last_active_administrator_stays_from_the_command_line,
    administrators_demoting_each_other_at_once_leave_one,
    invitations_are_printed_for_the_operator
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

const LAST_ADMIN: &str = "this is the last active Administrator: make another user an Administrator first, so someone can still manage the console";

fn add_user(db: &Database, email: &str, role: &str) {
    let out = latchkey(
        db,
        &["users", "add", "--email", email, "--role", role],
        "a long enough password\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// (exit code, stdout, stderr) of one run.
type Run = (Option<i32>, String, String);

fn run(db: &Database, args: &[&str]) -> Run {
    let out = latchkey(db, args, "");
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

async fn the_last_active_administrator_stays_from_the_command_line(backend: Backend) {
    let db = database(backend);
    add_user(&db, "a@example.com", "administrator");
    add_user(&db, "b@example.com", "administrator");
    add_user(&db, "v@example.com", "viewer");
    let refused = |email: &str| {
        (
            Some(1),
            String::new(),
            format!("latchkey: {email}: {LAST_ADMIN}\n"),
        )
    };
    let steps: [(&[&str], Run); 8] = [
        (
            &["users", "disable", "--email", "b@example.com"],
            (
                Some(0),
                "b@example.com: active → disabled.\n".into(),
                String::new(),
            ),
        ),
        (
            &["users", "disable", "--email", "a@example.com"],
            refused("a@example.com"),
        ),
        (
            &[
                "users",
                "set-role",
                "--email",
                "a@example.com",
                "--role",
                "support",
            ],
            refused("a@example.com"),
        ),
        // A disabled Administrator does not count, and may be demoted.
        (
            &[
                "users",
                "set-role",
                "--email",
                "b@example.com",
                "--role",
                "viewer",
            ],
            (
                Some(0),
                "b@example.com: role changed from Administrator to Viewer.\n".into(),
                String::new(),
            ),
        ),
        (
            &[
                "users",
                "set-role",
                "--email",
                "v@example.com",
                "--role",
                "administrator",
            ],
            (
                Some(0),
                "v@example.com: role changed from Viewer to Administrator.\n".into(),
                String::new(),
            ),
        ),
        (
            &[
                "users",
                "set-role",
                "--email",
                "a@example.com",
                "--role",
                "support",
            ],
            (
                Some(0),
                "a@example.com: role changed from Administrator to Support.\n".into(),
                String::new(),
            ),
        ),
        (
            &["users", "disable", "--email", "v@example.com"],
            refused("v@example.com"),
        ),
        (
            &["users", "enable", "--email", "b@example.com"],
            (
                Some(0),
                "b@example.com: disabled → active.\n".into(),
                String::new(),
            ),
        ),
    ];
    for (args, expected) in steps {
        assert_eq!(run(&db, args), expected, "{args:?}");
    }
    let listed = run(&db, &["users", "list"]).1;
    let roles: Vec<(&str, &str)> = listed
        .lines()
        .map(|l| {
            let mut words = l.split_whitespace();
            (words.next().unwrap(), words.next().unwrap())
        })
        .collect();
    assert_eq!(
        roles,
        [
            ("a@example.com", "Support"),
            ("b@example.com", "Viewer"),
            ("v@example.com", "Administrator"),
        ]
    );
}

/// Two operators, each demoting the other Administrator at the same moment
/// from their own process: exactly one wins, and one Administrator remains.
async fn administrators_demoting_each_other_at_once_leave_one(backend: Backend) {
    let db = database(backend);
    add_user(&db, "a@example.com", "administrator");
    add_user(&db, "b@example.com", "administrator");
    // (first, second, the change each makes to the other, the undo, what the loser stays)
    let rounds = [
        (
            "a",
            "b",
            ["disable"].as_slice(),
            ["enable"].as_slice(),
            "(disabled)",
        ),
        ("b", "a", &["disable"], &["enable"], "(disabled)"),
        (
            "a",
            "b",
            &["set-role", "--role", "viewer"],
            &["set-role", "--role", "administrator"],
            "Viewer",
        ),
        (
            "b",
            "a",
            &["set-role", "--role", "viewer"],
            &["set-role", "--role", "administrator"],
            "Viewer",
        ),
    ];
    for (round, (first, second, change, undo, mark)) in rounds.into_iter().enumerate() {
        let start = |email: String| {
            Command::new(env!("CARGO_BIN_EXE_latchkey"))
                .arg("users")
                .args(change)
                .args(["--email", &email])
                .env("DATABASE_URL", &db.url)
                .env_remove("LATCHKEY_SECRETS_FILE")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let one = start(format!("{first}@example.com"));
        let two = start(format!("{second}@example.com"));
        let outcomes = [
            one.wait_with_output().unwrap(),
            two.wait_with_output().unwrap(),
        ];
        let codes: Vec<Option<i32>> = outcomes.iter().map(|o| o.status.code()).collect();
        assert!(
            codes == [Some(0), Some(1)] || codes == [Some(1), Some(0)],
            "round {round}: {codes:?} {:?}",
            outcomes.iter().map(|o| text(&o.stderr)).collect::<Vec<_>>()
        );
        let loser = &outcomes[if codes[0] == Some(1) { 0 } else { 1 }];
        assert!(text(&loser.stderr).ends_with(&format!("{LAST_ADMIN}\n")));
        let listed = run(&db, &["users", "list"]).1;
        assert_eq!(listed.matches(mark).count(), 1, "round {round}: {listed}");
        assert_eq!(
            listed.matches("Administrator").count(),
            if mark == "Viewer" { 1 } else { 2 }
        );
        let changed = if codes[0] == Some(0) { first } else { second };
        let email = format!("{changed}@example.com");
        let undone = latchkey(&db, &[&["users"], undo, &["--email", &email]].concat(), "");
        assert!(undone.status.success(), "{}", text(&undone.stderr));
    }
}

async fn invitations_are_printed_for_the_operator(backend: Backend) {
    let db = database(backend);
    add_user(&db, "a@example.com", "administrator");
    let (code, out, err) = run(
        &db,
        &[
            "users",
            "invite",
            "--email",
            "New@example.com",
            "--role",
            "support",
            "--public-url",
            "https://keys.example.com/",
        ],
    );
    assert_eq!((code, err.as_str()), (Some(0), ""));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "Invited new@example.com as Support. Pass on this link; it works once, for 72 hours:"
    );
    let token = lines[1]
        .strip_prefix("https://keys.example.com/invitations/accept?token=")
        .expect(lines[1]);
    assert_eq!(token.len(), 64, "{token}");
    assert_eq!(lines.len(), 2);

    let (code, out, _) = run(
        &db,
        &[
            "users",
            "invite",
            "--email",
            "b@example.com",
            "--role",
            "viewer",
        ],
    );
    assert_eq!(code, Some(0));
    assert!(
        out.lines()
            .nth(1)
            .unwrap()
            .starts_with("/invitations/accept?token=")
    );
    assert_eq!(
        out.lines().nth(2),
        Some("(after the console's address; give --public-url to print it whole)")
    );
    let taken = run(
        &db,
        &[
            "users",
            "invite",
            "--email",
            "a@example.com",
            "--role",
            "viewer",
        ],
    );
    assert_eq!(
        taken,
        (
            Some(1),
            String::new(),
            "latchkey: a@example.com already has an account\n".into()
        )
    );
}

// ---- latchkey keys expiring -------------------------------------------------

both_backends!(
    expiring_keys_are_listed_soonest_first_with_exit_status_1,
    no_expiring_keys_exit_0_and_bad_windows_exit_2,
    expiring_keys_stream_in_pages,
);

/// The catalogue the commands run with: the shipped one, plus a type
/// switched off last year (its keys are refused anyway, so not listed).
fn catalogue_file(db: &Database) -> String {
    let path = db._dir.path().join("key_types.toml");
    let text = format!(
        "{}\n[[type]]\ncode = \"legacy\"\nname = \"Legacy\"\nscheme = \"bearer\"\ndisabled_from = 2025-01-01T00:00:00Z\n",
        include_str!("../src/key_types.toml")
    );
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

/// A key to store: (id, type, name, contact, expires in hours from now
/// (None: never), deleted).
type StoredKey<'a> = (&'a str, &'a str, &'a str, &'a str, Option<i64>, bool);

/// Stores keys straight into the database.
fn store_keys(db: &Database, keys: &[StoredKey]) -> chrono::NaiveDateTime {
    use latchkey::db::keys::{KeyDetails, NewKeyRow, SeededKeyRow};
    use latchkey::domain::api_key::NewApiKey;
    use latchkey::domain::crypto::{SecretBox, SecretHasher};
    use latchkey::domain::key_type::Scheme;
    let location = latchkey::db::DatabaseLocation::parse(&db.url).unwrap();
    let pool = latchkey::db::connect(&location, 1, std::time::Duration::from_secs(5)).unwrap();
    let now = latchkey::db::now();
    let (hasher, sealer) = (SecretHasher::new(&[1; 32]), SecretBox::new(&[2; 32]));
    let rows: Vec<SeededKeyRow> = keys
        .iter()
        .map(|(id, code, name, contact, hours, deleted)| {
            let mut key = NewKeyRow::new(
                &NewApiKey::generate(code),
                Scheme::Bearer,
                &hasher,
                &sealer,
                KeyDetails {
                    name: (*name).to_owned(),
                    contact_email: (*contact).to_owned(),
                    allowed_ips: String::new(),
                    created_by: None,
                    created_at: now,
                    expires_at: hours.map(|h| now + chrono::Duration::hours(h)),
                    rate_limit: None,
                },
            );
            key.id = (*id).to_owned();
            SeededKeyRow {
                deleted_at: deleted.then_some(now),
                ..SeededKeyRow::of(key)
            }
        })
        .collect();
    for chunk in rows.chunks(500) {
        latchkey::db::keys::insert_seeded(&mut pool.get().unwrap(), chunk).unwrap();
    }
    now
}

/// The output with each key's expiry (as the command writes it) replaced by
/// `<A expires here>` (as wide, in text) or `<AAAAAAAAAAAA>` (in JSON): the
/// one part that depends on when the test runs.
fn masked(out: &str, now: chrono::NaiveDateTime, keys: &[(&str, Option<i64>)]) -> String {
    let mut out = out.to_owned();
    for (id, hours) in keys {
        let at = now + chrono::Duration::hours(hours.unwrap());
        out = out.replace(
            &at.format("%Y-%m-%d %H:%M").to_string(),
            &format!("<{} expires here>", &id[..1]),
        );
        out = out.replace(
            &at.and_utc()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            &format!("<{id}>"),
        );
    }
    out
}

const EXPIRING_KEYS: &[StoredKey] = &[
    (
        "AAAAAAAAAAAA",
        "ucd",
        "Checkout service",
        "ops@example.com",
        Some(72),
        false,
    ),
    (
        "BBBBBBBBBBBB",
        "hubhmac",
        "Partner signer",
        "partner@example.com",
        Some(6),
        false,
    ),
    (
        "CCCCCCCCCCCC",
        "tsms",
        "Next month",
        "ops@example.com",
        Some(24 * 20),
        false,
    ),
    (
        "DDDDDDDDDDDD",
        "tsms",
        "Deleted",
        "ops@example.com",
        Some(48),
        true,
    ),
    (
        "EEEEEEEEEEEE",
        "tsms",
        "Expired",
        "ops@example.com",
        Some(-24),
        false,
    ),
    (
        "FFFFFFFFFFFF",
        "tsms",
        "Forever",
        "ops@example.com",
        None,
        false,
    ),
    (
        "GGGGGGGGGGGG",
        "legacy",
        "Switched off",
        "ops@example.com",
        Some(120),
        false,
    ),
    (
        "HHHHHHHHHHHH",
        "tsms",
        "Bell\u{7}\u{1b}[31m red",
        "ops@example.com",
        Some(200),
        false,
    ),
];

async fn expiring_keys_are_listed_soonest_first_with_exit_status_1(backend: Backend) {
    let db = database(backend);
    let now = store_keys(&db, EXPIRING_KEYS);
    let catalogue = catalogue_file(&db);
    let listed = [
        ("AAAAAAAAAAAA", Some(72)),
        ("BBBBBBBBBBBB", Some(6)),
        ("HHHHHHHHHHHH", Some(200)),
    ];

    let out = latchkey(
        &db,
        &[
            "keys",
            "expiring",
            "--within",
            "14d",
            "--key-types",
            &catalogue,
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(
        masked(&text(&out.stdout), now, &listed),
        "EXPIRES (UTC)     KEY                           TYPE          NAME <CONTACT>\n\
         <B expires here>  lk_hubhmac_BBBBBBBBBBBB       hubhmac       Partner signer <partner@example.com>\n\
         <A expires here>  lk_ucd_AAAAAAAAAAAA           ucd           Checkout service <ops@example.com>\n\
         <H expires here>  lk_tsms_HHHHHHHHHHHH          tsms          Bell??[31m red <ops@example.com>\n\
         3 live keys expire within 14 days.\n"
    );

    let out = latchkey(
        &db,
        &[
            "keys",
            "expiring",
            "--within",
            "12h",
            "--format",
            "json",
            "--key-types",
            &catalogue,
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        masked(&text(&out.stdout), now, &listed),
        "[\n  {\"key_id\":\"BBBBBBBBBBBB\",\"key_prefix\":\"lk_hubhmac_BBBBBBBBBBBB\",\"type\":\"hubhmac\",\"name\":\"Partner signer\",\"contact_email\":\"partner@example.com\",\"expires_at\":\"<BBBBBBBBBBBB>\"}\n]\n"
    );
    let out = latchkey(
        &db,
        &[
            "keys",
            "expiring",
            "--within",
            "1w",
            "--key-types",
            &catalogue,
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).ends_with("\n2 live keys expire within 7 days.\n"));
    // Without the deployer's catalogue the switched-off type is unknown, not
    // switched off: its key is listed like any other.
    let out = latchkey(&db, &["keys", "expiring", "--within", "6d"], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("lk_legacy_GGGGGGGGGGGG"));
}

async fn no_expiring_keys_exit_0_and_bad_windows_exit_2(backend: Backend) {
    let db = database(backend);
    store_keys(&db, EXPIRING_KEYS);
    for (within, said) in [
        ("1h", "No live key expires within 1 hour.\n"),
        ("5h", "No live key expires within 5 hours.\n"),
    ] {
        let out = latchkey(&db, &["keys", "expiring", "--within", within], "");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{within}: {}",
            text(&out.stderr)
        );
        assert_eq!(text(&out.stdout), said);
    }
    let out = latchkey(
        &db,
        &["keys", "expiring", "--within", "1h", "--format", "json"],
        "",
    );
    assert_eq!(
        (out.status.code(), text(&out.stdout).as_str()),
        (Some(0), "[]\n")
    );

    #[rustfmt::skip]
    let refused: &[(&[&str], &str)] = &[
        (&["--within", "3x"], "invalid value '3x' for '--within <WITHIN>': “3x” is not a window of time: write a whole number and a unit, such as 14d (days), 12h (hours) or 2w (weeks)"),
        (&["--within", "0d"], "“0d” is empty: the window must be at least 1h"),
        (&["--within", "9999d"], "“9999d” is too long: the window can be at most 3650d (ten years)"),
        (&["--within=-1d"], "“-1d” is not a window of time"),
        (&["--format", "xml"], "invalid value 'xml' for '--format <FORMAT>'"),
    ];
    for (args, message) in refused {
        let out = latchkey(&db, &[&["keys", "expiring"][..], args].concat(), "");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            text(&out.stderr).contains(message),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert_eq!(text(&out.stdout), "", "{args:?}");
    }
    // A database that cannot be opened: the check was not made, so 2 as well.
    let out = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args([
            "keys",
            "expiring",
            "--database-url",
            "postgres://127.0.0.1:1/nowhere",
            "--db-timeout",
            "1",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("cannot open the database"));
}

async fn expiring_keys_stream_in_pages(backend: Backend) {
    let db = database(backend);
    // 1,234 keys: more than two pages of 500, several sharing an expiry.
    let ids: Vec<String> = (0..1_234).map(|i| format!("K{i:011}")).collect();
    let keys: Vec<StoredKey> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            (
                id.as_str(),
                "tsms",
                "Bulk",
                "bulk@example.com",
                Some(1 + (i as i64 * 7) % 300),
                false,
            )
        })
        .collect();
    store_keys(&db, &keys);
    let out = latchkey(
        &db,
        &["keys", "expiring", "--within", "14d", "--format", "json"],
        "",
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let listed: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed.len(), 1_234);
    let order: Vec<(String, String)> = listed
        .iter()
        .map(|k| {
            (
                k["expires_at"].as_str().unwrap().to_owned(),
                k["key_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut sorted = order.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(
        order, sorted,
        "soonest first, then by Key ID, each key once"
    );
}
