//! Tickets and magic numbers as SDK users send them: strings or numbers.
//!
//! MetaApi spells ticket ids as strings (`"46648037"`), but the Python SDK types some of them as
//! `int` and its `magic` trade option as `str`, so requests carry either. Output always uses the
//! canonical form: ids as strings, magic as a number.

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use std::fmt;

/// A ticket id read from a JSON string or integer.
struct Ticket(String);

impl<'de> Deserialize<'de> for Ticket {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Ticket;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a ticket id as a string or an integer")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Ticket, E> {
                Ok(Ticket(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Ticket, E> {
                Ok(Ticket(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Ticket, E> {
                Ok(Ticket(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Ticket, E> {
                Ok(Ticket(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A magic number read from a JSON integer or a string of digits.
struct Magic(i64);

impl<'de> Deserialize<'de> for Magic {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Magic;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a magic number as an integer or a string of digits")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Magic, E> {
                v.trim()
                    .parse()
                    .map(Magic)
                    .map_err(|_| E::custom(format!("bad magic {v:?}")))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Magic, E> {
                i64::try_from(v)
                    .map(Magic)
                    .map_err(|_| E::custom("magic out of range"))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Magic, E> {
                Ok(Magic(v))
            }
        }
        d.deserialize_any(V)
    }
}

pub(super) fn id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ticket::deserialize(d).map(|t| t.0)
}

pub(super) fn opt_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Option::<Ticket>::deserialize(d).map(|t| t.map(|t| t.0))
}

pub(super) fn opt_magic<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Option::<Magic>::deserialize(d).map(|m| m.map(|m| m.0))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Probe {
        #[serde(deserialize_with = "super::id")]
        id: String,
        #[serde(deserialize_with = "super::opt_id", default)]
        other: Option<String>,
        #[serde(deserialize_with = "super::opt_magic", default)]
        magic: Option<i64>,
    }

    #[test]
    fn ids_and_magic_accept_strings_and_numbers() {
        let p: Probe =
            serde_json::from_str(r#"{"id": 46648037, "other": "7", "magic": "1000"}"#).unwrap();
        assert_eq!(
            (p.id.as_str(), p.other.as_deref(), p.magic),
            ("46648037", Some("7"), Some(1000))
        );
        let p: Probe =
            serde_json::from_str(r#"{"id": "46648037", "other": null, "magic": 5}"#).unwrap();
        assert_eq!((p.other, p.magic), (None, Some(5)));
        let p: Probe = serde_json::from_str(r#"{"id": "1"}"#).unwrap();
        assert_eq!((p.other, p.magic), (None, None));
        assert!(serde_json::from_str::<Probe>(r#"{"id": 1.5}"#).is_err());
        assert!(serde_json::from_str::<Probe>(r#"{"id": "1", "magic": "abc"}"#).is_err());
    }
}
