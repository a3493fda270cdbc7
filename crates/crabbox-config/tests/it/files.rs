//! Reading config files: parse errors, unknown and ignored keys, bad values,
//! aliases and list handling.

use std::time::Duration;

use crabbox_config::{ConfigError, Source, Value};

use crate::common::World;

#[test]
fn malformed_yaml_names_the_file_and_line() {
    let world = World::new();
    let path = world.write_repo(".crabbox.yaml", "provider: local\nssh:\n\tuser: crab\n");
    let error = world.load().unwrap_err();
    let ConfigError::Parse {
        path: reported,
        line,
        column,
        message,
    } = &error
    else {
        panic!("expected a parse error, got {error:?}");
    };
    assert_eq!(reported, &path);
    assert_eq!(*line, 3);
    assert_eq!(*column, 1);
    assert!(!message.contains("at line"), "location repeated: {message}");
    let shown = error.to_string();
    assert!(
        shown.starts_with(&format!("malformed config {}:3:1: ", path.display())),
        "{shown}"
    );
}

#[test]
fn top_level_must_be_a_mapping() {
    let world = World::new();
    world.write_user("- provider\n- local\n");
    let error = world.load().unwrap_err();
    assert!(
        matches!(&error, ConfigError::Parse { path, line: 1, .. } if path == &world.user),
        "{error:?}"
    );
}

#[test]
fn empty_and_comment_only_files_are_empty_layers() {
    let world = World::new();
    world.write_user("");
    world.write_repo(".crabbox.yaml", "# nothing yet\n");
    let loaded = world.load().unwrap();
    assert!(loaded.warnings.is_empty());
    assert_eq!(loaded.config.source("class"), Some(&Source::Default));
}

#[test]
fn unknown_keys_warn_with_their_path_and_known_sections_do_not() {
    let world = World::new();
    let path = world.write_repo(
        ".crabbox.yaml",
        "\
provider: local
mystery: 1
ssh:
  user: crab
  bogus: true
capacity:
  market: spot
profiles:
  ci:
    env: {allow: [CI]}
lease:
  ttl: 2h
  keep: true
broker:
  autoWebVNC: false
jobs:
  detected: {shell: true}
",
    );
    let loaded = world.load().unwrap();
    let file = path.display();
    assert_eq!(
        loaded.warnings,
        vec![
            format!("unknown config key mystery in {file}"),
            format!("unknown config key ssh.bogus in {file}"),
        ]
    );
    assert_eq!(
        loaded.config.ignored,
        vec![
            "broker.autoWebVNC",
            "capacity",
            "jobs",
            "lease.keep",
            "profiles"
        ]
    );
    assert_eq!(loaded.config.str("ssh.user"), Some("crab"));
}

#[test]
fn a_value_of_the_wrong_kind_is_an_error_naming_key_and_layer() {
    let cases = [
        ("provider: [local]\n", "provider", "expected a single value"),
        ("ssh:\n  port: [1]\n", "ssh.port", "expected a single value"),
        (
            "sync:\n  warnFiles: lots\n",
            "sync.warnFiles",
            "expected an integer",
        ),
        (
            "sync:\n  warnFiles: 1.5\n",
            "sync.warnFiles",
            "expected an integer",
        ),
        (
            "sync:\n  delete: maybe\n",
            "sync.delete",
            "expected a boolean",
        ),
        ("ttl: soon\n", "ttl", "invalid duration"),
        (
            "lease:\n  idleTimeout: -5m\n",
            "lease.idleTimeout",
            "must not be negative",
        ),
        (
            "ssh:\n  fallbackPorts: \"22\"\n",
            "ssh.fallbackPorts",
            "expected a list",
        ),
        (
            "sync:\n  exclude: {dist: true}\n",
            "sync.exclude",
            "expected a list",
        ),
        (
            "network: wifi\n",
            "network",
            "expected one of auto, tailscale, public",
        ),
        (
            "target: bsd\n",
            "target",
            "expected one of linux, macos, windows",
        ),
        ("ssh: 22\n", "ssh", "expected a mapping"),
    ];
    for (yaml, key, fragment) in cases {
        let world = World::new();
        let path = world.write_repo("crabbox.yaml", yaml);
        let error = world.load().unwrap_err();
        let ConfigError::Invalid {
            key: reported,
            source_desc,
            message,
        } = &error
        else {
            panic!("{yaml:?}: expected an invalid-value error, got {error:?}");
        };
        assert_eq!(reported, key, "{yaml:?}");
        assert_eq!(source_desc, &format!("repo config {}", path.display()));
        assert!(message.contains(fragment), "{yaml:?}: {message}");
        assert!(
            error
                .to_string()
                .starts_with(&format!("invalid value for {key} in repo config ")),
            "{error}"
        );
    }
}

#[test]
fn a_bad_environment_value_names_the_variable() {
    let cases = [
        ("CRABBOX_SYNC_DELETE", "maybe", "sync.delete"),
        ("CRABBOX_TTL", "forever", "ttl"),
        ("CRABBOX_SYNC_WARN_FILES", "many", "sync.warnFiles"),
        ("CRABBOX_COORDINATOR_MODE", "shared", "broker.mode"),
    ];
    for (name, text, key) in cases {
        let mut world = World::new();
        world.env(name, text);
        let error = world.load().unwrap_err().to_string();
        assert!(
            error.starts_with(&format!("invalid value for {key} in env {name}: ")),
            "{error}"
        );
    }
}

#[test]
fn fallback_ports_from_the_environment() {
    let mut world = World::new();
    world.env("CRABBOX_SSH_FALLBACK_PORTS", "none");
    assert_eq!(
        world.load().unwrap().config.list("ssh.fallbackPorts"),
        Vec::<String>::new()
    );
    world.env("CRABBOX_SSH_FALLBACK_PORTS", "2222, 22");
    assert_eq!(
        world.load().unwrap().config.list("ssh.fallbackPorts"),
        vec!["2222", "22"]
    );
}

#[test]
fn environment_lookups_follow_the_registry_order() {
    let mut world = World::new();
    world
        .env("CRABBOX_TARGET_OS", "windows")
        .env("CRABBOX_TARGET", "");
    let config = world.load().unwrap().config;
    // An empty variable counts as unset, so the second name supplies the value.
    assert_eq!(config.str("target"), Some("windows"));
    assert_eq!(
        config.source("target"),
        Some(&Source::Environment("CRABBOX_TARGET_OS".into()))
    );
    world.env("CRABBOX_TARGET", "MacOS");
    assert_eq!(world.load().unwrap().config.str("target"), Some("macos"));
}

#[test]
fn aliases_set_their_keys() {
    let world = World::new();
    let path = world.write_repo(
        ".crabbox.yaml",
        "\
coordinator: https://broker.example
targetOS: macos
lease:
  ttl: 2h
  idleTimeout: 5m
sync:
  excludes: [dist]
  includes: [vendor]
",
    );
    let loaded = world.load().unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let config = loaded.config;
    assert_eq!(config.str("broker.url"), Some("https://broker.example"));
    assert_eq!(config.source("broker.url"), Some(&Source::RepoConfig(path)));
    assert_eq!(config.str("target"), Some("macos"));
    assert_eq!(config.duration("ttl"), Some(Duration::from_secs(7200)));
    assert_eq!(
        config.duration("idleTimeout"),
        Some(Duration::from_secs(300))
    );
    assert_eq!(config.list("sync.exclude"), vec!["dist"]);
    assert_eq!(config.list("sync.include"), vec!["vendor"]);
}

#[test]
fn aliases_and_keys_in_one_file_combine_like_the_go_loader() {
    let world = World::new();
    world.write_user(
        "\
coordinator: https://legacy.example
broker:
  url: https://broker.example
ttl: 1h
lease:
  ttl: 3h
target: linux
targetOS: windows
sync:
  exclude: [dist, node_modules]
  excludes: [node_modules, .cache]
",
    );
    let config = world.load().unwrap().config;
    assert_eq!(config.str("broker.url"), Some("https://broker.example"));
    assert_eq!(config.duration("ttl"), Some(Duration::from_secs(3 * 3600)));
    assert_eq!(config.str("target"), Some("windows"));
    assert_eq!(
        config.list("sync.exclude"),
        vec!["dist", "node_modules", ".cache"]
    );
}

#[test]
fn typed_values_from_yaml() {
    let world = World::new();
    world.write_user(
        "\
sync:
  warnBytes: \"1024\"
  allowLarge: yes
  timeout: 90
static:
  port: 2022
env:
  allow: []
",
    );
    let config = world.load().unwrap().config;
    assert_eq!(config.int("sync.warnBytes"), Some(1024));
    assert_eq!(config.int("sync.failFiles"), Some(150_000));
    assert!(config.bool("sync.allowLarge"));
    assert!(!config.bool("local.netns"));
    assert_eq!(
        config.duration("sync.timeout"),
        Some(Duration::from_secs(90))
    );
    assert_eq!(config.str("static.port"), Some("2022"));
    assert_eq!(
        config.get("env.allow").map(|entry| &entry.value),
        Some(&Value::List(vec![]))
    );
}

#[test]
fn repository_config_cannot_set_trusted_only_keys() {
    let world = World::new();
    world.write_user("local:\n  workRoot: /srv/crabbox\n");
    let path = world.write_repo(
        ".crabbox.yaml",
        "local:\n  workRoot: /home\n  netns: true\n",
    );
    let loaded = world.load().unwrap();
    assert_eq!(loaded.config.str("local.workRoot"), Some("/srv/crabbox"));
    assert!(!loaded.config.bool("local.netns"));
    assert_eq!(loaded.warnings.len(), 2, "{:?}", loaded.warnings);
    assert!(
        loaded.warnings[0].starts_with(&format!("ignoring local.workRoot in {}", path.display()))
    );
}

#[test]
fn unreadable_config_is_an_error_not_a_skip() {
    let world = World::new();
    std::fs::create_dir_all(world.repo.join(".crabbox.yaml")).unwrap();
    let error = world.load().unwrap_err();
    assert!(matches!(error, ConfigError::Read { .. }), "{error:?}");
}
