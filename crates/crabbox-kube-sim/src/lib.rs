//! A small Kubernetes API simulator for trying and testing the Sealos DevBox
//! provider without a cluster: discovery, namespaces, the `devbox.sealos.io`
//! Devbox CRD, Secrets, events and SelfSubjectRulesReview, with a controller that
//! gives every Running devbox a real sshd.

mod controller;
mod discovery;
mod gateway;
mod host;
mod kubeconfig;
mod netns;
mod openapi;
mod patch;
mod protobuf;
mod rbac;
mod resources;
mod selector;
mod server;
mod status;
mod store;
mod time;
mod world;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use serde_json::Value;

pub use rbac::{ResourceRule, Rules};
pub use status::ApiError;
pub use store::{Preconditions, Store};
pub use world::{NetworkShape, Options};

/// The context name written into generated kubeconfigs.
pub const CONTEXT: &str = kubeconfig::CONTEXT;

/// A running simulator; dropping it stops the server, the controller and every sshd.
pub struct KubeSim {
    address: SocketAddr,
    shared: world::Shared,
    stop: Arc<AtomicBool>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    threads: Vec<JoinHandle<()>>,
    gateway_port: Option<u16>,
}

impl KubeSim {
    pub fn start(options: Options) -> std::io::Result<KubeSim> {
        let listener = std::net::TcpListener::bind(&options.listen)?;
        listener.set_nonblocking(true)?;
        let address = listener.local_addr()?;
        let isolate = options.isolate && netns::is_root();
        let shared = world::Shared::new(options);
        shared.lock().server_address = address.to_string();
        shared.lock().isolated = isolate && netns::ensure_devbox_user().is_ok();
        let (shutdown, shutdown_signal) = tokio::sync::oneshot::channel::<()>();
        let router = server::router(shared.clone());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let server = std::thread::spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    return;
                };
                let _ = axum::serve(listener, router)
                    .with_graceful_shutdown(async move {
                        let _ = shutdown_signal.await;
                    })
                    .await;
            });
        });
        let stop = Arc::new(AtomicBool::new(false));
        let controller = controller::Controller::new(shared.clone());
        let controller_stop = stop.clone();
        let controller = std::thread::spawn(move || controller.run(controller_stop));
        let mut threads = vec![server, controller];
        let mut gateway_port = None;
        if shared.lock().options.network == NetworkShape::SshGate {
            let node_host = shared.lock().options.node_host.clone();
            let listener = gateway::bind(&node_host)?;
            gateway_port = Some(listener.local_addr()?.port());
            threads.push(gateway::spawn(listener, shared.clone(), stop.clone()));
        }
        Ok(KubeSim {
            address,
            shared,
            stop,
            shutdown: Some(shutdown),
            threads,
            gateway_port,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Whether devbox hosts run in their own network namespaces as user
    /// `devbox` (root only); otherwise sshd runs on the node host as the
    /// current user, which is then the SSH user to configure.
    pub fn isolated(&self) -> bool {
        self.shared.lock().isolated
    }

    /// The SSH gateway's port on the node host (SSHGate shape only).
    pub fn gateway_port(&self) -> Option<u16> {
        self.gateway_port
    }

    pub fn token(&self) -> Option<String> {
        self.shared.lock().options.token.clone()
    }

    /// Writes a kubeconfig (mode 0600) with the context [`CONTEXT`].
    pub fn write_kubeconfig(&self, path: &Path, namespace: &str) -> std::io::Result<()> {
        kubeconfig::write(path, &self.url(), self.token().as_deref(), namespace)
    }

    /// Replaces the access rules; SelfSubjectRulesReview and every request follow them.
    pub fn set_rules(&self, rules: Rules) {
        self.shared.lock().rules = rules;
    }

    /// The next `count` creates are stored but answered with a 504 timeout.
    pub fn answer_creates_with_timeouts(&self, count: usize) {
        self.shared.lock().ambiguous_creates = count;
    }

    /// Runs `change` on the store directly, as another client or controller would.
    pub fn with_store<R>(
        &self,
        change: impl FnOnce(&mut Store, &dyn Fn(&str) -> resources::ResourceKind) -> R,
    ) -> R {
        let kinds = self.shared.clone();
        let catalog = kinds.lock().catalog.clone();
        let lookup = move |plural: &str| {
            catalog
                .iter()
                .find(|kind| kind.plural == plural)
                .expect("served kind")
                .clone()
        };
        let mut world = self.shared.lock();
        change(&mut world.store, &lookup)
    }

    /// The stored object, if any (`plural` such as `devboxes` or `secrets`).
    pub fn object(&self, plural: &str, namespace: &str, name: &str) -> Option<Value> {
        self.with_store(|store, kind| store.get(&kind(plural), Some(namespace), name).ok())
    }

    /// Every stored object of a namespaced type in `namespace`.
    pub fn objects(&self, plural: &str, namespace: &str) -> Vec<Value> {
        let everything = selector::Selector::default();
        self.with_store(|store, kind| {
            store.list(&kind(plural), Some(namespace), &everything, &everything)
        })
    }
}

pub use resources::ResourceKind;

impl Drop for KubeSim {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}
