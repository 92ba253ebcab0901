//! Specifications of the grammar: numbers, precedence, calls, and where a syntax error is.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::super::parse::{BinaryOp, Expr, parse};

fn id(name: &str) -> Box<Expr> {
    Box::new(Expr::Id(name.to_owned()))
}

fn number(value: f64) -> Box<Expr> {
    Box::new(Expr::Number(value))
}

#[test]
fn scientific_notation_is_a_number() {
    assert_eq!(
        parse("2e2*m1").unwrap(),
        Expr::Binary(BinaryOp::Multiply, number(200.0), id("m1"))
    );
    assert_eq!(parse("1.5E-3").unwrap(), Expr::Number(0.0015));
    assert_eq!(parse(".5").unwrap(), Expr::Number(0.5));
    assert_eq!(parse("2.").unwrap(), Expr::Number(2.0));
}

#[test]
fn multiplication_binds_tighter_than_addition_and_comparison_looser() {
    assert_eq!(
        parse("m1 + 2 * m2 > 3").unwrap(),
        Expr::Binary(
            BinaryOp::Greater,
            Box::new(Expr::Binary(
                BinaryOp::Add,
                id("m1"),
                Box::new(Expr::Binary(BinaryOp::Multiply, number(2.0), id("m2")))
            )),
            number(3.0)
        )
    );
}

#[test]
fn power_binds_tighter_than_unary_minus_and_to_the_right() {
    assert_eq!(
        parse("-2^2").unwrap(),
        Expr::Negate(Box::new(Expr::Binary(
            BinaryOp::Power,
            number(2.0),
            number(2.0)
        )))
    );
    assert_eq!(
        parse("2^3^2").unwrap(),
        Expr::Binary(
            BinaryOp::Power,
            number(2.0),
            Box::new(Expr::Binary(BinaryOp::Power, number(3.0), number(2.0)))
        )
    );
}

#[test]
fn and_binds_tighter_than_or_and_words_need_a_boundary() {
    assert_eq!(
        parse("m1 OR m2 && m3").unwrap(),
        Expr::Binary(
            BinaryOp::Or,
            id("m1"),
            Box::new(Expr::Binary(BinaryOp::And, id("m2"), id("m3")))
        )
    );
    // `ANDm2` is not `AND m2`.
    assert!(parse("m1 ANDm2").is_err());
}

#[test]
fn calls_words_strings_and_arrays() {
    assert_eq!(
        parse("SORT(METRICS(\"err\"), AVG, DESC)").unwrap(),
        Expr::Call {
            name: "SORT".to_owned(),
            position: 0,
            arguments: vec![
                Expr::Call {
                    name: "METRICS".to_owned(),
                    position: 5,
                    arguments: vec![Expr::Text("err".to_owned())],
                },
                Expr::Word {
                    word: "AVG".to_owned(),
                    position: 21,
                },
                Expr::Word {
                    word: "DESC".to_owned(),
                    position: 26,
                },
            ],
        }
    );
    assert_eq!(
        parse("[m1, m2]").unwrap(),
        Expr::Array(vec![*id("m1"), *id("m2")])
    );
}

#[test]
fn errors_say_where_and_what_was_expected() {
    let error = parse("m1 +").unwrap_err();
    assert_eq!(error.position, 4);
    assert_eq!(error.found, "the end of the expression");
    assert!(error.expected.contains("a query id"), "{error:?}");

    let error = parse("m1 m2").unwrap_err();
    assert_eq!((error.position, error.found.as_str()), (3, "`m`"));
    assert!(error.expected.contains("operator"), "{error:?}");

    let error = parse("(m1").unwrap_err();
    assert_eq!(error.position, 3);
    assert!(error.expected.contains("`)`"), "{error:?}");

    let error = parse("m1 % 2").unwrap_err();
    assert_eq!((error.position, error.found.as_str()), (3, "`%`"));
}
