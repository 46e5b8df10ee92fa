//! The console binary run as a child process, ended when the test ends,
//! whether it passes or fails.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, ExitStatus};
use std::time::Duration;

/// A running `latchkey` process. Dropping it (a failed assertion unwinds
/// through here too) kills the process, so no test leaves a server behind.
pub struct ServerProcess {
    child: Child,
    pub port: u16,
}

impl ServerProcess {
    /// Starts the binary with `args` and `--bind` on a free port, as `configure` says.
    pub fn start(configure: impl FnOnce(&mut Command)) -> ServerProcess {
        let port = free_port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
        command.args(["--bind", &format!("127.0.0.1:{port}")]);
        configure(&mut command);
        let child = command.spawn().expect("the latchkey binary runs");
        ServerProcess { child, port }
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Waits until `/healthz` answers; false after 5 seconds.
    pub fn wait_until_up(&self) -> bool {
        for _ in 0..200 {
            if get(self.port, "/healthz").is_some_and(|r| r.starts_with("HTTP/1.1 200")) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        false
    }

    /// Stops it as an operator would (SIGTERM) and waits for it to exit.
    pub fn terminate(&mut self) -> ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "SIGTERM sent");
        self.child.wait().expect("the server exits")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One plain HTTP/1.1 GET; the whole response (status line, headers, body).
pub fn get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}
