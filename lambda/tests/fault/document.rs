//! The document: field set, defaults, the synonym, and the strict and lenient parses.

use chaoslab_etl::fault::document::{MAX_DOCUMENT_BYTES, MAX_PATTERNS};
use chaoslab_etl::fault::{DocumentError, FailureMode, FaultDocument, parse_lenient, parse_strict};
use proptest::prelude::*;

#[test]
fn a_partial_document_is_valid_and_takes_the_defaults() {
    let document = parse_strict(r#"{"isEnabled": false}"#).unwrap();
    assert_eq!(document, FaultDocument::default());
    assert!(!document.is_enabled);
    assert_eq!(document.failure_mode, FailureMode::Latency);
    assert_eq!(document.rate, 1.0);
    assert_eq!((document.min_latency, document.max_latency), (100, 400));
    assert_eq!(document.exception_msg, "Exception message!");
    assert_eq!(document.status_code, 404);
    assert_eq!(document.disk_space, 100);
    assert!(document.denylist.is_empty());

    let empty = parse_strict("{}").unwrap();
    assert_eq!(empty, FaultDocument::default());
}

#[test]
fn a_lone_latency_bound_moves_the_other_default_out_of_its_way() {
    let above = parse_strict(r#"{"minLatency": 3000}"#).unwrap();
    assert_eq!((above.min_latency, above.max_latency), (3000, 3000));
    let below = parse_strict(r#"{"maxLatency": 50}"#).unwrap();
    assert_eq!((below.min_latency, below.max_latency), (50, 50));
}

#[test]
fn the_full_0_2_document_is_read_field_by_field() {
    let document = parse_strict(
        r#"{"isEnabled": true, "failureMode": "blacklist", "rate": 0.25, "minLatency": 3000,
            "maxLatency": 4000.0, "exceptionMsg": "boom", "statusCode": 503, "diskSpace": 200,
            "blacklist": ["dynamodb.*.amazonaws.com", "s3.*.amazonaws.com"]}"#,
    )
    .unwrap();
    assert!(document.is_enabled);
    assert_eq!(document.failure_mode, FailureMode::Denylist);
    assert_eq!(document.rate, 0.25);
    assert_eq!((document.min_latency, document.max_latency), (3000, 4000));
    assert_eq!(document.exception_msg, "boom");
    assert_eq!(document.status_code, 503);
    assert_eq!(document.disk_space, 200);
    assert_eq!(
        document.denylist.patterns(),
        ["dynamodb.*.amazonaws.com", "s3.*.amazonaws.com"]
    );
}

#[test]
fn denylist_is_a_synonym_of_blacklist_as_mode_and_as_field() {
    let old = parse_strict(r#"{"failureMode": "blacklist", "blacklist": ["s3"]}"#).unwrap();
    let new = parse_strict(r#"{"failureMode": "denylist", "denylist": ["s3"]}"#).unwrap();
    let mixed = parse_strict(r#"{"failureMode": "denylist", "blacklist": ["s3"]}"#).unwrap();
    assert_eq!(old, new);
    assert_eq!(old, mixed);
    assert_eq!(old.failure_mode, FailureMode::Denylist);
    assert_eq!(old.denylist.patterns(), ["s3"]);
}

/// The strict error for `text`, with the field it names.
fn refused(text: &str) -> (DocumentError, Option<String>) {
    let error = parse_strict(text).expect_err(text);
    let field = error.field().map(str::to_owned);
    (error, field)
}

#[test]
fn strict_parse_refuses_text_that_is_not_a_json_object() {
    let (error, field) = refused("isEnabled: true");
    assert!(matches!(error, DocumentError::NotJson { .. }), "{error}");
    assert_eq!(field, None);
    assert!(error.to_string().contains("write a JSON object"), "{error}");

    let (error, _) = refused(r#"["isEnabled"]"#);
    assert_eq!(error, DocumentError::NotAnObject { found: "an array" });
    assert!(error.to_string().contains("not an object"), "{error}");
}

#[test]
fn strict_parse_names_an_unknown_mode() {
    let (error, field) = refused(r#"{"failureMode": "Latency"}"#);
    assert_eq!(field.as_deref(), Some("failureMode"));
    assert!(error.to_string().contains("\"Latency\""), "{error}");
    assert!(
        error.to_string().contains("use latency, exception"),
        "{error}"
    );
}

#[test]
fn strict_parse_names_a_rate_outside_0_to_1_or_not_a_number() {
    for text in [r#"{"rate": 1.5}"#, r#"{"rate": -0.1}"#] {
        let (error, field) = refused(text);
        assert!(matches!(error, DocumentError::OutOfRange { .. }), "{error}");
        assert_eq!(field.as_deref(), Some("rate"));
        assert!(
            error.to_string().contains("a number from 0 to 1"),
            "{error}"
        );
    }
    let (error, field) = refused(r#"{"rate": "0.5"}"#);
    assert!(matches!(error, DocumentError::WrongType { .. }), "{error}");
    assert_eq!(field.as_deref(), Some("rate"));
    assert!(
        error.to_string().contains(r#"not a string "0.5""#),
        "{error}"
    );
}

#[test]
fn strict_parse_names_min_latency_above_max_latency() {
    let (error, field) = refused(r#"{"minLatency": 4000, "maxLatency": 3000}"#);
    assert_eq!(
        error,
        DocumentError::LatencyBounds {
            min: 4000,
            max: 3000
        }
    );
    assert_eq!(field.as_deref(), Some("minLatency"));
    assert!(error.to_string().contains("at most maxLatency"), "{error}");
}

#[test]
fn strict_parse_names_the_pattern_that_does_not_compile() {
    let (error, field) = refused(r#"{"denylist": ["s3", "dynamodb.(*"]}"#);
    assert_eq!(field.as_deref(), Some("denylist"));
    assert!(
        matches!(&error, DocumentError::InvalidPattern { index: 1, pattern, .. } if pattern == "dynamodb.(*"),
        "{error}"
    );
    assert!(error.to_string().starts_with("`denylist[1]`"), "{error}");
}

#[test]
fn strict_parse_refuses_more_than_20_patterns() {
    let patterns: Vec<String> = (0..=MAX_PATTERNS).map(|n| format!("\"host{n}\"")).collect();
    let (error, field) = refused(&format!(r#"{{"blacklist": [{}]}}"#, patterns.join(",")));
    assert_eq!(field.as_deref(), Some("blacklist"));
    assert!(
        error.to_string().contains("21 patterns: use at most 20"),
        "{error}"
    );
}

#[test]
fn strict_parse_refuses_a_document_over_4_kb() {
    let text = format!(
        r#"{{"exceptionMsg": "{}"}}"#,
        "x".repeat(MAX_DOCUMENT_BYTES)
    );
    let (error, _) = refused(&text);
    assert!(matches!(error, DocumentError::TooLarge { .. }), "{error}");
    assert!(error.to_string().contains("within 4096 bytes"), "{error}");
}

#[test]
fn strict_parse_names_an_unknown_field_and_suggests_its_spelling() {
    let (error, field) = refused(r#"{"isEnabled": true, "failuremode": "latency"}"#);
    assert_eq!(field.as_deref(), Some("failuremode"));
    assert!(
        error.to_string().contains("did you mean `failureMode`?"),
        "{error}"
    );

    let (error, field) = refused(r#"{"latency": 100}"#);
    assert_eq!(field.as_deref(), Some("latency"));
    assert!(error.to_string().contains("remove it"), "{error}");
}

#[test]
fn strict_parse_names_fields_of_the_wrong_type_or_range() {
    for (text, name) in [
        (r#"{"isEnabled": "true"}"#, "isEnabled"),
        (r#"{"minLatency": 1.5}"#, "minLatency"),
        (r#"{"maxLatency": -1}"#, "maxLatency"),
        (r#"{"statusCode": 99}"#, "statusCode"),
        (r#"{"diskSpace": 20000}"#, "diskSpace"),
        (r#"{"exceptionMsg": null}"#, "exceptionMsg"),
        (r#"{"blacklist": "s3"}"#, "blacklist"),
        (r#"{"denylist": ["s3", 5]}"#, "denylist[1]"),
        (r#"{"blacklist": [], "denylist": []}"#, "denylist"),
    ] {
        let (error, field) = refused(text);
        assert_eq!(field.as_deref(), Some(name), "{text}: {error}");
        assert!(error.to_string().contains(&format!("`{name}`")), "{error}");
    }
}

#[test]
fn lenient_parse_accepts_whatever_strict_parse_accepts_and_reads_it_the_same() {
    for text in [
        "{}",
        r#"{"isEnabled": false}"#,
        r#"{"isEnabled": true, "failureMode": "latency", "rate": 1, "minLatency": 1000, "maxLatency": 5000}"#,
        r#"{"isEnabled": true, "failureMode": "blacklist", "rate": 1, "blacklist": ["dynamodb.*.amazonaws.com"]}"#,
        r#"{"isEnabled": true, "failureMode": "denylist", "denylist": ["s3.*.amazonaws.com"]}"#,
        r#"{"failureMode": "statuscode", "statusCode": 500, "rate": 0}"#,
        r#"{"failureMode": "diskspace", "diskSpace": 512, "exceptionMsg": ""}"#,
        // The stack's initial parameter (terraform/modules/pipeline/fault_injection.tf).
        r#"{"isEnabled":false,"failureMode":"latency","rate":1,"minLatency":0,"maxLatency":0,"exceptionMsg":"","statusCode":404,"diskSpace":100,"denylist":[]}"#,
    ] {
        assert_eq!(
            parse_lenient(text).unwrap(),
            parse_strict(text).unwrap(),
            "{text}"
        );
    }
}

#[test]
fn lenient_parse_tolerates_what_failure_lambda_tolerates() {
    let typo = parse_lenient(r#"{"isEnabled": true, "failuremode": "exception"}"#).unwrap();
    assert!(typo.is_enabled);
    assert_eq!(
        typo.failure_mode,
        FailureMode::Latency,
        "the unknown field is ignored"
    );

    let reversed = parse_lenient(r#"{"minLatency": 4000, "maxLatency": 3000}"#).unwrap();
    assert_eq!((reversed.min_latency, reversed.max_latency), (3000, 4000));

    let both = parse_lenient(r#"{"blacklist": ["a"], "denylist": ["b"]}"#).unwrap();
    assert_eq!(both.denylist.patterns(), ["a", "b"]);

    let many: Vec<String> = (0..30).map(|n| format!("\"h{n}\"")).collect();
    let long = parse_lenient(&format!(
        r#"{{"denylist": [{}], "exceptionMsg": "{}"}}"#,
        many.join(","),
        "x".repeat(5000)
    ))
    .unwrap();
    assert_eq!(long.denylist.patterns().len(), 30);
}

#[test]
fn lenient_parse_still_refuses_values_it_cannot_use() {
    for text in [
        "not json",
        "[]",
        r#"{"failureMode": "chaos"}"#,
        r#"{"rate": "1"}"#,
        r#"{"denylist": ["(unclosed"]}"#,
    ] {
        assert!(parse_lenient(text).is_err(), "{text}");
    }
}

/// A JSON value for one field: usually a plausible one, sometimes of the wrong type or range.
fn field_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("true".to_owned()),
        Just("false".to_owned()),
        Just("null".to_owned()),
        (0_u32..=5000).prop_map(|n| n.to_string()),
        (-1.0_f64..2.0).prop_map(|x| x.to_string()),
        prop::sample::select(vec![
            "latency",
            "exception",
            "statuscode",
            "diskspace",
            "blacklist",
            "denylist",
            "Latency",
            "",
        ])
        .prop_map(|mode| format!("{mode:?}")),
        prop::collection::vec(
            prop::sample::select(vec!["s3.*.amazonaws.com", "dynamodb", "(", "^a$", "[z-a]"]),
            0..4
        )
        .prop_map(|patterns| format!("{patterns:?}")),
    ]
}

proptest! {
    #[test]
    fn lenient_parse_accepts_every_strict_document_and_reads_it_the_same(
        fields in prop::collection::btree_map(
            prop::sample::select(vec![
                "isEnabled", "failureMode", "rate", "minLatency", "maxLatency", "exceptionMsg",
                "statusCode", "diskSpace", "blacklist", "denylist", "failuremode",
            ]),
            field_value(),
            0..8,
        )
    ) {
        let text = format!(
            "{{{}}}",
            fields.iter().map(|(field, value)| format!("{field:?}: {value}")).collect::<Vec<_>>().join(", ")
        );
        if let Ok(strict) = parse_strict(&text) {
            prop_assert_eq!(parse_lenient(&text), Ok(strict), "{}", text);
        }
    }

    #[test]
    fn lenient_parse_answers_any_text_without_panicking(text in ".{0,200}") {
        let _ = parse_lenient(&text);
        let _ = parse_strict(&text);
    }
}
