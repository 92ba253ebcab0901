//! The function's dead-letter queue as a participant sees it: the events Lambda gave up on, with
//! the attributes it sent them with, and the redrive that hands them back to the function.
//!
//! Lambda sends an event that ran out of attempts to the dead-letter queue unmodified, with the
//! message attributes `RequestID`, `ErrorCode` and `ErrorMessage`. The body is therefore the S3
//! event, and a redrive invokes the function with it again, asynchronously, as S3 did.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::metrics::{EpochMillis, rfc3339};

/// The most messages one listing returns.
pub const MAX_LIST: usize = 100;
/// How many messages a listing returns when not told.
pub const DEFAULT_LIST: usize = 20;
/// The longest text a listing can filter the error messages on, in characters.
pub const MAX_FILTER_CHARS: usize = 200;
/// The most messages one redrive moves.
pub const MAX_REDRIVE: usize = 1000;

/// One message in the dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeadLetter {
    /// SQS's message id.
    pub message_id: String,
    /// When Lambda sent it, in pipeline time (RFC 3339).
    #[serde(with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub sent_at: EpochMillis,
    /// The failed invocation's request id (the `RequestID` attribute).
    pub request_id: Option<String>,
    /// The `ErrorCode` attribute: the HTTP status of the invocation, 200 for a function error.
    pub error_code: Option<String>,
    /// The `ErrorMessage` attribute: the last attempt's error, at most 1 KB.
    pub error_message: Option<String>,
    /// The object keys the S3 event in the body names, decoded (`input/a b.json`).
    pub object_keys: Vec<String>,
    /// The body: the S3 event, as the function received it.
    pub body: String,
}

/// Messages of the dead-letter queue, newest first where the backend can tell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeadLetterList {
    /// How many messages the queue holds: exact on the embedded backend, SQS's
    /// `ApproximateNumberOfMessages` on AWS.
    pub total: u64,
    /// How many of them the listing's `error_contains` matched (`total` without one): exact on
    /// the embedded backend, on AWS the matches among the messages sampled.
    pub matching: u64,
    /// The messages listed.
    pub messages: Vec<DeadLetter>,
}

/// What a redrive did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Redrive {
    /// Messages whose event was handed back to the function and that left the queue.
    pub redriven: u64,
    /// Messages still in the queue (approximate on AWS).
    pub remaining: u64,
}

/// Which messages a listing keeps: those whose `ErrorMessage` contains a text, in any case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorFilter {
    /// The text, lowercased.
    lowercase: String,
}

impl ErrorFilter {
    /// A filter on `text`; none for an empty or blank text, which keeps everything.
    pub fn new(text: &str) -> Option<Self> {
        let text = text.trim();
        (!text.is_empty()).then(|| Self {
            lowercase: text.to_lowercase(),
        })
    }

    /// Whether a message with this `ErrorMessage` attribute passes.
    pub fn matches(&self, error_message: Option<&str>) -> bool {
        error_message.is_some_and(|error| error.to_lowercase().contains(&self.lowercase))
    }

    /// Whether a message passes `filter`, where no filter passes everything.
    pub fn passes(filter: Option<&Self>, error_message: Option<&str>) -> bool {
        filter.is_none_or(|filter| filter.matches(error_message))
    }
}

/// The message attributes Lambda sets, by name, from `(name, value)` pairs.
pub fn attribute<'a>(
    attributes: impl IntoIterator<Item = (&'a str, &'a str)>,
    name: &str,
) -> Option<String> {
    attributes
        .into_iter()
        .find(|(found, _)| *found == name)
        .map(|(_, value)| value.to_owned())
}

/// The decoded object keys an S3 event names; nothing when the body is not an S3 event.
pub fn object_keys(body: &str) -> Vec<String> {
    let Ok(event) = serde_json::from_str::<chaoslab_etl::event::S3Event>(body) else {
        return Vec::new();
    };
    event
        .records
        .iter()
        .map(|record| {
            record
                .decoded_key()
                .unwrap_or_else(|_| record.s3.object.key.clone())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn keys_are_read_from_the_s3_event_decoded() {
        let body = r#"{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1","eventTime":"2026-11-26T00:00:00.000Z","eventName":"ObjectCreated:Put","s3":{"s3SchemaVersion":"1.0","configurationId":"c","bucket":{"name":"b","arn":"arn:aws:s3:::b"},"object":{"key":"input/a+b.json","size":1}}}]}"#;
        assert_eq!(object_keys(body), ["input/a b.json"]);
        assert!(object_keys("not json").is_empty());
    }

    #[test]
    fn the_error_filter_matches_a_text_in_any_case_and_a_blank_one_keeps_everything() {
        let filter = ErrorFilter::new("  intercepted NETWORK ").unwrap();
        assert!(filter.matches(Some(
            "GetObject s3://b/input/x.json failed: Intercepted network connection to b.s3"
        )));
        assert!(!filter.matches(Some("cannot convert s3://b/input/x.json to CSV")));
        assert!(!filter.matches(None));
        assert_eq!(ErrorFilter::new(" \t"), None);
        assert!(ErrorFilter::passes(None, None));
        assert!(!ErrorFilter::passes(Some(&filter), None));
    }
}
