//! The dead-letter queue page: the events Lambda gave up on, each with the error of its last
//! attempt, and the redrive that hands them back to the function.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::error::WebError;
use super::layout::Chrome;
use super::local_path;
use super::session::Session;
use crate::backend::BackendKind;
use crate::ops::dead_letters::{self, DeadLetterList, MAX_FILTER_CHARS, MAX_LIST, MAX_REDRIVE};
use crate::ops::{Actor, OpError};
use crate::state::AppState;

#[derive(Template, WebTemplate)]
#[template(path = "pages/dead_letters.html")]
struct DeadLettersPage {
    chrome: Option<Chrome>,
    csrf: String,
    list: DeadLetterList,
    /// Message rows, as shown.
    rows: Vec<Row>,
    on_aws: bool,
    /// The last redrive's result, from the query string after it.
    redriven: Option<(u64, u64)>,
    /// The text the messages are filtered on, as typed; empty when they are not.
    error_contains: String,
    /// Whether the list is filtered.
    filtered: bool,
    /// What the filter form got wrong.
    filter_error: Option<String>,
    /// Where the redrive goes back to: this page, with its filter.
    return_to: String,
    /// What the redrive form got wrong.
    error: Option<String>,
    max_redrive: usize,
    max_filter_chars: usize,
}

/// One message, as the table shows it.
#[derive(Debug, Clone)]
struct Row {
    /// RFC 3339, for the `<time>` element.
    sent_at: String,
    /// `05:36:25`, pipeline time.
    sent_time: String,
    keys: String,
    error_message: String,
    request_id: String,
    error_code: String,
}

/// The page's query: `?error_contains=` to filter the messages, and `?redriven=N&remaining=M`
/// after a redrive.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    error_contains: Option<String>,
    redriven: Option<u64>,
    remaining: Option<u64>,
}

async fn page(
    state: &AppState,
    session: &Session,
    query: PageQuery,
    error: Option<String>,
) -> Result<DeadLettersPage, WebError> {
    let error_contains = query
        .error_contains
        .as_deref()
        .unwrap_or_default()
        .trim()
        .to_owned();
    // A filter too long to use lists everything, and says so.
    let (filter, filter_error) = match dead_letters::error_filter(Some(&error_contains)) {
        Ok(filter) => (filter, None),
        Err(OpError::Invalid { message, .. }) => (None, Some(message)),
        Err(other) => return Err(other.into()),
    };
    let filtered = filter.is_some();
    let list = dead_letters::list(
        state,
        &session.participant.id,
        Some(MAX_LIST as i64),
        filtered.then_some(error_contains.as_str()),
    )
    .await?;
    let rows = list
        .messages
        .iter()
        .map(|message| Row {
            sent_at: crate::metrics::rfc3339::format(message.sent_at),
            sent_time: chrono::DateTime::from_timestamp_millis(message.sent_at)
                .map(|at| at.format("%H:%M:%S").to_string())
                .unwrap_or_default(),
            keys: message.object_keys.join(", "),
            error_message: message.error_message.clone().unwrap_or_default(),
            request_id: message.request_id.clone().unwrap_or_default(),
            error_code: message.error_code.clone().unwrap_or_default(),
        })
        .collect();
    Ok(DeadLettersPage {
        chrome: Some(Chrome::new(session, None)),
        csrf: session.csrf.clone(),
        list,
        rows,
        on_aws: state.backend.kind() == BackendKind::Aws,
        redriven: query.redriven.zip(query.remaining),
        return_to: if filtered {
            format!(
                "/dead-letters?{}",
                form_urlencoded::Serializer::new(String::new())
                    .append_pair("error_contains", &error_contains)
                    .finish()
            )
        } else {
            "/dead-letters".to_owned()
        },
        error_contains,
        filtered,
        filter_error,
        error,
        max_redrive: MAX_REDRIVE,
        max_filter_chars: MAX_FILTER_CHARS,
    })
}

/// `GET /dead-letters`: the messages in the dead-letter queue, or those whose error contains
/// `?error_contains=`, and the redrive form.
pub async fn show_dead_letters(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<PageQuery>,
) -> Result<Response, WebError> {
    let page = page(&state, &session, query, None).await?;
    let status = if page.filter_error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    // Reading an intercepted call here is what lab 4's second step asks for.
    if page
        .rows
        .iter()
        .any(|row| row.error_message.contains(crate::lab::checks::INTERCEPTED))
    {
        crate::ops::steps::mark_viewed(
            &state,
            &session.participant.id,
            crate::participants::Viewed::InterceptedDeadLetters,
        )?;
    }
    Ok((status, page).into_response())
}

/// The redrive form: how many (empty: all, up to 1,000), and where to go back to.
#[derive(Debug, Deserialize)]
pub struct RedriveForm {
    csrf: String,
    max: Option<String>,
    return_to: Option<String>,
}

/// The filter a `return_to` path carries, if any.
fn filter_in(return_to: &str) -> Option<String> {
    let (_, query) = return_to.split_once('?')?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "error_contains")
        .map(|(_, value)| value.into_owned())
}

/// `POST /dead-letters/redrive`: hands the messages back to the function.
pub async fn redrive(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<RedriveForm>,
) -> Result<Response, WebError> {
    session.check_csrf(&form.csrf)?;
    let max = match form.max.as_deref().map(str::trim).filter(|text| !text.is_empty()) {
        None => Ok(None),
        Some(text) => text.parse::<i64>().map(Some).map_err(|_| {
            format!("How many to redrive must be a whole number from 1 to {MAX_REDRIVE}; you entered {text:?}.")
        }),
    };
    let outcome = match max {
        Ok(max) => {
            match dead_letters::redrive(&state, &session.participant.id, max, Actor::Participant)
                .await
            {
                Ok(redrive) => Ok(redrive),
                Err(OpError::Invalid { message, .. }) => Err(message),
                Err(other) => return Err(other.into()),
            }
        }
        Err(message) => Err(message),
    };
    match outcome {
        Ok(redrive) => {
            let back = local_path(form.return_to.as_deref(), "/dead-letters");
            let separator = if back.contains('?') { '&' } else { '?' };
            Ok(Redirect::to(&format!(
                "{back}{separator}redriven={}&remaining={}",
                redrive.redriven, redrive.remaining
            ))
            .into_response())
        }
        Err(message) => {
            let query = PageQuery {
                error_contains: form.return_to.as_deref().and_then(filter_in),
                ..PageQuery::default()
            };
            let page = page(&state, &session, query, Some(message)).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}
