//! The denylist store wrapper and the hosts it tests.

use std::sync::Arc;

use chaoslab_etl::fault::{Denylist, DenylistStore, NetworkBlock, endpoint_host, s3_virtual_host};
use chaoslab_etl::store::{MemoryStore, ObjectStore};

fn block(patterns: &[&str]) -> NetworkBlock {
    NetworkBlock::new(Arc::new(Denylist::new(patterns.iter().copied()).unwrap()))
}

#[test]
fn patterns_match_anywhere_in_the_host_as_javascript_regexp_test_does() {
    let denylist = Denylist::new(["s3.*.amazonaws.com"]).unwrap();
    assert!(denylist.blocks("chaoslab-alice.s3.eu-west-1.amazonaws.com"));
    assert!(!denylist.blocks("dynamodb.eu-west-1.amazonaws.com"));
    let anchored = Denylist::new(["^s3\\."]).unwrap();
    assert!(!anchored.blocks("bucket.s3.eu-west-1.amazonaws.com"));
}

#[tokio::test]
async fn the_store_intercepts_only_hosts_that_match() {
    let inner = MemoryStore::new();
    inner.insert("blocked", "k", "x", "text/plain");
    inner.insert("open", "k", "y", "text/plain");
    let store = DenylistStore::new(&inner, block(&["^blocked\\."]), |bucket: &str| {
        s3_virtual_host(bucket, "us-east-1")
    });

    let error = store.get_object("blocked", "k").await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "GetObject s3://blocked/k failed: Intercepted network connection to blocked.s3.us-east-1.amazonaws.com"
    );
    let error = store
        .put_object("blocked", "out", b"z".to_vec(), "text/csv")
        .await;
    assert!(error.is_err());
    assert!(
        inner.object("blocked", "out").is_none(),
        "the call never reached the store"
    );

    assert_eq!(store.get_object("open", "k").await.unwrap(), b"y");
    store
        .put_object("open", "out", b"z".to_vec(), "text/csv")
        .await
        .unwrap();
    assert!(inner.object("open", "out").is_some());
}

#[tokio::test]
async fn the_store_intercepts_nothing_while_the_block_is_off() {
    let inner = MemoryStore::new();
    inner.insert("blocked", "k", "x", "text/plain");
    let store = DenylistStore::new(&inner, NetworkBlock::none(), |bucket: &str| {
        s3_virtual_host(bucket, "us-east-1")
    });
    assert_eq!(store.get_object("blocked", "k").await.unwrap(), b"x");
}

#[tokio::test]
async fn a_configured_endpoints_host_is_the_one_tested() {
    let inner = MemoryStore::new();
    inner.insert("b", "k", "x", "text/plain");
    let endpoint = "http://localstack:4566";
    let store = DenylistStore::new(&inner, block(&["localstack"]), |_: &str| {
        endpoint_host(endpoint).unwrap_or_default().to_owned()
    });
    let error = store.get_object("b", "k").await.unwrap_err();
    assert!(
        error
            .to_string()
            .ends_with("Intercepted network connection to localstack")
    );
}

#[test]
fn endpoint_host_strips_scheme_credentials_port_and_path() {
    assert_eq!(endpoint_host("http://localhost:4566"), Some("localhost"));
    assert_eq!(
        endpoint_host("https://user@minio.lab:9000/path?q"),
        Some("minio.lab")
    );
    assert_eq!(endpoint_host("http://[::1]:4566/"), Some("::1"));
    assert_eq!(endpoint_host("s3.example.com"), Some("s3.example.com"));
    assert_eq!(endpoint_host("http://"), None);
}
