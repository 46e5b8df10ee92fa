//! Load benchmark for key verification.
//!
//! Seeds an SQLite database with 100,000 keys, starts the release build of the
//! console on it, starts a trivial actix-web handler as the baseline in the same
//! run, drives each with `wrk` (2 threads, 64 connections) and prints requests/s
//! and p50/p99 latency per scenario, the ratios to the baseline against the
//! targets, the server's resident memory, and how fast a key deleted under load
//! is refused.
//!
//!     cargo bench --bench verify_load          # BENCH_SECONDS=10 by default
//!
//! Needs `wrk` (Debian: apt-get install wrk).

mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use latchkey::db::schema::api_keys;
use latchkey::db::{self, DatabaseLocation};
use latchkey::domain::api_key::NewApiKey;
use latchkey::secrets::ServerSecrets;
use support::{
    Figures, Request, free_port, http_status, resident_mb, run_wrk, verdict, wait_until_up,
};

const KEYS: usize = 100_000;

/// Set in the child process that serves the baseline.
const BASELINE_PORT_VAR: &str = "LATCHKEY_BENCH_BASELINE_PORT";

fn main() {
    if let Ok(port) = std::env::var(BASELINE_PORT_VAR) {
        serve_baseline(port.parse().expect("a port"));
        return;
    }
    support::need_wrk();
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("bench.db");
    let secrets_path = dir.path().join("bench.secrets");

    let started = Instant::now();
    let seeded = seed(&db_path, &secrets_path);
    println!(
        "seeded {KEYS} keys in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let port = free_port();
    let mut server = support::start_console(&db_path, &secrets_path, port, &[]);
    let console = format!("http://127.0.0.1:{port}");
    let baseline_port = free_port();
    let mut baseline_server = start_baseline(baseline_port);
    let baseline = format!("http://127.0.0.1:{baseline_port}");
    wait_until_up(&format!("{console}/healthz"));
    wait_until_up(&format!("{baseline}/"));

    let verify = |key: &str| format!("{{\"key\":\"{key}\"}}");
    let scenarios: Vec<(&str, String, Request)> = vec![
        (
            "baseline (trivial actix-web handler)",
            format!("{baseline}/"),
            Request::Post(verify(&seeded.valid)),
        ),
        (
            "verify: valid key",
            format!("{console}/api/v1/keys/verify"),
            Request::Post(verify(&seeded.valid)),
        ),
        (
            "verify: malformed key",
            format!("{console}/api/v1/keys/verify"),
            Request::Post(verify("lk_tsms_not-a-key")),
        ),
        (
            "verify: unknown well-formed key",
            format!("{console}/api/v1/keys/verify"),
            Request::Post(verify(&seeded.unknown)),
        ),
        (
            "verify: IP-refused key",
            format!("{console}/api/v1/keys/verify"),
            Request::Post(verify(&seeded.ip_refused)),
        ),
        (
            "forward-auth: valid key",
            format!("{console}/api/v1/auth"),
            Request::Header(format!("X-API-Key: {}", seeded.valid)),
        ),
    ];
    // Keys written in the last few seconds are re-read by the change poller (it
    // looks back 5 s to allow for clock skew between instances); let that pass
    // so the baseline is not measured against a busy console.
    std::thread::sleep(Duration::from_secs(6));
    let idle_mb = resident_mb(server.id());
    let mut results = Vec::new();
    for (name, url, request) in &scenarios {
        // A short warm-up, then the measured run.
        run_wrk(url, request, 2);
        let figures = run_wrk(url, request, seconds);
        results.push(Figures {
            name: name.to_string(),
            ..figures
        });
    }
    let rss_mb = resident_mb(server.id());

    println!();
    println!(
        "{:<40} {:>12} {:>10} {:>10}",
        "scenario", "requests/s", "p50 ms", "p99 ms"
    );
    for f in &results {
        println!(
            "{:<40} {:>12.0} {:>10.2} {:>10.2}",
            f.name, f.rps, f.p50_ms, f.p99_ms
        );
    }
    let base = &results[0];
    println!();
    println!("targets, against the baseline in this run:");
    for f in results.iter().filter(|f| f.name.contains("valid key")) {
        let rps = f.rps / base.rps;
        let p50 = f.p50_ms / base.p50_ms;
        let p99 = f.p99_ms / base.p99_ms;
        println!(
            "  {:<34} throughput {:>5.0}% (>= 50%: {})  p50 {:.2}x (<= 2x: {})  p99 {:.2}x (<= 1.5x: {})",
            f.name,
            rps * 100.0,
            verdict(rps >= 0.5),
            p50,
            verdict(p50 <= 2.0),
            p99,
            verdict(p99 <= 1.5)
        );
    }
    println!(
        "  resident memory with {KEYS} keys: {idle_mb:.1} MB idle, {rss_mb:.1} MB after the load (< 100 MB: {})",
        verdict(rss_mb.max(idle_mb) < 100.0)
    );

    let refused_after = delete_under_load(&console, &seeded, &db_path);
    println!(
        "  a key deleted under load was refused {refused_after} ms after the deletion was committed"
    );

    for child in [&mut server, &mut baseline_server] {
        child.kill().ok();
        child.wait().ok();
    }
}

struct Seeded {
    valid: String,
    ip_refused: String,
    unknown: String,
    doomed: String,
}

/// Writes 100,000 keys the way the console would, and returns a few tokens to present.
fn seed(db_path: &std::path::Path, secrets_path: &std::path::Path) -> Seeded {
    let secrets = ServerSecrets::load(secrets_path).unwrap();
    let location = DatabaseLocation::parse(&db_path.to_string_lossy()).unwrap();
    let pool = db::connect(&location, 1, Duration::from_secs(5)).unwrap();
    let mut conn = pool.get().unwrap();
    let now = db::now();
    let row = |key: &NewApiKey, ips: &str| support::bench_row(key, ips, &secrets, now);
    let valid = NewApiKey::generate("tsms");
    let ip_refused = NewApiKey::generate("tsms");
    let doomed = NewApiKey::generate("tsms");
    db::write_transaction(&mut conn, |conn| {
        for key in [&valid, &doomed] {
            diesel::insert_into(api_keys::table)
                .values(row(key, ""))
                .execute(conn)?;
        }
        diesel::insert_into(api_keys::table)
            .values(row(&ip_refused, "10.0.0.0/8"))
            .execute(conn)?;
        for i in 3..KEYS {
            let key = NewApiKey::generate(if i % 2 == 0 { "tsms" } else { "ucd" });
            let ips = if i % 3 == 0 {
                "203.0.113.0/24\n2001:db8::/32"
            } else {
                ""
            };
            diesel::insert_into(api_keys::table)
                .values(row(&key, ips))
                .execute(conn)?;
        }
        Ok::<_, diesel::result::Error>(())
    })
    .unwrap();
    Seeded {
        valid: valid.token(),
        ip_refused: ip_refused.token(),
        unknown: NewApiKey::generate("tsms").token(),
        doomed: doomed.token(),
    }
}

/// The baseline runs in its own process, like the console: this benchmark
/// binary started again with the port in its environment.
fn start_baseline(port: u16) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .env(BASELINE_PORT_VAR, port.to_string())
        .stdout(Stdio::null())
        .spawn()
        .expect("the baseline server starts")
}

/// The baseline: one actix-web handler that reads the request body (so the
/// connection stays open, as the console's does) and returns a fixed body.
fn serve_baseline(port: u16) {
    actix_web::rt::System::new().block_on(async move {
        actix_web::HttpServer::new(|| {
            actix_web::App::new().default_service(actix_web::web::to(
                |_body: actix_web::web::Bytes| async {
                    actix_web::HttpResponse::Ok()
                        .content_type("application/json")
                        .body("{\"valid\":true}")
                },
            ))
        })
        .workers(2)
        .bind(("127.0.0.1", port))
        .unwrap()
        .run()
        .await
        .unwrap()
    })
}

/// Deletes a key (as any instance would, in the database) while wrk hammers the
/// verify endpoint with it, and measures how long until it is refused.
fn delete_under_load(console: &str, seeded: &Seeded, db_path: &std::path::Path) -> u128 {
    let url = format!("{console}/api/v1/keys/verify");
    let body = format!("{{\"key\":\"{}\"}}", seeded.doomed);
    let load = {
        let (url, body) = (url.clone(), body.clone());
        std::thread::spawn(move || run_wrk(&url, &Request::Post(body), 3))
    };
    std::thread::sleep(Duration::from_millis(1000));
    let location = DatabaseLocation::parse(&db_path.to_string_lossy()).unwrap();
    let pool = db::connect(&location, 1, Duration::from_secs(5)).unwrap();
    let id = latchkey::domain::api_key::parse(&seeded.doomed)
        .unwrap()
        .public_id
        .to_owned();
    let now = db::now();
    diesel::update(api_keys::table.find(&id))
        .set((
            api_keys::deleted_at.eq(Some(now)),
            api_keys::changed_at.eq(now),
        ))
        .execute(&mut pool.get().unwrap())
        .unwrap();
    let deleted_at = Instant::now();
    let auth = format!("{console}/api/v1/auth");
    let header = format!("X-API-Key: {}", seeded.doomed);
    let refused_after = loop {
        if http_status(&auth, "GET", Some(&header), None) == Some(401) {
            break deleted_at.elapsed().as_millis();
        }
        assert!(
            deleted_at.elapsed() < Duration::from_secs(5),
            "the deleted key was still accepted after 5 s"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    load.join().unwrap();
    refused_after
}
