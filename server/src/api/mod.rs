//! The REST API, `/api/v1`: everything the pages do, as JSON, for automation and the instructor.
//!
//! - [`auth`]: bearer tokens (a participant's or the instructor's) and who may see what;
//! - [`limit`]: the per-client rate limit;
//! - [`error`]: the JSON error body, `{"code", "message"}`, and the JSON extractor using it;
//! - [`participants`], [`traffic`], [`pipeline`], [`function`], [`faults`], [`dead_letters`],
//!   [`slo`], [`probes`], [`experiments`], [`steps`], [`events`]: one module per resource, handlers
//!   named `verb_noun`.
//!
//! Routes are registered through `utoipa-axum`, so the OpenAPI document served at
//! `/api/openapi.json` is built from the same code and cannot drift from it.

// utoipa's derives and `#[utoipa::path]` expand to fully qualified paths.
#![allow(unused_qualifications)]

pub mod auth;
pub mod dead_letters;
pub mod error;
pub mod events;
pub mod experiment_import;
pub mod experiments;
pub mod faults;
pub mod function;
pub mod game_day;
pub mod limit;
pub mod participants;
pub mod pipeline;
pub mod probes;
pub mod slo;
pub mod steps;
pub mod traffic;

use axum::Router;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;
use crate::traffic::TrafficLimits;
use utoipa::openapi::{RefOr, Schema};

/// The API's OpenAPI description, completed by the routes.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "chaoslab API",
        description = "Everything the chaoslab lab pages do, as JSON. Authenticate with \
                       `Authorization: Bearer <token>`: a participant's token reaches only that \
                       participant's resources; the instructor's token reaches everything.",
        license(name = "MIT")
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "participants", description = "Who takes part, and their pipeline stack"),
        (name = "traffic", description = "A participant's publisher and subscriber"),
        (name = "pipeline", description = "The function, metrics, dashboard and accounting"),
        (name = "slo", description = "The participant's service level objective"),
        (name = "probes", description = "Single numbers a Chaos Toolkit tolerance can read"),
        (name = "steps", description = "Lab steps and their checks"),
        (name = "events", description = "The event log"),
        (name = "experiments", description = "Chaos Toolkit experiments, run by the server on pipeline time, and their journals")
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// What every operation can answer, documented once: the `Pipeline-Time` header on every
/// response; 429 from the rate limit; on every operation that takes a JSON body, 413, 415, 400
/// (not a JSON object) and 422 (read but not accepted); on every operation with query
/// parameters, 422.
struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{
            KnownFormat, ObjectBuilder, RefOr, ResponseBuilder, SchemaFormat, Type,
            content::ContentBuilder, header::HeaderBuilder, path::ParameterIn,
        };
        let error = || {
            ContentBuilder::new()
                .schema(Some(utoipa::openapi::Ref::from_schema_name("ApiError")))
                .build()
        };
        let response = |description: &str| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content("application/json", error())
                    .build(),
            )
        };
        let pipeline_time = HeaderBuilder::new()
            .schema(Some(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))),
            ))
            .description(Some(
                "The pipeline's time when the answer was made (RFC 3339). Pipeline time runs \
                 `--time-scale` times faster than the wall clock on the embedded backend; metric \
                 queries, steps, the SLO and traffic use it.",
            ))
            .build();
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                let has_body = operation.request_body.is_some();
                let has_query = operation.parameters.iter().flatten().any(|parameter| {
                    matches!(parameter, RefOr::T(parameter) if parameter.parameter_in == ParameterIn::Query)
                });
                let responses = &mut operation.responses.responses;
                responses.insert(
                    "429".to_owned(),
                    response(
                        "Too many requests from this client; retry after `Retry-After` seconds",
                    ),
                );
                if has_body {
                    responses.insert("413".to_owned(), response("The body is over its limit"));
                    responses.insert(
                        "415".to_owned(),
                        response("The body is not sent as `application/json`"),
                    );
                    responses
                        .entry("400".to_owned())
                        .or_insert_with(|| response("The body is not JSON, or not a JSON object"));
                }
                if has_body || has_query {
                    responses.entry("422".to_owned()).or_insert_with(|| {
                        response("An unknown field, a wrong type, or a value out of range")
                    });
                }
                for answer in responses.values_mut() {
                    if let RefOr::T(answer) = answer {
                        answer.headers.insert(
                            crate::router::PIPELINE_TIME_HEADER.to_owned(),
                            RefOr::T(pipeline_time.clone()),
                        );
                    }
                }
            }
        }
    }
}

/// This server's traffic caps, written into the schemas that take rates and durations, so the
/// document states the limits the server enforces (`--max-rate`, `--max-stop-after`).
struct ServerLimits(TrafficLimits);

impl Modify for ServerLimits {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::Number;
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        let caps = [
            ("PublisherChange", "rate", Number::Float(self.0.max_rate)),
            ("SubscriberChange", "rate", Number::Float(self.0.max_rate)),
            (
                "PublisherChange",
                "stop_after_s",
                Number::UInt(usize::try_from(self.0.max_stop_after_s).unwrap_or(usize::MAX)),
            ),
        ];
        for (schema, property, maximum) in caps {
            if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(schema)
                && let Some(RefOr::T(Schema::Object(field))) = object.properties.get_mut(property)
            {
                field.maximum = Some(maximum);
            }
        }
    }
}

/// The API routes with their OpenAPI paths.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(
            participants::create_participant,
            participants::list_participants
        ))
        .routes(routes!(
            participants::get_participant,
            participants::delete_participant
        ))
        .routes(routes!(participants::reset_participant))
        .routes(routes!(participants::leave_lab))
        .routes(routes!(participants::act_on_participants))
        .routes(routes!(
            traffic::get_traffic,
            traffic::put_traffic,
            traffic::patch_traffic,
            traffic::delete_traffic
        ))
        .routes(routes!(pipeline::get_function, pipeline::put_function))
        .routes(routes!(
            function::invoke_function,
            function::list_invocations
        ))
        .routes(routes!(function::get_test_event))
        .routes(routes!(dead_letters::list_dead_letters))
        .routes(routes!(dead_letters::redrive_dead_letters))
        .routes(routes!(
            faults::get_fault_injection,
            faults::put_fault_injection
        ))
        .routes(routes!(pipeline::query_metrics))
        .routes(routes!(pipeline::get_dashboard))
        .routes(routes!(pipeline::get_accounting))
        .routes(routes!(slo::get_slo, slo::put_slo, slo::patch_slo))
        .routes(routes!(probes::get_percent_in_flight))
        .routes(routes!(probes::get_percent_in_error))
        .routes(routes!(probes::get_sns_notifications_failed))
        .routes(routes!(probes::get_slo_probe))
        .routes(routes!(experiment_import::import_experiment))
        .routes(routes!(steps::list_steps))
        .routes(routes!(game_day::start_game_day, game_day::get_game_day))
        .routes(routes!(game_day::halt_game_day))
        .routes(routes!(game_day::game_day_journals))
        .routes(routes!(experiments::validate_experiment))
        .routes(routes!(
            experiments::list_experiments,
            experiments::create_experiment
        ))
        .routes(routes!(
            experiments::get_experiment,
            experiments::put_experiment,
            experiments::delete_experiment
        ))
        .routes(routes!(experiments::export_experiment))
        .routes(routes!(experiments::start_run))
        .routes(routes!(experiments::list_runs))
        .routes(routes!(experiments::get_run))
        .routes(routes!(experiments::get_run_journal))
        .routes(routes!(experiments::halt_run))
        .routes(routes!(events::list_events))
}

/// The API mounted under `/api/v1`, the document at `/api/openapi.json` and its browsable UI at
/// `/api/docs`, stating `limits`.
pub fn router(limits: TrafficLimits) -> Router<AppState> {
    // The outer router's document is the one served: it carries our `info`, tags and security.
    let (api, mut document) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest("/api/v1", routes())
        .split_for_parts();
    complete(&mut document, limits);
    api.merge(utoipa_swagger_ui::SwaggerUi::new("/api/docs").url("/api/openapi.json", document))
}

/// The OpenAPI document, as a server with the default traffic caps serves it.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut document = OpenApiRouter::<AppState>::with_openapi(ApiDoc::openapi())
        .nest("/api/v1", routes())
        .into_openapi();
    complete(&mut document, TrafficLimits::default());
    document
}

/// What the routes cannot say themselves. After the routes: they bring the paths and schemas.
fn complete(document: &mut utoipa::openapi::OpenApi, limits: TrafficLimits) {
    CommonResponses.modify(document);
    ServerLimits(limits).modify(document);
    document.info.version = env!("CARGO_PKG_VERSION").to_owned();
}
