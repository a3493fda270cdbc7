//! The `sealos-devbox` provider against the Kubernetes API simulator: scope
//! separation, AlreadyExists and ambiguous-create reconciliation, pause/resume,
//! delete with preconditions, cleanup and the SSHGate route.

use crabbox_core::Paths;
use crabbox_kube_sim::{KubeSim, NetworkShape, Options};
use crabbox_providers::sealos::{devbox_name, scope_id, SealosSettings};
use crabbox_providers::{AcquireRequest, Provider, ProviderError, ProviderSettings, Released};
use serde_json::json;

struct Setup {
    sim: KubeSim,
    dir: tempfile::TempDir,
}

impl Setup {
    fn new(options: Options) -> Setup {
        let sim = KubeSim::start(options).unwrap();
        let dir = tempfile::tempdir().unwrap();
        sim.write_kubeconfig(&dir.path().join("kubeconfig"), "default")
            .unwrap();
        Setup { sim, dir }
    }

    fn settings(&self, node_host: &str) -> SealosSettings {
        SealosSettings {
            kubeconfig: Some(self.dir.path().join("kubeconfig")),
            context: Some(crabbox_kube_sim::CONTEXT.into()),
            image: Some("ubuntu".into()),
            network: "NodePort".into(),
            node_host: Some(node_host.into()),
            work_root: "/home/devbox/project".into(),
            ..SealosSettings::default()
        }
    }

    fn provider(&self, sealos: SealosSettings) -> std::sync::Arc<dyn Provider> {
        let root = self.dir.path().display().to_string();
        let paths = Paths::from_lookup(|key| (key == "HOME").then(|| root.clone()));
        let mut settings = ProviderSettings::new(paths);
        settings.sealos = sealos;
        crabbox_providers::create("sealos", &settings).unwrap()
    }

    fn devbox_count(&self) -> usize {
        self.sim.objects("devboxes", "default").len()
    }
}

fn request(lease_id: &str, slug: &str, ttl_secs: i64) -> AcquireRequest {
    AcquireRequest {
        lease_id: crabbox_core::LeaseId::parse(lease_id).expect("a canonical lease id"),
        slug: slug.into(),
        public_key: String::new(),
        ttl_secs,
        idle_timeout_secs: ttl_secs,
        keep: false,
        class: "beast".into(),
        profile: "default".into(),
        pond: String::new(),
        exposed_ports: Vec::new(),
    }
}

#[tokio::test]
async fn leases_are_scoped_pause_resume_and_delete_with_preconditions() {
    let setup = Setup::new(Options::default());
    let provider = setup.provider(setup.settings("127.0.0.1"));
    let lease = provider
        .acquire(&request("cbx_000000000001", "alpha", 3600))
        .await
        .unwrap();
    assert_eq!(
        (lease.host.as_str(), lease.user.as_str()),
        ("127.0.0.1", "devbox")
    );
    assert!(lease.port > 0 && lease.server_id.starts_with("default/crabbox-alpha-"));

    // Another route is another scope: it neither lists nor resolves the lease.
    let elsewhere = setup.provider(setup.settings("localhost"));
    assert!(elsewhere.list().await.unwrap().is_empty());
    assert!(matches!(
        elsewhere.resolve("alpha").await,
        Err(ProviderError::NotFound { .. })
    ));
    assert_eq!(
        elsewhere.release("cbx_000000000001").await.unwrap(),
        Released::AlreadyGone
    );
    assert_eq!(
        setup.devbox_count(),
        1,
        "another scope never touches the devbox"
    );

    // A devbox of another lease already holds the name the next lease would get.
    let settings = setup.settings("127.0.0.1");
    let scope = scope_id(&settings.raw_scope(&settings.validate().unwrap()));
    let taken = devbox_name("gamma", "cbx_000000000007", &scope);
    let foreign = json!({"metadata": {"name": taken, "labels": {"app.kubernetes.io/managed-by": "crabbox", "crabbox.dev/lease-id": "cbx_0000000000ff"}}, "spec": {"state": "Paused", "image": "theirs"}});
    setup.sim.with_store(|store, kind| {
        store
            .create(&kind("devboxes"), Some("default"), foreign)
            .unwrap()
    });
    let collision = provider
        .acquire(&request("cbx_000000000007", "gamma", 3600))
        .await;
    assert!(
        matches!(collision, Err(ProviderError::Conflict { .. })),
        "{collision:?}"
    );
    assert_eq!(
        setup.devbox_count(),
        2,
        "a collision creates and deletes nothing"
    );
    assert_eq!(
        setup.sim.object("devboxes", "default", &taken).unwrap()["spec"]["image"],
        "theirs"
    );

    let touched = provider.touch("alpha", None, Some(120)).await.unwrap();
    assert_eq!(touched.idle_timeout_secs, 120);

    assert_eq!(provider.release("alpha").await.unwrap(), Released::Paused);
    let name = lease.name.clone();
    assert_eq!(
        setup.sim.object("devboxes", "default", &name).unwrap()["spec"]["state"],
        "Paused"
    );
    let resumed = provider.resolve("cbx_000000000001").await.unwrap();
    assert_eq!(resumed.port, lease.port, "the node port survives a pause");
    assert_eq!(
        setup.sim.object("devboxes", "default", &name).unwrap()["status"]["phase"],
        "Running"
    );

    let mut deleting = setup.settings("127.0.0.1");
    deleting.delete_on_release = true;
    assert_eq!(
        setup.provider(deleting).release("alpha").await.unwrap(),
        Released::Deleted
    );
    assert_eq!(setup.devbox_count(), 1, "only the foreign devbox is left");
}

#[tokio::test]
async fn an_ambiguous_create_is_adopted_once_not_duplicated() {
    let setup = Setup::new(Options::default());
    let provider = setup.provider(setup.settings("127.0.0.1"));
    setup.sim.answer_creates_with_timeouts(1);
    let lease = provider
        .acquire(&request("cbx_000000000002", "beta", 3600))
        .await
        .unwrap();
    assert_eq!(lease.id, "cbx_000000000002");
    assert_eq!(setup.devbox_count(), 1, "one create, no delete");
}

#[tokio::test]
async fn cleanup_deletes_only_expired_in_scope_devboxes() {
    let setup = Setup::new(Options::default());
    let provider = setup.provider(setup.settings("127.0.0.1"));
    provider
        .acquire(&request("cbx_000000000003", "short", 1))
        .await
        .unwrap();
    provider
        .acquire(&request("cbx_000000000004", "long", 86_400))
        .await
        .unwrap();
    provider.release("short").await.unwrap();
    let other_scope = setup.provider(setup.settings("localhost"));
    other_scope
        .acquire(&request("cbx_000000000005", "foreign", 1))
        .await
        .unwrap();
    other_scope.release("foreign").await.unwrap();
    let later = crabbox_core::now_unix() + 3600;
    let reaper = provider.reaper().unwrap();
    let dry = reaper.reap(later, true).unwrap();
    let deleting: Vec<&str> = dry
        .iter()
        .filter(|d| d.delete)
        .map(|d| d.lease_id.as_str())
        .collect();
    assert_eq!(deleting, ["cbx_000000000003"]);
    assert!(
        dry.iter().all(|d| d.lease_id != "cbx_000000000005"),
        "out of scope is never listed"
    );
    assert_eq!(setup.devbox_count(), 3, "dry run changes nothing");
    reaper.reap(later, false).unwrap();
    assert_eq!(setup.devbox_count(), 2);
    assert!(reaper.reap(later, false).unwrap().iter().all(|d| !d.delete));
}

#[tokio::test]
async fn sshgate_leases_route_through_the_gateway_without_a_node_port() {
    let setup = Setup::new(Options {
        network: NetworkShape::SshGate,
        ..Options::default()
    });
    let settings = SealosSettings {
        network: "ssh-gate".into(),
        ssh_gateway_host: Some("gateway.example".into()),
        node_host: None,
        ..setup.settings("unused")
    };
    let lease = setup
        .provider(settings)
        .acquire(&request("cbx_000000000006", "gated", 3600))
        .await
        .unwrap();
    assert_eq!(
        (lease.host.as_str(), lease.port, lease.user.as_str()),
        ("gateway.example", 2233, "devbox")
    );
    let devbox = setup
        .sim
        .object("devboxes", "default", &lease.name)
        .unwrap();
    assert!(!devbox.to_string().contains("gateway.example"));
    assert_eq!(devbox["spec"]["network"]["type"], "SSHGate");
}
