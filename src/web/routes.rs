//! The route table: every path, method, handler and access rule, written once.
//! Registration and authorization both read it, so a route cannot exist
//! without an access rule.

use actix_web::http::Method;
use actix_web::{HttpResponse, guard, web};

use crate::domain::role::Permission;
use crate::web::error::AppError;
use crate::web::{
    account, api, applications, assets, audit, home, keys, leaks, login, sessions, setup,
    two_factor, users, webhooks,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not.
    Public,
    /// Any signed-in user.
    SignedIn,
    /// Signed-in users whose role has this permission.
    Needs(Permission),
}

#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
}

/// A GET route answers HEAD too, as the same handler without the body (the
/// server drops it), under the same access rule (see `access_for`).
macro_rules! method_route {
    (get) => {
        web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
    };
    ($method:ident) => {
        web::$method()
    };
}

macro_rules! route_table {
    ($table:ident, $register:ident; $( $path:literal { $( $method:ident => $handler:path, $access:expr; )+ } )*) => {
        pub const $table: &[RouteSpec] = &[
            $( $( RouteSpec { method: stringify!($method), path: $path, access: $access }, )+ )*
        ];

        pub fn $register(cfg: &mut web::ServiceConfig) {
            $(
                cfg.service(
                    web::resource($path)
                        $( .route(method_route!($method).to($handler)) )+
                        .default_service(web::to(method_not_allowed)),
                );
            )*
        }
    };
}

use Access::*;
use Permission::*;

route_table! {
    CONSOLE_ROUTES, register_console;
    "/" {
        get => home::index, SignedIn;
    }
    "/healthz" {
        get => home::health, Public;
    }
    "/static/{file}" {
        get => assets::serve, Public;
    }
    "/login" {
        get => login::form, Public;
        post => login::submit, Public;
    }
    "/logout" {
        post => login::logout, SignedIn;
    }
    "/account/password" {
        get => account::form, SignedIn;
        post => account::submit, SignedIn;
    }
    "/login/two-factor" {
        get => two_factor::sign_in::form, Public;
        post => two_factor::sign_in::submit, Public;
    }
    "/account/two-factor" {
        get => two_factor::account::page, SignedIn;
    }
    "/account/two-factor/setup" {
        post => two_factor::account::setup, SignedIn;
    }
    "/account/two-factor/confirm" {
        post => two_factor::account::confirm, SignedIn;
    }
    "/account/two-factor/recovery-codes" {
        post => two_factor::account::new_codes, SignedIn;
    }
    "/account/two-factor/turn-off" {
        post => two_factor::account::turn_off, SignedIn;
    }
    "/account/sessions" {
        get => sessions::page, SignedIn;
    }
    "/account/sessions/end" {
        post => sessions::end_one, SignedIn;
    }
    "/account/sessions/end-others" {
        post => sessions::end_others, SignedIn;
    }
    "/setup" {
        get => setup::form, Public;
        post => setup::submit, Public;
    }
    "/audit" {
        get => audit::page, Needs(ViewAudit);
    }
    "/audit.csv" {
        get => audit::export, Needs(ViewAudit);
    }
    "/settings/integrations" {
        get => keys::list::page, Needs(ViewKeys);
    }
    "/settings/integrations/search" {
        post => keys::list::search, Needs(ViewKeys);
    }
    "/settings/integrations/keys.csv" {
        get => keys::list::export, Needs(ViewKeyDetails);
    }
    "/settings/integrations/keys/new" {
        get => keys::generate::details_form, Needs(ManageKeys);
        post => keys::generate::details_submit, Needs(ManageKeys);
    }
    "/settings/integrations/keys/new/{draft}" {
        get => keys::generate::ips_form, Needs(ManageKeys);
        post => keys::generate::generate, Needs(ManageKeys);
    }
    "/settings/integrations/keys/{id}" {
        get => keys::detail::page, Needs(ViewKeyDetails);
    }
    "/settings/integrations/keys/{id}/rate-limit" {
        post => keys::detail::set_rate_limit, Needs(ManageKeys);
    }
    "/settings/integrations/keys/{id}/edit" {
        get => keys::change::edit_form, Needs(ManageKeys);
        post => keys::change::edit_submit, Needs(ManageKeys);
    }
    "/settings/integrations/keys/{id}/disable" {
        post => keys::change::disable, Needs(ManageKeys);
    }
    "/settings/integrations/keys/{id}/enable" {
        post => keys::change::enable, Needs(ManageKeys);
    }
    "/settings/integrations/keys/{id}/roll" {
        get => keys::roll::form, Needs(ManageKeys);
        post => keys::roll::submit, Needs(ManageKeys);
    }
    "/settings/integrations/keys/{id}/delete" {
        get => keys::delete::confirm, Needs(ManageKeys);
        post => keys::delete::submit, Needs(ManageKeys);
    }
    // Webhook endpoints are Administrators' business, as keys are.
    "/settings/webhooks" {
        get => webhooks::page, Needs(ManageKeys);
        post => webhooks::create, Needs(ManageKeys);
    }
    "/settings/webhooks/{endpoint}" {
        get => webhooks::endpoint::page, Needs(ManageKeys);
    }
    "/settings/webhooks/{endpoint}/delete" {
        get => webhooks::delete::confirm, Needs(ManageKeys);
        post => webhooks::delete::submit, Needs(ManageKeys);
    }
    // Applications are Administrators' business, as keys are.
    "/settings/applications" {
        get => applications::page, Needs(ManageKeys);
        post => applications::create, Needs(ManageKeys);
    }
    "/settings/applications/{application}/rename" {
        post => applications::rename, Needs(ManageKeys);
    }
    "/settings/applications/{application}/archive" {
        get => applications::archive_confirm, Needs(ManageKeys);
        post => applications::archive, Needs(ManageKeys);
    }
    "/settings/applications/{application}/unarchive" {
        post => applications::unarchive, Needs(ManageKeys);
    }
    "/settings/users" {
        get => users::page, Needs(ManageUsers);
    }
    "/settings/users/invite" {
        post => users::invite::invite, Needs(ManageUsers);
    }
    "/invitations/accept" {
        get => users::invite::accept_form, Public;
        post => users::invite::accept, Public;
    }
    "/settings/users/{id}/role" {
        post => users::set_role, Needs(ManageUsers);
    }
    "/settings/users/{id}/disable" {
        post => users::disable, Needs(ManageUsers);
    }
    "/settings/users/{id}/enable" {
        post => users::enable, Needs(ManageUsers);
    }
    "/settings/users/{id}/reset-two-factor" {
        post => users::reset_two_factor, Needs(ManageUsers);
    }
    "/settings/users/{id}/end-sessions" {
        post => users::end_sessions, Needs(ManageUsers);
    }
    "/settings/users/{id}/delete" {
        get => users::delete::confirm, Needs(ManageUsers);
        post => users::delete::submit, Needs(ManageUsers);
    }
}

// The verification API: called by services and gateways, thousands of times a
// second. It runs outside the console's session, sign-in and access-log layers;
// the credential it checks is its own authorization.
route_table! {
    API_ROUTES, register_api;
    "/api/v1/keys/verify" {
        post => api::verify, Public;
    }
    "/api/v1/auth" {
        get => api::forward_auth, Public;
        head => api::forward_auth, Public;
        post => api::forward_auth, Public;
    }
    // Leak reports from secret scanners, each checked by its own credential:
    // GitHub's signature, GitLab's pre-shared token. 404 when not configured.
    "/api/v1/secret-scanning/github" {
        post => leaks::github::report, Public;
    }
    "/api/v1/gitlab/v1/revocable_token_types" {
        get => leaks::gitlab::token_types, Public;
    }
    "/api/v1/gitlab/v1/revoke_tokens" {
        post => leaks::gitlab::revoke_tokens, Public;
    }
}

/// Every route served, console and API.
pub fn all_routes() -> impl Iterator<Item = &'static RouteSpec> {
    CONSOLE_ROUTES.iter().chain(API_ROUTES)
}

/// The signed-in routes open to a user who must set up two-factor before
/// anything else: setting it up, and signing out.
const OPEN_BEFORE_TWO_FACTOR: &[&str] = &[
    "/account/two-factor",
    "/account/two-factor/setup",
    "/account/two-factor/confirm",
    "/logout",
];

pub fn open_before_two_factor(pattern: &str) -> bool {
    OPEN_BEFORE_TWO_FACTOR.contains(&pattern)
}

/// Whether the route table lists this path at all (for any method).
pub fn is_listed(pattern: &str) -> bool {
    all_routes().any(|r| r.path == pattern)
}

/// The access rule for a matched route, if the table has that method for it.
/// HEAD is GET without the body: it follows GET's rule unless listed itself.
pub fn access_for(method: &Method, pattern: &str) -> Option<Access> {
    let rule = |method: &Method| {
        all_routes()
            .find(|r| r.path == pattern && r.method.eq_ignore_ascii_case(method.as_str()))
            .map(|r| r.access)
    };
    rule(method).or_else(|| {
        (*method == Method::HEAD)
            .then(|| rule(&Method::GET))
            .flatten()
    })
}

async fn method_not_allowed() -> Result<HttpResponse, AppError> {
    Err(AppError::MethodNotAllowed)
}

pub async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_changing_route_needs_manage_keys() {
        for route in all_routes() {
            // The search box posts (a pasted key must stay out of addresses) but changes nothing.
            if route.path == "/settings/integrations/search" {
                assert_eq!(route.access, Needs(ViewKeys));
                continue;
            }
            if route.method == "post" && route.path.starts_with("/settings/integrations") {
                assert_eq!(route.access, Needs(ManageKeys), "{}", route.path);
            }
        }
    }

    #[test]
    fn only_two_factor_setup_and_signing_out_open_before_two_factor_is_set_up() {
        // Written out: every signed-in route, and whether it opens.
        let open = [
            "/account/two-factor",
            "/account/two-factor/setup",
            "/account/two-factor/confirm",
            "/logout",
        ];
        for route in all_routes().filter(|r| r.access != Public) {
            assert_eq!(
                open_before_two_factor(route.path),
                open.contains(&route.path),
                "{} {}",
                route.method,
                route.path
            );
        }
        assert!(!open_before_two_factor("/account/two-factor/turn-off"));
        assert!(!open_before_two_factor(
            "/account/two-factor/recovery-codes"
        ));
    }

    #[test]
    fn paths_and_methods_are_unique() {
        let routes: Vec<_> = all_routes().collect();
        for (i, a) in routes.iter().enumerate() {
            for b in &routes[i + 1..] {
                assert!(
                    !(a.path == b.path && a.method == b.method),
                    "{} {}",
                    a.method,
                    a.path
                );
            }
        }
    }

    #[test]
    fn every_route_admits_exactly_the_roles_written_here() {
        use crate::domain::role::Role;
        // Written out, not derived: who may use each route.
        //                                                      anonymous viewer support administrator
        #[rustfmt::skip]
        let table: &[(&str, &str, [bool; 4])] = &[
            ("get", "/", [false, true, true, true]),
            ("get", "/healthz", [true, true, true, true]),
            ("get", "/static/{file}", [true, true, true, true]),
            ("get", "/login", [true, true, true, true]),
            ("post", "/login", [true, true, true, true]),
            ("post", "/logout", [false, true, true, true]),
            ("get", "/account/password", [false, true, true, true]),
            ("post", "/account/password", [false, true, true, true]),
            ("get", "/login/two-factor", [true, true, true, true]),
            ("post", "/login/two-factor", [true, true, true, true]),
            ("get", "/account/two-factor", [false, true, true, true]),
            ("post", "/account/two-factor/setup", [false, true, true, true]),
            ("post", "/account/two-factor/confirm", [false, true, true, true]),
            ("post", "/account/two-factor/recovery-codes", [false, true, true, true]),
            ("post", "/account/two-factor/turn-off", [false, true, true, true]),
            ("get", "/account/sessions", [false, true, true, true]),
            ("post", "/account/sessions/end", [false, true, true, true]),
            ("post", "/account/sessions/end-others", [false, true, true, true]),
            ("get", "/setup", [true, true, true, true]),
            ("post", "/setup", [true, true, true, true]),
            ("get", "/audit", [false, false, true, true]),
            ("get", "/audit.csv", [false, false, true, true]),
            ("get", "/settings/integrations", [false, true, true, true]),
            ("post", "/settings/integrations/search", [false, true, true, true]),
            ("get", "/settings/integrations/keys.csv", [false, false, true, true]),
            ("get", "/settings/integrations/keys/new", [false, false, false, true]),
            ("post", "/settings/integrations/keys/new", [false, false, false, true]),
            ("get", "/settings/integrations/keys/new/{draft}", [false, false, false, true]),
            ("post", "/settings/integrations/keys/new/{draft}", [false, false, false, true]),
            ("get", "/settings/integrations/keys/{id}", [false, false, true, true]),
            ("post", "/settings/integrations/keys/{id}/rate-limit", [false, false, false, true]),
            ("get", "/settings/integrations/keys/{id}/edit", [false, false, false, true]),
            ("post", "/settings/integrations/keys/{id}/edit", [false, false, false, true]),
            ("post", "/settings/integrations/keys/{id}/disable", [false, false, false, true]),
            ("post", "/settings/integrations/keys/{id}/enable", [false, false, false, true]),
            ("get", "/settings/integrations/keys/{id}/roll", [false, false, false, true]),
            ("post", "/settings/integrations/keys/{id}/roll", [false, false, false, true]),
            ("get", "/settings/integrations/keys/{id}/delete", [false, false, false, true]),
            ("post", "/settings/integrations/keys/{id}/delete", [false, false, false, true]),
            ("get", "/settings/webhooks", [false, false, false, true]),
            ("post", "/settings/webhooks", [false, false, false, true]),
            ("get", "/settings/webhooks/{endpoint}", [false, false, false, true]),
            ("get", "/settings/webhooks/{endpoint}/delete", [false, false, false, true]),
            ("post", "/settings/webhooks/{endpoint}/delete", [false, false, false, true]),
            ("get", "/settings/applications", [false, false, false, true]),
            ("post", "/settings/applications", [false, false, false, true]),
            ("post", "/settings/applications/{application}/rename", [false, false, false, true]),
            ("get", "/settings/applications/{application}/archive", [false, false, false, true]),
            ("post", "/settings/applications/{application}/archive", [false, false, false, true]),
            ("post", "/settings/applications/{application}/unarchive", [false, false, false, true]),
            ("get", "/settings/users", [false, false, false, true]),
            ("post", "/settings/users/{id}/role", [false, false, false, true]),
            ("post", "/settings/users/invite", [false, false, false, true]),
            ("get", "/invitations/accept", [true, true, true, true]),
            ("post", "/invitations/accept", [true, true, true, true]),
            ("post", "/settings/users/{id}/disable", [false, false, false, true]),
            ("post", "/settings/users/{id}/enable", [false, false, false, true]),
            ("post", "/settings/users/{id}/reset-two-factor", [false, false, false, true]),
            ("post", "/settings/users/{id}/end-sessions", [false, false, false, true]),
            ("get", "/settings/users/{id}/delete", [false, false, false, true]),
            ("post", "/settings/users/{id}/delete", [false, false, false, true]),
            ("post", "/api/v1/keys/verify", [true, true, true, true]),
            ("get", "/api/v1/auth", [true, true, true, true]),
            ("head", "/api/v1/auth", [true, true, true, true]),
            ("post", "/api/v1/auth", [true, true, true, true]),
            ("post", "/api/v1/secret-scanning/github", [true, true, true, true]),
            ("get", "/api/v1/gitlab/v1/revocable_token_types", [true, true, true, true]),
            ("post", "/api/v1/gitlab/v1/revoke_tokens", [true, true, true, true]),
        ];
        let who = [
            None,
            Some(Role::Viewer),
            Some(Role::Support),
            Some(Role::Administrator),
        ];
        for route in all_routes() {
            let row = table
                .iter()
                .find(|(method, path, _)| *method == route.method && *path == route.path)
                .unwrap_or_else(|| {
                    panic!(
                        "{} {} is not in this test's table: add its row",
                        route.method, route.path
                    )
                });
            for (role, expected) in who.iter().zip(row.2) {
                let allowed = match (route.access, role) {
                    (Public, _) => true,
                    (_, None) => false,
                    (SignedIn, Some(_)) => true,
                    (Needs(permission), Some(role)) => role.can(permission),
                };
                assert_eq!(
                    allowed, expected,
                    "{} {} as {role:?}",
                    route.method, route.path
                );
            }
        }
        assert_eq!(
            table.len(),
            all_routes().count(),
            "the table lists routes that do not exist"
        );
    }

    #[test]
    fn head_follows_the_get_rule_of_the_same_path() {
        assert_eq!(
            access_for(&Method::HEAD, "/audit.csv"),
            Some(Needs(ViewAudit))
        );
        assert_eq!(
            access_for(&Method::HEAD, "/settings/integrations/keys/{id}"),
            Some(Needs(ViewKeyDetails))
        );
        assert_eq!(access_for(&Method::HEAD, "/"), Some(SignedIn));
        assert_eq!(access_for(&Method::HEAD, "/api/v1/auth"), Some(Public));
        // No GET, no HEAD.
        assert_eq!(access_for(&Method::HEAD, "/logout"), None);
        assert_eq!(access_for(&Method::HEAD, "/api/v1/keys/verify"), None);
    }

    #[test]
    fn listed_paths_are_known_whatever_the_method() {
        assert!(is_listed("/login"));
        assert!(is_listed("/settings/integrations/keys/{id}/rate-limit"));
        assert!(is_listed("/api/v1/auth"));
        assert!(!is_listed("/settings/integrations/keys/42"));
        assert!(!is_listed("/outside-the-table"));
    }

    #[test]
    fn unserved_methods_and_paths_are_errors_not_pages() {
        use futures::executor::block_on;
        assert!(matches!(
            block_on(method_not_allowed()),
            Err(AppError::MethodNotAllowed)
        ));
        assert!(matches!(block_on(not_found()), Err(AppError::NotFound)));
    }

    #[test]
    fn lookups_find_the_rule_for_the_method() {
        assert_eq!(access_for(&Method::GET, "/login"), Some(Public));
        assert_eq!(
            access_for(&Method::POST, "/settings/integrations/keys/{id}/delete"),
            Some(Needs(ManageKeys))
        );
        assert_eq!(access_for(&Method::DELETE, "/login"), None);
        assert_eq!(access_for(&Method::GET, "/nowhere"), None);
    }
}
