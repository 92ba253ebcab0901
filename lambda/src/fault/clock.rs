//! The clock the document cache reads: the wall clock in the Lambda binary, pipeline time in
//! the embedded engine.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A monotonic clock: the time elapsed since an origin of the clock's choosing.
///
/// The wrapper only compares two readings of the same clock, to expire its cached document
/// after `FAILURE_CACHE_TTL` seconds.
pub trait Clock: Send + Sync {
    /// The time now, since the clock's origin.
    fn now(&self) -> Duration;
}

/// The machine's monotonic clock, with its origin at [`SystemClock::new`].
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    /// A clock starting now.
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// A clock that moves only when told to, for tests and for a caller that keeps its own time.
#[derive(Debug, Default)]
pub struct ManualClock {
    nanos: AtomicU64,
}

impl ManualClock {
    /// A clock at its origin.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward by `step`.
    pub fn advance(&self, step: Duration) {
        let step = u64::try_from(step.as_nanos()).unwrap_or(u64::MAX);
        // fetch_update with a closure that always returns Some cannot fail.
        let _ = self
            .nanos
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |nanos| {
                Some(nanos.saturating_add(step))
            });
    }

    /// Sets the clock to `now` since its origin (backwards too).
    pub fn set(&self, now: Duration) {
        self.nanos.store(
            u64::try_from(now.as_nanos()).unwrap_or(u64::MAX),
            Ordering::SeqCst,
        );
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }
}
