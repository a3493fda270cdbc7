//! Caps under concurrency: 50 creates against an active-lease cap of 5, spread
//! over two coordinator replicas on one database, admit exactly 5. Spend caps
//! refuse with 429 and the usage report accounts for what was admitted.

use std::sync::Arc;

use crabbox_coordinator::SystemClock;
use serde_json::json;

use crate::common::*;

async fn fifty_creates_against_five(backend: &str) {
    let dir = temp_dir();
    let url = database_url(backend, dir.path()).await;
    let mut capped = settings();
    capped.caps.max_active_leases = 5;
    let first = Running::start(
        &url,
        capped.clone(),
        local_providers(dir.path()),
        Arc::new(SystemClock),
    )
    .await;
    let second = Running::start(
        &url,
        capped,
        local_providers(dir.path()),
        Arc::new(SystemClock),
    )
    .await;
    let key = public_key(dir.path());
    let mut creates = Vec::new();
    for index in 0..50 {
        let api = if index % 2 == 0 {
            first.api(&user_token(&format!("user{index}"), "acme"))
        } else {
            second.api(&user_token(&format!("user{index}"), "acme"))
        };
        let key = key.clone();
        creates.push(tokio::spawn(async move {
            api.post("/v1/leases", json!({"sshPublicKey": key})).await
        }));
    }
    let mut admitted = Vec::new();
    let mut refused = 0;
    for create in creates {
        let (status, body) = create.await.unwrap();
        match status {
            201 => admitted.push(body["lease"]["id"].as_str().unwrap().to_string()),
            429 => {
                assert_eq!(body["error"], "cost_limit_exceeded");
                refused += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!((admitted.len(), refused), (5, 45), "{backend}");
    assert_eq!(local_lease_dirs(dir.path()).len(), 5);
    let admin = first.api(ADMIN);
    for id in &admitted {
        let (status, _) = admin
            .post(&format!("/v1/leases/{id}/release"), json!({}))
            .await;
        assert_eq!(status, 200);
    }
    assert!(local_lease_dirs(dir.path()).is_empty());
    first.stop().await;
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn active_lease_cap_holds_across_replicas() {
    for backend in backends() {
        fifty_creates_against_five(backend).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monthly_spend_cap_and_usage_report() {
    let dir = temp_dir();
    let url = database_url("sqlite", dir.path()).await;
    let mut priced = settings();
    priced.cost_rates.insert("local".into(), 2.0);
    priced.caps.max_monthly_usd_per_owner = 5.0;
    let server = Running::start(
        &url,
        priced,
        local_providers(dir.path()),
        Arc::new(SystemClock),
    )
    .await;
    let alice = server.api(&user_token("alice", "acme"));
    let key = public_key(dir.path());
    // Two hours at $2/h reserves $4: the first fits, the second would make $8.
    let (status, body) = alice
        .post(
            "/v1/leases",
            json!({"sshPublicKey": key, "ttlSeconds": 7200}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["lease"]["maxEstimatedUSD"], 4.0);
    let id = body["lease"]["id"].as_str().unwrap().to_string();
    let (status, body) = alice
        .post(
            "/v1/leases",
            json!({"sshPublicKey": key, "ttlSeconds": 7200}),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (429, Some("cost_limit_exceeded")),
        "{body}"
    );
    assert_eq!(
        local_lease_dirs(dir.path()).len(),
        1,
        "a refused create makes no machine"
    );

    let (status, report) = alice.get("/v1/usage?scope=all&owner=someone-else").await;
    assert_eq!(status, 200);
    assert_eq!(
        report["usage"]["scope"], "user",
        "non-admins see only themselves"
    );
    assert_eq!(report["usage"]["owner"], "alice");
    assert_eq!(report["usage"]["leases"], 1);
    assert_eq!(report["usage"]["activeLeases"], 1);
    assert_eq!(report["usage"]["reservedUSD"], 4.0);
    assert_eq!(report["usage"]["byProvider"][0]["key"], "local");
    assert_eq!(report["limits"]["maxMonthlyUSDPerOwner"], 5.0);

    // Released leases still count against this month's budget.
    alice
        .post(&format!("/v1/leases/{id}/release"), json!({}))
        .await;
    let (status, _) = alice
        .post(
            "/v1/leases",
            json!({"sshPublicKey": key, "ttlSeconds": 7200}),
        )
        .await;
    assert_eq!(status, 429);
    let (status, body) = alice
        .post(
            "/v1/leases",
            json!({"sshPublicKey": key, "ttlSeconds": 1800}),
        )
        .await;
    assert_eq!(status, 201, "$1 more fits: {body}");
    let id = body["lease"]["id"].as_str().unwrap();
    alice
        .post(&format!("/v1/leases/{id}/release"), json!({}))
        .await;
    assert!(local_lease_dirs(dir.path()).is_empty());
    server.stop().await;
}
