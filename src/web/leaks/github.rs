//! `POST /api/v1/secret-scanning/github`: GitHub's secret-scanning partner
//! endpoint. The body, a JSON array of `{token, type, url, source}`, is
//! checked against GitHub's signature over the raw bytes before anything in
//! it is read. The answer is GitHub's feedback format, one entry per token:
//! `{token_hash, token_type, label}`, `true_positive` only for a live key.

use actix_web::http::StatusCode;
use actix_web::http::header::{self};
use actix_web::{HttpRequest, HttpResponse, web};

use crate::domain::leak_report::{self, Feedback, Scanner};
use crate::web::api::{header_text, json_error};
use crate::web::auth::client_ip;
use crate::web::leaks::{self, Reported};
use crate::web::state::AppState;

pub const KEY_ID_HEADER: &str = "github-public-key-identifier";
pub const SIGNATURE_HEADER: &str = "github-public-key-signature";

pub async fn report(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> HttpResponse {
    let Some(keys) = &state.leaks.github else {
        return leaks::not_configured();
    };
    let body = match leaks::json_body(&req, payload).await {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    let key_id = header_text(req.headers(), KEY_ID_HEADER).unwrap_or_default();
    let signature = header_text(req.headers(), SIGNATURE_HEADER).unwrap_or_default();
    if let Err(refused) = keys
        .check(state.clock.now(), key_id, signature, &body)
        .await
    {
        return json_error(StatusCode::UNAUTHORIZED, refused.to_string());
    }
    let matches = match leak_report::parse_github(&body) {
        Ok(matches) => matches,
        Err(e) => return json_error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let reported = matches
        .iter()
        .map(|m| Reported::new(&m.token, &m.url, &format!("GitHub ({})", m.source)))
        .collect();
    let live = match leaks::report(&state, Scanner::GitHub, reported, client_ip(&req)).await {
        Ok(live) => live,
        Err(unavailable) => return unavailable,
    };
    let feedback: Vec<Feedback> = matches
        .iter()
        .zip(live)
        .map(|(m, live)| Feedback::new(m, live))
        .collect();
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(feedback)
}
