//! Signing in and out.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::db::audit::{self, AuditEvent, action};
use crate::db::users;
use crate::domain::return_path;
use crate::domain::session_policy::EndReason;
use crate::web::auth::{AFTER_SIGN_IN, CsrfToken, CurrentUser, client_ip};
use crate::web::error::AppError;
use crate::web::password_check::{self, Attempt, Checked};
use crate::web::session::SecondStep;
use crate::web::state::AppState;
use crate::web::views::{Chrome, Flash};
use crate::web::{render, see_other, session, two_factor};

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    chrome: Chrome,
    email: String,
    error: Option<&'static str>,
    /// The page to return to after signing in (already checked), or empty.
    next: String,
}

/// The page to return to, if `raw` is a path on this console.
fn next_page(raw: Option<&str>) -> String {
    raw.and_then(return_path::safe)
        .unwrap_or_default()
        .to_owned()
}

#[derive(serde::Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: Option<String>,
}

#[derive(serde::Deserialize)]
pub struct LoginQuery {
    #[serde(default)]
    signed_out: Option<String>,
    /// Why the browser's session ended (see `auth`).
    #[serde(default)]
    ended: Option<String>,
    #[serde(default)]
    next: Option<String>,
    /// A form was posted after the session ended, and not acted on.
    #[serde(default)]
    unsaved: Option<String>,
}

pub async fn form(
    state: web::Data<AppState>,
    session: Session,
    csrf: CsrfToken,
    query: web::Query<LoginQuery>,
) -> Result<HttpResponse, AppError> {
    let ended = query.ended.as_deref().and_then(EndReason::parse);
    let flash = match (&query.signed_out, ended) {
        (Some(_), _) => Some(Flash::info("You have signed out.")),
        (None, Some(reason)) => {
            let mut words = reason.message(&state.session_policy);
            if query.unsaved.is_some() {
                words.push_str(" The form you sent was not saved: send it again after signing in.");
            }
            Some(Flash::info(words))
        }
        (None, None) => session::take_flash(&session),
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
            next: next_page(query.next.as_deref()),
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
    let LoginForm {
        email,
        password,
        next,
    } = form.into_inner();
    let next = next_page(next.as_deref());
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
    // With two-factor on, a right password only leads to the code.
    let second_step = user.as_ref().is_some_and(|u| u.totp_enrolled_at.is_some());
    let attempt = Attempt {
        account: email.clone(),
        client_ip: ip.clone(),
        actor_id: None,
        failed_action: action::LOGIN_FAILED,
        completes: !second_step,
    };
    // A disabled account is checked like an unknown one: the answer and its
    // time are the same as for a wrong password.
    let stored = user
        .as_ref()
        .filter(|u| !u.disabled)
        .map(|u| u.password_hash.clone());
    let checked = password_check::check(&state, place, &attempt, password, stored).await?;

    match user.filter(|_| checked == Checked::Right) {
        Some(user) if second_step => {
            session::begin_second_step(
                &session,
                &SecondStep {
                    user_id: user.id,
                    since: state.clock.unix(),
                    next,
                },
            )?;
            Ok(see_other(two_factor::sign_in::PAGE))
        }
        Some(user) => {
            let must_enrol = user
                .role
                .parse()
                .is_ok_and(|role| state.two_factor.covers(role));
            complete_sign_in(&state, &session, &req, user, String::new()).await?;
            if must_enrol {
                return Ok(see_other(two_factor::SETUP_PAGE));
            }
            Ok(see_other(if next.is_empty() {
                AFTER_SIGN_IN
            } else {
                &next
            }))
        }
        None => render(
            StatusCode::UNAUTHORIZED,
            &LoginPage {
                chrome: Chrome {
                    csrf: csrf.0,
                    ..Chrome::default()
                },
                email,
                next,
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

/// Signs the user in on this session (a new identifier, as `session::sign_in`
/// says), records when, and audits it with `detail` (how they signed in).
pub(crate) async fn complete_sign_in(
    state: &AppState,
    session: &Session,
    req: &HttpRequest,
    user: users::UserRow,
    detail: String,
) -> Result<(), AppError> {
    session::sign_in(session, req, &user.id, state.clock.unix())?;
    let (id, at) = (user.id.clone(), state.clock.now());
    let event = AuditEvent {
        actor_id: Some(user.id),
        actor_email: Some(user.email),
        action: action::LOGIN,
        client_ip: client_ip(req),
        detail,
        ..AuditEvent::default()
    };
    state
        .db(move |conn| {
            users::record_sign_in(conn, &id, at)?;
            Ok(audit::record(conn, &event)?)
        })
        .await
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
