//! Chaos Toolkit's `${name}` substitution and configuration loading, as chaoslib 1.45 does them,
//! with one difference: the server never reads its own environment for an experiment.
//!
//! - A string that is exactly `${name}` becomes the value itself, with its JSON type (a pause of
//!   `"${pause_s}"` becomes the number); elsewhere `${name}` and `$name` are replaced by the value's
//!   text, as Python's `string.Template.safe_substitute` does, and unknown names are left as they
//!   are. Objects and arrays are substituted member by member.
//! - Configuration and secrets entries are plain values or `{"type": "env", "key": K}` (with an
//!   optional `default` and `env_var_type`). The server answers three keys itself, for the
//!   participant who runs the experiment: `CHAOSLAB_URL` (this server), `CHAOSLAB_TOKEN` (their
//!   token) and `CHAOSLAB_PARTICIPANT_ID` (their id). Any other key takes its `default`; without one
//!   the experiment is refused, naming the entry.

use std::collections::BTreeMap;

use serde_json::Value;

/// The base URL `CHAOSLAB_URL` stands for inside the server: activities are dispatched in-process,
/// so it names this server and no host.
pub const SELF_URL: &str = "http://chaoslab.local";

/// The values the server gives the three environment keys it answers.
#[derive(Debug, Clone)]
pub struct Environment {
    /// `CHAOSLAB_URL`.
    pub url: String,
    /// `CHAOSLAB_TOKEN`.
    pub token: String,
    /// `CHAOSLAB_PARTICIPANT_ID`.
    pub participant: String,
}

impl Environment {
    fn get(&self, key: &str) -> Option<&str> {
        match key {
            "CHAOSLAB_URL" => Some(&self.url),
            "CHAOSLAB_TOKEN" => Some(&self.token),
            "CHAOSLAB_PARTICIPANT_ID" => Some(&self.participant),
            _ => None,
        }
    }
}

/// The names substitution can use: configuration, then every secret of every scope.
pub type Values = BTreeMap<String, Value>;

/// Resolves an experiment's `configuration` and `secrets` into the names substitution uses.
/// Errors name the entry.
pub fn resolve(experiment: &Value, environment: &Environment) -> Result<Values, String> {
    let mut values = Values::new();
    if let Some(configuration) = experiment.get("configuration") {
        let entries = configuration
            .as_object()
            .ok_or("`configuration` must be an object")?;
        for (name, entry) in entries {
            values.insert(
                name.clone(),
                entry_value(&format!("configuration.{name}"), entry, environment)?,
            );
        }
    }
    if let Some(secrets) = experiment.get("secrets") {
        let scopes = secrets.as_object().ok_or("`secrets` must be an object")?;
        for (scope, entries) in scopes {
            let entries = entries
                .as_object()
                .ok_or_else(|| format!("`secrets.{scope}` must be an object"))?;
            for (name, entry) in entries {
                values.insert(
                    name.clone(),
                    entry_value(&format!("secrets.{scope}.{name}"), entry, environment)?,
                );
            }
        }
    }
    Ok(values)
}

fn entry_value(path: &str, entry: &Value, environment: &Environment) -> Result<Value, String> {
    let Some(object) = entry.as_object() else {
        return Ok(entry.clone());
    };
    match object.get("type").and_then(Value::as_str) {
        Some("env") => {
            let key = object
                .get("key")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("`{path}` reads the environment but names no `key`"))?;
            let text = match environment.get(key) {
                Some(value) => Value::String(value.to_owned()),
                None => object.get("default").cloned().ok_or_else(|| {
                    format!(
                        "`{path}` reads the environment variable {key}, which the server does not read for an experiment: give the entry a `default` or a plain value (the server answers only CHAOSLAB_URL, CHAOSLAB_TOKEN and CHAOSLAB_PARTICIPANT_ID)"
                    )
                })?,
            };
            convert(
                path,
                text,
                object.get("env_var_type").and_then(Value::as_str),
            )
        }
        Some(other) => Err(format!(
            "`{path}` has type {other:?}; only plain values and {{\"type\": \"env\"}} entries can be resolved here"
        )),
        // An object without `type` is a plain value (chaoslib passes it through).
        None => Ok(entry.clone()),
    }
}

/// chaoslib's `env_var_type`: `int`, `float`, `bool`, `json` or `str`.
fn convert(path: &str, value: Value, kind: Option<&str>) -> Result<Value, String> {
    let Value::String(text) = &value else {
        return Ok(value);
    };
    let bad = || {
        format!(
            "`{path}`: {text:?} is not a valid {}",
            kind.unwrap_or("str")
        )
    };
    Ok(match kind {
        None | Some("str") => value,
        Some("int") => Value::from(text.trim().parse::<i64>().map_err(|_| bad())?),
        Some("float") => Value::from(text.trim().parse::<f64>().map_err(|_| bad())?),
        Some("bool") => Value::Bool(matches!(
            text.trim().to_ascii_lowercase().as_str(),
            "1" | "true" | "yes" | "y"
        )),
        Some("json") => serde_json::from_str(text).map_err(|_| bad())?,
        Some(other) => return Err(format!("`{path}`: unknown env_var_type {other:?}")),
    })
}

/// Substitutes `${name}` in `data`, recursively.
pub fn substitute(data: &Value, values: &Values) -> Value {
    match data {
        Value::String(text) => substitute_text(text, values),
        Value::Array(items) => {
            Value::Array(items.iter().map(|item| substitute(item, values)).collect())
        }
        Value::Object(members) => Value::Object(
            members
                .iter()
                .map(|(key, value)| (key.clone(), substitute(value, values)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn substitute_text(text: &str, values: &Values) -> Value {
    if let Some(name) = text
        .strip_prefix("${")
        .and_then(|rest| rest.strip_suffix('}'))
        && let Some(value) = values.get(name)
    {
        return value.clone();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(stripped) = after.strip_prefix('$') {
            // `$$` is a literal `$`.
            out.push('$');
            rest = stripped;
            continue;
        }
        let (name, consumed) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        match values.get(name).filter(|_| !name.is_empty()) {
            Some(value) => {
                out.push_str(&text_of(value));
                rest = &after[consumed..];
            }
            None => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Value::String(out)
}

/// A value as Python's `str()` would write it inside a string.
fn text_of(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Null => "None".to_owned(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn environment() -> Environment {
        Environment {
            url: SELF_URL.to_owned(),
            token: "tok".to_owned(),
            participant: "p-1".to_owned(),
        }
    }

    #[test]
    fn a_whole_placeholder_keeps_its_type_and_an_embedded_one_becomes_text() {
        let values = Values::from([
            ("pause_s".to_owned(), json!(360)),
            ("participant_id".to_owned(), json!("p-1")),
        ]);
        assert_eq!(substitute(&json!("${pause_s}"), &values), json!(360));
        assert_eq!(
            substitute(
                &json!({"url": "/participants/${participant_id}/x?n=$pause_s", "keep": "${nope} $$"}),
                &values
            ),
            json!({"url": "/participants/p-1/x?n=360", "keep": "${nope} $"})
        );
    }

    #[test]
    fn the_server_answers_its_three_keys_and_defaults_the_rest() {
        let experiment = json!({
            "configuration": {
                "chaoslab_url": {"type": "env", "key": "CHAOSLAB_URL"},
                "participant_id": {"type": "env", "key": "CHAOSLAB_PARTICIPANT_ID"},
                "pause_s": {"type": "env", "key": "PAUSE", "default": "360", "env_var_type": "int"},
                "plain": 2
            },
            "secrets": {"chaoslab": {"chaoslab_token": {"type": "env", "key": "CHAOSLAB_TOKEN"}}}
        });
        let values = resolve(&experiment, &environment()).unwrap_or_default();
        assert_eq!(values["chaoslab_url"], json!(SELF_URL));
        assert_eq!(values["participant_id"], json!("p-1"));
        assert_eq!(values["pause_s"], json!(360));
        assert_eq!(values["plain"], json!(2));
        assert_eq!(values["chaoslab_token"], json!("tok"));
        let unread = json!({"configuration": {"home": {"type": "env", "key": "HOME"}}});
        let error = resolve(&unread, &environment()).err().unwrap_or_default();
        assert!(
            error.contains("configuration.home") && error.contains("HOME"),
            "{error}"
        );
    }
}
