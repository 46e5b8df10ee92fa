//! Account › Two-factor: set up sign-in codes with an authenticator app (a QR
//! code drawn on the server, and the secret as text), confirm with a first
//! code, keep ten one-time recovery codes, make new ones, set up again on a
//! new device, or turn it off (the password and a code; not where the policy
//! requires it).

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::db::audit::{self, AuditEvent, action};
use crate::db::{sessions, two_factor, write_transaction};
use crate::domain::two_factor::TotpSecret;
use crate::web::auth::{AFTER_SIGN_IN, CurrentUser, client_ip};
use crate::web::error::AppError;
use crate::web::password_check::{self, Attempt, Checked};
use crate::web::state::AppState;
use crate::web::two_factor::{self as tf, SETUP_PAGE, check_and_use};
use crate::web::views::{Chrome, Flash, Moment};
use crate::web::{render, see_other, session};

/// Longest input read as a code.
const MAX_CODE_LEN: usize = 64;

/// What a new account the policy covers is told on its first page.
pub fn ready_notice() -> Flash {
    Flash::success(
        "Your account is ready. Your role signs in with a two-factor code: set it up now to continue.",
    )
}

#[derive(Template)]
#[template(path = "account/two_factor.html")]
struct StatusPage {
    chrome: Chrome,
    /// When it was turned on; None while off.
    on_since: Option<Moment>,
    codes_left: i64,
    /// The policy requires it of this user (it cannot be turned off).
    required: bool,
    error: Option<(&'static str, &'static str)>,
}

#[derive(Template)]
#[template(path = "account/two_factor_setup.html")]
struct SetupPage {
    chrome: Chrome,
    qr_svg: String,
    secret_text: String,
    uri: String,
    error: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "account/recovery_codes.html")]
struct CodesPage {
    chrome: Chrome,
    codes: Vec<String>,
    /// Where "Done" leads.
    next: &'static str,
}

#[derive(serde::Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

#[derive(serde::Deserialize)]
pub struct TurnOffForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
}

fn chrome(user: &CurrentUser, flash: Option<Flash>) -> Chrome {
    Chrome::for_user(user, flash, "account")
}

fn event(
    req: &HttpRequest,
    user: &CurrentUser,
    action: &'static str,
    detail: String,
) -> AuditEvent {
    AuditEvent {
        actor_id: Some(user.id.clone()),
        actor_email: Some(user.email.clone()),
        action,
        client_ip: client_ip(req),
        detail,
        ..AuditEvent::default()
    }
}

async fn status_page(
    state: &AppState,
    user: &CurrentUser,
    flash: Option<Flash>,
    error: Option<(&'static str, &'static str)>,
) -> Result<StatusPage, AppError> {
    let id = user.id.clone();
    let (enrolment, left) = state
        .db(move |conn| {
            Ok((
                two_factor::enrolment(conn, &id)?,
                two_factor::recovery_codes_left(conn, &id)?,
            ))
        })
        .await?;
    Ok(StatusPage {
        chrome: chrome(user, flash),
        on_since: enrolment.and_then(|e| e.totp_enrolled_at).map(Moment::new),
        codes_left: left,
        required: state.two_factor.covers(user.role),
        error,
    })
}

pub async fn page(
    state: web::Data<AppState>,
    session: Session,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    // A user who must set it up first is told so by the page itself.
    let flash = session::take_flash(&session);
    render(
        StatusCode::OK,
        &status_page(&state, &user, flash, None).await?,
    )
}

fn setup_page(user: &CurrentUser, secret: &TotpSecret, error: Option<&'static str>) -> SetupPage {
    let uri = secret.uri();
    let qr_svg = qrcode::QrCode::new(uri.as_bytes())
        .map(|qr| {
            qr.render::<qrcode::render::svg::Color>()
                .min_dimensions(200, 200)
                .build()
        })
        .unwrap_or_default();
    // Inline in the page: no XML declaration, and a name for screen readers.
    let qr_svg = qr_svg
        .find("<svg")
        .map(|at| {
            qr_svg[at..].replacen(
                "<svg ",
                "<svg role=\"img\" aria-label=\"QR code holding the secret below\" ",
                1,
            )
        })
        .unwrap_or_default();
    SetupPage {
        chrome: chrome(user, None),
        qr_svg,
        secret_text: secret.text(),
        uri,
        error,
    }
}

/// Starts setting up (or setting up again on a new device): a new secret,
/// kept pending until a code confirms it.
pub async fn setup(
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let secret = TotpSecret::generate(&user.email);
    let sealed = tf::seal(&state, &user.id, &secret);
    let id = user.id.clone();
    state
        .db(move |conn| Ok(two_factor::set_pending(conn, &id, &sealed)?))
        .await?;
    render(StatusCode::OK, &setup_page(&user, &secret, None))
}

/// Confirms the pending secret with a first code; shows the recovery codes once.
pub async fn confirm(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    user: CurrentUser,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, AppError> {
    let id = user.id.clone();
    let Some(pending) = state
        .db(move |conn| Ok(two_factor::enrolment(conn, &id)?))
        .await?
        .and_then(|e| e.totp_pending)
    else {
        session::set_flash(
            &session,
            Flash::info("Start setting up two-factor again: that setup is no longer open."),
        )?;
        return Ok(see_other(SETUP_PAGE));
    };
    let secret = tf::open(&state, &user.id, &user.email, &pending)?;
    let typed: String = form.code.chars().take(MAX_CODE_LEN).collect();
    let step = match crate::domain::two_factor::read(&typed) {
        crate::domain::two_factor::Presented::Code(code) => {
            secret.matching_step(&code, u64::try_from(state.clock.unix()).unwrap_or(0))
        }
        _ => None,
    };
    let Some(step) = step else {
        let page = setup_page(
            &user,
            &secret,
            Some(
                "That code did not match. Check the time on your device and type the code it shows now.",
            ),
        );
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    let (codes, hashes) = tf::new_recovery_codes(&state, &user.id);
    let id = user.id.clone();
    let now = state.clock.now();
    let event = event(&req, &user, action::TWO_FACTOR_ENROLLED, String::new());
    let confirmed = state
        .db(move |conn| {
            write_transaction(conn, |conn| {
                let step = i64::try_from(step).unwrap_or(i64::MAX);
                let confirmed = two_factor::confirm(conn, &id, &pending, step, &hashes, now)?;
                if confirmed {
                    audit::record(conn, &event)?;
                }
                diesel::QueryResult::Ok(confirmed)
            })
            .map_err(AppError::from)
        })
        .await?;
    if !confirmed {
        session::set_flash(
            &session,
            Flash::info("Two-factor was set up again from another page; use the newest QR code."),
        )?;
        return Ok(see_other(SETUP_PAGE));
    }
    // Set up now: the page shows the whole navigation again.
    let user = CurrentUser {
        must_enrol: false,
        ..user
    };
    render(
        StatusCode::OK,
        &CodesPage {
            chrome: chrome(&user, Some(Flash::success("Two-factor sign-in is on."))),
            codes,
            next: AFTER_SIGN_IN,
        },
    )
}

/// New recovery codes, replacing all the old ones; needs a current code.
pub async fn new_codes(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, AppError> {
    let typed: String = form.code.chars().take(MAX_CODE_LEN).collect();
    if !code_is_right(&req, &state, &user, &typed, false).await? {
        let page = status_page(
            &state,
            &user,
            None,
            Some((
                "new-codes-code",
                "That code did not work. Type the code your app shows now.",
            )),
        )
        .await?;
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let (codes, hashes) = tf::new_recovery_codes(&state, &user.id);
    let id = user.id.clone();
    let event = event(&req, &user, action::RECOVERY_CODES_REPLACED, String::new());
    state
        .db(move |conn| {
            write_transaction(conn, |conn| {
                two_factor::replace_recovery_codes(conn, &id, &hashes)?;
                audit::record(conn, &event)
            })?;
            Ok(())
        })
        .await?;
    render(
        StatusCode::OK,
        &CodesPage {
            chrome: chrome(
                &user,
                Some(Flash::success(
                    "New recovery codes are ready; the old ones no longer work.",
                )),
            ),
            codes,
            next: SETUP_PAGE,
        },
    )
}

/// Turns two-factor off: the password and a current code (or a recovery
/// code). Not where the policy requires it. Ends the user's other sessions.
pub async fn turn_off(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    user: CurrentUser,
    form: web::Form<TurnOffForm>,
) -> Result<HttpResponse, AppError> {
    if state.two_factor.covers(user.role) {
        let page = status_page(
            &state,
            &user,
            Some(Flash::error(
                "Your role must sign in with a two-factor code, so it cannot be turned off.",
            )),
            None,
        )
        .await?;
        return render(StatusCode::CONFLICT, &page);
    }
    let form = form.into_inner();
    let password_ok = password_check::check_own(
        &state,
        &req,
        &user,
        form.password,
        action::PASSWORD_CHANGE_FAILED,
    )
    .await?
        == Checked::Right;
    let typed: String = form.code.chars().take(MAX_CODE_LEN).collect();
    let code_ok = password_ok && code_is_right(&req, &state, &user, &typed, true).await?;
    if !code_ok {
        let page = status_page(
            &state,
            &user,
            None,
            Some((
                "turn-off-password",
                "The password and code did not both match. After repeated failures, the check is paused for a few minutes.",
            )),
        )
        .await?;
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let id = user.id.clone();
    let this_session = session::handle(&session);
    let event = event(&req, &user, action::TWO_FACTOR_DISABLED, String::new());
    state
        .db(move |conn| {
            write_transaction(conn, |conn| {
                two_factor::remove(conn, &id)?;
                let ended = sessions::end_for_user(conn, &id, this_session.as_deref())?;
                audit::record(
                    conn,
                    &AuditEvent {
                        detail: format!("{ended} other sessions ended"),
                        ..event
                    },
                )
            })?;
            Ok(())
        })
        .await?;
    session::set_flash(&session, Flash::success("Two-factor sign-in is off."))?;
    Ok(see_other(SETUP_PAGE))
}

/// A code typed by a signed-in user, counted like sign-in codes.
async fn code_is_right(
    req: &HttpRequest,
    state: &AppState,
    user: &CurrentUser,
    typed: &str,
    allow_recovery: bool,
) -> Result<bool, AppError> {
    let attempt = Attempt {
        account: user.email.clone(),
        client_ip: client_ip(req),
        actor_id: Some(user.id.clone()),
        failed_action: action::TWO_FACTOR_FAILED,
        completes: true,
    };
    let checked = password_check::check_code(state, &attempt, async {
        Ok(
            check_and_use(state, &user.id, &user.email, typed, allow_recovery)
                .await?
                .is_some(),
        )
    })
    .await?;
    Ok(checked == Checked::Right)
}
