# The chaoslab server's permissions in AWS mode (`chaoslab serve --backend aws`): one managed
# policy for every participant's stack, to attach to whatever runs the server (README.md, "The
# control plane's permissions").
#
# The statements name the stacks' resources by the names modules/pipeline gives them, a fixed
# prefix and the stack's random suffix, in this account and region. Listing each stack's ARNs
# instead would outgrow the 6,144 characters a managed policy may have at about a dozen stacks.
#
# What the server calls, per stack:
# - the publisher:  s3:PutObject of input/<name>.json;
# - the subscriber: sqs:ReceiveMessage and sqs:DeleteMessage on the csv queue;
# - the lab's pages: cloudwatch:GetMetricData for the dashboard and the accounting;
# - faults:         ssm:GetParameter and ssm:PutParameter on the fault-injection parameter, and
#                   the function's configuration, asynchronous-invocation settings and
#                   concurrency (read, update, delete), and its test invocation;
# - the DLQ:        listing its messages (receive, change visibility, attributes) and the
#                   redrive, which deletes each message and invokes the function with its event;
# - a reset:        sqs:PurgeQueue on both queues, listing and deleting the bucket's input/ and
#                   output/ objects, and ssm:PutParameter of the initial document.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  account_id = data.aws_caller_identity.current.account_id

  # Every stack's resources, as modules/pipeline names them (see its locals). Every stack is in
  # var.region, the provider's region.
  stack_functions  = "arn:${local.partition}:lambda:${var.region}:${local.account_id}:function:ChaosTransformer-*"
  stack_parameters = "arn:${local.partition}:ssm:${var.region}:${local.account_id}:parameter/chaoslab/*/failure-injection"
  stack_dlqs       = "arn:${local.partition}:sqs:${var.region}:${local.account_id}:chaos-error-queue-*"
  stack_csv_queues = "arn:${local.partition}:sqs:${var.region}:${local.account_id}:chaos-csv-queue-*"
  # Bucket ARNs carry no account or region: the statements on them require this account's buckets.
  stack_buckets = "arn:${local.partition}:s3:::chaos-bucket-*"
}

data "aws_iam_policy_document" "control_plane" {
  statement {
    sid       = "ReadAndSetFaultInjection"
    effect    = "Allow"
    actions   = ["ssm:GetParameter", "ssm:PutParameter"]
    resources = [local.stack_parameters]
  }

  # Showing and changing the function's settings, throttling it through its concurrency, the test
  # invocation (LogType=Tail) and the redrive's asynchronous invocations.
  statement {
    sid    = "ReadAndChangeTheFunction"
    effect = "Allow"
    actions = [
      "lambda:GetFunctionConfiguration",
      "lambda:UpdateFunctionConfiguration",
      "lambda:GetFunctionEventInvokeConfig",
      "lambda:PutFunctionEventInvokeConfig",
      "lambda:GetFunctionConcurrency",
      "lambda:PutFunctionConcurrency",
      "lambda:DeleteFunctionConcurrency",
      "lambda:InvokeFunction",
    ]
    resources = [local.stack_functions]
  }

  # Listing the dead-letter queue's messages and redriving them: each message is received, its
  # event invoked again (above) and the message deleted.
  statement {
    sid    = "ListAndRedriveDeadLetters"
    effect = "Allow"
    actions = [
      "sqs:ReceiveMessage",
      "sqs:DeleteMessage",
      "sqs:GetQueueAttributes",
      "sqs:ChangeMessageVisibility",
    ]
    resources = [local.stack_dlqs]
  }

  statement {
    sid       = "SubscribeToCsvNotifications"
    effect    = "Allow"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage"]
    resources = [local.stack_csv_queues]
  }

  statement {
    sid       = "ResetPurgesQueues"
    effect    = "Allow"
    actions   = ["sqs:PurgeQueue"]
    resources = [local.stack_csv_queues, local.stack_dlqs]
  }

  statement {
    sid       = "PublishInputObjects"
    effect    = "Allow"
    actions   = ["s3:PutObject"]
    resources = ["${local.stack_buckets}/input/*"]

    condition {
      test     = "StringEquals"
      variable = "s3:ResourceAccount"
      values   = [local.account_id]
    }
  }

  # A reset lists input/ and output/ and deletes what it finds there, nothing else.
  statement {
    sid       = "ResetListsInputAndOutput"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [local.stack_buckets]

    condition {
      test     = "StringEquals"
      variable = "s3:prefix"
      values   = ["input/", "output/"]
    }

    condition {
      test     = "StringEquals"
      variable = "s3:ResourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid       = "ResetDeletesInputAndOutput"
    effect    = "Allow"
    actions   = ["s3:DeleteObject"]
    resources = ["${local.stack_buckets}/input/*", "${local.stack_buckets}/output/*"]

    condition {
      test     = "StringEquals"
      variable = "s3:ResourceAccount"
      values   = [local.account_id]
    }
  }

  # GetMetricData does not support resource-level permissions: "*" is the only resource it
  # takes. It reads metrics only, in the region the request is sent to.
  statement {
    sid       = "ReadPipelineMetrics"
    effect    = "Allow"
    actions   = ["cloudwatch:GetMetricData"]
    resources = ["*"]
  }
}

resource "aws_iam_policy" "control_plane" {
  name        = "chaoslab-control-plane-${var.region}"
  description = "What the chaoslab server (serve --backend aws) does to the lab's pipeline stacks in ${var.region}"
  policy      = data.aws_iam_policy_document.control_plane.json
}
