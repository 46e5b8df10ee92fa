//! The HTTP surface: thin handlers that parse input into domain types, call
//! the domain and the database, and render a template.

pub mod account;
pub mod api;
pub mod applications;
pub mod assets;
pub mod audit;
pub mod auth;
pub mod clock;
pub mod csv;
pub mod cursor;
pub mod error;
pub mod home;
pub mod keys;
pub mod leaks;
pub mod login;
pub mod password_check;
pub mod password_workers;
pub mod routes;
pub mod session;
pub mod session_store;
pub mod sessions;
pub mod setup;
pub mod state;
pub mod two_factor;
pub mod users;
pub mod views;
pub mod webhooks;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, CacheControl, CacheDirective, ContentType};
use askama::Template;

use crate::web::error::AppError;

/// Renders a page with the given status. Console pages are never cached:
/// they show data that changes and, on one page, a key shown once.
pub fn render(status: StatusCode, page: &impl Template) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::build(status)
        .content_type(ContentType::html())
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .body(page.render()?))
}

pub fn ok(page: &impl Template) -> Result<HttpResponse, AppError> {
    render(StatusCode::OK, page)
}

/// 303 See Other: after a form post, the browser fetches `to` with GET.
pub fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .finish()
}
