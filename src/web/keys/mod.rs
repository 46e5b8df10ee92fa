//! Settings > Integration Settings > API Keys.

pub mod change;
pub mod delete;
pub mod detail;
pub mod generate;
pub mod list;
pub mod roll;
pub mod try_it;
pub mod type_picker;
pub mod usage_chart;

use chrono::NaiveDateTime;

use crate::db::keys::KeyView;
use crate::domain::api_key;
use crate::domain::ip_allowlist::IpAllowlist;
use crate::domain::key_state::{StateFacts, Status};
use crate::domain::key_type::Catalogue;
use crate::web::error::AppError;
use crate::web::views::Moment;

/// The key id from the address, if it could name a key at all; anything else
/// is "no such key" without a database read.
pub fn key_id_from_path(id: actix_web::web::Path<String>) -> Result<String, AppError> {
    let id = id.into_inner();
    if api_key::is_public_id(&id) {
        Ok(id)
    } else {
        Err(no_such_key())
    }
}

/// A key named in the address by its id or by its visible prefix
/// (`lk_<type>_<id>`), whose type must then be the key's.
pub struct KeyRef {
    pub id: String,
    pub type_code: Option<String>,
}

pub fn key_ref_from_path(id: actix_web::web::Path<String>) -> Result<KeyRef, AppError> {
    let id = id.into_inner();
    if let Ok(prefix) = api_key::parse_key_id(&id) {
        return Ok(KeyRef {
            id: prefix.public_id.to_owned(),
            type_code: Some(prefix.type_code.to_owned()),
        });
    }
    key_id_from_path(actix_web::web::Path::from(id)).map(|id| KeyRef {
        id,
        type_code: None,
    })
}

/// The key with this id, if it is not deleted; otherwise "no such key".
pub async fn load(state: &crate::web::state::AppState, id: String) -> Result<KeyView, AppError> {
    state
        .db(move |conn| Ok(crate::db::keys::find(conn, &id)?))
        .await?
        .ok_or_else(no_such_key)
}

pub fn no_such_key() -> AppError {
    AppError::NotFoundWith(
        "There is no API key with that identifier. It may have been deleted.".into(),
    )
}

/// A key as its row and detail page show it. Never holds secret material.
#[derive(Debug)]
pub struct KeyRow {
    pub id: String,
    pub name: String,
    pub type_name: String,
    pub type_code: String,
    pub scheme_label: &'static str,
    pub masked: String,
    pub contact_email: String,
    pub created_by: String,
    pub created_at: Moment,
    pub expires: Option<Moment>,
    pub ip_summary: String,
    pub ip_entries: Vec<String>,
    /// The stored list could not be read: verification refuses the key.
    pub ip_unreadable: bool,
    pub status: Status,
    pub life: Life,
    /// The row's change stamp: an edit form opened now carries it.
    pub changed_at: NaiveDateTime,
    pub rate_limit: Option<i32>,
    pub last_used: Option<Moment>,
    pub last_used_ip: Option<String>,
    /// Not used for 90 days (or never, and created more than 90 days ago).
    pub stale: bool,
    /// Verifications refused today (shown in the list, which sets it).
    pub refused_today: i64,
}

/// Keys unused this long are flagged in the list.
pub const STALE_AFTER: chrono::Duration = chrono::Duration::days(90);

/// A key's life beyond its badge: who switched it off, what it was rolled
/// to or from, where it leaked.
#[derive(Debug, Default)]
pub struct Life {
    pub disabled: Option<(Moment, String)>,
    pub replaced_by: Option<String>,
    pub replaces: Option<String>,
    pub leaked: Option<(Moment, String)>,
}

impl KeyRow {
    /// The words beside the badge: when a rolled key stops, who switched a key off.
    pub fn status_note(&self) -> Option<String> {
        let when = |at: &chrono::NaiveDateTime| at.format("%Y-%m-%d %H:%M UTC").to_string();
        match self.status {
            Status::Rolled { stops_at } => Some(format!("Stops working at {}", when(&stops_at))),
            Status::Retired { stopped_at } => {
                Some(format!("Stopped working at {}", when(&stopped_at)))
            }
            Status::Disabled => self
                .life
                .disabled
                .as_ref()
                .map(|(at, by)| format!("By {by}, {}", at.text)),
            _ => None,
        }
    }

    /// The masked key split where a narrow column may wrap it: `lk_type_` and `…last`.
    pub fn masked_parts(&self) -> (&str, &str) {
        self.masked
            .split_at(self.masked.find('…').unwrap_or(self.masked.len()))
    }

    pub fn new(key: KeyView, catalogue: &Catalogue, now: NaiveDateTime) -> Self {
        let key_type = catalogue.get(&key.type_code);
        let allowlist = IpAllowlist::from_stored(&key.allowed_ips);
        let state = key.state;
        let status = Status::of(
            StateFacts {
                expires_at: key.expires_at,
                disabled: state.disabled_at.is_some(),
                type_disabled: key_type.is_some_and(|t| t.is_disabled(now)),
                rolled_stops_at: state.replaced_by.as_ref().and(state.stops_at),
            },
            now,
        );
        let life = Life {
            disabled: state
                .disabled_at
                .map(|at| (Moment::new(at), state.disabled_by.unwrap_or_default())),
            replaced_by: state.replaced_by,
            replaces: state.replaces,
            leaked: state
                .leaked_at
                .map(|at| (Moment::new(at), state.leaked_where.unwrap_or_default())),
        };
        KeyRow {
            masked: api_key::masked(&key.type_code, &key.last_four),
            type_name: key_type
                .map(|t| t.name.clone())
                .unwrap_or_else(|| format!("{} (no longer offered)", key.type_code)),
            scheme_label: key_type.map(|t| t.scheme.label()).unwrap_or(""),
            created_by: key
                .created_by_email
                .unwrap_or_else(|| "a deleted user".to_owned()),
            created_at: Moment::new(key.created_at),
            expires: key.expires_at.map(Moment::expiry),
            ip_summary: allowlist.as_ref().map_or_else(
                || "Unreadable list: the key is refused".to_owned(),
                IpAllowlist::summary,
            ),
            ip_unreadable: allowlist.is_none(),
            ip_entries: allowlist.map(|a| a.entries()).unwrap_or_default(),
            status,
            life,
            changed_at: key.changed_at,
            rate_limit: key.rate_limit,
            stale: key.last_used_at.unwrap_or(key.created_at) + STALE_AFTER <= now,
            refused_today: 0,
            last_used: key.last_used_at.map(Moment::new),
            last_used_ip: key.last_used_ip,
            id: key.id,
            name: key.name,
            type_code: key.type_code,
            contact_email: key.contact_email,
        }
    }
}
