//! The sim control API (admin tokens only), for users' own tests and ours: push a tick, pause
//! or resume the feed, move a virtual clock, deposit and withdraw. Every change goes through
//! the desk, so it is journaled like a trade.

use crate::auth::Caller;
use crate::error::{ApiError, FieldError, Kind};
use crate::extract::{Fields, JsonObject};
use crate::messages;
use crate::openapi::{Auth, Doc, Tag};
use crate::openapi::{Field, Kind as K, opt, req};
use crate::routes::Routes;
use crate::routes::object_schema;
use crate::state::Shared;
use axum::Json;
use axum::extract::State;
use drawbridge_broker::sim::DEMO_SERVER;
use drawbridge_desk::{DeskError, Op, Outcome};
use serde_json::{Value, json};

/// Longest single virtual-clock advance: a year.
const ADVANCE_SECONDS_MAX: f64 = 366.0 * 86_400.0;
/// Quotes the simulator takes: positive, and far below where profit arithmetic could overflow.
const PRICE_MIN: f64 = 1e-8;
const PRICE_MAX: f64 = 1e7;
/// The largest single balance or credit operation.
const AMOUNT_MAX: f64 = 1e12;

async fn server_index(state: &Shared, name: Option<String>) -> Result<u16, ApiError> {
    let name = name.unwrap_or_else(|| DEMO_SERVER.to_owned());
    let n = name.clone();
    state
        .desk
        .read(move |b| b.server_index(&n))
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| {
            ApiError::field(FieldError::invalid(
                "server",
                Some(json!(name)),
                "unknown trade server",
            ))
        })
}

fn rejected(e: DeskError) -> ApiError {
    match e {
        DeskError::Broker(b) => ApiError::of(Kind::Validation, &messages::SIM_REJECTED, &[&b]),
        other => ApiError::internal(other),
    }
}

/// `POST /sim/ticks` `{server?, symbol, bid, ask}`: applies a quote now.
pub async fn tick(
    State(state): State<Shared>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>, ApiError> {
    caller.require_admin()?;
    let mut f = Fields::new(&body);
    for k in ["symbol", "bid", "ask"] {
        f.require(k);
    }
    let symbol = f.string("symbol");
    let bid = f.number_in("bid", PRICE_MIN, PRICE_MAX);
    let ask = f.number_in("ask", PRICE_MIN, PRICE_MAX);
    let server = f.string("server");
    f.finish()?;
    let (Some(symbol), Some(bid), Some(ask)) = (symbol, bid, ask) else {
        return Err(ApiError::internal("validated fields missing"));
    };
    let server = server_index(&state, server).await?;
    state
        .desk
        .apply(Op::Tick {
            server,
            symbol,
            bid,
            ask,
        })
        .await
        .map_err(rejected)?;
    Ok(Json(json!({})))
}

/// `POST /sim/feed` `{server?, paused}`
pub async fn feed(
    State(state): State<Shared>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>, ApiError> {
    caller.require_admin()?;
    let mut f = Fields::new(&body);
    f.require("paused");
    let paused = f.boolean("paused");
    let server = f.string("server");
    f.finish()?;
    let server = server_index(&state, server).await?;
    let paused = paused.unwrap_or(false);
    state
        .desk
        .apply(Op::Feed { server, paused })
        .await
        .map_err(rejected)?;
    Ok(Json(json!({ "paused": paused })))
}

/// `POST /sim/clock/advance` `{seconds}` under `--clock virtual`.
pub async fn advance(
    State(state): State<Shared>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>, ApiError> {
    caller.require_admin()?;
    let Some(clock) = &state.virtual_clock else {
        return Err(ApiError::of(
            Kind::Validation,
            &messages::CLOCK_NOT_VIRTUAL,
            &[],
        ));
    };
    let mut f = Fields::new(&body);
    f.require("seconds");
    let seconds = f.number("seconds");
    if let Some(s) = seconds
        && !(0.0..=ADVANCE_SECONDS_MAX).contains(&s)
    {
        f.problems.push(FieldError::new(
            "seconds",
            Some(json!(s)),
            messages::FIELD_TOO_LARGE.with(&[&ADVANCE_SECONDS_MAX]),
        ));
    }
    f.finish()?;
    let ms = (seconds.unwrap_or(0.0) * 1_000.0).round() as i64;
    let now = clock.advance(ms);
    state.desk.apply(Op::Advance).await.map_err(rejected)?;
    Ok(Json(json!({ "time": now })))
}

/// `POST /sim/balance` `{server?, login, amount, comment?, credit?}`: a deposit (positive) or
/// withdrawal (negative) as a balance deal, or a credit operation.
pub async fn balance(
    State(state): State<Shared>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>, ApiError> {
    caller.require_admin()?;
    let mut f = Fields::new(&body);
    for k in ["login", "amount"] {
        f.require(k);
    }
    let login = f.integer("login", 1, i64::MAX);
    let amount = f.number_in("amount", -AMOUNT_MAX, AMOUNT_MAX);
    let comment = f.text("comment", 31);
    let credit = f.boolean("credit").unwrap_or(false);
    let server = f.string("server");
    f.finish()?;
    let server = server_index(&state, server).await?;
    let op = Op::Balance {
        server,
        login: login.unwrap_or(0).unsigned_abs(),
        amount_cents: drawbridge_model::Money::from_f64(amount.unwrap_or(0.0)).0,
        comment,
        credit,
    };
    match state.desk.apply(op).await.map_err(rejected)? {
        Outcome::Deal(id) => Ok(Json(json!({ "dealId": id.to_string() }))),
        other => Err(ApiError::internal(format!("unexpected outcome {other:?}"))),
    }
}

// What the OpenAPI document says about this module's query parameters and bodies;
// the parsers above are the truth, so these stay next to them.

pub const TICK_FIELDS: &[Field] = &[
    req("symbol", K::String, "Symbol"),
    req("bid", K::Number, "Bid, 1e-8 to 1e7"),
    req("ask", K::Number, "Ask, 1e-8 to 1e7, not below bid"),
    opt(
        "server",
        K::String,
        "Trade server; the demo server when absent",
    ),
];

pub const FEED_FIELDS: &[Field] = &[
    req("paused", K::Boolean, "Pause or resume the generated feed"),
    opt(
        "server",
        K::String,
        "Trade server; the demo server when absent",
    ),
];

pub const ADVANCE_FIELDS: &[Field] = &[req(
    "seconds",
    K::Number,
    "Seconds to move the virtual clock forward (the feed runs through them)",
)];

pub const BALANCE_FIELDS: &[Field] = &[
    req("login", K::Integer, "Broker login"),
    req(
        "amount",
        K::Number,
        "Positive deposits, negative withdraws; at most 1e12 either way",
    ),
    opt("comment", K::String, "Deal comment, at most 31 characters"),
    opt(
        "credit",
        K::Boolean,
        "A credit operation instead of a balance one",
    ),
    opt(
        "server",
        K::String,
        "Trade server; the demo server when absent",
    ),
];

/// The sim control API (admin tokens only).
pub(crate) fn routes(routes: Routes) -> Routes {
    use Tag::Sim;
    routes
        .post(
            "/sim/ticks",
            tick,
            Doc::new("simTick", Sim, "Applies a tick now")
                .auth(Auth::Admin)
                .fields(TICK_FIELDS)
                .reply_inline(200, object_schema),
        )
        .post(
            "/sim/feed",
            feed,
            Doc::new("simFeed", Sim, "Pauses or resumes the generated feed")
                .auth(Auth::Admin)
                .fields(FEED_FIELDS)
                .reply_inline(200, object_schema),
        )
        .post(
            "/sim/clock/advance",
            advance,
            Doc::new(
                "simAdvanceClock",
                Sim,
                "Moves the virtual clock forward (`--clock virtual`)",
            )
            .auth(Auth::Admin)
            .fields(ADVANCE_FIELDS)
            .reply_inline(200, object_schema),
        )
        .post(
            "/sim/balance",
            balance,
            Doc::new(
                "simBalance",
                Sim,
                "Deposits or withdraws as a balance (or credit) deal",
            )
            .auth(Auth::Admin)
            .fields(BALANCE_FIELDS)
            .reply_inline(200, object_schema),
        )
}
