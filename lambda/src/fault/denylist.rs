//! The `blacklist`/`denylist` mode: host patterns, and an object store that honours them.
//!
//! failure-lambda 0.2 intercepts every outgoing connection (with `mitm`) and drops it when one of
//! the patterns, an unanchored JavaScript `RegExp`, matches the host, logging
//! `Intercepted network connection to <host>`. The ETL function's only connections are its
//! object-store calls, so [`DenylistStore`] applies the patterns there: a call to a blocked host
//! fails with that message before it reaches the inner store.
//!
//! The block belongs to one invocation ([`NetworkBlock`], from that invocation's draw), so it
//! ends with the fault. failure-lambda 0.2–0.3 never removed its interceptor, and a warm
//! environment kept blocking after a rollback; that bug is not reproduced.

use std::sync::Arc;

use regex::{Regex, RegexBuilder};
use tracing::info;

use super::document::DocumentError;
use crate::store::{ObjectStore, StoreError, StoreOperation};

/// Compiled size limit of one pattern: generous for host patterns, small enough that a hostile
/// document cannot make the compiler allocate much.
const PATTERN_SIZE_LIMIT: usize = 256 * 1024;

/// The denylist's host patterns, compiled. Matching is unanchored, as JavaScript's
/// `RegExp.test`: `s3.*.amazonaws.com` blocks `bucket.s3.eu-west-1.amazonaws.com`.
#[derive(Debug, Clone, Default)]
pub struct Denylist {
    patterns: Vec<String>,
    regexes: Vec<Regex>,
}

impl PartialEq for Denylist {
    fn eq(&self, other: &Self) -> bool {
        self.patterns == other.patterns
    }
}

impl Denylist {
    /// Compiles `(field, index, pattern)` triples; the field and index name a pattern that does
    /// not compile in the error.
    pub(super) fn compile<'a>(
        patterns: impl IntoIterator<Item = (&'a str, usize, String)>,
    ) -> Result<Self, DocumentError> {
        let mut denylist = Self::default();
        for (field, index, pattern) in patterns {
            let regex = RegexBuilder::new(&pattern)
                .size_limit(PATTERN_SIZE_LIMIT)
                .build()
                .map_err(|error| DocumentError::InvalidPattern {
                    field: field.to_owned(),
                    index,
                    pattern: pattern.clone(),
                    reason: error.to_string(),
                })?;
            denylist.patterns.push(pattern);
            denylist.regexes.push(regex);
        }
        Ok(denylist)
    }

    /// Compiles a list of patterns, named `denylist` in errors.
    pub fn new<I, P>(patterns: I) -> Result<Self, DocumentError>
    where
        I: IntoIterator<Item = P>,
        P: Into<String>,
    {
        Self::compile(
            patterns
                .into_iter()
                .enumerate()
                .map(|(index, pattern)| ("denylist", index, pattern.into())),
        )
    }

    /// The patterns as written.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// Whether there are no patterns (then nothing is blocked).
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether any pattern matches somewhere in `host`.
    pub fn blocks(&self, host: &str) -> bool {
        self.regexes.iter().any(|regex| regex.is_match(host))
    }
}

/// The network block of one invocation: the denylist when the `denylist` fault fired, nothing
/// otherwise.
#[derive(Debug, Clone, Default)]
pub struct NetworkBlock(Option<Arc<Denylist>>);

impl NetworkBlock {
    /// No block: every host is reachable.
    pub fn none() -> Self {
        Self(None)
    }

    /// A block by `denylist`.
    pub fn new(denylist: Arc<Denylist>) -> Self {
        Self(Some(denylist))
    }

    /// Whether the block is on.
    pub fn is_active(&self) -> bool {
        self.0.is_some()
    }

    /// Whether a connection to `host` is dropped.
    pub fn blocks(&self, host: &str) -> bool {
        self.0
            .as_ref()
            .is_some_and(|denylist| denylist.blocks(host))
    }
}

/// S3's virtual-hosted host for a bucket, `<bucket>.s3.<region>.amazonaws.com`, the host the
/// SDK connects to without a custom endpoint.
pub fn s3_virtual_host(bucket: &str, region: &str) -> String {
    format!("{bucket}.s3.{region}.amazonaws.com")
}

/// The host of a configured endpoint URL (`http://localhost:4566` → `localhost`), or `None`
/// when the URL has no host.
pub fn endpoint_host(endpoint: &str) -> Option<&str> {
    let rest = endpoint
        .split_once("://")
        .map_or(endpoint, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let host = if let Some(bracketed) = host_port.strip_prefix('[') {
        // An IPv6 literal, `[::1]:4566`.
        bracketed
            .split_once(']')
            .map_or(bracketed, |(host, _)| host)
    } else {
        host_port
            .split_once(':')
            .map_or(host_port, |(host, _)| host)
    };
    (!host.is_empty()).then_some(host)
}

/// An [`ObjectStore`] that fails calls to blocked hosts and passes the others to `inner`.
///
/// `host_of` maps a bucket to the host its calls connect to, e.g.
/// `|bucket| s3_virtual_host(bucket, "eu-west-1")`.
#[derive(Debug)]
pub struct DenylistStore<'a, S, H> {
    inner: &'a S,
    block: NetworkBlock,
    host_of: H,
}

impl<'a, S, H> DenylistStore<'a, S, H>
where
    S: ObjectStore,
    H: Fn(&str) -> String + Send + Sync,
{
    /// Wraps `inner` under one invocation's `block`.
    pub fn new(inner: &'a S, block: NetworkBlock, host_of: H) -> Self {
        Self {
            inner,
            block,
            host_of,
        }
    }

    /// The interception error when the bucket's host is blocked, as failure-lambda logs it.
    fn intercept(
        &self,
        operation: StoreOperation,
        bucket: &str,
        key: &str,
    ) -> Result<(), StoreError> {
        if !self.block.is_active() {
            return Ok(());
        }
        let host = (self.host_of)(bucket);
        if !self.block.blocks(&host) {
            return Ok(());
        }
        let message = format!("Intercepted network connection to {host}");
        info!(%host, %operation, "{message}");
        Err(StoreError::Failed {
            operation,
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            message,
            source: None,
        })
    }
}

impl<S, H> ObjectStore for DenylistStore<'_, S, H>
where
    S: ObjectStore,
    H: Fn(&str) -> String + Send + Sync,
{
    async fn get_object(&self, bucket: &str, key: &str) -> Result<Vec<u8>, StoreError> {
        self.intercept(StoreOperation::GetObject, bucket, key)?;
        self.inner.get_object(bucket, key).await
    }

    async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> Result<(), StoreError> {
        self.intercept(StoreOperation::PutObject, bucket, key)?;
        self.inner.put_object(bucket, key, body, content_type).await
    }
}
