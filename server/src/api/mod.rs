//! The REST API, `/api/v1`: everything the pages do, as JSON, for automation and the instructor.
//!
//! - [`auth`]: bearer tokens (a participant's or the instructor's) and who may see what;
//! - [`limit`]: the per-client rate limit;
//! - [`error`]: the JSON error body, `{"code", "message"}`, and the JSON extractor using it;
//! - [`participants`], [`traffic`], [`pipeline`], [`slo`], [`steps`], [`events`]: one module per
//!   resource, handlers named `verb_noun`.
//!
//! Routes are registered through `utoipa-axum`, so the OpenAPI document served at
//! `/api/openapi.json` is built from the same code and cannot drift from it.

// utoipa's derives and `#[utoipa::path]` expand to fully qualified paths.
#![allow(unused_qualifications)]

pub mod auth;
pub mod error;
pub mod events;
pub mod limit;
pub mod participants;
pub mod pipeline;
pub mod slo;
pub mod steps;
pub mod traffic;

use axum::Router;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

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
        (name = "steps", description = "Lab steps and their checks"),
        (name = "events", description = "The event log")
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

/// Responses any operation can give, documented once: 429 from the rate limit on every
/// operation, and 413/415 on every operation that takes a JSON body.
struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{RefOr, ResponseBuilder, content::ContentBuilder};
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
                let responses = &mut operation.responses.responses;
                responses.insert(
                    "429".to_owned(),
                    response(
                        "Too many requests from this client; retry after `Retry-After` seconds",
                    ),
                );
                if has_body {
                    responses.insert("413".to_owned(), response("The body is over 64 KiB"));
                    responses.insert(
                        "415".to_owned(),
                        response("The body is not sent as `application/json`"),
                    );
                    responses
                        .entry("400".to_owned())
                        .or_insert_with(|| response("The body is not valid JSON"));
                }
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
            traffic::delete_traffic
        ))
        .routes(routes!(pipeline::get_function))
        .routes(routes!(pipeline::query_metrics))
        .routes(routes!(pipeline::get_dashboard))
        .routes(routes!(pipeline::get_accounting))
        .routes(routes!(slo::get_slo, slo::put_slo))
        .routes(routes!(steps::list_steps))
        .routes(routes!(events::list_events))
}

/// The API mounted under `/api/v1`, the document at `/api/openapi.json` and its browsable UI at
/// `/api/docs`.
pub fn router() -> Router<AppState> {
    // The outer router's document is the one served: it carries our `info`, tags and security.
    let (api, mut document) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest("/api/v1", routes())
        .split_for_parts();
    // After the routes: they bring the paths the common responses are added to.
    CommonResponses.modify(&mut document);
    api.merge(utoipa_swagger_ui::SwaggerUi::new("/api/docs").url("/api/openapi.json", document))
}

/// The OpenAPI document, as served.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut document = OpenApiRouter::<AppState>::with_openapi(ApiDoc::openapi())
        .nest("/api/v1", routes())
        .into_openapi();
    CommonResponses.modify(&mut document);
    document
}
