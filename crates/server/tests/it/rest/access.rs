//! Who may ask what, and how the server says no: the admin token of the first start, the
//! routes that need no setup, 401 for a missing or forged token, tenancy, read-only tokens,
//! and unknown routes, methods and bodies answered in MetaApi's error shape.

use crate::support::{Fixture, assert_error};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_start_prints_a_jwt_shaped_admin_token() {
    let fx = Fixture::start().await;
    let printed = fx.running().first_token.as_deref();
    let token = printed.expect("the first start prints a token");
    assert_eq!(token.split('.').count(), 3, "API tokens are JWT-shaped");
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_the_regions_answer_without_setup() {
    let fx = Fixture::start().await;
    let api = &fx.api;
    let (s, v) = api.get("/health").await;
    assert_eq!((s, v["status"].clone()), (StatusCode::OK, json!("ok")));
    let regions = api.read("/users/current/regions").await;
    assert_eq!(regions, json!(["vint-hill"]));
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_or_forged_token_is_401_in_metaapi_shape() {
    let fx = Fixture::start().await;
    let api = &fx.api;
    let (s, v) = api.as_token("nope").get("/users/current/accounts").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_error(&v, "UnauthorizedError", "auth.unauthorized");
    // The admin's token with its signature's last character changed.
    let token = &api.token;
    let forged = format!("{}x", &token[..token.len() - 1]);
    let (s, _) = api.as_token(&forged).get("/users/current/accounts").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_user_does_not_see_an_account() {
    let fx = Fixture::start().await;
    let api = &fx.api;
    let account = api.demo_account().await;
    let other = api.as_token(&fx.token_of_another_user().await);
    let (s, v) = other.get(&account.path).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_error(&v, "NotFoundError", "account.not_found");
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_token_reads_but_neither_trades_nor_drives_the_simulation() {
    let fx = Fixture::start().await;
    let api = &fx.api;
    let account = api.demo_account().await;
    api.quote(1.1, 1.10002).await;
    let narrowed = api
        .ok(
            Method::POST,
            "/users/current/narrow-down-auth-token",
            Some(json!({"readOnly": true, "resources": [{"entity": "account", "id": account.id}]})),
        )
        .await;
    let read_only = api.as_token(narrowed["token"].as_str().unwrap());
    read_only.read(&account.at("positions")).await;
    let buy = json!({"actionType": "ORDER_TYPE_BUY", "symbol": "EURUSD", "volume": 1});
    let (s, v) = read_only.trade(&account.path, buy).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_error(&v, "ForbiddenError", "auth.read_only");
    let (s, _) = read_only.post("/sim/feed", json!({"paused": true})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_route_is_404_in_metaapi_shape() {
    let fx = Fixture::start().await;
    let api = &fx.api;
    let (s, v) = api.get("/nope").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_error(&v, "NotFoundError", "request.route_not_found");
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_asked_with_a_method_it_does_not_have_is_405() {
    let fx = Fixture::start().await;
    let api = &fx.api;
    let account = api.demo_account().await;
    let (s, v) = api
        .call(Method::DELETE, &account.at("positions"), None)
        .await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    assert_error(&v, "MethodNotAllowedError", "request.method_not_allowed");
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_is_not_json_is_400() {
    let fx = Fixture::start().await;
    let api = &fx.api;
    let account = api.demo_account().await;
    let raw = (api.http)
        .post(format!("{}{}", api.base, account.at("trade")))
        .header("auth-token", &api.token)
        .header("content-type", "application/json")
        .body("{\"actionType\":")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), StatusCode::BAD_REQUEST);
    fx.stop().await;
}
