//! The Lambda inspector: the settings a participant reads, and the function's highlighted source.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use chaoslab::backend::Backend;
use chaoslab::backend::embedded::service::EmbeddedBackend;
use chaoslab::inspector::{Setting, highlight_css, highlight_rust, inspect, source_files};

async fn default_settings() -> (Vec<Setting>, String) {
    let pipeline = support::TestPipeline::open();
    let backend = EmbeddedBackend::new(pipeline.engine.clone());
    let config = backend.function_configuration("alice").await.unwrap();
    (inspect(&config), config.dead_letter_target_arn)
}

fn row<'a>(settings: &'a [Setting], name: &str) -> &'a Setting {
    settings
        .iter()
        .find(|setting| setting.name == name)
        .unwrap_or_else(|| panic!("no {name} row in {settings:#?}"))
}

#[tokio::test(start_paused = true)]
async fn default_configuration_shows_every_setting_the_lab_teaches() {
    let (settings, _) = default_settings().await;
    let names: Vec<&str> = settings.iter().map(|setting| setting.name).collect();
    assert_eq!(
        names,
        [
            "Runtime",
            "Architecture",
            "Memory",
            "Timeout",
            "Maximum retry attempts",
            "Maximum event age",
            "Dead-letter target",
            "Reserved concurrency",
            "FAILURE_INJECTION_PARAM",
            "FAILURE_CACHE_TTL",
        ]
    );
    assert_eq!(row(&settings, "Runtime").value, "provided.al2023");
    let parameter = &row(&settings, "FAILURE_INJECTION_PARAM").value;
    assert!(
        parameter.starts_with("/chaoslab/") && parameter.ends_with("/failure-injection"),
        "{parameter}"
    );
    assert_eq!(row(&settings, "FAILURE_CACHE_TTL").value, "5 s");
    assert_eq!(row(&settings, "Architecture").value, "x86_64");
    assert_eq!(row(&settings, "Memory").value, "128 MB");
    for setting in &settings {
        assert!(!setting.value.is_empty(), "{setting:?}");
        assert!(setting.why.len() > 40, "{setting:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn timeout_row_says_three_seconds_and_why_latency_hurts() {
    let (settings, _) = default_settings().await;
    let timeout = row(&settings, "Timeout");
    assert_eq!(timeout.value, "3 s");
    assert!(timeout.why.contains("3 s"), "{}", timeout.why);
    assert!(timeout.why.contains("lab 3"), "{}", timeout.why);
}

#[tokio::test(start_paused = true)]
async fn retry_row_says_two_and_when_the_dead_letter_arrives() {
    let (settings, _) = default_settings().await;
    let retries = row(&settings, "Maximum retry attempts");
    assert_eq!(retries.value, "2");
    assert!(retries.why.contains("1 + 2"), "{}", retries.why);
    assert!(retries.why.contains("3 minutes"), "{}", retries.why);
    assert_eq!(row(&settings, "Maximum event age").value, "6 h");
}

#[tokio::test(start_paused = true)]
async fn dead_letter_row_shows_the_queue_arn() {
    let (settings, arn) = default_settings().await;
    assert!(arn.starts_with("arn:aws:sqs:us-east-1:"), "{arn}");
    assert!(arn.contains(":chaos-error-queue-"), "{arn}");
    assert_eq!(row(&settings, "Dead-letter target").value, arn);
    assert_eq!(
        row(&settings, "Reserved concurrency").value,
        "none (shares the account's pool)"
    );
}

#[test]
fn every_source_file_is_present_and_highlighted() {
    let files = source_files();
    let paths: Vec<&str> = files.iter().map(|file| file.path).collect();
    assert_eq!(
        paths,
        [
            "lambda/src/handler.rs",
            "lambda/src/transform.rs",
            "lambda/src/transform/parse.rs",
            "lambda/src/transform/collect.rs",
            "lambda/src/fault/run.rs",
            "lambda/src/fault/document.rs",
            "lambda/src/main.rs",
        ]
    );
    for file in files {
        assert!(!file.title.is_empty(), "{}", file.path);
        assert!(
            file.html
                .starts_with(r#"<pre class="hl-code" tabindex="0"><code>"#),
            "{}",
            file.path
        );
        assert!(file.html.ends_with("</code></pre>"), "{}", file.path);
        assert!(file.html.contains(r#"<span class="hl-"#), "{}", file.path);
        assert!(file.html.contains("hl-keyword"), "{}", file.path);
        assert!(file.html.contains("hl-comment"), "{}", file.path);
    }
    // The same slice every time: highlighted once.
    assert!(std::ptr::eq(files, source_files()));
}

#[test]
fn the_handler_source_is_the_function_that_runs() {
    let handler = &source_files()[0];
    assert!(handler.html.contains("handle_event"), "{}", handler.html);
    assert!(handler.html.contains("json_to_csv"));
}

#[test]
fn source_text_is_html_escaped() {
    let html = highlight_rust(
        "// <script>alert(\"x\")</script> & more\nfn main() { let s = \"</pre><script>\"; }\n",
    );
    assert!(!html.contains("<script>"), "{html}");
    assert!(!html.contains("</pre><"), "{html}");
    assert!(html.contains("&lt;script&gt;"), "{html}");
    assert!(html.contains("&amp; more"), "{html}");
    assert_eq!(html.matches("<pre").count(), 1, "{html}");
    assert_eq!(html.matches("</pre>").count(), 1, "{html}");
}

#[test]
fn source_without_a_final_newline_keeps_its_last_line() {
    let html = highlight_rust("fn last_line() {}");
    assert!(html.contains("last_line"), "{html}");
}

#[test]
fn stylesheet_covers_the_highlight_classes() {
    let css = highlight_css();
    assert!(!css.is_empty());
    assert!(css.contains(".hl-code"), "{css}");
    assert!(css.contains(".hl-comment"), "{css}");
    assert!(css.contains("color: #"), "{css}");
}
