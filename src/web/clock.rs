//! The time as the console sees it. Tests move it forward to check timeouts
//! without waiting; in production the offset is always zero.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::NaiveDateTime;

#[derive(Debug, Default)]
pub struct Clock {
    offset_seconds: AtomicI64,
}

impl Clock {
    pub fn now(&self) -> NaiveDateTime {
        crate::db::now() + chrono::Duration::seconds(self.offset_seconds.load(Ordering::Relaxed))
    }

    pub fn unix(&self) -> i64 {
        self.now().and_utc().timestamp()
    }

    /// Moves the clock forward (for tests).
    pub fn advance(&self, by: chrono::Duration) {
        self.offset_seconds
            .fetch_add(by.num_seconds(), Ordering::Relaxed);
    }
}
