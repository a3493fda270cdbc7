//! The control WebSocket on every configured database: backlog plus concurrent
//! appends arrive exactly once and in order (also across two replicas on
//! PostgreSQL, with many subscribers and after the relay loses its connection),
//! heartbeats follow the HTTP rules without side effects on refusal, visibility,
//! authentication, bad frames, expired tokens, unanswered pings and shutdown.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use crabbox_coordinator::{Clock, Coordinator, ManualClock, Settings, SystemClock};
use crabbox_core::Secret;
use crabbox_store::{StoredLease, Timestamp};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::common::*;

const BACKLOG: usize = 1000;
const LIVE: usize = 300;
/// `run.started`, the backlog and the live appends.
const LAST_SEQ: i64 = 1 + BACKLOG as i64 + LIVE as i64;

/// How a subscriber starts: reading `hello` first, or subscribing before it.
#[derive(Clone, Copy, Debug)]
enum Start {
    HelloFirst,
    SubscribeFirst,
}

/// Subscribes with limit 100 from 0 and follows to the last seq, acking as it goes.
async fn subscribe_and_follow(mut socket: Control, run: String, start: Start) -> Vec<i64> {
    match start {
        Start::HelloFirst => {
            socket.hello().await;
            socket.subscribe(&run, 0, 100).await;
        }
        Start::SubscribeFirst => {
            socket.subscribe(&run, 0, 100).await;
            socket.hello().await;
        }
    }
    let seqs = socket.follow(&run, LAST_SEQ).await;
    // Nothing is sent twice: no frame follows the last event.
    let extra = socket.frame_within(Duration::from_millis(500)).await;
    assert!(
        extra.is_none(),
        "unexpected frame after the last event: {extra:?}"
    );
    seqs
}

fn assert_every_seq_once(seqs: &[i64], context: &str) {
    let expected: Vec<i64> = (1..=LAST_SEQ).collect();
    if seqs != expected {
        let first_wrong = seqs
            .iter()
            .zip(&expected)
            .position(|(got, want)| got != want)
            .unwrap_or(seqs.len().min(expected.len()));
        panic!(
            "{context}: {} seqs received, expected {}; first difference at index {first_wrong}: {:?}",
            seqs.len(),
            expected.len(),
            &seqs[first_wrong.saturating_sub(2)..(first_wrong + 3).min(seqs.len())]
        );
    }
}

/// A run with a backlog, then `subscribers` sockets on `reader` while a writer
/// appends through `writer`: every subscriber gets every seq once, in order.
async fn backlog_and_live_appends(reader: &Running, writer: &Running, subscribers: usize) {
    let token = user_token("alice", "acme");
    let run = create_run(&writer.api(&token)).await;
    append_backlog(&writer.coordinator, &run, BACKLOG).await;
    let mut sockets = Vec::new();
    for _ in 0..subscribers {
        sockets.push(reader.control(&token).await);
    }
    // Several writers, so appends commit and publish out of order.
    let appending = spawn_writers(writer.api(&token), run.clone(), LIVE, 4);
    let followers: Vec<_> = sockets
        .into_iter()
        .enumerate()
        .map(|(index, socket)| {
            let start = if index % 2 == 0 {
                Start::HelloFirst
            } else {
                Start::SubscribeFirst
            };
            tokio::spawn(subscribe_and_follow(socket, run.clone(), start))
        })
        .collect();
    appending.await.expect("the writer finishes");
    for (index, follower) in followers.into_iter().enumerate() {
        let seqs = follower.await.expect("the subscriber finishes");
        assert_every_seq_once(&seqs, &format!("subscriber {index}"));
    }
}

async fn exactly_once_on_one_replica(backend: &str) {
    let dir = temp_dir();
    let url = database_url(backend, dir.path()).await;
    let server = Running::start_default(&url, dir.path()).await;
    // One subscriber that reads hello first, one that subscribes before it.
    backlog_and_live_appends(&server, &server, 2).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backlog_and_concurrent_appends_arrive_exactly_once_in_order() {
    for backend in backends() {
        exactly_once_on_one_replica(backend).await;
    }
}

/// Appends one event over HTTP (published to sockets) and returns its seq.
async fn append_over_http(api: &Api, run: &str) -> i64 {
    let (status, body) = api
        .post(&format!("/v1/runs/{run}/events"), json!({"type": "stdout"}))
        .await;
    assert_eq!(status, 201, "{body}");
    body["event"]["seq"].as_i64().unwrap()
}

/// SQLite only: there, appends made straight through the store are never
/// announced, which is how a lost notice looks to a socket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gaps_are_refilled_and_acks_never_cause_resends() {
    let dir = temp_dir();
    let url = database_url("sqlite", dir.path()).await;
    let server = Running::start_default(&url, dir.path()).await;
    let token = user_token("alice", "acme");
    let api = server.api(&token);
    let run = create_run(&api).await;
    let mut socket = server.control(&token).await;
    socket.hello().await;
    socket.subscribe(&run, 0, 100).await;
    assert_eq!(socket.follow(&run, 1).await, vec![1]);

    append_backlog(&server.coordinator, &run, 5).await;
    assert_eq!(append_over_http(&api, &run).await, 7);
    assert_eq!(
        socket.follow(&run, 7).await,
        (2..=7).collect::<Vec<_>>(),
        "the unannounced 2..=6 are read from the store before 7"
    );

    // An ack behind what was sent resends nothing.
    socket
        .send(json!({"type": "ack", "runID": run, "seq": 2}))
        .await;
    socket.round_trip().await;
    assert_eq!(append_over_http(&api, &run).await, 8);
    assert_eq!(socket.follow(&run, 8).await, vec![8]);

    // An ack ahead of what was sent skips up to it.
    socket
        .send(json!({"type": "ack", "runID": run, "seq": 10}))
        .await;
    socket.round_trip().await;
    for expected in 9..=11 {
        assert_eq!(append_over_http(&api, &run).await, expected);
    }
    assert_eq!(socket.follow(&run, 11).await, vec![11]);

    // A new subscription starts over from `after` with one page; after a full
    // page nothing follows until the client asks again, even when more exists.
    socket.subscribe(&run, 5, 2).await;
    let page = socket.frame().await;
    assert_eq!(
        (
            page["events"].as_array().unwrap().len(),
            page["nextSeq"].as_i64()
        ),
        (2, Some(7))
    );
    assert!(socket
        .frame_within(Duration::from_millis(300))
        .await
        .is_none());
    socket.subscribe(&run, 7, 2).await;
    assert_eq!(
        socket.follow(&run, 11).await,
        (8..=11).collect::<Vec<_>>(),
        "each re-subscribe gets the next page, and the one after 11 is empty"
    );
    assert!(socket
        .frame_within(Duration::from_millis(300))
        .await
        .is_none());

    // Finishing appends `command.finished`, pushed like any other event.
    let (status, body) = api
        .post(&format!("/v1/runs/{run}/finish"), json!({"exitCode": 0}))
        .await;
    assert_eq!(status, 200, "{body}");
    let pushed = socket.frame().await;
    assert_eq!(
        (
            pushed["nextSeq"].as_i64(),
            pushed["events"][0]["type"].as_str()
        ),
        (Some(12), Some("command.finished")),
        "{pushed}"
    );
    server.stop().await;
}

/// Two coordinators on one fresh PostgreSQL database (with its URL), or `None`
/// after a loud skip line when no PostgreSQL is configured.
async fn two_postgres_replicas(
    test: &str,
    dir: &std::path::Path,
) -> Option<(TestDatabase, Running, Running)> {
    if !backends().contains(&"postgres") {
        // Past the harness's output capture, so the skip is seen.
        let _ = writeln!(
            std::io::stderr(),
            "\n*** SKIPPING {test}: CRABBOX_TEST_POSTGRES_URL is not set ***\n"
        );
        return None;
    }
    let url = database_url("postgres", dir).await;
    let first = Running::start_default(&url, dir).await;
    let second = Running::start_default(&url, dir).await;
    Some((url, first, second))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_on_one_replica_receive_appends_made_through_another() {
    let dir = temp_dir();
    let Some((_database, first, second)) =
        two_postgres_replicas("the cross-replica control socket test", dir.path()).await
    else {
        return;
    };
    backlog_and_live_appends(&first, &second, 1).await;
    backlog_and_live_appends(&first, &second, 10).await;
    first.stop().await;
    second.stop().await;
}

/// Backends of this test's database currently listening for appends.
async fn listening_backends(url: &str, terminate: bool) -> i64 {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut connection = sqlx::AnyConnection::connect(url).await.expect("connect");
    let selection = "FROM pg_stat_activity WHERE datname = current_database()
        AND pid <> pg_backend_pid() AND query LIKE 'LISTEN%'";
    let sql = if terminate {
        format!("SELECT COUNT(pg_terminate_backend(pid)) {selection}")
    } else {
        format!("SELECT COUNT(*) {selection}")
    };
    let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_one(&mut connection)
        .await
        .expect("query pg_stat_activity");
    connection.close().await.ok();
    count
}

/// Whether `expected` replicas were listening within `patience` polls.
async fn wait_for_listeners(url: &str, expected: i64, patience: usize) -> bool {
    for _ in 0..patience {
        if listening_backends(url, false).await == expected {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_that_lost_its_connection_catches_subscribers_up() {
    let dir = temp_dir();
    let Some((url, first, second)) =
        two_postgres_replicas("the relay reconnect test", dir.path()).await
    else {
        return;
    };
    let token = user_token("alice", "acme");
    let run = create_run(&second.api(&token)).await;
    let mut socket = first.control(&token).await;
    socket.hello().await;
    socket.subscribe(&run, 0, 100).await;
    assert_eq!(socket.follow(&run, 1).await, vec![1]);
    assert!(
        wait_for_listeners(&url, 2, 1000).await,
        "both replicas listen"
    );

    assert_eq!(listening_backends(&url, true).await, 2, "terminated");
    // Appends made while no replica listens are never announced (a relay waits
    // before reconnecting); the last of them is found only by re-reading.
    wait_for_listeners(&url, 0, 50).await;
    spawn_writers(second.api(&token), run.clone(), 3, 1)
        .await
        .unwrap();
    assert_eq!(socket.follow(&run, 4).await, vec![2, 3, 4]);

    assert!(
        wait_for_listeners(&url, 2, 1000).await,
        "both replicas listen again"
    );
    spawn_writers(second.api(&token), run.clone(), 5, 1)
        .await
        .unwrap();
    assert_eq!(socket.follow(&run, 9).await, (5..=9).collect::<Vec<_>>());
    first.stop().await;
    second.stop().await;
}

/// A coordinator on a clock the test moves, whose maintenance loop stays asleep
/// meanwhile.
async fn start_on_manual_clock(url: &str, dir: &std::path::Path) -> (Running, ManualClock) {
    let clock = ManualClock::at(Timestamp::now());
    let quiet = Settings {
        instance_ttl_ms: 3_600_000,
        ..settings()
    };
    let server = Running::start(url, quiet, local_providers(dir), Arc::new(clock.clone())).await;
    (server, clock)
}

async fn register(api: &Api, id: &str, slug: &str, idle: i64) {
    let (status, body) = api
        .call(
            "PUT",
            &format!("/v1/leases/{id}/registration"),
            Some(json!({"provider": "ssh", "target": "linux", "slug": slug, "host": "10.0.0.1", "ttlSeconds": 7200, "idleTimeoutSeconds": idle})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

async fn lease_record(coordinator: &Coordinator, id: &str) -> StoredLease {
    coordinator
        .store()
        .get_lease(id)
        .await
        .unwrap()
        .expect("the lease exists")
}

/// A refused socket heartbeat answers `error` and leaves the lease untouched.
async fn refused(
    socket: &mut Control,
    coordinator: &Coordinator,
    lease: &str,
    frame: serde_json::Value,
    error: &str,
) {
    let before = lease_record(coordinator, lease).await;
    socket.send(frame).await;
    let reply = socket.frame().await;
    assert_eq!(reply["type"], "heartbeat", "{reply}");
    assert_eq!(reply["ok"], false, "{reply}");
    assert_eq!(reply["error"], error, "{reply}");
    assert!(reply.get("expiresAt").is_none(), "{reply}");
    assert_eq!(
        lease_record(coordinator, lease).await,
        before,
        "a refused heartbeat ({error}) changes nothing"
    );
}

async fn heartbeats(backend: &str) {
    let dir = temp_dir();
    let url = database_url(backend, dir.path()).await;
    let (server, clock) = start_on_manual_clock(&url, dir.path()).await;
    let coordinator = &server.coordinator;
    let alice_token = user_token("alice", "acme");
    let alice = server.api(&alice_token);
    let (idle, kept) = ("cbx_0000000000c1", "cbx_0000000000c2");
    register(&alice, idle, "beat-krill", 300).await;
    register(&alice, kept, "kept-krill", 3600).await;
    let mut socket = server.control(&alice_token).await;
    socket.hello().await;

    let registered = lease_record(coordinator, idle).await.lease.expires_at;
    clock.advance_seconds(10);
    socket
        .send(json!({"type": "heartbeat", "leaseID": "beat-krill", "expectedProvider": "ssh", "telemetry": {"load": 1}}))
        .await;
    let reply = socket.frame().await;
    assert_eq!(reply["type"], "heartbeat", "{reply}");
    assert_eq!(
        (reply["ok"].as_bool(), reply["leaseID"].as_str()),
        (Some(true), Some(idle))
    );
    let stored = lease_record(coordinator, idle).await.lease;
    assert_eq!(stored.expires_at, Timestamp(registered.millis() + 10_000));
    assert_eq!(reply["expiresAt"], json!(stored.expires_at), "{reply}");
    assert_eq!(stored.last_touched_at, clock.now());

    let beat = |lease: &str| json!({"type": "heartbeat", "leaseID": lease});
    for (frame, error) in [
        (
            json!({"type": "heartbeat", "leaseID": idle, "expectedProvider": "aws"}),
            "provider_identity_mismatch",
        ),
        (
            json!({"type": "heartbeat", "leaseID": idle, "expectedProvider": " "}),
            "invalid_expected_provider",
        ),
        (beat("cbx_0000000000ff"), "not_found"),
    ] {
        refused(&mut socket, coordinator, idle, frame, error).await;
    }
    let mut stranger = server.control(&user_token("bob", "acme")).await;
    stranger.hello().await;
    refused(&mut stranger, coordinator, idle, beat(idle), "not_found").await;

    let (status, body) = alice
        .post(&format!("/v1/leases/{kept}/release"), json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    refused(&mut socket, coordinator, kept, beat(kept), "lease_ended").await;

    clock.advance_seconds(301);
    refused(&mut socket, coordinator, idle, beat(idle), "lease_expired").await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_follow_the_http_rules_and_refusals_change_nothing() {
    for backend in backends() {
        heartbeats(backend).await;
    }
}

async fn visibility_and_authentication(backend: &str) {
    let dir = temp_dir();
    let url = database_url(backend, dir.path()).await;
    let server = Running::start_default(&url, dir.path()).await;
    let alice_token = user_token("alice", "acme");
    let run = create_run(&server.api(&alice_token)).await;

    let mut bob = server.control(&user_token("bob", "acme")).await;
    let hello = bob.hello().await;
    assert_eq!(hello["protocol"], 1);
    assert_eq!(
        hello["clientID"].as_str().map(str::len),
        Some(36),
        "{hello}"
    );
    for unreadable in [run.as_str(), "run_000000000000"] {
        bob.subscribe(unreadable, 0, 10).await;
        let reply = bob.frame().await;
        assert_eq!(
            (reply["type"].as_str(), reply["code"].as_str()),
            (Some("error"), Some("not_found")),
            "{reply}"
        );
    }
    bob.round_trip().await;
    append_over_http(&server.api(&alice_token), &run).await;
    bob.round_trip().await;

    let mut admin = server.control(ADMIN).await;
    admin.hello().await;
    admin.subscribe(&run, 0, 10).await;
    assert_eq!(
        admin.follow(&run, 2).await,
        vec![1, 2],
        "admins read every run"
    );

    let plain = server.api(&alice_token);
    let (status, body) = plain.get("/v1/control").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (426, Some("websocket_required")),
        "{body}"
    );
    assert!(body["message"]
        .as_str()
        .is_some_and(|message| !message.is_empty()));
    let (status, body) = server.api("").get("/v1/control").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("unauthorized"))
    );
    for token in ["", "wrong-token"] {
        match Control::connect(&server.url, token).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status().as_u16(), 401, "{token:?}")
            }
            Err(error) => panic!("expected a 401 refusal, got {error}"),
            Ok(_) => panic!("an unauthenticated socket was accepted"),
        }
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_owners_runs_and_missing_credentials_are_refused() {
    for backend in backends() {
        visibility_and_authentication(backend).await;
    }
}

/// Appends one event and expects `bystander` to receive exactly it.
async fn bystander_still_served(bystander: &mut Control, api: &Api, run: &str, seq: i64) {
    assert_eq!(append_over_http(api, run).await, seq);
    assert_eq!(bystander.follow(run, seq).await, vec![seq]);
    bystander.round_trip().await;
}

async fn expect_error(socket: &mut Control, message: Message, code: &str) {
    socket.send_message(message).await;
    let reply = socket.frame().await;
    assert_eq!(
        (reply["type"].as_str(), reply["code"].as_str()),
        (Some("error"), Some(code)),
        "{reply}"
    );
}

async fn bad_frames(backend: &str) {
    let dir = temp_dir();
    let url = database_url(backend, dir.path()).await;
    let server = Running::start_default(&url, dir.path()).await;
    let token = user_token("alice", "acme");
    let api = server.api(&token);
    let run = create_run(&api).await;
    let mut bystander = server.control(&token).await;
    bystander.hello().await;
    bystander.subscribe(&run, 0, 100).await;
    assert_eq!(bystander.follow(&run, 1).await, vec![1]);
    let mut victim = server.control(&token).await;
    victim.hello().await;

    expect_error(
        &mut victim,
        Message::binary(vec![1, 2, 3]),
        "invalid_message",
    )
    .await;
    bystander_still_served(&mut bystander, &api, &run, 2).await;
    expect_error(&mut victim, Message::text("{not json"), "invalid_json").await;
    expect_error(
        &mut victim,
        Message::text(r#"{"type":"dance"}"#),
        "unknown_type",
    )
    .await;
    expect_error(&mut victim, Message::text(r#"[1]"#), "invalid_message").await;
    expect_error(
        &mut victim,
        Message::text(r#"{"type":"subscribe_run","after":"soon"}"#),
        "invalid_message",
    )
    .await;
    // Malformed acks are ignored: the next frame is the pong.
    victim
        .send(json!({"type": "ack", "runID": run, "seq": "later"}))
        .await;
    victim
        .send(json!({"type": "ack", "runID": run, "seq": -4}))
        .await;
    victim.round_trip().await;
    bystander_still_served(&mut bystander, &api, &run, 3).await;

    victim
        .send_message(Message::text(format!(
            r#"{{"type":"ping","pad":"{}"}}"#,
            "x".repeat((1 << 20) + 1024)
        )))
        .await;
    let (code, reason) = victim.closed().await.expect("a close frame");
    assert_eq!(code, 1009, "{reason}");
    assert!(reason.contains("1 MiB"), "{reason}");
    bystander_still_served(&mut bystander, &api, &run, 4).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_get_errors_and_never_disturb_other_sockets() {
    for backend in backends() {
        bad_frames(backend).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_whose_user_token_expired_is_closed() {
    let dir = temp_dir();
    let url = database_url("sqlite", dir.path()).await;
    let (server, clock) = start_on_manual_clock(&url, dir.path()).await;
    let now = clock.now().millis() / 1000;
    let token = crabbox_coordinator::user_token::mint(
        &Secret::new(SESSION),
        "alice",
        "acme",
        "alice",
        now,
        120,
    );
    let mut socket = server.control(&token).await;
    socket.hello().await;
    socket.round_trip().await;
    clock.advance_seconds(121);
    socket.send(json!({"type": "ping"})).await;
    assert_eq!(
        socket.closed().await,
        Some((1008, "token expired".to_string()))
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_answering_pings_is_dropped() {
    let dir = temp_dir();
    let url = database_url("sqlite", dir.path()).await;
    let fast_pings = Settings {
        control_ping_interval_ms: 100,
        ..settings()
    };
    let server = Running::start(
        &url,
        fast_pings,
        local_providers(dir.path()),
        Arc::new(SystemClock),
    )
    .await;
    let token = user_token("alice", "acme");
    let mut silent = server.control(&token).await;
    let mut answering = server.control(&token).await;
    answering.hello().await;
    // Reading answers the server's pings; `silent` reads nothing meanwhile.
    assert!(answering
        .frame_within(Duration::from_millis(600))
        .await
        .is_none());
    assert_eq!(
        server.coordinator.control_sockets(),
        1,
        "silent was dropped"
    );
    answering.round_trip().await;
    silent.hello().await;
    assert_eq!(silent.closed().await, None, "dropped without a close frame");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_sockets_as_restarting() {
    let dir = temp_dir();
    let url = database_url("sqlite", dir.path()).await;
    let server = Running::start_default(&url, dir.path()).await;
    let coordinator = server.coordinator.clone();
    let mut socket = server.control(&user_token("alice", "acme")).await;
    socket.hello().await;
    let stopping = tokio::spawn(server.stop());
    assert_eq!(
        socket.closed().await,
        Some((1012, "coordinator restarting".to_string()))
    );
    tokio::time::timeout(Duration::from_secs(10), stopping)
        .await
        .expect("open sockets do not block shutdown")
        .unwrap();
    assert_eq!(coordinator.control_sockets(), 0);
}

/// As the Go CLI pages a backlog: one page per `subscribe_run`, nothing more
/// (not even live appends) until it asks again, and live pushes once a page
/// comes back short. Every seq arrives once.
async fn one_page_per_subscribe(backend: &str) {
    let dir = temp_dir();
    let url = database_url(backend, dir.path()).await;
    let server = Running::start_default(&url, dir.path()).await;
    let token = user_token("alice", "acme");
    let api = server.api(&token);
    let run = create_run(&api).await;
    append_backlog(&server.coordinator, &run, 249).await;
    let mut socket = server.control(&token).await;
    socket.hello().await;
    socket.subscribe(&run, 0, 100).await;
    let first = socket.frame().await;
    assert_eq!(first["events"].as_array().unwrap().len(), 100, "{first}");
    assert_eq!(first["nextSeq"], 100);
    socket
        .send(json!({"type": "ack", "runID": run, "seq": 100}))
        .await;
    assert_eq!(append_over_http(&api, &run).await, 251);
    assert!(
        socket
            .frame_within(Duration::from_millis(500))
            .await
            .is_none(),
        "nothing is sent after a full page until the client asks again"
    );
    socket.subscribe(&run, 100, 100).await;
    let mut seqs: Vec<i64> = (1..=100).collect();
    seqs.extend(socket.follow(&run, 251).await);
    assert_eq!(seqs, (1..=251).collect::<Vec<_>>());
    assert_eq!(append_over_http(&api, &run).await, 252);
    assert_eq!(
        socket.follow(&run, 252).await,
        vec![252],
        "caught up: pushed live"
    );
    assert!(socket
        .frame_within(Duration::from_millis(300))
        .await
        .is_none());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_is_sent_one_page_per_subscribe() {
    for backend in backends() {
        one_page_per_subscribe(backend).await;
    }
}

/// The Node coordinator's codes for a frame without a `type` and a
/// subscription without a `runID`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_type_and_run_get_the_node_codes() {
    let dir = temp_dir();
    let url = database_url("sqlite", dir.path()).await;
    let server = Running::start_default(&url, dir.path()).await;
    let mut socket = server.control(&user_token("alice", "acme")).await;
    socket.hello().await;
    for (frame, code) in [
        (r#"{"runID":"run_000000000001"}"#, "unknown_type"),
        (r#"{"type":null}"#, "unknown_type"),
        (r#"{"type":"subscribe_run"}"#, "not_found"),
        (
            r#"{"type":"subscribe_run","runID":null,"after":3}"#,
            "not_found",
        ),
    ] {
        expect_error(&mut socket, Message::text(frame), code).await;
    }
    socket.round_trip().await;
    server.stop().await;
}
