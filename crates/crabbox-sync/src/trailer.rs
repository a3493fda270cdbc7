//! The out-of-band report a remote command session appends to its stderr: after the
//! user's command exits, the runner lists synced paths that changed since the
//! command started and prints `CRABBOX-TRAILER-<nonce> <count>` on stderr. The CLI
//! strips it before the user sees stderr. Riding the command's own session is what
//! lets a warm rerun stay correct without an extra round trip.
//!
//! The nonce is random per run, so a command's own output cannot forge a trailer.

const PREFIX: &str = "CRABBOX-TRAILER-";

/// Shell snippets that wrap the user's command.
#[derive(Debug, Clone)]
pub struct TrailerScript {
    /// Runs before the command: records the moment changes are measured from.
    pub prologue: String,
    /// Runs after the command (`$s` holds its status): counts changed paths, stores
    /// the list for the next sync and prints the trailer.
    pub epilogue: String,
}

/// Builds the snippets. `meta_dir` lives outside the synced tree; `prune` names
/// directories (names without `/`) or `./path` globs that are never synced.
pub fn trailer_script(meta_dir: &str, nonce: &str, prune: &[String]) -> TrailerScript {
    let meta = crabbox_ssh::shell_quote(meta_dir);
    let stamp = crabbox_ssh::shell_quote(&format!("{meta_dir}/stamp"));
    let changes = crabbox_ssh::shell_quote(&format!("{meta_dir}/changes"));
    let mut prune_expression = Vec::new();
    for pattern in prune {
        let test = if pattern.contains('/') {
            format!(
                "-path {}",
                crabbox_ssh::shell_quote(&format!("./{pattern}"))
            )
        } else {
            format!("-name {}", crabbox_ssh::shell_quote(pattern))
        };
        prune_expression.push(test);
    }
    let prune_clause = if prune_expression.is_empty() {
        String::new()
    } else {
        format!("\\( {} \\) -prune -o ", prune_expression.join(" -o "))
    };
    TrailerScript {
        prologue: format!("mkdir -p {meta} && : > {stamp}"),
        epilogue: format!(
            "n=$(find . {prune_clause}-newer {stamp} -print0 2>/dev/null | tee {changes} | tr -dc '\\0' | wc -c); \
             printf '{PREFIX}{nonce} %s\\n' \"$n\" >&2"
        ),
    }
}

/// Finds and removes the trailer from a stderr byte stream as it passes through.
/// Bytes that could be the start of the trailer are held back until it is clear
/// they are not.
pub struct TrailerScanner {
    marker: Vec<u8>,
    held: Vec<u8>,
    payload: Option<Vec<u8>>,
}

impl TrailerScanner {
    pub fn new(nonce: &str) -> TrailerScanner {
        TrailerScanner {
            marker: format!("{PREFIX}{nonce} ").into_bytes(),
            held: Vec::new(),
            payload: None,
        }
    }

    /// Feeds bytes; returns what may be shown to the user now.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<u8> {
        if let Some(payload) = &mut self.payload {
            payload.extend_from_slice(bytes);
            return Vec::new();
        }
        self.held.extend_from_slice(bytes);
        if let Some(start) = find(&self.held, &self.marker) {
            let mut payload = self.held.split_off(start);
            payload.drain(..self.marker.len());
            self.payload = Some(payload);
            return std::mem::take(&mut self.held);
        }
        // Keep the longest tail that is a prefix of the marker.
        let keep = (1..self.marker.len().min(self.held.len() + 1))
            .rev()
            .find(|length| self.held.ends_with(&self.marker[..*length]))
            .unwrap_or(0);
        let split = self.held.len() - keep;
        let ready: Vec<u8> = self.held.drain(..split).collect();
        ready
    }

    /// Ends the stream: the held-back bytes (never a trailer) and the reported count
    /// of changed paths, if a well-formed trailer arrived.
    pub fn finish(&mut self) -> (Vec<u8>, Option<u64>) {
        let rest = std::mem::take(&mut self.held);
        let count = self.payload.take().and_then(|payload| {
            let text = String::from_utf8_lossy(&payload);
            text.lines().next()?.trim().parse().ok()
        });
        (rest, count)
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

    fn run(chunks: &[&[u8]]) -> (Vec<u8>, Option<u64>) {
        let mut scanner = TrailerScanner::new("abc");
        let mut shown = Vec::new();
        for chunk in chunks {
            shown.extend(scanner.feed(chunk));
        }
        let (rest, count) = scanner.finish();
        shown.extend(rest);
        (shown, count)
    }

    #[test]
    fn trailer_is_stripped_in_any_chunking() {
        let stream = b"warn: x\nCRABBOX-TRAILER-abc 7\n";
        for split in 0..stream.len() {
            let (shown, count) = run(&[&stream[..split], &stream[split..]]);
            assert_eq!(shown, b"warn: x\n", "split at {split}");
            assert_eq!(count, Some(7));
        }
    }

    #[test]
    fn trailer_after_an_unterminated_line() {
        let (shown, count) = run(&[b"no newline", b"CRABBOX-TRAILER-abc 0\n"]);
        assert_eq!(shown, b"no newline");
        assert_eq!(count, Some(0));
    }

    #[test]
    fn other_nonces_and_lookalikes_pass_through() {
        let (shown, count) = run(&[b"CRABBOX-TRAILER-xyz 3\nCRAB", b"BY\n"]);
        assert_eq!(shown, b"CRABBOX-TRAILER-xyz 3\nCRABBY\n");
        assert_eq!(count, None);
    }

    #[test]
    fn missing_trailer_means_unknown() {
        let (shown, count) = run(&[b"plain\n"]);
        assert_eq!(shown, b"plain\n");
        assert_eq!(count, None);
    }

    #[test]
    fn script_prunes_names_and_paths() {
        let script = trailer_script("/m", "n1", &["node_modules".into(), "apps/*/.build".into()]);
        assert!(script
            .epilogue
            .contains("-name node_modules -o -path './apps/*/.build'"));
        assert!(script.epilogue.contains("CRABBOX-TRAILER-n1"));
        assert!(script.prologue.contains(": > /m/stamp"));
    }
}
