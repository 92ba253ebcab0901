# What the chaoslab server reads in AWS mode (through the root's `stacks` output).

output "region" {
  description = "AWS region the stack runs in."
  value       = data.aws_region.current.name
}

output "bucket" {
  description = "Pipeline bucket: the publisher writes input/<name>.json, the function writes output/<name>.csv."
  value       = aws_s3_bucket.pipeline.bucket
}

output "function_name" {
  description = "ETL Lambda function name."
  value       = aws_lambda_function.etl.function_name
}

output "dlq_url" {
  description = "URL of the dead-letter queue that receives events that failed every attempt."
  value       = aws_sqs_queue.dlq.url
}

output "dlq_name" {
  description = "Name of the dead-letter queue (the QueueName metric dimension)."
  value       = aws_sqs_queue.dlq.name
}

output "csv_queue_url" {
  description = "URL of the queue the subscriber receives CSV notifications from."
  value       = aws_sqs_queue.csv.url
}

output "csv_queue_name" {
  description = "Name of the csv queue (the QueueName metric dimension)."
  value       = aws_sqs_queue.csv.name
}

output "topic_arn" {
  description = "ARN of the topic S3 publishes output/*.csv notifications to."
  value       = aws_sns_topic.csv.arn
}

output "topic_name" {
  description = "Name of the topic (the TopicName metric dimension)."
  value       = aws_sns_topic.csv.name
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard."
  value       = aws_cloudwatch_dashboard.pipeline.dashboard_name
}

output "parameter_name" {
  description = "Name of the SSM parameter holding the fault-injection configuration."
  value       = aws_ssm_parameter.failure_injection.name
}

output "suffix" {
  description = "Random hex suffix shared by every name in the stack."
  value       = local.suffix
}
