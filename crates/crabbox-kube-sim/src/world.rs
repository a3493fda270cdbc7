//! Everything the API handlers and the controller share, and the simulator's options.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::json;

use crate::rbac::Rules;
use crate::resources::{catalog, ResourceKind};
use crate::store::Store;

/// The network shape the controller publishes in `status.network`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkShape {
    NodePort,
    SshGate,
}

/// How a simulator is started.
#[derive(Debug, Clone)]
pub struct Options {
    pub listen: String,
    /// Version the Devbox CRD is served at; set it to something other than
    /// `v1alpha2` to simulate a cluster with the wrong CRD.
    pub devbox_version: String,
    pub network: NetworkShape,
    /// Where node ports listen (the published node host).
    pub node_host: String,
    /// Bearer token the API requires, if any. kubectl sends tokens only over
    /// TLS, so the plain-HTTP simulator requires none by default.
    pub token: Option<String>,
    /// Namespaces that exist besides `default`.
    pub namespaces: Vec<String>,
    /// How long a new devbox stays Pending before it runs.
    pub pending_for: Duration,
    /// Devboxes with one of these images go to Error instead of Running.
    pub error_images: Vec<String>,
    pub rules: Rules,
    /// As root, give each devbox its own network namespace with an sshd serving
    /// the `devbox` user (created if missing). Ignored when not root.
    pub isolate: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            listen: "127.0.0.1:0".into(),
            devbox_version: "v1alpha2".into(),
            network: NetworkShape::NodePort,
            node_host: "127.0.0.1".into(),
            token: None,
            namespaces: Vec::new(),
            pending_for: Duration::from_millis(300),
            error_images: vec!["crabbox-sim/error".into()],
            rules: Rules::allow_all(),
            isolate: true,
        }
    }
}

pub struct World {
    pub store: Store,
    pub rules: Rules,
    pub catalog: Vec<ResourceKind>,
    pub options: Options,
    pub server_address: String,
    /// Creates that are stored but answered with a timeout, as a lost response would be.
    pub ambiguous_creates: usize,
    /// sshd ports of Running devboxes, oldest first: where the SSHGate stand-in relays.
    pub gateway_routes: Vec<u16>,
    /// Devbox hosts run in their own network namespaces as user `devbox`.
    pub isolated: bool,
}

#[derive(Clone)]
pub struct Shared(Arc<Mutex<World>>);

impl Shared {
    pub fn new(options: Options) -> Shared {
        let mut store = Store::default();
        let catalog = catalog(&options.devbox_version);
        let namespace_kind = catalog[0].clone();
        for name in std::iter::once("default".to_string()).chain(options.namespaces.iter().cloned())
        {
            let _ = store.create(
                &namespace_kind,
                None,
                json!({"metadata": {"name": name}, "status": {"phase": "Active"}}),
            );
        }
        Shared(Arc::new(Mutex::new(World {
            store,
            rules: options.rules.clone(),
            catalog,
            options,
            server_address: String::new(),
            ambiguous_creates: 0,
            gateway_routes: Vec::new(),
            isolated: false,
        })))
    }

    pub fn lock(&self) -> MutexGuard<'_, World> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn kind(&self, plural: &str) -> ResourceKind {
        let world = self.lock();
        world
            .catalog
            .iter()
            .find(|kind| kind.plural == plural)
            .expect("served kind")
            .clone()
    }
}
