//! Filling in the dashboard template's placeholders.
//!
//! Terraform renders `terraform/dashboard.json` with `templatefile()`, and the server must get
//! the same text, so this follows Terraform's template syntax for the parts the file may use:
//! `${name}` is replaced by the stack's value (surrounding spaces allowed, as in `${ name }`),
//! `$${` is a literal `${` (as CloudWatch's dynamic labels like `$${LAST}` need) and `%%{` a
//! literal `%{`. Directives (`%{ if … }`) and expressions other than a bare name are refused
//! rather than silently rendered differently from Terraform.

use serde_json::Value;

use super::{DashboardError, DashboardNames};

/// Replaces every `${name}` placeholder in `template` by that stack name.
///
/// Placeholders sit inside JSON strings, so each value is JSON-escaped (a `"` in a name becomes
/// `\"`); values are inserted as they are and never scanned for placeholders themselves.
pub fn render(template: &str, names: &DashboardNames) -> Result<String, DashboardError> {
    let line_of = |rest: &str| line_number(template, template.len() - rest.len());
    let mut rendered = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(at) = rest.find(['$', '%']) {
        rendered.push_str(&rest[..at]);
        rest = &rest[at..];
        if let Some(after) = rest.strip_prefix("$${") {
            rendered.push_str("${");
            rest = after;
        } else if let Some(after) = rest.strip_prefix("%%{") {
            rendered.push_str("%{");
            rest = after;
        } else if let Some(after) = rest.strip_prefix("${") {
            let end = after
                .find('}')
                .ok_or_else(|| DashboardError::UnterminatedPlaceholder {
                    line: line_of(rest),
                })?;
            let name = after[..end].trim();
            let value = names
                .value_of(name)
                .ok_or_else(|| DashboardError::UnknownPlaceholder {
                    name: name.to_owned(),
                    line: line_of(rest),
                })?;
            rendered.push_str(&json_string_content(value));
            rest = &after[end + 1..];
        } else if rest.starts_with("%{") {
            return Err(DashboardError::UnsupportedDirective {
                line: line_of(rest),
            });
        } else {
            // A lone `$` or `%` (both ASCII, one byte) is ordinary text.
            rendered.push_str(&rest[..1]);
            rest = &rest[1..];
        }
    }
    rendered.push_str(rest);
    Ok(rendered)
}

/// `value` escaped for use between the quotes of a JSON string.
fn json_string_content(value: &str) -> String {
    let quoted = Value::String(value.to_owned()).to_string();
    quoted
        .strip_prefix('"')
        .and_then(|inner| inner.strip_suffix('"'))
        .unwrap_or(&quoted)
        .to_owned()
}

/// The 1-based line of byte `offset` in `text`.
fn line_number(text: &str, offset: usize) -> usize {
    text[..offset].matches('\n').count() + 1
}
