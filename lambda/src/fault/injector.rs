//! [`FaultInjector`]: the cached document and the draw of one invocation's fault.
//!
//! failure-lambda reads its SSM parameter on every invocation. SSM allows about 40
//! `GetParameter` calls per second per account and region by default, which a class of about 20
//! participants at 2 objects/s would exhaust, so the injector keeps the document for
//! `FAILURE_CACHE_TTL` seconds (default 5) of its [`Clock`]: a change reaches the function
//! within that time.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tracing::{debug, warn};

use super::clock::Clock;
use super::denylist::{Denylist, NetworkBlock};
use super::disk::Disk;
use super::document::{DocumentError, FailureMode, FaultDocument, parse_lenient};
use super::random::RandomSource;
use super::source::{DocumentSource, SourceError};

/// How long a read document is reused when `FAILURE_CACHE_TTL` is not set.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(5);
/// The environment variable holding the cache's time to live, in seconds.
pub const CACHE_TTL_VARIABLE: &str = "FAILURE_CACHE_TTL";
/// Longest time to live accepted: a day.
const MAX_CACHE_TTL_SECONDS: f64 = 86_400.0;

/// `FAILURE_CACHE_TTL` is not a number of seconds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "FAILURE_CACHE_TTL is {value:?}: set it to a number of seconds from 0 to 86400 (0 reads the document on every invocation; unset means 5)"
)]
pub struct CacheTtlError {
    /// The value as set.
    pub value: String,
}

/// Reads `FAILURE_CACHE_TTL`'s value: unset or blank means [`DEFAULT_CACHE_TTL`]; otherwise a
/// number of seconds from 0 to 86400, fractions allowed.
pub fn parse_cache_ttl(value: Option<&str>) -> Result<Duration, CacheTtlError> {
    let Some(text) = value.map(str::trim).filter(|text| !text.is_empty()) else {
        return Ok(DEFAULT_CACHE_TTL);
    };
    text.parse::<f64>()
        .ok()
        .filter(|seconds| (0.0..=MAX_CACHE_TTL_SECONDS).contains(seconds))
        .map(Duration::from_secs_f64)
        .ok_or_else(|| CacheTtlError {
            value: text.to_owned(),
        })
}

/// Why the wrapper injects no fault although a document was asked for.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DocumentIssue {
    /// The source could not be read.
    #[error(transparent)]
    Unreadable(#[from] SourceError),
    /// The text is not a valid document.
    #[error(transparent)]
    Invalid(#[from] DocumentError),
}

/// The document as the wrapper uses it: valid, or no fault with the reason (failure-lambda 0.4
/// falls back to `{"isEnabled": false}` the same way; 0.1–0.3 failed every invocation).
#[derive(Debug, Clone, PartialEq)]
pub enum LoadedDocument {
    /// A document [`parse_lenient`] accepted.
    Valid(FaultDocument),
    /// No fault, and why.
    NoFault(DocumentIssue),
}

impl LoadedDocument {
    /// The document of a fetch: its text parsed leniently, or the reason there is none.
    pub fn from_fetch(fetched: Result<String, SourceError>) -> Self {
        match fetched.map(|text| parse_lenient(&text)) {
            Ok(Ok(document)) => Self::Valid(document),
            Ok(Err(invalid)) => Self::NoFault(invalid.into()),
            Err(unreadable) => Self::NoFault(unreadable.into()),
        }
    }

    /// The valid document, if any.
    pub fn document(&self) -> Option<&FaultDocument> {
        match self {
            Self::Valid(document) => Some(document),
            Self::NoFault(_) => None,
        }
    }

    /// Why there is no fault, if the document is not valid: to log and to show on pages.
    pub fn issue(&self) -> Option<&DocumentIssue> {
        match self {
            Self::Valid(_) => None,
            Self::NoFault(issue) => Some(issue),
        }
    }
}

/// The fault drawn for one invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Injection {
    /// No fault: disabled, not drawn, or no valid document.
    None,
    /// Wait this long before the handler.
    Latency(Duration),
    /// Fail with this message before the handler.
    Exception(String),
    /// Return `{"statusCode": n}` without running the handler.
    StatusCode(u16),
    /// Write this many MB to `/tmp` before the handler.
    DiskSpace(u64),
    /// Block the hosts this denylist matches while the handler runs.
    Denylist(Arc<Denylist>),
}

impl Injection {
    /// The mode that fired, if any.
    pub fn mode(&self) -> Option<FailureMode> {
        Some(match self {
            Self::None => return None,
            Self::Latency(_) => FailureMode::Latency,
            Self::Exception(_) => FailureMode::Exception,
            Self::StatusCode(_) => FailureMode::StatusCode,
            Self::DiskSpace(_) => FailureMode::DiskSpace,
            Self::Denylist(_) => FailureMode::Denylist,
        })
    }

    /// Whether a fault fired.
    pub fn fired(&self) -> bool {
        !matches!(self, Self::None)
    }

    /// The network block the handler runs under: on only when the denylist fault fired.
    pub fn network_block(&self) -> NetworkBlock {
        match self {
            Self::Denylist(denylist) => NetworkBlock::new(Arc::clone(denylist)),
            _ => NetworkBlock::none(),
        }
    }

    /// Draws one invocation's fault from `document`, as failure-lambda does: the rate is drawn
    /// only when the document is enabled, and fires when the draw is below it; a latency is
    /// then drawn uniformly from [minLatency, maxLatency) whole milliseconds.
    pub fn draw(document: &FaultDocument, random: &impl RandomSource) -> Self {
        if !document.is_enabled || random.unit() >= document.rate {
            return Self::None;
        }
        match document.failure_mode {
            FailureMode::Latency => Self::Latency(Duration::from_millis(
                random.in_range(document.min_latency..document.max_latency),
            )),
            FailureMode::Exception => Self::Exception(document.exception_msg.clone()),
            FailureMode::StatusCode => Self::StatusCode(document.status_code),
            FailureMode::DiskSpace => Self::DiskSpace(document.disk_space),
            FailureMode::Denylist => Self::Denylist(Arc::clone(&document.denylist)),
        }
    }
}

impl fmt::Display for Injection {
    /// A short description for logs and results, e.g. `latency 3412 ms`.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => formatter.write_str("no fault"),
            Self::Latency(latency) => write!(formatter, "latency {} ms", latency.as_millis()),
            Self::Exception(message) => write!(formatter, "exception {message:?}"),
            Self::StatusCode(code) => write!(formatter, "statuscode {code}"),
            Self::DiskSpace(megabytes) => write!(formatter, "diskspace {megabytes} MB"),
            Self::Denylist(denylist) => {
                write!(formatter, "denylist {}", denylist.patterns().join(", "))
            }
        }
    }
}

/// A document read at `fetched_at` on the injector's clock.
#[derive(Debug)]
struct Cached {
    fetched_at: Duration,
    loaded: Arc<LoadedDocument>,
}

/// The fault wrapper's state: the document's source and cache, the clock, the random draws and
/// the disk. One per function (per execution environment in Lambda).
#[derive(Debug)]
pub struct FaultInjector<S, C, R, D> {
    source: S,
    clock: C,
    random: R,
    disk: D,
    ttl: Duration,
    // An async mutex held across the fetch: concurrent invocations wait for one read.
    cache: tokio::sync::Mutex<Option<Cached>>,
}

impl<S, C, R, D> FaultInjector<S, C, R, D>
where
    S: DocumentSource,
    C: Clock,
    R: RandomSource,
    D: Disk,
{
    /// An injector caching the document for [`DEFAULT_CACHE_TTL`].
    pub fn new(source: S, clock: C, random: R, disk: D) -> Self {
        Self {
            source,
            clock,
            random,
            disk,
            ttl: DEFAULT_CACHE_TTL,
            cache: tokio::sync::Mutex::new(None),
        }
    }

    /// Caches the document for `ttl` instead (zero reads it on every invocation).
    #[must_use]
    pub fn with_cache_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// How long a read document is reused.
    pub fn cache_ttl(&self) -> Duration {
        self.ttl
    }

    /// The document's source.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// The clock.
    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// The random draws.
    pub fn random(&self) -> &R {
        &self.random
    }

    /// The disk.
    pub fn disk(&self) -> &D {
        &self.disk
    }

    /// The document, read from the source at most once per time to live. A document that is
    /// unreadable or invalid is cached too (as no fault), and its reason logged once per read.
    pub async fn document(&self) -> Arc<LoadedDocument> {
        let mut cache = self.cache.lock().await;
        let now = self.clock.now();
        if let Some(cached) = cache.as_ref() {
            // A clock that went backwards (checked_sub fails) counts as expired.
            let fresh = now
                .checked_sub(cached.fetched_at)
                .is_some_and(|age| age < self.ttl);
            if fresh {
                return Arc::clone(&cached.loaded);
            }
        }
        let loaded = Arc::new(LoadedDocument::from_fetch(self.source.fetch().await));
        match loaded.as_ref() {
            LoadedDocument::NoFault(issue) => {
                warn!(reason = %issue, "fault-injection document unusable; injecting no fault");
            }
            LoadedDocument::Valid(document) => debug!(?document, "fault-injection document read"),
        }
        *cache = Some(Cached {
            fetched_at: now,
            loaded: Arc::clone(&loaded),
        });
        loaded
    }

    /// Drops the cached document, so the next invocation reads the source.
    pub async fn forget_document(&self) {
        *self.cache.lock().await = None;
    }

    /// Draws one invocation's fault from the (cached) document; returns the document too, for
    /// its issue. Draws nothing from the random source when there is no valid document.
    pub async fn draw(&self) -> (Injection, Arc<LoadedDocument>) {
        let loaded = self.document().await;
        let injection = match loaded.document() {
            Some(document) => Injection::draw(document, &self.random),
            None => Injection::None,
        };
        (injection, loaded)
    }
}
