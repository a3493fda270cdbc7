//! The `sync-plan` report: what a sync would send and why, computed locally
//! without leasing a box.

use std::collections::HashMap;

use serde_json::{json, Value};

use crate::guardrails::human_bytes;
use crate::{candidate_line, ExcludeRules, Guardrail, Manifest};

/// Protected tracked files are examples, not an inventory.
const PROTECTED_EXAMPLES: usize = 5;

/// The report as stable JSON; lists are cut to `limit` entries.
pub fn plan_json(
    manifest: &Manifest,
    guardrail: &Guardrail,
    rules: &ExcludeRules,
    limit: usize,
) -> Value {
    let limits = &guardrail.limits;
    json!({
        "root": manifest.root.display().to_string(),
        "candidate": {
            "files": manifest.entries.len(),
            "bytes": manifest.bytes,
        },
        "dirtyDelta": {
            "files": manifest.changed.len(),
            "bytes": manifest.changed_bytes,
            "paths": first(&manifest.changed, limit),
        },
        "deletedTrackedPaths": first(&manifest.deleted_tracked, limit),
        "protectedTrackedFiles": first(&manifest.protected_tracked, PROTECTED_EXAMPLES),
        "skipWorktree": manifest.skip_worktree.len(),
        "guardrail": {
            "scope": guardrail.scope,
            "files": guardrail.files,
            "bytes": guardrail.bytes,
            "humanBytes": human_bytes(guardrail.bytes),
            "limits": {
                "warnFiles": limits.warn_files,
                "warnBytes": limits.warn_bytes,
                "failFiles": limits.fail_files,
                "failBytes": limits.fail_bytes,
            },
            "allowLarge": limits.allow_large,
            "status": guardrail.status.as_str(),
            "reasons": guardrail.reasons,
        },
        "topFiles": top_files(manifest, limit)
            .map(|(path, bytes)| json!({"path": path, "bytes": bytes}))
            .collect::<Vec<_>>(),
        "topDirs": top_directories(manifest, limit)
            .into_iter()
            .map(|(path, files, bytes)| json!({"path": path, "files": files, "bytes": bytes}))
            .collect::<Vec<_>>(),
        "rules": rules
            .describe()
            .into_iter()
            .map(|(pattern, origin)| json!({"pattern": pattern, "origin": origin}))
            .collect::<Vec<_>>(),
    })
}

/// The same report as readable lines, starting with the candidate line.
pub fn plan_text(
    manifest: &Manifest,
    guardrail: &Guardrail,
    rules: &ExcludeRules,
    limit: usize,
) -> String {
    let limits = &guardrail.limits;
    let mut lines = vec![
        candidate_line(manifest),
        format!(
            "guardrail: {} scope={} files={} bytes={} (warn at {} files or {}, fail at {} files or {}{})",
            guardrail.status.as_str(),
            guardrail.scope,
            guardrail.files,
            human_bytes(guardrail.bytes),
            limits.warn_files,
            human_bytes(limits.warn_bytes),
            limits.fail_files,
            human_bytes(limits.fail_bytes),
            if limits.allow_large { ", large syncs allowed" } else { "" },
        ),
    ];
    lines.extend(guardrail.reasons.iter().map(|reason| format!("  {reason}")));

    lines.push(format!(
        "dirty delta: {} files, {}",
        manifest.changed.len(),
        human_bytes(manifest.changed_bytes)
    ));
    push_paths(&mut lines, &manifest.changed, limit);
    lines.push(format!(
        "deleted tracked paths: {}",
        manifest.deleted_tracked.len()
    ));
    push_paths(&mut lines, &manifest.deleted_tracked, limit);
    lines.push(format!(
        "tracked files kept despite a built-in exclude: {}",
        manifest.protected_tracked.len()
    ));
    push_paths(&mut lines, &manifest.protected_tracked, PROTECTED_EXAMPLES);
    lines.push(format!(
        "skip-worktree paths (not deleted): {}",
        manifest.skip_worktree.len()
    ));

    lines.push("largest files:".into());
    lines.extend(
        top_files(manifest, limit)
            .map(|(path, bytes)| format!("  {:>10}  {path}", human_bytes(bytes))),
    );
    lines.push("largest directories:".into());
    lines.extend(
        top_directories(manifest, limit)
            .into_iter()
            .map(|(path, files, bytes)| {
                format!("  {:>10}  {path} files={files}", human_bytes(bytes))
            }),
    );
    lines.push("rules (last match wins):".into());
    lines.extend(
        rules
            .describe()
            .into_iter()
            .map(|(pattern, origin)| format!("  {pattern} ({origin})")),
    );
    lines.join("\n")
}

fn first(paths: &[String], limit: usize) -> &[String] {
    &paths[..paths.len().min(limit)]
}

fn push_paths(lines: &mut Vec<String>, paths: &[String], limit: usize) {
    lines.extend(first(paths, limit).iter().map(|path| format!("  {path}")));
    if paths.len() > limit {
        lines.push(format!("  and {} more", paths.len() - limit));
    }
}

/// The biggest entries, largest first (ties by path).
fn top_files(manifest: &Manifest, limit: usize) -> impl Iterator<Item = (&str, u64)> {
    let mut sized: Vec<(&str, u64)> = manifest
        .entries
        .iter()
        .map(|entry| (entry.path.as_str(), entry.size))
        .collect();
    sized.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    sized.truncate(limit);
    sized.into_iter()
}

/// Totals for every first- and second-level directory, by bytes, largest first.
fn top_directories(manifest: &Manifest, limit: usize) -> Vec<(&str, u64, u64)> {
    let mut totals: HashMap<&str, (u64, u64)> = HashMap::new();
    for entry in &manifest.entries {
        let path = entry.path.as_str();
        let separators = path.match_indices('/').map(|(index, _)| index);
        for end in separators.take(2) {
            let total = totals.entry(&path[..end]).or_default();
            total.0 += 1;
            total.1 += entry.size;
        }
    }
    let mut directories: Vec<(&str, u64, u64)> = totals
        .into_iter()
        .map(|(path, (files, bytes))| (path, files, bytes))
        .collect();
    directories.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(b.0)));
    directories.truncate(limit);
    directories
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{evaluate, Limits};

    fn sample() -> (Manifest, ExcludeRules) {
        let files = [
            ("README.md", 10),
            ("assets/img/logo.png", 4_000),
            ("assets/img/deep/icon.png", 1_000),
            ("src/main.rs", 300),
            ("src/lib.rs", 200),
        ];
        let entries = crate::manifest::test_entries(&files);
        let manifest = Manifest {
            root: "/repo".into(),
            bytes: 5_510,
            entries,
            changed: vec!["src/lib.rs".into(), "src/main.rs".into()],
            changed_bytes: 500,
            deleted_tracked: vec!["old.txt".into()],
            skip_worktree: vec!["sparse/a".into()],
            protected_tracked: vec!["target/keep.txt".into()],
            gitlinks: vec![],
        };
        let rules = ExcludeRules::new(&["*.log".into()], None, &[]).unwrap();
        (manifest, rules)
    }

    #[test]
    fn json_has_the_documented_shape() {
        let (manifest, rules) = sample();
        let guardrail = evaluate(&manifest, &Limits::default());
        let plan = plan_json(&manifest, &guardrail, &rules, 1);
        assert_eq!(plan["root"], "/repo");
        assert_eq!(plan["candidate"], json!({"files": 5, "bytes": 5_510}));
        assert_eq!(
            plan["dirtyDelta"],
            json!({"files": 2, "bytes": 500, "paths": ["src/lib.rs"]})
        );
        assert_eq!(plan["deletedTrackedPaths"], json!(["old.txt"]));
        assert_eq!(plan["protectedTrackedFiles"], json!(["target/keep.txt"]));
        assert_eq!(plan["skipWorktree"], 1);
        assert_eq!(
            plan["guardrail"],
            json!({
                "scope": "dirty_delta",
                "files": 2,
                "bytes": 500,
                "humanBytes": "500 B",
                "limits": {
                    "warnFiles": 50_000,
                    "warnBytes": 5_368_709_120_u64,
                    "failFiles": 150_000,
                    "failBytes": 21_474_836_480_u64,
                },
                "allowLarge": false,
                "status": "ok",
                "reasons": [],
            })
        );
        assert_eq!(
            plan["topFiles"],
            json!([{"path": "assets/img/logo.png", "bytes": 4_000}])
        );
        assert_eq!(
            plan["topDirs"],
            json!([{"path": "assets", "files": 2, "bytes": 5_000}])
        );
        let rules = plan["rules"].as_array().unwrap();
        assert_eq!(rules[0], json!({"pattern": ".git", "origin": "builtin"}));
        assert!(rules.contains(&json!({"pattern": "*.log", "origin": "configured"})));
    }

    #[test]
    fn directories_cover_two_levels_ranked_by_bytes() {
        let (manifest, _) = sample();
        let directories = top_directories(&manifest, 10);
        assert_eq!(
            directories,
            [
                ("assets", 2, 5_000),
                ("assets/img", 2, 5_000),
                ("src", 2, 500)
            ]
        );
    }

    #[test]
    fn text_starts_with_the_candidate_line_and_notes_truncation() {
        let (manifest, rules) = sample();
        let guardrail = evaluate(&manifest, &Limits::default());
        let text = plan_text(&manifest, &guardrail, &rules, 1);
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some(candidate_line(&manifest).as_str()));
        assert!(text.contains("\n  src/lib.rs\n  and 1 more\n"), "{text}");
        assert!(
            text.contains("\n     3.9 KiB  assets/img/logo.png\n"),
            "{text}"
        );
        assert!(text.contains("\n  *.log (configured)\n"), "{text}");
        assert!(
            text.contains("guardrail: ok scope=dirty_delta files=2"),
            "{text}"
        );
    }
}
