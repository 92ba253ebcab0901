//! An S3 bucket: objects, and the event notifications a new object triggers.
//!
//! The objects live in the journal's database, not in memory: a bucket holds only the writes it
//! queued that the journal has not committed yet (the changes since the last commit, a few
//! milliseconds' worth), so memory does not grow with the objects stored. A read looks there
//! first, and on disk otherwise ([`Lookup`]).

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

/// Where a read of a key must look.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup<'a> {
    /// The key's newest write is not on disk yet: this is the object.
    Unsaved(&'a StoredObject),
    /// The key's object is gone (the bucket was emptied), whatever the disk still holds.
    Gone,
    /// Nothing unsaved: the disk has the answer.
    Saved,
}

/// A write not yet known to be on disk, with the journal's number for the change that carries
/// it once queued.
#[derive(Debug, Clone)]
struct Unsaved {
    change: Option<u64>,
    object: StoredObject,
}

/// An S3 bucket with the lab's notifications.
#[derive(Debug, Clone)]
pub struct Bucket {
    name: String,
    region: String,
    /// Writes queued and not yet committed, by key.
    unsaved: BTreeMap<String, Unsaved>,
    /// The bucket was emptied by a change not yet committed: what the disk holds is gone.
    cleared: Option<Option<u64>>,
    /// Objects written before this have expired (the retention rule), even while the delete is
    /// on its way to the disk.
    expired_before: EpochMillis,
    sequencer: u64,
}

impl Bucket {
    /// An empty bucket. `sequencer` starts the notifications' sequencers; pass something larger
    /// than any earlier run's, such as the pipeline time in milliseconds shifted left.
    pub fn new(name: impl Into<String>, region: impl Into<String>, sequencer: u64) -> Self {
        Self {
            name: name.into(),
            region: region.into(),
            unsaved: BTreeMap::new(),
            cleared: None,
            expired_before: EpochMillis::MIN,
            sequencer,
        }
    }

    /// The bucket's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where to read `key`.
    pub fn lookup(&self, key: &str) -> Lookup<'_> {
        match (self.unsaved.get(key), self.cleared) {
            (Some(unsaved), _) => Lookup::Unsaved(&unsaved.object),
            (None, Some(_)) => Lookup::Gone,
            (None, None) => Lookup::Saved,
        }
    }

    /// Hides every object written before `before`: the retention rule expired them.
    pub fn expire_before(&mut self, before: EpochMillis) {
        self.expired_before = self.expired_before.max(before);
    }

    /// Whether `object` has expired, though the delete may not have reached the disk yet.
    pub fn is_expired(&self, object: &StoredObject) -> bool {
        object.last_modified < self.expired_before
    }

    /// The time before which objects have expired.
    pub fn expired_before(&self) -> EpochMillis {
        self.expired_before
    }

    /// Whether the objects on disk are hidden by a change not yet committed.
    pub fn hides_saved(&self) -> bool {
        self.cleared.is_some()
    }

    /// Unsaved objects under a prefix, in key order.
    pub fn unsaved_under<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = (&'a String, &'a StoredObject)> {
        self.unsaved
            .range(prefix.to_owned()..)
            .take_while(move |(key, _)| key.starts_with(prefix))
            .map(|(key, unsaved)| (key, &unsaved.object))
    }

    /// Marks the writes made since the last call as carried by journal change `change`.
    pub fn stamp(&mut self, change: u64) {
        for unsaved in self.unsaved.values_mut() {
            unsaved.change.get_or_insert(change);
        }
        if let Some(cleared) = &mut self.cleared {
            cleared.get_or_insert(change);
        }
    }

    /// Forgets the writes the journal has committed (every change up to `committed`): the disk
    /// answers for them now.
    pub fn forget_saved(&mut self, committed: u64) {
        self.unsaved
            .retain(|_, unsaved| unsaved.change.is_none_or(|change| change > committed));
        if matches!(self.cleared, Some(Some(change)) if change <= committed) {
            self.cleared = None;
        }
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
        self.unsaved.insert(
            key.to_owned(),
            Unsaved {
                change: None,
                object: object.clone(),
            },
        );
        Ok((object, notification))
    }

    /// Removes every object (the change that does it deletes them on disk).
    pub fn clear(&mut self) {
        self.unsaved.clear();
        self.cleared = Some(None);
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
        let mut bucket = Bucket::new("chaos-bucket-0123", "us-east-1", 0);
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
        let mut bucket = Bucket::new("b", "us-east-1", 0);
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
        let mut bucket = Bucket::new("b", "us-east-1", 0);
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
    fn a_write_is_read_from_memory_until_its_change_is_committed() {
        let mut bucket = Bucket::new("b", "us-east-1", 0);
        let (object, _) = bucket
            .put("input/a.json", Bytes::from_static(b"{}"), "x", 7, "r")
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(bucket.lookup("input/a.json"), Lookup::Unsaved(&object));
        assert_eq!(bucket.lookup("input/b.json"), Lookup::Saved);
        // Not stamped yet: no commit can cover it.
        bucket.forget_saved(u64::MAX);
        assert_eq!(bucket.lookup("input/a.json"), Lookup::Unsaved(&object));
        bucket.stamp(5);
        bucket.forget_saved(4);
        assert_eq!(bucket.lookup("input/a.json"), Lookup::Unsaved(&object));
        bucket.forget_saved(5);
        assert_eq!(bucket.lookup("input/a.json"), Lookup::Saved);
        assert_eq!(bucket.unsaved_under("").count(), 0);
    }

    #[test]
    fn an_emptied_bucket_hides_the_disk_until_the_change_is_committed() {
        let mut bucket = Bucket::new("b", "us-east-1", 0);
        bucket.clear();
        assert!(bucket.hides_saved());
        assert_eq!(bucket.lookup("input/a.json"), Lookup::Gone);
        let (object, _) = bucket
            .put("input/a.json", Bytes::new(), "x", 0, "r")
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(bucket.lookup("input/a.json"), Lookup::Unsaved(&object));
        bucket.stamp(9);
        bucket.forget_saved(8);
        assert!(bucket.hides_saved());
        bucket.forget_saved(9);
        assert!(!bucket.hides_saved());
        assert_eq!(bucket.lookup("input/a.json"), Lookup::Saved);
    }

    #[test]
    fn empty_and_overlong_keys_are_refused() {
        let mut bucket = Bucket::new("b", "us-east-1", 0);
        assert_eq!(
            bucket.put("", Bytes::new(), "x", 0, "r").err(),
            Some(BucketError::InvalidKey(0))
        );
        let long = "k".repeat(MAX_KEY_BYTES + 1);
        assert!(bucket.put(&long, Bytes::new(), "x", 0, "r").is_err());
    }
}
