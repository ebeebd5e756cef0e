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
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;
use tokio_tungstenite::tungstenite::Message;

pub(super) type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// Opens a socket on drawbridge's streaming endpoint with `token` and `client_id`, once the
/// server has connected the namespace.
pub(super) async fn connect(addr: SocketAddr, token: &str, client_id: &str) -> anyhow::Result<Ws> {
    let url = format!(
        "ws://{addr}/ws/?EIO=3&transport=websocket&auth-token={token}&clientId={client_id}"
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
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

/// The full stack on a free loopback port, on a virtual clock, with every limit the load
/// could meet raised as far as it goes.
pub(super) async fn start_full(data_dir: &Path, clock_start: &str) -> anyhow::Result<Running> {
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
        clock: Some(ClockKind::Virtual),
        clock_start: Some(clock_start.into()),
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

/// A demo account of the token's user named `name`, provisioned (deployed and connected) over
/// REST: its id.
pub(super) async fn provision(addr: SocketAddr, token: &str, name: &str) -> anyhow::Result<String> {
    let demo = json!({"balance": 10000, "leverage": 100});
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
