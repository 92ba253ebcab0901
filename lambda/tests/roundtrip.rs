//! Property: any JSON object of scalars converts to a CSV that a CSV reader parses back to the
//! same header and values.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chaoslab_etl::transform::json_to_csv;
use proptest::prelude::*;

/// A scalar as the JSON text that encodes it and the cell text the CSV must hold.
fn scalar() -> impl Strategy<Value = (String, String)> {
    prop_oneof![
        any::<String>().prop_map(|s| (serde_json::to_string(&s).unwrap(), s)),
        r#"[ ,"\r\n\\a-zé😀]{0,12}"#.prop_map(|s| (serde_json::to_string(&s).unwrap(), s)),
        any::<i64>().prop_map(|n| (n.to_string(), n.to_string())),
        any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |n| n.is_finite())
            .prop_map(|n| {
                let text = serde_json::to_string(&n).unwrap();
                (text.clone(), text)
            }),
        any::<bool>().prop_map(|b| (b.to_string(), b.to_string())),
        Just(("null".to_owned(), String::new())),
    ]
}

/// Distinct keys, in generation order, with their values.
fn object() -> impl Strategy<Value = Vec<(String, (String, String))>> {
    proptest::collection::vec((any::<String>(), scalar()), 1..12).prop_map(|fields| {
        let mut seen = std::collections::HashSet::new();
        fields
            .into_iter()
            .filter(|(key, _)| seen.insert(key.clone()))
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn object_of_scalars_round_trips_through_a_csv_reader(fields in object()) {
        let body: Vec<String> = fields
            .iter()
            .map(|(key, (json, _))| format!("{}:{json}", serde_json::to_string(key).unwrap()))
            .collect();
        let json = format!("{{{}}}", body.join(","));
        let output = json_to_csv(json.as_bytes()).unwrap();

        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(false)
            .from_reader(output.as_slice());
        let records: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(records.len(), 2);
        let header: Vec<&str> = records[0].iter().collect();
        let row: Vec<&str> = records[1].iter().collect();
        let expected_header: Vec<&str> = fields.iter().map(|(key, _)| key.as_str()).collect();
        let expected_row: Vec<&str> = fields.iter().map(|(_, (_, cell))| cell.as_str()).collect();
        prop_assert_eq!(header, expected_header);
        prop_assert_eq!(row, expected_row);
    }
}
