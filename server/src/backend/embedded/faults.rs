//! The function's fault wrapper inside the engine: the same [`chaoslab_etl::fault`] wrapper the
//! Lambda binary runs, with the engine's own source, clock, timer, random draw and `/tmp`.
//!
//! - the document source is the stack's stored parameter ([`MemorySource`], set whenever the
//!   parameter is written), read through the wrapper's cache for `FAILURE_CACHE_TTL` (5 s of
//!   pipeline time), as the function reads SSM;
//! - the clock and the timer are the pipeline's, so latency and the function's timeout run on
//!   pipeline time at any `--time-scale`;
//! - the draw is seeded per stack: [`EngineConfig::fault_seed`](super::EngineConfig) makes runs
//!   repeatable, otherwise each stack gets a random seed;
//! - `/tmp` is one [`MemoryDisk`] of Lambda's 512 MB per stack, emptied when the stack is reset
//!   or its configuration changes (Lambda then starts new execution environments).

use std::time::Duration;

use chaoslab_etl::fault::{
    Clock, DEFAULT_CACHE_TTL, FaultInjector, MemoryDisk, MemorySource, SeededRandom, Timer,
};

use crate::backend::{FaultParameter, PipelineClock};

/// The engine's fault wrapper for one stack.
pub(super) type StackFaults = FaultInjector<MemorySource, PipelineTime, SeededRandom, MemoryDisk>;

/// The pipeline's clock, as the wrapper's clock and timer.
#[derive(Debug, Clone, Copy)]
pub(super) struct PipelineTime(pub PipelineClock);

impl Clock for PipelineTime {
    fn now(&self) -> Duration {
        Duration::from_millis(u64::try_from(self.0.now()).unwrap_or(0))
    }
}

impl Timer for PipelineTime {
    async fn sleep(&self, duration: Duration) {
        self.0.sleep(duration).await;
    }
}

/// A stack's fault wrapper, reading `parameter`, drawing from `seed`.
pub(super) fn stack_faults(
    parameter: &FaultParameter,
    clock: PipelineClock,
    seed: u64,
) -> StackFaults {
    FaultInjector::new(
        MemorySource::new(parameter.text()),
        PipelineTime(clock),
        SeededRandom::new(seed),
        MemoryDisk::new(),
    )
    .with_cache_ttl(DEFAULT_CACHE_TTL)
}
