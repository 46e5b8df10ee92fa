//! Step one of the Generate API Key flow: what the administrator asked for,
//! validated field by field so each mistake gets its own message.

use chrono::{Days, NaiveDate, NaiveDateTime};
use validator::ValidateEmail;

use crate::domain::key_type::{Catalogue, KeyType};

pub const MAX_NAME_CHARS: usize = 80;
pub const MAX_EMAIL_CHARS: usize = 254;
/// Keys can be made to last at most this long; "never" is the choice for longer.
pub const MAX_EXPIRY_YEARS: u64 = 10;

/// The raw form, exactly as typed, so the page can show it again.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
pub struct KeyRequestForm {
    #[serde(default)]
    pub type_code: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub contact_email: String,
    /// "never" or "on".
    #[serde(default)]
    pub expires: String,
    /// `YYYY-MM-DD`, read when `expires` is "on".
    #[serde(default)]
    pub expires_on: String,
}

/// When a key stops working.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    Never,
    /// The key works through the whole of this day (UTC).
    EndOf(NaiveDate),
}

impl Expiry {
    /// The first instant at which the key is no longer valid.
    pub fn instant(self) -> Option<NaiveDateTime> {
        match self {
            Expiry::Never => None,
            Expiry::EndOf(day) => day
                .checked_add_days(Days::new(1))
                .map(|d| d.and_hms_opt(0, 0, 0).expect("midnight exists")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRequest {
    pub type_code: String,
    pub name: String,
    pub contact_email: String,
    pub expiry: Expiry,
}

/// Field name → message, in form order.
pub type FieldErrors = Vec<(&'static str, String)>;

impl KeyRequestForm {
    pub fn validate(
        &self,
        catalogue: &Catalogue,
        now: NaiveDateTime,
    ) -> Result<KeyRequest, FieldErrors> {
        let mut errors = FieldErrors::new();
        let today = now.date();

        let key_type: Option<&KeyType> = catalogue
            .get(self.type_code.trim())
            .filter(|t| !t.is_disabled(now));
        if key_type.is_none() {
            let message = if self.type_code.trim().is_empty() {
                "Select the API type this key is for."
            } else if catalogue.get(self.type_code.trim()).is_some() {
                "That API type has been disabled; its keys no longer work. Select another."
            } else {
                "That API type does not exist. Select one from the list."
            };
            errors.push(("type_code", message.into()));
        }

        let name = self.name.trim();
        if let Err(message) = check_name(name) {
            errors.push(("name", message));
        }

        let email = self.contact_email.trim();
        if let Err(message) = check_contact_email(email) {
            errors.push(("contact_email", message));
        }

        let expiry = match self.expires.as_str() {
            "never" => Some(Expiry::Never),
            "on" => match NaiveDate::parse_from_str(self.expires_on.trim(), "%Y-%m-%d") {
                Err(_) => {
                    errors.push((
                        "expires_on",
                        "Enter the expiration date as YYYY-MM-DD.".into(),
                    ));
                    None
                }
                Ok(day) if day < today => {
                    errors.push((
                        "expires_on",
                        "The expiration date is in the past. Choose today or a later date.".into(),
                    ));
                    None
                }
                Ok(day) if day > today + Days::new(365 * MAX_EXPIRY_YEARS) => {
                    errors.push((
                        "expires_on",
                        format!("Choose a date within {MAX_EXPIRY_YEARS} years, or “Never”."),
                    ));
                    None
                }
                Ok(day) => Some(Expiry::EndOf(day)),
            },
            _ => {
                errors.push(("expires", "Choose an expiration date or “Never”.".into()));
                None
            }
        };

        match (key_type, expiry) {
            (Some(key_type), Some(expiry)) if errors.is_empty() => Ok(KeyRequest {
                type_code: key_type.code.clone(),
                name: name.to_owned(),
                contact_email: email.to_owned(),
                expiry,
            }),
            _ => Err(errors),
        }
    }
}

/// A key's name (trimmed): present, at most 80 characters, no control characters.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        Err("Give the key a name, so people can tell what it is for.".into())
    } else if name.chars().count() > MAX_NAME_CHARS {
        Err(format!(
            "The name can be at most {MAX_NAME_CHARS} characters."
        ))
    } else if name.chars().any(char::is_control) {
        Err("The name cannot contain control characters.".into())
    } else {
        Ok(())
    }
}

/// A key's contact email (trimmed).
pub fn check_contact_email(email: &str) -> Result<(), String> {
    if email.is_empty() {
        Err("Enter a contact email for whoever owns this key.".into())
    } else if email.chars().count() > MAX_EMAIL_CHARS || !email.validate_email() {
        Err("Enter a valid email address, such as ops@example.com.".into())
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 25)
            .unwrap()
            .and_hms_opt(9, 30, 0)
            .unwrap()
    }

    fn form() -> KeyRequestForm {
        KeyRequestForm {
            type_code: "ucd".into(),
            name: "  Checkout service ".into(),
            contact_email: "ops@example.com".into(),
            expires: "never".into(),
            expires_on: String::new(),
        }
    }

    fn fields(errors: FieldErrors) -> Vec<&'static str> {
        errors.into_iter().map(|(f, _)| f).collect()
    }

    #[test]
    fn a_complete_form_becomes_a_request_with_trimmed_values() {
        let request = form()
            .validate(&Catalogue::default_catalogue(), today())
            .unwrap();
        assert_eq!(request.name, "Checkout service");
        assert_eq!(request.expiry, Expiry::Never);
    }

    #[test]
    fn an_expiry_date_lasts_through_that_day() {
        let mut f = form();
        f.expires = "on".into();
        f.expires_on = "2026-11-25".into();
        let request = f
            .validate(&Catalogue::default_catalogue(), today())
            .unwrap();
        assert_eq!(
            request.expiry.instant().unwrap().to_string(),
            "2026-11-26 00:00:00"
        );
    }

    #[test]
    fn expiry_dates_are_accepted_up_to_3650_days_ahead_and_not_one_more() {
        // 2026-11-25 + 3650 days (ten years of 365 days) = 2036-11-22.
        let catalogue = Catalogue::default_catalogue();
        let on = |date: &str| KeyRequestForm {
            expires: "on".into(),
            expires_on: date.into(),
            ..form()
        };
        let last = on("2036-11-22").validate(&catalogue, today()).unwrap();
        assert_eq!(
            last.expiry,
            Expiry::EndOf(NaiveDate::from_ymd_opt(2036, 11, 22).unwrap())
        );
        let errors = on("2036-11-23").validate(&catalogue, today()).unwrap_err();
        assert_eq!(
            errors,
            vec![(
                "expires_on",
                "Choose a date within 10 years, or “Never”.".to_owned()
            )]
        );
        assert!(on("2027-12-01").validate(&catalogue, today()).is_ok());
        assert!(on("2030-01-01").validate(&catalogue, today()).is_ok());
    }

    /// A syntactically valid address of `len` characters (64-character local part).
    fn email_of_length(len: usize) -> String {
        let email = format!(
            "{}@{}.{}.{}.com",
            "a".repeat(64),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(len - 197)
        );
        assert_eq!(email.len(), len);
        email
    }

    #[test]
    fn contact_emails_may_have_254_characters_and_not_255() {
        let catalogue = Catalogue::default_catalogue();
        let with_email = |email: String| KeyRequestForm {
            contact_email: email,
            ..form()
        };
        let longest = with_email(email_of_length(254))
            .validate(&catalogue, today())
            .unwrap();
        assert_eq!(longest.contact_email.len(), 254);
        let errors = with_email(email_of_length(255))
            .validate(&catalogue, today())
            .unwrap_err();
        assert_eq!(
            errors,
            vec![(
                "contact_email",
                "Enter a valid email address, such as ops@example.com.".to_owned()
            )]
        );
    }

    #[test]
    fn names_may_have_80_characters_and_not_81() {
        let catalogue = Catalogue::default_catalogue();
        let named = |name: String| KeyRequestForm { name, ..form() };
        assert_eq!(
            named("é".repeat(80))
                .validate(&catalogue, today())
                .unwrap()
                .name,
            "é".repeat(80)
        );
        assert_eq!(
            fields(
                named("é".repeat(81))
                    .validate(&catalogue, today())
                    .unwrap_err()
            ),
            vec!["name"]
        );
    }

    #[test]
    fn each_bad_field_gets_its_own_message() {
        let f = KeyRequestForm {
            type_code: "nope".into(),
            name: "x".repeat(81),
            contact_email: "not-an-email".into(),
            expires: "on".into(),
            expires_on: "2020-01-01".into(),
        };
        let errors = f
            .validate(&Catalogue::default_catalogue(), today())
            .unwrap_err();
        assert_eq!(
            fields(errors),
            vec!["type_code", "name", "contact_email", "expires_on"]
        );
    }

    #[test]
    fn missing_and_garbled_values_are_refused() {
        let catalogue = Catalogue::default_catalogue();
        let empty = KeyRequestForm::default()
            .validate(&catalogue, today())
            .unwrap_err();
        assert_eq!(
            fields(empty),
            vec!["type_code", "name", "contact_email", "expires"]
        );

        let mut f = form();
        f.expires = "on".into();
        f.expires_on = "25/11/2026".into();
        assert_eq!(
            fields(f.validate(&catalogue, today()).unwrap_err()),
            vec!["expires_on"]
        );

        f.expires_on = "9999-12-31".into();
        assert_eq!(
            fields(f.validate(&catalogue, today()).unwrap_err()),
            vec!["expires_on"]
        );

        let mut f = form();
        f.name = "tab\tin name".into();
        assert_eq!(
            fields(f.validate(&catalogue, today()).unwrap_err()),
            vec!["name"]
        );
    }
}
