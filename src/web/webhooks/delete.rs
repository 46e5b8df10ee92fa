//! Deleting an endpoint, after a confirmation page: its pending deliveries
//! are never sent.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::db::audit::{AuditEvent, action};
use crate::db::webhooks;
use crate::domain::webhook::origin_of;
use crate::web::auth::{CurrentUser, client_ip};
use crate::web::error::AppError;
use crate::web::state::AppState;
use crate::web::views::{Chrome, Flash};
use crate::web::webhooks::{
    EndpointRow, LIST, endpoint_id_from_path, find_endpoint, no_such_endpoint,
};
use crate::web::{ok, see_other, session};

#[derive(Template)]
#[template(path = "webhooks/delete.html")]
struct ConfirmPage {
    chrome: Chrome,
    endpoint: EndpointRow,
}

pub async fn confirm(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = endpoint_id_from_path(id)?;
    let endpoint = find_endpoint(&state, id).await?;
    ok(&ConfirmPage {
        chrome: Chrome::for_user(&user, None, "webhooks"),
        endpoint: EndpointRow::new(endpoint),
    })
}

pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    user: CurrentUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = endpoint_id_from_path(id)?;
    let endpoint = find_endpoint(&state, id.clone()).await?;
    let event = AuditEvent {
        actor_id: Some(user.id.clone()),
        actor_email: Some(user.email.clone()),
        action: action::WEBHOOK_DELETED,
        key_id: None,
        client_ip: client_ip(&req),
        detail: format!("endpoint {id} at {}", origin_of(&endpoint.url)),
    };
    let deleted = state
        .db(move |conn| Ok(webhooks::delete(conn, &id, &event)?))
        .await?;
    if !deleted {
        return Err(no_such_endpoint());
    }
    log::info!("webhook endpoint {} deleted by {}", endpoint.id, user.email);
    session::set_flash(
        &session,
        Flash::success(format!(
            "Webhook endpoint {} was deleted. It will not be sent anything more.",
            endpoint.url
        )),
    )?;
    Ok(see_other(LIST))
}
