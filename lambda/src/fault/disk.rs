//! The `/tmp` the `diskspace` mode fills.
//!
//! failure-lambda runs `dd if=/dev/zero of=/tmp/diskspace-failure-<ms>.tmp count=1000
//! bs=<diskSpace × 1000>`: `diskSpace` × 1,000,000 bytes per fired invocation, never deleted, so
//! a warm execution environment's `/tmp` fills up after a few invocations. When it is full the
//! write fails with "No space left on device" (Node's `ENOSPC`).
//!
//! - [`TmpDisk`] writes real files (the Lambda binary);
//! - [`MemoryDisk`] only counts bytes against Lambda's default 512 MB (the embedded engine keeps
//!   one per execution environment and clears it when the environment is replaced).

use std::future::Future;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Bytes in the `diskSpace` field's MB, as failure-lambda's `dd` counts them.
pub const BYTES_PER_MB: u64 = 1_000_000;
/// Lambda's default ephemeral storage (`/tmp`): 512 MB, counted in MiB.
pub const LAMBDA_TMP_BYTES: u64 = 512 * 1024 * 1024;

/// Where the `diskspace` mode writes.
pub trait Disk: Send + Sync {
    /// Writes `megabytes` × [`BYTES_PER_MB`] bytes that stay until the environment ends.
    /// When the disk fills up part-way, what fits stays written and the call fails with
    /// [`DiskError::NoSpace`], as `dd` does.
    fn fill(&self, megabytes: u64) -> impl Future<Output = Result<(), DiskError>> + Send;
}

/// Why the `diskspace` mode's write failed.
#[derive(Debug, thiserror::Error)]
pub enum DiskError {
    /// `/tmp` is full.
    #[error(
        "ENOSPC: no space left on device, write '{path}' (the diskspace fault never deletes its files; a new execution environment starts with an empty /tmp)"
    )]
    NoSpace {
        /// The file being written.
        path: String,
    },
    /// Any other I/O failure.
    #[error("writing {path} for the diskspace fault failed: {source}")]
    Io {
        /// The file being written.
        path: String,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
}

/// A `/tmp` that only counts: `capacity` bytes, of which [`MemoryDisk::used`] are taken.
#[derive(Debug)]
pub struct MemoryDisk {
    capacity: u64,
    used: AtomicU64,
}

impl MemoryDisk {
    /// An empty disk of Lambda's default 512 MB.
    pub fn new() -> Self {
        Self::with_capacity(LAMBDA_TMP_BYTES)
    }

    /// An empty disk of `capacity` bytes (Lambda allows 512 to 10,240 MB).
    pub fn with_capacity(capacity: u64) -> Self {
        Self {
            capacity,
            used: AtomicU64::new(0),
        }
    }

    /// Bytes written so far.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::SeqCst)
    }

    /// The disk's size in bytes.
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Empties the disk, as a new execution environment starts with an empty `/tmp`.
    pub fn clear(&self) {
        self.used.store(0, Ordering::SeqCst);
    }

    fn take(&self, bytes: u64) -> Result<(), DiskError> {
        let mut full = false;
        // The closure always returns Some, so the update cannot fail.
        let _ = self
            .used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |used| {
                let wanted = used.saturating_add(bytes);
                full = wanted > self.capacity;
                Some(wanted.min(self.capacity))
            });
        if full {
            Err(DiskError::NoSpace {
                path: "/tmp/diskspace-failure.tmp".to_owned(),
            })
        } else {
            Ok(())
        }
    }
}

impl Default for MemoryDisk {
    fn default() -> Self {
        Self::new()
    }
}

impl Disk for MemoryDisk {
    async fn fill(&self, megabytes: u64) -> Result<(), DiskError> {
        self.take(megabytes.saturating_mul(BYTES_PER_MB))
    }
}

/// Real files, `diskspace-failure-<ms>-<n>.tmp` in a directory (`/tmp` in Lambda).
///
/// The write blocks the calling thread (about a second per 100 MB at worst); the Lambda binary
/// runs one invocation at a time, so nothing else waits on it.
#[derive(Debug)]
pub struct TmpDisk {
    directory: PathBuf,
    files: AtomicU64,
}

impl TmpDisk {
    /// Writes into `directory`.
    pub fn new(directory: impl Into<PathBuf>) -> Self {
        Self {
            directory: directory.into(),
            files: AtomicU64::new(0),
        }
    }

    /// Lambda's `/tmp`.
    pub fn lambda_tmp() -> Self {
        Self::new("/tmp")
    }

    /// The directory written to.
    pub fn directory(&self) -> &Path {
        &self.directory
    }

    fn write(&self, megabytes: u64) -> Result<(), DiskError> {
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_millis());
        let n = self.files.fetch_add(1, Ordering::SeqCst);
        let path = self
            .directory
            .join(format!("diskspace-failure-{millis}-{n}.tmp"));
        let failed = |source: io::Error| {
            let path = path.display().to_string();
            if source.kind() == io::ErrorKind::StorageFull {
                DiskError::NoSpace { path }
            } else {
                DiskError::Io { path, source }
            }
        };
        let mut file = std::fs::File::create(&path).map_err(failed)?;
        let block = vec![0_u8; usize::try_from(BYTES_PER_MB).unwrap_or(1 << 20)];
        // No fsync, as dd: the file system reserves the blocks (or reports ENOSPC) on write.
        for _ in 0..megabytes {
            file.write_all(&block).map_err(failed)?;
        }
        Ok(())
    }
}

impl Disk for TmpDisk {
    async fn fill(&self, megabytes: u64) -> Result<(), DiskError> {
        self.write(megabytes)
    }
}
