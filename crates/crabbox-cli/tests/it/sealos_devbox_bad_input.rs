//! `sealos-devbox` bad input through the real CLI: missing kubeconfig, context or
//! namespace, the wrong CRD version, RBAC denied, a devbox in Error, a foreign
//! Secret, a devbox deleted behind Crabbox's back, exec credential plugins and
//! broken kubeconfigs — documented exit codes and nothing leaked.

use crabbox_kube_sim::{Options, Preconditions, Rules};
use serde_json::json;

use crate::sealos_world::World;

#[test]
fn bad_input_is_reported_with_documented_exit_codes_and_leaks_nothing() {
    let world = World::start(Options::default());
    let sandbox = &world.sandbox;
    let missing = sandbox.run(&[
        "warmup",
        "--sealos-devbox-kubeconfig",
        "/nonexistent/kubeconfig",
    ]);
    assert_eq!(missing.code, 3, "{missing:?}");
    assert!(missing.stderr.contains("kubeconfig"), "{}", missing.stderr);
    let context = sandbox.run(&["warmup", "--sealos-devbox-context", "nope"]);
    assert_eq!(context.code, 3, "{context:?}");
    assert!(
        context.stderr.contains("context \"nope\""),
        "{}",
        context.stderr
    );
    let no_context = sandbox.run(&["warmup", "--sealos-devbox-context", ""]);
    assert_eq!(no_context.code, 2, "{no_context:?}");
    let namespace = sandbox.run(&["warmup", "--sealos-devbox-namespace", "nowhere"]);
    assert_eq!(namespace.code, 3, "{namespace:?}");
    assert!(namespace.stderr.contains("nowhere"), "{}", namespace.stderr);
    world.sim.set_rules(Rules::deny("create", "devboxes"));
    let denied = sandbox.run(&["warmup"]);
    assert_eq!(denied.code, 3, "{denied:?}");
    assert!(denied.stderr.contains("RBAC denied"), "{}", denied.stderr);
    world.sim.set_rules(Rules::allow_all());
    let broken = sandbox.run(&["warmup", "--sealos-devbox-image", "crabbox-sim/error"]);
    assert_eq!(broken.code, 5, "{broken:?}");
    assert!(broken.stderr.contains("Error state"), "{}", broken.stderr);
    assert!(
        world.devboxes().is_empty(),
        "a failed devbox is rolled back"
    );
    let tailnet = sandbox.run(&["warmup", "--sealos-devbox-network", "Tailnet"]);
    assert_eq!(tailnet.code, 2, "{tailnet:?}");
    let leftovers = sandbox.run(&["claims", "list", "--json"]);
    assert!(
        !leftovers.stdout.contains("cbx_"),
        "no claim leaked: {}",
        leftovers.stdout
    );

    let old = World::start(Options {
        devbox_version: "v1alpha1".into(),
        ..Options::default()
    });
    let wrong_crd = old.sandbox.run(&["warmup"]);
    assert_eq!(wrong_crd.code, 3, "{wrong_crd:?}");
    assert!(
        wrong_crd.stderr.contains("v1alpha2"),
        "{}",
        wrong_crd.stderr
    );
}

#[test]
fn foreign_secrets_and_vanished_devboxes_are_refused() {
    let world = World::start(Options::default());
    let sandbox = &world.sandbox;
    let warm = sandbox.expect(0, &["warmup", "--slug", "owned"]);
    let name = warm
        .field("server")
        .unwrap()
        .strip_prefix("default/")
        .unwrap()
        .to_string();
    sandbox.expect(0, &["stop", "owned"]);
    // The paused lease keeps its claim and key; nothing may rewrite that key.
    let keys = sandbox.home().join(".config/crabbox/testboxes");
    let snapshot = || -> Vec<(std::path::PathBuf, std::time::SystemTime, Vec<u8>)> {
        let mut files: Vec<_> = walk(&keys)
            .into_iter()
            .map(|path| {
                let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
                let bytes = std::fs::read(&path).unwrap();
                (path, modified, bytes)
            })
            .collect();
        files.sort();
        files
    };
    let before = snapshot();
    world.sim.with_store(|store, kind| {
        let secrets = kind("secrets");
        let mut secret = store.get(&secrets, Some("default"), &name).unwrap();
        secret["metadata"]["ownerReferences"][0]["uid"] = json!("someone-else");
        store
            .replace(&secrets, Some("default"), &name, secret, false)
            .unwrap();
    });
    let foreign = sandbox.run(&["run", "--id", "owned", "--", "true"]);
    assert_eq!(foreign.code, 4, "{foreign:?}");
    assert!(
        foreign.stderr.contains("not controlled by devbox"),
        "{}",
        foreign.stderr
    );
    assert!(before == snapshot(), "no key written from a foreign Secret");

    let (_, slug) = sandbox.warmup(&["--slug", "vanishing"]);
    let devbox = world
        .devboxes()
        .into_iter()
        .find(|d| d["metadata"]["labels"]["crabbox.dev/slug"] == json!(slug))
        .unwrap();
    let gone_name = devbox["metadata"]["name"].as_str().unwrap().to_string();
    world.sim.with_store(|store, kind| {
        store
            .delete(
                &kind("devboxes"),
                Some("default"),
                &gone_name,
                &Preconditions::default(),
            )
            .unwrap()
    });
    let vanished = sandbox.run(&["run", "--id", &slug, "--", "true"]);
    assert_eq!(vanished.code, 4, "{vanished:?}");
    let again = sandbox.run(&["run", "--id", &slug, "--", "true"]);
    assert_eq!(again.code, 4, "the stale claim is gone too: {again:?}");
}

#[test]
fn exec_credential_plugins_run_and_broken_kubeconfigs_leak_nothing() {
    let world = World::start(Options::default());
    let sandbox = &world.sandbox;
    let root = sandbox.root().to_path_buf();
    let plugin = root.join("credential-plugin.sh");
    let marker = root.join("plugin-ran");
    std::fs::write(
        &plugin,
        format!(
            "#!/bin/sh\ntouch {}\necho '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"exec-s3cret-token\"}}}}'\n",
            marker.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&plugin, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut kubeconfig: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("kubeconfig")).unwrap()).unwrap();
    kubeconfig["users"][0]["user"] = json!({"exec": {
        "apiVersion": "client.authentication.k8s.io/v1", "command": plugin, "interactiveMode": "Never"
    }});
    let exec_config = root.join("exec-kubeconfig");
    std::fs::write(&exec_config, kubeconfig.to_string()).unwrap();
    let exec_flag = exec_config.display().to_string();
    let warm = sandbox.expect(
        0,
        &[
            "warmup",
            "--slug",
            "exec",
            "--sealos-devbox-kubeconfig",
            &exec_flag,
        ],
    );
    assert!(marker.is_file(), "the exec credential plugin ran");
    assert!(
        !warm.stdout.contains("exec-s3cret-token") && !warm.stderr.contains("exec-s3cret-token")
    );
    sandbox.expect(
        0,
        &[
            "stop",
            "exec",
            "--sealos-devbox-kubeconfig",
            &exec_flag,
            "--sealos-devbox-delete-on-release",
        ],
    );
    assert!(world.devboxes().is_empty());

    let broken = root.join("broken-kubeconfig");
    std::fs::write(&broken, "users:\n- name: x\n  user:\n    token: broken-s3cret-token\n    client-key-data: S0VZREFUQQ==\n  [[[ not yaml\n").unwrap();
    let output = sandbox.run(&[
        "warmup",
        "--sealos-devbox-kubeconfig",
        &broken.display().to_string(),
    ]);
    assert_eq!(output.code, 3, "{output:?}");
    for secret in ["broken-s3cret-token", "S0VZREFUQQ=="] {
        assert!(
            !output.stderr.contains(secret) && !output.stdout.contains(secret),
            "{secret} leaked: {output:?}"
        );
    }
}

/// Every file below `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .flat_map(|entry| {
            let path = entry.path();
            if path.is_dir() {
                walk(&path)
            } else {
                vec![path]
            }
        })
        .collect()
}
