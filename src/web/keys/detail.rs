use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::Days;

use crate::db::audit::{AuditEvent, action};
use crate::db::request_log::LoggedRequest;
use crate::db::{self, keys, request_log, usage};
use crate::domain::rate_limit::parse_per_minute;
use crate::domain::request_log::OutcomeFilter;
use crate::domain::verdict::Outcome;
use crate::web::auth::{CurrentUser, client_ip};
use crate::web::error::AppError;
use crate::web::keys::KeyRow;
use crate::web::keys::usage_chart::{self, UsageChart};
use crate::web::state::AppState;
use crate::web::views::{Can, Chrome, Flash, Moment};
use crate::web::{render, see_other, session};

#[derive(Template)]
#[template(path = "keys/detail.html")]
struct DetailPage {
    chrome: Chrome,
    can: Can,
    key: KeyRow,
    chart: UsageChart,
    requests: RecentRequests,
    rate_limit_input: String,
    rate_error: Option<String>,
    /// The key can be rolled (not already rolled, not expired).
    roll_offered: bool,
}

/// The "Recent requests" section: the request log, filtered by outcome.
struct RecentRequests {
    rows: Vec<RequestRow>,
    filters: Vec<FilterLink>,
    /// The filter asked for could not be read.
    error: Option<String>,
    /// Where "every request" is: the page without a filter.
    all_href: String,
    /// The filter in force is not "all".
    filtered: bool,
}

struct RequestRow {
    at: Moment,
    label: &'static str,
    class: &'static str,
    client_ip: Option<String>,
    reason: String,
}

struct FilterLink {
    label: &'static str,
    href: String,
    current: bool,
}

impl RecentRequests {
    fn new(key_id: &str, filter: Result<OutcomeFilter, String>, rows: Vec<LoggedRequest>) -> Self {
        let page = format!("/settings/integrations/keys/{key_id}");
        let current = filter.as_ref().ok().copied();
        let choices = [
            (OutcomeFilter::All, "All"),
            (OutcomeFilter::Refused, "Refused"),
        ]
        .into_iter()
        .chain(
            Outcome::ALL
                .into_iter()
                .map(|o| (OutcomeFilter::Only(o), o.label())),
        );
        let filters = choices
            .map(|(choice, label)| FilterLink {
                label,
                href: match choice {
                    OutcomeFilter::All => format!("{page}#requests"),
                    other => format!("{page}?outcome={}#requests", other.as_param()),
                },
                current: current == Some(choice),
            })
            .collect();
        let rows = rows
            .into_iter()
            .map(|row| {
                let outcome = Outcome::from_code(&row.outcome);
                RequestRow {
                    at: Moment::new(row.at),
                    label: outcome.map_or("Unknown", Outcome::label),
                    class: outcome.map_or("", usage_chart::css_class),
                    client_ip: row.client_ip,
                    reason: row.reason,
                }
            })
            .collect();
        RecentRequests {
            rows,
            filters,
            filtered: current.is_some_and(|f| f != OutcomeFilter::All),
            error: filter.err(),
            all_href: format!("{page}#requests"),
        }
    }
}

/// The `outcome` parameter of the page's address, read without a
/// deserializer whose words could reach the page.
fn outcome_filter(query: &str) -> Result<OutcomeFilter, String> {
    let pairs = web::Query::<Vec<(String, String)>>::from_query(query)
        .map_err(|_| "The address's query could not be read.".to_owned())?;
    let value = pairs
        .iter()
        .find(|(name, _)| name == "outcome")
        .map(|(_, value)| value.as_str());
    OutcomeFilter::parse(value)
}

async fn detail_page(
    state: &AppState,
    user: &CurrentUser,
    key: super::KeyRef,
    flash: Option<Flash>,
    filter: Result<OutcomeFilter, String>,
) -> Result<DetailPage, AppError> {
    let super::KeyRef {
        id,
        type_code: typed,
    } = key;
    let now = state.clock.now();
    let first_day = (now.date() - Days::new(usage_chart::DAYS - 1)).to_string();
    let key_id = id.clone();
    let wanted = filter.as_ref().ok().copied();
    let (view, rows, logged) = state
        .db(move |conn| {
            let view = keys::find(conn, &key_id)?;
            let rows = usage::daily(conn, &key_id, &first_day)?;
            let logged = match wanted {
                Some(filter) => request_log::recent(conn, &key_id, now, filter)?,
                None => Vec::new(),
            };
            Ok((view, rows, logged))
        })
        .await?;
    let view = view
        .filter(|v| typed.as_ref().is_none_or(|t| *t == v.type_code))
        .ok_or_else(super::no_such_key)?;
    let key = KeyRow::new(view, &state.catalogue, now);
    Ok(DetailPage {
        chrome: Chrome::for_user(user, flash, "integrations"),
        can: Can::for_role(user.role),
        rate_limit_input: key.rate_limit.map(|n| n.to_string()).unwrap_or_default(),
        rate_error: None,
        chart: UsageChart::new(&rows, now.date()),
        requests: RecentRequests::new(&id, filter, logged),
        roll_offered: crate::domain::key_state::roll_refusal(key.status).is_none(),
        key,
    })
}

pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    user: CurrentUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let key = super::key_ref_from_path(id)?;
    let filter = outcome_filter(req.query_string());
    let status = if filter.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let page = detail_page(&state, &user, key, session::take_flash(&session), filter).await?;
    render(status, &page)
}

#[derive(serde::Deserialize)]
pub struct RateLimitForm {
    #[serde(default)]
    rate_limit: String,
}

/// Sets or clears a key's rate limit; it applies to the very next verification.
pub async fn set_rate_limit(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    user: CurrentUser,
    id: web::Path<String>,
    form: web::Form<RateLimitForm>,
) -> Result<HttpResponse, AppError> {
    let id = super::key_id_from_path(id)?;
    let typed = form.into_inner().rate_limit;
    let rate = match parse_per_minute(&typed) {
        Ok(rate) => rate,
        Err(message) => {
            let key = super::KeyRef {
                id,
                type_code: None,
            };
            let mut page = detail_page(&state, &user, key, None, Ok(OutcomeFilter::All)).await?;
            page.rate_limit_input = typed;
            page.rate_error = Some(message);
            return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let describe = |r: Option<u32>| {
        r.map(|n| format!("{n} per minute"))
            .unwrap_or_else(|| "no limit".into())
    };
    let event = AuditEvent {
        actor_id: Some(user.id.clone()),
        actor_email: Some(user.email.clone()),
        action: action::KEY_RATE_LIMIT_CHANGED,
        key_id: Some(id.clone()),
        client_ip: client_ip(&req),
        detail: format!("rate limit set to {}", describe(rate)),
    };
    let key_id = id.clone();
    let row = state
        .db(move |conn| {
            let now = db::now();
            let stored = rate.map(|n| n as i32);
            if !keys::set_rate_limit(conn, &key_id, stored, now, &event)? {
                return Ok(None);
            }
            Ok(keys::one_for_verification(conn, &key_id)?)
        })
        .await?
        .ok_or_else(super::no_such_key)?;
    state.verifier.apply(row, db::now());
    session::set_flash(
        &session,
        Flash::success(format!("Rate limit set to {}.", describe(rate))),
    )?;
    Ok(see_other(&format!("/settings/integrations/keys/{id}")))
}
