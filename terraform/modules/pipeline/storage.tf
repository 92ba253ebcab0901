# The bucket and its two event notifications: the lab's pipeline is wired here.

resource "aws_s3_bucket" "pipeline" {
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
