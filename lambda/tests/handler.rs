//! The handler against an in-memory store, driven by real-shaped S3 events from `fixtures/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chaoslab_etl::event::S3Event;
use chaoslab_etl::handler::{
    CSV_CONTENT_TYPE, ConvertedObject, HandlerError, SkipReason, handle_event,
};
use chaoslab_etl::store::{MemoryStore, StoreError};

const BUCKET: &str = "chaoslab-alice-pipeline";
const DOCUMENT: &str = r#"{"a":1,"b":"x"}"#;
const CSV: &str = "a,b\n1,x\n";

fn event(json: &str) -> S3Event {
    serde_json::from_str(json).expect("fixture parses as an S3 event")
}

/// A store holding `DOCUMENT` at each of the given (decoded) keys.
fn store_with_documents(keys: &[&str]) -> MemoryStore {
    let store = MemoryStore::new();
    for key in keys {
        store.insert(BUCKET, key, DOCUMENT, "application/json");
    }
    store
}

fn assert_csv_written(store: &MemoryStore, key: &str) {
    let object = store
        .object(BUCKET, key)
        .unwrap_or_else(|| panic!("no object at {key}"));
    assert_eq!(object.content_type, CSV_CONTENT_TYPE);
    assert_eq!(String::from_utf8(object.body).unwrap(), CSV);
}

#[tokio::test]
async fn simple_put_writes_csv_under_output_as_text_csv() {
    let store = store_with_documents(&["input/data_object_msg-1.json"]);

    let report = handle_event(&store, &event(include_str!("fixtures/put_simple.json")))
        .await
        .unwrap();

    assert_eq!(
        report.converted,
        vec![ConvertedObject {
            bucket: BUCKET.to_owned(),
            input_key: "input/data_object_msg-1.json".to_owned(),
            output_key: "output/data_object_msg-1.csv".to_owned(),
            csv_bytes: CSV.len(),
        }]
    );
    assert!(report.skipped.is_empty());
    assert_csv_written(&store, "output/data_object_msg-1.csv");
}

#[tokio::test]
async fn key_with_plus_decodes_to_space() {
    let store = store_with_documents(&["input/my data file.json"]);

    let report = handle_event(
        &store,
        &event(include_str!("fixtures/put_key_with_spaces.json")),
    )
    .await
    .unwrap();

    assert_eq!(report.converted[0].input_key, "input/my data file.json");
    assert_csv_written(&store, "output/my data file.csv");
}

#[tokio::test]
async fn escaped_slash_in_key_decodes_to_a_nested_output_path() {
    let store = store_with_documents(&["input/my file/x.json"]);

    handle_event(
        &store,
        &event(include_str!("fixtures/put_key_with_escaped_slash.json")),
    )
    .await
    .unwrap();

    assert_csv_written(&store, "output/my file/x.csv");
}

#[tokio::test]
async fn percent_encoded_utf8_key_decodes_to_unicode() {
    let store = store_with_documents(&["input/café naïve.json"]);

    handle_event(
        &store,
        &event(include_str!("fixtures/put_key_with_unicode.json")),
    )
    .await
    .unwrap();

    assert_csv_written(&store, "output/café naïve.csv");
}

#[tokio::test]
async fn encoded_plus_sign_stays_a_plus() {
    let store = store_with_documents(&["input/a+b.json"]);

    handle_event(
        &store,
        &event(include_str!("fixtures/put_key_with_plus_sign.json")),
    )
    .await
    .unwrap();

    assert_csv_written(&store, "output/a+b.csv");
}

#[tokio::test]
async fn test_event_without_records_processes_nothing() {
    let test_event = event(include_str!("fixtures/test_event.json"));
    assert!(test_event.is_test_event());
    let store = MemoryStore::new();

    let report = handle_event(&store, &test_event).await.unwrap();

    assert!(report.converted.is_empty());
    assert!(report.skipped.is_empty());
    assert!(store.is_empty());
}

#[tokio::test]
async fn event_with_empty_records_processes_nothing() {
    let store = MemoryStore::new();

    let report = handle_event(&store, &event(r#"{"Records":[]}"#))
        .await
        .unwrap();

    assert_eq!(report, Default::default());
    assert!(store.is_empty());
}

#[tokio::test]
async fn csv_output_object_is_skipped_and_not_converted_again() {
    let store = MemoryStore::new();
    store.insert(BUCKET, "output/x.csv", CSV, CSV_CONTENT_TYPE);

    let report = handle_event(&store, &event(include_str!("fixtures/put_output_csv.json")))
        .await
        .unwrap();

    assert!(report.converted.is_empty());
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.skipped[0].key, "output/x.csv");
    assert_eq!(report.skipped[0].reason, SkipReason::OutsideInputFilter);
    assert_eq!(store.len(), 1);
}

#[tokio::test]
async fn object_removed_event_is_skipped() {
    let store = MemoryStore::new();

    let report = handle_event(
        &store,
        &event(include_str!("fixtures/delete_input_object.json")),
    )
    .await
    .unwrap();

    assert!(report.converted.is_empty());
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.skipped[0].event_name, "ObjectRemoved:Delete");
    assert_eq!(report.skipped[0].reason, SkipReason::NotObjectCreated);
    assert!(store.is_empty());
}

#[tokio::test]
async fn multi_record_event_converts_each_input_and_skips_the_rest() {
    let store = store_with_documents(&["input/batch/first.json", "input/batch/second one.json"]);

    let report = handle_event(&store, &event(include_str!("fixtures/multi_record.json")))
        .await
        .unwrap();

    let outputs: Vec<_> = report
        .converted
        .iter()
        .map(|converted| converted.output_key.as_str())
        .collect();
    assert_eq!(
        outputs,
        ["output/batch/first.csv", "output/batch/second one.csv"]
    );
    let skipped: Vec<_> = report
        .skipped
        .iter()
        .map(|skipped| (skipped.key.as_str(), skipped.reason))
        .collect();
    assert_eq!(
        skipped,
        [
            ("output/batch/first.csv", SkipReason::OutsideInputFilter),
            ("input/batch/first.json", SkipReason::NotObjectCreated),
        ]
    );
    assert_csv_written(&store, "output/batch/first.csv");
    assert_csv_written(&store, "output/batch/second one.csv");
}

#[tokio::test]
async fn malformed_document_is_an_error_naming_the_key() {
    let store = MemoryStore::new();
    store.insert(
        BUCKET,
        "input/data_object_msg-1.json",
        r#"{"a":1,"b":"#,
        "application/json",
    );

    let error = handle_event(&store, &event(include_str!("fixtures/put_simple.json")))
        .await
        .unwrap_err();

    let HandlerError::Transform { bucket, key, .. } = &error else {
        panic!("expected a transform error, got {error:?}");
    };
    assert_eq!(bucket, BUCKET);
    assert_eq!(key, "input/data_object_msg-1.json");
    let message = error.to_string();
    assert!(
        message.contains("s3://chaoslab-alice-pipeline/input/data_object_msg-1.json"),
        "{message}"
    );
    assert!(message.contains("cannot convert"), "{message}");
    assert!(
        store
            .objects(BUCKET)
            .keys()
            .all(|key| key.starts_with("input/"))
    );
}

#[tokio::test]
async fn missing_object_is_a_not_found_store_error() {
    let store = MemoryStore::new();

    let error = handle_event(&store, &event(include_str!("fixtures/put_simple.json")))
        .await
        .unwrap_err();

    assert!(
        matches!(
            &error,
            HandlerError::Store(StoreError::NotFound { bucket, key })
                if bucket == BUCKET && key == "input/data_object_msg-1.json"
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("input/data_object_msg-1.json"));
}

#[tokio::test]
async fn undecodable_key_is_a_key_error() {
    let mut bad_key = event(include_str!("fixtures/put_simple.json"));
    bad_key.records[0].s3.object.key = "input/100%.json".to_owned();

    let error = handle_event(&MemoryStore::new(), &bad_key)
        .await
        .unwrap_err();

    assert!(matches!(error, HandlerError::Key(_)), "{error:?}");
    assert!(error.to_string().contains("input/100%.json"));
}

#[tokio::test]
async fn one_bad_document_does_not_hold_back_the_others_in_the_event() {
    let store = store_with_documents(&["input/batch/second one.json"]);
    store.insert(
        BUCKET,
        "input/batch/first.json",
        "not json",
        "application/json",
    );

    let error = handle_event(&store, &event(include_str!("fixtures/multi_record.json")))
        .await
        .unwrap_err();

    assert!(
        matches!(&error, HandlerError::Transform { key, .. } if key == "input/batch/first.json"),
        "{error:?}"
    );
    assert_csv_written(&store, "output/batch/second one.csv");
    assert!(store.object(BUCKET, "output/batch/first.csv").is_none());
}

#[tokio::test]
async fn converting_the_same_event_twice_writes_the_same_object() {
    let store = store_with_documents(&["input/data_object_msg-1.json"]);
    let put = event(include_str!("fixtures/put_simple.json"));

    let first_report = handle_event(&store, &put).await.unwrap();
    let first_output = store
        .object(BUCKET, "output/data_object_msg-1.csv")
        .unwrap();
    let second_report = handle_event(&store, &put).await.unwrap();
    let second_output = store
        .object(BUCKET, "output/data_object_msg-1.csv")
        .unwrap();

    assert_eq!(first_report, second_report);
    assert_eq!(first_output, second_output);
    assert_eq!(store.len(), 2);
}

#[test]
fn every_fixture_serialises_back_to_the_same_json() {
    for fixture in [
        include_str!("fixtures/put_simple.json"),
        include_str!("fixtures/put_key_with_spaces.json"),
        include_str!("fixtures/put_key_with_escaped_slash.json"),
        include_str!("fixtures/put_key_with_unicode.json"),
        include_str!("fixtures/put_key_with_plus_sign.json"),
        include_str!("fixtures/put_output_csv.json"),
        include_str!("fixtures/delete_input_object.json"),
        include_str!("fixtures/multi_record.json"),
        include_str!("fixtures/test_event.json"),
    ] {
        let original: serde_json::Value = serde_json::from_str(fixture).unwrap();
        let round_tripped = serde_json::to_value(event(fixture)).unwrap();
        assert_eq!(round_tripped, original);
    }
}
