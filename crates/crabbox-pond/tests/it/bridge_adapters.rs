//! The URL bridge adapters against fake Islo, E2B and Railway APIs that
//! require each vendor's auth header.

use std::time::Duration;

use crabbox_core::Secret;
use crabbox_pond::bridge::{BridgeAdapter, BridgeError, E2bAdapter, IsloAdapter, RailwayAdapter};
use crabbox_proto::time::{format_rfc3339, now_unix};
use crabbox_proto::ErrorClass;
use crabbox_testkit::fakes::{e2b::FakeE2b, islo::FakeIslo, railway::FakeRailway};

const ISLO_KEY: &str = "islo-key-secret-1";
const SANDBOX: &str = "crabbox-web-a1b2c3";
const LEASE: &str = "isb_crabbox-web-a1b2c3";
const HOUR: Duration = Duration::from_secs(3600);

async fn islo() -> (FakeIslo, IsloAdapter) {
    let fake = FakeIslo::start(ISLO_KEY, &[SANDBOX]).await;
    let adapter = IsloAdapter::new(&fake.url, Secret::new(ISLO_KEY)).unwrap();
    (fake, adapter)
}

fn in_seconds(offset: i64) -> String {
    format_rfc3339(now_unix() + offset)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn islo_reuses_live_shares_for_the_same_port() {
    let (fake, adapter) = islo().await;
    fake.add_share(SANDBOX, 9090, "https://other-port.islo.test", None);
    fake.add_share(SANDBOX, 8080, "https://forever.islo.test", None);
    fake.add_share(
        SANDBOX,
        8081,
        "https://later.islo.test",
        Some(&in_seconds(3600)),
    );

    let forever = adapter.publish(LEASE, 8080, HOUR).await.unwrap();
    assert_eq!(forever.url, "https://forever.islo.test");
    assert_eq!(forever.share_id, "shr_seed1");
    let later = adapter
        .publish("crabbox-web-a1b2c3", 8081, HOUR)
        .await
        .unwrap();
    assert_eq!(later.url, "https://later.islo.test");
    assert!(!later.expires_at.is_empty());
    assert!(
        fake.state.lock().create_requests.is_empty(),
        "reuse must not create"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn islo_replaces_expired_imminent_and_unreadable_shares() {
    let (fake, adapter) = islo().await;
    fake.add_share(
        SANDBOX,
        8080,
        "https://expired.islo.test",
        Some(&in_seconds(-60)),
    );
    fake.add_share(
        SANDBOX,
        8080,
        "https://imminent.islo.test",
        Some(&in_seconds(10)),
    );
    fake.add_share(
        SANDBOX,
        8080,
        "https://unreadable.islo.test",
        Some("next tuesday"),
    );
    fake.add_share(SANDBOX, 8080, "", None);

    let fresh = adapter.publish(LEASE, 8080, HOUR).await.unwrap();
    assert_eq!(fresh.url, "https://shr_4.share.islo.test");
    assert_eq!(fresh.port, 8080);
    let requests = fake.state.lock().create_requests.clone();
    assert_eq!(
        requests,
        vec![serde_json::json!({"port": 8080, "ttl_seconds": 3600})]
    );

    // The share just created is reused on the next publish.
    let again = adapter.publish(LEASE, 8080, HOUR).await.unwrap();
    assert_eq!(again, fresh);
    assert_eq!(fake.state.lock().create_requests.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn islo_clamps_ttls_into_what_islo_accepts() {
    let (fake, adapter) = islo().await;
    adapter
        .publish(LEASE, 1, Duration::from_secs(5))
        .await
        .unwrap();
    adapter
        .publish(LEASE, 2, Duration::from_secs(30 * 24 * 3600))
        .await
        .unwrap();
    adapter.publish(LEASE, 3, Duration::ZERO).await.unwrap();
    let requests = fake.state.lock().create_requests.clone();
    assert_eq!(
        requests,
        vec![
            serde_json::json!({"port": 1, "ttl_seconds": 60}),
            serde_json::json!({"port": 2, "ttl_seconds": 604800}),
            serde_json::json!({"port": 3}),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn islo_never_creates_after_a_failed_listing() {
    let (fake, adapter) = islo().await;
    fake.state.lock().fail_list = true;
    let error = adapter.publish(LEASE, 8080, HOUR).await.unwrap_err();
    assert!(
        matches!(error, BridgeError::Api { status: 500, .. }),
        "{error:?}"
    );
    assert!(adapter.list(LEASE).await.is_err());
    assert!(fake.state.lock().create_requests.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn islo_lists_without_side_effects() {
    let (fake, adapter) = islo().await;
    fake.add_share(SANDBOX, 8080, "https://a.islo.test", Some(&in_seconds(60)));
    fake.add_share(SANDBOX, 9090, "", None);
    fake.add_share(
        "crabbox-other-000000",
        8080,
        "https://not-mine.islo.test",
        None,
    );
    let targets = adapter.list(LEASE).await.unwrap();
    assert_eq!(targets.len(), 1);
    assert_eq!(
        (targets[0].port, targets[0].url.as_str()),
        (8080, "https://a.islo.test")
    );
    // An unknown sandbox lists as empty (404), not as an error.
    assert_eq!(
        adapter.list("isb_crabbox-gone-000000").await.unwrap(),
        vec![]
    );
    assert!(fake.state.lock().create_requests.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn islo_requires_its_bearer_key_and_never_echoes_it() {
    let fake = FakeIslo::start(ISLO_KEY, &[SANDBOX]).await;
    let wrong = IsloAdapter::new(&fake.url, Secret::new("islo-wrong-key")).unwrap();
    let error = wrong.publish(LEASE, 8080, HOUR).await.unwrap_err();
    assert_eq!(error.class(), ErrorClass::Auth, "{error}");
    assert!(!format!("{error} {error:?} {wrong:?}").contains("islo-wrong-key"));
    assert!(fake.state.lock().create_requests.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn islo_refuses_foreign_sandboxes_and_bad_ports_before_any_request() {
    let (fake, adapter) = islo().await;
    for lease in ["isb_someone-else", "cbx_0123456789ab", ""] {
        let error = adapter.publish(lease, 8080, HOUR).await.unwrap_err();
        assert_eq!(error.class(), ErrorClass::Usage, "{lease}: {error}");
    }
    let error = adapter.publish(LEASE, 0, HOUR).await.unwrap_err();
    assert_eq!(error.class(), ErrorClass::Usage);
    assert_eq!(fake.state.lock().list_requests, 0);
}

const E2B_KEY: &str = "e2b-key-secret";

async fn e2b() -> (FakeE2b, E2bAdapter) {
    let fake = FakeE2b::start(E2B_KEY).await;
    fake.add_sandbox(
        "sbx1",
        "",
        &[
            ("provider", "e2b"),
            ("crabbox", "true"),
            ("lease", "cbx_aaaaaaaaaaaa"),
        ],
    );
    fake.add_sandbox(
        "sbx2",
        "eu.e2b.dev",
        &[
            ("provider", "e2b"),
            ("crabbox", "true"),
            ("lease", "cbx_bbbbbbbbbbbb"),
        ],
    );
    fake.add_sandbox("foreign", "", &[("owner", "someone")]);
    let adapter = E2bAdapter::new(&fake.url, Secret::new(E2B_KEY), "").unwrap();
    (fake, adapter)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2b_synthesizes_preview_urls() {
    let (_fake, adapter) = e2b().await;
    let target = adapter
        .publish("cbx_aaaaaaaaaaaa", 8080, HOUR)
        .await
        .unwrap();
    assert_eq!(target.url, "https://8080-sbx1.e2b.app");
    assert_eq!(target.port, 8080);
    let own_domain = adapter
        .publish("cbx_bbbbbbbbbbbb", 3000, HOUR)
        .await
        .unwrap();
    assert_eq!(own_domain.url, "https://3000-sbx2.eu.e2b.dev");
    let synthetic = adapter
        .publish("e2b_sbx1", 5173, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(synthetic.url, "https://5173-sbx1.e2b.app");
    assert_eq!(adapter.list("cbx_aaaaaaaaaaaa").await.unwrap(), vec![]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2b_domain_falls_back_to_the_configured_one() {
    let fake = FakeE2b::start(E2B_KEY).await;
    fake.add_sandbox(
        "sbx1",
        "",
        &[
            ("provider", "e2b"),
            ("crabbox", "true"),
            ("lease", "cbx_aaaaaaaaaaaa"),
        ],
    );
    let adapter = E2bAdapter::new(&fake.url, Secret::new(E2B_KEY), "sandbox.example").unwrap();
    let target = adapter.publish("cbx_aaaaaaaaaaaa", 80, HOUR).await.unwrap();
    assert_eq!(target.url, "https://80-sbx1.sandbox.example");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2b_refuses_unknown_foreign_and_malformed_leases() {
    let (fake, adapter) = e2b().await;
    let not_owned = adapter.publish("e2b_foreign", 80, HOUR).await.unwrap_err();
    assert!(
        matches!(not_owned, BridgeError::NotOwned { .. }),
        "{not_owned:?}"
    );
    assert_eq!(not_owned.class(), ErrorClass::Conflict);
    for lease in ["e2b_missing", "cbx_cccccccccccc"] {
        let error = adapter.list(lease).await.unwrap_err();
        assert!(
            matches!(error, BridgeError::NotFound { .. }),
            "{lease}: {error:?}"
        );
        assert_eq!(error.class(), ErrorClass::NotFound);
    }
    let before = fake.state.lock().requests;
    for lease in ["isb_crabbox-x", "", "e2b_"] {
        let error = adapter.publish(lease, 80, HOUR).await.unwrap_err();
        assert_eq!(error.class(), ErrorClass::Usage, "{lease}: {error}");
    }
    assert_eq!(
        fake.state.lock().requests,
        before,
        "malformed leases make no request"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2b_requires_its_api_key_header() {
    let fake = FakeE2b::start(E2B_KEY).await;
    let wrong = E2bAdapter::new(&fake.url, Secret::new("e2b-wrong"), "").unwrap();
    let error = wrong
        .publish("cbx_aaaaaaaaaaaa", 80, HOUR)
        .await
        .unwrap_err();
    assert_eq!(error.class(), ErrorClass::Auth, "{error}");
    assert!(!error.to_string().contains("e2b-wrong"));
}

const RAILWAY_TOKEN: &str = "railway-token-secret";

async fn railway() -> (FakeRailway, RailwayAdapter) {
    let fake = FakeRailway::start(RAILWAY_TOKEN).await;
    let adapter =
        RailwayAdapter::new(&fake.url, Secret::new(RAILWAY_TOKEN), "proj", "env").unwrap();
    (fake, adapter)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn railway_uses_only_ready_deployments() {
    let (fake, adapter) = railway().await;
    fake.add_deployment(
        "proj",
        "env",
        "svc-web",
        "SUCCESS",
        "https://web-production.up.railway.app",
    );
    fake.add_deployment(
        "proj",
        "env",
        "svc-api",
        "SUCCESS",
        "https://api-old.up.railway.app",
    );
    fake.add_deployment(
        "proj",
        "env",
        "svc-api",
        "BUILDING",
        "https://api-new.up.railway.app",
    );
    fake.add_deployment("proj", "env", "svc-bare", "SLEEPING", "bare.up.railway.app");
    fake.add_deployment(
        "other",
        "env",
        "svc-elsewhere",
        "SUCCESS",
        "https://elsewhere.up.railway.app",
    );

    let web = adapter.publish("svc-web", 8080, HOUR).await.unwrap();
    assert_eq!(
        (web.port, web.url.as_str()),
        (8080, "https://web-production.up.railway.app")
    );
    let listed = adapter.list("svc-web").await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].port, listed[0].url.as_str()),
        (0, "https://web-production.up.railway.app")
    );

    let building = adapter.publish("svc-api", 8080, HOUR).await.unwrap_err();
    assert_eq!(
        building.to_string(),
        r#"railway bridge: deployment for "svc-api" is not ready (status=BUILDING)"#
    );
    assert_eq!(building.class(), ErrorClass::Conflict);
    assert_eq!(
        adapter.list("svc-api").await.unwrap(),
        vec![],
        "no URL from a non-ready deployment"
    );

    let missing = adapter
        .publish("svc-elsewhere", 80, HOUR)
        .await
        .unwrap_err();
    assert!(
        missing.to_string().ends_with("(status=unknown)"),
        "{missing}"
    );

    let bare = adapter.publish("svc-bare", 80, HOUR).await.unwrap();
    assert_eq!(bare.url, "https://bare.up.railway.app");

    let query = fake.state.lock().queries[0].clone();
    assert_eq!(query["variables"]["input"]["serviceId"], "svc-web");
    assert_eq!(query["variables"]["input"]["projectId"], "proj");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn railway_needs_project_environment_and_token() {
    let (fake, _) = railway().await;
    let unscoped = RailwayAdapter::new(&fake.url, Secret::new(RAILWAY_TOKEN), "", "env").unwrap();
    let error = unscoped.list("svc").await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "provider=railway requires RAILWAY_PROJECT_ID"
    );
    assert!(fake.state.lock().queries.is_empty());

    let wrong =
        RailwayAdapter::new(&fake.url, Secret::new("railway-wrong"), "proj", "env").unwrap();
    let error = wrong.publish("svc", 80, HOUR).await.unwrap_err();
    assert_eq!(error.class(), ErrorClass::Auth, "{error}");
    assert!(!format!("{error} {wrong:?}").contains("railway-wrong"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn islo_trades_its_api_key_for_one_cached_session_token() {
    let (fake, adapter) = islo().await;
    adapter.publish(LEASE, 8080, HOUR).await.unwrap();
    adapter.publish(LEASE, 8081, HOUR).await.unwrap();
    adapter.list(LEASE).await.unwrap();
    // One exchange serves every call until the session nears its expiry; the
    // API key itself is never a bearer (the fake refuses it).
    assert_eq!(fake.state.lock().sessions, vec!["islo-session-1"]);
    assert_eq!(fake.state.lock().create_requests.len(), 2);
}
