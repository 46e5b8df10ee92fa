//! Slowing down and locking out password guessing, without handing a stranger
//! the power to lock anyone out.
//!
//! Every attempt is counted against three subjects: the account and client
//! address *pair*, the client *address*, and the *account* from anywhere. An
//! attempt is reserved (counted as a failure) before its password is checked,
//! in the same transaction that reads the counters, so a burst of parallel
//! guesses is counted one by one and the ones past a limit are refused
//! without a password check. A success takes its reservation back.
//!
//! - A pair locks after [`PAIR_LOCK_AFTER`] failures: that address can no
//!   longer guess at that account for [`LOCK_FOR`].
//! - An address locks after [`ADDRESS_LOCK_AFTER`] failures over any accounts
//!   (offices share an address, so the limit is higher).
//! - An account never locks. Past [`ACCOUNT_SLOW_AFTER`] failures from
//!   anywhere it is *slowed*: addresses it has never signed in from get one
//!   attempt per [`SLOW_GAP`] between them, while addresses it signed in from
//!   within [`KNOWN_FOR`] are not slowed. A stranger can make guessing slow
//!   but cannot keep the owner out.

use chrono::{Duration, NaiveDateTime};

pub const WINDOW: Duration = Duration::minutes(15);
pub const LOCK_FOR: Duration = Duration::minutes(15);
pub const PAIR_LOCK_AFTER: i32 = 5;
pub const ADDRESS_LOCK_AFTER: i32 = 20;
pub const ACCOUNT_SLOW_AFTER: i32 = 10;
pub const SLOW_GAP: Duration = Duration::seconds(10);
/// How long a successful sign-in makes its address known to the account.
pub const KNOWN_FOR: Duration = Duration::days(90);
/// Failures on an account before its answers start to slow down.
const FREE_FAILURES: i32 = 2;
const MAX_DELAY_MS: i64 = 4_000;

/// What a counter row counts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Subject {
    Pair { account: String, address: String },
    Address(String),
    Account(String),
}

impl Subject {
    /// The row key. Email addresses never contain a newline or `|` after the
    /// address part is split off from the right.
    pub fn key(&self) -> String {
        match self {
            Subject::Pair { account, address } => format!("pair:{account}|{address}"),
            Subject::Address(address) => format!("ip:{address}"),
            Subject::Account(account) => format!("account:{account}"),
        }
    }

    pub fn parse(key: &str) -> Option<Subject> {
        if let Some(rest) = key.strip_prefix("pair:") {
            let (account, address) = rest.rsplit_once('|')?;
            return Some(Subject::Pair {
                account: account.to_owned(),
                address: address.to_owned(),
            });
        }
        if let Some(address) = key.strip_prefix("ip:") {
            return Some(Subject::Address(address.to_owned()));
        }
        key.strip_prefix("account:")
            .map(|account| Subject::Account(account.to_owned()))
    }

    /// The first and last possible keys of every pair row of an account, for
    /// a range query (`[start, end)`) that needs no LIKE escaping.
    pub fn pair_range(account: &str) -> (String, String) {
        (format!("pair:{account}|"), format!("pair:{account}}}"))
    }

    /// The account and address it concerns, for the audit log.
    pub fn parts(&self) -> (Option<&str>, Option<&str>) {
        match self {
            Subject::Pair { account, address } => (Some(account), Some(address)),
            Subject::Address(address) => (None, Some(address)),
            Subject::Account(account) => (Some(account), None),
        }
    }

    /// In a sentence: "this address", "this account from this address"…
    pub fn describe(&self) -> &'static str {
        match self {
            Subject::Pair { .. } => "sign-in to this account from this address",
            Subject::Address(_) => "sign-in from this address",
            Subject::Account(_) => "sign-in to this account from new addresses",
        }
    }
}

/// One counter row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempts {
    pub failures: i32,
    pub window_start: NaiveDateTime,
    /// A lock (pair, address) or, for an account, the next moment an attempt
    /// from an unknown address is admitted.
    pub locked_until: Option<NaiveDateTime>,
    /// Attempts refused without a password check, not yet summarised in the audit log.
    pub refused: i32,
    /// Pairs only: the last successful sign-in from this address.
    pub last_success_at: Option<NaiveDateTime>,
}

impl Attempts {
    pub fn fresh(now: NaiveDateTime) -> Self {
        Attempts {
            failures: 0,
            window_start: now,
            locked_until: None,
            refused: 0,
            last_success_at: None,
        }
    }

    /// Failures still counting at `now`: a window that has passed, with no
    /// lock holding, starts again (the rest of the row is kept).
    fn roll(&mut self, now: NaiveDateTime) {
        if self.window_start + WINDOW <= now && !self.is_locked(now) {
            self.failures = 0;
            self.window_start = now;
            self.locked_until = None;
        }
    }

    pub fn is_locked(&self, now: NaiveDateTime) -> bool {
        self.locked_until.is_some_and(|until| until > now)
    }

    /// How long to hold the answer to the next attempt on this account.
    fn delay(&self) -> Duration {
        if self.failures <= FREE_FAILURES {
            return Duration::zero();
        }
        let steps = (self.failures - FREE_FAILURES - 1).min(10) as u32;
        Duration::milliseconds((250_i64 << steps).min(MAX_DELAY_MS))
    }

    /// For a pair: whether the account signed in from this address lately.
    fn is_known(&self, now: NaiveDateTime) -> bool {
        self.last_success_at.is_some_and(|at| at + KNOWN_FOR > now)
    }

    /// Whether the row says nothing worth keeping at `now`.
    pub fn is_stale(&self, now: NaiveDateTime) -> bool {
        self.window_start + WINDOW <= now
            && !self.is_locked(now)
            && self.refused == 0
            && !self.is_known(now)
    }
}

/// The answer to a reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// Check the password, after holding the answer for `delay`. `locks`
    /// names what this attempt locks (or slows) should it fail.
    Admitted { delay: Duration, locks: Vec<Kind> },
    /// Answer as a wrong password would, without checking it.
    Refused { delay: Duration, by: Kind },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Pair,
    Address,
    Account,
}

/// The three rows one attempt touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counters {
    pub pair: Attempts,
    pub address: Attempts,
    pub account: Attempts,
}

impl Counters {
    /// Reserves an attempt at `now`, updating the rows to store back.
    pub fn reserve(&mut self, now: NaiveDateTime) -> Reservation {
        for row in [&mut self.pair, &mut self.address, &mut self.account] {
            row.roll(now);
        }
        let delay = self.account.delay();
        let known = self.pair.is_known(now);
        let refused_by = if self.address.is_locked(now) {
            Some((Kind::Address, &mut self.address))
        } else if self.pair.is_locked(now) {
            Some((Kind::Pair, &mut self.pair))
        } else if !known && self.account.is_locked(now) {
            Some((Kind::Account, &mut self.account))
        } else {
            None
        };
        if let Some((by, row)) = refused_by {
            row.refused += 1;
            return Reservation::Refused { delay, by };
        }
        let mut locks = Vec::new();
        for (kind, row, limit) in [
            (Kind::Pair, &mut self.pair, PAIR_LOCK_AFTER),
            (Kind::Address, &mut self.address, ADDRESS_LOCK_AFTER),
        ] {
            row.failures += 1;
            if row.failures >= limit {
                row.locked_until = Some(now + LOCK_FOR);
                locks.push(kind);
            }
        }
        self.account.failures += 1;
        if self.account.failures >= ACCOUNT_SLOW_AFTER {
            self.account.locked_until = Some(now + SLOW_GAP);
            if self.account.failures == ACCOUNT_SLOW_AFTER {
                locks.push(Kind::Account);
            }
        }
        Reservation::Admitted { delay, locks }
    }

    /// The answer `reserve` would give if a lock refuses the attempt, without
    /// changing anything: refusals need no locked read-modify-write.
    pub fn refusal(&self, now: NaiveDateTime) -> Option<Reservation> {
        let mut copy = *self;
        match copy.reserve(now) {
            refused @ Reservation::Refused { .. } => Some(refused),
            Reservation::Admitted { .. } => None,
        }
    }

    /// The password was right: the pair and the account start afresh, the
    /// address becomes known to the account, and the address gets back the
    /// attempt reserved for it.
    pub fn succeeded(&mut self, now: NaiveDateTime) {
        self.pair = Attempts {
            last_success_at: Some(now),
            refused: self.pair.refused,
            ..Attempts::fresh(now)
        };
        self.account = Attempts {
            refused: self.account.refused,
            ..Attempts::fresh(now)
        };
        take_back(&mut self.address, ADDRESS_LOCK_AFTER);
    }

    /// The reserved attempt was never checked (the server was too busy): it
    /// is taken back from every subject.
    pub fn release(&mut self) {
        take_back(&mut self.pair, PAIR_LOCK_AFTER);
        take_back(&mut self.address, ADDRESS_LOCK_AFTER);
        take_back(&mut self.account, ACCOUNT_SLOW_AFTER);
    }
}

/// Un-counts one reserved attempt; a lock it set goes with it. (A lock set
/// before it cannot be there: the attempt was admitted.)
fn take_back(row: &mut Attempts, limit: i32) {
    row.failures = (row.failures - 1).max(0);
    if row.failures < limit {
        row.locked_until = None;
    }
}

impl Kind {
    /// The audit log's words for a lock this kind of subject just got.
    pub fn lock_message(self) -> String {
        match self {
            Kind::Pair => format!(
                "sign-in to this account from this address paused for {} minutes after {PAIR_LOCK_AFTER} failed attempts",
                LOCK_FOR.num_minutes()
            ),
            Kind::Address => format!(
                "sign-in from this address paused for {} minutes after {ADDRESS_LOCK_AFTER} failed attempts",
                LOCK_FOR.num_minutes()
            ),
            Kind::Account => format!(
                "sign-in to this account slowed to one attempt per {} seconds from new addresses after \
                 {ACCOUNT_SLOW_AFTER} failed attempts; addresses it signed in from before are not slowed",
                SLOW_GAP.num_seconds()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 25)
            .unwrap()
            .and_hms_opt(10, 0, 0)
            .unwrap()
    }

    fn fresh() -> Counters {
        Counters {
            pair: Attempts::fresh(t0()),
            address: Attempts::fresh(t0()),
            account: Attempts::fresh(t0()),
        }
    }

    fn admitted(r: &Reservation) -> bool {
        matches!(r, Reservation::Admitted { .. })
    }

    #[test]
    fn a_pair_locks_on_its_fifth_failure_for_fifteen_minutes() {
        let mut c = fresh();
        let answers: Vec<_> = (0..7).map(|_| c.reserve(t0())).collect();
        assert_eq!(
            answers.iter().map(admitted).collect::<Vec<_>>(),
            [true, true, true, true, true, false, false]
        );
        assert_eq!(
            answers[4],
            Reservation::Admitted {
                delay: Duration::milliseconds(500),
                locks: vec![Kind::Pair]
            }
        );
        assert_eq!(
            answers[5],
            Reservation::Refused {
                delay: Duration::milliseconds(1000),
                by: Kind::Pair
            }
        );
        assert_eq!((c.pair.failures, c.pair.refused), (5, 2));
        assert!(!admitted(&c.reserve(t0() + Duration::seconds(899))));
        assert!(admitted(&c.reserve(t0() + Duration::seconds(900))));
    }

    #[test]
    fn a_refusal_is_foreseen_without_changing_the_rows() {
        let mut c = fresh();
        assert_eq!(c.refusal(t0()), None);
        for _ in 0..5 {
            c.reserve(t0());
        }
        let before = c;
        assert_eq!(
            c.refusal(t0()),
            Some(Reservation::Refused {
                delay: Duration::milliseconds(1000),
                by: Kind::Pair
            })
        );
        assert_eq!(c, before);
    }

    #[test]
    fn answers_slow_down_from_the_third_failure_and_are_capped() {
        let mut account = Attempts::fresh(t0());
        let delays: Vec<i64> = (0..10)
            .map(|_| {
                let d = account.delay().num_milliseconds();
                account.failures += 1;
                d
            })
            .collect();
        assert_eq!(delays, [0, 0, 0, 250, 500, 1000, 2000, 4000, 4000, 4000]);
    }

    #[test]
    fn an_address_locks_after_twenty_failures_over_any_accounts() {
        let mut address = Attempts::fresh(t0());
        let mut admitted_count = 0;
        for _ in 0..25 {
            let mut c = Counters { address, ..fresh() };
            if admitted(&c.reserve(t0())) {
                admitted_count += 1;
            }
            address = c.address;
        }
        assert_eq!(admitted_count, 20);
        assert_eq!((address.failures, address.refused), (20, 5));
    }

    /// Ten failures from ten addresses slow the account for new addresses:
    /// one attempt per ten seconds. Its owner's known address is not slowed.
    #[test]
    fn a_guessed_account_is_slowed_for_strangers_but_not_for_its_known_address() {
        let mut account = Attempts::fresh(t0());
        for _ in 0..10 {
            let mut c = Counters { account, ..fresh() };
            assert!(admitted(&c.reserve(t0())));
            account = c.account;
        }
        assert_eq!(account.locked_until, Some(t0() + Duration::seconds(10)));

        let mut stranger = Counters { account, ..fresh() };
        assert_eq!(
            stranger.reserve(t0() + Duration::seconds(9)),
            Reservation::Refused {
                delay: Duration::milliseconds(4000),
                by: Kind::Account
            }
        );
        let mut owner = Counters {
            account,
            pair: Attempts {
                last_success_at: Some(t0() - Duration::days(89)),
                ..Attempts::fresh(t0())
            },
            ..fresh()
        };
        assert!(admitted(&owner.reserve(t0() + Duration::seconds(9))));
        // Known for 90 days, to the second.
        let mut stale_owner = Counters {
            account,
            pair: Attempts {
                last_success_at: Some(t0() + Duration::seconds(9) - Duration::days(90)),
                ..Attempts::fresh(t0())
            },
            ..fresh()
        };
        assert!(!admitted(&stale_owner.reserve(t0() + Duration::seconds(9))));
        let mut later = Counters { account, ..fresh() };
        assert!(admitted(&later.reserve(t0() + Duration::seconds(10))));
    }

    #[test]
    fn the_account_is_reported_slowed_once_at_its_tenth_failure() {
        let mut account = Attempts::fresh(t0());
        let mut reported = Vec::new();
        for i in 1..=12 {
            let mut c = Counters { account, ..fresh() };
            if let Reservation::Admitted { locks, .. } = c.reserve(t0() + SLOW_GAP * i)
                && locks.contains(&Kind::Account)
            {
                reported.push(i);
            }
            account = c.account;
        }
        assert_eq!(reported, [10]);
    }

    #[test]
    fn a_success_forgets_the_pair_and_account_and_returns_the_address_attempt() {
        let mut c = fresh();
        for _ in 0..4 {
            c.reserve(t0());
        }
        c.address.failures = 20;
        c.address.locked_until = Some(t0() + LOCK_FOR);
        (c.pair.refused, c.account.refused) = (3, 4);
        c.succeeded(t0());
        assert_eq!(
            (c.pair.failures, c.account.failures, c.address.failures),
            (0, 0, 19)
        );
        assert_eq!(c.pair.last_success_at, Some(t0()));
        assert_eq!(c.address.locked_until, None);
        // Refusals not yet summarised in the audit log are kept for the sweep.
        assert_eq!((c.pair.refused, c.account.refused), (3, 4));

        // A lock that holds for more failures than this attempt's stays.
        c.address.failures = ADDRESS_LOCK_AFTER + 1;
        c.address.locked_until = Some(t0() + LOCK_FOR);
        c.succeeded(t0());
        assert_eq!(c.address.failures, 20);
        assert_eq!(c.address.locked_until, Some(t0() + LOCK_FOR));
    }

    #[test]
    fn an_unchecked_attempt_is_taken_back_with_the_lock_it_set() {
        let mut c = fresh();
        for _ in 0..5 {
            c.reserve(t0());
        }
        assert!(c.pair.is_locked(t0()));
        c.release();
        assert_eq!(
            (c.pair.failures, c.address.failures, c.account.failures),
            (4, 4, 4)
        );
        assert_eq!(c.pair.locked_until, None);
        assert!(matches!(c.reserve(t0()), Reservation::Admitted { .. }));
    }

    #[test]
    fn old_failures_are_forgotten_after_the_window() {
        let mut c = fresh();
        for _ in 0..4 {
            c.reserve(t0());
        }
        assert!(admitted(&c.reserve(t0() + WINDOW)));
        assert_eq!(c.pair.failures, 1);
        assert_eq!(c.account.failures, 1);
    }

    #[test]
    fn subjects_round_trip_through_their_keys() {
        for (subject, key) in [
            (
                Subject::Pair {
                    account: "a|b@example.com".into(),
                    address: "2001:db8::1".into(),
                },
                "pair:a|b@example.com|2001:db8::1",
            ),
            (Subject::Address("10.0.0.1".into()), "ip:10.0.0.1"),
            (
                Subject::Account("a@example.com".into()),
                "account:a@example.com",
            ),
        ] {
            assert_eq!(subject.key(), key);
            assert_eq!(Subject::parse(key), Some(subject));
        }
        assert_eq!(Subject::parse("other:x"), None);
        let (start, end) = Subject::pair_range("a@example.com");
        let key = Subject::Pair {
            account: "a@example.com".into(),
            address: "10.0.0.1".into(),
        }
        .key();
        assert!(start <= key && key < end);
        let other = Subject::Pair {
            account: "a@example.com.evil".into(),
            address: "10.0.0.1".into(),
        }
        .key();
        assert!(!(start <= other && other < end));
    }

    #[test]
    fn each_subject_names_its_account_and_address_for_the_audit_log() {
        let pair = Subject::Pair {
            account: "a@example.com".into(),
            address: "10.0.0.1".into(),
        };
        assert_eq!(pair.parts(), (Some("a@example.com"), Some("10.0.0.1")));
        assert_eq!(
            Subject::Address("10.0.0.1".into()).parts(),
            (None, Some("10.0.0.1"))
        );
        assert_eq!(
            Subject::Account("a@example.com".into()).parts(),
            (Some("a@example.com"), None)
        );
        assert_eq!(
            [
                pair.describe(),
                Subject::Address(String::new()).describe(),
                Subject::Account(String::new()).describe()
            ],
            [
                "sign-in to this account from this address",
                "sign-in from this address",
                "sign-in to this account from new addresses"
            ]
        );
        assert_eq!(
            Kind::Pair.lock_message(),
            "sign-in to this account from this address paused for 15 minutes after 5 failed attempts"
        );
        assert_eq!(
            Kind::Address.lock_message(),
            "sign-in from this address paused for 15 minutes after 20 failed attempts"
        );
        assert_eq!(
            Kind::Account.lock_message(),
            "sign-in to this account slowed to one attempt per 10 seconds from new addresses after \
             10 failed attempts; addresses it signed in from before are not slowed"
        );
    }

    #[test]
    fn rows_are_stale_only_when_nothing_in_them_still_matters() {
        let now = t0() + WINDOW;
        assert!(Attempts::fresh(t0()).is_stale(now));
        assert!(!Attempts::fresh(t0()).is_stale(now - Duration::seconds(1)));
        let refused = Attempts {
            refused: 1,
            ..Attempts::fresh(t0())
        };
        assert!(!refused.is_stale(now));
        let known = Attempts {
            last_success_at: Some(t0()),
            ..Attempts::fresh(t0())
        };
        assert!(!known.is_stale(now));
        let locked = Attempts {
            locked_until: Some(now + Duration::seconds(1)),
            ..Attempts::fresh(t0())
        };
        assert!(!locked.is_stale(now));
    }
}
