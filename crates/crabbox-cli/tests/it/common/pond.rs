//! Pond test helpers: a guard that releases a pond, detached HTTP servers
//! started through `run --id`, curl, export lines and a foreground mesh.

use std::process::{Child, Command, Stdio};

use crabbox_testkit::{eventually, free_port, Sandbox};

/// Releases the pond even when an assertion fails half-way, so no namespace,
/// veth pair or sshd outlives the test. It also holds a lock that keeps pond
/// tests from running at once: `pond connect` probes the same loopback port
/// range in every test process, and two meshes could pick the same free port.
pub struct PondGuard<'a> {
    pub sandbox: &'a Sandbox,
    pub pond: &'static str,
    _ports: std::fs::File,
}

impl<'a> PondGuard<'a> {
    pub fn new(sandbox: &'a Sandbox, pond: &'static str) -> PondGuard<'a> {
        let ports = std::fs::File::create(std::env::temp_dir().join("crabbox-pond-tests.lock"))
            .expect("the pond test lock file");
        ports.lock().expect("the pond test lock");
        PondGuard {
            sandbox,
            pond,
            _ports: ports,
        }
    }
}

impl Drop for PondGuard<'_> {
    fn drop(&mut self) {
        let _ = self.sandbox.run(&["pond", "disconnect", self.pond]);
        let _ = self.sandbox.run(&["pond", "release", self.pond]);
    }
}

/// Starts a detached HTTP server serving `text` on `port` through `run --id`.
pub fn serve(sandbox: &Sandbox, lease: &str, port: u16, text: &str, extra: &[&str]) {
    let dir = sandbox.root().join(format!("www-{text}"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.html"), text).unwrap();
    let script = format!(
        "setsid nohup python3 -m http.server {port} --bind 127.0.0.1 --directory {} \
         >/dev/null 2>&1 </dev/null & \
         for i in $(seq 50); do python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", {port}), 1)' 2>/dev/null && exit 0; sleep 0.1; done; exit 1",
        dir.display()
    );
    let mut args = vec!["run", "--id", lease, "--no-sync"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--", "sh", "-c", &script]);
    sandbox.expect(0, &args);
}

pub fn curl(address: &str) -> Option<String> {
    let output = Command::new("curl")
        .args(["-s", "--max-time", "3", &format!("http://{address}/")])
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

/// `NAME=127.0.0.1:PORT` pairs from `export` lines.
pub fn exports(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .filter_map(|line| line.strip_prefix("export "))
        .filter_map(|pair| pair.split_once('='))
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

/// A foreground mesh over one plain local lease serving on a free port.
pub fn local_member(sandbox: &Sandbox, pond: &str) -> (String, u16) {
    let port = free_port();
    let (id, slug) = sandbox.warmup(&["--pond", pond, "--expose", &port.to_string()]);
    serve(sandbox, &slug, port, "member", &[]);
    (id, port)
}

pub fn start_mesh(sandbox: &Sandbox, pond: &str) -> (Child, String) {
    let mut child = sandbox
        .command(&["pond", "connect", pond])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
    let mut address = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some((_, value)) = line
            .strip_prefix("export ")
            .and_then(|pair| pair.split_once('='))
        {
            address = Some(value.to_string());
        }
        if line.starts_with("wrote ") && line.ends_with("/env") {
            break;
        }
    }
    let address = address.expect("an export line");
    assert!(
        eventually(10, || curl(&address).as_deref() == Some("member")),
        "the forward {address} never served"
    );
    (child, address)
}
