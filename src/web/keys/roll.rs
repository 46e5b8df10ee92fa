//! Rolling a key: a replacement with the same type, name, contact, trusted
//! IPs, rate limit and expiry is shown once, and the old key keeps working
//! for the grace period the Administrator picks, then answers like a deleted one.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::db::audit::{AuditEvent, action};
use crate::db::keys::{self, KeyDetails, NewKeyRow, RollError, VerifyRow};
use crate::db::{self};
use crate::domain::api_key::{self, NewApiKey};
use crate::domain::key_state::{GRACE_CHOICES, Grace, roll_refusal};
use crate::domain::key_type::Scheme;
use crate::web::auth::{CurrentUser, client_ip};
use crate::web::error::AppError;
use crate::web::keys::KeyRow;
use crate::web::keys::generate::Revealed;
use crate::web::render;
use crate::web::state::AppState;
use crate::web::views::{Chrome, Flash};

#[derive(Template)]
#[template(path = "keys/roll.html")]
struct RollPage {
    chrome: Chrome,
    key: KeyRow,
    choices: Vec<GraceOption>,
    custom: String,
    /// Why the key cannot be rolled, or why the form was refused.
    error: Option<String>,
    can_roll: bool,
}

struct GraceOption {
    value: &'static str,
    label: &'static str,
    checked: bool,
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct RollForm {
    #[serde(default)]
    grace: String,
    #[serde(default)]
    grace_until: String,
}

fn roll_page(state: &AppState, user: &CurrentUser, key: KeyRow, form: &RollForm) -> RollPage {
    let chosen = if form.grace.is_empty() {
        "24h"
    } else {
        form.grace.as_str()
    };
    let refusal = roll_refusal(key.status);
    RollPage {
        chrome: Chrome::for_user(user, None, "integrations"),
        choices: GRACE_CHOICES
            .iter()
            .map(|(value, label, _)| (*value, *label))
            .chain([("custom", "Until a date and time (UTC), at most 30 days")])
            .map(|(value, label)| GraceOption {
                value,
                label,
                checked: value == chosen,
            })
            .collect(),
        custom: form.grace_until.clone(),
        error: refusal.map(str::to_owned),
        can_roll: refusal.is_none() && state.catalogue.get(&key.type_code).is_some(),
        key,
    }
}

pub async fn form(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let view = super::load(&state, super::key_id_from_path(id)?).await?;
    let key = KeyRow::new(view, &state.catalogue, state.clock.now());
    render(
        StatusCode::OK,
        &roll_page(&state, &user, key, &RollForm::default()),
    )
}

pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    form: web::Form<RollForm>,
) -> Result<HttpResponse, AppError> {
    let id = super::key_id_from_path(id)?;
    let form = form.into_inner();
    let view = super::load(&state, id.clone()).await?;
    let now = state.clock.now();
    let old = KeyRow::new(view.clone(), &state.catalogue, now);
    let refuse = |page: RollPage, error: String, status: StatusCode| {
        let mut page = page;
        page.error = Some(error);
        render(status, &page)
    };
    if let Some(refusal) = roll_refusal(old.status) {
        let page = roll_page(&state, &user, old, &form);
        return refuse(page, refusal.to_owned(), StatusCode::CONFLICT);
    }
    let Some(key_type) = state.catalogue.get(&view.type_code).cloned() else {
        let page = roll_page(&state, &user, old, &form);
        let message = "This key's type is no longer offered, so it cannot be rolled.".to_owned();
        return refuse(page, message, StatusCode::CONFLICT);
    };
    let grace = match Grace::parse(&form.grace, &form.grace_until, now) {
        Ok(grace) => grace,
        Err(message) => {
            let page = roll_page(&state, &user, old, &form);
            return refuse(page, message, StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    let stops_at = grace.stops_at(now, view.expires_at);
    // The key's own scheme, so a replacement is presented exactly as the old key was.
    let scheme = Scheme::parse(&view.scheme).unwrap_or(key_type.scheme);
    let key = NewApiKey::generate(&view.type_code);
    let created_at = db::now();
    let row = NewKeyRow::new(
        &key,
        scheme,
        &state.hasher,
        &state.secret_box,
        KeyDetails {
            name: view.name.clone(),
            contact_email: view.contact_email.clone(),
            allowed_ips: view.allowed_ips.clone(),
            created_by: Some(user.id.clone()),
            created_at,
            expires_at: view.expires_at,
            rate_limit: view.rate_limit,
        },
    )
    // The replacement works where the rolled key did.
    .in_application(&view.application_id);
    let ip = client_ip(&req);
    let stops_words = stops_at.format("%Y-%m-%d %H:%M UTC");
    let events = [
        AuditEvent {
            actor_id: Some(user.id.clone()),
            actor_email: Some(user.email.clone()),
            action: action::KEY_ROLLED,
            key_id: Some(view.id.clone()),
            client_ip: ip.clone(),
            detail: format!(
                "{} ({}) rolled to {}; the old key stops working at {stops_words}",
                view.name,
                view.type_code,
                key.key_id()
            ),
        },
        AuditEvent {
            actor_id: Some(user.id.clone()),
            actor_email: Some(user.email.clone()),
            action: action::KEY_CREATED,
            key_id: Some(row.id.clone()),
            client_ip: ip,
            detail: format!(
                "{} ({}) as the replacement of {}",
                view.name,
                view.type_code,
                api_key::masked(&view.type_code, &view.last_four)
            ),
        },
    ];
    let replacement = VerifyRow::from(&row);
    let old_id = view.id.clone();
    let outcome = state
        .db(move |conn| {
            Ok(match keys::roll(conn, &old_id, &row, stops_at, &events) {
                Ok(()) => Ok(keys::one_for_verification(conn, &old_id)?),
                Err(RollError::Db(e)) => return Err(e.into()),
                Err(refused) => Err(refused),
            })
        })
        .await?;
    let old_row = match outcome {
        Ok(old_row) => old_row,
        Err(RollError::Gone) => return Err(super::no_such_key()),
        Err(refused) => {
            let view = super::load(&state, id).await?;
            let key = KeyRow::new(view, &state.catalogue, state.clock.now());
            let page = roll_page(&state, &user, key, &form);
            let message = match refused {
                RollError::Expired => "This key has expired. Generate a new key instead.",
                _ => {
                    "This key was already rolled (perhaps in another tab). Its replacement is linked below."
                }
            };
            return refuse(page, message.to_owned(), StatusCode::CONFLICT);
        }
    };
    state.verifier.apply(replacement, created_at);
    if let Some(old_row) = old_row {
        state.verifier.apply(old_row, created_at);
    }
    log::info!(
        "API key {} ({}) rolled to {} by {}",
        view.id,
        view.type_code,
        key.public_id,
        user.email
    );
    let (Ok(mut list) | Err(mut list)) = super::list::load(&state, &user, &[]).await?;
    list.chrome.flash = Some(Flash::success(if stops_at <= now {
        format!(
            "API key “{}” was rolled. The old key stopped working.",
            view.name
        )
    } else {
        format!(
            "API key “{}” was rolled. The old key keeps working until {stops_words}.",
            view.name
        )
    }));
    list.revealed = Some(Revealed::new(
        &req,
        &state,
        &key,
        view.name,
        key_type.name,
        scheme,
        !view.allowed_ips.is_empty(),
    ));
    render(StatusCode::CREATED, &list)
}
