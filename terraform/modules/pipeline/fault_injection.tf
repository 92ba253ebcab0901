# The fault-injection switch the later chaos labs flip. The function reads the parameter named
# in FAILURE_INJECTION_PARAM; the initial document disables every fault.

resource "aws_ssm_parameter" "failure_injection" {
  #checkov:skip=CKV2_AWS_34:The lab's fault-injection switch, nothing secret; the server writes it back as a plain String and the function reads it without decryption
  name        = local.parameter_name
  description = "chaoslab fault-injection configuration for ${local.function_name}"
  type        = "String"
  value = jsonencode({
    isEnabled    = false
    failureMode  = "latency"
    rate         = 1
    minLatency   = 0
    maxLatency   = 0
    exceptionMsg = ""
    statusCode   = 404
    diskSpace    = 100
    denylist     = []
  })
  tags = local.tags

  # The lab changes the value at run time (console, CLI or the server); apply must not undo it.
  lifecycle {
    ignore_changes = [value]
  }
}
