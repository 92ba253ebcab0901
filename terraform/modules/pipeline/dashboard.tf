# The dashboard is var.dashboard_file (by default the root's dashboard.json), the one definition
# the chaoslab server renders too (its --dashboard option takes the same file). Its placeholders
# are the variables passed here, no more and no fewer.

resource "aws_cloudwatch_dashboard" "pipeline" {
  dashboard_name = local.dashboard_name
  dashboard_body = templatefile(var.dashboard_file, {
    region         = data.aws_region.current.name
    function_name  = aws_lambda_function.etl.function_name
    csv_queue_name = aws_sqs_queue.csv.name
    dlq_name       = aws_sqs_queue.dlq.name
    topic_name     = aws_sns_topic.csv.name
  })
}
