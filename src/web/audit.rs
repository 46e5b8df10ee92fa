//! The audit log: every recorded event, newest first, filtered and paged, and
//! the same selection as CSV. Read-only: no route edits or deletes events.

use actix_web::http::header::{
    self, CacheControl, CacheDirective, ContentDisposition, DispositionParam, DispositionType,
};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::{Days, NaiveDate};

use crate::db::audit::{self, AuditFilter, AuditRow, action};
use crate::web::auth::CurrentUser;
use crate::web::error::AppError;
use crate::web::render;
use crate::web::state::AppState;
use crate::web::views::{Chrome, Moment, Pager};

pub const PAGE_SIZE: i64 = 50;
/// Most rows one CSV export carries; narrow the filters for more.
pub const MAX_EXPORT: i64 = 100_000;

/// Every action the console records, with the words people read for it.
pub const ACTIONS: &[(&str, &str)] = &[
    (action::KEY_CREATED, "Key generated"),
    (action::KEY_DELETED, "Key deleted"),
    (action::KEY_RATE_LIMIT_CHANGED, "Rate limit changed"),
    (action::LOGIN, "Signed in"),
    (action::LOGIN_FAILED, "Sign-in failed"),
    (action::LOCKOUT, "Sign-in paused"),
    (action::LOCKOUT_REFUSED, "Attempts refused while paused"),
    (action::UNLOCKED, "Sign-in unlocked"),
    (action::LOGOUT, "Signed out"),
    (action::USER_CREATED, "User added"),
    (action::PASSWORD_CHANGED, "Password changed"),
    (action::PASSWORD_CHANGE_FAILED, "Password change refused"),
    (action::ROLE_CHANGED, "Role changed"),
    (action::USER_DISABLED, "User disabled"),
    (action::USER_ENABLED, "User enabled"),
];

/// The words for a recorded action, if the console knows it.
fn action_label(code: &str) -> Option<&'static str> {
    ACTIONS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, label)| *label)
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    page: Option<i64>,
}

impl AuditQuery {
    /// The filter, or a message naming the field that could not be read.
    fn filter(&self) -> Result<AuditFilter, String> {
        let text = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        let day = |s: &str, name: &str| -> Result<Option<NaiveDate>, String> {
            match text(s) {
                None => Ok(None),
                Some(s) => NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                    .map(Some)
                    .map_err(|_| format!("“{name}” must be a date such as 2026-11-25.")),
            }
        };
        let action = text(&self.action);
        if action.as_deref().is_some_and(|a| action_label(a).is_none()) {
            return Err("That action is not one the console records.".into());
        }
        let from = day(&self.from, "From")?;
        let to = day(&self.to, "To")?;
        Ok(AuditFilter {
            actor: text(&self.actor).map(|a| a.to_lowercase()),
            action,
            key_id: text(&self.key),
            from: from.map(|d| d.and_hms_opt(0, 0, 0).expect("midnight")),
            until: to
                .and_then(|d| d.checked_add_days(Days::new(1)))
                .map(|d| d.and_hms_opt(0, 0, 0).expect("midnight")),
        })
    }
}

struct EventRow {
    at: Moment,
    actor: String,
    action: String,
    action_label: String,
    key_id: String,
    client_ip: String,
    detail: String,
}

impl From<AuditRow> for EventRow {
    fn from(row: AuditRow) -> Self {
        EventRow {
            at: Moment::new(row.at),
            actor: row.actor_email.unwrap_or_default(),
            // An unknown code (written by a newer version) reads as itself.
            action_label: action_label(&row.action).unwrap_or(&row.action).to_owned(),
            action: row.action,
            key_id: row.key_id.unwrap_or_default(),
            client_ip: row.client_ip.unwrap_or_default(),
            detail: row.detail,
        }
    }
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    chrome: Chrome,
    query: AuditQuery,
    actions: &'static [(&'static str, &'static str)],
    error: Option<String>,
    rows: Vec<EventRow>,
    pager: Pager,
    /// The filters as a query string, for the export link and the pager.
    filter_query: String,
}

pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let page = Pager::requested(query.page)?;
    let filter_query = filter_query_string(&req);
    let (rows, total, error) = match query.filter() {
        Err(message) => (Vec::new(), 0, Some(message)),
        Ok(filter) => {
            let (rows, total) = state
                .db(move |conn| {
                    let total = audit::count(conn, &filter)?;
                    let rows = audit::page(conn, &filter, (page - 1) * PAGE_SIZE, PAGE_SIZE)?;
                    Ok((rows, total))
                })
                .await?;
            (rows.into_iter().map(EventRow::from).collect(), total, None)
        }
    };
    let status = if error.is_some() {
        actix_web::http::StatusCode::BAD_REQUEST
    } else {
        actix_web::http::StatusCode::OK
    };
    let page = AuditPage {
        chrome: Chrome::for_user(&user, None, "audit"),
        query,
        actions: ACTIONS,
        error,
        rows,
        pager: Pager::new(
            page,
            total,
            PAGE_SIZE,
            filter_query.clone(),
            ("event", "events"),
        ),
        filter_query,
    };
    render(status, &page)
}

/// The current filters without the page number.
fn filter_query_string(req: &HttpRequest) -> String {
    req.query_string()
        .split('&')
        .filter(|pair| !pair.is_empty() && !pair.starts_with("page="))
        .collect::<Vec<_>>()
        .join("&")
}

pub async fn export(
    state: web::Data<AppState>,
    _user: CurrentUser,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    let filter = query.filter().map_err(AppError::BadRequest)?;
    let rows = state
        .db(move |conn| Ok(audit::page(conn, &filter, 0, MAX_EXPORT)?))
        .await?;
    let mut csv = String::from("time_utc,actor,action,key_id,client_ip,detail\r\n");
    for row in rows {
        let at = row
            .at
            .and_utc()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let fields = [
            at.as_str(),
            row.actor_email.as_deref().unwrap_or(""),
            row.action.as_str(),
            row.key_id.as_deref().unwrap_or(""),
            row.client_ip.as_deref().unwrap_or(""),
            row.detail.as_str(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        csv.push_str(&line.join(","));
        csv.push_str("\r\n");
    }
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .insert_header(ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: vec![DispositionParam::Filename("latchkey-audit.csv".into())],
        })
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(csv))
}

/// Quotes a CSV field, and defuses values a spreadsheet would run as a formula.
fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    format!("\"{}\"", value.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("plain"), "\"plain\"");
        assert_eq!(csv_field("say \"hi\", ok"), "\"say \"\"hi\"\", ok\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("@SUM(A1)"), "\"'@SUM(A1)\"");
    }

    #[test]
    fn filters_are_read_and_checked() {
        let query = AuditQuery {
            actor: " Admin@Example.com ".into(),
            action: "key.deleted".into(),
            from: "2026-11-01".into(),
            to: "2026-11-25".into(),
            ..AuditQuery::default()
        };
        let filter = query.filter().unwrap();
        assert_eq!(filter.actor.as_deref(), Some("admin@example.com"));
        assert_eq!(filter.until.unwrap().to_string(), "2026-11-26 00:00:00");
        let bad = AuditQuery {
            action: "drop table".into(),
            ..AuditQuery::default()
        };
        assert!(bad.filter().is_err());
        let bad_date = AuditQuery {
            from: "yesterday".into(),
            ..AuditQuery::default()
        };
        assert!(bad_date.filter().unwrap_err().contains("From"));
    }
}
