//! Slugs across tenants: a slug names at most one live lease of any owner, and
//! a lookup by slug finds the caller's own lease before anyone else's, so no
//! tenant can squat another's slug (by registering an ID that looks like it, or
//! by taking the same slug).

use serde_json::json;

use crate::common::*;

/// A lease ID other than `id` whose generated slug is the same.
fn id_with_the_same_slug(id: &str) -> String {
    let slug = crabbox_core::slug_for_lease(id);
    (0u64..)
        .map(|n| format!("cbx_{n:012x}"))
        .find(|candidate| candidate != id && crabbox_core::slug_for_lease(candidate) == slug)
        .unwrap()
}

fn suffixed(slug: &str, base: &str) -> bool {
    slug.strip_prefix(base)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|hex| hex.len() == 4 && hex.bytes().all(|byte| byte.is_ascii_hexdigit()))
}

async fn two_owners(backend: &str) {
    let dir = temp_dir();
    let url = database_url(backend, dir.path()).await;
    let server = Running::start_default(&url, dir.path()).await;
    let key = public_key(dir.path());
    let alice = server.api(&user_token("alice", "acme"));
    let bob = server.api(&user_token("bob", "acme"));

    let (status, body) = alice.post("/v1/leases", json!({"sshPublicKey": key})).await;
    assert_eq!(status, 201, "{body}");
    let id = body["lease"]["id"].as_str().unwrap().to_string();
    let slug = body["lease"]["slug"].as_str().unwrap().to_string();

    // Bob registers a machine whose ID is Alice's slug, and asks for her slug.
    let (status, body) = bob
        .call(
            "PUT",
            &format!("/v1/leases/{slug}/registration"),
            Some(
                json!({"provider": "ssh", "target": "linux", "host": "203.0.113.9", "slug": slug}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let registered_slug = body["lease"]["slug"].as_str().unwrap();
    assert!(
        suffixed(registered_slug, &slug),
        "{backend}: a registration gets a free slug, not {registered_slug:?}"
    );

    // Alice still finds her lease by slug, for reads and changes alike.
    let (status, body) = alice.get(&format!("/v1/leases/{slug}")).await;
    assert_eq!(status, 200, "{backend}: {body}");
    assert_eq!(body["lease"]["id"], id.as_str());
    let (status, body) = alice
        .post(&format!("/v1/leases/{slug}/heartbeat"), json!({}))
        .await;
    assert_eq!(
        (status, body["lease"]["id"].as_str()),
        (200, Some(id.as_str()))
    );
    // Bob's own ID still resolves for Bob.
    let (status, body) = bob.get(&format!("/v1/leases/{slug}")).await;
    assert_eq!(
        (status, body["lease"]["lifecycle"].as_str()),
        (200, Some("registered")),
        "{body}"
    );

    // New leases of another owner never take a live lease's slug: not when
    // requested, not when generated from a colliding ID.
    let (status, body) = bob
        .post("/v1/leases", json!({"sshPublicKey": key, "slug": slug}))
        .await;
    assert_eq!(status, 201, "{body}");
    let requested = body["lease"]["slug"].as_str().unwrap().to_string();
    assert!(suffixed(&requested, &slug), "{backend}: got {requested:?}");
    let colliding = id_with_the_same_slug(&id);
    let (status, body) = bob
        .post(
            "/v1/leases",
            json!({"sshPublicKey": key, "leaseID": colliding}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let generated = body["lease"]["slug"].as_str().unwrap().to_string();
    assert!(suffixed(&generated, &slug), "{backend}: got {generated:?}");
    assert_ne!(generated, requested);

    // Bob's slugs resolve to Bob's leases; Alice sees none of them.
    for bobs in [&requested, &generated] {
        let (status, body) = bob.get(&format!("/v1/leases/{bobs}")).await;
        assert_eq!(
            (status, body["lease"]["owner"].as_str()),
            (200, Some("bob"))
        );
        assert_eq!(alice.get(&format!("/v1/leases/{bobs}")).await.0, 404);
    }
    // An admin resolves its own leases first, then everyone's.
    let admin = server.api(ADMIN);
    let (status, body) = admin.get(&format!("/v1/leases/{generated}")).await;
    assert_eq!(
        (status, body["lease"]["id"].as_str()),
        (200, Some(colliding.as_str()))
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_cannot_squat_each_others_slugs() {
    for backend in backends() {
        two_owners(backend).await;
    }
}
