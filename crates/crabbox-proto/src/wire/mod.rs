//! JSON bodies of the coordinator HTTP API, named as the reference coordinator
//! names them so Go clients and servers interoperate. Every struct tolerates
//! missing fields (`default`) and ignores unknown ones.

mod account;
mod control;
mod decode;
mod event_kind;
mod fields;
pub mod go_types;
mod lease;
mod run;
mod run_fields;
mod telemetry;
mod test_results;
mod timestamp;

pub use account::{ErrorBody, Health, Whoami};
pub use account::{Usage, UsageGroup, UsageLimits, UsageReport};
pub use control::{
    ClientFrame, ServerFrame, CONTROL_PROTOCOL, DEFAULT_SUBSCRIBE_LIMIT, MAX_SUBSCRIBE_LIMIT,
};
pub use decode::{from_json_slice, DecodeError};
pub use event_kind::{implied_phase, EventKind};
pub use lease::{
    CancelCreateRequest, CreateLeaseRequest, HeartbeatRequest, LeaseEnvelope, LeaseRecord,
    LeaseStatus, LeasesEnvelope, RegistrationRequest, ReleaseRequest,
};
pub use run::{
    AppendEventRequest, CreateRunRequest, EventEnvelope, EventsEnvelope, FinishRunRequest,
    LeaseOwner, Run, RunEnvelope, RunEventRecord, RunState, RunsEnvelope,
};
pub use telemetry::{RunTelemetry, RunTelemetryRequest, TelemetrySample};
pub use test_results::{TestFailure, TestResults};
pub use timestamp::Timestamp;

pub(crate) fn is_false(value: &bool) -> bool {
    !value
}

pub(crate) fn is_zero(value: &i64) -> bool {
    *value == 0
}
