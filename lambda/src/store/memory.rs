//! An object store held in memory, for tests and offline runs.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{ObjectStore, StoreError};

/// One stored object: its bytes and the `Content-Type` it was written with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    /// The object body.
    pub body: Vec<u8>,
    /// The `Content-Type` given when the object was written.
    pub content_type: String,
}

/// Objects keyed by (bucket, key), behind a mutex. Buckets need no creating.
#[derive(Debug, Default)]
pub struct MemoryStore {
    objects: Mutex<HashMap<(String, String), StoredObject>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes an object directly, replacing any object already at that key.
    pub fn insert(&self, bucket: &str, key: &str, body: impl Into<Vec<u8>>, content_type: &str) {
        self.lock().insert(
            (bucket.to_owned(), key.to_owned()),
            StoredObject {
                body: body.into(),
                content_type: content_type.to_owned(),
            },
        );
    }

    /// The object at `s3://bucket/key`, if there is one.
    pub fn object(&self, bucket: &str, key: &str) -> Option<StoredObject> {
        self.lock()
            .get(&(bucket.to_owned(), key.to_owned()))
            .cloned()
    }

    /// Every object in `bucket`, by key in lexicographic order (as S3 lists them).
    pub fn objects(&self, bucket: &str) -> BTreeMap<String, StoredObject> {
        self.lock()
            .iter()
            .filter(|((object_bucket, _), _)| object_bucket == bucket)
            .map(|((_, key), object)| (key.clone(), object.clone()))
            .collect()
    }

    /// The number of objects across all buckets.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether the store holds no object at all.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<(String, String), StoredObject>> {
        // Every critical section is a single map operation, so a panic elsewhere cannot leave the
        // map half-updated: carry on with it.
        self.objects.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl ObjectStore for MemoryStore {
    async fn get_object(&self, bucket: &str, key: &str) -> Result<Vec<u8>, StoreError> {
        self.object(bucket, key)
            .map(|object| object.body)
            .ok_or_else(|| StoreError::NotFound {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
            })
    }

    async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> Result<(), StoreError> {
        self.insert(bucket, key, body, content_type);
        Ok(())
    }
}
