//! Limit introspection: what a caller may still spend, the limit catalogue, and the user
//! messages queued for it.

use crate::openapi::Doc;
use crate::openapi::Tag;
use crate::routes::{ACCOUNT, Routes, object_schema};

/// Limit introspection: CPU-credit usage, the limit catalogue, user messages.
pub(crate) fn routes(routes: Routes) -> Routes {
    let acc = ACCOUNT;
    use Tag::Client;
    routes
        .get(
            &format!("{acc}/credits"),
            crate::limits::credit_usage,
            Doc::new(
                "getCpuCreditUsage",
                Client,
                "CPU credits per account, per application and per front-end server: period, total, available",
            )
            .reply_inline(200, object_schema),
        )
        .get(
            "/users/current/user-messages",
            crate::user_messages::list,
            Doc::new(
                "getUserMessages",
                Client,
                "Notices queued for the caller (CQG types: 1 critical error, 2 warning, 3 info, 4 log), oldest first",
            )
            .query(crate::user_messages::LIST_QUERY)
            .reply_inline(200, object_schema),
        )
        .get(
            "/users/current/api-limits",
            crate::limits::api_limits,
            Doc::new(
                "getApiLimits",
                Client,
                "The limits in force: `limits=1,3,390` (none: all), each `{limit, status_code, value, period_sec, description}`",
            )
            .query(crate::limits::API_LIMITS_QUERY)
            .reply_inline(200, object_schema),
        )
}
