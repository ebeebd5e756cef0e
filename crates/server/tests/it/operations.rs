//! Operations over a real socket: the OpenAPI document matches the router and the wire, the
//! Prometheus metrics count what was asked, and bodies and URLs have size limits.

use crate::support::{Fixture, assert_error};
use drawbridge_server::config::{Config, Layer};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Every `$ref` anywhere under `v`.
fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(o) => {
            if let Some(Value::String(r)) = o.get("$ref") {
                out.push(r);
            }
            o.values().for_each(|x| refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

/// A documented path with each `{param}` replaced by something routable.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|seg| match seg {
            "{kind}" => "ticket",
            "{timeframe}" => "1h",
            "{start}" | "{end}" => "2026-01-07T10:00:00Z",
            s if s.starts_with('{') => "nope",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_metrics_and_size_limits() {
    let demo = Layer {
        demo: Some(true),
        ..Layer::default()
    };
    let mut fx = Fixture::start_with(demo).await;
    // Every documented route is called once, the tracker-event long poll included.
    fx.hold_streams(std::time::Duration::from_millis(100));
    let api = &fx.api;
    let anonymous = api.as_token("");

    // The document needs no token and names every route, the sim control API included.
    let (s, doc) = anonymous.get("/openapi.json").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.0.3");
    let paths = doc["paths"].as_object().unwrap();
    for (path, method) in [
        ("/users/current/accounts", "post"),
        ("/users/current/accounts/{id}/account-information", "get"),
        ("/users/current/accounts/{id}/trade", "post"),
        (
            "/users/current/accounts/{id}/historical-market-data/symbols/{symbol}/ticks",
            "get",
        ),
        ("/sim/ticks", "post"),
        ("/sim/clock/advance", "post"),
        ("/metrics", "get"),
        ("/openapi.json", "get"),
    ] {
        assert!(paths[path][method].is_object(), "{method} {path} missing");
    }
    // Every reference resolves, and operation ids are unique.
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in [
        "AccountInformation",
        "Position",
        "TradeRequest",
        "TradeResponse",
        "Error",
        "MetatraderAccount",
    ] {
        assert!(schemas.contains_key(name), "schema {name} missing");
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected $ref {r}"));
        assert!(schemas.contains_key(name), "dangling $ref {r}");
    }
    let mut ids = BTreeSet::new();
    // Every documented operation is routed: asked with placeholder values, nothing answers
    // "no such route" or "method not allowed".
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            assert!(
                ids.insert(op["operationId"].as_str().unwrap().to_owned()),
                "duplicate operationId in {method} {path}"
            );
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let body = (m == Method::POST || m == Method::PUT).then(|| json!({}));
            let (_, v) = api.call(m, &concrete(path), body).await;
            let key = v["text"]["key"].as_str().unwrap_or_default();
            assert!(
                key != "request.route_not_found" && key != "request.method_not_allowed",
                "{method} {path} is documented but not routed: {v}"
            );
        }
    }

    // A real answer fits its documented schema: every required property is there and
    // nothing undocumented is sent.
    let (_, accounts) = api.get("/users/current/accounts").await;
    let id = accounts[0]["_id"].as_str().unwrap().to_owned();
    let info = api
        .read(&format!("/users/current/accounts/{id}/account-information"))
        .await;
    let schema = &schemas["AccountInformation"];
    let properties = schema["properties"].as_object().unwrap();
    for key in info.as_object().unwrap().keys() {
        assert!(properties.contains_key(key), "{key} is not documented");
    }
    for key in schema["required"].as_array().unwrap() {
        assert!(info.get(key.as_str().unwrap()).is_some(), "{key} missing");
    }

    // Bodies over the limit are 413, request targets over the limit 414, both in the
    // MetaApi shape, before any work is done.
    let big = "x".repeat(Config::build(Layer::default()).unwrap().body_limit_bytes + 1);
    let (s, v) = api
        .post("/sim/ticks", json!({ "symbol": big, "bid": 1, "ask": 1 }))
        .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert_error(&v, "PayloadTooLargeError", "request.body_unreadable");
    let long = format!("/users/current/accounts?query={}", "q".repeat(9000));
    let (s, v) = api.get(&long).await;
    assert_eq!(s, StatusCode::URI_TOO_LONG, "{v}");
    assert_error(&v, "UriTooLongError", "request.uri_too_long");

    // REST reads the token from the header only, never from the URL.
    let in_url = format!("/users/current/accounts?auth-token={}", api.token);
    let (s, v) = anonymous.get(&in_url).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");

    // Metrics count by route template (not raw path), status and error type.
    let (_, v) = api
        .get("/users/current/accounts/nope/account-information")
        .await;
    assert_error(&v, "NotFoundError", "account.not_found");
    let text = anonymous.text("/metrics").await;
    let count = |line_start: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(line_start)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no metric {line_start}\n{text}"))
    };
    let route = "/users/current/accounts/{id}/account-information";
    assert!(
        count(&format!(
            "drawbridge_http_requests_total{{method=\"GET\",route=\"{route}\",status=\"200\"}}"
        )) >= 1.0
    );
    assert!(
        count(&format!(
            "drawbridge_http_requests_total{{method=\"GET\",route=\"{route}\",status=\"404\"}}"
        )) >= 2.0
    );
    assert!(
        count(&format!(
            "drawbridge_http_request_duration_seconds_count{{method=\"GET\",route=\"{route}\"}}"
        )) >= 3.0
    );
    assert!(
        count("drawbridge_errors_total{error=\"NotFoundError\",key=\"account.not_found\"}") >= 1.0
    );
    assert_eq!(
        count("drawbridge_errors_total{error=\"UriTooLongError\",key=\"request.uri_too_long\"}"),
        1.0
    );
    assert_eq!(count("drawbridge_accounts "), 2.0);
    assert_eq!(count("drawbridge_accounts_connected "), 2.0);
    assert!(
        !text.contains("route=\"/users/current/accounts/nope"),
        "raw paths must not become labels"
    );
    fx.stop().await;
}
