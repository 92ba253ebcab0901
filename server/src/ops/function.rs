//! The function: changing its settings (timeout, memory, retries, maximum event age and reserved
//! concurrency, within Lambda's limits), and invoking it once to test it, as the Lambda console's
//! Test button does.

use bytes::Bytes;
use chaoslab_etl::event::{ObjectCreated, S3Event, S3EventRecord};
use serde_json::{Map, Value};

pub use crate::backend::invocation::{
    FiredFault, FunctionError, InvocationOutcome, InvocationReport, RECENT_INVOCATIONS,
};
use crate::backend::{FunctionChange, FunctionConfiguration, StackNames};
use crate::events::EventKind;
use crate::metrics::{EpochMillis, rfc3339};
use crate::ops::{Actor, OpError};
use crate::state::App;
use crate::traffic::message::{AUTHOR, SUBMISSION_DATE_FORMAT, TrafficMessage, VERSION};

/// Applies `change` to participant `id`'s function (a field left out keeps its value) and
/// records it. A value outside Lambda's limits is refused naming it, and nothing changes.
pub async fn update(
    app: &App,
    id: &str,
    change: &FunctionChange,
    actor: Actor,
) -> Result<FunctionConfiguration, OpError> {
    app.participants.get(id)?;
    change
        .validate()
        .map_err(|error| OpError::invalid("invalid_function_settings", error.to_string()))?;
    let configuration = app.backend.update_function(id, change).await?;
    let detail = format!(
        "timeout {} s, memory {} MB, {} retries, event age {} s, reserved concurrency {}",
        configuration.timeout_seconds,
        configuration.memory_mb,
        configuration.maximum_retry_attempts,
        configuration.maximum_event_age_seconds,
        configuration
            .reserved_concurrency
            .map_or_else(|| "none".to_owned(), |count| count.to_string()),
    );
    super::record(
        app,
        id,
        EventKind::FunctionChanged,
        actor.describe(&detail),
        "function settings changed",
    );
    Ok(configuration)
}

/// The key of the test invocation's sample object.
pub const SAMPLE_KEY: &str = "input/test-invoke.json";

/// The sample object's body: a lab message, as the publisher writes them, stamped `at`.
fn sample_body(at: EpochMillis) -> Bytes {
    let message = TrafficMessage {
        symbol: "TEST".to_owned(),
        message_id: 0,
        value: 100.0,
        object_name: "test-invoke".to_owned(),
        submission_date: chrono::DateTime::from_timestamp_millis(at)
            .unwrap_or_default()
            .format(SUBMISSION_DATE_FORMAT)
            .to_string(),
        author: AUTHOR.to_owned(),
        version: VERSION.to_owned(),
    };
    Bytes::from(message.to_json())
}

/// The S3 event S3 would send the function for `body` put at [`SAMPLE_KEY`] in `names`' bucket.
fn sample_event_for(names: &StackNames, body: &[u8], at: EpochMillis) -> Value {
    let e_tag = hex::encode(<md5::Md5 as md5::Digest>::digest(body));
    let event_time = rfc3339::format_millis(at);
    let sequencer = format!("{:016X}", at);
    let record = S3EventRecord::object_created(&ObjectCreated {
        region: &names.region,
        bucket: &names.bucket,
        key: SAMPLE_KEY,
        size: body.len() as u64,
        e_tag: &e_tag,
        sequencer: &sequencer,
        event_time: &event_time,
        event_name: "ObjectCreated:Put",
        configuration_id: "invoke-etl-function",
        principal_id: "AWS:AIDACHAOSLABTESTINVOKE",
        source_ip_address: "127.0.0.1",
        request_id: "CHAOSLABTESTINVOKE",
        host_id: "chaoslab-test-invoke",
    });
    serde_json::to_value(S3Event::from_records(vec![record])).unwrap_or_default()
}

/// The prefilled test event of participant `id`: the `ObjectCreated:Put` event S3 sends the
/// function for the sample object [`SAMPLE_KEY`] in their bucket, to show (and edit) before
/// invoking.
pub fn sample_event(app: &App, id: &str) -> Result<Value, OpError> {
    app.participants.get(id)?;
    let names = app
        .backend
        .stack_names(id)
        .ok_or_else(|| OpError::NotFound(format!("no pipeline stack for participant {id:?}")))?;
    let at = app.backend.clock().now();
    Ok(sample_event_for(&names, &sample_body(at), at))
}

/// Invokes participant `id`'s function once, synchronously, as the Lambda console's Test button
/// does, and records the invocation (the last [`RECENT_INVOCATIONS`] are kept, see
/// [`recent_invocations`]).
///
/// Without `event`, the function gets the prefilled event ([`sample_event`]), and the sample
/// object is written first if the bucket does not hold it yet. Writing it is an ordinary upload:
/// S3 also hands it to the function asynchronously, once, and it counts as published like any
/// object. An `event` the function cannot read is passed to it anyway, as Lambda would, and the
/// invocation fails inside the function: a function's failure is a report, not an error.
pub async fn invoke(
    app: &App,
    id: &str,
    event: Option<Map<String, Value>>,
    actor: Actor,
) -> Result<InvocationReport, OpError> {
    app.participants.get(id)?;
    let event = match event {
        Some(event) => Value::Object(event),
        None => {
            let at = app.backend.clock().now();
            let body = sample_body(at);
            app.backend
                .put_object_if_absent(id, SAMPLE_KEY, body.clone())
                .await?;
            let names = app.backend.stack_names(id).ok_or_else(|| {
                OpError::NotFound(format!("no pipeline stack for participant {id:?}"))
            })?;
            sample_event_for(&names, &body, at)
        }
    };
    let report = app.backend.invoke_function(id, &event.to_string()).await?;
    app.invocations.record(id, report.clone());
    let summary: String = report.summary().chars().take(300).collect();
    super::record(
        app,
        id,
        EventKind::FunctionInvoked,
        actor.describe(&format!("test invoke: {summary}")),
        "function invoked",
    );
    Ok(report)
}

/// Participant `id`'s last [`RECENT_INVOCATIONS`] test invocations, newest first (since the
/// server started).
pub fn recent_invocations(app: &App, id: &str) -> Result<Vec<InvocationReport>, OpError> {
    app.participants.get(id)?;
    Ok(app.invocations.of(id))
}
