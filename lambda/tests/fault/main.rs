//! The fault wrapper (`chaoslab_etl::fault`): the document, the cache and draws, the faults
//! around the handler, the denylist store and the disks.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod denylist;
mod disk;
mod document;
mod injector;
mod run;

use chaoslab_etl::fault::{FaultInjector, ManualClock, MemoryDisk, MemorySource, SeededRandom};

/// An injector over an in-memory document, a manual clock, a seeded draw and a 512 MB disk.
pub type TestInjector = FaultInjector<MemorySource, ManualClock, SeededRandom, MemoryDisk>;

/// A [`TestInjector`] holding `document`, seeded with `seed`.
pub fn injector(document: &str, seed: u64) -> TestInjector {
    FaultInjector::new(
        MemorySource::new(document),
        ManualClock::new(),
        SeededRandom::new(seed),
        MemoryDisk::new(),
    )
}
