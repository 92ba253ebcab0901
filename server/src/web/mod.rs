//! The web interface: the lab pages a participant works through and the instructor's pages, as
//! full pages that work without JavaScript and as htmx partials that keep them live. Each
//! handler parses a form or a path, calls an operation in [`crate::ops`] and renders a template.
//!
//! - [`session`]: the signed session cookie, CSRF tokens and cross-site request refusal;
//! - [`layout`]: the page chrome every lab page shows;
//! - [`join`]: joining, resuming and leaving;
//! - [`lab`]: the step pages and their checks;
//! - [`architecture`], [`traffic`], [`function`]: one module per screen of the pipeline;
//! - [`dashboard`]: the shared dashboard, drawn;
//! - [`slo`]: the stated objective and its live evaluation;
//! - [`instructor`]: the instructor's overview, actions and event log;
//! - [`assets`]: the embedded CSS and JavaScript;
//! - [`error`]: the error page.

pub mod architecture;
pub mod assets;
pub mod dashboard;
pub mod dead_letters;
pub mod error;
pub mod experiments;
pub mod faults;
pub mod function;
pub mod instructor;
pub mod join;
pub mod lab;
pub mod layout;
pub mod session;
pub mod slo;
pub mod traffic;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

/// The pages' routes, participant's and instructor's.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(join::landing))
        .route("/join", post(join::join))
        .route("/resume", post(join::resume))
        .route("/leave", get(join::confirm_leave).post(join::leave))
        .route("/api-access", get(join::show_api_access))
        .route("/lab/{step}", get(lab::show_step))
        .route("/lab/{step}/check", get(lab::check_partial))
        .route("/architecture", get(architecture::show_architecture))
        .route(
            "/architecture/live",
            get(architecture::architecture_partial),
        )
        .route(
            "/traffic",
            get(traffic::show_traffic).post(traffic::start_traffic),
        )
        .route("/traffic/stop", post(traffic::stop_traffic))
        .route("/traffic/live", get(traffic::traffic_partial))
        .route(
            "/function",
            get(function::show_function).post(function::update_function),
        )
        .route("/faults", get(faults::show_faults).post(faults::put_fault))
        .route("/faults/test", post(faults::test_invoke))
        .route("/dead-letters", get(dead_letters::show_dead_letters))
        .route(
            "/experiments",
            get(experiments::show_experiments).post(experiments::save_experiment),
        )
        .route(
            "/experiments/{experiment}/run",
            post(experiments::run_experiment),
        )
        .route(
            "/experiments/{experiment}/export",
            get(experiments::export_experiment),
        )
        .route(
            "/experiments/{experiment}/delete",
            post(experiments::delete_experiment),
        )
        .route("/experiments/runs/{run}", get(experiments::show_run))
        .route("/experiments/runs/{run}/halt", post(experiments::halt_run))
        .route(
            "/experiments/runs/{run}/journal.json",
            get(experiments::download_journal),
        )
        .route("/dead-letters/redrive", post(dead_letters::redrive))
        .route("/dashboard", get(dashboard::show_dashboard))
        .route("/dashboard/live", get(dashboard::dashboard_partial))
        .route("/slo", get(slo::show_slo).post(slo::set_slo))
        .route("/slo/live", get(slo::slo_partial))
        .route("/static/{*path}", get(assets::serve_asset))
        .route("/static/highlight.css", get(function::highlight_css))
        .merge(instructor::routes())
}

/// `value` as a pretty-printed JSON file the browser saves as `filename`.
pub fn json_download<T: serde::Serialize>(filename: &str, value: &T) -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    match serde_json::to_string_pretty(value) {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, "application/json".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{filename}\""),
                ),
            ],
            body,
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, filename, "cannot write a download as JSON");
            axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// `path` when it is a path on this site, else `fallback`: a redirect never leads to another
/// site. `//host` and `/\host` are refused, since browsers read both as another host.
pub fn local_path<'a>(path: Option<&'a str>, fallback: &'a str) -> &'a str {
    match path {
        Some(path) if path.starts_with('/') && !path[1..].starts_with(['/', '\\']) => path,
        _ => fallback,
    }
}

/// Whether the request came from htmx (and wants a partial).
pub fn is_htmx(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get("hx-request")
        .is_some_and(|value| value == "true")
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn a_redirect_stays_on_this_site() {
        assert_eq!(local_path(Some("/lab/run-it"), "/x"), "/lab/run-it");
        assert_eq!(local_path(Some("/"), "/x"), "/");
        for elsewhere in [
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "lab",
            "",
        ] {
            assert_eq!(local_path(Some(elsewhere), "/x"), "/x", "{elsewhere}");
        }
        assert_eq!(local_path(None, "/x"), "/x");
    }
}
