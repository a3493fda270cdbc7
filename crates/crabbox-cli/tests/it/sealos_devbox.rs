//! The `sealos-devbox` provider through the real CLI against the Kubernetes API
//! simulator, whose controller gives every Running devbox a real sshd (NodePort
//! shape on 127.0.0.1): lease, run, pause, resume, delete, and doctor's RBAC checks.

use crabbox_kube_sim::{Options, Rules};
use serde_json::json;

use crate::sealos_world::{key_line, World};

#[test]
fn nodeport_lease_runs_pauses_resumes_and_deletes() {
    let world = World::start(Options::default());
    let sandbox = &world.sandbox;
    let warm = sandbox.expect(0, &["warmup", "--slug", "sealos-demo"]);
    let lease_id = warm.stdout.split_whitespace().nth(1).unwrap().to_string();
    let server = warm.field("server").expect("server field");
    let name = server
        .strip_prefix("default/")
        .expect("namespace/name")
        .to_string();
    let devbox = world
        .sim
        .object("devboxes", "default", &name)
        .expect("devbox created");
    assert_eq!(
        devbox["metadata"]["labels"]["crabbox.dev/lease-id"],
        json!(lease_id)
    );
    assert!(
        !devbox.to_string().contains("127.0.0.1"),
        "route hosts never reach the cluster"
    );
    let key_path = sandbox
        .home()
        .join(".config/crabbox/testboxes")
        .join(&lease_id)
        .join("id_ed25519");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&key_path)
            .expect("key persisted")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "the devbox key is private");
    let private_key = world.private_key_of(&name);
    let secret_line = key_line(&private_key);
    assert_eq!(
        std::fs::read_to_string(&key_path).unwrap(),
        private_key,
        "the key comes from the owned Secret"
    );

    let first = sandbox.expect(
        0,
        &["run", "--id", "sealos-demo", "--", "cat", "README.txt"],
    );
    assert_eq!(first.stdout, "hello from the checkout\n");

    let status = sandbox.expect(0, &["status", "--id", "sealos-demo", "--wait", "--json"]);
    assert_eq!(
        status.json()["provider"],
        "sealos-devbox",
        "{}",
        status.stdout
    );
    let listed = sandbox.expect(0, &["list", "--json"]);
    assert!(listed.stdout.contains(&lease_id), "{}", listed.stdout);

    let stop = sandbox.expect(0, &["stop", "sealos-demo"]);
    assert!(stop.stderr.contains("paused lease="), "{}", stop.stderr);
    let paused = world
        .sim
        .object("devboxes", "default", &name)
        .expect("paused devbox is kept");
    assert_eq!(paused["spec"]["state"], "Paused");
    assert!(
        sandbox.claim_file(&lease_id).exists(),
        "a paused devbox keeps its claim"
    );
    // Looking at a paused lease changes nothing: status is read-only. (Let the
    // simulator's controller finish publishing the paused status first.)
    let version = |world: &World| {
        world.sim.object("devboxes", "default", &name).unwrap()["metadata"]["resourceVersion"]
            .clone()
    };
    let mut settled = version(&world);
    for _ in 0..50 {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let now = version(&world);
        if now == settled {
            break;
        }
        settled = now;
    }
    let looked = sandbox.expect(0, &["status", "--id", "sealos-demo", "--json"]);
    assert_eq!(looked.json()["id"], lease_id.as_str(), "{}", looked.stdout);
    let still = world.sim.object("devboxes", "default", &name).unwrap();
    assert_eq!(still["spec"]["state"], "Paused", "status must not resume");
    assert_eq!(
        still["metadata"]["resourceVersion"], settled,
        "status must not write"
    );

    std::fs::write(sandbox.repo().join("README.txt"), "changed while paused\n").unwrap();
    let resumed = sandbox.expect(
        0,
        &["run", "--id", "sealos-demo", "--", "cat", "README.txt"],
    );
    assert_eq!(
        resumed.stdout, "changed while paused\n",
        "{}",
        resumed.stderr
    );
    let running = world.sim.object("devboxes", "default", &name).unwrap();
    assert_eq!(running["spec"]["state"], "Running");

    let delete = sandbox.expect(
        0,
        &["stop", "sealos-demo", "--sealos-devbox-delete-on-release"],
    );
    assert!(
        delete.stderr.contains("deleted lease="),
        "{}",
        delete.stderr
    );
    assert!(world.devboxes().is_empty(), "devbox deleted");
    assert!(
        world.sim.object("secrets", "default", &name).is_none(),
        "its Secret went with it"
    );
    let cleanup = sandbox.expect(0, &["cleanup"]);
    assert!(
        !cleanup.stdout.contains("delete") && !cleanup.stderr.contains("delete server"),
        "{cleanup:?}"
    );
    for output in [&warm, &first, &stop, &resumed, &delete, &cleanup] {
        assert!(
            !output.stdout.contains(&secret_line) && !output.stderr.contains(&secret_line),
            "private key leaked"
        );
    }
}

#[test]
fn doctor_reports_each_denied_verb_from_one_rules_review() {
    let world = World::start(Options::default());
    let all = world
        .sandbox
        .expect(0, &["doctor", "--provider", "sealos-devbox", "--json"])
        .json();
    let names: Vec<&str> = all["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["check"].as_str())
        .collect();
    for expected in [
        "context",
        "namespace",
        "crd.devboxes",
        "rbac.rules",
        "rbac.patch.devboxes",
        "devbox.source",
        "network",
        "automation_surface",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    let cases = [
        ("get", "devboxes"),
        ("list", "devboxes"),
        ("get", "secrets"),
        ("list", "secrets"),
        ("get", "pods"),
        ("list", "pods"),
        ("get", "events"),
        ("list", "events"),
        ("create", "devboxes"),
        ("update", "devboxes"),
        ("patch", "devboxes"),
        ("delete", "devboxes"),
    ];
    for (verb, resource) in cases {
        world.sim.set_rules(Rules::deny(verb, resource));
        let output = world
            .sandbox
            .run(&["doctor", "--provider", "sealos-devbox", "--json"]);
        assert_ne!(
            output.code, 0,
            "doctor passes with {verb} {resource} denied"
        );
        let report = output.json();
        for check in report["checks"].as_array().unwrap() {
            let name = check["check"].as_str().unwrap();
            if name == format!("rbac.{verb}.{resource}") {
                assert_eq!(check["status"], "failed", "{check}");
                assert!(check["message"].as_str().unwrap().contains("allowed=false"));
            } else if name.starts_with("rbac.") {
                assert_eq!(check["status"], "ok", "{verb} {resource}: {check}");
            }
        }
    }
}
