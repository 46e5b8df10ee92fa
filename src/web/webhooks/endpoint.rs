//! One endpoint and its recent deliveries: what was sent, how often, and
//! what the receiver answered.

use actix_session::Session;
use actix_web::{HttpResponse, web};
use askama::Template;

use crate::db::webhooks::{self, DELIVERED, DeliveryView, FAILED};
use crate::web::auth::CurrentUser;
use crate::web::error::AppError;
use crate::web::state::AppState;
use crate::web::views::{Chrome, Moment};
use crate::web::webhooks::{EndpointRow, endpoint_id_from_path, find_endpoint};
use crate::web::{ok, session};

/// Deliveries shown, newest first.
pub const RECENT: i64 = 50;

#[derive(Template)]
#[template(path = "webhooks/endpoint.html")]
struct EndpointPage {
    chrome: Chrome,
    endpoint: EndpointRow,
    deliveries: Vec<DeliveryRow>,
}

struct DeliveryRow {
    webhook_id: String,
    event_type: String,
    created_at: Moment,
    attempts: i32,
    /// The last answer: an HTTP status or why there was none.
    last_answer: String,
    state_label: &'static str,
    state_class: &'static str,
    /// When it was delivered or given up ("at"), or is due again ("next try").
    when: Option<(&'static str, Moment)>,
}

impl DeliveryRow {
    fn new(row: DeliveryView) -> Self {
        let (state_label, state_class, when) = match row.state.as_str() {
            DELIVERED => ("Delivered", "badge badge-active", ("at", row.finished_at)),
            FAILED => ("Given up", "badge badge-expired", ("at", row.finished_at)),
            _ if row.attempts == 0 => (
                "Waiting",
                "badge badge-expiring",
                ("next try", row.next_attempt_at),
            ),
            _ => (
                "Retrying",
                "badge badge-expiring",
                ("next try", row.next_attempt_at),
            ),
        };
        let last_answer = match (row.last_status, row.last_error) {
            (Some(status), _) => format!("HTTP {status}"),
            (None, Some(error)) => error,
            (None, None) => "Not sent yet".to_owned(),
        };
        DeliveryRow {
            webhook_id: row.id,
            event_type: row.event_type,
            created_at: Moment::new(row.created_at),
            attempts: row.attempts,
            last_answer,
            state_label,
            state_class,
            when: when.1.map(|at| (when.0, Moment::new(at))),
        }
    }
}

pub async fn page(
    state: web::Data<AppState>,
    session: Session,
    user: CurrentUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = endpoint_id_from_path(id)?;
    let endpoint = find_endpoint(&state, id.clone()).await?;
    let deliveries = state
        .db(move |conn| Ok(webhooks::recent_deliveries(conn, &id, RECENT)?))
        .await?;
    ok(&EndpointPage {
        chrome: Chrome::for_user(&user, session::take_flash(&session), "webhooks"),
        endpoint: EndpointRow::new(endpoint),
        deliveries: deliveries.into_iter().map(DeliveryRow::new).collect(),
    })
}
