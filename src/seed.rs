//! `latchkey dev seed --keys N`: a development database of realistic keys,
//! for trying the console and measuring it at scale.
//!
//! Rows respect the schema and nothing else (per-type limits are ignored).
//! Every seeded key and user has an address under [`SEED_DOMAIN`], which is
//! how a later run tells a seeded database from one holding real keys. Key
//! material comes from the operating system's generator like real keys (the
//! secrets are then forgotten); names, dates and the rest come from a fast
//! deterministic mix of the row number.

use std::time::Instant;

use anyhow::{Context, bail};
use chrono::{Duration, NaiveDateTime};

use crate::config::StorageArgs;
use crate::db::audit::{self, NewAuditRow, action};
use crate::db::keys::{KeyDetails, NewKeyRow, SeededKeyRow};
use crate::db::request_log::NewLoggedRequest;
use crate::db::usage::NewUsageRow;
use crate::db::{self, DatabaseLocation, DbConn, users};
use crate::domain::api_key::{NewApiKey, PUBLIC_ID_LEN};
use crate::domain::key_type::{Catalogue, KeyType};
use crate::domain::request_log::{Attempt, Detail, KEEP_DAYS};
use crate::domain::role::Role;
use crate::domain::verdict::Outcome;
use crate::domain::{password, token};
use crate::secrets::ServerSecrets;

/// Every seeded address ends with this (`.test` is reserved for testing).
pub const SEED_DOMAIN: &str = "seed.latchkey.test";
/// Rows written per statement and per transaction.
const BATCH: usize = 1_000;
const BATCHES_PER_TRANSACTION: usize = 20;

const TEAMS: &[&str] = &[
    "Checkout",
    "Billing",
    "Search",
    "Mobile",
    "Growth",
    "Support",
    "Data",
    "Partners",
    "Email",
    "Loyalty",
    "Warehouse",
    "Analytics",
];
const USES: &[&str] = &[
    "production",
    "staging",
    "nightly export",
    "webhook relay",
    "CRM sync",
    "campaign sender",
    "reporting",
    "integration test",
];
const COMPANIES: &[&str] = &["acme", "globex", "initech", "umbrella", "hooli", "vandelay"];
const CREATORS: &[(&str, Role)] = &[
    ("ada", Role::Administrator),
    ("grace", Role::Administrator),
    ("linus", Role::Support),
    ("margaret", Role::Viewer),
];

/// What one run wrote.
#[derive(Debug, PartialEq, Eq)]
pub struct Seeded {
    pub keys: usize,
    pub usage_rows: usize,
    pub logged_requests: usize,
    pub audit_events: usize,
}

pub fn seed(
    storage: &StorageArgs,
    catalogue: &Catalogue,
    keys: u32,
    force: bool,
) -> anyhow::Result<()> {
    let location = DatabaseLocation::parse(&storage.database_url)?;
    let pool = db::connect(&location, 1, storage.db_wait())?;
    let secrets_path = storage
        .secrets_file
        .clone()
        .unwrap_or_else(|| location.default_secrets_path());
    let secrets = ServerSecrets::load(&secrets_path)?;
    let mut conn = pool.get().context("opening the database")?;
    if !force && db::keys::any_contact_outside(&mut conn, SEED_DOMAIN)? {
        bail!(
            "this database holds keys that `latchkey dev seed` did not make; it is for development \
             databases only (add --force to seed it anyway)"
        );
    }
    if let DbConn::Sqlite(_) = &mut *conn {
        // Random ids land all over the indexes: with SQLite's default 2 MB
        // page cache, a million inserts spend most of their time re-reading
        // index pages. Development data also needs no sync to disk per
        // transaction, nor a checkpoint every 4 MB of log. This connection
        // only, for this run (measured: 108 s for 1,000,000 keys without
        // these, 55 s with them).
        diesel::connection::SimpleConnection::batch_execute(
            &mut *conn,
            "PRAGMA cache_size = -262144; PRAGMA synchronous = OFF; PRAGMA wal_autocheckpoint = 100000",
        )?;
    }
    let started = Instant::now();
    let seeded = db::bulk::with_deferred_indexes(
        &mut conn,
        "api_keys",
        |conn| write(conn, catalogue, &secrets, keys as usize, db::now()),
        |conn| Ok(db::key_search::index_new_keys(conn)?),
    )?;
    println!(
        "Seeded {} keys and their history ({} usage rows, {} logged requests, {} audit events) \
         in {:.1} s ({}). A console already running loads them for verification when restarted.",
        seeded.keys,
        seeded.usage_rows,
        seeded.logged_requests,
        seeded.audit_events,
        started.elapsed().as_secs_f64(),
        location.describe()
    );
    Ok(())
}

/// Writes `count` keys made by the seed's creators, as of `now`.
pub fn write(
    conn: &mut DbConn,
    catalogue: &Catalogue,
    secrets: &ServerSecrets,
    count: usize,
    now: NaiveDateTime,
) -> anyhow::Result<Seeded> {
    let creators = creators(conn, now)?;
    let (hasher, secret_box) = (secrets.hasher(), secrets.secret_box());
    let types = catalogue.all();
    let mut seeded = Seeded {
        keys: 0,
        usage_rows: 0,
        logged_requests: 0,
        audit_events: 0,
    };
    // Creations, deletions (one key in fifty) and sign-ins (one per twenty keys).
    let mut events = Vec::with_capacity(count + count / 50 + count / 20 + 1);
    let mut next = 0;
    while next < count {
        let end = (next + BATCH * BATCHES_PER_TRANSACTION).min(count);
        // Diesel's own transaction, so that inside `db::bulk` it is a savepoint.
        diesel::Connection::transaction(conn, |conn| {
            for start in (next..end).step_by(BATCH) {
                let rows: Vec<SeededKeyRow> = (start..(start + BATCH).min(end))
                    .map(|i| {
                        let key_type = &types[i % types.len()];
                        let key = NewApiKey::generate(&key_type.code);
                        let row = NewKeyRow::new(
                            &key,
                            key_type.scheme,
                            &hasher,
                            &secret_box,
                            details(i, &creators, now),
                        );
                        seeded_row(i, row, now)
                    })
                    .collect();
                let rows = roll_some(start, rows, now);
                events.extend(
                    rows.iter()
                        .enumerate()
                        .flat_map(|(n, row)| PlannedEvent::for_key(start + n, row)),
                );
                let usage = usage_for(&rows, now);
                seeded.keys += db::keys::insert_seeded(conn, &rows)?;
                for chunk in usage.chunks(BATCH) {
                    seeded.usage_rows += db::usage::insert_new(conn, chunk)?;
                }
                seeded.logged_requests += write_request_log(conn, start, &rows, now)?;
            }
            Ok::<_, diesel::result::Error>(())
        })?;
        next = end;
    }
    seeded.audit_events = write_audit_events(conn, catalogue, &creators, events, count, now)?;
    Ok(seeded)
}

/// A seeded user who creates keys.
struct Creator {
    id: String,
    email: String,
}

/// The seed's users (found or added): keys need creators to show.
fn creators(conn: &mut DbConn, now: NaiveDateTime) -> anyhow::Result<Vec<Creator>> {
    let mut found = Vec::new();
    for (name, role) in CREATORS {
        let email = format!("{name}@{SEED_DOMAIN}");
        if let Some(user) = users::find_by_email(conn, &email)? {
            found.push(Creator { id: user.id, email });
            continue;
        }
        let id = db::new_row_id();
        // Nobody knows this password: seeded users never sign in.
        let hash = password::hash(&token::random_token());
        users::insert(
            conn,
            &users::NewUser {
                id: &id,
                email: &email,
                password_hash: &hash,
                role: role.as_str(),
                disabled: false,
                created_at: now,
            },
        )?;
        found.push(Creator { id, email });
    }
    Ok(found)
}

/// A fast, well-spread number for row `i` and purpose `salt` (splitmix64).
fn mix(i: usize, salt: u64) -> u64 {
    let mut z = (i as u64) ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn pick<'a>(list: &[&'a str], i: usize, salt: u64) -> &'a str {
    list[(mix(i, salt) % list.len() as u64) as usize]
}

/// Row `i`'s name, contact, trusted IPs, creator, dates and rate limit: a
/// third of keys have trusted IPs; one in ten has expired, one in ten expires
/// within 30 days; one in seven has a rate limit.
fn details(i: usize, creators: &[Creator], now: NaiveDateTime) -> KeyDetails {
    let created_at = now
        - Duration::days((mix(i, 2) % 730) as i64)
        - Duration::seconds((mix(i, 3) % 86_400) as i64);
    let expires_at = match i % 10 {
        1 => Some(now - Duration::days(1 + (mix(i, 4) % 200) as i64)),
        2 => Some(now + Duration::days(1 + (mix(i, 4) % 30) as i64)),
        3 => Some(now + Duration::days(31 + (mix(i, 4) % 700) as i64)),
        _ => None,
    };
    let allowed_ips = match i % 3 {
        0 => format!(
            "203.0.113.{}\n198.51.100.0/24\n2001:db8:{:x}::/48",
            mix(i, 5) % 256,
            mix(i, 6) % 0xffff
        ),
        _ => String::new(),
    };
    KeyDetails {
        name: key_name(i),
        contact_email: format!(
            "{}-{}@{}.{SEED_DOMAIN}",
            pick(TEAMS, i, 1).to_lowercase(),
            mix(i, 8) % 50,
            pick(COMPANIES, i, 9)
        ),
        allowed_ips,
        created_by: Some(creators[i % creators.len()].id.clone()),
        created_at,
        expires_at: expires_at.filter(|at| *at > created_at),
        rate_limit: i
            .is_multiple_of(7)
            .then(|| (60 * (1 + mix(i, 10) % 100)) as i32),
    }
}

/// Row `i`'s name, such as "Billing nightly export 42".
fn key_name(i: usize) -> String {
    format!("{} {} {i}", pick(TEAMS, i, 1), pick(USES, i, 7))
}

/// One key in a hundred and one was rolled to the next one, with a grace
/// period that ended or still runs.
fn roll_some(start: usize, mut rows: Vec<SeededKeyRow>, now: NaiveDateTime) -> Vec<SeededKeyRow> {
    for n in 0..rows.len().saturating_sub(1) {
        let i = start + n;
        if i % 101 != 5 || rows[n].deleted_at.is_some() || rows[n + 1].deleted_at.is_some() {
            continue;
        }
        let (old, new) = (rows[n].key.id.clone(), rows[n + 1].key.id.clone());
        let hours = (mix(i, 17) % (24 * 14)) as i64 - 24 * 7;
        rows[n].replaced_by = Some(new);
        rows[n].stops_at = Some(now + Duration::hours(hours));
        rows[n + 1].replaces = Some(old);
    }
    rows
}

/// Three keys in four were used (within the last 120 days); one in fifty was
/// deleted, one in two hundred switched off, one in a thousand reported leaked.
fn seeded_row(i: usize, key: NewKeyRow, now: NaiveDateTime) -> SeededKeyRow {
    let disabled_at = (i % 200 == 11 || i % 1000 == 13)
        .then(|| now - Duration::hours((mix(i, 18) % (24 * 60)) as i64));
    let leaked_at = (i % 1000 == 13).then_some(now - Duration::hours((mix(i, 19) % 200) as i64));
    let used = !i.is_multiple_of(4);
    let last_used_at = used
        .then(|| now - Duration::minutes((mix(i, 11) % (120 * 24 * 60)) as i64))
        .filter(|at| *at > key.created_at);
    SeededKeyRow {
        last_used_ip: last_used_at.map(|_| format!("203.0.113.{}", mix(i, 12) % 256)),
        last_used_at,
        deleted_at: (i % 50 == 7).then_some(now - Duration::days((mix(i, 13) % 30) as i64)),
        disabled_by: disabled_at.map(|_| {
            if leaked_at.is_some() {
                crate::db::keys::LEAK_REPORT.to_owned()
            } else {
                "admin@company.example".to_owned()
            }
        }),
        disabled_at,
        leaked_where: leaked_at
            .map(|_| format!("https://github.com/example/app-{i}/blob/main/.env")),
        leaked_at,
        ..SeededKeyRow::of(key)
    }
}

/// Daily counts for one used key in twenty, over its last week.
fn usage_for(rows: &[SeededKeyRow], now: NaiveDateTime) -> Vec<NewUsageRow> {
    let mut usage = Vec::new();
    for (n, row) in rows.iter().enumerate() {
        let Some(last) = row.last_used_at else {
            continue;
        };
        if !mix(n, 14).is_multiple_of(20) {
            continue;
        }
        for back in 0..7 {
            let at = last - Duration::days(back);
            if at.date() > now.date() || at < row.key.created_at {
                continue;
            }
            let day = at.date().format("%Y-%m-%d").to_string();
            let valid = 1 + (mix(n, 15 + back as u64) % 5_000) as i64;
            if back % 3 == 0 {
                usage.push(NewUsageRow {
                    key_id: row.key.id.clone(),
                    day: day.clone(),
                    outcome: "IP_NOT_ALLOWED",
                    count: 1 + valid / 50,
                });
            }
            usage.push(NewUsageRow {
                key_id: row.key.id.clone(),
                day,
                outcome: "VALID",
                count: valid,
            });
        }
    }
    usage
}

/// Writes recent attempts for the keys used in the last week that have daily
/// counts and one in three of the others (two to six each, between a week
/// ago and the last use): mostly valid, with the
/// refusals their settings bring (an address outside the trusted IPs,
/// expiry, the rate limit).
fn write_request_log(
    conn: &mut DbConn,
    first: usize,
    rows: &[SeededKeyRow],
    now: NaiveDateTime,
) -> diesel::QueryResult<usize> {
    let week_ago = now - Duration::days(KEEP_DAYS);
    let mut logged = Vec::new();
    for (n, row) in rows.iter().enumerate() {
        let i = first + n;
        let Some(last) = row.last_used_at.filter(|last| *last > week_ago) else {
            continue;
        };
        // Every key with daily counts (see `usage_for`), and a third of the rest.
        let counted = mix(n, 14).is_multiple_of(20);
        if !(counted || mix(i, 16).is_multiple_of(3)) || row.deleted_at.is_some() {
            continue;
        }
        let since = week_ago.max(row.key.created_at);
        let window = (last - since).num_seconds().max(1) as u64;
        for j in 0..2 + mix(i, 17) % 5 {
            let at = last - Duration::seconds((mix(i, 18 + j) % window) as i64);
            let attempt = seeded_attempt(i, j, row, at);
            logged.push(NewLoggedRequest {
                key_id: row.key.id.clone(),
                at,
                seq: mix(i, 30 + j) as i64,
                outcome: attempt.outcome.code(),
                client_ip: attempt.client_ip.map(|ip| ip.to_string()),
                reason: attempt.reason(),
            });
        }
    }
    db::request_log::insert(conn, &logged)
}

/// Attempt `j` of row `i`: what its settings make likely.
fn seeded_attempt(i: usize, j: u64, row: &SeededKeyRow, at: NaiveDateTime) -> Attempt {
    let host = mix(i, 40 + j) % 254 + 1;
    let valid_from = if row.key.allowed_ips.is_empty() {
        format!("192.0.2.{host}")
    } else {
        format!("198.51.100.{host}")
    };
    let (outcome, detail, ip) = match (mix(i, 50 + j) % 4, &row.key) {
        // Expiry is the first rule: every attempt after it is refused for it.
        (_, key) if key.expires_at.is_some_and(|e| e <= at) => (
            Outcome::Expired,
            Detail::Expired {
                at: key.expires_at.unwrap_or(at),
            },
            valid_from,
        ),
        (0, key) if !key.allowed_ips.is_empty() => (
            Outcome::IpNotAllowed,
            Detail::None,
            // Not the key's one trusted 203.0.113.x address (see `details`).
            format!("203.0.113.{}", (mix(i, 5) % 256 + 1 + host % 200) % 256),
        ),
        (2, key) if key.rate_limit.is_some() => (
            Outcome::RateLimited,
            Detail::RateLimited {
                retry_after: 1 + mix(i, 60 + j) % 30,
            },
            valid_from,
        ),
        _ => (Outcome::Valid, Detail::None, valid_from),
    };
    Attempt {
        at,
        outcome,
        client_ip: ip.parse().ok(),
        detail,
    }
}

/// One audit event the seed will write, small enough that a million can be
/// held and sorted by time before any is spelled out.
#[derive(Debug, Clone, Copy)]
struct PlannedEvent {
    at: NaiveDateTime,
    what: Planned,
}

type PublicId = [u8; PUBLIC_ID_LEN];

#[derive(Debug, Clone, Copy)]
enum Planned {
    /// Row `i`'s key (its public id) was generated by its creator.
    Created { i: usize, key: PublicId },
    /// ... and deleted.
    Deleted { i: usize, key: PublicId },
    /// Creator `n % creators` signed in (or failed to).
    SignIn { n: usize, failed: bool },
}

impl PlannedEvent {
    /// A seeded key's creation and, if it is deleted, its deletion.
    fn for_key(i: usize, row: &SeededKeyRow) -> impl Iterator<Item = PlannedEvent> {
        let key: PublicId = row
            .key
            .id
            .as_bytes()
            .try_into()
            .expect("public ids have one length");
        let created = PlannedEvent {
            at: row.key.created_at,
            what: Planned::Created { i, key },
        };
        let deleted = row.deleted_at.map(|at| PlannedEvent {
            at: at.max(row.key.created_at),
            what: Planned::Deleted { i, key },
        });
        std::iter::once(created).chain(deleted)
    }

    /// Sign-in `n`: some time in the last two years; one in ten failed.
    fn sign_in(n: usize, now: NaiveDateTime) -> PlannedEvent {
        PlannedEvent {
            at: now
                - Duration::days((mix(n, 20) % 730) as i64)
                - Duration::seconds((mix(n, 21) % 86_400) as i64),
            what: Planned::SignIn {
                n,
                failed: n % 10 == 3,
            },
        }
    }

    fn row(&self, id: String, types: &[KeyType], creators: &[Creator]) -> NewAuditRow {
        let (creator, action, key_id, detail) = match self.what {
            Planned::Created { i, key } => (
                &creators[i % creators.len()],
                action::KEY_CREATED,
                Some(key),
                format!("{} ({})", key_name(i), types[i % types.len()].code),
            ),
            Planned::Deleted { i, key } => (
                &creators[i % creators.len()],
                action::KEY_DELETED,
                Some(key),
                key_name(i),
            ),
            Planned::SignIn { n, failed } => (
                &creators[n % creators.len()],
                if failed {
                    action::LOGIN_FAILED
                } else {
                    action::LOGIN
                },
                None,
                String::new(),
            ),
        };
        let n = match self.what {
            Planned::Created { i, .. } | Planned::Deleted { i, .. } => i,
            Planned::SignIn { n, .. } => n,
        };
        NewAuditRow {
            id,
            at: self.at,
            actor_id: (action != action::LOGIN_FAILED).then(|| creator.id.clone()),
            actor_email: Some(creator.email.clone()),
            action: action.to_owned(),
            key_id: key_id.map(|k| String::from_utf8_lossy(&k).into_owned()),
            client_ip: Some(format!("198.51.100.{}", mix(n, 22) % 256)),
            detail,
        }
    }
}

/// The audit log of the seeded keys: each key's creation by its creator (and
/// deletion, for deleted ones), and one sign-in per twenty keys by the
/// creators, one in ten failed. Written oldest first with ids that grow, so
/// the primary key's index is only appended to (and on PostgreSQL, which
/// keeps its indexes while writing, so are all but the Key ID's).
fn write_audit_events(
    conn: &mut DbConn,
    catalogue: &Catalogue,
    creators: &[Creator],
    mut events: Vec<PlannedEvent>,
    keys: usize,
    now: NaiveDateTime,
) -> anyhow::Result<usize> {
    events.extend((0..keys / 20).map(|n| PlannedEvent::sign_in(n, now)));
    events.sort_unstable_by_key(|e| e.at);
    // Ids: this run's random half, then the event's place in time order.
    let run = hex::encode(token::random_bytes::<8>());
    let types = catalogue.all();
    let batches = events.chunks(BATCH).enumerate().map(|(b, batch)| {
        batch
            .iter()
            .enumerate()
            .map(|(n, e)| e.row(format!("{run}{:016x}", b * BATCH + n), types, creators))
            .collect::<Vec<_>>()
    });
    audit::insert_many(conn, batches)
}
