//! All terminal output: data on stdout, progress and diagnostics on stderr.

use std::io::Write;

use crabbox_ssh::{OutputSink, Stream};

/// Writes lines; the only place the CLI touches stdout and stderr.
#[derive(Debug, Clone, Copy, Default)]
pub struct Printer {
    /// Suppress progress chatter on stderr (used with --timing-json).
    pub quiet: bool,
}

impl Printer {
    /// A data line on stdout.
    pub fn out(&self, line: impl AsRef<str>) {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{}", line.as_ref());
        let _ = stdout.flush();
    }

    /// A progress or diagnostic line on stderr.
    pub fn note(&self, line: impl AsRef<str>) {
        if !self.quiet {
            self.error_line(line);
        }
    }

    /// A line on stderr that is printed even when quiet (warnings, errors, reports).
    pub fn error_line(&self, line: impl AsRef<str>) {
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "{}", line.as_ref());
    }

    pub fn warn(&self, message: impl AsRef<str>) {
        self.error_line(format!("warning: {}", message.as_ref()));
    }

    /// Pretty JSON on stdout.
    pub fn json(&self, value: &serde_json::Value) {
        self.out(serde_json::to_string_pretty(value).expect("json serializes"));
    }

    /// One compact JSON document per line on stdout (a stream of records).
    pub fn json_line(&self, value: &serde_json::Value) {
        self.out(serde_json::to_string(value).expect("json serializes"));
    }

    /// Bytes as they are, on the stream they came from.
    pub fn raw(&self, stream: Stream, bytes: &[u8]) {
        TerminalSink.output(stream, bytes);
    }
}

/// Forwards a remote command's output to the matching local stream.
pub struct TerminalSink;

impl OutputSink for TerminalSink {
    fn output(&mut self, stream: Stream, bytes: &[u8]) {
        match stream {
            Stream::Stdout => {
                let mut stdout = std::io::stdout().lock();
                let _ = stdout.write_all(bytes);
                let _ = stdout.flush();
            }
            Stream::Stderr => {
                let mut stderr = std::io::stderr().lock();
                let _ = stderr.write_all(bytes);
            }
        }
    }
}
