//! The stacks file: what `terraform output -json` printed about the provisioned stacks.
//!
//! The Terraform root has one output, `stacks`, a map from the Terraform participant id to that
//! stack's names (see `terraform/README.md`). The server reads either the whole document
//! (`{"stacks": {"value": {...}, "type": ..., "sensitive": false}}`) or just the map, as
//! `terraform output -json stacks` prints it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::backend::StackNames;

/// The command that writes a stacks file, for error messages.
pub const SAVE_COMMAND: &str = "terraform -chdir=terraform output -json > stacks.json";

/// The provisioned stacks, by their Terraform participant id, in that id's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackCatalog {
    stacks: BTreeMap<String, StackNames>,
}

/// Why the stacks file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StacksFileError {
    /// No `--stacks` option was given.
    #[error(
        "the AWS backend needs the stacks Terraform created: pass --stacks <file> (or set \
         CHAOSLAB_STACKS), a file saved with `{SAVE_COMMAND}`"
    )]
    NotGiven,
    /// The file cannot be read.
    #[error("cannot read the stacks file {path}: {source} (save it with `{SAVE_COMMAND}`)")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not JSON.
    #[error("the stacks file {path} is not JSON ({source}): save it again with `{SAVE_COMMAND}`")]
    NotJson {
        /// The file.
        path: PathBuf,
        /// The parse error.
        source: serde_json::Error,
    },
    /// The JSON is not `terraform output -json`'s shape.
    #[error(
        "the stacks file {path} does not look like `terraform output -json`: {problem} \
         (expected {{\"stacks\": {{\"value\": {{\"<participant>\": {{\"region\", \"bucket\", ...}}}}}}}})"
    )]
    Shape {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// The file lists no stack.
    #[error(
        "the stacks file {path} lists no stacks: apply the Terraform with at least one \
         participant (terraform apply -var 'participants=[\"alice\"]') and save the outputs again"
    )]
    Empty {
        /// The file.
        path: PathBuf,
    },
}

impl StackCatalog {
    /// Reads a stacks file.
    pub fn read(path: &Path) -> Result<Self, StacksFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| StacksFileError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses the text of a stacks file; `path` only names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, StacksFileError> {
        let document: Value =
            serde_json::from_str(text).map_err(|source| StacksFileError::NotJson {
                path: path.to_owned(),
                source,
            })?;
        let shape = |problem: String| StacksFileError::Shape {
            path: path.to_owned(),
            problem,
        };
        let map = stacks_map(&document).map_err(shape)?;
        let mut stacks = BTreeMap::new();
        for (participant, value) in map {
            let names: StackNames = serde_json::from_value(value.clone())
                .map_err(|error| shape(format!("stack {participant:?}: {error}")))?;
            if let Some(field) = empty_field(&names) {
                return Err(shape(format!("stack {participant:?} has an empty {field}")));
            }
            stacks.insert(participant.clone(), names);
        }
        if stacks.is_empty() {
            return Err(StacksFileError::Empty {
                path: path.to_owned(),
            });
        }
        Ok(Self { stacks })
    }

    /// A catalog of the given stacks (for tests and tools).
    pub fn from_stacks(stacks: impl IntoIterator<Item = (String, StackNames)>) -> Self {
        Self {
            stacks: stacks.into_iter().collect(),
        }
    }

    /// How many stacks there are.
    pub fn len(&self) -> usize {
        self.stacks.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.stacks.is_empty()
    }

    /// The stack Terraform created for `key`, a Terraform participant id.
    pub fn get(&self, key: &str) -> Option<&StackNames> {
        self.stacks.get(key)
    }

    /// Every stack, by Terraform participant id, in that id's order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &StackNames)> {
        self.stacks.iter().map(|(key, names)| (key.as_str(), names))
    }

    /// The regions the stacks live in, each once.
    pub fn regions(&self) -> Vec<String> {
        let mut regions: Vec<String> = self
            .stacks
            .values()
            .map(|names| names.region.clone())
            .collect();
        regions.sort();
        regions.dedup();
        regions
    }
}

/// The map of stacks inside a document: `stacks.value` of the whole output, or the document
/// itself when it is `terraform output -json stacks`.
fn stacks_map(document: &Value) -> Result<&serde_json::Map<String, Value>, String> {
    let Some(object) = document.as_object() else {
        return Err("the document is not a JSON object".to_owned());
    };
    match object.get("stacks") {
        // The whole `terraform output -json`: every output is {"sensitive", "type", "value"}.
        Some(Value::Object(output)) if output.contains_key("value") => output
            .get("value")
            .and_then(Value::as_object)
            .ok_or_else(|| "stacks.value is not an object".to_owned()),
        Some(Value::Object(output)) if !output.contains_key("region") => Err(
            "the \"stacks\" output has no \"value\" (was it saved with `terraform output -json`?)"
                .to_owned(),
        ),
        // Otherwise the document is the map itself (a participant may be called "stacks").
        _ => Ok(object),
    }
}

fn empty_field(names: &StackNames) -> Option<&'static str> {
    [
        ("region", &names.region),
        ("bucket", &names.bucket),
        ("function_name", &names.function_name),
        ("dlq_url", &names.dlq_url),
        ("dlq_name", &names.dlq_name),
        ("csv_queue_url", &names.csv_queue_url),
        ("csv_queue_name", &names.csv_queue_name),
        ("topic_arn", &names.topic_arn),
        ("topic_name", &names.topic_name),
        ("dashboard_name", &names.dashboard_name),
        ("parameter_name", &names.parameter_name),
        ("suffix", &names.suffix),
    ]
    .into_iter()
    .find(|(_, value)| value.trim().is_empty())
    .map(|(field, _)| field)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack(suffix: &str) -> Value {
        serde_json::to_value(StackNames::with_suffix(suffix, "eu-west-1", "123456789012"))
            .unwrap_or(Value::Null)
    }

    #[test]
    fn reads_the_whole_terraform_output() {
        let document = serde_json::json!({"stacks": {"sensitive": false, "type": [], "value": {
            "bob": stack("00000000000000b0"), "alice": stack("00000000000000a1")}}});
        let catalog = StackCatalog::parse(&document.to_string(), Path::new("s.json"));
        let catalog = catalog.unwrap_or_else(|error| panic!("{error}"));
        let keys: Vec<&str> = catalog.iter().map(|(key, _)| key).collect();
        assert_eq!(keys, ["alice", "bob"]);
        assert_eq!(catalog.regions(), ["eu-west-1"]);
    }

    #[test]
    fn reads_the_bare_map_even_with_a_participant_called_stacks() {
        let document = serde_json::json!({"stacks": stack("00000000000000a1")});
        let catalog = StackCatalog::parse(&document.to_string(), Path::new("s.json"));
        assert_eq!(catalog.map(|catalog| catalog.len()).ok(), Some(1));
    }

    #[test]
    fn refuses_an_empty_map_a_missing_field_and_text() {
        let empty = serde_json::json!({"stacks": {"value": {}}}).to_string();
        assert!(matches!(
            StackCatalog::parse(&empty, Path::new("s.json")),
            Err(StacksFileError::Empty { .. })
        ));
        let mut partial = stack("00000000000000a1");
        if let Some(object) = partial.as_object_mut() {
            object.remove("csv_queue_url");
        }
        let partial = serde_json::json!({"alice": partial}).to_string();
        let error = StackCatalog::parse(&partial, Path::new("s.json"))
            .err()
            .map(|error| error.to_string())
            .unwrap_or_default();
        assert!(error.contains("csv_queue_url"), "{error}");
        assert!(matches!(
            StackCatalog::parse("not json", Path::new("s.json")),
            Err(StacksFileError::NotJson { .. })
        ));
    }
}
