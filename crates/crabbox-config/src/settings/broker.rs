//! `broker.*`: the coordinator that brokers leases and the credentials for it.

use crabbox_core::Secret;

use crate::config::Config;

/// A configured coordinator. Tokens are [`Secret`]s, so printing the settings
/// never shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerSettings {
    /// `broker.url` as written.
    pub url: String,
    /// `broker.token`; `None` when unset or blank.
    pub token: Option<Secret>,
    /// `broker.adminToken`; `None` when unset or blank.
    pub admin_token: Option<Secret>,
}

impl BrokerSettings {
    /// `None` unless `broker.url` holds more than blanks.
    pub(super) fn resolve(config: &Config) -> Option<BrokerSettings> {
        let url = config
            .str("broker.url")
            .filter(|url| !url.trim().is_empty())?;
        Some(BrokerSettings {
            url: url.to_string(),
            token: Secret::from_setting(config.str("broker.token")),
            admin_token: Secret::from_setting(config.str("broker.adminToken")),
        })
    }
}
