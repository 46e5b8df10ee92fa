use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::Days;

use crate::db::audit::{AuditEvent, action};
use crate::db::{self, keys, usage};
use crate::domain::rate_limit::parse_per_minute;
use crate::web::auth::{CurrentUser, client_ip};
use crate::web::error::AppError;
use crate::web::keys::KeyRow;
use crate::web::keys::usage_chart::{self, UsageChart};
use crate::web::state::AppState;
use crate::web::views::{Can, Chrome, Flash};
use crate::web::{render, see_other, session};

#[derive(Template)]
#[template(path = "keys/detail.html")]
struct DetailPage {
    chrome: Chrome,
    can: Can,
    key: KeyRow,
    chart: UsageChart,
    rate_limit_input: String,
    rate_error: Option<String>,
}

async fn detail_page(
    state: &AppState,
    user: &CurrentUser,
    key: super::KeyRef,
    flash: Option<Flash>,
) -> Result<DetailPage, AppError> {
    let super::KeyRef {
        id,
        type_code: typed,
    } = key;
    let now = state.clock.now();
    let first_day = (now.date() - Days::new(usage_chart::DAYS - 1)).to_string();
    let (view, rows) = state
        .db(move |conn| {
            let view = keys::find(conn, &id)?;
            let rows = usage::daily(conn, &id, &first_day)?;
            Ok((view, rows))
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
        key,
    })
}

pub async fn page(
    state: web::Data<AppState>,
    session: Session,
    user: CurrentUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let key = super::key_ref_from_path(id)?;
    let page = detail_page(&state, &user, key, session::take_flash(&session)).await?;
    render(StatusCode::OK, &page)
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
            let mut page = detail_page(&state, &user, key, None).await?;
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
