//! Keeping the sync skip honest after commands, without a round trip and without
//! making the user wait.
//!
//! Every command session starts by stamping the time and ends by launching a
//! background scan on the runner: `find` lists paths under the workdir changed
//! since the stamp (build-output directories pruned) into `<meta>/changes`. The
//! session returns as soon as the command exits; the scan runs while the user reads
//! the output.
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

/// Waits (up to 30 s) while the previous session's scan is still running.
fn wait_for_scan(meta: &str) -> String {
    let pid = shell_quote(&format!("{meta}/scan.pid"));
    format!(
        "i=0; while [ -f {pid} ] && kill -0 \"$(cat {pid} 2>/dev/null)\" 2>/dev/null && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done"
    )
}

/// Prints the stored scan (NUL-separated paths) once it is complete; exits 3 when
/// there is no complete scan.
pub fn read_changes_command(meta_dir: &str) -> String {
    let changes = shell_quote(&format!("{meta_dir}/changes"));
    format!(
        "{}; [ -f {changes} ] || exit 3; cat {changes}",
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
    let pid = shell_quote(&format!("{meta_dir}/scan.pid"));
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
            "{}; if [ ! -f {changes} ] || [ -s {changes} ]; then printf '{PREFIX}{nonce}\\n' >&2; exit {RESYNC_EXIT}; fi; ",
            wait_for_scan(meta_dir)
        )
    } else {
        String::new()
    };
    TrailerScript {
        prologue: format!("mkdir -p {meta} || exit 1; {check}rm -f {changes}; : > {stamp}"),
        epilogue: format!(
            "(find . {prune_clause}-newer {stamp} -print0 > {partial} 2>/dev/null; mv -f {partial} {changes}) </dev/null >/dev/null 2>&1 & echo $! > {pid}"
        ),
    }
}

/// Finds and removes the resync marker from a stderr byte stream as it passes
/// through. Bytes that could be the start of the marker are held back until it is
/// clear they are not.
pub struct TrailerScanner {
    marker: Vec<u8>,
    held: Vec<u8>,
    found: bool,
}

impl TrailerScanner {
    pub fn new(nonce: &str) -> TrailerScanner {
        TrailerScanner {
            marker: format!("{PREFIX}{nonce}\n").into_bytes(),
            held: Vec::new(),
            found: false,
        }
    }

    /// Feeds bytes; returns what may be shown to the user now.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<u8> {
        self.held.extend_from_slice(bytes);
        if !self.found {
            if let Some(start) = find(&self.held, &self.marker) {
                self.held.drain(start..start + self.marker.len());
                self.found = true;
            }
        }
        if self.found {
            return std::mem::take(&mut self.held);
        }
        // Keep the longest tail that is a prefix of the marker.
        let keep = (1..self.marker.len().min(self.held.len() + 1))
            .rev()
            .find(|length| self.held.ends_with(&self.marker[..*length]))
            .unwrap_or(0);
        let split = self.held.len() - keep;
        self.held.drain(..split).collect()
    }

    /// Ends the stream: the held-back bytes (never the marker) and whether the
    /// marker arrived.
    pub fn finish(&mut self) -> (Vec<u8>, bool) {
        (std::mem::take(&mut self.held), self.found)
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
        assert!(script.epilogue.contains("& echo $! > /m/scan.pid"));
        assert!(script.prologue.contains("CRABBOX-RESYNC-n1"));
        assert!(script.prologue.contains("exit 197"));
        let plain = trailer_script("/m", "n1", &[], false);
        assert!(!plain.prologue.contains("CRABBOX-RESYNC"));
        assert!(plain.prologue.ends_with(": > /m/stamp"));
    }
}
