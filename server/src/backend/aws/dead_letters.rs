//! The stack's dead-letter queue on SQS: listing its messages without consuming them, and the
//! redrive that hands their events back to the function.
//!
//! SQS has no way to read a queue without receiving from it. The listing receives with
//! `VisibilityTimeout=0`, so every message stays visible, and deduplicates by message id: it is a
//! sample, which under load may repeat a message (once) or miss some, and each listing counts in
//! the queue's `NumberOfMessagesReceived` and raises the messages' receive counts. The total is
//! SQS's `ApproximateNumberOfMessages`. A listing filtered on the error message samples up to 300
//! messages and keeps those that pass; the count of matches is the count in that sample.
//!
//! The redrive receives a batch of up to 10 (hidden for the queue's visibility timeout), invokes
//! the function asynchronously with each message's body (the S3 event) and deletes the message
//! only once Lambda accepted the invocation. A message is therefore redriven at least once: if
//! the delete fails after the invocation, it may be redriven again later.

use std::collections::BTreeSet;

use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};

use super::clients::RegionClients;
use super::errors::{Call, backend_error};
use super::invoke::invoke_event;
use crate::backend::dead_letters::{self, DeadLetter, DeadLetterList, ErrorFilter, Redrive};
use crate::backend::{BackendError, StackNames};

/// The most messages one `ReceiveMessage` returns.
const RECEIVE_BATCH: usize = 10;

fn dlq_call<'a>(action: &'static str, names: &'a StackNames, endpoint: &'a str) -> Call<'a> {
    Call {
        action,
        resource_kind: "dead-letter queue",
        resource_name: &names.dlq_name,
        endpoint,
    }
}

/// A received message, as the listing shows it.
fn dead_letter(message: &aws_sdk_sqs::types::Message) -> DeadLetter {
    let attributes = message.message_attributes();
    let attribute = |name: &str| {
        dead_letters::attribute(
            attributes
                .into_iter()
                .flatten()
                .filter_map(|(name, value)| {
                    value.string_value().map(|value| (name.as_str(), value))
                }),
            name,
        )
    };
    let body = message.body().unwrap_or_default().to_owned();
    DeadLetter {
        message_id: message.message_id().unwrap_or_default().to_owned(),
        sent_at: message
            .attributes()
            .and_then(|attributes| attributes.get(&MessageSystemAttributeName::SentTimestamp))
            .and_then(|sent| sent.parse().ok())
            .unwrap_or_default(),
        request_id: attribute("RequestID"),
        error_code: attribute("ErrorCode"),
        error_message: attribute("ErrorMessage"),
        object_keys: dead_letters::object_keys(&body),
        body,
    }
}

/// How many `ReceiveMessage` calls a filtered listing makes at most: it samples up to 300
/// messages to find the ones that pass.
const FILTERED_RECEIVES: usize = 30;

/// Lists up to `limit` messages of the dead-letter queue that pass `filter`, leaving them
/// visible. Without a filter it receives until it has `limit` messages (a few calls more, since a
/// receive may return fewer than asked or repeat a message); with one, it samples up to
/// [`FILTERED_RECEIVES`] batches and counts the matches among them.
pub async fn list_dead_letters(
    clients: &RegionClients,
    names: &StackNames,
    limit: usize,
    filter: Option<&ErrorFilter>,
) -> Result<DeadLetterList, BackendError> {
    let endpoint = clients.endpoint("sqs");
    let call = dlq_call("sqs:ReceiveMessage", names, &endpoint);
    let mut seen = BTreeSet::new();
    let mut messages = Vec::new();
    let receives = match filter {
        None => limit.div_ceil(RECEIVE_BATCH) + 2,
        Some(_) => FILTERED_RECEIVES,
    };
    for _ in 0..receives {
        if filter.is_none() && messages.len() >= limit {
            break;
        }
        let batch = match filter {
            None => (limit - messages.len()).min(RECEIVE_BATCH),
            Some(_) => RECEIVE_BATCH,
        };
        let output = clients
            .sqs
            .receive_message()
            .queue_url(&names.dlq_url)
            .max_number_of_messages(i32::try_from(batch).unwrap_or(10))
            .visibility_timeout(0)
            .wait_time_seconds(0)
            .message_attribute_names("All")
            .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
            .send()
            .await
            .map_err(|error| backend_error(&call, &error))?;
        if output.messages().is_empty() {
            break;
        }
        for message in output.messages() {
            if seen.insert(message.message_id().unwrap_or_default().to_owned()) {
                let message = dead_letter(message);
                if ErrorFilter::passes(filter, message.error_message.as_deref()) {
                    messages.push(message);
                }
            }
        }
    }
    // Newest first, as the embedded backend lists them.
    messages.sort_by_key(|message| std::cmp::Reverse(message.sent_at));
    let sampled_matches = messages.len() as u64;
    messages.truncate(limit);
    let total = approximate_count(clients, names).await?;
    Ok(DeadLetterList {
        total,
        matching: if filter.is_some() {
            sampled_matches
        } else {
            total
        },
        messages,
    })
}

/// Redrives up to `max` messages; see the module's header. When an invocation or a delete fails
/// after some messages moved, the redrive stops there and reports what it moved; when the first
/// one fails, it answers the error.
pub async fn redrive_dead_letters(
    clients: &RegionClients,
    names: &StackNames,
    max: usize,
) -> Result<Redrive, BackendError> {
    let endpoint = clients.endpoint("sqs");
    let receive = dlq_call("sqs:ReceiveMessage", names, &endpoint);
    let delete = dlq_call("sqs:DeleteMessage", names, &endpoint);
    let mut redriven: u64 = 0;
    let mut invoked = BTreeSet::new();
    'batches: while (redriven as usize) < max {
        let batch = (max - redriven as usize).min(RECEIVE_BATCH);
        let output = clients
            .sqs
            .receive_message()
            .queue_url(&names.dlq_url)
            .max_number_of_messages(i32::try_from(batch).unwrap_or(10))
            .wait_time_seconds(0)
            .send()
            .await
            .map_err(|error| backend_error(&receive, &error))?;
        if output.messages().is_empty() {
            break;
        }
        for message in output.messages() {
            let id = message.message_id().unwrap_or_default().to_owned();
            // A standard queue may deliver a message twice: invoke its event once.
            if !invoked.contains(&id) {
                let step = async {
                    invoke_event(clients, names, message.body().unwrap_or_default()).await?;
                    clients
                        .sqs
                        .delete_message()
                        .queue_url(&names.dlq_url)
                        .receipt_handle(message.receipt_handle().unwrap_or_default())
                        .send()
                        .await
                        .map_err(|error| backend_error(&delete, &error))?;
                    Ok::<(), BackendError>(())
                };
                match step.await {
                    Ok(()) => {
                        invoked.insert(id);
                        redriven += 1;
                    }
                    Err(error) if redriven == 0 => return Err(error),
                    Err(error) => {
                        tracing::warn!(queue = %names.dlq_name, %error, redriven, "the redrive stopped early");
                        break 'batches;
                    }
                }
            }
        }
    }
    let remaining = approximate_count(clients, names).await?;
    Ok(Redrive {
        redriven,
        remaining,
    })
}

/// SQS's `ApproximateNumberOfMessages` of the dead-letter queue.
async fn approximate_count(
    clients: &RegionClients,
    names: &StackNames,
) -> Result<u64, BackendError> {
    let endpoint = clients.endpoint("sqs");
    let output = clients
        .sqs
        .get_queue_attributes()
        .queue_url(&names.dlq_url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .map_err(|error| {
            backend_error(
                &dlq_call("sqs:GetQueueAttributes", names, &endpoint),
                &error,
            )
        })?;
    Ok(output
        .attributes()
        .and_then(|attributes| attributes.get(&QueueAttributeName::ApproximateNumberOfMessages))
        .and_then(|count| count.parse().ok())
        .unwrap_or(0))
}
