//! The one catalogue of user-facing texts. Every error and user message the server sends
//! carries `text: {key, param, text}`: a stable key clients can match on, its positional
//! parameters, and the English text. `docs/messages.md` is generated from [`CATALOGUE`]
//! (`drawbridge messages`); a test fails when it is stale.

use serde::Serialize;

/// One catalogue entry: `{0}`, `{1}`, … in `format` are replaced by the parameters.
#[derive(Debug, PartialEq, Eq)]
pub struct Message {
    pub key: &'static str,
    pub format: &'static str,
    /// Where the server uses it, for the generated documentation.
    pub used: &'static str,
}

macro_rules! catalogue {
    ($($name:ident = $key:literal, $format:literal, $used:literal;)*) => {
        $(
            pub static $name: Message = Message { key: $key, format: $format, used: $used };
        )*
        /// Every message, in declaration order.
        pub static CATALOGUE: &[&Message] = &[$(&$name),*];
    };
}

catalogue! {
    UNAUTHORIZED = "auth.unauthorized",
        "Authorization token is missing, invalid or revoked",
        "any route: 401 without a valid `auth-token`";
    FORBIDDEN_READ_ONLY = "auth.read_only",
        "This token grants read-only access",
        "any changing route called with a read-only token";
    FORBIDDEN_ACCOUNT = "auth.account_not_granted",
        "This token does not grant access to account {0}",
        "account routes called with a token limited to other accounts";
    FORBIDDEN_ADMIN = "auth.admin_only",
        "This operation needs an admin token",
        "sim control routes, user management";
    FORBIDDEN_API_TOKEN = "auth.api_token_only",
        "This operation needs an API token, not an account token",
        "routes an account token may not call";
    ACCOUNT_NOT_FOUND = "account.not_found",
        "Trading account {0} not found",
        "any route naming an account the caller cannot see";
    ACCOUNT_NOT_DEPLOYED = "account.not_deployed",
        "Trading account {0} is not deployed; deploy it before calling the trading API",
        "client API routes on an undeployed account";
    ACCOUNT_NOT_CONNECTED = "account.not_connected",
        "Trading account {0} is not connected to the broker",
        "client API routes while the account has no broker session";
    ACCOUNT_LIMIT = "account.limit",
        "You have reached the limit of {0} trading accounts",
        "account creation beyond the per-user account limit";
    BROKER_AUTH = "broker.auth_failed",
        "Failed to authenticate to the broker with login {0} on server {1}: check the login and password",
        "account create/update/deploy: details E_AUTH";
    BROKER_SERVER_NOT_FOUND = "broker.server_not_found",
        "Server file for {0} not found: check the server name",
        "account create/update: details {code: E_SRV_NOT_FOUND, serversByBrokers}";
    TRADE_INVESTOR = "trade.investor_mode",
        "Trading account {0} is connected with the investor password: trading is disabled",
        "trade route on an account provisioned with the investor password";
    ACCOUNTS_NEAR_LIMIT = "user.accounts_near_limit",
        "Your current number of accounts is {0}. If your number of accounts exceeds {1}, new accounts will be refused",
        "user message (warning) when a user's accounts reach 99% of accounts_per_user";
    LIMIT_CPU_CREDITS = "limit.cpu_credits",
        "The {0} API allows {1} CPU credits per {2} to avoid overloading the server. Please wait some time and retry your request",
        "429 on a client-API route: a CPU-credit window of the application, its front-end server or the account is used up (metadata.recommendedRetryTime)";
    LIMIT_CPU_OVER_QUOTA = "limit.cpu_credits_over_quota",
        "The {0} API needs {1} CPU credits, more than the {2} allowed per {3}",
        "403 on a client-API route whose cost alone exceeds a quota (waiting would not help)";
    LIMIT_TRACKING_FULL = "limit.tracking_full",
        "The server tracks too many rate-limit keys right now. Please retry later",
        "429 when the credit ledger holds its maximum of live keys (ledger_keys_max)";
    LIMIT_CONCURRENT_MARKET_DATA = "limit.concurrent_market_data",
        "At most {0} historical market data requests may be in processing per account. Please retry when one has finished",
        "429 LIMIT_CONCURRENT_MARKET_DATA_REQUESTS_PER_ACCOUNT on historical candles and ticks";
    LIMIT_API_LIMITS_BUSY = "limit.api_limits_in_processing",
        "At most {0} API-limit request may be in processing at once. Please retry when it has finished",
        "429 on GET /users/current/api-limits while another one of the user's is running";
    STREAMING_REQUEST_UNSUPPORTED = "streaming.request_unsupported",
        "The streaming API does not serve {0} requests yet",
        "processingError for a streaming request type drawbridge does not serve yet";
    LIMIT_SUBSCRIPTIONS_PER_SOCKET = "limit.subscriptions_per_socket",
        "At most {0} accounts may be subscribed on one streaming connection. Please open another connection",
        "processingError (TooManyRequestsError) on a subscribe past trade_subscription_accounts";
    LIMIT_SYNCHRONIZATION = "limit.terminal_synchronization",
        "A terminal synchronization limit is reached: {0}. Please retry later",
        "processingError (TooManyRequestsError) on subscribe or synchronize: subscribe rate, subscriptions per user, per user on a server, per server (with changeClientIdHeader), concurrent synchronizations";
    STREAMING_NOT_SUBSCRIBED = "streaming.not_subscribed",
        "Account {0} instance {1} is not subscribed on this connection: subscribe before synchronizing",
        "processingError for synchronize on an (account, instance) the socket did not subscribe";
    LIMIT_REQUESTS_IN_PROCESSING = "limit.requests_in_processing",
        "At most {0} requests may be in processing on one streaming connection. Please wait for answers",
        "processingError (TooManyRequestsError) past requests_in_processing_per_session";
    CONNECTION_FLOOD = "connection.flood",
        "More than {0} messages in {1} s: the connection is closed",
        "user message (critical error), then the streaming connection is closed (client_messages_rate)";
    CONNECTION_UNREADY = "connection.unready",
        "No account was subscribed within {0} s: the connection is closed",
        "user message (critical error), then a streaming connection that subscribed nothing is closed (unready_socket_close_secs)";
    CONNECTION_RATE = "connection.rate",
        "More than {0} streaming connections from your address in {1} s: the connection is closed. Please retry later",
        "user message (critical error), then a new streaming connection past connection_rate from one address is closed";
    VALIDATION = "request.validation",
        "Validation failed",
        "400 ValidationError: the details list every bad field";
    VALIDATION_JSON = "request.malformed_json",
        "The request body is not valid JSON: {0}",
        "any route taking a JSON body";
    VALIDATION_QUERY = "request.malformed_query",
        "The query string is invalid: {0}",
        "any route taking query parameters";
    FIELD_REQUIRED = "field.required",
        "is required",
        "validation detail: a missing field";
    FIELD_INVALID = "field.invalid",
        "is invalid: {0}",
        "validation detail: a field of the wrong type or format";
    FIELD_UNKNOWN_SYMBOL = "field.unknown_symbol",
        "unknown symbol {0}",
        "validation detail: a symbol the trade server does not list";
    FIELD_TOO_LARGE = "field.too_large",
        "must be at most {0}",
        "validation detail: a number or list above its limit";
    FIELD_ONE_OF = "field.one_of",
        "must be one of {0}",
        "validation detail: an enum value the server does not know";
    BODY_TOO_LARGE = "request.body_unreadable",
        "The request body cannot be read: {0}",
        "any route: a body over the size limit or cut short";
    NOT_FOUND_ROUTE = "request.route_not_found",
        "No route {0} {1}",
        "404 for unknown paths";
    URI_TOO_LONG = "request.uri_too_long",
        "The request target is {0} bytes long; the limit is {1}",
        "414 for a path and query over the server's `url-limit-bytes`";
    METHOD_NOT_ALLOWED = "request.method_not_allowed",
        "Method {0} is not allowed on {1}",
        "405 for a known path asked with another method";
    NO_QUOTE = "market.no_quote",
        "Symbol {0} has no quote yet",
        "current-price, current-tick, current-book: a symbol that has not been quoted";
    TOKEN_NOT_FOUND = "auth.token_not_found",
        "Token {0} not found",
        "auth-tokens/:id revoke naming a token the caller does not own";
    NOT_FOUND_POSITION = "trade.position_not_found",
        "Position {0} not found",
        "positions/:id";
    NOT_FOUND_ORDER = "trade.order_not_found",
        "Order {0} not found",
        "orders/:id";
    CONFLICT_TRANSACTION = "request.transaction_conflict",
        "Transaction {0} was used for a different request",
        "account create with a reused transaction-id";
    INTERNAL = "server.internal",
        "Internal error; the server logged it with request id {0}",
        "500 InternalError: nothing else is disclosed";
    CLOCK_NOT_VIRTUAL = "sim.clock_not_virtual",
        "The clock is real time; start the server with --clock virtual to move it",
        "POST /sim/clock/advance under a real clock";
    RISK_API_DISABLED = "risk.api_disabled",
        "The risk management API is not enabled for trading account {0}: enable it first (riskManagementApiEnabled)",
        "risk management routes on an account without riskManagementApiEnabled";
    RISK_TRACKER_NOT_FOUND = "risk.tracker_not_found",
        "Tracker {0} not found",
        "risk management tracker routes naming a tracker the account does not have";
    RISK_TRACKER_LIMIT = "risk.tracker_limit",
        "Trading account {0} holds {1} trackers, the most it may (trackers_per_account): delete one first",
        "400 ValidationError (details name the limit) on a tracker create past trackers_per_account";
    RISK_TRACKER_NAME_TAKEN = "risk.tracker_name_taken",
        "Trading account {0} already has a tracker named {1}",
        "409 on tracker create or rename with a name the account already uses";
    RISK_TRADING_HALTED = "risk.trading_halted",
        "Trading account {0} is halted by a risk breach action: only trades that close or reduce exposure are accepted",
        "403 on trade (REST and streaming) opening or adding exposure after a halt or close-and-halt breach (tracker or rules)";
    RISK_RULES_NOT_SET = "risk.rules_not_set",
        "Trading account {0} has no risk rules attached",
        "GET and DELETE …/risk-rules on an account without rules";
    RISK_NOT_HALTED = "risk.not_halted",
        "Trading account {0} is not halted",
        "POST …/risk-halt/lift on an account no breach halted";
    SIM_REJECTED = "sim.rejected",
        "The simulated broker rejected the request: {0}",
        "sim control routes";
}

/// A catalogue message with its parameters, as sent: `{key, param, text}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Text {
    pub key: &'static str,
    pub param: Vec<String>,
    pub text: String,
}

impl Message {
    /// The message with `params` substituted for `{0}`, `{1}`, …
    pub fn with(&'static self, params: &[&dyn std::fmt::Display]) -> Text {
        let param: Vec<String> = params.iter().map(|p| p.to_string()).collect();
        let mut text = self.format.to_owned();
        for (i, p) in param.iter().enumerate() {
            text = text.replace(&format!("{{{i}}}"), p);
        }
        Text {
            key: self.key,
            param,
            text,
        }
    }

    /// The message without parameters.
    pub fn text(&'static self) -> Text {
        self.with(&[])
    }
}

/// `docs/messages.md`: the catalogue as a table.
pub fn markdown() -> String {
    let mut out = String::from(
        "# Messages\n\nEvery error and user message carries `text: {key, param, text}`. Keys are \
         stable; `{0}`, `{1}`, … are the positional `param` values. Generated by \
         `drawbridge messages`; do not edit by hand.\n\n| key | format | where used |\n|---|---|---|\n",
    );
    for m in CATALOGUE {
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            m.key,
            m.format.replace('|', "\\|"),
            m.used.replace('|', "\\|")
        ));
    }
    out.push_str(
        "\n## Limit descriptions\n\nThe `description` of each entry of `GET \
         /users/current/api-limits`: `{0}` is the limit's value, `{1}` its period in \
         seconds.\n\n| key | id | format |\n|---|---|---|\n",
    );
    for l in drawbridge_limits::Catalogue::default().all() {
        out.push_str(&format!("| `{}` | {} | {} |\n", l.key, l.id, l.description));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn keys_are_unique_and_params_are_numbered_from_zero() {
        let mut keys = HashSet::new();
        for m in CATALOGUE {
            assert!(keys.insert(m.key), "duplicate key {}", m.key);
            let n = (0..10)
                .take_while(|i| m.format.contains(&format!("{{{i}}}")))
                .count();
            assert!(
                !m.format.contains(&format!("{{{n}}}"))
                    && !m.format.contains(&format!("{{{}}}", n + 1)),
                "{}: parameters must be numbered without gaps",
                m.key
            );
        }
    }

    #[test]
    fn parameters_are_substituted() {
        let t = ACCOUNT_NOT_FOUND.with(&[&"abc"]);
        assert_eq!(t.text, "Trading account abc not found");
        assert_eq!(t.param, ["abc"]);
        assert_eq!(t.key, "account.not_found");
    }
}
