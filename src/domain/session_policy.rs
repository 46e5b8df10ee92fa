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

impl SessionPolicy {
    pub fn is_expired(&self, stamps: Stamps, now: i64) -> bool {
        now - stamps.last_seen >= self.idle.num_seconds()
            || now - stamps.signed_in_at >= self.lifetime.num_seconds()
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
}
