//! Error policy: handlers return `AppError`; this is the one place that turns
//! it into a status and a page. Pages say what went wrong in the user's terms;
//! causes (SQL, paths, panics) go to the log only.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use crate::web::views::Chrome;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not signed in")]
    LoginRequired,
    /// The browser's session has ended; the sign-in page (this address)
    /// says why and returns there after signing in.
    #[error("session ended")]
    SessionEnded(String),
    #[error("forbidden")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    NotFoundWith(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("missing or wrong form token")]
    FormExpired,
    /// Too many password checks are waiting; the request was not looked at.
    #[error("too many password checks at once")]
    Busy,
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

fn see_login(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .finish()
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        if is_outage(&e) {
            AppError::Unavailable(format!("database: {e}"))
        } else {
            AppError::Internal(format!("database: {e}"))
        }
    }
}

/// The database server went away mid-request: as unavailable as a refused connection.
pub fn is_outage(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    matches!(
        e,
        Error::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _
        )
    )
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        AppError::Unavailable(e.to_string())
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        AppError::Internal(format!("blocking task: {e}"))
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::Internal(format!("template: {e}"))
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    chrome: Chrome,
    status: u16,
    title: &'a str,
    message: String,
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::LoginRequired | AppError::SessionEnded(_) => StatusCode::SEE_OTHER,
            AppError::Forbidden | AppError::FormExpired => StatusCode::FORBIDDEN,
            AppError::NotFound | AppError::NotFoundWith(_) => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Unavailable(_) | AppError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            AppError::LoginRequired => see_login("/login"),
            AppError::SessionEnded(to) => see_login(to),
            AppError::Unavailable(cause) => {
                log::error!("database unavailable: {cause}");
                self.page(Chrome::default(), None)
            }
            AppError::Internal(cause) => {
                log::error!("internal error: {cause}");
                self.page(Chrome::default(), None)
            }
            _ => self.page(Chrome::default(), None),
        }
    }
}

impl AppError {
    /// The error page, inside the given chrome (a signed-in user's header
    /// and navigation, or none), with `message` in place of the usual words.
    pub fn page(&self, chrome: Chrome, message: Option<String>) -> HttpResponse {
        let status = self.status_code();
        let (title, usual) = match self {
            AppError::Forbidden => (
                "You do not have permission to do that",
                "Your role does not allow this action. Ask an Administrator if you need it."
                    .to_owned(),
            ),
            AppError::FormExpired => (
                "This form has expired",
                "The form was not sent from this console session, or the session has changed since it was \
                 opened. Nothing was changed. Go back, reload the page and try again."
                    .to_owned(),
            ),
            AppError::NotFound => (
                "Page not found",
                "There is nothing at this address.".to_owned(),
            ),
            AppError::NotFoundWith(message) => ("Not found", message.clone()),
            AppError::MethodNotAllowed => (
                "Method not allowed",
                "This address does not accept that kind of request.".to_owned(),
            ),
            AppError::BadRequest(message) => ("The request could not be used", message.clone()),
            AppError::PayloadTooLarge => (
                "Too much data",
                "The form sent more data than the console accepts. Shorten it and try again."
                    .to_owned(),
            ),
            AppError::Busy => (
                "Too many sign-ins at once",
                "The console is checking many passwords right now. Nothing was changed. \
                 Wait a few seconds and try again."
                    .to_owned(),
            ),
            AppError::Unavailable(_) => (
                "Temporarily unavailable",
                "The console cannot reach its database right now. Try again in a moment."
                    .to_owned(),
            ),
            AppError::Internal(_) => (
                "Something went wrong",
                "The console could not complete this request. It has been logged.".to_owned(),
            ),
            AppError::LoginRequired | AppError::SessionEnded(_) => {
                ("Sign in", "Sign in to continue.".to_owned())
            }
        };
        let page = ErrorPage {
            chrome,
            status: status.as_u16(),
            title,
            message: message.unwrap_or(usual),
        };
        let body = page.render().unwrap_or_else(|_| title.to_owned());
        let mut response = HttpResponse::build(status);
        response
            .content_type(ContentType::html())
            .insert_header((header::CACHE_CONTROL, "no-store"));
        if let AppError::Busy = self {
            response.insert_header((header::RETRY_AFTER, "2"));
        }
        // Errors can be raised outside the layer that adds these to pages.
        for header in SECURITY_HEADERS {
            response.insert_header(*header);
        }
        response.body(body)
    }
}

/// Sent with every console page (the `security_headers` layer) and every error page.
pub const SECURITY_HEADERS: &[(&str, &str)] = &[
    (
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
];

/// The text the session store's errors start with when the database cannot be
/// reached, so the outermost layer can tell an outage from a bug.
pub const UNAVAILABLE_MARKER: &str = "database unavailable";

/// The outermost layer. Errors raised outside the handlers (the session
/// layer's opaque 500s) come back as the console's own page; a session store
/// that cannot reach the database becomes the 503 page.
pub async fn render_outer_errors(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    next.call(req).await.map_err(|err| {
        let cause = err.to_string();
        if cause.starts_with(UNAVAILABLE_MARKER) {
            AppError::Unavailable(cause).into()
        } else if err.as_response_error().status_code().is_server_error() {
            AppError::Internal(cause).into()
        } else {
            err
        }
    })
}
