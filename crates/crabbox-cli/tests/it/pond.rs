//! Ponds end to end with real processes: local leases in their own network
//! namespaces plus a static host (peers, exported mesh, disconnect, release), a
//! brokered pond, and a mixed pond whose URL member comes from its bridge.

use crabbox_testkit::{eventually, free_port, is_root, matching_processes, SshdFixture};

use crate::common;
use crate::common::pond::{curl, exports, serve, PondGuard};

fn static_flags(fixture: &SshdFixture) -> Vec<String> {
    [
        "--provider",
        "ssh",
        "--static-host",
        "127.0.0.1",
        "--static-port",
        &fixture.port.to_string(),
        "--static-user",
        &fixture.user,
        "--static-work-root",
        &fixture.dir().join("work").display().to_string(),
    ]
    .iter()
    .map(|text| text.to_string())
    .collect()
}

#[test]
fn pond_of_netns_leases_and_a_static_host() {
    if !is_root() {
        eprintln!("SKIP pond_of_netns_leases_and_a_static_host: needs root for network namespaces");
        return;
    }
    let fixture = SshdFixture::start();
    let mut sandbox = common::sandbox();
    sandbox.set_env("CRABBOX_SSH_KEY", fixture.client_key.display().to_string());
    sandbox.set_env("CRABBOX_SSH_FALLBACK_PORTS", "");
    let _guard = PondGuard::new(&sandbox, "e2e");
    let mut leases = Vec::new();
    for slug in ["web", "api", "db"] {
        let (id, _) = sandbox.warmup(&[
            "--local-netns",
            "--pond",
            "E2E",
            "--expose",
            "8080",
            "--slug",
            slug,
        ]);
        serve(&sandbox, slug, 8080, slug, &[]);
        leases.push(id);
    }
    let static_port = free_port();
    let flags = static_flags(&fixture);
    let mut warm: Vec<&str> = vec!["warmup"];
    warm.extend(flags.iter().map(String::as_str));
    let exposed = static_port.to_string();
    warm.extend(["--pond", "e2e", "--expose", &exposed]);
    sandbox.expect(0, &warm);
    serve(
        &sandbox,
        "static_127-0-0-1",
        static_port,
        "static",
        &flags.iter().map(String::as_str).collect::<Vec<_>>(),
    );

    let status = sandbox.expect(0, &["status", "--id", "web"]);
    assert!(status.stdout.contains("pond=e2e"), "{}", status.stdout);
    let mut static_status = vec!["status", "--id", "static_127-0-0-1"];
    static_status.extend(flags.iter().map(String::as_str));
    let status = sandbox.expect(0, &static_status);
    assert!(status.stdout.contains("pond=e2e"), "{}", status.stdout);
    let listed = sandbox
        .expect(0, &["list", "--pond", "e2e", "--json"])
        .json();
    assert_eq!(listed.as_array().unwrap().len(), 3, "{listed}");
    let other = sandbox
        .expect(0, &["list", "--pond", "other", "--json"])
        .json();
    assert_eq!(other, serde_json::json!([]));

    let peers = sandbox
        .expect(0, &["pond", "peers", "--pond", "e2e", "--json"])
        .json();
    let members = peers["members"].as_array().unwrap();
    assert_eq!(members.len(), 4, "{peers}");
    let mut addresses = std::collections::BTreeSet::new();
    for member in members {
        assert_eq!(member["transport"], "ssh", "{member}");
        let endpoint = member["endpoint"].as_str().unwrap();
        assert!(endpoint.starts_with("ssh://"), "{endpoint}");
        if member["provider"] == "local" {
            assert!(endpoint.starts_with("ssh://10.213."), "{endpoint}");
        } else {
            assert_eq!(member["provider"], "ssh");
        }
        addresses.insert(endpoint.rsplit_once(':').unwrap().0.to_string());
    }
    assert_eq!(
        addresses.len(),
        4,
        "every member is its own host: {addresses:?}"
    );

    let export = sandbox.expect(0, &["pond", "connect", "e2e", "--export"]);
    let pairs = exports(&export.stdout);
    assert_eq!(pairs.len(), 4, "{}", export.stdout);
    for (name, address) in &pairs {
        let want = match name.as_str() {
            "CRABBOX_POND_WEB_8080" => "web",
            "CRABBOX_POND_API_8080" => "api",
            "CRABBOX_POND_DB_8080" => "db",
            _ => "static",
        };
        assert!(
            eventually(10, || curl(address).as_deref() == Some(want)),
            "{name}={address} did not serve {want}"
        );
    }
    let pond_dir = sandbox.home().join(".crabbox/pond/e2e");
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(pond_dir.join("daemon.json")).unwrap()).unwrap();
    let pids: Vec<u64> = state["pids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pid| pid.as_u64().unwrap())
        .collect();
    assert_eq!(pids.len(), 4);
    let disconnect = sandbox.expect(0, &["pond", "disconnect", "e2e"]);
    assert!(
        disconnect
            .stdout
            .contains("disconnected 4 SSH-mesh daemon(s)"),
        "{}",
        disconnect.stdout
    );
    for (_, address) in &pairs {
        let port = address.rsplit_once(':').unwrap().1;
        let spec = format!("127.0.0.1:{port}:127.0.0.1:");
        assert!(
            eventually(5, || matching_processes(&spec).is_empty()),
            "an ssh forward for {spec} survived disconnect"
        );
    }

    let release = sandbox.expect(0, &["pond", "release", "e2e"]);
    assert!(
        release.stderr.contains("(4 lease(s))"),
        "{}",
        release.stderr
    );
    let claims = sandbox.expect(0, &["claims", "list", "--json"]).json();
    assert_eq!(claims["claims"], serde_json::json!([]), "{claims}");
    for id in &leases {
        let hex = id.trim_start_matches("cbx_");
        assert!(!std::path::Path::new(&format!("/run/netns/cbx-{hex}")).exists());
        let veth = format!("/sys/class/net/cbxh{}", &hex[hex.len() - 8..]);
        assert!(!std::path::Path::new(&veth).exists(), "{veth} survived");
        assert!(!sandbox.lease_dir(id).exists());
        assert!(!crabbox_testkit::process_running(
            &sandbox.lease_dir(id).display().to_string()
        ));
    }
    assert!(
        curl(&format!("127.0.0.1:{static_port}")).is_some(),
        "the static host is untouched"
    );
}

#[test]
fn brokered_leases_carry_their_pond() {
    let mut sandbox = common::sandbox();
    let coordinator = common::Coordinator::start(&sandbox);
    coordinator.configure(&mut sandbox);
    let _guard = PondGuard::new(&sandbox, "brokered");
    let (id, _) = sandbox.warmup(&["--pond", "Brokered", "--expose", "9090,8080"]);
    let record = coordinator.lease(&id);
    assert_eq!(record.pond, "brokered");
    assert_eq!(record.exposed_ports, vec![8080, 9090]);
    let listed = sandbox
        .expect(0, &["list", "--pond", "brokered", "--json"])
        .json();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    let other = sandbox
        .expect(0, &["list", "--pond", "other", "--json"])
        .json();
    assert_eq!(other, serde_json::json!([]));
    let peers = sandbox
        .expect(0, &["pond", "peers", "--pond", "brokered", "--json"])
        .json();
    assert_eq!(peers["members"][0]["transport"], "ssh", "{peers}");
    assert_eq!(
        peers["members"][0]["labels"]["crabbox_exposed_ports"],
        "8080-9090"
    );
    let plan = sandbox
        .expect(0, &["pond", "connect", "brokered", "--json"])
        .json();
    assert_eq!(plan["forwards"].as_array().unwrap().len(), 2, "{plan}");
    assert!(
        !sandbox.home().join(".crabbox/pond/brokered").exists(),
        "--json writes nothing"
    );
    sandbox.expect(0, &["pond", "release", "brokered"]);
    assert_ne!(coordinator.lease(&id).state.as_str(), "active");
    assert!(!sandbox.claim_file(&id).exists());
}

#[test]
fn url_members_come_from_their_bridge_and_release_continues_past_failures() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let railway = runtime.block_on(crabbox_testkit::fakes::railway::FakeRailway::start(
        "rw-token",
    ));
    railway.add_deployment(
        "proj",
        "env",
        "svc-web",
        "SUCCESS",
        "https://web.up.railway.app",
    );
    let mut sandbox = common::sandbox();
    for (name, value) in [
        ("RAILWAY_API_TOKEN", "rw-token"),
        ("RAILWAY_API_URL", railway.url.as_str()),
        ("RAILWAY_PROJECT_ID", "proj"),
        ("RAILWAY_ENVIRONMENT_ID", "env"),
    ] {
        sandbox.set_env(name, value);
    }
    let _guard = PondGuard::new(&sandbox, "mixed");
    let (local, _) = sandbox.warmup(&["--pond", "mixed", "--expose", "8080"]);
    // A Railway member claimed elsewhere by another implementation.
    std::fs::write(
        sandbox.claim_file("svc-web"),
        r#"{"leaseID":"svc-web","slug":"web","provider":"railway","pond":"mixed"}"#,
    )
    .unwrap();

    let peers = sandbox
        .expect(0, &["pond", "peers", "--pond", "mixed", "--json"])
        .json();
    let members = peers["members"].as_array().unwrap();
    assert_eq!(members.len(), 2, "{peers}");
    let web = members.iter().find(|row| row["slug"] == "web").unwrap();
    assert_eq!(web["transport"], "url", "{web}");
    assert_eq!(web["endpoint"], "https://web.up.railway.app", "{web}");
    let local_row = members
        .iter()
        .find(|row| row["leaseID"] == local.as_str())
        .unwrap();
    assert_eq!(local_row["transport"], "ssh");

    let text = sandbox.expect(0, &["pond", "peers", "--pond", "mixed"]);
    assert!(
        text.stdout
            .contains("\n  bridge target port=0 url=https://web.up.railway.app"),
        "{}",
        text.stdout
    );
    let plan = sandbox.expect(0, &["pond", "connect", "mixed", "--json"]);
    assert!(
        plan.stderr
            .contains("skipping provider \"railway\" (no SSH-mesh capability)"),
        "{}",
        plan.stderr
    );
    let doctor = sandbox.run(&["doctor", "--pond", "mixed", "--json"]).json();
    let url_check = doctor["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|check| check["check"] == "pond-url")
        .cloned()
        .unwrap();
    assert_eq!(
        url_check["details"]["probes"][0]["slug"], "web",
        "{url_check}"
    );
    assert_eq!(doctor["reachability"]["members"], 2, "{doctor}");

    // Railway has no release path in this build: the failure is reported, the
    // local member is still released, and the first error is the exit status.
    let release = sandbox.run(&["pond", "release", "mixed"]);
    assert_eq!(release.code, 2, "{}", release.stderr);
    assert!(
        release.stderr.contains("release railway/svc-web"),
        "{}",
        release.stderr
    );
    assert!(!sandbox.claim_file(&local).exists());
    assert!(!sandbox.lease_dir(&local).exists());
    std::fs::remove_file(sandbox.claim_file("svc-web")).unwrap();
}

#[test]
fn expired_netns_leases_are_swept_with_their_namespace() {
    if !is_root() {
        eprintln!("SKIP expired_netns_leases_are_swept_with_their_namespace: needs root");
        return;
    }
    let sandbox = common::sandbox();
    let (id, _) = sandbox.warmup(&["--local-netns", "--ttl", "2s"]);
    let hex = id.trim_start_matches("cbx_").to_string();
    let netns = format!("/run/netns/cbx-{hex}");
    let veth = format!("/sys/class/net/cbxh{}", &hex[hex.len() - 8..]);
    assert!(std::path::Path::new(&netns).exists());
    assert!(std::path::Path::new(&veth).exists());
    std::thread::sleep(std::time::Duration::from_millis(2500));
    sandbox.expect(0, &["cleanup"]);
    assert!(
        !std::path::Path::new(&netns).exists(),
        "{netns} survived the sweep"
    );
    assert!(
        !std::path::Path::new(&veth).exists(),
        "{veth} survived the sweep"
    );
    assert!(!sandbox.lease_dir(&id).exists());
}
