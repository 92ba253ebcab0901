//! Changing the function's settings: timeout, memory, retries, maximum event age and reserved
//! concurrency, within Lambda's limits.

use crate::backend::{FunctionChange, FunctionConfiguration};
use crate::events::EventKind;
use crate::ops::{Actor, OpError};
use crate::state::App;

/// Applies `change` to participant `id`'s function (a field left out keeps its value) and
/// records it. A value outside Lambda's limits is refused naming it, and nothing changes.
pub async fn update(
    app: &App,
    id: &str,
    change: &FunctionChange,
    actor: Actor,
) -> Result<FunctionConfiguration, OpError> {
    app.participants.get(id)?;
    change
        .validate()
        .map_err(|error| OpError::invalid("invalid_function_settings", error.to_string()))?;
    let configuration = app.backend.update_function(id, change).await?;
    let detail = format!(
        "timeout {} s, memory {} MB, {} retries, event age {} s, reserved concurrency {}",
        configuration.timeout_seconds,
        configuration.memory_mb,
        configuration.maximum_retry_attempts,
        configuration.maximum_event_age_seconds,
        configuration
            .reserved_concurrency
            .map_or_else(|| "none".to_owned(), |count| count.to_string()),
    );
    super::record(
        app,
        id,
        EventKind::FunctionChanged,
        actor.describe(&detail),
        "function settings changed",
    );
    Ok(configuration)
}
