//! How long keys may last.
//!
//! Each type in the catalogue may say how long its keys may last at most
//! (`max_lifetime_days`) and how long they last unless the administrator
//! chooses otherwise (`default_lifetime_days`). Lifetimes count whole UTC
//! days, as the Generate API Key form does: a key created on 25 November with
//! a maximum of 90 days may work through the end of 23 February, and the
//! "90 days" preset on 25 November means exactly that.
//!
//! Also here: the presets step one offers, and the windows
//! `latchkey keys expiring --within` reads (`14d`, `12h`, `2w`).

use chrono::{Days, Duration, NaiveDate, NaiveDateTime};
use serde::Deserialize;

use crate::domain::key_type::KeyType;

/// The longest lifetime a catalogue may give a type: ten years, the longest
/// any expiry date may be set ahead.
pub const LONGEST_LIFETIME_DAYS: u32 = 3650;

/// The periods step one offers, in days, besides a date and "Never".
pub const PRESET_DAYS: [u32; 3] = [30, 90, 365];

/// Reads `max_lifetime_days` / `default_lifetime_days`: any whole number, so
/// a zero or negative one gets the catalogue's own message, not serde's.
pub(crate) fn days<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Option<u32>, D::Error> {
    let n = i64::deserialize(de)?;
    u32::try_from(n)
        .ok()
        .filter(|n| (1..=LONGEST_LIFETIME_DAYS).contains(n))
        .map(Some)
        .ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{n} is not a lifetime: give a whole number of days from 1 to {LONGEST_LIFETIME_DAYS}"
            ))
        })
}

/// "1 day", "90 days".
fn days_text(n: u32) -> String {
    if n == 1 {
        "1 day".to_owned()
    } else {
        format!("{n} days")
    }
}

/// The first instant after the whole of `day` (UTC).
pub fn end_of(day: NaiveDate) -> Option<NaiveDateTime> {
    day.checked_add_days(Days::new(1))
        .and_then(|d| d.and_hms_opt(0, 0, 0))
}

impl KeyType {
    /// The catalogue's rules for the two lifetimes (each is already 1 to
    /// `LONGEST_LIFETIME_DAYS`): the default fits within the maximum.
    pub(crate) fn check_lifetimes(&self) -> Result<(), String> {
        match (self.default_lifetime_days, self.max_lifetime_days) {
            (Some(default), Some(max)) if default > max => Err(format!(
                "default_lifetime_days ({default}) is longer than max_lifetime_days ({max})"
            )),
            _ => Ok(()),
        }
    }

    /// Whether keys of this type may be made to never expire.
    pub fn allows_never(&self) -> bool {
        self.max_lifetime_days.is_none()
    }

    /// Whether step one offers the preset of `days` for this type.
    pub fn offers_preset(&self, days: u32) -> bool {
        self.max_lifetime_days.is_none_or(|max| days <= max)
    }

    /// The lifetime preselected in step one, in days; `None` is "Never".
    /// Without a default, a type with a maximum starts at its maximum.
    pub fn default_lifetime(&self) -> Option<u32> {
        self.default_lifetime_days.or(self.max_lifetime_days)
    }

    /// The last day (UTC) a key created at `created_at` may work through,
    /// where the type has a maximum.
    pub fn last_allowed_day(&self, created_at: NaiveDateTime) -> Option<NaiveDate> {
        let max = self.max_lifetime_days?;
        created_at.date().checked_add_days(Days::new(max.into()))
    }

    /// Whether a key of this type created at `created_at` may expire at
    /// `expires_at` (`None`: never), judged at `now`. `Err` holds the
    /// reason, in words for the person who chose the expiry.
    ///
    /// Refused: an expiry at or before `now`; "never" where the type has a
    /// maximum; an expiry after the end of the last day the maximum allows.
    pub fn check_expiry(
        &self,
        created_at: NaiveDateTime,
        expires_at: Option<NaiveDateTime>,
        now: NaiveDateTime,
    ) -> Result<(), String> {
        let (Some(max), Some(last_day)) =
            (self.max_lifetime_days, self.last_allowed_day(created_at))
        else {
            return match expires_at {
                Some(at) if at <= now => Err(PAST.to_owned()),
                _ => Ok(()),
            };
        };
        match expires_at {
            None => Err(format!(
                "{} keys cannot be set to never expire: they last at most {}. \
                 Choose an expiry on or before {last_day}.",
                self.name,
                days_text(max)
            )),
            Some(at) if at <= now => Err(PAST.to_owned()),
            Some(at) if end_of(last_day).is_none_or(|latest| at > latest) => Err(format!(
                "{} keys last at most {}. Choose an expiry on or before {last_day}.",
                self.name,
                days_text(max)
            )),
            Some(_) => Ok(()),
        }
    }
}

const PAST: &str = "The expiration date is in the past. Choose today or a later date.";

/// Reads a window such as `14d`, `12h` or `2w`: a whole number from 1 and a
/// unit (hours, days, weeks), at most ten years.
pub fn parse_window(text: &str) -> Result<Duration, String> {
    let explain = || {
        format!(
            "“{text}” is not a window of time: write a whole number and a unit, \
             such as 14d (days), 12h (hours) or 2w (weeks)"
        )
    };
    let text = text.trim();
    let unit_at = text.len().checked_sub(1).ok_or_else(explain)?;
    let (number, unit) = text.split_at(unit_at);
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(explain());
    }
    let n: i64 = number.parse().map_err(|_| explain())?;
    let hours_per = match unit {
        "h" => 1,
        "d" => 24,
        "w" => 24 * 7,
        _ => return Err(explain()),
    };
    let longest = i64::from(LONGEST_LIFETIME_DAYS) * 24;
    match n.checked_mul(hours_per) {
        Some(0) => Err(format!("“{text}” is empty: the window must be at least 1h")),
        Some(hours) if hours <= longest => Ok(Duration::hours(hours)),
        _ => Err(format!(
            "“{text}” is too long: the window can be at most {LONGEST_LIFETIME_DAYS}d (ten years)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::key_type::{Catalogue, CatalogueError};

    /// (type, created, expires, now, answer)
    type Judged<'a> = (
        &'a KeyType,
        &'a str,
        Option<&'a str>,
        &'a str,
        Result<(), &'a str>,
    );
    /// (max, default)
    type Lifetimes = (Option<u32>, Option<u32>);
    /// (allows never, offered presets, preselected)
    type Offered = (bool, [bool; 3], Option<u32>);

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
    }

    fn key_type(max: Option<u32>, default: Option<u32>) -> KeyType {
        let mut text = "[[type]]\ncode = \"otp\"\nname = \"OTP\"\nscheme = \"bearer\"\n".to_owned();
        if let Some(max) = max {
            text.push_str(&format!("max_lifetime_days = {max}\n"));
        }
        if let Some(default) = default {
            text.push_str(&format!("default_lifetime_days = {default}\n"));
        }
        Catalogue::parse(&text).unwrap().get("otp").unwrap().clone()
    }

    #[test]
    fn expiries_are_judged_against_the_types_maximum_and_the_clock() {
        let limited = key_type(Some(90), None);
        let unlimited = key_type(None, None);
        let one_day = key_type(Some(1), None);
        // (type, created, expires, now, answer)
        #[rustfmt::skip]
        let cases: &[Judged] = &[
            // No maximum: anything in the future, or never.
            (&unlimited, "2026-11-25 09:30", None, "2026-11-25 09:30", Ok(())),
            (&unlimited, "2026-11-25 09:30", Some("2036-11-23 00:00"), "2026-11-25 09:30", Ok(())),
            (&unlimited, "2026-11-25 09:30", Some("2026-11-25 09:31"), "2026-11-25 09:30", Ok(())),
            (&unlimited, "2026-11-25 09:30", Some("2026-11-25 09:30"), "2026-11-25 09:30",
                Err("The expiration date is in the past. Choose today or a later date.")),
            (&unlimited, "2026-11-25 09:30", Some("2026-11-24 00:00"), "2026-11-25 09:30",
                Err("The expiration date is in the past. Choose today or a later date.")),
            // 90 days from 25 November: through the end of 23 February.
            (&limited, "2026-11-25 09:30", Some("2027-02-24 00:00"), "2026-11-25 09:30", Ok(())),
            (&limited, "2026-11-25 23:59", Some("2027-02-24 00:00"), "2026-11-25 23:59", Ok(())),
            (&limited, "2026-11-25 09:30", Some("2027-02-24 00:01"), "2026-11-25 09:30",
                Err("OTP keys last at most 90 days. Choose an expiry on or before 2027-02-23.")),
            (&limited, "2026-11-25 09:30", Some("2027-11-26 00:00"), "2026-11-25 09:30",
                Err("OTP keys last at most 90 days. Choose an expiry on or before 2027-02-23.")),
            (&limited, "2026-11-25 09:30", None, "2026-11-25 09:30",
                Err("OTP keys cannot be set to never expire: they last at most 90 days. Choose an expiry on or before 2027-02-23.")),
            (&limited, "2026-11-25 09:30", Some("2026-11-25 09:00"), "2026-11-25 09:30",
                Err("The expiration date is in the past. Choose today or a later date.")),
            // An existing key, edited later: the maximum counts from its creation.
            (&limited, "2026-11-25 09:30", Some("2027-02-24 00:00"), "2027-01-10 12:00", Ok(())),
            (&limited, "2026-11-25 09:30", Some("2027-02-25 00:00"), "2027-01-10 12:00",
                Err("OTP keys last at most 90 days. Choose an expiry on or before 2027-02-23.")),
            (&limited, "2026-11-25 09:30", Some("2027-01-10 11:00"), "2027-01-10 12:00",
                Err("The expiration date is in the past. Choose today or a later date.")),
            (&one_day, "2026-11-25 09:30", Some("2026-11-27 00:00"), "2026-11-25 09:30", Ok(())),
            (&one_day, "2026-11-25 09:30", None, "2026-11-25 09:30",
                Err("OTP keys cannot be set to never expire: they last at most 1 day. Choose an expiry on or before 2026-11-26.")),
        ];
        for (key_type, created, expires, now, answer) in cases {
            let got = key_type.check_expiry(at(created), expires.map(at), at(now));
            assert_eq!(
                got,
                answer.map_err(str::to_owned),
                "created {created}, expires {expires:?}, now {now}, max {:?}",
                key_type.max_lifetime_days
            );
        }
    }

    #[test]
    fn presets_and_defaults_follow_the_maximum() {
        // (max, default) → (allows never, offered presets, preselected)
        #[rustfmt::skip]
        let cases: &[(Lifetimes, Offered)] = &[
            ((None, None), (true, [true, true, true], None)),
            ((None, Some(365)), (true, [true, true, true], Some(365))),
            ((Some(730), Some(365)), (false, [true, true, true], Some(365))),
            ((Some(365), None), (false, [true, true, true], Some(365))),
            ((Some(90), Some(30)), (false, [true, true, false], Some(30))),
            ((Some(89), None), (false, [true, false, false], Some(89))),
            ((Some(7), Some(7)), (false, [false, false, false], Some(7))),
        ];
        for ((max, default), (never, offered, preselected)) in cases {
            let t = key_type(*max, *default);
            assert_eq!(t.allows_never(), *never, "{max:?}");
            assert_eq!(PRESET_DAYS.map(|d| t.offers_preset(d)), *offered, "{max:?}");
            assert_eq!(t.default_lifetime(), *preselected, "{max:?} {default:?}");
        }
    }

    #[test]
    fn a_catalogue_with_impossible_lifetimes_is_refused_with_a_reason() {
        let with = |fields: &str| {
            Catalogue::parse(&format!(
                "[[type]]\ncode = \"otp\"\nname = \"OTP\"\nscheme = \"bearer\"\n{fields}\n"
            ))
            .map(|_| ())
            .map_err(|e| e.to_string())
        };
        #[rustfmt::skip]
        let cases: &[(&str, Result<(), &str>)] = &[
            ("max_lifetime_days = 90\ndefault_lifetime_days = 90", Ok(())),
            ("max_lifetime_days = 3650", Ok(())),
            ("default_lifetime_days = 1", Ok(())),
            ("max_lifetime_days = 90\ndefault_lifetime_days = 91",
                Err("key type “otp”: default_lifetime_days (91) is longer than max_lifetime_days (90)")),
            ("max_lifetime_days = 0", Err("0 is not a lifetime: give a whole number of days from 1 to 3650")),
            ("max_lifetime_days = -30", Err("-30 is not a lifetime: give a whole number of days from 1 to 3650")),
            ("default_lifetime_days = 3651", Err("3651 is not a lifetime: give a whole number of days from 1 to 3650")),
            ("max_lifetime_days = \"90\"", Err("invalid type: string \"90\", expected i64")),
        ];
        for (fields, answer) in cases {
            match (with(fields), answer) {
                (Ok(()), Ok(())) => {}
                (Err(got), Err(want)) => assert!(got.contains(want), "{fields}: {got}"),
                (got, want) => panic!("{fields}: got {got:?}, want {want:?}"),
            }
        }
        assert!(matches!(
            Catalogue::parse("[[type]]\ncode = \"otp\"\nname = \"OTP\"\nscheme = \"bearer\"\ngroup = \" \"\n"),
            Err(CatalogueError::BadGroup(code)) if code == "otp"
        ));
    }

    #[test]
    fn windows_read_hours_days_and_weeks() {
        #[rustfmt::skip]
        let cases: &[(&str, Result<i64, &str>)] = &[
            ("14d", Ok(14 * 24)),
            ("12h", Ok(12)),
            ("2w", Ok(336)),
            (" 1d ", Ok(24)),
            ("3650d", Ok(87_600)),
            ("87600h", Ok(87_600)),
            ("521w", Ok(87_528)),
            ("3651d", Err("“3651d” is too long: the window can be at most 3650d (ten years)")),
            ("522w", Err("“522w” is too long: the window can be at most 3650d (ten years)")),
            ("99999999999999999999d", Err("is not a window of time")),
            ("0d", Err("“0d” is empty: the window must be at least 1h")),
            ("3x", Err("“3x” is not a window of time: write a whole number and a unit, such as 14d (days), 12h (hours) or 2w (weeks)")),
            ("d", Err("is not a window of time")),
            ("14", Err("is not a window of time")),
            ("-1d", Err("is not a window of time")),
            ("+1d", Err("is not a window of time")),
            ("1.5d", Err("is not a window of time")),
            ("14D", Err("is not a window of time")),
            ("", Err("is not a window of time")),
            ("١d", Err("is not a window of time")),
        ];
        for (text, answer) in cases {
            match (parse_window(text), answer) {
                (Ok(got), Ok(hours)) => assert_eq!(got, Duration::hours(*hours), "{text}"),
                (Err(got), Err(want)) => assert!(got.contains(want), "{text}: {got}"),
                (got, want) => panic!("{text}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn a_day_ends_at_the_next_midnight() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 31).unwrap();
        assert_eq!(end_of(day), Some(at("2027-01-01 00:00")));
        assert_eq!(end_of(NaiveDate::MAX), None);
    }
}
