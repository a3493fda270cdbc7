//! One isolated environment per test: HOME, config and state directories, and a
//! git checkout, all under a temporary directory that is removed (with every
//! process started from it) when the sandbox drops.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Captured result of one `crabbox` invocation.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// The value of `key=` in the first line that has it (stdout, then stderr).
    pub fn field(&self, key: &str) -> Option<String> {
        let needle = format!("{key}=");
        self.stdout
            .lines()
            .chain(self.stderr.lines())
            .flat_map(|line| line.split_whitespace())
            .find_map(|word| word.strip_prefix(&needle).map(str::to_string))
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|error| panic!("stdout is not JSON ({error}): {}", self.stdout))
    }
}

pub struct Sandbox {
    root: tempfile::TempDir,
    binary: PathBuf,
    extra_env: Vec<(String, String)>,
}

impl Sandbox {
    /// A sandbox with a committed git checkout at `repo()`.
    pub fn new(binary: impl Into<PathBuf>) -> Sandbox {
        let root = tempfile::Builder::new()
            .prefix("cbx-test-")
            .tempdir()
            .expect("temp dir");
        let sandbox = Sandbox {
            root,
            binary: binary.into(),
            extra_env: Vec::new(),
        };
        std::fs::create_dir_all(sandbox.home()).unwrap();
        sandbox.init_repo(&sandbox.repo());
        sandbox
    }

    pub fn root(&self) -> &Path {
        self.root.path()
    }

    pub fn home(&self) -> PathBuf {
        self.root().join("home")
    }

    pub fn repo(&self) -> PathBuf {
        self.root().join("repo")
    }

    pub fn state_dir(&self) -> PathBuf {
        self.home().join(".config/crabbox/state")
    }

    pub fn lease_dir(&self, lease_id: &str) -> PathBuf {
        self.state_dir().join("local").join(lease_id)
    }

    pub fn claim_file(&self, lease_id: &str) -> PathBuf {
        self.state_dir()
            .join("claims")
            .join(format!("{lease_id}.json"))
    }

    /// Lease IDs that have a claim file, sorted.
    pub fn claimed_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = std::fs::read_dir(self.state_dir().join("claims"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                name.strip_suffix(".json").map(str::to_string)
            })
            .collect();
        ids.sort();
        ids
    }

    /// Sets an environment variable for every later invocation.
    pub fn set_env(&mut self, name: &str, value: impl Into<String>) {
        self.extra_env.push((name.to_string(), value.into()));
    }

    /// Creates and commits a small checkout at `dir`.
    pub fn init_repo(&self, dir: &Path) {
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::write(dir.join("README.txt"), "hello from the checkout\n").unwrap();
        std::fs::write(dir.join("src/lib.txt"), "library\n").unwrap();
        for args in [
            vec!["init", "-q"],
            vec!["add", "."],
            vec![
                "-c",
                "user.email=test@example.com",
                "-c",
                "user.name=test",
                "commit",
                "-qm",
                "init",
            ],
        ] {
            let status = Command::new("git")
                .args(&args)
                .current_dir(dir)
                .stdout(Stdio::null())
                .status()
                .expect("git");
            assert!(status.success(), "git {args:?} failed");
        }
    }

    /// A `crabbox` command with the sandbox environment, run from the checkout.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.binary);
        command
            .args(args)
            .current_dir(self.repo())
            .stdin(Stdio::null());
        for (name, _) in std::env::vars() {
            if name.starts_with("CRABBOX_") || name.starts_with("XDG_") {
                command.env_remove(name);
            }
        }
        command.env("HOME", self.home());
        // Lease sessions get the sandbox HOME, not the machine account's: sshd's
        // shells read that account's profile (root's runs pyenv, which stalls a
        // minute after an interrupted rehash), and tests must not depend on it.
        command.env("CRABBOX_LOCAL_HOME", self.home());
        for (name, value) in &self.extra_env {
            command.env(name, value);
        }
        command
    }

    /// Runs `crabbox` and captures its output.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_in(&self.repo(), args)
    }

    /// Runs `crabbox` from `dir`.
    pub fn run_in(&self, dir: &Path, args: &[&str]) -> Output {
        let output = self
            .command(args)
            .current_dir(dir)
            .output()
            .expect("run crabbox");
        Output {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Runs `crabbox` with `input` on its standard input.
    pub fn run_with_input(&self, args: &[&str], input: &str) -> Output {
        use std::io::Write;
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run crabbox");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let output = child.wait_with_output().expect("wait for crabbox");
        Output {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Runs `crabbox` and panics with its output unless it exits `expected`.
    pub fn expect(&self, expected: i32, args: &[&str]) -> Output {
        let output = self.run(args);
        assert_eq!(
            output.code, expected,
            "crabbox {args:?} exited {} (expected {expected})\nstdout:\n{}\nstderr:\n{}",
            output.code, output.stdout, output.stderr
        );
        output
    }

    /// `warmup`, returning (lease id, slug).
    pub fn warmup(&self, extra: &[&str]) -> (String, String) {
        let mut args = vec!["warmup"];
        args.extend_from_slice(extra);
        let output = self.expect(0, &args);
        let line = output
            .stdout
            .lines()
            .find(|line| line.starts_with("leased "))
            .unwrap_or_else(|| panic!("no leased line in {}", output.stdout));
        let id = line.split_whitespace().nth(1).unwrap().to_string();
        (id, output.field("slug").expect("slug"))
    }

    /// Number of SSH handshakes the local lease's sshd accepted.
    pub fn handshakes(&self, lease_id: &str) -> usize {
        std::fs::read_to_string(self.lease_dir(lease_id).join("sshd.log"))
            .unwrap_or_default()
            .matches("Accepted publickey")
            .count()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // Whatever a failing test left running (sshd, ssh masters, remote commands)
        // mentions the sandbox path; end it so no test leaks processes.
        let root = self.root().display().to_string();
        let _ = Command::new("pkill")
            .args(["-KILL", "-f", &root])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
