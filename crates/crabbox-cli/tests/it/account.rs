//! `login`, `logout` and `whoami` against a real coordinator.

use std::os::unix::fs::PermissionsExt;

use crate::common::{sandbox, Coordinator, OWNER, SESSION_SECRET};

#[test]
fn login_verifies_saves_privately_and_logout_keeps_the_url() {
    let mut sandbox = sandbox();
    let coordinator = Coordinator::start(&sandbox);
    let config = sandbox.home().join(".config/crabbox/config.yaml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(&config, "class: fast\n").unwrap();

    let unconfigured = sandbox.run(&["whoami"]);
    assert_eq!(unconfigured.code, 2, "{}", unconfigured.stderr);
    assert!(unconfigured
        .stderr
        .contains("requires a configured coordinator"));

    let no_stdin = sandbox.run(&["login", "--url", &coordinator.url]);
    assert_eq!(no_stdin.code, 2, "{}", no_stdin.stderr);

    let wrong = sandbox.run_with_input(
        &["login", "--url", &coordinator.url, "--token-stdin"],
        "wrong-token\n",
    );
    assert_eq!(wrong.code, 3, "{}", wrong.stderr);
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        "class: fast\n",
        "a rejected token is not saved"
    );

    let url = format!("{}/", coordinator.url);
    let login = sandbox.run_with_input(
        &["login", "--url", &url, "--token-stdin"],
        &format!("{}\n", coordinator.token),
    );
    assert_eq!(login.code, 0, "{}", login.stderr);
    assert!(
        login.stderr.contains(&format!("owner={OWNER}")),
        "{}",
        login.stderr
    );
    assert!(!login.stderr.contains(&coordinator.token));
    assert!(!login.stdout.contains(&coordinator.token));
    let saved = std::fs::read_to_string(&config).unwrap();
    assert!(saved.contains("class: fast"), "{saved}");
    assert!(
        saved.contains(&format!("url: {}", coordinator.url)),
        "{saved}"
    );
    assert!(saved.contains(&coordinator.token), "{saved}");
    let mode = std::fs::metadata(&config).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let path = sandbox.expect(0, &["config", "path"]);
    assert_eq!(path.stdout.trim(), config.display().to_string());

    let whoami = sandbox.expect(0, &["whoami"]);
    assert_eq!(
        whoami.stdout.trim(),
        format!(
            "owner={OWNER} org=- auth=bearer admin=false coordinator={}",
            coordinator.url
        )
    );
    let json = sandbox.expect(0, &["whoami", "--json"]).json();
    assert_eq!(json["owner"], OWNER);
    assert_eq!(json["admin"], false);
    assert_eq!(json["coordinator"], coordinator.url.as_str());
    let shown = sandbox.expect(0, &["config", "show"]);
    assert!(
        !shown.stdout.contains(&coordinator.token),
        "{}",
        shown.stdout
    );

    sandbox.expect(0, &["logout"]);
    let saved = std::fs::read_to_string(&config).unwrap();
    assert!(!saved.contains(&coordinator.token), "{saved}");
    assert!(saved.contains(&coordinator.url), "{saved}");
    let after = sandbox.run(&["whoami"]);
    assert_eq!(after.code, 3, "{}", after.stderr);
    assert!(
        after.stderr.contains("crabbox login --url"),
        "{}",
        after.stderr
    );

    // The environment still works without any saved token.
    coordinator.configure(&mut sandbox);
    sandbox.expect(0, &["whoami"]);
    coordinator.stop();
}

#[test]
fn minted_user_tokens_authenticate_as_their_owner() {
    let mut sandbox = sandbox();
    let coordinator = Coordinator::start(&sandbox);
    let missing = sandbox.run(&["coordinator", "token", "--owner", "github:7"]);
    assert_eq!(missing.code, 2, "{}", missing.stderr);
    assert!(missing.stderr.contains("CRABBOX_SESSION_SECRET"));

    sandbox.set_env("CRABBOX_SESSION_SECRET", SESSION_SECRET);
    let short = sandbox.run(&["coordinator", "token", "--owner", "github:7", "--ttl", "5m"]);
    assert_eq!(short.code, 2, "{}", short.stderr);
    let minted = sandbox.expect(
        0,
        &[
            "coordinator",
            "token",
            "--owner",
            "github:7",
            "--org",
            "acme",
        ],
    );
    let token = minted.stdout.trim().to_string();
    assert!(token.starts_with("cbxu_"), "{token}");

    sandbox.set_env("CRABBOX_COORDINATOR", &coordinator.url);
    sandbox.set_env("CRABBOX_COORDINATOR_TOKEN", &token);
    let whoami = sandbox.expect(0, &["whoami", "--json"]);
    let identity: serde_json::Value = serde_json::from_str(&whoami.stdout).unwrap();
    assert_eq!(identity["owner"], "github:7");
    assert_eq!(identity["org"], "acme");
    assert_eq!(identity["auth"], "github");
    sandbox.set_env("CRABBOX_SESSION_SECRET", "another-secret");
    let forged = sandbox.expect(0, &["coordinator", "token", "--owner", "github:7"]);
    sandbox.set_env("CRABBOX_COORDINATOR_TOKEN", forged.stdout.trim());
    assert_eq!(
        sandbox.run(&["whoami"]).code,
        3,
        "a token signed with another secret is refused"
    );
    coordinator.stop();
}

#[test]
fn an_unreachable_coordinator_is_reported_with_its_causes() {
    let mut sandbox = sandbox();
    // A port that was free a moment ago: connecting to it is refused at once.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    sandbox.set_env("CRABBOX_COORDINATOR", format!("http://127.0.0.1:{port}"));
    sandbox.set_env("CRABBOX_COORDINATOR_TOKEN", "token-for-cause-tests");

    let whoami = sandbox.run(&["whoami"]);
    assert_eq!(whoami.code, 1, "{}", whoami.stderr);
    let lines: Vec<&str> = whoami.stderr.lines().collect();
    let error = lines
        .iter()
        .position(|line| line.starts_with("error: cannot reach the coordinator at "))
        .unwrap_or_else(|| panic!("no error line:\n{}", whoami.stderr));
    let hint = lines
        .iter()
        .position(|line| line.starts_with("hint: check the coordinator URL"))
        .unwrap_or_else(|| panic!("no hint line:\n{}", whoami.stderr));
    let causes = &lines[error + 1..hint];
    assert!(!causes.is_empty(), "{}", whoami.stderr);
    for cause in causes {
        let text = cause
            .strip_prefix("caused by: ")
            .unwrap_or_else(|| panic!("{cause:?} between error and hint"));
        assert!(
            !lines[error].contains(text),
            "the message already says {text:?}"
        );
    }
    assert!(
        causes
            .iter()
            .any(|cause| cause.contains("error sending request")),
        "the HTTP client's own layer is named:\n{}",
        whoami.stderr
    );
}
