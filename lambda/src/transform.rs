//! JSON → CSV: the ETL function's pure transform, bytes in and CSV bytes out.
//!
//! The rules:
//! - a JSON object becomes a header row plus one row, its columns in the document's key order;
//! - an array of objects becomes the union of their keys, in first-seen order, one row each, with
//!   an empty cell where an object lacks a column;
//! - a nested object flattens to dotted column names (`{"a":{"b":1}}` gives the column `a.b`);
//! - an array inside a value, and an empty nested object, are kept as compact JSON text;
//! - `null` is an empty cell, `true`/`false` and numbers are written exactly as the document wrote
//!   them (so `1.50` stays `1.50` and a 30-digit integer keeps every digit);
//! - strings are unescaped, and the CSV writer quotes any cell that needs it.
//!
//! Duplicate keys follow the common JSON-parser convention: the last value wins, at the position
//! where the key first appeared. A dotted name that collides with a flattened one
//! (`{"a":{"b":1},"a.b":2}`) is the same column, so the same rule applies.
//!
//! Everything else is refused with a [`TransformError`], never a panic: malformed JSON, a scalar,
//! an empty document, a byte-order mark, invalid UTF-8, a number too large for a double, and
//! documents over the size or nesting [`Limits`].
//!
//! The common case, a flat object of scalars, never builds a `serde_json::Value`: keys are borrowed
//! from the input, values are taken as raw JSON text and written straight to the CSV.

mod collect;
mod parse;

use std::fmt;

/// The largest document the function accepts, in bytes.
pub const MAX_DOCUMENT_BYTES: usize = 10 * 1024 * 1024;

/// The deepest nesting of objects and arrays the function accepts; the top level is depth 1.
pub const MAX_DEPTH: usize = 64;

/// Size and nesting limits for one document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted document, in bytes.
    pub max_bytes: usize,
    /// Deepest accepted nesting of objects and arrays.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: MAX_DOCUMENT_BYTES,
            max_depth: MAX_DEPTH,
        }
    }
}

/// A line and column in the document, both counted from 1 (columns in bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Line number, from 1.
    pub line: usize,
    /// Byte column within the line, from 1.
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {} column {}", self.line, self.column)
    }
}

/// The kind of JSON value found where an object was expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonKind {
    /// `null`
    Null,
    /// `true` or `false`
    Boolean,
    /// A number.
    Number,
    /// A string.
    String,
    /// An array.
    Array,
}

impl fmt::Display for JsonKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Null => "null",
            Self::Boolean => "a boolean",
            Self::Number => "a number",
            Self::String => "a string",
            Self::Array => "an array",
        })
    }
}

/// Why a document could not be converted to CSV.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransformError {
    /// The document is larger than [`Limits::max_bytes`].
    #[error("document is {size} bytes, over the {limit}-byte limit")]
    TooLarge {
        /// The document's size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The document is not valid UTF-8, which JSON requires.
    #[error("document is not valid UTF-8: invalid byte at offset {offset}")]
    InvalidUtf8 {
        /// Byte offset of the first invalid byte.
        offset: usize,
    },
    /// The document starts with a UTF-8 byte-order mark, which JSON texts must not carry.
    #[error("document starts with a byte-order mark (EF BB BF); save it as UTF-8 without a BOM")]
    ByteOrderMark,
    /// The document is empty or only whitespace.
    #[error("document is empty")]
    Empty,
    /// The document ends in the middle of a value.
    #[error("document is truncated: {message} at {position}")]
    Truncated {
        /// Where the input ran out.
        position: Position,
        /// What the parser was reading.
        message: String,
    },
    /// The document is not valid JSON.
    #[error("invalid JSON at {position}: {message}")]
    Syntax {
        /// Where the error was found.
        position: Position,
        /// What is wrong there.
        message: String,
    },
    /// The top-level value is neither an object nor an array of objects.
    #[error("document is {found}, but only an object or an array of objects converts to CSV")]
    NotAnObject {
        /// What the document is instead.
        found: JsonKind,
    },
    /// An element of the top-level array is not an object.
    #[error("array element {index} is {found}, but every element must be an object")]
    ElementNotAnObject {
        /// Zero-based index of the element.
        index: usize,
        /// What the element is instead.
        found: JsonKind,
    },
    /// The document has no fields, so there is no column to write.
    #[error("document has no fields, so there is no column to write")]
    NoFields,
    /// Objects and arrays are nested deeper than [`Limits::max_depth`].
    #[error("document nests deeper than {limit} levels at {position}")]
    TooDeep {
        /// The limit on depth.
        limit: usize,
        /// Where the limit was crossed.
        position: Position,
    },
    /// A number's magnitude is too large for a double-precision float.
    #[error("number in column \"{column}\" is out of range for a double: {number}")]
    NumberOutOfRange {
        /// The column the number belongs to.
        column: String,
        /// The number as written (cut to 40 characters).
        number: String,
    },
}

/// Converts one JSON document into CSV bytes, with the default [`Limits`].
pub fn json_to_csv(input: &[u8]) -> Result<Vec<u8>, TransformError> {
    json_to_csv_with_limits(input, Limits::default())
}

/// Converts one JSON document into CSV bytes, with the given limits.
pub fn json_to_csv_with_limits(input: &[u8], limits: Limits) -> Result<Vec<u8>, TransformError> {
    if input.len() > limits.max_bytes {
        return Err(TransformError::TooLarge {
            size: input.len(),
            limit: limits.max_bytes,
        });
    }
    if input.starts_with(b"\xEF\xBB\xBF") {
        return Err(TransformError::ByteOrderMark);
    }
    let text = std::str::from_utf8(input).map_err(|error| TransformError::InvalidUtf8 {
        offset: error.valid_up_to(),
    })?;
    if text.trim_ascii().is_empty() {
        return Err(TransformError::Empty);
    }
    let document = parse::parse_document(text, limits)?;
    document.write_csv()
}

/// The line and column of a byte offset in `text`.
fn position_at(text: &str, offset: usize) -> Position {
    let before = &text.as_bytes()[..offset.min(text.len())];
    let line = memchr::memchr_iter(b'\n', before).count() + 1;
    let line_start = memchr::memrchr(b'\n', before).map_or(0, |newline| newline + 1);
    Position {
        line,
        column: before.len() - line_start + 1,
    }
}
