//! Fault injection around the ETL handler, after failure-lambda 0.x (gunnargrosch/failure-lambda).
//!
//! The same wrapper serves the Lambda binary and the server's embedded engine; what differs
//! between them sits behind small traits:
//!
//! | trait | Lambda binary | embedded engine |
//! |---|---|---|
//! | [`DocumentSource`] | SSM `GetParameter` of `FAILURE_INJECTION_PARAM` ([`SsmSource`], feature `ssm`) | the stored document |
//! | [`Clock`] | [`SystemClock`] | pipeline time |
//! | [`RandomSource`] | [`ThreadRandom`] | [`SeededRandom`] |
//! | [`Disk`] | files under `/tmp` ([`TmpDisk`]) | a per-stack size ([`MemoryDisk`]) |
//! | [`Timer`] | Lambda applies the timeout itself | pipeline time scaled to the wall |
//!
//! The pieces:
//! - [`document`]: the flat JSON document of failure-lambda 0.2.0 (`denylist`, 0.3's name for
//!   `blacklist`, accepted too), with a strict parse for the API and a lenient one for the
//!   wrapper: an unreadable or invalid document means no fault plus a reason, as in 0.4.
//! - [`parse`]: the strict and lenient parses.
//! - [`injector`]: [`FaultInjector`] caches the document for `FAILURE_CACHE_TTL` seconds and
//!   draws the fault of one invocation ([`Injection`]).
//! - [`run`]: [`invoke`] and [`run_invocation`] run a handler under the drawn fault, the latter
//!   inside the function's timeout ("Task timed out after 3.00 seconds").
//! - [`denylist`]: the compiled host patterns and [`DenylistStore`], which fails the handler's
//!   object-store calls to a blocked host with "Intercepted network connection to \<host>".
//! - [`source`], [`clock`], [`random`], [`disk`]: the traits and their implementations.
//! - [`metric`]: the `chaoslab/InjectedFaults` metric in the embedded metric format.

pub mod clock;
pub mod denylist;
pub mod disk;
pub mod document;
pub mod injector;
pub mod metric;
pub mod parse;
pub mod random;
pub mod run;
pub mod source;

pub use clock::{Clock, ManualClock, SystemClock};
pub use denylist::{Denylist, DenylistStore, NetworkBlock, endpoint_host, s3_virtual_host};
pub use disk::{Disk, DiskError, LAMBDA_TMP_BYTES, MemoryDisk, TmpDisk};
pub use document::{DocumentError, FailureMode, FaultDocument, parse_lenient, parse_strict};
pub use injector::{
    CACHE_TTL_VARIABLE, CacheTtlError, DEFAULT_CACHE_TTL, DocumentIssue, FaultInjector, Injection,
    LoadedDocument, parse_cache_ttl,
};
pub use random::{RandomSource, SeededRandom, ThreadRandom};
pub use run::{
    FaultError, InvocationError, InvocationOutcome, Response, StatusCodeResponse, Timer,
    TokioTimer, invoke, run_invocation,
};
#[cfg(feature = "ssm")]
pub use source::SsmSource;
pub use source::{DocumentSource, MemorySource, PARAMETER_VARIABLE, SourceError};
