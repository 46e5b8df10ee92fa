//! The audit log: every recorded event, newest first, filtered and paged by
//! cursor, and the same selection as a streamed CSV. Read-only: no route
//! edits or deletes events. Times, shown and filtered, are UTC.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::{DateTime, Days, NaiveDate};

use crate::db::DbConn;
use crate::db::audit::{
    self, AuditFilter, AuditRow, MAX_MATCHES, Position, Selection, TooBroad, Towards, action,
};
use crate::db::count::Counted;
use crate::domain::api_key::PUBLIC_ID_LEN;
use crate::domain::role::Permission;
use crate::domain::token::is_base62;
use crate::web::auth::CurrentUser;
use crate::web::csv::CsvExport;
use crate::web::cursor::{BadCursor, Cursor, CursorPager, Direction, Value, query_without_cursor};
use crate::web::error::AppError;
use crate::web::render;
use crate::web::state::AppState;
use crate::web::views::{Chrome, Moment};

pub const PAGE_SIZE: usize = 50;
/// The event count stops here and reads "10,000+".
pub const COUNT_CAP: i64 = 10_000;
/// Longest actor text the filter takes (an email address's limit).
const MAX_ACTOR_LEN: usize = 254;

/// Every action the console records, with the words people read for it.
pub const ACTIONS: &[(&str, &str)] = &[
    (action::KEY_CREATED, "Key generated"),
    (action::KEY_DELETED, "Key deleted"),
    (action::KEY_RATE_LIMIT_CHANGED, "Rate limit changed"),
    (action::KEY_UPDATED, "Key changed"),
    (action::KEY_DISABLED, "Key disabled"),
    (action::KEY_ENABLED, "Key enabled"),
    (action::KEY_ROLLED, "Key rolled"),
    (action::KEY_LEAKED, "Key reported leaked"),
    (action::LOGIN, "Signed in"),
    (action::LOGIN_FAILED, "Sign-in failed"),
    (action::LOCKOUT, "Sign-in paused"),
    (action::LOCKOUT_REFUSED, "Attempts refused while paused"),
    (action::UNLOCKED, "Sign-in unlocked"),
    (action::LOGOUT, "Signed out"),
    (action::SESSION_ENDED, "Another session signed out"),
    (
        action::OTHER_SESSIONS_ENDED,
        "All other sessions signed out",
    ),
    (action::USER_CREATED, "User added"),
    (action::PASSWORD_CHANGED, "Password changed"),
    (action::PASSWORD_CHANGE_FAILED, "Password change refused"),
    (action::ROLE_CHANGED, "Role changed"),
    (action::USER_DISABLED, "User disabled"),
    (action::USER_ENABLED, "User enabled"),
    (action::USER_DELETED, "User deleted"),
    (action::USER_INVITED, "User invited"),
    (action::INVITATION_ACCEPTED, "Invitation accepted"),
    (action::TWO_FACTOR_FAILED, "Two-factor code refused"),
    (action::TWO_FACTOR_ENROLLED, "Two-factor turned on"),
    (action::TWO_FACTOR_DISABLED, "Two-factor turned off"),
    (action::TWO_FACTOR_RESET, "Two-factor reset"),
    (action::RECOVERY_CODES_REPLACED, "Recovery codes replaced"),
    (action::USER_SESSIONS_ENDED, "User's sessions ended"),
    (action::APPLICATION_CREATED, "Application created"),
    (action::APPLICATION_RENAMED, "Application renamed"),
    (action::APPLICATION_ARCHIVED, "Application archived"),
    (action::APPLICATION_UNARCHIVED, "Application unarchived"),
    (action::WEBHOOK_CREATED, "Webhook endpoint added"),
    (action::WEBHOOK_DELETED, "Webhook endpoint deleted"),
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
    #[serde(default)]
    cursor: String,
}

impl AuditQuery {
    /// The filter, or a message saying what could not be used.
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
        let actor = text(&self.actor).map(|a| a.to_lowercase());
        if actor
            .as_ref()
            .is_some_and(|a| a.chars().count() > MAX_ACTOR_LEN)
        {
            return Err(format!(
                "“Actor” is at most {MAX_ACTOR_LEN} characters: type part of an address."
            ));
        }
        let key = text(&self.key).map(|k| key_prefix(&k)).transpose()?;
        let from = day(&self.from, "From")?;
        let to = day(&self.to, "To")?;
        if let (Some(from), Some(to)) = (from, to)
            && from > to
        {
            return Err(format!(
                "“From” ({from}) is after “To” ({to}): no event can be in that range. \
                 Put the earlier date in “From”."
            ));
        }
        Ok(AuditFilter {
            actor,
            action,
            key,
            from: from.map(|d| d.and_hms_opt(0, 0, 0).expect("midnight")),
            until: to
                .and_then(|d| d.checked_add_days(Days::new(1)))
                .map(|d| d.and_hms_opt(0, 0, 0).expect("midnight")),
        })
    }

    /// Where the page starts: the newest events, or a cursor's position.
    fn start(&self) -> Result<Option<(Position, Towards)>, BadCursor> {
        let text = self.cursor.trim();
        if text.is_empty() {
            return Ok(None);
        }
        let cursor = Cursor::decode(text)?;
        cursor.expect_len(2)?;
        let at = DateTime::from_timestamp_micros(cursor.int(0)?)
            .ok_or(BadCursor)?
            .naive_utc();
        let id = cursor.text(1)?;
        if id.is_empty() || id.len() > 64 {
            return Err(BadCursor);
        }
        let towards = match cursor.direction {
            Direction::After => Towards::Older,
            Direction::Before => Towards::Newer,
        };
        let id = id.to_owned();
        Ok(Some((Position { at, id }, towards)))
    }
}

/// The Key ID part of what was typed, in lower case: a whole Key ID, its
/// first characters, or a key's public name (`lk_ucd_4fQ9…`).
fn key_prefix(typed: &str) -> Result<String, String> {
    let id = typed.rsplit('_').next().unwrap_or_default();
    if id.is_empty() {
        return Err("Type the Key ID after “_”, such as 4fQ9xY2mK8pR.".into());
    }
    if !is_base62(id) {
        return Err("A Key ID has only letters and digits, such as 4fQ9xY2mK8pR.".into());
    }
    if id.len() > PUBLIC_ID_LEN {
        return Err(format!(
            "A Key ID is {PUBLIC_ID_LEN} letters and digits; “{id}” is longer."
        ));
    }
    Ok(id.to_ascii_lowercase())
}

fn too_broad(what: TooBroad) -> String {
    match what {
        TooBroad::Actors => {
            format!("More than {MAX_MATCHES} actors match that text. Type more of the address.")
        }
        TooBroad::Keys => {
            format!("More than {MAX_MATCHES} keys start with that Key ID. Type more of it.")
        }
    }
}

/// A cursor to the rows after (or before) `row`.
fn cursor_at(row: &AuditRow, direction: Direction) -> Cursor {
    Cursor {
        direction,
        values: vec![
            Value::Int(row.at.and_utc().timestamp_micros()),
            row.id.clone().into(),
        ],
    }
}

/// One page of events and whether there are more either side.
struct Listing {
    rows: Vec<AuditRow>,
    count: Counted,
    /// Not the newest page: offer "Newest" and "Newer".
    newer: bool,
    older: bool,
}

/// Reads the page `start` asks for. A page towards newer events that reaches
/// the newest ones is the first page: it shows a full page, new events included.
fn listing(
    conn: &mut DbConn,
    selection: &Selection,
    start: Option<(Position, Towards)>,
) -> Result<Listing, AppError> {
    let count = audit::count_up_to(conn, selection, COUNT_CAP)?;
    let read = |conn: &mut DbConn, start: Option<&Position>, towards| {
        audit::page(conn, selection, start, towards, PAGE_SIZE as i64 + 1)
    };
    let (mut rows, newer, older) = match &start {
        Some((position, Towards::Older)) => {
            let rows = read(conn, Some(position), Towards::Older)?;
            let more = rows.len() > PAGE_SIZE;
            (rows, true, more)
        }
        Some((position, Towards::Newer)) => {
            let mut rows = read(conn, Some(position), Towards::Newer)?;
            if rows.len() > PAGE_SIZE {
                rows.truncate(PAGE_SIZE);
                rows.reverse();
                (rows, true, true)
            } else {
                let rows = read(conn, None, Towards::Older)?;
                let more = rows.len() > PAGE_SIZE;
                (rows, false, more)
            }
        }
        None => {
            let rows = read(conn, None, Towards::Older)?;
            let more = rows.len() > PAGE_SIZE;
            (rows, false, more)
        }
    };
    rows.truncate(PAGE_SIZE);
    Ok(Listing {
        rows,
        count,
        newer,
        older,
    })
}

impl Listing {
    /// Newest / Newer / Older, and how many events the filters select.
    fn pager(&self, filters: &str) -> CursorPager {
        let edge = |row: Option<&AuditRow>, direction| row.map(|r| cursor_at(r, direction));
        let noun = if self.count == Counted::Exactly(1) {
            "event"
        } else {
            "events"
        };
        CursorPager::new(
            filters,
            self.newer,
            edge(self.rows.first(), Direction::Before).filter(|_| self.newer),
            edge(self.rows.last(), Direction::After).filter(|_| self.older),
            ("Newest", "Newer", "Older"),
            format!("{} {noun}", self.count),
        )
    }
}

struct EventRow {
    at: Moment,
    actor: String,
    action: String,
    action_label: String,
    key_id: String,
    /// The key's page, for readers allowed to open it.
    key_href: Option<String>,
    client_ip: String,
    detail: String,
}

impl EventRow {
    fn new(row: AuditRow, link_keys: bool) -> Self {
        let key_id = row.key_id.unwrap_or_default();
        EventRow {
            at: Moment::new(row.at),
            actor: row.actor_email.unwrap_or_default(),
            // An unknown code (written by a newer version) reads as itself.
            action_label: action_label(&row.action).unwrap_or(&row.action).to_owned(),
            action: row.action,
            key_href: (link_keys && !key_id.is_empty() && is_base62(&key_id))
                .then(|| format!("/settings/integrations/keys/{key_id}")),
            key_id,
            client_ip: row.client_ip.unwrap_or_default(),
            detail: row.detail,
        }
    }
}

/// What went wrong with the request, in words, and whether to offer the first page.
struct PageError {
    message: String,
    /// The first page's query string, when the cursor was the problem.
    first_page: Option<String>,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    chrome: Chrome,
    query: AuditQuery,
    actions: &'static [(&'static str, &'static str)],
    error: Option<PageError>,
    rows: Vec<EventRow>,
    pager: CursorPager,
    /// The filters as a query string, for the export link.
    filter_query: String,
}

pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let filter_query = query_without_cursor(req.query_string());
    let listing = match (query.filter(), query.start()) {
        (Err(message), _) => Err(PageError {
            message,
            first_page: None,
        }),
        (Ok(_), Err(bad)) => Err(PageError {
            message: bad.to_string(),
            first_page: Some(format!("?{filter_query}")),
        }),
        (Ok(filter), Ok(start)) => {
            state
                .db(move |conn| match audit::resolve(conn, &filter)? {
                    Ok(selection) => listing(conn, &selection, start).map(Ok),
                    Err(what) => Ok(Err(PageError {
                        message: too_broad(what),
                        first_page: None,
                    })),
                })
                .await?
        }
    };
    let link_keys = user.can(Permission::ViewKeyDetails);
    let (status, rows, pager, error) = match listing {
        Ok(listing) => {
            let pager = listing.pager(&filter_query);
            let rows = listing
                .rows
                .into_iter()
                .map(|r| EventRow::new(r, link_keys))
                .collect();
            (StatusCode::OK, rows, pager, None)
        }
        Err(error) => (
            StatusCode::BAD_REQUEST,
            Vec::new(),
            CursorPager::default(),
            Some(error),
        ),
    };
    let page = AuditPage {
        chrome: Chrome::for_user(&user, None, "audit"),
        query,
        actions: ACTIONS,
        error,
        rows,
        pager,
        filter_query,
    };
    render(status, &page)
}

/// The CSV's columns, in the order [`csv_cells`] writes them.
const CSV_HEADER: &str = "time_utc,actor,action,key_id,client_ip,detail";

fn csv_cells(row: &AuditRow) -> Vec<String> {
    vec![
        row.at
            .and_utc()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        row.actor_email.clone().unwrap_or_default(),
        row.action.clone(),
        row.key_id.clone().unwrap_or_default(),
        row.client_ip.clone().unwrap_or_default(),
        row.detail.clone(),
    ]
}

/// The page's selection, newest first, every event of it: streamed in
/// batches, so any number of events is fine.
pub async fn export(
    state: web::Data<AppState>,
    _user: CurrentUser,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    let filter = query.filter().map_err(AppError::BadRequest)?;
    let selection = state
        .db(move |conn| Ok(audit::resolve(conn, &filter)?))
        .await?
        .map_err(|what| AppError::BadRequest(too_broad(what)))?;
    let load = move |conn: &mut DbConn, after: Option<&AuditRow>, limit| {
        let start = after.map(AuditRow::position);
        Ok(audit::page(
            conn,
            &selection,
            start.as_ref(),
            Towards::Older,
            limit,
        )?)
    };
    CsvExport::new("latchkey-audit.csv", CSV_HEADER, load, csv_cells)
        .respond(state)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_read_and_checked() {
        let query = AuditQuery {
            actor: " Admin@Example ".into(),
            action: "key.deleted".into(),
            key: " lk_ucd_4fQ9 ".into(),
            from: "2026-11-01".into(),
            to: "2026-11-25".into(),
            ..AuditQuery::default()
        };
        let filter = query.filter().unwrap();
        assert_eq!(filter.actor.as_deref(), Some("admin@example"));
        assert_eq!(filter.key.as_deref(), Some("4fq9"));
        assert_eq!(filter.from.unwrap().to_string(), "2026-11-01 00:00:00");
        assert_eq!(filter.until.unwrap().to_string(), "2026-11-26 00:00:00");
        let refused = [
            (
                AuditQuery {
                    action: "drop table".into(),
                    ..AuditQuery::default()
                },
                "That action is not one the console records.",
            ),
            (
                AuditQuery {
                    from: "yesterday".into(),
                    ..AuditQuery::default()
                },
                "“From” must be a date such as 2026-11-25.",
            ),
            (
                AuditQuery {
                    from: "2026-11-20".into(),
                    to: "2026-11-10".into(),
                    ..AuditQuery::default()
                },
                "“From” (2026-11-20) is after “To” (2026-11-10): no event can be in that range. \
                 Put the earlier date in “From”.",
            ),
            (
                AuditQuery {
                    key: "4fQ9-x".into(),
                    ..AuditQuery::default()
                },
                "A Key ID has only letters and digits, such as 4fQ9xY2mK8pR.",
            ),
            (
                AuditQuery {
                    key: "lk_ucd_".into(),
                    ..AuditQuery::default()
                },
                "Type the Key ID after “_”, such as 4fQ9xY2mK8pR.",
            ),
            (
                AuditQuery {
                    key: "4fQ9xY2mK8pRx".into(),
                    ..AuditQuery::default()
                },
                "A Key ID is 12 letters and digits; “4fQ9xY2mK8pRx” is longer.",
            ),
        ];
        for (query, message) in refused {
            assert_eq!(query.filter().unwrap_err(), message);
        }
        let same_day = AuditQuery {
            from: "2026-11-20".into(),
            to: "2026-11-20".into(),
            ..AuditQuery::default()
        };
        assert!(same_day.filter().is_ok());
    }

    #[test]
    fn key_ids_link_only_when_the_reader_may_open_keys() {
        let row = |key: &str| AuditRow {
            id: "01".into(),
            at: chrono::NaiveDate::from_ymd_opt(2026, 11, 26)
                .unwrap()
                .and_hms_opt(21, 4, 5)
                .unwrap(),
            actor_email: Some("ada@example.test".into()),
            action: action::KEY_CREATED.into(),
            key_id: Some(key.into()),
            client_ip: None,
            detail: String::new(),
        };
        // (Key ID, reader may open keys, link)
        let expected = [
            (
                "4fQ9xY2mK8pR",
                true,
                Some("/settings/integrations/keys/4fQ9xY2mK8pR"),
            ),
            ("4fQ9xY2mK8pR", false, None),
            ("", true, None),
            ("../x?y", true, None),
        ];
        for (key, may_open, link) in expected {
            let shown = EventRow::new(row(key), may_open);
            assert_eq!(shown.key_href.as_deref(), link, "{key} {may_open}");
            assert_eq!(shown.key_id, key);
            assert_eq!(shown.at.text, "2026-11-26 21:04 UTC");
        }
    }

    #[test]
    fn cursors_carry_a_time_and_an_id() {
        let query = |cursor: &str| AuditQuery {
            cursor: cursor.into(),
            ..AuditQuery::default()
        };
        assert_eq!(query("").start(), Ok(None));
        let older = Cursor::after(vec![Value::Int(1_764_190_000_123_456), "9f2c".into()]);
        let (position, towards) = query(&older.encode()).start().unwrap().unwrap();
        assert_eq!(position.at.to_string(), "2025-11-26 20:46:40.123456");
        assert_eq!(position.id, "9f2c");
        assert_eq!(towards, Towards::Older);
        let wrong_shapes = [
            Cursor::after(vec!["9f2c".into(), Value::Int(1)]),
            Cursor::after(vec![Value::Int(1)]),
            Cursor::after(vec![Value::Int(i64::MAX), "9f2c".into()]),
            Cursor::after(vec![Value::Int(1), "".into()]),
        ];
        for cursor in wrong_shapes {
            assert_eq!(
                query(&cursor.encode()).start(),
                Err(BadCursor),
                "{cursor:?}"
            );
        }
        assert_eq!(query("%%%").start(), Err(BadCursor));
    }
}
