//! A GitLab token revocation API (what GitLab's secret detection calls on a
//! self-managed instance): `GET …/v1/revocable_token_types` and
//! `POST …/v1/revoke_tokens` taking `[{type, token, location}]`. GitLab sends
//! its pre-shared token as the whole `Authorization` header (`Bearer <token>`
//! is accepted too); it is compared in constant time. Requests are rate
//! limited per instance; a stranger's refused requests do not use GitLab's
//! allowance. Without `--gitlab-revocation-token-file` both answer 404.

use std::sync::Mutex;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap};
use actix_web::{HttpRequest, HttpResponse, web};
use anyhow::Context as _;
use chrono::NaiveDateTime;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::ServeArgs;
use crate::domain::leak_report::{self, GITLAB_TYPES, Scanner};
use crate::domain::rate_limit::TokenBucket;
use crate::web::api::{header_text, json_error};
use crate::web::auth::client_ip;
use crate::web::leaks::{self, Reported};
use crate::web::state::AppState;

/// Shortest pre-shared token accepted: it is the API's only credential.
pub const MIN_TOKEN_LEN: usize = 32;

pub struct GitlabAccess {
    /// SHA-256 of the pre-shared token: compared whole, whatever the length sent.
    token_digest: [u8; 32],
    bucket: Mutex<TokenBucket>,
}

impl GitlabAccess {
    /// None when no token file is configured (the API is off).
    pub fn configure(serve: &ServeArgs) -> anyhow::Result<Option<Self>> {
        let Some(path) = &serve.gitlab_revocation_token_file else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("--gitlab-revocation-token-file {}", path.display()))?;
        let token = text.trim();
        if token.len() < MIN_TOKEN_LEN {
            anyhow::bail!(
                "--gitlab-revocation-token-file {}: the token must be at least {MIN_TOKEN_LEN} \
                 characters (for example `openssl rand -hex 32`)",
                path.display()
            );
        }
        Ok(Some(GitlabAccess {
            token_digest: Sha256::digest(token.as_bytes()).into(),
            bucket: Mutex::new(TokenBucket::per_minute(
                serve.gitlab_revocation_rate_limit,
                crate::db::now(),
            )),
        }))
    }

    /// GitLab's token, then its allowance.
    fn admit(&self, headers: &HeaderMap, now: NaiveDateTime) -> Result<(), Refusal> {
        let sent = header_text(headers, header::AUTHORIZATION.as_str()).map(|value| {
            match value.split_once(' ') {
                Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
                _ => value.trim(),
            }
        });
        let matches = sent.is_some_and(|token| {
            let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
            bool::from(digest.ct_eq(&self.token_digest))
        });
        if !matches {
            return Err(Refusal::Unauthorized);
        }
        self.bucket
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take(now)
            .map_err(Refusal::RateLimited)
    }
}

/// Why a request to the GitLab API is not served.
enum Refusal {
    NotConfigured,
    Unauthorized,
    /// Seconds until the next request is allowed.
    RateLimited(u64),
}

impl Refusal {
    fn answer(self) -> HttpResponse {
        match self {
            Refusal::NotConfigured => leaks::not_configured(),
            Refusal::Unauthorized => json_error(
                StatusCode::UNAUTHORIZED,
                "send the configured revocation token in Authorization",
            ),
            Refusal::RateLimited(wait) => {
                let mut response = json_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too many requests; retry later",
                );
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, wait.into());
                response
            }
        }
    }
}

fn admit(req: &HttpRequest, state: &AppState) -> Result<(), Refusal> {
    let access = state.leaks.gitlab.as_ref().ok_or(Refusal::NotConfigured)?;
    access.admit(req.headers(), state.clock.now())
}

/// `GET /api/v1/gitlab/v1/revocable_token_types`: `{"types": [...]}` as GitLab
/// reads it (a list of type names), and the rule behind them for people.
pub async fn token_types(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if let Err(refused) = admit(&req, &state) {
        return refused.answer();
    }
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({
            "types": GITLAB_TYPES,
            "rules": GITLAB_TYPES.map(|type_name| serde_json::json!({
                "type": type_name,
                "name": leak_report::TYPE_NAME,
                "description": leak_report::TYPE_DESCRIPTION,
                "example": leak_report::EXAMPLE_KEY,
                "pattern": leak_report::KEY_PATTERN,
            })),
        }))
}

/// `POST /api/v1/gitlab/v1/revoke_tokens`: 204 once every live key among the
/// tokens is reported; 400 (nothing done) for a malformed request or a type
/// this service does not revoke.
pub async fn revoke_tokens(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> HttpResponse {
    if let Err(refused) = admit(&req, &state) {
        return refused.answer();
    }
    let body = match leaks::json_body(&req, payload).await {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    let tokens = match leak_report::parse_gitlab(&body) {
        Ok(tokens) => tokens,
        Err(e) => return json_error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let reported = tokens
        .iter()
        .map(|t| Reported::new(&t.token, &t.location, "GitLab"))
        .collect();
    match leaks::report(&state, Scanner::GitLab, reported, client_ip(&req)).await {
        Ok(_) => HttpResponse::NoContent().finish(),
        Err(unavailable) => unavailable,
    }
}
