//! Settings > Users: everyone who may sign in, with their role, status and
//! the keys they created; Administrators change roles and disable or enable
//! users here, under the rule that one active Administrator remains.

pub mod delete;

use std::collections::HashMap;

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::db::audit::AuditEvent;
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
struct ListPage {
    chrome: Chrome,
    users: Vec<UserLine>,
    roles: [Role; 3],
}

struct UserLine {
    id: String,
    email: String,
    role: &'static str,
    role_code: &'static str,
    disabled: bool,
    last_sign_in: Option<Moment>,
    keys_created: i64,
}

async fn list_page(
    state: &AppState,
    user: &CurrentUser,
    flash: Option<Flash>,
) -> Result<ListPage, AppError> {
    let (all, counts): (Vec<users::UserRow>, HashMap<String, i64>) = state
        .db(|conn| Ok((users::list(conn)?, users::keys_created(conn)?)))
        .await?;
    let users = all
        .into_iter()
        .map(|u| {
            let role = u.role.parse::<Role>().ok();
            UserLine {
                keys_created: counts.get(&u.id).copied().unwrap_or(0),
                role: role.map_or("Unknown role", Role::label),
                role_code: role.map_or("", Role::as_str),
                disabled: u.disabled,
                last_sign_in: u.last_sign_in_at.map(Moment::new),
                id: u.id,
                email: u.email,
            }
        })
        .collect();
    Ok(ListPage {
        chrome: Chrome::for_user(user, flash, "users"),
        users,
        roles: Role::ALL,
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
