//! The web interface: the lab pages a participant works through, as full pages that work
//! without JavaScript and as htmx partials that keep them live.
//!
//! - [`session`]: the signed session cookie, CSRF tokens and cross-site request refusal;
//! - [`join`]: joining and resuming;
//! - [`lab`]: the step pages and their automatic checks;
//! - [`pipeline`]: the architecture picture, the traffic panel and the function inspector;
//! - [`dashboard`]: the shared dashboard, drawn;
//! - [`slo`]: the stated objective and its live evaluation;
//! - [`assets`]: the embedded CSS and JavaScript;
//! - [`protection`]: security headers and the API's rate limit;
//! - [`error`]: the error page.

pub mod assets;
pub mod dashboard;
pub mod error;
pub mod instructor;
pub mod join;
pub mod lab;
pub mod pipeline;
pub mod protection;
pub mod session;
pub mod slo;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use axum_extra::extract::cookie::Key;

use crate::backend::Backend;
use crate::participants::Participants;
use crate::traffic::TrafficController;

/// Largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Everything the handlers share.
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
    pub events: crate::events::EventLog,
    /// Per-client limit on API requests.
    pub rate_limiter: protection::RateLimiter,
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

impl FromRef<AppState> for Key {
    fn from_ref(state: &AppState) -> Key {
        state.cookie_key.clone()
    }
}

/// The whole web application.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/", get(join::landing))
        .route("/join", post(join::join))
        .route("/leave", post(join::leave))
        .route("/api-access", get(join::show_api_access))
        .route("/lab/{step}", get(lab::show_step))
        .route("/lab/{step}/check", get(lab::check_partial))
        .route("/architecture", get(pipeline::show_architecture))
        .route("/architecture/live", get(pipeline::architecture_partial))
        .route(
            "/traffic",
            get(pipeline::show_traffic).post(pipeline::start_traffic),
        )
        .route("/traffic/stop", post(pipeline::stop_traffic))
        .route("/traffic/live", get(pipeline::traffic_partial))
        .route("/function", get(pipeline::show_function))
        .route("/dashboard", get(dashboard::show_dashboard))
        .route("/dashboard/live", get(dashboard::dashboard_partial))
        .route("/slo", get(slo::show_slo).post(slo::set_slo))
        .route("/slo/live", get(slo::slo_partial))
        .route("/static/{*path}", get(assets::serve_asset))
        .route("/static/highlight.css", get(pipeline::highlight_css))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(instructor::routes())
        .merge(crate::api::router())
        .fallback(error::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            protection::rate_limit_api,
        ))
        .layer(axum::middleware::from_fn(session::refuse_cross_site))
        .layer(axum::middleware::from_fn(protection::security_headers))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            MAX_BODY_BYTES,
        ))
        .with_state(state)
}

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<serde_json::Value>) {
    if state.ready.load(Ordering::Acquire) {
        (
            StatusCode::OK,
            Json(serde_json::json!({ "status": "ready", "backend": state.backend.kind() })),
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "status": "starting" })),
        )
    }
}

/// Whether the request came from htmx (and wants a partial).
pub fn is_htmx(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get("hx-request")
        .is_some_and(|value| value == "true")
}
