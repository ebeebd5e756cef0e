//! Terminal-state hashes, so that a synchronization skips what the client already holds.
//!
//! The SDK hashes what it received: each specification, position and order as the JSON it was
//! sent, without the fields `GET /hashing-ignored-field-lists` names, written the way its
//! `cloud-g2` hash encoder writes JSON (no spaces; a whole number as an integer, any other
//! number to 8 significant digits; `digits` and `magic` as integers), then MD5; a set's hash
//! is the XOR of its items' hashes. A `synchronize` request lists the set hashes the client
//! holds; when one equals the server's, `synchronizationStarted` names its index and the
//! packet is not sent. A hash that does not match only costs a full packet.

use serde_json::Value;

/// Position fields that move with every quote (the SDK updates them itself from `prices`
/// packets) or every day: left out of the hashes, so a position that only moved in price
/// still matches.
pub(crate) const POSITION_IGNORED: &[&str] = &[
    "profit",
    "unrealizedProfit",
    "realizedProfit",
    "currentPrice",
    "currentTickValue",
    "swap",
    "updateTime",
    "accountCurrencyExchangeRate",
];
/// Order fields that move with every quote.
pub(crate) const ORDER_IGNORED: &[&str] = &["currentPrice", "accountCurrencyExchangeRate"];
/// Specifications are hashed whole.
pub(crate) const SPECIFICATION_IGNORED: &[&str] = &[];

/// What one kind of terminal-state item is hashed by.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Kind {
    ignored: &'static [&'static str],
    integer_keys: &'static [&'static str],
}

pub(crate) const SPECIFICATIONS: Kind = Kind {
    ignored: SPECIFICATION_IGNORED,
    integer_keys: &["digits"],
};
pub(crate) const POSITIONS: Kind = Kind {
    ignored: POSITION_IGNORED,
    integer_keys: &["magic"],
};
pub(crate) const ORDERS: Kind = Kind {
    ignored: ORDER_IGNORED,
    integer_keys: &["magic"],
};

/// The hash of a set of items (each a JSON object as sent), as the SDK's hex string; `None`
/// for no items (the SDK records no hash for an empty set).
pub(crate) fn set_hash(kind: Kind, items: &[Value]) -> Option<String> {
    let mut acc: Option<[u8; 16]> = None;
    for item in items {
        let h = item_hash(kind, item);
        acc = Some(match acc {
            None => h,
            Some(a) => std::array::from_fn(|i| a[i] ^ h[i]),
        });
    }
    acc.map(|a| a.iter().map(|b| format!("{b:02x}")).collect())
}

/// Where `hash` of `kind` is among the client's `offered` hashes.
pub(crate) fn offered_index(offered: Option<&Value>, hash: Option<&str>) -> Option<usize> {
    let hash = hash?;
    offered?
        .as_array()?
        .iter()
        .position(|h| h.as_str() == Some(hash))
}

fn item_hash(kind: Kind, item: &Value) -> [u8; 16] {
    use md5::Digest as _;
    let mut out = String::new();
    match item {
        Value::Object(fields) => {
            out.push('{');
            let kept = fields
                .iter()
                .filter(|(k, _)| !kind.ignored.contains(&k.as_str()));
            for (i, (key, value)) in kept.enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push('"');
                out.push_str(key);
                out.push_str("\":");
                match value.as_f64() {
                    Some(x) if kind.integer_keys.contains(&key.as_str()) => {
                        out.push_str(&(x.trunc() as i64).to_string());
                    }
                    _ => encode(value, &mut out),
                }
            }
            out.push('}');
        }
        other => encode(other, &mut out),
    }
    md5::Md5::digest(out.as_bytes()).into()
}

/// `v` as the SDK's `cloud-g2` encoder writes it.
fn encode(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => out.push_str(&i.to_string()),
            (_, Some(u), _) => out.push_str(&u.to_string()),
            (_, _, Some(x)) => out.push_str(&number(x)),
            _ => out.push_str(&n.to_string()),
        },
        Value::String(s) => out.push_str(&Value::String(s.clone()).to_string()),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                encode(item, out);
            }
            out.push(']');
        }
        Value::Object(fields) => {
            out.push('{');
            for (i, (key, value)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push('"');
                out.push_str(key);
                out.push_str("\":");
                encode(value, out);
            }
            out.push('}');
        }
    }
}

/// Significant digits the SDK keeps of a fractional number.
const SIGNIFICANT: usize = 8;

/// A float as the SDK writes it: a whole number as an integer; otherwise its shortest
/// decimal form rounded half-even to 8 significant digits, in fixed notation (Python's
/// `format(Context(prec=8).create_decimal(repr(x)), 'f')`).
fn number(x: f64) -> String {
    if !x.is_finite() {
        return "null".into();
    }
    if x.fract() == 0.0 && x.abs() < 1e18 {
        return (x as i64).to_string();
    }
    // Shortest round-trip digits and exponent: `d.ddde±N`.
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let mut digits: Vec<u8> = mantissa
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect();
    // The value is 0.d1d2d3… × 10^(point): `point` digits before the decimal point.
    let mut point = exp.parse::<i64>().unwrap_or(0) + 1;
    let mut frac_digits = digits.len() as i64 - point; // digits after the point, as written
    if digits.len() > SIGNIFICANT {
        let rest = digits.split_off(SIGNIFICANT);
        let (first, tail) = (rest[0], &rest[1..]);
        let odd = digits.last().is_some_and(|d| d % 2 == 1);
        let up = first > 5 || (first == 5 && (tail.iter().any(|d| *d > 0) || odd));
        if up {
            let mut i = digits.len();
            loop {
                if i == 0 {
                    // 99999999 → 100000000: still 8 digits, one place further.
                    digits.insert(0, 1);
                    digits.pop();
                    point += 1;
                    break;
                }
                i -= 1;
                if digits[i] == 9 {
                    digits[i] = 0;
                } else {
                    digits[i] += 1;
                    break;
                }
            }
        }
        frac_digits = SIGNIFICANT as i64 - point;
    }
    let mut s = String::new();
    if x < 0.0 {
        s.push('-');
    }
    let at = |i: i64| -> char {
        usize::try_from(i)
            .ok()
            .and_then(|i| digits.get(i))
            .map_or('0', |d| char::from(b'0' + d))
    };
    if point <= 0 {
        s.push('0');
    } else {
        (0..point).for_each(|i| s.push(at(i)));
    }
    if frac_digits > 0 {
        s.push('.');
        (point..point + frac_digits).for_each(|i| s.push(at(i)));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Python's `format(decimal.Context(prec=8).create_decimal(repr(x)), 'f')`, with whole
    /// numbers as integers, computed with CPython for these inputs.
    #[test]
    fn numbers_as_the_sdk_writes_them() {
        for (x, want) in [
            (1.10012, "1.10012"),
            (100.0, "100"),
            (-0.0, "0"),
            (-1.5, "-1.5"),
            (0.00001, "0.00001"),
            (1.5e-7, "0.00000015"),
            (12345.6789123, "12345.679"),
            (9.9999999999, "10.000000"),
            (0.123456785, "0.12345678"),
            (0.123456775, "0.12345678"),
            (123456789.5, "123456790"),
            (1.25, "1.25"),
        ] {
            assert_eq!(number(x), want, "{x}");
        }
    }

    /// Hashes computed by the SDK's own `TerminalHashManager.get_item_hash` (cloud-g2, these
    /// ignored-field lists) for the same items.
    #[test]
    fn item_hashes_match_the_sdk() {
        let position = json!({"id": "7", "type": "POSITION_TYPE_BUY", "symbol": "EURUSD",
            "magic": 0, "time": "2026-01-07T10:00:00.000Z", "openPrice": 1.10012,
            "volume": 0.1, "profit": 3.5, "currentPrice": 1.1005, "comment": "é\"x"});
        let spec = json!({"symbol": "EURUSD", "digits": 5, "tickSize": 0.00001,
            "contractSize": 100000.0, "tradeSessions": {"MONDAY": [{"from": "00:00", "to": "24:00"}]}});
        assert_eq!(
            set_hash(POSITIONS, std::slice::from_ref(&position)).as_deref(),
            Some(POSITION_HASH)
        );
        assert_eq!(
            set_hash(SPECIFICATIONS, std::slice::from_ref(&spec)).as_deref(),
            Some(SPEC_HASH)
        );
        assert_eq!(set_hash(POSITIONS, &[]), None);
    }

    // serde_json writes object keys in order (no `preserve_order`), so the SDK receives
    // and hashes them sorted.
    const POSITION_HASH: &str = "6e66ccf575b2c7e3d87301f22a03239d";
    const SPEC_HASH: &str = "59daf01f40256b96e815b75356810cd8";
}
