//! The injector: the document cache, the draw, and no fault for a bad document.

use std::time::Duration;

use chaoslab_etl::fault::{
    DEFAULT_CACHE_TTL, DocumentIssue, FailureMode, FaultInjector, Injection, ManualClock,
    MemoryDisk, MemorySource, SeededRandom, SourceError, parse_cache_ttl,
};

use super::injector;

#[tokio::test]
async fn the_cache_reads_the_source_at_most_once_per_ttl() {
    let injector = injector(r#"{"isEnabled": false}"#, 1);
    assert_eq!(injector.cache_ttl(), DEFAULT_CACHE_TTL);
    for _ in 0..100 {
        injector.draw().await;
    }
    assert_eq!(injector.source().reads(), 1);

    injector.clock().advance(Duration::from_millis(4999));
    injector.draw().await;
    assert_eq!(injector.source().reads(), 1, "still within 5 s");

    injector.clock().advance(Duration::from_millis(1));
    injector.draw().await;
    injector.draw().await;
    assert_eq!(
        injector.source().reads(),
        2,
        "read again at 5 s, then cached"
    );

    // An hour of invocations every 100 ms reads the source once per 5 s: 720 reads.
    for _ in 0..36_000 {
        injector.clock().advance(Duration::from_millis(100));
        injector.draw().await;
    }
    assert_eq!(injector.source().reads(), 2 + 720);
}

#[tokio::test]
async fn a_changed_document_applies_once_the_cache_expires() {
    let injector = injector(r#"{"isEnabled": false}"#, 1);
    assert_eq!(injector.draw().await.0, Injection::None);

    injector
        .source()
        .set(r#"{"isEnabled": true, "failureMode": "statuscode", "statusCode": 500}"#);
    injector.clock().advance(Duration::from_secs(4));
    assert_eq!(
        injector.draw().await.0,
        Injection::None,
        "the old document is cached"
    );

    injector.clock().advance(Duration::from_secs(1));
    assert_eq!(injector.draw().await.0, Injection::StatusCode(500));
}

#[tokio::test]
async fn a_zero_ttl_reads_the_source_on_every_invocation() {
    let injector = injector("{}", 1).with_cache_ttl(Duration::ZERO);
    for _ in 0..3 {
        injector.draw().await;
    }
    assert_eq!(injector.source().reads(), 3);
}

#[tokio::test]
async fn an_invalid_document_yields_no_fault_and_the_reason() {
    let injector = injector(
        r#"{"isEnabled": true, "failureMode": "exception", "rate": "1"}"#,
        1,
    );
    let (injection, loaded) = injector.draw().await;
    assert_eq!(injection, Injection::None);
    let issue = loaded.issue().expect("a reason");
    assert!(matches!(issue, DocumentIssue::Invalid(_)), "{issue}");
    assert!(
        issue.to_string().contains("`rate` must be a number"),
        "{issue}"
    );
}

#[tokio::test]
async fn an_unreadable_document_yields_no_fault_and_the_reason() {
    let injector = FaultInjector::new(
        MemorySource::empty(),
        ManualClock::new(),
        SeededRandom::new(1),
        MemoryDisk::new(),
    );
    let (injection, loaded) = injector.draw().await;
    assert_eq!(injection, Injection::None);
    assert!(matches!(
        loaded.issue(),
        Some(DocumentIssue::Unreadable(SourceError::Missing { .. }))
    ));
}

#[tokio::test]
async fn a_disabled_document_never_fires_even_at_rate_1() {
    let injector = injector(
        r#"{"isEnabled": false, "failureMode": "exception", "rate": 1}"#,
        7,
    );
    for _ in 0..1000 {
        assert_eq!(injector.draw().await.0, Injection::None);
    }
}

#[tokio::test]
async fn ten_thousand_draws_at_rate_half_fire_5000_plus_or_minus_150() {
    for seed in [1, 2, 3, 0xC4A05] {
        let injector = injector(
            r#"{"isEnabled": true, "failureMode": "exception", "rate": 0.5}"#,
            seed,
        );
        let mut fired = 0;
        for _ in 0..10_000 {
            if injector.draw().await.0.fired() {
                fired += 1;
            }
        }
        assert!((4850..=5150).contains(&fired), "seed {seed}: {fired} fired");
    }
}

#[tokio::test]
async fn latencies_are_drawn_uniformly_from_min_inclusive_to_max_exclusive() {
    let injector = injector(
        r#"{"isEnabled": true, "failureMode": "latency", "minLatency": 3000, "maxLatency": 4000}"#,
        11,
    );
    let mut lowest = u128::MAX;
    let mut highest = 0;
    for _ in 0..5000 {
        let Injection::Latency(latency) = injector.draw().await.0 else {
            panic!("rate 1 always fires");
        };
        lowest = lowest.min(latency.as_millis());
        highest = highest.max(latency.as_millis());
    }
    assert!((3000..3010).contains(&lowest), "lowest {lowest}");
    assert!((3990..4000).contains(&highest), "highest {highest}");
}

#[tokio::test]
async fn the_same_seed_and_document_give_the_same_faults_in_two_injectors() {
    let document = r#"{"isEnabled": true, "failureMode": "latency", "rate": 0.5,
                       "minLatency": 3000, "maxLatency": 4000}"#;
    // Two injectors built independently, as the Lambda binary and the engine would be.
    let first = injector(document, 42);
    let second = injector(document, 42);
    let other_seed = injector(document, 43);
    let mut sequences = [Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..500 {
        sequences[0].push(first.draw().await.0);
        sequences[1].push(second.draw().await.0);
        sequences[2].push(other_seed.draw().await.0);
    }
    assert_eq!(sequences[0], sequences[1]);
    assert_ne!(sequences[0], sequences[2]);
    assert!(sequences[0].iter().any(Injection::fired));
    assert!(sequences[0].iter().any(|injection| !injection.fired()));
}

#[tokio::test]
async fn each_mode_draws_its_own_fault() {
    for (document, mode) in [
        (r#"{"failureMode": "latency"}"#, FailureMode::Latency),
        (r#"{"failureMode": "exception"}"#, FailureMode::Exception),
        (r#"{"failureMode": "statuscode"}"#, FailureMode::StatusCode),
        (r#"{"failureMode": "diskspace"}"#, FailureMode::DiskSpace),
        (r#"{"failureMode": "blacklist"}"#, FailureMode::Denylist),
        (r#"{"failureMode": "denylist"}"#, FailureMode::Denylist),
    ] {
        let enabled = document.replace('{', r#"{"isEnabled": true, "#);
        let (injection, _) = injector(&enabled, 5).draw().await;
        assert_eq!(injection.mode(), Some(mode), "{enabled}");
    }
}

#[test]
fn failure_cache_ttl_defaults_to_5_seconds_and_names_itself_when_invalid() {
    assert_eq!(parse_cache_ttl(None), Ok(Duration::from_secs(5)));
    assert_eq!(parse_cache_ttl(Some(" ")), Ok(Duration::from_secs(5)));
    assert_eq!(parse_cache_ttl(Some("0")), Ok(Duration::ZERO));
    assert_eq!(
        parse_cache_ttl(Some("2.5")),
        Ok(Duration::from_millis(2500))
    );
    for bad in ["five", "-1", "NaN", "inf", "100000"] {
        let error = parse_cache_ttl(Some(bad)).unwrap_err();
        assert!(
            error.to_string().starts_with("FAILURE_CACHE_TTL is"),
            "{error}"
        );
        assert!(error.to_string().contains("number of seconds"), "{error}");
    }
}
