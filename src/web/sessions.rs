//! Account › Sessions: a user's own signed-in sessions, and ending them.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::db::audit::{self, AuditEvent, action};
use crate::db::{self, write_transaction};
use crate::domain::user_agent;
use crate::web::auth::{CurrentUser, client_ip};
use crate::web::error::AppError;
use crate::web::state::AppState;
use crate::web::views::{Chrome, Flash, Moment};
use crate::web::{ok, see_other, session};

const PAGE: &str = "/account/sessions";

struct SessionLine {
    handle: String,
    started: Option<Moment>,
    last_seen: Option<Moment>,
    address: String,
    browser: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "account_sessions.html")]
struct SessionsPage {
    chrome: Chrome,
    sessions: Vec<SessionLine>,
    others: usize,
}

pub async fn page(
    state: web::Data<AppState>,
    session: Session,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let this = session::handle(&session);
    let user_id = user.id.clone();
    let rows = state
        .db(move |conn| Ok(db::sessions::for_user(conn, &user_id)?))
        .await?;
    let sessions: Vec<SessionLine> = rows
        .into_iter()
        .filter_map(|row| {
            let handle = row.handle?;
            Some(SessionLine {
                current: this.as_deref() == Some(handle.as_str()),
                handle,
                started: row.started_at.map(Moment::new),
                last_seen: row.last_seen_at.map(Moment::new),
                address: row.client_ip.unwrap_or_else(|| "Unknown".to_owned()),
                browser: user_agent::describe(row.user_agent.as_deref()),
            })
        })
        .collect();
    let others = sessions.iter().filter(|s| !s.current).count();
    ok(&SessionsPage {
        chrome: Chrome::for_user(&user, session::take_flash(&session), "account"),
        sessions,
        others,
    })
}

#[derive(serde::Deserialize)]
pub struct EndForm {
    #[serde(default)]
    session: String,
}

/// Signs out one other session. The asker's own session is ended with Sign out.
pub async fn end_one(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    user: CurrentUser,
    form: web::Form<EndForm>,
) -> Result<HttpResponse, AppError> {
    let target = form.into_inner().session;
    let flash = if session::handle(&session).as_deref() == Some(target.as_str()) {
        Flash::error("To end this session, use Sign out.")
    } else {
        let event = event(&req, &user, action::SESSION_ENDED);
        let user_id = user.id.clone();
        let ended = state
            .db(move |conn| {
                Ok(write_transaction(conn, |conn| {
                    let ended = db::sessions::end_one(conn, &user_id, &target)?;
                    if ended {
                        audit::record(conn, &event)?;
                    }
                    diesel::QueryResult::Ok(ended)
                })?)
            })
            .await?;
        if ended {
            Flash::success("That session was signed out.")
        } else {
            Flash::info("That session had already ended.")
        }
    };
    session::set_flash(&session, flash)?;
    Ok(see_other(PAGE))
}

/// Signs out every session of this user but the asker's own.
pub async fn end_others(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let this = session::handle(&session);
    let event = event(&req, &user, action::OTHER_SESSIONS_ENDED);
    let user_id = user.id.clone();
    let ended = state
        .db(move |conn| {
            Ok(write_transaction(conn, |conn| {
                let ended = db::sessions::end_for_user(conn, &user_id, this.as_deref())?;
                if ended > 0 {
                    let detail = format!("{ended} signed out");
                    audit::record(conn, &AuditEvent { detail, ..event })?;
                }
                diesel::QueryResult::Ok(ended)
            })?)
        })
        .await?;
    let flash = match ended {
        0 => Flash::info("There were no other sessions."),
        1 => Flash::success("1 other session was signed out."),
        n => Flash::success(format!("{n} other sessions were signed out.")),
    };
    session::set_flash(&session, flash)?;
    Ok(see_other(PAGE))
}

fn event(req: &HttpRequest, user: &CurrentUser, action: &'static str) -> AuditEvent {
    AuditEvent {
        actor_id: Some(user.id.clone()),
        actor_email: Some(user.email.clone()),
        action,
        client_ip: client_ip(req),
        ..AuditEvent::default()
    }
}
