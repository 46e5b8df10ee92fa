//! Stylesheet and script, compiled into the binary so it runs from any
//! directory. Pages link them with `?v=<version>`, a digest of their contents,
//! so they can be cached for a year and still change with each release.

use std::sync::LazyLock;

use actix_web::http::header::{CacheControl, CacheDirective, ContentType};
use actix_web::{HttpRequest, HttpResponse, web};

use crate::domain::crypto::sha256_hex;
use crate::web::error::AppError;

const ASSETS: &[(&str, &str, &str)] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../../static/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/app.js"),
    ),
];

static VERSION: LazyLock<String> = LazyLock::new(|| {
    let all: String = ASSETS.iter().map(|(_, _, body)| *body).collect();
    sha256_hex(&all)[..12].to_owned()
});

/// The current assets' version, for links in the layout.
pub fn version() -> &'static str {
    &VERSION
}

pub async fn serve(req: HttpRequest, file: web::Path<String>) -> Result<HttpResponse, AppError> {
    let (_, mime, body) = ASSETS
        .iter()
        .find(|(name, _, _)| *name == file.as_str())
        .ok_or(AppError::NotFound)?;
    let current = req.query_string() == format!("v={}", version());
    let cache = if current {
        vec![
            CacheDirective::Public,
            CacheDirective::MaxAge(31_536_000),
            CacheDirective::Extension("immutable".into(), None),
        ]
    } else {
        vec![CacheDirective::NoCache]
    };
    Ok(HttpResponse::Ok()
        .insert_header(ContentType(mime.parse().expect("static MIME types parse")))
        .insert_header(CacheControl(cache))
        .body(*body))
}
