//! Turning AWS SDK errors into [`BackendError`]s a participant can act on.
//!
//! Every SDK call names what it did ([`Call`]): the IAM action, the stack's resource and the
//! endpoint. The error then says which of these went wrong and what to do: re-run Terraform for a
//! missing resource, grant a permission, slow down, refresh credentials, or check the network.

use std::error::Error as StdError;

use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use crate::backend::BackendError;

/// One SDK call, as error messages name it.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    /// The IAM action, e.g. `sqs:ReceiveMessage`.
    pub action: &'static str,
    /// What the resource is, e.g. `csv queue`.
    pub resource_kind: &'static str,
    /// The resource's name, e.g. `chaos-csv-queue-…`.
    pub resource_name: &'a str,
    /// Where the request went, e.g. `https://sqs.us-east-1.amazonaws.com`.
    pub endpoint: &'a str,
}

// Error codes by what they mean. AWS services spell the same condition differently (the query
// protocols say `AccessDenied`, the JSON ones `AccessDeniedException`), so each list holds every
// spelling the stack's five services use.
const MISSING: &[&str] = &[
    "NoSuchBucket",
    "QueueDoesNotExist",
    "AWS.SimpleQueueService.NonExistentQueue",
    "ResourceNotFoundException",
    "ResourceNotFound",
    "ParameterNotFound",
    "NotFound",
    "NoSuchEntity",
];
const DENIED: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "AuthorizationError",
    "AuthorizationErrorException",
    "UnauthorizedOperation",
    "AllAccessDisabled",
    "KMS.AccessDeniedException",
];
const THROTTLED: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
    "ProvisionedThroughputExceededException",
    "BandwidthLimitExceeded",
    "PriorRequestNotComplete",
    "LimitExceededException",
    "KMS.ThrottlingException",
];
const EXPIRED_CREDENTIALS: &[&str] = &[
    "ExpiredToken",
    "ExpiredTokenException",
    "RequestExpired",
    "TokenRefreshRequired",
];
const INVALID_CREDENTIALS: &[&str] = &[
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
    "IncompleteSignature",
    "IncompleteSignatureException",
    "InvalidToken",
    "MissingAuthenticationToken",
    "MissingAuthenticationTokenException",
    "AuthFailure",
];
const INVALID_REQUEST: &[&str] = &[
    "ReceiptHandleIsInvalid",
    "InvalidParameterValue",
    "InvalidParameterValueException",
    "InvalidParameterException",
    "InvalidParameterCombination",
    "InvalidRequestContentException",
    "ValidationError",
    "ValidationException",
    "MissingParameter",
    "InvalidArgument",
    "InvalidIdFormat",
    "KeyTooLongError",
    "EntityTooLarge",
    "InvalidAttributeValue",
    "InvalidMessageContents",
];
const PURGE_IN_PROGRESS: &[&str] = &[
    "PurgeQueueInProgress",
    "AWS.SimpleQueueService.PurgeQueueInProgress",
];

/// The [`BackendError`] for a failed SDK call.
pub fn backend_error<E>(call: &Call<'_>, error: &SdkError<E>) -> BackendError
where
    E: ProvideErrorMetadata + StdError + 'static,
{
    let Call {
        action,
        resource_kind: kind,
        resource_name: name,
        endpoint,
    } = *call;
    match error {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            match service.err().code() {
                Some(code) => {
                    let message = service.err().message().unwrap_or_default();
                    service_error(call, status, code, message)
                }
                // An error body in another protocol's shape (an XML `<Error>` where JSON was
                // expected, as proxies and some emulators send): read the code from it.
                None => {
                    let body = service
                        .raw()
                        .body()
                        .bytes()
                        .map(String::from_utf8_lossy)
                        .unwrap_or_default();
                    let code = xml_element(&body, "Code").unwrap_or_default();
                    let message = xml_element(&body, "Message").unwrap_or_default();
                    service_error(call, status, code, message)
                }
            }
        }
        SdkError::DispatchFailure(failure) => {
            let detail = root_cause(error);
            if failure.is_timeout() {
                BackendError::Unavailable(format!(
                    "AWS at {endpoint} did not answer {action} in time: {detail}"
                ))
            } else if failure.is_io() {
                BackendError::Unavailable(format!("cannot reach AWS at {endpoint}: {detail}"))
            } else if mentions_credentials(error) {
                // Resolving the identity fails before the request is sent, so it arrives here.
                BackendError::Unavailable(format!(
                    "AWS credentials are missing, expired or invalid: {detail} (set AWS_PROFILE \
                     or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or refresh them, and retry)"
                ))
            } else {
                BackendError::Unavailable(format!(
                    "cannot reach AWS at {endpoint} for {action}: {detail}"
                ))
            }
        }
        SdkError::TimeoutError(_) => BackendError::Unavailable(format!(
            "AWS at {endpoint} did not answer {action} on {kind} {name} in time; try again"
        )),
        SdkError::ResponseError(_) => BackendError::Unavailable(format!(
            "AWS at {endpoint} sent an answer to {action} that cannot be read: {}",
            root_cause(error)
        )),
        SdkError::ConstructionFailure(_) => BackendError::InvalidRequest(format!(
            "cannot build the {action} request for {kind} {name}: {}",
            root_cause(error)
        )),
        // `SdkError` is non-exhaustive.
        _ => BackendError::Unavailable(format!(
            "{action} on {kind} {name} failed: {}",
            DisplayErrorContext(error)
        )),
    }
}

/// The [`BackendError`] for an error response from AWS: HTTP `status`, error `code` and
/// `message`.
pub fn service_error(call: &Call<'_>, status: u16, code: &str, message: &str) -> BackendError {
    let Call {
        action,
        resource_kind: kind,
        resource_name: name,
        ..
    } = *call;
    let because = if message.is_empty() {
        String::new()
    } else {
        format!(" ({message})")
    };
    let is = |codes: &[&str]| codes.contains(&code);
    if is(MISSING) {
        BackendError::Unavailable(format!(
            "the stack's {kind} {name} is missing: re-run terraform apply"
        ))
    } else if is(EXPIRED_CREDENTIALS) {
        BackendError::Unavailable(format!(
            "AWS credentials have expired ({code}): refresh them (for example `aws sso login` or \
             new keys) and try again"
        ))
    } else if is(INVALID_CREDENTIALS) {
        BackendError::Unavailable(format!(
            "AWS credentials are invalid ({code}): check AWS_PROFILE or \
             AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY{because}"
        ))
    } else if is(PURGE_IN_PROGRESS) {
        BackendError::Unavailable(format!(
            "SQS purges a queue at most once a minute and {kind} {name} was purged moments ago: \
             try again in a minute"
        ))
    } else if is(DENIED) || status == 403 {
        BackendError::Unavailable(format!(
            "permission denied for {action} on {kind} {name}: allow it for the server's AWS \
             identity{because}"
        ))
    } else if is(THROTTLED) || status == 429 {
        BackendError::Unavailable(format!(
            "AWS is throttling {action} on {kind} {name}: lower the traffic rate or wait a \
             moment, then try again"
        ))
    } else if is(INVALID_REQUEST) {
        BackendError::InvalidRequest(format!(
            "AWS refused {action} on {kind} {name}: {code}{because}"
        ))
    } else if status >= 500 {
        BackendError::Unavailable(format!(
            "AWS failed {action} on {kind} {name} ({status} {code}){because}: try again"
        ))
    } else {
        BackendError::Unavailable(format!(
            "AWS refused {action} on {kind} {name} ({status} {code}){because}"
        ))
    }
}

/// The text of the first `<name>` element of an XML document, if any.
fn xml_element<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let start = xml.find(&format!("<{name}>"))? + name.len() + 2;
    let length = xml[start..].find(&format!("</{name}>"))?;
    Some(xml[start..start + length].trim())
}

/// The innermost error's message: for a refused connection, `Connection refused (os error 111)`
/// rather than the layers of wrappers around it.
fn root_cause(error: &(dyn StdError + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    let text = current.to_string();
    if text.is_empty() {
        DisplayErrorContext(error).to_string()
    } else {
        text
    }
}

fn mentions_credentials(error: &(dyn StdError + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(error) = current {
        if error
            .to_string()
            .to_ascii_lowercase()
            .contains("credential")
        {
            return true;
        }
        current = error.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    const CALL: Call<'static> = Call {
        action: "sqs:ReceiveMessage",
        resource_kind: "csv queue",
        resource_name: "chaos-csv-queue-0123456789abcdef",
        endpoint: "https://sqs.us-east-1.amazonaws.com",
    };

    fn message(error: BackendError) -> String {
        error.to_string()
    }

    #[test]
    fn each_kind_of_failure_says_what_to_do() {
        let missing = message(service_error(&CALL, 400, "QueueDoesNotExist", ""));
        assert!(
            missing.ends_with(
                "the stack's csv queue chaos-csv-queue-0123456789abcdef is missing: re-run \
                 terraform apply"
            ),
            "{missing}"
        );
        let denied = message(service_error(&CALL, 403, "AccessDenied", "not allowed"));
        assert!(
            denied.contains("permission denied for sqs:ReceiveMessage on csv queue"),
            "{denied}"
        );
        let throttled = message(service_error(&CALL, 400, "ThrottlingException", ""));
        assert!(throttled.contains("AWS is throttling"), "{throttled}");
        let expired = message(service_error(&CALL, 403, "ExpiredToken", ""));
        assert!(
            expired.contains("AWS credentials have expired"),
            "{expired}"
        );
        let invalid = message(service_error(&CALL, 403, "InvalidClientTokenId", ""));
        assert!(invalid.contains("AWS credentials are invalid"), "{invalid}");
        assert!(matches!(
            service_error(&CALL, 400, "ReceiptHandleIsInvalid", "bad"),
            BackendError::InvalidRequest(_)
        ));
        assert!(matches!(
            service_error(&CALL, 500, "InternalError", ""),
            BackendError::Unavailable(_)
        ));
    }
}
