//! Providers: where leases come from. A small required trait plus optional
//! capabilities, and a registry that resolves names and aliases.

mod lease;
pub mod local;
mod provider;
mod registry;
pub mod sealos;
mod settings;
mod spec;
pub mod static_ssh;

pub use lease::{Lease, LeaseState};
pub use local::LocalSettings;
pub use provider::{
    AcquireRequest, CleanupDecision, Doctor, DoctorCheck, Provider, ProviderError, Reaper, Released,
};
pub use registry::{canonical_name, create, specs, UnknownProvider};
pub use settings::{ProviderSettings, SshSettings};
pub use spec::{Feature, ProviderKind, ProviderSpec};
pub use static_ssh::StaticSettings;
