//! Test helpers: JSON round trips that compare keys exactly and numbers by value.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::{BTreeSet, HashSet};
use std::fmt::Debug;

/// Deserializes `sample`, serializes the result back and asserts the JSON is the same: the same
/// keys at every level, the same strings, numbers equal by value (`100` == `100.0`). Also asserts
/// that an unknown extra field is tolerated. Returns the parsed value.
pub(crate) fn round_trip<T: Serialize + DeserializeOwned>(sample: &str) -> T {
    let expected: Value = serde_json::from_str(sample).expect("sample is JSON");
    let parsed: T = serde_json::from_value(expected.clone())
        .unwrap_or_else(|e| panic!("sample does not deserialize: {e}\n{sample}"));
    let back = serde_json::to_value(&parsed).expect("serializes");
    assert_same(&expected, &back, "$");

    let mut extra = expected;
    if let Some(obj) = extra.as_object_mut() {
        obj.insert(
            "fieldFromTheFuture".into(),
            serde_json::json!({ "nested": [1, "two"] }),
        );
    }
    serde_json::from_value::<T>(extra).expect("unknown fields are tolerated");
    parsed
}

fn assert_same(expected: &Value, got: &Value, path: &str) {
    match (expected, got) {
        (Value::Number(a), Value::Number(b)) => assert_eq!(a.as_f64(), b.as_f64(), "at {path}"),
        (Value::Object(a), Value::Object(b)) => {
            let ka: BTreeSet<&String> = a.keys().collect();
            let kb: BTreeSet<&String> = b.keys().collect();
            assert_eq!(ka, kb, "keys at {path}");
            for (k, v) in a {
                assert_same(v, &b[k], &format!("{path}.{k}"));
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            assert_eq!(a.len(), b.len(), "length at {path}");
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                assert_same(x, y, &format!("{path}[{i}]"));
            }
        }
        _ => assert_eq!(expected, got, "at {path}"),
    }
}

/// Every variant serializes to its `as_str` spelling, parses back, and spellings are unique.
pub(crate) fn check_enum<E>(all: &[E], as_str: fn(E) -> &'static str)
where
    E: Serialize + DeserializeOwned + Copy + PartialEq + Debug,
{
    let mut seen = HashSet::new();
    for &v in all {
        let s = as_str(v);
        assert!(seen.insert(s), "duplicate wire spelling {s}");
        assert_eq!(
            serde_json::to_value(v).unwrap(),
            Value::String(s.to_owned())
        );
        assert_eq!(
            serde_json::from_value::<E>(Value::String(s.to_owned())).unwrap(),
            v
        );
    }
    assert!(serde_json::from_value::<E>(Value::String("NOT_A_VALUE".into())).is_err());
}
