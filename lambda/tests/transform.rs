//! The transform's rules, one behaviour per test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chaoslab_etl::transform::{
    JsonKind, Limits, TransformError, json_to_csv, json_to_csv_with_limits,
};

fn csv(json: &str) -> String {
    String::from_utf8(json_to_csv(json.as_bytes()).unwrap()).unwrap()
}

fn refusal(json: &[u8]) -> TransformError {
    json_to_csv(json).unwrap_err()
}

#[test]
fn object_becomes_header_and_one_row_in_key_order() {
    assert_eq!(
        csv(r#"{"zeta":1,"alpha":"a","mid":true}"#),
        "zeta,alpha,mid\n1,a,true\n"
    );
}

#[test]
fn lab_message_converts_field_for_field() {
    let message = r#"{"symbol":"ABCD","messageId":17,"value":42.5,"objectName":"data_object_msg-17","submissionDate":"24-Nov-2026 19:41:02","author":"publisher","version":"1.0"}"#;
    assert_eq!(
        csv(message),
        "symbol,messageId,value,objectName,submissionDate,author,version\n\
         ABCD,17,42.5,data_object_msg-17,24-Nov-2026 19:41:02,publisher,1.0\n"
    );
}

#[test]
fn array_of_objects_takes_union_of_keys_in_first_seen_order() {
    let json = r#"[{"a":1,"b":2},{"c":3,"a":4},{"b":5}]"#;
    assert_eq!(csv(json), "a,b,c\n1,2,\n4,,3\n,5,\n");
}

#[test]
fn nested_objects_flatten_to_dotted_names() {
    let json = r#"{"id":1,"owner":{"name":"ann","address":{"city":"Oslo"}},"n":2}"#;
    assert_eq!(
        csv(json),
        "id,owner.name,owner.address.city,n\n1,ann,Oslo,2\n"
    );
}

#[test]
fn inner_arrays_are_kept_as_compact_json_text() {
    let json = r#"{"tags": [ "a", "b c" ], "matrix": [[1, 2], {"k": [ ]}]}"#;
    assert_eq!(
        csv(json),
        "tags,matrix\n\"[\"\"a\"\",\"\"b c\"\"]\",\"[[1,2],{\"\"k\"\":[]}]\"\n"
    );
}

#[test]
fn empty_nested_object_is_kept_as_json_text() {
    assert_eq!(csv(r#"{"a":{},"b":1}"#), "a,b\n{},1\n");
}

#[test]
fn strings_are_quoted_when_csv_needs_it() {
    let json =
        r#"{"comma":"a,b","quote":"say \"hi\"","newline":"x\ny","crlf":"x\r\ny","plain":"ok"}"#;
    let output = csv(json);
    assert_eq!(
        output,
        "comma,quote,newline,crlf,plain\n\"a,b\",\"say \"\"hi\"\"\",\"x\ny\",\"x\r\ny\",ok\n"
    );
    // And a CSV reader gets the original strings back.
    let mut reader = csv::Reader::from_reader(output.as_bytes());
    let row = reader.records().next().unwrap().unwrap();
    assert_eq!(&row[1], "say \"hi\"");
    assert_eq!(&row[3], "x\r\ny");
}

#[test]
fn escapes_and_unicode_are_decoded() {
    assert_eq!(
        csv(r#"{"s":"caf\u00e9 \ud83d\ude00 \t\/"}"#),
        "s\ncafé 😀 \t/\n"
    );
    assert_eq!(csv(r#"{"k\u0065y":"ünïcödé"}"#), "key\nünïcödé\n");
}

#[test]
fn null_is_an_empty_cell_and_literals_are_kept_as_written() {
    assert_eq!(
        csv(
            r#"{"n":null,"t":true,"f":false,"x":1.50,"e":-2E+3,"big":123456789012345678901234567890}"#
        ),
        "n,t,f,x,e,big\n,true,false,1.50,-2E+3,123456789012345678901234567890\n"
    );
}

#[test]
fn duplicate_keys_keep_the_first_position_and_the_last_value() {
    assert_eq!(csv(r#"{"a":1,"b":2,"a":3}"#), "a,b\n3,2\n");
    // A dotted key and a flattened name are the same column.
    assert_eq!(csv(r#"{"a":{"b":1},"a.b":2}"#), "a.b\n2\n");
}

#[test]
fn duplicate_keys_in_wide_objects_use_the_index_path_too() {
    let mut json = String::from("{");
    for i in 0..40 {
        json.push_str(&format!("\"k{i}\":{i},"));
    }
    json.push_str("\"k3\":\"again\",\"k39\":\"last\"}");
    let output = csv(&json);
    let mut reader = csv::Reader::from_reader(output.as_bytes());
    assert_eq!(reader.headers().unwrap().len(), 40);
    let row = reader.records().next().unwrap().unwrap();
    assert_eq!(&row[3], "again");
    assert_eq!(&row[39], "last");
    assert_eq!(&row[4], "4");
}

#[test]
fn whitespace_around_the_document_is_ignored() {
    assert_eq!(csv(" \n\t{\"a\":1}\r\n "), "a\n1\n");
}

#[test]
fn scalars_are_refused_with_their_kind() {
    for (json, kind) in [
        ("42", JsonKind::Number),
        ("-1.5", JsonKind::Number),
        ("\"text\"", JsonKind::String),
        ("true", JsonKind::Boolean),
        ("null", JsonKind::Null),
    ] {
        assert_eq!(
            refusal(json.as_bytes()),
            TransformError::NotAnObject { found: kind },
            "{json}"
        );
    }
}

#[test]
fn empty_documents_are_refused() {
    assert_eq!(refusal(b""), TransformError::Empty);
    assert_eq!(refusal(b" \n\t "), TransformError::Empty);
    assert_eq!(refusal(b"{}"), TransformError::NoFields);
    assert_eq!(refusal(b"[]"), TransformError::NoFields);
    assert_eq!(refusal(b"[{},{}]"), TransformError::NoFields);
}

#[test]
fn array_elements_must_be_objects() {
    assert_eq!(
        refusal(br#"[{"a":1},2]"#),
        TransformError::ElementNotAnObject {
            index: 1,
            found: JsonKind::Number
        }
    );
    assert_eq!(
        refusal(br#"[[{"a":1}]]"#),
        TransformError::ElementNotAnObject {
            index: 0,
            found: JsonKind::Array
        }
    );
}

#[test]
fn syntax_errors_name_line_and_column() {
    let error = refusal(b"{\n  \"a\": 1,\n  \"b\" 2\n}");
    let TransformError::Syntax { position, message } = &error else {
        panic!("expected a syntax error, got {error:?}");
    };
    assert_eq!((position.line, position.column), (3, 7));
    assert_eq!(message, "expected `:`");
    assert_eq!(
        error.to_string(),
        "invalid JSON at line 3 column 7: expected `:`"
    );
}

#[test]
fn the_labs_malformed_message_is_a_syntax_error() {
    // The publisher's bad objects are a good message with the first double quote removed.
    let error = refusal(br#"{symbol":"ABCD","messageId":3}"#);
    assert!(
        matches!(error, TransformError::Syntax { position, .. } if position.column == 2),
        "{error:?}"
    );
}

#[test]
fn oversize_documents_are_refused_before_parsing() {
    let limits = Limits {
        max_bytes: 16,
        ..Limits::default()
    };
    assert_eq!(
        json_to_csv_with_limits(br#"{"a":"0123456789"}"#, limits),
        Err(TransformError::TooLarge {
            size: 18,
            limit: 16
        })
    );
    assert!(json_to_csv_with_limits(br#"{"a":"01234567"}"#, limits).is_ok());
}

#[test]
fn nesting_is_limited_for_objects_and_arrays() {
    let limits = Limits {
        max_depth: 3,
        ..Limits::default()
    };
    assert!(json_to_csv_with_limits(br#"{"a":{"b":{"c":1}}}"#, limits).is_ok());
    assert!(matches!(
        json_to_csv_with_limits(br#"{"a":{"b":{"c":{"d":1}}}}"#, limits),
        Err(TransformError::TooDeep { limit: 3, .. })
    ));
    assert!(json_to_csv_with_limits(br#"{"a":[[1]]}"#, limits).is_ok());
    assert!(matches!(
        json_to_csv_with_limits(br#"{"a":[[[1]]]}"#, limits),
        Err(TransformError::TooDeep { limit: 3, .. })
    ));
    // Brackets inside strings are text, not nesting.
    assert!(json_to_csv_with_limits(br#"{"a":["[[[[{{{{"]}"#, limits).is_ok());
}

#[test]
fn invalid_utf8_is_refused_with_its_offset() {
    assert_eq!(
        refusal(b"{\"a\":\"\xff\"}"),
        TransformError::InvalidUtf8 { offset: 6 }
    );
}
