//! The real kubectl against the simulator: apply, get, patch and delete devboxes,
//! with the controller's sshd, Secret, status and events checked for real.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crabbox_kube_sim::{KubeSim, Options, Rules};
use serde_json::Value;

struct Cluster {
    sim: KubeSim,
    dir: tempfile::TempDir,
}

struct Outcome {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn kubectl_installed() -> bool {
    let found = Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found {
        eprintln!("SKIP: kubectl is not installed (apt-get install kubernetes-client)");
    }
    found
}

impl Cluster {
    fn start(options: Options) -> Cluster {
        let sim = KubeSim::start(options).expect("simulator starts");
        let dir = tempfile::tempdir().unwrap();
        sim.write_kubeconfig(&dir.path().join("kubeconfig"), "default")
            .unwrap();
        Cluster { sim, dir }
    }

    fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }

    fn kubectl(&self, args: &[&str], stdin: &str) -> Outcome {
        let mut child = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(self.kubeconfig())
            .args(["--context", crabbox_kube_sim::CONTEXT])
            .args(args)
            .env_remove("KUBECONFIG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kubectl runs");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        Outcome {
            ok: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    fn json(&self, args: &[&str]) -> Value {
        let outcome = self.kubectl(args, "");
        assert!(outcome.ok, "kubectl {args:?} failed: {}", outcome.stderr);
        serde_json::from_str(&outcome.stdout).unwrap()
    }

    fn wait_phase(&self, name: &str, phase: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let devbox = self.json(&["get", "devboxes.devbox.sealos.io", name, "-o", "json"]);
            if devbox["status"]["phase"] == phase {
                return devbox;
            }
            assert!(
                Instant::now() < deadline,
                "devbox {name} never reached {phase}: {}",
                devbox["status"]
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn manifest(name: &str, state: &str, image: &str) -> String {
    format!(
        "apiVersion: devbox.sealos.io/v1alpha2\nkind: Devbox\nmetadata:\n  name: {name}\n  labels:\n    app.kubernetes.io/managed-by: crabbox\nspec:\n  state: {state}\n  image: {image}\n"
    )
}

fn ssh_echo(key: &Path, port: u64) -> bool {
    let user = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout).unwrap();
    let output = Command::new("ssh")
        .arg("-i")
        .arg(key)
        .args([
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "BatchMode=yes",
        ])
        .args([
            "-o",
            "ConnectTimeout=5",
            "-o",
            "LogLevel=ERROR",
            "-p",
            &port.to_string(),
        ])
        .arg(format!("{}@127.0.0.1", user.trim()))
        .arg("echo devbox-says-hi")
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).contains("devbox-says-hi")
}

fn private_key(cluster: &Cluster, name: &str) -> PathBuf {
    use base64::Engine;
    let secret = cluster.json(&["get", "secret", name, "-o", "json"]);
    let encoded = secret["data"]["SEALOS_DEVBOX_PRIVATE_KEY"]
        .as_str()
        .expect("private key field");
    let key = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap();
    let path = cluster.dir.path().join(format!("{name}.key"));
    std::fs::write(&path, key).unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    path
}

#[test]
fn kubectl_applies_pauses_resumes_patches_and_deletes_a_devbox() {
    if !kubectl_installed() {
        return;
    }
    let cluster = Cluster::start(Options::default());
    let name = "crabbox-swift-crab-0123abcd";
    let created = cluster.kubectl(&["apply", "-f", "-"], &manifest(name, "Running", "ubuntu"));
    assert!(
        created.ok && created.stdout.contains("created"),
        "{}",
        created.stderr
    );
    let devbox = cluster.wait_phase(name, "Running");
    assert_eq!(devbox["status"]["network"]["type"], "NodePort");
    let port = devbox["status"]["network"]["nodePort"]
        .as_u64()
        .expect("node port");
    let secret = cluster.json(&["get", "secret", name, "-o", "json"]);
    let owner = &secret["metadata"]["ownerReferences"][0];
    assert_eq!(
        (owner["kind"].as_str(), owner["controller"].as_bool()),
        (Some("Devbox"), Some(true))
    );
    assert_eq!(owner["uid"], devbox["metadata"]["uid"]);
    let key = private_key(&cluster, name);
    assert!(ssh_echo(&key, port), "ssh into the running devbox");

    let paused = cluster.kubectl(&["apply", "-f", "-"], &manifest(name, "Paused", "ubuntu"));
    assert!(
        paused.ok && paused.stdout.contains("configured"),
        "{}",
        paused.stderr
    );
    cluster.wait_phase(name, "Paused");
    assert!(!ssh_echo(&key, port), "a paused devbox has no sshd");

    let resumed = cluster.kubectl(
        &[
            "patch",
            "devboxes.devbox.sealos.io",
            name,
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"state":"Running"}}"#,
        ],
        "",
    );
    assert!(resumed.ok, "{}", resumed.stderr);
    let devbox = cluster.wait_phase(name, "Running");
    assert_eq!(
        devbox["status"]["network"]["nodePort"].as_u64(),
        Some(port),
        "resume keeps the node port"
    );
    assert!(ssh_echo(&key, port), "same key works after resume");

    let labelled = cluster.kubectl(
        &[
            "patch",
            "devboxes.devbox.sealos.io",
            name,
            "--type",
            "json",
            "-p",
            r#"[{"op":"add","path":"/metadata/labels/crabbox.dev~1slug","value":"swift-crab"}]"#,
        ],
        "",
    );
    assert!(labelled.ok, "{}", labelled.stderr);
    let listed = cluster.json(&[
        "get",
        "devboxes.devbox.sealos.io",
        "-l",
        "crabbox.dev/slug=swift-crab",
        "-o",
        "json",
    ]);
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let none = cluster.json(&[
        "get",
        "devboxes.devbox.sealos.io",
        "-l",
        "crabbox.dev/slug=other",
        "-o",
        "json",
    ]);
    assert!(none["items"].as_array().unwrap().is_empty());

    let stale = cluster.kubectl(
        &[
            "patch",
            "devboxes.devbox.sealos.io",
            name,
            "--type",
            "merge",
            "-p",
            r#"{"metadata":{"resourceVersion":"1"},"spec":{"state":"Paused"}}"#,
        ],
        "",
    );
    assert!(
        !stale.ok && stale.stderr.contains("Conflict"),
        "{}",
        stale.stderr
    );

    let current = cluster.json(&["get", "devboxes.devbox.sealos.io", name, "-o", "json"]);
    let raw_path = format!("/apis/devbox.sealos.io/v1alpha2/namespaces/default/devboxes/{name}");
    let delete_body = |uid: &str, version: &str| {
        format!(
            r#"{{"apiVersion":"v1","kind":"DeleteOptions","preconditions":{{"uid":"{uid}","resourceVersion":"{version}"}},"propagationPolicy":"Background"}}"#
        )
    };
    let uid = current["metadata"]["uid"].as_str().unwrap();
    let version = current["metadata"]["resourceVersion"].as_str().unwrap();
    let wrong_uid = cluster.kubectl(
        &["delete", "--raw", &raw_path, "-f", "-"],
        &delete_body("not-the-uid", version),
    );
    assert!(
        !wrong_uid.ok && wrong_uid.stderr.contains("Precondition failed"),
        "{}",
        wrong_uid.stderr
    );
    let wrong_version = cluster.kubectl(
        &["delete", "--raw", &raw_path, "-f", "-"],
        &delete_body(uid, "1"),
    );
    assert!(
        !wrong_version.ok && wrong_version.stderr.contains("Precondition failed"),
        "{}",
        wrong_version.stderr
    );
    let deleted = cluster.kubectl(
        &["delete", "--raw", &raw_path, "-f", "-"],
        &delete_body(uid, version),
    );
    assert!(deleted.ok, "{}", deleted.stderr);
    let missing = cluster.kubectl(
        &["get", "devboxes.devbox.sealos.io", name, "-o", "json"],
        "",
    );
    assert!(
        !missing.ok && missing.stderr.contains("NotFound"),
        "{}",
        missing.stderr
    );
    let secret_gone = cluster.kubectl(&["get", "secret", name], "");
    assert!(
        !secret_gone.ok,
        "the owned Secret is collected with its devbox"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while ssh_echo(&key, port) {
        assert!(Instant::now() < deadline, "sshd outlived its devbox");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn kubectl_delete_and_create_report_not_found_and_already_exists() {
    if !kubectl_installed() {
        return;
    }
    let cluster = Cluster::start(Options::default());
    let body = manifest("crabbox-twice-00000000", "Paused", "ubuntu");
    assert!(cluster.kubectl(&["create", "-f", "-"], &body).ok);
    let again = cluster.kubectl(&["create", "-f", "-"], &body);
    assert!(
        !again.ok && again.stderr.contains("AlreadyExists"),
        "{}",
        again.stderr
    );
    assert!(
        cluster
            .kubectl(
                &[
                    "delete",
                    "devboxes.devbox.sealos.io",
                    "crabbox-twice-00000000"
                ],
                ""
            )
            .ok
    );
    let gone = cluster.kubectl(
        &[
            "delete",
            "devboxes.devbox.sealos.io",
            "crabbox-twice-00000000",
        ],
        "",
    );
    assert!(
        !gone.ok && gone.stderr.contains("NotFound"),
        "{}",
        gone.stderr
    );
    let no_namespace = cluster.kubectl(&["create", "--namespace", "nowhere", "-f", "-"], &body);
    assert!(
        !no_namespace.ok
            && no_namespace
                .stderr
                .contains("namespaces \"nowhere\" not found"),
        "{}",
        no_namespace.stderr
    );
}

#[test]
fn rules_review_and_enforcement_follow_the_configured_rules() {
    if !kubectl_installed() {
        return;
    }
    let cluster = Cluster::start(Options::default());
    cluster.sim.set_rules(Rules::deny("delete", "devboxes"));
    let review = r#"{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectRulesReview","spec":{"namespace":"default"}}"#;
    let outcome = cluster.kubectl(
        &[
            "create",
            "--raw",
            "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
            "-f",
            "-",
        ],
        review,
    );
    assert!(outcome.ok, "{}", outcome.stderr);
    let document: Value = serde_json::from_str(&outcome.stdout).unwrap();
    let devbox_rule = document["status"]["resourceRules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|rule| rule["resources"][0] == "devboxes")
        .cloned()
        .unwrap();
    let verbs: Vec<&str> = devbox_rule["verbs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        verbs.contains(&"patch") && !verbs.contains(&"delete"),
        "{verbs:?}"
    );
    assert!(
        cluster
            .kubectl(
                &["create", "-f", "-"],
                &manifest("crabbox-kept-00000000", "Paused", "ubuntu")
            )
            .ok
    );
    let denied = cluster.kubectl(
        &[
            "delete",
            "devboxes.devbox.sealos.io",
            "crabbox-kept-00000000",
        ],
        "",
    );
    assert!(
        !denied.ok && denied.stderr.contains("Forbidden"),
        "{}",
        denied.stderr
    );
}

#[test]
fn error_images_fail_with_a_warning_event_and_wrong_crd_versions_are_not_served() {
    if !kubectl_installed() {
        return;
    }
    let cluster = Cluster::start(Options::default());
    let name = "crabbox-broken-00000000";
    assert!(
        cluster
            .kubectl(
                &["apply", "-f", "-"],
                &manifest(name, "Running", "crabbox-sim/error")
            )
            .ok
    );
    cluster.wait_phase(name, "Error");
    let selector = format!("involvedObject.name={name}");
    let events = cluster.json(&["get", "events", "--field-selector", &selector, "-o", "json"]);
    let warning = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|event| event["type"] == "Warning");
    assert!(warning, "{events}");
    assert!(
        cluster.sim.object("secrets", "default", name).is_none(),
        "no key pair for a failed devbox"
    );

    let old = Cluster::start(Options {
        devbox_version: "v1alpha1".into(),
        ..Options::default()
    });
    let served = old.kubectl(&["get", "--raw", "/apis/devbox.sealos.io/v1alpha2"], "");
    assert!(!served.ok, "v1alpha2 must not be served");
    let listing = old.json(&["get", "--raw", "/apis/devbox.sealos.io/v1alpha1"]);
    assert_eq!(listing["groupVersion"], "devbox.sealos.io/v1alpha1");
}

#[test]
fn auth_can_i_follows_several_denied_rules() {
    if !kubectl_installed() {
        return;
    }
    let cluster = Cluster::start(Options {
        rules: Rules::deny_all(&[("patch", "devboxes"), ("get", "secrets")]),
        ..Options::default()
    });
    let can = |verb: &str, resource: &str| {
        let outcome = cluster.kubectl(&["auth", "can-i", verb, resource, "-n", "default"], "");
        (
            outcome.ok,
            outcome.stdout.trim().to_string(),
            outcome.stderr,
        )
    };
    let (ok, answer, stderr) = can("create", "devboxes.devbox.sealos.io");
    assert!(ok && answer == "yes", "{answer} {stderr}");
    for (verb, resource) in [("patch", "devboxes.devbox.sealos.io"), ("get", "secrets")] {
        let (ok, answer, stderr) = can(verb, resource);
        assert!(
            !ok && answer == "no",
            "{verb} {resource}: {answer} {stderr}"
        );
    }
    let (ok, answer, _) = can("list", "secrets");
    assert!(ok && answer == "yes", "only the denied verbs are refused");
}

#[test]
fn yaml_request_bodies_are_understood() {
    if !kubectl_installed() {
        return;
    }
    let cluster = Cluster::start(Options::default());
    let file = cluster.dir.path().join("secret.yaml");
    std::fs::write(
        &file,
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: from-yaml\n  labels:\n    shape: yaml\nstringData:\n  note: hello\n",
    )
    .unwrap();
    let outcome = cluster.kubectl(
        &[
            "create",
            "--raw",
            "/api/v1/namespaces/default/secrets",
            "-f",
            file.to_str().unwrap(),
        ],
        "",
    );
    assert!(outcome.ok, "{}", outcome.stderr);
    let created: Value = serde_json::from_str(&outcome.stdout).unwrap();
    assert_eq!(created["metadata"]["name"], "from-yaml");
    let stored = cluster
        .sim
        .object("secrets", "default", "from-yaml")
        .expect("stored");
    assert_eq!(stored["metadata"]["labels"]["shape"], "yaml");
}
