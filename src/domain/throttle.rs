//! Slowing down, then locking out, password guessing. Failures are counted per
//! subject (an account, a client address) within a window; each failure past
//! a few adds delay, and enough of them lock the subject for a while.

use chrono::{Duration, NaiveDateTime};

pub const WINDOW: Duration = Duration::minutes(15);
pub const LOCK_FOR: Duration = Duration::minutes(15);
/// Failures before answers start to slow down.
const FREE_FAILURES: i32 = 2;
const MAX_DELAY_MS: i64 = 4_000;

/// How many failures lock a subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Account,
    ClientAddress,
}

impl Subject {
    pub fn lock_after(self) -> i32 {
        match self {
            Subject::Account => 5,
            // Offices share an address; a single address may try more accounts.
            Subject::ClientAddress => 20,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempts {
    pub failures: i32,
    pub window_start: NaiveDateTime,
    pub locked_until: Option<NaiveDateTime>,
}

impl Attempts {
    pub fn fresh(now: NaiveDateTime) -> Self {
        Attempts {
            failures: 0,
            window_start: now,
            locked_until: None,
        }
    }

    /// Failures still counting at `now` (older windows are forgotten).
    fn current(self, now: NaiveDateTime) -> Self {
        if self.window_start + WINDOW <= now && !self.is_locked(now) {
            Attempts::fresh(now)
        } else {
            self
        }
    }

    pub fn is_locked(&self, now: NaiveDateTime) -> bool {
        self.locked_until.is_some_and(|until| until > now)
    }

    /// How long to hold the answer to the next attempt.
    pub fn delay(&self, now: NaiveDateTime) -> Duration {
        let failures = self.current(now).failures;
        if failures <= FREE_FAILURES {
            return Duration::zero();
        }
        let steps = (failures - FREE_FAILURES - 1).min(10) as u32;
        Duration::milliseconds((250_i64 << steps).min(MAX_DELAY_MS))
    }

    /// Counts a failure. Returns the new state and whether it just locked.
    pub fn after_failure(self, now: NaiveDateTime, subject: Subject) -> (Attempts, bool) {
        let mut next = self.current(now);
        next.failures += 1;
        let lock = !next.is_locked(now) && next.failures >= subject.lock_after();
        if lock {
            next.locked_until = Some(now + LOCK_FOR);
        }
        (next, lock)
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

    #[test]
    fn failures_slow_down_then_lock_an_account() {
        let mut attempts = Attempts::fresh(t0());
        let mut delays = Vec::new();
        let mut locked_at = None;
        for i in 1..=5 {
            let (next, locked) = attempts.after_failure(t0(), Subject::Account);
            attempts = next;
            delays.push(attempts.delay(t0()).num_milliseconds());
            if locked {
                locked_at = Some(i);
            }
        }
        assert_eq!(delays, vec![0, 0, 250, 500, 1000]);
        assert_eq!(locked_at, Some(5));
        assert!(attempts.is_locked(t0() + Duration::minutes(14)));
        assert!(!attempts.is_locked(t0() + Duration::minutes(15)));
    }

    #[test]
    fn old_failures_are_forgotten() {
        let (attempts, _) = Attempts::fresh(t0()).after_failure(t0(), Subject::Account);
        let (attempts, _) = attempts.after_failure(t0(), Subject::Account);
        let (attempts, _) = attempts.after_failure(t0(), Subject::Account);
        assert!(attempts.delay(t0()).num_milliseconds() > 0);
        assert_eq!(attempts.delay(t0() + WINDOW).num_milliseconds(), 0);
    }

    #[test]
    fn delays_are_capped() {
        let mut attempts = Attempts::fresh(t0());
        for _ in 0..30 {
            attempts = attempts.after_failure(t0(), Subject::ClientAddress).0;
        }
        assert_eq!(attempts.delay(t0()).num_milliseconds(), MAX_DELAY_MS);
    }
}
