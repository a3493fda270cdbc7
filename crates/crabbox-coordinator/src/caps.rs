//! Cost rates and cap admission: pure decisions over the snapshot the store takes
//! inside the admission transaction.

use axum::http::StatusCode;
use crabbox_proto::time::{format_rfc3339, parse_rfc3339};
use crabbox_proto::Timestamp;
use crabbox_store::Admission;

use crate::error::ApiError;
use crate::settings::{Caps, Settings};

/// Built-in hourly USD rates by `provider:type`, used when the rates setting has
/// no entry. Local machines cost nothing.
const BUILT_IN_RATES: &[(&str, f64)] = &[
    ("local", 0.0),
    ("hetzner:cx53", 0.08),
    ("hetzner:cpx62", 0.18),
    ("hetzner:ccx33", 0.36),
    ("hetzner:ccx43", 0.54),
    ("hetzner:ccx53", 0.72),
    ("hetzner:ccx63", 1.08),
];
const FALLBACK_RATE: f64 = 0.5;

/// `CRABBOX_COST_RATES_JSON` (`provider:type`, then `provider`), then the built-in
/// table, then a flat fallback.
pub fn hourly_rate(settings: &Settings, provider: &str, server_type: &str) -> f64 {
    let exact = format!("{provider}:{server_type}").to_lowercase();
    let provider = provider.to_lowercase();
    settings
        .cost_rates
        .get(&exact)
        .or_else(|| settings.cost_rates.get(&provider))
        .copied()
        .or_else(|| {
            BUILT_IN_RATES
                .iter()
                .find(|(key, _)| *key == exact || *key == provider)
                .map(|(_, rate)| *rate)
        })
        .unwrap_or(FALLBACK_RATE)
}

pub fn round_cents(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// The most a lease can cost over its whole TTL.
pub fn max_estimated_usd(ttl_secs: i64, rate: f64) -> f64 {
    round_cents(ttl_secs.max(1) as f64 / 3600.0 * rate)
}

/// The first instant of `now`'s UTC month.
pub fn month_start(now: Timestamp) -> Timestamp {
    let day = format_rfc3339(now.millis().div_euclid(1000));
    let start = format!("{}-01T00:00:00Z", &day[..7]);
    Timestamp(parse_rfc3339(&start).unwrap_or(0) * 1000)
}

fn limit_exceeded(what: &str, used: String, cap: String) -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "cost_limit_exceeded",
        format!("{what} limit exceeded: {used}/{cap}"),
    )
}

/// Checks the candidate against every cap in the reference order: lease counts
/// (global, owner, org), then monthly budgets (global, owner, org).
pub fn admit(
    caps: &Caps,
    admission: &Admission,
    owner: &str,
    org: &str,
    candidate_usd: f64,
) -> Result<(), ApiError> {
    let per_owner = if caps.capacity_admin_owners.contains(owner) {
        caps.max_active_leases_per_owner
            .max(caps.max_active_leases_per_capacity_admin)
    } else {
        caps.max_active_leases_per_owner
    };
    let counts = [
        (
            "active lease",
            admission.active_total,
            caps.max_active_leases,
        ),
        ("owner active lease", admission.active_owner, per_owner),
        (
            "org active lease",
            admission.active_org,
            if org.is_empty() {
                0
            } else {
                caps.max_active_leases_per_org
            },
        ),
    ];
    for (what, active, cap) in counts {
        if cap > 0 && active + 1 > cap {
            return Err(limit_exceeded(
                what,
                (active + 1).to_string(),
                cap.to_string(),
            ));
        }
    }
    let budgets = [
        (
            "monthly spend",
            admission.reserved_usd_total,
            caps.max_monthly_usd,
        ),
        (
            "owner monthly spend",
            admission.reserved_usd_owner,
            caps.max_monthly_usd_per_owner,
        ),
        (
            "org monthly spend",
            admission.reserved_usd_org,
            if org.is_empty() {
                0.0
            } else {
                caps.max_monthly_usd_per_org
            },
        ),
    ];
    for (what, reserved, cap) in budgets {
        if cap > 0.0 && reserved + candidate_usd > cap + 1e-9 {
            return Err(limit_exceeded(
                what,
                format!("${:.2}", reserved + candidate_usd),
                format!("${cap:.2}"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_prefer_settings_then_built_ins() {
        let mut settings = Settings::default();
        assert_eq!(hourly_rate(&settings, "hetzner", "ccx33"), 0.36);
        assert_eq!(hourly_rate(&settings, "local", "local"), 0.0);
        assert_eq!(hourly_rate(&settings, "other", "x"), FALLBACK_RATE);
        settings.cost_rates.insert("local".into(), 2.0);
        settings.cost_rates.insert("hetzner:ccx33".into(), 1.0);
        assert_eq!(hourly_rate(&settings, "Local", "whatever"), 2.0);
        assert_eq!(hourly_rate(&settings, "hetzner", "CCX33"), 1.0);
        assert_eq!(max_estimated_usd(5400, 0.36), 0.54);
    }

    #[test]
    fn month_start_is_the_first_utc_midnight() {
        let now = Timestamp(parse_rfc3339("2026-11-23T15:04:05Z").unwrap() * 1000);
        assert_eq!(
            month_start(now),
            Timestamp(parse_rfc3339("2026-11-01T00:00:00Z").unwrap() * 1000)
        );
    }

    #[test]
    fn caps_are_checked_in_order() {
        let caps = Caps {
            max_active_leases: 2,
            max_active_leases_per_owner: 1,
            max_monthly_usd: 10.0,
            ..Caps::default()
        };
        let mut admission = Admission {
            active_total: 1,
            active_owner: 1,
            ..Admission::default()
        };
        let error = admit(&caps, &admission, "me", "", 0.0).unwrap_err();
        assert_eq!(error.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(error.message, "owner active lease limit exceeded: 2/1");
        admission.active_total = 2;
        let error = admit(&caps, &admission, "me", "", 0.0).unwrap_err();
        assert_eq!(error.message, "active lease limit exceeded: 3/2");
        let admission = Admission {
            reserved_usd_total: 9.5,
            ..Admission::default()
        };
        let error = admit(&caps, &admission, "me", "", 1.0).unwrap_err();
        assert_eq!(error.code, "cost_limit_exceeded");
        assert!(admit(&caps, &admission, "me", "", 0.5).is_ok());
    }
}
