use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::db::audit::{AuditEvent, action};
use crate::db::{self, keys};
use crate::web::auth::{CurrentUser, client_ip};
use crate::web::error::AppError;
use crate::web::keys::KeyRow;
use crate::web::state::AppState;
use crate::web::views::{Chrome, Flash};
use crate::web::{ok, see_other, session};

#[derive(Template)]
#[template(path = "keys/delete.html")]
struct ConfirmPage {
    chrome: Chrome,
    key: KeyRow,
}

pub async fn confirm(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let view = super::load(&state, super::key_id_from_path(id)?).await?;
    ok(&ConfirmPage {
        chrome: Chrome::for_user(&user, None, "integrations"),
        key: KeyRow::new(view, &state.catalogue, state.clock.now()),
    })
}

pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    user: CurrentUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = super::key_id_from_path(id)?;
    let ip = client_ip(&req);
    let key_id = id.clone();
    let name = state
        .db(move |conn| {
            let Some(key) = keys::find(conn, &id)? else {
                return Ok(None);
            };
            let event = AuditEvent {
                actor_id: Some(user.id.clone()),
                actor_email: Some(user.email.clone()),
                action: action::KEY_DELETED,
                key_id: Some(key.id.clone()),
                client_ip: ip,
                detail: format!("{} ({})", key.name, key.type_code),
            };
            let deleted = keys::delete(conn, &key.id, &user.id, db::now(), &event)?;
            Ok(deleted.then_some(key.name))
        })
        .await?
        .ok_or_else(super::no_such_key)?;
    // Refused from now on, by this instance at once; others see it within a second.
    state.verifier.remove(&key_id);
    session::set_flash(
        &session,
        Flash::success(format!("API key “{name}” was deleted. It no longer works.")),
    )?;
    Ok(see_other("/settings/integrations"))
}
