//! Where a run's remote output goes: the terminal and the history log, with the
//! sync trailer cut out of stderr on the way.

use crabbox_history::OutputLog;
use crabbox_ssh::{OutputSink, Stream};
use crabbox_sync::TrailerScanner;

use crate::printer::TerminalSink;

pub struct RunSink<'a> {
    pub scanner: TrailerScanner,
    pub log: &'a mut OutputLog,
}

impl RunSink<'_> {
    fn forward(&mut self, stream: Stream, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        self.log.push(bytes);
        TerminalSink.output(stream, bytes);
    }

    /// Flushes held-back stderr and returns the trailer's count of changed paths.
    pub fn finish(&mut self) -> Option<u64> {
        let (rest, count) = self.scanner.finish();
        self.forward(Stream::Stderr, &rest);
        count
    }
}

impl OutputSink for RunSink<'_> {
    fn output(&mut self, stream: Stream, bytes: &[u8]) {
        match stream {
            Stream::Stdout => self.forward(stream, bytes),
            Stream::Stderr => {
                let visible = self.scanner.feed(bytes);
                self.forward(stream, &visible);
            }
        }
    }
}
