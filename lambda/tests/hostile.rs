//! Malformed and hostile documents: each one gets a typed error (or, for duplicate keys, a
//! documented result), and none makes the transform panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use chaoslab_etl::transform::{
    JsonKind, MAX_DEPTH, MAX_DOCUMENT_BYTES, TransformError, json_to_csv,
};
use proptest::prelude::*;

fn corpus(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("reading {}: {error}", path.display()))
}

fn syntax_message(name: &str) -> String {
    match json_to_csv(&corpus(name)) {
        Err(TransformError::Syntax { message, .. }) => message,
        other => panic!("{name}: expected a syntax error, got {other:?}"),
    }
}

#[test]
fn truncated_documents_are_reported_as_truncated() {
    for name in ["truncated.json", "truncated-inner-array.json"] {
        let error = json_to_csv(&corpus(name)).unwrap_err();
        assert!(
            matches!(error, TransformError::Truncated { .. }),
            "{name}: {error:?}"
        );
    }
}

#[test]
fn trailing_commas_are_syntax_errors() {
    assert_eq!(
        syntax_message("trailing-comma-object.json"),
        "trailing comma"
    );
    assert_eq!(
        syntax_message("trailing-comma-array.json"),
        "trailing comma"
    );
}

#[test]
fn javascript_only_literals_are_syntax_errors() {
    for name in [
        "nan.json",
        "infinity.json",
        "single-quotes.json",
        "comment.json",
        "unquoted-key.json",
    ] {
        syntax_message(name);
    }
}

#[test]
fn lone_surrogates_are_refused_in_values_and_keys() {
    assert!(syntax_message("lone-leading-surrogate.json").contains("hex escape"));
    assert!(syntax_message("lone-trailing-surrogate.json").contains("surrogate"));
    assert!(syntax_message("lone-surrogate-in-key.json").contains("hex escape"));
}

#[test]
fn lone_surrogate_error_points_at_the_value() {
    let error = json_to_csv(br#"{"ok":"x",  "s":"\ud800"}"#).unwrap_err();
    let TransformError::Syntax { position, .. } = error else {
        panic!("{error:?}")
    };
    assert_eq!(position.line, 1);
    // The value starts at column 17; serde_json reports the end of the escape.
    assert!(position.column > 17, "{position:?}");
}

#[test]
fn control_characters_leading_zeros_and_bad_escapes_are_syntax_errors() {
    assert!(syntax_message("control-character.json").contains("control character"));
    syntax_message("leading-zero.json");
    assert_eq!(syntax_message("invalid-escape.json"), "invalid escape");
}

#[test]
fn a_second_document_after_the_first_is_refused() {
    assert_eq!(syntax_message("two-documents.json"), "trailing characters");
}

#[test]
fn byte_order_mark_is_refused() {
    assert_eq!(
        json_to_csv(&corpus("byte-order-mark.json")),
        Err(TransformError::ByteOrderMark)
    );
}

#[test]
fn non_utf8_encodings_are_refused() {
    assert_eq!(
        json_to_csv(&corpus("latin1.json")),
        Err(TransformError::InvalidUtf8 { offset: 12 })
    );
    assert_eq!(
        json_to_csv(&corpus("utf16.json")),
        Err(TransformError::InvalidUtf8 { offset: 0 })
    );
}

#[test]
fn numbers_beyond_a_double_are_refused_but_long_integers_are_kept() {
    let error = json_to_csv(&corpus("huge-exponent.json")).unwrap_err();
    assert_eq!(
        error,
        TransformError::NumberOutOfRange {
            column: "n".into(),
            number: "1e400".into()
        }
    );
    let digits = "7".repeat(400);
    let error = json_to_csv(format!(r#"{{"n":{digits}}}"#).as_bytes()).unwrap_err();
    assert!(
        matches!(error, TransformError::NumberOutOfRange { ref number, .. } if number.len() == 40)
    );
    let thirty = "1".repeat(30);
    let output = json_to_csv(format!(r#"{{"n":{thirty}}}"#).as_bytes()).unwrap();
    assert_eq!(output, format!("n\n{thirty}\n").into_bytes());
}

#[test]
fn duplicate_keys_convert_with_the_last_value_at_the_first_position() {
    assert_eq!(
        json_to_csv(&corpus("duplicate-keys.json")).unwrap(),
        b"a,b\n3,2\n"
    );
}

#[test]
fn deep_object_nesting_is_refused() {
    let depth = MAX_DEPTH + 1;
    let json = format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth));
    let error = json_to_csv(json.as_bytes()).unwrap_err();
    assert!(
        matches!(
            error,
            TransformError::TooDeep {
                limit: MAX_DEPTH,
                ..
            }
        ),
        "{error:?}"
    );
    let json = format!("{}1{}", r#"{"a":"#.repeat(MAX_DEPTH), "}".repeat(MAX_DEPTH));
    let column = vec!["a"; MAX_DEPTH].join(".");
    assert_eq!(
        json_to_csv(json.as_bytes()).unwrap(),
        format!("{column}\n1\n").into_bytes()
    );
}

#[test]
fn pathological_nesting_is_refused_without_overflowing_the_stack() {
    let depth = 100_000;
    let objects = format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth));
    assert!(matches!(
        json_to_csv(objects.as_bytes()),
        Err(TransformError::TooDeep { .. })
    ));
    let arrays = format!(r#"{{"a":{}{}}}"#, "[".repeat(depth), "]".repeat(depth));
    assert!(matches!(
        json_to_csv(arrays.as_bytes()),
        Err(TransformError::TooDeep { .. })
    ));
    let top = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    assert_eq!(
        json_to_csv(top.as_bytes()),
        Err(TransformError::ElementNotAnObject {
            index: 0,
            found: JsonKind::Array
        })
    );
    let unclosed = "[".repeat(depth);
    assert!(json_to_csv(unclosed.as_bytes()).is_err());
}

#[test]
fn ten_mebibyte_strings_exceed_the_size_limit() {
    let text = "x".repeat(MAX_DOCUMENT_BYTES);
    let json = format!(r#"{{"s":"{text}"}}"#);
    assert_eq!(
        json_to_csv(json.as_bytes()),
        Err(TransformError::TooLarge {
            size: json.len(),
            limit: MAX_DOCUMENT_BYTES
        })
    );
}

#[test]
fn a_string_just_under_the_limit_converts_intact() {
    let text = "y".repeat(MAX_DOCUMENT_BYTES - 16);
    let json = format!(r#"{{"s":"{text}"}}"#);
    let output = json_to_csv(json.as_bytes()).unwrap();
    assert_eq!(output.len(), "s\n".len() + text.len() + 1);
}

#[test]
fn every_corpus_file_is_refused_or_documented() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path
            .extension()
            .is_some_and(|extension| extension == "json")
        {
            files += 1;
            let converted = json_to_csv(&std::fs::read(&path).unwrap()).is_ok();
            let documented_success = path.ends_with("duplicate-keys.json");
            assert_eq!(converted, documented_success, "{}", path.display());
        }
    }
    assert!(files >= 20, "corpus has only {files} files");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = json_to_csv(&bytes);
    }

    #[test]
    fn json_like_text_never_panics(text in r#"[\[\]{}":,0-9a-z\\ .eE+-]{0,64}"#) {
        let _ = json_to_csv(text.as_bytes());
    }
}
