# The ETL function, its logs and its asynchronous-invocation behaviour.

resource "aws_cloudwatch_log_group" "etl" {
  # CloudWatch Logs encrypts every log group at rest; a key of our own would only add its cost.
  #checkov:skip=CKV_AWS_158:Logs of synthetic lab traffic; CloudWatch Logs already encrypts them at rest, a customer-managed KMS key per stack only adds cost
  #checkov:skip=CKV_AWS_338:Logs of synthetic lab traffic are kept a week on purpose (local.log_retention_days); a year of retention only adds cost
  # Created before the function so Lambda does not create it without a retention.
  name              = local.log_group_name
  retention_in_days = local.log_retention_days
  tags              = local.tags
}

resource "aws_lambda_function" "etl" {
  # What checkov asks of a function that a lab does without:
  # - a VPC: the function only calls S3, SSM, SQS and CloudWatch, and a VPC would need a NAT
  #   gateway or interface endpoints for them, per participant;
  # - reserved concurrency: the lab itself sets and deletes the function's concurrency at run time
  #   (a throttling fault, through the control plane's Put/DeleteFunctionConcurrency), and
  #   reserving some for every participant takes it from the account's unreserved pool, of which
  #   Lambda keeps at least 100 (200 participants x 5 would be the default quota of 1000);
  # - code signing: the package is built from this repository by cargo lambda, with no AWS Signer
  #   profile;
  # - a customer-managed key for the environment: Lambda encrypts it at rest with its own key, and
  #   it holds a parameter name and a TTL, nothing secret;
  # - X-Ray: traces are billed beyond the free tier and need more permissions, and the lab reads
  #   the pipeline from CloudWatch metrics and the dashboard instead.
  #checkov:skip=CKV_AWS_117:A lab function calling only public AWS endpoints; a VPC would need a NAT gateway or endpoints per participant
  #checkov:skip=CKV_AWS_115:Concurrency is a fault the lab sets and deletes at run time; reserving it per participant drains the account's unreserved pool
  #checkov:skip=CKV_AWS_272:The package is built locally from this repository by cargo lambda; there is no AWS Signer profile in a lab
  #checkov:skip=CKV_AWS_173:The environment holds a parameter name and a TTL, nothing secret; Lambda already encrypts it at rest with its own key
  #checkov:skip=CKV_AWS_50:X-Ray is billed beyond its free tier; the lab observes the pipeline through CloudWatch metrics and the dashboard
  function_name = local.function_name
  description   = "chaoslab ETL: converts input/*.json to output/*.csv"
  role          = aws_iam_role.etl.arn
  runtime       = "provided.al2023"
  handler       = "bootstrap"
  architectures = [var.architecture]
  memory_size   = var.memory_mb
  timeout       = var.timeout_seconds

  reserved_concurrent_executions = var.reserved_concurrency
  filename                       = var.lambda_zip
  source_code_hash               = filebase64sha256(var.lambda_zip)

  environment {
    variables = {
      FAILURE_INJECTION_PARAM = aws_ssm_parameter.failure_injection.name
      # Seconds a warm instance keeps the parameter before reading it again: SSM's GetParameter
      # throughput is shared by every stack in the account and region (README.md, sizing).
      FAILURE_CACHE_TTL = var.failure_cache_ttl_seconds
    }
  }

  # An asynchronous event that fails every attempt is sent here unmodified, with the
  # RequestID, ErrorCode and ErrorMessage message attributes.
  dead_letter_config {
    target_arn = aws_sqs_queue.dlq.arn
  }

  tags = local.tags

  # Lambda checks at creation that the role may send to the dead-letter queue.
  depends_on = [
    aws_iam_role_policy.etl,
    aws_cloudwatch_log_group.etl,
  ]
}

resource "aws_lambda_function_event_invoke_config" "etl" {
  function_name = aws_lambda_function.etl.function_name

  # S3 invokes asynchronously: a failed event is attempted 1 + maximum_retry_attempts times.
  maximum_retry_attempts       = var.maximum_retry_attempts
  maximum_event_age_in_seconds = var.maximum_event_age_seconds
}

resource "aws_lambda_permission" "allow_bucket" {
  statement_id   = "AllowInvokeFromPipelineBucket"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.etl.function_name
  principal      = "s3.amazonaws.com"
  source_arn     = aws_s3_bucket.pipeline.arn
  source_account = local.account_id
}
