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
}
