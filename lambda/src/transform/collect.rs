//! The cells of a converted document, and how they are written as CSV.

use std::borrow::Cow;
use std::collections::HashMap;

use super::TransformError;

/// Up to this many columns a record finds a repeated name by scanning; past it, by a hash index.
/// Lab messages have seven fields, where a scan beats hashing.
const SCAN_LIMIT: usize = 16;

/// A parsed document, ready to be written.
#[derive(Debug)]
pub(super) enum Document<'de> {
    /// A single object: a header and one row.
    Object(Record<'de>),
    /// An array of objects: the union of their columns, one row each.
    Array(Table<'de>),
}

impl Document<'_> {
    /// Writes the document as CSV: a header row, then one row per record.
    pub(super) fn write_csv(&self) -> Result<Vec<u8>, TransformError> {
        match self {
            Self::Object(record) => {
                if record.cells.is_empty() {
                    return Err(TransformError::NoFields);
                }
                let mut csv = CsvOutput::with_capacity(record.cells.len() * 32);
                csv.write_row(record.cells.iter().map(|(name, _)| name.as_ref()));
                csv.write_row(record.cells.iter().map(|(_, value)| value.as_ref()));
                Ok(csv.0)
            }
            Self::Array(table) => {
                if table.columns.is_empty() {
                    return Err(TransformError::NoFields);
                }
                let mut csv =
                    CsvOutput::with_capacity(table.columns.len() * (table.rows.len() + 1) * 16);
                csv.write_row(table.columns.iter().map(|name| name.as_ref()));
                for row in &table.rows {
                    let cells = (0..table.columns.len())
                        .map(|column| row.get(column).and_then(Option::as_deref).unwrap_or(""));
                    csv.write_row(cells);
                }
                Ok(csv.0)
            }
        }
    }
}

/// One object's cells, in column order, each column once.
#[derive(Debug)]
pub(super) struct Record<'de> {
    cells: Vec<(Cow<'de, str>, Cow<'de, str>)>,
    /// Column positions by name, built only once the record passes [`SCAN_LIMIT`] columns.
    index: HashMap<Cow<'de, str>, usize>,
}

impl Default for Record<'_> {
    fn default() -> Self {
        Self {
            cells: Vec::with_capacity(SCAN_LIMIT),
            index: HashMap::new(),
        }
    }
}

impl<'de> Record<'de> {
    /// Sets a cell. A name seen before keeps its first position and takes the new value, the
    /// way JSON parsers treat duplicate keys.
    pub(super) fn set(&mut self, name: Cow<'de, str>, value: Cow<'de, str>) {
        if let Some(position) = self.position(&name) {
            if let Some(cell) = self.cells.get_mut(position) {
                cell.1 = value;
            }
            return;
        }
        let position = self.cells.len();
        if position >= SCAN_LIMIT {
            if self.index.is_empty() {
                for (existing, (cell_name, _)) in self.cells.iter().enumerate() {
                    self.index.insert(cell_name.clone(), existing);
                }
            }
            self.index.insert(name.clone(), position);
        }
        self.cells.push((name, value));
    }

    fn position(&self, name: &str) -> Option<usize> {
        if self.index.is_empty() {
            self.cells
                .iter()
                .position(|(cell_name, _)| cell_name == name)
        } else {
            self.index.get(name).copied()
        }
    }
}

/// Rows of several objects under the union of their columns, in first-seen order.
#[derive(Debug, Default)]
pub(super) struct Table<'de> {
    columns: Vec<Cow<'de, str>>,
    index: HashMap<Cow<'de, str>, usize>,
    rows: Vec<Vec<Option<Cow<'de, str>>>>,
}

impl<'de> Table<'de> {
    /// Adds one object as a row, adding any column not seen before.
    pub(super) fn push(&mut self, record: Record<'de>) {
        let mut row = vec![None; self.columns.len()];
        for (name, value) in record.cells {
            let column = match self.index.get(&name) {
                Some(&column) => column,
                None => {
                    let column = self.columns.len();
                    self.columns.push(name.clone());
                    self.index.insert(name, column);
                    column
                }
            };
            if column >= row.len() {
                row.resize(column + 1, None);
            }
            row[column] = Some(value);
        }
        self.rows.push(row);
    }
}

/// A CSV document being written: RFC 4180 quoting, `\n` line ends.
///
/// Written by hand rather than with `csv::Writer`: on the lab's 200-byte messages the writer's
/// per-field state machine and buffer copies made the whole transform slower than parsing the
/// same bytes to a `serde_json::Value` (see BENCHMARKS.md). The property tests read every output
/// back with the `csv` crate.
struct CsvOutput(Vec<u8>);

impl CsvOutput {
    fn with_capacity(estimated_len: usize) -> Self {
        Self(Vec::with_capacity(estimated_len.clamp(64, 1024 * 1024)))
    }

    fn write_row<'a>(&mut self, cells: impl IntoIterator<Item = &'a str>) {
        let mut first = true;
        let mut lone_empty = true;
        for cell in cells {
            if !first {
                self.0.push(b',');
                lone_empty = false;
            }
            first = false;
            lone_empty &= cell.is_empty();
            self.write_cell(cell.as_bytes());
        }
        if lone_empty {
            // A row of one empty cell would be an empty line, which readers skip.
            self.0.extend_from_slice(b"\"\"");
        }
        self.0.push(b'\n');
    }

    fn write_cell(&mut self, cell: &[u8]) {
        if !cell.iter().any(|&byte| NEEDS_QUOTES[usize::from(byte)]) {
            self.0.extend_from_slice(cell);
            return;
        }
        self.0.push(b'"');
        for part in cell.split_inclusive(|&byte| byte == b'"') {
            self.0.extend_from_slice(part);
            if part.ends_with(b"\"") {
                self.0.push(b'"');
            }
        }
        self.0.push(b'"');
    }
}

const NEEDS_QUOTES: [bool; 256] = {
    let mut table = [false; 256];
    table[b',' as usize] = true;
    table[b'"' as usize] = true;
    table[b'\n' as usize] = true;
    table[b'\r' as usize] = true;
    table
};
