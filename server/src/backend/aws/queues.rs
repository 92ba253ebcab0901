//! The stack's queues: the subscriber's long-polling `ReceiveMessage` and `DeleteMessage` on
//! the csv queue, and the purges of a reset.

use std::time::Duration;

use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};

use super::clients::{LONG_POLL_GRACE, RegionClients, timeouts};
use super::errors::{Call, backend_error};
use crate::backend::{BackendError, CsvMessage, StackNames, check_delete_batch};

/// The most messages one `ReceiveMessage` returns.
pub const MAX_RECEIVE_BATCH: usize = 10;
/// The longest long poll SQS allows.
pub const MAX_WAIT: Duration = Duration::from_secs(20);

/// Receives up to `max` CSV notifications, waiting up to `wait` for the first (long polling).
pub async fn receive_csv_messages(
    clients: &RegionClients,
    names: &StackNames,
    max: usize,
    wait: Duration,
) -> Result<Vec<CsvMessage>, BackendError> {
    if !(1..=MAX_RECEIVE_BATCH).contains(&max) {
        return Err(BackendError::InvalidRequest(format!(
            "MaxNumberOfMessages must be between 1 and {MAX_RECEIVE_BATCH}, got {max}"
        )));
    }
    if wait > MAX_WAIT {
        return Err(BackendError::InvalidRequest(format!(
            "WaitTimeSeconds must be between 0 and 20, got {}",
            wait.as_secs()
        )));
    }
    let wait_seconds = wait.as_secs();
    let endpoint = clients.endpoint("sqs");
    let call = csv_queue_call("sqs:ReceiveMessage", names, &endpoint);
    let output = clients
        .sqs
        .receive_message()
        .queue_url(&names.csv_queue_url)
        .max_number_of_messages(i32::try_from(max).unwrap_or(10))
        .wait_time_seconds(i32::try_from(wait_seconds).unwrap_or(20))
        .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
        .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
        .customize()
        // A long poll answers after up to WaitTimeSeconds by design: the ordinary operation
        // timeout would cut it off.
        .config_override(
            aws_sdk_sqs::config::Builder::default().timeout_config(timeouts(
                Duration::from_secs(wait_seconds) + LONG_POLL_GRACE,
            )),
        )
        .send()
        .await
        .map_err(|error| backend_error(&call, &error))?;
    Ok(output
        .messages()
        .iter()
        .map(|message| CsvMessage {
            message_id: message.message_id().unwrap_or_default().to_owned(),
            receipt_handle: message.receipt_handle().unwrap_or_default().to_owned(),
            body: message.body().unwrap_or_default().to_owned(),
            receive_count: message
                .attributes()
                .and_then(|attributes| {
                    attributes.get(&MessageSystemAttributeName::ApproximateReceiveCount)
                })
                .and_then(|count| count.parse().ok())
                .unwrap_or(1),
            // SQS sends the time as a string of epoch milliseconds.
            sent_timestamp: message
                .attributes()
                .and_then(|attributes| attributes.get(&MessageSystemAttributeName::SentTimestamp))
                .and_then(|sent| sent.parse().ok()),
        })
        .collect())
}

/// Deletes a received CSV notification.
pub async fn delete_csv_message(
    clients: &RegionClients,
    names: &StackNames,
    receipt_handle: &str,
) -> Result<(), BackendError> {
    if receipt_handle.is_empty() {
        return Err(BackendError::InvalidRequest(
            "the receipt handle is empty".to_owned(),
        ));
    }
    let endpoint = clients.endpoint("sqs");
    let call = csv_queue_call("sqs:DeleteMessage", names, &endpoint);
    clients
        .sqs
        .delete_message()
        .queue_url(&names.csv_queue_url)
        .receipt_handle(receipt_handle)
        .send()
        .await
        .map_err(|error| backend_error(&call, &error))?;
    Ok(())
}

/// Deletes up to ten received CSV notifications with one `DeleteMessageBatch`; for each handle,
/// `None` when it was deleted, or SQS's reason.
pub async fn delete_csv_messages(
    clients: &RegionClients,
    names: &StackNames,
    receipt_handles: &[String],
) -> Result<Vec<Option<String>>, BackendError> {
    check_delete_batch(receipt_handles)?;
    let endpoint = clients.endpoint("sqs");
    let call = csv_queue_call("sqs:DeleteMessageBatch", names, &endpoint);
    let entries = receipt_handles
        .iter()
        .enumerate()
        .map(|(index, handle)| {
            DeleteMessageBatchRequestEntry::builder()
                .id(index.to_string())
                .receipt_handle(handle)
                .build()
                .map_err(|error| BackendError::InvalidRequest(error.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let output = clients
        .sqs
        .delete_message_batch()
        .queue_url(&names.csv_queue_url)
        .set_entries(Some(entries))
        .send()
        .await
        .map_err(|error| backend_error(&call, &error))?;
    let mut outcomes: Vec<Option<String>> =
        vec![Some("SQS did not answer for this entry".to_owned()); receipt_handles.len()];
    for deleted in output.successful() {
        if let Some(outcome) = deleted
            .id()
            .parse::<usize>()
            .ok()
            .and_then(|index| outcomes.get_mut(index))
        {
            *outcome = None;
        }
    }
    for failed in output.failed() {
        if let Some(outcome) = failed
            .id()
            .parse::<usize>()
            .ok()
            .and_then(|index| outcomes.get_mut(index))
        {
            *outcome = Some(format!(
                "{}: {}",
                failed.code(),
                failed.message().unwrap_or("no message")
            ));
        }
    }
    Ok(outcomes)
}

/// Deletes every message of the csv queue and of the dead-letter queue.
pub async fn purge_queues(clients: &RegionClients, names: &StackNames) -> Result<(), BackendError> {
    let endpoint = clients.endpoint("sqs");
    for (kind, name, url) in [
        ("csv queue", &names.csv_queue_name, &names.csv_queue_url),
        ("dead-letter queue", &names.dlq_name, &names.dlq_url),
    ] {
        let call = Call {
            action: "sqs:PurgeQueue",
            resource_kind: kind,
            resource_name: name,
            endpoint: &endpoint,
        };
        clients
            .sqs
            .purge_queue()
            .queue_url(url)
            .send()
            .await
            .map_err(|error| backend_error(&call, &error))?;
    }
    Ok(())
}

/// A call on the stack's csv queue, as errors name it.
fn csv_queue_call<'a>(action: &'static str, names: &'a StackNames, endpoint: &'a str) -> Call<'a> {
    Call {
        action,
        resource_kind: "csv queue",
        resource_name: &names.csv_queue_name,
        endpoint,
    }
}
