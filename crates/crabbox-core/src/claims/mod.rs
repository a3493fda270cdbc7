//! Local lease claims: which repository on this machine uses which lease.

mod claim;
mod listing;
mod store;

#[cfg(test)]
mod tests;

pub use claim::{Claim, PENDING_CREATE_KEY};
pub use listing::{
    listing_json, listing_json_string, listing_text, ClaimListing, ClaimProblem, ProblemCode,
};
pub use store::{ClaimError, ClaimStore};
