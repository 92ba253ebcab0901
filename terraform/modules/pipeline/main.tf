# One participant's ETL pipeline:
#
#   S3 input/*.json ──▶ ETL Lambda ──▶ S3 output/*.csv ──▶ SNS topic ──▶ SQS csv queue
#                           └── after 1 + 2 attempts ──▶ SQS dead-letter queue
#
# Every name carries one random suffix, so stacks never collide and a participant's id never
# ends up in a bucket name.

resource "random_id" "suffix" {
  byte_length = 8
}

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

locals {
  suffix = random_id.suffix.hex

  bucket_name        = "chaos-bucket-${local.suffix}"
  function_name      = "ChaosTransformer-${local.suffix}"
  dlq_name           = "chaos-error-queue-${local.suffix}"
  csv_queue_name     = "chaos-csv-queue-${local.suffix}"
  topic_name         = "chaos-csv-topic-${local.suffix}"
  dashboard_name     = "chaos-dashboard-${local.suffix}"
  parameter_name     = "/chaoslab/${local.suffix}/failure-injection"
  role_name          = "chaos-transformer-role-${local.suffix}"
  log_group_name     = "/aws/lambda/${local.function_name}"
  account_id         = data.aws_caller_identity.current.account_id
  log_retention_days = 7

  tags = merge(var.tags, {
    Project     = "chaoslab"
    Participant = var.participant
  })
}
