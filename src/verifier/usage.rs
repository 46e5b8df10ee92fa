//! Verification outcomes, counted in memory on the request path and written
//! to the database in batches by the background task (and at shutdown),
//! together with the request log's recent attempts per key.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use chrono::NaiveDateTime;

use crate::db::request_log::{self, NewLoggedRequest};
use crate::db::usage::{self, CountDelta, LastUse};
use crate::db::{DbConn, write_transaction};
use crate::domain::api_key::PublicId;
use crate::domain::request_log::{Attempt, PendingAttempts};
use crate::domain::verdict::Outcome;

#[derive(Default)]
pub struct UsageRecorder {
    pending: Mutex<Pending>,
}

#[derive(Default)]
struct Pending {
    counts: HashMap<(PublicId, chrono::NaiveDate, Outcome), i64>,
    last_use: HashMap<PublicId, (NaiveDateTime, Option<IpAddr>)>,
    attempts: PendingAttempts,
}

/// Whether an attempt proved it held the key (its secret or signature
/// matched): only those move the key's last use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    Proven,
    Unproven,
}

impl UsageRecorder {
    /// Counts an attempt that named an existing key and keeps it for the
    /// request log. Cheap: no formatting, no database.
    pub fn record(&self, key_id: PublicId, attempt: Attempt, holder: Holder) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        *pending
            .counts
            .entry((key_id, attempt.at.date(), attempt.outcome))
            .or_default() += 1;
        if holder == Holder::Proven {
            pending
                .last_use
                .insert(key_id, (attempt.at, attempt.client_ip));
        }
        pending.attempts.push(key_id, attempt);
    }

    /// Attempts waiting for the next write (for tests and metrics).
    pub fn pending_attempts(&self) -> usize {
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .attempts
            .len()
    }

    /// Writes everything counted so far in one transaction, then prunes the
    /// request log of the keys written. On failure everything is kept for the
    /// next try, within the same bounds.
    pub fn flush(&self, conn: &mut DbConn) -> diesel::QueryResult<()> {
        let taken = {
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            Pending {
                counts: std::mem::take(&mut pending.counts),
                last_use: std::mem::take(&mut pending.last_use),
                attempts: pending.attempts.take(),
            }
        };
        if taken.counts.is_empty() && taken.last_use.is_empty() && taken.attempts.is_empty() {
            return Ok(());
        }
        let result = write(conn, &taken);
        match &result {
            Ok(()) if taken.attempts.dropped() > 0 => log::warn!(
                "request log: {} verification attempts were not kept (too many waiting at once)",
                taken.attempts.dropped()
            ),
            Ok(()) => {}
            Err(_) => self.restore(taken),
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
        pending.attempts.restore(taken.attempts);
    }
}

fn write(conn: &mut DbConn, taken: &Pending) -> diesel::QueryResult<()> {
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
    let logged = logged_rows(&taken.attempts);
    write_transaction(conn, |conn| {
        usage::record_in(conn, &counts, &uses)?;
        request_log::insert(conn, &logged)?;
        for (key_id, attempts) in taken.attempts.iter() {
            if let Some(newest) = attempts.iter().map(|a| a.at).max() {
                request_log::prune(conn, key_id.as_str(), newest)?;
            }
        }
        Ok(())
    })
}

/// The rows of the request log, with their reasons in words (made here, off
/// the verification path).
fn logged_rows(attempts: &PendingAttempts) -> Vec<NewLoggedRequest> {
    attempts
        .iter()
        .flat_map(|(key_id, queue)| {
            queue.iter().map(move |attempt| NewLoggedRequest {
                key_id: key_id.to_string(),
                at: attempt.at,
                seq: i64::from_le_bytes(crate::domain::token::random_bytes::<8>()),
                outcome: attempt.outcome.code(),
                client_ip: attempt.client_ip.map(|ip| ip.to_string()),
                reason: attempt.reason(),
            })
        })
        .collect()
}
