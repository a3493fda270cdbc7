//! Which local environment variables a run forwards to the runner.

/// Resolves the allowlist (`env.allow` or `CRABBOX_ENV_ALLOW`, plus `--allow-env`)
/// against the local environment. Only variables that exist locally are forwarded;
/// `PREFIX*` matches by prefix; a bare `*` and invalid names are ignored.
pub fn forwarded(
    allow: &[String],
    extra: &[String],
    environment: impl Iterator<Item = (String, String)>,
) -> Vec<(String, String)> {
    let patterns: Vec<&str> = allow
        .iter()
        .chain(extra)
        .map(|pattern| pattern.trim())
        .filter(|pattern| !pattern.is_empty() && *pattern != "*")
        .collect();
    let matches = |name: &str| {
        patterns
            .iter()
            .any(|pattern| match pattern.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => *pattern == name,
            })
    };
    let mut selected: Vec<(String, String)> = environment
        .filter(|(name, _)| crabbox_ssh::is_env_name(name) && matches(name))
        // Crabbox's own settings (tokens, coordinator URLs) never leave the machine,
        // whatever an allowlist says; the injected lease variables are set remotely.
        .filter(|(name, _)| !name.starts_with(CRABBOX_PREFIX))
        .collect();
    selected.sort();
    selected
}

const CRABBOX_PREFIX: &str = "CRABBOX_";

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Iterator<Item = (String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>()
            .into_iter()
    }

    #[test]
    fn allowlist_rules() {
        let allow = vec!["CI".to_string(), "NODE_OPTIONS".to_string()];
        let extra = vec![
            "APP_*".to_string(),
            "*".to_string(),
            "CRABBOX_SLUG".to_string(),
            "CRABBOX_*".to_string(),
        ];
        let local = env(&[
            ("CI", "1"),
            ("HOME", "/root"),
            ("APP_MODE", "x"),
            ("APP_KEY", "y"),
            ("CRABBOX_SLUG", "spoof"),
            ("CRABBOX_COORDINATOR_TOKEN", "secret"),
        ]);
        let names: Vec<String> = forwarded(&allow, &extra, local)
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        assert_eq!(names, vec!["APP_KEY", "APP_MODE", "CI"]);
    }
}
