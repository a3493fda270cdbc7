//! Lease heartbeats of a brokered `run` through a proxy that passes HTTP: over the
//! control socket when it works, over HTTP in the same tick when it is refused.
//! Each run outlives its lease's idle timeout, so only working beats keep it.

use std::time::Duration;

use crate::common::proxy::{ControlPolicy, Proxy};
use crate::common::{sandbox, Coordinator};

/// The ID from the `leased cbx_… slug=…` line.
fn leased_id(stderr: &str) -> String {
    stderr
        .lines()
        .find_map(|line| line.strip_prefix("leased "))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no leased line in:\n{stderr}"))
        .to_string()
}

#[test]
fn heartbeats_fall_back_to_http_in_the_same_tick_without_a_socket() {
    let mut sandbox = sandbox();
    let coordinator = Coordinator::start(&sandbox);
    coordinator.configure(&mut sandbox);
    let proxy = Proxy::start(&coordinator.url, ControlPolicy::Refuse);
    sandbox.set_env("CRABBOX_COORDINATOR", &proxy.url);
    // Idle 15 s → a beat every 5 s; the command outlives the idle timeout.
    let run = sandbox.expect(
        0,
        &[
            "run",
            "--keep",
            "--idle-timeout",
            "15s",
            "--",
            "sleep",
            "20",
        ],
    );
    let lease_id = leased_id(&run.stderr);
    assert_eq!(coordinator.lease(&lease_id).state.as_str(), "active");

    let refused = proxy.requests_to("GET /v1/control");
    let beats = proxy.requests_to(&format!("POST /v1/leases/{lease_id}/heartbeat"));
    assert!(refused.len() >= 3, "{:?}", proxy.requests());
    for attempt in &refused {
        assert!(
            beats
                .iter()
                .any(|beat| *beat >= *attempt && *beat - *attempt < Duration::from_secs(2)),
            "no HTTP heartbeat right after the refused socket at {attempt:?}: {:?}",
            proxy.requests()
        );
    }
    sandbox.expect(0, &["stop", &lease_id]);
    coordinator.stop();
}

#[test]
fn heartbeats_ride_the_socket_when_it_works() {
    let mut sandbox = sandbox();
    let coordinator = Coordinator::start(&sandbox);
    coordinator.configure(&mut sandbox);
    let proxy = Proxy::start(&coordinator.url, ControlPolicy::Forward);
    sandbox.set_env("CRABBOX_COORDINATOR", &proxy.url);
    let run = sandbox.expect(
        0,
        &[
            "run",
            "--keep",
            "--idle-timeout",
            "15s",
            "--",
            "sleep",
            "20",
        ],
    );
    let lease_id = leased_id(&run.stderr);
    // The lease outlived its idle timeout on socket beats alone: the only HTTP
    // heartbeats are the touches when the command starts and ends.
    assert_eq!(coordinator.lease(&lease_id).state.as_str(), "active");
    assert_eq!(proxy.control_connections(), 1, "{:?}", proxy.requests());
    let beats = proxy.requests_to(&format!("POST /v1/leases/{lease_id}/heartbeat"));
    assert!(beats.len() <= 2, "{:?}", proxy.requests());
    sandbox.expect(0, &["stop", &lease_id]);
    coordinator.stop();
}
