//! The console at scale: how fast its pages answer with 100,000 and
//! 1,000,000 keys, on SQLite and on PostgreSQL.
//!
//! For each backend and size: a fresh database filled by `latchkey dev seed`,
//! a Support user and one key of the bench's own (whose plaintext it knows),
//! then the release build of the console. Signed in over HTTP as a browser
//! is, it times each page one request at a time (at the client, over
//! loopback), streams the CSV export of the whole list while sampling the
//! server's resident memory, and measures verification with `wrk` alone and
//! while four clients page the console. Prints each figure beside its target.
//!
//!     cargo bench --bench console_scale
//!     BENCH_KEYS=100000 BENCH_BACKENDS=sqlite cargo bench --bench console_scale
//!
//! Settings: BENCH_KEYS (default 100000,1000000), BENCH_BACKENDS (default
//! sqlite,postgres; PostgreSQL is skipped when 127.0.0.1:5432 does not
//! answer), BENCH_SAMPLES (timed requests per page, default 100),
//! BENCH_SECONDS (each wrk run, default 10), BENCH_EXPLAIN=1 (print the plans
//! of every list page, not only of those that miss their target).
//! Needs `wrk` (Debian: apt-get install wrk).

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use diesel::Connection;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use latchkey::db::schema::api_keys;
use latchkey::db::{self, DatabaseLocation, DbConn};
use latchkey::domain::api_key::NewApiKey;
use latchkey::domain::cursor::Direction;
use latchkey::domain::key_search::{FilterContext, Position, SortValue, read_request};
use latchkey::domain::key_type::Catalogue;
use latchkey::secrets::ServerSecrets;
use support::console::{Answer, Console, median_p99};
use support::{Request, verdict};

/// How deep the deep page starts, in keys of the default order.
const DEEP: i64 = 40_000;
const WARM_UP: usize = 5;
const EMAIL: &str = "bench@example.com";
const PASSWORD: &str = "console scale bench 4417";
const POSTGRES: &str = "postgres://127.0.0.1:5432";
const LIST: &str = "/settings/integrations";
const CSV: &str = "/settings/integrations/keys.csv";
const FILTERED: &str = "/settings/integrations?type=ucd&status=active&sort=name&dir=asc";
/// Targets.
const PAGE_MEDIAN_MS: f64 = 20.0;
const PAGE_P99_MS: f64 = 50.0;
const DEEP_TO_FIRST: f64 = 2.0;
const CSV_SECONDS_PER_MILLION: f64 = 10.0;
const CSV_GROWTH_MB: f64 = 50.0;
const VERIFY_KEPT: f64 = 0.9;

struct Settings {
    samples: usize,
    seconds: u64,
    explain: bool,
}

fn main() {
    support::need_wrk();
    let sizes: Vec<usize> = env_list("BENCH_KEYS", "100000,1000000")
        .iter()
        .map(|s| s.parse().expect("BENCH_KEYS: numbers, comma-separated"))
        .collect();
    let backends = env_list("BENCH_BACKENDS", "sqlite,postgres");
    let settings = Settings {
        samples: env_number("BENCH_SAMPLES", 100),
        seconds: env_number("BENCH_SECONDS", 10) as u64,
        explain: std::env::var("BENCH_EXPLAIN").is_ok_and(|v| v == "1"),
    };
    let mut reports = Vec::new();
    for backend in &backends {
        let backend = match backend.as_str() {
            "sqlite" => Backend::Sqlite,
            "postgres" if postgres_answers() => Backend::Postgres,
            "postgres" => {
                println!("PostgreSQL does not answer at 127.0.0.1:5432: skipped.");
                continue;
            }
            other => panic!("BENCH_BACKENDS: unknown backend {other} (sqlite, postgres)"),
        };
        for &keys in &sizes {
            reports.push(run(backend, keys, &settings));
        }
    }
    print_summary(&reports, &settings);
}

fn env_list(name: &str, default: &str) -> Vec<String> {
    std::env::var(name)
        .unwrap_or_else(|_| default.to_owned())
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).map_or(default, |v| {
        v.parse().unwrap_or_else(|_| panic!("{name}: a number"))
    })
}

fn load_average() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let three: Vec<&str> = text.split_whitespace().take(3).collect();
    format!("load average {} (1, 5, 15 min)", three.join(", "))
}

/// 1234567 → "1,234,567".
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[derive(Clone, Copy, PartialEq)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn label(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

fn postgres_answers() -> bool {
    let address = "127.0.0.1:5432".parse().unwrap();
    std::net::TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_ok()
}

/// A fresh database: an SQLite file in a directory of its own, or a
/// PostgreSQL database `latchkey_bench_<random>` dropped afterwards.
struct Database {
    url: String,
    postgres_name: Option<String>,
}

impl Database {
    fn create(backend: Backend, dir: &Path) -> Database {
        if backend == Backend::Sqlite {
            return Database {
                url: dir.join("bench.db").to_string_lossy().into_owned(),
                postgres_name: None,
            };
        }
        let name = format!("latchkey_bench_{}", db::new_row_id());
        postgres_admin()
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("CREATE DATABASE");
        Database {
            url: format!("{POSTGRES}/{name}?sslmode=disable&gssencmode=disable"),
            postgres_name: Some(name),
        }
    }

    fn connect(&self) -> db::DbPool {
        let location = DatabaseLocation::parse(&self.url).unwrap();
        db::connect(&location, 1, Duration::from_secs(30)).expect("the bench database opens")
    }
}

fn postgres_admin() -> diesel::PgConnection {
    diesel::PgConnection::establish(&format!(
        "{POSTGRES}/postgres?sslmode=disable&gssencmode=disable"
    ))
    .expect("PostgreSQL at 127.0.0.1:5432")
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Some(name) = &self.postgres_name {
            let dropped = postgres_admin()
                .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            if let Err(e) = dropped {
                eprintln!("could not drop the bench database {name}: {e}");
            }
        }
    }
}

/// What one backend and size measured.
struct Report {
    title: String,
    keys: usize,
    pages: Vec<Timed>,
    csv: Option<CsvFigures>,
    verify_alone: f64,
    /// While four clients page at a person's pace, at most (the target).
    verify_paging: f64,
    pages_during: usize,
    /// While four clients page with no pause at all (for information).
    verify_flooded: f64,
    pages_flooded: usize,
    load: String,
}

struct Timed {
    label: &'static str,
    path: String,
    median: f64,
    p99: f64,
}

struct CsvFigures {
    seconds: f64,
    rows: usize,
    mb: f64,
    growth_mb: f64,
}

fn run(backend: Backend, keys: usize, settings: &Settings) -> Report {
    let title = format!("{}, {} keys", backend.label(), thousands(keys));
    println!("\n=== {title} === ({} before seeding)", load_average());
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("bench.secrets");
    let database = Database::create(backend, dir.path());
    seed(&database, &secrets, keys);
    add_user(&database, &secrets);
    let own = insert_own_key(&database, &secrets);
    let targets = Targets::read(&database, &own);
    println!(
        "searching for the name “{}”, the contact “{}”, the last four “{}”; the audit log of key {}",
        targets.name, targets.contact_part, targets.last_four, targets.id
    );
    let port = support::free_port();
    let mut server = support::start_console(Path::new(&database.url), &secrets, port, &[]);
    let base = format!("http://127.0.0.1:{port}");
    let mut report =
        actix_web::rt::System::new().block_on(measure(&base, server.id(), &targets, settings));
    server.kill().ok();
    server.wait().ok();
    report.title = title;
    report.keys = keys;
    print_report(&report);
    explain_misses(&database, &report, settings);
    report
}

/// `latchkey dev seed`, printing its own report (which includes its time).
fn seed(database: &Database, secrets: &Path, keys: usize) {
    let started = Instant::now();
    let output = latchkey_command(database, secrets)
        .args(["dev", "seed", "--keys", &keys.to_string()])
        .output()
        .expect("latchkey dev seed runs");
    assert!(
        output.status.success(),
        "latchkey dev seed failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    print!("{}", String::from_utf8_lossy(&output.stdout));
    println!(
        "(seeding took {:.1} s of wall time)",
        started.elapsed().as_secs_f64()
    );
}

fn latchkey_command(database: &Database, secrets: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    command
        .args(["--database-url", &database.url])
        .args(["--secrets-file", &secrets.to_string_lossy()])
        .env("RUST_LOG", "warn");
    command
}

/// The seed's users' passwords are unknown: the bench signs in as its own.
fn add_user(database: &Database, secrets: &Path) {
    let mut child = latchkey_command(database, secrets)
        .args(["users", "add", "--email", EMAIL, "--role", "support"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("latchkey users add runs");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "{PASSWORD}").unwrap();
    }
    assert!(child.wait().unwrap().success(), "latchkey users add failed");
}

/// One key written as the console would, whose plaintext the bench keeps
/// (for verification and for pasting into the search box).
fn insert_own_key(database: &Database, secrets: &Path) -> NewApiKey {
    let secrets = ServerSecrets::load(secrets).unwrap();
    let key = NewApiKey::generate("tsms");
    let pool = database.connect();
    diesel::insert_into(api_keys::table)
        .values(support::bench_row(&key, "", &secrets, db::now()))
        .execute(&mut *pool.get().unwrap())
        .unwrap();
    key
}

/// What the timed requests ask for, read from the database before the
/// console starts.
struct Targets {
    /// The cursor after the `DEEP`th key of the default order…
    deep_cursor: String,
    /// …and the key that follows it, first on the deep page.
    deep_first: String,
    /// A seeded key half way through by id, and its columns.
    id: String,
    name: String,
    /// The start of its contact, up to the company: `billing-7@acme`.
    contact_part: String,
    last_four: String,
    /// The bench's own key.
    own_id: String,
    own_token: String,
    /// Keys not deleted: the rows the CSV export of the whole list holds.
    live: usize,
}

impl Targets {
    fn read(database: &Database, own: &NewApiKey) -> Targets {
        let pool = database.connect();
        let mut conn = pool.get().unwrap();
        let conn: &mut DbConn = &mut conn;
        let deep: Vec<(String, chrono::NaiveDateTime)> = api_keys::table
            .filter(api_keys::deleted_at.is_null())
            .order((api_keys::created_at.desc(), api_keys::id.desc()))
            .select((api_keys::id, api_keys::created_at))
            .offset(DEEP - 1)
            .limit(2)
            .load(conn)
            .unwrap();
        assert_eq!(deep.len(), 2, "fewer than {DEEP} live keys to page through");
        let count: i64 = api_keys::table.count().get_result(conn).unwrap();
        let live: i64 = api_keys::table
            .filter(api_keys::deleted_at.is_null())
            .count()
            .get_result(conn)
            .unwrap();
        let (id, name, contact, last_four): (String, String, String, String) = api_keys::table
            .filter(api_keys::deleted_at.is_null())
            .filter(api_keys::contact_email.like(format!("%@%.{}", latchkey::seed::SEED_DOMAIN)))
            .order(api_keys::id)
            .select((
                api_keys::id,
                api_keys::name,
                api_keys::contact_email,
                api_keys::last_four,
            ))
            .offset(count / 3)
            .first(conn)
            .unwrap();
        Targets {
            deep_cursor: Position {
                value: SortValue::Time(Some(deep[0].1)),
                id: deep[0].0.clone(),
            }
            .cursor(Direction::After)
            .encode(),
            deep_first: deep[1].0.clone(),
            contact_part: contact.split('.').next().unwrap().to_owned(),
            id,
            name,
            last_four,
            own_id: own.public_id.clone(),
            own_token: own.token(),
            live: live as usize,
        }
    }
}

/// One timed request and what its answer must hold.
struct Probe {
    label: &'static str,
    request: Asks,
    expect: Expect,
}

enum Asks {
    Get(String),
    /// The search box's form post with this text.
    Search(String),
}

enum Expect {
    /// 200, with this in the body.
    Shows(String),
    /// 303 to an address with this in it.
    Redirects(String),
}

fn query(pairs: &[(&str, &str)]) -> String {
    format!("{LIST}?{}", serde_urlencoded::to_string(pairs).unwrap())
}

fn probes(t: &Targets) -> Vec<Probe> {
    let probe = |label, path: String, shows: &str| Probe {
        label,
        request: Asks::Get(path),
        expect: Expect::Shows(shows.to_owned()),
    };
    // Every listed key has a Copy button for its Key ID.
    let a_row = "data-copy-text=\"";
    vec![
        probe("first page of the key list", LIST.into(), &t.own_id),
        probe(
            "page 40,000 keys deep (keyset cursor)",
            query(&[("cursor", &t.deep_cursor)]),
            &t.deep_first,
        ),
        probe("name search", query(&[("q", &t.name)]), &t.id),
        probe(
            "contact-email search",
            query(&[("q", &t.contact_part)]),
            a_row,
        ),
        probe("last-four search", query(&[("q", &t.last_four)]), &t.id),
        Probe {
            label: "pasted whole key (POST, answers 303)",
            request: Asks::Search(t.own_token.clone()),
            expect: Expect::Redirects(format!("/keys/{}", t.own_id)),
        },
        probe("filtered + sorted page", FILTERED.into(), a_row),
        probe(
            "audit log filtered by key",
            format!("/audit?key={}", t.id),
            &t.id,
        ),
    ]
}

async fn ask(console: &Console, asks: &Asks) -> Answer {
    match asks {
        Asks::Get(path) => console.get(path).await,
        Asks::Search(q) => console.post_search(q).await,
    }
}

fn check(probe: &Probe, answer: &Answer) {
    let ok = match &probe.expect {
        Expect::Shows(text) => answer.status == 200 && answer.body.contains(text.as_str()),
        Expect::Redirects(to) => {
            answer.status == 303 && answer.location.as_deref().is_some_and(|l| l.contains(to))
        }
    };
    assert!(
        ok,
        "{}: unexpected answer {} (location {:?})",
        probe.label, answer.status, answer.location
    );
}

async fn measure(base: &str, pid: u32, t: &Targets, settings: &Settings) -> Report {
    let console = Console::sign_in(base, EMAIL, PASSWORD).await;
    let load = load_average();
    let mut pages = Vec::new();
    for probe in probes(t) {
        let mut times = Vec::with_capacity(settings.samples);
        for i in 0..WARM_UP + settings.samples {
            let answer = ask(&console, &probe.request).await;
            check(&probe, &answer);
            if i >= WARM_UP {
                times.push(answer.took);
            }
        }
        let (median, p99) = median_p99(times);
        pages.push(Timed {
            label: probe.label,
            path: match &probe.request {
                Asks::Get(path) => path.clone(),
                Asks::Search(_) => String::new(),
            },
            median,
            p99,
        });
    }
    let csv = export_csv(&console, pid, t.live).await;
    let verify_alone = verify_rps(&console, t, settings);
    let (verify_paging, pages_during) = verification(&console, t, settings, PAGING_PAUSE);
    let (verify_flooded, pages_flooded) = verification(&console, t, settings, Duration::ZERO);
    Report {
        title: String::new(),
        keys: 0,
        pages,
        csv,
        verify_alone,
        verify_paging,
        pages_during,
        verify_flooded,
        pages_flooded,
        load,
    }
}

/// Streams the whole list as CSV, sampling the server's resident memory
/// every 20 ms. `None` when this build has no export.
async fn export_csv(console: &Console, pid: u32, live: usize) -> Option<CsvFigures> {
    let before = support::resident_mb(pid);
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut peak = before;
            while !stop.load(Ordering::Relaxed) {
                peak = peak.max(support::resident_mb(pid));
                std::thread::sleep(Duration::from_millis(20));
            }
            peak
        })
    };
    let (status, lines, bytes, took) = console.count_lines(CSV).await;
    stop.store(true, Ordering::Relaxed);
    let peak = sampler.join().unwrap();
    if status == 404 {
        println!("(no CSV export in this build: {CSV} answered 404)");
        return None;
    }
    assert_eq!(status, 200, "the CSV export");
    let rows = lines.saturating_sub(1);
    if rows != live {
        println!(
            "the CSV export held {} rows, the database {} live keys",
            thousands(rows),
            thousands(live)
        );
    }
    Some(CsvFigures {
        seconds: took.as_secs_f64(),
        rows,
        mb: bytes as f64 / 1e6,
        growth_mb: peak - before,
    })
}

/// How long each paging client waits between pages: four people clicking
/// through the list as fast as anyone reads it (faster, in truth).
const PAGING_PAUSE: Duration = Duration::from_millis(250);

/// Verification requests/s with nothing else running.
fn verify_rps(console: &Console, t: &Targets, settings: &Settings) -> f64 {
    let url = console.url("/api/v1/keys/verify");
    let body = Request::Post(format!("{{\"key\":\"{}\"}}", t.own_token));
    support::run_wrk(&url, &body, 2);
    support::run_wrk(&url, &body, settings.seconds).rps
}

/// Verification requests/s while four clients page the console (each
/// looping over deep pages and searches, `pause` between pages); and how
/// many pages they got meanwhile.
fn verification(
    console: &Console,
    t: &Targets,
    settings: &Settings,
    pause: Duration,
) -> (f64, usize) {
    let url = console.url("/api/v1/keys/verify");
    let body = Request::Post(format!("{{\"key\":\"{}\"}}", t.own_token));
    let paths: Arc<Vec<String>> = Arc::new(
        probes(t)
            .into_iter()
            .filter_map(|p| match p.request {
                Asks::Get(path) if path != LIST => Some(path),
                _ => None,
            })
            .collect(),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let served = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..4)
        .map(|n| {
            let (me, paths, stop, served) =
                (console.fork(), paths.clone(), stop.clone(), served.clone());
            std::thread::spawn(move || {
                actix_web::rt::System::new().block_on(async move {
                    for path in paths.iter().cycle().skip(n) {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let answer = me.get(path).await;
                        assert_eq!(answer.status, 200, "{path} under load");
                        served.fetch_add(1, Ordering::Relaxed);
                        if !pause.is_zero() {
                            actix_web::rt::time::sleep(pause).await;
                        }
                    }
                })
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let before = served.load(Ordering::Relaxed);
    let paging = support::run_wrk(&url, &body, settings.seconds).rps;
    let during = served.load(Ordering::Relaxed) - before;
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.join().unwrap();
    }
    (paging, during)
}

fn page_verdict(t: &Timed) -> String {
    format!(
        "median < {PAGE_MEDIAN_MS} ms, p99 < {PAGE_P99_MS} ms: {}",
        verdict(t.median < PAGE_MEDIAN_MS && t.p99 < PAGE_P99_MS)
    )
}

fn print_report(r: &Report) {
    println!(
        "\n{}: response times measured at the client over loopback (127.0.0.1), one request \
         at a time on a kept-alive connection, whole body read; {WARM_UP} warm-up requests, \
         then the timed ones ({}).",
        r.title, r.load
    );
    println!(
        "{:<40} {:>10} {:>10}   target",
        "request", "median ms", "p99 ms"
    );
    for t in &r.pages {
        println!(
            "{:<40} {:>10.2} {:>10.2}   {}",
            t.label,
            t.median,
            t.p99,
            page_verdict(t)
        );
    }
    let ratio = r.pages[1].median / r.pages[0].median;
    println!(
        "deep page / first page (median): {ratio:.2}x (<= {DEEP_TO_FIRST}x: {})",
        verdict(ratio <= DEEP_TO_FIRST)
    );
    match &r.csv {
        Some(c) => {
            let limit = CSV_SECONDS_PER_MILLION * r.keys as f64 / 1e6;
            println!(
                "CSV export of the whole list: {} rows, {:.1} MB in {:.2} s (< {limit:.1} s, i.e. \
                 {CSV_SECONDS_PER_MILLION} s per 1,000,000 rows: {}); server resident memory +{:.1} MB \
                 at peak (< {CSV_GROWTH_MB} MB: {})",
                thousands(c.rows),
                c.mb,
                c.seconds,
                verdict(c.seconds < limit),
                c.growth_mb,
                verdict(c.growth_mb < CSV_GROWTH_MB)
            );
        }
        None => println!("CSV export: not in this build"),
    }
    let kept = r.verify_paging / r.verify_alone;
    println!(
        "verification (wrk -t2 -c64): {:.0} requests/s alone, {:.0} requests/s while 4 clients \
         page the console every {} ms ({} pages served meanwhile): {:.0}% kept (>= {:.0}%: {})",
        r.verify_alone,
        r.verify_paging,
        PAGING_PAUSE.as_millis(),
        thousands(r.pages_during),
        kept * 100.0,
        VERIFY_KEPT * 100.0,
        verdict(kept >= VERIFY_KEPT)
    );
    println!(
        "  (for information: {:.0} requests/s, {:.0}% kept, while the 4 clients page with no \
         pause at all, {} pages served meanwhile; two cores are shared by wrk, the console and them)",
        r.verify_flooded,
        100.0 * r.verify_flooded / r.verify_alone,
        thousands(r.pages_flooded)
    );
}

/// For each list page that missed its target (or every one, with
/// BENCH_EXPLAIN=1): the statements it runs, with their plans.
fn explain_misses(database: &Database, report: &Report, settings: &Settings) {
    let misses: Vec<&Timed> = report
        .pages
        .iter()
        .filter(|t| t.path.starts_with(LIST))
        .filter(|t| settings.explain || t.median >= PAGE_MEDIAN_MS || t.p99 >= PAGE_P99_MS)
        .collect();
    if misses.is_empty() {
        return;
    }
    let pool = database.connect();
    let mut conn = pool.get().unwrap();
    let conn: &mut DbConn = &mut conn;
    let people: Vec<(String, String)> = latchkey::db::users::list(conn)
        .unwrap()
        .into_iter()
        .map(|u| (u.id, u.email))
        .collect();
    let catalogue = Catalogue::default_catalogue();
    let cx = FilterContext {
        now: db::now(),
        catalogue: &catalogue,
        people: &people,
    };
    for t in misses {
        let query = t.path.split_once('?').map_or("", |(_, q)| q);
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
        let request = read_request(&pairs, &cx).expect("a valid list request");
        println!("\nplan of “{}” ({}):", t.label, t.path);
        let statements =
            latchkey::db::key_search::explain_page(conn, &request, 20).expect("EXPLAIN runs");
        for s in statements {
            println!(
                "  {} rows ← {}\n{}",
                s.rows,
                s.sql,
                indent(&s.plan, "      ")
            );
        }
    }
}

fn indent(text: &str, by: &str) -> String {
    text.lines()
        .map(|l| format!("{by}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every run again, side by side, as a Markdown table for the README.
fn print_summary(reports: &[Report], settings: &Settings) {
    if reports.is_empty() {
        return;
    }
    println!(
        "\nSummary: median / p99 ms at the client over loopback, {} requests each after {WARM_UP} warm-up.",
        settings.samples
    );
    let heads: Vec<&str> = reports.iter().map(|r| r.title.as_str()).collect();
    println!("| request | {} |", heads.join(" | "));
    println!("|---|{}", "---|".repeat(reports.len()));
    for (i, t) in reports[0].pages.iter().enumerate() {
        let cells: Vec<String> = reports
            .iter()
            .map(|r| format!("{:.1} / {:.1}", r.pages[i].median, r.pages[i].p99))
            .collect();
        println!("| {} | {} |", t.label, cells.join(" | "));
    }
    let cells: Vec<String> = reports
        .iter()
        .map(|r| match &r.csv {
            Some(c) => format!("{:.1} s, +{:.0} MB", c.seconds, c.growth_mb),
            None => "not in this build".into(),
        })
        .collect();
    println!("| CSV export, whole list | {} |", cells.join(" | "));
    let cells: Vec<String> = reports
        .iter()
        .map(|r| {
            format!(
                "{:.0} → {:.0} ({:.0}%)",
                r.verify_alone,
                r.verify_paging,
                100.0 * r.verify_paging / r.verify_alone
            )
        })
        .collect();
    println!(
        "| verification req/s alone → with 4 clients paging every {} ms | {} |",
        PAGING_PAUSE.as_millis(),
        cells.join(" | ")
    );
    let cells: Vec<String> = reports
        .iter()
        .map(|r| {
            format!(
                "{:.0} ({:.0}%)",
                r.verify_flooded,
                100.0 * r.verify_flooded / r.verify_alone
            )
        })
        .collect();
    println!(
        "| verification req/s with 4 clients paging without pause | {} |",
        cells.join(" | ")
    );
    println!("({})", load_average());
}
