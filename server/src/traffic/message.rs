//! The publisher's objects: the lab's JSON message and its malformed twin.

use bytes::Bytes;
use chaoslab_etl::handler::{OUTPUT_PREFIX, OUTPUT_SUFFIX};
use serde::{Deserialize, Serialize};

use crate::metrics::EpochMillis;

/// The `author` every generated message carries.
pub const AUTHOR: &str = "chaoslab-publisher";
/// The `version` every generated message carries.
pub const VERSION: &str = "1.0";
/// How `submissionDate` is written, e.g. `26-Nov-2026 19:41:02` (UTC).
pub const SUBMISSION_DATE_FORMAT: &str = "%d-%b-%Y %H:%M:%S";
/// What every `objectName` starts with, before the message id.
pub const OBJECT_NAME_PREFIX: &str = "data_object_msg-";

/// One message as the lab's publisher writes it. The fields serialize in this order, with these
/// names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TrafficMessage {
    /// Four random upper-case letters.
    pub symbol: String,
    /// A counter, from 1.
    pub message_id: u64,
    /// A random number with two decimals.
    pub value: f64,
    /// `data_object_msg-<messageId>`.
    pub object_name: String,
    /// When it was written, in pipeline time, like `26-Nov-2026 19:41:02`.
    pub submission_date: String,
    /// Always [`AUTHOR`].
    pub author: String,
    /// Always [`VERSION`].
    pub version: String,
}

impl TrafficMessage {
    /// A message with this id, written at `pipeline_now`, with a random symbol and value.
    pub fn generate(message_id: u64, pipeline_now: EpochMillis, rng: &mut fastrand::Rng) -> Self {
        let symbol = (0..4).map(|_| rng.uppercase()).collect();
        // 10.00 to 1000.00, in cents so the value has exactly two decimals.
        let value = rng.u32(1_000..=100_000) as f64 / 100.0;
        let submission_date = chrono::DateTime::from_timestamp_millis(pipeline_now)
            .unwrap_or_default()
            .format(SUBMISSION_DATE_FORMAT)
            .to_string();
        Self {
            symbol,
            message_id,
            value,
            object_name: format!("{OBJECT_NAME_PREFIX}{message_id}"),
            submission_date,
            author: AUTHOR.to_owned(),
            version: VERSION.to_owned(),
        }
    }

    /// The object's key in the bucket: `input/<objectName>.json`.
    pub fn key(&self) -> String {
        format!("input/{}.json", self.object_name)
    }

    /// The message as compact JSON.
    pub fn to_json(&self) -> String {
        // Serializing a struct of strings and numbers cannot fail; the fallback is never taken.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The message id behind a converted object's key: the ETL function writes message `n`'s CSV
/// as `output/data_object_msg-<n>.csv` (its input key with `input/` → `output/` and `.json` →
/// `.csv`). `None` for any other key.
pub fn message_id_of_csv_key(csv_key: &str) -> Option<u64> {
    csv_key
        .strip_prefix(OUTPUT_PREFIX)?
        .strip_suffix(OUTPUT_SUFFIX)?
        .strip_prefix(OBJECT_NAME_PREFIX)?
        .parse()
        .ok()
}

/// The lab's malformed message: the same text with its first double quote removed.
pub fn malform(json: &str) -> String {
    json.replacen('"', "", 1)
}

/// The object the publisher writes for message `message_id` at `pipeline_now`: its key and its
/// body, malformed if asked.
pub fn lab_message(
    message_id: u64,
    pipeline_now: EpochMillis,
    malformed: bool,
    rng: &mut fastrand::Rng,
) -> (String, Bytes) {
    let message = TrafficMessage::generate(message_id, pipeline_now, rng);
    let json = message.to_json();
    let body = if malformed { malform(&json) } else { json };
    (message.key(), Bytes::from(body))
}
