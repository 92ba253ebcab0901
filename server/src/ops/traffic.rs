//! Starting, changing and stopping a participant's traffic, with one rule for merging what is
//! asked with what runs.
//!
//! **The merge rule.** A [`TrafficChange`] names the generators to start or change; a generator
//! left out is left as it is. Within a generator, a field left out keeps its current value: the
//! running generator's, else the participant's saved settings, else the lab's standard. The
//! settings that result are saved, so the next change starts from them. The API's `PUT` and
//! `PATCH /traffic`, the traffic form, the step buttons and the instructor's "Start" all go
//! through [`start`], so they cannot disagree.
//!
//! **The automatic stop.** A change to a running publisher that states `stop_after_s` makes its
//! automatic stop count again from now; a change that leaves it out (a new rate or error rate
//! alone) keeps the stop where it was, so an experiment that raises the error rate for a while
//! does not extend the run. A publisher that starts gets its stop `stop_after_s` from now.

use serde::Deserialize;
use utoipa::ToSchema;

use crate::events::EventKind;
use crate::ops::{Actor, OpError};
use crate::participants::Participant;
use crate::state::App;
use crate::traffic::{
    PublisherSettings, StopTimer, SubscriberSettings, TrafficLimits, TrafficSettings, TrafficStatus,
};

/// What to start or change. Every part and every field may be left out: see the module's
/// merge rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrafficChange {
    /// Start or change the publisher.
    #[serde(default, deserialize_with = "crate::input::object")]
    pub publisher: Option<PublisherChange>,
    /// Start or change the subscriber.
    #[serde(default, deserialize_with = "crate::input::object")]
    pub subscriber: Option<SubscriberChange>,
}

/// The publisher's settings to change; a field left out keeps its current value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublisherChange {
    /// Objects per second, from 0.1 to the server's cap (`--max-rate`).
    #[schema(minimum = 0.1, maximum = 20)]
    pub rate: Option<f64>,
    /// The share of objects that are malformed, from 0 to 1.
    #[schema(minimum = 0, maximum = 1)]
    pub error_rate: Option<f64>,
    /// Seconds of pipeline time after which the publisher stops by itself, from 1 to the
    /// server's cap. Stating it restarts the count from now; leaving it out keeps a running
    /// publisher's stop where it was.
    #[schema(minimum = 1, maximum = 14400)]
    pub stop_after_s: Option<u64>,
}

/// The subscriber's settings to change; a field left out keeps its current value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriberChange {
    /// Messages per second, at most, on average: from 0.1 to the server's cap (`--max-rate`).
    #[schema(minimum = 0.1, maximum = 20)]
    pub rate: Option<f64>,
}

impl TrafficChange {
    /// The lab's standard traffic, every field stated: 2 objects/s with 1% malformed, the
    /// server's default automatic stop, and a subscriber at 2 messages/s. What the steps' "Start
    /// traffic" button starts, whatever was saved before.
    pub fn standard(limits: &TrafficLimits) -> Self {
        let publisher = PublisherSettings::default();
        Self {
            publisher: Some(PublisherChange {
                rate: Some(publisher.rate),
                error_rate: Some(publisher.error_rate),
                stop_after_s: Some(limits.default_stop_after_s),
            }),
            subscriber: Some(SubscriberChange {
                rate: Some(SubscriberSettings::default().rate),
            }),
        }
    }

    /// Checks every value the change states against `limits`, whoever it will apply to.
    pub fn validate(&self, limits: &TrafficLimits) -> Result<(), OpError> {
        self.apply(TrafficSettings::standard())
            .validate(limits)
            .map_err(|error| OpError::invalid("invalid_traffic_settings", error.to_string()))
    }

    /// The settings this change gives over `base`: the parts it names, each field it states
    /// replacing `base`'s.
    pub fn apply(&self, base: TrafficSettings) -> TrafficSettings {
        let publisher = self.publisher.map(|change| {
            let mut settings = base.publisher.unwrap_or_default();
            if let Some(rate) = change.rate {
                settings.rate = rate;
            }
            if let Some(error_rate) = change.error_rate {
                settings.error_rate = error_rate;
            }
            if let Some(stop_after_s) = change.stop_after_s {
                settings.stop_after_s = Some(stop_after_s);
            }
            settings
        });
        let subscriber = self.subscriber.map(|change| {
            let mut settings = base.subscriber.unwrap_or_default();
            if let Some(rate) = change.rate {
                settings.rate = rate;
            }
            settings
        });
        TrafficSettings {
            publisher,
            subscriber,
        }
    }
}

/// The settings a change starts from: what runs, else what was saved, else the standard.
pub fn current_settings(app: &App, participant: &Participant) -> TrafficSettings {
    let status = app.traffic.status(&participant.id);
    let saved = participant
        .traffic
        .unwrap_or_else(TrafficSettings::standard);
    TrafficSettings {
        publisher: status
            .publisher
            .filter(|publisher| publisher.running)
            .map(|publisher| publisher.settings)
            .or(saved.publisher),
        subscriber: status
            .subscriber
            .filter(|subscriber| subscriber.running)
            .map(|subscriber| subscriber.settings)
            .or(saved.subscriber),
    }
}

/// Starts or changes a participant's traffic by the merge rule, saves the settings and records
/// the event. Nothing starts if any value is refused.
pub fn start(
    app: &App,
    id: &str,
    change: &TrafficChange,
    actor: Actor,
) -> Result<TrafficStatus, OpError> {
    let participant = app.participants.get(id)?;
    let limits = app.traffic.limits();
    let was_running = app.traffic.status(id).is_running();
    let requested = change.apply(current_settings(app, &participant));
    // The controller checks the settings against its limits and changes nothing if refused.
    // The automatic stop counts again only when the change states it.
    let timer = if change
        .publisher
        .is_some_and(|publisher| publisher.stop_after_s.is_some())
    {
        StopTimer::Restart
    } else {
        StopTimer::Keep
    };
    let status = app
        .traffic
        .change(id, requested, timer)
        .map_err(|error| OpError::invalid("invalid_traffic_settings", error.to_string()))?;
    let saved = participant.traffic.unwrap_or_default();
    let requested = requested.resolved(&limits);
    let merged = TrafficSettings {
        publisher: requested.publisher.or(saved.publisher),
        subscriber: requested.subscriber.or(saved.subscriber),
    };
    // Saved running at once, not only at a clean shutdown: a server killed with `kill -9`
    // resumes this traffic at its next start.
    super::save(app, id, |participant| {
        participant.traffic = Some(merged);
        participant.traffic_running = true;
    })?;
    let detail = actor.describe(&describe(&requested, &limits));
    super::record(
        app,
        id,
        EventKind::TrafficStarted,
        detail,
        if was_running {
            "traffic changed"
        } else {
            "traffic started"
        },
    );
    Ok(status)
}

/// Stops a participant's publisher and subscriber. Returns their final state and whether
/// anything was running; only then is the stop recorded.
pub async fn stop(app: &App, id: &str, actor: Actor) -> Result<(TrafficStatus, bool), OpError> {
    app.participants.get(id)?;
    let was_running = app.traffic.status(id).is_running();
    let status = app.traffic.stop(id).await;
    app.participants
        .update(id, |participant| participant.traffic_running = false)?;
    if was_running {
        let detail = actor.describe("");
        super::record(
            app,
            id,
            EventKind::TrafficStopped,
            detail,
            "traffic stopped",
        );
    }
    Ok((status, was_running))
}

/// How often [`supervise`] looks at every participant's traffic, in wall-clock time.
pub const SUPERVISION_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// How long a draining subscriber may go without deleting anything before it stops anyway, in
/// pipeline milliseconds: longer than Lambda's retry schedule (attempts 1 and 3 minutes after
/// the first), since a retry can still convert an object. This is what stops the subscriber on
/// AWS, whose accounting trails the pipeline by a minute or more.
pub const DRAIN_IDLE_MILLIS: i64 = 4 * 60 * 1000;

/// Watches every participant's traffic for the publisher's automatic stop, forever.
///
/// **What happens at the automatic stop.** The publisher stops by itself when its time is up.
/// The stop is recorded in the event log. The subscriber keeps receiving until the csv queue is
/// drained (nothing is in flight and every converted object's notification has been consumed),
/// or until it has deleted nothing for [`DRAIN_IDLE_MILLIS`], then stops too, and that is
/// recorded as well. A backlog is worked off however long it takes.
pub async fn supervise(app: std::sync::Arc<App>) {
    let mut supervisor = Supervisor::default();
    loop {
        tokio::time::sleep(SUPERVISION_INTERVAL).await;
        supervisor.look(&app).await;
    }
}

/// What [`supervise`] remembers between two looks.
#[derive(Debug, Default)]
pub struct Supervisor {
    /// Automatic stops already recorded: (participant, the run's start).
    recorded: std::collections::HashSet<(String, crate::metrics::EpochMillis)>,
    /// Participants whose subscriber is draining: how many it had deleted at the last look, and
    /// when that number last grew.
    draining: std::collections::HashMap<String, (u64, crate::metrics::EpochMillis)>,
}

impl Supervisor {
    /// Looks at every participant's traffic once.
    pub async fn look(&mut self, app: &App) {
        for id in app.traffic.participants_with_traffic() {
            let status = app.traffic.status(&id);
            let Some(publisher) = status.publisher.as_ref() else {
                continue;
            };
            if publisher.running {
                self.draining.remove(&id);
                continue;
            }
            if publisher.stopped_by_itself()
                && self.recorded.insert((id.clone(), publisher.started_at))
            {
                let ran = crate::lab::checks::minutes_seconds(
                    publisher.running_for_ms(publisher.stops_at),
                );
                let detail = format!(
                    "publisher stopped by itself after {ran} (its automatic stop); the subscriber drains the csv queue, then stops"
                );
                super::record(
                    app,
                    &id,
                    EventKind::TrafficStopped,
                    detail,
                    "the publisher stopped by itself",
                );
                // Not to be resumed after a restart: its time is up.
                if let Err(error) = app
                    .participants
                    .update(&id, |participant| participant.traffic_running = false)
                {
                    tracing::warn!(participant = %id, %error, "could not save that traffic stopped");
                }
                if let Some(subscriber) = status.subscriber.as_ref().filter(|s| s.running) {
                    self.draining
                        .insert(id.clone(), (subscriber.deleted, publisher.stops_at));
                }
            }
            let Some(&(deleted, progress_at)) = self.draining.get(&id) else {
                continue;
            };
            let Some(subscriber) = status.subscriber.as_ref().filter(|s| s.running) else {
                self.draining.remove(&id);
                continue;
            };
            let now = app.backend.clock().now();
            let progress_at = if subscriber.deleted > deleted {
                self.draining.insert(id.clone(), (subscriber.deleted, now));
                now
            } else {
                progress_at
            };
            let drained = match app.backend.accounting(&id).await {
                Ok(accounting) => {
                    accounting.in_flight == 0 && accounting.consumed >= accounting.converted
                }
                Err(_) => false,
            };
            if drained || now - progress_at >= DRAIN_IDLE_MILLIS {
                self.draining.remove(&id);
                app.traffic.stop_subscriber(&id).await;
                let detail = if drained {
                    "subscriber stopped by itself: the csv queue is drained"
                } else {
                    "subscriber stopped by itself: it received nothing for 4 min"
                };
                super::record(
                    app,
                    &id,
                    EventKind::TrafficStopped,
                    detail.to_owned(),
                    "the subscriber stopped after draining",
                );
            }
        }
    }
}

/// `publisher 2/s, 1% malformed, stop after 3600 s; subscriber 2/s`, with the server's default
/// stop where the settings leave it out.
pub fn describe(settings: &TrafficSettings, limits: &TrafficLimits) -> String {
    let publisher = settings.publisher.map(|publisher| {
        format!(
            "publisher {}/s, {}% malformed, stop after {} s",
            publisher.rate,
            publisher.error_rate * 100.0,
            publisher.stop_after_s(limits)
        )
    });
    let subscriber = settings
        .subscriber
        .map(|subscriber| format!("subscriber {}/s", subscriber.rate));
    [publisher, subscriber]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_left_out_keeps_its_value_and_a_part_left_out_is_not_started() {
        let base = TrafficSettings {
            publisher: Some(PublisherSettings {
                rate: 5.0,
                error_rate: 0.3,
                stop_after_s: Some(600),
            }),
            subscriber: Some(SubscriberSettings { rate: 4.0 }),
        };
        let change = TrafficChange {
            publisher: Some(PublisherChange {
                error_rate: Some(0.1),
                ..PublisherChange::default()
            }),
            subscriber: None,
        };
        let applied = change.apply(base);
        assert_eq!(
            applied.publisher,
            Some(PublisherSettings {
                rate: 5.0,
                error_rate: 0.1,
                stop_after_s: Some(600)
            })
        );
        assert_eq!(applied.subscriber, None);
    }

    #[test]
    fn the_standard_change_states_every_field() {
        let limits = TrafficLimits::default();
        let base = TrafficSettings {
            publisher: Some(PublisherSettings {
                rate: 5.0,
                error_rate: 0.3,
                stop_after_s: Some(600),
            }),
            subscriber: Some(SubscriberSettings { rate: 4.0 }),
        };
        let applied = TrafficChange::standard(&limits).apply(base);
        let publisher = applied.publisher.unwrap_or_default();
        assert_eq!(
            (publisher.rate, publisher.error_rate, publisher.stop_after_s),
            (2.0, 0.01, Some(limits.default_stop_after_s))
        );
        assert_eq!(applied.subscriber.map(|s| s.rate), Some(2.0));
    }
}
