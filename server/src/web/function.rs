//! The function inspector: the ETL function's configuration, explained, and its source code.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::error::WebError;
use super::layout::Chrome;
use super::session::Session;
use crate::backend::FunctionConfiguration;
use crate::inspector::{Setting, SourceFile, inspect, source_files};
use crate::ops::steps::mark_viewed;
use crate::participants::Viewed;
use crate::state::AppState;

#[derive(Template, WebTemplate)]
#[template(path = "pages/function.html")]
struct FunctionPage {
    chrome: Option<Chrome>,
    config: FunctionConfiguration,
    settings: Vec<Setting>,
    sources: &'static [SourceFile],
}

/// `GET /function`: the function's configuration and code.
pub async fn show_function(
    State(state): State<AppState>,
    session: Session,
) -> Result<Response, WebError> {
    let config = state
        .backend
        .function_configuration(&session.participant.id)
        .await?;
    let session = Session {
        participant: mark_viewed(&state, &session.participant.id, Viewed::Function)?,
        csrf: session.csrf,
    };
    Ok(FunctionPage {
        chrome: Some(Chrome::new(&session, None)),
        settings: inspect(&config),
        config,
        sources: source_files(),
    }
    .into_response())
}

/// `GET /static/highlight.css`: the colours of the highlighted code.
pub async fn highlight_css() -> Response {
    static CSS: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(crate::inspector::highlight_css);
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS.as_str(),
    )
        .into_response()
}
