//! Importing one of the original lab's Chaos Toolkit experiments for a participant: the
//! conversion is [`crate::chaos::import`]'s; this checks the participant and turns a malformed
//! experiment into an [`OpError`] naming the field. Nothing is stored, whatever the outcome.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::chaos::import::{Imported, import_experiment};
use crate::ops::OpError;
use crate::state::App;

/// The original experiment converted for participant `id`, with what was mapped and what was
/// refused (an import is complete only when nothing was refused). `files` holds the contents
/// of files the original reads with `file://`, by name.
pub fn import(
    app: &App,
    id: &str,
    original: &Value,
    files: &BTreeMap<String, Value>,
) -> Result<Imported, OpError> {
    app.participants.get(id)?;
    import_experiment(original, id, files)
        .map_err(|error| OpError::invalid("invalid_experiment", error.to_string()))
}
