//! What the publisher and the subscriber share: the life of a run (start, wake, stop), waiting
//! in pipeline time, backing off after a failure, and the state a generator's task and the
//! controller both see.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::backend::PipelineClock;
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
    wake: Arc<Notify>,
    task: JoinHandle<()>,
}

impl GeneratorTask {
    /// Spawns `run`, which listens on `wake`.
    pub(super) fn spawn<F>(wake: Arc<Notify>, run: F) -> Self
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

/// The part of a generator's state about its runs: whether one is wanted, which one is current,
/// and when the current or last one started and stopped.
#[derive(Debug)]
pub(super) struct RunState {
    /// Whether a run is wanted (the task ends when this turns false).
    pub(super) running: bool,
    /// Which run is current: a task whose run is not this one ends.
    pub(super) generation: u64,
    /// When the current or last run started.
    pub(super) started_at: EpochMillis,
    /// When the last run stopped, if it has.
    pub(super) stopped_at: Option<EpochMillis>,
}

impl RunState {
    /// No run yet.
    pub(super) fn new(now: EpochMillis) -> Self {
        Self {
            running: false,
            generation: 0,
            started_at: now,
            stopped_at: None,
        }
    }

    /// Whether run `run` is still wanted: the controller neither stopped it nor replaced it.
    pub(super) fn is_current(&self, run: u64) -> bool {
        self.running && self.generation == run
    }

    /// Ends the run at `now`, if one is wanted.
    pub(super) fn stop(&mut self, now: EpochMillis) {
        if self.running {
            self.running = false;
            self.stopped_at = Some(now);
        }
    }
}

/// A generator's state: its own counters and settings around a [`RunState`].
pub(super) trait GeneratorState: Send + 'static {
    /// The run part of the state.
    fn run_state(&mut self) -> &mut RunState;
}

/// A generator: its state, shared with its task, and the task of the current run.
#[derive(Debug)]
pub(super) struct Generator<S> {
    state: Arc<Mutex<S>>,
    task: Option<GeneratorTask>,
}

impl<S: GeneratorState> Generator<S> {
    /// A generator that has not run yet.
    pub(super) fn new(state: S) -> Self {
        Self {
            state: Arc::new(Mutex::new(state)),
            task: None,
        }
    }

    /// Its state, locked.
    pub(super) fn state(&self) -> MutexGuard<'_, S> {
        lock(&self.state)
    }

    /// Changes the state with `update`, under its lock. A running task is woken to see the
    /// change; otherwise a new run starts at `now`, with the task `task(state, wake, run)`.
    pub(super) fn update_or_start<T, F>(
        &mut self,
        now: EpochMillis,
        update: impl FnOnce(&mut S),
        task: T,
    ) where
        T: FnOnce(Arc<Mutex<S>>, Arc<Notify>, u64) -> F,
        F: Future<Output = ()> + Send + 'static,
    {
        let mut state = lock(&self.state);
        update(&mut state);
        // The task decides to end under this lock, so a task seen running here sees the change.
        let alive = self.task.as_ref().is_some_and(GeneratorTask::is_alive);
        if state.run_state().running && alive {
            drop(state);
            if let Some(task) = &self.task {
                task.wake();
            }
            return;
        }
        let run = state.run_state();
        run.generation += 1;
        run.running = true;
        run.started_at = now;
        run.stopped_at = None;
        let generation = run.generation;
        drop(state);
        let wake = Arc::new(Notify::new());
        let future = task(Arc::clone(&self.state), Arc::clone(&wake), generation);
        // A task from an earlier run has ended, or ends at its next look at the state.
        self.task = Some(GeneratorTask::spawn(wake, future));
    }

    /// Tells the task to stop and hands it over to be waited for. The counters freeze once it
    /// has ended.
    pub(super) fn stop(&mut self, now: EpochMillis) -> Option<GeneratorTask> {
        lock(&self.state).run_state().stop(now);
        self.task.take()
    }

    /// Aborts the task at once (when the controller is dropped).
    pub(super) fn abort(&self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }

    /// Whether it runs now: a run is wanted and its task has not ended.
    pub(super) fn is_running(&self) -> bool {
        lock(&self.state).run_state().running
            && self.task.as_ref().is_some_and(GeneratorTask::is_alive)
    }
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
