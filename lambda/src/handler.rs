//! The ETL function's handler: S3 event in, `output/<name>.csv` written.
//!
//! For every record of an event, [`handle_event`]:
//! 1. skips anything but a new object under `input/` ending in `.json`;
//! 2. decodes the key (S3 sends it form-URL-encoded);
//! 3. gets the object, converts it with [`json_to_csv`] and puts `output/<name>.csv`
//!    (`text/csv`).
//!
//! A document that cannot be converted is an error, so Lambda counts it in `Errors`, retries the
//! event and finally sends it to the dead-letter queue. The output depends only on the input
//! bytes, so a retried or duplicated event writes the same object again.

use serde::{Deserialize, Serialize};
use tracing::{Instrument, debug, info, info_span};

use crate::event::{KeyError, S3Event, S3EventRecord};
use crate::store::{ObjectStore, StoreError};
use crate::transform::{TransformError, json_to_csv};

/// Key prefix of the objects the function converts.
pub const INPUT_PREFIX: &str = "input/";
/// Key suffix of the objects the function converts.
pub const INPUT_SUFFIX: &str = ".json";
/// Key prefix of the CSV objects the function writes.
pub const OUTPUT_PREFIX: &str = "output/";
/// Key suffix of the CSV objects the function writes.
pub const OUTPUT_SUFFIX: &str = ".csv";
/// `Content-Type` of the CSV objects the function writes.
pub const CSV_CONTENT_TYPE: &str = "text/csv";

/// What one invocation did: the objects it converted and the records it skipped.
///
/// The Lambda binary returns it as the function's result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandlerReport {
    /// Objects converted to CSV, in record order.
    pub converted: Vec<ConvertedObject>,
    /// Records left alone, in record order.
    pub skipped: Vec<SkippedRecord>,
}

/// One input object converted to CSV.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConvertedObject {
    /// The bucket holding both objects.
    pub bucket: String,
    /// The decoded key of the JSON input, e.g. `input/a b.json`.
    pub input_key: String,
    /// The key the CSV was written to, e.g. `output/a b.csv`.
    pub output_key: String,
    /// Size of the CSV written, in bytes.
    pub csv_bytes: usize,
}

/// One record the handler did not process, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedRecord {
    /// The record's bucket.
    pub bucket: String,
    /// The record's decoded key.
    pub key: String,
    /// The record's `eventName`, e.g. `ObjectRemoved:Delete`.
    pub event_name: String,
    /// Why the record was skipped.
    pub reason: SkipReason,
}

/// Why a record was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// The event is not an `ObjectCreated:*` event.
    #[error("the event does not create an object")]
    NotObjectCreated,
    /// The key is not under `input/` or does not end in `.json`.
    #[error("the key is not an input/*.json object")]
    OutsideInputFilter,
}

/// Why an event could not be handled. Lambda counts any of these as a function error.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// A record's object key could not be decoded.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// Reading the input or writing the output failed, including a missing input object.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The input document could not be converted to CSV.
    #[error("cannot convert s3://{bucket}/{key} to CSV: {source}")]
    Transform {
        /// The input's bucket.
        bucket: String,
        /// The input's decoded key.
        key: String,
        /// What is wrong with the document.
        #[source]
        source: TransformError,
    },
}

impl HandlerError {
    /// A short name for the kind of failure, e.g. for Lambda's `errorType`.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::Key(_) => "KeyError",
            Self::Store(StoreError::NotFound { .. }) => "NoSuchKey",
            Self::Store(_) => "StoreError",
            Self::Transform { .. } => "TransformError",
        }
    }
}

/// What the handler decided for one record.
enum Outcome {
    Converted(ConvertedObject),
    Skipped(SkippedRecord),
}

/// Handles one S3 event: converts every new `input/*.json` object to `output/*.csv`.
///
/// An `s3:TestEvent`, or an event without records, processes nothing. Every record is attempted,
/// so one bad document does not hold back the others in the same event; if any record failed,
/// the first failure is returned (the others are logged) and the event is retried as a whole,
/// which is harmless because writing an output again gives the same object.
///
/// A key that cannot be decoded is an error whatever the event name: S3 never sends one, so it
/// means the event itself is malformed.
#[tracing::instrument(name = "handle_event", skip_all, fields(records = event.records.len()))]
pub async fn handle_event<S: ObjectStore>(
    store: &S,
    event: &S3Event,
) -> Result<HandlerReport, HandlerError> {
    // S3 sends an s3:TestEvent when the notification is configured; it names no object.
    if event.is_test_event() {
        info!(
            bucket = event.bucket.as_deref(),
            "s3:TestEvent: nothing to convert"
        );
        return Ok(HandlerReport::default());
    }

    let mut report = HandlerReport::default();
    let mut first_failure = None;
    for record in &event.records {
        let span = info_span!(
            "record",
            bucket = %record.s3.bucket.name,
            key = %record.s3.object.key,
            event_name = %record.event_name,
        );
        let outcome = async {
            let outcome = handle_record(store, record).await;
            // One line per object is for debugging: the failure is returned, Lambda logs it
            // with the invocation, and the embedded pipeline counts it in its metrics.
            if let Err(failure) = &outcome {
                debug!(error = %failure, error_type = failure.error_type(), "record failed");
            }
            outcome
        }
        .instrument(span)
        .await;
        match outcome {
            Ok(Outcome::Converted(converted)) => report.converted.push(converted),
            Ok(Outcome::Skipped(skipped)) => report.skipped.push(skipped),
            Err(failure) => {
                first_failure.get_or_insert(failure);
            }
        }
    }
    match first_failure {
        Some(failure) => Err(failure),
        None => Ok(report),
    }
}

/// Converts one record's object, or says why it is skipped.
async fn handle_record<S: ObjectStore>(
    store: &S,
    record: &S3EventRecord,
) -> Result<Outcome, HandlerError> {
    let bucket = record.s3.bucket.name.as_str();
    // S3 sends keys form-URL-encoded: a space arrives as '+', other reserved bytes as %XX.
    let key = record.decoded_key()?;

    let skip = |reason: SkipReason| {
        debug!(%reason, decoded_key = %key, "record skipped");
        Ok(Outcome::Skipped(SkippedRecord {
            bucket: bucket.to_owned(),
            key: key.clone(),
            event_name: record.event_name.clone(),
            reason,
        }))
    };
    // The bucket notification filters on ObjectCreated:* with prefix input/ and suffix .json;
    // checking again here keeps the function from converting its own output (or anything else)
    // if a notification is ever configured too broadly.
    if !record.is_object_created() {
        return skip(SkipReason::NotObjectCreated);
    }
    let Some(output_key) = output_key_for(&key) else {
        return skip(SkipReason::OutsideInputFilter);
    };

    let document = store.get_object(bucket, &key).await?;
    let csv = json_to_csv(&document).map_err(|source| HandlerError::Transform {
        bucket: bucket.to_owned(),
        key: key.clone(),
        source,
    })?;
    let csv_bytes = csv.len();
    store
        .put_object(bucket, &output_key, csv, CSV_CONTENT_TYPE)
        .await?;

    debug!(
        input_key = %key,
        input_bytes = document.len(),
        output_key = %output_key,
        csv_bytes,
        "converted"
    );
    Ok(Outcome::Converted(ConvertedObject {
        bucket: bucket.to_owned(),
        input_key: key,
        output_key,
        csv_bytes,
    }))
}

/// The CSV key for an input key: `input/<name>.json` → `output/<name>.csv`, nested paths kept.
///
/// `None` when the key is not an input object (case-sensitive, like S3's key filters).
pub fn output_key_for(input_key: &str) -> Option<String> {
    let name = input_key
        .strip_prefix(INPUT_PREFIX)?
        .strip_suffix(INPUT_SUFFIX)?;
    Some(format!("{OUTPUT_PREFIX}{name}{OUTPUT_SUFFIX}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_key_keeps_the_name_and_nested_path() {
        assert_eq!(
            output_key_for("input/a b.json").as_deref(),
            Some("output/a b.csv")
        );
        assert_eq!(
            output_key_for("input/2026/11/x.json").as_deref(),
            Some("output/2026/11/x.csv")
        );
    }

    #[test]
    fn keys_outside_the_input_filter_have_no_output() {
        assert_eq!(output_key_for("output/x.csv"), None);
        assert_eq!(output_key_for("input/x.JSON"), None);
        assert_eq!(output_key_for("inputs/x.json"), None);
        assert_eq!(output_key_for("other/input/x.json"), None);
    }
}
