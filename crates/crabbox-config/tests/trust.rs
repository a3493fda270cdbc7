//! Repository trust rules and secret handling in `config show`.

mod common;

use common::World;
use crabbox_config::{load, show_json, show_text, ConfigError, FlagValue, Source};

const TOKEN: &str = "tok_5ecret_do_not_print";
const ADMIN_TOKEN: &str = "adm_5ecret_do_not_print";
const UNTRUSTED: &str = "repository-configured broker.url cannot be combined with inherited \
coordinator credentials; set CRABBOX_COORDINATOR or pass an explicit coordinator URL to approve \
the credential destination";

fn check(world: &World) -> Result<(), ConfigError> {
    world.load().unwrap().config.check_credential_destination()
}

#[test]
fn repository_broker_url_cannot_receive_inherited_credentials() {
    // Repo URL with a token from user config.
    let world = World::new();
    world.write_user(&format!("broker:\n  token: {TOKEN}\n"));
    world.write_repo(".crabbox.yaml", "broker:\n  url: https://evil.example\n");
    let error = check(&world).unwrap_err();
    assert!(matches!(error, ConfigError::Untrusted { .. }));
    assert_eq!(error.to_string(), UNTRUSTED);

    // Repo URL (legacy spelling) with a token from the environment.
    let mut world = World::new();
    world.write_repo("crabbox.yaml", "coordinator: https://evil.example\n");
    world.env("CRABBOX_COORDINATOR_TOKEN", TOKEN);
    assert!(check(&world).is_err());

    // Admin tokens are inherited credentials too.
    let mut world = World::new();
    world.write_repo("crabbox.yaml", "coordinator: https://evil.example\n");
    world.env("CRABBOX_ADMIN_TOKEN", ADMIN_TOKEN);
    assert!(check(&world).is_err());
}

#[test]
fn restating_the_destination_or_keeping_it_in_the_repo_is_allowed() {
    // The operator approves the URL through the environment.
    let mut world = World::new();
    world.write_user(&format!("broker:\n  token: {TOKEN}\n"));
    world.write_repo(".crabbox.yaml", "broker:\n  url: https://broker.example\n");
    world.env("CRABBOX_COORDINATOR", "https://broker.example");
    assert!(check(&world).is_ok());

    // ...or through a flag.
    let world = World::new();
    world.write_user(&format!("broker:\n  token: {TOKEN}\n"));
    world.write_repo(".crabbox.yaml", "broker:\n  url: https://broker.example\n");
    let mut options = world.options();
    options.flags.push(FlagValue {
        key: "broker.url",
        flag: "--coordinator".to_string(),
        value: "https://broker.example".to_string(),
    });
    let config = load(&options).unwrap().config;
    assert_eq!(
        config.source("broker.url"),
        Some(&Source::Flag("--coordinator".into()))
    );
    assert!(config.check_credential_destination().is_ok());

    // The repository supplies both the destination and the credential.
    let world = World::new();
    world.write_repo(
        ".crabbox.yaml",
        &format!("broker:\n  url: https://broker.example\n  token: {TOKEN}\n"),
    );
    assert!(check(&world).is_ok());

    // Trusted URL, trusted token.
    let world = World::new();
    world.write_user(&format!(
        "broker:\n  url: https://broker.example\n  token: {TOKEN}\n"
    ));
    assert!(check(&world).is_ok());
}

#[test]
fn crabbox_config_inside_the_repository_is_still_untrusted() {
    let mut world = World::new();
    let inside = world.write_repo("ci-crabbox.yaml", "coordinator: https://evil.example\n");
    world.env("CRABBOX_COORDINATOR_TOKEN", TOKEN);
    let mut options = world.options();
    // Reached through a path that is not textually under the repo root.
    let link = world.user.with_file_name("linked.yaml");
    std::os::unix::fs::symlink(&inside, &link).unwrap();
    options.explicit_config = Some(link.clone());
    let config = load(&options).unwrap().config;
    assert_eq!(config.source("broker.url"), Some(&Source::RepoConfig(link)));
    assert!(config.check_credential_destination().is_err());
}

#[test]
fn secrets_never_reach_config_show_output() {
    let mut world = World::new();
    world.write_user(&format!(
        "broker:\n  url: https://broker.example\n  token: {TOKEN}\n"
    ));
    world.env("CRABBOX_COORDINATOR_ADMIN_TOKEN", ADMIN_TOKEN);
    world.write_repo(".crabbox.yaml", "capacity:\n  market: spot\n");
    let config = world.load().unwrap().config;

    let text = show_text(&config);
    let json = show_json(&config);
    let json_text = serde_json::to_string(&json).unwrap();
    let debug = format!("{config:?}");
    for output in [&text, &json_text, &debug] {
        assert!(!output.contains(TOKEN), "token leaked: {output}");
        assert!(
            !output.contains(ADMIN_TOKEN),
            "admin token leaked: {output}"
        );
    }

    let user = world.user.display().to_string();
    assert!(text.starts_with(&format!("config={user}\n")), "{text}");
    assert!(
        text.contains("\nbroker.token=configured source=user_config ("),
        "{text}"
    );
    assert!(
        text.contains(
            "\nbroker.adminToken=configured source=environment (CRABBOX_COORDINATOR_ADMIN_TOKEN)\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("\nssh.port=2222 source=compiled_default\n"),
        "{text}"
    );
    assert!(
        text.contains("\nttl=1h30m0s source=compiled_default\n"),
        "{text}"
    );
    assert!(
        text.contains("\nenv.allow=CI,NODE_OPTIONS source=compiled_default\n"),
        "{text}"
    );
    assert!(text.ends_with("ignored=capacity\n"), "{text}");
    assert!(
        !text.contains("\nprovider="),
        "unset keys are omitted: {text}"
    );

    assert_eq!(json["config"], serde_json::json!(user));
    assert_eq!(json["values"]["broker.token"]["value"], "configured");
    assert_eq!(json["values"]["broker.token"]["source"], "user_config");
    assert_eq!(
        json["values"]["broker.token"]["origin"],
        format!("user config {user}")
    );
    assert_eq!(
        json["values"]["broker.adminToken"]["origin"],
        "env CRABBOX_COORDINATOR_ADMIN_TOKEN"
    );
    assert_eq!(json["values"]["sync.warnFiles"]["value"], 50000);
    assert_eq!(json["values"]["sync.delete"]["value"], true);
    assert_eq!(
        json["values"]["ssh.fallbackPorts"]["value"],
        serde_json::json!(["22"])
    );
    assert_eq!(json["values"]["idleTimeout"]["value"], "30m0s");
    assert_eq!(json["ignored"], serde_json::json!(["capacity"]));
    assert!(json["values"].get("provider").is_none());
}

#[test]
fn text_lines_are_sorted_and_empty_lists_show_a_dash() {
    let mut world = World::new();
    world.env("CRABBOX_SSH_FALLBACK_PORTS", "none");
    let text = show_text(&world.load().unwrap().config);
    let keys: Vec<&str> = text
        .lines()
        .skip(1)
        .map(|line| line.split('=').next().unwrap())
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    assert!(
        text.contains("\nssh.fallbackPorts=- source=environment (CRABBOX_SSH_FALLBACK_PORTS)\n"),
        "{text}"
    );
}

#[test]
fn a_checkout_may_only_choose_sealos_delete_on_release() {
    let world = World::new();
    world.write_user("sealosDevbox:\n  image: user/image\n  context: user-ctx\n");
    world.write_repo(
        "crabbox.yaml",
        "sealosDevbox:\n  deleteOnRelease: true\n  image: evil/image\n  context: evil\n  kubeconfig: /tmp/evil\n",
    );
    let config = world.load().unwrap().config;
    assert!(config.bool("sealosDevbox.deleteOnRelease"));
    assert_eq!(config.str("sealosDevbox.image"), Some("user/image"));
    assert_eq!(config.str("sealosDevbox.context"), Some("user-ctx"));
    assert_eq!(config.str("sealosDevbox.kubeconfig"), None);
    assert_eq!(config.str("sealosDevbox.namespace"), Some("default"));
    assert_eq!(config.str("sealosDevbox.sshGatewayPort"), Some("2233"));
}
