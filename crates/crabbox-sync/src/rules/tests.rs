//! Table tests of the exclude rules and the matcher.
use super::*;

fn rules(configured: &[&str], ignore_file: Option<&str>, include: &[&str]) -> ExcludeRules {
    let owned = |items: &[&str]| {
        items
            .iter()
            .map(|item| item.to_string())
            .collect::<Vec<_>>()
    };
    ExcludeRules::new(&owned(configured), ignore_file, &owned(include)).unwrap()
}

fn excluded_by(pattern: &str, origin: RuleOrigin) -> Decision {
    Decision::Excluded {
        pattern: pattern.into(),
        origin,
    }
}

#[test]
fn builtins_match_segments_globs_and_prefixes() {
    let rules = rules(&[], None, &[]);
    let cases: &[(&str, Decision)] = &[
        ("src/main.rs", Decision::Keep),
        ("README.md", Decision::Keep),
        (".git", excluded_by(".git", RuleOrigin::Builtin)),
        (".git/config", excluded_by(".git", RuleOrigin::Builtin)),
        (
            "web/node_modules/react/index.js",
            excluded_by("node_modules", RuleOrigin::Builtin),
        ),
        ("node_modules_backup/a.js", Decision::Keep),
        ("docs/._cover.png", excluded_by("._*", RuleOrigin::Builtin)),
        ("docs/_cover.png", Decision::Keep),
        (
            "pkg/__pycache__/m.pyc",
            excluded_by("__pycache__", RuleOrigin::Builtin),
        ),
        (
            ".yarn/cache/left-pad.zip",
            excluded_by(".yarn/cache", RuleOrigin::Builtin),
        ),
        (".yarn/releases/yarn.cjs", Decision::Keep),
        ("sub/.yarn/cache/x.zip", Decision::Keep),
        (
            "apps/web/.build/out.o",
            excluded_by("apps/*/.build", RuleOrigin::Builtin),
        ),
        (
            "tools/.build/out.o",
            excluded_by(".build", RuleOrigin::Builtin),
        ),
        (
            "crates/app/target/debug/app",
            excluded_by("target", RuleOrigin::Builtin),
        ),
        ("targets/list.txt", Decision::Keep),
    ];
    for (path, expected) in cases {
        assert_eq!(&rules.decide(path, false), expected, "{path}");
    }
}

#[test]
fn glob_rules_with_a_slash_match_the_path_or_a_leading_prefix() {
    let rules = rules(&["apps/*/generated", "docs/*.pdf"], None, &[]);
    let cases: &[(&str, bool)] = &[
        ("apps/web/generated", false),
        ("apps/web/generated/api.ts", false),
        ("apps/web/src/generated/api.ts", true),
        ("apps/generated/api.ts", true),
        ("docs/manual.pdf", false),
        ("docs/manual.md", true),
        ("docs/old/manual.pdf", true),
    ];
    for (path, kept) in cases {
        assert_eq!(rules.decide(path, false).is_kept(), *kept, "{path}");
    }
}

#[test]
fn the_last_matching_rule_wins_and_bang_re_includes() {
    let rules = rules(
        &["*.log", "/fixtures/"],
        Some("# comment\n\n  !keep.log  \n!fixtures/golden\n\\!literal\n"),
        &[],
    );
    let cases: &[(&str, Decision)] = &[
        ("out/run.log", excluded_by("*.log", RuleOrigin::Configured)),
        ("out/keep.log", Decision::Keep),
        (
            "fixtures/a.json",
            excluded_by("fixtures", RuleOrigin::Configured),
        ),
        ("fixtures/golden/a.json", Decision::Keep),
        ("!literal", excluded_by("!literal", RuleOrigin::IgnoreFile)),
        (
            "dir/!literal/x",
            excluded_by("!literal", RuleOrigin::IgnoreFile),
        ),
        ("literal", Decision::Keep),
        ("# comment", Decision::Keep),
    ];
    for (path, expected) in cases {
        assert_eq!(&rules.decide(path, false), expected, "{path}");
    }
}

#[test]
fn builtins_can_be_re_included() {
    let rules = rules(&[], Some("!node_modules/local-patch"), &[]);
    assert_eq!(
        rules.decide("node_modules/local-patch/index.js", false),
        Decision::Keep
    );
    assert!(!rules.decide("node_modules/other/index.js", false).is_kept());
}

#[test]
fn protected_paths_cannot_be_re_included_and_ignore_case() {
    let rules = rules(&["!.crabbox"], Some("!.crabbox/env\n!.crabbox/runs/*"), &[]);
    let protected = |pattern: &str| excluded_by(pattern, RuleOrigin::Protected);
    let cases: &[(&str, Decision)] = &[
        (".crabbox/env", protected(".crabbox/env")),
        (".crabbox/env/secrets", protected(".crabbox/env")),
        (".CRABBOX/Env", protected(".crabbox/env")),
        (".crabbox/runs/run_1/log", protected(".crabbox/runs")),
        (".crabbox/Captures/a.png", protected(".crabbox/captures")),
        (".crabbox/config.yaml", Decision::Keep),
        (".crabbox/environment", Decision::Keep),
        ("sub/.crabbox/env", Decision::Keep),
    ];
    for (path, expected) in cases {
        assert_eq!(&rules.decide(path, false), expected, "{path}");
    }
}

#[test]
fn ambiguous_builtins_keep_tracked_files_but_user_rules_do_not() {
    let builtins_only = rules(&[], None, &[]);
    assert_eq!(
        builtins_only.decide("target/keep.txt", true),
        Decision::KeptTracked {
            pattern: "target".into()
        }
    );
    assert_eq!(
        builtins_only.decide("apps/ios/.build/Info.plist", true),
        Decision::KeptTracked {
            pattern: "apps/*/.build".into()
        }
    );
    assert_eq!(
        builtins_only.decide("target/keep.txt", false),
        excluded_by("target", RuleOrigin::Builtin)
    );
    // Not ambiguous: tracked files under node_modules are still excluded.
    assert_eq!(
        builtins_only.decide("node_modules/vendored.js", true),
        excluded_by("node_modules", RuleOrigin::Builtin)
    );
    let configured = rules(&["target"], None, &[]);
    assert_eq!(
        configured.decide("target/keep.txt", true),
        excluded_by("target", RuleOrigin::Configured)
    );
    let ignore_file = rules(&[], Some("dist"), &[]);
    assert_eq!(
        ignore_file.decide("dist/app.js", true),
        excluded_by("dist", RuleOrigin::IgnoreFile)
    );
}

#[test]
fn include_patterns_whitelist_what_the_excludes_keep() {
    let rules = rules(&[], None, &["src", "*.toml", "/docs/"]);
    let cases: &[(&str, Decision)] = &[
        ("src/main.rs", Decision::Keep),
        ("Cargo.toml", Decision::Keep),
        ("crates/a/Cargo.toml", Decision::Keep),
        ("docs/index.md", Decision::Keep),
        ("README.md", Decision::NotIncluded),
        (
            "src/node_modules/x.js",
            excluded_by("node_modules", RuleOrigin::Builtin),
        ),
        ("target/keep.txt", Decision::NotIncluded),
    ];
    for (path, expected) in cases {
        assert_eq!(&rules.decide(path, true), expected, "{path}");
    }
}

#[test]
fn describe_lists_every_rule_in_order() {
    let rules = rules(&["logs/"], Some("!keep\n\\!bang"), &["src"]);
    let described = rules.describe();
    assert_eq!(described.first(), Some(&(".git".to_string(), "builtin")));
    let tail: Vec<_> = described[BUILTIN.len()..]
        .iter()
        .map(|(pattern, origin)| format!("{pattern} {origin}"))
        .collect();
    assert_eq!(
        tail,
        [
            "logs configured",
            "!keep crabboxignore",
            "\\!bang crabboxignore",
            ".crabbox/env protected",
            ".crabbox/scripts protected",
            ".crabbox/logs protected",
            ".crabbox/captures protected",
            ".crabbox/runs protected",
            "src include",
        ]
    );
}

#[test]
fn malformed_patterns_name_their_origin() {
    let error = ExcludeRules::new(&[], Some("[abc"), &[]).unwrap_err();
    assert!(
        matches!(&error, SyncError::InvalidPattern { pattern, origin, .. } if pattern == "[abc" && *origin == ".crabboxignore"),
        "{error:?}"
    );
}

#[test]
fn the_ignore_file_is_optional_but_must_be_readable() {
    let dir = tempfile::tempdir().unwrap();
    let rules = ExcludeRules::load(dir.path(), &[], &[]).unwrap();
    assert!(rules.decide("anything.txt", false).is_kept());

    std::fs::write(dir.path().join(IGNORE_FILE), "*.txt\n").unwrap();
    let rules = ExcludeRules::load(dir.path(), &[], &[]).unwrap();
    assert!(!rules.decide("anything.txt", false).is_kept());

    std::fs::remove_file(dir.path().join(IGNORE_FILE)).unwrap();
    std::fs::create_dir(dir.path().join(IGNORE_FILE)).unwrap();
    let error = ExcludeRules::load(dir.path(), &[], &[]).unwrap_err();
    assert!(matches!(error, SyncError::IgnoreFile { .. }), "{error:?}");
    assert!(error.hint().unwrap().contains(".crabboxignore"));
}
