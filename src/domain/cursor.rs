//! Opaque page cursors for keyset-paged lists.
//!
//! A list sorted by some keys (say `(at DESC, id DESC)`) is paged by
//! remembering the sort keys of the row at a page's edge, not a page number:
//! the next page is "the rows after this one", which an index reads directly
//! and which stays right when rows are added meanwhile. A [`Cursor`] carries
//! those values and the direction through a link's query string:
//!
//! ```
//! use latchkey::domain::cursor::{Cursor, Direction, Value};
//!
//! // The last row shown had at = 1764190000000000 µs and id "9f2c".
//! let older = Cursor::after(vec![Value::Int(1_764_190_000_000_000), "9f2c".into()]);
//! let link = format!("/audit?cursor={}", older.encode()); // URL-safe as it is
//!
//! let back = Cursor::decode(&older.encode()).unwrap();
//! assert_eq!(back.direction, Direction::After);
//! assert_eq!(back.int(0).unwrap(), 1_764_190_000_000_000);
//! assert_eq!(back.text(1).unwrap(), "9f2c");
//! // Anything else is a `BadCursor`, whose message is fit to show.
//! assert!(Cursor::decode("not a cursor").is_err());
//! ```
//!
//! The encoding is base64url (no padding) of a short JSON array: the direction
//! (`"a"` or `"b"`) then the values. It is opaque to readers, not secret nor
//! signed: a hand-made cursor only moves the reader to another place in a list
//! they may read anyway. The list decides what its values mean and must check
//! their number and types ([`Cursor::int`], [`Cursor::text`] do).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

/// Longest encoded cursor accepted; a list's cursors are far shorter.
pub const MAX_ENCODED_LEN: usize = 512;
/// Most values one cursor may carry.
pub const MAX_VALUES: usize = 8;

/// One sort key's value at the edge of a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Int(i64),
    Text(String),
}

impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::Int(n)
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_owned())
    }
}

/// Which rows a cursor asks for, in the list's own sort order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The rows after the position: the next page ("Older" in a newest-first list).
    After,
    /// The rows before the position: the previous page ("Newer").
    Before,
}

/// A position in a sorted list and the direction to read from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub direction: Direction,
    /// The sort keys of the row at the page's edge, in sort-key order.
    pub values: Vec<Value>,
}

/// A cursor that this console did not make, or that was cut short. Its text
/// is written for the page that shows it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "This page link is not one the console made, or it was cut short. Start again from the first page."
)]
pub struct BadCursor;

impl Cursor {
    /// The rows after the row with these sort keys.
    pub fn after(values: Vec<Value>) -> Self {
        Cursor {
            direction: Direction::After,
            values,
        }
    }

    /// The rows before the row with these sort keys.
    pub fn before(values: Vec<Value>) -> Self {
        Cursor {
            direction: Direction::Before,
            values,
        }
    }

    /// The cursor as URL-safe text (`A-Z a-z 0-9 - _`), to put in a query string.
    pub fn encode(&self) -> String {
        let mut items = Vec::with_capacity(self.values.len() + 1);
        items.push(Value::Text(
            match self.direction {
                Direction::After => "a",
                Direction::Before => "b",
            }
            .to_owned(),
        ));
        items.extend(self.values.iter().cloned());
        let json = serde_json::to_vec(&items).expect("values serialize");
        URL_SAFE_NO_PAD.encode(json)
    }

    /// Reads what [`Cursor::encode`] wrote. Anything else, including a
    /// cursor with no values or too many, is a [`BadCursor`].
    pub fn decode(text: &str) -> Result<Cursor, BadCursor> {
        if text.len() > MAX_ENCODED_LEN {
            return Err(BadCursor);
        }
        let json = URL_SAFE_NO_PAD.decode(text).map_err(|_| BadCursor)?;
        let mut items: Vec<Value> = serde_json::from_slice(&json).map_err(|_| BadCursor)?;
        if items.len() < 2 || items.len() > MAX_VALUES + 1 {
            return Err(BadCursor);
        }
        let direction = match items.remove(0) {
            Value::Text(d) if d == "a" => Direction::After,
            Value::Text(d) if d == "b" => Direction::Before,
            _ => return Err(BadCursor),
        };
        Ok(Cursor {
            direction,
            values: items,
        })
    }

    /// The `i`th value, which the list expects to be a number.
    pub fn int(&self, i: usize) -> Result<i64, BadCursor> {
        match self.values.get(i) {
            Some(Value::Int(n)) => Ok(*n),
            _ => Err(BadCursor),
        }
    }

    /// The `i`th value, which the list expects to be text.
    pub fn text(&self, i: usize) -> Result<&str, BadCursor> {
        match self.values.get(i) {
            Some(Value::Text(s)) => Ok(s),
            _ => Err(BadCursor),
        }
    }

    /// Fails unless the cursor carries exactly `n` values (a list's sort keys).
    pub fn expect_len(&self, n: usize) -> Result<&Self, BadCursor> {
        if self.values.len() == n {
            Ok(self)
        } else {
            Err(BadCursor)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_as_written() {
        let cursors = [
            Cursor::after(vec![Value::Int(1_764_190_000_123_456), "9f2c".into()]),
            Cursor::before(vec!["Billing \"prod\" ✓".into(), Value::Int(-3)]),
            Cursor::after(vec![Value::Int(i64::MAX)]),
        ];
        for cursor in cursors {
            let text = cursor.encode();
            assert!(
                text.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
                "{text}"
            );
            assert_eq!(Cursor::decode(&text), Ok(cursor));
        }
    }

    #[test]
    fn the_encoding_is_base64url_of_a_json_array() {
        let cursor = Cursor::after(vec![Value::Int(7), "ab".into()]);
        // base64url of ["a",7,"ab"]
        assert_eq!(cursor.encode(), "WyJhIiw3LCJhYiJd");
        assert_eq!(
            Cursor::decode("WyJiIiwiemVkIl0"),
            Ok(Cursor::before(vec!["zed".into()]))
        );
    }

    #[test]
    fn anything_else_is_a_bad_cursor() {
        let bad = [
            "",
            "not a cursor",
            "WyJhIiw3LCJhYiJd===",
            // base64url of: [], ["a"], ["x",1], [1,2], {"a":1}, ["a",1.5], ["a",null]
            "W10",
            "WyJhIl0",
            "WyJ4IiwxXQ",
            "WzEsMl0",
            "eyJhIjoxfQ",
            "WyJhIiwxLjVd",
            "WyJhIixudWxsXQ",
        ];
        for text in bad {
            assert_eq!(Cursor::decode(text), Err(BadCursor), "{text:?}");
        }
        let too_long = "A".repeat(MAX_ENCODED_LEN + 1);
        assert_eq!(Cursor::decode(&too_long), Err(BadCursor));
        let too_many = Cursor::after((0..=MAX_VALUES as i64).map(Value::Int).collect());
        assert_eq!(Cursor::decode(&too_many.encode()), Err(BadCursor));
    }

    #[test]
    fn values_are_read_with_their_expected_types() {
        let cursor = Cursor::after(vec![Value::Int(5), "x".into()]);
        assert_eq!(cursor.int(0), Ok(5));
        assert_eq!(cursor.text(1), Ok("x"));
        assert_eq!(cursor.int(1), Err(BadCursor));
        assert_eq!(cursor.text(0), Err(BadCursor));
        assert_eq!(cursor.int(2), Err(BadCursor));
        assert!(cursor.expect_len(2).is_ok());
        assert_eq!(cursor.expect_len(3), Err(BadCursor));
    }

    #[test]
    fn the_message_is_written_for_people() {
        assert_eq!(
            BadCursor.to_string(),
            "This page link is not one the console made, or it was cut short. Start again from the first page."
        );
    }
}
