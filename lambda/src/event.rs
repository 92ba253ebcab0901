//! The S3 event notification that triggers the ETL function, in AWS's own JSON shape.
//!
//! These are our own serde types rather than `aws_lambda_events`, for two reasons:
//! - the `s3:TestEvent` message S3 sends when a notification is configured has no `Records` and
//!   no `eventTime`, and it must still parse;
//! - the server's embedded backend *produces* these events, so serialising one must give exactly
//!   the field names AWS uses ([`S3EventRecord::object_created`] builds one).
//!
//! Object keys travel form-URL-encoded ([`encode_key`], [`decode_key`]).

use serde::{Deserialize, Serialize};

/// `eventVersion` of the records S3 sends for object-created events.
pub const EVENT_VERSION: &str = "2.1";
/// `eventSource` of every S3 record.
pub const EVENT_SOURCE: &str = "aws:s3";
/// `s3.s3SchemaVersion` of every S3 record.
pub const S3_SCHEMA_VERSION: &str = "1.0";
/// The `Event` value of the message S3 sends to check a newly configured destination.
pub const TEST_EVENT: &str = "s3:TestEvent";
/// The prefix shared by every object-created `eventName` (`ObjectCreated:Put`, `ObjectCreated:Copy`, ...).
pub const OBJECT_CREATED_PREFIX: &str = "ObjectCreated:";

/// One S3 event notification: either a batch of records or an `s3:TestEvent`.
///
/// A real notification carries only `Records`; the test event carries only the capitalised
/// `Service`, `Event`, `Time`, `Bucket`, `RequestId` and `HostId` fields. Absent fields are not
/// serialised, so each kind round-trips to the shape AWS sends. Unknown fields are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3Event {
    /// The event records; S3 normally sends one per notification.
    #[serde(rename = "Records", default, skip_serializing_if = "Vec::is_empty")]
    pub records: Vec<S3EventRecord>,
    /// `"Amazon S3"` in a test event.
    #[serde(rename = "Service", default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// `"s3:TestEvent"` in a test event.
    #[serde(rename = "Event", default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// When the test event was sent (RFC 3339).
    #[serde(rename = "Time", default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// The bucket whose notification configuration was tested.
    #[serde(rename = "Bucket", default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    /// S3's request id for the configuration change.
    #[serde(rename = "RequestId", default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// S3's host id for the configuration change.
    #[serde(rename = "HostId", default, skip_serializing_if = "Option::is_none")]
    pub host_id: Option<String>,
}

impl S3Event {
    /// An event carrying the given records, as S3 sends them.
    pub fn from_records(records: Vec<S3EventRecord>) -> Self {
        Self {
            records,
            ..Self::default()
        }
    }

    /// Whether this is the `s3:TestEvent` S3 sends when a notification configuration is saved.
    pub fn is_test_event(&self) -> bool {
        self.event.as_deref() == Some(TEST_EVENT)
    }
}

/// One record of an S3 event notification (`Records[]`).
///
/// Deserialisation is lenient: a missing field takes its default, so hand-written and console
/// test events parse. Serialisation writes AWS's field names in AWS's order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct S3EventRecord {
    /// `eventVersion`, `"2.1"` for object-created events.
    #[serde(rename = "eventVersion")]
    pub event_version: String,
    /// `eventSource`, always `"aws:s3"`.
    #[serde(rename = "eventSource")]
    pub event_source: String,
    /// `awsRegion`, the bucket's region.
    #[serde(rename = "awsRegion")]
    pub aws_region: String,
    /// `eventTime`, RFC 3339 with milliseconds in UTC, e.g. `2026-11-24T19:41:02.123Z`.
    #[serde(rename = "eventTime")]
    pub event_time: String,
    /// `eventName` without the `s3:` prefix, e.g. `ObjectCreated:Put` or `ObjectRemoved:Delete`.
    #[serde(rename = "eventName")]
    pub event_name: String,
    /// `userIdentity`: who caused the event.
    #[serde(rename = "userIdentity")]
    pub user_identity: UserIdentity,
    /// `requestParameters`: where the request came from.
    #[serde(rename = "requestParameters")]
    pub request_parameters: RequestParameters,
    /// `responseElements`: the ids S3 returned for the request.
    #[serde(rename = "responseElements")]
    pub response_elements: ResponseElements,
    /// `s3`: the bucket and the object.
    pub s3: S3Entity,
}

/// `userIdentity` (and `s3.bucket.ownerIdentity`): an AWS principal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UserIdentity {
    /// `principalId`, e.g. `AWS:AIDAEXAMPLE` for an IAM user.
    #[serde(rename = "principalId")]
    pub principal_id: String,
}

/// `requestParameters` of a record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RequestParameters {
    /// `sourceIPAddress`: the IP address the request came from.
    #[serde(rename = "sourceIPAddress")]
    pub source_ip_address: String,
}

/// `responseElements` of a record: the ids S3 returned to the request that caused the event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ResponseElements {
    /// `x-amz-request-id`.
    #[serde(rename = "x-amz-request-id")]
    pub request_id: String,
    /// `x-amz-id-2`: the S3 host that processed the request.
    #[serde(rename = "x-amz-id-2")]
    pub id_2: String,
}

/// `s3` of a record: the bucket and object the event is about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct S3Entity {
    /// `s3SchemaVersion`, always `"1.0"`.
    #[serde(rename = "s3SchemaVersion")]
    pub s3_schema_version: String,
    /// `configurationId`: the id of the bucket notification configuration that matched.
    #[serde(rename = "configurationId")]
    pub configuration_id: String,
    /// `bucket`.
    pub bucket: S3Bucket,
    /// `object`.
    pub object: S3Object,
}

/// `s3.bucket` of a record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct S3Bucket {
    /// `name`.
    pub name: String,
    /// `ownerIdentity`: the bucket owner.
    #[serde(rename = "ownerIdentity")]
    pub owner_identity: UserIdentity,
    /// `arn`, `arn:aws:s3:::<name>`.
    pub arn: String,
}

/// `s3.object` of a record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct S3Object {
    /// `key`, form-URL-encoded: decode it with [`decode_key`] (or [`S3EventRecord::decoded_key`])
    /// before using it in an S3 request.
    pub key: String,
    /// `size` in bytes. S3 leaves it out of delete events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// `eTag`, without quotes. S3 leaves it out of delete events.
    #[serde(rename = "eTag", skip_serializing_if = "Option::is_none")]
    pub e_tag: Option<String>,
    /// `versionId`, present only when the bucket has versioning enabled.
    #[serde(rename = "versionId", skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// `sequencer`: a hex string ordering the PUT and DELETE events of one key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequencer: Option<String>,
}

/// What S3 knows about a newly created object when it notifies: the input of
/// [`S3EventRecord::object_created`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectCreated<'a> {
    /// The bucket's region, e.g. `eu-west-1`.
    pub region: &'a str,
    /// The bucket name.
    pub bucket: &'a str,
    /// The object key as stored, *not* encoded.
    pub key: &'a str,
    /// The object size in bytes.
    pub size: u64,
    /// The object's ETag, without quotes.
    pub e_tag: &'a str,
    /// The sequencer: a hex string that grows with every write to the key.
    pub sequencer: &'a str,
    /// When S3 finished the request, RFC 3339 with milliseconds in UTC.
    pub event_time: &'a str,
    /// The event name, e.g. `ObjectCreated:Put`.
    pub event_name: &'a str,
    /// The id of the notification configuration that matched.
    pub configuration_id: &'a str,
    /// The principal that wrote the object (`userIdentity.principalId`).
    pub principal_id: &'a str,
    /// The IP address the write came from.
    pub source_ip_address: &'a str,
    /// S3's request id for the write (`x-amz-request-id`).
    pub request_id: &'a str,
    /// S3's host id for the write (`x-amz-id-2`).
    pub host_id: &'a str,
}

impl S3EventRecord {
    /// The record S3 sends when an object is created, with the key form-URL-encoded as S3 does.
    pub fn object_created(created: &ObjectCreated<'_>) -> Self {
        Self {
            event_version: EVENT_VERSION.to_owned(),
            event_source: EVENT_SOURCE.to_owned(),
            aws_region: created.region.to_owned(),
            event_time: created.event_time.to_owned(),
            event_name: created.event_name.to_owned(),
            user_identity: UserIdentity {
                principal_id: created.principal_id.to_owned(),
            },
            request_parameters: RequestParameters {
                source_ip_address: created.source_ip_address.to_owned(),
            },
            response_elements: ResponseElements {
                request_id: created.request_id.to_owned(),
                id_2: created.host_id.to_owned(),
            },
            s3: S3Entity {
                s3_schema_version: S3_SCHEMA_VERSION.to_owned(),
                configuration_id: created.configuration_id.to_owned(),
                bucket: S3Bucket {
                    name: created.bucket.to_owned(),
                    // The bucket owner is the principal that wrote the object in a one-account lab.
                    owner_identity: UserIdentity {
                        principal_id: created.principal_id.to_owned(),
                    },
                    arn: format!("arn:aws:s3:::{}", created.bucket),
                },
                object: S3Object {
                    key: encode_key(created.key),
                    size: Some(created.size),
                    e_tag: Some(created.e_tag.to_owned()),
                    // An unversioned bucket's events carry no versionId at all.
                    version_id: None,
                    sequencer: Some(created.sequencer.to_owned()),
                },
            },
        }
    }

    /// Whether this record reports a new object (`ObjectCreated:*`).
    pub fn is_object_created(&self) -> bool {
        self.event_name.starts_with(OBJECT_CREATED_PREFIX)
    }

    /// The object key decoded from the form-URL-encoding S3 sends it in.
    pub fn decoded_key(&self) -> Result<String, KeyError> {
        decode_key(&self.s3.object.key)
    }
}

/// Why an object key from an event could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// A `%` not followed by two hexadecimal digits.
    #[error(
        "object key {key:?} from the S3 event has an invalid escape at byte {position}: \
         a '%' must be followed by two hexadecimal digits"
    )]
    InvalidEscape {
        /// The key as it arrived in the event.
        key: String,
        /// Byte offset of the offending `%`.
        position: usize,
    },
    /// The decoded bytes are not UTF-8, so they cannot be an S3 key.
    #[error("object key {key:?} from the S3 event does not decode to UTF-8 text")]
    InvalidUtf8 {
        /// The key as it arrived in the event.
        key: String,
    },
}

/// Encodes an object key the way S3 writes it into event notifications.
///
/// S3 sends keys form-URL-encoded (`application/x-www-form-urlencoded`): a space becomes `+`,
/// ASCII letters, digits and `. - _ *` stay as they are, and every other byte of the UTF-8 key is
/// percent-encoded with upper-case hex (`+` → `%2B`, `=` → `%3D`, `é` → `%C3%A9`). The one
/// exception is `/`, which S3 leaves unencoded, so `input/a b.json` arrives as `input/a+b.json`.
pub fn encode_key(key: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut encoded = String::with_capacity(key.len());
    for &byte in key.as_bytes() {
        match byte {
            b' ' => encoded.push('+'),
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' | b'*' | b'/' => {
                encoded.push(char::from(byte));
            }
            _ => {
                encoded.push('%');
                encoded.push(char::from(HEX[usize::from(byte >> 4)]));
                encoded.push(char::from(HEX[usize::from(byte & 0x0F)]));
            }
        }
    }
    encoded
}

/// Decodes an object key from an S3 event: `+` is a space and `%XX` an escaped byte.
///
/// `input/my+file%2Fx.json` decodes to `input/my file/x.json`, and `caf%C3%A9` to `café`.
/// A `%` without two hex digits, or bytes that are not UTF-8 once decoded, is a [`KeyError`].
pub fn decode_key(encoded: &str) -> Result<String, KeyError> {
    let bytes = encoded.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut position = 0;
    while let Some(&byte) = bytes.get(position) {
        match byte {
            // Form encoding: '+' stands for a space; a literal '+' arrives as "%2B".
            b'+' => {
                decoded.push(b' ');
                position += 1;
            }
            b'%' => {
                let escaped = bytes
                    .get(position + 1)
                    .and_then(|&high| hex_value(high))
                    .zip(bytes.get(position + 2).and_then(|&low| hex_value(low)));
                let Some((high, low)) = escaped else {
                    return Err(KeyError::InvalidEscape {
                        key: encoded.to_owned(),
                        position,
                    });
                };
                decoded.push(high << 4 | low);
                position += 3;
            }
            _ => {
                decoded.push(byte);
                position += 1;
            }
        }
    }
    String::from_utf8(decoded).map_err(|_| KeyError::InvalidUtf8 {
        key: encoded.to_owned(),
    })
}

/// The value of one hexadecimal digit, either case.
fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use proptest::prelude::*;

    #[test]
    fn space_encodes_as_plus_and_slash_stays() {
        assert_eq!(encode_key("input/a b.json"), "input/a+b.json");
    }

    #[test]
    fn reserved_and_unicode_bytes_are_percent_encoded() {
        assert_eq!(
            encode_key("input/x=1+y:2é~.json"),
            "input/x%3D1%2By%3A2%C3%A9%7E.json"
        );
    }

    #[test]
    fn plus_and_escapes_decode() {
        assert_eq!(
            decode_key("input/my+file%2Fx.json").unwrap(),
            "input/my file/x.json"
        );
        assert_eq!(decode_key("caf%c3%A9").unwrap(), "café");
    }

    #[test]
    fn truncated_escape_is_an_error_with_its_position() {
        assert_eq!(
            decode_key("input/a%2"),
            Err(KeyError::InvalidEscape {
                key: "input/a%2".to_owned(),
                position: 7
            })
        );
        assert!(matches!(
            decode_key("%zz"),
            Err(KeyError::InvalidEscape { position: 0, .. })
        ));
    }

    #[test]
    fn escape_of_invalid_utf8_is_an_error() {
        assert_eq!(
            decode_key("input/%FF.json"),
            Err(KeyError::InvalidUtf8 {
                key: "input/%FF.json".to_owned()
            })
        );
    }

    #[test]
    fn test_event_parses_without_records() {
        let event: S3Event = serde_json::from_str(
            r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-11-24T19:41:02.123Z",
                "Bucket":"lab-bucket","RequestId":"R1","HostId":"H1"}"#,
        )
        .unwrap();
        assert!(event.is_test_event());
        assert!(event.records.is_empty());
    }

    #[test]
    fn object_created_record_serialises_with_aws_field_names_in_order() {
        let record = S3EventRecord::object_created(&ObjectCreated {
            region: "eu-west-1",
            bucket: "lab-bucket",
            key: "input/a b.json",
            size: 12,
            e_tag: "0123456789abcdef0123456789abcdef",
            sequencer: "0062A1B2C3D4E5F601",
            event_time: "2026-11-24T19:41:02.123Z",
            event_name: "ObjectCreated:Put",
            configuration_id: "etl",
            principal_id: "AWS:AIDAEXAMPLE",
            source_ip_address: "127.0.0.1",
            request_id: "C3D13FE58DE4C810",
            host_id: "chaoslab/host/0001",
        });
        let json = serde_json::to_string(&S3Event::from_records(vec![record.clone()])).unwrap();
        assert_eq!(
            json,
            concat!(
                r#"{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"eu-west-1","#,
                r#""eventTime":"2026-11-24T19:41:02.123Z","eventName":"ObjectCreated:Put","#,
                r#""userIdentity":{"principalId":"AWS:AIDAEXAMPLE"},"#,
                r#""requestParameters":{"sourceIPAddress":"127.0.0.1"},"#,
                r#""responseElements":{"x-amz-request-id":"C3D13FE58DE4C810","#,
                r#""x-amz-id-2":"chaoslab/host/0001"},"#,
                r#""s3":{"s3SchemaVersion":"1.0","configurationId":"etl","#,
                r#""bucket":{"name":"lab-bucket","ownerIdentity":{"principalId":"AWS:AIDAEXAMPLE"},"#,
                r#""arn":"arn:aws:s3:::lab-bucket"},"#,
                r#""object":{"key":"input/a+b.json","size":12,"#,
                r#""eTag":"0123456789abcdef0123456789abcdef","sequencer":"0062A1B2C3D4E5F601"}}}]}"#,
            )
        );
        let parsed: S3Event = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed.records, vec![record]);
        assert_eq!(parsed.records[0].decoded_key().unwrap(), "input/a b.json");
    }

    proptest! {
        #[test]
        fn decoding_an_encoded_key_gives_the_key_back(key in any::<String>()) {
            prop_assert_eq!(decode_key(&encode_key(&key)).unwrap(), key);
        }

        #[test]
        fn encoded_keys_use_only_safe_characters(key in any::<String>()) {
            let encoded = encode_key(&key);
            prop_assert!(encoded.bytes().all(|byte| byte.is_ascii_alphanumeric() || b".-_*/+%".contains(&byte)));
        }
    }
}
