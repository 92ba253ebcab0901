//! An S3 bucket: objects, and the event notifications a new object triggers.

use std::collections::BTreeMap;

use bytes::Bytes;
use chaoslab_etl::event::{ObjectCreated, S3Event, S3EventRecord};
use chaoslab_etl::handler::{INPUT_PREFIX, INPUT_SUFFIX, OUTPUT_PREFIX, OUTPUT_SUFFIX};

use crate::metrics::{EpochMillis, rfc3339};

/// Longest key S3 accepts, in bytes.
pub const MAX_KEY_BYTES: usize = 1024;
/// Largest object the embedded bucket accepts (S3's single-PUT limit is 5 GB; the lab's objects
/// are a few hundred bytes, so this guards memory).
pub const MAX_OBJECT_BYTES: usize = 16 * 1024 * 1024;

/// Where a notification goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// Invoke the ETL function asynchronously.
    Function,
    /// Publish to the csv topic.
    Topic,
}

/// One notification configuration: `ObjectCreated:*` events whose key has the prefix and suffix.
#[derive(Debug, Clone, Copy)]
pub struct NotificationRule {
    /// The configuration id, sent as `configurationId`.
    pub id: &'static str,
    /// Key prefix filter.
    pub prefix: &'static str,
    /// Key suffix filter.
    pub suffix: &'static str,
    /// Where matching events go.
    pub destination: Destination,
}

/// The lab's two notifications, as the Terraform configures them.
pub const NOTIFICATIONS: [NotificationRule; 2] = [
    NotificationRule {
        id: "invoke-etl-function",
        prefix: INPUT_PREFIX,
        suffix: INPUT_SUFFIX,
        destination: Destination::Function,
    },
    NotificationRule {
        id: "publish-csv-notification",
        prefix: OUTPUT_PREFIX,
        suffix: OUTPUT_SUFFIX,
        destination: Destination::Topic,
    },
];

/// An object as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    /// The bytes.
    pub body: Bytes,
    /// `Content-Type`.
    pub content_type: String,
    /// MD5 of the body, hex (S3's ETag for a single-part upload, without quotes).
    pub etag: String,
    /// When it was written.
    pub last_modified: EpochMillis,
}

/// Why a bucket operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BucketError {
    /// The key is empty or too long.
    #[error("object key must be 1 to {MAX_KEY_BYTES} bytes long, got {0} bytes")]
    InvalidKey(usize),
    /// The body is too large.
    #[error("object is {0} bytes, over the embedded bucket's {MAX_OBJECT_BYTES}-byte limit")]
    TooLarge(usize),
    /// No object has the key.
    #[error("NoSuchKey: the bucket has no object {0:?}")]
    NoSuchKey(String),
}

/// A notification to deliver, produced by a put.
#[derive(Debug, Clone)]
pub struct Notification {
    /// Where it goes.
    pub destination: Destination,
    /// The S3 event, one record, as S3 sends it.
    pub event: S3Event,
}

/// An S3 bucket with the lab's notifications.
#[derive(Debug, Clone)]
pub struct Bucket {
    name: String,
    region: String,
    objects: BTreeMap<String, StoredObject>,
    sequencer: u64,
}

impl Bucket {
    /// An empty bucket.
    pub fn new(name: impl Into<String>, region: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            region: region.into(),
            objects: BTreeMap::new(),
            sequencer: 0,
        }
    }

    /// The bucket's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// An object, if present.
    pub fn get(&self, key: &str) -> Result<&StoredObject, BucketError> {
        self.objects
            .get(key)
            .ok_or_else(|| BucketError::NoSuchKey(key.to_owned()))
    }

    /// Keys with the prefix, in order, at most `max`.
    pub fn list(&self, prefix: &str, max: usize) -> impl Iterator<Item = (&String, &StoredObject)> {
        self.objects
            .range(prefix.to_owned()..)
            .take_while(move |(key, _)| key.starts_with(prefix))
            .take(max)
    }

    /// Number of objects.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// Whether the bucket holds nothing.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// Stores an object and returns the notification it triggers, if a rule matches.
    pub fn put(
        &mut self,
        key: &str,
        body: Bytes,
        content_type: &str,
        now: EpochMillis,
        request_id: &str,
    ) -> Result<(StoredObject, Option<Notification>), BucketError> {
        if key.is_empty() || key.len() > MAX_KEY_BYTES {
            return Err(BucketError::InvalidKey(key.len()));
        }
        if body.len() > MAX_OBJECT_BYTES {
            return Err(BucketError::TooLarge(body.len()));
        }
        let etag = hex::encode(<md5::Md5 as md5::Digest>::digest(&body));
        self.sequencer += 1;
        let object = StoredObject {
            body,
            content_type: content_type.to_owned(),
            etag,
            last_modified: now,
        };
        let notification = NOTIFICATIONS
            .iter()
            .find(|rule| key.starts_with(rule.prefix) && key.ends_with(rule.suffix))
            .map(|rule| Notification {
                destination: rule.destination,
                event: S3Event::from_records(vec![self.record(rule, key, &object, request_id)]),
            });
        self.objects.insert(key.to_owned(), object.clone());
        Ok((object, notification))
    }

    /// Restores an object loaded from the journal.
    pub fn restore(&mut self, key: String, object: StoredObject) {
        self.sequencer += 1;
        self.objects.insert(key, object);
    }

    /// Removes every object.
    pub fn clear(&mut self) {
        self.objects.clear();
    }

    fn record(
        &self,
        rule: &NotificationRule,
        key: &str,
        object: &StoredObject,
        request_id: &str,
    ) -> S3EventRecord {
        // S3's sequencer is a hex string that grows with every event for a key; comparing two
        // (after padding) orders events. A per-bucket counter has that property.
        let sequencer = format!("{:016X}", self.sequencer);
        let event_time = rfc3339::format_millis(object.last_modified);
        S3EventRecord::object_created(&ObjectCreated {
            region: &self.region,
            bucket: &self.name,
            key,
            size: object.body.len() as u64,
            e_tag: &object.etag,
            sequencer: &sequencer,
            event_time: &event_time,
            event_name: "ObjectCreated:Put",
            configuration_id: rule.id,
            principal_id: "AWS:AIDACHAOSLABEMBEDDED",
            source_ip_address: "127.0.0.1",
            request_id,
            host_id: "chaoslab-embedded",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_json_notifies_the_function_with_an_encoded_key() {
        let mut bucket = Bucket::new("chaos-bucket-0123", "us-east-1");
        let (object, notification) = bucket
            .put(
                "input/my file.json",
                Bytes::from_static(b"{}"),
                "application/json",
                0,
                "req",
            )
            .unwrap_or_else(|error| panic!("{error}"));
        let Some(notification) = notification else {
            panic!("no notification")
        };
        assert_eq!(notification.destination, Destination::Function);
        let record = &notification.event.records[0];
        assert_eq!(record.s3.object.key, "input/my+file.json");
        assert_eq!(record.s3.object.size, Some(2));
        assert_eq!(
            record.s3.object.e_tag.as_deref(),
            Some(object.etag.as_str())
        );
        assert_eq!(record.event_name, "ObjectCreated:Put");
        assert_eq!(record.event_time, "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn filters_need_both_prefix_and_suffix() {
        let mut bucket = Bucket::new("b", "us-east-1");
        for (key, expected) in [
            ("input/a.json", Some(Destination::Function)),
            ("output/a.csv", Some(Destination::Topic)),
            ("input/a.csv", None),
            ("output/a.json", None),
            ("other/a.json", None),
        ] {
            let (_, notification) = bucket
                .put(key, Bytes::new(), "text/plain", 0, "req")
                .unwrap_or_else(|error| panic!("{error}"));
            assert_eq!(notification.map(|n| n.destination), expected, "{key}");
        }
    }

    #[test]
    fn sequencers_grow_with_each_put() {
        let mut bucket = Bucket::new("b", "us-east-1");
        let mut sequencers = Vec::new();
        for _ in 0..3 {
            let (_, notification) = bucket
                .put("input/a.json", Bytes::new(), "application/json", 0, "req")
                .unwrap_or_else(|error| panic!("{error}"));
            let record = notification.map(|n| n.event.records[0].s3.object.sequencer.clone());
            sequencers.push(record.flatten().unwrap_or_default());
        }
        assert!(
            sequencers.windows(2).all(|pair| pair[0] < pair[1]),
            "{sequencers:?}"
        );
    }

    #[test]
    fn empty_and_overlong_keys_are_refused() {
        let mut bucket = Bucket::new("b", "us-east-1");
        assert_eq!(
            bucket.put("", Bytes::new(), "x", 0, "r").err(),
            Some(BucketError::InvalidKey(0))
        );
        let long = "k".repeat(MAX_KEY_BYTES + 1);
        assert!(bucket.put(&long, Bytes::new(), "x", 0, "r").is_err());
    }
}
