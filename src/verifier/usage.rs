//! Verification outcomes, counted in memory on the request path and written
//! to the database in batches by the background task (and at shutdown).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use chrono::NaiveDateTime;

use crate::db::DbConn;
use crate::db::usage::{self, CountDelta, LastUse};
use crate::domain::api_key::PublicId;
use crate::domain::verdict::Outcome;

#[derive(Default)]
pub struct UsageRecorder {
    pending: Mutex<Pending>,
}

#[derive(Default)]
struct Pending {
    counts: HashMap<(PublicId, chrono::NaiveDate, Outcome), i64>,
    last_use: HashMap<PublicId, (NaiveDateTime, Option<IpAddr>)>,
}

impl UsageRecorder {
    pub fn count(&self, key_id: PublicId, outcome: Outcome, at: NaiveDateTime, ip: Option<IpAddr>) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        *pending
            .counts
            .entry((key_id, at.date(), outcome))
            .or_default() += 1;
        pending.last_use.insert(key_id, (at, ip));
    }

    /// Writes everything counted so far. On failure the counts are kept for the next try.
    pub fn flush(&self, conn: &mut DbConn) -> diesel::QueryResult<()> {
        let taken = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        if taken.counts.is_empty() && taken.last_use.is_empty() {
            return Ok(());
        }
        let days: Vec<String> = taken
            .counts
            .keys()
            .map(|(_, day, _)| day.to_string())
            .collect();
        let counts: Vec<CountDelta<'_>> = taken
            .counts
            .iter()
            .zip(&days)
            .map(|(((key_id, _, outcome), count), day)| CountDelta {
                key_id: key_id.as_str(),
                day,
                outcome: outcome.code(),
                count: *count,
            })
            .collect();
        let ips: Vec<(String, NaiveDateTime, Option<String>)> = taken
            .last_use
            .iter()
            .map(|(id, (at, ip))| (id.to_string(), *at, ip.map(|ip| ip.to_string())))
            .collect();
        let uses: Vec<LastUse<'_>> = ips
            .iter()
            .map(|(key_id, at, ip)| LastUse {
                key_id,
                at: *at,
                ip: ip.as_deref(),
            })
            .collect();
        let result = usage::record(conn, &counts, &uses);
        if result.is_err() {
            self.restore(taken);
        }
        result
    }

    fn restore(&self, taken: Pending) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        for (key, count) in taken.counts {
            *pending.counts.entry(key).or_default() += count;
        }
        for (id, last) in taken.last_use {
            let entry = pending.last_use.entry(id).or_insert(last);
            if entry.0 < last.0 {
                *entry = last;
            }
        }
    }
}
