variable "region" {
  description = "AWS region every participant's stack is created in."
  type        = string
  default     = "us-east-1"
}

variable "participants" {
  description = "Participant ids, one pipeline stack each. The chaoslab server maps each id to its stack."
  type        = list(string)

  validation {
    condition     = length(distinct(var.participants)) == length(var.participants)
    error_message = "participants must not contain the same id twice."
  }

  validation {
    condition     = alltrue([for participant in var.participants : can(regex("^[a-z0-9-]{1,32}$", participant))])
    error_message = "Each participant id must be 1 to 32 characters of lowercase letters, digits and '-'."
  }
}

variable "lambda_zip" {
  description = "The ETL function's package, built by cargo lambda (see README.md). Relative to this directory."
  type        = string
  default     = "../target/lambda/chaos-transformer/bootstrap.zip"
}

variable "dashboard_file" {
  description = "CloudWatch dashboard body with $${name} placeholders, published as each stack's dashboard. Relative to this directory. Give the chaoslab server the same file with --dashboard."
  type        = string
  default     = "dashboard.json"

  validation {
    condition     = fileexists(var.dashboard_file)
    error_message = "dashboard_file must name an existing file, relative to this directory (the default is dashboard.json)."
  }
}

variable "architecture" {
  description = "Instruction set of the built package: x86_64 (cargo lambda --x86-64) or arm64 (--arm64)."
  type        = string
  default     = "x86_64"
}

variable "object_expiration_days" {
  description = "Days after which each bucket's input/ and output/ objects expire (S3 lifecycle rule)."
  type        = number
  default     = 3
}

variable "failure_cache_ttl_seconds" {
  description = "Seconds each warm ETL function instance caches its fault-injection parameter (FAILURE_CACHE_TTL). Size it with README.md: at least participants x concurrent instances per participant / 40."
  type        = number
  default     = 5
}

variable "function_settings" {
  description = "Per-participant changes to the ETL function, keyed by participant id, so that a change made in chaoslab's function page survives the next apply (the page shows the entry to add). A setting left out keeps the module's default: timeout 3 s, 128 MB, 2 retries, 6 h event age, no reserved concurrency (-1)."
  type = map(object({
    timeout_seconds           = optional(number)
    memory_mb                 = optional(number)
    maximum_retry_attempts    = optional(number)
    maximum_event_age_seconds = optional(number)
    reserved_concurrency      = optional(number)
  }))
  default = {}

  validation {
    condition     = alltrue([for participant in keys(var.function_settings) : contains(var.participants, participant)])
    error_message = "Every key of function_settings must be one of participants."
  }
}
