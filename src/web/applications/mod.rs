//! Settings › Applications: Administrators create, rename, archive and
//! unarchive the Applications keys belong to. Each change reaches this
//! instance's verifier at once and every other instance within a second.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::db::applications::{self, ApplicationRow, ChangeError, MAX_APPLICATIONS};
use crate::db::audit::AuditEvent;
use crate::db::count::Counted;
use crate::domain::application::{self as rules, MAX_NAME};
use crate::web::auth::{CurrentUser, client_ip};
use crate::web::error::AppError;
use crate::web::state::AppState;
use crate::web::views::{Chrome, Flash, Moment};
use crate::web::{ok, render, see_other, session};

pub const LIST: &str = "/settings/applications";
/// Keys are counted per Application up to this many (then "10,000+").
const KEYS_COUNTED_UP_TO: i64 = 10_000;

#[derive(Template)]
#[template(path = "applications/list.html")]
struct ListPage {
    chrome: Chrome,
    applications: Vec<Line>,
    /// What was typed into "New Application", kept when refused.
    name: String,
    error: Option<String>,
    max_name: usize,
    at_limit: bool,
}

struct Line {
    id: String,
    name: String,
    archived: bool,
    keys: Counted,
    created: Moment,
}

#[derive(Template)]
#[template(path = "applications/archive.html")]
struct ArchivePage {
    chrome: Chrome,
    id: String,
    name: String,
    keys: Counted,
}

#[derive(serde::Deserialize)]
pub struct NameForm {
    #[serde(default)]
    name: String,
}

async fn list_page(
    state: &AppState,
    user: &CurrentUser,
    flash: Option<Flash>,
) -> Result<ListPage, AppError> {
    let (rows, counts) = state
        .db(|conn| {
            let rows = applications::all(conn)?;
            let ids: Vec<String> = rows.iter().map(|a| a.id.clone()).collect();
            let counts = applications::keys_in(conn, &ids, KEYS_COUNTED_UP_TO)?;
            Ok((rows, counts))
        })
        .await?;
    let at_limit = rows.len() as i64 >= MAX_APPLICATIONS;
    Ok(ListPage {
        chrome: Chrome::for_user(user, flash, "applications"),
        applications: rows
            .into_iter()
            .map(|a| Line {
                keys: counts.get(&a.id).copied().unwrap_or(Counted::Exactly(0)),
                archived: a.archived_at.is_some(),
                created: Moment::new(a.created_at),
                id: a.id,
                name: a.name,
            })
            .collect(),
        name: String::new(),
        error: None,
        max_name: MAX_NAME,
        at_limit,
    })
}

pub async fn page(
    state: web::Data<AppState>,
    session: Session,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let page = list_page(&state, &user, session::take_flash(&session)).await?;
    render(StatusCode::OK, &page)
}

fn actor(req: &HttpRequest, user: &CurrentUser) -> AuditEvent {
    AuditEvent {
        actor_id: Some(user.id.clone()),
        actor_email: Some(user.email.clone()),
        client_ip: client_ip(req),
        ..AuditEvent::default()
    }
}

/// Shows the list again with the reason, and what was typed.
async fn refused(
    state: &AppState,
    user: &CurrentUser,
    status: StatusCode,
    typed: String,
    reason: String,
) -> Result<HttpResponse, AppError> {
    let mut page = list_page(state, user, None).await?;
    page.name = typed;
    page.error = Some(reason);
    render(status, &page)
}

/// A database failure becomes the error page; a refusal is kept for the
/// page to explain.
fn refusal<T>(result: Result<T, ChangeError>) -> Result<Result<T, ChangeError>, AppError> {
    match result {
        Err(ChangeError::Database(e)) => Err(e.into()),
        other => Ok(other),
    }
}

fn status_of(e: &ChangeError) -> StatusCode {
    match e {
        ChangeError::NotFound => StatusCode::NOT_FOUND,
        _ => StatusCode::CONFLICT,
    }
}

/// After a change: this instance's verifier takes it in at once.
async fn reload(state: &AppState) -> Result<(), AppError> {
    let verifier = state.verifier.clone();
    state
        .db(move |conn| Ok(verifier.load_applications(conn)?))
        .await
}

pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    user: CurrentUser,
    form: web::Form<NameForm>,
) -> Result<HttpResponse, AppError> {
    let typed = form.into_inner().name;
    let name = match rules::check_name(&typed) {
        Ok(name) => name,
        Err(e) => {
            return refused(
                &state,
                &user,
                StatusCode::UNPROCESSABLE_ENTITY,
                typed,
                e.to_string(),
            )
            .await;
        }
    };
    let id = format!("app_{}", crate::domain::token::random_base62(12));
    let (actor, now) = (actor(&req, &user), state.clock.now());
    let (id_for_db, name_for_db) = (id.clone(), name.clone());
    let created = state
        .db(move |conn| {
            refusal(applications::create(
                conn,
                &id_for_db,
                &name_for_db,
                now,
                &actor,
            ))
        })
        .await?;
    if let Err(e) = created {
        return refused(&state, &user, status_of(&e), typed, format!("{e}.")).await;
    }
    reload(&state).await?;
    session::set_flash(
        &session,
        Flash::success(format!("The Application “{name}” was created.")),
    )?;
    Ok(see_other(LIST))
}

pub async fn rename(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    user: CurrentUser,
    id: web::Path<String>,
    form: web::Form<NameForm>,
) -> Result<HttpResponse, AppError> {
    let typed = form.into_inner().name;
    let name = match rules::check_name(&typed) {
        Ok(name) => name,
        Err(e) => {
            return refused(
                &state,
                &user,
                StatusCode::UNPROCESSABLE_ENTITY,
                String::new(),
                format!("Rename: {e}"),
            )
            .await;
        }
    };
    let actor = actor(&req, &user);
    let id = id.into_inner();
    let renamed = state
        .db(move |conn| refusal(applications::rename(conn, &id, &name, &actor)))
        .await?;
    match renamed {
        Ok(detail) => {
            reload(&state).await?;
            session::set_flash(&session, Flash::success(format!("{detail}.")))?;
            Ok(see_other(LIST))
        }
        Err(ChangeError::NotFound) => Err(AppError::NotFound),
        Err(e) => refused(&state, &user, status_of(&e), String::new(), format!("{e}.")).await,
    }
}

async fn find(state: &AppState, id: String) -> Result<ApplicationRow, AppError> {
    state
        .db(move |conn| Ok(applications::find(conn, &id)?))
        .await?
        .ok_or(AppError::NotFound)
}

/// Archiving cuts every key of the Application off: a page says so first.
pub async fn archive_confirm(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let app = find(&state, id.into_inner()).await?;
    let app_id = app.id.clone();
    let keys = state
        .db(move |conn| {
            Ok(applications::keys_in(
                conn,
                std::slice::from_ref(&app_id),
                KEYS_COUNTED_UP_TO,
            )?)
        })
        .await?
        .remove(&app.id)
        .unwrap_or(Counted::Exactly(0));
    ok(&ArchivePage {
        chrome: Chrome::for_user(&user, None, "applications"),
        id: app.id,
        name: app.name,
        keys,
    })
}

pub async fn archive(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    user: CurrentUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    set_archived(req, state, session, user, id.into_inner(), true).await
}

pub async fn unarchive(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    user: CurrentUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    set_archived(req, state, session, user, id.into_inner(), false).await
}

async fn set_archived(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    user: CurrentUser,
    id: String,
    archived: bool,
) -> Result<HttpResponse, AppError> {
    let (actor, now) = (actor(&req, &user), state.clock.now());
    let changed = state
        .db(move |conn| refusal(applications::set_archived(conn, &id, archived, now, &actor)))
        .await?;
    let name = changed.map_err(|_| AppError::NotFound)?;
    reload(&state).await?;
    let words = if archived {
        format!("“{name}” was archived: its keys are refused as DISABLED.")
    } else {
        format!("“{name}” was unarchived: its keys work again.")
    };
    session::set_flash(&session, Flash::success(words))?;
    Ok(see_other(LIST))
}
