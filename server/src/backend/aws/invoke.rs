//! Invoking the stack's function: the test invocation (`Invoke`, `RequestResponse`,
//! `LogType=Tail`) and the redrive's asynchronous invocations (`Invoke`, `Event`).
//!
//! What Lambda answers a synchronous call with, and how it becomes an [`InvocationReport`]:
//! - `FunctionError` set means the function failed; the payload is then
//!   `{"errorType", "errorMessage"}`, and a timeout's message is "Task timed out after 3.00
//!   seconds";
//! - `LogResult` is the base64 of the invocation's last 4 KB of log, ending with Lambda's `REPORT`
//!   line, whose `Duration` is the invocation's;
//! - the fault that fired is named by the Lambda binary (lambda/src/main.rs): `injectedFault` in
//!   a result, `errorType` `InjectedException` or `InjectedDiskSpace`, `[injected fault: …]` at
//!   the end of a handler error, and the wrapper's "Injecting 3412 ms latency." log line; the
//!   `statuscode` fault's result is exactly `{"statusCode": n}`;
//! - a call over the function's concurrency limit is refused (`TooManyRequestsException`), which
//!   is reported as a failed invocation, as the embedded engine reports it.

use aws_sdk_lambda::operation::RequestId;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{InvocationType, LogType};

use super::clients::RegionClients;
use super::errors::{Call, backend_error};
use crate::backend::invocation::{
    FiredFault, FunctionError, InvocationOutcome, InvocationReport, TIMEOUT_ERROR_TYPE,
    reported_duration,
};
use crate::backend::{BackendError, StackNames};
use crate::metrics::EpochMillis;

/// The function's answer to a synchronous call, as Lambda's `Invoke` returns it.
#[derive(Debug, Clone, Default)]
pub struct InvokeAnswer<'a> {
    /// The request id (`x-amzn-RequestId`).
    pub request_id: Option<&'a str>,
    /// `FunctionError`: set when the function failed (`Unhandled`).
    pub function_error: Option<&'a str>,
    /// The payload: the function's result or its error.
    pub payload: Option<&'a [u8]>,
    /// `LogResult`: the log's tail, base64.
    pub log_result: Option<&'a str>,
}

fn function_call<'a>(action: &'static str, names: &'a StackNames, endpoint: &'a str) -> Call<'a> {
    Call {
        action,
        resource_kind: "function",
        resource_name: &names.function_name,
        endpoint,
    }
}

/// Invokes the function synchronously with `event` and reports what it answered.
pub async fn invoke_function(
    clients: &RegionClients,
    names: &StackNames,
    event: &str,
    at: EpochMillis,
) -> Result<InvocationReport, BackendError> {
    let endpoint = clients.endpoint("lambda");
    let started = std::time::Instant::now();
    let answer = clients
        .lambda
        .invoke()
        .function_name(&names.function_name)
        .invocation_type(InvocationType::RequestResponse)
        .log_type(LogType::Tail)
        .payload(Blob::new(event.as_bytes()))
        .customize()
        // A synchronous call lasts as long as the function runs, up to its 900 s maximum.
        .config_override(aws_sdk_lambda::config::Builder::default().timeout_config(
            super::clients::timeouts(std::time::Duration::from_secs(905)),
        ))
        .send()
        .await;
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    match answer {
        Ok(output) => Ok(report_from(
            &InvokeAnswer {
                request_id: output.request_id(),
                function_error: output.function_error(),
                payload: output.payload().map(Blob::as_ref),
                log_result: output.log_result(),
            },
            at,
            elapsed_ms,
        )),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|error| error.is_too_many_requests_exception()) =>
        {
            Ok(InvocationReport {
                request_id: error.request_id().unwrap_or_default().to_owned(),
                at,
                outcome: InvocationOutcome::Failed,
                duration_ms: 0.0,
                result: None,
                error: Some(FunctionError {
                    error_type: "TooManyRequestsException".to_owned(),
                    error_message: error
                        .as_service_error()
                        .and_then(aws_sdk_lambda::error::ProvideErrorMetadata::message)
                        .unwrap_or("Rate Exceeded.")
                        .to_owned(),
                }),
                fault: None,
                log: Vec::new(),
            })
        }
        Err(error) => Err(backend_error(
            &function_call("lambda:InvokeFunction", names, &endpoint),
            &error,
        )),
    }
}

/// Invokes the function asynchronously with `event` (`InvocationType::Event`): Lambda queues it
/// and answers 202 at once; retries and the dead-letter queue apply as to S3's invocations.
pub async fn invoke_event(
    clients: &RegionClients,
    names: &StackNames,
    event: &str,
) -> Result<(), BackendError> {
    let endpoint = clients.endpoint("lambda");
    clients
        .lambda
        .invoke()
        .function_name(&names.function_name)
        .invocation_type(InvocationType::Event)
        .payload(Blob::new(event.as_bytes()))
        .send()
        .await
        .map_err(|error| {
            backend_error(
                &function_call("lambda:InvokeFunction", names, &endpoint),
                &error,
            )
        })?;
    Ok(())
}

/// The report of a synchronous call's answer, started at `at`, which took `elapsed_ms` on the
/// caller's side (the duration when the log has no `REPORT` line).
pub fn report_from(
    answer: &InvokeAnswer<'_>,
    at: EpochMillis,
    elapsed_ms: f64,
) -> InvocationReport {
    let payload: Option<serde_json::Value> = answer
        .payload
        .and_then(|bytes| serde_json::from_slice(bytes).ok());
    let log: Vec<String> = answer
        .log_result
        .and_then(decode_base64)
        .map(|bytes| {
            String::from_utf8_lossy(&bytes)
                .lines()
                .map(|line| line.trim_end().to_owned())
                .filter(|line| !line.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let duration_ms = log
        .iter()
        .rev()
        .find_map(|line| reported_duration(line))
        .unwrap_or(elapsed_ms);
    let request_id = answer
        .request_id
        .map(str::to_owned)
        .or_else(|| {
            log.iter().find_map(|line| {
                line.strip_prefix("START RequestId: ")
                    .and_then(|rest| rest.split_whitespace().next())
                    .map(str::to_owned)
            })
        })
        .unwrap_or_default();
    let text = |field: &str| {
        payload
            .as_ref()
            .and_then(|payload| payload.get(field))
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    };

    let (outcome, result, error) = if answer.function_error.is_some() {
        let error_message = text("errorMessage").unwrap_or_else(|| {
            answer
                .payload
                .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
                .unwrap_or_default()
        });
        let timed_out = error_message.contains("Task timed out");
        let error_type = text("errorType").unwrap_or_else(|| {
            if timed_out {
                TIMEOUT_ERROR_TYPE.to_owned()
            } else {
                answer.function_error.unwrap_or_default().to_owned()
            }
        });
        let outcome = if timed_out {
            InvocationOutcome::TimedOut
        } else {
            InvocationOutcome::Failed
        };
        (
            outcome,
            None,
            Some(FunctionError {
                error_type,
                error_message,
            }),
        )
    } else {
        (InvocationOutcome::Succeeded, payload.clone(), None)
    };
    let fault = fired_fault(result.as_ref(), error.as_ref(), &log);
    InvocationReport {
        request_id,
        at,
        outcome,
        duration_ms,
        result,
        error,
        fault,
        log,
    }
}

/// The fault the Lambda binary says fired, from its result, its error or its log.
fn fired_fault(
    result: Option<&serde_json::Value>,
    error: Option<&FunctionError>,
    log: &[String],
) -> Option<FiredFault> {
    if let Some(result) = result {
        if let Some(described) = result.get("injectedFault").and_then(|fault| fault.as_str()) {
            return Some(FiredFault::from_description(described));
        }
        // The `statuscode` fault answers `{"statusCode": n}` instead of the handler's report.
        if let Some(fields) = result.as_object()
            && fields.len() == 1
            && let Some(code) = fields.get("statusCode").and_then(serde_json::Value::as_u64)
        {
            return Some(FiredFault {
                mode: "statuscode".to_owned(),
                description: format!("statuscode {code}"),
            });
        }
    }
    if let Some(error) = error {
        match error.error_type.as_str() {
            "InjectedException" => {
                return Some(FiredFault {
                    mode: "exception".to_owned(),
                    description: format!("exception {:?}", error.error_message),
                });
            }
            "InjectedDiskSpace" => {
                return Some(FiredFault {
                    mode: "diskspace".to_owned(),
                    description: format!("diskspace: {}", error.error_message),
                });
            }
            _ => {}
        }
        if let Some(described) = error
            .error_message
            .rsplit_once("[injected fault: ")
            .and_then(|(_, rest)| rest.strip_suffix(']'))
        {
            return Some(FiredFault::from_description(described));
        }
    }
    // A latency that ran into the timeout leaves only the wrapper's line: "Injecting 3412 ms
    // latency."
    log.iter().find_map(|line| {
        let (_, rest) = line.split_once("Injecting ")?;
        let millis = rest.strip_suffix(" ms latency.")?;
        millis.trim().parse::<u64>().ok().map(|millis| FiredFault {
            mode: "latency".to_owned(),
            description: format!("latency {millis} ms"),
        })
    })
}

/// Decodes standard base64 (padding optional); `None` if it is not base64.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let value = |byte: u8| -> Option<u32> {
        Some(u32::from(match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        }))
    };
    let digits: Vec<u8> = text
        .bytes()
        .filter(|byte| !byte.is_ascii_whitespace())
        .collect();
    let digits = digits
        .strip_suffix(b"==")
        .or_else(|| digits.strip_suffix(b"="))
        .unwrap_or(&digits);
    let mut bytes = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        if chunk.len() == 1 {
            return None;
        }
        let mut bits = 0u32;
        for (index, &digit) in chunk.iter().enumerate() {
            bits |= value(digit)? << (18 - 6 * index);
        }
        let [_, first, second, third] = bits.to_be_bytes();
        bytes.push(first);
        if chunk.len() > 2 {
            bytes.push(second);
        }
        if chunk.len() > 3 {
            bytes.push(third);
        }
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(text: &str) -> String {
        const DIGITS: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in text.as_bytes().chunks(3) {
            let bits = chunk.iter().enumerate().fold(0u32, |bits, (index, &byte)| {
                bits | u32::from(byte) << (16 - 8 * index)
            });
            for index in 0..=chunk.len() {
                out.push(char::from(DIGITS[(bits >> (18 - 6 * index) & 63) as usize]));
            }
            for _ in chunk.len()..3 {
                out.push('=');
            }
        }
        out
    }

    #[test]
    fn base64_decodes_with_and_without_padding() {
        for text in ["", "a", "ab", "abc", "abcd", "START RequestId: x\n"] {
            assert_eq!(
                decode_base64(&encode(text)).as_deref(),
                Some(text.as_bytes())
            );
        }
        assert_eq!(decode_base64("YWI"), Some(b"ab".to_vec()));
        assert_eq!(decode_base64("!!!!"), None);
    }

    #[test]
    fn a_timeout_is_read_from_the_error_with_the_latency_from_the_log() {
        let log = "START RequestId: 7f Version: $LATEST\n INFO Injecting 3412 ms latency.\n2026-11-26T10:00:03.000Z 7f Task timed out after 3.00 seconds\nEND RequestId: 7f\nREPORT RequestId: 7f\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\tMemory Size: 128 MB\tMax Memory Used: 20 MB\tStatus: timeout\n";
        let payload = br#"{"errorType":"Sandbox.Timedout","errorMessage":"2026-11-26T10:00:03.000Z 7f Task timed out after 3.00 seconds"}"#;
        let encoded = encode(log);
        let report = report_from(
            &InvokeAnswer {
                request_id: None,
                function_error: Some("Unhandled"),
                payload: Some(payload),
                log_result: Some(&encoded),
            },
            5,
            3100.0,
        );
        assert_eq!(report.outcome, InvocationOutcome::TimedOut);
        assert_eq!(report.request_id, "7f");
        assert_eq!(report.duration_ms, 3000.0);
        assert_eq!(
            report.error.map(|error| error.error_type).as_deref(),
            Some("Sandbox.Timedout")
        );
        assert_eq!(
            report.fault.map(|fault| fault.description).as_deref(),
            Some("latency 3412 ms")
        );
        assert_eq!(report.log.len(), 5);
    }

    #[test]
    fn results_and_errors_name_the_fault_that_fired() {
        let success = report_from(
            &InvokeAnswer {
                request_id: Some("r1"),
                payload: Some(br#"{"converted":[],"skipped":[],"injectedFault":"latency 12 ms"}"#),
                ..InvokeAnswer::default()
            },
            0,
            40.0,
        );
        assert_eq!(success.outcome, InvocationOutcome::Succeeded);
        assert_eq!(
            success.duration_ms, 40.0,
            "no REPORT line: the caller's time"
        );
        assert_eq!(
            success.fault.map(|fault| fault.mode).as_deref(),
            Some("latency")
        );
        let status = report_from(
            &InvokeAnswer {
                payload: Some(br#"{"statusCode":404}"#),
                ..InvokeAnswer::default()
            },
            0,
            1.0,
        );
        assert_eq!(
            status.fault.map(|fault| fault.description).as_deref(),
            Some("statuscode 404")
        );
        let exception = report_from(
            &InvokeAnswer {
                function_error: Some("Unhandled"),
                payload: Some(br#"{"errorType":"InjectedException","errorMessage":"boom"}"#),
                ..InvokeAnswer::default()
            },
            0,
            1.0,
        );
        assert_eq!(exception.outcome, InvocationOutcome::Failed);
        assert_eq!(
            exception.fault.map(|fault| fault.mode).as_deref(),
            Some("exception")
        );
        let intercepted = report_from(
            &InvokeAnswer {
                function_error: Some("Unhandled"),
                payload: Some(br#"{"errorType":"StoreError","errorMessage":"GetObject failed: Intercepted network connection to b.s3.us-east-1.amazonaws.com [injected fault: denylist s3.*.amazonaws.com]"}"#),
                ..InvokeAnswer::default()
            },
            0,
            1.0,
        );
        assert_eq!(
            intercepted.fault.map(|fault| fault.description).as_deref(),
            Some("denylist s3.*.amazonaws.com")
        );
        let plain = report_from(
            &InvokeAnswer {
                function_error: Some("Unhandled"),
                payload: Some(br#"{"errorType":"NoSuchKey","errorMessage":"no such key"}"#),
                ..InvokeAnswer::default()
            },
            0,
            1.0,
        );
        assert_eq!(plain.fault, None);
        assert_eq!(
            plain.error.map(|error| error.error_type).as_deref(),
            Some("NoSuchKey")
        );
    }
}
