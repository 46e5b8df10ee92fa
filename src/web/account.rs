//! A signed-in user's own account: changing their password.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::db::audit::{self, AuditEvent, action};
use crate::db::{sessions, users, write_transaction};
use crate::domain::password;
use crate::web::auth::{CurrentUser, client_ip};
use crate::web::error::AppError;
use crate::web::password_check::{self, Checked};
use crate::web::state::AppState;
use crate::web::views::FieldMessages;
use crate::web::views::{Chrome, Flash};
use crate::web::{render, see_other, session};

#[derive(Template)]
#[template(path = "account_password.html")]
struct PasswordPage {
    chrome: Chrome,
    errors: Vec<(&'static str, String)>,
}

#[derive(serde::Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    new_password_confirm: String,
}

pub async fn form(session: Session, user: CurrentUser) -> Result<HttpResponse, AppError> {
    render(
        StatusCode::OK,
        &PasswordPage {
            chrome: Chrome::for_user(&user, session::take_flash(&session), "account"),
            errors: Vec::new(),
        },
    )
}

pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    user: CurrentUser,
    form: web::Form<PasswordForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let current_ok = password_check::check_own(
        &state,
        &req,
        &user,
        form.current_password.clone(),
        action::PASSWORD_CHANGE_FAILED,
    )
    .await?
        == Checked::Right;

    let mut errors = Vec::new();
    if !current_ok {
        errors.push((
            "current_password",
            "That is not your current password. After repeated failures, the check is paused for a few minutes."
                .to_owned(),
        ));
    }
    if let Err(e) = password::check_policy(&form.new_password) {
        errors.push(("new_password", e.to_string()));
    } else if form.new_password == form.current_password {
        errors.push((
            "new_password",
            "Choose a password different from the current one.".to_owned(),
        ));
    } else if form.new_password != form.new_password_confirm {
        errors.push((
            "new_password_confirm",
            "The two new passwords do not match.".to_owned(),
        ));
    }
    if !errors.is_empty() {
        return render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &PasswordPage {
                chrome: Chrome::for_user(&user, None, "account"),
                errors,
            },
        );
    }

    let new_password = form.new_password;
    let hash = state.passwords.hash(new_password).await?;
    let event = AuditEvent {
        actor_id: Some(user.id.clone()),
        actor_email: Some(user.email.clone()),
        action: action::PASSWORD_CHANGED,
        client_ip: client_ip(&req),
        ..AuditEvent::default()
    };
    let user_id = user.id.clone();
    let this_session = session::handle(&session);
    let ended_event = AuditEvent {
        action: action::OTHER_SESSIONS_ENDED,
        ..event.clone()
    };
    state
        .db(move |conn| {
            write_transaction(conn, |conn| {
                users::set_password(conn, &user_id, &hash)?;
                audit::record(conn, &event)?;
                // A changed password ends every other session of this user.
                let ended = sessions::end_for_user(conn, &user_id, this_session.as_deref())?;
                if ended > 0 {
                    audit::record(
                        conn,
                        &AuditEvent {
                            detail: format!("{ended} ended with the password change"),
                            ..ended_event
                        },
                    )?;
                }
                diesel::QueryResult::Ok(())
            })?;
            Ok(())
        })
        .await?;
    // A new session identifier, as at sign-in.
    session::sign_in(&session, &req, &user.id, state.clock.unix())?;
    session::set_flash(&session, Flash::success("Your password was changed."))?;
    Ok(see_other("/account/password"))
}
