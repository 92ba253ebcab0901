//! `MaxDatapoints` and `NextToken`: how a GetMetricData answer is split into pages.
//!
//! As CloudWatch does it, a response holds at most `MaxDatapoints` datapoints over all its
//! results, taken result after result in request order; a result cut short has the status
//! `PartialData`, and the response then carries a `NextToken` with which the same request gets
//! the next datapoints. A later page holds only the results that still have datapoints to give.
//! A result without any datapoint comes on the first page.
//!
//! The token is opaque to clients: the position of the next datapoint, a fingerprint of the
//! request (queries, time range, order) and a checksum, in hexadecimal. A token that was not
//! issued here, or was altered, is refused as invalid; one issued for another request (different
//! queries or times, e.g. a relative `StartTime` resolved against a later "now") is refused as
//! belonging to another request.

use md5::{Digest, Md5};

use super::QueryError;
use crate::metrics::{GetMetricDataRequest, MetricDataResult, StatusCode};

/// Bytes of a decoded token: position (8), request fingerprint (8), checksum (8).
const TOKEN_BYTES: usize = 24;

/// A fingerprint of what decides a request's datapoints and their order.
fn fingerprint(request: &GetMetricDataRequest) -> [u8; 8] {
    let identity = (
        &request.metric_data_queries,
        request.start_time,
        request.end_time,
        request.scan_by.unwrap_or_default(),
    );
    // Serialising our own types to JSON cannot fail; an empty text would only weaken the check.
    let text = serde_json::to_vec(&identity).unwrap_or_default();
    first_eight(&Md5::digest(text))
}

fn checksum(payload: &[u8]) -> [u8; 8] {
    let mut hasher = Md5::new();
    hasher.update(b"chaoslab GetMetricData NextToken v1");
    hasher.update(payload);
    first_eight(&hasher.finalize())
}

fn first_eight(digest: &[u8]) -> [u8; 8] {
    let mut bytes = [0; 8];
    bytes.copy_from_slice(&digest[..8]);
    bytes
}

/// The token that continues `request` at datapoint `position`.
pub(super) fn token(request: &GetMetricDataRequest, position: u64) -> String {
    let mut bytes = Vec::with_capacity(TOKEN_BYTES);
    bytes.extend_from_slice(&position.to_be_bytes());
    bytes.extend_from_slice(&fingerprint(request));
    let check = checksum(&bytes);
    bytes.extend_from_slice(&check);
    hex::encode(bytes)
}

/// Where the page asked for by `request.next_token` starts: 0 without a token.
pub(super) fn position(request: &GetMetricDataRequest) -> Result<u64, QueryError> {
    let Some(token) = request.next_token.as_deref() else {
        return Ok(0);
    };
    let invalid = || QueryError::InvalidNextToken {
        token: token.chars().take(64).collect(),
    };
    let bytes = hex::decode(token).map_err(|_| invalid())?;
    if bytes.len() != TOKEN_BYTES {
        return Err(invalid());
    }
    let (payload, check) = bytes.split_at(16);
    if checksum(payload) != check {
        return Err(invalid());
    }
    if payload[8..16] != fingerprint(request) {
        return Err(QueryError::NextTokenOfAnotherRequest);
    }
    let mut position = [0; 8];
    position.copy_from_slice(&payload[..8]);
    Ok(u64::from_be_bytes(position))
}

/// The page of `results` that starts at datapoint `position` and holds at most `max`
/// datapoints, with the position of the next page if there is one.
pub(super) fn page(
    results: Vec<MetricDataResult>,
    position: u64,
    max: u64,
) -> (Vec<MetricDataResult>, Option<u64>) {
    let end = position.saturating_add(max);
    let mut start_of_result: u64 = 0;
    let mut page = Vec::new();
    for mut result in results {
        let count = result.values.len() as u64;
        let first = start_of_result;
        start_of_result += count;
        if count == 0 {
            if position == 0 {
                page.push(result);
            }
            continue;
        }
        let from = first.max(position);
        let to = (first + count).min(end);
        if from >= to {
            continue;
        }
        // Both bounds lie within this result, whose length fits in memory.
        let (skip, take) = ((from - first) as usize, (to - from) as usize);
        result.timestamps = result
            .timestamps
            .into_iter()
            .skip(skip)
            .take(take)
            .collect();
        result.values = result.values.into_iter().skip(skip).take(take).collect();
        result.status_code = if to < first + count {
            StatusCode::PartialData
        } else {
            StatusCode::Complete
        };
        page.push(result);
    }
    let next = (end < start_of_result).then_some(end);
    (page, next)
}
