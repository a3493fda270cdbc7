//! The sealos-devbox CLI tests' world: a Kubernetes API simulator and a sandbox
//! whose environment selects the provider in NodePort mode on 127.0.0.1.
#![allow(dead_code)]

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
    pub fn start(options: Options) -> World {
        let sim = KubeSim::start(options).expect("simulator");
        let mut sandbox = Sandbox::new(env!("CARGO_BIN_EXE_crabbox"));
        let kubeconfig = sandbox.root().join("kubeconfig");
        sim.write_kubeconfig(&kubeconfig, "default").unwrap();
        let work = sandbox.root().join("devbox-work");
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
            ("CRABBOX_SEALOS_DEVBOX_SSH_USER", user()),
            (
                "CRABBOX_SEALOS_DEVBOX_WORK_ROOT",
                work.display().to_string(),
            ),
        ] {
            sandbox.set_env(name, value);
        }
        World { sim, sandbox }
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
