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
    pub can_manage_webhooks: bool,
    pub can_manage_users: bool,
    /// Only setting up two-factor is open (see `CurrentUser::must_enrol`):
    /// the navigation is hidden.
    pub restricted: bool,
}

impl Chrome {
    pub fn asset_version(&self) -> &'static str {
        crate::web::assets::version()
    }

    /// No navigation: signed out, or only two-factor setup is open.
    pub fn bare(&self) -> bool {
        self.user.as_ref().is_none_or(|u| u.restricted)
    }

    pub fn for_user(user: &CurrentUser, flash: Option<Flash>, nav: &'static str) -> Self {
        Chrome {
            user: Some(UserBadge {
                email: user.email.clone(),
                role: user.role.label(),
                can_view_audit: user.can(Permission::ViewAudit),
                can_manage_webhooks: user.can(Permission::ManageKeys),
                can_manage_users: user.can(Permission::ManageUsers),
                restricted: user.must_enrol,
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

    pub fn error(message: impl Into<String>) -> Self {
        Flash {
            kind: FlashKind::Error,
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

/// Which page of a long list is shown, and how to link to its neighbours.
#[derive(Debug)]
pub struct Pager {
    pub page: i64,
    pub pages: i64,
    pub total: i64,
    /// Other query parameters (filters) the page links keep, ending in `&` if any.
    pub query: String,
    noun: (&'static str, &'static str),
}

impl Pager {
    /// Far beyond any real list; keeps the offset arithmetic in range.
    const MAX_PAGE: i64 = 1_000_000;

    /// The page asked for in the address (1 when absent).
    pub fn requested(page: Option<i64>) -> Result<i64, crate::web::error::AppError> {
        let page = page.unwrap_or(1);
        if (1..=Self::MAX_PAGE).contains(&page) {
            Ok(page)
        } else {
            Err(crate::web::error::AppError::BadRequest(
                "The page number must be 1 or more.".into(),
            ))
        }
    }

    /// `noun` is the singular and plural of what is counted.
    pub fn new(
        page: i64,
        total: i64,
        page_size: i64,
        query: String,
        noun: (&'static str, &'static str),
    ) -> Self {
        Pager {
            page,
            pages: ((total + page_size - 1) / page_size).max(1),
            total,
            query: if query.is_empty() {
                query
            } else {
                format!("{query}&")
            },
            noun,
        }
    }

    pub fn prev(&self) -> Option<i64> {
        (self.page > 1).then(|| self.page - 1)
    }

    pub fn next(&self) -> Option<i64> {
        (self.page < self.pages).then(|| self.page + 1)
    }

    pub fn noun(&self) -> &'static str {
        if self.total == 1 {
            self.noun.0
        } else {
            self.noun.1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pager_keeps_filters_and_counts_pages() {
        let pager = Pager::new(2, 101, 50, "action=key.deleted".into(), ("event", "events"));
        assert_eq!(
            (pager.pages, pager.prev(), pager.next()),
            (3, Some(1), Some(3))
        );
        assert_eq!(pager.query, "action=key.deleted&");
        assert_eq!(pager.noun(), "events");
        let one = Pager::new(1, 1, 20, String::new(), ("key", "keys"));
        assert_eq!(
            (
                one.pages,
                one.prev(),
                one.next(),
                one.query.as_str(),
                one.noun()
            ),
            (1, None, None, "", "key")
        );
        assert!(Pager::requested(Some(0)).is_err());
        assert_eq!(Pager::requested(None).unwrap(), 1);
    }
}
