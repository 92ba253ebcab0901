# The ETL function, its logs and its asynchronous-invocation behaviour.

resource "aws_cloudwatch_log_group" "etl" {
  # Created before the function so Lambda does not create it without a retention.
  name              = local.log_group_name
  retention_in_days = local.log_retention_days
  tags              = local.tags
}

resource "aws_lambda_function" "etl" {
  function_name    = local.function_name
  description      = "chaoslab ETL: converts input/*.json to output/*.csv"
  role             = aws_iam_role.etl.arn
  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = [var.architecture]
  memory_size      = var.memory_mb
  timeout          = var.timeout_seconds
  filename         = var.lambda_zip
  source_code_hash = filebase64sha256(var.lambda_zip)

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
