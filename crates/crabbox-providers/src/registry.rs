//! Name and alias lookup for the built-in providers.

use std::sync::Arc;

use crate::local::{LocalProvider, LOCAL_SPEC};
use crate::sealos::{SealosProvider, SEALOS_SPEC};
use crate::static_ssh::{StaticProvider, STATIC_SPEC};
use crate::{Provider, ProviderSettings, ProviderSpec};

/// A provider name that matches nothing built in.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown provider {name:?}")]
pub struct UnknownProvider {
    pub name: String,
}

impl UnknownProvider {
    pub fn hint(&self) -> String {
        let names: Vec<&str> = specs().iter().map(|spec| spec.name).collect();
        format!(
            "available providers: {}; see `crabbox providers`",
            names.join(", ")
        )
    }
}

/// Every built-in provider's spec.
pub fn specs() -> &'static [&'static ProviderSpec] {
    static SPECS: [&ProviderSpec; 3] = [&LOCAL_SPEC, &STATIC_SPEC, &SEALOS_SPEC];
    &SPECS
}

/// The canonical name for a provider name or alias (trimmed, case-insensitive).
pub fn canonical_name(name: &str) -> Result<&'static str, UnknownProvider> {
    let wanted = name.trim().to_ascii_lowercase();
    specs()
        .iter()
        .find(|spec| spec.name == wanted || spec.aliases.contains(&wanted.as_str()))
        .map(|spec| spec.name)
        .ok_or(UnknownProvider {
            name: name.to_string(),
        })
}

/// Builds the provider called `name`.
pub fn create(
    name: &str,
    settings: &ProviderSettings,
) -> Result<Arc<dyn Provider>, UnknownProvider> {
    match canonical_name(name)? {
        "local" => Ok(Arc::new(LocalProvider::with_settings(
            &settings.paths,
            &settings.local,
        ))),
        "ssh" => Ok(Arc::new(StaticProvider::new(settings))),
        "sealos-devbox" => Ok(Arc::new(SealosProvider::new(settings))),
        other => Err(UnknownProvider {
            name: other.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_resolve_and_unknown_names_fail() {
        assert_eq!(canonical_name(" LOCAL ").unwrap(), "local");
        assert_eq!(canonical_name("localhost").unwrap(), "local");
        assert_eq!(canonical_name("static-ssh").unwrap(), "ssh");
        let error = canonical_name("nope").unwrap_err();
        assert_eq!(error.to_string(), "unknown provider \"nope\"");
        assert!(error.hint().contains("local"));
    }

    #[test]
    fn names_and_aliases_are_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for spec in specs() {
            for name in std::iter::once(&spec.name).chain(spec.aliases.iter()) {
                assert!(seen.insert(*name), "duplicate provider key {name}");
            }
        }
    }
}
