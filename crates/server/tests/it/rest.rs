//! The REST API over a real socket on 127.0.0.1 with a real SQLite file: tokens, the
//! demo-account generator, provisioning, the client API, the sim control API, errors in
//! MetaApi's shape, and a restart that changes no response.

use crate::support::{Api, KEY, assert_error, config};
use drawbridge_server::{create_token, start};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rest_api_end_to_end_and_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(config(dir.path()), Some(KEY)).await.unwrap();
    let admin_token = running
        .first_token
        .clone()
        .expect("first start prints a token");
    assert_eq!(
        admin_token.split('.').count(),
        3,
        "API tokens are JWT-shaped"
    );
    let admin = Api::new(&running, &admin_token);

    // Health and the SDK's discovery endpoints need no special setup.
    let (s, v) = admin.get("/health").await;
    assert_eq!((s, v["status"].clone()), (StatusCode::OK, json!("ok")));
    assert_eq!(
        admin.ok(Method::GET, "/users/current/regions", None).await,
        json!(["vint-hill"])
    );

    // No or bad token: 401 in MetaApi's shape.
    let (s, v) = admin.as_token("nope").get("/users/current/accounts").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_error(&v, "UnauthorizedError", "auth.unauthorized");
    let forged = format!("{}x", &admin_token[..admin_token.len() - 1]);
    let (s, _) = admin.as_token(&forged).get("/users/current/accounts").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // The demo generator opens a sim account.
    let demo = admin
        .ok(
            Method::POST,
            "/users/current/provisioning-profiles/default/mt5-demo-accounts",
            Some(json!({"balance": 10000, "leverage": 100, "accountType": "USD", "name": "Demo"})),
        )
        .await;
    let login = demo["login"].as_str().unwrap().to_owned();
    let password = demo["password"].as_str().unwrap().to_owned();
    let investor = demo["investorPassword"].as_str().unwrap().to_owned();
    assert_eq!(demo["serverName"], "Drawbridge-Demo");

    // Provisioning errors: wrong password, unknown server, bad fields.
    let (s, v) = admin
        .post(
            "/users/current/accounts",
            json!({"login": login, "password": "wrong", "server": "Drawbridge-Demo", "name": "x"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_error(&v, "ValidationError", "broker.auth_failed");
    assert_eq!(v["details"], "E_AUTH");
    let (s, v) = admin
        .post(
            "/users/current/accounts",
            json!({"login": login, "password": password, "server": "Nope-Demo", "name": "x"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["details"]["code"], "E_SRV_NOT_FOUND");
    assert!(
        v["details"]["serversByBrokers"]["Drawbridge"]
            .as_array()
            .unwrap()
            .contains(&json!("Drawbridge-Netting"))
    );
    let (s, v) = admin
        .post(
            "/users/current/accounts",
            json!({"login": "12ab", "magic": "x", "platform": "mt9"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let fields: Vec<&str> = v["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["parameter"].as_str().unwrap())
        .collect();
    for f in ["password", "server", "name", "login", "magic", "platform"] {
        assert!(fields.contains(&f), "{f} missing from {fields:?}");
    }
    let (s, v) = admin
        .call(Method::POST, "/users/current/accounts", None)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");

    // Create twice with one transaction id: one account.
    let body = json!({"login": login, "password": password, "server": "Drawbridge-Demo",
                      "name": "Main", "magic": 7, "tags": ["a"]});
    let create = |txn: &'static str| {
        admin
            .http
            .post(format!("{}/users/current/accounts", admin.base))
            .header("auth-token", &admin.token)
            .header("transaction-id", txn)
            .json(&body)
            .send()
    };
    let first: Value = create("abcdefghijklmnopqrstuvwxyzabcdef")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let again: Value = create("abcdefghijklmnopqrstuvwxyzabcdef")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(first["id"], again["id"]);
    // The same transaction id for another account is a conflict, not a replay.
    let other = admin
        .http
        .post(format!("{}/users/current/accounts", admin.base))
        .header("auth-token", &admin.token)
        .header("transaction-id", "abcdefghijklmnopqrstuvwxyzabcdef")
        .json(&json!({"login": "999", "password": "x", "server": "Drawbridge-Demo", "name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::CONFLICT);
    assert_error(
        &other.json().await.unwrap(),
        "ConflictError",
        "request.transaction_conflict",
    );
    let id = first["id"].as_str().unwrap().to_owned();
    let acc = format!("/users/current/accounts/{id}");
    let doc = admin.ok(Method::GET, &acc, None).await;
    assert_eq!(
        (doc["state"].clone(), doc["connectionStatus"].clone()),
        (json!("DEPLOYED"), json!("CONNECTED"))
    );
    assert_eq!(doc["_id"], json!(id));
    assert!(doc.get("password").is_none(), "never returned");
    assert!(
        doc.as_object().unwrap().contains_key("symbol"),
        "every field, null when unset"
    );
    let list = admin.ok(Method::GET, "/users/current/accounts", None).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let mut req = admin.http.get(format!(
        "{}/users/current/accounts?state=UNDEPLOYED",
        admin.base
    ));
    req = req
        .header("auth-token", &admin.token)
        .header("api-version", "2");
    let v2: Value = req.send().await.unwrap().json().await.unwrap();
    assert_eq!(v2, json!({"count": 0, "items": []}));

    // The client API reads the account and trades.
    let info = admin
        .ok(Method::GET, &format!("{acc}/account-information"), None)
        .await;
    assert_eq!(info["balance"], 10000.0);
    assert_eq!(info["login"].to_string().trim_matches('"'), login);
    let sim = admin
        .ok(
            Method::POST,
            "/sim/ticks",
            Some(json!({"symbol": "EURUSD", "bid": 1.1, "ask": 1.10002})),
        )
        .await;
    assert_eq!(sim, json!({}));
    let trade = admin
        .ok(
            Method::POST,
            &format!("{acc}/trade"),
            Some(json!({"actionType": "ORDER_TYPE_BUY", "symbol": "EURUSD", "volume": 1})),
        )
        .await;
    assert_eq!(trade["stringCode"], "TRADE_RETCODE_DONE", "{trade}");
    let position_id = trade["positionId"].as_str().unwrap().to_owned();
    let (s, v) = admin
        .post(
            &format!("{acc}/trade"),
            json!({"actionType": "ORDER_TYPE_BUY", "symbol": "EURUSD", "volume": 0.015}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["details"][0]["parameter"], "volume");
    let (s, v) = admin
        .post(
            &format!("{acc}/trade"),
            json!({"actionType": "ORDER_TYPE_BUY", "symbol": "NOPE", "volume": 1}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    admin
        .ok(
            Method::POST,
            "/sim/ticks",
            Some(json!({"symbol": "EURUSD", "bid": 1.101, "ask": 1.10102})),
        )
        .await;
    let positions = admin
        .ok(Method::GET, &format!("{acc}/positions"), None)
        .await;
    assert_eq!(positions[0]["id"], json!(position_id));
    // Bought 1 lot at the ask 1.10002; the bid is now 1.10100: 0.00098 × 100 000 = 98.00.
    assert_eq!(positions[0]["profit"], 98.0);

    // Market data: the last tick, the book around it, history from the feed.
    let tick = admin
        .ok(
            Method::GET,
            &format!("{acc}/symbols/EURUSD/current-tick"),
            None,
        )
        .await;
    assert_eq!(
        (tick["bid"].clone(), tick["ask"].clone()),
        (json!(1.101), json!(1.10102))
    );
    let book = admin
        .ok(
            Method::GET,
            &format!("{acc}/symbols/EURUSD/current-book"),
            None,
        )
        .await;
    let entries = book["book"].as_array().unwrap();
    assert_eq!(entries.len(), 20, "ten levels a side: {book}");
    let ticks = admin
        .ok(
            Method::GET,
            &format!("{acc}/historical-market-data/symbols/EURUSD/ticks?limit=2"),
            None,
        )
        .await;
    assert_eq!(ticks.as_array().unwrap().len(), 2, "{ticks}");
    assert_eq!(
        ticks[1]["bid"], 1.101,
        "oldest first, the latest last: {ticks}"
    );
    let candles = admin
        .ok(
            Method::GET,
            &format!("{acc}/historical-market-data/symbols/EURUSD/timeframes/1m/candles?limit=3"),
            None,
        )
        .await;
    let candles = candles.as_array().unwrap();
    assert!(!candles.is_empty() && candles.len() <= 3);
    assert!(
        candles
            .windows(2)
            .all(|w| w[0]["time"].as_str() < w[1]["time"].as_str()),
        "oldest first: {candles:?}"
    );
    let (s, v) = admin
        .get(&format!(
            "{acc}/historical-market-data/symbols/EURUSD/timeframes/7m/candles?limit=5000"
        ))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["details"][0]["parameter"], "timeframe", "{v}");
    let (s, v) = admin
        .get(&format!(
            "{acc}/historical-market-data/symbols/EURUSD/ticks?limit=5000&startTime=soon"
        ))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let fields: Vec<&str> = v["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["parameter"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["startTime", "limit"], "{v}");

    admin
        .ok(
            Method::POST,
            "/sim/clock/advance",
            Some(json!({"seconds": 60})),
        )
        .await;
    let close = admin
        .ok(
            Method::POST,
            &format!("{acc}/trade"),
            Some(json!({"actionType": "POSITION_CLOSE_ID", "positionId": position_id})),
        )
        .await;
    assert_eq!(close["stringCode"], "TRADE_RETCODE_DONE", "{close}");
    let deals = admin
        .ok(
            Method::GET,
            &format!("{acc}/history-deals/time/2026-01-01T00:00:00.000Z/2026-02-01T00:00:00.000Z"),
            None,
        )
        .await;
    assert_eq!(
        deals.as_array().unwrap().len(),
        3,
        "deposit, in, out: {deals}"
    );

    // History by position and by ticket.
    let by_position = admin
        .ok(
            Method::GET,
            &format!("{acc}/history-deals/position/{position_id}"),
            None,
        )
        .await;
    assert_eq!(
        by_position.as_array().unwrap().len(),
        2,
        "in and out: {by_position}"
    );
    let out_deal = by_position[1]["id"].as_str().unwrap().to_owned();
    let by_ticket = admin
        .ok(
            Method::GET,
            &format!("{acc}/history-deals/ticket/{out_deal}"),
            None,
        )
        .await;
    assert_eq!(by_ticket.as_array().unwrap().len(), 1);
    assert_eq!(by_ticket[0]["entryType"], "DEAL_ENTRY_OUT", "{by_ticket}");
    let orders = admin
        .ok(
            Method::GET,
            &format!("{acc}/history-orders/position/{position_id}"),
            None,
        )
        .await;
    assert_eq!(
        orders.as_array().unwrap().len(),
        2,
        "open and close: {orders}"
    );
    let first_order = orders[0]["id"].as_str().unwrap().to_owned();
    let one = admin
        .ok(
            Method::GET,
            &format!("{acc}/history-orders/ticket/{first_order}"),
            None,
        )
        .await;
    assert_eq!(one[0]["id"], json!(first_order));
    let (s, v) = admin
        .get(&format!("{acc}/history-deals/position/abc"))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["details"][0]["parameter"], "positionId");

    let (s, _) = admin
        .call(Method::POST, &format!("{acc}/unsubscribe"), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = admin
        .call(Method::DELETE, &format!("{acc}/positions"), None)
        .await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    assert_error(&v, "MethodNotAllowedError", "request.method_not_allowed");

    // Tenancy: another user sees nothing of it; a read-only token cannot trade.
    let store = running.state.store.clone();
    let now = running.state.now();
    let other = create_token(store.clone(), None, Default::default(), None, now)
        .await
        .unwrap();
    let (s, v) = admin.as_token(&other).get(&acc).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_error(&v, "NotFoundError", "account.not_found");
    let narrowed = admin
        .ok(
            Method::POST,
            "/users/current/narrow-down-auth-token",
            Some(json!({"readOnly": true, "resources": [{"entity": "account", "id": id}]})),
        )
        .await;
    let ro = admin.as_token(narrowed["token"].as_str().unwrap());
    ro.ok(Method::GET, &format!("{acc}/positions"), None).await;
    let (s, v) = ro
        .post(
            &format!("{acc}/trade"),
            json!({"actionType": "ORDER_TYPE_BUY", "symbol": "EURUSD", "volume": 1}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_error(&v, "ForbiddenError", "auth.read_only");
    let (s, _) = ro.post("/sim/feed", json!({"paused": true})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Investor password: read-only access at the broker.
    let inv = admin
        .ok(
            Method::POST,
            "/users/current/accounts",
            Some(json!({"login": login, "password": investor, "server": "Drawbridge-Demo", "name": "Investor"})),
        )
        .await;
    let inv_acc = format!("/users/current/accounts/{}", inv["id"].as_str().unwrap());
    let r = admin
        .ok(
            Method::POST,
            &format!("{inv_acc}/trade"),
            Some(json!({"actionType": "ORDER_TYPE_BUY", "symbol": "EURUSD", "volume": 1})),
        )
        .await;
    assert_eq!(r["stringCode"], "TRADE_RETCODE_TRADE_DISABLED");
    let inv_info = admin
        .ok(Method::GET, &format!("{inv_acc}/account-information"), None)
        .await;
    assert_eq!(inv_info["investorMode"], true);

    // Undeployed: the client API refuses.
    admin
        .ok(Method::POST, &format!("{inv_acc}/undeploy"), None)
        .await;
    let (s, v) = admin.get(&format!("{inv_acc}/positions")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_error(&v, "ValidationError", "account.not_deployed");

    // Unknown routes and bad JSON.
    let (s, v) = admin.get("/nope").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_error(&v, "NotFoundError", "request.route_not_found");
    let raw = admin
        .http
        .post(format!("{}{acc}/trade", admin.base))
        .header("auth-token", &admin.token)
        .header("content-type", "application/json")
        .body("{\"actionType\":")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), StatusCode::BAD_REQUEST);

    // Restart on the same data dir: every response the same, byte for byte.
    let paths = [
        acc.clone(),
        format!("{acc}/account-information"),
        format!("{acc}/positions"),
        format!("{acc}/orders"),
        format!("{acc}/history-deals/time/2026-01-01T00:00:00.000Z/2026-02-01T00:00:00.000Z"),
        format!("{acc}/history-orders/time/2026-01-01T00:00:00.000Z/2026-02-01T00:00:00.000Z"),
        "/users/current/accounts".to_owned(),
    ];
    let mut before = Vec::new();
    for p in &paths {
        before.push(admin.get(p).await);
    }
    running.stop().await;
    let again = start(config(dir.path()), Some(KEY)).await.unwrap();
    assert!(again.first_token.is_none(), "the admin token exists");
    let admin = Api::new(&again, &admin_token);
    for (p, b) in paths.iter().zip(before) {
        assert_eq!(admin.get(p).await, b, "{p} changed across the restart");
    }
    again.stop().await;
}
