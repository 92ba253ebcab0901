//! Reads a JSON document into [`Document`] cells without building a `serde_json::Value`.
//!
//! Keys are borrowed from the input where they have no escapes. Each value is first taken as raw
//! JSON text (`RawValue`), which serde_json validates while skipping it; scalars are then used as
//! written, nested objects are read again with their names as prefix, and arrays are compacted.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer as _, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::collect::{Document, Record, Table};
use super::{JsonKind, Limits, TransformError, position_at};

/// Parses `text`, which is non-empty UTF-8, into the cells of its CSV.
pub(super) fn parse_document(text: &str, limits: Limits) -> Result<Document<'_>, TransformError> {
    let mut parser = Parser {
        text,
        limits,
        failure: None,
    };
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let parsed = (&mut deserializer)
        .deserialize_any(DocumentVisitor {
            parser: &mut parser,
        })
        .and_then(|document| deserializer.end().map(|()| document));
    parsed.map_err(|error| {
        parser
            .failure
            .take()
            .unwrap_or_else(|| parser.json_error(text, &error))
    })
}

/// What the visitors share: the whole input (to place errors), the limits, and the typed failure
/// that a visitor records before returning serde's untyped error.
struct Parser<'de> {
    text: &'de str,
    limits: Limits,
    failure: Option<TransformError>,
}

impl<'de> Parser<'de> {
    /// Records a typed failure and returns the serde error that unwinds the parse.
    fn fail<E: de::Error>(&mut self, failure: TransformError) -> E {
        self.failure = Some(failure);
        E::custom("conversion failed")
    }

    /// Reads the fields of an object into `record`, names prefixed by `prefix` and a dot.
    /// Returns how many fields the object had.
    fn read_fields<A: MapAccess<'de>>(
        &mut self,
        map: &mut A,
        prefix: Option<&str>,
        depth: usize,
        record: &mut Record<'de>,
    ) -> Result<usize, A::Error> {
        let mut fields = 0;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let raw: &'de RawValue = map.next_value()?;
            let name = match prefix {
                None => key,
                Some(prefix) => Cow::Owned(format!("{prefix}.{key}")),
            };
            if let Err(failure) = self.read_value(name, raw.get(), depth, record) {
                return Err(self.fail(failure));
            }
            fields += 1;
        }
        Ok(fields)
    }

    /// Turns one field's raw JSON text into cells. `depth` is that of the object holding it.
    fn read_value(
        &mut self,
        name: Cow<'de, str>,
        raw: &'de str,
        depth: usize,
        record: &mut Record<'de>,
    ) -> Result<(), TransformError> {
        match raw.as_bytes().first() {
            Some(b'"') => record.set(name, self.unescape(raw)?),
            Some(b'n') => record.set(name, Cow::Borrowed("")),
            Some(b't' | b'f') => record.set(name, Cow::Borrowed(raw)),
            Some(b'{') => {
                let fields = self.read_nested_object(raw, &name, depth + 1, record)?;
                if fields == 0 {
                    // An empty object has no column of its own to flatten to, so it is kept as
                    // JSON text, like an array.
                    record.set(name, Cow::Borrowed("{}"));
                }
            }
            Some(b'[') => {
                let compact = self.compact(raw, depth + 1)?;
                record.set(name, Cow::Owned(compact));
            }
            _ => {
                check_number(&name, raw)?;
                record.set(name, Cow::Borrowed(raw));
            }
        }
        Ok(())
    }

    fn read_nested_object(
        &mut self,
        raw: &'de str,
        prefix: &str,
        depth: usize,
        record: &mut Record<'de>,
    ) -> Result<usize, TransformError> {
        if depth > self.limits.max_depth {
            return Err(self.too_deep(offset_in(self.text, raw)));
        }
        let mut deserializer = serde_json::Deserializer::from_str(raw);
        let visitor = NestedObjectVisitor {
            parser: self,
            prefix,
            depth,
            record,
        };
        deserializer.deserialize_map(visitor).map_err(|error| {
            self.failure
                .take()
                .unwrap_or_else(|| self.json_error(raw, &error))
        })
    }

    /// Unescapes a JSON string literal; one without escapes is borrowed as it is.
    fn unescape(&self, raw: &'de str) -> Result<Cow<'de, str>, TransformError> {
        let inner = raw.get(1..raw.len().saturating_sub(1)).unwrap_or_default();
        if memchr::memchr(b'\\', inner.as_bytes()).is_none() {
            return Ok(Cow::Borrowed(inner));
        }
        // The skipping parse accepts any `\uXXXX`; decoding to a `String` also refuses lone
        // surrogates, which have no UTF-8 form.
        serde_json::from_str::<String>(raw)
            .map(Cow::Owned)
            .map_err(|error| self.json_error(raw, &error))
    }

    /// Compacts an array (already validated JSON) by dropping whitespace outside strings, and
    /// checks its nesting against the depth limit.
    fn compact(&self, raw: &str, depth: usize) -> Result<String, TransformError> {
        let mut compact = String::with_capacity(raw.len());
        let mut level = depth - 1;
        let mut in_string = false;
        let mut escaped = false;
        for (offset, character) in raw.char_indices() {
            if in_string {
                compact.push(character);
                match character {
                    _ if escaped => escaped = false,
                    '\\' => escaped = true,
                    '"' => in_string = false,
                    _ => {}
                }
                continue;
            }
            match character {
                ' ' | '\t' | '\n' | '\r' => continue,
                '"' => in_string = true,
                '[' | '{' => {
                    level += 1;
                    if level > self.limits.max_depth {
                        return Err(self.too_deep(offset_in(self.text, raw) + offset));
                    }
                }
                ']' | '}' => level -= 1,
                _ => {}
            }
            compact.push(character);
        }
        Ok(compact)
    }

    fn too_deep(&self, offset: usize) -> TransformError {
        TransformError::TooDeep {
            limit: self.limits.max_depth,
            position: position_at(self.text, offset),
        }
    }

    /// Maps a serde_json error raised while reading `part` (the whole input or a slice of it)
    /// to a typed error placed in the whole input.
    fn json_error(&self, part: &str, error: &serde_json::Error) -> TransformError {
        let offset = offset_in(self.text, part) + offset_of(part, error.line(), error.column());
        let position = position_at(self.text, offset);
        let text = error.to_string();
        // serde_json appends the position to its message; ours is reported separately.
        let message = match text.rsplit_once(" at line ") {
            Some((message, _)) => message.to_owned(),
            None => text,
        };
        match error.classify() {
            serde_json::error::Category::Eof => TransformError::Truncated { position, message },
            _ => TransformError::Syntax { position, message },
        }
    }
}

/// Byte offset of `part` within `whole`, where `part` is a slice of `whole`.
fn offset_in(whole: &str, part: &str) -> usize {
    (part.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize)
}

/// Byte offset of serde_json's 1-based line and column within `text`.
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let line_start = if line <= 1 {
        0
    } else {
        memchr::memchr_iter(b'\n', text.as_bytes())
            .nth(line - 2)
            .map_or(text.len(), |newline| newline + 1)
    };
    (line_start + column.saturating_sub(1)).min(text.len())
}

/// Refuses a number whose magnitude overflows a double: spreadsheets and CSV readers would turn
/// it into infinity. Integers of any length that fit are kept, digit for digit.
fn check_number(column: &str, raw: &str) -> Result<(), TransformError> {
    // Up to 15 significant digits and no exponent always fits; only longer numbers are parsed.
    if raw.len() <= 15 && !raw.contains(['e', 'E']) {
        return Ok(());
    }
    match raw.parse::<f64>() {
        Ok(number) if number.is_finite() => Ok(()),
        _ => Err(TransformError::NumberOutOfRange {
            column: column.to_owned(),
            number: raw.chars().take(40).collect(),
        }),
    }
}

/// The top-level value: an object or an array of objects.
struct DocumentVisitor<'p, 'de> {
    parser: &'p mut Parser<'de>,
}

impl<'de> DocumentVisitor<'_, 'de> {
    fn refuse<E: de::Error>(self, found: JsonKind) -> Result<Document<'de>, E> {
        Err(self.parser.fail(TransformError::NotAnObject { found }))
    }
}

impl<'de> Visitor<'de> for DocumentVisitor<'_, 'de> {
    type Value = Document<'de>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON object or an array of objects")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut record = Record::default();
        self.parser.read_fields(&mut map, None, 1, &mut record)?;
        Ok(Document::Object(record))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut table = Table::default();
        let mut index = 0;
        while let Some(record) = seq.next_element_seed(ElementSeed {
            parser: &mut *self.parser,
            index,
        })? {
            table.push(record);
            index += 1;
        }
        Ok(Document::Array(table))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.refuse(JsonKind::Null)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        self.refuse(JsonKind::Boolean)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        self.refuse(JsonKind::Number)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        self.refuse(JsonKind::Number)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        self.refuse(JsonKind::Number)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        self.refuse(JsonKind::String)
    }
}

/// One element of a top-level array, which must be an object.
struct ElementSeed<'p, 'de> {
    parser: &'p mut Parser<'de>,
    index: usize,
}

impl<'de> DeserializeSeed<'de> for ElementSeed<'_, 'de> {
    type Value = Record<'de>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> ElementSeed<'_, 'de> {
    fn refuse<E: de::Error>(self, found: JsonKind) -> Result<Record<'de>, E> {
        let index = self.index;
        Err(self
            .parser
            .fail(TransformError::ElementNotAnObject { index, found }))
    }
}

impl<'de> Visitor<'de> for ElementSeed<'_, 'de> {
    type Value = Record<'de>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut record = Record::default();
        // The array is depth 1, so its objects are depth 2.
        self.parser.read_fields(&mut map, None, 2, &mut record)?;
        Ok(record)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        self.refuse(JsonKind::Array)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.refuse(JsonKind::Null)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        self.refuse(JsonKind::Boolean)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        self.refuse(JsonKind::Number)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        self.refuse(JsonKind::Number)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        self.refuse(JsonKind::Number)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        self.refuse(JsonKind::String)
    }
}

/// A nested object, read again from its raw text with its name as the prefix.
struct NestedObjectVisitor<'p, 'de> {
    parser: &'p mut Parser<'de>,
    prefix: &'p str,
    depth: usize,
    record: &'p mut Record<'de>,
}

impl<'de> Visitor<'de> for NestedObjectVisitor<'_, 'de> {
    type Value = usize;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        self.parser
            .read_fields(&mut map, Some(self.prefix), self.depth, self.record)
    }
}

/// An object key, borrowed from the input unless it has escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an object key")
    }

    fn visit_borrowed_str<E: de::Error>(self, key: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(key))
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(key.to_owned()))
    }

    fn visit_string<E: de::Error>(self, key: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_of_maps_line_and_column_back_to_bytes() {
        let text = "ab\ncde\nf";
        assert_eq!(offset_of(text, 1, 1), 0);
        assert_eq!(offset_of(text, 2, 2), 4);
        assert_eq!(offset_of(text, 3, 1), 7);
        assert_eq!(offset_of(text, 9, 1), text.len());
    }

    #[test]
    fn check_number_keeps_long_integers_and_refuses_overflow() {
        assert!(check_number("n", "123456789012345678901234567890").is_ok());
        assert!(check_number("n", "1.5e308").is_ok());
        assert!(matches!(
            check_number("n", "1e400"),
            Err(TransformError::NumberOutOfRange { .. })
        ));
        assert!(matches!(
            check_number("n", &"9".repeat(400)),
            Err(TransformError::NumberOutOfRange { .. })
        ));
    }
}
