//! Changing a key after it was generated: its details (name, contact, trusted
//! IPs, expiry), and switching it off and on. Every change is audited and
//! applied to this instance's verifier at once; other instances pick it up
//! within a second.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::db::audit::{AuditEvent, action};
use crate::db::keys::{self, EditOutcome, KeyEdit, KeyView};
use crate::db::{self};
use crate::domain::ip_allowlist::{IpAllowlist, LineError};
use crate::domain::key_edit::{EditErrors, Editable, KeyEditForm, describe_changes};
use crate::domain::key_request::FieldErrors;
use crate::web::auth::{CurrentUser, client_ip};
use crate::web::error::AppError;
use crate::web::keys::KeyRow;
use crate::web::state::AppState;
use crate::web::views::{Chrome, FieldMessages as _, Flash};
use crate::web::{render, see_other, session};

const CHANGED_MEANWHILE: &str = "Someone changed this key after you opened the form, so nothing was saved. \
     The form now shows the key as it stands; make your changes again.";

#[derive(Template)]
#[template(path = "keys/edit.html")]
struct EditPage {
    chrome: Chrome,
    key: KeyRow,
    form: KeyEditForm,
    errors: FieldErrors,
    trusted_ips: String,
    line_errors: Vec<LineError>,
    more_line_errors: usize,
    conflict: Option<&'static str>,
}

/// The key's editable values as stored; None when its stored list cannot be read.
fn editable(view: &KeyView) -> Editable {
    Editable {
        name: view.name.clone(),
        contact_email: view.contact_email.clone(),
        // An unreadable list (the key is refused) is edited from empty.
        allowlist: IpAllowlist::from_stored(&view.allowed_ips).unwrap_or_default(),
        expires_at: view.expires_at,
    }
}

fn edit_page(state: &AppState, user: &CurrentUser, view: KeyView, form: KeyEditForm) -> EditPage {
    EditPage {
        chrome: Chrome::for_user(user, None, "integrations"),
        key: KeyRow::new(view, &state.catalogue, state.clock.now()),
        trusted_ips: form.trusted_ips.clone(),
        form,
        errors: FieldErrors::new(),
        line_errors: Vec::new(),
        more_line_errors: 0,
        conflict: None,
    }
}

pub async fn edit_form(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let view = super::load(&state, super::key_id_from_path(id)?).await?;
    let form = KeyEditForm::of(&editable(&view), view.changed_at);
    render(StatusCode::OK, &edit_page(&state, &user, view, form))
}

pub async fn edit_submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    user: CurrentUser,
    id: web::Path<String>,
    form: web::Form<KeyEditForm>,
) -> Result<HttpResponse, AppError> {
    let id = super::key_id_from_path(id)?;
    let form = form.into_inner();
    let view = super::load(&state, id.clone()).await?;
    let now = state.clock.now();
    let before = editable(&view);
    // The type's expiry policy, counted from the key's creation; an expiry
    // left as it was is not judged again (the policy may be newer than the key).
    let policy = |after: Editable| match state.catalogue.get(&view.type_code) {
        Some(key_type) if after.expires_at != before.expires_at => key_type
            .check_expiry(view.created_at, after.expires_at, now)
            .map(|()| after)
            .map_err(|message| EditErrors {
                fields: vec![("expires_on", message)],
                lines: Vec::new(),
            }),
        _ => Ok(after),
    };
    let after = match form.validate(now).and_then(policy) {
        Ok(after) => after,
        Err(errors) => {
            let mut page = edit_page(&state, &user, view, form);
            page.errors = errors.fields;
            (page.line_errors, page.more_line_errors) =
                super::generate::first_line_errors(errors.lines);
            return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let page_of_key = format!("/settings/integrations/keys/{id}");
    let Some(seen) = form.seen() else {
        return Err(AppError::BadRequest(
            "This edit form is incomplete. Open the key's Edit page again.".into(),
        ));
    };
    let Some(changes) = describe_changes(&before, &after) else {
        session::set_flash(&session, Flash::info("Nothing changed."))?;
        return Ok(see_other(&page_of_key));
    };
    let event = AuditEvent {
        actor_id: Some(user.id.clone()),
        actor_email: Some(user.email.clone()),
        action: action::KEY_UPDATED,
        key_id: Some(id.clone()),
        client_ip: client_ip(&req),
        detail: changes,
    };
    let edit = KeyEdit {
        name: after.name.clone(),
        contact_email: after.contact_email.clone(),
        allowed_ips: after.allowlist.to_stored(),
        expires_at: after.expires_at,
    };
    let key_id = id.clone();
    let (outcome, row) = state
        .db(move |conn| {
            let outcome = keys::edit(conn, &key_id, seen, &edit, db::now(), &event)?;
            let row = match outcome {
                EditOutcome::Saved => keys::one_for_verification(conn, &key_id)?,
                _ => None,
            };
            Ok((outcome, row))
        })
        .await?;
    match outcome {
        EditOutcome::Saved => {}
        EditOutcome::Gone => return Err(super::no_such_key()),
        EditOutcome::ChangedMeanwhile => {
            let view = super::load(&state, id).await?;
            let fresh = KeyEditForm::of(&editable(&view), view.changed_at);
            let mut page = edit_page(&state, &user, view, fresh);
            page.conflict = Some(CHANGED_MEANWHILE);
            return render(StatusCode::CONFLICT, &page);
        }
    }
    if let Some(row) = row {
        state.verifier.apply(row, db::now());
    }
    session::set_flash(
        &session,
        Flash::success(format!("API key “{}” was saved.", after.name)),
    )?;
    Ok(see_other(&page_of_key))
}

/// Switches a key off: every check answers DISABLED, on every instance within a second.
pub async fn disable(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    user: CurrentUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    switch(req, state, session, user, id, true).await
}

/// Switches a key back on.
pub async fn enable(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    user: CurrentUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    switch(req, state, session, user, id, false).await
}

async fn switch(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    user: CurrentUser,
    id: web::Path<String>,
    off: bool,
) -> Result<HttpResponse, AppError> {
    let id = super::key_id_from_path(id)?;
    let view = super::load(&state, id.clone()).await?;
    let event = AuditEvent {
        actor_id: Some(user.id.clone()),
        actor_email: Some(user.email.clone()),
        action: if off {
            action::KEY_DISABLED
        } else {
            action::KEY_ENABLED
        },
        key_id: Some(id.clone()),
        client_ip: client_ip(&req),
        detail: format!("{} ({})", view.name, view.type_code),
    };
    let key_id = id.clone();
    let by = off.then(|| user.email.clone());
    let (changed, row) = state
        .db(move |conn| {
            let changed = keys::set_disabled(conn, &key_id, by.as_deref(), db::now(), &event)?;
            Ok((changed, keys::one_for_verification(conn, &key_id)?))
        })
        .await?;
    if let Some(row) = row {
        state.verifier.apply(row, db::now());
    }
    let message = match (changed, off) {
        (true, true) => Flash::success(format!(
            "API key “{}” was disabled. Every check now answers DISABLED.",
            view.name
        )),
        (true, false) => Flash::success(format!(
            "API key “{}” was enabled. It works again.",
            view.name
        )),
        (false, true) => Flash::info("That key was already disabled."),
        (false, false) => Flash::info("That key was already enabled."),
    };
    session::set_flash(&session, message)?;
    Ok(see_other(&format!("/settings/integrations/keys/{id}")))
}
