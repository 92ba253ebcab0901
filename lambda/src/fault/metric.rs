//! The `chaoslab/InjectedFaults` metric, written by the Lambda binary in CloudWatch's embedded
//! metric format: one JSON line on standard output per invocation with a fault, which CloudWatch
//! Logs turns into a datapoint (no `PutMetricData` call, no extra permission). The embedded engine
//! records the same metric directly, so the dashboard marks the periods when a fault was on in
//! both backends.

use serde_json::json;

/// Namespace of the lab's own metrics.
pub const NAMESPACE: &str = "chaoslab";
/// The metric: invocations in which the wrapper injected a fault.
pub const INJECTED_FAULTS: &str = "InjectedFaults";

/// The embedded-metric-format line recording one injected fault of `mode` in `function_name` at
/// `timestamp_ms` (epoch milliseconds). The mode is a property of the log event, not a
/// dimension, so the metric stays one series per function.
pub fn injected_fault_line(function_name: &str, mode: &str, timestamp_ms: u64) -> String {
    json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["FunctionName"]],
                "Metrics": [{ "Name": INJECTED_FAULTS, "Unit": "Count" }],
            }],
        },
        "FunctionName": function_name,
        INJECTED_FAULTS: 1,
        "failureMode": mode,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn the_line_is_one_embedded_metric_format_document() {
        let line = injected_fault_line("ChaosTransformer-0123", "latency", 1_795_651_200_000);
        assert!(!line.contains('\n'));
        let document: serde_json::Value = serde_json::from_str(&line).unwrap();
        let directive = &document["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "chaoslab");
        assert_eq!(directive["Dimensions"], json!([["FunctionName"]]));
        assert_eq!(directive["Metrics"][0]["Name"], "InjectedFaults");
        assert_eq!(document["_aws"]["Timestamp"], 1_795_651_200_000_u64);
        // Every dimension and metric the directive names is a member of the root.
        assert_eq!(document["FunctionName"], "ChaosTransformer-0123");
        assert_eq!(document["InjectedFaults"], 1);
        assert_eq!(document["failureMode"], "latency");
    }
}
