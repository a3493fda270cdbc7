//! Operator settings of the tailnet plane, read from the environment:
//! `CRABBOX_POND_ACL_BOOTSTRAP`, `TS_API_KEY`, `TS_TAILNET`,
//! `CRABBOX_TS_API_URL` / `TS_API_URL` and `TS_CONTROL_URL`.

use crabbox_core::Secret;

use crate::bridge::http::segment;

pub const DEFAULT_API_URL: &str = "https://api.tailscale.com";

/// Settings for the policy API; `Debug` never shows the API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclSettings {
    /// `CRABBOX_POND_ACL_BOOTSTRAP` is `1`, `true`, `yes` or `on`. An API key
    /// alone is never consent to edit the policy.
    pub bootstrap_opt_in: bool,
    pub api_key: Option<Secret>,
    /// `TS_TAILNET`, or `-` (the key's own tailnet).
    pub tailnet: String,
    /// `CRABBOX_TS_API_URL`, else `TS_API_URL`, else the Tailscale API; no
    /// trailing `/`.
    pub api_url: String,
    /// `TS_CONTROL_URL`: a self-hosted control server (Headscale…) that nodes
    /// log in to.
    pub control_url: Option<String>,
}

impl AclSettings {
    pub fn from_env() -> AclSettings {
        AclSettings::from_lookup(|name| std::env::var(name).ok())
    }

    /// Settings from any variable source (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> AclSettings {
        let value = |name: &str| {
            lookup(name)
                .map(|value| value.trim().to_string())
                .filter(|value| !value.is_empty())
        };
        let opt_in = value("CRABBOX_POND_ACL_BOOTSTRAP")
            .map(|text| matches!(text.to_lowercase().as_str(), "1" | "true" | "yes" | "on"))
            .unwrap_or(false);
        let api_url = value("CRABBOX_TS_API_URL")
            .or_else(|| value("TS_API_URL"))
            .unwrap_or_else(|| DEFAULT_API_URL.to_string());
        AclSettings {
            bootstrap_opt_in: opt_in,
            api_key: Secret::from_setting(value("TS_API_KEY").as_deref()),
            tailnet: value("TS_TAILNET").unwrap_or_else(|| "-".to_string()),
            api_url: api_url.trim_end_matches('/').to_string(),
            control_url: value("TS_CONTROL_URL"),
        }
    }

    /// `<api>/api/v2/tailnet/<tailnet>/acl`.
    pub fn policy_url(&self) -> String {
        format!(
            "{}/api/v2/tailnet/{}/acl",
            self.api_url,
            segment(&self.tailnet)
        )
    }

    /// The `tailscale up` argument that points a node at `TS_CONTROL_URL`.
    pub fn login_server_argument(&self) -> Option<String> {
        self.control_url
            .as_ref()
            .map(|url| format!("--login-server={url}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> AclSettings {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect();
        AclSettings::from_lookup(move |name| {
            pairs
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        })
    }

    #[test]
    fn defaults_and_precedence() {
        let empty = settings(&[]);
        assert!(!empty.bootstrap_opt_in);
        assert_eq!(empty.api_key, None);
        assert_eq!(
            empty.policy_url(),
            "https://api.tailscale.com/api/v2/tailnet/-/acl"
        );
        assert_eq!(empty.login_server_argument(), None);

        let set = settings(&[
            ("CRABBOX_POND_ACL_BOOTSTRAP", "Yes"),
            ("TS_API_KEY", "tskey-api-secret"),
            ("TS_TAILNET", "example.com"),
            ("TS_API_URL", "https://ignored.example"),
            ("CRABBOX_TS_API_URL", "http://127.0.0.1:9/"),
            ("TS_CONTROL_URL", "https://hs.example"),
        ]);
        assert!(set.bootstrap_opt_in);
        assert_eq!(
            set.policy_url(),
            "http://127.0.0.1:9/api/v2/tailnet/example.com/acl"
        );
        assert_eq!(
            set.login_server_argument().unwrap(),
            "--login-server=https://hs.example"
        );
        assert!(!format!("{set:?}").contains("tskey-api-secret"));
    }

    #[test]
    fn opt_in_values() {
        for (text, expected) in [
            ("1", true),
            ("on", true),
            ("TRUE", true),
            ("0", false),
            ("no", false),
        ] {
            assert_eq!(
                settings(&[("CRABBOX_POND_ACL_BOOTSTRAP", text)]).bootstrap_opt_in,
                expected
            );
        }
        assert_eq!(
            settings(&[("TS_API_URL", "https://a.example/")]).api_url,
            "https://a.example"
        );
    }
}
