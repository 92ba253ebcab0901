//! `/participants/{id}/experiments/import`: the original lab's Chaos Toolkit experiments,
//! converted onto this server's probes and fault-injection API ([`crate::chaos::import`]).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Reach;
use super::error::{ApiError, Json};
use crate::chaos::import::{Mapped, Refused};
use crate::ops::experiment_import;
use crate::state::AppState;

/// An original experiment to import.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportBody {
    /// The original Chaos Toolkit experiment, as its JSON file holds it.
    #[schema(value_type = Object)]
    pub experiment: serde_json::Value,
    /// The contents of files the experiment reads with `file://` (the `--metric-data-queries`
    /// of `aws cloudwatch get-metric-data`), by file name. Without them, the original lab's
    /// `steadyStateFlight.json` and `steadyStateError.json` are recognised by name.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub files: BTreeMap<String, serde_json::Value>,
}

/// The converted experiment and what was mapped.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportAnswer {
    /// The converted experiment: `http` activities on this server's API, with
    /// `configuration.chaoslab_url` from env `CHAOSLAB_URL`, `configuration.participant_id`,
    /// and the token from env `CHAOSLAB_TOKEN` (secrets scope `chaoslab`).
    #[schema(value_type = Object)]
    pub experiment: serde_json::Value,
    /// Every activity and configuration entry, and what it became.
    pub mapped: Vec<Mapped>,
    /// Always empty in a 200 answer.
    pub refused: Vec<Refused>,
}

/// A refused import: nothing was stored. A body the server could not read at all (an unknown
/// field, a wrong type) is refused with the usual `{code, message}` and no lists.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportRefusal {
    /// `import_refused`, `invalid_experiment`, or the request's own error code.
    pub code: &'static str,
    /// What to do.
    pub message: String,
    /// What could be mapped.
    #[schema(required = false)]
    pub mapped: Vec<Mapped>,
    /// What could not, naming each activity and why.
    #[schema(required = false)]
    pub refused: Vec<Refused>,
}

/// Converts one of the original lab's experiments (jpbarto/serverless-chaos-lab's
/// `chaos/experiment_1.json` and its kin) for this participant: `aws ssm put-parameter` becomes
/// `PUT …/fault-injection`; `aws cloudwatch get-metric-data` computing percent in flight or in
/// error becomes `GET …/probes/percent-in-flight` or `…/percent-in-error`;
/// `chaosaws.cloudwatch.probes.get_metric_statistics` on SNS `NumberOfNotificationsFailed`
/// becomes `GET …/probes/sns-notifications-failed`. Tolerances keep their meaning: chaoslib
/// compares a bare number or a pair with an HTTP answer's status, so a tolerance on the value
/// becomes a `jsonpath` tolerance on `$.value` or a `range` tolerance on the `text/plain` body.
/// Pauses are kept. Nothing is stored: the answer is the experiment to save or run.
#[utoipa::path(post, path = "/participants/{id}/experiments/import", tag = "experiments", request_body = ImportBody,
    params(("id" = String, Path, description = "Participant id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "Every activity mapped: the converted experiment", body = ImportAnswer),
        (status = 400, description = "The body is not a JSON object", body = ApiError),
        (status = 401, description = "No or invalid token", body = ApiError),
        (status = 404, description = "No such participant visible to you", body = ApiError),
        (status = 422, description = "An activity that cannot be mapped (`import_refused`, naming each), or an experiment chaoslib would not load (`invalid_experiment`, naming the field)", body = ImportRefusal),
    ))]
pub async fn import_experiment(
    State(state): State<AppState>,
    Reach { id, .. }: Reach,
    Json(body): Json<ImportBody>,
) -> Result<Response, ApiError> {
    let imported = experiment_import::import(&state, &id, &body.experiment, &body.files)?;
    if imported.refused.is_empty() {
        return Ok(Json(ImportAnswer {
            experiment: imported.experiment,
            mapped: imported.mapped,
            refused: imported.refused,
        })
        .into_response());
    }
    let names: Vec<&str> = imported
        .refused
        .iter()
        .map(|refused| refused.activity.as_str())
        .collect();
    Ok((
        StatusCode::UNPROCESSABLE_ENTITY,
        axum::Json(ImportRefusal {
            code: "import_refused",
            message: format!(
                "nothing was imported: {} cannot be mapped onto chaoslab's API ({}); see `refused` \
                 for why, change or remove them and import again",
                if names.len() == 1 {
                    "an activity"
                } else {
                    "some activities"
                },
                names.join(", ")
            ),
            mapped: imported.mapped,
            refused: imported.refused,
        }),
    )
        .into_response())
}
