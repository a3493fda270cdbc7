//! The plain-text lines `crabbox history` and `crabbox events` print.

use std::time::Duration;

use crabbox_core::format_duration;

use crate::queries::{EventRecord, RunRecord};

/// One `crabbox history` line, columns padded like the Go CLI:
/// `<run> <lease> <slug> <state> phase=… exit=<n|-> duration=<d|-> started=<ts> command=<argv>`.
pub fn history_line(run: &RunRecord) -> String {
    format!(
        "{:<16} {:<16} {:<16} {:<9} phase={} exit={} duration={} started={} command={}",
        run.id,
        or_dash(&run.lease_id),
        or_dash(&run.slug),
        run.state,
        or_dash(&run.phase),
        run.exit_code
            .map_or_else(|| "-".to_owned(), |code| code.to_string()),
        duration_text(run.duration_ms),
        run.started_at,
        run.command.join(" "),
    )
}

/// One `crabbox events` line: `%04d <type padded 18> phase=… stream=… at=<ts> <message>`.
pub fn event_line(event: &EventRecord) -> String {
    format!(
        "{:04} {:<18} phase={} stream={} at={} {}",
        event.seq,
        event.kind,
        or_dash(&event.phase),
        or_dash(&event.stream),
        event.created_at,
        event.message,
    )
}

fn or_dash(value: &str) -> &str {
    if value.is_empty() {
        "-"
    } else {
        value
    }
}

/// A zero duration means none was recorded (the run is still going or was
/// abandoned), so it prints as `-` rather than a misleading `0s`.
fn duration_text(milliseconds: u64) -> String {
    if milliseconds == 0 {
        "-".to_owned()
    } else {
        format_duration(Duration::from_millis(milliseconds))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> RunRecord {
        RunRecord {
            id: "run_abcdef012345".to_owned(),
            lease_id: "cbx_0123456789ab".to_owned(),
            slug: "brave-crab".to_owned(),
            state: "succeeded".to_owned(),
            phase: "command".to_owned(),
            exit_code: Some(0),
            duration_ms: 123_500,
            started_at: "2026-11-22T23:08:00Z".to_owned(),
            command: vec!["cargo".to_owned(), "test".to_owned()],
            ..RunRecord::default()
        }
    }

    #[test]
    fn history_line_shows_a_finished_run() {
        assert_eq!(
            history_line(&run()),
            "run_abcdef012345 cbx_0123456789ab brave-crab       succeeded phase=command \
             exit=0 duration=2m3.5s started=2026-11-22T23:08:00Z command=cargo test"
        );
    }

    #[test]
    fn history_line_dashes_unknown_values() {
        let running = RunRecord {
            lease_id: String::new(),
            slug: String::new(),
            state: "running".to_owned(),
            phase: String::new(),
            exit_code: None,
            duration_ms: 0,
            ..run()
        };
        assert_eq!(
            history_line(&running),
            "run_abcdef012345 -                -                running   phase=- exit=- \
             duration=- started=2026-11-22T23:08:00Z command=cargo test"
        );
    }

    #[test]
    fn history_line_formats_durations_like_go() {
        let cases = [(150, "150ms"), (1_234, "1.234s"), (3_600_000, "1h0m0s")];
        for (milliseconds, expected) in cases {
            let line = history_line(&RunRecord {
                duration_ms: milliseconds,
                ..run()
            });
            assert!(line.contains(&format!(" duration={expected} ")), "{line}");
        }
    }

    #[test]
    fn event_line_pads_sequence_and_type() {
        let event = EventRecord {
            seq: 7,
            kind: "sync.finished".to_owned(),
            phase: "sync".to_owned(),
            stream: String::new(),
            message: "sent 3 files".to_owned(),
            created_at: "2026-11-22T23:08:00Z".to_owned(),
            ..EventRecord::default()
        };
        assert_eq!(
            event_line(&event),
            "0007 sync.finished      phase=sync stream=- at=2026-11-22T23:08:00Z sent 3 files"
        );
    }
}
