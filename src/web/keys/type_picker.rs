//! What step one of the Generate API Key form shows: the catalogue's types by
//! group, each with its description, its expiry policy and (for limited
//! types) how many of its keys are in use; and the expiry choices.
//!
//! Every expiry choice is rendered for every type; `static/app.js` hides the
//! ones the chosen type does not allow and preselects its default, from the
//! `data-` attributes written here. Without scripts the server refuses a
//! choice the type does not allow, with a message saying what is allowed.

use chrono::{Days, NaiveDate, NaiveDateTime};

use crate::db::{self, keys};
use crate::domain::expiry::{LONGEST_LIFETIME_DAYS, PRESET_DAYS};
use crate::domain::key_request::{ExpiryChoice, KeyRequestForm};
use crate::domain::key_type::{Catalogue, KeyType};
use crate::web::error::AppError;
use crate::web::state::AppState;

/// The choice preselected before any type is chosen.
const STARTING_CHOICE: ExpiryChoice = ExpiryChoice::Days(90);

pub struct TypeGroup {
    /// `None` for the types without a group, listed last.
    pub title: Option<String>,
    pub types: Vec<TypeOption>,
}

pub struct TypeOption {
    pub code: String,
    pub name: String,
    pub description: String,
    pub selected: bool,
    /// "3 of 5 in use", for types with a limit on active keys.
    pub in_use: Option<String>,
    /// At its limit: the radio is disabled and a note links to its keys.
    pub full: bool,
    /// "Keys last at most 90 days.", for types with a maximum.
    pub lifetime: Option<String>,
    /// For the script: the maximum in days ("" for none), the last day a key
    /// made today may work through, and the default choice (and its date).
    pub max_days: String,
    pub last_day: String,
    pub default_choice: String,
    pub default_date: String,
}

/// One preset period, as the form offers it.
pub struct PresetOption {
    pub value: String,
    pub label: String,
    pub days: u32,
    /// The last day a key made now would work through (UTC).
    pub through: String,
    pub checked: bool,
}

/// The expiry part of the form.
pub struct ExpiryOptions {
    pub presets: Vec<PresetOption>,
    pub on_date: bool,
    pub never: bool,
    /// Bounds of the date field: today and ten years ahead.
    pub min_date: String,
    pub max_date: String,
}

/// The form a type starts with: its default expiry preselected.
pub fn starting_form(
    catalogue: &Catalogue,
    type_code: String,
    now: NaiveDateTime,
) -> KeyRequestForm {
    let (choice, date) = offered(catalogue, &type_code, now)
        .map(|t| ExpiryChoice::default_for(t, now.date()))
        .unwrap_or((STARTING_CHOICE, String::new()));
    KeyRequestForm {
        type_code,
        expires: choice.value(),
        expires_on: date,
        ..KeyRequestForm::default()
    }
}

fn offered<'a>(catalogue: &'a Catalogue, code: &str, now: NaiveDateTime) -> Option<&'a KeyType> {
    catalogue.get(code).filter(|t| !t.is_disabled(now))
}

/// The types offered now, grouped, with the use of each limited type (one
/// query for all of them).
pub async fn type_groups(
    state: &AppState,
    selected: &str,
    application_id: &str,
) -> Result<Vec<TypeGroup>, AppError> {
    let now = state.clock.now();
    let types: Vec<&KeyType> = state
        .catalogue
        .all()
        .iter()
        .filter(|t| !t.is_disabled(now))
        .collect();
    let limited: Vec<String> = types
        .iter()
        .filter(|t| t.max_active.is_some())
        .map(|t| t.code.clone())
        .collect();
    let application_id = application_id.to_owned();
    let counts = state
        .db(move |conn| {
            Ok(keys::active_counts(
                conn,
                &limited,
                &application_id,
                db::now(),
            )?)
        })
        .await?;
    let mut groups: Vec<TypeGroup> = Vec::new();
    for key_type in types {
        let active = counts
            .iter()
            .find(|(code, _)| *code == key_type.code)
            .map_or(0, |(_, n)| *n);
        let option = type_option(key_type, selected, active, now);
        let title = key_type.group.as_ref().map(|g| g.trim().to_owned());
        match groups.iter_mut().find(|g| g.title == title) {
            Some(group) => group.types.push(option),
            None => groups.push(TypeGroup {
                title,
                types: vec![option],
            }),
        }
    }
    // Ungrouped types last.
    groups.sort_by_key(|g| g.title.is_none());
    Ok(groups)
}

fn type_option(key_type: &KeyType, selected: &str, active: i64, now: NaiveDateTime) -> TypeOption {
    let (default, default_date) = ExpiryChoice::default_for(key_type, now.date());
    let full = key_type
        .max_active
        .is_some_and(|limit| active >= i64::from(limit));
    TypeOption {
        code: key_type.code.clone(),
        name: key_type.name.clone(),
        description: key_type.description.clone(),
        selected: key_type.code == selected,
        in_use: key_type
            .max_active
            .map(|limit| format!("{active} of {limit} in use")),
        full,
        lifetime: key_type
            .max_lifetime_days
            .map(|max| format!("Keys last at most {max} days.")),
        max_days: key_type
            .max_lifetime_days
            .map(|d| d.to_string())
            .unwrap_or_default(),
        last_day: key_type
            .last_allowed_day(now)
            .map(|d| d.to_string())
            .unwrap_or_default(),
        default_choice: default.value(),
        default_date,
    }
}

/// The expiry choices, with the form's choice checked.
pub fn expiry_options(form: &KeyRequestForm, today: NaiveDate) -> ExpiryOptions {
    let day = |days: u32| {
        today
            .checked_add_days(Days::new(days.into()))
            .map(|d| d.to_string())
            .unwrap_or_default()
    };
    ExpiryOptions {
        presets: PRESET_DAYS
            .into_iter()
            .map(|days| {
                let choice = ExpiryChoice::Days(days);
                PresetOption {
                    value: choice.value(),
                    label: choice.label(),
                    days,
                    through: day(days),
                    checked: form.expires == choice.value(),
                }
            })
            .collect(),
        on_date: form.expires == ExpiryChoice::OnDate.value(),
        never: form.expires == ExpiryChoice::Never.value(),
        min_date: today.to_string(),
        max_date: day(LONGEST_LIFETIME_DAYS),
    }
}
