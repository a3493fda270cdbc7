//! Peer rows: how each pond member is reached, derived from provider capabilities
//! and what the local claim recorded, without any network call.

use std::collections::BTreeMap;

use serde::Serialize;

/// A plane a member can be reached over, or why it cannot yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Tailnet,
    Url,
    Ssh,
    Pending,
    None,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Tailnet => "tailnet",
            Transport::Url => "url",
            Transport::Ssh => "ssh",
            Transport::Pending => "pending",
            Transport::None => "none",
        }
    }
}

/// Pond capabilities of a provider, derived from its declared features.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// Bidirectional Tailscale peer plane.
    pub tailscale: bool,
    /// Outbound-only userspace Tailscale; never a transport.
    pub tailscale_egress: bool,
    /// An SSH-lease provider with SSH: the operator-side `ssh -L` mesh.
    pub ssh_mesh: bool,
    pub url_bridge: bool,
}

impl Capabilities {
    /// The planes in preference order.
    pub fn available(&self) -> Vec<Transport> {
        [
            (self.tailscale, Transport::Tailnet),
            (self.url_bridge, Transport::Url),
            (self.ssh_mesh, Transport::Ssh),
        ]
        .into_iter()
        .filter_map(|(has, transport)| has.then_some(transport))
        .collect()
    }

    pub fn primary(&self) -> Transport {
        self.available().first().copied().unwrap_or(Transport::None)
    }
}

/// What a row is built from: one local claim plus its provider's capabilities.
#[derive(Debug, Clone, Default)]
pub struct PeerSource {
    pub slug: String,
    pub lease_id: String,
    pub provider: String,
    pub pond: String,
    pub labels: BTreeMap<String, String>,
    pub ssh_host: String,
    pub ssh_port: u16,
    pub bridge_url: String,
    pub tailnet_ipv4: String,
    pub tailnet_fqdn: String,
    /// The provider hands connectivity to its own product (no pond plane at all).
    pub provider_owns_connectivity: bool,
    pub capabilities: Capabilities,
}

/// One published URL of a member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeerTarget {
    pub port: u16,
    pub url: String,
    #[serde(rename = "shareID", skip_serializing_if = "String::is_empty")]
    pub share_id: String,
    #[serde(rename = "expiresAt", skip_serializing_if = "String::is_empty")]
    pub expires_at: String,
}

/// One `pond peers` row; key order is the JSON order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeerRow {
    pub slug: String,
    #[serde(rename = "leaseID")]
    pub lease_id: String,
    pub provider: String,
    pub pond: String,
    pub transport: Transport,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub transports: Vec<Transport>,
    pub endpoint: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub note: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<PeerTarget>,
    #[serde(rename = "bridgeState", skip_serializing_if = "String::is_empty")]
    pub bridge_state: String,
}

impl PeerRow {
    /// Tab-separated text line plus one continuation line per target.
    pub fn text(&self) -> String {
        let mut line = format!(
            "{}\tlease={}\tprovider={}\tpond={}\ttransport={}",
            self.slug,
            self.lease_id,
            self.provider,
            self.pond,
            self.transport.as_str()
        );
        if !self.endpoint.is_empty() {
            line.push_str(&format!("\tendpoint={}", self.endpoint));
        }
        if !self.bridge_state.is_empty() {
            line.push_str(&format!("\tbridge={}", self.bridge_state));
        }
        if !self.note.is_empty() {
            line.push_str(&format!("\tnote={:?}", self.note));
        }
        for target in &self.targets {
            line.push_str(&format!(
                "\n  bridge target port={} url={}",
                target.port, target.url
            ));
            if !target.share_id.is_empty() {
                line.push_str(&format!(" share={}", target.share_id));
            }
            if !target.expires_at.is_empty() {
                line.push_str(&format!(" expires={}", target.expires_at));
            }
        }
        line
    }
}

fn has_tailnet_metadata(source: &PeerSource) -> bool {
    let truthy = |key: &str| {
        source
            .labels
            .get(key)
            .is_some_and(|value| matches!(value.as_str(), "1" | "true" | "yes" | "on"))
    };
    !source.tailnet_ipv4.is_empty()
        || !source.tailnet_fqdn.is_empty()
        || truthy("tailscale")
        || source
            .labels
            .get("tailscale_state")
            .is_some_and(|state| !state.is_empty())
}

/// The row for one member from recorded state alone (reference §3.3).
pub fn build_row(source: &PeerSource) -> PeerRow {
    let capabilities = source.capabilities;
    let mut row = PeerRow {
        slug: source.slug.clone(),
        lease_id: source.lease_id.clone(),
        provider: source.provider.clone(),
        pond: source.pond.clone(),
        transport: capabilities.primary(),
        transports: capabilities.available(),
        endpoint: String::new(),
        labels: source.labels.clone(),
        note: String::new(),
        targets: Vec::new(),
        bridge_state: String::new(),
    };
    match row.transport {
        Transport::Tailnet => {
            let address = if source.tailnet_ipv4.is_empty() {
                &source.tailnet_fqdn
            } else {
                &source.tailnet_ipv4
            };
            if !address.is_empty() {
                row.endpoint = address.clone();
            } else if capabilities.url_bridge {
                row.transport = Transport::Url;
                row.endpoint = source.bridge_url.clone();
            } else {
                row.transport = Transport::Pending;
                row.note = "tailnet endpoint not yet recorded for this lease".into();
            }
        }
        Transport::Ssh => {
            if source.ssh_host.is_empty() {
                row.transport = Transport::Pending;
                row.note = "ssh endpoint not yet recorded for this lease".into();
            } else if source.ssh_port == 0 {
                row.transport = Transport::Pending;
                row.note = "ssh port not yet recorded for this lease".into();
            } else {
                row.endpoint = format!("ssh://{}:{}", source.ssh_host, source.ssh_port);
            }
        }
        Transport::Url => row.endpoint = source.bridge_url.clone(),
        Transport::None | Transport::Pending => {
            row.note = if source.provider_owns_connectivity {
                format!("{} owns connectivity", source.provider)
            } else {
                format!(
                    "no advertised pond transport for provider {}",
                    source.provider
                )
            };
        }
    }
    if capabilities.tailscale_egress && !capabilities.tailscale && has_tailnet_metadata(source) {
        row.note = "tailnet available for outbound proxy traffic only".into();
    }
    row
}

/// Sorts rows by slug, then lease ID.
pub fn sort_rows(rows: &mut [PeerRow]) {
    rows.sort_by(|left, right| {
        (left.slug.as_str(), left.lease_id.as_str()).cmp(&(&right.slug, &right.lease_id))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ssh_source() -> PeerSource {
        PeerSource {
            slug: "db".into(),
            lease_id: "cbx_000000000001".into(),
            provider: "local".into(),
            pond: "alpha".into(),
            ssh_host: "10.1.0.2".into(),
            ssh_port: 2222,
            capabilities: Capabilities {
                ssh_mesh: true,
                ..Capabilities::default()
            },
            ..PeerSource::default()
        }
    }

    #[test]
    fn capabilities_order_planes() {
        let all = Capabilities {
            tailscale: true,
            tailscale_egress: false,
            ssh_mesh: true,
            url_bridge: true,
        };
        assert_eq!(
            all.available(),
            vec![Transport::Tailnet, Transport::Url, Transport::Ssh]
        );
        assert_eq!(Capabilities::default().primary(), Transport::None);
        let egress = Capabilities {
            tailscale_egress: true,
            url_bridge: true,
            ..Capabilities::default()
        };
        assert_eq!(egress.available(), vec![Transport::Url]);
    }

    #[test]
    fn ssh_rows_need_host_and_port() {
        let row = build_row(&ssh_source());
        assert_eq!(row.transport, Transport::Ssh);
        assert_eq!(row.endpoint, "ssh://10.1.0.2:2222");
        let mut hostless = ssh_source();
        hostless.ssh_host.clear();
        let row = build_row(&hostless);
        assert_eq!(row.transport, Transport::Pending);
        assert_eq!(row.endpoint, "");
        assert!(row.note.starts_with("ssh endpoint not yet recorded"));
        let mut portless = ssh_source();
        portless.ssh_port = 0;
        assert!(build_row(&portless).note.starts_with("ssh port not yet"));
    }

    #[test]
    fn rows_without_planes_explain_themselves() {
        let mut source = ssh_source();
        source.capabilities = Capabilities::default();
        source.provider = "modal".into();
        let row = build_row(&source);
        assert_eq!(row.transport, Transport::None);
        assert_eq!(row.note, "no advertised pond transport for provider modal");
        source.provider = "blacksmith".into();
        source.provider_owns_connectivity = true;
        assert_eq!(build_row(&source).note, "blacksmith owns connectivity");
    }

    #[test]
    fn tailnet_rows_fall_back_to_url_or_pending() {
        let mut source = ssh_source();
        source.capabilities.tailscale = true;
        assert_eq!(build_row(&source).transport, Transport::Pending);
        source.tailnet_fqdn = "db.tail.ts.net".into();
        assert_eq!(build_row(&source).endpoint, "db.tail.ts.net");
        source.tailnet_ipv4 = "100.64.0.9".into();
        assert_eq!(build_row(&source).endpoint, "100.64.0.9");
        source.tailnet_ipv4.clear();
        source.tailnet_fqdn.clear();
        source.capabilities.url_bridge = true;
        assert_eq!(build_row(&source).transport, Transport::Url);
    }

    #[test]
    fn json_and_text_shapes() {
        let mut row = build_row(&ssh_source());
        row.targets.push(PeerTarget {
            port: 8080,
            url: "https://x".into(),
            share_id: String::new(),
            expires_at: String::new(),
        });
        let json = serde_json::to_string(&row).unwrap();
        assert_eq!(
            json,
            r#"{"slug":"db","leaseID":"cbx_000000000001","provider":"local","pond":"alpha","transport":"ssh","transports":["ssh"],"endpoint":"ssh://10.1.0.2:2222","targets":[{"port":8080,"url":"https://x"}]}"#
        );
        assert_eq!(
            row.text(),
            "db\tlease=cbx_000000000001\tprovider=local\tpond=alpha\ttransport=ssh\tendpoint=ssh://10.1.0.2:2222\n  bridge target port=8080 url=https://x"
        );
    }
}
