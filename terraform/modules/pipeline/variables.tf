variable "participant" {
  description = "Id of the lab participant who owns this stack. Used in tags only; names use the random suffix."
  type        = string
}

variable "lambda_zip" {
  description = "Path to the ETL function's deployment package (bootstrap.zip built by cargo lambda), relative to the directory terraform runs in."
  type        = string
}

variable "dashboard_file" {
  description = "Path to the CloudWatch dashboard body (a templatefile() with the stack's names as placeholders), relative to the directory terraform runs in."
  type        = string
}

variable "architecture" {
  description = "Instruction set the ETL function runs on. Must match the build: --x86-64 or --arm64."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be \"x86_64\" or \"arm64\"."
  }
}

variable "timeout_seconds" {
  description = "ETL function timeout. The lab teaches 3 seconds: a slow invocation fails with \"Task timed out after 3.00 seconds\"."
  type        = number
  default     = 3
  # null (an unset entry of the root's function_settings) means the default.
  nullable = false
}

variable "memory_mb" {
  description = "ETL function memory size in MB."
  type        = number
  default     = 128
  # null (an unset entry of the root's function_settings) means the default.
  nullable = false
}

variable "maximum_retry_attempts" {
  description = "Retries Lambda makes for a failed asynchronous invocation before sending the event to the dead-letter queue (0-2)."
  type        = number
  default     = 2
  # null (an unset entry of the root's function_settings) means the default.
  nullable = false

  validation {
    condition     = var.maximum_retry_attempts >= 0 && var.maximum_retry_attempts <= 2
    error_message = "maximum_retry_attempts must be between 0 and 2 (the Lambda limit)."
  }
}

variable "maximum_event_age_seconds" {
  description = "Oldest an asynchronous event may get, queued or retrying, before Lambda sends it to the dead-letter queue (60-21600)."
  type        = number
  default     = 21600
  # null (an unset entry of the root's function_settings) means the default.
  nullable = false

  validation {
    condition     = var.maximum_event_age_seconds >= 60 && var.maximum_event_age_seconds <= 21600
    error_message = "maximum_event_age_seconds must be between 60 and 21600 (the Lambda limits)."
  }
}

variable "reserved_concurrency" {
  description = "Concurrent executions reserved for the ETL function: 0-1000, or -1 for none (the account's unreserved pool)."
  type        = number
  default     = -1
  # null (an unset entry of the root's function_settings) means the default.
  nullable = false

  validation {
    condition     = var.reserved_concurrency >= -1 && var.reserved_concurrency <= 1000 && floor(var.reserved_concurrency) == var.reserved_concurrency
    error_message = "reserved_concurrency must be a whole number from -1 (none) to 1000."
  }
}

variable "failure_cache_ttl_seconds" {
  description = "Seconds each warm function instance caches the fault-injection parameter (its FAILURE_CACHE_TTL). A fault takes effect up to this long after it is set; see README.md for sizing it against SSM's GetParameter throughput."
  type        = number
  default     = 5

  validation {
    condition     = var.failure_cache_ttl_seconds >= 1 && floor(var.failure_cache_ttl_seconds) == var.failure_cache_ttl_seconds
    error_message = "failure_cache_ttl_seconds must be a whole number of seconds, at least 1."
  }
}

variable "object_expiration_days" {
  description = "Days after which the bucket's input/ and output/ objects expire (S3 lifecycle rule). A lab session lasts hours; the default leaves a few days to look at what it left."
  type        = number
  default     = 3

  validation {
    condition     = var.object_expiration_days >= 1 && floor(var.object_expiration_days) == var.object_expiration_days
    error_message = "object_expiration_days must be a whole number of days, at least 1."
  }
}

variable "tags" {
  description = "Extra tags for every resource of the stack."
  type        = map(string)
  default     = {}
}
