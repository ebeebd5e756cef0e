//! The official MetaApi Python SDK (`tests/sdk/requirements.txt`), unchanged, against the
//! real binary serving https with its local CA.
//!
//! `scripts/test` installs the SDK into a virtualenv and names its interpreter in
//! `DRAWBRIDGE_SDK_PYTHON`. Without it this test fails rather than pass unseen.

use crate::support::{Server, WEDNESDAY_MORNING, free_port, repo_root, run};
use std::process::Command;

fn sdk_python() -> String {
    std::env::var("DRAWBRIDGE_SDK_PYTHON").unwrap_or_else(|_| {
        panic!(
            "DRAWBRIDGE_SDK_PYTHON is not set: run scripts/test, which installs the MetaApi SDK \
             into a virtualenv, or point it at a python with tests/sdk/requirements.txt installed"
        )
    })
}

/// Runs one SDK script against a fresh TLS server on a virtual clock; panics with its output
/// if it fails.
fn drive(script: &str) {
    drive_with(script, &["--clock", "virtual"], "");
}

/// Runs one SDK script against a fresh TLS server started with `extra` flags and `config`
/// as its config file; panics with its output if it fails.
///
/// A script that prints a line `RESTART` gets the server killed (SIGKILL: only what is
/// durable survives) and started again on the same port and data dir; the file named by
/// `DRAWBRIDGE_RESTARTED` appears when it listens again.
fn drive_with(script: &str, extra: &[&str], config: &str) {
    use std::io::{BufRead, BufReader};
    let python = sdk_python();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let port = free_port();
    let domain = format!("drawbridge.test:{port}");
    run(&["certs", "--data-dir", data, "--domain", &domain]);
    let config_file = dir.path().join("drawbridge.toml");
    std::fs::write(&config_file, config).unwrap();
    let mut args = vec![
        "--domain",
        &domain,
        "--tls",
        "--seed",
        "11",
        "--config",
        config_file.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let (mut server, token) = Server::first_start(dir.path(), port, &args);
    let restarted = dir.path().join("restarted");
    // The SDK keeps its history storage under `.metaapi/` in the working directory: the
    // test's temporary directory, not the repository.
    let mut child = Command::new(python)
        .current_dir(dir.path())
        .arg(repo_root().join("tests/sdk").join(script))
        .env("DRAWBRIDGE_DOMAIN", &domain)
        .env("DRAWBRIDGE_TOKEN", &token)
        .env("DRAWBRIDGE_RESTARTED", &restarted)
        .env("SSL_CERT_FILE", dir.path().join("certs/ca.pem"))
        .env_remove("SSL_CERT_DIR")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        text
    });
    let mut stdout = String::new();
    for line in BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
    {
        if line == "RESTART" {
            server.kill();
            server = Server::start(dir.path(), port, &args, false);
            std::fs::write(&restarted, "").unwrap();
        }
        stdout.push_str(&line);
        stdout.push('\n');
    }
    let status = child.wait().unwrap();
    let stderr = errors.join().unwrap();
    println!("{stdout}");
    assert!(
        status.success(),
        "{script} failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    assert!(
        stdout.contains(" passed, 0 failed"),
        "{script} ran no checks"
    );
    server.kill();
}

#[test]
fn provisioning_through_the_official_sdk() {
    drive("provisioning.py");
}

/// Past a credit limit the SDK gets the 429 with `recommendedRetryTime`, waits and succeeds.
/// On the real clock: the SDK waits on the wall clock.
#[test]
fn rate_limits_through_the_official_sdk() {
    drive_with(
        "rate_limits.py",
        &[],
        "[limits]\nhistory_per_user_1s = 1\ncpu_per_user_1s = 120\n",
    );
}

/// The SDK's RPC connection over the streaming API: connect, wait_synchronized, reads.
#[test]
fn rpc_connection_through_the_official_sdk() {
    // A Wednesday morning: the market is open for the trades the script places.
    // The script checks each trade over REST at once; on a frozen virtual clock the credit
    // windows never drain, so the application's and server's quotas are raised.
    let quotas = "[limits]\ncpu_per_user_1s = 100000\ncpu_per_server_1s = 100000\n";
    drive_with("rpc.py", &WEDNESDAY_MORNING, quotas);
}

/// The streaming API's checks seen by a bare socket.io client (the SDK's transport).
#[test]
fn streaming_checks_with_a_bare_socketio_client() {
    drive_with(
        "socket_limits.py",
        &[
            "--clock",
            "virtual",
            "--clock-start",
            "2026-01-07T10:00:00Z",
        ],
        "[limits]\ntrade_subscription_accounts = 1\nsubscribe_rate = 1\n\
         streaming_per_account_10s = 20\nunready_socket_close_secs = 2\nclient_messages_rate = 20\n\
         connection_rate = 4\naccounts_per_user = 3\n",
    );
}

/// A server killed mid-session and started again: the SDK reconnects and resynchronizes,
/// and nothing acknowledged is lost or doubled.
#[test]
fn streaming_survives_a_server_restart() {
    // A Wednesday morning, on a virtual clock that continues where the journal ends.
    drive_with("restart.py", &WEDNESDAY_MORNING, "");
}

/// A bounded loopback load: 1,000 accounts subscribed, synchronized, updated and quoted over
/// 10 streaming connections of one server.
#[test]
fn a_thousand_accounts_streaming_on_one_server() {
    // A Wednesday morning: the market is open. Ten sockets of 100 accounts may share a
    // virtual front-end server, so its subscription cap (300) is lifted here.
    drive_with(
        "load.py",
        &WEDNESDAY_MORNING,
        "[limits]\nsubscriptions_per_user_per_server = 1000\n",
    );
}

/// The SDK's streaming connection: synchronization fills its terminal state and history.
#[test]
fn streaming_connection_through_the_official_sdk() {
    // A Wednesday morning: the market is open for the trades the script places.
    drive_with("streaming.py", &WEDNESDAY_MORNING, "");
}

/// The SDK's market data: quotes, candles, ticks and books reach the terminal state and the
/// listeners; unsubscription by type and by symbol; expiry and refresh on the virtual clock.
#[test]
fn market_data_through_the_official_sdk() {
    // A Wednesday morning: the market is open, so the feed and the posted ticks move prices.
    drive_with("market_data.py", &WEDNESDAY_MORNING, "");
}

/// The SDK's risk management client: trackers, a breach seen by the events query and the
/// listener's long poll, period statistics and the equity chart on the virtual clock.
#[test]
fn risk_management_through_the_official_sdk() {
    // A Wednesday morning: the market is open for the trade the script places.
    drive_with("risk.py", &WEDNESDAY_MORNING, "");
}
