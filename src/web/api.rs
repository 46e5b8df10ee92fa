//! The verification surfaces services and gateways call: a JSON API and a
//! forward-auth endpoint. Nothing about a presented credential is logged but
//! its public identifier.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap};
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use crate::domain::verdict::Outcome;
use crate::domain::{client_ip, hmac_signature};
use crate::verifier::{Presented, ReplayCheckUnavailable, SignedRequest, Verdict};
use crate::web::auth::client_addr;
use crate::web::state::AppState;

/// Largest JSON body the verify endpoint reads.
pub const MAX_BODY: usize = 4 * 1024;
/// Longest header value read for a credential.
const MAX_CREDENTIAL: usize = 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// The whole key (bearer scheme), or the key half of a key/secret pair.
    #[serde(default)]
    key: Option<String>,
    /// For key/secret pairs (Basic scheme), the secret.
    #[serde(default)]
    secret: Option<String>,
    /// For HMAC keys: the signed request as the calling service received it.
    #[serde(default)]
    signature: Option<SignedFields>,
    /// The address the key was presented from. Believed only from a caller in
    /// `--trusted-proxies`; from anyone else the caller's own address is checked.
    #[serde(default)]
    ip: Option<String>,
    /// The key type code the calling service expects.
    #[serde(default, rename = "type")]
    type_code: Option<String>,
    /// The Application (id or name) the calling service expects the key to
    /// belong to; a key of another answers WRONG_APPLICATION.
    #[serde(default)]
    application: Option<String>,
}

/// A signed request, reported by the service that received it: it alone knows
/// the method and target the client signed.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedFields {
    /// The `Authorization` header as received (`LK-HMAC-SHA256 KeyId=…, Signature=…`).
    authorization: String,
    /// The `Date` header as received.
    date: String,
    method: String,
    /// The path and query as received, e.g. `/orders?page=2`.
    target: String,
}

/// Said when a caller not trusted to name the client's address sent `ip`.
const IP_IGNORED: &str = "“ip” is believed only from callers listed in --trusted-proxies; \
                          this request's own address was checked";

#[derive(Serialize)]
struct VerifyResponse<'a> {
    valid: bool,
    code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<KeyInfo<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after: Option<u64>,
}

#[derive(Serialize)]
struct KeyInfo<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    type_code: &'a str,
    name: &'a str,
    expires_at: Option<String>,
    application: ApplicationInfo<'a>,
}

#[derive(Serialize)]
struct ApplicationInfo<'a> {
    id: &'a str,
    name: &'a str,
}

/// A 4xx with a JSON body, for requests that cannot be checked at all.
pub fn json_error(status: StatusCode, message: impl Into<String>) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::json!({ "error": message.into() }))
}

pub async fn verify(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<VerifyRequest>,
) -> HttpResponse {
    let body = body.into_inner();
    let caller = client_addr(&req);
    let mut ip_ignored = false;
    let client_ip = match body.ip.as_deref().map(str::trim) {
        None | Some("") => caller,
        Some(text) => match text.parse() {
            Ok(ip) if caller.is_some_and(|c| client_ip::is_trusted(c, &state.trusted_proxies)) => {
                Some(ip)
            }
            Ok(_) => {
                ip_ignored = true;
                caller
            }
            Err(_) => {
                return json_error(
                    StatusCode::BAD_REQUEST,
                    "“ip” is not an IPv4 or IPv6 address",
                );
            }
        },
    };
    let presented = Presented {
        client_ip,
        expected_type: body.type_code.as_deref(),
        expected_application: body.application.as_deref(),
        now: state.clock.now(),
    };
    let mut verdict = match (&body.key, &body.secret, &body.signature) {
        (Some(key), None, None) => state.verifier.verify_bearer(key, &presented),
        (Some(key), Some(secret), None) => state.verifier.verify_pair(key, secret, &presented),
        (None, None, Some(signed)) => {
            let signed = SignedRequest {
                authorization: &signed.authorization,
                date: Some(&signed.date),
                method: &signed.method,
                target: &signed.target,
            };
            match check_signed(&state, signed, &presented).await {
                Ok(verdict) => verdict,
                Err(unavailable) => return unavailable,
            }
        }
        _ => {
            return json_error(
                StatusCode::BAD_REQUEST,
                "send “key” (with “secret” for key/secret pairs), or “signature” for a signed request",
            );
        }
    };
    if ip_ignored && verdict.reason.is_none() {
        verdict.reason = Some(IP_IGNORED);
    }
    let status = if verdict.outcome == Outcome::RateLimited {
        StatusCode::TOO_MANY_REQUESTS
    } else {
        StatusCode::OK
    };
    respond(status, &verdict, false)
}

/// Forward-auth for nginx `auth_request`, Traefik ForwardAuth and Caddy `forward_auth`.
pub async fn forward_auth(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let headers = req.headers();
    let expected = header_text(headers, "x-latchkey-expected-type");
    let presented = Presented {
        client_ip: client_addr(&req),
        expected_type: expected,
        expected_application: header_text(headers, "x-latchkey-expected-application"),
        now: state.clock.now(),
    };
    let verdict = match credential(headers) {
        Credential::Bearer(token) => state.verifier.verify_bearer(&token, &presented),
        Credential::Pair(key, secret) => state.verifier.verify_pair(&key, &secret, &presented),
        Credential::Signed(authorization) => match signed_binding(&req, &state) {
            Err(reason) => Verdict::refused(Outcome::Malformed, reason),
            Ok((method, target)) => {
                let signed = SignedRequest {
                    authorization,
                    date: header_text(headers, "date"),
                    method,
                    target,
                };
                match check_signed(&state, signed, &presented).await {
                    Ok(verdict) => verdict,
                    Err(unavailable) => return unavailable,
                }
            }
        },
        Credential::Garbled(reason) => Verdict::refused(Outcome::Malformed, reason),
        Credential::Missing => Verdict::refused(
            Outcome::Malformed,
            "no credential: send Authorization (Bearer, Basic or LK-HMAC-SHA256) or X-API-Key",
        ),
    };
    let status = match verdict.outcome {
        Outcome::Valid => StatusCode::OK,
        Outcome::IpNotAllowed | Outcome::WrongType | Outcome::WrongApplication => {
            StatusCode::FORBIDDEN
        }
        Outcome::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        Outcome::NotFound | Outcome::Malformed | Outcome::Expired | Outcome::Disabled => {
            StatusCode::UNAUTHORIZED
        }
    };
    respond(status, &verdict, true)
}

/// The method and target a signature must cover. Only a gateway listed in
/// `--trusted-proxies` (the TCP peer itself, not an address it forwards) may
/// report them; a client's own headers never choose what its signature covers.
/// Where nginx's and Traefik's headers are both present they must agree.
fn signed_binding<'a>(
    req: &'a HttpRequest,
    state: &AppState,
) -> Result<(&'a str, &'a str), &'static str> {
    let from_gateway = req
        .peer_addr()
        .is_some_and(|peer| client_ip::is_trusted(peer.ip(), &state.trusted_proxies));
    if !from_gateway {
        return Err(
            "signed requests are checked only through a gateway listed in --trusted-proxies, \
             which reports the signed method and target",
        );
    }
    let headers = req.headers();
    let method = agreed(
        headers,
        "x-original-method",
        "x-forwarded-method",
        |a, b| a.eq_ignore_ascii_case(b),
    )
    .map_err(
        |_| "X-Original-Method and X-Forwarded-Method disagree; the signed method is ambiguous",
    )?;
    let target = agreed(headers, "x-original-uri", "x-forwarded-uri", |a, b| a == b).map_err(
        |_| "X-Original-URI and X-Forwarded-Uri disagree; the signed target is ambiguous",
    )?;
    match (method, target) {
        (Some(method), Some(target)) => Ok((method, target)),
        _ => Err(
            "the gateway did not report the signed request's method and target \
             (X-Original-Method and X-Original-URI, or X-Forwarded-Method and X-Forwarded-Uri)",
        ),
    }
}

/// The value of either header; an error if both are present and differ.
fn agreed<'a>(
    headers: &'a HeaderMap,
    one: &str,
    other: &str,
    same: impl Fn(&str, &str) -> bool,
) -> Result<Option<&'a str>, ()> {
    match (header_text(headers, one), header_text(headers, other)) {
        (Some(a), Some(b)) if !same(a, b) => Err(()),
        (a, b) => Ok(a.or(b)),
    }
}

/// The replay table is unreachable: a signed request is neither accepted nor
/// called a replay. The client may retry shortly with a fresh signature.
/// A signed request's verdict, or the 503 answer when the shared replay
/// table cannot be reached (a signature is never accepted unchecked).
async fn check_signed(
    state: &AppState,
    signed: SignedRequest<'_>,
    presented: &Presented<'_>,
) -> Result<Verdict, HttpResponse> {
    state
        .verifier
        .verify_signed(&state.pool, signed, presented)
        .await
        .map_err(|ReplayCheckUnavailable| unavailable())
}

fn unavailable() -> HttpResponse {
    HttpResponse::ServiceUnavailable()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::RETRY_AFTER, "5"))
        .json(serde_json::json!({
            "valid": false,
            "code": "UNAVAILABLE",
            "reason": "signed requests cannot be checked for replay right now; retry shortly with a fresh signature",
        }))
}

enum Credential<'a> {
    Bearer(String),
    Pair(String, String),
    Signed(&'a str),
    Garbled(&'static str),
    Missing,
}

pub fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= MAX_CREDENTIAL)
}

fn credential(headers: &HeaderMap) -> Credential<'_> {
    if let Some(authorization) = header_text(headers, header::AUTHORIZATION.as_str()) {
        if hmac_signature::is_hmac(authorization) {
            return Credential::Signed(authorization);
        }
        let (scheme, value) = authorization.split_once(' ').unwrap_or((authorization, ""));
        if scheme.eq_ignore_ascii_case("bearer") {
            return Credential::Bearer(value.trim().to_owned());
        }
        if scheme.eq_ignore_ascii_case("basic") {
            let pair = B64
                .decode(value.trim())
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .and_then(|text| {
                    text.split_once(':')
                        .map(|(k, s)| (k.to_owned(), s.to_owned()))
                });
            return match pair {
                Some((key, secret)) => Credential::Pair(key, secret),
                None => Credential::Garbled("the Basic credential is not base64 of <key>:<secret>"),
            };
        }
    }
    match header_text(headers, "x-api-key") {
        Some(key) => Credential::Bearer(key.trim().to_owned()),
        None => Credential::Missing,
    }
}

fn respond(status: StatusCode, verdict: &Verdict, gateway_headers: bool) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response.insert_header((header::CACHE_CONTROL, "no-store"));
    if verdict.outcome == Outcome::RateLimited {
        response.insert_header((header::RETRY_AFTER, verdict.retry_after.to_string()));
    }
    if gateway_headers && let (Outcome::Valid, Some(key)) = (verdict.outcome, &verdict.key) {
        response.insert_header(("X-Latchkey-Key-Id", key.id.as_str()));
        response.insert_header(("X-Latchkey-Type", &*key.type_code));
        response.insert_header(("X-Latchkey-Application", key.application.id()));
    }
    if status == StatusCode::UNAUTHORIZED {
        response.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"latchkey\""));
    }
    // The name as it is now (an Application can be renamed meanwhile).
    let application_name = verdict
        .key
        .as_ref()
        .filter(|_| verdict.outcome == Outcome::Valid)
        .map(|k| k.application.name());
    let key = verdict
        .key
        .as_ref()
        .filter(|_| verdict.outcome == Outcome::Valid)
        .map(|k| KeyInfo {
            id: k.id.as_str(),
            type_code: &k.type_code,
            name: &k.name,
            expires_at: k.expires_at.map(|at| {
                at.and_utc()
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            }),
            application: ApplicationInfo {
                id: k.application.id(),
                name: application_name.as_deref().unwrap_or_default(),
            },
        });
    response.json(VerifyResponse {
        valid: verdict.outcome == Outcome::Valid,
        code: verdict.outcome.code(),
        reason: verdict.reason,
        key,
        retry_after: (verdict.outcome == Outcome::RateLimited).then_some(verdict.retry_after),
    })
}
