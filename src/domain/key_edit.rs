//! Changing a key after it was generated: its name, contact email, trusted
//! IPs and expiry, validated as generating validates them, and the words the
//! audit trail keeps for what each field was and what it became.

use chrono::{NaiveDate, NaiveDateTime};

use crate::domain::ip_allowlist::{IpAllowlist, LineError};
use crate::domain::key_request::{Expiry, FieldErrors, check_contact_email, check_name};

/// The edit form, exactly as typed, so the page can show it again.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct KeyEditForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub contact_email: String,
    #[serde(default)]
    pub trusted_ips: String,
    /// "never" or "on".
    #[serde(default)]
    pub expires: String,
    /// `YYYY-MM-DD`, read when `expires` is "on".
    #[serde(default)]
    pub expires_on: String,
    /// The key's change stamp when the form was opened.
    #[serde(default)]
    pub seen: String,
}

/// A key's editable values, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Editable {
    pub name: String,
    pub contact_email: String,
    pub allowlist: IpAllowlist,
    pub expires_at: Option<NaiveDateTime>,
}

/// What was wrong with the form: field messages, and the trusted IP lines
/// that could not be read.
#[derive(Debug, Default)]
pub struct EditErrors {
    pub fields: FieldErrors,
    pub lines: Vec<LineError>,
}

/// The format of the change stamp the form carries (microseconds, as both
/// databases keep them).
pub const SEEN_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6f";

impl KeyEditForm {
    /// The form for a key as it stands.
    pub fn of(current: &Editable, changed_at: NaiveDateTime) -> KeyEditForm {
        let expiry_day = current.expires_at.map(|at| {
            // Stored as the first instant the key no longer works; the form
            // shows the last day it does.
            (at - chrono::Duration::seconds(1)).date()
        });
        KeyEditForm {
            name: current.name.clone(),
            contact_email: current.contact_email.clone(),
            trusted_ips: current.allowlist.entries().join("\n"),
            expires: if expiry_day.is_some() { "on" } else { "never" }.to_owned(),
            expires_on: expiry_day.map(|d| d.to_string()).unwrap_or_default(),
            seen: changed_at.format(SEEN_FORMAT).to_string(),
        }
    }

    /// The change stamp the form was opened at, if it can be read.
    pub fn seen(&self) -> Option<NaiveDateTime> {
        NaiveDateTime::parse_from_str(self.seen.trim(), SEEN_FORMAT).ok()
    }

    /// Reads the form. An expiry may not be in the past: a key that should
    /// stop now is disabled or deleted instead.
    pub fn validate(&self, now: NaiveDateTime) -> Result<Editable, EditErrors> {
        let mut errors = EditErrors::default();
        let name = self.name.trim();
        if let Err(message) = check_name(name) {
            errors.fields.push(("name", message));
        }
        let email = self.contact_email.trim();
        if let Err(message) = check_contact_email(email) {
            errors.fields.push(("contact_email", message));
        }
        let allowlist = IpAllowlist::parse(&self.trusted_ips)
            .map_err(|lines| errors.lines = lines)
            .ok();
        let expiry = match self.expires.as_str() {
            "never" if !self.expires_on.trim().is_empty() => {
                errors.fields.push((
                    "expires_on",
                    "You entered a date but chose “Never”. Choose “On this date” to keep the date, or clear it."
                        .into(),
                ));
                None
            }
            "never" => Some(Expiry::Never),
            "on" => match NaiveDate::parse_from_str(self.expires_on.trim(), "%Y-%m-%d") {
                Err(_) => {
                    errors.fields.push((
                        "expires_on",
                        "Enter the expiration date as YYYY-MM-DD.".into(),
                    ));
                    None
                }
                Ok(day) if day < now.date() => {
                    errors.fields.push((
                        "expires_on",
                        "The expiration date is in the past. To stop the key now, disable or delete it."
                            .into(),
                    ));
                    None
                }
                Ok(day) => Some(Expiry::EndOf(day)),
            },
            _ => {
                errors
                    .fields
                    .push(("expires", "Choose an expiration date or “Never”.".into()));
                None
            }
        };
        match (allowlist, expiry) {
            (Some(allowlist), Some(expiry))
                if errors.fields.is_empty() && errors.lines.is_empty() =>
            {
                Ok(Editable {
                    name: name.to_owned(),
                    contact_email: email.to_owned(),
                    allowlist,
                    expires_at: expiry.instant(),
                })
            }
            _ => Err(errors),
        }
    }
}

/// What changed, field by field, as the audit trail words it; `None` when
/// nothing did.
pub fn describe_changes(before: &Editable, after: &Editable) -> Option<String> {
    let expiry = |at: Option<NaiveDateTime>| {
        at.map_or("never".to_owned(), |at| {
            at.format("%Y-%m-%d %H:%M UTC").to_string()
        })
    };
    let mut changes = Vec::new();
    if before.name != after.name {
        changes.push(format!("name “{}” → “{}”", before.name, after.name));
    }
    if before.contact_email != after.contact_email {
        changes.push(format!(
            "contact email {} → {}",
            before.contact_email, after.contact_email
        ));
    }
    if before.allowlist != after.allowlist {
        changes.push(format!(
            "trusted IPs {} → {}",
            list_words(&before.allowlist),
            list_words(&after.allowlist)
        ));
    }
    if before.expires_at != after.expires_at {
        changes.push(format!(
            "expires {} → {}",
            expiry(before.expires_at),
            expiry(after.expires_at)
        ));
    }
    (!changes.is_empty()).then(|| changes.join("; "))
}

/// A list in the audit trail's words: every entry when there are a few.
fn list_words(list: &IpAllowlist) -> String {
    let entries = list.entries();
    match entries.len() {
        0 => "any address".to_owned(),
        1..=5 => entries.join(", "),
        _ => list.summary(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    const NOW: &str = "2026-11-27 12:00:00";

    fn form(expires: &str, expires_on: &str) -> KeyEditForm {
        KeyEditForm {
            name: " Checkout ".into(),
            contact_email: " ops@example.com ".into(),
            trusted_ips: "10.0.0.0/8\n203.0.113.9".into(),
            expires: expires.into(),
            expires_on: expires_on.into(),
            seen: String::new(),
        }
    }

    fn field_errors(form: &KeyEditForm) -> Vec<(&'static str, String)> {
        form.validate(at(NOW)).unwrap_err().fields
    }

    #[test]
    fn a_good_form_reads_trimmed_with_its_expiry_at_the_end_of_the_day() {
        let edit = form("on", "2026-12-31").validate(at(NOW)).unwrap();
        assert_eq!(edit.name, "Checkout");
        assert_eq!(edit.contact_email, "ops@example.com");
        assert_eq!(edit.allowlist.entries(), vec!["10.0.0.0/8", "203.0.113.9"]);
        assert_eq!(edit.expires_at, Some(at("2027-01-01 00:00:00")));
        let never = form("never", " ").validate(at(NOW)).unwrap();
        assert_eq!(never.expires_at, None);
        let today = form("on", "2026-11-27").validate(at(NOW)).unwrap();
        assert_eq!(today.expires_at, Some(at("2026-11-28 00:00:00")));
    }

    #[test]
    fn each_mistake_has_its_message() {
        let table: &[(KeyEditForm, &[(&str, &str)])] = &[
            (
                form("never", "2026-12-31"),
                &[(
                    "expires_on",
                    "You entered a date but chose “Never”. Choose “On this date” to keep the date, or clear it.",
                )],
            ),
            (
                form("on", "2026-11-26"),
                &[(
                    "expires_on",
                    "The expiration date is in the past. To stop the key now, disable or delete it.",
                )],
            ),
            (
                form("on", "31/12/2026"),
                &[("expires_on", "Enter the expiration date as YYYY-MM-DD.")],
            ),
            (
                form("", ""),
                &[("expires", "Choose an expiration date or “Never”.")],
            ),
            (
                KeyEditForm {
                    name: "  ".into(),
                    contact_email: "nobody".into(),
                    ..form("never", "")
                },
                &[
                    (
                        "name",
                        "Give the key a name, so people can tell what it is for.",
                    ),
                    (
                        "contact_email",
                        "Enter a valid email address, such as ops@example.com.",
                    ),
                ],
            ),
        ];
        for (form, expected) in table {
            let expected: Vec<(&str, String)> = expected
                .iter()
                .map(|(f, m)| (*f, (*m).to_owned()))
                .collect();
            assert_eq!(field_errors(form), expected, "{form:?}");
        }
    }

    #[test]
    fn bad_ip_lines_are_reported_and_nothing_is_accepted() {
        let errors = KeyEditForm {
            trusted_ips: "10.0.0.0/8\n300.1.1.1".into(),
            ..form("never", "")
        }
        .validate(at(NOW))
        .unwrap_err();
        assert!(errors.fields.is_empty());
        assert_eq!(errors.lines.len(), 1);
        assert_eq!(errors.lines[0].line, 2);
    }

    #[test]
    fn the_form_shows_a_key_as_it_stands_and_reads_back_the_same() {
        let current = Editable {
            name: "Checkout".into(),
            contact_email: "ops@example.com".into(),
            allowlist: IpAllowlist::parse("10.0.0.0/8").unwrap(),
            expires_at: Some(at("2027-01-01 00:00:00")),
        };
        let stamp = at("2026-11-20 08:15:30") + chrono::Duration::microseconds(123_456);
        let shown = KeyEditForm::of(&current, stamp);
        assert_eq!(shown.expires, "on");
        assert_eq!(shown.expires_on, "2026-12-31");
        assert_eq!(shown.trusted_ips, "10.0.0.0/8");
        assert_eq!(shown.seen, "2026-11-20T08:15:30.123456");
        assert_eq!(shown.seen(), Some(stamp));
        assert_eq!(shown.validate(at(NOW)).unwrap(), current);
        let never = KeyEditForm::of(
            &Editable {
                expires_at: None,
                ..current
            },
            stamp,
        );
        assert_eq!(
            (never.expires.as_str(), never.expires_on.as_str()),
            ("never", "")
        );
    }

    #[test]
    fn changes_are_worded_field_by_field() {
        let before = Editable {
            name: "Checkout".into(),
            contact_email: "ops@example.com".into(),
            allowlist: IpAllowlist::parse("").unwrap(),
            expires_at: None,
        };
        assert_eq!(describe_changes(&before, &before), None);
        let after = Editable {
            name: "Checkout v2".into(),
            contact_email: "team@example.com".into(),
            allowlist: IpAllowlist::parse("10.0.0.0/8\n203.0.113.9").unwrap(),
            expires_at: Some(at("2027-01-01 00:00:00")),
        };
        assert_eq!(
            describe_changes(&before, &after).as_deref(),
            Some(
                "name “Checkout” → “Checkout v2”; contact email ops@example.com → team@example.com; \
                 trusted IPs any address → 10.0.0.0/8, 203.0.113.9; expires never → 2027-01-01 00:00 UTC"
            )
        );
        let only_ips = Editable {
            allowlist: IpAllowlist::parse("10.0.0.0/8").unwrap(),
            ..before.clone()
        };
        assert_eq!(
            describe_changes(&only_ips, &before).as_deref(),
            Some("trusted IPs 10.0.0.0/8 → any address")
        );
    }
}
