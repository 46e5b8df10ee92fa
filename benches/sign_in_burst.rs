//! What a burst of sign-ins costs: resident memory and verification latency
//! while 500 sign-ins arrive at once, again and again.
//!
//! Starts the release build on a fresh SQLite database (trusting 127.0.0.1 as
//! a proxy, so each sign-in can come from its own address and none is refused
//! by a lock before its password is checked: the worst case for hashing),
//! measures verification with `wrk` at idle, then again while bursts of 500
//! simultaneous sign-ins to unknown accounts keep arriving, sampling the
//! server's resident memory all along. Prints both, the ratios and the
//! targets: < 100 MB more resident memory, verification p99 within 2x of idle.
//!
//!     cargo bench --bench sign_in_burst        # BENCH_SECONDS=8 by default
//!
//! Needs `wrk` (Debian: apt-get install wrk).

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use support::{Figures, Request};

const BURST: usize = 500;

fn main() {
    support::need_wrk();
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8);
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("bench.db");
    let secrets_path = dir.path().join("bench.secrets");
    let key = support::seed_bearer_keys(&db_path, &secrets_path, 1_000);
    let port = support::free_port();
    let mut server = support::start_console(
        &db_path,
        &secrets_path,
        port,
        &["--trusted-proxies", "127.0.0.1"],
    );
    let console = format!("127.0.0.1:{port}");
    support::wait_until_up(&format!("http://{console}/healthz"));
    let verify_url = format!("http://{console}/api/v1/keys/verify");
    let verify = Request::Post(format!("{{\"key\":\"{key}\"}}"));

    support::run_wrk(&verify_url, &verify, 2);
    let idle = support::run_wrk(&verify_url, &verify, seconds);
    let idle_mb = support::resident_mb(server.id());

    let (cookie, token) = form_token(&console);
    let stop = Arc::new(AtomicBool::new(false));
    let peak_mb = Arc::new(Mutex::new(idle_mb));
    let sampler = {
        let (stop, peak, pid) = (stop.clone(), peak_mb.clone(), server.id());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let now = support::resident_mb(pid);
                let mut peak = peak.lock().unwrap();
                *peak = peak.max(now);
                drop(peak);
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    let bursts = {
        let (stop, console) = (stop.clone(), console.clone());
        std::thread::spawn(move || {
            let mut tally = Tally::default();
            let mut round = 0;
            while !stop.load(Ordering::Relaxed) {
                tally.add(burst(&console, &cookie, &token, round));
                round += 1;
            }
            (round, tally)
        })
    };
    // Let the first burst land before measuring.
    std::thread::sleep(Duration::from_millis(300));
    let during = support::run_wrk(&verify_url, &verify, seconds);
    stop.store(true, Ordering::Relaxed);
    let (rounds, tally) = bursts.join().unwrap();
    sampler.join().unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let after_mb = support::resident_mb(server.id());
    let peak_mb = *peak_mb.lock().unwrap();

    println!();
    println!(
        "{:<44} {:>12} {:>10} {:>10}",
        "verification", "requests/s", "p50 ms", "p99 ms"
    );
    for (name, f) in [("idle", &idle), ("during sign-in bursts", &during)] {
        print_row(name, f);
    }
    println!();
    println!(
        "{rounds} bursts of {BURST} simultaneous sign-ins: {} answered 401 (checked), {} answered 503 \
         (busy, retry), {} other",
        tally.checked, tally.busy, tally.other
    );
    let ratio = during.p99_ms / idle.p99_ms;
    let extra = peak_mb - idle_mb;
    println!("targets:");
    println!(
        "  resident memory: {idle_mb:.1} MB idle, {peak_mb:.1} MB at peak, {after_mb:.1} MB after: \
         +{extra:.1} MB (< 100 MB: {})",
        support::verdict(extra < 100.0)
    );
    println!(
        "  verification p99 during the bursts: {ratio:.2}x idle (<= 2x: {})",
        support::verdict(ratio <= 2.0)
    );
    server.kill().ok();
    server.wait().ok();
}

fn print_row(name: &str, f: &Figures) {
    println!(
        "{:<44} {:>12.0} {:>10.2} {:>10.2}",
        name, f.rps, f.p50_ms, f.p99_ms
    );
}

#[derive(Default)]
struct Tally {
    checked: usize,
    busy: usize,
    other: usize,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.checked += other.checked;
        self.busy += other.busy;
        self.other += other.other;
    }
}

/// A visitor's form cookie and the token the sign-in page gives for it.
fn form_token(console: &str) -> (String, String) {
    let (_, head, body) = support::exchange(console, "GET /login", &[], "").unwrap();
    let cookie = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .expect("the sign-in page sets the form cookie")
        .to_owned();
    let token = body
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the sign-in page carries a form token")
        .to_owned();
    (cookie, token)
}

/// Sends `BURST` sign-ins at the same moment, each from its own address.
fn burst(console: &str, cookie: &str, token: &str, round: usize) -> Tally {
    let start = Arc::new(Barrier::new(BURST));
    let threads: Vec<_> = (0..BURST)
        .map(|i| {
            let (start, console) = (start.clone(), console.to_owned());
            let cookie = format!("Cookie: {cookie}");
            let body = format!(
                "email=nobody{round}x{i}%40example.com&password=a+wrong+guess+here&csrf_token={token}"
            );
            let from = format!("X-Forwarded-For: 10.{}.{}.{}", round % 250, i / 250, i % 250);
            std::thread::spawn(move || {
                start.wait();
                let started = Instant::now();
                let answer = support::exchange(
                    &console,
                    "POST /login",
                    &[
                        &cookie,
                        &from,
                        "Content-Type: application/x-www-form-urlencoded",
                    ],
                    &body,
                );
                (answer.map(|(status, _, _)| status), started.elapsed())
            })
        })
        .collect();
    let mut tally = Tally::default();
    for thread in threads {
        match thread.join().unwrap().0 {
            Some(401) => tally.checked += 1,
            Some(503) => tally.busy += 1,
            _ => tally.other += 1,
        }
    }
    tally
}
