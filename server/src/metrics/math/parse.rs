//! The grammar of metric math, parsed with [`winnow`] into an [`Expr`] tree.
//!
//! Precedence, from loosest to tightest, as CloudWatch evaluates it:
//! `OR`/`||`, `AND`/`&&`, `NOT`, comparisons (`== != <= >= < >`), `+ -`, `* /`, unary minus,
//! `^` (right-associative, so `-2^2` is `-4` and `2^3^2` is `2^9`). Operators of one level
//! associate to the left. Function names and keywords are upper case, query ids start with a
//! lower-case letter, as CloudWatch requires.

use winnow::{
    ascii::{digit0, digit1, multispace0},
    combinator::{alt, cut_err, delimited, eof, opt, preceded, separated, terminated},
    error::{ContextError, ErrMode, StrContext, StrContextValue},
    prelude::*,
    stream::{LocatingSlice, Stream},
    token::{one_of, take_till, take_while},
};

type Input<'a> = LocatingSlice<&'a str>;
type Parsed<O> = ModalResult<O, ContextError>;

/// What an operand may be, for "expected ..." messages.
const OPERAND: &str = "a value (a query id, a number, a function call, `(` or `[`)";

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BinaryOp {
    Add,
    Subtract,
    Multiply,
    Divide,
    Power,
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
    And,
    Or,
}

/// A parsed expression. Positions are byte offsets into the expression text.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Expr {
    /// A numeric literal: `2`, `0.5`, `.5`, `2e2`, `1.5E-3`.
    Number(f64),
    /// A string literal, as `METRICS("errors")` takes.
    Text(String),
    /// A query id: `m1`, `errors`.
    Id(String),
    /// An upper-case word that is not a call: a keyword such as `REPEAT`, `ASC` or `AVG` as an
    /// argument of `FILL` or `SORT`.
    Word { word: String, position: usize },
    /// `[a, b, ...]`: an array of time series.
    Array(Vec<Expr>),
    /// Unary minus.
    Negate(Box<Expr>),
    /// `NOT`.
    Not(Box<Expr>),
    /// A binary operation.
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// `NAME(arguments)`.
    Call {
        name: String,
        position: usize,
        arguments: Vec<Expr>,
    },
}

/// Where and why an expression does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SyntaxError {
    /// Position of the problem, counted in characters from 0.
    pub position: usize,
    /// What the grammar expected there.
    pub expected: String,
    /// What is there instead: a quoted character or "the end of the expression".
    pub found: String,
}

/// Parses `text` whole.
pub(super) fn parse(text: &str) -> Result<Expr, SyntaxError> {
    let mut whole = terminated(
        expression,
        (
            multispace0,
            eof.context(expected(
                "an operator (+ - * / ^, a comparison, AND, OR) or the end of the expression",
            )),
        ),
    );
    whole.parse(LocatingSlice::new(text)).map_err(|error| {
        let offset = error.offset().min(text.len());
        let mut wanted: Vec<String> = Vec::new();
        for context in error.inner().context() {
            if let StrContext::Expected(value) = context {
                let value = value.to_string();
                if !wanted.contains(&value) {
                    wanted.push(value);
                }
            }
        }
        let found = text
            .get(offset..)
            .and_then(|rest| rest.chars().next())
            .map_or_else(
                || "the end of the expression".to_owned(),
                |c| format!("`{c}`"),
            );
        SyntaxError {
            position: char_position(text, offset),
            expected: if wanted.is_empty() {
                OPERAND.to_owned()
            } else {
                wanted.join(" or ")
            },
            found,
        }
    })
}

/// The character position of byte `offset` in `text`.
pub(super) fn char_position(text: &str, offset: usize) -> usize {
    text.char_indices()
        .take_while(|&(index, _)| index < offset)
        .count()
}

fn expected(what: &'static str) -> StrContext {
    StrContext::Expected(StrContextValue::Description(what))
}

fn ws(input: &mut Input<'_>) -> Parsed<()> {
    multispace0.void().parse_next(input)
}

fn expression(input: &mut Input<'_>) -> Parsed<Expr> {
    or_level(input)
}

/// Parses `next (op next)*` and folds it to the left.
fn left_assoc(
    input: &mut Input<'_>,
    operators: &[(&str, BinaryOp)],
    next: fn(&mut Input<'_>) -> Parsed<Expr>,
) -> Parsed<Expr> {
    let mut left = next(input)?;
    loop {
        let checkpoint = input.checkpoint();
        ws(input)?;
        let Some(op) = operator(input, operators) else {
            input.reset(&checkpoint);
            return Ok(left);
        };
        let right = cut_err(next).context(expected(OPERAND)).parse_next(input)?;
        left = Expr::Binary(op, Box::new(left), Box::new(right));
    }
}

/// Consumes one of `operators` if the input starts with it. A word operator (`AND`) must not
/// be the start of a longer word.
fn operator(input: &mut Input<'_>, operators: &[(&str, BinaryOp)]) -> Option<BinaryOp> {
    let rest: &str = input;
    for &(token, op) in operators {
        let Some(after) = rest.strip_prefix(token) else {
            continue;
        };
        let is_word = token.bytes().all(|b| b.is_ascii_alphabetic());
        if is_word && after.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let _ = input.next_slice(token.len());
        return Some(op);
    }
    None
}

fn or_level(input: &mut Input<'_>) -> Parsed<Expr> {
    left_assoc(
        input,
        &[("OR", BinaryOp::Or), ("||", BinaryOp::Or)],
        and_level,
    )
}

fn and_level(input: &mut Input<'_>) -> Parsed<Expr> {
    left_assoc(
        input,
        &[("AND", BinaryOp::And), ("&&", BinaryOp::And)],
        not_level,
    )
}

fn not_level(input: &mut Input<'_>) -> Parsed<Expr> {
    ws(input)?;
    if operator(input, &[("NOT", BinaryOp::And)]).is_some() {
        let operand = cut_err(not_level)
            .context(expected(OPERAND))
            .parse_next(input)?;
        return Ok(Expr::Not(Box::new(operand)));
    }
    comparison_level(input)
}

fn comparison_level(input: &mut Input<'_>) -> Parsed<Expr> {
    left_assoc(
        input,
        &[
            ("==", BinaryOp::Equal),
            ("!=", BinaryOp::NotEqual),
            ("<=", BinaryOp::LessOrEqual),
            (">=", BinaryOp::GreaterOrEqual),
            ("<", BinaryOp::Less),
            (">", BinaryOp::Greater),
        ],
        additive_level,
    )
}

fn additive_level(input: &mut Input<'_>) -> Parsed<Expr> {
    left_assoc(
        input,
        &[("+", BinaryOp::Add), ("-", BinaryOp::Subtract)],
        multiplicative_level,
    )
}

fn multiplicative_level(input: &mut Input<'_>) -> Parsed<Expr> {
    left_assoc(
        input,
        &[("*", BinaryOp::Multiply), ("/", BinaryOp::Divide)],
        unary_level,
    )
}

fn unary_level(input: &mut Input<'_>) -> Parsed<Expr> {
    ws(input)?;
    if opt('-').parse_next(input)?.is_some() {
        let operand = cut_err(unary_level)
            .context(expected(OPERAND))
            .parse_next(input)?;
        return Ok(Expr::Negate(Box::new(operand)));
    }
    let base = atom(input)?;
    let checkpoint = input.checkpoint();
    ws(input)?;
    if opt('^').parse_next(input)?.is_some() {
        let exponent = cut_err(unary_level)
            .context(expected(OPERAND))
            .parse_next(input)?;
        return Ok(Expr::Binary(
            BinaryOp::Power,
            Box::new(base),
            Box::new(exponent),
        ));
    }
    input.reset(&checkpoint);
    Ok(base)
}

fn atom(input: &mut Input<'_>) -> Parsed<Expr> {
    ws(input)?;
    alt((
        number.map(Expr::Number),
        text_literal.map(Expr::Text),
        parenthesised,
        array,
        name,
    ))
    .context(expected(OPERAND))
    .parse_next(input)
}

/// `12`, `0.5`, `.5`, `2e2`, `1.5E-3`: digits with an optional fraction and exponent.
fn number(input: &mut Input<'_>) -> Parsed<f64> {
    (
        alt(((digit1, opt(('.', digit0))).void(), ('.', digit1).void())),
        opt((one_of(['e', 'E']), opt(one_of(['+', '-'])), digit1)),
    )
        .take()
        .try_map(|text: &str| text.parse::<f64>())
        .parse_next(input)
}

/// `"text"`, without escapes: CloudWatch's filters are plain substrings.
fn text_literal(input: &mut Input<'_>) -> Parsed<String> {
    preceded(
        '"',
        cut_err(terminated(take_till(0.., '"'), '"')).context(expected("a closing `\"`")),
    )
    .map(str::to_owned)
    .parse_next(input)
}

fn parenthesised(input: &mut Input<'_>) -> Parsed<Expr> {
    delimited(
        '(',
        cut_err(expression),
        cut_err(preceded(ws, ')')).context(expected("`)`")),
    )
    .parse_next(input)
}

fn array(input: &mut Input<'_>) -> Parsed<Expr> {
    delimited(
        '[',
        cut_err(separated(1.., expression, (ws, ','))),
        cut_err(preceded(ws, ']')).context(expected("`,` or `]`")),
    )
    .map(Expr::Array)
    .parse_next(input)
}

/// A word: a call when `(` follows, else a query id (lower-case first letter) or a keyword.
fn name(input: &mut Input<'_>) -> Parsed<Expr> {
    let (word, span) = (
        one_of(|c: char| c.is_ascii_alphabetic() || c == '_'),
        take_while(0.., |c: char| c.is_ascii_alphanumeric() || c == '_'),
    )
        .take()
        .with_span()
        .parse_next(input)?;
    if matches!(word, "AND" | "OR" | "NOT") {
        return Err(ErrMode::from_input(input));
    }
    let checkpoint = input.checkpoint();
    ws(input)?;
    if opt('(').parse_next(input)?.is_some() {
        let arguments: Option<Vec<Expr>> =
            opt(separated(1.., expression, (ws, ','))).parse_next(input)?;
        cut_err(preceded(ws, ')'))
            .context(expected("`,` or `)`"))
            .parse_next(input)?;
        return Ok(Expr::Call {
            name: word.to_owned(),
            position: span.start,
            arguments: arguments.unwrap_or_default(),
        });
    }
    input.reset(&checkpoint);
    Ok(if word.starts_with(|c: char| c.is_ascii_lowercase()) {
        Expr::Id(word.to_owned())
    } else {
        Expr::Word {
            word: word.to_owned(),
            position: span.start,
        }
    })
}
