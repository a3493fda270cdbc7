//! Static description of a provider: name, aliases, kind and features.

use serde::Serialize;

/// Whether the CLI owns sync and execution (ssh-lease) or the provider does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProviderKind {
    SshLease,
    DelegatedRun,
}

impl ProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::SshLease => "ssh-lease",
            ProviderKind::DelegatedRun => "delegated-run",
        }
    }
}

/// Capabilities that drive decisions elsewhere (never provider-name tables).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Feature {
    Ssh,
    CrabboxSync,
    Cleanup,
}

impl Feature {
    pub fn as_str(self) -> &'static str {
        match self {
            Feature::Ssh => "ssh",
            Feature::CrabboxSync => "crabbox-sync",
            Feature::Cleanup => "cleanup",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ProviderSpec {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub kind: ProviderKind,
    pub features: &'static [Feature],
    pub targets: &'static [&'static str],
    /// Whether a coordinator can broker this provider.
    pub coordinator: bool,
    pub description: &'static str,
}

impl ProviderSpec {
    pub fn has(&self, feature: Feature) -> bool {
        self.features.contains(&feature)
    }
}
