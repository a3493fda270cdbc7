//! The monthly usage report: runtime, estimated and reserved spend, grouped by
//! owner, org, provider and server type.

use std::collections::BTreeMap;

use crabbox_proto::time::{format_rfc3339, parse_rfc3339};
use crabbox_proto::wire::{Usage, UsageGroup, UsageLimits, UsageReport};
use crabbox_proto::Timestamp;
use crabbox_store::StoredLease;

use crate::auth::Principal;
use crate::caps::{month_start, round_cents};
use crate::error::{ApiError, ApiResult};
use crate::settings::Caps;
use crate::state::Coordinator;

#[derive(Debug, Default)]
pub struct UsageQuery {
    pub scope: Option<String>,
    pub owner: Option<String>,
    pub org: Option<String>,
    pub month: Option<String>,
}

/// `[start, end)` of a `YYYY-MM` month, or of the current one.
fn month_bounds(month: Option<&str>, now: Timestamp) -> ApiResult<(String, Timestamp, Timestamp)> {
    let start = match month {
        None => month_start(now),
        Some(text) => {
            let valid = text.len() == 7 && text.as_bytes()[4] == b'-';
            let parsed = valid
                .then(|| parse_rfc3339(&format!("{text}-01T00:00:00Z")))
                .flatten();
            Timestamp(
                parsed.ok_or_else(|| {
                    ApiError::bad_request("invalid_month", "month must be YYYY-MM")
                })? * 1000,
            )
        }
    };
    let end = month_start(start.plus_seconds(32 * 86_400));
    let label = format_rfc3339(start.millis() / 1000)[..7].to_string();
    Ok((label, start, end))
}

fn limits(caps: &Caps) -> UsageLimits {
    UsageLimits {
        max_active_leases: caps.max_active_leases,
        max_active_leases_per_owner: caps.max_active_leases_per_owner,
        max_active_leases_per_org: caps.max_active_leases_per_org,
        capacity_admin_owners: caps.capacity_admin_owners.iter().cloned().collect(),
        max_active_leases_per_capacity_admin: caps.max_active_leases_per_capacity_admin,
        max_monthly_usd: caps.max_monthly_usd,
        max_monthly_usd_per_owner: caps.max_monthly_usd_per_owner,
        max_monthly_usd_per_org: caps.max_monthly_usd_per_org,
    }
}

fn add(group: &mut UsageGroup, record: &StoredLease, now: Timestamp) {
    let lease = &record.lease;
    let end = if lease.state.is_live() {
        now
    } else {
        lease
            .ended_at
            .or(lease.released_at)
            .unwrap_or(lease.updated_at)
    };
    let runtime = ((end.millis() - lease.created_at.millis()) / 1000).max(0);
    group.leases += 1;
    group.active_leases += i64::from(lease.state.is_live());
    group.runtime_seconds += runtime;
    group.estimated_usd += runtime as f64 / 3600.0 * lease.estimated_hourly_usd;
    group.reserved_usd += lease.max_estimated_usd;
}

fn grouped(
    records: &[StoredLease],
    now: Timestamp,
    key: impl Fn(&StoredLease) -> String,
) -> Vec<UsageGroup> {
    let mut groups: BTreeMap<String, UsageGroup> = BTreeMap::new();
    for record in records {
        let name = key(record);
        add(
            groups.entry(name.clone()).or_insert_with(|| UsageGroup {
                key: name,
                ..UsageGroup::default()
            }),
            record,
            now,
        );
    }
    let mut groups: Vec<UsageGroup> = groups.into_values().map(rounded).collect();
    groups.sort_by(|a, b| {
        b.reserved_usd
            .total_cmp(&a.reserved_usd)
            .then_with(|| a.key.cmp(&b.key))
    });
    groups
}

fn rounded(mut group: UsageGroup) -> UsageGroup {
    group.estimated_usd = round_cents(group.estimated_usd);
    group.reserved_usd = round_cents(group.reserved_usd);
    group
}

pub async fn report(
    coordinator: &Coordinator,
    principal: &Principal,
    query: UsageQuery,
) -> ApiResult<UsageReport> {
    let now = coordinator.now();
    let (month, start, end) = month_bounds(query.month.as_deref(), now)?;
    let (scope, owner, org) = if principal.admin {
        let scope = query.scope.unwrap_or_else(|| "user".into());
        match scope.as_str() {
            "user" => (
                scope,
                Some(query.owner.unwrap_or_else(|| principal.owner.clone())),
                query.org,
            ),
            "org" => (
                scope,
                query.owner,
                Some(query.org.unwrap_or_else(|| principal.org.clone())),
            ),
            "all" => (scope, query.owner, query.org),
            _ => {
                return Err(ApiError::bad_request(
                    "invalid_scope",
                    "scope must be user, org or all",
                ))
            }
        }
    } else {
        (
            "user".into(),
            Some(principal.owner.clone()),
            Some(principal.org.clone()),
        )
    };
    let records: Vec<StoredLease> = coordinator
        .store()
        .leases_for_usage(start)
        .await?
        .into_iter()
        .filter(|record| {
            let lease = &record.lease;
            lease.lifecycle != "registered"
                && lease.created_at >= start
                && lease.created_at < end
                && owner.as_ref().is_none_or(|owner| &lease.owner == owner)
                && org.as_ref().is_none_or(|org| &lease.org == org)
        })
        .collect();
    let total = rounded(
        grouped(&records, now, |_| String::new())
            .pop()
            .unwrap_or_default(),
    );
    Ok(UsageReport {
        usage: Usage {
            month,
            scope,
            owner,
            org,
            leases: total.leases,
            active_leases: total.active_leases,
            runtime_seconds: total.runtime_seconds,
            estimated_usd: total.estimated_usd,
            reserved_usd: total.reserved_usd,
            by_owner: grouped(&records, now, |record| record.lease.owner.clone()),
            by_org: grouped(&records, now, |record| record.lease.org.clone()),
            by_provider: grouped(&records, now, |record| record.lease.provider.clone()),
            by_server_type: grouped(&records, now, |record| record.lease.server_type.clone()),
        },
        limits: limits(&coordinator.settings().caps),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_bounds_cover_one_calendar_month() {
        let now = Timestamp(parse_rfc3339("2026-02-10T00:00:00Z").unwrap() * 1000);
        let (label, start, end) = month_bounds(None, now).unwrap();
        assert_eq!(label, "2026-02");
        assert_eq!(end.millis() - start.millis(), 28 * 86_400_000);
        let (label, _, _) = month_bounds(Some("2025-12"), now).unwrap();
        assert_eq!(label, "2025-12");
        assert!(month_bounds(Some("2025-13"), now).is_err());
        assert!(month_bounds(Some("last"), now).is_err());
    }
}
