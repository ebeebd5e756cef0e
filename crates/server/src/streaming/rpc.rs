//! RPC requests over the socket, each answered in-process by the REST route that serves
//! the same call.

use super::{Connection, error_body};
use crate::error::ApiError;
use serde_json::{Value, json};

/// An RPC request, answered by the REST route that serves the same call: the same checks,
/// the same CPU credits, the same errors.
#[derive(Debug)]
pub(super) struct Rpc {
    method: axum::http::Method,
    path: String,
    body: Option<Value>,
    /// The `response` field the REST answer goes in.
    field: &'static str,
    /// History calls also say whether the terminal is still synchronizing (never, here).
    history: bool,
}

impl Rpc {
    pub(super) fn of(kind: &str, req: &Value, account: &str) -> Option<Self> {
        let arg = |k: &str| -> String {
            let v = req.get(k).map_or(String::new(), |v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            });
            segment(&v)
        };
        let acc = format!("/users/current/accounts/{}", segment(account));
        let sym = format!("{acc}/symbols/{}", arg("symbol"));
        let page = || {
            let mut q = Vec::new();
            for k in ["offset", "limit"] {
                if let Some(v) = req.get(k).filter(|v| !v.is_null()) {
                    q.push(format!("{k}={}", segment(&v.to_string())));
                }
            }
            if q.is_empty() {
                String::new()
            } else {
                format!("?{}", q.join("&"))
            }
        };
        let get = |path: String, field, history| Rpc {
            method: axum::http::Method::GET,
            path,
            body: None,
            field,
            history,
        };
        Some(match kind {
            "getAccountInformation" => get(
                format!("{acc}/account-information"),
                "accountInformation",
                false,
            ),
            "getPositions" => get(format!("{acc}/positions"), "positions", false),
            "getPosition" => get(
                format!("{acc}/positions/{}", arg("positionId")),
                "position",
                false,
            ),
            "getOrders" => get(format!("{acc}/orders"), "orders", false),
            "getOrder" => get(format!("{acc}/orders/{}", arg("orderId")), "order", false),
            "getHistoryOrdersByTicket" => get(
                format!("{acc}/history-orders/ticket/{}", arg("ticket")),
                "historyOrders",
                true,
            ),
            "getHistoryOrdersByPosition" => get(
                format!("{acc}/history-orders/position/{}", arg("positionId")),
                "historyOrders",
                true,
            ),
            "getHistoryOrdersByTimeRange" => get(
                format!(
                    "{acc}/history-orders/time/{}/{}{}",
                    arg("startTime"),
                    arg("endTime"),
                    page()
                ),
                "historyOrders",
                true,
            ),
            "getDealsByTicket" => get(
                format!("{acc}/history-deals/ticket/{}", arg("ticket")),
                "deals",
                true,
            ),
            "getDealsByPosition" => get(
                format!("{acc}/history-deals/position/{}", arg("positionId")),
                "deals",
                true,
            ),
            "getDealsByTimeRange" => get(
                format!(
                    "{acc}/history-deals/time/{}/{}{}",
                    arg("startTime"),
                    arg("endTime"),
                    page()
                ),
                "deals",
                true,
            ),
            "getSymbols" => get(format!("{acc}/symbols"), "symbols", false),
            "getSymbolSpecification" => get(format!("{sym}/specification"), "specification", false),
            "getSymbolPrice" => get(format!("{sym}/current-price"), "price", false),
            "getCandle" => get(
                format!("{sym}/current-candles/{}", arg("timeframe")),
                "candle",
                false,
            ),
            "getTick" => get(format!("{sym}/current-tick"), "tick", false),
            "getBook" => get(format!("{sym}/current-book"), "book", false),
            "getServerTime" => get(format!("{acc}/server-time"), "serverTime", false),
            // drawbridge's own (the SDK has no such call): the limits in force, as REST's
            // `GET /users/current/api-limits`; `limits` is a list of ids, none for all.
            "getApiLimits" => {
                let ids = (req.get("limits").and_then(Value::as_array)).map(|ids| {
                    ids.iter()
                        .map(|i| segment(&i.to_string()))
                        .collect::<Vec<_>>()
                });
                let query = ids.map_or(String::new(), |ids| format!("?limits={}", ids.join(",")));
                get(
                    format!("/users/current/api-limits{query}"),
                    "apiLimits",
                    false,
                )
            }
            "calculateMargin" => Rpc {
                method: axum::http::Method::POST,
                path: format!("{acc}/calculate-margin"),
                body: Some(req.get("order").cloned().unwrap_or(Value::Null)),
                field: "margin",
                history: false,
            },
            "trade" => Rpc {
                method: axum::http::Method::POST,
                path: format!("{acc}/trade"),
                body: Some(req.get("trade").cloned().unwrap_or(Value::Null)),
                field: "response",
                history: false,
            },
            _ => return None,
        })
    }

    /// Runs the REST route in-process as the socket's caller, through its front-end server.
    pub(super) async fn call(self, conn: &Connection) -> Result<Value, Value> {
        use tower::ServiceExt as _;
        let mut req = axum::http::Request::builder()
            .method(self.method)
            .uri(&self.path)
            .header(crate::extract::AUTH_HEADER, &conn.token)
            .header("client-id", &conn.client_id);
        let body = match self.body {
            Some(b) => {
                req = req.header(axum::http::header::CONTENT_TYPE, "application/json");
                axum::body::Body::from(b.to_string())
            }
            None => axum::body::Body::empty(),
        };
        let internal = |why: String| error_body("", &ApiError::internal(why));
        let req = req.body(body).map_err(|e| internal(e.to_string()))?;
        let reply = (conn.api.clone().oneshot(req).await).map_err(|e| internal(e.to_string()))?;
        let ok = reply.status().is_success();
        let bytes = axum::body::to_bytes(reply.into_body(), REPLY_BYTES_MAX)
            .await
            .map_err(|e| internal(e.to_string()))?;
        let value: Value = if bytes.is_empty() {
            json!({})
        } else {
            serde_json::from_slice(&bytes).map_err(|e| internal(e.to_string()))?
        };
        if !ok {
            return Err(value);
        }
        let mut answer = json!({ self.field: value });
        if self.history {
            answer["synchronizing"] = json!(false);
        }
        Ok(answer)
    }
}

/// The largest REST answer an RPC request relays (a thousand history records fit easily).
const REPLY_BYTES_MAX: usize = 16 * 1024 * 1024;

/// `s` as one path segment (percent-encoded outside unreserved characters).
pub(super) fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b':') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
