//! What the benchmarks share: starting the release build, seeding keys,
//! driving `wrk` and reading its figures, and reading resident memory.
#![allow(dead_code)]

pub mod console;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use diesel::prelude::*;
use latchkey::db::keys::{KeyDetails, NewKeyRow};
use latchkey::db::schema::api_keys;
use latchkey::db::{self, DatabaseLocation};
use latchkey::domain::api_key::NewApiKey;
use latchkey::domain::key_type::Scheme;
use latchkey::secrets::ServerSecrets;

pub struct Figures {
    pub name: String,
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

pub enum Request {
    Post(String),
    Header(String),
}

pub fn need_wrk() {
    if Command::new("wrk").arg("--version").output().is_err() {
        panic!("this benchmark drives load with wrk: install it with `apt-get install -y wrk`");
    }
}

pub fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT MET" }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A bearer key's row, as the console would write it.
pub fn bench_row(
    key: &NewApiKey,
    allowed_ips: &str,
    secrets: &ServerSecrets,
    now: chrono::NaiveDateTime,
) -> NewKeyRow {
    NewKeyRow::new(
        key,
        Scheme::Bearer,
        &secrets.hasher(),
        &secrets.secret_box(),
        KeyDetails {
            name: format!("Bench key {}", key.public_id),
            contact_email: "bench@example.com".into(),
            allowed_ips: allowed_ips.into(),
            created_by: None,
            created_at: now,
            expires_at: None,
            rate_limit: None,
        },
    )
}

/// Writes `count` bearer keys the way the console would; returns one's token.
pub fn seed_bearer_keys(db_path: &Path, secrets_path: &Path, count: usize) -> String {
    let secrets = ServerSecrets::load(secrets_path).unwrap();
    let location = DatabaseLocation::parse(&db_path.to_string_lossy()).unwrap();
    let pool = db::connect(&location, 1, Duration::from_secs(5)).unwrap();
    let now = db::now();
    let keys: Vec<NewApiKey> = (0..count).map(|_| NewApiKey::generate("tsms")).collect();
    db::write_transaction(&mut pool.get().unwrap(), |conn| {
        for key in &keys {
            diesel::insert_into(api_keys::table)
                .values(bench_row(key, "", &secrets, now))
                .execute(conn)?;
        }
        Ok::<_, diesel::result::Error>(())
    })
    .unwrap();
    keys[0].token()
}

pub fn start_console(db_path: &Path, secrets_path: &Path, port: u16, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["--bind", &format!("127.0.0.1:{port}")])
        .args(["--database-url", &db_path.to_string_lossy()])
        .args(["--secrets-file", &secrets_path.to_string_lossy()])
        .args(extra)
        .env("RUST_LOG", "warn")
        .envs(
            std::env::var("BENCH_MALLOC_ARENA_MAX")
                .ok()
                .map(|v| ("MALLOC_ARENA_MAX", v)),
        )
        .stdout(Stdio::null())
        .spawn()
        .expect("the release build of latchkey starts")
}

pub fn wait_until_up(url: &str) {
    for _ in 0..200 {
        if http_status(url, "GET", None, None) == Some(200) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{url} did not come up");
}

/// One HTTP/1.1 exchange on a fresh connection: the status, the head
/// (lower-cased) and the body.
pub fn exchange(
    host: &str,
    request_line: &str,
    headers: &[&str],
    body: &str,
) -> Option<(u16, String, String)> {
    let mut stream = std::net::TcpStream::connect(host).ok()?;
    let mut head = format!(
        "{request_line} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for header in headers {
        head.push_str(header);
        head.push_str("\r\n");
    }
    write!(stream, "{head}\r\n{body}").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, head.to_lowercase(), body.to_owned()))
}

/// A minimal blocking HTTP/1.1 exchange, enough to poll the servers.
pub fn http_status(
    url: &str,
    method: &str,
    header: Option<&str>,
    body: Option<&str>,
) -> Option<u16> {
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut headers = vec!["Content-Type: application/json"];
    headers.extend(header);
    let path = if path.is_empty() { "/" } else { path };
    exchange(
        host,
        &format!("{method} {path}"),
        &headers,
        body.unwrap_or(""),
    )
    .map(|(status, _, _)| status)
}

/// `wrk -t2 -c64 --latency` for `seconds`: requests/s, p50 and p99.
pub fn run_wrk(url: &str, request: &Request, seconds: u64) -> Figures {
    let mut command = Command::new("wrk");
    command.args([
        "-t",
        "2",
        "-c",
        "64",
        "-d",
        &format!("{seconds}s"),
        "--latency",
    ]);
    let script = tempfile::Builder::new().suffix(".lua").tempfile().unwrap();
    match request {
        Request::Post(body) => {
            writeln!(
                script.as_file(),
                "wrk.method = \"POST\"\nwrk.body = '{body}'\nwrk.headers[\"Content-Type\"] = \"application/json\""
            )
            .unwrap();
            command.args(["-s", &script.path().to_string_lossy()]);
        }
        Request::Header(header) => {
            command.args(["-H", header]);
        }
    }
    let output = command.arg(url).output().expect("wrk runs");
    let text = String::from_utf8_lossy(&output.stdout);
    let rps = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no Requests/sec in wrk output:\n{text}"));
    let percentile = |p: &str| -> f64 {
        text.lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix(p)
                    .map(|v| parse_duration_ms(v.trim()))
            })
            .unwrap_or_else(|| panic!("no {p} latency in wrk output:\n{text}"))
    };
    if text.contains("Non-2xx or 3xx responses") && !url.contains("verify") && !url.contains("auth")
    {
        panic!("the baseline answered errors:\n{text}");
    }
    Figures {
        name: String::new(),
        rps,
        p50_ms: percentile("50%"),
        p99_ms: percentile("99%"),
    }
}

pub fn parse_duration_ms(text: &str) -> f64 {
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => value / 1000.0,
        "ms" => value,
        "s" => value * 1000.0,
        _ => f64::NAN,
    }
}

pub fn resident_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}
