//! failure-lambda 0.x's flat fault-injection document, with the field set of 0.2.0.
//!
//! ```json
//! {"isEnabled": true, "failureMode": "latency", "rate": 0.5, "minLatency": 3000, "maxLatency": 4000}
//! ```
//!
//! Every field is optional (the labs write partial documents such as `{"isEnabled": false}`); a
//! missing field takes the value of failure-lambda's README example parameter:
//!
//! | field | type | default |
//! |---|---|---|
//! | `isEnabled` | boolean | `false` |
//! | `failureMode` | `latency`, `exception`, `statuscode`, `diskspace`, `blacklist` or `denylist` | `latency` |
//! | `rate` | number, 0–1 | `1` |
//! | `minLatency`, `maxLatency` | whole milliseconds, 0–900000 | `100`, `400`; given one bound alone, the other's default gives way to it |
//! | `exceptionMsg` | string | `Exception message!` |
//! | `statusCode` | whole number, 100–599 | `404` |
//! | `diskSpace` | whole MB, 0–10240 | `100` |
//! | `blacklist` (0.2) or `denylist` (0.3+) | array of regular expressions | `[]` |
//!
//! failure-lambda itself has no defaults: a missing `rate` or `failureMode` there injects nothing.
//!
//! [`parse_strict`] (for the API) and [`parse_lenient`] (for the wrapper) read it, in
//! [`parse`](super::parse); both report a [`DocumentError`] naming the field at fault.

use std::sync::Arc;

use super::denylist::Denylist;
pub use super::parse::{parse_lenient, parse_strict};

/// Largest document the strict parse accepts, in bytes: an SSM standard parameter's limit (4 KB).
pub const MAX_DOCUMENT_BYTES: usize = 4096;
/// Most denylist patterns the strict parse accepts.
pub const MAX_PATTERNS: usize = 20;
/// Largest latency, in milliseconds: Lambda's maximum timeout (15 minutes).
pub const MAX_LATENCY_MS: u64 = 900_000;
/// Largest `diskSpace`, in MB: Lambda's maximum ephemeral storage (10,240 MB).
pub const MAX_DISK_SPACE_MB: u64 = 10_240;

/// The fields a document may hold, as spelled in JSON.
pub(super) const FIELDS: [&str; 10] = [
    "isEnabled",
    "failureMode",
    "rate",
    "minLatency",
    "maxLatency",
    "exceptionMsg",
    "statusCode",
    "diskSpace",
    "blacklist",
    "denylist",
];

/// Which fault the document injects when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureMode {
    /// `latency`: wait before the handler.
    Latency,
    /// `exception`: fail before the handler with `exceptionMsg`.
    Exception,
    /// `statuscode`: return `{"statusCode": n}` without running the handler.
    StatusCode,
    /// `diskspace`: write `diskSpace` MB to `/tmp` before the handler.
    DiskSpace,
    /// `blacklist` (0.2) or `denylist` (0.3+): block the hosts the patterns match.
    Denylist,
}

impl FailureMode {
    /// The mode's name in a document; the network block is written with 0.3's `denylist`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Latency => "latency",
            Self::Exception => "exception",
            Self::StatusCode => "statuscode",
            Self::DiskSpace => "diskspace",
            Self::Denylist => "denylist",
        }
    }

    /// The mode a document names, case-sensitively as failure-lambda compares it.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "latency" => Self::Latency,
            "exception" => Self::Exception,
            "statuscode" => Self::StatusCode,
            "diskspace" => Self::DiskSpace,
            "blacklist" | "denylist" => Self::Denylist,
            _ => return None,
        })
    }
}

/// A parsed document; see the [module documentation](self) for the fields and defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultDocument {
    /// Whether any fault is injected.
    pub is_enabled: bool,
    /// The fault injected when the draw fires.
    pub failure_mode: FailureMode,
    /// Share of invocations that get the fault, 0–1, drawn once per invocation.
    pub rate: f64,
    /// Lower bound of the injected latency, in milliseconds (inclusive).
    pub min_latency: u64,
    /// Upper bound of the injected latency, in milliseconds (exclusive unless equal to the lower).
    pub max_latency: u64,
    /// Message of the injected exception.
    pub exception_msg: String,
    /// Status code the `statuscode` mode returns.
    pub status_code: u16,
    /// MB written to `/tmp` by the `diskspace` mode.
    pub disk_space: u64,
    /// Host patterns the `blacklist`/`denylist` mode blocks.
    pub denylist: Arc<Denylist>,
}

impl Default for FaultDocument {
    /// failure-lambda's README example parameter, disabled, with an empty denylist.
    fn default() -> Self {
        Self {
            is_enabled: false,
            failure_mode: FailureMode::Latency,
            rate: 1.0,
            min_latency: 100,
            max_latency: 400,
            exception_msg: "Exception message!".to_owned(),
            status_code: 404,
            disk_space: 100,
            denylist: Arc::new(Denylist::default()),
        }
    }
}

/// Why a document was refused. Each message names the field and says what to write instead.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DocumentError {
    /// The text is not JSON.
    #[error(
        "the fault-injection document is not JSON ({message}): write a JSON object such as {{\"isEnabled\": false}}"
    )]
    NotJson {
        /// serde_json's description, with line and column.
        message: String,
    },
    /// The JSON is not an object.
    #[error(
        "the fault-injection document is {found}, not an object: write a JSON object such as {{\"isEnabled\": false}}"
    )]
    NotAnObject {
        /// The kind of JSON value found, e.g. `an array`.
        found: &'static str,
    },
    /// The text is longer than [`MAX_DOCUMENT_BYTES`].
    #[error(
        "the fault-injection document is {size} bytes: keep it within {limit} bytes (an SSM standard parameter's limit)"
    )]
    TooLarge {
        /// The document's size in bytes.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// A field failure-lambda 0.2 does not read (strict parse only).
    #[error("`{field}` is not a field of the document: {hint}")]
    UnknownField {
        /// The field as written.
        field: String,
        /// What to write instead.
        hint: String,
    },
    /// A field holds the wrong JSON type, or a number that is not whole where one must be.
    #[error("`{field}` must be {expected}, not {found}")]
    WrongType {
        /// The field.
        field: String,
        /// What the field takes, e.g. `a number from 0 to 1`.
        expected: &'static str,
        /// What it holds, e.g. `the string "0.5"`.
        found: String,
    },
    /// `failureMode` names no mode.
    #[error(
        "`failureMode` {found:?} is not a failure mode: use latency, exception, statuscode, diskspace, blacklist or denylist"
    )]
    UnknownMode {
        /// The mode as written.
        found: String,
    },
    /// A number outside its field's range.
    #[error("`{field}` is {found}: use {expected}")]
    OutOfRange {
        /// The field.
        field: String,
        /// The value as written.
        found: String,
        /// The range, e.g. `a number from 0 to 1`.
        expected: String,
    },
    /// `minLatency` is above `maxLatency` (strict parse only).
    #[error(
        "`minLatency` ({min} ms) is above `maxLatency` ({max} ms): make minLatency at most maxLatency"
    )]
    LatencyBounds {
        /// `minLatency`.
        min: u64,
        /// `maxLatency`.
        max: u64,
    },
    /// A pattern that is not a regular expression (Rust `regex` syntax: no look-around or
    /// back-references).
    #[error("`{field}[{index}]` ({pattern:?}) is not a valid regular expression: {reason}")]
    InvalidPattern {
        /// `blacklist` or `denylist`.
        field: String,
        /// The pattern's position in the array.
        index: usize,
        /// The pattern as written.
        pattern: String,
        /// The regex compiler's explanation.
        reason: String,
    },
    /// More than [`MAX_PATTERNS`] patterns (strict parse only).
    #[error("`{field}` has {count} patterns: use at most {limit}")]
    TooManyPatterns {
        /// `blacklist` or `denylist`.
        field: String,
        /// The number of patterns given.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// Both `blacklist` and `denylist` are present (strict parse only).
    #[error(
        "`denylist` and `blacklist` are both given: keep one of them (denylist is the newer name of blacklist)"
    )]
    BothLists,
}

impl DocumentError {
    /// The field at fault, as spelled in JSON, when the error is about one field.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::UnknownField { field, .. }
            | Self::WrongType { field, .. }
            | Self::OutOfRange { field, .. }
            | Self::InvalidPattern { field, .. }
            | Self::TooManyPatterns { field, .. } => Some(field),
            Self::UnknownMode { .. } => Some("failureMode"),
            Self::LatencyBounds { .. } => Some("minLatency"),
            Self::BothLists => Some("denylist"),
            Self::NotJson { .. } | Self::NotAnObject { .. } | Self::TooLarge { .. } => None,
        }
    }
}
