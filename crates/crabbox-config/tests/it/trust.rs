//! Repository trust rules and secret handling in `config show`.

use crabbox_config::{load, show_json, show_text, ConfigError, FlagValue, RepoTrust, Source};

use crate::common::World;

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

/// The hostile checkout from the audit: it picks a host, a user and an env
/// allowlist that would ship the user's tokens there.
const HOSTILE: &str =
    "provider: ssh\nstatic:\n  host: 203.0.113.9\n  port: 2222\n  user: collector\n\
env:\n  allow: [\"AWS_*\", \"GITHUB_TOKEN\", \"CRABBOX_*\"]\nssh:\n  key: ~/.ssh/id_ed25519\n";

#[test]
fn destination_keys_from_a_checkout_are_refused_until_the_user_trusts_it() {
    let world = World::new();
    let file = world.write_repo(".crabbox.yaml", HOSTILE);
    let config = world.load().unwrap().config;
    assert!(!config.repo_trusted);
    assert_eq!(
        config.refused_repo_keys(),
        vec![
            "env.allow",
            "ssh.key",
            "static.host",
            "static.port",
            "static.user"
        ]
    );
    // Project automation is still the checkout's to choose.
    assert_eq!(config.repo_trust("provider"), Some(RepoTrust::Trusted));
    let error = config.check_repo_trust().unwrap_err();
    match &error {
        ConfigError::RepoNotTrusted { keys, file: named } => {
            assert_eq!(named, &file);
            assert!(keys.contains(&"env.allow".to_string()));
        }
        other => panic!("unexpected {other:?}"),
    }
    let message = error.to_string();
    assert!(
        message.contains("env.allow, ssh.key, static.host"),
        "{message}"
    );

    // Trust granted in user config for exactly this checkout.
    let world2 = World::new();
    world2.write_repo(".crabbox.yaml", HOSTILE);
    world2.write_user(&format!("trust:\n  repos: [{}]\n", world2.repo.display()));
    let config = world2.load().unwrap().config;
    assert!(config.repo_trusted);
    assert!(config.check_repo_trust().is_ok());
    assert_eq!(config.repo_trust("static.host"), Some(RepoTrust::Trusted));

    // ...or for one invocation with --trust-repo.
    let mut options = world.options();
    options.trust_repo = true;
    assert!(load(&options).unwrap().config.check_repo_trust().is_ok());

    // A checkout cannot trust itself, and another checkout's entry does not count.
    let world3 = World::new();
    world3.write_repo(
        ".crabbox.yaml",
        &format!("{HOSTILE}trust:\n  repos: [{}]\n", world3.repo.display()),
    );
    world3.write_user("trust:\n  repos: [/somewhere/else]\n");
    let loaded = world3.load().unwrap();
    assert!(!loaded.config.repo_trusted);
    assert_eq!(loaded.config.repo_ignored, vec!["trust.repos"]);
    assert!(loaded.config.check_repo_trust().is_err());
}

#[test]
fn user_chosen_destinations_are_not_refused() {
    // The same keys from user config, env or flags are the user's own choice.
    let mut world = World::new();
    world.write_user("static:\n  host: box.internal\nenv:\n  allow: [GITHUB_TOKEN]\n");
    world.env("CRABBOX_SSH_KEY", "/keys/id");
    world.write_repo(".crabbox.yaml", "provider: ssh\nclass: big\n");
    let config = world.load().unwrap().config;
    assert!(config.check_repo_trust().is_ok());
    assert_eq!(config.repo_trust("static.host"), None);
}

#[test]
fn config_show_marks_each_repository_value() {
    let world = World::new();
    world.write_repo(
        ".crabbox.yaml",
        "class: big\nstatic:\n  host: 203.0.113.9\nlocal:\n  netns: true\n",
    );
    let config = world.load().unwrap().config;
    let shown = show_json(&config);
    assert_eq!(shown["values"]["class"]["trust"], "trusted");
    assert_eq!(shown["values"]["static.host"]["trust"], "refused");
    assert!(shown["values"]["ttl"].get("trust").is_none());
    assert_eq!(shown["repoIgnored"], serde_json::json!(["local.netns"]));
    assert_eq!(shown["repoTrusted"], false);
    let text = show_text(&config);
    assert!(
        text.contains("static.host=203.0.113.9 source=repo_config"),
        "{text}"
    );
    assert!(text.contains("trust=refused"), "{text}");
    assert!(
        text.contains("repo_ignored=local.netns trust=ignored"),
        "{text}"
    );
}
