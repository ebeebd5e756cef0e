//! The full stack as the network benchmarks drive it: the server in-process on a virtual
//! clock with the limits a load could meet raised, a bare REST client, and a minimal
//! socket.io client (Engine.IO 3 over a WebSocket, what the official SDK's python-socketio
//! 4.x speaks) with just enough protocol to connect, send `request` events and wait for
//! their answers.

use anyhow::{Context as _, anyhow, ensure};
use drawbridge_server::Running;
use drawbridge_server::config::{ClockKind, Config, Layer};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;
use tokio_tungstenite::tungstenite::Message;

pub(super) type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// The bench clients' WebSocket settings (socket.io and raw alike). The read buffer is small:
/// tungstenite zero-fills the free part of its read buffer before every read (128 KiB by
/// default), which made a client reading one small frame per wake-up spend more on that
/// memset than on the frame; a frame larger than the buffer still grows it.
pub(super) fn client_config() -> tokio_tungstenite::tungstenite::protocol::WebSocketConfig {
    tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default().read_buffer_size(8 * 1024)
}

/// Opens a WebSocket client on `url` with [`client_config`].
pub(super) async fn open_ws(url: &str) -> anyhow::Result<Ws> {
    let (ws, _) =
        tokio_tungstenite::connect_async_with_config(url, Some(client_config()), false).await?;
    Ok(ws)
}

/// Opens a socket on drawbridge's streaming endpoint with `token` and `client_id`, once the
/// server has connected the namespace.
pub(super) async fn connect(addr: SocketAddr, token: &str, client_id: &str) -> anyhow::Result<Ws> {
    let url = format!(
        "ws://{addr}/ws/?EIO=3&transport=websocket&auth-token={token}&clientId={client_id}"
    );
    let mut ws = open_ws(&url).await?;
    // The server opens the Engine.IO session, then connects the namespace (`40`): events
    // sent before that are refused, as python-socketio waits for it too.
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) if text.starts_with("40") => return Ok(ws),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.into()),
            None => anyhow::bail!("the server closed the socket before connecting the namespace"),
        }
    }
}

/// Sends `request` (with its `requestId`) and waits for its `response`; every other frame
/// on the way is handed to `seen`. A `processingError` or a `userMessage` is an error.
pub(super) async fn request_seeing(
    ws: &mut Ws,
    request: &Value,
    mut seen: impl FnMut(&str),
) -> anyhow::Result<()> {
    let id = request["requestId"]
        .as_str()
        .context("a request needs a requestId")?;
    ws.send(Message::text(format!("42{}", json!(["request", request]))))
        .await?;
    loop {
        let Some(frame) = ws.next().await else {
            anyhow::bail!("the server closed the socket (request {id})");
        };
        let text = match frame? {
            Message::Text(text) => text,
            Message::Close(why) => anyhow::bail!("closed (request {id}): {why:?}"),
            _ => continue,
        };
        if text.starts_with(r#"42["userMessage""#) {
            anyhow::bail!("the server said: {text}");
        }
        if text.starts_with(r#"42["processingError""#)
            && text.contains(&format!(r#""requestId":"{id}""#))
        {
            anyhow::bail!("request {id} refused: {text}");
        }
        if text.starts_with(r#"42["response""#) && text.contains(&format!(r#""requestId":"{id}""#))
        {
            return Ok(());
        }
        seen(&text);
    }
}

/// [`request_seeing`], ignoring the frames on the way.
pub(super) async fn request(ws: &mut Ws, request: &Value) -> anyhow::Result<()> {
    request_seeing(ws, request, |_| {}).await
}

pub(super) fn runtime(threads: u32, name: &str) -> anyhow::Result<Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads as usize)
        .thread_name(name)
        .enable_all()
        .build()
        .with_context(|| format!("cannot start the {name} runtime"))
}

/// The full stack on a free loopback port, on a virtual clock from `clock_start` (the real
/// clock for none), with the demo accounts when `demo`, and every limit the load could meet
/// raised as far as it goes: the limiters' checks run, none refuses.
pub(super) async fn start_full(
    data_dir: &Path,
    clock_start: Option<&str>,
    demo: bool,
) -> anyhow::Result<Running> {
    const RAISED: [&str; 8] = [
        "connection",
        "cpu_per_",
        "subscri",
        "streaming_per_",
        "client_messages",
        "accounts_per_user",
        "trade_subscription",
        "requests_in_processing",
    ];
    let limits = (drawbridge_limits::Catalogue::default().all().iter())
        .filter(|l| RAISED.iter().any(|p| l.name.starts_with(p)))
        .map(|l| {
            (
                l.name.to_owned(),
                drawbridge_limits::catalog::max_value(l.id),
            )
        })
        .collect();
    let config = Config::build(Layer {
        data_dir: Some(data_dir.to_path_buf()),
        listen: Some("127.0.0.1:0".into()),
        clock: Some(clock_start.map_or(ClockKind::Real, |_| ClockKind::Virtual)),
        clock_start: clock_start.map(Into::into),
        demo: Some(demo),
        limits: Some(limits),
        ..Layer::default()
    })
    .map_err(|problems| anyhow!("invalid configuration: {}", problems.join("; ")))?;
    drawbridge_server::start(config, None)
        .await
        .context("cannot start the full stack")
}

/// One REST call on a fresh connection: the decoded JSON answer of a 2xx (`null` for none).
pub(super) async fn post(
    addr: SocketAddr,
    token: &str,
    path: &str,
    body: &Value,
) -> anyhow::Result<Value> {
    let body = body.to_string();
    let request = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\nauth-token: {token}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(request.as_bytes()).await?;
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).await?;
    let reply = String::from_utf8_lossy(&reply);
    let (head, body) = reply
        .split_once("\r\n\r\n")
        .context("an answer without a head")?;
    ensure!(
        head.starts_with("HTTP/1.1 2"),
        "POST {path}: {head}\n{body}"
    );
    if body.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(body).with_context(|| format!("POST {path}: not JSON: {body}"))
}

/// A demo account of the token's user named `name` with `balance` USD at 1:100, provisioned
/// (deployed and connected) over REST: its id.
pub(super) async fn provision(
    addr: SocketAddr,
    token: &str,
    name: &str,
    balance: u64,
) -> anyhow::Result<String> {
    let demo = json!({"balance": balance, "leverage": 100});
    let creds = post(
        addr,
        token,
        "/users/current/provisioning-profiles/default/mt5-demo-accounts",
        &demo,
    )
    .await?;
    let login = (creds["login"].as_str()).map_or_else(|| creds["login"].to_string(), str::to_owned);
    let account = json!({"login": login, "password": creds["password"],
        "server": creds["serverName"], "name": name});
    let created = post(addr, token, "/users/current/accounts", &account).await?;
    Ok(created["id"].as_str().context("no account id")?.to_owned())
}

/// Where the network benchmarks' virtual clock starts: a Wednesday morning, the market open.
pub(super) const CLOCK_START: &str = "2026-01-07T10:00:00Z";
/// How long the server may take to stop, and a runtime to shut down.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a moving clock is moved.
const CLOCK_STEP: Duration = Duration::from_millis(5);

/// How a network benchmark wants the full stack.
#[derive(Debug, Clone, Copy)]
pub(super) struct Setup {
    /// Names the runtimes' threads (`<name>-server`, `<name>-client`).
    pub(super) name: &'static str,
    pub(super) server_threads: u32,
    pub(super) client_threads: u32,
    /// The virtual clock runs this many times as fast as the wall clock; `None`: it stands.
    pub(super) clock_speed: Option<u32>,
}

/// Starts the full stack on a fresh data dir ([`start_full`]), runs `measure` with the
/// server's and the clients' runtimes, its address and the admin token, and stops everything
/// again (also when measuring failed); what `measure` measured.
pub(super) fn with_full_stack<T>(
    setup: Setup,
    measure: impl FnOnce(&Runtime, &Runtime, SocketAddr, &str) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_env("DRAWBRIDGE_LOG") {
        let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
    }
    let server_rt = runtime(setup.server_threads, &format!("{}-server", setup.name))?;
    let client_rt = runtime(setup.client_threads, &format!("{}-client", setup.name))?;
    let dir = tempfile::tempdir().context("cannot create a temporary data dir")?;
    let full = server_rt.block_on(start_full(dir.path(), Some(CLOCK_START), false))?;
    let clock =
        (setup.clock_speed).map(|speed| server_rt.spawn(move_clock(full.state.clone(), speed)));
    let measured = match full.first_token.clone() {
        Some(token) => measure(&server_rt, &client_rt, full.addr, &token),
        None => Err(anyhow!(
            "the full stack made no admin token on a fresh data dir"
        )),
    };
    if let Some(clock) = clock {
        clock.abort();
    }
    let stopped =
        server_rt.block_on(async { tokio::time::timeout(STOP_TIMEOUT, full.stop()).await });
    client_rt.shutdown_timeout(STOP_TIMEOUT);
    server_rt.shutdown_timeout(STOP_TIMEOUT);
    let measured = measured?;
    ensure!(
        stopped.is_ok(),
        "the full stack did not stop within {} s",
        STOP_TIMEOUT.as_secs()
    );
    Ok(measured)
}

/// Moves the server's virtual clock `speed` times as fast as the wall clock.
async fn move_clock(state: drawbridge_server::state::Shared, speed: u32) {
    let Some(clock) = state.virtual_clock.clone() else {
        return;
    };
    let mut tick = tokio::time::interval(CLOCK_STEP);
    let sw = super::stopwatch::Stopwatch::start();
    let mut moved = Duration::ZERO;
    loop {
        tick.tick().await;
        let ms = (sw.elapsed() - moved).as_millis() as u64;
        clock.advance((ms * u64::from(speed)) as i64);
        moved += Duration::from_millis(ms);
    }
}
