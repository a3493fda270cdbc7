//! A real coordinator for the CLI tests: `crabbox coordinator serve` as a child
//! process of the sandbox, with a random shared token, killed on drop.

pub mod pond;
pub mod proxy;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crabbox_testkit::{eventually, Sandbox};

pub const OWNER: &str = "tester";

/// Signs user tokens in tests that mint them with `coordinator token`.
pub const SESSION_SECRET: &str = "session-secret-for-cli-tests";

pub fn sandbox() -> Sandbox {
    Sandbox::new(env!("CARGO_BIN_EXE_crabbox"))
}

pub struct Coordinator {
    child: Child,
    pub url: String,
    pub token: String,
    /// What it printed to stderr before `listening on`.
    pub startup: Vec<String>,
}

impl Coordinator {
    /// Starts on a free loopback port and waits for its `listening on` line.
    pub fn start(sandbox: &Sandbox) -> Coordinator {
        Coordinator::start_with(sandbox, |command| command)
    }

    /// Like `start`, with extra (or overriding) environment variables.
    pub fn start_with_env(sandbox: &Sandbox, env: &[(&str, &str)]) -> Coordinator {
        Coordinator::start_with(sandbox, |mut command| {
            for (name, value) in env {
                command.env(name, value);
            }
            command
        })
    }

    /// Like `start`, with the command adjusted first (more environment, a
    /// wrapper such as `prlimit`).
    pub fn start_with(
        sandbox: &Sandbox,
        adjust: impl FnOnce(std::process::Command) -> std::process::Command,
    ) -> Coordinator {
        let token = crabbox_core::RunId::generate().as_str()[4..].repeat(2);
        let mut command = sandbox.command(&["coordinator", "serve", "--listen", "127.0.0.1:0"]);
        command
            .env("CRABBOX_SHARED_TOKEN", &token)
            .env("CRABBOX_SHARED_OWNER", OWNER)
            .env("CRABBOX_SESSION_SECRET", SESSION_SECRET)
            // The tests broker the real `local` provider.
            .env("CRABBOX_COORDINATOR_LOCAL_DEV", "1");
        let mut child = adjust(command)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the coordinator");
        let stderr = child.stderr.take().expect("piped stderr");
        let (lines, received) = mpsc::channel();
        // Keeps draining stderr so the coordinator never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        let mut seen = Vec::new();
        let url = loop {
            match received.recv_timeout(Duration::from_secs(60)) {
                Ok(line) => {
                    if let Some(rest) = line.split("listening on ").nth(1) {
                        break rest.split_whitespace().next().unwrap().to_string();
                    }
                    seen.push(line);
                }
                Err(_) => {
                    let _ = child.kill();
                    panic!(
                        "the coordinator did not start; stderr:\n{}",
                        seen.join("\n")
                    );
                }
            }
        };
        Coordinator {
            child,
            url,
            token,
            startup: seen,
        }
    }

    /// Whether the process ended (it crashed or was stopped) within `seconds`.
    pub fn exited_within(&mut self, seconds: u64) -> bool {
        eventually(seconds, || matches!(self.child.try_wait(), Ok(Some(_))))
    }

    /// Points every later command of `sandbox` at this coordinator.
    pub fn configure(&self, sandbox: &mut Sandbox) {
        sandbox.set_env("CRABBOX_COORDINATOR", &self.url);
        sandbox.set_env("CRABBOX_COORDINATOR_TOKEN", &self.token);
    }

    /// A client with the shared token, and a runtime to drive it.
    pub fn client(&self) -> (crabbox_client::Client, tokio::runtime::Runtime) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let client = crabbox_client::Client::new(&self.url, Some(self.token.clone())).unwrap();
        (client, runtime)
    }

    /// `GET /v1/leases/{id}` as the coordinator answers it.
    pub fn lease(&self, id: &str) -> crabbox_proto::wire::LeaseRecord {
        let (client, runtime) = self.client();
        runtime.block_on(client.get_lease(id)).expect("get lease")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then waits until the process is gone.
    pub fn stop(mut self) {
        let pid = self.child.id();
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
        let exited = eventually(20, || matches!(self.child.try_wait(), Ok(Some(_))));
        if !exited {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        assert!(exited, "the coordinator ignored SIGTERM");
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "coordinator process {pid} is still there"
        );
    }
}

impl Drop for Coordinator {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The run ID from a `recording run run_…` line.
pub fn recorded_run(stderr: &str) -> String {
    stderr
        .lines()
        .find_map(|line| line.strip_prefix("recording run "))
        .unwrap_or_else(|| panic!("no `recording run` line in:\n{stderr}"))
        .trim()
        .to_string()
}

/// The `type` of every event `crabbox events <run> --json` lists.
pub fn event_types(sandbox: &Sandbox, run: &str) -> Vec<String> {
    sandbox
        .expect(0, &["events", run, "--json"])
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["type"].as_str().unwrap().to_string())
        .collect()
}

/// A fresh ed25519 key pair in the sandbox (`client_key`); its public line.
pub fn client_public_key(sandbox: &Sandbox) -> String {
    let key = sandbox.root().join("client_key");
    let status = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read_to_string(key.with_extension("pub"))
        .unwrap()
        .trim()
        .to_string()
}
