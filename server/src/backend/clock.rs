//! Pipeline time: every delay, timeout and timestamp in the engine goes through this clock.
//!
//! It is tokio's clock, scaled: with a time scale of N, one wall-clock second is N seconds of
//! pipeline time. Tests pause tokio's clock and run minutes of retries in milliseconds; an
//! instructor's demo runs at, say, 30× so a 5-minute window passes in 10 seconds.

use std::time::Duration;

use tokio::time::Instant;

use crate::metrics::EpochMillis;

/// The engine's clock: a pipeline-time epoch anchored to a tokio instant, and a speed.
#[derive(Debug, Clone, Copy)]
pub struct PipelineClock {
    anchor: Instant,
    anchor_millis: EpochMillis,
    scale: f64,
}

impl PipelineClock {
    /// A clock that reads `now_millis` at this instant and runs `scale` times faster than the
    /// wall clock. A scale that is not a positive finite number is taken as 1.
    pub fn new(now_millis: EpochMillis, scale: f64) -> Self {
        let scale = if scale.is_finite() && scale > 0.0 {
            scale
        } else {
            1.0
        };
        Self {
            anchor: Instant::now(),
            anchor_millis: now_millis,
            scale,
        }
    }

    /// How many times faster than the wall clock pipeline time runs.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// The current pipeline time, in milliseconds since the Unix epoch.
    pub fn now(&self) -> EpochMillis {
        let elapsed = self.anchor.elapsed().as_secs_f64() * 1000.0 * self.scale;
        self.anchor_millis + elapsed as EpochMillis
    }

    /// The wall-clock time that `pipeline` of pipeline time takes.
    pub fn to_wall(&self, pipeline: Duration) -> Duration {
        pipeline.div_f64(self.scale)
    }

    /// Sleeps for `pipeline` of pipeline time.
    pub async fn sleep(&self, pipeline: Duration) {
        tokio::time::sleep(self.to_wall(pipeline)).await;
    }

    /// The tokio instant at which the pipeline clock reads `at` (now, if `at` has passed).
    pub fn instant_at(&self, at: EpochMillis) -> Instant {
        let ahead = u64::try_from(at - self.now()).unwrap_or(0);
        Instant::now() + self.to_wall(Duration::from_millis(ahead))
    }
}

/// The wall clock in epoch milliseconds: where pipeline time starts when nothing else says.
pub fn system_now_millis() -> EpochMillis {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn pipeline_time_runs_scale_times_faster() {
        let clock = PipelineClock::new(1_000_000, 60.0);
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(clock.now(), 1_000_000 + 60_000);
        clock.sleep(Duration::from_secs(120)).await;
        assert_eq!(clock.now(), 1_000_000 + 180_000);
    }

    #[tokio::test(start_paused = true)]
    async fn instant_at_a_past_time_is_now() {
        let clock = PipelineClock::new(5_000, 2.0);
        assert_eq!(clock.instant_at(1_000), Instant::now());
        assert_eq!(
            clock.instant_at(7_000),
            Instant::now() + Duration::from_secs(1)
        );
    }

    #[test]
    fn nonsense_scales_fall_back_to_real_time() {
        assert_eq!(PipelineClock::new(0, 0.0).scale(), 1.0);
        assert_eq!(PipelineClock::new(0, f64::NAN).scale(), 1.0);
        assert_eq!(PipelineClock::new(0, -3.0).scale(), 1.0);
    }
}
