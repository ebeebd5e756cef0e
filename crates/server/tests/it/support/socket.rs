//! A socket.io client (Engine.IO 3 over a WebSocket, what the SDK speaks) whose frames a task
//! collects.

use super::eventually;
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

/// What the socket received: (when, event name, data).
pub(crate) type Seen = Arc<Mutex<Vec<(Instant, String, Value)>>>;

/// A connected socket.io client.
pub(crate) struct Socket {
    out: mpsc::UnboundedSender<String>,
    pub(crate) seen: Seen,
}

impl Socket {
    pub(crate) async fn open(addr: std::net::SocketAddr, token: &str) -> Self {
        let url =
            format!("ws://{addr}/ws/?EIO=3&transport=websocket&auth-token={token}&clientId=0.5");
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) if t.starts_with("40") => break,
                Some(Ok(_)) => {}
                other => panic!("socket closed before connecting: {other:?}"),
            }
        }
        let (out, mut outgoing) = mpsc::unbounded_channel::<String>();
        let seen: Seen = Arc::default();
        let into = Arc::clone(&seen);
        tokio::spawn(async move {
            let mut ping = tokio::time::interval(Duration::from_secs(10));
            loop {
                tokio::select! {
                    text = outgoing.recv() => {
                        let Some(text) = text else { return };
                        if ws.send(Message::text(text)).await.is_err() { return }
                    }
                    _ = ping.tick() => {
                        if ws.send(Message::text("2")).await.is_err() { return }
                    }
                    frame = ws.next() => {
                        let t = match frame {
                            Some(Ok(Message::Text(t))) => t,
                            Some(_) => continue,
                            None => return,
                        };
                        if let Some(body) = t.strip_prefix("42")
                            && let Ok(Value::Array(a)) = serde_json::from_str::<Value>(body)
                            && let [Value::String(event), data, ..] = a.as_slice()
                        {
                            let seen = (Instant::now(), event.clone(), data.clone());
                            into.lock().unwrap().push(seen);
                        }
                    }
                }
            }
        });
        Self { out, seen }
    }

    /// Sends a request and waits for its response.
    pub(crate) async fn request(&self, request: Value) {
        let id = request["requestId"].clone();
        self.out
            .send(format!("42{}", json!(["request", request])))
            .unwrap();
        self.wait("the response", |e, d| {
            e == "response" && d["requestId"] == id
        })
        .await;
    }

    /// Subscribes an instance of an account and waits for the response.
    pub(crate) async fn subscribe(&self, account: &str, instance: usize) {
        self.request(json!({"type": "subscribe", "accountId": account,
                            "requestId": format!("subscribe-{instance}"),
                            "instanceIndex": instance}))
            .await;
    }

    /// Waits (as long as [`eventually`]) for a received frame that `f` accepts; its data.
    pub(crate) async fn wait(&self, what: &str, f: impl Fn(&str, &Value) -> bool) -> Value {
        eventually(what, async || {
            (self.seen.lock().unwrap().iter())
                .rev()
                .find(|(_, e, d)| f(e, d))
                .map(|(_, _, d)| d.clone())
        })
        .await
    }

    /// The `synchronization` packets of `kind` received after `since`.
    pub(crate) fn packets(&self, kind: &str, since: Instant) -> Vec<Value> {
        (self.seen.lock().unwrap().iter())
            .filter(|(at, e, d)| *at >= since && e == "synchronization" && d["type"] == kind)
            .map(|(_, _, d)| d.clone())
            .collect()
    }

    /// Every `synchronization` packet received.
    pub(crate) fn all(&self) -> Vec<Value> {
        (self.seen.lock().unwrap().iter())
            .filter(|(_, e, _)| e == "synchronization")
            .map(|(_, _, d)| d.clone())
            .collect()
    }
}
