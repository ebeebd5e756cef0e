//! The one path from an error to the wire: MetaApi's error shape
//! `{id, error, message, details | metadata, text: {key, param, text}}`.
//!
//! Handlers return [`ApiError`]; internal failures become `InternalError` with only a request
//! id in the body, the cause going to the log.

use crate::messages::{self, Message, Text};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

/// One bad field of a request: MetaApi's `ValidationDetails` item.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct FieldError {
    pub parameter: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    pub message: String,
    pub text: Text,
}

impl FieldError {
    pub fn new(parameter: &str, value: Option<Value>, text: Text) -> Self {
        Self {
            parameter: parameter.to_owned(),
            value,
            message: text.text.clone(),
            text,
        }
    }

    pub fn required(parameter: &str) -> Self {
        Self::new(parameter, None, messages::FIELD_REQUIRED.text())
    }

    pub fn invalid(parameter: &str, value: Option<Value>, why: &str) -> Self {
        Self::new(parameter, value, messages::FIELD_INVALID.with(&[&why]))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Validation,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    /// A request body over the size limit (413).
    PayloadTooLarge,
    /// A request target (path and query) over the length limit (414).
    UriTooLong,
    TooManyRequests,
    Internal,
}

impl Kind {
    fn status(self) -> StatusCode {
        match self {
            Self::Validation => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UriTooLong => StatusCode::URI_TOO_LONG,
            Self::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Validation => "ValidationError",
            Self::Unauthorized => "UnauthorizedError",
            Self::Forbidden => "ForbiddenError",
            Self::NotFound => "NotFoundError",
            Self::MethodNotAllowed => "MethodNotAllowedError",
            Self::Conflict => "ConflictError",
            Self::PayloadTooLarge => "PayloadTooLargeError",
            Self::UriTooLong => "UriTooLongError",
            Self::TooManyRequests => "TooManyRequestsError",
            Self::Internal => "InternalError",
        }
    }

    /// MetaApi's numeric error id.
    fn id(self) -> u16 {
        match self {
            Self::Validation => 1,
            Self::Unauthorized => 2,
            Self::Forbidden => 3,
            Self::NotFound => 4,
            Self::Conflict => 5,
            Self::TooManyRequests => 6,
            Self::Internal => 7,
            Self::MethodNotAllowed => 8,
            Self::PayloadTooLarge => 9,
            Self::UriTooLong => 10,
        }
    }
}

/// What an error response says. Boxed inside [`ApiError`], so that `Result<T, ApiError>`
/// stays one word wide on every handler's path.
#[derive(Debug)]
pub struct ErrorParts {
    pub kind: Kind,
    pub text: Text,
    pub details: Option<Value>,
    pub metadata: Option<Value>,
    /// What went wrong inside, for the log only.
    pub cause: Option<String>,
    /// Seconds for the `Retry-After` header of a 429.
    pub retry_after_secs: Option<u64>,
}

#[derive(Debug)]
pub struct ApiError(Box<ErrorParts>);

impl std::ops::Deref for ApiError {
    type Target = ErrorParts;
    fn deref(&self) -> &ErrorParts {
        &self.0
    }
}

impl std::ops::DerefMut for ApiError {
    fn deref_mut(&mut self) -> &mut ErrorParts {
        &mut self.0
    }
}

impl ApiError {
    pub fn new(kind: Kind, text: Text) -> Self {
        Self(Box::new(ErrorParts {
            kind,
            text,
            details: None,
            metadata: None,
            cause: None,
            retry_after_secs: None,
        }))
    }

    pub fn of(kind: Kind, m: &'static Message, params: &[&dyn std::fmt::Display]) -> Self {
        Self::new(kind, m.with(params))
    }

    pub fn unauthorized() -> Self {
        Self::of(Kind::Unauthorized, &messages::UNAUTHORIZED, &[])
    }

    pub fn forbidden(m: &'static Message, params: &[&dyn std::fmt::Display]) -> Self {
        Self::of(Kind::Forbidden, m, params)
    }

    pub fn not_found(m: &'static Message, params: &[&dyn std::fmt::Display]) -> Self {
        Self::of(Kind::NotFound, m, params)
    }

    /// 400 with field-level details.
    pub fn fields(details: Vec<FieldError>) -> Self {
        let mut e = Self::of(Kind::Validation, &messages::VALIDATION, &[]);
        e.details = serde_json::to_value(details).ok();
        e
    }

    pub fn field(detail: FieldError) -> Self {
        Self::fields(vec![detail])
    }

    /// 400 with details other than a field list (`"E_AUTH"`, `{code, serversByBrokers}`).
    pub fn validation(text: Text, details: Value) -> Self {
        let mut e = Self::new(Kind::Validation, text);
        e.details = Some(details);
        e
    }

    /// 500: the cause is logged, never sent.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        let mut e = Self::new(Kind::Internal, messages::INTERNAL.text());
        e.cause = Some(cause.to_string());
        e
    }

    pub fn with_metadata(mut self, metadata: Value) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// Adds a `Retry-After: secs` header (a 429's advice).
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }
}

impl From<drawbridge_store::StoreError> for ApiError {
    fn from(e: drawbridge_store::StoreError) -> Self {
        Self::internal(e)
    }
}

/// MetaApi's error shape, as every error answer carries it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[schemars(rename = "Error")]
pub struct ErrorBody<'a> {
    /// MetaApi's numeric error id.
    id: u16,
    /// The error type: `ValidationError`, `UnauthorizedError`, `NotFoundError`, …
    error: &'static str,
    /// The English text (the same as `text.text`).
    message: &'a str,
    /// ValidationError: the list of bad fields (`parameter`, `value`, `message`, `text`);
    /// broker errors: `{code, serversByBrokers}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<&'a Value>,
    /// The catalogue message: stable key, parameters, English text.
    text: &'a Text,
}

/// What went wrong inside an internal error, carried on its response to the request-id
/// middleware, which logs it with the request's id; it is never sent to the client.
#[derive(Debug, Clone)]
pub struct ErrorCause(pub String);

impl ApiError {
    /// The text sent: an internal error's only says where to look (the cause goes to the log).
    fn sent_text(&self) -> Text {
        if self.kind == Kind::Internal {
            messages::INTERNAL.with(&[&"(see the X-Request-Id header)"])
        } else {
            self.text.clone()
        }
    }

    /// The body clients read, as JSON: the REST answer, and the fields of the streaming
    /// API's `processingError`.
    pub fn body(&self) -> Value {
        let text = self.sent_text();
        let body = ErrorBody {
            id: self.kind.id(),
            error: self.kind.name(),
            message: &text.text,
            details: self.details.as_ref(),
            metadata: self.metadata.as_ref(),
            text: &text,
        };
        serde_json::to_value(&body).unwrap_or_default()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = self.body();
        let key = self.sent_text().key;
        let parts = *self.0;
        let cause = parts.cause;
        let mut response = (parts.kind.status(), axum::Json(body)).into_response();
        if let Some(secs) = parts.retry_after_secs {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response
            .extensions_mut()
            .insert(crate::metrics::ErrorLabel {
                error: parts.kind.name(),
                key,
            });
        if let Some(cause) = cause {
            response.extensions_mut().insert(ErrorCause(cause));
        }
        response
    }
}
