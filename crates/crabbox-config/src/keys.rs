//! The registry of configuration keys: YAML paths, value kinds, environment
//! variables, compiled defaults, YAML aliases and sections we accept but ignore.

/// How a key's value is parsed and stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Str,
    Int,
    Bool,
    Duration,
    List,
    /// A string restricted to these lowercase choices.
    Enum(&'static [&'static str]),
}

/// One configuration key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySpec {
    /// Dotted YAML path, e.g. `ssh.fallbackPorts`.
    pub path: &'static str,
    pub kind: Kind,
    /// Environment variables, in priority order: the first one set wins.
    pub env: &'static [&'static str],
    /// Compiled default in the same text form the environment uses.
    pub default: Option<&'static str>,
    /// Secrets are rendered as `configured` and redacted from `Debug`.
    pub secret: bool,
    /// What a repository file may do with it.
    pub trust: Trust,
}

/// How far a checkout's own config file (untrusted) is believed for a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// Project automation (classes, sync rules, durations): a checkout may set it.
    Repo,
    /// Decides where data, secrets or keys go, or what leaves the machine: a
    /// checkout may ask for it, but commands refuse to act until the user trusts
    /// that checkout (`trust.repos` in user config, or `--trust-repo`).
    Approval,
    /// Only user config, the environment or flags may set it; a checkout's
    /// value is ignored with a warning.
    TrustedOnly,
}

impl KeySpec {
    const fn new(
        path: &'static str,
        kind: Kind,
        env: &'static [&'static str],
        default: Option<&'static str>,
    ) -> Self {
        KeySpec {
            path,
            kind,
            env,
            default,
            secret: false,
            trust: Trust::Repo,
        }
    }

    const fn secret(mut self) -> Self {
        self.secret = true;
        self
    }

    const fn trusted_only(mut self) -> Self {
        self.trust = Trust::TrustedOnly;
        self
    }

    const fn needs_approval(mut self) -> Self {
        self.trust = Trust::Approval;
        self
    }
}

const TARGETS: &[&str] = &["linux", "macos", "windows"];
const NETWORKS: &[&str] = &["auto", "tailscale", "public"];
const BROKER_MODES: &[&str] = &["managed", "registered"];

use Kind::{Bool, Duration, Enum, Int, List, Str};

/// Every key the loader understands.
pub static KEYS: &[KeySpec] = &[
    // No compiled provider: the CLI picks `local` itself and says so.
    KeySpec::new("provider", Str, &["CRABBOX_PROVIDER"], None),
    KeySpec::new("profile", Str, &["CRABBOX_PROFILE"], Some("default")),
    KeySpec::new("class", Str, &["CRABBOX_DEFAULT_CLASS"], Some("beast")),
    KeySpec::new("pond", Str, &["CRABBOX_POND"], None),
    KeySpec::new(
        "target",
        Enum(TARGETS),
        &["CRABBOX_TARGET", "CRABBOX_TARGET_OS"],
        Some("linux"),
    ),
    KeySpec::new("architecture", Str, &["CRABBOX_ARCH"], None),
    KeySpec::new("os", Str, &["CRABBOX_OS"], None),
    KeySpec::new("serverType", Str, &["CRABBOX_SERVER_TYPE"], None),
    KeySpec::new(
        "network",
        Enum(NETWORKS),
        &["CRABBOX_NETWORK"],
        Some("auto"),
    ),
    KeySpec::new(
        "workRoot",
        Str,
        &["CRABBOX_WORK_ROOT"],
        Some("/work/crabbox"),
    )
    .needs_approval(),
    KeySpec::new("ttl", Duration, &["CRABBOX_TTL"], Some("90m")),
    KeySpec::new(
        "idleTimeout",
        Duration,
        &["CRABBOX_IDLE_TIMEOUT"],
        Some("30m"),
    ),
    KeySpec::new("ssh.user", Str, &["CRABBOX_SSH_USER"], Some("crabbox")).needs_approval(),
    // A path to a key file, not the key itself, so it is shown.
    KeySpec::new("ssh.key", Str, &["CRABBOX_SSH_KEY"], None).needs_approval(),
    KeySpec::new("ssh.port", Str, &["CRABBOX_SSH_PORT"], Some("2222")).needs_approval(),
    KeySpec::new(
        "ssh.fallbackPorts",
        List,
        &["CRABBOX_SSH_FALLBACK_PORTS"],
        Some("22"),
    )
    .needs_approval(),
    KeySpec::new("sync.delete", Bool, &["CRABBOX_SYNC_DELETE"], Some("true")),
    KeySpec::new(
        "sync.checksum",
        Bool,
        &["CRABBOX_SYNC_CHECKSUM"],
        Some("false"),
    ),
    KeySpec::new(
        "sync.gitSeed",
        Bool,
        &["CRABBOX_SYNC_GIT_SEED"],
        Some("true"),
    ),
    KeySpec::new(
        "sync.fingerprint",
        Bool,
        &["CRABBOX_SYNC_FINGERPRINT"],
        Some("true"),
    ),
    KeySpec::new("sync.baseRef", Str, &["CRABBOX_SYNC_BASE_REF"], None),
    KeySpec::new(
        "sync.timeout",
        Duration,
        &["CRABBOX_SYNC_TIMEOUT"],
        Some("15m"),
    ),
    KeySpec::new(
        "sync.warnFiles",
        Int,
        &["CRABBOX_SYNC_WARN_FILES"],
        Some("50000"),
    ),
    KeySpec::new(
        "sync.warnBytes",
        Int,
        &["CRABBOX_SYNC_WARN_BYTES"],
        Some("5368709120"),
    ),
    KeySpec::new(
        "sync.failFiles",
        Int,
        &["CRABBOX_SYNC_FAIL_FILES"],
        Some("150000"),
    ),
    KeySpec::new(
        "sync.failBytes",
        Int,
        &["CRABBOX_SYNC_FAIL_BYTES"],
        Some("21474836480"),
    ),
    KeySpec::new(
        "sync.allowLarge",
        Bool,
        &["CRABBOX_SYNC_ALLOW_LARGE"],
        Some("false"),
    ),
    // The command runs in the user's login shell (its profile sets PATH) unless
    // this is off; a slow or broken profile then costs nothing.
    KeySpec::new(
        "run.loginShell",
        Bool,
        &["CRABBOX_RUN_LOGIN_SHELL"],
        Some("true"),
    ),
    KeySpec::new("sync.exclude", List, &[], None),
    KeySpec::new("sync.include", List, &[], None),
    KeySpec::new(
        "env.allow",
        List,
        &["CRABBOX_ENV_ALLOW"],
        Some("CI,NODE_OPTIONS"),
    )
    .needs_approval(),
    KeySpec::new("broker.url", Str, &["CRABBOX_COORDINATOR"], None).needs_approval(),
    KeySpec::new("broker.token", Str, &["CRABBOX_COORDINATOR_TOKEN"], None)
        .secret()
        .needs_approval(),
    KeySpec::new(
        "broker.adminToken",
        Str,
        &["CRABBOX_COORDINATOR_ADMIN_TOKEN", "CRABBOX_ADMIN_TOKEN"],
        None,
    )
    .secret()
    .needs_approval(),
    KeySpec::new(
        "broker.mode",
        Enum(BROKER_MODES),
        &["CRABBOX_COORDINATOR_MODE"],
        Some("managed"),
    ),
    KeySpec::new("broker.provider", Str, &[], None),
    KeySpec::new("static.id", Str, &["CRABBOX_STATIC_ID"], None),
    KeySpec::new("static.name", Str, &["CRABBOX_STATIC_NAME"], None),
    KeySpec::new("static.host", Str, &["CRABBOX_STATIC_HOST"], None).needs_approval(),
    KeySpec::new("static.user", Str, &["CRABBOX_STATIC_USER"], None).needs_approval(),
    KeySpec::new("static.port", Str, &["CRABBOX_STATIC_PORT"], None).needs_approval(),
    KeySpec::new("static.workRoot", Str, &["CRABBOX_STATIC_WORK_ROOT"], None).needs_approval(),
    // The local provider acts on this machine (network namespaces as root,
    // deleting synced files under its work root), so a checkout must not
    // choose these for the operator.
    // Checkouts the user trusts with `Trust::Approval` keys: their roots.
    KeySpec::new("trust.repos", List, &["CRABBOX_TRUST_REPOS"], None).trusted_only(),
    KeySpec::new("local.netns", Bool, &["CRABBOX_LOCAL_NETNS"], Some("false")).trusted_only(),
    KeySpec::new("local.workRoot", Str, &["CRABBOX_LOCAL_WORK_ROOT"], None).trusted_only(),
    KeySpec::new("local.home", Str, &["CRABBOX_LOCAL_HOME"], None).trusted_only(),
    // Sealos DevBox: a checkout may only choose whether release deletes; the
    // cluster, credentials, image and routes stay the operator's choice.
    KeySpec::new(
        "sealosDevbox.kubectl",
        Str,
        &["CRABBOX_SEALOS_DEVBOX_KUBECTL"],
        Some("kubectl"),
    )
    .trusted_only(),
    KeySpec::new(
        "sealosDevbox.kubeconfig",
        Str,
        &["CRABBOX_SEALOS_DEVBOX_KUBECONFIG"],
        None,
    )
    .trusted_only(),
    KeySpec::new(
        "sealosDevbox.context",
        Str,
        &["CRABBOX_SEALOS_DEVBOX_CONTEXT"],
        None,
    )
    .trusted_only(),
    KeySpec::new(
        "sealosDevbox.namespace",
        Str,
        &["CRABBOX_SEALOS_DEVBOX_NAMESPACE"],
        Some("default"),
    )
    .trusted_only(),
    KeySpec::new(
        "sealosDevbox.image",
        Str,
        &["CRABBOX_SEALOS_DEVBOX_IMAGE"],
        None,
    )
    .trusted_only(),
    KeySpec::new(
        "sealosDevbox.templateID",
        Str,
        &["CRABBOX_SEALOS_DEVBOX_TEMPLATE_ID"],
        None,
    )
    .trusted_only(),
    KeySpec::new(
        "sealosDevbox.cpu",
        Str,
        &["CRABBOX_SEALOS_DEVBOX_CPU"],
        Some("2"),
    )
    .trusted_only(),
    KeySpec::new(
        "sealosDevbox.memory",
        Str,
        &["CRABBOX_SEALOS_DEVBOX_MEMORY"],
        Some("4Gi"),
    )
    .trusted_only(),
    KeySpec::new(
        "sealosDevbox.storageLimit",
        Str,
        &["CRABBOX_SEALOS_DEVBOX_STORAGE_LIMIT"],
        Some("20Gi"),
    )
    .trusted_only(),
    KeySpec::new(
        "sealosDevbox.network",
        Str,
        &["CRABBOX_SEALOS_DEVBOX_NETWORK"],
        Some("SSHGate"),
    )
    .trusted_only(),
    KeySpec::new(
        "sealosDevbox.sshGatewayHost",
        Str,
        &["CRABBOX_SEALOS_DEVBOX_SSH_GATEWAY_HOST"],
        None,
    )
    .trusted_only(),
    KeySpec::new(
        "sealosDevbox.sshGatewayPort",
        Str,
        &["CRABBOX_SEALOS_DEVBOX_SSH_GATEWAY_PORT"],
        Some("2233"),
    )
    .trusted_only(),
    KeySpec::new(
        "sealosDevbox.sshUser",
        Str,
        &["CRABBOX_SEALOS_DEVBOX_SSH_USER"],
        Some("devbox"),
    )
    .trusted_only(),
    KeySpec::new(
        "sealosDevbox.workRoot",
        Str,
        &["CRABBOX_SEALOS_DEVBOX_WORK_ROOT"],
        Some("/home/devbox/project"),
    )
    .trusted_only(),
    KeySpec::new(
        "sealosDevbox.nodeHost",
        Str,
        &["CRABBOX_SEALOS_DEVBOX_NODE_HOST"],
        None,
    )
    .trusted_only(),
    KeySpec::new(
        "sealosDevbox.deleteOnRelease",
        Bool,
        &["CRABBOX_SEALOS_DEVBOX_DELETE_ON_RELEASE"],
        Some("false"),
    ),
];

/// How an alias combines with its key when one file sets both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AliasMerge {
    /// The key's own path wins (legacy top-level spellings).
    Fallback,
    /// The alias wins (the Go loader applies it after the key).
    Override,
    /// Both lists are kept, the key's entries first.
    Append,
}

/// Another YAML spelling of a registry key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alias {
    pub path: &'static str,
    pub key: &'static str,
    pub merge: AliasMerge,
}

pub static ALIASES: &[Alias] = &[
    Alias {
        path: "coordinator",
        key: "broker.url",
        merge: AliasMerge::Fallback,
    },
    Alias {
        path: "coordinatorToken",
        key: "broker.token",
        merge: AliasMerge::Fallback,
    },
    Alias {
        path: "targetOS",
        key: "target",
        merge: AliasMerge::Override,
    },
    Alias {
        path: "lease.ttl",
        key: "ttl",
        merge: AliasMerge::Override,
    },
    Alias {
        path: "lease.idleTimeout",
        key: "idleTimeout",
        merge: AliasMerge::Override,
    },
    Alias {
        path: "sync.excludes",
        key: "sync.exclude",
        merge: AliasMerge::Append,
    },
    Alias {
        path: "sync.includes",
        key: "sync.include",
        merge: AliasMerge::Append,
    },
];

/// Paths the Go configuration accepts that we do not act on yet. Anything at
/// or below one of these is recorded as ignored instead of warned about.
pub static IGNORED_SECTIONS: &[&str] = &[
    "windows",
    "capacity",
    "actions",
    "cache",
    "tailscale",
    "profiles",
    "presets",
    "proofTemplates",
    "jobs",
    "run",
    "results",
    "hetzner",
    "aws",
    "azure",
    "gcp",
    "localContainer",
    "sealosDevbox",
    "external",
    "hostId",
    "desktop",
    "browser",
    "code",
    "lease",
    "broker.access",
    "broker.autoWebVNC",
    "broker.loginRedirectOrigins",
];

/// The registry entry for a dotted path.
pub fn find(path: &str) -> Option<&'static KeySpec> {
    KEYS.iter().find(|spec| spec.path == path)
}

pub(crate) fn find_alias(path: &str) -> Option<&'static Alias> {
    ALIASES.iter().find(|alias| alias.path == path)
}

/// Whether some key or alias lives below `path`, so a mapping there is walked.
pub(crate) fn has_children(path: &str) -> bool {
    let below = |candidate: &str| {
        candidate
            .strip_prefix(path)
            .is_some_and(|rest| rest.starts_with('.'))
    };
    KEYS.iter().any(|spec| below(spec.path)) || ALIASES.iter().any(|alias| below(alias.path))
}

pub(crate) fn is_ignored(path: &str) -> bool {
    IGNORED_SECTIONS.iter().any(|section| {
        path.strip_prefix(section)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_default_parses_as_its_kind() {
        for spec in KEYS {
            if let Some(default) = spec.default {
                crate::value::parse_text(spec.kind, default)
                    .unwrap_or_else(|message| panic!("default for {}: {message}", spec.path));
            }
        }
    }

    #[test]
    fn paths_are_unique_and_aliases_resolve() {
        let mut seen = BTreeSet::new();
        for spec in KEYS {
            assert!(seen.insert(spec.path), "duplicate key {}", spec.path);
        }
        for alias in ALIASES {
            assert!(find(alias.key).is_some(), "alias {} has no key", alias.path);
            assert!(
                find(alias.path).is_none(),
                "alias {} shadows a key",
                alias.path
            );
            if alias.merge == AliasMerge::Append {
                assert_eq!(find(alias.key).map(|spec| spec.kind), Some(Kind::List));
            }
        }
    }

    #[test]
    fn section_matching_respects_dot_boundaries() {
        assert!(has_children("ssh"));
        assert!(has_children("lease"));
        assert!(!has_children("ss"));
        assert!(is_ignored("lease.other"));
        assert!(is_ignored("capacity"));
        assert!(!is_ignored("capacityx"));
        assert!(!is_ignored("broker.url"));
    }
}
