//! Step one of the Generate API Key flow: what the administrator asked for,
//! validated field by field so each mistake gets its own message.

use chrono::{Days, NaiveDate, NaiveDateTime};
use validator::ValidateEmail;

use crate::domain::expiry::{PRESET_DAYS, end_of};
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
    /// A period (`30d`, `90d`, `365d`), "on" (a date) or "never".
    #[serde(default)]
    pub expires: String,
    /// `YYYY-MM-DD`, read when `expires` is "on".
    #[serde(default)]
    pub expires_on: String,
    /// The Application's id: asked only where there are two or more
    /// (checked against the stored Applications, not here).
    #[serde(default)]
    pub application: String,
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
            Expiry::EndOf(day) => end_of(day),
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

        let expiry = self.expiry(today, &mut errors);
        if let (Some(key_type), Some(expiry)) = (key_type, expiry)
            && let Err(message) = key_type.check_expiry(now, expiry.instant(), now)
        {
            let field = if self.expires == "on" {
                "expires_on"
            } else {
                "expires"
            };
            errors.push((field, message));
        }

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

    /// The expiry chosen, read as of `today` (UTC); `None` after recording
    /// why it cannot be read.
    fn expiry(&self, today: NaiveDate, errors: &mut FieldErrors) -> Option<Expiry> {
        let Some(choice) = ExpiryChoice::parse(&self.expires) else {
            errors.push((
                "expires",
                "Choose an expiration date, a period or “Never”.".into(),
            ));
            return None;
        };
        let typed = self.expires_on.trim();
        let day = match choice {
            ExpiryChoice::Never => return self.no_date_typed(choice, errors, Expiry::Never),
            ExpiryChoice::Days(days) => {
                let Some(day) = today.checked_add_days(Days::new(days.into())) else {
                    errors.push((
                        "expires",
                        "That period ends too far ahead; choose a date.".into(),
                    ));
                    return None;
                };
                return self.no_date_typed(choice, errors, Expiry::EndOf(day));
            }
            ExpiryChoice::OnDate => NaiveDate::parse_from_str(typed, "%Y-%m-%d"),
        };
        let message = match day {
            Err(_) if typed.is_empty() => "Enter the expiration date.".to_owned(),
            Err(_) => "Enter the expiration date as YYYY-MM-DD.".to_owned(),
            Ok(day) if day < today => {
                "The expiration date is in the past. Choose today or a later date.".to_owned()
            }
            Ok(day) if day > today + Days::new(365 * MAX_EXPIRY_YEARS) => {
                format!("Choose a date within {MAX_EXPIRY_YEARS} years, or “Never”.")
            }
            Ok(day) => return Some(Expiry::EndOf(day)),
        };
        errors.push(("expires_on", message));
        None
    }

    /// A date typed beside another choice is never dropped in silence
    /// (browsers without scripts do not select "On a date" for it).
    fn no_date_typed(
        &self,
        choice: ExpiryChoice,
        errors: &mut FieldErrors,
        expiry: Expiry,
    ) -> Option<Expiry> {
        let typed = self.expires_on.trim();
        if typed.is_empty() {
            return Some(expiry);
        }
        errors.push((
            "expires_on",
            format!(
                "You entered the date {typed}, but “{}” is selected. \
                 Select “On a date” to use the date, or clear it.",
                choice.label()
            ),
        ));
        None
    }
}

/// One of the expiry choices step one offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiryChoice {
    /// Through the end of the day this many days from today (UTC).
    Days(u32),
    OnDate,
    Never,
}

impl ExpiryChoice {
    /// Every choice, in the order the form lists them.
    pub fn all() -> impl Iterator<Item = ExpiryChoice> {
        PRESET_DAYS
            .into_iter()
            .map(ExpiryChoice::Days)
            .chain([ExpiryChoice::OnDate, ExpiryChoice::Never])
    }

    /// Reads the form's value: `30d`, `90d`, `365d`, `on` or `never`.
    pub fn parse(value: &str) -> Option<ExpiryChoice> {
        ExpiryChoice::all().find(|c| c.value() == value)
    }

    /// The form's value.
    pub fn value(self) -> String {
        match self {
            ExpiryChoice::Days(days) => format!("{days}d"),
            ExpiryChoice::OnDate => "on".to_owned(),
            ExpiryChoice::Never => "never".to_owned(),
        }
    }

    pub fn label(self) -> String {
        match self {
            ExpiryChoice::Days(days) => format!("{days} days"),
            ExpiryChoice::OnDate => "On a date".to_owned(),
            ExpiryChoice::Never => "Never".to_owned(),
        }
    }

    /// The choice a type starts with, and the date it fills in (a default
    /// that is not one of the presets becomes that date).
    pub fn default_for(key_type: &KeyType, today: NaiveDate) -> (ExpiryChoice, String) {
        match key_type.default_lifetime() {
            None => (ExpiryChoice::Never, String::new()),
            Some(days) if PRESET_DAYS.contains(&days) => (ExpiryChoice::Days(days), String::new()),
            Some(days) => (
                ExpiryChoice::OnDate,
                today
                    .checked_add_days(Days::new(days.into()))
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
            ),
        }
    }

    /// Whether a type offers this choice at all.
    pub fn offered_for(self, key_type: &KeyType) -> bool {
        match self {
            ExpiryChoice::Days(days) => key_type.offers_preset(days),
            ExpiryChoice::OnDate => true,
            ExpiryChoice::Never => key_type.allows_never(),
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

    /// A refusal: (field, message).
    type FieldError<'a> = (&'a str, &'a str);

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
            application: String::new(),
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
            application: String::new(),
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

    #[test]
    fn each_choice_becomes_its_expiry_as_of_the_day_it_was_made() {
        // today() is 2026-11-25 09:30 UTC; the shipped Transactional SMS has no maximum.
        #[rustfmt::skip]
        let cases: &[(&str, &str, Option<&str>)] = &[
            ("30d", "", Some("2026-12-26 00:00:00")),
            ("90d", "", Some("2027-02-24 00:00:00")),
            ("365d", "", Some("2027-11-26 00:00:00")),
            ("on", "2026-12-31", Some("2027-01-01 00:00:00")),
            ("never", "", None),
        ];
        for (choice, date, instant) in cases {
            let f = KeyRequestForm {
                type_code: "tsms".into(),
                expires: (*choice).into(),
                expires_on: (*date).into(),
                ..form()
            };
            let request = f
                .validate(&Catalogue::default_catalogue(), today())
                .unwrap_or_else(|e| panic!("{choice}: {e:?}"));
            assert_eq!(
                request.expiry.instant().map(|at| at.to_string()).as_deref(),
                *instant,
                "{choice}"
            );
        }
    }

    #[test]
    fn a_types_maximum_refuses_longer_choices_and_never() {
        // The shipped OTP for SMS: at most 90 days, so through 2027-02-23 from 2026-11-25.
        let otp = |choice: &str, date: &str| KeyRequestForm {
            type_code: "otpsms".into(),
            expires: choice.into(),
            expires_on: date.into(),
            ..form()
        };
        let too_long =
            "OTP for SMS keys last at most 90 days. Choose an expiry on or before 2027-02-23.";
        #[rustfmt::skip]
        let cases: &[(&str, &str, Result<&str, FieldError>)] = &[
            ("30d", "", Ok("2026-12-26 00:00:00")),
            ("90d", "", Ok("2027-02-24 00:00:00")),
            ("on", "2027-02-23", Ok("2027-02-24 00:00:00")),
            ("365d", "", Err(("expires", too_long))),
            ("on", "2027-02-24", Err(("expires_on", too_long))),
            ("never", "", Err(("expires",
                "OTP for SMS keys cannot be set to never expire: they last at most 90 days. Choose an expiry on or before 2027-02-23."))),
        ];
        for (choice, date, answer) in cases {
            let got = otp(choice, date).validate(&Catalogue::default_catalogue(), today());
            match (got, answer) {
                (Ok(request), Ok(instant)) => assert_eq!(
                    request.expiry.instant().unwrap().to_string(),
                    *instant,
                    "{choice} {date}"
                ),
                (Err(errors), Err((field, message))) => assert_eq!(
                    errors,
                    vec![(*field, (*message).to_owned())],
                    "{choice} {date}"
                ),
                (got, want) => panic!("{choice} {date}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn a_date_typed_beside_another_choice_is_refused_not_dropped() {
        let catalogue = Catalogue::default_catalogue();
        #[rustfmt::skip]
        let cases: &[(&str, &str)] = &[
            ("never", "You entered the date 2027-01-31, but “Never” is selected. Select “On a date” to use the date, or clear it."),
            ("30d", "You entered the date 2027-01-31, but “30 days” is selected. Select “On a date” to use the date, or clear it."),
        ];
        for (choice, message) in cases {
            let f = KeyRequestForm {
                expires: (*choice).into(),
                expires_on: " 2027-01-31 ".into(),
                ..form()
            };
            assert_eq!(
                f.validate(&catalogue, today()).unwrap_err(),
                vec![("expires_on", (*message).to_owned())]
            );
        }
        let on = KeyRequestForm {
            expires: "on".into(),
            expires_on: String::new(),
            ..form()
        };
        assert_eq!(
            on.validate(&catalogue, today()).unwrap_err(),
            vec![("expires_on", "Enter the expiration date.".to_owned())]
        );
    }

    #[test]
    fn choices_read_back_from_their_form_values() {
        #[rustfmt::skip]
        let cases: &[(&str, Option<ExpiryChoice>, &str)] = &[
            ("30d", Some(ExpiryChoice::Days(30)), "30 days"),
            ("90d", Some(ExpiryChoice::Days(90)), "90 days"),
            ("365d", Some(ExpiryChoice::Days(365)), "365 days"),
            ("on", Some(ExpiryChoice::OnDate), "On a date"),
            ("never", Some(ExpiryChoice::Never), "Never"),
            ("31d", None, ""),
            ("", None, ""),
            ("Never", None, ""),
        ];
        for (value, choice, label) in cases {
            assert_eq!(ExpiryChoice::parse(value), *choice, "{value}");
            if let Some(choice) = choice {
                assert_eq!(choice.value(), *value);
                assert_eq!(choice.label(), *label);
            }
        }
    }

    #[test]
    fn each_type_starts_at_its_default() {
        let catalogue = Catalogue::default_catalogue();
        let day = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        #[rustfmt::skip]
        let cases: &[(&str, ExpiryChoice, &str)] = &[
            ("tsms", ExpiryChoice::Never, ""),
            ("ucd", ExpiryChoice::Never, ""),
            ("otpsms", ExpiryChoice::Days(30), ""),
            ("caemail", ExpiryChoice::Days(90), ""),
            ("catalog", ExpiryChoice::Days(365), ""),
            ("hubhmac", ExpiryChoice::Days(365), ""),
        ];
        for (code, choice, date) in cases {
            let key_type = catalogue.get(code).unwrap();
            assert_eq!(
                ExpiryChoice::default_for(key_type, day),
                (*choice, (*date).to_owned()),
                "{code}"
            );
        }
        let odd = Catalogue::parse(
            "[[type]]\ncode = \"crm\"\nname = \"CRM\"\nscheme = \"bearer\"\ndefault_lifetime_days = 45\n",
        )
        .unwrap();
        assert_eq!(
            ExpiryChoice::default_for(odd.get("crm").unwrap(), day),
            (ExpiryChoice::OnDate, "2027-01-09".to_owned())
        );
        let limited = catalogue.get("otpsms").unwrap();
        let offered: Vec<String> = ExpiryChoice::all()
            .filter(|c| c.offered_for(limited))
            .map(ExpiryChoice::value)
            .collect();
        assert_eq!(offered, ["30d", "90d", "on"]);
    }
}
