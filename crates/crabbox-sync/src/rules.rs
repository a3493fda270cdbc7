//! Ordered exclude rules: which checkout paths are sent, and why the others are not.

mod glob;

use std::collections::HashMap;
use std::path::Path;

use glob::Glob;

use crate::SyncError;

/// Build output, caches and VCS metadata that are never worth sending.
const BUILTIN: &[&str] = &[
    ".git",
    "._*",
    "node_modules",
    ".ignored",
    ".turbo",
    ".next",
    ".vite",
    ".parcel-cache",
    ".rollup.cache",
    "dist",
    "dist-runtime",
    "coverage",
    "playwright-report",
    "test-results",
    ".cache",
    ".tmp",
    ".local",
    ".swiftpm",
    ".build",
    "apps/*/.build",
    ".pnpm-store",
    ".npm",
    ".yarn/cache",
    ".venv",
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".gradle",
    "target",
];

/// Built-ins that some projects use as source directories, so a file git tracks
/// under them is still sent.
const AMBIGUOUS: &[&str] = &[
    "dist",
    "dist-runtime",
    "coverage",
    "playwright-report",
    "test-results",
    ".build",
    "apps/*/.build",
    "target",
];

/// Runner-side state that must never be overwritten from the client.
const PROTECTED: &[&str] = &[
    ".crabbox/env",
    ".crabbox/scripts",
    ".crabbox/logs",
    ".crabbox/captures",
    ".crabbox/runs",
];

/// Built-in directory names whose contents are never synced, whatever git tracks
/// (the non-ambiguous single-name built-ins, `.git` excluded: it is handled apart).
pub fn never_synced_names() -> Vec<String> {
    BUILTIN
        .iter()
        .filter(|pattern| {
            !AMBIGUOUS.contains(pattern)
                && !pattern.contains(['/', '*', '?', '['])
                && **pattern != ".git"
        })
        .map(|pattern| pattern.to_string())
        .collect()
}

/// Name of the per-repository ignore file at the checkout root.
pub const IGNORE_FILE: &str = ".crabboxignore";

/// Where a rule came from; reported so users can find the line to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuleOrigin {
    Builtin,
    Configured,
    IgnoreFile,
    Protected,
}

impl RuleOrigin {
    /// Where a user would look for the rule, for error messages.
    fn setting(self) -> &'static str {
        match self {
            RuleOrigin::Builtin => "built-in",
            RuleOrigin::Configured => "sync.exclude",
            RuleOrigin::IgnoreFile => IGNORE_FILE,
            RuleOrigin::Protected => "protected",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RuleOrigin::Builtin => "builtin",
            RuleOrigin::Configured => "configured",
            RuleOrigin::IgnoreFile => "crabboxignore",
            RuleOrigin::Protected => "protected",
        }
    }
}

/// What the rules say about one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Keep,
    Excluded {
        pattern: String,
        origin: RuleOrigin,
    },
    /// An ambiguous built-in matched, but git tracks the file, so it is kept.
    KeptTracked {
        pattern: String,
    },
    /// `sync.include` is set and no include pattern matches.
    NotIncluded,
}

impl Decision {
    pub fn is_kept(&self) -> bool {
        matches!(self, Decision::Keep | Decision::KeptTracked { .. })
    }
}

/// A pattern with the path-matching rules shared by excludes and includes.
#[derive(Debug, Clone)]
struct Pattern {
    /// As written, minus any `!` marker and surrounding `/`.
    text: String,
    glob: Glob,
}

impl Pattern {
    fn compile(text: &str, origin: &'static str) -> Result<Pattern, SyncError> {
        let glob = Glob::compile(text).map_err(|message| SyncError::InvalidPattern {
            pattern: text.to_string(),
            origin,
            message: message.to_string(),
        })?;
        Ok(Pattern {
            text: text.to_string(),
            glob,
        })
    }

    /// The path itself or a directory above it; for a pattern without `/`, any
    /// single segment; otherwise the glob over the path or a leading prefix.
    fn matches(&self, path: &str) -> bool {
        if is_same_or_under(path, &self.text, false) {
            return true;
        }
        if self.glob.is_single_segment() {
            path.split('/')
                .any(|segment| self.glob.matches_segment(segment))
        } else {
            self.glob.matches_leading(path)
        }
    }
}

#[derive(Debug, Clone)]
struct Rule {
    pattern: Pattern,
    negated: bool,
    origin: RuleOrigin,
    ambiguous: bool,
}

/// The ordered rule list: built-ins, `sync.exclude`, `.crabboxignore`, then the
/// protected runtime paths. The last matching rule wins.
#[derive(Debug, Clone)]
pub struct ExcludeRules {
    rules: Vec<Rule>,
    /// Wildcard-free single-segment rules by name, mapped to the highest rule
    /// index with that name: one hash lookup per segment instead of a scan.
    segment_rules: HashMap<String, usize>,
    /// Indices of every other rule, highest first.
    scanned_rules: Vec<usize>,
    include: Vec<Pattern>,
}

impl ExcludeRules {
    /// Builds the rules from config values and the ignore file's text.
    pub fn new(
        configured: &[String],
        ignore_file_text: Option<&str>,
        include: &[String],
    ) -> Result<ExcludeRules, SyncError> {
        let mut lines: Vec<(&str, RuleOrigin)> = BUILTIN
            .iter()
            .map(|pattern| (*pattern, RuleOrigin::Builtin))
            .collect();
        lines.extend(
            configured
                .iter()
                .map(|pattern| (pattern.trim(), RuleOrigin::Configured)),
        );
        lines.extend(
            ignore_file_text
                .unwrap_or_default()
                .lines()
                .map(str::trim)
                .filter(|line| !line.starts_with('#'))
                .map(|line| (line, RuleOrigin::IgnoreFile)),
        );
        let mut rules = Vec::with_capacity(lines.len() + PROTECTED.len());
        for (line, origin) in lines {
            if let Some(rule) = parse_rule(line, origin)? {
                rules.push(rule);
            }
        }
        for pattern in PROTECTED {
            rules.extend(parse_rule(pattern, RuleOrigin::Protected)?);
        }
        let mut segment_rules = HashMap::new();
        let mut scanned_rules = Vec::new();
        for (index, rule) in rules.iter().enumerate() {
            match rule.pattern.glob.literal_segment() {
                // Protected rules compare case-insensitively, so they stay scanned.
                Some(name) if name == rule.pattern.text && rule.origin != RuleOrigin::Protected => {
                    segment_rules.insert(name, index);
                }
                _ => scanned_rules.push(index),
            }
        }
        scanned_rules.reverse();
        let include = include
            .iter()
            .map(|pattern| pattern.trim().trim_matches('/'))
            .filter(|pattern| !pattern.is_empty())
            .map(|pattern| Pattern::compile(pattern, "sync.include"))
            .collect::<Result<_, _>>()?;
        Ok(ExcludeRules {
            rules,
            segment_rules,
            scanned_rules,
            include,
        })
    }

    /// Builds the rules, reading `<root>/.crabboxignore` when it exists.
    pub fn load(
        root: &Path,
        configured: &[String],
        include: &[String],
    ) -> Result<ExcludeRules, SyncError> {
        let path = root.join(IGNORE_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => Some(text),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
            Err(error) => {
                return Err(SyncError::IgnoreFile {
                    path: path.display().to_string(),
                    message: error.to_string(),
                })
            }
        };
        ExcludeRules::new(configured, text.as_deref(), include)
    }

    /// Decides one path relative to the root (forward slashes). `tracked` means git
    /// tracks it as a regular file, which shields it from ambiguous built-ins.
    pub fn decide(&self, path: &str, tracked: bool) -> Decision {
        let decision = match self.last_match(path) {
            None => Decision::Keep,
            Some(rule) if rule.negated => Decision::Keep,
            Some(rule) if rule.ambiguous && tracked => Decision::KeptTracked {
                pattern: rule.pattern.text.clone(),
            },
            Some(rule) => Decision::Excluded {
                pattern: rule.pattern.text.clone(),
                origin: rule.origin,
            },
        };
        if decision.is_kept()
            && !self.include.is_empty()
            && !self.include.iter().any(|pattern| pattern.matches(path))
        {
            return Decision::NotIncluded;
        }
        decision
    }

    fn last_match(&self, path: &str) -> Option<&Rule> {
        let mut best = path
            .split('/')
            .filter_map(|segment| self.segment_rules.get(segment).copied())
            .max();
        for &index in &self.scanned_rules {
            if best.is_some_and(|best| best >= index) {
                break;
            }
            let rule = &self.rules[index];
            let matched = if rule.origin == RuleOrigin::Protected {
                is_same_or_under(path, &rule.pattern.text, true)
            } else {
                rule.pattern.matches(path)
            };
            if matched {
                best = Some(index);
                break;
            }
        }
        best.map(|index| &self.rules[index])
    }

    /// Every rule in order as written (`!` for re-includes, `\!` for a literal
    /// leading `!`) with its origin, then the include patterns as "include".
    pub fn describe(&self) -> Vec<(String, &'static str)> {
        let rules = self.rules.iter().map(|rule| {
            let text = &rule.pattern.text;
            let written = if rule.negated {
                format!("!{text}")
            } else if text.starts_with('!') {
                format!("\\{text}")
            } else {
                text.clone()
            };
            (written, rule.origin.as_str())
        });
        let include = self
            .include
            .iter()
            .map(|pattern| (pattern.text.clone(), "include"));
        rules.chain(include).collect()
    }
}

/// Parses one rule line; `None` for lines that say nothing (blank, or only `/`).
fn parse_rule(line: &str, origin: RuleOrigin) -> Result<Option<Rule>, SyncError> {
    let (negated, body) = if line.starts_with("\\!") {
        (false, &line[1..])
    } else if let Some(rest) = line.strip_prefix('!') {
        (true, rest)
    } else {
        (false, line)
    };
    let text = body.trim_matches('/');
    if text.is_empty() {
        return Ok(None);
    }
    Ok(Some(Rule {
        pattern: Pattern::compile(text, origin.setting())?,
        // The protected paths can never be negated: they are appended last.
        negated: negated && origin != RuleOrigin::Protected,
        origin,
        ambiguous: origin == RuleOrigin::Builtin && AMBIGUOUS.contains(&text),
    }))
}

/// `path == pattern` or `path` lies under the directory `pattern`.
fn is_same_or_under(path: &str, pattern: &str, ignore_case: bool) -> bool {
    let Some(head) = path.get(..pattern.len()) else {
        return false;
    };
    let same = if ignore_case {
        head.eq_ignore_ascii_case(pattern)
    } else {
        head == pattern
    };
    same && matches!(path.as_bytes().get(pattern.len()), None | Some(b'/'))
}

#[cfg(test)]
mod tests;
