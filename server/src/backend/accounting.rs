//! Where every object a participant published is: the invariant both backends report and the
//! lab's "nothing is lost" promise rests on.

use serde::{Deserialize, Serialize};

/// Where each object a participant published is, right now. At every instant
/// `published = converted + dead_lettered + dropped + in_flight`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Accounting {
    /// Objects whose upload queued an invocation of the function.
    pub published: u64,
    /// Objects the function converted to CSV.
    pub converted: u64,
    /// Objects whose event went to the dead-letter queue.
    pub dead_lettered: u64,
    /// Objects whose invocation succeeded without converting them: the fault wrapper answered a
    /// status code instead of running the handler (failure-lambda's `statuscode` mode). Always 0
    /// on the AWS backend, which cannot tell them from objects in flight.
    #[serde(default)]
    pub dropped: u64,
    /// Objects whose event is queued, running or waiting for a retry.
    pub in_flight: u64,
    /// CSV notifications the subscriber received and deleted.
    pub consumed: u64,
    /// Objects (inputs and CSV outputs) the bucket's retention rule deleted for their age, as an
    /// S3 lifecycle rule would. Outside the balance: an object's file expiring does not change
    /// what became of it. Always 0 on the AWS backend, where S3 does not report expirations.
    #[serde(default)]
    pub expired: u64,
}

impl Accounting {
    /// Whether every published object is in exactly one place.
    pub fn balances(&self) -> bool {
        self.published == self.converted + self.dead_lettered + self.dropped + self.in_flight
    }
}
