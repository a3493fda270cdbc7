//! Keeping the sync skip honest after commands, without a round trip and without
//! making the user wait.
//!
//! Every command session starts by stamping the time. After the command it closes
//! stdout, reports the exit status on stderr (`CRABBOX-EXIT-<nonce> <status>`),
//! closes stderr, and only then scans: `find` lists paths under the workdir changed
//! since the stamp (build-output directories pruned) into `<meta>/changes`. The CLI
//! takes the status as soon as both streams end and leaves; the scan finishes on the
//! runner while the user reads the output, with no process left behind.
//!
//! The next run trusts the runner only after checking that scan. When nothing
//! changed locally, the sync is skipped optimistically and the check runs at the
//! start of the next command session itself: if the scan found changes (or never
//! finished), the session prints `CRABBOX-RESYNC-<nonce>` on stderr and exits 197
//! without running the command; the CLI then heals the copy and runs the command
//! again. When something changed locally, the sync reads the list and re-sends the
//! affected files along with the local changes.
//!
//! The nonce is random per run, so a command's own output cannot forge the marker.

use crabbox_ssh::shell_quote;

const PREFIX: &str = "CRABBOX-RESYNC-";
const EXIT_PREFIX: &str = "CRABBOX-EXIT-";

/// Exit status of a session that refused to run because the runner's copy changed.
pub const RESYNC_EXIT: i32 = 197;

/// Shell snippets that wrap the user's command.
#[derive(Debug, Clone)]
pub struct TrailerScript {
    /// Runs before the command.
    pub prologue: String,
    /// Runs after the command (`$s` holds its status).
    pub epilogue: String,
}

/// Waits (up to 20 s) while the previous session's scan is still running.
fn wait_for_scan(meta: &str) -> String {
    let running = shell_quote(&format!("{meta}/scan.running"));
    format!("i=0; while [ -f {running} ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done")
}

/// Prints the stored scan (NUL-separated paths) once it is complete; exits 3 when
/// there is no complete scan.
pub fn read_changes_command(meta_dir: &str) -> String {
    let changes = shell_quote(&format!("{meta_dir}/changes"));
    let running = shell_quote(&format!("{meta_dir}/scan.running"));
    format!(
        "{}; [ -f {changes} ] && [ ! -f {running} ] || exit 3; cat {changes}",
        wait_for_scan(meta_dir)
    )
}

/// Builds the snippets. `meta_dir` lives outside the synced tree; `prune` names
/// directories (names without `/`) or `./path` globs that are never synced.
/// `verify` makes the session refuse to run when the previous scan found changes.
pub fn trailer_script(
    meta_dir: &str,
    nonce: &str,
    prune: &[String],
    verify: bool,
) -> TrailerScript {
    let meta = shell_quote(meta_dir);
    let stamp = shell_quote(&format!("{meta_dir}/stamp"));
    let changes = shell_quote(&format!("{meta_dir}/changes"));
    let partial = shell_quote(&format!("{meta_dir}/changes.partial"));
    let running = shell_quote(&format!("{meta_dir}/scan.running"));
    let tests: Vec<String> = prune
        .iter()
        .map(|pattern| {
            if pattern.contains('/') {
                format!("-path {}", shell_quote(&format!("./{pattern}")))
            } else {
                format!("-name {}", shell_quote(pattern))
            }
        })
        .collect();
    let prune_clause = if tests.is_empty() {
        String::new()
    } else {
        format!("\\( {} \\) -prune -o ", tests.join(" -o "))
    };
    let check = if verify {
        format!(
            "{}; if [ -f {running} ] || [ ! -f {changes} ] || [ -s {changes} ]; then printf '{PREFIX}{nonce}\\n' >&2; exit {RESYNC_EXIT}; fi; ",
            wait_for_scan(meta_dir)
        )
    } else {
        String::new()
    };
    TrailerScript {
        prologue: format!(
            "mkdir -p {meta} || exit 1; {check}rm -f {changes}; : > {running}; : > {stamp}"
        ),
        epilogue: format!(
            "exec >/dev/null; printf '{EXIT_PREFIX}{nonce} %s\\n' \"$s\" >&2; exec 2>/dev/null; \
             find . {prune_clause}-newer {stamp} -print0 > {partial}; mv -f {partial} {changes}; rm -f {running}"
        ),
    }
}

/// Finds and removes the session's markers from its stderr as it passes through:
/// the refusal (`CRABBOX-RESYNC-<nonce>`) and the exit report
/// (`CRABBOX-EXIT-<nonce> <status>`). Bytes that could start a marker are held
/// back until it is clear they do not.
pub struct TrailerScanner {
    markers: [Vec<u8>; 2],
    held: Vec<u8>,
    refused: bool,
    exit: Option<i32>,
}

impl TrailerScanner {
    pub fn new(nonce: &str) -> TrailerScanner {
        TrailerScanner {
            markers: [
                format!("{PREFIX}{nonce}\n").into_bytes(),
                format!("{EXIT_PREFIX}{nonce} ").into_bytes(),
            ],
            held: Vec::new(),
            refused: false,
            exit: None,
        }
    }

    /// The exit status the session reported, once its marker arrived.
    pub fn exit(&self) -> Option<i32> {
        self.exit
    }

    /// Feeds bytes; returns what may be shown to the user now.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<u8> {
        self.held.extend_from_slice(bytes);
        if !self.refused {
            if let Some(start) = find(&self.held, &self.markers[0]) {
                self.held.drain(start..start + self.markers[0].len());
                self.refused = true;
            }
        }
        if self.exit.is_none() {
            if let Some(start) = find(&self.held, &self.markers[1]) {
                let after = start + self.markers[1].len();
                if let Some(end) = self.held[after..].iter().position(|b| *b == b'\n') {
                    let status = String::from_utf8_lossy(&self.held[after..after + end])
                        .trim()
                        .parse()
                        .ok();
                    self.held.drain(start..after + end + 1);
                    self.exit = status.or(Some(-1));
                } else {
                    // The status line is incomplete: show what precedes it only.
                    return self.held.drain(..start).collect();
                }
            }
        }
        // Keep the longest tail that is a prefix of a marker still expected.
        let keep = self
            .markers
            .iter()
            .map(|marker| {
                (1..marker.len().min(self.held.len() + 1))
                    .rev()
                    .find(|length| self.held.ends_with(&marker[..*length]))
                    .unwrap_or(0)
            })
            .max()
            .unwrap_or(0);
        let split = self.held.len() - keep;
        self.held.drain(..split).collect()
    }

    /// Ends the stream: the held-back bytes (never a marker) and whether the session
    /// refused to run.
    pub fn finish(&mut self) -> (Vec<u8>, bool) {
        (std::mem::take(&mut self.held), self.refused)
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(chunks: &[&[u8]]) -> (Vec<u8>, bool) {
        let mut scanner = TrailerScanner::new("abc");
        let mut shown = Vec::new();
        for chunk in chunks {
            shown.extend(scanner.feed(chunk));
        }
        let (rest, found) = scanner.finish();
        shown.extend(rest);
        (shown, found)
    }

    #[test]
    fn marker_is_stripped_in_any_chunking() {
        let stream = b"login noise\nCRABBOX-RESYNC-abc\n";
        for split in 0..stream.len() {
            let (shown, found) = run(&[&stream[..split], &stream[split..]]);
            assert_eq!(shown, b"login noise\n", "split at {split}");
            assert!(found);
        }
    }

    #[test]
    fn exit_report_is_parsed_and_stripped() {
        let stream = b"err line\nCRABBOX-EXIT-abc 3\n";
        for split in 0..stream.len() {
            let mut scanner = TrailerScanner::new("abc");
            let mut shown = scanner.feed(&stream[..split]);
            shown.extend(scanner.feed(&stream[split..]));
            shown.extend(scanner.finish().0);
            assert_eq!(shown, b"err line\n", "split at {split}");
            assert_eq!(scanner.exit(), Some(3), "split at {split}");
        }
    }

    #[test]
    fn other_nonces_and_lookalikes_pass_through() {
        let (shown, found) = run(&[b"CRABBOX-RESYNC-xyz\nCRAB", b"BY\n"]);
        assert_eq!(shown, b"CRABBOX-RESYNC-xyz\nCRABBY\n");
        assert!(!found);
    }

    #[test]
    fn script_prunes_names_and_paths_and_verifies_on_request() {
        let script = trailer_script(
            "/m",
            "n1",
            &["node_modules".into(), "apps/*/.build".into()],
            true,
        );
        assert!(script
            .epilogue
            .contains("-name node_modules -o -path './apps/*/.build'"));
        assert!(script.epilogue.contains("CRABBOX-EXIT-n1"));
        assert!(script.epilogue.starts_with("exec >/dev/null;"));
        assert!(script.prologue.contains("CRABBOX-RESYNC-n1"));
        assert!(script.prologue.contains("exit 197"));
        let plain = trailer_script("/m", "n1", &[], false);
        assert!(!plain.prologue.contains("CRABBOX-RESYNC"));
        assert!(plain
            .prologue
            .ends_with(": > /m/scan.running; : > /m/stamp"));
    }
}
