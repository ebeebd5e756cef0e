//! Request extractors whose failures are MetaApi errors: the authenticated [`Caller`], a JSON
//! body read as a loose object and checked field by field ([`Fields`]) or against its field
//! table ([`body`]), and query strings.

pub mod body;

use crate::auth::Caller;
use crate::error::{ApiError, FieldError};
use crate::messages;
use crate::state::Shared;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// The header carrying the token on REST (the websocket handshake's query parameter too).
pub const AUTH_HEADER: &str = "auth-token";

impl FromRequestParts<Shared> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, ApiError> {
        // The rate limiter authenticated the request already.
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        // REST takes the token from the header only: a token in the URL ends up in proxies'
        // and browsers' histories. (The websocket handshake reads its query parameter itself.)
        let token = parts.headers.get(AUTH_HEADER).and_then(|v| v.to_str().ok());
        let token = token.ok_or_else(ApiError::unauthorized)?;
        state.tokens.authenticate(token.trim()).await
    }
}

/// A JSON object body. An absent body is an empty object: the SDK sends none with deploy,
/// undeploy and friends.
#[derive(Debug, Default)]
pub struct JsonObject(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                // Over the limit is 413; a body cut short or unreadable is the client's 400.
                let kind = if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    crate::error::Kind::PayloadTooLarge
                } else {
                    crate::error::Kind::Validation
                };
                ApiError::new(kind, messages::BODY_TOO_LARGE.with(&[&e.body_text()]))
            })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::default());
        }
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok(Self(map)),
            Ok(_) => Err(ApiError::new(
                crate::error::Kind::Validation,
                messages::VALIDATION_JSON.with(&[&"expected an object"]),
            )),
            Err(e) => Err(ApiError::new(
                crate::error::Kind::Validation,
                messages::VALIDATION_JSON.with(&[&e]),
            )),
        }
    }
}

/// Field-by-field reading of an object that collects every problem.
#[derive(Debug)]
pub struct Fields<'a> {
    obj: &'a Map<String, Value>,
    pub problems: Vec<FieldError>,
}

impl<'a> Fields<'a> {
    pub fn new(obj: &'a Map<String, Value>) -> Self {
        Self {
            obj,
            problems: Vec::new(),
        }
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.obj.get(key).filter(|v| !v.is_null())
    }

    fn bad(&mut self, key: &str, why: &str) {
        let value = self.obj.get(key).cloned();
        self.problems.push(FieldError::invalid(key, value, why));
    }

    /// Whether the object names `key` at all, `null` included.
    pub fn names(&self, key: &str) -> bool {
        self.obj.contains_key(key)
    }

    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn require(&mut self, key: &str) {
        if !self.has(key) {
            self.problems.push(FieldError::required(key));
        }
    }

    pub fn string(&mut self, key: &str) -> Option<String> {
        match self.get(key)? {
            Value::String(s) => Some(s.clone()),
            _ => {
                self.bad(key, "must be a string");
                None
            }
        }
    }

    /// A non-empty string of at most `max` characters.
    pub fn text(&mut self, key: &str, max: usize) -> Option<String> {
        let s = self.string(key)?;
        if s.trim().is_empty() || s.chars().count() > max {
            self.bad(key, &format!("must be 1 to {max} characters"));
            return None;
        }
        Some(s)
    }

    pub fn boolean(&mut self, key: &str) -> Option<bool> {
        match self.get(key)? {
            Value::Bool(b) => Some(*b),
            _ => {
                self.bad(key, "must be true or false");
                None
            }
        }
    }

    pub fn number(&mut self, key: &str) -> Option<f64> {
        match self.get(key)?.as_f64() {
            Some(v) if v.is_finite() => Some(v),
            _ => {
                self.bad(key, "must be a number");
                None
            }
        }
    }

    /// A finite number within `min..=max`.
    pub fn number_in(&mut self, key: &str, min: f64, max: f64) -> Option<f64> {
        let v = self.number(key)?;
        if (min..=max).contains(&v) {
            Some(v)
        } else {
            self.bad(key, &format!("must be a number from {min} to {max}"));
            None
        }
    }

    pub fn integer(&mut self, key: &str, min: i64, max: i64) -> Option<i64> {
        match self.get(key)?.as_i64() {
            Some(v) if (min..=max).contains(&v) => Some(v),
            _ => {
                self.bad(key, &format!("must be an integer from {min} to {max}"));
                None
            }
        }
    }

    pub fn one_of(&mut self, key: &str, options: &[&str]) -> Option<String> {
        let s = self.string(key)?;
        if !options.contains(&s.as_str()) {
            let value = self.obj.get(key).cloned();
            self.problems.push(FieldError::new(
                key,
                value,
                messages::FIELD_ONE_OF.with(&[&options.join(", ")]),
            ));
            return None;
        }
        Some(s)
    }

    pub fn strings(&mut self, key: &str, max_items: usize) -> Option<Vec<String>> {
        let Value::Array(items) = self.get(key)? else {
            self.bad(key, "must be a list of strings");
            return None;
        };
        if items.len() > max_items {
            self.bad(key, &format!("must have at most {max_items} items"));
            return None;
        }
        let out: Option<Vec<String>> = items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect();
        if out.is_none() {
            self.bad(key, "must be a list of strings");
        }
        out
    }

    /// Any JSON object whose serialization is at most `max_bytes`.
    pub fn object(&mut self, key: &str, max_bytes: usize) -> Option<Value> {
        let v = self.get(key)?;
        if !v.is_object() {
            self.bad(key, "must be an object");
            return None;
        }
        if v.to_string().len() > max_bytes {
            self.bad(key, &format!("must be at most {max_bytes} bytes as JSON"));
            return None;
        }
        Some(v.clone())
    }

    /// Ok when no problem was found.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(ApiError::fields(self.problems))
        }
    }
}

/// A count query parameter (`offset`, `limit`): absent or empty is `None`; a value that is not
/// a whole number, or is above `max`, is noted in `problems` and also gives `None`.
pub fn count_param(
    key: &str,
    value: Option<&str>,
    max: usize,
    problems: &mut Vec<FieldError>,
) -> Option<usize> {
    let v = value.filter(|v| !v.is_empty())?;
    match v.parse::<usize>() {
        Ok(n) if n <= max => Some(n),
        Ok(_) => {
            problems.push(FieldError::new(
                key,
                Some(serde_json::json!(v)),
                messages::FIELD_TOO_LARGE.with(&[&max]),
            ));
            None
        }
        Err(_) => {
            problems.push(FieldError::invalid(
                key,
                Some(serde_json::json!(v)),
                "must be a whole number",
            ));
            None
        }
    }
}

/// A query string's keys and values, percent-decoded; the first of repeated keys wins and
/// pairs without `=` are ignored.
pub fn query_map(raw: Option<&str>) -> HashMap<String, String> {
    let mut map = HashMap::new();
    for (k, v) in raw
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.split_once('='))
    {
        map.entry(percent_decode(k))
            .or_insert_with(|| percent_decode(v));
    }
    map
}

/// Decodes `%XX` escapes and `+` (a space in query strings); malformed escapes stay as
/// they are.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let hex = |c: u8| (c as char).to_digit(16);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                b.get(i + 1).copied().and_then(hex),
                b.get(i + 2).copied().and_then(hex),
            ) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
