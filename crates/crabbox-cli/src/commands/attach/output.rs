//! How `attach` prints a run's events: output replayed to the stream it came from,
//! every other event as one line on stderr, or one JSON record per line.

use crabbox_proto::wire::RunEventRecord;
use crabbox_ssh::Stream;

use crate::commands::history::event_record;
use crate::printer::Printer;

#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub printer: Printer,
    pub json: bool,
}

impl Output {
    pub fn event(&self, event: &RunEventRecord) {
        if self.json {
            let record = serde_json::to_value(event_record(event)).expect("events serialize");
            self.printer.json_line(&record);
            return;
        }
        match event.kind.as_str() {
            "stdout" => self.printer.raw(Stream::Stdout, event.data.as_bytes()),
            "stderr" => self.printer.raw(Stream::Stderr, event.data.as_bytes()),
            _ => self.printer.error_line(event_line(event)),
        }
    }
}

/// `0007 command.started phase=command at=2026-… cargo test`.
pub fn event_line(event: &RunEventRecord) -> String {
    let phase = if event.phase.is_empty() {
        "-"
    } else {
        &event.phase
    };
    let line = format!(
        "{:04} {} phase={phase} at={} {}",
        event.seq, event.kind, event.created_at, event.message
    );
    line.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crabbox_proto::Timestamp;

    #[test]
    fn other_events_print_as_one_line() {
        let event = RunEventRecord {
            seq: 7,
            kind: "command.started".into(),
            phase: "command".into(),
            message: "cargo test".into(),
            created_at: Timestamp(1_795_388_880_123),
            ..RunEventRecord::default()
        };
        let line = event_line(&event);
        assert!(
            line.starts_with("0007 command.started phase=command at=20"),
            "{line}"
        );
        assert!(line.ends_with(" cargo test"), "{line}");
        let bare = RunEventRecord {
            phase: String::new(),
            message: String::new(),
            ..event
        };
        let line = event_line(&bare);
        assert!(line.contains(" phase=- at="), "{line}");
        assert!(!line.ends_with(' '), "{line:?}");
    }
}
