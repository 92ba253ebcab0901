//! The fault-injection parameter both backends store: in the stack's SSM parameter on AWS, in
//! the engine's journal when embedded. Its value is failure-lambda 0.x's flat JSON document,
//! which the function's wrapper ([`chaoslab_etl::fault`]) reads before every invocation.
//!
//! The value is kept as the text it was written in, as SSM keeps it: the API refuses a document
//! that does not parse strictly before it is stored, but on AWS anyone with access to the
//! parameter (the lab's own `aws ssm put-parameter`) can write anything, and the function then
//! injects no fault and says why. [`FaultParameter::read`] gives that reading.

use chaoslab_etl::fault::{DocumentError, FaultDocument, parse_lenient, parse_strict};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The parameter's initial value, as the Terraform module writes it: every fault disabled.
pub const INITIAL_DOCUMENT: &str = r#"{"isEnabled":false,"failureMode":"latency","rate":1,"minLatency":0,"maxLatency":0,"exceptionMsg":"","statusCode":404,"diskSpace":100,"denylist":[]}"#;

/// The fault-injection parameter's value: a failure-lambda document, as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultParameter(String);

impl Default for FaultParameter {
    /// [`INITIAL_DOCUMENT`].
    fn default() -> Self {
        Self(INITIAL_DOCUMENT.to_owned())
    }
}

/// How the function reads the parameter now.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultReading {
    /// A document the function follows (possibly disabled).
    Valid(FaultDocument),
    /// A document the function cannot follow, so it injects nothing; the reason.
    Invalid(DocumentError),
}

impl FaultParameter {
    /// A value from its text, checked strictly (the API's `PUT`): the errors name the field.
    pub fn checked(text: &str) -> Result<Self, DocumentError> {
        parse_strict(text)?;
        Ok(Self(text.to_owned()))
    }

    /// A value as found in storage, unchecked (what SSM may hold).
    pub fn stored(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The text.
    pub fn text(&self) -> &str {
        &self.0
    }

    /// How the function reads it: leniently, as the wrapper does at run time.
    pub fn read(&self) -> FaultReading {
        match parse_lenient(&self.0) {
            Ok(document) => FaultReading::Valid(document),
            Err(error) => FaultReading::Invalid(error),
        }
    }
}

impl Serialize for FaultParameter {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for FaultParameter {
    /// The text; a JSON object is also read, as its text, for stacks saved before the parameter
    /// was kept as text.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::String(text) => Ok(Self(text)),
            other => Ok(Self(other.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn the_initial_document_disables_every_fault() {
        let FaultReading::Valid(document) = FaultParameter::default().read() else {
            panic!("the initial document does not parse");
        };
        assert!(!document.is_enabled);
        assert!(FaultParameter::checked(INITIAL_DOCUMENT).is_ok());
    }

    #[test]
    fn a_stack_saved_with_the_document_as_an_object_still_reads() {
        let saved = r#"{"isEnabled":true,"failureMode":"exception","rate":0.5,"minLatency":0,"maxLatency":0,"exceptionMsg":"boom","statusCode":404,"diskSpace":100,"denylist":[]}"#;
        let parameter: FaultParameter = serde_json::from_str(saved).unwrap();
        let FaultReading::Valid(document) = parameter.read() else {
            panic!("not read");
        };
        assert!(document.is_enabled);
        assert_eq!(document.exception_msg, "boom");
        let again: FaultParameter =
            serde_json::from_str(&serde_json::to_string(&parameter).unwrap()).unwrap();
        assert_eq!(again, parameter);
    }

    #[test]
    fn a_document_the_function_cannot_follow_is_read_as_no_fault_with_the_reason() {
        let parameter = FaultParameter::stored(r#"{"isEnabled": true, "failureMode": "explode"}"#);
        assert!(matches!(parameter.read(), FaultReading::Invalid(_)));
        assert!(FaultParameter::checked(parameter.text()).is_err());
    }
}

/// Recent readings of each participant's fault-injection parameter, for a view that refreshes
/// often (the instructor's overview): on AWS each reading is an SSM `GetParameter`, whose
/// throughput the functions' own reads share.
#[derive(Debug, Default)]
pub struct ParameterReadings(
    std::sync::Mutex<std::collections::HashMap<String, (std::time::Instant, FaultParameter)>>,
);

impl ParameterReadings {
    fn entries(
        &self,
    ) -> std::sync::MutexGuard<
        '_,
        std::collections::HashMap<String, (std::time::Instant, FaultParameter)>,
    > {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The reading of `participant`, if it is younger than `ttl`.
    pub fn fresh(&self, participant: &str, ttl: std::time::Duration) -> Option<FaultParameter> {
        self.entries()
            .get(participant)
            .filter(|(at, _)| at.elapsed() < ttl)
            .map(|(_, parameter)| parameter.clone())
    }

    /// Remembers a reading (or a write) of `participant`'s parameter, as of now.
    pub fn store(&self, participant: &str, parameter: &FaultParameter) {
        self.entries().insert(
            participant.to_owned(),
            (std::time::Instant::now(), parameter.clone()),
        );
    }

    /// Forgets a participant (they left, or their stack was reset).
    pub fn forget(&self, participant: &str) {
        self.entries().remove(participant);
    }
}
