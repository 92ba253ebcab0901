# The queues and the topic, with the resource policies that let S3 and SNS deliver to them.

resource "aws_sqs_queue" "dlq" {
  name = local.dlq_name
  # Events here need a human: keep them for the SQS maximum, 14 days.
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
  tags                      = local.tags
}

resource "aws_sqs_queue" "csv" {
  name                    = local.csv_queue_name
  sqs_managed_sse_enabled = true
  tags                    = local.tags
}

resource "aws_sns_topic" "csv" {
  # Not encrypted, deliberately. S3 publishes the output/*.csv notifications here, and an AWS
  # service may publish to an encrypted topic only if the topic's key is a customer-managed key
  # whose key policy grants that service kms:GenerateDataKey* and kms:Decrypt (SNS developer
  # guide, "Enable compatibility between event sources from AWS services and encrypted topics").
  # The policy of the AWS-managed key alias/aws/sns cannot be changed, so with it S3 could no
  # longer publish and the pipeline would stop at the topic. A customer-managed key per stack (or
  # one shared, with s3.amazonaws.com in its policy) is more than a lab's notifications need. The
  # queues behind the topic are encrypted (SSE-SQS), which SNS delivers to without any key policy.
  #checkov:skip=CKV_AWS_26:S3 cannot publish to a topic encrypted with the AWS-managed alias/aws/sns key; a customer-managed key is more than lab notifications need
  name = local.topic_name
  tags = local.tags
}

resource "aws_sns_topic_policy" "csv" {
  arn    = aws_sns_topic.csv.arn
  policy = data.aws_iam_policy_document.topic_accepts_bucket.json
}

resource "aws_sns_topic_subscription" "csv_queue" {
  topic_arn = aws_sns_topic.csv.arn
  protocol  = "sqs"
  endpoint  = aws_sqs_queue.csv.arn
  # The subscriber reads the SNS envelope (Type, MessageId, TopicArn, Message, ...) with the S3
  # event inside Message, so raw delivery stays off.
  raw_message_delivery = false

  depends_on = [aws_sqs_queue_policy.csv]
}

resource "aws_sqs_queue_policy" "csv" {
  queue_url = aws_sqs_queue.csv.url
  policy    = data.aws_iam_policy_document.csv_queue_accepts_topic.json
}

# Only this stack's bucket, in this account, may publish to the topic.
data "aws_iam_policy_document" "topic_accepts_bucket" {
  statement {
    sid       = "AllowPipelineBucketToPublish"
    effect    = "Allow"
    actions   = ["SNS:Publish"]
    resources = [aws_sns_topic.csv.arn]

    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [aws_s3_bucket.pipeline.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

# Only this stack's topic may send to the csv queue.
data "aws_iam_policy_document" "csv_queue_accepts_topic" {
  statement {
    sid       = "AllowPipelineTopicToSend"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.csv.arn]

    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_sns_topic.csv.arn]
    }
  }
}
