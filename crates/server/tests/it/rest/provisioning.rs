//! The demo-account generator and the provisioning API: the errors of a create, a create
//! made once however often its transaction id is sent, and the account document.

use crate::support::{Api, Fixture, assert_error, invalid_parameters};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A transaction id (32 characters, as the SDK makes them).
const TRANSACTION: &str = "abcdefghijklmnopqrstuvwxyzabcdef";

/// A create of `account` sent with `transaction-id: TRANSACTION`: its status and body.
async fn create_in_transaction(api: &Api, account: &Value) -> (StatusCode, Value) {
    let resp = (api.http)
        .post(format!("{}/users/current/accounts", api.base))
        .header("auth-token", &api.token)
        .header("transaction-id", TRANSACTION)
        .json(account)
        .send()
        .await
        .unwrap();
    (resp.status(), resp.json().await.unwrap())
}

/// An account of a demo login made by the generator, to be created.
async fn new_account(api: &Api) -> Value {
    let demo = api.demo_login().await;
    json!({"login": demo["login"], "password": demo["password"], "server": "Drawbridge-Demo",
           "name": "Main", "magic": 7, "tags": ["a"]})
}

/// A create of [`new_account`] with `changes` laid over it: the answer.
async fn create_changed(api: &Api, changes: Value) -> (StatusCode, Value) {
    let mut account = new_account(api).await;
    if let (Some(account), Some(changes)) = (account.as_object_mut(), changes.as_object()) {
        account.extend(changes.clone());
    }
    api.post("/users/current/accounts", account).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_generator_answers_credentials_on_the_demo_server() {
    let fx = Fixture::start().await;
    let api = &fx.api;
    let demo = api.demo_login().await;
    for field in ["login", "password", "investorPassword"] {
        assert!(demo[field].is_string(), "{field}: {demo}");
    }
    assert_eq!(demo["serverName"], "Drawbridge-Demo");
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_refused_with_e_auth() {
    let fx = Fixture::start().await;
    let api = &fx.api;
    let (s, v) = create_changed(api, json!({"password": "wrong"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_error(&v, "ValidationError", "broker.auth_failed");
    assert_eq!(v["details"], "E_AUTH");
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_server_is_refused_with_the_servers_there_are() {
    let fx = Fixture::start().await;
    let api = &fx.api;
    let (s, v) = create_changed(api, json!({"server": "Nope-Demo"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["details"]["code"], "E_SRV_NOT_FOUND");
    let servers = v["details"]["serversByBrokers"]["Drawbridge"].as_array();
    assert!(
        servers.unwrap().contains(&json!("Drawbridge-Netting")),
        "{v}"
    );
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_names_every_bad_field_at_once_and_needs_a_body() {
    let fx = Fixture::start().await;
    let api = &fx.api;
    let (s, v) = api
        .post(
            "/users/current/accounts",
            json!({"login": "12ab", "magic": "x", "platform": "mt9"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let fields = invalid_parameters(&v);
    for field in ["password", "server", "name", "login", "magic", "platform"] {
        assert!(fields.contains(&field), "{field} missing from {fields:?}");
    }
    let (s, v) = api
        .call(Method::POST, "/users/current/accounts", None)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_sent_twice_with_one_transaction_id_makes_one_account() {
    let fx = Fixture::start().await;
    let api = &fx.api;
    let account = new_account(api).await;
    let (_, first) = create_in_transaction(api, &account).await;
    let (_, again) = create_in_transaction(api, &account).await;
    assert_eq!(first["id"], again["id"]);
    let list = api.read("/users/current/accounts").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_id_sent_again_for_another_account_is_a_conflict() {
    let fx = Fixture::start().await;
    let api = &fx.api;
    let account = new_account(api).await;
    let (s, _) = create_in_transaction(api, &account).await;
    assert!(s.is_success(), "{s}");
    let another = json!({"login": "999", "password": "x", "server": "Drawbridge-Demo",
                         "name": "x"});
    let (s, v) = create_in_transaction(api, &another).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_error(&v, "ConflictError", "request.transaction_conflict");
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_document_has_every_field_and_never_the_password() {
    let fx = Fixture::start().await;
    let api = &fx.api;
    let account = api.demo_account().await;
    let doc = api.read(&account.path).await;
    assert_eq!(
        (doc["state"].clone(), doc["connectionStatus"].clone()),
        (json!("DEPLOYED"), json!("CONNECTED"))
    );
    assert_eq!(doc["_id"], json!(account.id));
    assert!(doc.get("password").is_none(), "never returned");
    assert!(
        doc.as_object().unwrap().contains_key("symbol"),
        "every field, null when unset"
    );
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_version_2_list_filters_by_state_and_counts() {
    let fx = Fixture::start().await;
    let api = &fx.api;
    api.demo_account().await;
    let undeployed = format!("{}/users/current/accounts?state=UNDEPLOYED", api.base);
    let resp = (api.http.get(undeployed))
        .header("auth-token", &api.token)
        .header("api-version", "2")
        .send()
        .await
        .unwrap();
    let v2: Value = resp.json().await.unwrap();
    assert_eq!(v2, json!({"count": 0, "items": []}));
    fx.stop().await;
}
