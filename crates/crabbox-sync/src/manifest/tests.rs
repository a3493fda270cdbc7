//! Tests of the manifest against real git checkouts.
use super::*;
use std::os::unix::fs::symlink;
use std::process::Command;

fn run_git(dir: &Path, args: &[&str]) {
    let output = Command::new("git")
        .args([
            "-c",
            "user.name=crabbox",
            "-c",
            "user.email=crabbox@example.com",
        ])
        .args([
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn write(dir: &Path, path: &str, text: &str) {
    let full = dir.join(path);
    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
    std::fs::write(full, text).unwrap();
}

fn default_rules(dir: &Path) -> ExcludeRules {
    ExcludeRules::load(dir, &[], &[]).unwrap()
}

fn entry<'a>(manifest: &'a Manifest, path: &str) -> &'a Entry {
    let position = manifest.position(path).unwrap_or_else(|| panic!("{path}"));
    &manifest.entries[position]
}

#[test]
fn lists_tracked_and_untracked_files_through_the_rules() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    run_git(root, &["init", "-q"]);
    let tracked = [
        ".gitignore",
        "src/main.rs",
        "with space.txt",
        "quote\"d'.txt",
        "new\nline.txt",
        "script.sh",
        "target/keep.txt",
        "node_modules/vendored.js",
    ];
    for path in tracked {
        write(root, path, "tracked\n");
    }
    write(root, ".gitignore", "*.log\n");
    std::fs::set_permissions(
        root.join("script.sh"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    symlink("src/main.rs", root.join("link")).unwrap();
    run_git(root, &["add", "-A"]);
    run_git(root, &["commit", "-q", "-m", "initial"]);

    write(root, "notes.txt", "untracked\n");
    write(root, "debug.log", "ignored by .gitignore\n");
    write(root, "node_modules/dep/index.js", "dependency\n");
    write(root, "target/debug/app", "build output\n");
    write(root, "secret/key.pem", "private\n");
    write(root, "secret/public.txt", "public\n");
    write(
        root,
        ".crabboxignore",
        "# keys stay local\nsecret\n!secret/public.txt\n",
    );
    write(root, "src/main.rs", "modified, not staged\n");
    write(root, "with space.txt", "modified and staged\n");
    run_git(root, &["add", "with space.txt"]);
    std::fs::create_dir(root.join("nested")).unwrap();
    run_git(&root.join("nested"), &["init", "-q"]);
    write(root, "nested/inner.txt", "belongs to another repository\n");

    let manifest = build_manifest(root, &default_rules(root)).unwrap();
    let files: Vec<&str> = manifest.files().collect();
    assert_eq!(
        files,
        [
            ".crabboxignore",
            ".gitignore",
            "link",
            "new\nline.txt",
            "notes.txt",
            "quote\"d'.txt",
            "script.sh",
            "secret/public.txt",
            "src/main.rs",
            "target/keep.txt",
            "with space.txt",
        ]
    );
    assert_eq!(manifest.root, root);
    assert_eq!(
        manifest.bytes,
        manifest.entries.iter().map(|entry| entry.size).sum::<u64>()
    );
    assert_eq!(entry(&manifest, "link").kind, EntryKind::Symlink);
    assert_eq!(entry(&manifest, "link").size, "src/main.rs".len() as u64);
    assert_eq!(entry(&manifest, "script.sh").mode & 0o777, 0o755);
    assert_eq!(entry(&manifest, "notes.txt").mode & 0o111, 0);
    assert!(entry(&manifest, "script.sh").tracked);
    assert!(!entry(&manifest, "notes.txt").tracked);
    assert!(entry(&manifest, "notes.txt").mtime_ns > 1_000_000_000_000_000_000);
    assert_eq!(manifest.protected_tracked, ["target/keep.txt"]);
    assert_eq!(
        manifest.changed,
        [
            ".crabboxignore",
            "notes.txt",
            "secret/public.txt",
            "src/main.rs",
            "with space.txt"
        ]
    );
    let changed_bytes: u64 = manifest
        .changed
        .iter()
        .map(|path| entry(&manifest, path).size)
        .sum();
    assert_eq!(manifest.changed_bytes, changed_bytes);
    assert!(manifest.deleted_tracked.is_empty());
    assert!(manifest.skip_worktree.is_empty());
    assert!(manifest.gitlinks.is_empty());
    assert!(manifest.contains("src/main.rs"));
    assert!(!manifest.contains("node_modules/vendored.js"));
}

#[test]
fn deletions_skip_worktree_and_gitlinks_are_told_apart() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    run_git(root, &["init", "-q"]);
    for path in [
        "deleted.txt",
        "staged.txt",
        "untracked-now.txt",
        "sparse.txt",
        "kept.txt",
        "became-dir",
        "node_modules/gone.js",
    ] {
        write(root, path, "tracked\n");
    }
    let object = "1234567890123456789012345678901234567890";
    run_git(root, &["add", "-A"]);
    run_git(
        root,
        &[
            "update-index",
            "--add",
            "--cacheinfo",
            &format!("160000,{object},old-sub"),
        ],
    );
    run_git(root, &["commit", "-q", "-m", "initial"]);

    std::fs::remove_file(root.join("deleted.txt")).unwrap();
    std::fs::remove_file(root.join("node_modules/gone.js")).unwrap();
    // Like `git ls-files --deleted`, a file replaced by a directory is not a
    // deletion; the directory's files are untracked entries.
    std::fs::remove_file(root.join("became-dir")).unwrap();
    write(root, "became-dir/inner.txt", "untracked\n");
    run_git(root, &["rm", "-q", "staged.txt"]);
    run_git(root, &["rm", "-q", "--cached", "untracked-now.txt"]);
    run_git(root, &["update-index", "--skip-worktree", "sparse.txt"]);
    std::fs::remove_file(root.join("sparse.txt")).unwrap();
    run_git(root, &["rm", "-q", "--cached", "old-sub"]);
    run_git(
        root,
        &[
            "update-index",
            "--add",
            "--cacheinfo",
            &format!("160000,{object},sub"),
        ],
    );

    let manifest = build_manifest(root, &default_rules(root)).unwrap();
    assert_eq!(manifest.deleted_tracked, ["deleted.txt", "staged.txt"]);
    assert_eq!(manifest.skip_worktree, ["sparse.txt"]);
    assert_eq!(manifest.gitlinks, ["sub"]);
    let files: Vec<&str> = manifest.files().collect();
    assert_eq!(
        files,
        ["became-dir/inner.txt", "kept.txt", "untracked-now.txt"]
    );
    assert!(!entry(&manifest, "untracked-now.txt").tracked);
    assert_eq!(
        manifest.changed,
        ["became-dir/inner.txt", "untracked-now.txt"]
    );
}

/// The index as both sources see it: read directly (when supported) and via
/// `git ls-files -s -t --debug`.
fn both_index_views(root: &Path) -> (Option<Vec<String>>, Vec<String>) {
    let describe = |records: Vec<IndexRecord<'_>>| {
        records
            .into_iter()
            .map(|record| {
                format!(
                    "{} {:o} {} {} {} {} {:?}",
                    String::from_utf8_lossy(&record.path),
                    record.mode,
                    record.stage,
                    record.skip_worktree,
                    record.intent_to_add,
                    record.object.to_hex(),
                    record.cached
                )
            })
            .collect::<Vec<_>>()
    };
    let snapshot = IndexSnapshot::read(root).unwrap();
    let direct = snapshot.records().map(describe);
    let listing = git(root, &["ls-files", "-z", "-s", "-t", "--debug"]).unwrap();
    let listed = describe(parse_ls_files(&listing).unwrap());
    (direct, listed)
}

fn repository_with_every_kind_of_entry(root: &Path) {
    run_git(root, &["init", "-q"]);
    for path in [
        "a.txt",
        "dir/b.txt",
        "dir/sub/c.txt",
        "sparse.txt",
        "new.txt",
    ] {
        write(root, path, path);
    }
    write(root, &format!("{}file.txt", "long/".repeat(40)), "deep");
    symlink("a.txt", root.join("link")).unwrap();
    run_git(root, &["add", "-A"]);
    run_git(root, &["commit", "-q", "-m", "initial"]);
    let object = "1234567890123456789012345678901234567890";
    run_git(
        root,
        &[
            "update-index",
            "--add",
            "--cacheinfo",
            &format!("160000,{object},sub"),
        ],
    );
    run_git(root, &["update-index", "--skip-worktree", "sparse.txt"]);
    write(root, "added-later.txt", "intent");
    run_git(root, &["add", "--intent-to-add", "added-later.txt"]);
}

#[test]
fn the_index_file_reader_agrees_with_git_for_versions_two_to_four() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    repository_with_every_kind_of_entry(root);
    // Skip-worktree and intent-to-add entries make git write version 3.
    let (direct, listed) = both_index_views(root);
    assert_eq!(direct.as_ref(), Some(&listed));
    assert!(listed
        .iter()
        .any(|line| line.starts_with("sparse.txt 100644 0 true false")));
    assert!(listed
        .iter()
        .any(|line| line.starts_with("added-later.txt 100644 0 false true")));
    assert!(listed
        .iter()
        .any(|line| line.starts_with("sub 160000 0 false false 1234")));
    assert!(listed.iter().any(|line| line.starts_with("link 120000 0")));

    run_git(root, &["update-index", "--index-version", "4"]);
    let (direct, listed) = both_index_views(root);
    assert_eq!(direct.as_ref(), Some(&listed));

    run_git(
        root,
        &[
            "update-index",
            "--index-version",
            "2",
            "--no-skip-worktree",
            "sparse.txt",
        ],
    );
    run_git(root, &["rm", "-q", "--cached", "added-later.txt"]);
    let (direct, listed) = both_index_views(root);
    assert_eq!(direct.as_ref(), Some(&listed));
}

#[test]
fn a_split_index_falls_back_to_git_with_the_same_result() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    repository_with_every_kind_of_entry(root);
    write(root, "a.txt", "changed");
    let rules = default_rules(root);
    let before = build_manifest(root, &rules).unwrap();
    run_git(root, &["update-index", "--split-index"]);
    assert!(IndexSnapshot::read(root).unwrap().records().is_none());
    let after = build_manifest(root, &rules).unwrap();
    assert_eq!(after.entries, before.entries);
    assert_eq!(after.changed, before.changed);
    assert_eq!(after.changed, ["a.txt", "added-later.txt"]);
    assert_eq!(after.skip_worktree, ["sparse.txt"]);
    assert_eq!(after.gitlinks, ["sub"]);
}

#[test]
fn changes_are_found_by_content_not_by_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    run_git(root, &["init", "-q"]);
    let files = [
        "touched.txt",
        "same-size.txt",
        "mode.sh",
        "quiet.txt",
        "new\nline.txt",
    ];
    let past = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_600_000_000);
    for path in files {
        write(root, path, "original\n");
        let file = std::fs::File::options()
            .write(true)
            .open(root.join(path))
            .unwrap();
        file.set_modified(past).unwrap();
    }
    symlink("touched.txt", root.join("link")).unwrap();
    run_git(root, &["add", "-A"]);
    run_git(root, &["commit", "-q", "-m", "initial"]);

    let file = std::fs::File::options()
        .write(true)
        .open(root.join("touched.txt"))
        .unwrap();
    file.set_modified(std::time::SystemTime::now()).unwrap();
    write(root, "same-size.txt", "modified\n");
    let file = std::fs::File::options()
        .write(true)
        .open(root.join("same-size.txt"))
        .unwrap();
    file.set_modified(past).unwrap();
    std::fs::set_permissions(root.join("mode.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    write(root, "new\nline.txt", "modified\n");
    std::fs::remove_file(root.join("link")).unwrap();
    symlink("same-size.txt", root.join("link")).unwrap();

    let manifest = build_manifest(root, &default_rules(root)).unwrap();
    assert_eq!(
        manifest.changed,
        ["link", "mode.sh", "new\nline.txt", "same-size.txt"]
    );
}

#[test]
fn a_directory_outside_git_is_a_git_error() {
    let dir = tempfile::tempdir().unwrap();
    let error = build_manifest(dir.path(), &default_rules(dir.path())).unwrap_err();
    assert!(matches!(error, SyncError::Git { .. }), "{error:?}");
}

#[test]
fn only_plain_relative_paths_are_safe() {
    let cases: &[(&[u8], bool)] = &[
        (b"a.txt", true),
        (b"dir/sub/a.txt", true),
        (b"..a/b..", true),
        (b"", false),
        (b"/etc/passwd", false),
        (b"../outside", false),
        (b"a/../../outside", false),
        (b"./a", false),
        (b"a//b", false),
        (b"a/", false),
    ];
    for (raw, safe) in cases {
        assert_eq!(
            checked_path(Cow::Borrowed(raw)).is_ok(),
            *safe,
            "{:?}",
            String::from_utf8_lossy(raw)
        );
    }
    assert!(matches!(
        checked_path(Cow::Borrowed(b"caf\xe9")),
        Ok((Cow::Owned(_), false))
    ));
}
