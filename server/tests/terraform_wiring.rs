#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The Terraform under `terraform/` wires the lab's pipeline. Terraform cannot run here (no
//! providers, no account), so these tests read the `.tf` files and the dashboard template and
//! check the facts the lab teaches and the server relies on: which objects invoke the function,
//! how often a failed event is retried and where it lands, what the function may touch, what
//! the dashboard measures and which fields `terraform output -json` gives the server.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use hcl::expr::TemplateExpr;
use hcl::{Block, BlockLabel, Body, Expression, Structure};
use serde_json::{Map, Value};

/// Every field of one stack, in the module's outputs and in the root's `stacks` output.
const STACK_FIELDS: [&str; 12] = [
    "region",
    "bucket",
    "function_name",
    "dlq_url",
    "dlq_name",
    "csv_queue_url",
    "csv_queue_name",
    "topic_arn",
    "topic_name",
    "dashboard_name",
    "parameter_name",
    "suffix",
];

// ---------------------------------------------------------------------------------------------
// The S3 → Lambda → S3 → SNS → SQS wiring
// ---------------------------------------------------------------------------------------------

#[test]
fn bucket_invokes_the_function_for_new_json_under_input() {
    let module = pipeline_module();
    let notification = resource(&module, "aws_s3_bucket_notification", "pipeline");
    assert_wired(notification, &[("bucket", "aws_s3_bucket.pipeline.id")]);

    let to_function = single_block(notification, "lambda_function");
    assert_wired(
        to_function,
        &[
            ("filter_prefix", "input/"),
            ("filter_suffix", ".json"),
            ("events", r#"["s3:ObjectCreated:*"]"#),
            ("lambda_function_arn", "aws_lambda_function.etl.arn"),
        ],
    );
}

#[test]
fn bucket_publishes_new_csv_under_output_to_the_topic() {
    let module = pipeline_module();
    let notification = resource(&module, "aws_s3_bucket_notification", "pipeline");

    let to_topic = single_block(notification, "topic");
    assert_wired(
        to_topic,
        &[
            ("filter_prefix", "output/"),
            ("filter_suffix", ".csv"),
            ("events", r#"["s3:ObjectCreated:*"]"#),
            ("topic_arn", "aws_sns_topic.csv.arn"),
        ],
    );
}

#[test]
fn bucket_notification_waits_for_the_lambda_permission_and_the_topic_policy() {
    let module = pipeline_module();
    let notification = resource(&module, "aws_s3_bucket_notification", "pipeline");
    let depends_on = strings(attribute(notification, "depends_on"));

    // S3 rejects a notification configuration whose destinations do not allow the bucket yet.
    for dependency in [
        "aws_lambda_permission.allow_bucket",
        "aws_sns_topic_policy.csv",
    ] {
        assert!(
            depends_on.iter().any(|item| item == dependency),
            "depends_on {depends_on:?} lacks {dependency}"
        );
    }

    let permission = resource(&module, "aws_lambda_permission", "allow_bucket");
    assert_wired(
        permission,
        &[
            ("action", "lambda:InvokeFunction"),
            ("principal", "s3.amazonaws.com"),
            ("source_arn", "aws_s3_bucket.pipeline.arn"),
            ("function_name", "aws_lambda_function.etl.function_name"),
        ],
    );
}

#[test]
fn csv_queue_receives_the_topic_notifications_in_their_sns_envelope() {
    let module = pipeline_module();
    let subscription = resource(&module, "aws_sns_topic_subscription", "csv_queue");

    assert_wired(
        subscription,
        &[
            ("topic_arn", "aws_sns_topic.csv.arn"),
            ("protocol", "sqs"),
            ("endpoint", "aws_sqs_queue.csv.arn"),
            ("raw_message_delivery", "false"),
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// The function and its asynchronous invocation
// ---------------------------------------------------------------------------------------------

#[test]
fn function_runs_on_provided_al2023_with_a_3_second_timeout_and_128_mb() {
    let module = pipeline_module();
    assert_eq!(variable_default(&module, "timeout_seconds"), "3");
    assert_eq!(variable_default(&module, "memory_mb"), "128");
    assert_eq!(variable_default(&module, "architecture"), "x86_64");

    let function = resource(&module, "aws_lambda_function", "etl");
    assert_wired(
        function,
        &[
            ("runtime", "provided.al2023"),
            ("handler", "bootstrap"),
            ("timeout", "var.timeout_seconds"),
            ("memory_size", "var.memory_mb"),
            ("architectures", "[var.architecture]"),
            ("filename", "var.lambda_zip"),
            ("source_code_hash", "filebase64sha256(var.lambda_zip)"),
            ("role", "aws_iam_role.etl.arn"),
        ],
    );
}

#[test]
fn function_finds_its_fault_injection_parameter_in_its_environment() {
    let module = pipeline_module();
    let function = resource(&module, "aws_lambda_function", "etl");
    let variables = object_entries(attribute(
        single_block(function, "environment"),
        "variables",
    ));

    assert_eq!(
        variables.get("FAILURE_INJECTION_PARAM").map(String::as_str),
        Some("aws_ssm_parameter.failure_injection.name"),
        "{variables:?}"
    );
}

#[test]
fn function_caches_its_fault_injection_parameter_for_failure_cache_ttl_seconds() {
    let module = pipeline_module();
    let function = resource(&module, "aws_lambda_function", "etl");
    let variables = object_entries(attribute(
        single_block(function, "environment"),
        "variables",
    ));
    assert_eq!(
        variables.get("FAILURE_CACHE_TTL").map(String::as_str),
        Some("var.failure_cache_ttl_seconds"),
        "{variables:?}"
    );
    assert_eq!(variable_default(&module, "failure_cache_ttl_seconds"), "5");

    // The root's variable reaches every stack, with the same default (README.md sizes it).
    let root = root_module();
    assert_eq!(variable_default(&root, "failure_cache_ttl_seconds"), "5");
    let (_, stack) = labelled_blocks(&root, "module")
        .find(|(labels, _)| labels[0] == "stack")
        .expect("module \"stack\"");
    assert_wired(
        stack,
        &[("failure_cache_ttl_seconds", "var.failure_cache_ttl_seconds")],
    );
}

#[test]
fn a_participants_function_settings_survive_the_next_apply() {
    // The function page's `function_settings` entry reaches that participant's stack; a setting
    // left out is null, which the module's non-nullable variables read as their default (the
    // defaults the page leaves out of the entry).
    let module = pipeline_module();
    let root = root_module();
    assert_eq!(variable_default(&root, "function_settings"), "{}");
    let (_, stack) = labelled_blocks(&root, "module")
        .find(|(labels, _)| labels[0] == "stack")
        .expect("module \"stack\"");
    for (name, default) in [
        ("timeout_seconds", "3"),
        ("memory_mb", "128"),
        ("maximum_retry_attempts", "2"),
        ("maximum_event_age_seconds", "21600"),
        ("reserved_concurrency", "-1"),
    ] {
        assert_eq!(variable_default(&module, name), default, "{name}");
        assert_eq!(
            text(attribute(variable(&module, name), "nullable")),
            "false",
            "{name}: null must mean the default"
        );
        assert_wired(
            stack,
            &[(
                name,
                &format!("try(var.function_settings[each.key].{name}, null)"),
            )],
        );
    }
    let function = resource(&module, "aws_lambda_function", "etl");
    assert_wired(
        function,
        &[("reserved_concurrent_executions", "var.reserved_concurrency")],
    );
}

#[test]
fn failed_events_are_retried_twice_by_default() {
    let module = pipeline_module();
    assert_eq!(variable_default(&module, "maximum_retry_attempts"), "2");
    assert_eq!(
        variable_default(&module, "maximum_event_age_seconds"),
        "21600"
    );

    let invoke_config = resource(&module, "aws_lambda_function_event_invoke_config", "etl");
    assert_wired(
        invoke_config,
        &[
            ("function_name", "aws_lambda_function.etl.function_name"),
            ("maximum_retry_attempts", "var.maximum_retry_attempts"),
            (
                "maximum_event_age_in_seconds",
                "var.maximum_event_age_seconds",
            ),
        ],
    );
}

#[test]
fn exhausted_events_go_to_the_dead_letter_queue() {
    let module = pipeline_module();
    let function = resource(&module, "aws_lambda_function", "etl");

    assert_wired(
        single_block(function, "dead_letter_config"),
        &[("target_arn", "aws_sqs_queue.dlq.arn")],
    );
    assert_wired(
        resource(&module, "aws_sqs_queue", "dlq"),
        &[("name", "local.dlq_name")],
    );
}

#[test]
fn function_logs_to_a_log_group_with_a_short_retention() {
    let module = pipeline_module();
    let log_group = resource(&module, "aws_cloudwatch_log_group", "etl");
    assert_wired(
        log_group,
        &[
            ("name", "local.log_group_name"),
            ("retention_in_days", "local.log_retention_days"),
        ],
    );

    assert_eq!(
        local(&module, "log_group_name"),
        "/aws/lambda/${local.function_name}"
    );
    let retention: u32 = local(&module, "log_retention_days").parse().unwrap();
    assert!(
        (1..=30).contains(&retention),
        "{retention} days is not short"
    );
}

#[test]
fn fault_injection_parameter_starts_disabled_and_keeps_runtime_changes() {
    let module = pipeline_module();
    let parameter = resource(&module, "aws_ssm_parameter", "failure_injection");
    assert_wired(
        parameter,
        &[("name", "local.parameter_name"), ("type", "String")],
    );

    let Expression::FuncCall(encode) = attribute(parameter, "value") else {
        panic!("the parameter value should be jsonencode({{...}})");
    };
    assert_eq!(encode.name.to_string(), "jsonencode");
    let document = object_entries(&encode.args[0]);
    assert_eq!(document["isEnabled"], "false");
    for key in [
        "failureMode",
        "rate",
        "minLatency",
        "maxLatency",
        "exceptionMsg",
        "statusCode",
    ] {
        assert!(document.contains_key(key), "missing {key} in {document:?}");
    }

    // The lab changes the value at run time; `terraform apply` must leave it alone.
    assert_wired(
        single_block(parameter, "lifecycle"),
        &[("ignore_changes", "[value]")],
    );
}

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------

#[test]
fn every_name_carries_one_sixteen_hex_digit_suffix() {
    let module = pipeline_module();
    assert_wired(
        resource(&module, "random_id", "suffix"),
        &[("byte_length", "8")],
    );
    assert_eq!(local(&module, "suffix"), "random_id.suffix.hex");

    for (name, value) in [
        ("bucket_name", "chaos-bucket-${local.suffix}"),
        ("function_name", "ChaosTransformer-${local.suffix}"),
        ("dlq_name", "chaos-error-queue-${local.suffix}"),
        ("csv_queue_name", "chaos-csv-queue-${local.suffix}"),
        ("topic_name", "chaos-csv-topic-${local.suffix}"),
        ("dashboard_name", "chaos-dashboard-${local.suffix}"),
        (
            "parameter_name",
            "/chaoslab/${local.suffix}/failure-injection",
        ),
    ] {
        assert_eq!(local(&module, name), value, "local.{name}");
    }

    for (kind, name, key) in [
        ("aws_s3_bucket", "pipeline", "bucket"),
        ("aws_lambda_function", "etl", "function_name"),
        ("aws_sqs_queue", "csv", "name"),
        ("aws_sns_topic", "csv", "name"),
        ("aws_cloudwatch_dashboard", "pipeline", "dashboard_name"),
    ] {
        let value = text(attribute(resource(&module, kind, name), key));
        assert!(value.starts_with("local."), "{kind}.{name}.{key} = {value}");
    }
}

// ---------------------------------------------------------------------------------------------
// The bucket
// ---------------------------------------------------------------------------------------------

#[test]
fn bucket_blocks_public_access_and_encrypts_objects() {
    let module = pipeline_module();
    assert_wired(
        resource(&module, "aws_s3_bucket_public_access_block", "pipeline"),
        &[
            ("bucket", "aws_s3_bucket.pipeline.id"),
            ("block_public_acls", "true"),
            ("block_public_policy", "true"),
            ("ignore_public_acls", "true"),
            ("restrict_public_buckets", "true"),
        ],
    );

    let encryption = resource(
        &module,
        "aws_s3_bucket_server_side_encryption_configuration",
        "pipeline",
    );
    assert_wired(encryption, &[("bucket", "aws_s3_bucket.pipeline.id")]);
    let rule = single_block(encryption, "rule");
    assert_wired(
        single_block(rule, "apply_server_side_encryption_by_default"),
        &[("sse_algorithm", "AES256")],
    );
}

#[test]
fn input_and_output_objects_expire_after_a_few_days() {
    let module = pipeline_module();
    let lifecycle = resource(&module, "aws_s3_bucket_lifecycle_configuration", "pipeline");
    assert_wired(lifecycle, &[("bucket", "aws_s3_bucket.pipeline.id")]);

    let mut expiring = BTreeSet::new();
    for rule in blocks(lifecycle.body(), "rule") {
        assert_wired(rule, &[("status", "Enabled")]);
        if let Some(expiration) = blocks(rule.body(), "expiration").next() {
            assert_wired(expiration, &[("days", "var.object_expiration_days")]);
            expiring.insert(text(attribute(single_block(rule, "filter"), "prefix")));
        }
    }
    assert_eq!(
        expiring,
        BTreeSet::from(["input/".to_owned(), "output/".to_owned()])
    );

    let days: u32 = variable_default(&module, "object_expiration_days")
        .parse()
        .unwrap();
    assert!((1..=7).contains(&days), "{days} days is not a few");
}

// ---------------------------------------------------------------------------------------------
// Least privilege
// ---------------------------------------------------------------------------------------------

#[test]
fn execution_role_grants_only_what_the_function_does() {
    let module = pipeline_module();
    let policy = data_source(&module, "aws_iam_policy_document", "etl");

    let mut granted: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for statement in blocks(policy.body(), "statement") {
        let resources = strings(attribute(statement, "resources"));
        for action in strings(attribute(statement, "actions")) {
            granted.entry(action).or_default().extend(resources.clone());
        }
    }

    let expected: BTreeMap<String, Vec<String>> = [
        ("s3:GetObject", "${aws_s3_bucket.pipeline.arn}/input/*"),
        ("s3:PutObject", "${aws_s3_bucket.pipeline.arn}/output/*"),
        ("sqs:SendMessage", "aws_sqs_queue.dlq.arn"),
        (
            "ssm:GetParameter",
            "aws_ssm_parameter.failure_injection.arn",
        ),
        (
            "logs:CreateLogStream",
            "${aws_cloudwatch_log_group.etl.arn}:*",
        ),
        ("logs:PutLogEvents", "${aws_cloudwatch_log_group.etl.arn}:*"),
        ("cloudwatch:PutMetricData", "*"),
    ]
    .into_iter()
    .map(|(action, resource)| (action.to_owned(), vec![resource.to_owned()]))
    .collect();
    assert_eq!(granted, expected);

    assert_wired(
        resource(&module, "aws_iam_role_policy", "etl"),
        &[
            ("role", "aws_iam_role.etl.id"),
            ("policy", "data.aws_iam_policy_document.etl.json"),
        ],
    );
}

#[test]
fn no_policy_statement_grants_a_wildcard_beyond_metrics_and_logs() {
    let module = pipeline_module();
    let documents = data_sources(&module, "aws_iam_policy_document");
    assert!(
        documents.len() >= 4,
        "expected the role, trust, topic and queue policies"
    );

    for (document, policy) in documents {
        for statement in blocks(policy.body(), "statement") {
            let place = format!("{document}/{}", optional_text(statement, "sid"));
            for forbidden in ["not_actions", "not_resources", "not_principals"] {
                assert!(
                    optional_attribute(statement, forbidden).is_none(),
                    "{place}: {forbidden}"
                );
            }
            assert_eq!(text(attribute(statement, "effect")), "Allow", "{place}");

            let actions = strings(attribute(statement, "actions"));
            assert!(!actions.is_empty(), "{place}: no actions");
            for action in &actions {
                assert!(!action.contains('*'), "{place}: wildcard action {action}");
            }
            if is_trust_policy(&actions) {
                continue;
            }

            let resources = strings(attribute(statement, "resources"));
            assert!(!resources.is_empty(), "{place}: no explicit resource");
            for resource in &resources {
                if resource == "*" {
                    assert!(
                        actions.iter().all(|action| may_use_any_resource(action)),
                        "{place}: \"*\" resource for {actions:?}"
                    );
                } else {
                    assert!(
                        names_a_resource_of_this_stack(resource),
                        "{place}: resource {resource} is not one of this stack's resources"
                    );
                }
            }
        }
    }
}

#[test]
fn only_the_lambda_service_assumes_the_execution_role() {
    let module = pipeline_module();
    let trust = data_source(&module, "aws_iam_policy_document", "lambda_assume_role");
    let statement = single_block(trust, "statement");

    assert_wired(statement, &[("actions", r#"["sts:AssumeRole"]"#)]);
    assert_eq!(principals(statement), ["Service:lambda.amazonaws.com"]);
    assert_wired(
        resource(&module, "aws_iam_role", "etl"),
        &[(
            "assume_role_policy",
            "data.aws_iam_policy_document.lambda_assume_role.json",
        )],
    );
}

#[test]
fn only_this_stacks_bucket_publishes_to_the_topic() {
    let module = pipeline_module();
    let policy = data_source(&module, "aws_iam_policy_document", "topic_accepts_bucket");
    let statement = single_block(policy, "statement");

    assert_wired(
        statement,
        &[
            ("actions", r#"["SNS:Publish"]"#),
            ("resources", "[aws_sns_topic.csv.arn]"),
        ],
    );
    assert_eq!(principals(statement), ["Service:s3.amazonaws.com"]);
    let conditions = conditions(statement);
    assert_eq!(conditions["aws:SourceArn"], ["aws_s3_bucket.pipeline.arn"]);
    assert_eq!(conditions["aws:SourceAccount"], ["local.account_id"]);

    assert_wired(
        resource(&module, "aws_sns_topic_policy", "csv"),
        &[
            ("arn", "aws_sns_topic.csv.arn"),
            (
                "policy",
                "data.aws_iam_policy_document.topic_accepts_bucket.json",
            ),
        ],
    );
}

#[test]
fn only_this_stacks_topic_sends_to_the_csv_queue() {
    let module = pipeline_module();
    let policy = data_source(
        &module,
        "aws_iam_policy_document",
        "csv_queue_accepts_topic",
    );
    let statement = single_block(policy, "statement");

    assert_wired(
        statement,
        &[
            ("actions", r#"["sqs:SendMessage"]"#),
            ("resources", "[aws_sqs_queue.csv.arn]"),
        ],
    );
    assert_eq!(principals(statement), ["Service:sns.amazonaws.com"]);
    assert_eq!(
        conditions(statement)["aws:SourceArn"],
        ["aws_sns_topic.csv.arn"]
    );

    assert_wired(
        resource(&module, "aws_sqs_queue_policy", "csv"),
        &[
            ("queue_url", "aws_sqs_queue.csv.url"),
            (
                "policy",
                "data.aws_iam_policy_document.csv_queue_accepts_topic.json",
            ),
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// The control plane's policy (terraform/control_plane.tf)
// ---------------------------------------------------------------------------------------------

/// What the chaoslab server calls in AWS mode (actions), and on which of every stack's resources
/// (the root's locals, or object paths under the buckets).
const CONTROL_PLANE_GRANTS: &[(&[&str], &[&str])] = &[
    // Faults: read and set the fault-injection document (a reset puts the initial one back).
    (
        &["ssm:GetParameter", "ssm:PutParameter"],
        &["local.stack_parameters"],
    ),
    // The function: its settings, its asynchronous invocation, its concurrency, the test
    // invocation and the redrive's asynchronous invocations.
    (
        &[
            "lambda:GetFunctionConfiguration",
            "lambda:UpdateFunctionConfiguration",
            "lambda:GetFunctionEventInvokeConfig",
            "lambda:PutFunctionEventInvokeConfig",
            "lambda:GetFunctionConcurrency",
            "lambda:PutFunctionConcurrency",
            "lambda:DeleteFunctionConcurrency",
            "lambda:InvokeFunction",
        ],
        &["local.stack_functions"],
    ),
    // The dead-letter queue's list and redrive.
    (
        &[
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
            "sqs:ChangeMessageVisibility",
        ],
        &["local.stack_dlqs"],
    ),
    // The subscriber.
    (
        &["sqs:ReceiveMessage", "sqs:DeleteMessage"],
        &["local.stack_csv_queues"],
    ),
    // A reset: both queues purged, input/ and output/ emptied.
    (
        &["sqs:PurgeQueue"],
        &["local.stack_dlqs", "local.stack_csv_queues"],
    ),
    (&["s3:ListBucket"], &["local.stack_buckets"]),
    (
        &["s3:DeleteObject"],
        &[
            "${local.stack_buckets}/input/*",
            "${local.stack_buckets}/output/*",
        ],
    ),
    // The publisher.
    (&["s3:PutObject"], &["${local.stack_buckets}/input/*"]),
    // The dashboard and the accounting: GetMetricData takes no resource-level permissions.
    (&["cloudwatch:GetMetricData"], &["*"]),
];

#[test]
fn control_plane_policy_grants_exactly_what_the_server_calls() {
    let root = root_module();
    let policy = data_source(&root, "aws_iam_policy_document", "control_plane");

    let mut granted: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for statement in blocks(policy.body(), "statement") {
        let place = format!("control_plane/{}", optional_text(statement, "sid"));
        assert_eq!(text(attribute(statement, "effect")), "Allow", "{place}");
        for forbidden in ["not_actions", "not_resources", "principals"] {
            assert!(
                optional_attribute(statement, forbidden).is_none()
                    && blocks(statement.body(), forbidden).next().is_none(),
                "{place}: {forbidden}"
            );
        }
        let resources = strings(attribute(statement, "resources"));
        for action in strings(attribute(statement, "actions")) {
            assert!(!action.contains('*'), "{place}: wildcard action {action}");
            granted
                .entry(action)
                .or_default()
                .extend(resources.iter().cloned());
        }
    }

    let mut expected: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (actions, resources) in CONTROL_PLANE_GRANTS {
        for action in *actions {
            expected
                .entry((*action).to_owned())
                .or_default()
                .extend(resources.iter().map(|resource| (*resource).to_owned()));
        }
    }
    assert_eq!(granted, expected);

    assert_wired(
        resource(&root, "aws_iam_policy", "control_plane"),
        &[("policy", "data.aws_iam_policy_document.control_plane.json")],
    );
    let (_, output) = labelled_blocks(&root, "output")
        .find(|(labels, _)| labels[0] == "control_plane_policy_arn")
        .expect("output \"control_plane_policy_arn\"");
    assert_wired(output, &[("value", "aws_iam_policy.control_plane.arn")]);
}

#[test]
fn control_plane_policy_names_every_stacks_resources_in_this_account_and_region() {
    let root = root_module();
    let module = pipeline_module();
    let every_stack = |name: &str| local(&module, name).replace("${local.suffix}", "*");

    let account_and_region = "${var.region}:${local.account_id}";
    for (pattern, service, resource) in [
        (
            "stack_functions",
            "lambda",
            format!("function:{}", every_stack("function_name")),
        ),
        (
            "stack_parameters",
            "ssm",
            format!("parameter{}", every_stack("parameter_name")),
        ),
        ("stack_dlqs", "sqs", every_stack("dlq_name")),
        ("stack_csv_queues", "sqs", every_stack("csv_queue_name")),
    ] {
        assert_eq!(
            local(&root, pattern),
            format!("arn:${{local.partition}}:{service}:{account_and_region}:{resource}"),
            "local.{pattern}"
        );
    }
    // A bucket ARN has no account: every statement on buckets requires this account's.
    assert_eq!(
        local(&root, "stack_buckets"),
        format!(
            "arn:${{local.partition}}:s3:::{}",
            every_stack("bucket_name")
        )
    );

    let policy = data_source(&root, "aws_iam_policy_document", "control_plane");
    for statement in blocks(policy.body(), "statement") {
        let sid = optional_text(statement, "sid");
        let actions = strings(attribute(statement, "actions"));
        let conditions = conditions(statement);
        if actions.iter().any(|action| action.starts_with("s3:")) {
            assert_eq!(
                conditions["s3:ResourceAccount"],
                ["local.account_id"],
                "{sid}"
            );
        }
        if actions.iter().any(|action| action == "s3:ListBucket") {
            assert_eq!(conditions["s3:prefix"], ["input/", "output/"], "{sid}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The dashboard
// ---------------------------------------------------------------------------------------------

#[test]
fn dashboard_template_is_json_with_every_lab_widget() {
    let titles: BTreeSet<String> = dashboard_widgets()
        .iter()
        .map(|widget| properties(widget)["title"].as_str().unwrap().to_owned())
        .collect();

    for title in [
        "CSV queue (SQS)",
        "ETL errors (dead-letter queue)",
        "SNS topic",
        "ETL function (Lambda)",
        "Percent in error",
        "Percent in flight",
    ] {
        assert!(
            titles.contains(title),
            "no widget titled {title:?} in {titles:?}"
        );
    }
}

#[test]
fn the_dashboard_says_how_each_measure_is_computed_in_its_one_text_widget() {
    let widgets = dashboard()["widgets"].as_array().unwrap().clone();
    let texts: Vec<&Value> = widgets
        .iter()
        .filter(|widget| widget["type"] != "metric")
        .collect();
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert_eq!(texts[0]["type"], "text");
    assert_eq!(texts[0]["width"], 24);
    let markdown = texts[0]["properties"]["markdown"].as_str().unwrap();
    for measure in [
        "*Percent in error*",
        "*Percent in flight*",
        "never drop below 0",
    ] {
        assert!(markdown.contains(measure), "{measure}: {markdown}");
    }
}

#[test]
fn dashboard_widgets_query_their_region_with_a_period_and_a_stat() {
    for widget in dashboard_widgets() {
        assert_eq!(widget["type"], "metric");
        for position in ["x", "y", "width", "height"] {
            assert!(widget[position].is_u64(), "{position} of {widget}");
        }
        let properties = properties(&widget);
        assert_eq!(properties["region"], "${region}");
        assert!(properties["period"].is_u64(), "{properties:?}");
        assert!(properties["stat"].is_string(), "{properties:?}");
        let view = properties["view"].as_str().unwrap();
        assert!(["timeSeries", "singleValue"].contains(&view), "view {view}");
    }
}

#[test]
fn dashboard_metrics_name_a_pipeline_resource_by_its_dimension() {
    for widget in dashboard_widgets() {
        let title = properties(&widget)["title"].as_str().unwrap().to_owned();
        for entry in expanded_metrics(&widget) {
            let DashboardEntry::Metric { fields, .. } = entry else {
                continue;
            };
            let [namespace, metric, dimension, value] = fields.as_slice() else {
                panic!("{title}: expected namespace, metric and one dimension: {fields:?}");
            };
            let (expected_dimension, resources, metrics) = match namespace.as_str() {
                "AWS/SQS" => (
                    "QueueName",
                    &["${csv_queue_name}", "${dlq_name}"][..],
                    SQS_METRICS,
                ),
                "AWS/SNS" => ("TopicName", &["${topic_name}"][..], SNS_METRICS),
                "AWS/Lambda" => ("FunctionName", &["${function_name}"][..], LAMBDA_METRICS),
                // The function's own metric, written in the embedded metric format.
                "chaoslab" => (
                    "FunctionName",
                    &["${function_name}"][..],
                    &["InjectedFaults"][..],
                ),
                other => panic!("{title}: namespace {other} is not part of the pipeline"),
            };
            assert_eq!(dimension, expected_dimension, "{title}: {fields:?}");
            assert!(resources.contains(&value.as_str()), "{title}: {fields:?}");
            assert!(metrics.contains(&metric.as_str()), "{title}: {fields:?}");
        }
    }
}

#[test]
fn dashboard_expressions_reference_only_ids_of_their_widget() {
    for widget in dashboard_widgets() {
        let title = properties(&widget)["title"].as_str().unwrap().to_owned();
        let entries = expanded_metrics(&widget);
        let ids: Vec<&str> = entries.iter().filter_map(DashboardEntry::id).collect();
        let unique: BTreeSet<&str> = ids.iter().copied().collect();
        assert_eq!(ids.len(), unique.len(), "{title}: duplicate ids {ids:?}");

        for entry in &entries {
            let DashboardEntry::Expression { expression, id } = entry else {
                continue;
            };
            assert!(
                expression
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || " _.,+-*/()".contains(c)),
                "{title}: {expression} is not plain metric math"
            );
            // Function names (FILL) are not ids.
            for referenced in identifiers(expression)
                .into_iter()
                .filter(|token| token.starts_with(|c: char| c.is_ascii_lowercase()))
            {
                assert!(
                    unique.contains(referenced.as_str()),
                    "{title}: {expression} uses {referenced}"
                );
                assert_ne!(&referenced, id, "{title}: {expression} references itself");
            }
        }
    }
}

#[test]
fn percent_in_error_is_dead_letter_events_over_all_processed_objects() {
    let widget = dashboard_widget("Percent in error");
    assert_eq!(properties(&widget)["view"], "singleValue");
    let entries = expanded_metrics(&widget);

    // FILL: the DLQ reports nothing before its first message, and a pipeline that never
    // failed is 0% in error, not "no data".
    assert_eq!(
        expression_of(&entries, "e1"),
        "100 * FILL(m2, 0) / (FILL(m1, 0) + FILL(m2, 0))"
    );
    assert_hidden_metric(&entries, "m1", "NumberOfMessagesSent", "${csv_queue_name}");
    assert_hidden_metric(&entries, "m2", "NumberOfMessagesSent", "${dlq_name}");
}

#[test]
fn percent_in_flight_is_the_notifications_waiting_among_those_waiting_or_consumed() {
    let widget = dashboard_widget("Percent in flight");
    assert_eq!(properties(&widget)["view"], "singleValue");
    let entries = expanded_metrics(&widget);

    // Every term counts something that exists, so the share is never below 0 (sent minus
    // deleted was, whenever the subscriber drained an older backlog).
    assert_eq!(
        expression_of(&entries, "e2"),
        "100 * (m4 + m5) / (m4 + m5 + m3)"
    );
    assert_hidden_metric(
        &entries,
        "m4",
        "ApproximateNumberOfMessagesVisible",
        "${csv_queue_name}",
    );
    assert_hidden_metric(
        &entries,
        "m5",
        "ApproximateNumberOfMessagesNotVisible",
        "${csv_queue_name}",
    );
    assert_hidden_metric(
        &entries,
        "m3",
        "NumberOfMessagesDeleted",
        "${csv_queue_name}",
    );
}

#[test]
fn dashboard_placeholders_appear_only_inside_json_strings() {
    let text_placeholders = placeholders(&dashboard_text());
    let mut string_placeholders = Vec::new();
    collect_string_placeholders(&dashboard(), &mut string_placeholders);
    string_placeholders.sort();

    assert_eq!(text_placeholders, string_placeholders);
}

#[test]
fn module_fills_exactly_the_placeholders_the_dashboard_template_uses() {
    let module = pipeline_module();
    let dashboard = resource(&module, "aws_cloudwatch_dashboard", "pipeline");
    let Expression::FuncCall(call) = attribute(dashboard, "dashboard_body") else {
        panic!("dashboard_body should be templatefile(...)");
    };
    assert_eq!(call.name.to_string(), "templatefile");
    assert_eq!(
        text(&call.args[0]),
        "var.dashboard_file",
        "templatefile() should read the dashboard file the root passes (see the next test)"
    );

    let passed = object_entries(&call.args[1]);
    let used: BTreeSet<String> = placeholders(&dashboard_text()).into_iter().collect();
    assert_eq!(passed.keys().cloned().collect::<BTreeSet<_>>(), used);

    let expected = BTreeMap::from(
        [
            ("region", "data.aws_region.current.name"),
            ("function_name", "aws_lambda_function.etl.function_name"),
            ("csv_queue_name", "aws_sqs_queue.csv.name"),
            ("dlq_name", "aws_sqs_queue.dlq.name"),
            ("topic_name", "aws_sns_topic.csv.name"),
        ]
        .map(|(name, source)| (name.to_owned(), source.to_owned())),
    );
    assert_eq!(passed, expected);
}

#[test]
fn the_dashboard_file_variable_defaults_to_the_shared_dashboard_and_reaches_every_stack() {
    let root = root_module();
    // Relative to the root directory, where terraform runs, as lambda_zip is.
    let default = variable_default(&root, "dashboard_file");
    assert_eq!(
        fs::canonicalize(terraform_dir().join(&default)).unwrap(),
        fs::canonicalize(dashboard_path()).unwrap(),
        "dashboard_file should default to the dashboard.json the server compiles in"
    );
    let validations: Vec<String> = blocks(variable(&root, "dashboard_file").body(), "validation")
        .map(|validation| text(attribute(validation, "condition")))
        .collect();
    assert_eq!(validations, ["fileexists(var.dashboard_file)"]);

    let (_, stack) = labelled_blocks(&root, "module")
        .find(|(labels, _)| labels[0] == "stack")
        .expect("module \"stack\"");
    assert_wired(stack, &[("dashboard_file", "var.dashboard_file")]);

    // The module has no default of its own: the root's is the one default.
    let module = pipeline_module();
    assert!(
        optional_attribute(variable(&module, "dashboard_file"), "default").is_none(),
        "the module's dashboard_file should have no default"
    );
}

// ---------------------------------------------------------------------------------------------
// What the server reads
// ---------------------------------------------------------------------------------------------

#[test]
fn module_outputs_every_stack_field() {
    let module = pipeline_module();
    let outputs: BTreeSet<String> = labelled_blocks(&module, "output")
        .map(|(labels, _)| labels[0].clone())
        .collect();

    for field in STACK_FIELDS {
        assert!(outputs.contains(field), "module output {field} is missing");
    }
}

#[test]
fn root_maps_each_participant_to_every_stack_field() {
    let root = root_module();
    let stacks = labelled_blocks(&root, "output")
        .find(|(labels, _)| labels[0] == "stacks")
        .map(|(_, block)| block)
        .expect("output \"stacks\"");
    let Expression::ForExpr(for_each) = attribute(stacks, "value") else {
        panic!("stacks should be a for expression over module.stack");
    };
    assert_eq!(text(&for_each.collection_expr), "module.stack");
    let participant = for_each
        .key_var
        .as_ref()
        .expect("a key variable")
        .to_string();
    assert_eq!(
        text(for_each.key_expr.as_ref().expect("an object")),
        participant
    );

    let stack = for_each.value_var.to_string();
    let fields = object_entries(&for_each.value_expr);
    let expected: BTreeMap<String, String> = STACK_FIELDS
        .iter()
        .map(|field| ((*field).to_owned(), format!("{stack}.{field}")))
        .collect();
    assert_eq!(fields, expected);
}

#[test]
fn root_creates_one_stack_per_participant() {
    let root = root_module();
    let (_, stack) = labelled_blocks(&root, "module")
        .find(|(labels, _)| labels[0] == "stack")
        .expect("module \"stack\"");

    assert_wired(
        stack,
        &[
            ("source", "./modules/pipeline"),
            ("for_each", "toset(var.participants)"),
            ("participant", "each.key"),
            ("lambda_zip", "var.lambda_zip"),
            ("architecture", "var.architecture"),
        ],
    );

    assert_eq!(variable_default(&root, "region"), "us-east-1");
    assert_eq!(variable_default(&root, "architecture"), "x86_64");
    assert_eq!(
        variable_default(&root, "lambda_zip"),
        "../target/lambda/chaos-transformer/bootstrap.zip"
    );
    let validations: Vec<String> = blocks(variable(&root, "participants").body(), "validation")
        .map(|validation| text(attribute(validation, "condition")))
        .collect();
    assert!(
        validations
            .iter()
            .any(|condition| condition.contains("distinct(var.participants)")),
        "participant ids must be unique: {validations:?}"
    );
    assert!(
        validations
            .iter()
            .any(|condition| condition.contains("^[a-z0-9-]{1,32}$")),
        "participant ids must be checked against ^[a-z0-9-]{{1,32}}$: {validations:?}"
    );
}

#[test]
fn recorded_terraform_output_has_every_stack_field_and_matches_the_readme() {
    let recorded = read_json(&fixtures_dir().join("terraform_output.json"));
    let stacks = &recorded["stacks"];
    assert_eq!(stacks["sensitive"], false);

    let expected: BTreeSet<&str> = STACK_FIELDS.into_iter().collect();
    for (participant, stack) in stacks["value"].as_object().unwrap() {
        let fields: BTreeSet<&str> = stack
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(fields, expected, "stack of {participant}");
        assert!(stack.as_object().unwrap().values().all(Value::is_string));
    }

    let readme = fs::read_to_string(terraform_dir().join("README.md")).unwrap();
    let documented = readme
        .split("```json")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("README.md documents the output in a ```json block");
    let documented: Value = serde_json::from_str(documented).unwrap();
    assert_eq!(documented, recorded, "README.md and the fixture disagree");
}

#[test]
fn both_configurations_pin_terraform_and_provider_versions() {
    for body in [root_module(), pipeline_module()] {
        let settings = blocks(&body, "terraform")
            .next()
            .expect("a terraform block");
        assert_eq!(text(attribute(settings, "required_version")), ">= 1.5");
        let providers = single_block(settings, "required_providers");
        for (name, source, version) in [
            ("aws", "hashicorp/aws", "~> 5.0"),
            ("random", "hashicorp/random", "~> 3.6"),
        ] {
            let requirement = object_entries(attribute(providers, name));
            assert_eq!(requirement["source"], source);
            assert_eq!(requirement["version"], version);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Metric names CloudWatch publishes for each namespace the dashboard may use (DESIGN.md)
// ---------------------------------------------------------------------------------------------

const SQS_METRICS: &[&str] = &[
    "NumberOfMessagesSent",
    "NumberOfMessagesReceived",
    "NumberOfMessagesDeleted",
    "ApproximateNumberOfMessagesVisible",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateAgeOfOldestMessage",
    "NumberOfEmptyReceives",
];
const SNS_METRICS: &[&str] = &[
    "NumberOfMessagesPublished",
    "NumberOfNotificationsDelivered",
    "NumberOfNotificationsFailed",
];
const LAMBDA_METRICS: &[&str] = &[
    "Invocations",
    "Errors",
    "Duration",
    "Throttles",
    "ConcurrentExecutions",
    "DeadLetterErrors",
    "AsyncEventsReceived",
    "AsyncEventAge",
];

// ---------------------------------------------------------------------------------------------
// Reading the Terraform
// ---------------------------------------------------------------------------------------------

fn terraform_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../terraform")
}

fn module_dir() -> PathBuf {
    terraform_dir().join("modules/pipeline")
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn root_module() -> Body {
    parse_configuration(&terraform_dir())
}

fn pipeline_module() -> Body {
    parse_configuration(&module_dir())
}

/// All `.tf` files of one directory, as Terraform sees them: one body.
fn parse_configuration(dir: &Path) -> Body {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "tf"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .tf files in {}", dir.display());

    files
        .iter()
        .flat_map(|file| {
            let source = fs::read_to_string(file).unwrap();
            hcl::parse(&source)
                .unwrap_or_else(|error| panic!("{}: {error}", file.display()))
                .into_inner()
        })
        .collect()
}

/// Top-level blocks of one kind (`resource`, `data`, `output`, ...) with their labels.
fn labelled_blocks<'a>(
    body: &'a Body,
    kind: &str,
) -> impl Iterator<Item = (Vec<String>, &'a Block)> + use<'a> {
    blocks(body, kind).map(|block| {
        let labels = block
            .labels()
            .iter()
            .map(|label| label_text(label).to_owned())
            .collect();
        (labels, block)
    })
}

fn label_text(label: &BlockLabel) -> &str {
    match label {
        BlockLabel::String(text) => text,
        BlockLabel::Identifier(identifier) => identifier.as_str(),
    }
}

fn blocks<'a>(body: &'a Body, identifier: &str) -> impl Iterator<Item = &'a Block> + use<'a> {
    let identifier = identifier.to_owned();
    body.blocks()
        .filter(move |block| block.identifier() == identifier)
}

fn resource<'a>(body: &'a Body, kind: &str, name: &str) -> &'a Block {
    labelled_block(body, "resource", kind, name)
}

fn data_source<'a>(body: &'a Body, kind: &str, name: &str) -> &'a Block {
    labelled_block(body, "data", kind, name)
}

fn data_sources<'a>(body: &'a Body, kind: &str) -> Vec<(String, &'a Block)> {
    labelled_blocks(body, "data")
        .filter(|(labels, _)| labels[0] == kind)
        .map(|(labels, block)| (labels[1].clone(), block))
        .collect()
}

fn labelled_block<'a>(body: &'a Body, identifier: &str, kind: &str, name: &str) -> &'a Block {
    labelled_blocks(body, identifier)
        .find(|(labels, _)| labels == &[kind, name])
        .map(|(_, block)| block)
        .unwrap_or_else(|| panic!("no {identifier} \"{kind}\" \"{name}\""))
}

fn variable<'a>(body: &'a Body, name: &str) -> &'a Block {
    labelled_blocks(body, "variable")
        .find(|(labels, _)| labels[0] == name)
        .map(|(_, block)| block)
        .unwrap_or_else(|| panic!("no variable \"{name}\""))
}

fn variable_default(body: &Body, name: &str) -> String {
    text(attribute(variable(body, name), "default"))
}

/// The text of `local.<name>`, from whichever `locals` block defines it.
fn local(body: &Body, name: &str) -> String {
    blocks(body, "locals")
        .find_map(|locals| optional_attribute(locals, name))
        .map(text)
        .unwrap_or_else(|| panic!("no local \"{name}\""))
}

/// The single nested block of a block's body, e.g. a function's `dead_letter_config`.
fn single_block<'a>(parent: &'a Block, identifier: &str) -> &'a Block {
    let found: Vec<&Block> = blocks(parent.body(), identifier).collect();
    assert_eq!(found.len(), 1, "expected one {identifier} block");
    found[0]
}

/// Asserts each attribute of a block reads as expected (see [`text`]): the block is wired to
/// what the lab needs.
#[track_caller]
fn assert_wired(block: &Block, expected: &[(&str, &str)]) {
    let labels: Vec<&str> = block.labels().iter().map(label_text).collect();
    for (key, value) in expected {
        assert_eq!(
            text(attribute(block, key)),
            *value,
            "{} {labels:?}: {key}",
            block.identifier()
        );
    }
}

fn optional_attribute<'a>(block: &'a Block, key: &str) -> Option<&'a Expression> {
    block.body().iter().find_map(|structure| match structure {
        Structure::Attribute(attribute) if attribute.key() == key => Some(attribute.expr()),
        _ => None,
    })
}

fn attribute<'a>(block: &'a Block, key: &str) -> &'a Expression {
    optional_attribute(block, key).unwrap_or_else(|| {
        let labels: Vec<&str> = block.labels().iter().map(label_text).collect();
        panic!("{} {labels:?} has no attribute {key}", block.identifier())
    })
}

fn optional_text(block: &Block, key: &str) -> String {
    optional_attribute(block, key).map(text).unwrap_or_default()
}

/// An expression as it reads in the `.tf` file, without the quotes of a top-level string or
/// template: `"input/"` gives `input/`, `"${x}/y"` gives `${x}/y`, a list gives
/// `["s3:ObjectCreated:*"]` or `[var.architecture]` on one line, and anything else its HCL text.
fn text(expression: &Expression) -> String {
    match expression {
        Expression::Array(elements) => {
            let elements: Vec<String> = elements.iter().map(ToString::to_string).collect();
            format!("[{}]", elements.join(", "))
        }
        Expression::String(string) => string.clone(),
        Expression::TemplateExpr(template) => match template.as_ref() {
            TemplateExpr::QuotedString(raw) => raw.clone(),
            TemplateExpr::Heredoc(heredoc) => heredoc.template.clone(),
        },
        other => other.to_string(),
    }
}

/// The elements of an HCL list, each as [`text`].
fn strings(expression: &Expression) -> Vec<String> {
    let Expression::Array(elements) = expression else {
        panic!("expected a list, found {expression}");
    };
    elements.iter().map(text).collect()
}

/// The entries of an HCL object, keys and values each as [`text`].
fn object_entries(expression: &Expression) -> BTreeMap<String, String> {
    let Expression::Object(object) = expression else {
        panic!("expected an object, found {expression}");
    };
    object
        .iter()
        .map(|(key, value)| (key.to_string(), text(value)))
        .collect()
}

/// A policy statement's principals as `Type:identifier`.
fn principals(statement: &Block) -> Vec<String> {
    blocks(statement.body(), "principals")
        .flat_map(|principal| {
            let kind = text(attribute(principal, "type"));
            strings(attribute(principal, "identifiers"))
                .into_iter()
                .map(move |identifier| format!("{kind}:{identifier}"))
        })
        .collect()
}

/// A policy statement's conditions, condition key to values.
fn conditions(statement: &Block) -> BTreeMap<String, Vec<String>> {
    blocks(statement.body(), "condition")
        .map(|condition| {
            (
                text(attribute(condition, "variable")),
                strings(attribute(condition, "values")),
            )
        })
        .collect()
}

fn is_trust_policy(actions: &[String]) -> bool {
    actions == ["sts:AssumeRole"]
}

/// CloudWatch `PutMetricData` takes no resource-level permissions, and log actions are scoped by
/// ARN pattern: only these may carry a `"*"` resource.
fn may_use_any_resource(action: &str) -> bool {
    action.starts_with("logs:") || action == "cloudwatch:PutMetricData"
}

/// A resource attribute of this stack, possibly narrowed by a path: `aws_sqs_queue.dlq.arn`
/// or `${aws_s3_bucket.pipeline.arn}/input/*`.
fn names_a_resource_of_this_stack(resource: &str) -> bool {
    resource.starts_with("aws_") || resource.starts_with("${aws_")
}

// ---------------------------------------------------------------------------------------------
// Reading the dashboard
// ---------------------------------------------------------------------------------------------

/// One entry of a widget's `metrics`, with the `"."` shorthand expanded.
#[derive(Debug)]
enum DashboardEntry {
    Metric {
        fields: Vec<String>,
        options: Map<String, Value>,
    },
    Expression {
        expression: String,
        id: String,
    },
}

impl DashboardEntry {
    fn id(&self) -> Option<&str> {
        match self {
            DashboardEntry::Metric { options, .. } => options.get("id").and_then(Value::as_str),
            DashboardEntry::Expression { id, .. } => Some(id),
        }
    }
}

fn dashboard_path() -> PathBuf {
    terraform_dir().join("dashboard.json")
}

fn dashboard_text() -> String {
    fs::read_to_string(dashboard_path()).unwrap()
}

fn read_json(path: &Path) -> Value {
    let source = fs::read_to_string(path).unwrap();
    serde_json::from_str(&source).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn dashboard() -> Value {
    read_json(&dashboard_path())
}

/// The dashboard's metric widgets (its text widget explains the measures).
fn dashboard_widgets() -> Vec<Value> {
    dashboard()["widgets"]
        .as_array()
        .expect("a widgets array")
        .iter()
        .filter(|widget| widget["type"] == "metric")
        .cloned()
        .collect()
}

fn dashboard_widget(title: &str) -> Value {
    dashboard_widgets()
        .into_iter()
        .find(|widget| properties(widget)["title"] == title)
        .unwrap_or_else(|| panic!("no widget titled {title:?}"))
}

fn properties(widget: &Value) -> &Map<String, Value> {
    widget["properties"].as_object().expect("widget properties")
}

/// A widget's metrics in CloudWatch's array form. A metric entry is strings (namespace, metric
/// name, dimension name/value pairs) and an optional options object; `"."` repeats the previous
/// metric entry's value in that position. An expression entry is one object with `expression`.
fn expanded_metrics(widget: &Value) -> Vec<DashboardEntry> {
    let metrics = properties(widget)["metrics"]
        .as_array()
        .expect("a metrics array");
    let mut previous: Vec<String> = Vec::new();
    let mut entries = Vec::new();

    for entry in metrics {
        let parts = entry.as_array().expect("each metric entry is an array");
        if let [Value::Object(object)] = parts.as_slice()
            && let Some(expression) = object.get("expression")
        {
            entries.push(DashboardEntry::Expression {
                expression: expression.as_str().unwrap().to_owned(),
                id: object["id"]
                    .as_str()
                    .expect("an expression needs an id")
                    .to_owned(),
            });
            continue;
        }

        let (options, names) = match parts.split_last() {
            Some((Value::Object(options), names)) => (options.clone(), names),
            _ => (Map::new(), parts.as_slice()),
        };
        let fields: Vec<String> = names
            .iter()
            .enumerate()
            .map(
                |(position, name)| match name.as_str().expect("metric fields are strings") {
                    "." => previous
                        .get(position)
                        .unwrap_or_else(|| panic!("\".\" at {position} with nothing before it"))
                        .clone(),
                    name => name.to_owned(),
                },
            )
            .collect();
        previous.clone_from(&fields);
        entries.push(DashboardEntry::Metric { fields, options });
    }
    entries
}

fn expression_of<'a>(entries: &'a [DashboardEntry], id: &str) -> &'a str {
    entries
        .iter()
        .find_map(|entry| match entry {
            DashboardEntry::Expression {
                expression,
                id: entry_id,
            } if entry_id == id => Some(expression.as_str()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no expression {id}"))
}

/// Asserts that metric `id` is the SQS `metric` of `queue`, only an input to the expressions.
fn assert_hidden_metric(entries: &[DashboardEntry], id: &str, metric: &str, queue: &str) {
    let (fields, options) = entries
        .iter()
        .find_map(|entry| match entry {
            DashboardEntry::Metric { fields, options } if entry.id() == Some(id) => {
                Some((fields, options))
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("no metric {id}"));
    assert_eq!(fields, &["AWS/SQS", metric, "QueueName", queue], "{id}");
    assert_eq!(options.get("visible"), Some(&Value::Bool(false)), "{id}");
}

/// The metric ids an expression refers to.
fn identifiers(expression: &str) -> Vec<String> {
    expression
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|token| token.starts_with(|c: char| c.is_ascii_alphabetic()))
        .map(str::to_owned)
        .collect()
}

/// Every `${name}` in a text, sorted, with repeats.
fn placeholders(text: &str) -> Vec<String> {
    let mut found: Vec<String> = text
        .split("${")
        .skip(1)
        .map(|rest| {
            let end = rest.find('}').expect("an unterminated placeholder");
            rest[..end].to_owned()
        })
        .collect();
    found.sort();
    found
}

fn collect_string_placeholders(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::String(string) => found.extend(placeholders(string)),
        Value::Array(items) => {
            for item in items {
                collect_string_placeholders(item, found);
            }
        }
        Value::Object(object) => {
            for (key, item) in object {
                found.extend(placeholders(key));
                collect_string_placeholders(item, found);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}
