//! Runs the real `drawbridge` binary: a server on a 127.0.0.1 port with its own data dir.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_drawbridge");

/// `serve` flags for a virtual clock that starts on a Wednesday morning (10:00 UTC), when the
/// market is open.
pub(crate) const WEDNESDAY_MORNING: [&str; 4] = [
    "--clock",
    "virtual",
    "--clock-start",
    "2026-01-07T10:00:00Z",
];

/// A port free a moment ago (the server binds it right after).
pub(crate) fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// `drawbridge <args>`, which must succeed; its stdout.
pub(crate) fn run(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "drawbridge {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A running `drawbridge serve`; killed (SIGKILL) when dropped.
pub(crate) struct Server {
    child: Child,
    /// The admin token printed at the first start of the data dir.
    pub(crate) first_token: Option<String>,
}

impl Server {
    /// Starts `drawbridge serve --data-dir DIR --listen 127.0.0.1:PORT <extra>` and waits
    /// until it listens.
    /// On a `first_start` of the data dir it also reads the admin token printed then.
    pub(crate) fn start(dir: &Path, port: u16, extra: &[&str], first_start: bool) -> Self {
        let listen = format!("127.0.0.1:{port}");
        let mut child = Command::new(BIN)
            .args([
                "serve",
                "--data-dir",
                dir.to_str().unwrap(),
                "--listen",
                &listen,
            ])
            .args(extra)
            // `DRAWBRIDGE_TEST_SERVER_LOG` overrides the filter when a test is being debugged.
            .env(
                "DRAWBRIDGE_LOG",
                std::env::var("DRAWBRIDGE_TEST_SERVER_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut listening = false;
        let mut first_token = None;
        let mut expect_token = false;
        // `listening` comes first; on a first start the token follows at once.
        while let Ok(line) = rx.recv_timeout(Duration::from_secs(120)) {
            if expect_token {
                first_token = Some(line.trim().to_owned());
                break;
            }
            if line.starts_with("drawbridge listening on") {
                listening = true;
                if !first_start {
                    break;
                }
            }
            if line.starts_with("first start") {
                expect_token = true;
            }
        }
        assert!(listening, "drawbridge serve did not start");
        Self { child, first_token }
    }

    /// Starts `drawbridge serve` on a fresh data dir as [`Server::start`] does: the server and
    /// the admin token it printed.
    pub(crate) fn first_start(dir: &Path, port: u16, extra: &[&str]) -> (Self, String) {
        let server = Self::start(dir, port, extra, true);
        let token = (server.first_token.clone()).expect("a first start prints a token");
        (server, token)
    }

    /// Stops the process the hard way: nothing gets a chance to flush.
    pub(crate) fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits for a clean exit.
    pub(crate) fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        self.child.wait().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The repository root (tests/sdk lives there).
pub(crate) fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}
