//! Settings > Users: everyone who may sign in, with their role, status and
//! the keys they created; Administrators change roles and disable or enable
//! users here, under the rule that one active Administrator remains.

pub mod delete;
pub mod invite;
mod sign_in_resets;

pub use sign_in_resets::{end_sessions, reset_two_factor};

use std::collections::HashMap;

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::db::audit::AuditEvent;
use crate::db::count::Counted;
use crate::db::invitations;
use crate::db::users::{self, AccessError};
use crate::domain::role::Role;
use crate::domain::user_access::AccessChange;
use crate::web::auth::{CurrentUser, client_ip};
use crate::web::error::AppError;
use crate::web::state::AppState;
use crate::web::views::{Chrome, Flash, Moment};
use crate::web::{render, see_other, session};

pub const LIST: &str = "/settings/users";

#[derive(Template)]
#[template(path = "users/list.html")]
pub(crate) struct ListPage {
    chrome: Chrome,
    users: Vec<UserLine>,
    roles: [Role; 3],
    /// The invitation link just made: on this one response only.
    invited: Option<invite::Invited>,
}

struct UserLine {
    id: String,
    email: String,
    role: &'static str,
    role_code: &'static str,
    disabled: bool,
    /// Invited, not joined yet: no account to change.
    invited: bool,
    last_sign_in: Option<Moment>,
    keys_created: Counted,
    /// "On", "Off", or "Required, not set up".
    two_factor: &'static str,
    two_factor_on: bool,
}

/// Keys created are counted per user up to this many (then "10,000+").
const KEYS_COUNTED_UP_TO: i64 = 10_000;

pub(crate) async fn list_page(
    state: &AppState,
    user: &CurrentUser,
    flash: Option<Flash>,
) -> Result<ListPage, AppError> {
    let now = state.clock.now();
    let (all, counts, invited): (Vec<users::UserRow>, HashMap<String, Counted>, Vec<_>) = state
        .db(move |conn| {
            let all = users::list(conn)?;
            let ids: Vec<String> = all.iter().map(|u| u.id.clone()).collect();
            let counts = users::keys_created(conn, &ids, KEYS_COUNTED_UP_TO)?;
            Ok((all, counts, invitations::list(conn, now)?))
        })
        .await?;
    let mut users: Vec<UserLine> = all
        .into_iter()
        .map(|u| {
            let role = u.role.parse::<Role>().ok();
            let two_factor_on = u.totp_enrolled_at.is_some();
            let required = role.is_some_and(|r| state.two_factor.covers(r));
            UserLine {
                two_factor: match (two_factor_on, required) {
                    (true, _) => "On",
                    (false, true) => "Required, not set up",
                    (false, false) => "Off",
                },
                two_factor_on,
                keys_created: counts.get(&u.id).copied().unwrap_or(Counted::Exactly(0)),
                role: role.map_or("Unknown role", Role::label),
                role_code: role.map_or("", Role::as_str),
                disabled: u.disabled,
                invited: false,
                last_sign_in: u.last_sign_in_at.map(Moment::new),
                id: u.id,
                email: u.email,
            }
        })
        .collect();
    users.extend(invited.into_iter().map(|i| {
        let role = i.role.parse::<Role>().ok();
        UserLine {
            id: String::new(),
            role: role.map_or("Unknown role", Role::label),
            role_code: role.map_or("", Role::as_str),
            disabled: false,
            invited: true,
            last_sign_in: None,
            keys_created: Counted::Exactly(0),
            two_factor: "",
            two_factor_on: false,
            email: i.email,
        }
    }));
    users.sort_by(|a, b| a.email.cmp(&b.email));
    Ok(ListPage {
        chrome: Chrome::for_user(user, flash, "users"),
        users,
        roles: Role::ALL,
        invited: None,
    })
}

pub async fn page(
    state: web::Data<AppState>,
    session: Session,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let page = list_page(&state, &user, session::take_flash(&session)).await?;
    render(StatusCode::OK, &page)
}

#[derive(serde::Deserialize)]
pub struct RoleForm {
    role: String,
}

pub async fn set_role(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    user: CurrentUser,
    id: web::Path<String>,
    form: web::Form<RoleForm>,
) -> Result<HttpResponse, AppError> {
    let role: Role = form
        .role
        .parse()
        .map_err(|e: crate::domain::role::UnknownRole| AppError::BadRequest(e.to_string()))?;
    change(req, state, session, user, id, AccessChange::SetRole(role)).await
}

pub async fn disable(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    user: CurrentUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    change(req, state, session, user, id, AccessChange::Disable).await
}

pub async fn enable(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    user: CurrentUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    change(req, state, session, user, id, AccessChange::Enable).await
}

/// Applies one change; a refused one shows the list again with the reason (409).
pub(crate) async fn change(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    user: CurrentUser,
    id: web::Path<String>,
    change: AccessChange,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let actor = AuditEvent {
        actor_id: Some(user.id.clone()),
        actor_email: Some(user.email.clone()),
        client_ip: client_ip(&req),
        ..AuditEvent::default()
    };
    let outcome = state
        .db(move |conn| {
            let Some(target) = users::find(conn, &id)? else {
                return Ok(Err(None));
            };
            match users::change_access(conn, &target.email, change, &actor) {
                Ok(detail) => Ok(Ok(detail)),
                Err(AccessError::Database(e)) => Err(e.into()),
                Err(AccessError::NoSuchUser(_)) => Ok(Err(None)),
                Err(refused) => Ok(Err(Some(format!("{}: {refused}", target.email)))),
            }
        })
        .await?;
    match outcome {
        Ok(detail) => {
            session::set_flash(&session, Flash::success(format!("{detail}.")))?;
            Ok(see_other(LIST))
        }
        Err(None) => Err(AppError::NotFound),
        Err(Some(reason)) => {
            let page = list_page(&state, &user, Some(Flash::error(reason))).await?;
            render(StatusCode::CONFLICT, &page)
        }
    }
}
