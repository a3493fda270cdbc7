//! `ClaimStore::list` and its JSON and text renderings.

use super::*;

fn write_claim_file(dir: &Path, name: &str, body: &Value) {
    fs::write(dir.join(name), body.to_string()).unwrap();
}

#[test]
fn listing_reports_every_problem_code() {
    let root = tempfile::tempdir().unwrap();
    let store = store_in(&root);
    let dir = root.path().join("claims");
    fs::create_dir_all(&dir).unwrap();

    store.save(sample(LEASE, "violet-prawn")).unwrap();
    write_claim_file(&dir, "notes.txt", &json!({}));
    write_claim_file(&dir, ".hidden.json", &json!({}));
    fs::write(dir.join("cbx_000000000001.json"), "{not json").unwrap();
    fs::write(
        dir.join("cbx_000000000002.json"),
        vec![b' '; 1024 * 1024 + 1],
    )
    .unwrap();
    write_claim_file(
        &dir,
        "cbx_000000000003.json",
        &json!({"leaseID": "", "provider": "aws"}),
    );
    write_claim_file(
        &dir,
        "cbx_000000000004.json",
        &json!({"leaseID": "cbx_999999999999", "provider": "aws"}),
    );
    fs::create_dir(dir.join("cbx_000000000005.json")).unwrap();
    symlink(
        dir.join(format!("{LEASE}.json")),
        dir.join("cbx_000000000006.json"),
    )
    .unwrap();
    write_claim_file(
        &dir,
        "cbx_000000000007.json",
        &json!({"leaseID": "cbx_000000000007", "provider": "aws", "slug": "Not Normal"}),
    );
    write_claim_file(
        &dir,
        "cbx_000000000008.json",
        &json!({"leaseID": "cbx_000000000008"}),
    );
    fs::write(dir.join(".claim-tmp-cbx_0123456789ab-00ff"), "{").unwrap();

    let listing = store.list();
    let codes: Vec<(String, &str)> = listing
        .problems
        .iter()
        .map(|problem| {
            let name = Path::new(&problem.file).file_name().unwrap();
            (name.to_string_lossy().into_owned(), problem.code.as_str())
        })
        .collect();
    let expected = [
        (".hidden.json", "invalid_filename"),
        ("cbx_000000000001.json", "invalid_json"),
        ("cbx_000000000002.json", "claim_too_large"),
        ("cbx_000000000003.json", "empty_lease_id"),
        ("cbx_000000000004.json", "lease_id_mismatch"),
        ("cbx_000000000005.json", "non_regular_file"),
        ("cbx_000000000006.json", "non_regular_file"),
        ("cbx_000000000007.json", "invalid_claim"),
        ("cbx_000000000008.json", "invalid_claim"),
        ("notes.txt", "invalid_filename"),
    ];
    let expected: Vec<(String, &str)> = expected
        .iter()
        .map(|(name, code)| (name.to_string(), *code))
        .collect();
    assert_eq!(codes, expected);
    assert!(!listing.is_clean());
    let ids: Vec<&str> = listing
        .claims
        .iter()
        .map(|claim| claim.lease_id.as_str())
        .collect();
    assert_eq!(ids, vec![LEASE]);
    assert_eq!(store.all(), listing.claims);
}

#[test]
fn listing_reports_read_errors() {
    let root = tempfile::tempdir().unwrap();
    let claims_path = root.path().join("claims");
    fs::write(&claims_path, "not a directory").unwrap();
    let listing = store_in(&root).list();
    assert_eq!(listing.problems.len(), 1);
    assert_eq!(listing.problems[0].code, ProblemCode::ReadError);
    assert_eq!(listing.problems[0].file, claims_path.display().to_string());

    // Permission bits do not stop root, so the per-file case only runs unprivileged.
    if rustix::process::geteuid().is_root() {
        return;
    }
    fs::remove_file(&claims_path).unwrap();
    let store = store_in(&root);
    let saved = store.save(sample(LEASE, "")).unwrap();
    let path = store.claim_path(&saved.lease_id).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o000)).unwrap();
    let listing = store.list();
    assert_eq!(listing.problems[0].code, ProblemCode::ReadError);
}

#[test]
fn listing_of_missing_directory_is_empty_and_clean() {
    let root = tempfile::tempdir().unwrap();
    let listing = store_in(&root).list();
    assert!(listing.is_clean());
    assert!(listing.claims.is_empty());
    assert_eq!(
        listing_text(&listing),
        "Local claims (unverified local state; provider backends were not queried)\n(no claims)\n"
    );
}

#[test]
fn listing_caps_problems_at_one_hundred() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("claims");
    fs::create_dir_all(&dir).unwrap();
    for index in 0..150 {
        fs::write(dir.join(format!("junk-{index:03}.txt")), "").unwrap();
    }
    let listing = store_in(&root).list();
    assert_eq!(listing.problems.len(), 100);
    assert!(listing.problems[..99]
        .iter()
        .all(|problem| problem.code == ProblemCode::InvalidFilename));
    let last = &listing.problems[99];
    assert_eq!(last.code, ProblemCode::ProblemsTruncated);
    assert_eq!(last.message, "51 more problems not shown");
}

#[test]
fn listing_sorts_by_lease_provider_and_slug() {
    let listing = ClaimListing {
        claims: Vec::new(),
        problems: Vec::new(),
    };
    assert!(listing.is_clean());

    let root = tempfile::tempdir().unwrap();
    let store = store_in(&root);
    for lease in ["cbx_cccccccccccc", "cbx_aaaaaaaaaaaa", "cbx_bbbbbbbbbbbb"] {
        store.save(sample(lease, "")).unwrap();
    }
    let ids: Vec<String> = store
        .list()
        .claims
        .into_iter()
        .map(|claim| claim.lease_id)
        .collect();
    assert_eq!(
        ids,
        vec!["cbx_aaaaaaaaaaaa", "cbx_bbbbbbbbbbbb", "cbx_cccccccccccc"]
    );
}

fn rendered_listing() -> ClaimListing {
    ClaimListing {
        claims: vec![Claim {
            pond: "ci".to_owned(),
            target_os: "linux".to_owned(),
            claimed_at: "2026-11-22T23:08:00Z".to_owned(),
            last_used_at: "2026-11-22T23:09:00Z".to_owned(),
            labels: BTreeMap::from([("ignored".to_owned(), "yes".to_owned())]),
            ..sample(LEASE, "violet-prawn")
        }],
        problems: vec![ClaimProblem {
            file: "/state/claims/bad.txt".to_owned(),
            code: ProblemCode::InvalidFilename,
            message: "expected <lease id>.json".to_owned(),
        }],
    }
}

#[test]
fn listing_json_has_the_documented_shape() {
    let listing = rendered_listing();
    let expected = json!({
        "version": 1,
        "source": "local-claims",
        "claims": [{
            "leaseId": LEASE,
            "slug": "violet-prawn",
            "provider": "hetzner",
            "repoRoot": "/src/app",
            "pond": "ci",
            "targetOS": "linux",
            "windowsMode": "",
            "claimedAt": "2026-11-22T23:08:00Z",
            "lastUsedAt": "2026-11-22T23:09:00Z",
            "idleTimeoutSeconds": 1800,
        }],
        "problems": [{
            "file": "/state/claims/bad.txt",
            "code": "invalid_filename",
            "message": "expected <lease id>.json",
        }],
    });
    assert_eq!(listing_json(&listing), expected);
    assert_eq!(
        listing_json_string(&listing),
        concat!(
            r#"{"version":1,"source":"local-claims","claims":[{"leaseId":"cbx_0123456789ab","#,
            r#""slug":"violet-prawn","provider":"hetzner","repoRoot":"/src/app","pond":"ci","#,
            r#""targetOS":"linux","windowsMode":"","claimedAt":"2026-11-22T23:08:00Z","#,
            r#""lastUsedAt":"2026-11-22T23:09:00Z","idleTimeoutSeconds":1800}],"#,
            r#""problems":[{"file":"/state/claims/bad.txt","code":"invalid_filename","#,
            r#""message":"expected <lease id>.json"}]}"#
        )
    );
}

#[test]
fn listing_text_has_the_documented_layout() {
    let expected = "\
Local claims (unverified local state; provider backends were not queried)
- leaseId: \"cbx_0123456789ab\"
  slug: \"violet-prawn\"
  provider: \"hetzner\"
  repoRoot: \"/src/app\"
  pond: \"ci\"
  targetOS: \"linux\"
  windowsMode: \"\"
  claimedAt: \"2026-11-22T23:08:00Z\"
  lastUsedAt: \"2026-11-22T23:09:00Z\"
  idleTimeoutSeconds: 1800
Problems:
- file=/state/claims/bad.txt code=invalid_filename message=expected <lease id>.json
";
    assert_eq!(listing_text(&rendered_listing()), expected);
}
