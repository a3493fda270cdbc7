//! Config overrides from the lease-creation and provider flags.

use crabbox_config::FlagValue;

use crate::cli::{LeaseCreateArgs, ProviderArgs};

fn push_flag(flags: &mut Vec<FlagValue>, key: &'static str, flag: &str, value: &Option<String>) {
    if let Some(value) = value {
        flags.push(FlagValue {
            key,
            flag: flag.to_string(),
            value: value.clone(),
        });
    }
}

/// Config overrides from the lease-creation flags.
pub fn create_flags(create: &LeaseCreateArgs) -> Vec<FlagValue> {
    let mut flags = provider_flags(&create.provider);
    push_flag(&mut flags, "profile", "--profile", &create.profile);
    push_flag(&mut flags, "class", "--class", &create.class);
    push_flag(&mut flags, "ttl", "--ttl", &create.ttl);
    push_flag(
        &mut flags,
        "idleTimeout",
        "--idle-timeout",
        &create.idle_timeout,
    );
    push_flag(&mut flags, "pond", "--pond", &create.pond);
    push_flag(
        &mut flags,
        "local.netns",
        "--local-netns",
        &create.local_netns.map(|on| on.to_string()),
    );
    flags
}

/// `--provider` and the `--static-*` flags.
pub fn provider_flags(provider: &ProviderArgs) -> Vec<FlagValue> {
    let mut flags = Vec::new();
    push_flag(&mut flags, "provider", "--provider", &provider.provider);
    push_flag(
        &mut flags,
        "static.host",
        "--static-host",
        &provider.static_host,
    );
    push_flag(
        &mut flags,
        "static.user",
        "--static-user",
        &provider.static_user,
    );
    push_flag(
        &mut flags,
        "static.port",
        "--static-port",
        &provider.static_port,
    );
    push_flag(
        &mut flags,
        "static.workRoot",
        "--static-work-root",
        &provider.static_work_root,
    );
    for (key, flag, value) in provider.sealos.overrides() {
        push_flag(&mut flags, key, flag, value);
    }
    flags
}
