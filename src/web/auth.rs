//! Who is asking, and whether the route table lets them. Runs before every handler.

use std::future::{Ready, ready};
use std::net::IpAddr;

use actix_session::SessionExt;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, web};

use crate::db;
use crate::domain::origin;
use crate::domain::return_path;
use crate::domain::role::{Permission, Role};
use crate::domain::session_policy::{EndReason, SessionPolicy};
use crate::domain::{crypto, token};
use crate::web::error::AppError;
use crate::web::routes::{self, Access};
use crate::web::session;
use crate::web::state::AppState;
use crate::web::views::Chrome;

/// The signed-in user, as loaded on this very request: a disabled account or a
/// changed role takes effect at once.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub id: String,
    pub email: String,
    pub role: Role,
    /// The session's form token, for the pages this user is shown.
    pub csrf: String,
    /// The policy requires two-factor of this user and it is not set up:
    /// until it is, only setting it up (and signing out) is open to them.
    pub must_enrol: bool,
}

/// The session's form token, for pages shown before signing in.
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

impl FromRequest for CsrfToken {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.extensions()
                .get::<CsrfToken>()
                .cloned()
                .ok_or_else(|| AppError::Internal("no form token on this request".into())),
        )
    }
}

impl CurrentUser {
    pub fn can(&self, permission: Permission) -> bool {
        self.role.can(permission)
    }
}

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.extensions()
                .get::<CurrentUser>()
                .cloned()
                .ok_or(AppError::LoginRequired),
        )
    }
}

/// The middleware: looks the route up in the route table and enforces its access rule.
pub async fn authorize(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if !is_safe(req.method()) && !same_origin(req.request()) {
        return Err(AppError::Forbidden.into());
    }
    let access = match req.match_pattern() {
        // No route matched: the router answers 404.
        None => None,
        Some(pattern) => match routes::access_for(req.method(), &pattern) {
            Some(access) => Some(access),
            // A known path with another method: the router answers 405.
            None if routes::is_listed(&pattern) => None,
            // Fail closed: a route registered without an entry in the table.
            None => {
                log::error!("route {pattern} has no access rule; refusing it");
                return Err(AppError::Forbidden.into());
            }
        },
    };
    // Requests no route will serve (404, 405) change nothing and need no token.
    let Some(access) = access else {
        return not_served(req, next).await;
    };
    let mut req = req;
    let state = req
        .app_data::<web::Data<AppState>>()
        .expect("AppState is registered")
        .clone();
    // A signed-in session has its own form token. Anyone else gets one tied
    // to a cookie, so visiting the sign-in page writes nothing on the server.
    // A browser whose session has ended is sent to sign in again, told why,
    // before anything else: a form it posts is not acted on (its token died
    // with the session) and is never replayed.
    if !matches!(access, Access::Public)
        && let Some(ended) = ended_session(&req, &state)
    {
        return Err(ended.into());
    }
    let (csrf, new_visitor_cookie) = match session::form_token(&req.get_session()) {
        Some(token) => (token, None),
        None => visitor_form_token(req.request(), &state),
    };
    if !is_safe(req.method()) {
        check_form_token(&mut req, &csrf).await?;
    }
    req.extensions_mut().insert(CsrfToken(csrf.clone()));
    let mut response = match access {
        Access::Public => next.call(req).await?.map_into_left_body(),
        Access::SignedIn => {
            let user = load_user(&req, csrf).await?;
            if let Some(page) = enrol_first(&req, &user) {
                return Ok(req.into_response(page).map_into_right_body());
            }
            req.extensions_mut().insert(user.clone());
            in_chrome(next.call(req).await?, &user)
        }
        Access::Needs(permission) => {
            let user = load_user(&req, csrf).await?;
            if let Some(page) = enrol_first(&req, &user) {
                return Ok(req.into_response(page).map_into_right_body());
            }
            if !user.can(permission) {
                // The error page keeps the user's header and navigation, and
                // says who may do this (from the permission table).
                let page = AppError::Forbidden.page(chrome(&user), Some(permission.who_can()));
                return Ok(req.into_response(page).map_into_right_body());
            }
            req.extensions_mut().insert(user.clone());
            in_chrome(next.call(req).await?, &user)
        }
    };
    if let Some(cookie) = new_visitor_cookie {
        response.response_mut().add_cookie(&cookie)?;
    }
    Ok(response)
}

/// A user who must set up two-factor first is sent to do so from anywhere
/// but the pages that set it up and signing out (the page says why). A form
/// posted meanwhile is not acted on.
fn enrol_first(req: &ServiceRequest, user: &CurrentUser) -> Option<HttpResponse> {
    if !user.must_enrol {
        return None;
    }
    let pattern = req.match_pattern().unwrap_or_default();
    if routes::open_before_two_factor(&pattern) {
        return None;
    }
    Some(crate::web::see_other(crate::web::two_factor::SETUP_PAGE))
}

fn chrome(user: &CurrentUser) -> Chrome {
    Chrome::for_user(user, None, "")
}

/// A handler's error page, redrawn inside the signed-in user's chrome.
fn in_chrome<B: MessageBody>(
    response: ServiceResponse<B>,
    user: &CurrentUser,
) -> ServiceResponse<EitherBody<B>> {
    let page = response
        .response()
        .error()
        .and_then(|e| e.as_error::<AppError>())
        .filter(|e| !matches!(e, AppError::LoginRequired | AppError::SessionEnded(_)))
        .map(|e| e.page(chrome(user), None));
    match page {
        Some(page) => response.into_response(page).map_into_right_body(),
        None => response.map_into_left_body(),
    }
}

/// A request no route serves (404, 405): for a signed-in user, the error
/// page keeps their header and navigation.
async fn not_served<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let signed_in = session::user_id(&req.get_session()).is_some();
    let user = match signed_in {
        true => {
            let csrf = session::form_token(&req.get_session()).unwrap_or_default();
            load_user(&req, csrf).await.ok()
        }
        false => None,
    };
    let response = next.call(req).await?;
    Ok(match user {
        Some(user) => in_chrome(response, &user),
        None => response.map_into_left_body(),
    })
}

/// The cookie that ties a visitor's forms to their browser before they sign in.
pub const VISITOR_COOKIE: &str = "latchkey_form";
pub const SECURE_VISITOR_COOKIE: &str = "__Host-latchkey_form";

/// The form token of a visitor who is not signed in: an HMAC, under a server
/// key, of a random value kept in their cookie (a signed double-submit
/// token). A visitor without the cookie gets a new one with the response.
fn visitor_form_token(
    req: &HttpRequest,
    state: &AppState,
) -> (String, Option<actix_web::cookie::Cookie<'static>>) {
    let name = if state.https {
        SECURE_VISITOR_COOKIE
    } else {
        VISITOR_COOKIE
    };
    let existing = req
        .cookie(name)
        .map(|c| c.value().to_owned())
        .filter(|v| token::is_token(v));
    let (nonce, cookie) = match existing {
        Some(nonce) => (nonce, None),
        None => {
            let nonce = token::random_token();
            let cookie = actix_web::cookie::Cookie::build(name, nonce.clone())
                .path("/")
                .http_only(true)
                .secure(state.https)
                .same_site(actix_web::cookie::SameSite::Strict)
                .finish();
            (nonce, Some(cookie))
        }
    };
    (crypto::keyed_hex(&state.form_key, &nonce), cookie)
}

/// The one place form tokens are checked: every state-changing console request
/// must carry the session's token as `csrf_token`, or nothing happens (403).
/// The body is read here and put back for the handler.
async fn check_form_token(req: &mut ServiceRequest, expected: &str) -> Result<(), AppError> {
    let body = req
        .extract::<web::Bytes>()
        .await
        .map_err(|_| AppError::PayloadTooLarge)?;
    let presented = body
        .split(|b| *b == b'&')
        .find_map(|pair| pair.strip_prefix(b"csrf_token="))
        .unwrap_or_default();
    let matches: bool = subtle::ConstantTimeEq::ct_eq(presented, expected.as_bytes()).into();
    req.set_payload(Payload::from(body));
    if matches {
        Ok(())
    } else {
        Err(AppError::FormExpired)
    }
}

async fn load_user(req: &ServiceRequest, csrf: String) -> Result<CurrentUser, AppError> {
    let session = req.get_session();
    let Some(user_id) = session::user_id(&session) else {
        return Err(AppError::LoginRequired);
    };
    let state = req
        .app_data::<web::Data<AppState>>()
        .expect("AppState is registered")
        .clone();
    // Idle timeout and absolute lifetime, on the console's clock.
    let now = state.clock.unix();
    match session::stamps(&session) {
        Some(stamps) if !state.session_policy.is_expired(stamps, now) => {
            if SessionPolicy::needs_touch(stamps, now) {
                session::touch(&session, now)?;
            }
        }
        _ => {
            session::sign_out(&session);
            return Err(AppError::LoginRequired);
        }
    }
    let row = state
        .db(move |conn| Ok(db::users::find(conn, &user_id)?))
        .await?;
    let policy = state.two_factor;
    let user = row.filter(|u| !u.disabled).and_then(|u| {
        let role = u.role.parse().ok()?;
        Some(CurrentUser {
            must_enrol: policy.covers(role) && u.totp_enrolled_at.is_none(),
            role,
            id: u.id,
            email: u.email,
            csrf,
        })
    });
    match user {
        Some(user) => Ok(user),
        None => {
            session::sign_out(&session);
            Err(AppError::LoginRequired)
        }
    }
}

/// Where a browser whose session has ended goes: the sign-in page with the
/// reason and the page to return to. None if it is signed in (or never was).
fn ended_session(req: &ServiceRequest, state: &AppState) -> Option<AppError> {
    let session = req.get_session();
    let reason = if let Some(reason) = session::ended(&session) {
        EndReason::parse(&reason).unwrap_or(EndReason::Ended)
    } else if session::user_id(&session).is_some() {
        // A session without stamps is refused by `load_user`.
        let stamps = session::stamps(&session)?;
        state
            .session_policy
            .why_expired(stamps, state.clock.unix())?
    } else if has_session_cookie(req.request()) {
        EndReason::Ended
    } else {
        return None;
    };
    session::sign_out(&session);
    let posted = !is_safe(req.method());
    let next = if posted {
        same_origin_referer(req.request(), state)
    } else {
        req.uri().path_and_query().map(|p| p.as_str().to_owned())
    };
    let next = next
        .as_deref()
        .and_then(return_path::safe)
        .unwrap_or(AFTER_SIGN_IN);
    let mut query = vec![("ended", reason.code()), ("next", next)];
    if posted {
        query.push(("unsaved", "1"));
    }
    let query = serde_urlencoded::to_string(query).unwrap_or_default();
    Some(AppError::SessionEnded(format!("/login?{query}")))
}

/// Where signing in leads when no page was asked for.
pub const AFTER_SIGN_IN: &str = "/settings/integrations";

fn has_session_cookie(req: &HttpRequest) -> bool {
    [
        crate::startup::SESSION_COOKIE,
        crate::startup::SECURE_SESSION_COOKIE,
    ]
    .into_iter()
    .any(|name| req.cookie(name).is_some())
}

/// The path (and query) of the page a form was posted from, if that page is
/// on this console.
fn same_origin_referer(req: &HttpRequest, state: &AppState) -> Option<String> {
    let referer = req.headers().get(header::REFERER)?.to_str().ok()?;
    let url = url::Url::parse(referer).ok()?;
    let scheme = if state.https { "https" } else { "http" };
    let authority = match url.port() {
        Some(port) => format!("{}:{port}", url.host_str()?),
        None => url.host_str()?.to_owned(),
    };
    if url.scheme() != scheme || Some(authority.as_str()) != console_host(req, Some(state)) {
        return None;
    }
    Some(match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    })
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Refuses cross-site form posts, as a second line behind the form token
/// (the rules are in `domain::origin`).
fn same_origin(req: &HttpRequest) -> bool {
    let headers = req.headers();
    let (Ok(site), Ok(origin)) = (
        headers
            .get("sec-fetch-site")
            .map(|v| v.to_str())
            .transpose(),
        headers.get(header::ORIGIN).map(|v| v.to_str()).transpose(),
    ) else {
        return false;
    };
    let state = req.app_data::<web::Data<AppState>>();
    let scheme = if state.is_some_and(|s| s.https) {
        "https"
    } else {
        "http"
    };
    origin::is_same_origin(
        site,
        origin,
        scheme,
        console_host(req, state.map(|s| s.get_ref())),
    )
}

/// The host (and port) the browser asked for: the `Host` header, or behind a
/// trusted proxy the `X-Forwarded-Host` it sent. Anyone else's
/// `X-Forwarded-Host` is ignored.
pub fn console_host<'a>(req: &'a HttpRequest, state: Option<&AppState>) -> Option<&'a str> {
    let text = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    let from_proxy = state.is_some_and(|s| {
        !s.trusted_proxies.is_unrestricted()
            && req
                .peer_addr()
                .is_some_and(|peer| s.trusted_proxies.allows(peer.ip()))
    });
    let forwarded = from_proxy
        .then(|| text(header::HeaderName::from_static("x-forwarded-host")))
        .flatten()
        // The nearest proxy's value.
        .and_then(|v| v.rsplit(',').next())
        .map(str::trim);
    forwarded
        .or_else(|| text(header::HOST))
        .or_else(|| req.uri().authority().map(|a| a.as_str()))
}

/// Where the request comes from: the TCP peer, or behind a trusted proxy the
/// address it forwarded (see `domain::client_ip`).
pub fn client_addr(req: &HttpRequest) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    let forwarded = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    Some(match req.app_data::<web::Data<AppState>>() {
        Some(state) => crate::domain::client_ip::resolve(peer, forwarded, &state.trusted_proxies),
        None => peer,
    })
}

/// The client address as the audit log records it.
pub fn client_ip(req: &HttpRequest) -> Option<String> {
    client_addr(req).map(|ip| ip.to_string())
}
