//! The random draws of the wrapper: whether the fault fires, and how long a latency lasts.
//!
//! failure-lambda draws `Math.random()` for both. Here the draws go through [`RandomSource`], so
//! the embedded engine can use [`SeededRandom`]: two wrappers with the same seed and the same
//! document draw the same faults, in the same order.

use std::ops::Range;
use std::sync::{Mutex, PoisonError};

/// Uniform random draws. Shared by concurrent invocations, hence `&self`.
pub trait RandomSource: Send + Sync {
    /// A uniform number in [0, 1).
    fn unit(&self) -> f64;

    /// A uniform integer in `range`; `range.start` when the range is empty.
    fn in_range(&self, range: Range<u64>) -> u64;
}

/// Draws from a generator seeded once: the same seed gives the same sequence.
#[derive(Debug)]
pub struct SeededRandom {
    rng: Mutex<fastrand::Rng>,
}

impl SeededRandom {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: Mutex::new(fastrand::Rng::with_seed(seed)),
        }
    }

    fn with<T>(&self, draw: impl FnOnce(&mut fastrand::Rng) -> T) -> T {
        // A panic while drawing cannot leave the generator half-updated in a way that matters.
        let mut rng = self.rng.lock().unwrap_or_else(PoisonError::into_inner);
        draw(&mut rng)
    }
}

impl RandomSource for SeededRandom {
    fn unit(&self) -> f64 {
        self.with(fastrand::Rng::f64)
    }

    fn in_range(&self, range: Range<u64>) -> u64 {
        if range.is_empty() {
            return range.start;
        }
        self.with(|rng| rng.u64(range))
    }
}

/// Draws from fastrand's thread-local generator, seeded by the system: the Lambda binary's.
#[derive(Debug, Clone, Copy, Default)]
pub struct ThreadRandom;

impl RandomSource for ThreadRandom {
    fn unit(&self) -> f64 {
        fastrand::f64()
    }

    fn in_range(&self, range: Range<u64>) -> u64 {
        if range.is_empty() {
            return range.start;
        }
        fastrand::u64(range)
    }
}
