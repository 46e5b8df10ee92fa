//! The one way Latchkey opens outgoing HTTP connections (webhook deliveries,
//! GitHub's secret-scanning keys): hyper's client over rustls with the ring
//! provider, given here rather than installed process-wide, checking
//! certificates against the system's roots. hyper's client follows no redirects.

use std::time::Duration;

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;

/// A connector for https (and plain http unless `https_only`), giving up on
/// a connection after `connect_timeout`.
pub fn connector(
    connect_timeout: Duration,
    https_only: bool,
) -> std::io::Result<HttpsConnector<HttpConnector>> {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(connect_timeout));
    let builder = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_platform_verifier(rustls::crypto::ring::default_provider())?;
    let builder = if https_only {
        builder.https_only()
    } else {
        builder.https_or_http()
    };
    Ok(builder.enable_http1().wrap_connector(http))
}
