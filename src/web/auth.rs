//! Who is asking, and whether the route table lets them. Runs before every handler.

use std::future::{Ready, ready};
use std::net::IpAddr;

use actix_session::SessionExt;
use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};

use crate::db;
use crate::domain::role::{Permission, Role};
use crate::web::error::AppError;
use crate::web::routes::{self, Access};
use crate::web::session;
use crate::web::state::AppState;

/// The signed-in user, as loaded on this very request: a disabled account or a
/// changed role takes effect at once.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub id: String,
    pub email: String,
    pub role: Role,
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
    next: Next<impl MessageBody>,
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
    match access {
        None | Some(Access::Public) => next.call(req).await,
        Some(Access::SignedIn) => {
            let user = load_user(&req).await?;
            req.extensions_mut().insert(user);
            next.call(req).await
        }
        Some(Access::Needs(permission)) => {
            let user = load_user(&req).await?;
            if !user.can(permission) {
                return Err(AppError::Forbidden.into());
            }
            req.extensions_mut().insert(user);
            next.call(req).await
        }
    }
}

async fn load_user(req: &ServiceRequest) -> Result<CurrentUser, AppError> {
    let session = req.get_session();
    let Some(user_id) = session::user_id(&session) else {
        return Err(AppError::LoginRequired);
    };
    let state = req
        .app_data::<web::Data<AppState>>()
        .expect("AppState is registered")
        .clone();
    let row = state
        .db(move |conn| Ok(db::users::find(conn, &user_id)?))
        .await?;
    let user = row.filter(|u| !u.disabled).and_then(|u| {
        Some(CurrentUser {
            role: u.role.parse().ok()?,
            id: u.id,
            email: u.email,
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

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Refuses cross-site form posts: browsers say where a request comes from in
/// `Sec-Fetch-Site` and `Origin`. Clients that send neither (scripts, curl)
/// carry no ambient browser cookies to abuse.
fn same_origin(req: &HttpRequest) -> bool {
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site")
        && !matches!(site.to_str(), Ok("same-origin") | Ok("none"))
    {
        return false;
    }
    match headers.get(header::ORIGIN).map(|o| o.to_str()) {
        None => true,
        Some(Ok(origin)) => {
            let host = req.connection_info().host().to_owned();
            origin
                .split_once("://")
                .is_some_and(|(_, origin_host)| origin_host.eq_ignore_ascii_case(&host))
        }
        Some(Err(_)) => false,
    }
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
