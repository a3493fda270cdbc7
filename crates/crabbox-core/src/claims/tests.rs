//! Behaviour of the claim store and listing against real temporary directories.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::thread;

use serde_json::{json, Value};
use tempfile::TempDir;

use super::*;
use crate::time::format_rfc3339;

const LEASE: &str = "cbx_0123456789ab";
const OTHER_LEASE: &str = "cbx_abcdef012345";
const NOW: i64 = 1_795_388_880;

fn store_in(root: &TempDir) -> ClaimStore {
    ClaimStore::at(root.path().join("claims"), root.path().join("claim-locks"))
}

fn sample(lease_id: &str, slug: &str) -> Claim {
    Claim {
        slug: slug.to_owned(),
        repo_root: "/src/app".to_owned(),
        idle_timeout_seconds: 1800,
        ..Claim::new(lease_id, "hetzner")
    }
}

fn mode_of(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o777
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn save_writes_private_pretty_json_atomically() {
    let root = tempfile::tempdir().unwrap();
    let store = store_in(&root);
    let saved = store.save(sample(LEASE, "violet-prawn")).unwrap();

    let path = root.path().join("claims").join(format!("{LEASE}.json"));
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.ends_with("}\n"), "{text:?}");
    assert!(text.starts_with("{\n  \"leaseID\": \"cbx_0123456789ab\",\n  \"revision\": "));
    let stored: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        stored,
        json!({
            "leaseID": LEASE,
            "revision": saved.revision,
            "slug": "violet-prawn",
            "provider": "hetzner",
            "repoRoot": "/src/app",
            "idleTimeoutSeconds": 1800,
        })
    );

    assert_eq!(mode_of(&path), 0o600);
    assert_eq!(mode_of(&root.path().join("claims")), 0o700);
    assert_eq!(mode_of(&root.path().join("claim-locks")), 0o700);
    let lock = root
        .path()
        .join("claim-locks")
        .join(format!("{LEASE}.json.lock"));
    assert_eq!(mode_of(&lock), 0o600);
    assert_eq!(
        file_names(&root.path().join("claims")),
        vec![format!("{LEASE}.json")]
    );
    assert_eq!(store.load(LEASE).unwrap(), Some(saved));
}

#[test]
fn every_write_sets_a_fresh_revision() {
    let root = tempfile::tempdir().unwrap();
    let store = store_in(&root);
    let first = store.save(sample(LEASE, "")).unwrap();
    let second = store.save(first.clone()).unwrap();
    let third = store
        .update_if_unchanged(LEASE, Some(&second.revision), |_| {})
        .unwrap();
    let fourth = store
        .claim_for_repo(LEASE, Claim::default(), "/src/app", false, NOW)
        .unwrap();
    let revisions = [
        &first.revision,
        &second.revision,
        &third.revision,
        &fourth.revision,
    ];
    for (index, revision) in revisions.iter().enumerate() {
        assert_eq!(revision.len(), 32);
        assert!(revision.bytes().all(|byte| byte.is_ascii_hexdigit()));
        assert!(
            !revisions[..index].contains(revision),
            "repeated {revision}"
        );
    }
    assert_eq!(store.load(LEASE).unwrap().unwrap().revision, *revisions[3]);
}

#[test]
fn lock_files_are_retired_with_their_claims_and_still_exclude() {
    const THREADS: usize = 6;
    const ROUNDS: usize = 30;
    let root = tempfile::tempdir().unwrap();
    let committed = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let retired = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let workers: Vec<_> = (0..THREADS)
        .map(|_| {
            let store = store_in(&root);
            let (committed, retired) = (committed.clone(), retired.clone());
            thread::spawn(move || {
                for _ in 0..ROUNDS {
                    // Count up to 5 in the claim, then remove it (retiring its lock
                    // file) and bank the 5: a lost update shows as a missing count.
                    let current = store.load(LEASE).unwrap();
                    let revision = current.as_ref().map(|claim| claim.revision.clone());
                    let count: usize = current
                        .as_ref()
                        .and_then(|claim| claim.labels.get("counter"))
                        .map_or(0, |value| value.parse().unwrap());
                    if count == 5 {
                        if store
                            .remove_if_unchanged(LEASE, revision.as_deref().unwrap())
                            .is_ok()
                        {
                            retired.fetch_add(5, std::sync::atomic::Ordering::SeqCst);
                        }
                        continue;
                    }
                    let updated = store.update_if_unchanged(LEASE, revision.as_deref(), |claim| {
                        claim.provider = "local".into();
                        claim
                            .labels
                            .insert("counter".into(), (count + 1).to_string());
                    });
                    if updated.is_ok() {
                        committed.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    let store = store_in(&root);
    let left: usize = store
        .load(LEASE)
        .unwrap()
        .and_then(|claim| {
            claim
                .labels
                .get("counter")
                .map(|value| value.parse().unwrap())
        })
        .unwrap_or(0);
    assert_eq!(
        committed.load(std::sync::atomic::Ordering::SeqCst),
        retired.load(std::sync::atomic::Ordering::SeqCst) + left
    );
    store.remove(LEASE).unwrap();
    assert!(
        file_names(&root.path().join("claim-locks")).is_empty(),
        "lock files left: {:?}",
        file_names(&root.path().join("claim-locks"))
    );
}

#[test]
fn concurrent_compare_and_swap_loses_no_increment() {
    const THREADS: usize = 8;
    const INCREMENTS: usize = 25;
    let root = tempfile::tempdir().unwrap();
    store_in(&root).save(Claim::new(LEASE, "local")).unwrap();

    let workers: Vec<_> = (0..THREADS)
        .map(|_| {
            // A separate store per thread: each takes its own lock file descriptor.
            let store = store_in(&root);
            thread::spawn(move || {
                for _ in 0..INCREMENTS {
                    loop {
                        let current = store.load(LEASE).unwrap().unwrap();
                        let result =
                            store.update_if_unchanged(LEASE, Some(&current.revision), |claim| {
                                let count: u32 = claim
                                    .labels
                                    .get("counter")
                                    .map_or(0, |value| value.parse().unwrap());
                                claim
                                    .labels
                                    .insert("counter".to_owned(), (count + 1).to_string());
                            });
                        match result {
                            Ok(_) => break,
                            Err(ClaimError::Changed { .. }) => continue,
                            Err(error) => panic!("unexpected error: {error}"),
                        }
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }

    let store = store_in(&root);
    let claim = store.load(LEASE).unwrap().unwrap();
    let expected = (THREADS * INCREMENTS).to_string();
    assert_eq!(claim.labels.get("counter"), Some(&expected));
    assert_eq!(
        file_names(&root.path().join("claims")),
        vec![format!("{LEASE}.json")]
    );
}

#[test]
fn update_if_unchanged_enforces_expected_revision() {
    let root = tempfile::tempdir().unwrap();
    let store = store_in(&root);

    let created = store
        .update_if_unchanged(LEASE, None, |claim| {
            claim.provider = "aws".to_owned();
            claim.lease_id = "cbx_ffffffffffff".to_owned();
        })
        .unwrap();
    assert_eq!(created.lease_id, LEASE, "lease id stays tied to the file");
    assert_eq!(created.provider, "aws");

    let error = store.update_if_unchanged(LEASE, None, |_| {}).unwrap_err();
    assert!(error.is_conflict());
    assert_eq!(
        error.to_string(),
        format!("claim for {LEASE} changed; retry")
    );

    let stale = store
        .update_if_unchanged(LEASE, Some("0000"), |_| {})
        .unwrap_err();
    assert!(matches!(stale, ClaimError::Changed { .. }));

    let missing = store
        .update_if_unchanged(OTHER_LEASE, Some("0000"), |_| {})
        .unwrap_err();
    assert!(matches!(missing, ClaimError::Changed { .. }));

    let updated = store
        .update_if_unchanged(LEASE, Some(&created.revision), |claim| {
            claim.slug = "blue-crab".to_owned();
        })
        .unwrap();
    assert_eq!(store.load(LEASE).unwrap(), Some(updated));
}

#[test]
fn remove_and_remove_if_unchanged() {
    let root = tempfile::tempdir().unwrap();
    let store = store_in(&root);
    assert!(!store.remove(LEASE).unwrap());

    let saved = store.save(sample(LEASE, "")).unwrap();
    let error = store.remove_if_unchanged(LEASE, "stale").unwrap_err();
    assert!(matches!(error, ClaimError::Changed { .. }));
    assert!(store.load(LEASE).unwrap().is_some());

    store.remove_if_unchanged(LEASE, &saved.revision).unwrap();
    assert_eq!(store.load(LEASE).unwrap(), None);
    let gone = store
        .remove_if_unchanged(LEASE, &saved.revision)
        .unwrap_err();
    assert!(matches!(gone, ClaimError::Changed { .. }));

    store.save(sample(LEASE, "")).unwrap();
    assert!(store.remove(LEASE).unwrap());
    assert!(file_names(&root.path().join("claims")).is_empty());
}

#[test]
fn claim_for_repo_binds_refreshes_and_reclaims() {
    let root = tempfile::tempdir().unwrap();
    let store = store_in(&root);
    let template = Claim {
        slug: "violet-prawn".to_owned(),
        ssh_host: "203.0.113.7".to_owned(),
        ..Claim::new(LEASE, "hetzner")
    };

    let created = store
        .claim_for_repo(LEASE, template.clone(), "/src/app", false, NOW)
        .unwrap();
    assert_eq!(created.repo_root, "/src/app");
    assert_eq!(created.claimed_at, "2026-11-22T23:08:00Z");
    assert_eq!(created.last_used_at, "2026-11-22T23:08:00Z");
    assert_eq!(created.ssh_host, "203.0.113.7");

    let richer = Claim {
        ssh_host: "198.51.100.1".to_owned(),
        ssh_port: "2222".to_owned(),
        ..template.clone()
    };
    let refreshed = store
        .claim_for_repo(LEASE, richer, "/src/app", false, NOW + 60)
        .unwrap();
    assert_eq!(refreshed.claimed_at, created.claimed_at);
    assert_eq!(refreshed.last_used_at, format_rfc3339(NOW + 60));
    assert_eq!(refreshed.ssh_host, "203.0.113.7", "set fields are kept");
    assert_eq!(
        refreshed.ssh_port, "2222",
        "empty fields come from the template"
    );

    let conflict = store
        .claim_for_repo(LEASE, template.clone(), "/src/other", false, NOW + 120)
        .unwrap_err();
    assert!(conflict.is_conflict());
    assert_eq!(
        conflict.to_string(),
        format!(
            "lease {LEASE} is claimed by repo /src/app; use --reclaim to claim it for /src/other"
        )
    );
    assert_eq!(
        store.load(LEASE).unwrap().unwrap().revision,
        refreshed.revision,
        "a refused claim leaves the file alone"
    );

    let reclaimed = store
        .claim_for_repo(LEASE, template, "/src/other", true, NOW + 180)
        .unwrap();
    assert_eq!(reclaimed.repo_root, "/src/other");
    assert_eq!(reclaimed.claimed_at, format_rfc3339(NOW + 180));
    assert_eq!(reclaimed.last_used_at, format_rfc3339(NOW + 180));
    assert_eq!(store.load(LEASE).unwrap(), Some(reclaimed));
}

#[test]
fn claim_for_repo_adopts_unbound_claims() {
    let root = tempfile::tempdir().unwrap();
    let store = store_in(&root);
    store.save(Claim::new(LEASE, "aws")).unwrap();
    let claimed = store
        .claim_for_repo(LEASE, Claim::default(), "/src/app", false, NOW)
        .unwrap();
    assert_eq!(claimed.repo_root, "/src/app");
    assert_eq!(claimed.claimed_at, format_rfc3339(NOW));
}

#[test]
fn find_by_literal_file_id_and_slug() {
    let root = tempfile::tempdir().unwrap();
    let store = store_in(&root);
    store.save(sample(LEASE, "violet-prawn")).unwrap();
    store.save(sample(OTHER_LEASE, "blue-crayfish")).unwrap();
    store
        .save(sample("static_build-host", "build-host"))
        .unwrap();
    store
        .save(sample("cbx_ffffffffffff", "build-host"))
        .unwrap();

    let ids = |value: &str| -> Vec<String> {
        store
            .find(value)
            .into_iter()
            .map(|claim| claim.lease_id)
            .collect()
    };
    assert_eq!(ids(LEASE), vec![LEASE]);
    assert_eq!(ids("  Violet PRAWN "), vec![LEASE]);
    assert_eq!(ids("blue-crayfish"), vec![OTHER_LEASE]);
    assert_eq!(
        ids("build-host"),
        vec!["cbx_ffffffffffff", "static_build-host"]
    );
    assert_eq!(ids("static_build-host"), vec!["static_build-host"]);
    assert!(ids("no-such-lease").is_empty());
    assert!(ids("***").is_empty());

    // A literal file name wins even over claims whose slug matches the same text.
    store.save(sample("build-host", "")).unwrap();
    assert_eq!(ids("build-host"), vec!["build-host"]);
}

#[test]
fn unknown_keys_survive_rewrites() {
    let root = tempfile::tempdir().unwrap();
    let store = store_in(&root);
    let claims_dir = root.path().join("claims");
    fs::create_dir_all(&claims_dir).unwrap();
    let original = json!({
        "leaseID": LEASE,
        "revision": "r1",
        "provider": "aws",
        "staticPort": 2222,
        "labels": null,
        "tailscaleFQDN": "box.tailnet.ts.net",
        "fixedCreateIntent": {"version": 1, "attempt": {"n": 2}},
    });
    fs::write(
        claims_dir.join(format!("{LEASE}.json")),
        original.to_string(),
    )
    .unwrap();

    let loaded = store.load(LEASE).unwrap().unwrap();
    assert_eq!(loaded.static_port, "2222");
    assert!(loaded.labels.is_empty());
    store
        .update_if_unchanged(LEASE, Some("r1"), |claim| claim.pond = "ci".to_owned())
        .unwrap();
    store
        .claim_for_repo(LEASE, Claim::default(), "/src/app", false, NOW)
        .unwrap();

    let text = fs::read_to_string(claims_dir.join(format!("{LEASE}.json"))).unwrap();
    let stored: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(stored["tailscaleFQDN"], "box.tailnet.ts.net");
    assert_eq!(
        stored["fixedCreateIntent"],
        json!({"version": 1, "attempt": {"n": 2}})
    );
    assert_eq!(stored["pond"], "ci");
    assert_eq!(stored["staticPort"], "2222");
    assert!(stored.get("labels").is_none());
}

#[test]
fn unsafe_ids_never_become_paths() {
    let root = tempfile::tempdir().unwrap();
    let store = store_in(&root);
    for id in ["../escape", ".hidden", "", "a/b"] {
        let error = store.load(id).unwrap_err();
        assert!(matches!(error, ClaimError::UnsafeId { .. }), "{id:?}");
        assert!(matches!(
            store.save(Claim::new(id, "aws")),
            Err(ClaimError::UnsafeId { .. })
        ));
    }
    assert!(!root.path().join("claims").exists());
}

#[test]
fn load_reports_corrupt_and_foreign_files() {
    let root = tempfile::tempdir().unwrap();
    let store = store_in(&root);
    let claims_dir = root.path().join("claims");
    fs::create_dir_all(&claims_dir).unwrap();
    fs::write(claims_dir.join(format!("{LEASE}.json")), "{").unwrap();
    assert!(matches!(store.load(LEASE), Err(ClaimError::Corrupt { .. })));
    fs::write(
        claims_dir.join(format!("{OTHER_LEASE}.json")),
        json!({"leaseID": LEASE, "provider": "aws"}).to_string(),
    )
    .unwrap();
    let error = store.load(OTHER_LEASE).unwrap_err();
    assert!(error.to_string().contains("records lease id"), "{error}");
    assert!(!error.is_conflict());
}

mod listing;
