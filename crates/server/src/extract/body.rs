//! A request body read against its field table: one declaration says what each field must be,
//! checks it, and documents it.
//!
//! A table lists a body's fields ([`Field`]: name, required or not, the [`Rule`] its value must
//! keep, a description). A [`Reader`] reads a body against it: first every required field that
//! is missing, then each field as the request type reads it, through the table's rule — every
//! problem at once, in MetaApi's `details` shape. The OpenAPI document lists the same table
//! (type, limits, allowed values, description; [`Field::schema`]). So a field cannot be checked
//! without being documented, nor documented without being checked: the reader knows no field
//! outside its table, and [`Reader::finish`] asserts (in debug builds, so in every test) that
//! the request type read every field of it.

use super::Fields;
use crate::error::{ApiError, FieldError};
use serde_json::{Map, Value, json};

/// What a field's value must be. The words of each problem are the ones of [`Fields`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rule {
    /// Any string.
    String,
    /// A string that is not blank, of at most `max_chars` characters.
    Text { max_chars: usize },
    /// A string of 1 to `max_digits` ASCII digits.
    Digits { max_digits: usize },
    /// One of the listed strings.
    OneOf(&'static [&'static str]),
    /// An integer within `min..=max`.
    Integer { min: i64, max: i64 },
    /// Any finite number.
    Number,
    /// A finite number within `min..=max`, refused as "a number from `min` to `max`".
    NumberIn { min: f64, max: f64 },
    /// A finite number within `min..=max`, refused as "between `min` and `max`" with the value
    /// read as a number: the same check as [`Rule::NumberIn`] in the words the create request
    /// has always answered with.
    Between { min: f64, max: f64 },
    /// `true` or `false`.
    Boolean,
    /// A list of at most `max_items` strings.
    Strings { max_items: usize },
    /// A JSON object of at most `max_bytes` as JSON.
    Object { max_bytes: usize },
}

impl Rule {
    /// The JSON schema of a value that keeps the rule.
    fn schema(self) -> Value {
        match self {
            Rule::String => json!({ "type": "string" }),
            Rule::Text { max_chars } => {
                json!({ "type": "string", "minLength": 1, "maxLength": max_chars })
            }
            Rule::Digits { max_digits } => {
                json!({ "type": "string", "pattern": format!("^[0-9]{{1,{max_digits}}}$") })
            }
            Rule::OneOf(options) => json!({ "type": "string", "enum": options }),
            Rule::Integer { min, max } => {
                json!({ "type": "integer", "minimum": min, "maximum": max })
            }
            Rule::Number => json!({ "type": "number" }),
            Rule::NumberIn { min, max } | Rule::Between { min, max } => {
                json!({ "type": "number", "minimum": min, "maximum": max })
            }
            Rule::Boolean => json!({ "type": "boolean" }),
            Rule::Strings { max_items } => {
                json!({ "type": "array", "items": { "type": "string" }, "maxItems": max_items })
            }
            Rule::Object { .. } => json!({ "type": "object" }),
        }
    }
}

/// One field of a body's table.
#[derive(Clone, Copy, Debug)]
pub struct Field {
    pub name: &'static str,
    pub required: bool,
    pub rule: Rule,
    pub about: &'static str,
}

/// A field the body must have.
pub const fn req(name: &'static str, rule: Rule, about: &'static str) -> Field {
    Field {
        name,
        required: true,
        rule,
        about,
    }
}

/// A field the body may have (`null` is the same as absent).
pub const fn opt(name: &'static str, rule: Rule, about: &'static str) -> Field {
    Field {
        name,
        required: false,
        rule,
        about,
    }
}

impl Field {
    /// What the API document says about the field: its type, limits and description.
    pub fn schema(&self) -> Value {
        let mut schema = self.rule.schema();
        if !self.about.is_empty()
            && let Some(o) = schema.as_object_mut()
        {
            o.insert("description".into(), json!(self.about));
        }
        schema
    }
}

/// Reads a body against its table, collecting every problem.
#[derive(Debug)]
pub struct Reader<'a> {
    fields: Fields<'a>,
    table: &'static [Field],
    /// Which fields of the table the request type has read.
    read: Vec<bool>,
}

impl<'a> Reader<'a> {
    /// Starts reading `body`: each required field that is missing is a problem already.
    pub fn new(body: &'a Map<String, Value>, table: &'static [Field]) -> Self {
        let mut fields = Fields::new(body);
        for field in table.iter().filter(|f| f.required) {
            fields.require(field.name);
        }
        Self {
            fields,
            table,
            read: vec![false; table.len()],
        }
    }

    /// The table's rule of `name`, which is now read.
    fn rule(&mut self, name: &str) -> Option<Rule> {
        let found = self.table.iter().position(|f| f.name == name);
        debug_assert!(found.is_some(), "field {name} is not in the field table");
        let i = found?;
        self.read[i] = true;
        Some(self.table[i].rule)
    }

    /// A reading that does not fit the field's rule is a mistake in the request type.
    fn misread<T>(name: &str, rule: Rule) -> Option<T> {
        debug_assert!(
            false,
            "field {name} ({rule:?}) is read as another kind of value"
        );
        None
    }

    /// A string field: [`Rule::String`], [`Rule::Text`], [`Rule::Digits`] or [`Rule::OneOf`].
    pub fn string(&mut self, name: &str) -> Option<String> {
        match self.rule(name)? {
            Rule::String => self.fields.string(name),
            Rule::Text { max_chars } => self.fields.text(name, max_chars),
            Rule::Digits { max_digits } => {
                let s = self.fields.string(name)?;
                let digits = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
                if digits && s.len() <= max_digits {
                    return Some(s);
                }
                let problem = FieldError::invalid(name, Some(json!(s)), "must be digits");
                self.fields.problems.push(problem);
                None
            }
            Rule::OneOf(options) => self.fields.one_of(name, options),
            other => Self::misread(name, other),
        }
    }

    /// A [`Rule::OneOf`] field as what `parse` makes of the allowed string.
    pub fn choice<T>(&mut self, name: &str, parse: impl FnOnce(&str) -> Option<T>) -> Option<T> {
        self.string(name).and_then(|s| parse(&s))
    }

    /// A [`Rule::Integer`] field.
    pub fn integer(&mut self, name: &str) -> Option<i64> {
        match self.rule(name)? {
            Rule::Integer { min, max } => self.fields.integer(name, min, max),
            other => Self::misread(name, other),
        }
    }

    /// A [`Rule::Number`], [`Rule::NumberIn`] or [`Rule::Between`] field.
    pub fn number(&mut self, name: &str) -> Option<f64> {
        match self.rule(name)? {
            Rule::Number => self.fields.number(name),
            Rule::NumberIn { min, max } => self.fields.number_in(name, min, max),
            Rule::Between { min, max } => {
                let v = self.fields.number(name)?;
                if (min..=max).contains(&v) {
                    return Some(v);
                }
                let why = format!("must be between {min} and {max}");
                let problem = FieldError::invalid(name, Some(json!(v)), &why);
                self.fields.problems.push(problem);
                None
            }
            other => Self::misread(name, other),
        }
    }

    /// A [`Rule::Boolean`] field.
    pub fn boolean(&mut self, name: &str) -> Option<bool> {
        match self.rule(name)? {
            Rule::Boolean => self.fields.boolean(name),
            other => Self::misread(name, other),
        }
    }

    /// A [`Rule::Strings`] field.
    pub fn strings(&mut self, name: &str) -> Option<Vec<String>> {
        match self.rule(name)? {
            Rule::Strings { max_items } => self.fields.strings(name, max_items),
            other => Self::misread(name, other),
        }
    }

    /// A [`Rule::Object`] field.
    pub fn object(&mut self, name: &str) -> Option<Value> {
        match self.rule(name)? {
            Rule::Object { max_bytes } => self.fields.object(name, max_bytes),
            other => Self::misread(name, other),
        }
    }

    /// Whether the body names `key` at all, `null` included.
    pub fn names(&self, key: &str) -> bool {
        self.fields.names(key)
    }

    /// A problem the table cannot see (one that depends on the server's configuration).
    pub fn problem(&mut self, problem: FieldError) {
        self.fields.problems.push(problem);
    }

    /// Ok when no problem was found.
    pub fn finish(self) -> Result<(), ApiError> {
        let unread: Vec<&str> = (self.table.iter().zip(&self.read))
            .filter(|(_, read)| !**read)
            .map(|(f, _)| f.name)
            .collect();
        debug_assert!(unread.is_empty(), "fields never read: {unread:?}");
        self.fields.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &[Field] = &[
        req("login", Rule::Digits { max_digits: 3 }, "Digits"),
        req("name", Rule::Text { max_chars: 4 }, ""),
        opt("level", Rule::Between { min: 0.0, max: 6.0 }, "0 to 6"),
        opt("mode", Rule::OneOf(&["a", "b"]), ""),
    ];

    /// What the table's fields read as: name, login, level.
    type Read = (Option<String>, Option<String>, Option<f64>);

    fn read(body: Value) -> Result<Read, Vec<String>> {
        let Value::Object(body) = body else {
            unreachable!()
        };
        let mut r = Reader::new(&body, TABLE);
        let got = (r.string("name"), r.string("login"), r.number("level"));
        let _ = r.choice("mode", |s| Some(s.to_owned()));
        match r.finish() {
            Ok(()) => Ok(got),
            Err(e) => Err(e
                .details
                .clone()
                .unwrap()
                .as_array()
                .unwrap()
                .iter()
                .map(|d| format!("{} {}", d["parameter"], d["message"]))
                .collect()),
        }
    }

    #[test]
    fn missing_fields_come_first_then_each_field_as_read() {
        assert_eq!(
            read(json!({"name": "toolong", "level": 7, "mode": "c"})).unwrap_err(),
            [
                r#""login" "is required""#,
                r#""name" "is invalid: must be 1 to 4 characters""#,
                r#""level" "is invalid: must be between 0 and 6""#,
                r#""mode" "must be one of a, b""#,
            ]
        );
        assert_eq!(
            read(json!({"login": "12a", "name": "n", "level": 6})).unwrap_err(),
            [r#""login" "is invalid: must be digits""#]
        );
        assert_eq!(
            read(json!({"login": "123", "name": "n", "level": null})).unwrap(),
            (Some("n".into()), Some("123".into()), None)
        );
    }

    #[test]
    fn the_schema_shows_the_limits() {
        assert_eq!(
            TABLE[0].schema(),
            json!({"type": "string", "pattern": "^[0-9]{1,3}$", "description": "Digits"})
        );
        assert_eq!(
            TABLE[1].schema(),
            json!({"type": "string", "minLength": 1, "maxLength": 4})
        );
        assert_eq!(TABLE[3].schema()["enum"], json!(["a", "b"]));
    }
}
