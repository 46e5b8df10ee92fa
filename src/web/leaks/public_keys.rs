//! GitHub's secret-scanning public keys: read from a file at start, and/or
//! fetched from a URL and cached. A fetch happens at most every
//! `--github-public-keys-refresh-minutes`, and sooner (at most once a minute)
//! when a report names a key identifier not yet known, as after GitHub rotates
//! its keys. A failed fetch keeps the keys already held. One fetch runs at a
//! time; reports needing it wait for it rather than fetch again.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context as _;
use chrono::NaiveDateTime;
use http_body_util::BodyExt as _;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::config::ServeArgs;
use crate::domain::scanner_keys::{MAX_KEY_ID_LEN, PublicKeySet, SignatureError};

/// Largest key list read from the URL.
const MAX_KEYS_BODY: usize = 256 * 1024;
/// How long one fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// An unknown key identifier fetches again at most this often.
const UNKNOWN_KEY_REFETCH: chrono::Duration = chrono::Duration::minutes(1);

pub struct GithubKeys {
    /// The keys checked now: the file's and the last fetched, merged.
    current: RwLock<Arc<PublicKeySet>>,
    from_file: PublicKeySet,
    remote: Option<Remote>,
}

struct Remote {
    url: hyper::Uri,
    client: HttpsClient,
    every: chrono::Duration,
    /// Held while fetching, so one fetch runs at a time.
    schedule: tokio::sync::Mutex<Schedule>,
}

#[derive(Default)]
struct Schedule {
    /// When the keys are next due for a fetch; None before the first.
    due: Option<NaiveDateTime>,
    /// When an unknown key identifier last caused a fetch.
    unknown_fetch: Option<NaiveDateTime>,
}

impl GithubKeys {
    /// None when neither a key file nor a URL is configured (the endpoint is off).
    pub fn configure(serve: &ServeArgs) -> anyhow::Result<Option<Self>> {
        let from_file = match &serve.github_public_keys {
            Some(path) => {
                let context = || format!("--github-public-keys {}", path.display());
                let text = std::fs::read(path).with_context(context)?;
                let parsed = PublicKeySet::parse(&text).with_context(context)?;
                log::info!(
                    "{} GitHub secret-scanning keys read from {} ({} not usable)",
                    parsed.set.len(),
                    path.display(),
                    parsed.skipped
                );
                parsed.set
            }
            None => PublicKeySet::default(),
        };
        let remote = match &serve.github_public_keys_url {
            Some(url) => Some(Remote::new(url, serve.github_public_keys_refresh_minutes)?),
            None => None,
        };
        if remote.is_none() && from_file.is_empty() {
            return Ok(None);
        }
        Ok(Some(GithubKeys {
            current: RwLock::new(Arc::new(from_file.clone())),
            from_file,
            remote,
        }))
    }

    fn current(&self) -> Arc<PublicKeySet> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Checks a report's signature, fetching keys first when they are due, and
    /// again (at most once a minute) when the signing key is not known.
    pub async fn check(
        &self,
        now: NaiveDateTime,
        key_id: &str,
        signature: &str,
        body: &[u8],
    ) -> Result<(), SignatureError> {
        if key_id.trim().is_empty() || signature.trim().is_empty() {
            return Err(SignatureError::Unsigned);
        }
        let Some(remote) = &self.remote else {
            return self.current().verify(key_id, signature, body);
        };
        {
            let mut schedule = remote.schedule.lock().await;
            if schedule.due.is_none_or(|due| due <= now) {
                self.fetch(remote, &mut schedule, now).await;
            }
        }
        match self.current().verify(key_id, signature, body) {
            Err(SignatureError::UnknownKey) if key_id.len() <= MAX_KEY_ID_LEN => {
                let mut schedule = remote.schedule.lock().await;
                // Another report may have fetched while this one waited.
                let known = self.current().knows(key_id);
                let may_fetch = schedule
                    .unknown_fetch
                    .is_none_or(|at| at + UNKNOWN_KEY_REFETCH <= now);
                if !known && may_fetch {
                    schedule.unknown_fetch = Some(now);
                    self.fetch(remote, &mut schedule, now).await;
                }
                drop(schedule);
                self.current().verify(key_id, signature, body)
            }
            other => other,
        }
    }

    /// Fetches the keys and, if that works, makes them current with the file's.
    async fn fetch(&self, remote: &Remote, schedule: &mut Schedule, now: NaiveDateTime) {
        schedule.due = Some(now + remote.every);
        match remote.fetch().await {
            Ok(fetched) => {
                log::info!(
                    "{} GitHub secret-scanning keys fetched from {}",
                    fetched.len(),
                    remote.url
                );
                let merged = Arc::new(self.from_file.merged(&fetched));
                *self.current.write().unwrap_or_else(|p| p.into_inner()) = merged;
            }
            Err(e) => log::warn!(
                "cannot fetch GitHub secret-scanning keys from {} (keeping the {} held): {e}",
                remote.url,
                self.current().len()
            ),
        }
    }
}

type HttpsClient = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<HttpConnector>,
    http_body_util::Empty<hyper::body::Bytes>,
>;

impl Remote {
    fn new(url: &str, refresh_minutes: u32) -> anyhow::Result<Self> {
        let url: hyper::Uri = url
            .parse()
            .with_context(|| format!("--github-public-keys-url {url} is not a URL"))?;
        let https = url.scheme_str() == Some("https");
        if !(https || url.scheme_str() == Some("http") && is_loopback(&url)) {
            anyhow::bail!(
                "--github-public-keys-url must be an https:// address \
                 (plain http:// only to a loopback address, for testing): {url}"
            );
        }
        let connector = crate::http_client::connector(FETCH_TIMEOUT, https)
            .context("setting up TLS for --github-public-keys-url")?;
        let client = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            // Fetches are rare, and each may run on another worker's runtime.
            .pool_max_idle_per_host(0)
            .build(connector);
        Ok(Remote {
            url,
            client,
            every: chrono::Duration::minutes(i64::from(refresh_minutes)),
            schedule: tokio::sync::Mutex::new(Schedule::default()),
        })
    }

    async fn fetch(&self) -> Result<PublicKeySet, String> {
        let body = tokio::time::timeout(FETCH_TIMEOUT, self.get())
            .await
            .map_err(|_| format!("no answer within {} s", FETCH_TIMEOUT.as_secs()))??;
        let parsed = PublicKeySet::parse(&body).map_err(|e| e.to_string())?;
        if parsed.skipped > 0 {
            log::info!(
                "{} listed GitHub keys are not P-256 keys and were passed over",
                parsed.skipped
            );
        }
        Ok(parsed.set)
    }

    /// The body of a GET of the URL, at most [`MAX_KEYS_BODY`] bytes.
    async fn get(&self) -> Result<hyper::body::Bytes, String> {
        let request = hyper::Request::get(self.url.clone())
            .header(
                hyper::header::USER_AGENT,
                concat!("latchkey/", env!("CARGO_PKG_VERSION")),
            )
            .header(hyper::header::ACCEPT, "application/json")
            .body(http_body_util::Empty::new())
            .map_err(|e| e.to_string())?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("it answered {}", response.status()));
        }
        let body = http_body_util::Limited::new(response.into_body(), MAX_KEYS_BODY)
            .collect()
            .await
            .map_err(|e| format!("reading its answer: {e}"))?;
        Ok(body.to_bytes())
    }
}

fn is_loopback(url: &hyper::Uri) -> bool {
    let host = url.host().unwrap_or_default();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}
