//! The tailnet plane of a pond: the pond's Tailscale tag, the on-box
//! `hosts.cbx` refresher, the opt-in policy (ACL) bootstrap with its in-place
//! HuJSON merge, and the `doctor --pond` policy check.

mod acl;
mod doctor;
mod hosts;
mod hujson;
mod merge;
mod settings;
mod tag;

pub use acl::{
    ensure_rows, maybe_bootstrap, AclError, BootstrapContext, BootstrapOutcome, BOOTSTRAP_TIMEOUT,
    MAX_POLICY_BYTES,
};
pub use doctor::{
    manual_snippet, tailscale_policy_check, CheckStatus, ClaimPlanes, PolicyCheck, DOCTOR_TIMEOUT,
};
pub use hosts::{hosts_refresher_snippet, refresher_script, HOSTS_CBX_PATH, REFRESHER_PATH};
pub use hujson::SyntaxError;
pub use merge::{merge_policy, rows_present, MergeError, TAG_OWNER};
pub use settings::{AclSettings, DEFAULT_API_URL};
pub use tag::{owner_identity, owner_segment, pond_tag};
