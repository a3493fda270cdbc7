//! Brokered `local` leases run as the coordinator's own user, so a coordinator
//! brokers them only with `CRABBOX_COORDINATOR_LOCAL_DEV=1` (and says loudly
//! what that means), and the machines it starts never inherit its secrets.

use crabbox_proto::wire::CreateLeaseRequest;

use crate::common::{self, sandbox, Coordinator};

const ADMIN_TOKEN: &str = "admin-token-that-must-stay-inside";
const PROVIDER_CREDENTIAL: &str = "hcloud-credential-that-must-stay-inside";

/// An `sshd` that records the environment it was started with in the lease
/// directory, then becomes the real sshd. (sshd's own /proc environ is
/// overwritten by its process title, so it cannot be read there.)
fn recording_sshd(sandbox: &crabbox_testkit::Sandbox) -> String {
    let real = crabbox_ssh::find_tool("sshd").expect("sshd");
    let wrapper = sandbox.root().join("recording-sshd");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nenv > \"$(dirname \"$2\")/launch.env\"\nexec {} \"$@\"\n",
            real.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    wrapper.display().to_string()
}

#[test]
fn a_brokered_local_machine_never_sees_the_coordinators_secrets() {
    let sandbox = sandbox();
    let database = format!(
        "sqlite://{}?mode=rwc",
        sandbox.root().join("secret-named.sqlite").display()
    );
    let sshd = recording_sshd(&sandbox);
    let coordinator = Coordinator::start_with_env(
        &sandbox,
        &[
            ("CRABBOX_ADMIN_TOKEN", ADMIN_TOKEN),
            ("HCLOUD_TOKEN", PROVIDER_CREDENTIAL),
            ("CRABBOX_DATABASE_URL", &database),
            ("CRABBOX_SSHD", &sshd),
        ],
    );
    let warning = coordinator.startup.join("\n");
    assert!(
        warning.contains("CRABBOX_COORDINATOR_LOCAL_DEV")
            && warning.contains("read the coordinator's environment"),
        "{warning}"
    );
    let (client, runtime) = coordinator.client();
    let lease = runtime
        .block_on(client.create_lease(&CreateLeaseRequest {
            ssh_public_key: common::client_public_key(&sandbox),
            ..CreateLeaseRequest::default()
        }))
        .expect("create");
    let environ = std::fs::read_to_string(sandbox.lease_dir(&lease.id).join("launch.env"))
        .expect("the recording sshd started the lease");
    for secret in [
        ADMIN_TOKEN,
        PROVIDER_CREDENTIAL,
        coordinator.token.as_str(),
        common::SESSION_SECRET,
        database.as_str(),
    ] {
        assert!(
            !environ.contains(secret),
            "sshd inherited a secret:\n{environ}"
        );
    }
    let names: Vec<&str> = environ
        .lines()
        .filter_map(|line| line.split_once('=').map(|(name, _)| name))
        .collect();
    for expected in ["HOME", "LANG", "PATH"] {
        assert!(names.contains(&expected), "{environ}");
    }
    assert!(
        names
            .iter()
            .all(|name| ["HOME", "LANG", "PATH", "PWD", "OLDPWD", "SHLVL", "_"].contains(name)),
        "only a minimal environment:\n{environ}"
    );
}

#[test]
fn without_the_development_setting_local_is_not_brokered() {
    let mut sandbox = sandbox();
    let refused = sandbox
        .command(&["coordinator", "serve", "--listen", "127.0.0.1:0"])
        .env("CRABBOX_SHARED_TOKEN", "a-shared-token-for-this-test")
        .env("CRABBOX_PROVIDERS", "local")
        .output()
        .expect("run the coordinator");
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("CRABBOX_COORDINATOR_LOCAL_DEV=1"),
        "{stderr}"
    );

    // Without CRABBOX_PROVIDERS it starts, brokers nothing, and says why.
    let coordinator =
        Coordinator::start_with_env(&sandbox, &[("CRABBOX_COORDINATOR_LOCAL_DEV", "0")]);
    coordinator.configure(&mut sandbox);
    let output = sandbox.run(&["warmup"]);
    assert_ne!(output.code, 0, "{}", output.stdout);
    assert!(
        output.stderr.contains("CRABBOX_COORDINATOR_LOCAL_DEV"),
        "{}",
        output.stderr
    );
    assert!(
        !sandbox.state_dir().join("local").exists()
            || std::fs::read_dir(sandbox.state_dir().join("local"))
                .unwrap()
                .flatten()
                .all(|entry| !entry.path().is_dir()),
        "no machine was made"
    );
}
