//! Where a key stands in its life: working, expiring, expired, switched off,
//! or rolled to a replacement. One rule decides the badge the console shows;
//! the key list's status filter (`key_search`) mirrors it.
//!
//! Also the rules of rolling: how long the old key keeps working (the grace
//! period), and the replacement's expiry.

use chrono::{Duration, NaiveDateTime};

/// Keys that stop working within this long are shown as expiring soon.
pub const EXPIRING_WITHIN: Duration = Duration::days(7);
/// The longest grace period a rolled key may have.
pub const MAX_GRACE: Duration = Duration::days(30);

/// What the status rule reads of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StateFacts {
    pub expires_at: Option<NaiveDateTime>,
    /// The key itself was switched off (by an Administrator or a leak report).
    pub disabled: bool,
    /// Its type was switched off in the catalogue, as of now.
    pub type_disabled: bool,
    /// It was rolled: when it stops (or stopped) working.
    pub rolled_stops_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Active,
    ExpiringSoon,
    Expired,
    /// The key, or its type, is switched off: every check answers DISABLED.
    Disabled,
    /// Rolled, and still working until this instant (its grace period).
    Rolled {
        stops_at: NaiveDateTime,
    },
    /// Rolled, and its grace period is over: it answers like a deleted key.
    Retired {
        stopped_at: NaiveDateTime,
    },
}

impl Status {
    /// The badge, in this order: switched off wins over everything (the key
    /// works nowhere), then rolled, then expired, then expiring soon.
    pub fn of(facts: StateFacts, now: NaiveDateTime) -> Status {
        if facts.disabled || facts.type_disabled {
            return Status::Disabled;
        }
        if let Some(stops_at) = facts.rolled_stops_at {
            return if stops_at <= now {
                Status::Retired {
                    stopped_at: stops_at,
                }
            } else {
                Status::Rolled { stops_at }
            };
        }
        match facts.expires_at {
            Some(at) if at <= now => Status::Expired,
            Some(at) if at <= now + EXPIRING_WITHIN => Status::ExpiringSoon,
            _ => Status::Active,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Active => "Active",
            Status::ExpiringSoon => "Expiring soon",
            Status::Expired => "Expired",
            Status::Disabled => "Disabled",
            Status::Rolled { .. } => "Rolled",
            Status::Retired { .. } => "Rolled, stopped",
        }
    }

    pub fn css_class(self) -> &'static str {
        match self {
            Status::Active => "badge badge-active",
            Status::ExpiringSoon => "badge badge-expiring",
            Status::Expired => "badge badge-expired",
            Status::Disabled => "badge badge-disabled",
            Status::Rolled { .. } => "badge badge-rolled",
            Status::Retired { .. } => "badge badge-expired",
        }
    }
}

/// How long a rolled key keeps working, as the roll form offers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grace {
    None,
    Hours(i64),
    /// Until this instant (the form's custom choice).
    Until(NaiveDateTime),
}

/// The roll form's choices: (value, words, hours).
pub const GRACE_CHOICES: &[(&str, &str, i64)] = &[
    ("none", "None: the old key stops at once", 0),
    ("1h", "1 hour", 1),
    ("24h", "24 hours", 24),
    ("7d", "7 days", 24 * 7),
];

impl Grace {
    /// Reads the form: a choice, or `custom` with a UTC date and time
    /// (`2026-12-01T09:30`, as a datetime-local input sends it).
    pub fn parse(choice: &str, custom: &str, now: NaiveDateTime) -> Result<Grace, String> {
        if let Some((_, _, hours)) = GRACE_CHOICES.iter().find(|(v, _, _)| *v == choice) {
            return Ok(match hours {
                0 => Grace::None,
                h => Grace::Hours(*h),
            });
        }
        if choice != "custom" {
            return Err("Choose how long the old key keeps working.".to_owned());
        }
        let custom = custom.trim();
        let until = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(custom, f).ok())
            .ok_or_else(|| {
                if custom.is_empty() {
                    "Enter the date and time (UTC) the old key stops working.".to_owned()
                } else {
                    "Enter the date and time as YYYY-MM-DD HH:MM (UTC).".to_owned()
                }
            })?;
        if until <= now {
            return Err("The old key's grace period must end in the future.".to_owned());
        }
        if until > now + MAX_GRACE {
            return Err("The grace period can be at most 30 days.".to_owned());
        }
        Ok(Grace::Until(until))
    }

    /// When the old key stops working: the end of its grace, never past its
    /// own expiry.
    pub fn stops_at(self, now: NaiveDateTime, expires_at: Option<NaiveDateTime>) -> NaiveDateTime {
        let end = match self {
            Grace::None => now,
            Grace::Hours(h) => now + Duration::hours(h),
            Grace::Until(at) => at,
        };
        expires_at.map_or(end, |expiry| end.min(expiry))
    }
}

/// Why a key cannot be rolled, in words for the page.
pub fn roll_refusal(status: Status) -> Option<&'static str> {
    match status {
        Status::Rolled { .. } | Status::Retired { .. } => Some(
            "This key was already rolled. Roll its replacement instead, or generate a new key.",
        ),
        Status::Expired => Some("This key has expired. Generate a new key instead."),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
    }

    const NOW: &str = "2026-11-27 12:00";

    #[test]
    fn the_badge_follows_the_written_order() {
        let rolled = Some(at("2026-11-28 12:00"));
        let ended = Some(at("2026-11-27 12:00"));
        let table: &[(StateFacts, Status)] = &[
            (StateFacts::default(), Status::Active),
            (
                StateFacts {
                    expires_at: Some(at("2026-12-04 12:01")),
                    ..StateFacts::default()
                },
                Status::Active,
            ),
            (
                StateFacts {
                    expires_at: Some(at("2026-12-04 12:00")),
                    ..StateFacts::default()
                },
                Status::ExpiringSoon,
            ),
            (
                StateFacts {
                    expires_at: Some(at("2026-11-27 12:01")),
                    ..StateFacts::default()
                },
                Status::ExpiringSoon,
            ),
            (
                StateFacts {
                    expires_at: Some(at("2026-11-27 12:00")),
                    ..StateFacts::default()
                },
                Status::Expired,
            ),
            (
                StateFacts {
                    disabled: true,
                    expires_at: Some(at("2026-11-01 00:00")),
                    rolled_stops_at: rolled,
                    ..StateFacts::default()
                },
                Status::Disabled,
            ),
            (
                StateFacts {
                    type_disabled: true,
                    ..StateFacts::default()
                },
                Status::Disabled,
            ),
            (
                StateFacts {
                    rolled_stops_at: rolled,
                    expires_at: Some(at("2026-11-01 00:00")),
                    ..StateFacts::default()
                },
                Status::Rolled {
                    stops_at: at("2026-11-28 12:00"),
                },
            ),
            (
                StateFacts {
                    rolled_stops_at: ended,
                    ..StateFacts::default()
                },
                Status::Retired {
                    stopped_at: at("2026-11-27 12:00"),
                },
            ),
        ];
        for (facts, expected) in table {
            assert_eq!(Status::of(*facts, at(NOW)), *expected, "{facts:?}");
        }
    }

    #[test]
    fn labels_and_classes() {
        let t = at(NOW);
        let table = [
            (Status::Active, "Active", "badge badge-active"),
            (
                Status::ExpiringSoon,
                "Expiring soon",
                "badge badge-expiring",
            ),
            (Status::Expired, "Expired", "badge badge-expired"),
            (Status::Disabled, "Disabled", "badge badge-disabled"),
            (
                Status::Rolled { stops_at: t },
                "Rolled",
                "badge badge-rolled",
            ),
            (
                Status::Retired { stopped_at: t },
                "Rolled, stopped",
                "badge badge-expired",
            ),
        ];
        for (status, label, class) in table {
            assert_eq!((status.label(), status.css_class()), (label, class));
        }
    }

    #[test]
    fn grace_choices_read_as_written() {
        let table: &[(&str, &str, Result<Grace, &str>)] = &[
            ("none", "", Ok(Grace::None)),
            ("1h", "", Ok(Grace::Hours(1))),
            ("24h", "2020-01-01T00:00", Ok(Grace::Hours(24))),
            ("7d", "", Ok(Grace::Hours(168))),
            (
                "custom",
                "2026-12-01T09:30",
                Ok(Grace::Until(at("2026-12-01 09:30"))),
            ),
            (
                "custom",
                " 2026-12-01 09:30 ",
                Ok(Grace::Until(at("2026-12-01 09:30"))),
            ),
            (
                "custom",
                "2026-12-27T12:00",
                Ok(Grace::Until(at("2026-12-27 12:00"))),
            ),
            (
                "custom",
                "2026-12-27T12:01",
                Err("The grace period can be at most 30 days."),
            ),
            (
                "custom",
                "2026-11-27T12:00",
                Err("The old key's grace period must end in the future."),
            ),
            (
                "custom",
                "",
                Err("Enter the date and time (UTC) the old key stops working."),
            ),
            (
                "custom",
                "tomorrow",
                Err("Enter the date and time as YYYY-MM-DD HH:MM (UTC)."),
            ),
            ("", "", Err("Choose how long the old key keeps working.")),
            ("30d", "", Err("Choose how long the old key keeps working.")),
        ];
        for (choice, custom, expected) in table {
            assert_eq!(
                Grace::parse(choice, custom, at(NOW)),
                expected.map_err(str::to_owned),
                "{choice} {custom}"
            );
        }
    }

    #[test]
    fn the_old_key_never_outlives_its_expiry() {
        let now = at(NOW);
        let table: &[(Grace, Option<&str>, &str)] = &[
            (Grace::None, None, "2026-11-27 12:00"),
            (Grace::Hours(24), None, "2026-11-28 12:00"),
            (
                Grace::Hours(24),
                Some("2026-11-28 06:00"),
                "2026-11-28 06:00",
            ),
            (
                Grace::Hours(24),
                Some("2026-11-29 00:00"),
                "2026-11-28 12:00",
            ),
            (
                Grace::Hours(1),
                Some("2026-11-27 13:00"),
                "2026-11-27 13:00",
            ),
            (
                Grace::Until(at("2026-12-10 00:00")),
                Some("2026-12-01 00:00"),
                "2026-12-01 00:00",
            ),
            (
                Grace::Until(at("2026-12-10 00:00")),
                None,
                "2026-12-10 00:00",
            ),
        ];
        for (grace, expiry, expected) in table {
            assert_eq!(
                grace.stops_at(now, expiry.map(at)),
                at(expected),
                "{grace:?} {expiry:?}"
            );
        }
    }

    #[test]
    fn only_keys_not_yet_rolled_nor_expired_can_be_rolled() {
        let t = at(NOW);
        let table = [
            (Status::Active, None),
            (Status::ExpiringSoon, None),
            (Status::Disabled, None),
            (
                Status::Expired,
                Some("This key has expired. Generate a new key instead."),
            ),
            (
                Status::Rolled { stops_at: t },
                Some(
                    "This key was already rolled. Roll its replacement instead, or generate a new key.",
                ),
            ),
            (
                Status::Retired { stopped_at: t },
                Some(
                    "This key was already rolled. Roll its replacement instead, or generate a new key.",
                ),
            ),
        ];
        for (status, refusal) in table {
            assert_eq!(roll_refusal(status), refusal, "{status:?}");
        }
    }
}
