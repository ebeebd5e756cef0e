//! The route table: each route registered with its documentation, so one table builds the
//! router, the OpenAPI document and the CPU-credit costs. Each API family under [`crate::rest`]
//! adds its own rows.

use crate::limits::CostTable;
use crate::openapi::{self, Auth, Doc, Operation, Tag};
use crate::state::Shared;
use axum::Router;
use axum::body::Bytes;
use axum::handler::Handler;
use axum::http::Method;
use axum::http::header::CONTENT_TYPE;
use axum::routing::{MethodFilter, get, on};
use serde_json::{Value, json};

/// A trading account's path; the client, risk and limits families live under it.
pub(crate) const ACCOUNT: &str = "/users/current/accounts/{id}";
/// A symbol of a trading account.
pub(crate) const SYMBOL: &str = "/users/current/accounts/{id}/symbols/{symbol}";

/// A reply documented as some JSON object.
pub(crate) fn object_schema() -> Value {
    json!({"type": "object"})
}

/// A reply documented as a list of JSON objects.
pub(crate) fn array_schema() -> Value {
    json!({"type": "array", "items": {"type": "object"}})
}

/// Routes registered together with their documentation.
#[derive(Default)]
pub(crate) struct Routes {
    router: Router<Shared>,
    operations: Vec<Operation>,
}

impl Routes {
    fn add<H, T>(
        mut self,
        method: Method,
        filter: MethodFilter,
        path: &str,
        handler: H,
        doc: Doc,
    ) -> Self
    where
        H: Handler<T, Shared>,
        T: 'static,
    {
        self.router = self.router.route(path, on(filter, handler));
        self.operations.push(Operation {
            method,
            path: path.to_owned(),
            doc,
        });
        self
    }

    pub(crate) fn get<H: Handler<T, Shared>, T: 'static>(
        self,
        path: &str,
        handler: H,
        doc: Doc,
    ) -> Self {
        self.add(Method::GET, MethodFilter::GET, path, handler, doc)
    }

    pub(crate) fn post<H: Handler<T, Shared>, T: 'static>(
        self,
        path: &str,
        handler: H,
        doc: Doc,
    ) -> Self {
        self.add(Method::POST, MethodFilter::POST, path, handler, doc)
    }

    pub(crate) fn put<H: Handler<T, Shared>, T: 'static>(
        self,
        path: &str,
        handler: H,
        doc: Doc,
    ) -> Self {
        self.add(Method::PUT, MethodFilter::PUT, path, handler, doc)
    }

    pub(crate) fn delete<H: Handler<T, Shared>, T: 'static>(
        self,
        path: &str,
        handler: H,
        doc: Doc,
    ) -> Self {
        self.add(Method::DELETE, MethodFilter::DELETE, path, handler, doc)
    }

    /// The router, with `GET /openapi.json` serving the document of every route (itself
    /// included), and the cost of every costed route for the rate limiter.
    pub(crate) fn finish(mut self) -> (Router<Shared>, CostTable) {
        let mut costs = CostTable::new();
        for op in &self.operations {
            if let Some(cost) = op.doc.costs() {
                costs
                    .entry(op.path.clone())
                    .or_default()
                    .push((op.method.clone(), (op.doc.operation_id(), cost)));
            }
        }
        self.operations.push(Operation {
            method: Method::GET,
            path: OPENAPI_PATH.into(),
            doc: Doc::new("openApi", Tag::Operations, "This document")
                .auth(Auth::Public)
                .reply_inline(200, object_schema),
        });
        // Serialized once: every request gets the same bytes.
        let document = Bytes::from(openapi::document(&self.operations).to_string());
        let router = self.router.route(
            OPENAPI_PATH,
            get(move || {
                let document = document.clone();
                async move { ([(CONTENT_TYPE, "application/json")], document) }
            }),
        );
        (router, costs)
    }
}

/// Where the OpenAPI document is served.
pub const OPENAPI_PATH: &str = "/openapi.json";
