//! Signing in and out.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::db::audit::{self, AuditEvent, action};
use crate::db::{self, throttle, users};
use crate::domain::password;
use crate::domain::throttle::{LOCK_FOR, Subject};
use crate::web::auth::{CsrfToken, CurrentUser, client_ip};
use crate::web::error::AppError;
use crate::web::state::AppState;
use crate::web::views::{Chrome, Flash};
use crate::web::{render, see_other, session};

/// Passwords longer than this are refused before hashing, so a huge body cannot
/// buy a long argon2 run.
const MAX_PASSWORD_BYTES: usize = 1024;

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

    // Throttling is keyed by the address typed, whether or not such an account
    // exists, so it says nothing about which accounts exist.
    let now = db::now();
    let account_key = format!("account:{email}");
    let address_key = format!("ip:{}", ip.as_deref().unwrap_or("unknown"));
    let (lookup, keys) = (email.clone(), (account_key.clone(), address_key.clone()));
    let (user, account, address) = state
        .db(move |conn| {
            let user = users::find_by_email(conn, &lookup)?;
            let account = throttle::load(conn, &keys.0, now)?;
            let address = throttle::load(conn, &keys.1, now)?;
            Ok((user, account, address))
        })
        .await?;
    let locked = account.is_locked(now) || address.is_locked(now);
    // Only the account's own failures slow its answers: an address may be a
    // whole office behind one gateway. Addresses are locked, not slowed.
    let delay = account.delay(now);
    if let Ok(delay) = delay.to_std() {
        actix_web::rt::time::sleep(delay).await;
    }
    // The password is checked even when locked, so a locked answer takes as long.
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let verified = if password.len() > MAX_PASSWORD_BYTES {
        false
    } else {
        web::block(move || password::verify(&password, stored.as_deref())).await?
    };

    match user.filter(|u| verified && !u.disabled && !locked) {
        Some(user) => {
            session::sign_in(&session, &user.id, state.clock.unix())?;
            let event = AuditEvent {
                actor_id: Some(user.id),
                actor_email: Some(user.email),
                action: action::LOGIN,
                client_ip: ip,
                ..AuditEvent::default()
            };
            state
                .db(move |conn| {
                    throttle::clear(conn, &account_key)?;
                    Ok(audit::record(conn, &event)?)
                })
                .await?;
            Ok(see_other("/settings/integrations"))
        }
        None => {
            let failed = AuditEvent {
                actor_email: Some(email.clone()),
                action: action::LOGIN_FAILED,
                client_ip: ip.clone(),
                detail: if locked {
                    "refused: locked out".into()
                } else {
                    String::new()
                },
                ..AuditEvent::default()
            };
            let lockout = |subject: &str| AuditEvent {
                actor_email: Some(email.clone()),
                action: action::LOCKOUT,
                client_ip: ip.clone(),
                detail: format!(
                    "{subject} locked for {} minutes after repeated failed sign-ins",
                    LOCK_FOR.num_minutes()
                ),
                ..AuditEvent::default()
            };
            let (account_locked, address_locked) = (lockout("account"), lockout("client address"));
            state
                .db(move |conn| {
                    audit::record(conn, &failed)?;
                    if throttle::record_failure(conn, &account_key, Subject::Account, now)? {
                        audit::record(conn, &account_locked)?;
                    }
                    if throttle::record_failure(conn, &address_key, Subject::ClientAddress, now)? {
                        audit::record(conn, &address_locked)?;
                    }
                    Ok(())
                })
                .await?;
            render(
                StatusCode::UNAUTHORIZED,
                &LoginPage {
                    chrome: Chrome {
                        csrf: csrf.0,
                        ..Chrome::default()
                    },
                    email,
                    // The same words whether the account exists, the password
                    // is wrong or the account is locked for a while.
                    error: Some(
                        "That email and password do not match an active account. After repeated failures, \
                         sign-in is paused for a few minutes.",
                    ),
                },
            )
        }
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
