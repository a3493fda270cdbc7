//! Which layer wins, across all five layers and both repository files.

use std::time::Duration;

use crabbox_config::{load, FlagValue, Source, Value};

use crate::common::{yaml_for, World};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Layer {
    Default,
    User,
    Repo,
    Env,
    Flag,
}

/// A key under test and the names it is set through.
#[derive(Clone, Copy)]
struct Subject {
    key: &'static str,
    env_var: &'static str,
    flag: &'static str,
}

const PROVIDER: Subject = Subject {
    key: "provider",
    env_var: "CRABBOX_PROVIDER",
    flag: "--provider",
};
const PORT: Subject = Subject {
    key: "ssh.port",
    env_var: "CRABBOX_SSH_PORT",
    flag: "--ssh-port",
};
const IDLE: Subject = Subject {
    key: "idleTimeout",
    env_var: "CRABBOX_IDLE_TIMEOUT",
    flag: "--idle-timeout",
};
const FALLBACK: Subject = Subject {
    key: "ssh.fallbackPorts",
    env_var: "CRABBOX_SSH_FALLBACK_PORTS",
    flag: "--ssh-fallback-ports",
};
const DELETE: Subject = Subject {
    key: "sync.delete",
    env_var: "CRABBOX_SYNC_DELETE",
    flag: "--sync-delete",
};

fn text(value: &str) -> Value {
    Value::Str(value.to_string())
}

fn list(items: &[&str]) -> Value {
    Value::List(items.iter().map(|item| item.to_string()).collect())
}

fn minutes(count: u64) -> Value {
    Value::Duration(Duration::from_secs(count * 60))
}

#[test]
fn highest_layer_that_sets_a_key_wins_and_is_recorded() {
    use Layer::*;
    // (subject, layers that set it with the text written there: YAML in
    // files, raw text in the environment and flags, expected winner or
    // `None` when nothing, not even a default, gives the key a value)
    type Case = (
        Subject,
        &'static [(Layer, &'static str)],
        Option<(Layer, Value)>,
    );
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        (PROVIDER, &[], None),
        (PROVIDER, &[(User, "hetzner")], Some((User, text("hetzner")))),
        (PROVIDER, &[(User, "hetzner"), (Repo, "ssh")], Some((Repo, text("ssh")))),
        (PROVIDER, &[(User, "a"), (Repo, "b"), (Env, "c")], Some((Env, text("c")))),
        (PROVIDER, &[(User, "a"), (Repo, "b"), (Env, "c"), (Flag, "d")], Some((Flag, text("d")))),
        (PROVIDER, &[(Repo, "ssh"), (Flag, "local")], Some((Flag, text("local")))),
        (PORT, &[], Some((Default, text("2222")))),
        // A YAML integer is kept as the string the SSH layer expects.
        (PORT, &[(User, "2200")], Some((User, text("2200")))),
        (PORT, &[(Env, "2022")], Some((Env, text("2022")))),
        (PORT, &[(User, "2200"), (Repo, "\"2300\""), (Env, "2022")], Some((Env, text("2022")))),
        (PORT, &[(User, "2200"), (Flag, "22")], Some((Flag, text("22")))),
        (IDLE, &[], Some((Default, minutes(30)))),
        (IDLE, &[(Repo, "45m")], Some((Repo, minutes(45)))),
        (IDLE, &[(User, "1h"), (Env, "10m")], Some((Env, minutes(10)))),
        (IDLE, &[(User, "1h"), (Repo, "45m"), (Env, "10m"), (Flag, "2h")], Some((Flag, minutes(120)))),
        (FALLBACK, &[], Some((Default, list(&["22"])))),
        // An explicit empty list disables the default rather than being skipped.
        (FALLBACK, &[(User, "[]")], Some((User, list(&[])))),
        (FALLBACK, &[(User, "[]"), (Repo, "[\"2022\", 22]")], Some((Repo, list(&["2022", "22"])))),
        (FALLBACK, &[(Repo, "[\"2022\"]"), (Env, "none")], Some((Env, list(&[])))),
        (FALLBACK, &[(Repo, "[2022]"), (Env, "none"), (Flag, "23,24")], Some((Flag, list(&["23", "24"])))),
        (DELETE, &[], Some((Default, Value::Bool(true)))),
        (DELETE, &[(User, "false")], Some((User, Value::Bool(false)))),
        (DELETE, &[(User, "false"), (Repo, "true")], Some((Repo, Value::Bool(true)))),
        (DELETE, &[(Repo, "true"), (Env, "0")], Some((Env, Value::Bool(false)))),
        (DELETE, &[(User, "false"), (Repo, "no"), (Env, "off"), (Flag, "yes")], Some((Flag, Value::Bool(true)))),
    ];

    for (index, (subject, layers, expected)) in cases.into_iter().enumerate() {
        let mut world = World::new();
        let mut flags = Vec::new();
        for (layer, value) in layers {
            match layer {
                Default => unreachable!("defaults are not written"),
                User => world.write_user(&yaml_for(subject.key, value)),
                Repo => {
                    world.write_repo(".crabbox.yaml", &yaml_for(subject.key, value));
                }
                Env => {
                    world.env(subject.env_var, value);
                }
                Flag => flags.push(FlagValue {
                    key: subject.key,
                    flag: subject.flag.to_string(),
                    value: value.to_string(),
                }),
            }
        }
        let mut options = world.options();
        options.flags = flags;
        let loaded = load(&options).unwrap_or_else(|error| panic!("case {index}: {error}"));
        assert!(
            loaded.warnings.is_empty(),
            "case {index}: {:?}",
            loaded.warnings
        );
        let entry = loaded.config.get(subject.key);
        let Some((layer, value)) = expected else {
            assert!(
                entry.is_none(),
                "case {index}: {} should be unset: {entry:?}",
                subject.key
            );
            continue;
        };
        let entry = entry.unwrap_or_else(|| panic!("case {index}: {} unset", subject.key));
        assert_eq!(entry.value, value, "case {index}: value of {}", subject.key);
        let expected_source = match layer {
            Default => Source::Default,
            User => Source::UserConfig(world.user.clone()),
            Repo => Source::RepoConfig(world.repo.join(".crabbox.yaml")),
            Env => Source::Environment(subject.env_var.to_string()),
            Flag => Source::Flag(subject.flag.to_string()),
        };
        assert_eq!(
            entry.source, expected_source,
            "case {index}: source of {}",
            subject.key
        );
    }
}

#[test]
fn dot_crabbox_yaml_overrides_crabbox_yaml_key_by_key() {
    let world = World::new();
    let plain = world.write_repo("crabbox.yaml", "provider: hetzner\nclass: small\n");
    let dotted = world.write_repo(".crabbox.yaml", "provider: ssh\n");
    let config = world.load().unwrap().config;
    assert_eq!(config.str("provider"), Some("ssh"));
    assert_eq!(config.source("provider"), Some(&Source::RepoConfig(dotted)));
    assert_eq!(config.str("class"), Some("small"));
    assert_eq!(config.source("class"), Some(&Source::RepoConfig(plain)));
}

#[test]
fn explicit_config_replaces_the_file_search() {
    let world = World::new();
    world.write_user("provider: hetzner\n");
    world.write_repo(".crabbox.yaml", "class: small\n");
    let outside = world.user.with_file_name("other.yaml");
    std::fs::write(&outside, "profile: ci\n").unwrap();
    let mut options = world.options();
    options.explicit_config = Some(outside.clone());
    let config = load(&options).unwrap().config;
    assert_eq!(config.str("provider"), None);
    assert_eq!(config.str("class"), Some("beast"));
    assert_eq!(
        config.source("profile"),
        Some(&Source::UserConfig(outside.clone()))
    );
    assert_eq!(config.path(), Some(outside.as_path()));
}

#[test]
fn discover_reads_crabbox_config_and_xdg_config_home() {
    let mut env = std::collections::BTreeMap::new();
    env.insert("HOME".to_string(), "/home/crab".to_string());
    env.insert("XDG_CONFIG_HOME".to_string(), "/xdg".to_string());
    env.insert(
        "CRABBOX_CONFIG".to_string(),
        "/etc/crabbox.yaml".to_string(),
    );
    let options = crabbox_config::LoadOptions::discover(env, None);
    assert_eq!(
        options.explicit_config.as_deref(),
        Some(std::path::Path::new("/etc/crabbox.yaml"))
    );
    if !cfg!(target_os = "macos") {
        assert_eq!(
            options.user_config.as_deref(),
            Some(std::path::Path::new("/xdg/crabbox/config.yaml"))
        );
    }
}
