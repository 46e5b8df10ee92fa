//! Settings > Webhooks: the endpoints told about key events, added with a
//! signing secret shown once, each with its recent deliveries.

pub mod delete;
pub mod endpoint;

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::db::audit::{AuditEvent, action};
use crate::db::webhooks::{self, CreateError, EndpointView, NewEndpoint};
use crate::db::{self, new_row_id};
use crate::domain::webhook::{self, EventType, MAX_ENDPOINTS, SigningSecret};
use crate::web::auth::{CurrentUser, client_ip};
use crate::web::error::AppError;
use crate::web::state::AppState;
use crate::web::views::{Chrome, FieldMessages, Flash, Moment};
use crate::web::{render, session};

pub const LIST: &str = "/settings/webhooks";

#[derive(Template)]
#[template(path = "webhooks/list.html")]
pub struct ListPage {
    chrome: Chrome,
    endpoints: Vec<EndpointRow>,
    url: String,
    choices: Vec<EventChoice>,
    errors: Vec<(&'static str, String)>,
    /// The secret of the endpoint just added: on this one response only.
    revealed: Option<Revealed>,
    max_endpoints: i64,
}

pub struct EndpointRow {
    pub id: String,
    pub url: String,
    pub events: Vec<&'static str>,
    pub created_at: Moment,
}

impl EndpointRow {
    pub fn new(view: EndpointView) -> Self {
        EndpointRow {
            events: view.events.iter().map(|e| e.as_str()).collect(),
            created_at: Moment::new(view.created_at),
            id: view.id,
            url: view.url,
        }
    }
}

pub struct EventChoice {
    code: &'static str,
    label: &'static str,
    checked: bool,
}

pub struct Revealed {
    url: String,
    secret: String,
}

impl ListPage {
    fn at_limit(&self) -> bool {
        self.endpoints.len() as i64 >= self.max_endpoints
    }
}

async fn list_page(
    state: &AppState,
    user: &CurrentUser,
    flash: Option<Flash>,
) -> Result<ListPage, AppError> {
    let endpoints = state.db(|conn| Ok(webhooks::list(conn)?)).await?;
    Ok(ListPage {
        chrome: Chrome::for_user(user, flash, "webhooks"),
        endpoints: endpoints.into_iter().map(EndpointRow::new).collect(),
        url: String::new(),
        choices: choices(&[]),
        errors: Vec::new(),
        revealed: None,
        max_endpoints: MAX_ENDPOINTS,
    })
}

fn choices(checked: &[&str]) -> Vec<EventChoice> {
    EventType::ALL
        .into_iter()
        .map(|e| EventChoice {
            code: e.as_str(),
            label: e.label(),
            checked: checked.contains(&e.as_str()),
        })
        .collect()
}

pub async fn page(
    state: web::Data<AppState>,
    session: Session,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let page = list_page(&state, &user, session::take_flash(&session)).await?;
    render(StatusCode::OK, &page)
}

/// Adds an endpoint. The form's checkboxes repeat `events`, so it is read as pairs.
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let fields = form.into_inner();
    let typed_url = fields
        .iter()
        .find(|(name, _)| name == "url")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let checked: Vec<&str> = fields
        .iter()
        .filter(|(name, _)| name == "events")
        .map(|(_, v)| v.as_str())
        .collect();
    let url = webhook::parse_endpoint_url(&typed_url);
    let events = webhook::parse_events(checked.iter().copied());
    let refuse = |status: StatusCode, errors: Vec<(&'static str, String)>| {
        let (state, user, typed_url, checked) = (&state, &user, &typed_url, &checked);
        async move {
            let mut page = list_page(state, user, None).await?;
            page.url = typed_url.clone();
            page.choices = choices(checked);
            page.errors = errors;
            render(status, &page)
        }
    };
    let (url, events) = match (url, events) {
        (Ok(url), Ok(events)) => (url, events),
        (url, events) => {
            let errors = [("url", url.err()), ("events", events.err())]
                .into_iter()
                .filter_map(|(field, message)| Some((field, message?)))
                .collect();
            return refuse(StatusCode::UNPROCESSABLE_ENTITY, errors).await;
        }
    };

    let id = new_row_id();
    let secret = SigningSecret::generate();
    let names: Vec<&str> = events.iter().map(|e| e.as_str()).collect();
    let event = AuditEvent {
        actor_id: Some(user.id.clone()),
        actor_email: Some(user.email.clone()),
        action: action::WEBHOOK_CREATED,
        key_id: None,
        client_ip: client_ip(&req),
        // The origin only: a path or query may carry the receiver's token.
        detail: format!(
            "endpoint {id} at {} for {}",
            webhook::origin_of(&url),
            names.join(", ")
        ),
    };
    let endpoint = NewEndpoint {
        secret_sealed: state.secret_box.seal(secret.bytes(), id.as_bytes()),
        id: id.clone(),
        url: url.clone(),
        created_by: Some(user.id.clone()),
        created_at: db::now(),
        events,
    };
    let outcome = state
        .db(move |conn| Ok(webhooks::create(conn, &endpoint, &event)))
        .await?;
    match outcome {
        Ok(()) => {}
        Err(CreateError::DuplicateUrl) => {
            let message = "An endpoint with this URL already exists. Delete it first to \
                           change its events or secret."
                .to_owned();
            return refuse(StatusCode::CONFLICT, vec![("url", message)]).await;
        }
        Err(CreateError::TooMany) => {
            let message = format!(
                "The console keeps at most {MAX_ENDPOINTS} endpoints. Delete one before adding another."
            );
            return refuse(StatusCode::CONFLICT, vec![("form", message)]).await;
        }
        Err(CreateError::Db(e)) => return Err(e.into()),
    }
    log::info!("webhook endpoint {id} added by {}", user.email);
    let mut page = list_page(
        &state,
        &user,
        Some(Flash::success("Webhook endpoint added.")),
    )
    .await?;
    page.revealed = Some(Revealed {
        url,
        secret: secret.reveal(),
    });
    render(StatusCode::CREATED, &page)
}

/// The endpoint id from the address, if it could name one at all; anything
/// else is "no such endpoint" without a database read.
pub fn endpoint_id_from_path(id: web::Path<String>) -> Result<String, AppError> {
    let id = id.into_inner();
    let shaped = id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if shaped {
        Ok(id)
    } else {
        Err(no_such_endpoint())
    }
}

pub fn no_such_endpoint() -> AppError {
    AppError::NotFoundWith(
        "There is no webhook endpoint with that identifier. It may have been deleted.".into(),
    )
}

/// Loads one endpoint, or "no such endpoint".
pub async fn find_endpoint(state: &AppState, id: String) -> Result<EndpointView, AppError> {
    state
        .db(move |conn| Ok(webhooks::find(conn, &id)?))
        .await?
        .ok_or_else(no_such_endpoint)
}
