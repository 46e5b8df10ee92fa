//! A console user over HTTP, for benchmarks: signs in as a browser does
//! (form cookie, form token, session cookie), then times requests one at a
//! time on a kept-alive connection, at the client.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::cookie::Jar;
use reqwest::{Client, RequestBuilder, StatusCode};

/// One signed-in user. Its connections belong to the async runtime that made
/// them: a thread of its own takes a `fork`.
pub struct Console {
    base: String,
    jar: Arc<Jar>,
    client: Client,
    /// The session's form token, for form posts.
    pub csrf: String,
}

/// What one request answered and how long it took, body included.
pub struct Answer {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: String,
    pub took: Duration,
}

fn client(jar: &Arc<Jar>) -> Client {
    Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(600))
        .build()
        .expect("an HTTP client")
}

/// The value of the first `name="csrf_token"` hidden input.
pub fn form_token(html: &str) -> Option<String> {
    html.split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(str::to_owned)
}

impl Console {
    /// Waits until `base` answers, then signs in; panics if it cannot.
    pub async fn sign_in(base: &str, email: &str, password: &str) -> Console {
        let jar = Arc::new(Jar::default());
        let mut console = Console {
            base: base.to_owned(),
            client: client(&jar),
            jar,
            csrf: String::new(),
        };
        console.wait_until_up().await;
        let form = console.get("/login").await;
        let token = form_token(&form.body).expect("the sign-in page carries a form token");
        let signed_in = console
            .send(console.client.post(console.url("/login")).form(&[
                ("email", email),
                ("password", password),
                ("csrf_token", &token),
            ]))
            .await;
        assert_eq!(
            (signed_in.status, signed_in.location.as_deref()),
            (StatusCode::SEE_OTHER, Some("/settings/integrations")),
            "signing in as {email} failed: {}",
            signed_in.body
        );
        let list = console.get("/settings/integrations").await;
        assert_eq!(list.status, StatusCode::OK, "the key list after sign-in");
        console.csrf = form_token(&list.body).expect("a signed-in page carries a form token");
        console
    }

    /// The same user (same cookies) with connections of its own.
    pub fn fork(&self) -> Console {
        Console {
            base: self.base.clone(),
            client: client(&self.jar),
            jar: self.jar.clone(),
            csrf: self.csrf.clone(),
        }
    }

    async fn wait_until_up(&self) {
        let started = Instant::now();
        // Loading a million keys into the verifier takes a while.
        while started.elapsed() < Duration::from_secs(300) {
            if let Ok(r) = self.client.get(self.url("/healthz")).send().await
                && r.status() == StatusCode::OK
            {
                return;
            }
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{} did not come up within 300 s", self.base);
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(self.client.get(self.url(path))).await
    }

    /// The search box's form post.
    pub async fn post_search(&self, q: &str) -> Answer {
        let request = self
            .client
            .post(self.url("/settings/integrations/search"))
            .form(&[("q", q), ("csrf_token", &self.csrf)]);
        self.send(request).await
    }

    /// Sends the request and reads the whole answer, timing both.
    pub async fn send(&self, request: RequestBuilder) -> Answer {
        let started = Instant::now();
        let response = request.send().await.expect("the console answers");
        let status = response.status();
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.text().await.expect("the whole body");
        Answer {
            status,
            location,
            body,
            took: started.elapsed(),
        }
    }

    /// Streams a GET's body without keeping it: (status, lines, bytes, time).
    pub async fn count_lines(&self, path: &str) -> (StatusCode, usize, usize, Duration) {
        let started = Instant::now();
        let mut response = self
            .client
            .get(self.url(path))
            .send()
            .await
            .expect("the console answers");
        let status = response.status();
        let (mut lines, mut bytes) = (0, 0);
        while let Some(chunk) = response.chunk().await.expect("the body streams") {
            bytes += chunk.len();
            lines += chunk.iter().filter(|&&b| b == b'\n').count();
        }
        (status, lines, bytes, started.elapsed())
    }
}

/// Median and 99th percentile (nearest rank) of some timings, in ms.
pub fn median_p99(mut times: Vec<Duration>) -> (f64, f64) {
    assert!(!times.is_empty());
    times.sort();
    let rank = |p: f64| {
        let at = ((p * times.len() as f64).ceil() as usize).clamp(1, times.len()) - 1;
        times[at].as_secs_f64() * 1000.0
    };
    (rank(0.5), rank(0.99))
}
