//! Identifiers: an account, a user and a token id are each their own type, so that one cannot
//! be passed where another is meant.
//!
//! Each wraps the string the wire and the store spell (`#[serde(transparent)]`: the JSON is the
//! bare string). No format is imposed: ids minted by older builds or named on the command line
//! keep working, and an id a request names that matches nothing is answered as unknown by
//! whoever looks it up. What the type adds is what the string names.
//!
//! An id reads as its string anywhere (`Deref<Target = str>`, `Display`, `AsRef<str>`,
//! `Borrow<str>` for maps keyed by it), but a string becomes an id only explicitly
//! (`AccountId::new`, `From<String>`): a function that takes `&AccountId` cannot be handed a
//! user id or an unchecked string by accident.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;

/// Declares a string id newtype with its conversions and comparisons.
macro_rules! string_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(
            Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash,
            serde::Serialize, serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The id spelled `id`.
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                Self(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                Self(id.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<$name> for str {
            fn eq(&self, other: &$name) -> bool {
                self == other.0
            }
        }

        impl PartialEq<$name> for &str {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }

        /// A string in the schema, as on the wire.
        impl schemars::JsonSchema for $name {
            fn inline_schema() -> bool {
                true
            }

            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
                String::json_schema(g)
            }
        }
    };
}

string_id! {
    /// A provisioned trading account (`_id` of the account document; the `:id` of the client
    /// API's paths).
    AccountId
}

string_id! {
    /// A user: the owner of accounts and tokens.
    UserId
}

string_id! {
    /// An auth token's id (`tokenId` of an API token; the first part of an account token).
    TokenId
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn an_id_is_its_string_on_the_wire() {
        let id = AccountId::new("a1");
        assert_eq!(serde_json::to_string(&id).unwrap(), r#""a1""#);
        let back: AccountId = serde_json::from_str(r#""a1""#).unwrap();
        assert_eq!(back, id);
        assert_eq!((id.as_str(), id.to_string()), ("a1", "a1".to_owned()));
        let owned = String::from("a1");
        assert!(id == "a1");
        assert!("a1" == id);
        assert!(owned == id);
        assert!(id == owned);
    }

    #[test]
    fn a_map_keyed_by_ids_is_read_with_a_str() {
        let mut map = HashMap::new();
        map.insert(UserId::from("u1"), 1);
        assert_eq!(map.get("u1"), Some(&1));
        assert_eq!(map.get("u2"), None);
    }
}
