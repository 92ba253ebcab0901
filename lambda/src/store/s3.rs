//! The object store backed by Amazon S3 through the AWS SDK for Rust.

use aws_sdk_s3::Client;
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::primitives::ByteStream;

use super::{ObjectStore, StoreError, StoreOperation};

/// An [`ObjectStore`] over an S3 client. Cloning is cheap: the client is shared.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: Client,
}

impl S3Store {
    /// Wraps a configured S3 client.
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// The underlying client.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

impl ObjectStore for S3Store {
    async fn get_object(&self, bucket: &str, key: &str) -> Result<Vec<u8>, StoreError> {
        let failed = |message: String, source: Box<dyn std::error::Error + Send + Sync>| {
            StoreError::Failed {
                operation: StoreOperation::GetObject,
                bucket: bucket.to_owned(),
                key: key.to_owned(),
                message,
                source: Some(source),
            }
        };
        let output = match self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
        {
            Ok(output) => output,
            // S3 answers NoSuchKey (404) only when the caller may list the bucket; without
            // s3:ListBucket a missing key is AccessDenied (403) and lands in `Failed`.
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(GetObjectError::is_no_such_key) =>
            {
                return Err(StoreError::NotFound {
                    bucket: bucket.to_owned(),
                    key: key.to_owned(),
                });
            }
            Err(error) => {
                return Err(failed(
                    DisplayErrorContext(&error).to_string(),
                    Box::new(error),
                ));
            }
        };
        let body = output
            .body
            .collect()
            .await
            .map_err(|error| failed(format!("reading the body: {error}"), Box::new(error)))?;
        Ok(body.into_bytes().to_vec())
    }

    async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> Result<(), StoreError> {
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|error| StoreError::Failed {
                operation: StoreOperation::PutObject,
                bucket: bucket.to_owned(),
                key: key.to_owned(),
                message: DisplayErrorContext(&error).to_string(),
                source: Some(Box::new(error)),
            })?;
        Ok(())
    }
}
