//! Finding a lease by ID or slug as the caller may see it.

use crabbox_store::StoredLease;

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::state::Coordinator;

/// Exact ID first (when the caller may see it), then live unexpired leases with
/// that slug: the caller's own first, and for admins every owner's after that.
/// Another tenant's lease therefore never shadows the caller's (not by an ID
/// that looks like a slug, not by the same slug). Leases the caller cannot see
/// are reported exactly like missing ones (404); several matches are a 409.
pub async fn find_visible(
    coordinator: &Coordinator,
    principal: &Principal,
    value: &str,
) -> ApiResult<StoredLease> {
    let store = coordinator.store();
    if let Some(record) = store.get_lease(value).await? {
        if principal.owns(&record.lease.owner, &record.lease.org) {
            return Ok(record);
        }
    }
    let slug = crabbox_core::normalize_slug(value);
    if slug.is_empty() {
        return Err(ApiError::not_found("lease"));
    }
    let now = coordinator.now();
    let (mut own, others): (Vec<StoredLease>, Vec<StoredLease>) = store
        .leases_with_slug(&slug)
        .await?
        .into_iter()
        .filter(|record| record.lease.state.is_live() && record.lease.expires_at > now)
        .partition(|record| {
            record.lease.owner == principal.owner && record.lease.org == principal.org
        });
    if own.is_empty() && principal.admin {
        own = others;
    }
    match own.len() {
        0 => Err(ApiError::not_found("lease")),
        1 => Ok(own.remove(0)),
        count => Err(ApiError::conflict(
            "ambiguous_slug",
            format!("slug {slug} matches {count} leases; use the lease id"),
        )),
    }
}

/// `expectedProvider`: when given it must name the lease's provider.
pub fn check_expected_provider(record: &StoredLease, expected: Option<&str>) -> ApiResult<()> {
    let Some(expected) = expected else {
        return Ok(());
    };
    // Exactly a normalized provider name, as the Node coordinator requires.
    let normalized = super::registration::provider_name(expected).filter(|name| name == expected);
    let Some(normalized) = normalized else {
        return Err(ApiError::bad_request(
            "invalid_expected_provider",
            "expectedProvider must be a nonempty normalized provider",
        ));
    };
    let canonical = crabbox_providers::canonical_name(&normalized).unwrap_or(normalized.as_str());
    if canonical != record.lease.provider {
        return Err(ApiError::conflict(
            "provider_identity_mismatch",
            format!(
                "lease {} belongs to provider {}, not {canonical}",
                record.lease.id, record.lease.provider
            ),
        ));
    }
    Ok(())
}
