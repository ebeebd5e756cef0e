//! The drawbridge server: the HTTP edge in front of the desk and the risk service — the
//! MetaApi REST API, its socket.io streaming API, auth, errors, metrics and TLS.
//!
//! A request walks route ([`app`], [`routes`]) → handler ([`rest`] or [`streaming`]) → limits
//! ([`limits`]) → desk (`drawbridge-desk`) → broker → store, one hop per layer.
//!
//! # Layout
//! - [`boot`]: building and starting the server from a [`config::Config`]: the store, the
//!   first start's admin token, the desk and the risk service, the listeners, the stop.
//! - [`config`]: one validated configuration from file, environment and flags.
//! - [`app`]: the router: the API families and the middleware around them.
//! - [`routes`]: the route table — each row builds the router, the OpenAPI document and the
//!   CPU-credit costs at once.
//! - [`rest`]: the REST API, one module per family (provisioning, client, limits, historical
//!   market data, risk, tokens, sim control, operations), each registering its own routes.
//! - [`streaming`]: the socket.io streaming API the official SDK connects to.
//! - [`limits`]: the MetaApi rate limits at the edge — the CPU-credit charge before each
//!   handler and the socket gates (ledgers and catalogue in `drawbridge-limits`).
//! - [`auth`]: API and account tokens, grants, narrowing and revocation; [`access`]: which
//!   accounts a caller may reach, asked by every route and socket request that names one.
//! - [`directory`]: provisioned accounts and their broker sessions, by id.
//! - [`state`]: what handlers share.
//! - [`error`] and [`messages`]: the one error shape and the one catalogue of texts;
//!   [`user_messages`]: notices queued for a user outside any request.
//! - [`extract`]: extractors whose failures are MetaApi errors; [`extract::body`] reads a
//!   request body against the field table the OpenAPI document lists.
//! - [`openapi`]: the OpenAPI document, built from the route table.
//! - [`metrics`]: Prometheus counters and latency histograms (`/metrics`).
//! - [`vault`]: broker passwords encrypted at rest.
//! - [`listener`] and [`tls`]: accepting connections (the per-IP connection limits, no
//!   delay), the local CA and the server certificate for the SDK's host names.

pub mod access;
pub mod app;
pub mod auth;
pub mod boot;
pub mod config;
pub mod directory;
pub mod error;
pub mod extract;
pub mod limits;
pub mod listener;
pub mod messages;
pub mod metrics;
pub mod openapi;
pub mod rest;
pub mod routes;
pub mod state;
pub mod streaming;
pub mod tls;
pub mod user_messages;
pub mod vault;

pub use boot::{ADMIN_USER, Running, ServeError, build, create_token, open_store, serve, start};
