//! The one-time modal's ready-made `curl` example: it asks this console's
//! verification API whether the new key is valid, in the one form its scheme
//! accepts. It holds the plaintext, so it exists only in the response that
//! shows the key.
//!
//! - Bearer: `Authorization: Bearer <key>` to `GET /api/v1/auth`.
//! - Basic: `curl -u <key>:<secret>` to `GET /api/v1/auth`.
//! - HMAC: the signature computed with `openssl` exactly as
//!   `domain::hmac_signature::string_to_sign` defines it (`<Date>\n<METHOD>
//!   <target>`), sent to `POST /api/v1/keys/verify` as the service that
//!   received the request would send it.

use actix_web::HttpRequest;

use crate::domain::key_type::Scheme;
use crate::web::auth::console_host;
use crate::web::state::AppState;

/// The method and target the HMAC example signs, as a client request to the
/// protected service.
pub const SIGNED_METHOD: &str = "GET";
pub const SIGNED_TARGET: &str = "/orders";

/// Where people reach this console: the scheme it is served with and the host
/// the browser asked for. A host that is not plainly a host name, address and
/// port (it is pasted into a shell command) gives a placeholder instead.
pub fn console_origin(req: &HttpRequest, state: &AppState) -> String {
    let scheme = if state.https { "https" } else { "http" };
    let host = console_host(req, Some(state))
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("latchkey.example");
    format!("{scheme}://{host}")
}

/// The example for a key of `scheme`: its whole token (bearer), or its Key
/// ID and secret (pairs). Every value is base62 or the origin above, so
/// single quotes are enough for the shell.
pub fn example(origin: &str, scheme: Scheme, token: &str, key_id: &str, secret: &str) -> String {
    match scheme {
        Scheme::Bearer => {
            format!("curl -sS '{origin}/api/v1/auth' \\\n  -H 'Authorization: Bearer {token}'")
        }
        Scheme::Basic => format!("curl -sS '{origin}/api/v1/auth' \\\n  -u '{key_id}:{secret}'"),
        Scheme::Hmac => format!(
            "KEY='{key_id}'\n\
             SECRET='{secret}'\n\
             DATE=$(LC_ALL=C date -u '+%a, %d %b %Y %H:%M:%S GMT')\n\
             SIG=$(printf '%s\\n%s %s' \"$DATE\" {SIGNED_METHOD} {SIGNED_TARGET} | openssl dgst -sha256 -hmac \"$SECRET\" -binary | base64)\n\
             curl -sS '{origin}/api/v1/keys/verify' -H 'Content-Type: application/json' \\\n  \
             -d \"{{\\\"signature\\\": {{\\\"authorization\\\": \\\"LK-HMAC-SHA256 KeyId=$KEY, Signature=$SIG\\\", \
             \\\"date\\\": \\\"$DATE\\\", \\\"method\\\": \\\"{SIGNED_METHOD}\\\", \\\"target\\\": \\\"{SIGNED_TARGET}\\\"}}}}\""
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_scheme_gets_the_form_of_credential_it_accepts() {
        let origin = "http://127.0.0.1:8080";
        assert_eq!(
            example(
                origin,
                Scheme::Bearer,
                "lk_ucd_AAAAAAAAAAAA_BBBB",
                "lk_ucd_AAAAAAAAAAAA",
                ""
            ),
            "curl -sS 'http://127.0.0.1:8080/api/v1/auth' \\\n  -H 'Authorization: Bearer lk_ucd_AAAAAAAAAAAA_BBBB'"
        );
        assert_eq!(
            example(
                origin,
                Scheme::Basic,
                "",
                "lk_hubbasic_AAAAAAAAAAAA",
                "SECRET"
            ),
            "curl -sS 'http://127.0.0.1:8080/api/v1/auth' \\\n  -u 'lk_hubbasic_AAAAAAAAAAAA:SECRET'"
        );
        assert_eq!(
            example(
                origin,
                Scheme::Hmac,
                "",
                "lk_hubhmac_AAAAAAAAAAAA",
                "SECRET"
            ),
            r#"KEY='lk_hubhmac_AAAAAAAAAAAA'
SECRET='SECRET'
DATE=$(LC_ALL=C date -u '+%a, %d %b %Y %H:%M:%S GMT')
SIG=$(printf '%s\n%s %s' "$DATE" GET /orders | openssl dgst -sha256 -hmac "$SECRET" -binary | base64)
curl -sS 'http://127.0.0.1:8080/api/v1/keys/verify' -H 'Content-Type: application/json' \
  -d "{\"signature\": {\"authorization\": \"LK-HMAC-SHA256 KeyId=$KEY, Signature=$SIG\", \"date\": \"$DATE\", \"method\": \"GET\", \"target\": \"/orders\"}}""#
        );
    }
}
