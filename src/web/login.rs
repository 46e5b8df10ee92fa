//! Signing in and out.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::db::audit::{self, AuditEvent, action};
use crate::db::users;
use crate::web::auth::{CsrfToken, CurrentUser, client_ip};
use crate::web::error::AppError;
use crate::web::password_check::{self, Attempt, Checked};
use crate::web::state::AppState;
use crate::web::views::{Chrome, Flash};
use crate::web::{render, see_other, session};

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    chrome: Chrome,
    email: String,
    error: Option<&'static str>,
}

#[derive(serde::Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

#[derive(serde::Deserialize)]
pub struct LoginQuery {
    #[serde(default)]
    signed_out: Option<String>,
}

pub async fn form(
    session: Session,
    csrf: CsrfToken,
    query: web::Query<LoginQuery>,
) -> Result<HttpResponse, AppError> {
    let flash = match query.signed_out {
        Some(_) => Some(Flash::info("You have signed out.")),
        None => session::take_flash(&session),
    };
    render(
        StatusCode::OK,
        &LoginPage {
            chrome: Chrome {
                flash,
                csrf: csrf.0,
                ..Chrome::default()
            },
            email: String::new(),
            error: None,
        },
    )
}

pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    csrf: CsrfToken,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, AppError> {
    let LoginForm { email, password } = form.into_inner();
    // Control characters never appear in an address, and PostgreSQL refuses NUL in text.
    let email: String = email
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| !c.is_control())
        .take(254)
        .collect();
    let ip = client_ip(&req);

    let place = state.passwords.admit()?;
    let lookup = email.clone();
    let user = state
        .db(move |conn| Ok(users::find_by_email(conn, &lookup)?))
        .await?;
    let attempt = Attempt {
        account: email.clone(),
        client_ip: ip.clone(),
        actor_id: None,
        failed_action: action::LOGIN_FAILED,
    };
    // A disabled account is checked like an unknown one: the answer and its
    // time are the same as for a wrong password.
    let stored = user
        .as_ref()
        .filter(|u| !u.disabled)
        .map(|u| u.password_hash.clone());
    let checked = password_check::check(&state, place, &attempt, password, stored).await?;

    match user.filter(|_| checked == Checked::Right) {
        Some(user) => {
            session::sign_in(&session, &user.id, state.clock.unix())?;
            let (id, at) = (user.id.clone(), state.clock.now());
            let event = AuditEvent {
                actor_id: Some(user.id),
                actor_email: Some(user.email),
                action: action::LOGIN,
                client_ip: ip,
                ..AuditEvent::default()
            };
            state
                .db(move |conn| {
                    users::record_sign_in(conn, &id, at)?;
                    Ok(audit::record(conn, &event)?)
                })
                .await?;
            Ok(see_other("/settings/integrations"))
        }
        None => render(
            StatusCode::UNAUTHORIZED,
            &LoginPage {
                chrome: Chrome {
                    csrf: csrf.0,
                    ..Chrome::default()
                },
                email,
                // The same words whether the account exists, the password is
                // wrong or sign-in is paused for a while.
                error: Some(
                    "That email and password do not match an active account. After repeated failures, \
                     sign-in is paused for a few minutes.",
                ),
            },
        ),
    }
}

pub async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let event = AuditEvent {
        actor_id: Some(user.id),
        actor_email: Some(user.email),
        action: action::LOGOUT,
        client_ip: client_ip(&req),
        ..AuditEvent::default()
    };
    state
        .db(move |conn| Ok(audit::record(conn, &event)?))
        .await?;
    session::sign_out(&session);
    Ok(see_other("/login?signed_out=1"))
}
