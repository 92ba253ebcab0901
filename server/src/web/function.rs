//! The function inspector: the ETL function's configuration, explained, and its source code.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::error::WebError;
use super::layout::Chrome;
use super::session::Session;
use crate::backend::FunctionConfiguration;
use crate::backend::function::{FunctionChange, ReservedConcurrency, Unreserved};
use crate::inspector::{Setting, SourceFile, inspect, source_files};
use crate::ops::steps::mark_viewed;
use crate::ops::{Actor, OpError};
use crate::participants::Viewed;
use crate::state::{App, AppState};

#[derive(Template, WebTemplate)]
#[template(path = "pages/function.html")]
struct FunctionPage {
    chrome: Option<Chrome>,
    csrf: String,
    config: FunctionConfiguration,
    settings: Vec<Setting>,
    sources: &'static [SourceFile],
    form: SettingsValues,
    /// On AWS: the `function_settings` entry that keeps the current settings across the next
    /// `terraform apply`, when they differ from the module's defaults.
    terraform: Option<String>,
    /// What the settings form got wrong.
    error: Option<String>,
    /// Whether the settings were just changed.
    saved: bool,
}

/// The settings form's values, as shown or typed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SettingsValues {
    /// Seconds.
    #[serde(default)]
    pub timeout_seconds: String,
    /// MB.
    #[serde(default)]
    pub memory_mb: String,
    /// 0 to 2.
    #[serde(default)]
    pub maximum_retry_attempts: String,
    /// Seconds.
    #[serde(default)]
    pub maximum_event_age_seconds: String,
    /// A number, or empty for none.
    #[serde(default)]
    pub reserved_concurrency: String,
}

impl SettingsValues {
    fn of(config: &FunctionConfiguration) -> Self {
        Self {
            timeout_seconds: format!("{}", config.timeout_seconds),
            memory_mb: config.memory_mb.to_string(),
            maximum_retry_attempts: config.maximum_retry_attempts.to_string(),
            maximum_event_age_seconds: config.maximum_event_age_seconds.to_string(),
            reserved_concurrency: config
                .reserved_concurrency
                .map(|count| count.to_string())
                .unwrap_or_default(),
        }
    }

    /// The change the form asks for. Lambda's limits are checked by the operation; here only
    /// that each field is a whole number.
    fn change(&self) -> Result<FunctionChange, String> {
        fn whole<T: std::str::FromStr>(label: &str, text: &str) -> Result<Option<T>, String> {
            let text = text.trim();
            if text.is_empty() {
                return Ok(None);
            }
            text.parse()
                .map(Some)
                .map_err(|_| format!("{label} must be a whole number; you entered {text:?}."))
        }
        let reserved = self.reserved_concurrency.trim();
        Ok(FunctionChange {
            timeout_seconds: whole("Timeout", &self.timeout_seconds)?,
            memory_mb: whole("Memory", &self.memory_mb)?,
            maximum_retry_attempts: whole("Retry attempts", &self.maximum_retry_attempts)?,
            maximum_event_age_seconds: whole("Maximum event age", &self.maximum_event_age_seconds)?,
            reserved_concurrency: Some(
                if reserved.is_empty() || reserved.eq_ignore_ascii_case("none") {
                    ReservedConcurrency::Unreserved(Unreserved::None)
                } else {
                    ReservedConcurrency::Executions(
                        whole("Reserved concurrency", reserved)?.unwrap_or_default(),
                    )
                },
            ),
        })
    }
}

/// The Terraform module's defaults, which a `function_settings` entry need not repeat.
const TERRAFORM_DEFAULTS: [(&str, &str); 5] = [
    ("timeout_seconds", "3"),
    ("memory_mb", "128"),
    ("maximum_retry_attempts", "2"),
    ("maximum_event_age_seconds", "21600"),
    ("reserved_concurrency", "-1"),
];

/// The `function_settings` entry that keeps `config` across the next apply, or None when it
/// matches the module's defaults.
pub fn terraform_entry(key: &str, config: &FunctionConfiguration) -> Option<String> {
    let values = [
        format!("{}", config.timeout_seconds.ceil()),
        config.memory_mb.to_string(),
        config.maximum_retry_attempts.to_string(),
        config.maximum_event_age_seconds.to_string(),
        config
            .reserved_concurrency
            .map_or_else(|| "-1".to_owned(), |count| count.to_string()),
    ];
    let changed: Vec<String> = TERRAFORM_DEFAULTS
        .iter()
        .zip(values)
        .filter(|((_, default), value)| default != value)
        .map(|((name, _), value)| format!("{name} = {value}"))
        .collect();
    (!changed.is_empty()).then(|| {
        format!(
            "function_settings = {{\n  \"{key}\" = {{ {} }}\n}}",
            changed.join(", ")
        )
    })
}

impl FunctionPage {
    async fn load(state: &App, session: &Session) -> Result<Self, WebError> {
        let id = &session.participant.id;
        let config = state.backend.function_configuration(id).await?;
        let terraform = state
            .backend
            .terraform_key(id)
            .and_then(|key| terraform_entry(&key, &config));
        Ok(Self {
            chrome: Some(Chrome::new(session, None)),
            csrf: session.csrf.clone(),
            settings: inspect(&config),
            form: SettingsValues::of(&config),
            config,
            sources: source_files(),
            terraform,
            error: None,
            saved: false,
        })
    }
}

/// `GET /function`: the function's configuration and code.
pub async fn show_function(
    State(state): State<AppState>,
    session: Session,
    axum::extract::Query(saved): axum::extract::Query<SavedQuery>,
) -> Result<Response, WebError> {
    let session = Session {
        participant: mark_viewed(&state, &session.participant.id, Viewed::Function)?,
        csrf: session.csrf,
    };
    let mut page = FunctionPage::load(&state, &session).await?;
    page.saved = saved.saved.is_some();
    Ok(page.into_response())
}

/// `?saved` after a change.
#[derive(Debug, Deserialize)]
pub struct SavedQuery {
    saved: Option<String>,
}

/// The settings form.
#[derive(Debug, Deserialize)]
pub struct SettingsForm {
    csrf: String,
    #[serde(flatten)]
    values: SettingsValues,
}

/// `POST /function`: changes the function's settings within Lambda's limits. A mistake comes
/// back on the page, naming the setting, with the values as typed; nothing changes.
pub async fn update_function(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<SettingsForm>,
) -> Result<Response, WebError> {
    session.check_csrf(&form.csrf)?;
    let id = &session.participant.id;
    let outcome = match form.values.change() {
        Ok(change) => {
            match crate::ops::function::update(&state, id, &change, Actor::Participant).await {
                Ok(_) => Ok(()),
                Err(OpError::Invalid { message, .. }) => Err(message),
                Err(other) => return Err(other.into()),
            }
        }
        Err(message) => Err(message),
    };
    match outcome {
        Ok(()) => Ok(Redirect::to("/function?saved=1#settings").into_response()),
        Err(message) => {
            let mut page = FunctionPage::load(&state, &session).await?;
            page.form = form.values;
            page.error = Some(message);
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> FunctionConfiguration {
        FunctionConfiguration {
            function_name: "ChaosTransformer-x".to_owned(),
            runtime: "provided.al2023".to_owned(),
            handler: "bootstrap".to_owned(),
            architecture: "x86_64".to_owned(),
            memory_mb: 128,
            timeout_seconds: 3.0,
            maximum_retry_attempts: 2,
            maximum_event_age_seconds: 21_600,
            dead_letter_target_arn: String::new(),
            reserved_concurrency: None,
            environment: std::collections::BTreeMap::new(),
        }
    }

    #[test]
    fn the_terraform_entry_names_only_what_differs_from_the_modules_defaults() {
        assert_eq!(terraform_entry("alice", &config()), None);
        let changed = FunctionConfiguration {
            timeout_seconds: 120.0,
            reserved_concurrency: Some(5),
            ..config()
        };
        assert_eq!(
            terraform_entry("alice", &changed).as_deref(),
            Some(
                "function_settings = {\n  \"alice\" = { timeout_seconds = 120, reserved_concurrency = 5 }\n}"
            )
        );
    }

    #[test]
    fn the_form_reads_an_empty_reserve_as_none_and_refuses_fractions() {
        let values = SettingsValues {
            timeout_seconds: "120".to_owned(),
            reserved_concurrency: " ".to_owned(),
            ..SettingsValues::default()
        };
        let change = values.change().unwrap_or_default();
        assert_eq!(change.timeout_seconds, Some(120));
        assert_eq!(change.memory_mb, None);
        assert_eq!(
            change.reserved_concurrency,
            Some(ReservedConcurrency::Unreserved(Unreserved::None))
        );
        let fraction = SettingsValues {
            timeout_seconds: "2.5".to_owned(),
            ..SettingsValues::default()
        };
        assert_eq!(
            fraction.change().err().as_deref(),
            Some("Timeout must be a whole number; you entered \"2.5\".")
        );
    }
}
