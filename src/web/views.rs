//! What every page's layout needs, and small formatting helpers for templates.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::domain::role::{Permission, Role};
use crate::web::auth::CurrentUser;

/// The layout's inputs: who is signed in, the flash message, the active nav entry.
#[derive(Debug, Default)]
pub struct Chrome {
    pub user: Option<UserBadge>,
    pub flash: Option<Flash>,
    pub nav: &'static str,
    /// The session's form token, put in every state-changing form.
    pub csrf: String,
}

#[derive(Debug)]
pub struct UserBadge {
    pub email: String,
    pub role: &'static str,
    pub can_view_audit: bool,
}

impl Chrome {
    pub fn asset_version(&self) -> &'static str {
        crate::web::assets::version()
    }

    pub fn for_user(user: &CurrentUser, flash: Option<Flash>, nav: &'static str) -> Self {
        Chrome {
            user: Some(UserBadge {
                email: user.email.clone(),
                role: user.role.label(),
                can_view_audit: user.can(Permission::ViewAudit),
            }),
            flash,
            nav,
            csrf: user.csrf.clone(),
        }
    }
}

/// A one-line message shown once on the next page, after a redirect.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flash {
    pub kind: FlashKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FlashKind {
    Success,
    Info,
    Error,
}

impl Flash {
    pub fn success(message: impl Into<String>) -> Self {
        Flash {
            kind: FlashKind::Success,
            message: message.into(),
        }
    }

    pub fn info(message: impl Into<String>) -> Self {
        Flash {
            kind: FlashKind::Info,
            message: message.into(),
        }
    }

    pub fn css_class(&self) -> &'static str {
        match self.kind {
            FlashKind::Success => "flash flash-success",
            FlashKind::Info => "flash flash-info",
            FlashKind::Error => "flash flash-error",
        }
    }
}

/// A UTC instant as templates show it.
#[derive(Debug, Clone)]
pub struct Moment {
    /// ISO 8601, for `<time datetime>`.
    pub iso: String,
    pub text: String,
    /// The precise meaning, for a tooltip.
    pub title: String,
}

impl Moment {
    pub fn new(at: NaiveDateTime) -> Self {
        Moment {
            iso: iso(at),
            title: at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            // Scripts rewrite it in the reader's own time zone; without them it reads as UTC.
            text: at.format("%Y-%m-%d %H:%M UTC").to_string(),
        }
    }

    /// An expiry instant (always a midnight) shown as the last day the key works.
    pub fn expiry(at: NaiveDateTime) -> Self {
        let last_day = (at - chrono::Duration::seconds(1)).date();
        Moment {
            iso: iso(at),
            text: last_day.format("%Y-%m-%d").to_string(),
            title: format!("Works until the end of {} UTC", last_day.format("%Y-%m-%d")),
        }
    }
}

fn iso(at: NaiveDateTime) -> String {
    at.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// What the signed-in user may see of the controls on a page.
#[derive(Debug, Clone, Copy)]
pub struct Can {
    pub manage_keys: bool,
    pub view_key_details: bool,
}

impl Can {
    pub fn for_role(role: Role) -> Self {
        Can {
            manage_keys: role.can(Permission::ManageKeys),
            view_key_details: role.can(Permission::ViewKeyDetails),
        }
    }
}

/// Per-field messages of a form that did not validate, in form order.
pub trait FieldMessages {
    /// The message for one field, if it has one.
    fn message_for(&self, field: &str) -> Option<&str>;
}

impl FieldMessages for Vec<(&'static str, String)> {
    fn message_for(&self, field: &str) -> Option<&str> {
        self.iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }
}
