//! A real Chromium, driven through ChromeDriver, pointed at a real console.
//!
//! Nothing is installed here: Chromium and ChromeDriver come from Debian
//! (`apt-get install -y chromium chromium-driver`) and axe-core from npm
//! (`npm ci --prefix tests/browser`); `.ci/run` does both. When one is missing
//! the test fails and says so.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use futures::FutureExt;
use serde_json::{Value, json};
use thirtyfour::extensions::query::ElementPollerWithTimeout;
use thirtyfour::prelude::*;

/// How long a query waits for an element (a page load after a click, say).
const WAIT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(25);
/// Chromium's narrowest window, in CSS pixels.
const NARROWEST_WINDOW: u32 = 500;

/// What the tests pass to Chromium: headless, no sandbox (CI runs as root), and
/// no background traffic to the outside world (this machine's network is closed).
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--lang=en-US",
];

#[derive(Clone, Copy)]
pub struct Options {
    pub javascript: bool,
    /// The browser's time zone (an IANA name).
    pub time_zone: &'static str,
    pub width: u32,
    pub height: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            javascript: true,
            time_zone: "UTC",
            width: 1280,
            height: 900,
        }
    }
}

/// One browser, its own ChromeDriver and profile; everything it started is
/// killed when it is dropped, even when the test fails half-way.
pub struct Chrome {
    pub driver: WebDriver,
    pub base: String,
    flow: String,
    shots: std::sync::atomic::AtomicUsize,
    chromedriver: Child,
    _profile: tempfile::TempDir,
}

fn find_program(env: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env) {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

fn browser_programs() -> (PathBuf, PathBuf) {
    let chromium = find_program("LATCHKEY_CHROMIUM", &["chromium", "chromium-browser"]);
    let chromedriver = find_program("LATCHKEY_CHROMEDRIVER", &["chromedriver"]);
    match (chromium, chromedriver) {
        (Some(chromium), Some(chromedriver)) => (chromium, chromedriver),
        (chromium, chromedriver) => panic!(
            "The browser tests need Chromium and ChromeDriver{}{}.\n\
             Install them with:  apt-get install -y chromium chromium-driver\n\
             (.ci/run installs them), or point LATCHKEY_CHROMIUM and LATCHKEY_CHROMEDRIVER at them.",
            if chromium.is_none() {
                "; chromium was not found"
            } else {
                ""
            },
            if chromedriver.is_none() {
                "; chromedriver was not found"
            } else {
                ""
            },
        ),
    }
}

fn axe_source() -> &'static str {
    static AXE: OnceLock<String> = OnceLock::new();
    AXE.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/browser/node_modules/axe-core/axe.min.js");
        std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "The accessibility checks need axe-core at {} ({e}).\n\
                 Install it with:  npm ci --prefix tests/browser   (.ci/run does this)",
                path.display()
            )
        })
    })
}

/// Where screenshots go: `target/screenshots/<flow>-<n>-<what>.png`.
pub fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is inside the target directory")
        .join("screenshots");
    std::fs::create_dir_all(&dir).expect("create target/screenshots");
    dir
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free local port")
        .port()
}

impl Chrome {
    /// Starts a browser for the flow named `flow` (the screenshots' prefix).
    pub async fn start(base: &str, flow: &str, options: Options) -> Chrome {
        let (chromium, chromedriver_path) = browser_programs();
        let port = free_port();
        let mut chromedriver = Command::new(&chromedriver_path);
        chromedriver
            .arg(format!("--port={port}"))
            .env("TZ", options.time_zone)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // Its own process group, so that Drop can end it and the Chromium it starts.
        std::os::unix::process::CommandExt::process_group(&mut chromedriver, 0);
        let mut chromedriver = chromedriver
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", chromedriver_path.display()));
        let server = format!("http://127.0.0.1:{port}");
        wait_until_ready(&server, &mut chromedriver).await;

        let profile = tempfile::tempdir().expect("a profile directory");
        let mut caps = DesiredCapabilities::chrome();
        caps.set_binary(&chromium.to_string_lossy()).unwrap();
        for flag in CHROMIUM_FLAGS {
            caps.add_arg(flag).unwrap();
        }
        caps.add_arg(&format!("--user-data-dir={}", profile.path().display()))
            .unwrap();
        caps.add_arg(&format!(
            "--window-size={},{}",
            options.width, options.height
        ))
        .unwrap();
        // Chromium's windows are never narrower than 500 px: a phone's width
        // is had by emulating its screen.
        if options.width < NARROWEST_WINDOW {
            caps.add_experimental_option(
                "mobileEmulation",
                json!({ "deviceMetrics": {
                    "width": options.width, "height": options.height, "pixelRatio": 1.0
                } }),
            )
            .unwrap();
        }
        if !options.javascript {
            caps.add_experimental_option(
                "prefs",
                json!({ "profile.managed_default_content_settings.javascript": 2 }),
            )
            .unwrap();
        }
        let driver = WebDriver::builder(&server, caps)
            .poller(Arc::new(ElementPollerWithTimeout::new(WAIT, POLL)))
            .connect()
            .await;
        let driver = match driver {
            Ok(driver) => driver,
            Err(e) => {
                kill_group(&mut chromedriver);
                panic!("Chromium ({}) did not start: {e}", chromium.display());
            }
        };
        Chrome {
            driver,
            base: base.trim_end_matches('/').to_owned(),
            flow: flow.to_owned(),
            shots: Default::default(),
            chromedriver,
            _profile: profile,
        }
    }

    /// Runs `body` with a browser; on failure, saves a screenshot of where it
    /// stopped (`…-FAILED.png`) before passing the failure on.
    pub async fn run<F, Fut>(base: &str, flow: &str, options: Options, body: F)
    where
        F: FnOnce(Arc<Chrome>) -> Fut,
        Fut: Future<Output = ()>,
    {
        let chrome = Arc::new(Chrome::start(base, flow, options).await);
        let outcome = std::panic::AssertUnwindSafe(body(chrome.clone()))
            .catch_unwind()
            .await;
        if outcome.is_err() {
            let path = screenshot_dir().join(format!("{flow}-FAILED.png"));
            if chrome.driver.screenshot(&path).await.is_ok() {
                eprintln!("screenshot of the failure: {}", path.display());
            }
        }
        if let Ok(chrome) = Arc::try_unwrap(chrome) {
            chrome.quit().await;
        }
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    }

    pub async fn quit(mut self) {
        let driver = self.driver.clone();
        let _ = driver.quit().await;
        kill_group(&mut self.chromedriver);
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        }
    }

    pub async fn open(&self, path: &str) {
        self.driver.goto(self.url(path)).await.expect("open page");
    }

    /// The first element matching `css`, waiting for it to appear.
    pub async fn el(&self, css: &str) -> WebElement {
        let query = self.driver.query(By::Css(css)).ignore_errors(true);
        match query.desc(css).first().await {
            Ok(element) => element,
            Err(e) => panic!("no element {css} on {}: {e}", self.path().await),
        }
    }

    /// The first element matching `css` whose text is `text`, waiting for it.
    pub async fn el_with_text(&self, css: &str, text: &str) -> WebElement {
        let query = self.driver.query(By::Css(css)).ignore_errors(true);
        let query = query.with_text(text.to_owned());
        match query.desc(&format!("{css} “{text}”")).first().await {
            Ok(element) => element,
            Err(e) => panic!("no {css} reading “{text}” on {}: {e}", self.path().await),
        }
    }

    pub async fn exists(&self, css: &str) -> bool {
        !self
            .driver
            .find_all(By::Css(css))
            .await
            .expect("find")
            .is_empty()
    }

    pub async fn click(&self, css: &str) {
        self.el(css).await.click().await.expect("click");
    }

    pub async fn click_text(&self, css: &str, text: &str) {
        self.el_with_text(css, text)
            .await
            .click()
            .await
            .expect("click");
    }

    /// Clicks what leads to another page (a link, a submit button) and waits
    /// until the browser has left the current one.
    pub async fn follow(&self, css: &str, text: &str) {
        let page = self.el("html").await;
        self.click_text(css, text).await;
        self.wait_for_new_page(page).await;
    }

    /// Presses a key that leads to another page and waits until the browser has left this one.
    pub async fn press_to_leave(&self, key: Key) {
        let page = self.el("html").await;
        self.press(key).await;
        self.wait_for_new_page(page).await;
    }

    async fn wait_for_new_page(&self, page: WebElement) {
        if let Err(e) = page.wait_until().stale().await {
            panic!("the browser stayed on {}: {e}", self.path().await);
        }
    }

    /// Replaces a field's content by typing.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.el(css).await;
        field.clear().await.expect("clear");
        field.send_keys(text).await.expect("type");
    }

    pub async fn value(&self, css: &str) -> String {
        self.el(css)
            .await
            .prop("value")
            .await
            .expect("value")
            .unwrap_or_default()
    }

    pub async fn text(&self, css: &str) -> String {
        self.el(css).await.text().await.expect("text")
    }

    /// Waits for a page whose `<h1>` reads `heading` (after a click that navigates).
    pub async fn wait_for_heading(&self, heading: &str) {
        let found = self
            .driver
            .query(By::Css("h1"))
            .ignore_errors(true)
            .with_text(heading.to_owned())
            .first()
            .await;
        if found.is_err() {
            let h1 = self.driver.find(By::Css("h1")).await;
            let now = match h1 {
                Ok(h1) => h1.text().await.unwrap_or_default(),
                Err(_) => "(no h1)".to_owned(),
            };
            panic!(
                "expected the page “{heading}”, but {} shows “{now}”",
                self.path().await
            );
        }
    }

    /// The current URL's path and query.
    pub async fn path(&self) -> String {
        match self.driver.current_url().await {
            Ok(url) => match url.query() {
                Some(q) => format!("{}?{q}", url.path()),
                None => url.path().to_owned(),
            },
            Err(e) => format!("(no URL: {e})"),
        }
    }

    pub async fn source(&self) -> String {
        self.driver.source().await.expect("page source")
    }

    /// Waits until `js` (the body of a function) returns true; fails after
    /// the usual wait, saying `what` was expected.
    pub async fn wait_until(&self, what: &str, js: &str) {
        let started = Instant::now();
        while started.elapsed() < WAIT {
            if self.script(js, vec![]).await == json!(true) {
                return;
            }
            actix_web::rt::time::sleep(POLL).await;
        }
        panic!("{what}: not so within {WAIT:?} on {}", self.path().await);
    }

    /// Waits until the address (path and query) is `path`, after the
    /// browser's Back or Forward.
    pub async fn wait_for_path(&self, path: &str) {
        let started = Instant::now();
        while started.elapsed() < WAIT {
            if self.path().await == path {
                return;
            }
            actix_web::rt::time::sleep(POLL).await;
        }
        panic!(
            "expected {path}, but the browser is at {}",
            self.path().await
        );
    }

    /// The text of every element matching `css`, trimmed, in page order.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let found = self
            .script(
                "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.textContent.trim());",
                vec![json!(css)],
            )
            .await;
        serde_json::from_value(found).expect("a list of texts")
    }

    pub async fn script(&self, js: &str, args: Vec<Value>) -> Value {
        self.driver
            .execute(js.to_owned(), args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{js}"))
            .json()
            .clone()
    }

    /// Saves a screenshot of the whole window as `target/screenshots/<flow>-<n>-<what>.png`.
    pub async fn screenshot(&self, what: &str) -> PathBuf {
        let n = self
            .shots
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        let path = screenshot_dir().join(format!("{}-{n:02}-{what}.png", self.flow));
        self.driver.screenshot(&path).await.expect("screenshot");
        path
    }

    /// Runs axe-core on the page and fails on any violation of WCAG 2.2 A/AA
    /// or axe's best practices whose impact is serious or critical. Lesser ones
    /// are printed.
    pub async fn assert_accessible(&self, page: &str) {
        let loaded = self
            .script(
                "if (!window.axe) { (0, eval)(arguments[0]); } return typeof window.axe;",
                vec![json!(axe_source())],
            )
            .await;
        assert_eq!(loaded, json!("object"), "axe-core did not load on {page}");
        let violations = self
            .driver
            .execute_async(
                r#"const done = arguments[arguments.length - 1];
                axe.run(document, {
                  runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"] },
                  resultTypes: ["violations"]
                }).then(
                  r => done(r.violations.map(v => ({
                    id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.map(n => n.target.join(" ") + " — " + n.failureSummary)
                  }))),
                  e => done([{ id: "axe-error", impact: "critical", help: String(e), nodes: [] }])
                );"#,
                Vec::<Value>::new(),
            )
            .await
            .expect("axe.run")
            .json()
            .clone();
        let violations = violations.as_array().cloned().unwrap_or_default();
        let (serious, lesser): (Vec<_>, Vec<_>) = violations
            .iter()
            .partition(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")));
        for v in &lesser {
            eprintln!("axe ({page}), {}: {} {}", v["impact"], v["id"], v["help"]);
        }
        assert!(
            serious.is_empty(),
            "accessibility violations on {page}:\n{}",
            serde_json::to_string_pretty(&serious).unwrap()
        );
    }

    /// Presses one key on whatever has focus.
    pub async fn press(&self, key: Key) {
        self.driver
            .action_chain()
            .send_keys(key)
            .perform()
            .await
            .expect("press a key");
    }

    /// Presses `key` while holding `modifier` (Shift+Tab, Ctrl+V).
    pub async fn press_with(&self, modifier: Key, key: impl Into<TypingData>) {
        self.driver
            .action_chain()
            .key_down(modifier.clone())
            .send_keys(key)
            .key_up(modifier)
            .perform()
            .await
            .expect("press a chord");
    }

    pub async fn type_text(&self, text: &str) {
        self.driver
            .action_chain()
            .send_keys(text)
            .perform()
            .await
            .expect("type");
    }

    /// A short description of the focused element, e.g. `a “Generate API Key”`
    /// or `textarea#trusted_ips`.
    pub async fn focused(&self) -> String {
        self.script(
            r##"const e = document.activeElement;
            if (!e || e === document.body) return "body";
            const text = (e.innerText || e.value || "").trim().split("\n")[0];
            return e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (text ? " “" + text + "”" : "");"##,
            vec![],
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// Whether the focused element shows a focus indicator: an opaque outline
    /// at least 2px wide (the console's one focus style).
    pub async fn focus_is_visible(&self) -> bool {
        self.script(
            r#"const e = document.activeElement;
            if (!e || e === document.body) return false;
            const s = getComputedStyle(e);
            return s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2
              && s.outlineColor !== "transparent" && !/, 0\)$/.test(s.outlineColor);"#,
            vec![],
        )
        .await
        .as_bool()
        .unwrap_or(false)
    }

    /// Presses Tab until the focused element's description contains `target`,
    /// checking that every stop on the way shows where focus is. Fails after
    /// 40 presses.
    pub async fn tab_to(&self, target: &str) {
        let mut seen = Vec::new();
        for _ in 0..40 {
            self.press(Key::Tab).await;
            let focused = self.focused().await;
            if !self.focus_is_visible().await {
                let style = self
                    .script(
                        "const s = getComputedStyle(document.activeElement); \
                         return [s.outlineStyle, s.outlineWidth, s.outlineColor].join(' ');",
                        vec![],
                    )
                    .await;
                panic!(
                    "focus on {focused} is not visible ({style}) on {}",
                    self.path().await
                );
            }
            if focused.contains(target) {
                return;
            }
            seen.push(focused);
        }
        panic!(
            "Tab never reached {target} on {}; it went through {seen:?}",
            self.path().await
        );
    }

    /// The width of the page's viewport, in CSS pixels.
    pub async fn inner_width(&self) -> u64 {
        self.script("return window.innerWidth;", vec![])
            .await
            .as_u64()
            .expect("a width")
    }

    /// Whether the document is wider than the window (a sideways scroll).
    pub async fn scrolls_sideways(&self) -> bool {
        self.script(
            "return document.documentElement.scrollWidth > window.innerWidth;",
            vec![],
        )
        .await
        .as_bool()
        .unwrap_or(true)
    }
}

impl Drop for Chrome {
    fn drop(&mut self) {
        kill_group(&mut self.chromedriver);
    }
}

fn kill_group(child: &mut Child) {
    if let Ok(None) = child.try_wait() {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", child.id())])
            .status();
        let _ = child.wait();
    }
}

async fn wait_until_ready(server: &str, chromedriver: &mut Child) {
    let client = reqwest::Client::new();
    let started = Instant::now();
    loop {
        if let Ok(Some(status)) = chromedriver.try_wait() {
            panic!("chromedriver exited at start ({status})");
        }
        if let Ok(response) = client.get(format!("{server}/status")).send().await
            && response.status().is_success()
        {
            return;
        }
        if started.elapsed() > WAIT {
            kill_group(chromedriver);
            panic!("chromedriver did not answer on {server} within {WAIT:?}");
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}
