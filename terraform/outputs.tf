# The contract with the chaoslab server: in AWS mode it reads `terraform output -json` and
# finds each participant's stack under stacks.value.<participant id>. README.md shows the shape.

output "stacks" {
  description = "Each participant's pipeline stack, keyed by participant id."
  value = {
    for participant, stack in module.stack : participant => {
      region         = stack.region
      bucket         = stack.bucket
      function_name  = stack.function_name
      dlq_url        = stack.dlq_url
      dlq_name       = stack.dlq_name
      csv_queue_url  = stack.csv_queue_url
      csv_queue_name = stack.csv_queue_name
      topic_arn      = stack.topic_arn
      topic_name     = stack.topic_name
      dashboard_name = stack.dashboard_name
      parameter_name = stack.parameter_name
      suffix         = stack.suffix
    }
  }
}

output "control_plane_policy_arn" {
  description = "The managed policy granting the chaoslab server what it does to every stack; attach it to the role, user or permission set the server runs as (README.md)."
  value       = aws_iam_policy.control_plane.arn
}
