//! The traffic generators: one publisher and one subscriber per participant, as tokio tasks.
//!
//! - [`settings`]: what a participant asks for (rates, error rate, automatic stop), the server's
//!   caps and why a request is refused;
//! - [`message`]: the lab's JSON message and its malformed twin;
//! - [`publisher`]: writes messages into the participant's bucket at a pace in pipeline time;
//! - [`subscriber`]: receives and deletes the participant's CSV notifications;
//! - [`latency`]: how long an object takes from the publisher's put to its CSV notification in
//!   the csv queue, which the subscriber measures from the put times the publisher leaves it.
//!
//! The [`TrafficController`] owns every participant's generators. Both generators pace
//! themselves in pipeline time (the backend's clock), so a time scale above 1 speeds them up and
//! tests on paused tokio time run minutes of traffic in milliseconds.

pub mod latency;
pub mod message;
mod pacing;
pub mod publisher;
pub mod settings;
pub mod subscriber;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Serialize};

pub use self::latency::LatencySummary;
use self::latency::PutTimes;
pub use self::message::{TrafficMessage, lab_message};
use self::pacing::GeneratorTask;
use self::publisher::Publisher;
pub use self::publisher::PublisherStatus;
pub use self::settings::{
    PublisherSettings, SubscriberSettings, TrafficLimits, TrafficSettings, TrafficSettingsError,
};
use self::subscriber::Subscriber;
pub use self::subscriber::SubscriberStatus;
use crate::backend::Backend;
use crate::metrics::EpochMillis;

/// A participant's traffic: each generator's state, or `None` if it never ran.
/// What a change to a running publisher does to its automatic stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopTimer {
    /// The stop counts again from now, `stop_after_s` ahead.
    Restart,
    /// The stop stays where it was: a change of rate or error rate alone does not extend a run.
    Keep,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct TrafficStatus {
    /// The publisher, if it has been started since the server started.
    pub publisher: Option<PublisherStatus>,
    /// The subscriber, if it has been started since the server started.
    pub subscriber: Option<SubscriberStatus>,
}

impl TrafficStatus {
    /// Whether the publisher or the subscriber is running.
    pub fn is_running(&self) -> bool {
        self.publisher
            .as_ref()
            .is_some_and(|publisher| publisher.running)
            || self
                .subscriber
                .as_ref()
                .is_some_and(|subscriber| subscriber.running)
    }

    /// How long the publisher has been running at pipeline time `now`, in milliseconds: 0 if it
    /// is not running. The lab's "traffic has flowed for 5 minutes" check reads this.
    pub fn publishing_for_ms(&self, now: EpochMillis) -> EpochMillis {
        self.publisher
            .as_ref()
            .filter(|publisher| publisher.running)
            .map_or(0, |publisher| publisher.running_for_ms(now))
    }
}

/// One participant's generators, and the put times the publisher leaves for the subscriber to
/// measure delivery latency with.
#[derive(Debug, Default)]
struct ParticipantTraffic {
    publisher: Option<Publisher>,
    subscriber: Option<Subscriber>,
    put_times: Arc<Mutex<PutTimes>>,
}

impl ParticipantTraffic {
    fn status(&self) -> TrafficStatus {
        TrafficStatus {
            publisher: self.publisher.as_ref().map(Publisher::status),
            subscriber: self.subscriber.as_ref().map(Subscriber::status),
        }
    }

    fn is_running(&self) -> bool {
        self.publisher.as_ref().is_some_and(Publisher::is_running)
            || self.subscriber.as_ref().is_some_and(Subscriber::is_running)
    }
}

/// Every participant's traffic generators, over one backend and within the server's limits.
///
/// Must be used inside a tokio runtime: the generators are tokio tasks. Dropping the controller
/// aborts them; [`TrafficController::stop_all`] lets them finish a write first.
#[derive(Debug)]
pub struct TrafficController {
    backend: Arc<dyn Backend>,
    limits: TrafficLimits,
    participants: Mutex<HashMap<String, ParticipantTraffic>>,
}

impl TrafficController {
    /// A controller with no traffic yet.
    pub fn new(backend: Arc<dyn Backend>, limits: TrafficLimits) -> Self {
        Self {
            backend,
            limits,
            participants: Mutex::new(HashMap::new()),
        }
    }

    /// The caps every request is checked against.
    pub fn limits(&self) -> TrafficLimits {
        self.limits
    }

    /// Starts or updates a participant's traffic, the automatic stop counting again from now:
    /// [`Self::change`] with [`StopTimer::Restart`].
    pub fn start(
        &self,
        participant: &str,
        settings: TrafficSettings,
    ) -> Result<TrafficStatus, TrafficSettingsError> {
        self.change(participant, settings, StopTimer::Restart)
    }

    /// Starts or updates a participant's traffic. A running generator takes its new settings
    /// without losing its counters (the publisher keeps its start time, and its automatic stop
    /// stays where it was unless `timer` says [`StopTimer::Restart`]); a stopped one starts a
    /// new run, its counters and message ids carrying on; a part left out of `settings` is left
    /// as it is. Nothing changes if the settings are refused.
    ///
    /// A publisher started without an automatic stop gets the server's default
    /// ([`TrafficLimits::default_stop_after_s`]); its status shows the stop it got.
    ///
    /// A participant without a stack is not refused here: the generators count the backend's
    /// failures in their status and keep trying, with backoff.
    pub fn change(
        &self,
        participant: &str,
        settings: TrafficSettings,
        timer: StopTimer,
    ) -> Result<TrafficStatus, TrafficSettingsError> {
        settings.validate(&self.limits)?;
        let settings = settings.resolved(&self.limits);
        let mut participants = self.participants();
        let traffic = participants.entry(participant.to_owned()).or_default();
        if let Some(settings) = settings.publisher {
            match &mut traffic.publisher {
                Some(publisher) => publisher.apply(&self.backend, participant, settings, timer),
                None => {
                    traffic.publisher = Some(Publisher::start(
                        &self.backend,
                        participant,
                        settings,
                        Arc::clone(&traffic.put_times),
                    ));
                }
            }
        }
        if let Some(settings) = settings.subscriber {
            match &mut traffic.subscriber {
                Some(subscriber) => subscriber.apply(&self.backend, participant, settings),
                None => {
                    traffic.subscriber = Some(Subscriber::start(
                        &self.backend,
                        participant,
                        settings,
                        Arc::clone(&traffic.put_times),
                    ));
                }
            }
        }
        Ok(traffic.status())
    }

    /// Stops a participant's publisher and subscriber, waiting for a write or delete in flight
    /// to finish, and returns their final state. Stopping an idle participant does nothing.
    pub async fn stop(&self, participant: &str) -> TrafficStatus {
        self.stop_parts(participant, true, true).await
    }

    /// Stops a participant's publisher only.
    pub async fn stop_publisher(&self, participant: &str) -> TrafficStatus {
        self.stop_parts(participant, true, false).await
    }

    /// Stops a participant's subscriber only.
    pub async fn stop_subscriber(&self, participant: &str) -> TrafficStatus {
        self.stop_parts(participant, false, true).await
    }

    /// Forgets a stopped participant's generators and their counters (after a reset or a
    /// removal), so their next traffic counts from zero. Does nothing while they run.
    pub fn forget(&self, participant: &str) {
        let mut participants = self.participants();
        if participants
            .get(participant)
            .is_some_and(|traffic| !traffic.is_running())
        {
            participants.remove(participant);
        }
    }

    /// A participant's traffic now.
    pub fn status(&self, participant: &str) -> TrafficStatus {
        self.participants()
            .get(participant)
            .map(ParticipantTraffic::status)
            .unwrap_or_default()
    }

    /// Every participant who has had a generator since the server started, sorted.
    pub fn participants_with_traffic(&self) -> Vec<String> {
        let mut all: Vec<String> = self.participants().keys().cloned().collect();
        all.sort();
        all
    }

    /// The participants with a publisher or a subscriber running, sorted.
    pub fn running_participants(&self) -> Vec<String> {
        let mut running: Vec<String> = self
            .participants()
            .iter()
            .filter(|(_, traffic)| traffic.is_running())
            .map(|(participant, _)| participant.clone())
            .collect();
        running.sort();
        running
    }

    /// Stops every participant's traffic and waits for every task to end (the instructor's
    /// "stop all", and graceful shutdown). Traffic can be started again afterwards.
    pub async fn stop_all(&self) {
        let now = self.backend.clock().now();
        let tasks: Vec<GeneratorTask> = self
            .participants()
            .values_mut()
            .flat_map(|traffic| {
                let publisher = traffic.publisher.as_mut().and_then(|p| p.stop(now));
                let subscriber = traffic.subscriber.as_mut().and_then(|s| s.stop(now));
                publisher.into_iter().chain(subscriber)
            })
            .collect();
        for task in tasks {
            task.finish().await;
        }
    }

    async fn stop_parts(
        &self,
        participant: &str,
        publisher: bool,
        subscriber: bool,
    ) -> TrafficStatus {
        let now = self.backend.clock().now();
        let tasks: Vec<GeneratorTask> = match self.participants().get_mut(participant) {
            Some(traffic) => {
                let publisher = traffic
                    .publisher
                    .as_mut()
                    .filter(|_| publisher)
                    .and_then(|p| p.stop(now));
                let subscriber = traffic
                    .subscriber
                    .as_mut()
                    .filter(|_| subscriber)
                    .and_then(|s| s.stop(now));
                publisher.into_iter().chain(subscriber).collect()
            }
            None => Vec::new(),
        };
        // Waited for outside the lock: a put in flight may take a while on AWS.
        for task in tasks {
            task.finish().await;
        }
        self.status(participant)
    }

    fn participants(&self) -> MutexGuard<'_, HashMap<String, ParticipantTraffic>> {
        self.participants
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for TrafficController {
    fn drop(&mut self) {
        for traffic in self.participants().values() {
            if let Some(publisher) = &traffic.publisher {
                publisher.abort();
            }
            if let Some(subscriber) = &traffic.subscriber {
                subscriber.abort();
            }
        }
    }
}
