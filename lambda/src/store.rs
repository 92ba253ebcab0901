//! The small object-store interface the handler reads and writes through.
//!
//! [`ObjectStore`] has just the two calls the ETL function makes: get an object and put one.
//! - [`MemoryStore`] keeps objects in a map, for tests and anything else that runs offline;
//! - [`S3Store`] (feature `s3`) is the AWS SDK client the Lambda binary and the AWS backend use.
//!
//! The server's embedded backend implements the trait over its own storage, so the handler code
//! is the same everywhere.

use std::error::Error;
use std::fmt;
use std::future::Future;

mod memory;
#[cfg(feature = "s3")]
mod s3;

pub use memory::{MemoryStore, StoredObject};
#[cfg(feature = "s3")]
pub use s3::S3Store;

/// Where the ETL function's objects live: the two S3 calls it needs.
///
/// The futures are `Send` so the handler can run on a multi-threaded runtime, and the trait is
/// used generically (no `dyn`), so implementations may simply write `async fn`.
pub trait ObjectStore: Send + Sync {
    /// Reads the whole body of `s3://bucket/key`; [`StoreError::NotFound`] if there is none.
    fn get_object(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = Result<Vec<u8>, StoreError>> + Send;

    /// Writes `body` to `s3://bucket/key` with the given `Content-Type`, replacing any object
    /// already there.
    fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Which store call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreOperation {
    /// `GetObject`.
    GetObject,
    /// `PutObject`.
    PutObject,
}

impl fmt::Display for StoreOperation {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Self::GetObject => "GetObject",
            Self::PutObject => "PutObject",
        })
    }
}

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The object does not exist (S3's `NoSuchKey`).
    #[error("object s3://{bucket}/{key} does not exist")]
    NotFound {
        /// The bucket asked for.
        bucket: String,
        /// The key asked for, decoded.
        key: String,
    },
    /// Any other failure: access denied, network, throttling, a broken body stream.
    #[error("{operation} s3://{bucket}/{key} failed: {message}")]
    Failed {
        /// The call that failed.
        operation: StoreOperation,
        /// The bucket of the call.
        bucket: String,
        /// The key of the call.
        key: String,
        /// What went wrong, in the store's words.
        message: String,
        /// The underlying error, when there is one.
        #[source]
        source: Option<Box<dyn Error + Send + Sync + 'static>>,
    },
}

impl StoreError {
    /// Whether the object was missing, as opposed to the store failing.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }
}
