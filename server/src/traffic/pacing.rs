//! What the publisher and the subscriber share: waiting in pipeline time, backing off after a
//! failure, and the state a generator's task and the controller both see.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::backend::embedded::PipelineClock;
use crate::metrics::EpochMillis;

/// The first wait after a failure, in pipeline time.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The longest wait after repeated failures, in pipeline time.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Locks a generator's state. A task that panicked while holding the lock left counters that are
/// still worth showing, so a poisoned lock is used as it is.
pub(super) fn lock<T>(state: &Mutex<T>) -> MutexGuard<'_, T> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// How long stopping waits for a task to finish what it is doing (a put or a delete in flight),
/// in wall-clock time, before it aborts the task.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// One run of a generator: its tokio task and the bell that tells it the settings changed.
#[derive(Debug)]
pub(super) struct GeneratorTask {
    wake: std::sync::Arc<Notify>,
    task: JoinHandle<()>,
}

impl GeneratorTask {
    /// Spawns `run`, which listens on `wake`.
    pub(super) fn spawn<F>(wake: std::sync::Arc<Notify>, run: F) -> Self
    where
        F: Future<Output = ()> + Send + 'static,
    {
        Self {
            wake,
            task: tokio::spawn(run),
        }
    }

    /// Whether the task has not ended (it ends by itself when stopped, replaced or done).
    pub(super) fn is_alive(&self) -> bool {
        !self.task.is_finished()
    }

    /// Tells the task to look at its settings again.
    pub(super) fn wake(&self) {
        // One permit is kept if the task is busy, so a change made mid-put is seen right after.
        self.wake.notify_one();
    }

    /// Aborts the task at once.
    pub(super) fn abort(&self) {
        self.task.abort();
    }

    /// Wakes the task (which has been told to stop) and waits for it to end, aborting it if it
    /// takes longer than the grace period.
    pub(super) async fn finish(self) {
        self.wake();
        let mut task = self.task;
        if tokio::time::timeout(STOP_GRACE, &mut task).await.is_err() {
            task.abort();
            // The task ends at its next await point; its result (cancelled) does not matter.
            let _ = task.await;
        }
    }
}

/// Whether a task's run is still wanted: the controller neither stopped it nor replaced it.
pub(super) fn is_current(running: bool, generation: u64, run: u64) -> bool {
    running && generation == run
}

/// Sleeps until the pipeline clock reads `at` (epoch milliseconds, fractional), or until the
/// controller changes the settings, whichever comes first.
pub(super) async fn sleep_until_or_woken(clock: &PipelineClock, at: f64, wake: &Notify) {
    let instant = clock.instant_at(at.ceil() as EpochMillis);
    tokio::select! {
        () = tokio::time::sleep_until(instant) => {}
        () = wake.notified() => {}
    }
}

/// Exponential backoff after failures: 1 s, doubling, at most 30 s, in pipeline time.
#[derive(Debug, Default)]
pub(super) struct Backoff {
    next: Option<Duration>,
}

impl Backoff {
    /// The wait after one more failure.
    pub(super) fn failed(&mut self) -> Duration {
        let wait = self.next.unwrap_or(FIRST_BACKOFF);
        self.next = Some((wait * 2).min(MAX_BACKOFF));
        wait
    }

    /// A success: the next failure waits the first backoff again.
    pub(super) fn succeeded(&mut self) {
        self.next = None;
    }
}

/// Milliseconds as the fractional epoch milliseconds schedules use.
pub(super) fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_one_second_to_thirty_and_resets_on_success() {
        let mut backoff = Backoff::default();
        let waits: Vec<u64> = (0..7).map(|_| backoff.failed().as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30]);
        backoff.succeeded();
        assert_eq!(backoff.failed(), FIRST_BACKOFF);
    }
}
