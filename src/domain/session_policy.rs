//! How long a signed-in session lasts: an idle timeout, renewed by use, and an
//! absolute lifetime that use does not extend.

use chrono::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    pub idle: Duration,
    pub lifetime: Duration,
}

/// Stamps kept in the session, in seconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamps {
    pub signed_in_at: i64,
    pub last_seen: i64,
}

/// Re-stamp `last_seen` at most this often, so browsing does not write the
/// session on every request.
pub const TOUCH_EVERY_SECONDS: i64 = 60;

/// Why a session a browser still holds is no longer signed in, as the
/// sign-in page explains it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    Idle,
    Lifetime,
    /// Signed out from another session, or by a password change.
    Elsewhere,
    /// Gone for another reason (for example swept after expiring).
    Ended,
}

impl EndReason {
    pub fn code(self) -> &'static str {
        match self {
            EndReason::Idle => "idle",
            EndReason::Lifetime => "lifetime",
            EndReason::Elsewhere => "elsewhere",
            EndReason::Ended => "ended",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        [
            EndReason::Idle,
            EndReason::Lifetime,
            EndReason::Elsewhere,
            EndReason::Ended,
        ]
        .into_iter()
        .find(|r| r.code() == code)
    }

    pub fn message(self, policy: &SessionPolicy) -> String {
        match self {
            EndReason::Idle => format!(
                "Your session ended after {} without activity. Sign in again.",
                minutes(policy.idle)
            ),
            EndReason::Lifetime => format!(
                "Your session reached its limit of {}. Sign in again.",
                minutes(policy.lifetime)
            ),
            EndReason::Elsewhere => {
                "You were signed out from another session. Sign in again.".to_owned()
            }
            EndReason::Ended => "Your session has ended. Sign in again.".to_owned(),
        }
    }
}

fn minutes(d: Duration) -> String {
    match d.num_minutes() {
        1 => "1 minute".to_owned(),
        m if m % 60 == 0 && m >= 120 => format!("{} hours", m / 60),
        m => format!("{m} minutes"),
    }
}

impl SessionPolicy {
    /// Why the session has ended, or None while it lasts.
    pub fn why_expired(&self, stamps: Stamps, now: i64) -> Option<EndReason> {
        if now - stamps.signed_in_at >= self.lifetime.num_seconds() {
            Some(EndReason::Lifetime)
        } else if now - stamps.last_seen >= self.idle.num_seconds() {
            Some(EndReason::Idle)
        } else {
            None
        }
    }

    pub fn is_expired(&self, stamps: Stamps, now: i64) -> bool {
        self.why_expired(stamps, now).is_some()
    }

    pub fn needs_touch(stamps: Stamps, now: i64) -> bool {
        now - stamps.last_seen >= TOUCH_EVERY_SECONDS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> SessionPolicy {
        SessionPolicy {
            idle: Duration::minutes(30),
            lifetime: Duration::hours(12),
        }
    }

    #[test]
    fn an_idle_session_ends_after_the_idle_timeout() {
        let stamps = Stamps {
            signed_in_at: 0,
            last_seen: 0,
        };
        assert!(!policy().is_expired(stamps, 29 * 60));
        assert!(policy().is_expired(stamps, 30 * 60));
    }

    #[test]
    fn use_does_not_extend_the_absolute_lifetime() {
        let now = 12 * 3600;
        let busy = Stamps {
            signed_in_at: 0,
            last_seen: now - 5,
        };
        assert!(policy().is_expired(busy, now));
        assert!(!policy().is_expired(busy, now - 10));
    }

    #[test]
    fn stamps_are_refreshed_at_most_once_a_minute() {
        let stamps = Stamps {
            signed_in_at: 0,
            last_seen: 100,
        };
        assert!(!SessionPolicy::needs_touch(stamps, 159));
        assert!(SessionPolicy::needs_touch(stamps, 160));
    }

    #[test]
    fn end_reasons_read_as_written() {
        let policy = policy();
        #[rustfmt::skip]
        let table = [
            ("idle", "Your session ended after 30 minutes without activity. Sign in again."),
            ("lifetime", "Your session reached its limit of 12 hours. Sign in again."),
            ("elsewhere", "You were signed out from another session. Sign in again."),
            ("ended", "Your session has ended. Sign in again."),
        ];
        for (code, words) in table {
            let reason = EndReason::parse(code).unwrap();
            assert_eq!(reason.code(), code);
            assert_eq!(reason.message(&policy), words);
        }
        assert_eq!(EndReason::parse("other"), None);
        let fresh = Stamps {
            signed_in_at: 0,
            last_seen: 0,
        };
        assert_eq!(policy.why_expired(fresh, 60), None);
        assert_eq!(policy.why_expired(fresh, 30 * 60), Some(EndReason::Idle));
        let busy = Stamps {
            signed_in_at: 0,
            last_seen: 12 * 3600 - 5,
        };
        assert_eq!(
            policy.why_expired(busy, 12 * 3600),
            Some(EndReason::Lifetime)
        );
    }
}
