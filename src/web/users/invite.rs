//! Inviting someone: a one-time link, valid 72 hours on the console's clock,
//! shown once to the Administrator; the invitee opens it, chooses a password
//! and is signed in.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use validator::ValidateEmail;

use crate::db::audit::{AuditEvent, action};
use crate::db::invitations::{self, Invitation, InviteError};
use crate::db::{self};
use crate::domain::crypto::sha256_hex;
use crate::domain::password;
use crate::domain::role::Role;
use crate::domain::token::random_token;
use crate::web::auth::{CsrfToken, CurrentUser, client_ip};
use crate::web::error::AppError;
use crate::web::state::AppState;
use crate::web::views::{Chrome, Flash};
use crate::web::{ok, render, see_other, session};

/// How long an invitation link works.
pub const LIFETIME: chrono::Duration = chrono::Duration::hours(72);

const LINK_NOT_VALID: &str = "This invitation link is not valid: it has expired, was already used, \
    or a newer invitation replaced it. Ask an Administrator to invite you again.";

#[derive(serde::Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

pub struct Invited {
    pub email: String,
    pub link: String,
}

pub async fn invite(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    form: web::Form<InviteForm>,
) -> Result<HttpResponse, AppError> {
    let email = form.email.trim().to_lowercase();
    let role = form.role.parse::<Role>();
    let refuse = |message: String| async {
        let page = super::list_page(&state, &user, Some(Flash::error(message))).await?;
        render(StatusCode::UNPROCESSABLE_ENTITY, &page)
    };
    if email.len() > 254 || !email.validate_email() {
        return refuse(format!("“{email}” is not a valid email address.")).await;
    }
    let Ok(role) = role else {
        return refuse("Choose a role: Administrator, Support or Viewer.".into()).await;
    };
    let token = random_token();
    let now = state.clock.now();
    let invitation = Invitation {
        email: email.clone(),
        role: role.as_str().to_owned(),
        token_hash: sha256_hex(&token),
        invited_by: Some(user.id.clone()),
        created_at: now,
        expires_at: now + LIFETIME,
    };
    let event = AuditEvent {
        actor_id: Some(user.id.clone()),
        actor_email: Some(user.email.clone()),
        action: action::USER_INVITED,
        client_ip: client_ip(&req),
        detail: format!("{email} invited as {}", role.label()),
        ..AuditEvent::default()
    };
    let stored = state
        .db(
            move |conn| match invitations::invite(conn, &invitation, &event) {
                Ok(()) => Ok(Ok(())),
                Err(InviteError::Database(e)) => Err(e.into()),
                Err(refused) => Ok(Err(refused.to_string())),
            },
        )
        .await?;
    if let Err(reason) = stored {
        return refuse(format!("{reason}.")).await;
    }
    let link = {
        let info = req.connection_info();
        format!(
            "{}://{}/invitations/accept?token={token}",
            info.scheme(),
            info.host()
        )
    };
    let mut page = super::list_page(&state, &user, None).await?;
    page.invited = Some(Invited { email, link });
    render(StatusCode::CREATED, &page)
}

#[derive(Template)]
#[template(path = "users/accept.html")]
struct AcceptPage {
    chrome: Chrome,
    token: String,
    email: String,
    role: &'static str,
    error: Option<String>,
}

#[derive(serde::Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

#[derive(serde::Deserialize)]
pub struct AcceptForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

async fn open(state: &AppState, token: &str) -> Result<Invitation, AppError> {
    let hash = sha256_hex(token);
    let now = state.clock.now();
    state
        .db(move |conn| Ok(invitations::open(conn, &hash, now)?))
        .await?
        .ok_or_else(|| AppError::NotFoundWith(LINK_NOT_VALID.into()))
}

fn accept_page(csrf: CsrfToken, token: String, invitation: &Invitation) -> AcceptPage {
    AcceptPage {
        chrome: Chrome {
            csrf: csrf.0,
            ..Chrome::default()
        },
        token,
        email: invitation.email.clone(),
        role: invitation
            .role
            .parse::<Role>()
            .map_or("Viewer", Role::label),
        error: None,
    }
}

pub async fn accept_form(
    state: web::Data<AppState>,
    csrf: CsrfToken,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, AppError> {
    let token = query.into_inner().token;
    let invitation = open(&state, &token).await?;
    ok(&accept_page(csrf, token, &invitation))
}

pub async fn accept(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    csrf: CsrfToken,
    form: web::Form<AcceptForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let invitation = open(&state, &form.token).await?;
    let problem = match password::check_policy(&form.password) {
        Err(e) => Some(e.to_string()),
        Ok(()) if form.password != form.password_confirm => {
            Some("The two passwords do not match.".to_owned())
        }
        Ok(()) => None,
    };
    if let Some(problem) = problem {
        let mut page = accept_page(csrf, form.token, &invitation);
        page.error = Some(problem);
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let hash = state.passwords.hash(form.password).await?;
    let id = db::new_row_id();
    let token_hash = sha256_hex(&form.token);
    let now = state.clock.now();
    let event = AuditEvent {
        action: action::INVITATION_ACCEPTED,
        client_ip: client_ip(&req),
        detail: format!("{} joined through an invitation", invitation.email),
        ..AuditEvent::default()
    };
    let user_id = id.clone();
    let joined = state
        .db(move |conn| {
            Ok(invitations::accept(
                conn,
                &token_hash,
                now,
                &user_id,
                &hash,
                &event,
            )?)
        })
        .await?;
    if joined.is_none() {
        return Err(AppError::NotFoundWith(LINK_NOT_VALID.into()));
    }
    session::sign_in(&session, &req, &id, state.clock.unix())?;
    let role = invitation.role.parse::<Role>().unwrap_or(Role::Viewer);
    if state.two_factor.covers(role) {
        session::set_flash(&session, crate::web::two_factor::account::ready_notice())?;
        return Ok(see_other(crate::web::two_factor::SETUP_PAGE));
    }
    session::set_flash(&session, Flash::success("Welcome: your account is ready."))?;
    Ok(see_other("/settings/integrations"))
}
