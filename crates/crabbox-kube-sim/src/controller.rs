//! The Devbox controller: turns Running devboxes into sshd hosts, publishes the
//! Secret and `status`, records events, and stops hosts on pause or deletion.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

use crate::host::DevboxHost;
use crate::time::now_rfc3339;
use crate::world::{NetworkShape, Shared};

struct Tracked {
    host: Option<DevboxHost>,
    first_seen: Instant,
    events: u32,
}

pub struct Controller {
    shared: Shared,
    tracked: HashMap<String, Tracked>,
}

/// What a devbox should look like now, decided under the lock and done outside it.
enum Want {
    Pending,
    Error,
    Running,
    Stopped(&'static str),
}

impl Controller {
    pub fn new(shared: Shared) -> Controller {
        Controller {
            shared,
            tracked: HashMap::new(),
        }
    }

    /// Reconciles every 50ms until `stop` is set; hosts are stopped on exit.
    pub fn run(mut self, stop: Arc<AtomicBool>) {
        while !stop.load(Ordering::SeqCst) {
            self.reconcile();
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn reconcile(&mut self) {
        let kind = self.shared.kind("devboxes");
        let (devboxes, options, isolated) = {
            let world = self.shared.lock();
            let everything = crate::selector::Selector::default();
            (
                world.store.list(&kind, None, &everything, &everything),
                world.options.clone(),
                world.isolated,
            )
        };
        let live: Vec<String> = devboxes.iter().map(uid).collect();
        self.tracked.retain(|uid, _| live.contains(uid));
        let mut routes: Vec<(Instant, u16)> = Vec::new();
        for devbox in devboxes {
            let tracked = self.tracked.entry(uid(&devbox)).or_insert_with(|| Tracked {
                host: None,
                first_seen: Instant::now(),
                events: 0,
            });
            let image = devbox["spec"]["image"].as_str().unwrap_or("");
            let want = if options.error_images.iter().any(|bad| bad == image) {
                Want::Error
            } else if tracked.first_seen.elapsed() < options.pending_for {
                Want::Pending
            } else {
                match devbox["spec"]["state"].as_str().unwrap_or("Running") {
                    "Running" => Want::Running,
                    "Paused" => Want::Stopped("Paused"),
                    "Stopped" => Want::Stopped("Stopped"),
                    _ => Want::Stopped("Shutdown"),
                }
            };
            let (phase, network, message) = match want {
                Want::Pending => ("Pending", None, None),
                Want::Error => {
                    stop_host(tracked);
                    (
                        "Error",
                        None,
                        Some((
                            "Failed",
                            format!("Failed to pull image \"{image}\": not found"),
                        )),
                    )
                }
                Want::Stopped(phase) => {
                    stop_host(tracked);
                    let network = tracked
                        .host
                        .as_ref()
                        .map(|host| network_status(options.network, host.port));
                    (
                        phase,
                        network,
                        Some((phase, format!("devbox is {}", phase.to_lowercase()))),
                    )
                }
                Want::Running => {
                    if tracked.host.is_none() {
                        tracked.host = DevboxHost::new(&options.node_host, isolated).ok();
                    }
                    match tracked
                        .host
                        .as_mut()
                        .map(|host| host.start().map(|()| host.port))
                    {
                        Some(Ok(port)) => {
                            routes.push((tracked.first_seen, port));
                            (
                                "Running",
                                Some(network_status(options.network, port)),
                                Some(("Started", "devbox sshd is running".into())),
                            )
                        }
                        _ => (
                            "Error",
                            None,
                            Some(("Failed", "devbox host failed to start".into())),
                        ),
                    }
                }
            };
            self.publish(&devbox, phase, network, message);
        }
        routes.sort();
        self.shared.lock().gateway_routes = routes.into_iter().map(|(_, port)| port).collect();
    }

    fn publish(
        &mut self,
        devbox: &Value,
        phase: &str,
        network: Option<Value>,
        message: Option<(&str, String)>,
    ) {
        let kind = self.shared.kind("devboxes");
        let (namespace, name) = (
            devbox["metadata"]["namespace"].as_str().unwrap_or(""),
            devbox["metadata"]["name"].as_str().unwrap_or(""),
        );
        let mut status = json!({
            "phase": phase,
            "state": phase,
            "lastContainerStatus": {"name": name, "ready": phase == "Running", "state": {phase.to_lowercase(): {}}},
        });
        if let Some(network) = network {
            status["network"] = network;
        }
        if devbox["status"] == status {
            return;
        }
        let tracked = self.tracked.get_mut(&uid(devbox)).expect("tracked devbox");
        let mut world = self.shared.lock();
        // Like a real controller's status update (resourceVersion precondition):
        // a devbox changed since this reconcile read it is left for the next one,
        // so a stale decision (pausing what was just resumed) is never published.
        let current = world.store.get(&kind, Some(namespace), name).ok();
        if current.is_none_or(|current| {
            current["metadata"]["resourceVersion"] != devbox["metadata"]["resourceVersion"]
        }) {
            return;
        }
        if phase == "Running" {
            if let Some(host) = &tracked.host {
                let secret_kind = world
                    .catalog
                    .iter()
                    .find(|k| k.plural == "secrets")
                    .expect("secrets")
                    .clone();
                if world
                    .store
                    .get(&secret_kind, Some(namespace), name)
                    .is_err()
                {
                    let _ = world.store.create(
                        &secret_kind,
                        Some(namespace),
                        secret(devbox, &kind.api_version(), host),
                    );
                }
            }
        }
        let _ = world.store.set_status(&kind, Some(namespace), name, status);
        if let Some((reason, text)) = message {
            tracked.events += 1;
            let event_kind = world
                .catalog
                .iter()
                .find(|k| k.plural == "events")
                .expect("events")
                .clone();
            let event = json!({
                "metadata": {"name": format!("{name}.{:x}", tracked.events)},
                "involvedObject": {"apiVersion": kind.api_version(), "kind": "Devbox", "name": name, "namespace": namespace, "uid": uid(devbox)},
                "reason": reason, "message": text, "type": if phase == "Error" { "Warning" } else { "Normal" },
                "count": 1, "firstTimestamp": now_rfc3339(), "lastTimestamp": now_rfc3339(),
                "source": {"component": "crabbox-kube-sim"},
            });
            let _ = world.store.create(&event_kind, Some(namespace), event);
        }
    }
}

fn uid(devbox: &Value) -> String {
    devbox["metadata"]["uid"].as_str().unwrap_or("").to_string()
}

fn stop_host(tracked: &mut Tracked) {
    if let Some(host) = tracked.host.as_mut() {
        host.stop();
    }
}

fn network_status(shape: NetworkShape, port: u16) -> Value {
    match shape {
        NetworkShape::NodePort => json!({"type": "NodePort", "nodePort": port}),
        NetworkShape::SshGate => json!({"type": "SSHGate", "tailnet": ""}),
    }
}

/// The key-pair Secret, controlled by its devbox.
fn secret(devbox: &Value, api_version: &str, host: &DevboxHost) -> Value {
    let encode = |text: &str| base64::engine::general_purpose::STANDARD.encode(text);
    json!({
        "metadata": {
            "name": devbox["metadata"]["name"],
            "ownerReferences": [{
                "apiVersion": api_version, "kind": "Devbox", "name": devbox["metadata"]["name"],
                "uid": devbox["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true,
            }],
        },
        "type": "Opaque",
        "data": {
            "SEALOS_DEVBOX_PUBLIC_KEY": encode(&host.public_key),
            "SEALOS_DEVBOX_PRIVATE_KEY": encode(&host.private_key),
        },
    })
}
