//! What each bridge-relevant provider declares about pond transports, and the
//! adapter behind it. Peer rows derive from these declarations; there are no
//! provider-name checks anywhere else.

use super::{BridgeAdapter, BridgeError, E2bAdapter, IsloAdapter, RailwayAdapter};
use crate::Capabilities;

/// A provider's pond declaration.
#[derive(Debug, Clone, Copy)]
pub struct Declaration {
    pub provider: &'static str,
    pub aliases: &'static [&'static str],
    pub capabilities: Capabilities,
    /// The provider's own product owns connectivity; rows say so instead of
    /// "no advertised transport".
    pub owns_connectivity: bool,
    /// Builds the URL adapter from settings (`None`: no adapter).
    adapter: Option<AdapterFactory>,
}

type AdapterFactory =
    fn(&dyn Fn(&str) -> Option<String>) -> Result<Box<dyn BridgeAdapter>, BridgeError>;

const NO_PLANES: Capabilities = Capabilities {
    tailscale: false,
    tailscale_egress: false,
    ssh_mesh: false,
    url_bridge: false,
};

const URL_ONLY: Capabilities = Capabilities {
    url_bridge: true,
    ..NO_PLANES
};

fn islo(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Box<dyn BridgeAdapter>, BridgeError> {
    Ok(Box::new(IsloAdapter::from_lookup(lookup)?))
}

fn e2b(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Box<dyn BridgeAdapter>, BridgeError> {
    Ok(Box::new(E2bAdapter::from_lookup(lookup)?))
}

fn railway(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Box<dyn BridgeAdapter>, BridgeError> {
    Ok(Box::new(RailwayAdapter::from_lookup(lookup)?))
}

const fn no_transport(provider: &'static str, aliases: &'static [&'static str]) -> Declaration {
    Declaration {
        provider,
        aliases,
        capabilities: NO_PLANES,
        owns_connectivity: false,
        adapter: None,
    }
}

static DECLARATIONS: &[Declaration] = &[
    Declaration {
        provider: "islo",
        aliases: &["islo-sandbox"],
        // Userspace Tailscale for egress only: never a peer transport.
        capabilities: Capabilities {
            tailscale_egress: true,
            ..URL_ONLY
        },
        owns_connectivity: false,
        adapter: Some(islo),
    },
    Declaration {
        provider: "e2b",
        aliases: &[],
        capabilities: URL_ONLY,
        owns_connectivity: false,
        adapter: Some(e2b),
    },
    Declaration {
        provider: "railway",
        aliases: &[],
        capabilities: URL_ONLY,
        owns_connectivity: false,
        adapter: Some(railway),
    },
    no_transport("modal", &[]),
    no_transport("cloudflare", &["cloudflare-dynamic-workers"]),
    no_transport("tensorlake", &[]),
    no_transport("opencomputer", &[]),
    Declaration {
        owns_connectivity: true,
        ..no_transport("blacksmith", &["blacksmith-testbox"])
    },
];

/// Every declaration, in catalog order.
pub fn declarations() -> &'static [Declaration] {
    DECLARATIONS
}

/// The declaration of `provider` (canonical name or alias, any case).
pub fn declaration(provider: &str) -> Option<&'static Declaration> {
    let wanted = provider.trim().to_lowercase();
    DECLARATIONS.iter().find(|declaration| {
        declaration.provider == wanted || declaration.aliases.contains(&wanted.as_str())
    })
}

impl Declaration {
    pub fn has_adapter(&self) -> bool {
        self.adapter.is_some()
    }
}

/// The note of a `transport=none` row for `provider`.
pub fn none_note(provider: &str) -> String {
    match declaration(provider) {
        Some(declaration) if declaration.owns_connectivity => {
            format!("{} owns connectivity", declaration.provider)
        }
        _ => format!("no advertised pond transport for provider {provider}"),
    }
}

/// The URL adapter of `provider` built from settings (`lookup` reads
/// variables such as `ISLO_API_KEY`): `Ok(None)` when the provider has none,
/// an error when it has one but its settings are missing or invalid.
pub fn adapter_for(
    provider: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Box<dyn BridgeAdapter>>, BridgeError> {
    match declaration(provider).and_then(|declaration| declaration.adapter) {
        Some(factory) => factory(lookup).map(Some),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Transport;

    #[test]
    fn transports_follow_declarations() {
        let transports = |provider: &str| declaration(provider).unwrap().capabilities.available();
        assert_eq!(transports("islo"), vec![Transport::Url]);
        assert_eq!(transports("ISLO-SANDBOX"), vec![Transport::Url]);
        assert_eq!(transports("e2b"), vec![Transport::Url]);
        assert_eq!(transports("railway"), vec![Transport::Url]);
        for provider in [
            "modal",
            "cloudflare",
            "tensorlake",
            "opencomputer",
            "blacksmith",
        ] {
            assert_eq!(transports(provider), vec![], "{provider}");
            assert_eq!(
                declaration(provider).unwrap().capabilities.primary(),
                Transport::None
            );
        }
        assert!(declaration("local").is_none());
    }

    #[test]
    fn none_notes() {
        assert_eq!(none_note("blacksmith"), "blacksmith owns connectivity");
        assert_eq!(
            none_note("blacksmith-testbox"),
            "blacksmith owns connectivity"
        );
        assert_eq!(
            none_note("modal"),
            "no advertised pond transport for provider modal"
        );
    }

    #[test]
    fn adapters_need_their_settings() {
        let empty = |_: &str| None;
        assert!(adapter_for("modal", &empty).unwrap().is_none());
        assert!(adapter_for("local", &empty).unwrap().is_none());
        let Err(error) = adapter_for("islo", &empty) else {
            panic!("islo without a key built an adapter");
        };
        assert_eq!(error.to_string(), "provider=islo requires ISLO_API_KEY");
        assert_eq!(error.class(), crabbox_proto::ErrorClass::Prerequisite);
        let with_key = |name: &str| (name == "E2B_API_KEY").then(|| "k".to_string());
        let adapter = adapter_for("e2b", &with_key).unwrap().unwrap();
        assert_eq!(adapter.provider(), "e2b");
        for declaration in declarations() {
            assert_eq!(
                declaration.has_adapter(),
                declaration.capabilities.url_bridge,
                "{}",
                declaration.provider
            );
        }
    }
}
