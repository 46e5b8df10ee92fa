//! Sign-in attempt counters, shared by every instance. Each attempt reads and
//! writes its three rows in one transaction with the rows locked, so parallel
//! attempts, on one instance or many, are counted one after another.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::audit::{self, AuditEvent, action};
use crate::db::schema::login_throttle;
use crate::db::{DbConn, write_transaction};
use crate::domain::throttle::{Attempts, Counters, KNOWN_FOR, Kind, Reservation, Subject, WINDOW};

/// A whole row, in the table's column order.
#[derive(Queryable)]
struct Row {
    subject: String,
    failures: i32,
    window_start: NaiveDateTime,
    locked_until: Option<NaiveDateTime>,
    refused: i32,
    last_success_at: Option<NaiveDateTime>,
}

impl Row {
    fn attempts(&self) -> Attempts {
        Attempts {
            failures: self.failures,
            window_start: self.window_start,
            locked_until: self.locked_until,
            refused: self.refused,
            last_success_at: self.last_success_at,
        }
    }
}

/// The row keys of one attempt's pair, address and account.
fn keys(account: &str, address: &str) -> [String; 3] {
    [
        Subject::Pair {
            account: account.to_owned(),
            address: address.to_owned(),
        },
        Subject::Address(address.to_owned()),
        Subject::Account(account.to_owned()),
    ]
    .map(|s| s.key())
}

/// Loads the attempt's rows locked (creating missing ones), lets `change`
/// update them, and writes back what changed, all in one transaction.
fn with_counters<T>(
    conn: &mut DbConn,
    account: &str,
    address: &str,
    now: NaiveDateTime,
    change: impl FnOnce(&mut Counters) -> T,
) -> QueryResult<T> {
    let [pair_key, address_key, account_key] = keys(account, address);
    // One locking order for every transaction, so two never wait on each other.
    let mut sorted = [&pair_key, &address_key, &account_key];
    sorted.sort();
    write_transaction(conn, |conn| {
        let fresh = Attempts::fresh(now);
        let new_rows: Vec<_> = sorted
            .iter()
            .map(|key| {
                (
                    login_throttle::subject.eq(*key),
                    login_throttle::failures.eq(0),
                    login_throttle::window_start.eq(now),
                )
            })
            .collect();
        crate::on_backend!(&mut *conn, |c| diesel::insert_into(login_throttle::table)
            .values(&new_rows)
            .on_conflict_do_nothing()
            .execute(c))?;
        let query = login_throttle::table
            .filter(login_throttle::subject.eq_any(sorted))
            .order(login_throttle::subject);
        let rows: Vec<Row> = match conn {
            DbConn::Postgres(c) => query.for_update().load(c)?,
            // BEGIN IMMEDIATE already holds the database's write lock.
            DbConn::Sqlite(c) => query.load(c)?,
        };
        let find = |key: &str| {
            rows.iter()
                .find(|r| r.subject == key)
                .map(Row::attempts)
                .unwrap_or(fresh)
        };
        let before = Counters {
            pair: find(&pair_key),
            address: find(&address_key),
            account: find(&account_key),
        };
        let mut after = before;
        let answer = change(&mut after);
        for (key, was, now) in [
            (&pair_key, before.pair, after.pair),
            (&address_key, before.address, after.address),
            (&account_key, before.account, after.account),
        ] {
            if was != now {
                store(conn, key, &now)?;
            }
        }
        Ok(answer)
    })
}

fn store(conn: &mut DbConn, key: &str, attempts: &Attempts) -> QueryResult<()> {
    diesel::update(login_throttle::table.find(key))
        .set((
            login_throttle::failures.eq(attempts.failures),
            login_throttle::window_start.eq(attempts.window_start),
            login_throttle::locked_until.eq(attempts.locked_until),
            login_throttle::refused.eq(attempts.refused),
            login_throttle::last_success_at.eq(attempts.last_success_at),
        ))
        .execute(conn)
        .map(drop)
}

/// Reserves a sign-in attempt for `account` from `address` (see `domain::throttle`).
/// An attempt a lock refuses is settled with a plain read and one atomic
/// increment, so a flood from a locked address never queues on row locks.
pub fn reserve(
    conn: &mut DbConn,
    account: &str,
    address: &str,
    now: NaiveDateTime,
) -> QueryResult<Reservation> {
    let [pair_key, address_key, account_key] = keys(account, address);
    let rows: Vec<Row> = login_throttle::table
        .filter(login_throttle::subject.eq_any([&pair_key, &address_key, &account_key]))
        .load(conn)?;
    let find = |key: &str| {
        rows.iter()
            .find(|r| r.subject == key)
            .map(Row::attempts)
            .unwrap_or_else(|| Attempts::fresh(now))
    };
    let seen = Counters {
        pair: find(&pair_key),
        address: find(&address_key),
        account: find(&account_key),
    };
    if let Some(refused @ Reservation::Refused { by, .. }) = seen.refusal(now) {
        let key = match by {
            Kind::Pair => &pair_key,
            Kind::Address => &address_key,
            Kind::Account => &account_key,
        };
        diesel::update(login_throttle::table.find(key))
            .set(login_throttle::refused.eq(login_throttle::refused + 1))
            .execute(conn)?;
        return Ok(refused);
    }
    with_counters(conn, account, address, now, |c| c.reserve(now))
}

/// The reserved attempt had the right password.
pub fn succeeded(
    conn: &mut DbConn,
    account: &str,
    address: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    with_counters(conn, account, address, now, |c| c.succeeded(now))
}

/// The reserved attempt was never checked: take it back.
pub fn release(
    conn: &mut DbConn,
    account: &str,
    address: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    with_counters(conn, account, address, now, Counters::release)
}

/// Lifts every lock and slow-down on an account (and on an address, if
/// given), keeping the addresses it is known from. Returns how many rows
/// held a lock or failures.
pub fn unlock(conn: &mut DbConn, account: &str, address: Option<&str>) -> QueryResult<usize> {
    let (start, end) = Subject::pair_range(account);
    let mut keys = vec![Subject::Account(account.to_owned()).key()];
    if let Some(address) = address {
        keys.push(Subject::Address(address.to_owned()).key());
    }
    diesel::update(
        login_throttle::table
            .filter(
                login_throttle::subject
                    .eq_any(&keys)
                    .or(login_throttle::subject
                        .ge(&start)
                        .and(login_throttle::subject.lt(&end))),
            )
            .filter(
                login_throttle::failures
                    .gt(0)
                    .or(login_throttle::locked_until.is_not_null()),
            ),
    )
    .set((
        login_throttle::failures.eq(0),
        login_throttle::locked_until.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)
}

/// Housekeeping, run now and then by every instance: attempts refused while a
/// lock held are summarised in one audit row per lock once it has ended,
/// and rows that no longer say anything are deleted. Returns how many
/// summaries were written.
pub fn sweep(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<usize> {
    let ended: Vec<(String, i32)> = login_throttle::table
        .filter(login_throttle::refused.gt(0))
        .filter(
            login_throttle::locked_until
                .is_null()
                .or(login_throttle::locked_until.le(now)),
        )
        .select((login_throttle::subject, login_throttle::refused))
        .limit(500)
        .load(conn)?;
    let mut written = 0;
    for (key, refused) in ended {
        written += write_transaction(conn, |conn| {
            // Only the instance that resets the count writes the summary.
            let taken = diesel::update(
                login_throttle::table
                    .find(&key)
                    .filter(login_throttle::refused.eq(refused)),
            )
            .set(login_throttle::refused.eq(0))
            .execute(conn)?;
            if taken == 1
                && let Some(subject) = Subject::parse(&key)
            {
                let (account, address) = subject.parts();
                audit::record(
                    conn,
                    &AuditEvent {
                        actor_email: account.map(str::to_owned),
                        action: action::LOCKOUT_REFUSED,
                        client_ip: address.map(str::to_owned),
                        detail: format!(
                            "{refused} attempt{} refused without a password check while {} was paused",
                            if refused == 1 { "" } else { "s" },
                            subject.describe()
                        ),
                        ..AuditEvent::default()
                    },
                )?;
            }
            Ok::<_, diesel::result::Error>(taken)
        })?;
    }
    diesel::delete(
        login_throttle::table
            .filter(login_throttle::window_start.le(now - WINDOW))
            .filter(login_throttle::refused.eq(0))
            .filter(
                login_throttle::locked_until
                    .is_null()
                    .or(login_throttle::locked_until.le(now)),
            )
            .filter(
                login_throttle::last_success_at
                    .is_null()
                    .or(login_throttle::last_success_at.le(now - KNOWN_FOR)),
            ),
    )
    .execute(conn)?;
    Ok(written)
}

/// The stored counters of one subject, for tests and the command line.
pub fn load(conn: &mut DbConn, subject: &Subject) -> QueryResult<Option<Attempts>> {
    login_throttle::table
        .find(subject.key())
        .first::<Row>(conn)
        .optional()
        .map(|row| row.map(|r| r.attempts()))
}
