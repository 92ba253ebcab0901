//! Where the wrapper reads the fault-injection document.
//!
//! failure-lambda reads the SSM parameter named by `FAILURE_INJECTION_PARAM` ([`SsmSource`],
//! feature `ssm`); the embedded engine reads the document it stores. [`MemorySource`] holds a
//! document in memory and counts its reads.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

/// The environment variable naming the SSM parameter, as in failure-lambda.
pub const PARAMETER_VARIABLE: &str = "FAILURE_INJECTION_PARAM";

/// A place holding the document's text.
pub trait DocumentSource: Send + Sync {
    /// Reads the document's text.
    fn fetch(&self) -> impl Future<Output = Result<String, SourceError>> + Send;
}

/// Why the document could not be read. The wrapper then injects no fault and shows this.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// No parameter is configured.
    #[error(
        "FAILURE_INJECTION_PARAM is not set: set it to the name of the SSM parameter holding the fault-injection document"
    )]
    NotConfigured,
    /// The source holds no document.
    #[error(
        "no fault-injection document is stored in {location}: write one, e.g. {{\"isEnabled\": false}}"
    )]
    Missing {
        /// Where the document was looked for.
        location: String,
    },
    /// The read failed.
    #[error("reading the fault-injection document from {location} failed: {message}")]
    Failed {
        /// Where the document was read from.
        location: String,
        /// The reason, in the source's words.
        message: String,
    },
}

/// A document held in memory; counts how often it is read.
#[derive(Debug, Default)]
pub struct MemorySource {
    text: Mutex<Option<String>>,
    reads: AtomicUsize,
}

impl MemorySource {
    /// A source holding `text`.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: Mutex::new(Some(text.into())),
            reads: AtomicUsize::new(0),
        }
    }

    /// A source holding nothing: reads fail with [`SourceError::Missing`].
    pub fn empty() -> Self {
        Self::default()
    }

    /// Replaces the document.
    pub fn set(&self, text: impl Into<String>) {
        *self.text.lock().unwrap_or_else(PoisonError::into_inner) = Some(text.into());
    }

    /// How many times the document has been read.
    pub fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }
}

impl DocumentSource for MemorySource {
    async fn fetch(&self) -> Result<String, SourceError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.text
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or_else(|| SourceError::Missing {
                location: "memory".to_owned(),
            })
    }
}

#[cfg(feature = "ssm")]
pub use ssm::SsmSource;

#[cfg(feature = "ssm")]
mod ssm {
    use aws_sdk_ssm::Client;
    use aws_sdk_ssm::error::DisplayErrorContext;

    use super::{DocumentSource, PARAMETER_VARIABLE, SourceError};

    /// The SSM parameter failure-lambda reads, one `GetParameter` per fetch.
    #[derive(Debug, Clone)]
    pub struct SsmSource {
        client: Client,
        name: Option<String>,
    }

    impl SsmSource {
        /// Reads parameter `name`; with `None`, every read fails with
        /// [`SourceError::NotConfigured`] (failure-lambda then injects nothing).
        pub fn new(client: Client, name: Option<String>) -> Self {
            Self { client, name }
        }

        /// Reads the parameter named by `FAILURE_INJECTION_PARAM`, if it is set and not empty.
        pub fn from_env(client: Client) -> Self {
            let name = std::env::var(PARAMETER_VARIABLE)
                .ok()
                .filter(|name| !name.trim().is_empty());
            Self::new(client, name)
        }

        /// The parameter's name, if configured.
        pub fn name(&self) -> Option<&str> {
            self.name.as_deref()
        }
    }

    impl DocumentSource for SsmSource {
        async fn fetch(&self) -> Result<String, SourceError> {
            let Some(name) = &self.name else {
                return Err(SourceError::NotConfigured);
            };
            let location = || format!("SSM parameter {name}");
            let output = self
                .client
                .get_parameter()
                .name(name)
                .send()
                .await
                .map_err(|error| SourceError::Failed {
                    location: location(),
                    message: DisplayErrorContext(&error).to_string(),
                })?;
            output
                .parameter()
                .and_then(|parameter| parameter.value())
                .map(str::to_owned)
                .ok_or_else(|| SourceError::Missing {
                    location: location(),
                })
        }
    }
}
