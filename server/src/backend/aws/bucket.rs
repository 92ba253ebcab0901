//! The stack's bucket: the publisher's `PutObject`, and emptying `input/` and `output/` on reset.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use bytes::Bytes;

use super::clients::RegionClients;
use super::errors::{Call, backend_error, service_error};
use crate::backend::{BackendError, StackNames};

/// The prefixes a reset empties: the publisher's input and the function's output.
pub const RESET_PREFIXES: [&str; 2] = ["input/", "output/"];

/// `DeleteObjects` takes at most this many keys.
const DELETE_BATCH: usize = 1000;

fn call<'a>(action: &'static str, names: &'a StackNames, endpoint: &'a str) -> Call<'a> {
    Call {
        action,
        resource_kind: "bucket",
        resource_name: &names.bucket,
        endpoint,
    }
}

/// Writes a JSON object into the bucket, as the lab's publisher does.
pub async fn put_object(
    clients: &RegionClients,
    names: &StackNames,
    key: &str,
    body: Bytes,
) -> Result<(), BackendError> {
    if key.is_empty() {
        return Err(BackendError::InvalidRequest(
            "the object key is empty".to_owned(),
        ));
    }
    let endpoint = clients.endpoint("s3");
    clients
        .s3
        .put_object()
        .bucket(&names.bucket)
        .key(key)
        .content_type("application/json")
        .body(ByteStream::from(body))
        .send()
        .await
        .map_err(|error| backend_error(&call("s3:PutObject", names, &endpoint), &error))?;
    Ok(())
}

/// Writes a JSON object unless its key is taken: S3's conditional write (`If-None-Match: *`),
/// which needs only `s3:PutObject`. Returns whether it was written.
pub async fn put_object_if_absent(
    clients: &RegionClients,
    names: &StackNames,
    key: &str,
    body: Bytes,
) -> Result<bool, BackendError> {
    if key.is_empty() {
        return Err(BackendError::InvalidRequest(
            "the object key is empty".to_owned(),
        ));
    }
    let endpoint = clients.endpoint("s3");
    let written = clients
        .s3
        .put_object()
        .bucket(&names.bucket)
        .key(key)
        .content_type("application/json")
        .if_none_match("*")
        .body(ByteStream::from(body))
        .send()
        .await;
    match written {
        Ok(_) => Ok(true),
        // 412: the key exists; 409: a concurrent conditional write to it won.
        Err(error)
            if error
                .raw_response()
                .is_some_and(|raw| matches!(raw.status().as_u16(), 409 | 412)) =>
        {
            Ok(false)
        }
        Err(error) => Err(backend_error(
            &call("s3:PutObject", names, &endpoint),
            &error,
        )),
    }
}

/// Deletes every object under `prefix`, a page of at most 1000 keys at a time; returns how
/// many were deleted.
pub async fn delete_prefix(
    clients: &RegionClients,
    names: &StackNames,
    prefix: &str,
) -> Result<usize, BackendError> {
    let endpoint = clients.endpoint("s3");
    let mut deleted = 0;
    let mut continuation: Option<String> = None;
    loop {
        let page = clients
            .s3
            .list_objects_v2()
            .bucket(&names.bucket)
            .prefix(prefix)
            .set_continuation_token(continuation.take())
            .send()
            .await
            .map_err(|error| backend_error(&call("s3:ListBucket", names, &endpoint), &error))?;
        let keys: Vec<ObjectIdentifier> = page
            .contents()
            .iter()
            .filter_map(|object| object.key())
            .filter_map(|key| ObjectIdentifier::builder().key(key).build().ok())
            .collect();
        for batch in keys.chunks(DELETE_BATCH) {
            let delete = Delete::builder()
                .set_objects(Some(batch.to_vec()))
                .quiet(true)
                .build()
                .map_err(|error| {
                    BackendError::InvalidRequest(format!("cannot build s3:DeleteObject: {error}"))
                })?;
            let call = call("s3:DeleteObject", names, &endpoint);
            let output = clients
                .s3
                .delete_objects()
                .bucket(&names.bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|error| backend_error(&call, &error))?;
            // DeleteObjects answers 200 and lists the keys it could not delete.
            if let Some(failed) = output.errors().first() {
                return Err(service_error(
                    &call,
                    0,
                    failed.code().unwrap_or_default(),
                    failed.message().unwrap_or_default(),
                ));
            }
            deleted += batch.len();
        }
        match page.next_continuation_token() {
            Some(token) if page.is_truncated() == Some(true) => {
                continuation = Some(token.to_owned());
            }
            _ => return Ok(deleted),
        }
    }
}
