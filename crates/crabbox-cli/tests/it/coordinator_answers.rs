//! A coordinator's answer is data: a lease record whose ID, slug, host or
//! directory could escape a path or become an ssh option is refused before the
//! CLI builds anything from it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;

use crate::common;

/// Answers every request with `body` (HTTP/1.1, 200) until the test ends.
fn fake_coordinator(body: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let body = body.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = value.trim().parse().unwrap_or(0);
                    }
                    if line == "\r\n" {
                        let mut discard = vec![0; length];
                        let _ = reader.read_exact(&mut discard);
                        let mut stream = &stream;
                        let _ = write!(
                            stream,
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        length = 0;
                    }
                }
            });
        }
    });
    url
}

fn names_under(root: &Path, found: &mut Vec<String>) {
    for entry in std::fs::read_dir(root).into_iter().flatten().flatten() {
        found.push(entry.file_name().to_string_lossy().into_owned());
        if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
            names_under(&entry.path(), found);
        }
    }
}

#[test]
fn a_traversal_lease_id_is_refused_and_never_becomes_a_directory() {
    let record = serde_json::json!({
        "lease": {
            "id": "../../escaped",
            "slug": "swift-crab",
            "provider": "local",
            "state": "active",
            "host": "127.0.0.1",
            "sshUser": "crab",
            "sshPort": "2222",
            "workRoot": "/work/crabbox",
        }
    });
    let url = fake_coordinator(record.to_string());
    let mut sandbox = common::sandbox();
    sandbox.set_env("CRABBOX_COORDINATOR", &url);
    sandbox.set_env("CRABBOX_COORDINATOR_TOKEN", "token-for-the-fake");
    for args in [
        vec!["run", "--id", "swift-crab", "--no-sync", "--", "true"],
        vec!["status", "--id", "swift-crab"],
        vec!["ssh", "--id", "swift-crab"],
        vec!["warmup"],
    ] {
        let output = sandbox.run(&args);
        assert_ne!(output.code, 0, "{args:?}: {output:?}");
        assert!(
            output
                .stderr
                .contains("refusing the coordinator's lease record"),
            "{args:?}: {}",
            output.stderr
        );
    }
    let mut names = Vec::new();
    names_under(sandbox.root(), &mut names);
    assert!(
        !names.iter().any(|name| name == "escaped"),
        "a coordinator-chosen name became a path: {names:?}"
    );
    assert!(sandbox.claimed_ids().is_empty());
}
