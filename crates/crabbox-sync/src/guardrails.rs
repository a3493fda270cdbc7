//! Large-sync guardrails: totals that warn, or stop a run, before an unexpectedly
//! big tree is shipped to the runner.

use crate::Manifest;

const KIB: f64 = 1024.0;
const MIB: f64 = 1024.0 * 1024.0;
const GIB: u64 = 1024 * 1024 * 1024;

/// How many first-level directories a warning names.
const TOP_DIRECTORIES: usize = 5;

/// Thresholds from `sync.warnFiles`, `sync.warnBytes`, `sync.failFiles`,
/// `sync.failBytes` and `sync.allowLarge` (or `--force-sync-large`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub warn_files: u64,
    pub warn_bytes: u64,
    pub fail_files: u64,
    pub fail_bytes: u64,
    pub allow_large: bool,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            warn_files: 50_000,
            warn_bytes: 5 * GIB,
            fail_files: 150_000,
            fail_bytes: 20 * GIB,
            allow_large: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuardrailStatus {
    Ok,
    Warning,
    Failed,
}

impl GuardrailStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            GuardrailStatus::Ok => "ok",
            GuardrailStatus::Warning => "warning",
            GuardrailStatus::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectorySize {
    pub path: String,
    pub files: u64,
    pub bytes: u64,
}

/// The verdict on one manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guardrail {
    /// `"dirty_delta"` when git reports changes (only those move on a warm
    /// workdir), otherwise `"candidate"`.
    pub scope: &'static str,
    pub files: u64,
    pub bytes: u64,
    pub status: GuardrailStatus,
    pub reasons: Vec<String>,
    /// First-level directories of the scope with the most files, at most five;
    /// files at the root count as `.`.
    pub top_dirs: Vec<DirectorySize>,
    /// The limits the verdict was reached with, for reports.
    pub limits: Limits,
}

/// Measures the scope against `limits`; thresholds are inclusive.
pub fn evaluate(manifest: &Manifest, limits: &Limits) -> Guardrail {
    let (scope, sized): (&'static str, Vec<(&str, u64)>) = if manifest.changed.is_empty() {
        let sized = manifest
            .entries
            .iter()
            .map(|entry| (entry.path.as_str(), entry.size))
            .collect();
        ("candidate", sized)
    } else {
        let sized = manifest
            .changed
            .iter()
            .map(|path| {
                let size = manifest
                    .position(path)
                    .map_or(0, |position| manifest.entries[position].size);
                (path.as_str(), size)
            })
            .collect();
        ("dirty_delta", sized)
    };
    let files = sized.len() as u64;
    let bytes = sized.iter().map(|(_, size)| size).sum();

    let mut reasons = Vec::new();
    let mut failing = false;
    let mut warning = false;
    if files >= limits.fail_files {
        failing = true;
        reasons.push(format!(
            "{scope} has {files} files, at or above the failure limit of {}",
            limits.fail_files
        ));
    } else if files >= limits.warn_files {
        warning = true;
        reasons.push(format!(
            "{scope} has {files} files, at or above the warning limit of {}",
            limits.warn_files
        ));
    }
    if bytes >= limits.fail_bytes {
        failing = true;
        reasons.push(format!(
            "{scope} has {}, at or above the failure limit of {}",
            human_bytes(bytes),
            human_bytes(limits.fail_bytes)
        ));
    } else if bytes >= limits.warn_bytes {
        warning = true;
        reasons.push(format!(
            "{scope} has {}, at or above the warning limit of {}",
            human_bytes(bytes),
            human_bytes(limits.warn_bytes)
        ));
    }
    let status = if failing && !limits.allow_large {
        GuardrailStatus::Failed
    } else if failing || warning {
        if failing {
            reasons.push("large sync allowed, continuing".into());
        }
        GuardrailStatus::Warning
    } else {
        GuardrailStatus::Ok
    };
    Guardrail {
        scope,
        files,
        bytes,
        status,
        reasons,
        top_dirs: top_directories(&sized),
        limits: *limits,
    }
}

/// Groups sorted paths by first segment; sorting keeps each directory's paths
/// contiguous, so one pass suffices.
fn top_directories(sized: &[(&str, u64)]) -> Vec<DirectorySize> {
    let mut directories: Vec<DirectorySize> = Vec::new();
    let mut root = DirectorySize {
        path: ".".into(),
        files: 0,
        bytes: 0,
    };
    for (path, size) in sized {
        let Some((first, _)) = path.split_once('/') else {
            root.files += 1;
            root.bytes += size;
            continue;
        };
        match directories.last_mut() {
            Some(last) if last.path == first => {
                last.files += 1;
                last.bytes += size;
            }
            _ => directories.push(DirectorySize {
                path: first.to_string(),
                files: 1,
                bytes: *size,
            }),
        }
    }
    if root.files > 0 {
        directories.push(root);
    }
    directories.sort_by(|a, b| {
        b.files
            .cmp(&a.files)
            .then(b.bytes.cmp(&a.bytes))
            .then(a.path.cmp(&b.path))
    });
    directories.truncate(TOP_DIRECTORIES);
    directories
}

/// `sync candidate: N files, X.Y MiB`, plus the dirty delta when there is one.
pub fn candidate_line(manifest: &Manifest) -> String {
    let mut line = format!(
        "sync candidate: {} files, {:.1} MiB",
        manifest.entries.len(),
        manifest.bytes as f64 / MIB
    );
    if !manifest.changed.is_empty() {
        line.push_str(&format!(
            " dirty_delta={} files, {:.1} KiB",
            manifest.changed.len(),
            manifest.changed_bytes as f64 / KIB
        ));
    }
    line
}

/// The multi-line explanation printed for a warning or a failure.
pub fn guardrail_message(guardrail: &Guardrail) -> String {
    let mut message = format!(
        "large sync {}: {} has {} files, {}",
        guardrail.status.as_str(),
        guardrail.scope,
        guardrail.files,
        human_bytes(guardrail.bytes)
    );
    for reason in &guardrail.reasons {
        message.push_str(&format!("\n  {reason}"));
    }
    if !guardrail.top_dirs.is_empty() {
        message.push_str("\nlargest directories by file count:");
        for directory in &guardrail.top_dirs {
            message.push_str(&format!(
                "\n  {} files={} bytes={}",
                directory.path,
                directory.files,
                human_bytes(directory.bytes)
            ));
        }
    }
    message.push_str(
        "\nhint: exclude generated or vendored paths in .crabboxignore or sync.exclude, \
         or pass --force-sync-large to send them anyway",
    );
    message
}

/// Binary units with one decimal (`512 B`, `1.5 KiB`, `2.0 GiB`).
pub(crate) fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(files: &[(&str, u64)], changed: &[&str]) -> Manifest {
        let entries = crate::manifest::test_entries(files);
        let size_of = |path: &str| files.iter().find(|(p, _)| *p == path).unwrap().1;
        Manifest {
            bytes: files.iter().map(|(_, size)| size).sum(),
            changed: changed.iter().map(|path| path.to_string()).collect(),
            changed_bytes: changed.iter().map(|path| size_of(path)).sum(),
            entries,
            ..Manifest::default()
        }
    }

    fn limits(warn_files: u64, fail_files: u64) -> Limits {
        Limits {
            warn_files,
            warn_bytes: 1_000,
            fail_files,
            fail_bytes: 2_000,
            allow_large: false,
        }
    }

    #[test]
    fn thresholds_are_inclusive() {
        let small = manifest(&[("a", 1), ("b", 1), ("c", 1)], &[]);
        let cases = [
            (limits(4, 10), GuardrailStatus::Ok),
            (limits(3, 10), GuardrailStatus::Warning),
            (limits(2, 3), GuardrailStatus::Failed),
        ];
        for (limits, expected) in cases {
            let guardrail = evaluate(&small, &limits);
            assert_eq!(guardrail.status, expected, "{limits:?}");
            assert_eq!(
                guardrail.reasons.is_empty(),
                expected == GuardrailStatus::Ok
            );
        }
        let heavy = manifest(&[("a", 2_000)], &[]);
        let guardrail = evaluate(&heavy, &limits(10, 20));
        assert_eq!(guardrail.status, GuardrailStatus::Failed);
        assert!(
            guardrail.reasons[0].contains("2.0 KiB"),
            "{:?}",
            guardrail.reasons
        );
    }

    #[test]
    fn allow_large_turns_a_failure_into_a_warning() {
        let small = manifest(&[("a", 1), ("b", 1), ("c", 1)], &[]);
        let allowed = Limits {
            allow_large: true,
            ..limits(2, 3)
        };
        let guardrail = evaluate(&small, &allowed);
        assert_eq!(guardrail.status, GuardrailStatus::Warning);
        assert_eq!(guardrail.reasons.len(), 2);
    }

    #[test]
    fn a_dirty_delta_narrows_the_scope() {
        let files = [("big/a", 5_000), ("big/b", 5_000), ("src/lib.rs", 10)];
        let guardrail = evaluate(&manifest(&files, &["src/lib.rs"]), &limits(10, 20));
        assert_eq!(guardrail.scope, "dirty_delta");
        assert_eq!((guardrail.files, guardrail.bytes), (1, 10));
        assert_eq!(guardrail.status, GuardrailStatus::Ok);

        let guardrail = evaluate(&manifest(&files, &[]), &limits(10, 20));
        assert_eq!(guardrail.scope, "candidate");
        assert_eq!(guardrail.status, GuardrailStatus::Failed);
    }

    #[test]
    fn top_directories_rank_by_file_count() {
        let files = [
            ("a/1", 100),
            ("b/1", 2),
            ("b/2", 1),
            ("b.txt", 1),
            ("b/c/3", 1),
            ("c/1", 1),
            ("d/1", 1),
            ("e/1", 1),
            ("README.md", 1),
            ("go.mod", 1),
        ];
        let guardrail = evaluate(&manifest(&files, &[]), &Limits::default());
        let ranked: Vec<_> = guardrail
            .top_dirs
            .iter()
            .map(|directory| (directory.path.as_str(), directory.files))
            .collect();
        assert_eq!(ranked, [("b", 3), (".", 3), ("a", 1), ("c", 1), ("d", 1)]);
    }

    #[test]
    fn lines_and_messages_carry_the_numbers_and_the_hint() {
        let files = [("src/a.rs", 3 * 1024 * 1024), ("src/b.rs", 2048)];
        let clean = manifest(&files, &[]);
        assert_eq!(candidate_line(&clean), "sync candidate: 2 files, 3.0 MiB");
        let dirty = manifest(&files, &["src/b.rs"]);
        assert_eq!(
            candidate_line(&dirty),
            "sync candidate: 2 files, 3.0 MiB dirty_delta=1 files, 2.0 KiB"
        );

        let guardrail = evaluate(&clean, &limits(1, 2));
        let message = guardrail_message(&guardrail);
        assert!(message.starts_with("large sync failed: candidate has 2 files, 3.0 MiB\n"));
        assert!(
            message.contains("\n  src files=2 bytes=3.0 MiB\n"),
            "{message}"
        );
        for needle in [".crabboxignore", "sync.exclude", "--force-sync-large"] {
            assert!(message.contains(needle), "{message}");
        }
    }

    #[test]
    fn human_bytes_uses_binary_units() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(5 * GIB), "5.0 GiB");
    }
}
