//! The stack's ETL function as the inspector shows it (Lambda's configuration, its
//! asynchronous-invocation settings, its dead-letter target) and its fault-injection parameter
//! in SSM.

use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput;
use aws_sdk_lambda::operation::get_function_event_invoke_config::GetFunctionEventInvokeConfigOutput;

use super::clients::RegionClients;
use super::errors::{Call, backend_error};
use crate::backend::function::ReservedConcurrency;
use crate::backend::{
    BackendError, FaultParameter, FunctionChange, FunctionConfiguration, StackNames,
};

/// Lambda's retries of a failed asynchronous event when the function has no event-invoke config.
pub const DEFAULT_MAXIMUM_RETRY_ATTEMPTS: u32 = 2;
/// Lambda's maximum event age when the function has no event-invoke config: 6 hours.
pub const DEFAULT_MAXIMUM_EVENT_AGE_SECONDS: u64 = 21_600;

fn non_negative(value: Option<i32>, default: u64) -> u64 {
    value
        .and_then(|value| u64::try_from(value).ok())
        .unwrap_or(default)
}

/// Reads the function's configuration: `GetFunctionConfiguration`,
/// `GetFunctionEventInvokeConfig` and `GetFunctionConcurrency`, at once.
pub async fn function_configuration(
    clients: &RegionClients,
    names: &StackNames,
) -> Result<FunctionConfiguration, BackendError> {
    let endpoint = clients.endpoint("lambda");
    let call = |action| Call {
        action,
        resource_kind: "function",
        resource_name: &names.function_name,
        endpoint: &endpoint,
    };
    let (configuration, invoke_config, concurrency) = tokio::join!(
        clients
            .lambda
            .get_function_configuration()
            .function_name(&names.function_name)
            .send(),
        clients
            .lambda
            .get_function_event_invoke_config()
            .function_name(&names.function_name)
            .send(),
        clients
            .lambda
            .get_function_concurrency()
            .function_name(&names.function_name)
            .send(),
    );
    let configuration = configuration
        .map_err(|error| backend_error(&call("lambda:GetFunctionConfiguration"), &error))?;
    // Without an event-invoke config Lambda applies its defaults (2 retries, 6 hours), so its
    // absence is not an error.
    let invoke_config = match invoke_config {
        Ok(output) => Some(output),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|error| error.is_resource_not_found_exception()) =>
        {
            None
        }
        Err(error) => {
            return Err(backend_error(
                &call("lambda:GetFunctionEventInvokeConfig"),
                &error,
            ));
        }
    };
    let concurrency = concurrency
        .map_err(|error| backend_error(&call("lambda:GetFunctionConcurrency"), &error))?;
    Ok(configuration_from(
        names,
        &configuration,
        invoke_config.as_ref(),
        concurrency.reserved_concurrent_executions(),
    ))
}

/// The inspector's view of Lambda's three answers. Absent settings take Lambda's defaults.
pub fn configuration_from(
    names: &StackNames,
    configuration: &GetFunctionConfigurationOutput,
    invoke_config: Option<&GetFunctionEventInvokeConfigOutput>,
    reserved_concurrency: Option<i32>,
) -> FunctionConfiguration {
    // The function's own DeadLetterConfig is what the lab's Terraform sets; an on-failure
    // destination plays the same role when there is no dead-letter queue.
    let dead_letter_target_arn = configuration
        .dead_letter_config()
        .and_then(|config| config.target_arn())
        .or_else(|| {
            invoke_config
                .and_then(|config| config.destination_config())
                .and_then(|destinations| destinations.on_failure())
                .and_then(|on_failure| on_failure.destination())
        })
        .unwrap_or_default()
        .to_owned();
    FunctionConfiguration {
        function_name: configuration
            .function_name()
            .unwrap_or(&names.function_name)
            .to_owned(),
        runtime: configuration
            .runtime()
            .map(|runtime| runtime.as_str().to_owned())
            .unwrap_or_default(),
        handler: configuration.handler().unwrap_or_default().to_owned(),
        architecture: configuration
            .architectures()
            .first()
            .map_or("x86_64", |architecture| architecture.as_str())
            .to_owned(),
        memory_mb: u32::try_from(non_negative(configuration.memory_size(), 128)).unwrap_or(128),
        timeout_seconds: non_negative(configuration.timeout(), 3) as f64,
        maximum_retry_attempts: u32::try_from(non_negative(
            invoke_config.and_then(|config| config.maximum_retry_attempts()),
            u64::from(DEFAULT_MAXIMUM_RETRY_ATTEMPTS),
        ))
        .unwrap_or(DEFAULT_MAXIMUM_RETRY_ATTEMPTS),
        maximum_event_age_seconds: non_negative(
            invoke_config.and_then(|config| config.maximum_event_age_in_seconds()),
            DEFAULT_MAXIMUM_EVENT_AGE_SECONDS,
        ),
        dead_letter_target_arn,
        reserved_concurrency: reserved_concurrency
            .and_then(|reserved| u32::try_from(reserved).ok()),
        environment: configuration
            .environment()
            .and_then(|environment| environment.variables())
            .map(|variables| {
                variables
                    .iter()
                    .map(|(name, value)| (name.clone(), value.clone()))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// Applies `change` to the function, with one call per group of settings it touches:
/// `UpdateFunctionConfiguration` (timeout, memory), `PutFunctionEventInvokeConfig` (retries, event
/// age; the settings left out keep their values, so both are sent), and `PutFunctionConcurrency`
/// or `DeleteFunctionConcurrency`. The pipeline module's variables `timeout_seconds`,
/// `memory_mb`, `maximum_retry_attempts` and `maximum_event_age_seconds` keep such a change
/// across the next `terraform apply`; reserved concurrency is not managed by the Terraform.
pub async fn update_function(
    clients: &RegionClients,
    names: &StackNames,
    change: &FunctionChange,
) -> Result<(), BackendError> {
    let endpoint = clients.endpoint("lambda");
    let call = |action| Call {
        action,
        resource_kind: "function",
        resource_name: &names.function_name,
        endpoint: &endpoint,
    };
    let whole = |value: u64| i32::try_from(value).unwrap_or(i32::MAX);
    if change.timeout_seconds.is_some() || change.memory_mb.is_some() {
        clients
            .lambda
            .update_function_configuration()
            .function_name(&names.function_name)
            .set_timeout(
                change
                    .timeout_seconds
                    .map(|seconds| whole(u64::from(seconds))),
            )
            .set_memory_size(change.memory_mb.map(|memory| whole(u64::from(memory))))
            .send()
            .await
            .map_err(|error| backend_error(&call("lambda:UpdateFunctionConfiguration"), &error))?;
    }
    if change.maximum_retry_attempts.is_some() || change.maximum_event_age_seconds.is_some() {
        let current = function_configuration(clients, names).await?;
        let retries = change
            .maximum_retry_attempts
            .unwrap_or(current.maximum_retry_attempts);
        let age = change
            .maximum_event_age_seconds
            .unwrap_or(current.maximum_event_age_seconds);
        clients
            .lambda
            .put_function_event_invoke_config()
            .function_name(&names.function_name)
            .maximum_retry_attempts(whole(u64::from(retries)))
            .maximum_event_age_in_seconds(whole(age))
            .send()
            .await
            .map_err(|error| backend_error(&call("lambda:PutFunctionEventInvokeConfig"), &error))?;
    }
    match change.reserved_concurrency {
        None => {}
        Some(ReservedConcurrency::Executions(count)) => {
            clients
                .lambda
                .put_function_concurrency()
                .function_name(&names.function_name)
                .reserved_concurrent_executions(whole(u64::from(count)))
                .send()
                .await
                .map_err(|error| backend_error(&call("lambda:PutFunctionConcurrency"), &error))?;
        }
        Some(ReservedConcurrency::Unreserved(_)) => {
            clients
                .lambda
                .delete_function_concurrency()
                .function_name(&names.function_name)
                .send()
                .await
                .map_err(|error| {
                    backend_error(&call("lambda:DeleteFunctionConcurrency"), &error)
                })?;
        }
    }
    Ok(())
}

fn parameter_call<'a>(action: &'static str, names: &'a StackNames, endpoint: &'a str) -> Call<'a> {
    Call {
        action,
        resource_kind: "fault-injection parameter",
        resource_name: &names.parameter_name,
        endpoint,
    }
}

/// Reads the fault-injection parameter's value, as SSM holds it (whatever it is: the function
/// reads it leniently, see [`FaultParameter::read`]).
pub async fn fault_injection(
    clients: &RegionClients,
    names: &StackNames,
) -> Result<FaultParameter, BackendError> {
    let endpoint = clients.endpoint("ssm");
    let output = clients
        .ssm
        .get_parameter()
        .name(&names.parameter_name)
        .send()
        .await
        .map_err(|error| {
            backend_error(
                &parameter_call("ssm:GetParameter", names, &endpoint),
                &error,
            )
        })?;
    let value = output
        .parameter()
        .and_then(|parameter| parameter.value())
        .unwrap_or_default();
    Ok(FaultParameter::stored(value))
}

/// Replaces the fault-injection parameter's value (`PutParameter` with overwrite).
pub async fn set_fault_injection(
    clients: &RegionClients,
    names: &StackNames,
    fault_injection: &FaultParameter,
) -> Result<(), BackendError> {
    let value = fault_injection.text().to_owned();
    let endpoint = clients.endpoint("ssm");
    clients
        .ssm
        .put_parameter()
        .name(&names.parameter_name)
        .value(value)
        // The Terraform creates it as a plain String parameter; an overwrite keeps that type.
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .overwrite(true)
        .send()
        .await
        .map_err(|error| {
            backend_error(
                &parameter_call("ssm:PutParameter", names, &endpoint),
                &error,
            )
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use aws_sdk_lambda::types::{DeadLetterConfig, DestinationConfig, OnFailure, Runtime};

    use super::*;

    fn names() -> StackNames {
        StackNames::with_suffix("0123456789abcdef", "us-east-1", "123456789012")
    }

    #[test]
    fn the_dead_letter_config_is_the_target_and_missing_settings_take_lambdas_defaults() {
        let names = names();
        let configuration = GetFunctionConfigurationOutput::builder()
            .function_name(&names.function_name)
            .runtime(Runtime::Providedal2023)
            .timeout(3)
            .memory_size(128)
            .dead_letter_config(
                DeadLetterConfig::builder()
                    .target_arn(names.dlq_arn())
                    .build(),
            )
            .build();
        let other_destination = GetFunctionEventInvokeConfigOutput::builder()
            .destination_config(
                DestinationConfig::builder()
                    .on_failure(
                        OnFailure::builder()
                            .destination("arn:aws:sqs:elsewhere")
                            .build(),
                    )
                    .build(),
            )
            .build();
        let seen = configuration_from(&names, &configuration, Some(&other_destination), Some(5));
        assert_eq!(seen.dead_letter_target_arn, names.dlq_arn());
        assert_eq!(seen.maximum_retry_attempts, 2);
        assert_eq!(seen.maximum_event_age_seconds, 21_600);
        assert_eq!(seen.reserved_concurrency, Some(5));
        assert_eq!(seen.architecture, "x86_64");
        let without = configuration_from(&names, &configuration, None, None);
        assert_eq!(without.maximum_retry_attempts, 2);
        assert_eq!(without.reserved_concurrency, None);
    }
}
