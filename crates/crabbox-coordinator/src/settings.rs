//! Coordinator settings from `CRABBOX_*` environment variables, validated once at
//! start so a bad value stops the server instead of surprising a request.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crabbox_core::Secret;

/// The single-user development setting that allows brokering `local`.
pub const LOCAL_DEV: &str = "CRABBOX_COORDINATOR_LOCAL_DEV";
/// Liveness marks shorter than this would lapse between renewals.
const MIN_INSTANCE_TTL_MS: i64 = 300;

/// `1`/`true`/`yes` or `0`/`false`/`no`/unset.
fn flag(env: &BTreeMap<String, String>, name: &str) -> Result<bool, String> {
    match env
        .get(name)
        .map(|value| value.trim().to_lowercase())
        .as_deref()
    {
        None | Some("" | "0" | "false" | "no") => Ok(false),
        Some("1" | "true" | "yes") => Ok(true),
        Some(other) => Err(format!("{name} must be 1 or 0, got {other:?}")),
    }
}

/// Lease and spend caps; zero means off.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Caps {
    pub max_active_leases: i64,
    pub max_active_leases_per_owner: i64,
    pub max_active_leases_per_org: i64,
    pub capacity_admin_owners: BTreeSet<String>,
    pub max_active_leases_per_capacity_admin: i64,
    pub max_monthly_usd: f64,
    pub max_monthly_usd_per_owner: f64,
    pub max_monthly_usd_per_org: f64,
}

/// How the server treats connections: slow or silent clients are cut off and
/// the number of open connections is bounded, so neither can exhaust the
/// process's file descriptors or hold up a shutdown.
#[derive(Debug, Clone, PartialEq)]
pub struct Connections {
    /// How long a connection may take to deliver a complete request head once
    /// its first byte arrived (and from accept on a new connection).
    pub header_timeout: Duration,
    /// How long a kept-alive connection may wait for the next request, and a
    /// request body may go without a byte arriving.
    pub idle_timeout: Duration,
    /// How long a shutdown waits for requests in flight before dropping them.
    pub drain_timeout: Duration,
    /// Open connections (WebSockets included) across all peers; further ones
    /// are closed on accept. Lowered at start to fit the descriptor limit.
    pub max_connections: usize,
    /// Open connections from one IP address; zero means no per-address cap.
    pub max_connections_per_peer: usize,
    /// How long a request waits for a database connection before it is
    /// answered 503 `database_unavailable`.
    pub database_acquire_timeout: Duration,
}

impl Default for Connections {
    fn default() -> Connections {
        Connections {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            drain_timeout: Duration::from_secs(5),
            max_connections: 4096,
            max_connections_per_peer: 256,
            database_acquire_timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub admin_token: Option<Secret>,
    pub shared_token: Option<Secret>,
    /// Owner of requests made with the shared token.
    pub shared_owner: String,
    pub default_org: String,
    /// Signs `cbxu_` user tokens.
    pub session_secret: Option<Secret>,
    pub github_admin_owners: BTreeSet<String>,
    pub caps: Caps,
    /// `provider:type` (or `provider`) → USD per hour.
    pub cost_rates: BTreeMap<String, f64>,
    pub run_retention_days: i64,
    /// Providers this coordinator brokers.
    pub providers: Vec<String>,
    /// `CRABBOX_COORDINATOR_LOCAL_DEV`: allows brokering `local`, whose lease
    /// users run as the coordinator's own user and can read its environment and
    /// files. Only for a single-user development coordinator.
    pub local_dev: bool,
    /// How long a replica's liveness mark lasts without renewal
    /// (`CRABBOX_INSTANCE_TTL_MS`); creates a dead replica started are recovered
    /// after it lapses.
    pub default_provider: String,
    pub instance_ttl_ms: i64,
    /// Longest wait between maintenance passes.
    pub maintenance_backstop_ms: i64,
    /// `CRABBOX_TEST_CRASH_POINT`, for crash-recovery tests only: the process
    /// aborts when it reaches the named point (`after-reserve`, `after-acquire`,
    /// `after-machine-delete`), exactly as if it were killed there.
    pub crash_point: String,
    /// How often the control socket pings each client; a client that has not
    /// answered the previous ping by the next one is dropped.
    pub control_ping_interval_ms: i64,
    pub connections: Connections,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            admin_token: None,
            shared_token: None,
            shared_owner: "unknown".into(),
            default_org: String::new(),
            session_secret: None,
            github_admin_owners: BTreeSet::new(),
            caps: Caps::default(),
            cost_rates: BTreeMap::new(),
            run_retention_days: 30,
            providers: Vec::new(),
            default_provider: "local".into(),
            local_dev: false,
            crash_point: String::new(),
            instance_ttl_ms: 30_000,
            maintenance_backstop_ms: 15 * 60 * 1000,
            control_ping_interval_ms: 30_000,
            connections: Connections::default(),
        }
    }
}

impl Settings {
    pub fn from_env(env: &BTreeMap<String, String>) -> Result<Settings, String> {
        let text = |name: &str| {
            env.get(name)
                .map(|value| value.trim().to_string())
                .filter(|value| !value.is_empty())
        };
        let integer = |name: &str, default: i64| -> Result<i64, String> {
            match text(name) {
                None => Ok(default),
                Some(value) => value
                    .parse::<i64>()
                    .ok()
                    .filter(|number| *number >= 0)
                    .ok_or_else(|| format!("{name} must be a non-negative integer, got {value:?}")),
            }
        };
        let millis = |name: &str, default: Duration| -> Result<Duration, String> {
            match text(name) {
                None => Ok(default),
                Some(value) => value
                    .parse::<u64>()
                    .ok()
                    .filter(|number| *number > 0)
                    .map(Duration::from_millis)
                    .ok_or_else(|| {
                        format!("{name} must be a positive number of milliseconds, got {value:?}")
                    }),
            }
        };
        let count = |name: &str, default: usize| -> Result<usize, String> {
            integer(name, default as i64).map(|number| number as usize)
        };
        let dollars = |name: &str| -> Result<f64, String> {
            match text(name) {
                None => Ok(0.0),
                Some(value) => value
                    .parse::<f64>()
                    .ok()
                    .filter(|number| number.is_finite() && *number >= 0.0)
                    .ok_or_else(|| format!("{name} must be a non-negative number, got {value:?}")),
            }
        };
        let names = |name: &str| -> BTreeSet<String> {
            text(name)
                .map(|value| {
                    value
                        .split(',')
                        .map(str::trim)
                        .filter(|item| !item.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };

        let defaults = Connections::default();
        let mut settings = Settings {
            admin_token: Secret::from_setting(env.get("CRABBOX_ADMIN_TOKEN").map(String::as_str)),
            shared_token: Secret::from_setting(env.get("CRABBOX_SHARED_TOKEN").map(String::as_str)),
            session_secret: Secret::from_setting(
                env.get("CRABBOX_SESSION_SECRET").map(String::as_str),
            ),
            github_admin_owners: names("CRABBOX_GITHUB_ADMIN_OWNERS"),
            caps: Caps {
                max_active_leases: integer("CRABBOX_MAX_ACTIVE_LEASES", 0)?,
                max_active_leases_per_owner: integer("CRABBOX_MAX_ACTIVE_LEASES_PER_OWNER", 0)?,
                max_active_leases_per_org: integer("CRABBOX_MAX_ACTIVE_LEASES_PER_ORG", 0)?,
                capacity_admin_owners: names("CRABBOX_CAPACITY_ADMIN_OWNERS"),
                max_active_leases_per_capacity_admin: integer(
                    "CRABBOX_MAX_ACTIVE_LEASES_PER_CAPACITY_ADMIN",
                    0,
                )?,
                max_monthly_usd: dollars("CRABBOX_MAX_MONTHLY_USD")?,
                max_monthly_usd_per_owner: dollars("CRABBOX_MAX_MONTHLY_USD_PER_OWNER")?,
                max_monthly_usd_per_org: dollars("CRABBOX_MAX_MONTHLY_USD_PER_ORG")?,
            },
            run_retention_days: integer("CRABBOX_RUN_RETENTION_DAYS", 30)?.clamp(1, 3650),
            connections: Connections {
                header_timeout: millis("CRABBOX_HTTP_HEADER_TIMEOUT_MS", defaults.header_timeout)?,
                idle_timeout: millis("CRABBOX_HTTP_IDLE_TIMEOUT_MS", defaults.idle_timeout)?,
                drain_timeout: millis("CRABBOX_HTTP_DRAIN_TIMEOUT_MS", defaults.drain_timeout)?,
                max_connections: count("CRABBOX_HTTP_MAX_CONNECTIONS", defaults.max_connections)?
                    .max(1),
                max_connections_per_peer: count(
                    "CRABBOX_HTTP_MAX_CONNECTIONS_PER_IP",
                    defaults.max_connections_per_peer,
                )?,
                database_acquire_timeout: millis(
                    "CRABBOX_DATABASE_ACQUIRE_TIMEOUT_MS",
                    defaults.database_acquire_timeout,
                )?,
            },
            ..Settings::default()
        };
        if let Some(owner) = text("CRABBOX_SHARED_OWNER") {
            settings.shared_owner = owner;
        }
        if let Some(org) = text("CRABBOX_DEFAULT_ORG") {
            settings.default_org = org;
        }
        if let Some(rates) = text("CRABBOX_COST_RATES_JSON") {
            settings.cost_rates = parse_rates(&rates)?;
        }
        settings.local_dev = flag(env, LOCAL_DEV)?;
        settings.crash_point = text("CRABBOX_TEST_CRASH_POINT").unwrap_or_default();
        settings.instance_ttl_ms =
            integer("CRABBOX_INSTANCE_TTL_MS", settings.instance_ttl_ms)?.max(MIN_INSTANCE_TTL_MS);
        let providers: Vec<String> = names("CRABBOX_PROVIDERS").into_iter().collect();
        if providers.is_empty() {
            // `local` is never brokered without the explicit development setting.
            if settings.local_dev {
                settings.providers = vec!["local".into()];
            }
        } else {
            let names_local = providers.iter().any(|name| {
                crabbox_providers::canonical_name(name).is_ok_and(|canonical| canonical == "local")
            });
            if names_local && !settings.local_dev {
                return Err(format!(
                    "CRABBOX_PROVIDERS names local, whose leases run as this coordinator's user and can read its tokens and database; set {LOCAL_DEV}=1 only for a single-user development coordinator"
                ));
            }
            settings.default_provider = providers[0].clone();
            settings.providers = providers;
        }
        if let Some(default) = text("CRABBOX_DEFAULT_PROVIDER") {
            settings.default_provider = default;
        }
        if let (Some(secret), Some(shared)) = (&settings.session_secret, &settings.shared_token) {
            if secret.matches(shared.expose()) {
                return Err("CRABBOX_SESSION_SECRET must differ from CRABBOX_SHARED_TOKEN".into());
            }
        }
        Ok(settings)
    }

    /// Whether any way to authenticate is configured.
    pub fn has_credentials(&self) -> bool {
        self.admin_token.is_some() || self.shared_token.is_some() || self.session_secret.is_some()
    }
}

/// `{"provider:type": usdPerHour, …}`; values must be non-negative numbers.
fn parse_rates(text: &str) -> Result<BTreeMap<String, f64>, String> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|error| format!("CRABBOX_COST_RATES_JSON is not valid JSON: {error}"))?;
    let object = value
        .as_object()
        .ok_or("CRABBOX_COST_RATES_JSON must be an object of \"provider:type\": rate")?;
    object
        .iter()
        .map(|(key, rate)| match rate.as_f64() {
            Some(rate) if rate.is_finite() && rate >= 0.0 => Ok((key.to_lowercase(), rate)),
            _ => Err(format!(
                "CRABBOX_COST_RATES_JSON: rate for {key:?} must be a non-negative number"
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect()
    }

    #[test]
    fn reads_caps_rates_and_tokens() {
        let settings = Settings::from_env(&env(&[
            ("CRABBOX_SHARED_TOKEN", "shared"),
            ("CRABBOX_MAX_ACTIVE_LEASES_PER_OWNER", "3"),
            ("CRABBOX_MAX_MONTHLY_USD", "12.5"),
            ("CRABBOX_COST_RATES_JSON", r#"{"Local:local": 0.25}"#),
            ("CRABBOX_RUN_RETENTION_DAYS", "0"),
        ]))
        .unwrap();
        assert!(settings.shared_token.unwrap().matches("shared"));
        assert_eq!(settings.caps.max_active_leases_per_owner, 3);
        assert_eq!(settings.caps.max_monthly_usd, 12.5);
        assert_eq!(settings.cost_rates["local:local"], 0.25);
        assert_eq!(settings.run_retention_days, 1);
        assert_eq!(settings.connections, Connections::default());
    }

    #[test]
    fn reads_connection_limits() {
        let settings = Settings::from_env(&env(&[
            ("CRABBOX_HTTP_HEADER_TIMEOUT_MS", "1500"),
            ("CRABBOX_HTTP_IDLE_TIMEOUT_MS", "2500"),
            ("CRABBOX_HTTP_DRAIN_TIMEOUT_MS", "100"),
            ("CRABBOX_HTTP_MAX_CONNECTIONS", "0"),
            ("CRABBOX_HTTP_MAX_CONNECTIONS_PER_IP", "0"),
            ("CRABBOX_DATABASE_ACQUIRE_TIMEOUT_MS", "700"),
        ]))
        .unwrap();
        let connections = settings.connections;
        assert_eq!(connections.header_timeout, Duration::from_millis(1500));
        assert_eq!(connections.idle_timeout, Duration::from_millis(2500));
        assert_eq!(connections.drain_timeout, Duration::from_millis(100));
        assert_eq!(connections.max_connections, 1, "at least one connection");
        assert_eq!(connections.max_connections_per_peer, 0, "zero turns it off");
        assert_eq!(
            connections.database_acquire_timeout,
            Duration::from_millis(700)
        );
    }

    #[test]
    fn refuses_bad_values() {
        for pairs in [
            [("CRABBOX_MAX_ACTIVE_LEASES", "-1")],
            [("CRABBOX_MAX_MONTHLY_USD", "lots")],
            [("CRABBOX_COST_RATES_JSON", "[1]")],
            [("CRABBOX_COST_RATES_JSON", r#"{"a": "b"}"#)],
            [("CRABBOX_HTTP_HEADER_TIMEOUT_MS", "0")],
            [("CRABBOX_HTTP_MAX_CONNECTIONS", "many")],
        ] {
            assert!(Settings::from_env(&env(&pairs)).is_err(), "{pairs:?}");
        }
        let same = env(&[
            ("CRABBOX_SHARED_TOKEN", "x"),
            ("CRABBOX_SESSION_SECRET", "x"),
        ]);
        assert!(Settings::from_env(&same).is_err());
    }

    #[test]
    fn local_is_brokered_only_with_the_development_setting() {
        let plain = Settings::from_env(&env(&[])).unwrap();
        assert!(!plain.local_dev);
        assert!(plain.providers.is_empty(), "{:?}", plain.providers);
        for pairs in [
            vec![("CRABBOX_PROVIDERS", "local")],
            vec![("CRABBOX_PROVIDERS", "hetzner,localhost")],
            vec![("CRABBOX_PROVIDERS", "local"), (LOCAL_DEV, "0")],
        ] {
            let error = Settings::from_env(&env(&pairs)).unwrap_err();
            assert!(error.contains(LOCAL_DEV), "{error}");
        }
        assert!(Settings::from_env(&env(&[(LOCAL_DEV, "maybe")])).is_err());
        let dev = Settings::from_env(&env(&[(LOCAL_DEV, "1")])).unwrap();
        assert!(dev.local_dev);
        assert_eq!(dev.providers, ["local"]);
        let named =
            Settings::from_env(&env(&[(LOCAL_DEV, "true"), ("CRABBOX_PROVIDERS", "local")]));
        assert_eq!(named.unwrap().default_provider, "local");
    }
}
