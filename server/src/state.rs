//! The application's shared state: the handles every operation needs, built once at start-up
//! by [`crate::serve`] and handed to the router.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use axum::extract::FromRef;
use axum_extra::extract::cookie::Key;

use crate::backend::Backend;
use crate::backend::invocation::RecentInvocations;
use crate::dashboard::DashboardDefinition;
use crate::events::EventLog;
use crate::participants::Participants;
use crate::protection::{Edge, RateLimiter};
use crate::traffic::TrafficController;

/// Largest request body accepted, in bytes, but for [`MAX_METRIC_QUERY_BODY_BYTES`].
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Largest body of a metrics query (`POST /api/v1/participants/{id}/metrics/query`), in bytes:
/// GetMetricData takes 500 queries, each a few hundred bytes of JSON, which do not fit in
/// [`MAX_BODY_BYTES`].
pub const MAX_METRIC_QUERY_BODY_BYTES: usize = 1024 * 1024;

/// Everything the operations and the handlers share.
#[derive(Debug)]
pub struct App {
    /// The pipeline backend.
    pub backend: Arc<dyn Backend>,
    /// Participants and their progress.
    pub participants: Participants,
    /// Every participant's traffic generators.
    pub traffic: TrafficController,
    /// Signs session cookies.
    pub cookie_key: Key,
    /// Set once the backend is ready to serve.
    pub ready: AtomicBool,
    /// The instructor's token (API bearer token and login secret).
    pub instructor_token: String,
    /// The event log.
    pub events: EventLog,
    /// Per-client limit on API requests.
    pub rate_limiter: RateLimiter,
    /// Per-client limit on joins, through the API or the join page.
    pub join_limiter: RateLimiter,
    /// The public address and the proxy's client-address header, if any.
    pub edge: Edge,
    /// The dashboard served, checked at start-up: `terraform/dashboard.json` or `--dashboard`.
    pub dashboard: Arc<DashboardDefinition>,
    /// The overview's recent readings of each participant's fault document.
    pub fault_readings: crate::backend::fault::ParameterReadings,
    /// Builds the whole HTTP application over a state: how an experiment's activities reach this
    /// server's API in-process. Injected by `serve` (operations never import a surface).
    pub api: fn(AppState) -> axum::Router,
    /// [`Self::api`]'s application, built once (it carries the OpenAPI document and every
    /// route): see [`AppState::api_router`].
    pub api_router: std::sync::OnceLock<axum::Router>,
    /// Chaos experiments and their runs.
    pub experiments: crate::chaos::registry::Experiments,
    /// Each participant's recent test invocations of their function, in memory only.
    pub invocations: RecentInvocations,
}

impl App {
    /// Whether `given` is the instructor's token, compared in time that does not depend on where
    /// the two differ.
    pub fn is_instructor_token(&self, given: &str) -> bool {
        secrets_match(given, &self.instructor_token)
    }
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn secrets_match(given: &str, expected: &str) -> bool {
    given.len() == expected.len()
        && given
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// The router's state: the shared [`App`].
#[derive(Debug, Clone)]
pub struct AppState(pub Arc<App>);

impl std::ops::Deref for AppState {
    type Target = App;

    fn deref(&self) -> &App {
        &self.0
    }
}

impl AppState {
    /// The whole HTTP application over this state, for in-process calls; built at the first
    /// call and shared after (a clone is cheap). It holds the state, so the two live as long as
    /// the process: the state is the server's for its whole life.
    pub fn api_router(&self) -> axum::Router {
        self.0
            .api_router
            .get_or_init(|| (self.api)(self.clone()))
            .clone()
    }
}

impl FromRef<AppState> for Key {
    fn from_ref(state: &AppState) -> Key {
        state.cookie_key.clone()
    }
}
