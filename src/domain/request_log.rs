//! The request log: a key's most recent verification attempts, kept so
//! support staff can say why the key was refused. What one attempt records,
//! how it reads in words, how much is kept, and the bounded buffer attempts
//! wait in between two writes.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;

use chrono::NaiveDateTime;

use crate::domain::api_key::PublicId;
use crate::domain::key_type::Scheme;
use crate::domain::verdict::{Context, KeyRecord, Outcome};

/// Per key, the newest this many attempts are kept...
pub const KEEP_PER_KEY: usize = 100;
/// ...and none older than this many days.
pub const KEEP_DAYS: i64 = 7;
/// Attempts waiting to be written, over every key: past this, new attempts
/// of keys not yet waiting are dropped (and counted), so a flood of requests
/// to many keys cannot grow memory.
pub const PENDING_LIMIT: usize = 50_000;
/// The longest expected type code an attempt keeps (callers send any text).
const MAX_EXPECTED_TYPE: usize = 40;

/// What the words of an attempt need beyond its outcome, address and time.
/// Small, and made without formatting: it is built on the verification path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detail {
    /// Nothing more to say (a valid key, or an outcome that speaks for itself).
    None,
    Expired {
        at: NaiveDateTime,
    },
    TypeDisabled {
        from: NaiveDateTime,
    },
    /// The key itself was switched off.
    KeyDisabled,
    /// The key was rolled and its grace period ended at this instant.
    Retired {
        at: NaiveDateTime,
    },
    WrongType {
        expected: Box<str>,
        actual: Arc<str>,
    },
    /// The key's Application is archived.
    ApplicationArchived,
    WrongApplication {
        expected: Box<str>,
        actual: Arc<str>,
    },
    RateLimited {
        retry_after: u64,
    },
    /// The key exists but the presented secret is not its secret.
    WrongSecret,
    /// The key exists but the signature does not match its secret and the request.
    BadSignature,
    /// A good signature presented a second time.
    Replayed,
    /// A signed request whose Date is too far from the server's clock.
    StaleDate,
    /// A signed request without a readable Date.
    NoDate,
    /// The key was presented in a form its type does not accept.
    WrongForm {
        takes: Scheme,
    },
}

impl Detail {
    /// What the words need of a key the rules were applied to (see `verdict::judge`).
    pub fn judged(
        outcome: Outcome,
        retry_after: u64,
        key: &KeyRecord,
        ctx: &Context<'_>,
    ) -> Detail {
        match outcome {
            Outcome::Expired => key
                .expires_at
                .map_or(Detail::None, |at| Detail::Expired { at }),
            Outcome::Disabled if key.disabled => Detail::KeyDisabled,
            Outcome::Disabled if key.application.is_archived() => Detail::ApplicationArchived,
            Outcome::Disabled => ctx
                .type_disabled_from
                .map_or(Detail::None, |from| Detail::TypeDisabled { from }),
            Outcome::WrongType => ctx.expected_type.map_or(Detail::None, |expected| {
                Detail::wrong_type(expected, key.type_code.clone())
            }),
            Outcome::WrongApplication => {
                ctx.expected_application
                    .map_or(Detail::None, |expected| Detail::WrongApplication {
                        expected: cut(expected).into(),
                        actual: key.application.name(),
                    })
            }
            Outcome::RateLimited => Detail::RateLimited { retry_after },
            _ => Detail::None,
        }
    }

    /// The caller's expected type as kept: at most a few dozen characters.
    pub fn wrong_type(expected: &str, actual: Arc<str>) -> Detail {
        Detail::WrongType {
            expected: cut(expected).into(),
            actual,
        }
    }
}

/// What a caller expected, as kept: at most a few dozen characters.
fn cut(expected: &str) -> &str {
    let end = expected
        .char_indices()
        .nth(MAX_EXPECTED_TYPE)
        .map_or(expected.len(), |(i, _)| i);
    &expected[..end]
}

/// One verification attempt that named an existing key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub at: NaiveDateTime,
    pub outcome: Outcome,
    pub client_ip: Option<IpAddr>,
    pub detail: Detail,
}

impl Attempt {
    /// Why the attempt ended as it did, in one sentence; empty when it was valid.
    pub fn reason(&self) -> String {
        let when = |at: &NaiveDateTime| at.format("%Y-%m-%d %H:%M UTC").to_string();
        match (&self.detail, self.outcome) {
            (_, Outcome::Valid) => String::new(),
            (_, Outcome::IpNotAllowed) => match self.client_ip {
                Some(ip) => format!("{ip} is not in the trusted IPs"),
                None => "The client's address is unknown, and the key accepts only its trusted IPs"
                    .to_owned(),
            },
            (Detail::Expired { at }, _) => format!("The key expired on {}", when(at)),
            (_, Outcome::Expired) => "The key has expired".to_owned(),
            (Detail::TypeDisabled { from }, _) => {
                format!("Keys of this type were switched off on {}", when(from))
            }
            (Detail::KeyDisabled, _) => "The key is switched off".to_owned(),
            (Detail::ApplicationArchived, _) => "The key's Application is archived".to_owned(),
            (_, Outcome::Disabled) => "Keys of this type are switched off".to_owned(),
            (Detail::Retired { at }, _) => {
                format!("The key was rolled; its grace period ended on {}", when(at))
            }
            (Detail::WrongType { expected, actual }, _) => {
                format!(
                    "The caller expected a key of type {expected}, and this key is of type {actual}"
                )
            }
            (_, Outcome::WrongType) => "The caller expected a key of another type".to_owned(),
            (Detail::WrongApplication { expected, actual }, _) => format!(
                "The caller expected a key of the Application {expected}, and this key is in {actual}"
            ),
            (_, Outcome::WrongApplication) => {
                "The caller expected a key of another Application".to_owned()
            }
            (Detail::RateLimited { retry_after }, _) => format!(
                "Over the key's rate limit; the next request was allowed {retry_after} s later"
            ),
            (_, Outcome::RateLimited) => "Over the key's rate limit".to_owned(),
            (Detail::WrongSecret, _) => "The secret does not match this key".to_owned(),
            (Detail::BadSignature, _) => {
                "The signature does not match this key's secret and the signed request".to_owned()
            }
            (Detail::Replayed, _) => {
                "The signature was already used; each request must be signed afresh".to_owned()
            }
            (Detail::StaleDate, _) => {
                "The Date header was more than five minutes from the server's clock".to_owned()
            }
            (Detail::NoDate, _) => "The Date header was missing or not an HTTP date".to_owned(),
            (Detail::WrongForm { takes }, _) => format!("Wrong form: {}", takes.expected_form()),
            (_, Outcome::NotFound) => "No live key matches what was presented".to_owned(),
            (_, Outcome::Malformed) => "The credential could not be read".to_owned(),
        }
    }
}

/// Which attempts a key's page lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutcomeFilter {
    All,
    /// Every outcome but valid.
    Refused,
    Only(Outcome),
}

impl OutcomeFilter {
    /// The `outcome` query parameter: absent or empty for all, `refused`, or an outcome code.
    pub fn parse(value: Option<&str>) -> Result<OutcomeFilter, String> {
        match value.map(str::trim) {
            None | Some("") => Ok(OutcomeFilter::All),
            Some("refused") => Ok(OutcomeFilter::Refused),
            Some(code) => Outcome::from_code(code).map(OutcomeFilter::Only).ok_or_else(|| {
                let codes: Vec<&str> = Outcome::ALL.iter().map(|o| o.code()).collect();
                format!(
                    "“{}” is not an outcome this page can filter by. Use “refused” or one of: {}.",
                    code.chars().take(40).collect::<String>(),
                    codes.join(", ")
                )
            }),
        }
    }

    /// The query parameter's value; empty for all.
    pub fn as_param(self) -> &'static str {
        match self {
            OutcomeFilter::All => "",
            OutcomeFilter::Refused => "refused",
            OutcomeFilter::Only(outcome) => outcome.code(),
        }
    }
}

/// Attempts waiting to be written, per key, bounded: each key keeps its
/// newest [`KEEP_PER_KEY`] (older ones would be pruned once written anyway),
/// and past `limit` waiting attempts in all a key not yet holding its share
/// gets nothing more until the next write; those losses are counted.
#[derive(Debug)]
pub struct PendingAttempts {
    per_key: HashMap<PublicId, VecDeque<Attempt>>,
    total: usize,
    limit: usize,
    per_key_limit: usize,
    dropped: u64,
}

impl Default for PendingAttempts {
    fn default() -> Self {
        PendingAttempts::with_limits(KEEP_PER_KEY, PENDING_LIMIT)
    }
}

impl PendingAttempts {
    pub fn with_limits(per_key_limit: usize, limit: usize) -> Self {
        PendingAttempts {
            per_key: HashMap::new(),
            total: 0,
            limit,
            per_key_limit,
            dropped: 0,
        }
    }

    /// Keeps an attempt. Never grows past the limits: a key at its share
    /// forgets its oldest attempt, and a full buffer drops the new one.
    pub fn push(&mut self, key: PublicId, attempt: Attempt) {
        if let Some(queue) = self.per_key.get_mut(&key) {
            if queue.len() >= self.per_key_limit {
                queue.pop_front();
                queue.push_back(attempt);
                return;
            }
            if self.total < self.limit {
                queue.push_back(attempt);
                self.total += 1;
                return;
            }
        } else if self.total < self.limit {
            self.per_key.insert(key, VecDeque::from([attempt]));
            self.total += 1;
            return;
        }
        self.dropped += 1;
    }

    /// Everything kept so far, leaving an empty buffer with the same limits.
    pub fn take(&mut self) -> PendingAttempts {
        let empty = PendingAttempts::with_limits(self.per_key_limit, self.limit);
        std::mem::replace(self, empty)
    }

    /// Puts back attempts taken earlier (their write failed), in front of
    /// those kept since, within the same limits.
    pub fn restore(&mut self, older: PendingAttempts) {
        self.dropped += older.dropped;
        for (key, old) in older.per_key {
            let queue = self.per_key.entry(key).or_default();
            let fits_key = old
                .len()
                .min(self.per_key_limit.saturating_sub(queue.len()));
            let keep = fits_key.min(self.limit.saturating_sub(self.total));
            self.dropped += (fits_key - keep) as u64;
            for attempt in old.into_iter().rev().take(keep) {
                queue.push_front(attempt);
            }
            self.total += keep;
            if queue.is_empty() {
                self.per_key.remove(&key);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.total
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Attempts lost to the overall limit since the buffer was made.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Each key's waiting attempts, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = (&PublicId, &VecDeque<Attempt>)> {
        self.per_key.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(minute: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 20)
            .unwrap()
            .and_hms_opt(10, minute, 0)
            .unwrap()
    }

    fn attempt(outcome: Outcome, detail: Detail) -> Attempt {
        Attempt {
            at: at(0),
            outcome,
            client_ip: Some("203.0.113.77".parse().unwrap()),
            detail,
        }
    }

    #[test]
    fn each_outcome_reads_as_one_sentence() {
        let table: Vec<(Outcome, Detail, &str)> = vec![
            (Outcome::Valid, Detail::None, ""),
            (
                Outcome::IpNotAllowed,
                Detail::None,
                "203.0.113.77 is not in the trusted IPs",
            ),
            (
                Outcome::Expired,
                Detail::Expired { at: at(0) },
                "The key expired on 2026-11-20 10:00 UTC",
            ),
            (
                Outcome::Disabled,
                Detail::TypeDisabled { from: at(30) },
                "Keys of this type were switched off on 2026-11-20 10:30 UTC",
            ),
            (
                Outcome::WrongType,
                Detail::wrong_type("tsms", "ucd".into()),
                "The caller expected a key of type tsms, and this key is of type ucd",
            ),
            (
                Outcome::Disabled,
                Detail::ApplicationArchived,
                "The key's Application is archived",
            ),
            (
                Outcome::WrongApplication,
                Detail::WrongApplication {
                    expected: "Partner sandbox".into(),
                    actual: "Default".into(),
                },
                "The caller expected a key of the Application Partner sandbox, and this key is in Default",
            ),
            (
                Outcome::WrongApplication,
                Detail::None,
                "The caller expected a key of another Application",
            ),
            (
                Outcome::RateLimited,
                Detail::RateLimited { retry_after: 30 },
                "Over the key's rate limit; the next request was allowed 30 s later",
            ),
            (
                Outcome::NotFound,
                Detail::WrongSecret,
                "The secret does not match this key",
            ),
            (
                Outcome::NotFound,
                Detail::BadSignature,
                "The signature does not match this key's secret and the signed request",
            ),
            (
                Outcome::Malformed,
                Detail::Replayed,
                "The signature was already used; each request must be signed afresh",
            ),
            (
                Outcome::Malformed,
                Detail::StaleDate,
                "The Date header was more than five minutes from the server's clock",
            ),
            (
                Outcome::Malformed,
                Detail::NoDate,
                "The Date header was missing or not an HTTP date",
            ),
            (
                Outcome::Malformed,
                Detail::WrongForm {
                    takes: Scheme::Basic,
                },
                "Wrong form: keys of this type are presented as key and secret: HTTP Basic, or {\"key\", \"secret\"}",
            ),
            (Outcome::Expired, Detail::None, "The key has expired"),
            (
                Outcome::NotFound,
                Detail::None,
                "No live key matches what was presented",
            ),
            (
                Outcome::Malformed,
                Detail::None,
                "The credential could not be read",
            ),
        ];
        for (outcome, detail, words) in table {
            assert_eq!(attempt(outcome, detail).reason(), words, "{outcome:?}");
        }
        let mut unknown = attempt(Outcome::IpNotAllowed, Detail::None);
        unknown.client_ip = None;
        assert_eq!(
            unknown.reason(),
            "The client's address is unknown, and the key accepts only its trusted IPs"
        );
    }

    #[test]
    fn labels_name_each_outcome() {
        let labels: Vec<&str> = Outcome::ALL.iter().map(|o| o.label()).collect();
        assert_eq!(
            labels,
            [
                "Valid",
                "Not found",
                "Malformed",
                "Expired",
                "Disabled",
                "IP not allowed",
                "Wrong type",
                "Wrong application",
                "Rate limited"
            ]
        );
    }

    #[test]
    fn a_long_expected_type_is_cut_short() {
        let Detail::WrongType { expected, .. } = Detail::wrong_type(&"é".repeat(100), "ucd".into())
        else {
            panic!("a wrong-type detail");
        };
        assert_eq!(expected.chars().count(), 40);
    }

    #[test]
    fn the_filter_reads_codes_refused_and_nothing_else() {
        let table: Vec<(Option<&str>, Option<OutcomeFilter>)> = vec![
            (None, Some(OutcomeFilter::All)),
            (Some(""), Some(OutcomeFilter::All)),
            (Some("refused"), Some(OutcomeFilter::Refused)),
            (
                Some("IP_NOT_ALLOWED"),
                Some(OutcomeFilter::Only(Outcome::IpNotAllowed)),
            ),
            (Some("VALID"), Some(OutcomeFilter::Only(Outcome::Valid))),
            (Some("ip_not_allowed"), None),
            (Some("DROP TABLE"), None),
        ];
        for (param, expected) in table {
            assert_eq!(OutcomeFilter::parse(param).ok(), expected, "{param:?}");
        }
        assert_eq!(
            OutcomeFilter::parse(Some("NOPE")).unwrap_err(),
            "“NOPE” is not an outcome this page can filter by. Use “refused” or one of: VALID, \
             NOT_FOUND, MALFORMED, EXPIRED, DISABLED, IP_NOT_ALLOWED, WRONG_TYPE, WRONG_APPLICATION, RATE_LIMITED."
        );
        assert_eq!(OutcomeFilter::Refused.as_param(), "refused");
    }

    fn key(n: u8) -> PublicId {
        PublicId::parse(&format!("abcdefghij{:02}", n)).unwrap()
    }

    fn minutes(pending: &PendingAttempts, k: PublicId) -> Vec<u32> {
        use chrono::Timelike;
        pending
            .iter()
            .find(|(id, _)| **id == k)
            .map(|(_, q)| q.iter().map(|a| a.at.minute()).collect())
            .unwrap_or_default()
    }

    fn timed(minute: u32) -> Attempt {
        Attempt {
            at: at(minute),
            ..attempt(Outcome::Valid, Detail::None)
        }
    }

    #[test]
    fn a_busy_key_keeps_only_its_newest_attempts() {
        let mut pending = PendingAttempts::with_limits(3, 100);
        for minute in 0..5 {
            pending.push(key(1), timed(minute));
        }
        assert_eq!(minutes(&pending, key(1)), [2, 3, 4]);
        assert_eq!((pending.len(), pending.dropped()), (3, 0));
    }

    #[test]
    fn a_full_buffer_drops_new_keys_and_counts_them() {
        let mut pending = PendingAttempts::with_limits(3, 4);
        for n in 0..6 {
            pending.push(key(n), timed(n as u32));
        }
        // A key below its share gets no more once the buffer is full.
        pending.push(key(0), timed(10));
        pending.push(key(0), timed(11));
        assert_eq!(pending.len(), 4);
        assert_eq!(pending.dropped(), 2 + 2);
        assert_eq!(minutes(&pending, key(0)), [0]);
        assert_eq!(minutes(&pending, key(5)), Vec::<u32>::new());
    }

    #[test]
    fn a_key_at_its_share_rolls_over_even_when_the_buffer_is_full() {
        let mut pending = PendingAttempts::with_limits(2, 2);
        pending.push(key(0), timed(0));
        pending.push(key(0), timed(1));
        pending.push(key(0), timed(2));
        pending.push(key(1), timed(3));
        assert_eq!(minutes(&pending, key(0)), [1, 2]);
        assert_eq!((pending.len(), pending.dropped()), (2, 1));
    }

    #[test]
    fn restored_attempts_go_in_front_within_the_limits() {
        let mut pending = PendingAttempts::with_limits(3, 6);
        pending.push(key(0), timed(0));
        pending.push(key(0), timed(1));
        pending.push(key(1), timed(2));
        let taken = pending.take();
        assert!(pending.is_empty());
        pending.push(key(0), timed(5));
        pending.push(key(0), timed(6));
        pending.push(key(2), timed(7));
        pending.push(key(3), timed(8));
        pending.restore(taken);
        // Key 0 has room for one of its two older attempts: the newer one.
        assert_eq!(minutes(&pending, key(0)), [1, 5, 6]);
        assert_eq!(minutes(&pending, key(1)), [2]);
        assert_eq!((pending.len(), pending.dropped()), (6, 0));

        // Restoring into a nearly full buffer keeps the limit and counts the loss.
        let taken = pending.take();
        for n in 10..15 {
            pending.push(key(n), timed(n as u32));
        }
        pending.restore(taken);
        assert_eq!((pending.len(), pending.dropped()), (6, 5));
    }
}
