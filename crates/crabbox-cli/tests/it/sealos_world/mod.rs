//! The sealos-devbox CLI tests' world: a Kubernetes API simulator and a sandbox
//! whose environment selects the provider in NodePort mode on 127.0.0.1.

use crabbox_kube_sim::{KubeSim, Options};
use crabbox_testkit::Sandbox;

pub struct World {
    pub sim: KubeSim,
    pub sandbox: Sandbox,
}

pub fn user() -> String {
    let output = std::process::Command::new("id")
        .arg("-un")
        .output()
        .unwrap();
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

impl World {
    /// The provider runs as the current user in a temporary work root: works
    /// with and without the simulator's per-devbox namespaces.
    pub fn start(options: Options) -> World {
        let mut world = World::bare(options);
        let work = world.sandbox.root().join("devbox-work");
        world
            .sandbox
            .set_env("CRABBOX_SEALOS_DEVBOX_SSH_USER", user());
        world.sandbox.set_env(
            "CRABBOX_SEALOS_DEVBOX_WORK_ROOT",
            work.display().to_string(),
        );
        world
    }

    /// The quick start's settings only: SSH user and work root are the defaults.
    pub fn bare(options: Options) -> World {
        let sim = KubeSim::start(options).expect("simulator");
        let mut sandbox = Sandbox::new(env!("CARGO_BIN_EXE_crabbox"));
        let kubeconfig = sandbox.root().join("kubeconfig");
        sim.write_kubeconfig(&kubeconfig, "default").unwrap();
        for (name, value) in [
            ("CRABBOX_PROVIDER", "sealos-devbox".to_string()),
            (
                "CRABBOX_SEALOS_DEVBOX_KUBECONFIG",
                kubeconfig.display().to_string(),
            ),
            (
                "CRABBOX_SEALOS_DEVBOX_CONTEXT",
                crabbox_kube_sim::CONTEXT.to_string(),
            ),
            ("CRABBOX_SEALOS_DEVBOX_NETWORK", "NodePort".to_string()),
            ("CRABBOX_SEALOS_DEVBOX_NODE_HOST", "127.0.0.1".to_string()),
            (
                "CRABBOX_SEALOS_DEVBOX_IMAGE",
                "ghcr.io/labring/devbox-ubuntu:24.04".to_string(),
            ),
        ] {
            sandbox.set_env(name, value);
        }
        World { sim, sandbox }
    }

    /// A world whose simulator publishes the SSHGate shape behind its gateway
    /// stand-in, with the provider routed through that gateway.
    pub fn sshgate() -> World {
        let mut world = World::start(Options {
            network: crabbox_kube_sim::NetworkShape::SshGate,
            ..Options::default()
        });
        let port = world.sim.gateway_port().expect("gateway port");
        world
            .sandbox
            .set_env("CRABBOX_SEALOS_DEVBOX_NETWORK", "SSHGate");
        world
            .sandbox
            .set_env("CRABBOX_SEALOS_DEVBOX_SSH_GATEWAY_HOST", "127.0.0.1");
        world
            .sandbox
            .set_env("CRABBOX_SEALOS_DEVBOX_SSH_GATEWAY_PORT", port.to_string());
        world
    }

    /// The devbox called `name` in `default`.
    pub fn devbox(&self, name: &str) -> serde_json::Value {
        self.sim
            .object("devboxes", "default", name)
            .unwrap_or_else(|| panic!("devbox {name} exists"))
    }

    /// Waits (generously) until the controller reports `phase` for `name`.
    pub fn wait_phase(&self, name: &str, phase: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while self.devbox(name)["status"]["phase"] != phase {
            assert!(
                std::time::Instant::now() < deadline,
                "devbox {name} never reached {phase}: {}",
                self.devbox(name)["status"]
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// The devbox name of a `warmup`'s `server=default/<name>` field.
    pub fn name_of(output: &crabbox_testkit::Output) -> String {
        output
            .field("server")
            .and_then(|server| server.strip_prefix("default/").map(str::to_string))
            .expect("server=default/<name>")
    }

    pub fn devboxes(&self) -> Vec<serde_json::Value> {
        self.sim.objects("devboxes", "default")
    }

    pub fn private_key_of(&self, name: &str) -> String {
        use std::io::Read;
        let secret = self.sim.object("secrets", "default", name).expect("secret");
        let encoded = secret["data"]["SEALOS_DEVBOX_PRIVATE_KEY"]
            .as_str()
            .unwrap()
            .to_string();
        let mut decoded = String::new();
        let mut child = std::process::Command::new("base64")
            .arg("-d")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), encoded.as_bytes()).unwrap();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut decoded)
            .unwrap();
        child.wait().unwrap();
        decoded
    }
}

pub fn key_line(private_key: &str) -> String {
    private_key.lines().nth(1).unwrap_or("").to_string()
}
