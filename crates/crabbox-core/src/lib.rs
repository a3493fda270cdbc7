//! Core building blocks shared by every Crabbox crate: identifiers, slugs, local
//! paths, durations, timestamps, secrets and the local claim store.

pub mod claims;
pub mod duration;
pub mod files;
pub mod id;
pub mod paths;
pub mod process;
pub mod remote;
pub mod secret;
pub mod slug;

pub use claims::{
    listing_json, listing_json_string, listing_text, Claim, ClaimError, ClaimListing, ClaimProblem,
    ClaimStore, ProblemCode, PENDING_CREATE_KEY,
};
pub use crabbox_proto::time::{self, format_rfc3339, now_unix, parse_rfc3339};
pub use crabbox_proto::ErrorClass;
pub use duration::{format_duration, parse_duration, DurationError};
pub use files::write_private_atomic;
pub use id::{is_safe_file_stem, InvalidId, LeaseId, RunId};
pub use paths::{ensure_private_dir, Paths};
pub use process::ProcessMark;
pub use secret::{constant_time_eq, Secret};
pub use slug::{
    allocate_slug, fnv1a32, is_generated_slug, normalize_slug, slug_for_lease,
    validate_requested_slug, SlugError, ADJECTIVES, MAX_SLUG_LEN, NOUNS,
};
