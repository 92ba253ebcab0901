//! An SNS topic: wraps each published message in SNS's notification envelope for its
//! subscribed queue.

use serde::Serialize;

use crate::metrics::{EpochMillis, rfc3339};

/// The JSON an SQS subscriber receives from SNS when raw message delivery is off.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Envelope<'a> {
    /// Always `Notification`.
    pub r#type: &'static str,
    /// SNS's id for the published message.
    pub message_id: &'a str,
    /// The topic's ARN.
    pub topic_arn: &'a str,
    /// The publisher's subject; S3 sets `Amazon S3 Notification`.
    pub subject: &'static str,
    /// The published message, as a JSON string.
    pub message: &'a str,
    /// When SNS accepted it.
    pub timestamp: String,
    /// Signature version.
    pub signature_version: &'static str,
    /// SNS signs each notification; the embedded topic cannot, so it says so here.
    pub signature: &'static str,
    /// Where SNS's signing certificate would be.
    #[serde(rename = "SigningCertURL")]
    pub signing_cert_url: String,
    /// Where to unsubscribe.
    #[serde(rename = "UnsubscribeURL")]
    pub unsubscribe_url: String,
}

/// Wraps `message` as SNS delivers it to an SQS subscription.
pub fn envelope(
    topic_arn: &str,
    region: &str,
    message_id: &str,
    message: &str,
    now: EpochMillis,
) -> String {
    let envelope = Envelope {
        r#type: "Notification",
        message_id,
        topic_arn,
        subject: "Amazon S3 Notification",
        message,
        timestamp: rfc3339::format_millis(now),
        signature_version: "1",
        signature: "UNSIGNED-EMBEDDED-BACKEND",
        signing_cert_url: format!(
            "https://sns.{region}.amazonaws.com/SimpleNotificationService-embedded.pem"
        ),
        unsubscribe_url: format!(
            "https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={topic_arn}:embedded"
        ),
    };
    // Serialising this struct of strings cannot fail; fall back to the bare message regardless.
    serde_json::to_string(&envelope).unwrap_or_else(|_| message.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_carries_the_message_as_a_json_string() {
        let text = envelope(
            "arn:aws:sns:us-east-1:123456789012:t",
            "us-east-1",
            "mid",
            r#"{"Records":[]}"#,
            1_500,
        );
        let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(value["Type"], "Notification");
        assert_eq!(value["TopicArn"], "arn:aws:sns:us-east-1:123456789012:t");
        assert_eq!(value["Message"], r#"{"Records":[]}"#);
        assert_eq!(value["Timestamp"], "1970-01-01T00:00:01.500Z");
        assert_eq!(value["MessageId"], "mid");
    }
}
