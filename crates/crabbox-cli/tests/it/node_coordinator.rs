//! Our CLI against a coordinator that answers in the Node coordinator's shapes
//! (numeric serverID, string exposedPorts, Node run records, no control socket):
//! status, list, run --id, attach, history and logs all work.

use std::os::unix::fs::PermissionsExt;

use crabbox_testkit::fakes::node_coordinator::{node_lease, FakeNodeCoordinator};
use crabbox_testkit::SshdFixture;

use crate::common;

const LEASE: &str = "cbx_0123456789ab";
const SLUG: &str = "violet-prawn";

#[test]
fn the_cli_works_against_node_shaped_answers() {
    let fixture = SshdFixture::start();
    let work = fixture.dir().join("work");
    // A bootstrapped machine has its work root.
    std::fs::create_dir_all(&work).unwrap();
    let mut lease = node_lease(
        LEASE,
        SLUG,
        "127.0.0.1",
        fixture.port,
        &fixture.user,
        &work.display().to_string(),
    );
    lease["sshHostKey"] = serde_json::json!(fixture.host_key);
    let fake = FakeNodeCoordinator::start(lease);

    let mut sandbox = common::sandbox();
    sandbox.set_env("CRABBOX_COORDINATOR", &fake.url);
    sandbox.set_env("CRABBOX_COORDINATOR_TOKEN", "token-for-the-node-fake");
    // The Go CLI that made the lease keeps its key where ours looks for it.
    let key_dir = sandbox.home().join(".config/crabbox/testboxes").join(LEASE);
    std::fs::create_dir_all(&key_dir).unwrap();
    std::fs::set_permissions(&key_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::copy(&fixture.client_key, key_dir.join("id_ed25519")).unwrap();
    std::fs::copy(
        fixture.client_key.with_extension("pub"),
        key_dir.join("id_ed25519.pub"),
    )
    .unwrap();

    let status = sandbox.expect(0, &["status", "--id", SLUG]);
    assert!(status.stdout.contains(LEASE), "{status:?}");
    let listed = sandbox.expect(0, &["list", "--json"]).json();
    assert_eq!(listed[0]["slug"], SLUG, "{listed}");
    assert_eq!(listed[0]["serverID"], 58_316_224, "{listed}");

    let output = sandbox.expect(0, &["run", "--id", SLUG, "--", "echo", "hello-node"]);
    assert_eq!(output.stdout, "hello-node\n", "{output:?}");
    let run = common::recorded_run(&output.stderr);
    let requests = fake.state.lock().requests.clone();
    for expected in [
        "POST /v1/runs".to_string(),
        format!("POST /v1/runs/{run}/events"),
        format!("POST /v1/runs/{run}/finish"),
    ] {
        assert!(requests.contains(&expected), "{expected} in {requests:?}");
    }
    let recorded = fake.state.lock().runs[0].clone();
    assert_eq!(recorded["state"], "succeeded", "{recorded}");

    let history = sandbox.expect(0, &["history"]);
    assert!(history.stdout.contains(&run), "{history:?}");
    let attached = sandbox.expect(0, &["attach", &run]);
    assert!(attached.stdout.contains("hello-node"), "{attached:?}");
    let logs = sandbox.expect(0, &["logs", &run]);
    assert!(logs.stdout.contains("hello-node"), "{logs:?}");
}
