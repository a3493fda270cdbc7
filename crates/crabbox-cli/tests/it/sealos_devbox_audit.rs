//! Sealos DevBox regressions from a hands-on audit, each through the real CLI
//! against the Kubernetes API simulator (two simulators for the cross-cluster
//! case): pond metadata on the devbox, repo `deleteOnRelease`, claim scopes,
//! readiness behind the SSH gateway, releasing without key material, and the
//! quick start as user `devbox` in the simulator's per-devbox namespaces.

use crabbox_kube_sim::{KubeSim, Options};
use serde_json::{json, Value};

use crate::common::pond as pond_helpers;
use crate::sealos_world::World;

fn lease_id(output: &crabbox_testkit::Output) -> String {
    output
        .stdout
        .split_whitespace()
        .nth(1)
        .expect("leased line")
        .to_string()
}

fn key_path(world: &World, lease_id: &str) -> std::path::PathBuf {
    world
        .sandbox
        .home()
        .join(".config/crabbox/testboxes")
        .join(lease_id)
        .join("id_ed25519")
}

#[test]
fn pond_and_expose_reach_the_devbox_and_every_pond_view() {
    let world = World::start(Options::default());
    let sandbox = &world.sandbox;
    let warm = sandbox.expect(
        0,
        &[
            "warmup",
            "--slug",
            "pond-web",
            "--pond",
            "Alpha Pond",
            "--expose",
            "9090,8080",
        ],
    );
    let lease = lease_id(&warm);
    let devbox = world.devbox(&World::name_of(&warm));
    assert_eq!(
        devbox["metadata"]["labels"]["crabbox.dev/pond"], "alpha-pond",
        "{devbox}"
    );
    assert_eq!(
        devbox["metadata"]["annotations"]["crabbox.dev/crabbox_exposed_ports"],
        "8080-9090"
    );

    let listed = sandbox.expect(0, &["list", "--pond", "alpha-pond", "--json"]);
    let rows = listed.json();
    assert!(
        rows.as_array()
            .unwrap()
            .iter()
            .any(|row| row["labels"]["lease"] == lease.as_str()),
        "list --pond keeps the member: {}",
        listed.stdout
    );
    let text = sandbox.expect(0, &["list", "--pond", "Alpha Pond"]);
    assert!(text.stdout.contains(&lease), "{}", text.stdout);
    let elsewhere = sandbox.expect(0, &["list", "--pond", "beta", "--json"]);
    assert_eq!(elsewhere.json(), json!([]), "another pond is filtered out");

    let peers = sandbox
        .expect(0, &["pond", "peers", "--pond", "alpha-pond", "--json"])
        .json();
    let members = peers["members"].as_array().unwrap();
    assert_eq!(members.len(), 1, "{peers}");
    assert_eq!(members[0]["leaseID"], lease.as_str());
    assert_eq!(members[0]["transport"], "ssh");

    let connect = sandbox
        .expect(0, &["pond", "connect", "alpha-pond", "--json"])
        .json();
    let forwards: Vec<(Value, Value)> = connect["forwards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|forward| (forward["remotePort"].clone(), forward["leaseID"].clone()))
        .collect();
    assert_eq!(
        forwards,
        vec![(json!(8080), json!(lease)), (json!(9090), json!(lease))],
        "{connect}"
    );
}

#[test]
fn repo_config_delete_on_release_is_honoured_by_stop_and_pond_release() {
    let world = World::start(Options::default());
    let sandbox = &world.sandbox;
    // The one sealos key a checkout may set; the others are ignored.
    std::fs::write(
        sandbox.repo().join(".crabbox.yaml"),
        "sealosDevbox:\n  deleteOnRelease: true\n  namespace: elsewhere\n",
    )
    .unwrap();
    let first = sandbox.expect(0, &["warmup", "--slug", "repo-stop"]);
    let first_name = World::name_of(&first);
    let stop = sandbox.expect(0, &["stop", "repo-stop"]);
    assert!(stop.stderr.contains("deleted lease="), "{}", stop.stderr);
    assert!(
        world
            .sim
            .object("devboxes", "default", &first_name)
            .is_none(),
        "stop deleted the devbox"
    );
    assert!(!world.sandbox.claim_file(&lease_id(&first)).exists());

    let second = sandbox.expect(0, &["warmup", "--slug", "repo-pond", "--pond", "team"]);
    let second_name = World::name_of(&second);
    let release = sandbox.expect(0, &["pond", "release", "team"]);
    assert!(
        release.stderr.contains("claim_retained=false"),
        "{}",
        release.stderr
    );
    assert!(
        world
            .sim
            .object("devboxes", "default", &second_name)
            .is_none(),
        "pond release deleted the devbox"
    );
    assert!(!world.sandbox.claim_file(&lease_id(&second)).exists());
}

#[test]
fn claims_keep_their_scope_across_namespaces_and_clusters() {
    let world = World::start(Options {
        namespaces: vec!["other".into()],
        ..Options::default()
    });
    let sandbox = &world.sandbox;
    let warm = sandbox.expect(0, &["warmup", "--slug", "scoped"]);
    let lease = lease_id(&warm);
    let name = World::name_of(&warm);
    let claim: Value =
        serde_json::from_str(&std::fs::read_to_string(sandbox.claim_file(&lease)).unwrap())
            .unwrap();
    assert!(
        claim["providerScope"]
            .as_str()
            .is_some_and(|scope| scope.contains("namespace:default")),
        "{claim}"
    );
    let intact = |what: &str| {
        assert!(
            sandbox.claim_file(&lease).exists(),
            "{what} removed the claim"
        );
        assert!(key_path(&world, &lease).is_file(), "{what} removed the key");
    };
    let other = KubeSim::start(Options::default()).expect("second simulator");
    let other_config = sandbox.root().join("other-kubeconfig");
    other.write_kubeconfig(&other_config, "default").unwrap();
    let other_cluster = other_config.to_str().unwrap();
    for args in [
        vec![
            "status",
            "--id",
            "scoped",
            "--sealos-devbox-kubeconfig",
            other_cluster,
        ],
        vec![
            "run",
            "--id",
            "scoped",
            "--sealos-devbox-kubeconfig",
            other_cluster,
            "--",
            "true",
        ],
        vec![
            "status",
            "--id",
            "scoped",
            "--sealos-devbox-namespace",
            "other",
        ],
        vec![
            "status",
            "--id",
            &lease,
            "--sealos-devbox-namespace",
            "other",
        ],
        vec!["stop", &lease, "--sealos-devbox-namespace", "other"],
        vec!["stop", "scoped", "--sealos-devbox-namespace", "other"],
    ] {
        let output = sandbox.run(&args);
        assert_eq!(output.code, 4, "{args:?}: {}", output.stderr);
        assert!(
            output.stderr.contains("another sealos-devbox scope"),
            "{args:?}: {}",
            output.stderr
        );
        intact(&args.join(" "));
    }
    assert_eq!(world.devbox(&name)["spec"]["state"], "Running");

    let swept = sandbox.expect(0, &["cleanup", "--sealos-devbox-kubeconfig", other_cluster]);
    assert!(!swept.stderr.contains(&lease), "{}", swept.stderr);
    intact("cleanup against another cluster");
    sandbox.expect(0, &["cleanup"]);
    intact("cleanup of a live devbox");
    let status = sandbox.expect(0, &["status", "--id", "scoped", "--json"]);
    assert_eq!(status.json()["id"], lease.as_str());
}

#[test]
fn paused_sshgate_devbox_is_paused_and_not_ready() {
    let world = World::sshgate();
    let sandbox = &world.sandbox;
    let warm = sandbox.expect(0, &["warmup", "--slug", "gated"]);
    let name = World::name_of(&warm);
    let running = sandbox
        .expect(0, &["status", "--id", "gated", "--json"])
        .json();
    assert_eq!(running["ready"], true, "{running}");
    assert_eq!(running["state"], "ready");
    let ran = sandbox.expect(0, &["run", "--id", "gated", "--", "cat", "README.txt"]);
    assert_eq!(ran.stdout, "hello from the checkout\n");

    sandbox.expect(0, &["stop", "gated"]);
    world.wait_phase(&name, "Paused");
    let paused = sandbox
        .expect(0, &["status", "--id", "gated", "--json"])
        .json();
    assert_eq!(paused["ready"], false, "{paused}");
    assert_eq!(paused["state"], "paused");
    let text = sandbox.expect(0, &["status", "--id", "gated"]);
    assert!(
        text.stdout.contains("state=paused") && text.stdout.contains("ready=false"),
        "{}",
        text.stdout
    );
    let waited = sandbox.run(&["status", "--id", "gated", "--wait", "--wait-timeout", "3s"]);
    assert_eq!(waited.code, 5, "{}", waited.stderr);
    assert_eq!(
        world.devbox(&name)["spec"]["state"],
        "Paused",
        "status never resumes"
    );
}

#[test]
fn stop_needs_no_key_material_and_a_refused_resume_pauses_again() {
    let world = World::start(Options::default());
    let sandbox = &world.sandbox;
    let warm = sandbox.expect(0, &["warmup", "--slug", "keyless"]);
    let lease = lease_id(&warm);
    let name = World::name_of(&warm);
    sandbox.expect(0, &["stop", "keyless"]);
    world.wait_phase(&name, "Paused");
    // Someone else takes the Secret over: it is no longer controlled by the devbox.
    world.sim.with_store(|store, kind| {
        let secrets = kind("secrets");
        let mut secret = store.get(&secrets, Some("default"), &name).unwrap();
        secret["metadata"]["ownerReferences"][0]["controller"] = json!(false);
        store
            .replace(&secrets, Some("default"), &name, secret, false)
            .unwrap();
    });
    let refused = sandbox.run(&["run", "--id", "keyless", "--", "true"]);
    assert_eq!(refused.code, 4, "{}", refused.stderr);
    assert_eq!(
        world.devbox(&name)["spec"]["state"],
        "Paused",
        "a resume that cannot use the devbox is undone"
    );

    std::fs::remove_dir_all(key_path(&world, &lease).parent().unwrap()).unwrap();
    let paused_again = sandbox.expect(0, &["stop", "keyless"]);
    assert!(
        paused_again.stderr.contains("paused lease="),
        "{}",
        paused_again.stderr
    );
    let deleted = sandbox.expect(0, &["stop", "keyless", "--sealos-devbox-delete-on-release"]);
    assert!(
        deleted.stderr.contains("deleted lease="),
        "{}",
        deleted.stderr
    );
    assert!(world.sim.object("devboxes", "default", &name).is_none());
    assert!(!sandbox.claim_file(&lease).exists());
}

/// Removes a directory when dropped (also when an assertion fails).
struct RemoveOnDrop(std::path::PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn host_addresses() -> String {
    let output = std::process::Command::new("ip")
        .args(["-4", "-o", "addr", "show"])
        .output()
        .expect("ip runs");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn quick_start_runs_as_the_devbox_user_in_its_own_network_namespace() {
    let mut world = World::bare(Options::default());
    if !world.sim.isolated() {
        eprintln!("SKIP: not root: the simulator runs devboxes' sshd as the current user");
        return;
    }
    // No SSH user override: the default `devbox` must just work. A private
    // work root under its home keeps concurrent tests apart.
    let root =
        std::path::PathBuf::from(format!("/home/devbox/crabbox-test-{}", std::process::id()));
    let _cleanup = RemoveOnDrop(root.clone());
    world.sandbox.set_env(
        "CRABBOX_SEALOS_DEVBOX_WORK_ROOT",
        root.join("project").display().to_string(),
    );
    let sandbox = &world.sandbox;
    sandbox.expect(0, &["warmup", "--slug", "quick"]);
    let ran = sandbox.expect(
        0,
        &[
            "run",
            "--id",
            "quick",
            "--shell",
            "id -un; cat README.txt; ip -4 -o addr show scope global",
        ],
    );
    let mut lines = ran.stdout.lines();
    assert_eq!(lines.next(), Some("devbox"), "{}", ran.stdout);
    assert_eq!(lines.next(), Some("hello from the checkout"));
    let inside = lines.next().unwrap_or_default();
    let address = inside
        .split_whitespace()
        .find(|word| word.starts_with("10.214."))
        .unwrap_or_else(|| panic!("no 10.214/16 address inside: {}", ran.stdout))
        .trim_end_matches("/30")
        .to_string();
    assert!(
        !host_addresses().contains(&format!("{address}/30")),
        "the devbox address lives only in its namespace"
    );
    let (prefix, last) = address.rsplit_once('.').unwrap();
    let host_side = format!("{prefix}.{}/30", last.parse::<u8>().unwrap() - 1);
    assert!(host_addresses().contains(&host_side), "veth host end");
    sandbox.expect(0, &["stop", "quick", "--sealos-devbox-delete-on-release"]);
    drop(world);
    assert!(
        !host_addresses().contains(&host_side),
        "the simulator removed the veth pair"
    );
}

#[test]
fn pond_connect_forwards_to_a_service_on_the_devbox() {
    let world = World::start(Options::default());
    if !world.sim.isolated() {
        eprintln!("SKIP: not root: without per-devbox namespaces the service would share the host's loopback");
        return;
    }
    let sandbox = &world.sandbox;
    let _guard = pond_helpers::PondGuard::new(sandbox, "mesh");
    sandbox.expect(
        0,
        &[
            "warmup", "--slug", "mesh-web", "--pond", "mesh", "--expose", "8080",
        ],
    );
    // Inside the devbox's own namespace: its 127.0.0.1:8080 is nobody else's.
    pond_helpers::serve(sandbox, "mesh-web", 8080, "devbox-page", &[]);
    let export = sandbox.expect(0, &["pond", "connect", "mesh", "--export"]);
    let pairs = pond_helpers::exports(&export.stdout);
    assert_eq!(pairs.len(), 1, "{}", export.stdout);
    let (name, address) = &pairs[0];
    assert_eq!(name, "CRABBOX_POND_MESH_WEB_8080");
    assert!(
        crabbox_testkit::eventually(10, || pond_helpers::curl(address).as_deref()
            == Some("devbox-page")),
        "{address} did not serve the devbox's page"
    );
    let disconnect = sandbox.expect(0, &["pond", "disconnect", "mesh"]);
    assert!(
        disconnect
            .stdout
            .contains("disconnected 1 SSH-mesh daemon(s)"),
        "{}",
        disconnect.stdout
    );
}
