//! Resetting another user's sign-in from Settings › Users: turning their
//! two-factor off (a lost device) or ending all their sessions. Both end
//! every session of theirs at once, on every instance.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::db::audit::AuditEvent;
use crate::db::users::{self, AccessError, SignInReset};
use crate::web::auth::{CurrentUser, client_ip};
use crate::web::error::AppError;
use crate::web::state::AppState;
use crate::web::views::Flash;
use crate::web::{see_other, session};

pub async fn reset_two_factor(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    user: CurrentUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    reset(req, state, session, user, id, SignInReset::TwoFactor).await
}

pub async fn end_sessions(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    user: CurrentUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    reset(req, state, session, user, id, SignInReset::Sessions).await
}

async fn reset(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    user: CurrentUser,
    id: web::Path<String>,
    what: SignInReset,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let actor = AuditEvent {
        actor_id: Some(user.id.clone()),
        actor_email: Some(user.email.clone()),
        client_ip: client_ip(&req),
        ..AuditEvent::default()
    };
    let detail = state
        .db(move |conn| {
            let Some(target) = users::find(conn, &id)? else {
                return Ok(None);
            };
            match users::reset_sign_in(conn, &target.email, what, &actor) {
                Ok(detail) => Ok(Some(detail)),
                Err(AccessError::NoSuchUser(_)) => Ok(None),
                Err(e) => Err(AppError::Internal(e.to_string())),
            }
        })
        .await?
        .ok_or(AppError::NotFound)?;
    session::set_flash(&session, Flash::success(format!("{detail}.")))?;
    Ok(see_other(super::LIST))
}
