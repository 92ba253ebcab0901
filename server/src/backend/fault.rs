//! The fault-injection document both backends store: in the stack's SSM parameter on AWS, in
//! the engine's journal when embedded. The later labs switch it on.

use serde::{Deserialize, Serialize};

/// The fault-injection parameter, in the JSON shape the stack's SSM parameter holds. The later
/// labs switch it on; with `is_enabled` false the function runs untouched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultInjection {
    /// Whether any fault is injected.
    pub is_enabled: bool,
    /// `latency` or `exception` (others are accepted and ignored by the embedded engine).
    pub failure_mode: String,
    /// Share of attempts affected, 0–1.
    pub rate: f64,
    /// Smallest injected latency, in milliseconds.
    pub min_latency: u64,
    /// Largest injected latency, in milliseconds.
    pub max_latency: u64,
    /// Message of an injected exception.
    pub exception_msg: String,
    /// Status code for the `statuscode` mode.
    pub status_code: u16,
    /// Disk space for the `diskspace` mode, in MB.
    pub disk_space: u32,
    /// Hosts whose calls are blocked in the `denylist` mode.
    pub denylist: Vec<String>,
}

impl Default for FaultInjection {
    /// The parameter's initial value: disabled.
    fn default() -> Self {
        Self {
            is_enabled: false,
            failure_mode: "latency".to_owned(),
            rate: 1.0,
            min_latency: 0,
            max_latency: 0,
            exception_msg: String::new(),
            status_code: 404,
            disk_space: 100,
            denylist: Vec::new(),
        }
    }
}
