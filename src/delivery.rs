//! The webhook worker: one thread per instance, off the request path. Every
//! half second it takes due outbox rows under a lease and sends them
//! (signed, concurrently, each within 10 s), records each outcome (delivered,
//! due again after the retry schedule's wait, or given up); every 5 s it
//! enqueues key.expiring reminders; every minute it prunes finished rows
//! older than 7 days. Times come from the console's clock, and everything
//! it knows lives in the database, so retries survive a restart and any
//! number of instances share the work.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use chrono::NaiveDateTime;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::db::DbPool;
use crate::db::webhooks::{self, Attempt, Claimed};
use crate::domain::crypto::SecretBox;
use crate::domain::token::random_token;
use crate::domain::webhook::SigningSecret;
use crate::web::clock::Clock;

/// How often the worker looks for due deliveries.
const TICK: Duration = Duration::from_millis(500);
/// Reminders are looked for every this many ticks (5 s).
const REMIND_EVERY_TICKS: u32 = 10;
/// Finished deliveries are pruned every this many ticks (1 min).
const PRUNE_EVERY_TICKS: u32 = 120;
/// Most deliveries one pass takes (and sends at once).
const BATCH: i64 = 20;
/// Most keys one pass reminds, per threshold.
const REMINDERS_PER_PASS: i64 = 100;
/// Most finished rows one pass deletes.
const PRUNE_PER_PASS: i64 = 1_000;
/// No other worker takes a claimed row before this has passed: far longer
/// than one pass can take (every request ends within [`REQUEST_TIMEOUT`]).
const LEASE: chrono::Duration = chrono::Duration::seconds(60);
/// An endpoint that has not answered (headers) by then has failed this attempt.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Delivered and given-up rows are kept this long, for the endpoint's page.
const KEEP_FINISHED: chrono::Duration = chrono::Duration::days(7);
/// Longest error text stored for an attempt.
const MAX_ERROR_LEN: usize = 200;

/// The running worker; [`WebhookWorker::stop`] ends it.
pub struct WebhookWorker {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl WebhookWorker {
    /// Starts the thread. It runs until stopped, or until the console's
    /// clock (held by the application's state) is dropped.
    pub fn start(pool: DbPool, secret_box: SecretBox, clock: Weak<Clock>) -> WebhookWorker {
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::Builder::new()
            .name("latchkey-webhooks".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        log::error!("webhooks will not be sent: cannot start their runtime: {e}");
                        return;
                    }
                };
                let mut worker = Worker {
                    pool,
                    secret_box,
                    client: None,
                    runtime,
                };
                let mut tick = 0u32;
                let mut healthy = true;
                loop {
                    std::thread::sleep(TICK);
                    if stopping.load(Ordering::SeqCst) {
                        return;
                    }
                    let Some(clock) = clock.upgrade() else {
                        return;
                    };
                    tick = tick.wrapping_add(1);
                    match worker.pass(&clock, tick) {
                        Err(e) if healthy => {
                            log::warn!("webhook delivery is failing (will keep trying): {e}");
                            healthy = false;
                        }
                        Ok(()) if !healthy => {
                            log::info!("webhook delivery works again");
                            healthy = true;
                        }
                        _ => {}
                    }
                }
            })
            .expect("the webhook thread starts");
        WebhookWorker { stop, thread }
    }

    /// Stops the thread and waits for it: a pass under way finishes (within
    /// the request timeout) and records its outcomes first.
    pub fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.thread.join();
    }
}

struct Worker {
    pool: DbPool,
    secret_box: SecretBox,
    /// Built on first use, and again if building failed.
    client: Option<HttpsClient>,
    runtime: tokio::runtime::Runtime,
}

impl Worker {
    fn pass(&mut self, clock: &Clock, tick: u32) -> Result<(), String> {
        let now = clock.now();
        let mut conn = self.pool.get().map_err(|e| e.to_string())?;
        if tick.is_multiple_of(REMIND_EVERY_TICKS) {
            webhooks::remind_expiring(&mut conn, now, REMINDERS_PER_PASS)
                .map_err(|e| e.to_string())?;
        }
        if tick.is_multiple_of(PRUNE_EVERY_TICKS) {
            webhooks::prune(&mut conn, now - KEEP_FINISHED, PRUNE_PER_PASS)
                .map_err(|e| e.to_string())?;
        }
        let client = match &self.client {
            Some(client) => client.clone(),
            None => {
                let client = http_client().map_err(|e| format!("the HTTP client: {e}"))?;
                self.client = Some(client.clone());
                client
            }
        };
        let claim = random_token();
        let claimed = webhooks::claim_due(&mut conn, now, now + LEASE, &claim, BATCH)
            .map_err(|e| e.to_string())?;
        if claimed.is_empty() {
            return Ok(());
        }
        // No connection is held while endpoints answer.
        drop(conn);
        let outcomes = self
            .runtime
            .block_on(send_all(client, &self.secret_box, claimed, now));
        let mut conn = self.pool.get().map_err(|e| e.to_string())?;
        for (claimed, attempt) in outcomes {
            webhooks::record_attempt(&mut conn, &claimed, &claim, &attempt, now)
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

type HttpsClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The client every delivery uses: https through rustls (with the ring
/// provider, given here rather than installed process-wide) checking
/// certificates against the system's roots, or plain http. hyper's client
/// follows no redirects.
fn http_client() -> std::io::Result<HttpsClient> {
    let connector = crate::http_client::connector(CONNECT_TIMEOUT, false)?;
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}

/// Sends every claimed delivery at once, attempt time `at`.
async fn send_all(
    client: HttpsClient,
    secret_box: &SecretBox,
    claimed: Vec<Claimed>,
    at: NaiveDateTime,
) -> Vec<(Claimed, Attempt)> {
    let timestamp = at.and_utc().timestamp();
    let mut sending = tokio::task::JoinSet::new();
    for delivery in claimed {
        let secret = secret_box
            .open(&delivery.secret_sealed, delivery.endpoint_id.as_bytes())
            .map(SigningSecret::from_bytes);
        let client = client.clone();
        sending.spawn(async move {
            let attempt = match secret {
                Ok(secret) => send(&client, &delivery, &secret, timestamp).await,
                Err(_) => failed(
                    "the signing secret could not be read (were the server's secrets replaced?)",
                ),
            };
            (delivery, attempt)
        });
    }
    sending.join_all().await
}

fn failed(error: impl Into<String>) -> Attempt {
    Attempt::Failed {
        status: None,
        error: Some(error.into()),
    }
}

/// One signed POST, answered within [`REQUEST_TIMEOUT`]. The answer's status
/// is all that is read: its body is dropped unread.
async fn send(
    client: &HttpsClient,
    delivery: &Claimed,
    secret: &SigningSecret,
    timestamp: i64,
) -> Attempt {
    let request = hyper::Request::post(delivery.url.as_str())
        .header(header::CONTENT_TYPE, "application/json")
        .header(
            header::USER_AGENT,
            concat!("Latchkey-Webhooks/", env!("CARGO_PKG_VERSION")),
        )
        .header("webhook-id", &delivery.id)
        .header("webhook-timestamp", timestamp.to_string())
        .header(
            "webhook-signature",
            secret.sign(&delivery.id, timestamp, &delivery.payload),
        )
        .body(Full::new(Bytes::from(delivery.payload.clone())));
    let request = match request {
        Ok(request) => request,
        Err(e) => return failed(format!("the URL could not be used: {e}")),
    };
    match tokio::time::timeout(REQUEST_TIMEOUT, client.request(request)).await {
        Err(_) => failed(format!(
            "no answer within {} seconds",
            REQUEST_TIMEOUT.as_secs()
        )),
        Ok(Err(e)) => failed(describe(&e)),
        Ok(Ok(answer)) if answer.status().is_success() => Attempt::Delivered {
            status: answer.status().as_u16(),
        },
        Ok(Ok(answer)) => Attempt::Failed {
            status: Some(answer.status().as_u16()),
            error: None,
        },
    }
}

/// Why a request got no answer, in words: its innermost cause (an I/O or
/// TLS error), which names no URL (a URL may carry a receiver's token).
fn describe(e: &hyper_util::client::legacy::Error) -> String {
    let mut innermost: Option<&dyn std::error::Error> = None;
    let mut next = std::error::Error::source(e);
    while let Some(cause) = next {
        innermost = Some(cause);
        next = cause.source();
    }
    let cause = innermost.map_or_else(|| e.to_string(), |c| c.to_string());
    let text = if e.is_connect() {
        format!("could not connect: {cause}")
    } else {
        format!("the request failed: {cause}")
    };
    text.chars().take(MAX_ERROR_LEN).collect()
}
