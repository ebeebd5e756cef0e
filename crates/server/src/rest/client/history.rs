//! A deployed account's trade history: deals and history orders by time range, by order
//! ticket or by position, paged with `offset` and `limit`. A time range reaching further back
//! than `historical_orders_days` is cut there, and the answer says so in
//! [`HISTORY_TRUNCATED_HEADER`].

use super::session::{gone, on_account, session};
use crate::auth::Caller;
use crate::error::{ApiError, FieldError};
use crate::extract::{count_param, query_map};
use crate::limits::{Cost, Listed};
use crate::messages;
use crate::openapi::{Doc, Field, Kind as K, Tag, opt};
use crate::routes::{ACCOUNT, Routes};
use crate::state::Shared;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use drawbridge_broker::metaapi as bw;
use drawbridge_limits::catalog::id::HISTORICAL_ORDERS_DAYS;
use drawbridge_model::Timestamp;
use drawbridge_model::wire as w;
use serde_json::json;

/// Largest page of history queries.
const HISTORY_LIMIT_MAX: usize = 1_000;

/// The header an answer carries when its range was cut at `historical_orders_days`: the
/// earliest time served.
pub const HISTORY_TRUNCATED_HEADER: &str = "x-history-truncated-before";

/// Offset and limit of a history query.
fn page(raw: Option<&str>) -> Result<(usize, usize), ApiError> {
    let q = query_map(raw);
    let mut problems = Vec::new();
    let mut count = |key: &str, max: usize| {
        count_param(key, q.get(key).map(String::as_str), max, &mut problems)
    };
    let offset = count("offset", usize::MAX).unwrap_or(0);
    let limit = count("limit", HISTORY_LIMIT_MAX).unwrap_or(HISTORY_LIMIT_MAX);
    if problems.is_empty() {
        Ok((offset, limit))
    } else {
        Err(ApiError::fields(problems))
    }
}

/// A time path parameter; `None` (and a problem noted) when it is not ISO-8601.
fn time_param(name: &str, raw: &str, problems: &mut Vec<FieldError>) -> Option<Timestamp> {
    let decoded = raw.replace("%3A", ":").replace("%3a", ":");
    let t = Timestamp::parse_iso(&decoded).ok();
    if t.is_none() {
        problems.push(FieldError::invalid(
            name,
            Some(json!(raw)),
            "must be an ISO-8601 time",
        ));
    }
    t
}

fn time_range(start: &str, end: &str) -> Result<(Timestamp, Timestamp), ApiError> {
    let mut problems = Vec::new();
    let from = time_param("startTime", start, &mut problems);
    let to = time_param("endTime", end, &mut problems);
    match (from, to) {
        (Some(from), Some(to)) => Ok((from, to)),
        _ => Err(ApiError::fields(problems)),
    }
}

/// A history range, cut at the `historical_orders_days` limit (CQG 261): a start further
/// back than that many days before now becomes that instant, returned as the cut.
fn history_range(
    state: &Shared,
    start: &str,
    end: &str,
) -> Result<(Timestamp, Timestamp, Option<Timestamp>), ApiError> {
    let (from, to) = time_range(start, end)?;
    let days = state.limits.catalogue.value(HISTORICAL_ORDERS_DAYS);
    let span_ms = i64::try_from(days)
        .unwrap_or(i64::MAX)
        .saturating_mul(86_400_000);
    let earliest = state.now().plus_millis(-span_ms.min(i64::MAX / 2));
    Ok(if from < earliest {
        (earliest, to, Some(earliest))
    } else {
        (from, to, None)
    })
}

/// A history list, saying where its range was cut.
fn history_answer<T: serde::Serialize>(list: Vec<T>, cut: Option<Timestamp>) -> Response {
    let mut response = Listed(list).into_response();
    if let Some(t) = cut
        && let Ok(v) = HeaderValue::from_str(&t.to_iso())
    {
        response.headers_mut().insert(HISTORY_TRUNCATED_HEADER, v);
    }
    response
}

/// A ticket or position id path parameter.
fn id_param(name: &str, raw: &str) -> Result<u64, ApiError> {
    raw.parse::<u64>().map_err(|_| {
        ApiError::field(FieldError::invalid(
            name,
            Some(json!(raw)),
            "must be a positive integer",
        ))
    })
}

/// Which history items a by-ticket or by-position query wants.
#[derive(Clone, Copy)]
enum HistoryKey {
    Ticket(u64),
    Position(u64),
}

impl HistoryKey {
    /// `ticket/:ticket` or `position/:positionId`; any other first segment is no route.
    fn parse(kind: &str, value: &str, path: &str) -> Result<Self, ApiError> {
        match kind {
            "ticket" => Ok(Self::Ticket(id_param("ticket", value)?)),
            "position" => Ok(Self::Position(id_param("positionId", value)?)),
            _ => Err(ApiError::not_found(
                &messages::NOT_FOUND_ROUTE,
                &[&"GET", &path],
            )),
        }
    }

    /// Whether the item with this ticket, of this position, is wanted.
    fn wants(self, ticket: u64, position_id: Option<u64>) -> bool {
        match self {
            Self::Ticket(wanted) => ticket == wanted,
            Self::Position(wanted) => position_id == Some(wanted),
        }
    }
}

/// Which deals or history orders a query wants, and which page of them.
#[derive(Clone, Copy)]
struct Wanted {
    from: Timestamp,
    to: Timestamp,
    /// Only those of one ticket or position; every one in the range without it.
    key: Option<HistoryKey>,
    offset: usize,
    limit: usize,
}

impl Wanted {
    /// A time-range query, and where its range was cut.
    fn by_time(
        state: &Shared,
        start: &str,
        end: &str,
        raw: Option<&str>,
    ) -> Result<(Self, Option<Timestamp>), ApiError> {
        let (from, to, cut) = history_range(state, start, end)?;
        let (offset, limit) = page(raw)?;
        let wanted = Self {
            from,
            to,
            key: None,
            offset,
            limit,
        };
        Ok((wanted, cut))
    }

    /// A by-ticket or by-position query under `family` (`history-deals`, `history-orders`).
    fn by_key(family: &str, kind: &str, value: &str, raw: Option<&str>) -> Result<Self, ApiError> {
        let key = HistoryKey::parse(kind, value, &format!("{family}/{kind}/{value}"))?;
        let (offset, limit) = page(raw)?;
        Ok(Self {
            from: Timestamp(i64::MIN),
            to: Timestamp(i64::MAX),
            key: Some(key),
            offset,
            limit,
        })
    }

    /// Whether the item with this ticket, of this position, is wanted (its time is the
    /// broker's to check).
    fn keeps(&self, ticket: u64, position_id: Option<u64>) -> bool {
        self.key.is_none_or(|key| key.wants(ticket, position_id))
    }
}

/// The page of the account's deals that `wanted` selects.
async fn deal_page(
    state: &Shared,
    caller: &Caller,
    id: &str,
    wanted: Wanted,
) -> Result<Vec<w::Deal>, ApiError> {
    let session = session(state, caller, id).await?;
    on_account(state, session, move |broker, engine, _| {
        (broker.deals(&session, wanted.from, wanted.to))
            .unwrap_or_default()
            .iter()
            .filter(|deal| wanted.keeps(deal.id, deal.position_id))
            .skip(wanted.offset)
            .take(wanted.limit)
            .map(|d| bw::deal(engine, d))
            .collect()
    })
    .await?
    .ok_or_else(|| gone(id))
}

/// The page of the account's history orders that `wanted` selects.
async fn history_order_page(
    state: &Shared,
    caller: &Caller,
    id: &str,
    wanted: Wanted,
) -> Result<Vec<w::Order>, ApiError> {
    let session = session(state, caller, id).await?;
    on_account(state, session, move |broker, engine, _| {
        (broker.history_orders(&session, wanted.from, wanted.to))
            .unwrap_or_default()
            .iter()
            .filter(|order| wanted.keeps(order.id, order.position_id))
            .skip(wanted.offset)
            .take(wanted.limit)
            .map(|o| bw::order(engine, o))
            .collect()
    })
    .await?
    .ok_or_else(|| gone(id))
}

/// `GET …/history-deals/time/:startTime/:endTime`
pub async fn deals_by_time(
    State(state): State<Shared>,
    caller: Caller,
    Path((id, start, end)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let (wanted, cut) = Wanted::by_time(&state, &start, &end, raw.as_deref())?;
    let list = deal_page(&state, &caller, &id, wanted).await?;
    Ok(history_answer(list, cut))
}

/// `GET …/history-orders/time/:startTime/:endTime`
pub async fn history_orders_by_time(
    State(state): State<Shared>,
    caller: Caller,
    Path((id, start, end)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let (wanted, cut) = Wanted::by_time(&state, &start, &end, raw.as_deref())?;
    let list = history_order_page(&state, &caller, &id, wanted).await?;
    Ok(history_answer(list, cut))
}

/// `GET …/history-deals/ticket/:ticket` and `…/history-deals/position/:positionId`
pub async fn deals_by_key(
    State(state): State<Shared>,
    caller: Caller,
    Path((id, kind, value)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Listed<w::Deal>, ApiError> {
    let wanted = Wanted::by_key("history-deals", &kind, &value, raw.as_deref())?;
    Ok(Listed(deal_page(&state, &caller, &id, wanted).await?))
}

/// `GET …/history-orders/ticket/:ticket` and `…/history-orders/position/:positionId`
pub async fn history_orders_by_key(
    State(state): State<Shared>,
    caller: Caller,
    Path((id, kind, value)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Listed<w::Order>, ApiError> {
    let wanted = Wanted::by_key("history-orders", &kind, &value, raw.as_deref())?;
    Ok(Listed(
        history_order_page(&state, &caller, &id, wanted).await?,
    ))
}

// What the OpenAPI document says about this module's query parameters; the parsers above are
// the truth, so these stay next to them.

pub const HISTORY_QUERY: &[Field] = &[
    opt("offset", K::Integer, "Records to skip"),
    opt("limit", K::Integer, "Records to answer, at most 1000"),
];

/// Deals and history orders by time range, ticket or position.
pub(super) fn routes(routes: Routes) -> Routes {
    let acc = ACCOUNT;
    use Tag::Client;
    routes
        .get(
            &format!("{acc}/history-deals/time/{{start}}/{{end}}"),
            deals_by_time,
            Doc::new("getDealsByTimeRange", Client, "Deals in a time range")
                .cost(Cost::cpu_per_item(75.0, 0.65))
                .query(HISTORY_QUERY)
                .reply::<Vec<w::Deal>>(),
        )
        .get(
            &format!("{acc}/history-orders/time/{{start}}/{{end}}"),
            history_orders_by_time,
            Doc::new(
                "getHistoryOrdersByTimeRange",
                Client,
                "History orders in a time range",
            )
            .cost(Cost::cpu_per_item(75.0, 0.65))
            .query(HISTORY_QUERY)
            .reply::<Vec<w::Order>>(),
        )
        .get(
            &format!("{acc}/history-deals/{{kind}}/{{value}}"),
            deals_by_key,
            Doc::new(
                "getDealsByTicketOrPosition",
                Client,
                "Deals of an order ticket or a position",
            )
            .cost(Cost::cpu_per_item(75.0, 0.65))
            .reply::<Vec<w::Deal>>(),
        )
        .get(
            &format!("{acc}/history-orders/{{kind}}/{{value}}"),
            history_orders_by_key,
            Doc::new(
                "getHistoryOrdersByTicketOrPosition",
                Client,
                "History orders of a ticket or a position",
            )
            .cost(Cost::cpu_per_item(75.0, 0.65))
            .reply::<Vec<w::Order>>(),
        )
}
