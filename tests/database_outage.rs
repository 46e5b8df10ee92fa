//! When PostgreSQL goes away the console answers with its 503 page, and when
//! it comes back the console recovers by itself, without a restart.
//!
//! The console reaches PostgreSQL through a TCP proxy this test controls, so
//! "the database goes away" cuts only this test's connections.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::TestApp;
use latchkey::domain::role::Role;
use reqwest::StatusCode;

/// Forwards a local port to PostgreSQL until taken down.
struct Proxy {
    addr: SocketAddr,
    upstream: SocketAddr,
    running: Option<Running>,
}

struct Running {
    stop: Arc<AtomicBool>,
    streams: Arc<Mutex<Vec<TcpStream>>>,
    accept: JoinHandle<()>,
}

impl Proxy {
    fn start(upstream: SocketAddr) -> Proxy {
        let mut proxy = Proxy {
            addr: "127.0.0.1:0".parse().unwrap(),
            upstream,
            running: None,
        };
        proxy.up();
        proxy
    }

    fn up(&mut self) {
        let listener = TcpListener::bind(self.addr).expect("the proxy port is free");
        self.addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let streams = Arc::new(Mutex::new(Vec::new()));
        let (thread_stop, thread_streams, upstream) =
            (stop.clone(), streams.clone(), self.upstream);
        let accept = std::thread::spawn(move || {
            while !thread_stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        client.set_nonblocking(false).unwrap();
                        let Ok(server) = TcpStream::connect(upstream) else {
                            continue;
                        };
                        let mut held = thread_streams.lock().unwrap();
                        held.push(client.try_clone().unwrap());
                        held.push(server.try_clone().unwrap());
                        pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                        pipe(server, client);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        self.running = Some(Running {
            stop,
            streams,
            accept,
        });
    }

    /// Refuses new connections and cuts every open one, like a stopped server.
    fn down(&mut self) {
        if let Some(Running {
            stop,
            streams,
            accept,
        }) = self.running.take()
        {
            stop.store(true, Ordering::SeqCst);
            accept.join().unwrap();
            for stream in streams.lock().unwrap().drain(..) {
                let _ = stream.shutdown(Shutdown::Both);
            }
        }
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 || to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Both);
    });
}

fn postgres_addr() -> SocketAddr {
    let server = std::env::var("LATCHKEY_TEST_POSTGRES")
        .unwrap_or_else(|_| common::DEFAULT_POSTGRES.to_owned());
    let host_port = server
        .trim_start_matches("postgres://")
        .trim_start_matches("postgresql://");
    let host_port = host_port.rsplit('@').next().unwrap();
    std::net::ToSocketAddrs::to_socket_addrs(host_port)
        .expect("LATCHKEY_TEST_POSTGRES names host:port")
        .next()
        .unwrap()
}

#[actix_web::test]
async fn an_outage_gives_the_503_page_and_the_console_recovers_on_its_own() {
    let mut proxy = Proxy::start(postgres_addr());
    let proxy_addr = proxy.addr;
    let app = TestApp::spawn_postgres_via(move |url| {
        let (_, database) = url.rsplit_once('/').unwrap();
        format!("postgres://{proxy_addr}/{database}")
    })
    .await;
    let admin = app.signed_in(Role::Administrator).await;
    assert_eq!(
        admin.get("/settings/integrations").await.status(),
        StatusCode::OK
    );

    // The sign-in form's token, read while the console could still show it.
    admin.csrf_token().await;
    proxy.down();
    for path in ["/settings/integrations", "/login"] {
        let response = admin.get(path).await;
        let status = response.status();
        let page = response.text().await.unwrap();
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}: {page}");
        assert!(page.contains("Temporarily unavailable"), "{path}");
        assert!(page.contains("/static/app.css"), "the console's own page");
        assert!(
            !page.contains("5432") && !page.contains("Connection refused"),
            "no internals"
        );
    }
    let login = admin
        .login("someone@example.com", "a password that is long")
        .await;
    assert_eq!(login.status(), StatusCode::SERVICE_UNAVAILABLE);

    proxy.up();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let status = admin.get("/settings/integrations").await.status();
        if status == StatusCode::OK {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still {status} 15 s after the database came back"
        );
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    }
    // Still signed in: the session lived in the database throughout.
    assert!(
        admin
            .html("/settings/integrations")
            .await
            .contains("Generate API Key")
    );
    admin.generate_token("ucd", "After the outage").await;
}
