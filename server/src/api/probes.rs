//! `/participants/{id}/probes/…`: the built-in probes ([`crate::ops::probes`]), each a single
//! number a Chaos Toolkit tolerance can read.
//!
//! Content negotiation: a request that prefers `text/plain` in `Accept` gets the bare number as
//! text (`2.94`), which a `range` tolerance with `"target": "body"` converts with `Decimal`;
//! anything else gets JSON whose value is at the stable path `$.value`, which a `jsonpath`
//! tolerance reads. chaoslib decodes an HTTP body as JSON only when `Content-Type` is exactly
//! `application/json`, so the text answer reaches a tolerance as a string.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use super::auth::Reach;
use super::error::{ApiError, Query};
use crate::ops::probes::{self, ProbeReading, SloReading};
use crate::state::AppState;

/// The probe's window.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ProbeWindow {
    /// The last `minutes` whole minutes of pipeline time, read as one period: 1–180 (default 5,
    /// the original lab's `Period` of 300 s). The minute in progress is left out.
    #[param(minimum = 1, maximum = 180)]
    pub minutes: Option<i64>,
}

/// The original lab's percent in flight: ((Lambda `Invocations` − CSV queue
/// `NumberOfMessagesSent`) ÷ `Invocations`) × 100, Sum over the window. At the steady state
/// (1% malformed) it is about 2.94%: each object is invoked 1.02 times and 0.99 of it becomes a
/// CSV notification. With no invocation in the window the JSON value is `null` and the text
/// answer `0`: a `range` tolerance must be able to read it, and with no traffic nothing is in
/// flight.
#[utoipa::path(get, path = "/participants/{id}/probes/percent-in-flight", tag = "probes",
    params(("id" = String, Path, description = "Participant id"), ProbeWindow), security(("bearer" = [])),
    responses(
        (status = 200, description = "The value at `$.value` (JSON), or the bare number with `Accept: text/plain` (`0` without invocations)",
            content((ProbeReading = "application/json"), (String = "text/plain"))),
        (status = 401, description = "No or invalid token", body = ApiError),
        (status = 404, description = "No such participant visible to you", body = ApiError),
        (status = 422, description = "An unknown parameter, or `minutes` not a whole number from 1 to 180", body = ApiError),
    ))]
pub async fn get_percent_in_flight(
    State(state): State<AppState>,
    Reach { id, .. }: Reach,
    headers: HeaderMap,
    Query(window): Query<ProbeWindow>,
) -> Result<Response, ApiError> {
    let reading = probes::percent_in_flight(&state, &id, window.minutes).await?;
    Ok(answer(&headers, &reading, reading.as_text()))
}

/// The original lab's percent in error: (dead-letter queue `NumberOfMessagesSent` ÷ Lambda
/// `Invocations`) × 100, Sum over the window. At the steady state it is about 0.98% (0.01 ÷
/// 1.02). With no invocation in the window the JSON value is `null` and the text answer `0`: a
/// `range` tolerance must be able to read it, and with no traffic nothing is in error.
#[utoipa::path(get, path = "/participants/{id}/probes/percent-in-error", tag = "probes",
    params(("id" = String, Path, description = "Participant id"), ProbeWindow), security(("bearer" = [])),
    responses(
        (status = 200, description = "The value at `$.value` (JSON), or the bare number with `Accept: text/plain` (`0` without invocations)",
            content((ProbeReading = "application/json"), (String = "text/plain"))),
        (status = 401, description = "No or invalid token", body = ApiError),
        (status = 404, description = "No such participant visible to you", body = ApiError),
        (status = 422, description = "An unknown parameter, or `minutes` not a whole number from 1 to 180", body = ApiError),
    ))]
pub async fn get_percent_in_error(
    State(state): State<AppState>,
    Reach { id, .. }: Reach,
    headers: HeaderMap,
    Query(window): Query<ProbeWindow>,
) -> Result<Response, ApiError> {
    let reading = probes::percent_in_error(&state, &id, window.minutes).await?;
    Ok(answer(&headers, &reading, reading.as_text()))
}

/// SNS `NumberOfNotificationsFailed`, Sum over the window: deliveries from the topic to the CSV
/// queue that failed; 0 when the topic reported no datapoint.
#[utoipa::path(get, path = "/participants/{id}/probes/sns-notifications-failed", tag = "probes",
    params(("id" = String, Path, description = "Participant id"), ProbeWindow), security(("bearer" = [])),
    responses(
        (status = 200, description = "The count at `$.value` (JSON), or the bare number with `Accept: text/plain`",
            content((ProbeReading = "application/json"), (String = "text/plain"))),
        (status = 401, description = "No or invalid token", body = ApiError),
        (status = 404, description = "No such participant visible to you", body = ApiError),
        (status = 422, description = "An unknown parameter, or `minutes` not a whole number from 1 to 180", body = ApiError),
    ))]
pub async fn get_sns_notifications_failed(
    State(state): State<AppState>,
    Reach { id, .. }: Reach,
    headers: HeaderMap,
    Query(window): Query<ProbeWindow>,
) -> Result<Response, ApiError> {
    let reading = probes::sns_notifications_failed(&state, &id, window.minutes).await?;
    Ok(answer(&headers, &reading, reading.as_text()))
}

/// Whether the participant's SLO holds now (the stated objective, else the default), over its
/// own window: the value at `$.value`, the verdict at `$.verdict`, `$.met` true, false or `null`
/// (nothing processed: not a pass). With `Accept: text/plain`, the current value alone (`0`
/// when nothing was processed).
#[utoipa::path(get, path = "/participants/{id}/probes/slo", tag = "probes",
    params(("id" = String, Path, description = "Participant id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The SLI, the objective and the verdict (JSON), or the SLI alone with `Accept: text/plain`",
            content((SloReading = "application/json"), (String = "text/plain"))),
        (status = 401, description = "No or invalid token", body = ApiError),
        (status = 404, description = "No such participant visible to you", body = ApiError),
    ))]
pub async fn get_slo_probe(
    State(state): State<AppState>,
    Reach { id, .. }: Reach,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let reading = probes::slo(&state, &id).await?;
    Ok(answer(&headers, &reading, reading.as_text()))
}

/// The reading as the request prefers it: the bare number as `text/plain`, or JSON.
fn answer<T: Serialize>(headers: &HeaderMap, reading: &T, text: String) -> Response {
    let mut response = if prefers_text(headers) {
        ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
    } else {
        axum::Json(reading).into_response()
    };
    // Caches must keep the two forms apart.
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("accept"));
    response
}

/// Whether `Accept` ranks `text/plain` above JSON: JSON unless `text/plain` (or `text/*`) is
/// named with a higher quality than `application/json` (or `application/*`). Without `Accept`,
/// or with `*/*` alone, the answer is JSON; `text/plain, */*` is text (the named type wins).
pub fn prefers_text(headers: &HeaderMap) -> bool {
    let mut text = 0.0_f64;
    let mut json = 0.0_f64;
    let ranges = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','));
    for range in ranges {
        let mut parts = range.split(';');
        let essence = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let quality = parts
            .filter_map(|parameter| parameter.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f64>().ok())
            .unwrap_or(1.0);
        match essence.as_str() {
            "text/plain" | "text/*" => text = text.max(quality),
            "application/json" | "application/*" => json = json.max(quality),
            _ => {}
        }
    }
    text > json
}
