//! The second step of signing in: after a right password, a user with
//! two-factor types a code from their authenticator app (or a recovery code).
//! Until then the session is not signed in. Codes are counted against the
//! same sign-in limits as passwords, and a wrong code says nothing more than
//! that it did not work.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::db::audit::action;
use crate::db::users;
use crate::web::auth::{AFTER_SIGN_IN, CsrfToken, client_ip};
use crate::web::error::AppError;
use crate::web::login::complete_sign_in;
use crate::web::password_check::{self, Attempt, Checked};
use crate::web::session::{self, SecondStep};
use crate::web::state::AppState;
use crate::web::two_factor::{Used, check_and_use};
use crate::web::views::{Chrome, Flash};
use crate::web::{render, see_other};

pub const PAGE: &str = "/login/two-factor";

/// How long the code may take after the password, in seconds.
pub const SECOND_STEP_SECONDS: i64 = 5 * 60;

/// Longest input read as a code (a recovery code with spaces fits).
const MAX_CODE_LEN: usize = 64;

#[derive(Template)]
#[template(path = "login_code.html")]
struct CodePage {
    chrome: Chrome,
    error: Option<&'static str>,
}

#[derive(serde::Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

/// Where the sign-in waiting for a code stands.
enum Waiting {
    Open(SecondStep),
    /// There was one, but its 5 minutes ran out (now forgotten).
    Expired,
    /// None at all: a visitor who never gave a password here.
    Absent,
}

fn waiting(session: &Session, state: &AppState) -> Waiting {
    let Some(step) = session::second_step(session) else {
        return Waiting::Absent;
    };
    let now = state.clock.unix();
    if now - step.since > SECOND_STEP_SECONDS || now < step.since {
        session::end_second_step(session);
        return Waiting::Expired;
    }
    Waiting::Open(step)
}

/// Back to the password. A visitor with no sign-in under way is sent there
/// without a word: nothing is written for them (no session, no flash).
fn start_again(session: &Session, why: Waiting) -> Result<HttpResponse, AppError> {
    if matches!(why, Waiting::Expired) {
        session::set_flash(
            session,
            Flash::info(
                "Sign in again: the code was not entered within 5 minutes of the password.",
            ),
        )?;
    }
    Ok(see_other("/login"))
}

pub async fn form(
    state: web::Data<AppState>,
    session: Session,
    csrf: CsrfToken,
) -> Result<HttpResponse, AppError> {
    let why = waiting(&session, &state);
    if !matches!(why, Waiting::Open(_)) {
        return start_again(&session, why);
    }
    render(
        StatusCode::OK,
        &CodePage {
            chrome: Chrome {
                csrf: csrf.0,
                ..Chrome::default()
            },
            error: None,
        },
    )
}

pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    csrf: CsrfToken,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, AppError> {
    let step = match waiting(&session, &state) {
        Waiting::Open(step) => step,
        why => return start_again(&session, why),
    };
    let id = step.user_id.clone();
    let user = state
        .db(move |conn| Ok(users::find(conn, &id)?))
        .await?
        .filter(|u| !u.disabled);
    let Some(user) = user else {
        // Disabled or deleted since the password: nothing to say but "sign in".
        session::end_second_step(&session);
        return Ok(see_other("/login"));
    };
    let ip = client_ip(&req);
    let attempt = Attempt {
        account: user.email.clone(),
        client_ip: ip.clone(),
        actor_id: Some(user.id.clone()),
        failed_action: action::TWO_FACTOR_FAILED,
        completes: true,
    };
    let typed: String = form.code.chars().take(MAX_CODE_LEN).collect();
    let mut used = None;
    let checked = password_check::check_code(&state, &attempt, async {
        used = check_and_use(&state, &user.id, &user.email, &typed, true).await?;
        Ok(used.is_some())
    })
    .await?;
    if checked == Checked::Wrong {
        return render(
            StatusCode::UNAUTHORIZED,
            &CodePage {
                chrome: Chrome {
                    csrf: csrf.0,
                    ..Chrome::default()
                },
                error: Some(
                    "That code did not work. Codes change every 30 seconds and each works once. \
                     After repeated failures, sign-in is paused for a few minutes.",
                ),
            },
        );
    }
    let detail = match used {
        Some(Used::RecoveryCode { left }) => format!("with a recovery code ({left} left)"),
        _ => "with an authenticator code".to_owned(),
    };
    complete_sign_in(&state, &session, &req, user, detail).await?;
    if let Some(Used::RecoveryCode { left }) = used {
        session::set_flash(
            &session,
            Flash::info(format!(
                "You signed in with a recovery code; {left} left. Make new ones under Two-factor."
            )),
        )?;
    }
    Ok(see_other(if step.next.is_empty() {
        AFTER_SIGN_IN
    } else {
        &step.next
    }))
}
