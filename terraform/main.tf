# One ETL pipeline stack per lab participant.

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Project   = "chaoslab"
      ManagedBy = "terraform"
    }
  }
}

module "stack" {
  source   = "./modules/pipeline"
  for_each = toset(var.participants)

  participant    = each.key
  lambda_zip     = var.lambda_zip
  architecture   = var.architecture
  dashboard_file = var.dashboard_file

  object_expiration_days    = var.object_expiration_days
  failure_cache_ttl_seconds = var.failure_cache_ttl_seconds

  # A participant's changes from the function page; null keeps the module's default.
  timeout_seconds           = try(var.function_settings[each.key].timeout_seconds, null)
  memory_mb                 = try(var.function_settings[each.key].memory_mb, null)
  maximum_retry_attempts    = try(var.function_settings[each.key].maximum_retry_attempts, null)
  maximum_event_age_seconds = try(var.function_settings[each.key].maximum_event_age_seconds, null)
  reserved_concurrency      = try(var.function_settings[each.key].reserved_concurrency, null)
}
