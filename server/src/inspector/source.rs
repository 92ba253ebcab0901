//! The ETL function's source code, as the inspector shows it: highlighted on the server into
//! class-based HTML, so it reads well without JavaScript, and styled by [`highlight_css`].
//!
//! The files are compiled into the server with `include_str!`, so the page always shows the code
//! of the very function the embedded backend runs. Highlighting uses syntect's built-in Sublime
//! grammars with the pure-Rust `fancy-regex` engine. Loading the grammars and highlighting the
//! files is done once, on first use, and kept for the life of the process.

use std::sync::LazyLock;

use serde::Serialize;
use syntect::highlighting::ThemeSet;
use syntect::html::{ClassStyle, ClassedHTMLGenerator, css_for_theme_with_class_style};
use syntect::parsing::SyntaxSet;
use syntect::util::LinesWithEndings;

/// Every highlighting class starts with this prefix, so it cannot clash with the pages' own CSS.
const CLASS_STYLE: ClassStyle = ClassStyle::SpacedPrefixed { prefix: "hl-" };

/// The class of the `<pre>` around each highlighted file; [`highlight_css`] gives it the theme's
/// foreground and background colours.
pub const CODE_CLASS: &str = "hl-code";

/// The built-in theme the stylesheet comes from: dark text on white, like the lab pages.
const THEME: &str = "InspiredGitHub";

/// One of the function's source files, highlighted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceFile {
    /// Path in the repository, e.g. `lambda/src/handler.rs`.
    pub path: &'static str,
    /// What the file does, in a few words, as a heading for it.
    pub title: &'static str,
    /// The highlighted code: a `<pre class="hl-code" tabindex="0"><code>…</code></pre>` block of `<span>`s with
    /// `hl-` classes; every character of the source is HTML-escaped.
    pub html: String,
}

/// The files shown, in reading order: where an event comes in, the transform it calls, the
/// transform's two halves, the fault wrapper around the handler, and the Lambda binary that wires
/// it to S3 and SSM.
const FILES: [(&str, &str, &str); 7] = [
    (
        "lambda/src/handler.rs",
        "The handler: S3 event in, output/<name>.csv out",
        include_str!("../../../lambda/src/handler.rs"),
    ),
    (
        "lambda/src/transform.rs",
        "The transform: JSON in, CSV out, or a clear error",
        include_str!("../../../lambda/src/transform.rs"),
    ),
    (
        "lambda/src/transform/parse.rs",
        "Reading the JSON document",
        include_str!("../../../lambda/src/transform/parse.rs"),
    ),
    (
        "lambda/src/transform/collect.rs",
        "Collecting the cells and writing the CSV",
        include_str!("../../../lambda/src/transform/collect.rs"),
    ),
    (
        "lambda/src/fault/run.rs",
        "The fault wrapper: draw a fault, apply it, then run the handler",
        include_str!("../../../lambda/src/fault/run.rs"),
    ),
    (
        "lambda/src/fault/document.rs",
        "The fault document: failure-lambda's fields and their limits",
        include_str!("../../../lambda/src/fault/document.rs"),
    ),
    (
        "lambda/src/main.rs",
        "The Lambda binary: S3 client plugged into the handler",
        include_str!("../../../lambda/src/main.rs"),
    ),
];

/// syntect's default grammars, in the form that expects each line to end with its newline.
static SYNTAXES: LazyLock<SyntaxSet> = LazyLock::new(SyntaxSet::load_defaults_newlines);

static SOURCE_FILES: LazyLock<Vec<SourceFile>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|&(path, title, text)| SourceFile {
            path,
            title,
            html: highlight_rust(text),
        })
        .collect()
});

static CSS: LazyLock<String> = LazyLock::new(|| {
    let themes = ThemeSet::load_defaults();
    let css = themes
        .themes
        .get(THEME)
        .map(|theme| css_for_theme_with_class_style(theme, CLASS_STYLE));
    match css {
        Some(Ok(css)) => css,
        // Without the theme the code still reads, in the page's own colours.
        _ => {
            tracing::warn!(
                theme = THEME,
                "syntax theme unavailable; serving no highlight colours"
            );
            String::new()
        }
    }
});

/// The function's source files, highlighted. The first call loads the grammars and highlights
/// every file (a fraction of a second in a release build); later calls return the same slice.
pub fn source_files() -> &'static [SourceFile] {
    &SOURCE_FILES
}

/// The stylesheet for the `hl-` classes of [`SourceFile::html`], from syntect's built-in
/// `InspiredGitHub` theme. Built once.
pub fn highlight_css() -> String {
    CSS.clone()
}

/// Highlights Rust source as a `<pre class="hl-code" tabindex="0"><code>…</code></pre>` block with `hl-`
/// classes. Every character of `source` is HTML-escaped; if the grammar cannot parse a line,
/// the whole text is returned escaped but without highlighting.
pub fn highlight_rust(source: &str) -> String {
    let syntaxes = &*SYNTAXES;
    let syntax = syntaxes
        .find_syntax_by_extension("rs")
        .unwrap_or_else(|| syntaxes.find_syntax_plain_text());
    let mut generator = ClassedHTMLGenerator::new_with_class_style(syntax, syntaxes, CLASS_STYLE);
    let highlighted = LinesWithEndings::from(source)
        .try_for_each(|line| generator.parse_html_for_line_which_includes_newline(line));
    let body = match highlighted {
        Ok(()) => generator.finalize(),
        Err(error) => {
            tracing::warn!(%error, "could not highlight source; showing it plain");
            escape_html(source)
        }
    };
    // Focusable, so a keyboard can scroll a line wider than the panel.
    format!(r#"<pre class="{CODE_CLASS}" tabindex="0"><code>{body}</code></pre>"#)
}

/// Escapes text for HTML element content and attribute values.
fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_escaping_covers_markup_characters() {
        assert_eq!(
            escape_html(r#"<a href="x">&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
    }
}
