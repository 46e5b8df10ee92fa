//! Whether a state-changing request comes from the console's own pages: a
//! second line behind the form token.
//!
//! Browsers say where a request comes from in `Sec-Fetch-Site`, and in
//! `Origin`; when both are present both must agree with the console. The
//! origin is compared whole: scheme, host and port. Under
//! `Referrer-Policy: no-referrer` browsers send `Origin: null` even for the
//! console's own forms, so `null` proves nothing either way. Clients that send
//! neither header (scripts, curl) carry no ambient browser cookies to abuse.

/// `sec_fetch_site` and `origin` are the request's headers as sent (absent:
/// `None`); `scheme` is the console's (`http` or `https`) and `host` the host
/// and port it was reached at, when known.
pub fn is_same_origin(
    sec_fetch_site: Option<&str>,
    origin: Option<&str>,
    scheme: &str,
    host: Option<&str>,
) -> bool {
    let site_agrees = match sec_fetch_site {
        None => true,
        // `none`: the user started it (a bookmark, the address bar).
        Some(site) => matches!(site, "same-origin" | "none"),
    };
    let origin_agrees = match origin {
        None | Some("null") => true,
        Some(origin) => host.is_some_and(|host| origin_is(origin, scheme, host)),
    };
    site_agrees && origin_agrees
}

/// Whether `origin` (`scheme://host[:port]`) is exactly the console's.
fn origin_is(origin: &str, scheme: &str, host: &str) -> bool {
    origin
        .split_once("://")
        .is_some_and(|(their_scheme, their_host)| {
            their_scheme.eq_ignore_ascii_case(scheme)
                && without_default_port(their_host, scheme)
                    .eq_ignore_ascii_case(without_default_port(host, scheme))
        })
}

/// `example.com:443` and `example.com` are the same https origin.
fn without_default_port<'a>(host: &'a str, scheme: &str) -> &'a str {
    let default = if scheme.eq_ignore_ascii_case("https") {
        ":443"
    } else {
        ":80"
    };
    host.strip_suffix(default).unwrap_or(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: Option<&str> = Some("console.example:8080");

    /// Sec-Fetch-Site, Origin, console scheme, console host → allowed.
    type Case = (
        Option<&'static str>,
        Option<&'static str>,
        &'static str,
        Option<&'static str>,
        bool,
    );

    #[test]
    fn each_combination_of_headers_gets_the_written_answer() {
        #[rustfmt::skip]
        let cases: &[Case] = &[
            // Neither header: not a browser, no ambient cookies.
            (None, None, "http", HOST, true),
            (None, Some("null"), "http", HOST, true),
            (Some("same-origin"), Some("null"), "http", HOST, true),
            (Some("same-origin"), None, "http", HOST, true),
            (Some("none"), None, "http", HOST, true),
            (None, Some("http://console.example:8080"), "http", HOST, true),
            (None, Some("HTTP://Console.Example:8080"), "http", HOST, true),
            (Some("same-origin"), Some("http://console.example:8080"), "http", HOST, true),
            // Sec-Fetch-Site alone refuses other sites.
            (Some("cross-site"), None, "http", HOST, false),
            (Some("same-site"), None, "http", HOST, false),
            (Some("cross-site"), Some("null"), "http", HOST, false),
            (Some("Same-Origin"), None, "http", HOST, false),
            (Some(""), None, "http", HOST, false),
            // A foreign Origin is refused whatever Sec-Fetch-Site claims.
            (None, Some("https://evil.example"), "http", HOST, false),
            (Some("same-origin"), Some("https://evil.example"), "http", HOST, false),
            (Some("none"), Some("https://evil.example"), "http", HOST, false),
            // Same host, other scheme or port: another origin.
            (None, Some("https://console.example:8080"), "http", HOST, false),
            (None, Some("http://console.example:8080"), "https", HOST, false),
            (None, Some("http://console.example:8081"), "http", HOST, false),
            (None, Some("http://console.example"), "http", HOST, false),
            (None, Some("http://console.example:8080.evil.example"), "http", HOST, false),
            (None, Some("http://evil.example/console.example:8080"), "http", HOST, false),
            (None, Some("console.example:8080"), "http", HOST, false),
            (None, Some(""), "http", HOST, false),
            // Default ports may be written or left out.
            (None, Some("https://console.example"), "https", Some("console.example:443"), true),
            (None, Some("https://console.example:443"), "https", Some("console.example"), true),
            (None, Some("http://console.example"), "http", Some("console.example:80"), true),
            (None, Some("https://console.example:80"), "https", Some("console.example"), false),
            // Nothing to compare a real origin with.
            (None, Some("http://console.example:8080"), "http", None, false),
            (None, Some("null"), "http", None, true),
        ];
        for &(site, origin, scheme, host, allowed) in cases {
            assert_eq!(
                is_same_origin(site, origin, scheme, host),
                allowed,
                "Sec-Fetch-Site {site:?}, Origin {origin:?}, console {scheme}://{host:?}"
            );
        }
    }
}
