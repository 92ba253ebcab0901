//! Participants as the benches that run traffic see them: joining (each from an address of its
//! own), starting traffic, and reading every participant's accounting and traffic state with
//! their own tokens, over a few connections at once.
//!
//! Reads use the participant's token rather than the instructor's: the API's rate limit keeps
//! one bucket per token, and 200 participants' readings through the instructor's bucket (20
//! requests/s) would take longer than the interval between two samples.

use std::net::SocketAddr;

use futures_util::future::join_all;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::http::{Connection, Extras, client_address, json, setup_request};

/// How many connections read the participants at once: under load an answer mostly waits for
/// the engine, so more readers make a reading of 200 participants shorter (one connection per
/// participant at most).
const READERS: usize = 16;

/// A participant who joined through the API.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Participant {
    /// Their id.
    pub id: String,
    /// Their bearer token.
    pub token: String,
    /// Which address they join from ([`client_address`]).
    pub index: usize,
}

/// `POST /api/v1/participants` as participant `index`, from an address of their own.
pub async fn join(connection: &mut Connection, index: usize) -> Participant {
    let client = client_address(index);
    let headers = [client.as_str()];
    let body = format!(r#"{{"name":"Participant {index}"}}"#);
    let response = setup_request(
        connection,
        "POST",
        "/api/v1/participants",
        Extras {
            headers: &headers,
            ..Extras::json(None, &body)
        },
    )
    .await;
    assert_eq!(
        response.status,
        201,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    let joined = json(&response);
    Participant {
        id: joined["id"].as_str().unwrap().to_owned(),
        token: joined["token"].as_str().unwrap().to_owned(),
        index,
    }
}

/// Joins participants `0..count` one after another and starts each one's traffic at `rate`
/// objects/s ([`traffic_settings`], stopping after an hour).
pub async fn join_with_traffic(
    connection: &mut Connection,
    count: usize,
    rate: f64,
) -> Vec<Participant> {
    let settings = traffic_settings(rate, 3600);
    let mut participants = Vec::with_capacity(count);
    for index in 0..count {
        let participant = join(connection, index).await;
        start_traffic(connection, &participant, &settings).await;
        participants.push(participant);
    }
    participants
}

/// `PUT …/traffic` with `settings` (the JSON body), as the participant.
pub async fn start_traffic(connection: &mut Connection, participant: &Participant, settings: &str) {
    let client = client_address(participant.index);
    let headers = [client.as_str()];
    let response = setup_request(
        connection,
        "PUT",
        &format!("/api/v1/participants/{}/traffic", participant.id),
        Extras {
            headers: &headers,
            ..Extras::json(Some(&participant.token), settings)
        },
    )
    .await;
    assert_eq!(
        response.status,
        200,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
}

/// The traffic settings the benches start: a publisher at `rate` objects/s, 1% malformed,
/// stopping by itself after `stop_after_s`, and a subscriber at the same rate. Rates and the stop
/// are in pipeline time.
pub fn traffic_settings(rate: f64, stop_after_s: u64) -> String {
    format!(
        r#"{{"publisher":{{"rate":{rate},"error_rate":0.01,"stop_after_s":{stop_after_s}}},"subscriber":{{"rate":{rate}}}}}"#
    )
}

/// One participant's `GET …/accounting`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Accounting {
    /// Objects whose upload queued an invocation.
    pub published: u64,
    /// Objects converted to CSV.
    pub converted: u64,
    /// Objects whose event went to the dead-letter queue.
    pub dead_lettered: u64,
    /// Objects whose invocation answered without converting them (a fault).
    pub dropped: u64,
    /// Objects whose event is queued, running or waiting for a retry.
    pub in_flight: u64,
    /// CSV notifications the subscriber received and deleted.
    pub consumed: u64,
    /// Objects the retention rule deleted for their age.
    pub expired: u64,
}

impl Accounting {
    fn from_json(accounting: &Value) -> Self {
        let field = |name: &str| accounting[name].as_u64().unwrap_or(0);
        Self {
            published: field("published"),
            converted: field("converted"),
            dead_lettered: field("dead_lettered"),
            dropped: field("dropped"),
            in_flight: field("in_flight"),
            consumed: field("consumed"),
            expired: field("expired"),
        }
    }

    /// The invariant: every published object is in exactly one place.
    pub fn balances(&self) -> bool {
        self.published == self.converted + self.dead_lettered + self.dropped + self.in_flight
    }

    /// The objects written into the participant's buckets: every published object (malformed,
    /// dead-lettered and in-flight ones included) is an input object, and every converted one
    /// added its CSV. That is what the buckets hold as long as nothing expired and no key was
    /// written twice (a publisher started again numbers its messages from 1 again).
    pub fn objects(&self) -> u64 {
        self.published + self.converted
    }

    /// These counters and `other`'s, added.
    pub fn plus(self, other: Self) -> Self {
        Self {
            published: self.published + other.published,
            converted: self.converted + other.converted,
            dead_lettered: self.dead_lettered + other.dead_lettered,
            dropped: self.dropped + other.dropped,
            in_flight: self.in_flight + other.in_flight,
            consumed: self.consumed + other.consumed,
            expired: self.expired + other.expired,
        }
    }
}

/// Every participant's accounting at one moment, in the participants' order.
#[derive(Debug, Clone)]
pub struct Reading {
    /// One per participant.
    pub accountings: Vec<Accounting>,
    /// The server's pipeline time at the first answer (its `Pipeline-Time` header), epoch ms:
    /// the reading's start.
    pub pipeline_ms: Option<i64>,
}

impl Reading {
    /// The counters summed over every participant.
    pub fn total(&self) -> Accounting {
        self.accountings
            .iter()
            .fold(Accounting::default(), |total, accounting| {
                total.plus(*accounting)
            })
    }

    /// Whether every participant's accounting balances.
    pub fn balances(&self) -> bool {
        self.accountings.iter().all(Accounting::balances)
    }

    /// How many participants published fewer objects here than in `earlier`: objects lost.
    pub fn published_lower_than(&self, earlier: &Self) -> usize {
        self.accountings
            .iter()
            .zip(&earlier.accountings)
            .filter(|(now, before)| now.published < before.published)
            .count()
    }
}

/// Reads every participant's accounting, [`READERS`] at a time.
pub async fn read_accountings(address: SocketAddr, participants: &[Participant]) -> Reading {
    let answers = read_all(address, participants, |id| {
        format!("/api/v1/participants/{id}/accounting")
    })
    .await;
    let pipeline_ms = answers.iter().filter_map(|(_, time)| *time).min();
    Reading {
        accountings: answers
            .iter()
            .map(|(body, _)| Accounting::from_json(body))
            .collect(),
        pipeline_ms,
    }
}

/// Whether each participant's publisher and subscriber are both running (`GET …/traffic`), in
/// the participants' order.
pub async fn read_traffic_running(address: SocketAddr, participants: &[Participant]) -> Vec<bool> {
    read_all(address, participants, |id| {
        format!("/api/v1/participants/{id}/traffic")
    })
    .await
    .iter()
    .map(|(traffic, _)| {
        traffic["publisher"]["running"].as_bool() == Some(true)
            && traffic["subscriber"]["running"].as_bool() == Some(true)
    })
    .collect()
}

/// Every participant's traffic state (`GET …/traffic`, the JSON body), in the participants'
/// order.
pub async fn read_traffic(address: SocketAddr, participants: &[Participant]) -> Vec<Value> {
    read_all(address, participants, |id| {
        format!("/api/v1/participants/{id}/traffic")
    })
    .await
    .into_iter()
    .map(|(traffic, _)| traffic)
    .collect()
}

/// GETs `path(id)` for every participant with their token, over [`READERS`] connections at
/// once; answers each JSON body with the pipeline time of its answer, in the participants'
/// order.
async fn read_all(
    address: SocketAddr,
    participants: &[Participant],
    path: impl Fn(&str) -> String,
) -> Vec<(Value, Option<i64>)> {
    let share = participants.len().div_ceil(READERS).max(1);
    let readers = participants.chunks(share).map(|chunk| {
        let path = &path;
        async move {
            let mut connection = Connection::new(address);
            let mut answers = Vec::with_capacity(chunk.len());
            for participant in chunk {
                let response = setup_request(
                    &mut connection,
                    "GET",
                    &path(&participant.id),
                    Extras::token(&participant.token),
                )
                .await;
                assert_eq!(
                    response.status,
                    200,
                    "{}",
                    String::from_utf8_lossy(&response.body)
                );
                let pipeline_ms = response
                    .header("pipeline-time")
                    .and_then(|time| chrono::DateTime::parse_from_rfc3339(time).ok())
                    .map(|time| time.timestamp_millis());
                answers.push((json(&response), pipeline_ms));
            }
            answers
        }
    });
    join_all(readers).await.into_iter().flatten().collect()
}
