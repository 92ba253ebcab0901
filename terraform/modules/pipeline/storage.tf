# The bucket and its two event notifications: the lab's pipeline is wired here.

resource "aws_s3_bucket" "pipeline" {
  # The bucket holds synthetic lab traffic that expires within days (see the lifecycle rule below),
  # encrypted with SSE-S3. What checkov asks beyond that is for data worth keeping or auditing.
  #checkov:skip=CKV_AWS_18:Synthetic lab traffic; server access logs would need a second bucket per participant and nobody audits them
  #checkov:skip=CKV_AWS_144:Synthetic lab objects that expire within days; a replica in another region only doubles the cost
  #checkov:skip=CKV_AWS_21:Throw-away lab objects; versioning would keep every object a reset deletes as a billed noncurrent version
  #checkov:skip=CKV_AWS_145:SSE-S3 (AES256) encrypts every object at rest; SSE-KMS would add a KMS call per object, or a key per stack, for synthetic data
  bucket = local.bucket_name
  # A lab bucket: `terraform destroy` removes it with whatever the traffic left in it.
  force_destroy = true
  tags          = local.tags
}

resource "aws_s3_bucket_public_access_block" "pipeline" {
  bucket = aws_s3_bucket.pipeline.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "pipeline" {
  bucket = aws_s3_bucket.pipeline.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "pipeline" {
  bucket = aws_s3_bucket.pipeline.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

# Lab traffic is throw-away: the publisher's input/*.json and the function's output/*.csv expire
# after var.object_expiration_days, so a forgotten stack does not keep paying for them. A reset
# (chaoslab's "reset stack") deletes both prefixes at once; expiry only bounds what is left over.
resource "aws_s3_bucket_lifecycle_configuration" "pipeline" {
  bucket = aws_s3_bucket.pipeline.id

  rule {
    id     = "expire-input-objects"
    status = "Enabled"

    filter {
      prefix = "input/"
    }

    expiration {
      days = var.object_expiration_days
    }
  }

  rule {
    id     = "expire-output-objects"
    status = "Enabled"

    filter {
      prefix = "output/"
    }

    expiration {
      days = var.object_expiration_days
    }
  }

  # Nothing uploads in parts, but a part left behind would be billed and never seen.
  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

resource "aws_s3_bucket_notification" "pipeline" {
  bucket = aws_s3_bucket.pipeline.id

  # New JSON under input/ invokes the ETL function asynchronously.
  lambda_function {
    id                  = "input-json-to-etl"
    lambda_function_arn = aws_lambda_function.etl.arn
    events              = ["s3:ObjectCreated:*"]
    filter_prefix       = "input/"
    filter_suffix       = ".json"
  }

  # The function's CSV under output/ is announced on the topic. The prefixes keep the function's
  # own writes from invoking it again.
  topic {
    id            = "output-csv-to-topic"
    topic_arn     = aws_sns_topic.csv.arn
    events        = ["s3:ObjectCreated:*"]
    filter_prefix = "output/"
    filter_suffix = ".csv"
  }

  # S3 test-delivers to every destination when the configuration is saved, and rejects the
  # configuration unless the function and the topic already allow the bucket.
  depends_on = [
    aws_lambda_permission.allow_bucket,
    aws_sns_topic_policy.csv,
  ]
}
