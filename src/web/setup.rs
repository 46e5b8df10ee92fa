//! First run: the link printed at start-up lets one person create the first Administrator.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use validator::ValidateEmail;

use crate::db::audit::{self, AuditEvent, action};
use crate::db::{self, setup, users};
use crate::domain::crypto::sha256_hex;
use crate::domain::password;
use crate::domain::role::Role;
use crate::web::auth::{CsrfToken, client_ip};
use crate::web::error::AppError;
use crate::web::state::AppState;
use crate::web::views::FieldMessages;
use crate::web::views::{Chrome, Flash};
use crate::web::{ok, render, see_other, session};

const LINK_NOT_VALID: &str = "This setup link is not valid or has already been used. \
    Sign in, or ask an Administrator for an account.";

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage {
    chrome: Chrome,
    token: String,
    email: String,
    errors: Vec<(&'static str, String)>,
}

#[derive(serde::Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

#[derive(serde::Deserialize)]
pub struct SetupForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

async fn link_is_open(state: &AppState, token: &str) -> Result<bool, AppError> {
    let hash = sha256_hex(token);
    state
        .db(move |conn| Ok(setup::token_is_open(conn, &hash)?))
        .await
}

pub async fn form(
    state: web::Data<AppState>,
    csrf: CsrfToken,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, AppError> {
    if !link_is_open(&state, &query.token).await? {
        return Err(AppError::NotFoundWith(LINK_NOT_VALID.into()));
    }
    ok(&SetupPage {
        chrome: Chrome {
            csrf: csrf.0.clone(),
            ..Chrome::default()
        },
        token: query.into_inner().token,
        email: String::new(),
        errors: Vec::new(),
    })
}

pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    csrf: CsrfToken,
    form: web::Form<SetupForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    if !link_is_open(&state, &form.token).await? {
        return Err(AppError::NotFoundWith(LINK_NOT_VALID.into()));
    }
    let email = form.email.trim().to_lowercase();
    let mut errors = Vec::new();
    if email.len() > 254 || !email.validate_email() {
        errors.push(("email", "Enter a valid email address.".to_owned()));
    }
    if let Err(e) = password::check_policy(&form.password) {
        errors.push(("password", e.to_string()));
    } else if form.password != form.password_confirm {
        errors.push((
            "password_confirm",
            "The two passwords do not match.".to_owned(),
        ));
    }
    if !errors.is_empty() {
        return render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &SetupPage {
                chrome: Chrome {
                    csrf: csrf.0.clone(),
                    ..Chrome::default()
                },
                token: form.token,
                email,
                errors,
            },
        );
    }

    let password = form.password;
    let hash = state.passwords.hash(password).await?;
    let user_id = db::new_row_id();
    let token_hash = sha256_hex(&form.token);
    let event = AuditEvent {
        actor_id: Some(user_id.clone()),
        actor_email: Some(email.clone()),
        action: action::USER_CREATED,
        client_ip: client_ip(&req),
        detail: "first Administrator, through the setup link".into(),
        ..AuditEvent::default()
    };
    let id = user_id.clone();
    let created = state
        .db(move |conn| {
            let admin = users::NewUser {
                id: &id,
                email: &email,
                password_hash: &hash,
                role: Role::Administrator.as_str(),
                disabled: false,
                created_at: db::now(),
            };
            let created = setup::complete(conn, &token_hash, &admin)?;
            if created {
                audit::record(conn, &event)?;
            }
            Ok(created)
        })
        .await?;
    if !created {
        return Err(AppError::NotFoundWith(LINK_NOT_VALID.into()));
    }
    session::sign_in(&session, &req, &user_id, state.clock.unix())?;
    if state.two_factor.covers(Role::Administrator) {
        session::set_flash(&session, crate::web::two_factor::account::ready_notice())?;
        return Ok(see_other(crate::web::two_factor::SETUP_PAGE));
    }
    session::set_flash(
        &session,
        Flash::success("Your Administrator account is ready. Generate your first API key below."),
    )?;
    Ok(see_other("/settings/integrations"))
}
