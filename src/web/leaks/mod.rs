//! Leak reports from secret scanners: GitHub's secret-scanning partner
//! endpoint (signed reports) and a GitLab token revocation API (a pre-shared
//! token). A reported token that is a live key is marked leaked and, unless
//! `--leaked-keys flag`, switched off: once, on its first report, audited as
//! the scanner's doing, and applied to this instance's verifier at once
//! (other instances pick it up within a second). Tokens are never logged:
//! only a key's public ID and the first characters of a token's SHA-256.

pub mod github;
pub mod gitlab;
pub mod public_keys;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap};
use actix_web::{HttpRequest, HttpResponse, web};

use crate::config::{LeakedKeys, ServeArgs};
use crate::db::audit::{AuditEvent, action};
use crate::db::keys::{self, LeakOutcome};
use crate::db::{self};
use crate::domain::api_key;
use crate::domain::leak_report::{self, MAX_REPORT_BYTES, Scanner};
use crate::web::api::json_error;
use crate::web::error::AppError;
use crate::web::state::AppState;

/// What leak reports may do on this server, from `serve`'s settings.
pub struct LeakIntake {
    /// A report switches the key off (`--leaked-keys disable`), or only marks it.
    pub disable: bool,
    /// GitHub's keys, when its reports are accepted.
    pub github: Option<public_keys::GithubKeys>,
    /// GitLab's pre-shared token and rate limit, when its API is on.
    pub gitlab: Option<gitlab::GitlabAccess>,
}

impl LeakIntake {
    pub fn configure(serve: &ServeArgs) -> anyhow::Result<Self> {
        Ok(LeakIntake {
            disable: serve.leaked_keys == LeakedKeys::Disable,
            github: public_keys::GithubKeys::configure(serve)?,
            gitlab: gitlab::GitlabAccess::configure(serve)?,
        })
    }
}

/// One reported token: what may be a whole key, and where it was found.
pub struct Reported {
    pub candidate: String,
    pub place: String,
}

impl Reported {
    /// A token found at `address` (or, without one, where `otherwise` says).
    pub fn new(token: &str, address: &str, otherwise: &str) -> Self {
        Reported {
            candidate: leak_report::candidate(token).into_owned(),
            place: leak_report::place(address, otherwise),
        }
    }
}

/// Marks every reported live key leaked (see the module's words), and
/// applies its row as it now stands to this instance's verifier. Returns,
/// for each token in order, whether it is a live key; or the answer to give
/// when the database cannot be reached (nothing was half-written: each key's
/// report is its own transaction, and a repeated report changes nothing).
pub async fn report(
    state: &AppState,
    scanner: Scanner,
    reported: Vec<Reported>,
    client_ip: Option<String>,
) -> Result<Vec<bool>, HttpResponse> {
    let ids = identify(state, &reported).await?;
    let hits: Vec<(String, String, String)> = reported
        .into_iter()
        .zip(&ids)
        .filter_map(|(r, id)| {
            let hash = leak_report::token_hash(&r.candidate);
            Some((id.clone()?, r.place, hash))
        })
        .collect();
    if hits.is_empty() {
        return Ok(ids.iter().map(Option::is_some).collect());
    }
    let disable = state.leaks.disable;
    let written = state
        .db(move |conn| {
            let mut rows = Vec::new();
            for (id, place, hash) in hits {
                let event = AuditEvent {
                    actor_id: None,
                    actor_email: None,
                    action: action::KEY_LEAKED,
                    key_id: Some(id.clone()),
                    client_ip: client_ip.clone(),
                    detail: leak_report::audit_detail(scanner, &place, disable),
                };
                let now = db::now();
                let outcome = keys::report_leaked(conn, &id, &place, disable, now, &event)?;
                if outcome == LeakOutcome::Marked {
                    log::warn!(
                        "API key {id} reported leaked by {} (token SHA-256 {}…); {}",
                        scanner.name(),
                        &hash[..12],
                        if disable { "switched off" } else { "flagged" }
                    );
                }
                // Also when another instance marked it a moment ago: this one
                // refuses it now, not at its next poll.
                rows.extend(keys::one_for_verification(conn, &id)?);
            }
            Ok(rows)
        })
        .await;
    match written {
        Ok(rows) => {
            for row in rows {
                state.verifier.apply(row, db::now());
            }
            Ok(ids.iter().map(Option::is_some).collect())
        }
        Err(e) => Err(unavailable(&e)),
    }
}

/// The live key each token is, if any. A well-formed key this instance does
/// not hold yet (made on another instance since its last poll) is read from
/// the database first, so a report never misses a brand-new key.
async fn identify(
    state: &AppState,
    reported: &[Reported],
) -> Result<Vec<Option<String>>, HttpResponse> {
    let identify_all = || -> Vec<Option<String>> {
        reported
            .iter()
            .map(|r| state.verifier.identify(&r.candidate))
            .collect()
    };
    let ids = identify_all();
    let unseen: Vec<String> = reported
        .iter()
        .zip(&ids)
        .filter(|(_, id)| id.is_none())
        .filter_map(|(r, _)| api_key::parse(&r.candidate).ok())
        .map(|key| key.public_id.to_owned())
        .collect();
    if unseen.is_empty() {
        return Ok(ids);
    }
    let rows = state
        .db(move |conn| {
            let mut rows = Vec::new();
            for id in unseen {
                rows.extend(keys::one_for_verification(conn, &id)?);
            }
            Ok(rows)
        })
        .await
        .map_err(|e| unavailable(&e))?;
    for row in rows {
        state.verifier.apply(row, db::now());
    }
    Ok(identify_all())
}

fn unavailable(error: &AppError) -> HttpResponse {
    log::warn!("cannot read or record a leak report: {error}");
    HttpResponse::ServiceUnavailable()
        .insert_header((header::RETRY_AFTER, "30"))
        .json(serde_json::json!({
            "error": "the report cannot be recorded right now; send it again shortly"
        }))
}

/// A report's body, exactly as sent: JSON, and at most [`MAX_REPORT_BYTES`].
pub async fn json_body(
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<web::Bytes, HttpResponse> {
    if !is_json(req.headers()) {
        return Err(json_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the report as Content-Type: application/json",
        ));
    }
    let too_large = || {
        json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("a report may be at most {MAX_REPORT_BYTES} bytes"),
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_REPORT_BYTES) {
        return Err(too_large());
    }
    match payload.to_bytes_limited(MAX_REPORT_BYTES).await {
        Ok(Ok(body)) => Ok(body),
        Ok(Err(_)) => Err(json_error(
            StatusCode::BAD_REQUEST,
            "the report's body could not be read",
        )),
        Err(_) => Err(too_large()),
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

/// The answer of an endpoint whose scanner is not configured: as if it did not exist.
pub fn not_configured() -> HttpResponse {
    json_error(StatusCode::NOT_FOUND, "not found")
}
